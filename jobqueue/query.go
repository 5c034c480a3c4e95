package jobqueue

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/store"
)

// ErrNotFound is returned for a job that does not exist.
var ErrNotFound = errors.New("job not found")

// Filter selects jobs of one kind.
type Filter struct {
	Kind  string // required
	OrgID string
	ID    string
	// IDOrSubject matches a job by its id or its subject.
	IDOrSubject string
	Key         string
	Subject     string
	Action      string
	State       string
	UniqueKey   string
	// Before keeps jobs inserted before the one with this Seq (paging
	// newest first).
	Before int64
	// Unattempted keeps pending jobs no attempt of which has started.
	Unattempted bool
	// Idle keeps jobs that no worker holds now: never leased, or whose
	// lease has expired (by the database's clock).
	Idle bool
	// Limit bounds List (0: no bound).
	Limit int
}

// where renders the filter as SQL conditions and their arguments,
// numbered from $1 after the given arguments.
func (f Filter) where(args ...any) (string, []any) {
	conds := []string{}
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	add("kind = ?", f.Kind)
	if f.OrgID != "" {
		add("org_id = ?", f.OrgID)
	}
	if f.ID != "" {
		add("id = ?", f.ID)
	}
	if f.IDOrSubject != "" {
		add("(id = ? OR subject = ?)", f.IDOrSubject)
	}
	if f.Key != "" {
		add("limit_key = ?", f.Key)
	}
	if f.Subject != "" {
		add("subject = ?", f.Subject)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.State != "" {
		add("state = ?", f.State)
	}
	if f.UniqueKey != "" {
		add("unique_key = ?", f.UniqueKey)
	}
	if f.Before > 0 {
		add("seq < ?", f.Before)
	}
	if f.Unattempted {
		conds = append(conds, "attempts = 0 AND lease_owner IS NULL")
	}
	if f.Idle {
		conds = append(conds, "(lease_until IS NULL OR lease_until <= {now})")
	}
	return strings.Join(conds, " AND "), args
}

const jobColumns = `seq, id, kind, org_id, limit_key, subject, action, COALESCE(unique_key, '') AS ukey, args, state, attempts, run_at, created_at, done_at, COALESCE(last_error, '') AS lerr`

func scanJob(scan func(...any) error, extra ...any) (*Job, error) {
	var j Job
	var args string
	var runAt, created int64
	var done sql.NullInt64
	dest := []any{&j.Seq, &j.ID, &j.Kind, &j.OrgID, &j.Key, &j.Subject, &j.Action, &j.UniqueKey, &args, &j.State, &j.Attempt,
		&runAt, &created, &done, &j.LastError}
	if err := scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	j.Args = json.RawMessage(args)
	j.RunAt, j.CreatedAt = time.UnixMilli(runAt), time.UnixMilli(created)
	if done.Valid {
		j.DoneAt = time.UnixMilli(done.Int64)
	}
	return &j, nil
}

func queryJobs(ctx context.Context, q store.Q, query string, args ...any) ([]*Job, error) {
	rows, err := q.QueryContext(ctx, expand(store.EngineOf(q), query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Job
	for rows.Next() {
		j, err := scanJob(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// List returns the jobs f selects, newest first.
func List(ctx context.Context, q store.Q, f Filter) ([]*Job, error) {
	where, args := f.where()
	query := `SELECT ` + jobColumns + ` FROM jobs WHERE ` + where + ` ORDER BY seq DESC`
	if f.Limit > 0 {
		args = append(args, f.Limit)
		query += ` LIMIT $` + strconv.Itoa(len(args))
	}
	js, err := queryJobs(ctx, q, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s jobs: %w", f.Kind, err)
	}
	return js, nil
}

// Get returns the one job f selects (by ID, say), without its attempts.
func Get(ctx context.Context, q store.Q, f Filter) (*Job, error) {
	f.Limit = 1
	js, err := List(ctx, q, f)
	if err != nil {
		return nil, err
	}
	if len(js) == 0 {
		return nil, ErrNotFound
	}
	return js[0], nil
}

// Count counts the jobs f selects.
func Count(ctx context.Context, q store.Q, f Filter) (int, error) {
	where, args := f.where()
	var n int
	if err := q.QueryRowContext(ctx, expand(store.EngineOf(q), `SELECT COUNT(*) FROM jobs WHERE `+where), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s jobs: %w", f.Kind, err)
	}
	return n, nil
}

// Cancel cancels the pending jobs f selects, with reason as their last
// error, and returns them as they are now. A cancelled job whose attempt
// is in flight is not interrupted, but its result no longer changes the
// job: it is only added to the history (the lease is gone).
func Cancel(ctx context.Context, tx *store.Tx, f Filter, reason string) ([]*Job, error) {
	f.State = Pending
	where, args := f.where(reason)
	js, err := queryJobs(ctx, tx, `UPDATE jobs SET state = 'cancelled', done_at = {now}, last_error = $1, lease_owner = NULL, lease_until = NULL
		WHERE `+where+` RETURNING `+jobColumns, args...)
	if err != nil {
		return nil, fmt.Errorf("cancel %s jobs: %w", f.Kind, err)
	}
	return js, nil
}

// ReleaseUnique frees the unique key of a finished job, so that a new job
// with it can be inserted. A pending job keeps its key.
func ReleaseUnique(ctx context.Context, tx *store.Tx, uniqueKey string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE jobs SET unique_key = NULL WHERE unique_key = $1 AND state <> 'pending'`, uniqueKey); err != nil {
		return fmt.Errorf("release job key: %w", err)
	}
	return nil
}

// LoadAttempts fills in the History of jobs.
func LoadAttempts(ctx context.Context, q store.Q, jobs []*Job) error {
	if len(jobs) == 0 {
		return nil
	}
	byID := make(map[string]*Job, len(jobs))
	ids := make([]string, 0, len(jobs))
	for _, j := range jobs {
		byID[j.ID] = j
		j.History = []Attempt{}
		ids = append(ids, j.ID)
	}
	rows, err := q.QueryContext(ctx, expand(store.EngineOf(q), `SELECT job_id, attempt, worker, started_at, duration_ms, outcome, COALESCE(error, ''), detail
		FROM job_attempts WHERE {in job_id $1} ORDER BY job_id, attempt`), jsonParam(ids))
	if err != nil {
		return fmt.Errorf("list job attempts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var a Attempt
		var started, ms int64
		var detail sql.NullString
		if err := rows.Scan(&id, &a.Attempt, &a.Worker, &started, &ms, &a.Outcome, &a.Error, &detail); err != nil {
			return fmt.Errorf("list job attempts: %w", err)
		}
		a.StartedAt, a.Duration = time.UnixMilli(started), time.Duration(ms)*time.Millisecond
		if detail.Valid {
			a.Detail = json.RawMessage(detail.String)
		}
		if j := byID[id]; j != nil {
			j.History = append(j.History, a)
		}
	}
	return rows.Err()
}

// Rewrite replaces the arguments of the jobs f selects, locking them
// first: fn returns the new arguments, or nil to leave a job as it is.
// It is for redaction (an anonymized candidate's data in a job).
func Rewrite(ctx context.Context, tx *store.Tx, f Filter, fn func(j *Job) json.RawMessage) error {
	where, args := f.where()
	js, err := queryJobs(ctx, tx, `SELECT `+jobColumns+` FROM jobs WHERE `+where+`{forupdate}`, args...)
	if err != nil {
		return fmt.Errorf("read %s jobs: %w", f.Kind, err)
	}
	for _, j := range js {
		a := fn(j)
		if a == nil {
			continue
		}
		if !json.Valid(a) {
			return fmt.Errorf("jobqueue: rewritten arguments of job %s are not JSON", j.ID)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET args = $1 WHERE seq = $2`, string(a), j.Seq); err != nil {
			return fmt.Errorf("rewrite job %s: %w", j.ID, err)
		}
	}
	return nil
}

// RewriteAttempts replaces the detail of the attempts at the jobs f
// selects: fn returns the new detail, or nil to leave an attempt as it
// is. Like Rewrite, it is for redaction.
func RewriteAttempts(ctx context.Context, tx *store.Tx, f Filter, fn func(j *Job, a *Attempt) json.RawMessage) error {
	where, args := f.where()
	js, err := queryJobs(ctx, tx, `SELECT `+jobColumns+` FROM jobs WHERE `+where+`{forupdate}`, args...)
	if err != nil {
		return fmt.Errorf("read %s jobs: %w", f.Kind, err)
	}
	if err := LoadAttempts(ctx, tx, js); err != nil {
		return err
	}
	for _, j := range js {
		for i := range j.History {
			a := &j.History[i]
			d := fn(j, a)
			if d == nil {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE job_attempts SET detail = $1 WHERE job_id = $2 AND attempt = $3`, string(d), j.ID, a.Attempt); err != nil {
				return fmt.Errorf("rewrite attempt %d of job %s: %w", a.Attempt, j.ID, err)
			}
		}
	}
	return nil
}

// Prune deletes the kind's jobs that finished before cutoff, with their
// attempts, in batches; it returns how many jobs it deleted. Several
// processes may prune at once.
func Prune(ctx context.Context, db *store.DB, kind string, cutoff time.Time) (int, error) {
	total := 0
	for {
		var n int64
		// Deleting what is past retention again after a crash is harmless.
		err := db.WriteRelaxed(ctx, func(tx *store.Tx) error {
			sub := `SELECT id FROM jobs WHERE kind = $1 AND done_at IS NOT NULL AND done_at < $2 ORDER BY done_at LIMIT 500`
			if _, err := tx.ExecContext(ctx, `DELETE FROM job_attempts WHERE job_id IN (`+sub+`)`, kind, cutoff.UnixMilli()); err != nil {
				return fmt.Errorf("prune %s job attempts: %w", kind, err)
			}
			res, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE id IN (`+sub+`)`, kind, cutoff.UnixMilli())
			if err != nil {
				return fmt.Errorf("prune %s jobs: %w", kind, err)
			}
			n, _ = res.RowsAffected()
			return nil
		})
		total += int(n)
		if err != nil || n < 500 {
			return total, err
		}
	}
}
