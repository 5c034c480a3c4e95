package jobqueue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/ashlarhq/ashlar/store"
)

// Config configures a Queue.
type Config struct {
	// Worker names this process in leases and attempt records (default
	// host-pid-random).
	Worker string
	// Poll is how often a kind looks for work it was not told about:
	// jobs inserted by other processes, expired leases (default 1 s).
	// Jobs inserted in this process start at once, and retries when they
	// come due, without polling.
	Poll   time.Duration
	Logger *slog.Logger
}

// Kind declares a kind of job and how this process runs it.
type Kind struct {
	Name string
	// Workers bounds the jobs of this kind this process runs at once
	// (default 8; 1 for periodic kinds).
	Workers int
	// PerKey bounds the jobs with one Key this process runs at once
	// (default Workers), so that one slow destination cannot take every
	// worker.
	PerKey int
	// Prefetch lets the process hold this many jobs (in all, and per key)
	// claimed ahead of its free workers, so that a worker that finishes
	// starts the next job without waiting for the database (default 0).
	// A held job's lease runs while it waits; one that waited too long is
	// given back unattempted.
	Prefetch int
	// Timeout bounds one Work call: its context ends then (default 1
	// minute).
	Timeout time.Duration
	// Lease is how long a claimed job belongs to its worker (default
	// Timeout + 30 s). It must outlast an attempt and the recording of its
	// result: once it has expired, by the database's clock, any process
	// may take the job over.
	Lease time.Duration
	// Poll overrides the queue's poll interval for this kind.
	Poll time.Duration
	// MaxAttempts bounds the attempts at one job (default 10).
	MaxAttempts int
	// Backoff is the delay after the n-th failed attempt (n ≥ 1) before
	// the next (default Exponential(10 s)).
	Backoff func(n int) time.Duration
	// Retention is how long finished jobs and their attempts are kept
	// (default 30 days; 1 day for periodic kinds).
	Retention time.Duration
	// Relaxed lets the queue's own transactions for this kind (claims,
	// attempt records) commit without waiting for the disk
	// (store.DB.WriteRelaxed): a database crash may then lose them, and
	// the job is attempted again. Only for kinds whose Settle and Ended
	// write nothing that must not be lost.
	Relaxed bool
	// Every makes the kind periodic: one job of it is due every Every,
	// across all processes that register it.
	Every   time.Duration
	Handler Handler
}

// Handler is what a kind does. Work is required.
type Handler struct {
	// Begin runs in the claim transaction with the jobs about to be
	// attempted, before they are leased: it prepares what Work needs
	// (Job.Data) and may end jobs that must not run (Job.End).
	Begin func(ctx context.Context, tx *store.Tx, jobs []*Job) error
	// Work makes one attempt, outside any transaction. Its context ends
	// after the kind's Timeout, or when the queue stops.
	Work func(ctx context.Context, j *Job) Result
	// Settle runs in the transaction that records an attempt, while the
	// job is still this worker's; it may change the result (a handler
	// judging a response body) and apply its consequences, which then
	// commit with the record.
	Settle func(ctx context.Context, tx *store.Tx, j *Job, r *Result) error
	// Ended runs in the transaction that ends a job other than by its
	// own attempt's result: out of attempts, or ended by Begin. state is
	// Failed or Cancelled.
	Ended func(ctx context.Context, tx *store.Tx, j *Job, state, reason string) error
	// Committed is told, after each commit, what it did to the kind's
	// jobs (metrics, logs).
	Committed func([]Report)
}

// Exponential is the backoff (2^n − 1) × base after the n-th failure.
func Exponential(base time.Duration) func(int) time.Duration {
	return func(n int) time.Duration {
		n = min(max(n, 1), 30)
		return time.Duration((1<<n)-1) * base
	}
}

func (k Kind) withDefaults(poll time.Duration) (Kind, error) {
	if k.Name == "" || k.Handler.Work == nil {
		return k, errors.New("jobqueue: a kind needs a name and a Work function")
	}
	if k.Workers <= 0 {
		k.Workers = 8
		if k.Every > 0 {
			k.Workers = 1
		}
	}
	if k.PerKey <= 0 || k.PerKey > k.Workers {
		k.PerKey = k.Workers
	}
	k.Prefetch = max(k.Prefetch, 0)
	if k.Timeout <= 0 {
		k.Timeout = time.Minute
	}
	if k.Lease <= 0 {
		k.Lease = k.Timeout + 30*time.Second
	}
	if k.Lease <= k.Timeout {
		return k, fmt.Errorf("jobqueue: kind %s: the lease (%v) must be longer than the timeout (%v)", k.Name, k.Lease, k.Timeout)
	}
	if k.Poll <= 0 {
		k.Poll = poll
	}
	if k.MaxAttempts <= 0 {
		k.MaxAttempts = 10
	}
	if k.Backoff == nil {
		k.Backoff = Exponential(10 * time.Second)
	}
	if k.Retention <= 0 {
		k.Retention = 30 * 24 * time.Hour
		if k.Every > 0 {
			k.Retention = 24 * time.Hour
		}
	}
	return k, nil
}

// Queue runs the registered kinds' jobs in this process. Build one per
// process where the server is assembled, register the kinds this process
// serves, then Start it.
type Queue struct {
	db  *store.DB
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	runners map[string]*runner
	order   []*runner
	started bool
	stopped bool

	stopMaint context.CancelFunc
	maint     sync.WaitGroup
}

// New returns a queue on db with no kinds.
func New(db *store.DB, cfg Config) *Queue {
	if cfg.Worker == "" {
		cfg.Worker = DefaultWorkerName()
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Queue{db: db, cfg: cfg, log: cfg.Logger.With("component", "jobs", "worker", cfg.Worker), runners: map[string]*runner{}}
}

// DefaultWorkerName is host-pid-random, unique per process.
func DefaultWorkerName() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Worker is the name this process's leases and attempts carry.
func (q *Queue) Worker() string { return q.cfg.Worker }

// DB is the database the queue runs on.
func (q *Queue) DB() *store.DB { return q.db }

// Register adds a kind this process runs. Kinds are registered before
// Start.
func (q *Queue) Register(k Kind) error {
	k, err := k.withDefaults(q.cfg.Poll)
	if err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started {
		return fmt.Errorf("jobqueue: kind %s registered after Start", k.Name)
	}
	if q.runners[k.Name] != nil {
		return fmt.Errorf("jobqueue: kind %s registered twice", k.Name)
	}
	r := newRunner(q, k)
	q.runners[k.Name] = r
	q.order = append(q.order, r)
	return nil
}

// Kind returns a registered kind with its defaults applied.
func (q *Queue) Kind(name string) (Kind, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	r := q.runners[name]
	if r == nil {
		return Kind{}, false
	}
	return r.k, true
}

// Start runs the registered kinds in the background until Stop.
func (q *Queue) Start() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started {
		return
	}
	q.started = true
	for _, r := range q.order {
		r.start()
	}
	ctx, cancel := context.WithCancel(context.Background())
	q.stopMaint = cancel
	q.maint.Add(1)
	go q.maintain(ctx)
}

// Stop stops claiming jobs, lets the attempts in flight finish and
// records them until ctx is done, then cancels those still running (they
// record what they have, usually a failure to retry). Jobs claimed but not
// started are given back. What cannot be recorded is recovered later
// through its lease, by any process.
func (q *Queue) Stop(ctx context.Context) error {
	q.mu.Lock()
	if !q.started || q.stopped {
		q.mu.Unlock()
		return nil
	}
	q.stopped = true
	q.mu.Unlock()
	q.stopMaint()
	q.maint.Wait()
	var wg sync.WaitGroup
	errs := make([]error, len(q.order))
	for i, r := range q.order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.stop(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Stats counts what a kind's runner did, for tests and diagnostics.
type Stats struct {
	Claims  int64 // claims run (alone or in a recording transaction)
	Records int64 // transactions recording attempts
	Polls   int64 // poll ticks
}

// Stats returns a registered kind's counters.
func (q *Queue) Stats(kind string) Stats {
	q.mu.Lock()
	r := q.runners[kind]
	q.mu.Unlock()
	if r == nil {
		return Stats{}
	}
	return Stats{Claims: r.claims.Load(), Records: r.records.Load(), Polls: r.polls.Load()}
}

// maintain deletes finished jobs past their kind's retention, every
// minute.
func (q *Queue) maintain(ctx context.Context) {
	defer q.maint.Done()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now, err := DBNow(ctx, q.db)
		if err != nil {
			if ctx.Err() == nil {
				q.log.Error("prune jobs", "err", err)
			}
			continue
		}
		for _, r := range q.order {
			if n, err := Prune(ctx, q.db, r.k.Name, now.Add(-r.k.Retention)); err != nil && ctx.Err() == nil {
				q.log.Error("prune jobs", "kind", r.k.Name, "err", err)
			} else if n > 0 {
				q.log.Debug("pruned finished jobs", "kind", r.k.Name, "jobs", n)
			}
		}
	}
}

// sleep waits for d or ctx.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// backoffAfterError is how long a loop pauses after a database error.
func backoffAfterError(n int) time.Duration {
	return min(time.Duration(1<<min(n, 6))*50*time.Millisecond, 5*time.Second)
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
