package jobqueue

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/store"
)

// claimed is what a claim transaction took: jobs to start, and reports
// of the jobs it ended or found abandoned.
type claimed struct {
	jobs    []*Job
	ended   int
	reports []Report
	// skipped holds the keys of due jobs left behind because their key
	// was at its limit in this process.
	skipped map[string]bool
	claimed bool // a claim ran
}

func (c *claimed) reset(r *runner) {
	for _, j := range c.jobs {
		r.unreserve(j.Key)
	}
	*c = claimed{}
}

const claimColumns = jobColumns + `, COALESCE(lease_owner, '') AS owner`

// The due jobs of a kind, oldest first: pending, run_at passed, and not
// held (never leased, or the lease expired), by the database's clock.
const dueSQL = `SELECT ` + claimColumns + ` FROM jobs
	WHERE kind = $1 AND state = 'pending' AND run_at <= {now} AND (lease_until IS NULL OR lease_until <= {now})
	ORDER BY run_at, seq LIMIT $2{skiplocked}`

// The keys that have pending jobs, read as a loose index scan (one index
// probe per key) rather than a scan of the jobs. Each probe is an ORDER BY
// … LIMIT 1: written as MIN(), PostgreSQL without statistics aggregated
// every pending job of the kind instead.
const keysSQL = `WITH RECURSIVE k(key) AS (
		SELECT (SELECT limit_key FROM jobs WHERE kind = $1 AND state = 'pending' ORDER BY limit_key LIMIT 1)
		UNION ALL
		SELECT (SELECT limit_key FROM jobs WHERE kind = $1 AND state = 'pending' AND limit_key > k.key ORDER BY limit_key LIMIT 1)
		FROM k WHERE k.key IS NOT NULL
	) SELECT key FROM k WHERE key IS NOT NULL LIMIT $2`

// The due jobs of one key, oldest first; keySQL(n) unites n of them.
const dueKeyArm = `SELECT * FROM (SELECT ` + claimColumns + ` FROM jobs
	WHERE kind = $1 AND limit_key = $%d AND state = 'pending' AND run_at <= {now} AND (lease_until IS NULL OR lease_until <= {now})
	ORDER BY run_at, seq LIMIT $%d{skiplocked}) k%d`

func keySQL(n int) string {
	arms := make([]string, n)
	for i := range arms {
		arms[i] = fmt.Sprintf(dueKeyArm, 2+2*i, 3+2*i, i)
	}
	return strings.Join(arms, " UNION ALL ")
}

const leaseSQL = `UPDATE jobs SET lease_owner = $1, lease_until = {now} + $2, attempts = attempts + 1 WHERE {inseq seq $3}`

const endSQL = `UPDATE jobs SET state = v.state, done_at = {now}, last_error = v.err, lease_owner = NULL, lease_until = NULL
	FROM {rows $1 seq:BIGINT state:TEXT err:TEXT} WHERE jobs.seq = v.seq AND {rowseq jobs.seq $1}`

// claimTx takes due jobs for this process's free capacity, inside tx.
// The recorder calls it too, so that the transaction recording finished
// attempts also takes the next jobs.
//
// This is where the delivery contract of every kind is enforced:
//
//   - At least once. A job stays pending until the result of an attempt
//     is recorded. Claiming it sets a lease (lease_owner, lease_until)
//     and counts the attempt, in this transaction; the worker then makes
//     the attempt and records its outcome, fenced by (lease_owner,
//     attempts) so that only the lease's holder changes the job. A
//     worker that dies mid-attempt (crash, SIGKILL, lost database) leaves
//     its lease to expire; then any process claims the job again, records
//     the lost attempt as "abandoned" (it counts towards MaxAttempts),
//     and attempts it once more. The other side may therefore see the
//     job's work twice: a webhook receiver may get an event twice, under
//     the same webhookActionId; a partner may get a call twice, under the
//     same Idempotency-Key.
//   - Each attempt by one process. On PostgreSQL candidates are locked
//     with FOR UPDATE SKIP LOCKED, so concurrent claimers never take the
//     same job; on SQLite the write transaction excludes other claimers.
//     A leased job is not claimable until its lease expires, and the
//     lease outlasts the attempt (Lease > Timeout, and a job that waited
//     in this process too long is given back unattempted), so a live
//     worker always records before anyone takes over.
//   - The database's clock decides. Due times and leases are compared
//     with the database's now ({now}), never with this server's clock: a
//     server whose clock runs ahead cannot take a live lease over early,
//     nor one running behind hold a dead one longer.
//   - Isolation. At most PerKey attempts with one key, and Workers in all,
//     run at once in a process. The oldest due jobs are taken first; when
//     some keys are at their limit, the others' jobs are found through an
//     index per key (claimByKey), so that one key's backlog never starves
//     the rest.
//   - Order. Jobs start oldest first (by due time, then insertion), but
//     several run at once and a failed one is retried after later ones:
//     there is no ordering guarantee.
func (r *runner) claimTx(ctx context.Context, tx *store.Tx, cl *claimed) error {
	free := r.free()
	if free <= 0 {
		return nil
	}
	r.claims.Add(1)
	cl.claimed = true
	if cl.skipped == nil {
		cl.skipped = map[string]bool{}
	}
	start := time.Now()
	cands, err := r.candidates(ctx, tx, dueSQL, r.k.Name, free)
	if err != nil {
		return err
	}
	if err := r.takeCandidates(ctx, tx, cands, cl, start); err != nil {
		return err
	}
	// Fewer candidates than asked for means every due job was seen.
	if len(cl.skipped) > 0 && len(cands) == free && r.free() > 0 {
		return r.claimByKey(ctx, tx, cl, cands, start)
	}
	return nil
}

// jobKeys returns the keys that have pending jobs, read at most once per
// poll interval (and again after jobs were inserted here): a key new
// from another process waits for the poll, as its jobs would anyway.
// seen are keys the claim just saw jobs of.
func (r *runner) jobKeys(ctx context.Context, tx *store.Tx, seen []*Job) ([]string, error) {
	r.mu.Lock()
	keys, fresh := r.keys, time.Since(r.keysAt) < r.k.Poll && !r.keysStale
	r.mu.Unlock()
	if !fresh {
		rows, err := tx.QueryContext(ctx, keysSQL, r.k.Name, 10000)
		if err != nil {
			return nil, fmt.Errorf("list %s job keys: %w", r.k.Name, err)
		}
		keys = nil
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return nil, fmt.Errorf("list %s job keys: %w", r.k.Name, err)
			}
			keys = append(keys, k)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("list %s job keys: %w", r.k.Name, err)
		}
		r.mu.Lock()
		r.keys, r.keysAt, r.keysStale = keys, time.Now(), false
		r.mu.Unlock()
	}
	known := make(map[string]bool, len(keys))
	for _, k := range keys {
		known[k] = true
	}
	out := append([]string(nil), keys...)
	for _, j := range seen {
		if !known[j.Key] {
			known[j.Key] = true
			out = append(out, j.Key)
		}
	}
	sort.Strings(out)
	return out, nil
}

// claimByKey takes due jobs of the keys with room left, when the oldest
// due jobs belonged to keys at their limit. Keys are served round robin
// from where the last such claim stopped.
func (r *runner) claimByKey(ctx context.Context, tx *store.Tx, cl *claimed, seen []*Job, start time.Time) error {
	keys, err := r.jobKeys(ctx, tx, seen)
	if err != nil {
		return err
	}
	// Round robin: the keys after the last one served come first.
	i := sort.SearchStrings(keys, r.rr+"\x00")
	if r.rr == "" {
		i = 0
	}
	keys = append(keys[i:], keys[:i]...)
	for len(keys) > 0 {
		free := r.free()
		if free <= 0 {
			return nil
		}
		args := []any{r.k.Name}
		n := 0
		for len(keys) > 0 && n < 32 {
			k := keys[0]
			keys = keys[1:]
			if h := r.headroom(k); h > 0 && !cl.skipped[k] {
				args = append(args, k, min(h, free))
				n++
			}
		}
		if n == 0 {
			continue
		}
		cands, err := r.candidates(ctx, tx, keySQL(n), args...)
		if err != nil {
			return err
		}
		sort.Slice(cands, func(a, b int) bool {
			if !cands[a].RunAt.Equal(cands[b].RunAt) {
				return cands[a].RunAt.Before(cands[b].RunAt)
			}
			return cands[a].Seq < cands[b].Seq
		})
		if err := r.takeCandidates(ctx, tx, cands, cl, start); err != nil {
			return err
		}
		if len(cl.jobs) > 0 {
			r.rr = cl.jobs[len(cl.jobs)-1].Key
		}
	}
	return nil
}

// candidates runs a query of claimColumns.
func (r *runner) candidates(ctx context.Context, tx *store.Tx, query string, args ...any) ([]*Job, error) {
	rows, err := tx.QueryContext(ctx, expand(tx.DB().Engine(), query), args...)
	if err != nil {
		return nil, fmt.Errorf("claim %s jobs: %w", r.k.Name, err)
	}
	defer rows.Close()
	var out []*Job
	for rows.Next() {
		var owner string
		j, err := scanJob(rows.Scan, &owner)
		if err != nil {
			return nil, fmt.Errorf("claim %s jobs: %w", r.k.Name, err)
		}
		j.owner = owner
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim %s jobs: %w", r.k.Name, err)
	}
	return out, nil
}

// takeCandidates takes the candidates this process has room for: it
// records the attempts of dead workers, ends the jobs that must not run,
// and leases the rest.
func (r *runner) takeCandidates(ctx context.Context, tx *store.Tx, cands []*Job, cl *claimed, start time.Time) error {
	if len(cands) == 0 {
		return nil
	}
	var take, ends []*Job
	var lost []attemptRow
	type endRow struct {
		Seq   int64  `json:"seq"`
		State string `json:"state"`
		Err   string `json:"err"`
	}
	var endRows []endRow
	for _, j := range cands {
		var res *Result
		if j.owner != "" {
			// The lease expired: its worker stopped mid-attempt.
			reason := fmt.Sprintf("worker %s stopped before recording the result of this attempt; its lease expired", j.owner)
			res = &Result{State: Pending, Outcome: OutcomeAbandoned, Err: reason, Started: start}
			if j.Attempt >= r.k.MaxAttempts {
				// That was the last attempt: the job ends, needing no worker.
				reason = fmt.Sprintf("gave up after %d attempts: %s", j.Attempt, reason)
				res.State = Failed
				lost = append(lost, attemptRow{Job: j.ID, Attempt: j.Attempt, Worker: j.owner, Started: start.UnixMilli(), Outcome: OutcomeAbandoned, Err: &res.Err})
				j.End(Failed, reason)
				ends = append(ends, j)
				cl.reports = append(cl.reports, Report{Job: j, Attempt: res, State: Failed, Held: true})
				continue
			}
		}
		if !r.reserve(j.Key) {
			cl.skipped[j.Key] = true
			continue
		}
		if res != nil {
			lost = append(lost, attemptRow{Job: j.ID, Attempt: j.Attempt, Worker: j.owner, Started: start.UnixMilli(), Outcome: OutcomeAbandoned, Err: &res.Err})
			cl.reports = append(cl.reports, Report{Job: j, Attempt: res, State: Pending, Held: true})
		}
		j.Attempt++
		j.claimedAt = start
		take = append(take, j)
	}
	if len(lost) > 0 {
		if err := insertAttempts(ctx, tx, lost); err != nil {
			return err
		}
	}
	if len(take) > 0 && r.k.Handler.Begin != nil {
		if err := r.k.Handler.Begin(ctx, tx, take); err != nil {
			for _, j := range take {
				r.unreserve(j.Key)
			}
			return fmt.Errorf("begin %s jobs: %w", r.k.Name, err)
		}
	}
	var lease []int64
	for _, j := range take {
		if j.end != nil {
			r.unreserve(j.Key)
			j.Attempt-- // no attempt is made
			ends = append(ends, j)
			cl.reports = append(cl.reports, Report{Job: j, State: j.end.state, Held: true})
			continue
		}
		lease = append(lease, j.Seq)
		cl.jobs = append(cl.jobs, j)
	}
	for _, j := range ends {
		endRows = append(endRows, endRow{j.Seq, j.end.state, j.end.reason})
		j.State, j.LastError = j.end.state, j.end.reason
	}
	if len(endRows) > 0 {
		if _, err := tx.ExecContext(ctx, expand(tx.DB().Engine(), endSQL), jsonParam(endRows)); err != nil {
			return fmt.Errorf("end %s jobs: %w", r.k.Name, err)
		}
		if r.k.Handler.Ended != nil {
			for _, j := range ends {
				if err := r.k.Handler.Ended(ctx, tx, j, j.end.state, j.end.reason); err != nil {
					return fmt.Errorf("end %s job %s: %w", r.k.Name, j.ID, err)
				}
			}
		}
		cl.ended += len(endRows)
	}
	if len(lease) > 0 {
		if _, err := tx.ExecContext(ctx, expand(tx.DB().Engine(), leaseSQL), r.q.cfg.Worker, r.k.Lease.Milliseconds(), jsonParam(lease)); err != nil {
			return fmt.Errorf("lease %s jobs: %w", r.k.Name, err)
		}
	}
	return nil
}

// TxClaim is a claim made inside another transaction (ClaimIn).
type TxClaim struct {
	r  *runner
	cl claimed
}

// ClaimIn claims due jobs of a kind for this process inside tx, the
// transaction that inserted them, so that they start without a claim
// transaction of their own: the webhook fan-out claims the deliveries it
// queues. Call Launch once tx has committed, Abandon if it has not. It
// does nothing (a nil claim) for a kind this queue does not run or while
// the queue is not running. Like the queue's own claims of a Relaxed
// kind, tx may be relaxed (store.DB.WriteRelaxed).
func (q *Queue) ClaimIn(ctx context.Context, tx *store.Tx, kind string) (*TxClaim, error) {
	q.mu.Lock()
	r := q.runners[kind]
	running := q.started && !q.stopped
	q.mu.Unlock()
	if r == nil || !running || !r.worthClaiming(true) {
		return nil, nil
	}
	c := &TxClaim{r: r}
	if err := r.claimTx(ctx, tx, &c.cl); err != nil {
		c.cl.reset(r)
		return nil, err
	}
	return c, nil
}

// Launch starts the claimed jobs; tx has committed.
func (c *TxClaim) Launch() {
	if c != nil {
		c.r.launch(&c.cl)
	}
}

// Abandon forgets the claim; tx has rolled back.
func (c *TxClaim) Abandon() {
	if c != nil {
		c.cl.reset(c.r)
	}
}
