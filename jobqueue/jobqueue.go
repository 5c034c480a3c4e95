// Package jobqueue is Ashlar's durable job queue: one table (jobs) for
// every kind of background work, and workers that claim due jobs under a
// lease, run them, record each attempt and retry with backoff.
// docs/jobs.md describes the design; Queue.claim states the delivery
// contract.
//
// A job is inserted with Insert in the transaction of the change that
// calls for it (store.Tx), so it exists exactly when that change
// commits, and the queue of this process starts it at once. Each process
// runs one Queue with the kinds it serves (Register); several processes
// may share a database and each job attempt is made by one of them.
package jobqueue

import (
	"embed"
	"encoding/json"
	"time"

	"github.com/ashlarhq/ashlar/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() { store.RegisterMigrations(migrations, "migrations") }

// Job states.
const (
	Pending   = "pending"   // waiting, running, or waiting for a retry
	Succeeded = "succeeded" // done
	Failed    = "failed"    // given up: not retried, or out of attempts
	Cancelled = "cancelled" // ended before it could run
)

// OutcomeAbandoned is the outcome recorded for an attempt whose worker
// stopped before recording its result (its lease expired).
const OutcomeAbandoned = "abandoned"

// Job is one job, as listings and workers see it.
type Job struct {
	Seq       int64
	ID        string
	Kind      string
	OrgID     string
	Key       string // the per-key concurrency limit's key
	Subject   string
	Action    string
	UniqueKey string
	Args      json.RawMessage
	State     string
	// Attempt is the number of attempts started. While a worker holds
	// the job it is the number of the worker's attempt (from 1).
	Attempt   int
	RunAt     time.Time // when it is due (pending jobs)
	CreatedAt time.Time
	DoneAt    time.Time // zero while pending
	LastError string
	// History holds the job's attempts, oldest first, once loaded
	// (LoadAttempts).
	History []Attempt

	// Data is what the kind's Begin prepared for Work.
	Data any

	end       *ending   // set by End
	owner     string    // the lease's previous owner, when it expired
	claimedAt time.Time // local monotonic clock, before the claim
}

type ending struct{ state, reason string }

// End ends a job being claimed without running it (Handler.Begin calls
// it): state is Cancelled or Failed, reason becomes its last error. The
// kind's Ended hook is told.
func (j *Job) End(state, reason string) { j.end = &ending{state, reason} }

// Attempt is one attempt at a job.
type Attempt struct {
	Attempt   int
	Worker    string
	StartedAt time.Time
	Duration  time.Duration
	Outcome   string
	Error     string
	Detail    json.RawMessage // the kind's record of the attempt (JSON), or nil
}

// Result is what a worker reports of one attempt.
type Result struct {
	// State is the job's next state: Succeeded, Failed (never retried),
	// or Pending to retry it after the kind's backoff (the queue fails it
	// instead once it is out of attempts).
	State string
	// Outcome names the attempt's outcome in its record (say "success",
	// "timeout").
	Outcome string
	Err     string
	// RetryAfter is the least the retry waits (a receiver's Retry-After).
	RetryAfter time.Duration
	// Detail is kept with the attempt, encoded as JSON (nil: nothing).
	Detail any
	// Started and Duration time the attempt; the queue fills them in
	// when Work leaves them zero.
	Started  time.Time
	Duration time.Duration
}

// Report tells a kind what a committed transaction did to one of its
// jobs (Handler.Committed), for metrics and logs.
type Report struct {
	Job *Job
	// Attempt is the attempt recorded, nil when the job ended without one
	// (Begin ended it). An attempt lost by a dead worker is reported with
	// Outcome OutcomeAbandoned.
	Attempt *Result
	// State is the job's state now. Held is false when the worker had
	// lost the job (its lease expired and another took it over, or it was
	// cancelled): the attempt was only added to the history, and State
	// is "".
	State string
	Held  bool
}
