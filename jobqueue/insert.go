package jobqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
)

// NewJob is a job to insert.
type NewJob struct {
	Kind string
	// ID is the job's id (default: a new UUID).
	ID      string
	OrgID   string
	Key     string // what the kind's per-key limit counts (say, a webhook setting)
	Subject string // what the job is about, for listings
	Action  string // what it does, for listings
	// UniqueKey, when set, makes the job unique: if a job with this key
	// exists, nothing is inserted and Insert returns that job's id.
	UniqueKey string
	// Args are the job's arguments, encoded as JSON (a json.RawMessage
	// is kept as it is and must be valid JSON).
	Args any
	// Delay makes the job due this long after the database's now; it is
	// not due before NotBefore either (zero: no bound).
	Delay     time.Duration
	NotBefore time.Time
}

// Inserted is what Insert did with one NewJob.
type Inserted struct {
	ID      string
	Created bool // false: a job with the same UniqueKey existed
}

// topic is the store.Notify topic of a kind's inserts.
func topic(kind string) string { return "jobqueue:" + kind }

const insertSQL = `INSERT INTO jobs (id, kind, org_id, limit_key, subject, action, unique_key, args, state, run_at, created_at)
	SELECT v.id, v.kind, v.org, v.lkey, v.subject, v.action, v.ukey, v.args, 'pending', {max}({now} + v.delay, v.nb), {now}
	FROM {rows $1 id:TEXT kind:TEXT org:TEXT lkey:TEXT subject:TEXT action:TEXT ukey:TEXT args:TEXT delay:BIGINT nb:BIGINT} WHERE true
	ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL DO NOTHING
	RETURNING id`

type insertRow struct {
	ID      string  `json:"id"`
	Kind    string  `json:"kind"`
	Org     string  `json:"org"`
	Key     string  `json:"lkey"`
	Subject string  `json:"subject"`
	Action  string  `json:"action"`
	Unique  *string `json:"ukey"`
	Args    string  `json:"args"`
	Delay   int64   `json:"delay"`
	NB      int64   `json:"nb"`
}

// Insert records jobs in tx: they become visible, and due, when tx
// commits, and vanish with it if it rolls back. Queues of this process
// that run their kinds are woken after the commit; other processes find
// them at their next poll.
func Insert(ctx context.Context, tx *store.Tx, jobs ...NewJob) ([]Inserted, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	rows := make([]insertRow, len(jobs))
	for i, n := range jobs {
		if n.Kind == "" {
			return nil, errors.New("jobqueue: a job needs a kind")
		}
		r := insertRow{ID: n.ID, Kind: n.Kind, Org: n.OrgID, Key: n.Key, Subject: n.Subject, Action: n.Action, Delay: n.Delay.Milliseconds()}
		if r.ID == "" {
			r.ID = ashby.NewID()
		}
		if n.UniqueKey != "" {
			u := n.UniqueKey
			r.Unique = &u
		}
		if !n.NotBefore.IsZero() {
			r.NB = n.NotBefore.UnixMilli()
		}
		var err error
		if r.Args, err = encodeArgs(n); err != nil {
			return nil, err
		}
		rows[i] = r
	}
	res, err := tx.QueryContext(ctx, expand(tx.DB().Engine(), insertSQL), jsonParam(rows))
	if err != nil {
		return nil, fmt.Errorf("insert %s jobs: %w", jobs[0].Kind, err)
	}
	created := map[string]bool{}
	for res.Next() {
		var id string
		if err := res.Scan(&id); err != nil {
			res.Close()
			return nil, fmt.Errorf("insert %s jobs: %w", jobs[0].Kind, err)
		}
		created[id] = true
	}
	res.Close()
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("insert %s jobs: %w", jobs[0].Kind, err)
	}
	out := make([]Inserted, len(rows))
	var dups []string
	for i, r := range rows {
		out[i] = Inserted{ID: r.ID, Created: created[r.ID]}
		if out[i].Created {
			tx.Notify(topic(r.Kind))
		} else if r.Unique != nil {
			dups = append(dups, *r.Unique)
		}
	}
	if len(dups) == 0 {
		return out, nil
	}
	existing := map[string]string{}
	er, err := tx.QueryContext(ctx, expand(tx.DB().Engine(), `SELECT unique_key, id FROM jobs WHERE {in unique_key $1}`), jsonParam(dups))
	if err != nil {
		return nil, fmt.Errorf("find existing jobs: %w", err)
	}
	for er.Next() {
		var k, id string
		if err := er.Scan(&k, &id); err != nil {
			er.Close()
			return nil, fmt.Errorf("find existing jobs: %w", err)
		}
		existing[k] = id
	}
	er.Close()
	if err := er.Err(); err != nil {
		return nil, fmt.Errorf("find existing jobs: %w", err)
	}
	for i, r := range rows {
		if !out[i].Created && r.Unique != nil {
			if id, ok := existing[*r.Unique]; ok {
				out[i].ID = id
			}
		}
	}
	return out, nil
}

// InsertFinished records a job whose one attempt was made directly,
// outside the queue (a caller waiting for the answer), so that it lists
// with the others: state is Succeeded or Failed, a its attempt.
func InsertFinished(ctx context.Context, tx *store.Tx, n NewJob, state, lastErr string, a Attempt) (string, error) {
	if n.ID == "" {
		n.ID = ashby.NewID()
	}
	args, err := encodeArgs(n)
	if err != nil {
		return "", err
	}
	if _, err := tx.ExecContext(ctx, expand(tx.DB().Engine(), `INSERT INTO jobs (id, kind, org_id, limit_key, subject, action, unique_key, args, state, attempts,
		run_at, created_at, done_at, last_error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, {now}, {now}, {now}, $10)`),
		n.ID, n.Kind, n.OrgID, n.Key, n.Subject, n.Action, nullIfEmpty(n.UniqueKey), args, state, nullIfEmpty(lastErr)); err != nil {
		return "", fmt.Errorf("record %s job: %w", n.Kind, err)
	}
	row := attemptRow{Job: n.ID, Attempt: 1, Worker: a.Worker, Started: a.StartedAt.UnixMilli(), Duration: a.Duration.Milliseconds(),
		Outcome: a.Outcome, Err: strPtr(a.Error)}
	if a.Detail != nil {
		d := string(a.Detail)
		row.Detail = &d
	}
	return n.ID, insertAttempts(ctx, tx, []attemptRow{row})
}

func encodeArgs(n NewJob) (string, error) {
	switch a := n.Args.(type) {
	case nil:
		return "{}", nil
	case json.RawMessage:
		if !json.Valid(a) {
			return "", fmt.Errorf("jobqueue: %s job arguments are not JSON", n.Kind)
		}
		return string(a), nil
	}
	b, err := json.Marshal(n.Args)
	if err != nil {
		return "", fmt.Errorf("encode %s job arguments: %w", n.Kind, err)
	}
	return string(b), nil
}
