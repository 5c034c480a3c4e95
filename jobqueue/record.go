package jobqueue

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/store"
)

// attemptRow is one attempt to insert, as a {rows} parameter.
type attemptRow struct {
	Job      string  `json:"job"`
	Attempt  int     `json:"attempt"`
	Worker   string  `json:"worker"`
	Started  int64   `json:"started"`
	Duration int64   `json:"ms"`
	Outcome  string  `json:"outcome"`
	Err      *string `json:"err"`
	Detail   *string `json:"detail"`
}

// An attempt first recorded as abandoned (its worker's lease expired) is
// overwritten if that worker turns out to be alive and records the real
// outcome.
const insertAttemptsSQL = `INSERT INTO job_attempts (job_id, attempt, worker, started_at, duration_ms, outcome, error, detail)
	SELECT v.job, v.attempt, v.worker, v.started, v.ms, v.outcome, v.err, v.detail
	FROM {rows $1 job:TEXT attempt:BIGINT worker:TEXT started:BIGINT ms:BIGINT outcome:TEXT err:TEXT detail:TEXT} WHERE true
	ON CONFLICT (job_id, attempt) DO UPDATE SET worker = excluded.worker, started_at = excluded.started_at,
		duration_ms = excluded.duration_ms, outcome = excluded.outcome, error = excluded.error, detail = excluded.detail
	WHERE job_attempts.outcome = 'abandoned' AND excluded.outcome <> 'abandoned'`

func insertAttempts(ctx context.Context, tx *store.Tx, rows []attemptRow) error {
	if _, err := tx.ExecContext(ctx, expand(tx.DB().Engine(), insertAttemptsSQL), jsonParam(rows)); err != nil {
		return fmt.Errorf("record job attempts: %w", err)
	}
	return nil
}

// settleSQL moves each job to its next state if this worker still holds
// it: (lease_owner, attempts) must be what the claim set. A retry is due
// after its delay by the database's clock. (A job has a lease_owner only
// while pending: every statement that ends a job clears it.)
const settleSQL = `UPDATE jobs SET state = v.state,
		run_at = CASE WHEN v.state = 'pending' THEN {now} + v.delay ELSE jobs.run_at END,
		done_at = CASE WHEN v.state = 'pending' THEN NULL ELSE {now} END,
		last_error = v.err, lease_owner = NULL, lease_until = NULL
	FROM {rows $1 seq:BIGINT attempt:BIGINT state:TEXT delay:BIGINT err:TEXT}
	WHERE jobs.seq = v.seq AND {rowseq jobs.seq $1} AND jobs.lease_owner = $2 AND jobs.attempts = v.attempt
	RETURNING jobs.seq`

// heldSQL locks the jobs this worker still holds, before a kind's Settle
// applies their results.
const heldSQL = `SELECT seq, attempts FROM jobs WHERE {inseq seq $1} AND lease_owner = $2{forupdate}`

// giveBackSQL releases claimed jobs no attempt of which started.
const giveBackSQL = `UPDATE jobs SET lease_owner = NULL, lease_until = NULL, attempts = attempts - 1
	FROM {rows $1 seq:BIGINT attempt:BIGINT}
	WHERE jobs.seq = v.seq AND {rowseq jobs.seq $1} AND jobs.lease_owner = $2 AND jobs.attempts = v.attempt`

type settleRow struct {
	Seq     int64   `json:"seq"`
	Attempt int     `json:"attempt"`
	State   string  `json:"state"`
	Delay   int64   `json:"delay"`
	Err     *string `json:"err"`
}

// record writes a batch of results in one transaction, which also claims
// the next jobs for the capacity they freed.
func (r *runner) record(batch []*done) {
	// Results are written even while the queue stops; a failed write is
	// retried for as long as the lease runs, after which the jobs are
	// attempted again (at least once).
	ctx, cancel := context.WithTimeout(context.Background(), r.k.Lease)
	defer cancel()
	r.records.Add(1)
	var cl claimed
	var reports []Report
	var lost []*Job
	for i := 0; ; i++ {
		err := r.write(ctx, func(tx *store.Tx) error {
			cl.reset(r)
			reports, lost = reports[:0], lost[:0]
			var err error
			if reports, lost, err = r.recordTx(ctx, tx, batch); err != nil {
				return err
			}
			if r.worthClaiming(false) {
				return r.claimTx(ctx, tx, &cl)
			}
			return nil
		})
		if err == nil {
			break
		}
		cl.reset(r)
		reports = nil
		r.log.Error("record job attempts", "err", err, "attempts", len(batch))
		if !sleep(ctx, backoffAfterError(i)) {
			break
		}
	}
	for _, j := range lost {
		r.log.Warn("job was taken over by another worker after its lease expired; this attempt's result only adds to its history", "job", j.ID, "attempt", j.Attempt)
	}
	if len(reports) > 0 && r.k.Handler.Committed != nil {
		r.k.Handler.Committed(reports)
	}
	r.launch(&cl)
	// A retry scheduled, or a job given back: the claim loop sets its
	// timer for when it comes due.
	for _, d := range batch {
		if d.giveBack || d.res.State == Pending {
			signal(r.wakeNew)
			break
		}
	}
}

// recordTx records a batch's attempts and the jobs' next states. It
// returns what it did, and the jobs whose lease this worker had lost.
func (r *runner) recordTx(ctx context.Context, tx *store.Tx, batch []*done) ([]Report, []*Job, error) {
	e := tx.DB().Engine()
	me := r.q.cfg.Worker
	var seqs []int64
	var back []settleRow
	for _, d := range batch {
		if d.giveBack {
			back = append(back, settleRow{Seq: d.job.Seq, Attempt: d.job.Attempt})
		} else {
			seqs = append(seqs, d.job.Seq)
		}
	}
	if len(back) > 0 {
		if _, err := tx.ExecContext(ctx, expand(e, giveBackSQL), jsonParam(back), me); err != nil {
			return nil, nil, fmt.Errorf("give back %s jobs: %w", r.k.Name, err)
		}
	}
	if len(seqs) == 0 {
		return nil, nil, nil
	}
	// A kind that acts on results locks the jobs it still holds first, so
	// that its consequences apply once, by the lease's holder.
	h := r.k.Handler
	checked := h.Settle != nil || h.Ended != nil
	held := map[int64]int{}
	if checked {
		rows, err := tx.QueryContext(ctx, expand(e, heldSQL), jsonParam(seqs), me)
		if err != nil {
			return nil, nil, fmt.Errorf("lock %s jobs: %w", r.k.Name, err)
		}
		for rows.Next() {
			var seq int64
			var attempts int
			if err := rows.Scan(&seq, &attempts); err != nil {
				rows.Close()
				return nil, nil, fmt.Errorf("lock %s jobs: %w", r.k.Name, err)
			}
			held[seq] = attempts
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, fmt.Errorf("lock %s jobs: %w", r.k.Name, err)
		}
	}
	reports := make([]Report, 0, len(seqs))
	atts := make([]attemptRow, 0, len(seqs))
	sets := make([]settleRow, 0, len(seqs))
	for _, d := range batch {
		if d.giveBack {
			continue
		}
		j, res := d.job, d.res
		isHeld := true
		if checked {
			isHeld = held[j.Seq] == j.Attempt
		}
		if checked && isHeld && h.Settle != nil {
			if err := h.Settle(ctx, tx, j, &res); err != nil {
				return nil, nil, fmt.Errorf("settle %s job %s: %w", r.k.Name, j.ID, err)
			}
		}
		state, lastErr := res.State, res.Err
		if state != Succeeded && state != Failed {
			state = Pending
		}
		if state == Pending && j.Attempt >= r.k.MaxAttempts {
			state, lastErr = Failed, fmt.Sprintf("gave up after %d attempts: %s", j.Attempt, res.Err)
			if checked && isHeld && h.Ended != nil {
				if err := h.Ended(ctx, tx, j, Failed, lastErr); err != nil {
					return nil, nil, fmt.Errorf("end %s job %s: %w", r.k.Name, j.ID, err)
				}
			}
		}
		var delay time.Duration
		if state == Pending {
			delay = max(r.k.Backoff(j.Attempt), res.RetryAfter)
		}
		if state == Succeeded {
			lastErr = ""
		}
		a := attemptRow{Job: j.ID, Attempt: j.Attempt, Worker: me, Started: res.Started.UnixMilli(), Duration: res.Duration.Milliseconds(),
			Outcome: res.Outcome, Err: strPtr(res.Err)}
		if res.Detail != nil {
			b, err := json.Marshal(res.Detail)
			if err != nil {
				return nil, nil, fmt.Errorf("encode %s attempt detail: %w", r.k.Name, err)
			}
			s := string(b)
			a.Detail = &s
		}
		atts = append(atts, a)
		sets = append(sets, settleRow{Seq: j.Seq, Attempt: j.Attempt, State: state, Delay: delay.Milliseconds(), Err: strPtr(lastErr)})
		res.State, res.Err = state, lastErr
		reports = append(reports, Report{Job: j, Attempt: &res, State: state, Held: isHeld})
	}
	var rows *sql.Rows
	var err error
	if e == store.Postgres {
		// One round trip: the attempts are inserted by a data-modifying
		// WITH of the statement that settles the jobs.
		rows, err = tx.QueryContext(ctx, expand(e, `WITH a AS (`+renumber(insertAttemptsSQL, 3)+`) `+settleSQL), jsonParam(sets), me, jsonParam(atts))
	} else {
		if err := insertAttempts(ctx, tx, atts); err != nil {
			return nil, nil, err
		}
		rows, err = tx.QueryContext(ctx, expand(e, settleSQL), jsonParam(sets), me)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("settle %s jobs: %w", r.k.Name, err)
	}
	settled := map[int64]bool{}
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("settle %s jobs: %w", r.k.Name, err)
		}
		settled[seq] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("settle %s jobs: %w", r.k.Name, err)
	}
	var lost []*Job
	for i := range reports {
		rp := &reports[i]
		if !settled[rp.Job.Seq] {
			rp.Held, rp.State = false, ""
			lost = append(lost, rp.Job)
		}
	}
	return reports, lost, nil
}

// giveBack releases claimed jobs that were never started.
func (r *runner) giveBack(ctx context.Context, tx *store.Tx, jobs []*Job) error {
	rows := make([]settleRow, len(jobs))
	for i, j := range jobs {
		rows[i] = settleRow{Seq: j.Seq, Attempt: j.Attempt}
	}
	if _, err := tx.ExecContext(ctx, expand(tx.DB().Engine(), giveBackSQL), jsonParam(rows), r.q.cfg.Worker); err != nil {
		return fmt.Errorf("give back %s jobs: %w", r.k.Name, err)
	}
	return nil
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// renumber moves a statement's only parameter, $1, to $n.
func renumber(q string, n int) string { return strings.ReplaceAll(q, "$1", "$"+strconv.Itoa(n)) }
