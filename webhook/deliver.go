package webhook

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
)

// job is a claimed delivery, ready to send.
type job struct {
	id, org, setting string
	eventID, action  string
	attempt          int // the number of this attempt, from 1
	eventAt          int64
	payload          []byte
	url, secret      string
	standard         bool
	leaseOwner       string
}

// result is an attempt's outcome and the delivery's next state.
type result struct {
	job       *job
	started   time.Time
	latency   time.Duration
	status    int
	response  string
	err       string
	outcome   string
	state     string    // the delivery's next state
	nextAt    time.Time // when state is pending
	abandoned bool      // recording an attempt lost by a dead worker, not one made here
}

func (d *Dispatcher) claimLoop(ctx context.Context) {
	defer d.loops.Done()
	poll := time.NewTicker(d.cfg.Poll)
	defer poll.Stop()
	due := time.NewTimer(time.Hour)
	defer due.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wakeClaim:
		case <-poll.C:
		case <-due.C:
		}
		busy := false
		for {
			free, full := d.free()
			// Under load, claim in batches: with attempts in flight, wait
			// for a quarter of the workers to free up (their completions
			// wake this loop) rather than run a claim transaction per
			// completion.
			if free <= 0 || free < d.cfg.Workers/4 {
				busy = free < d.cfg.Workers
				break
			}
			n, err := d.claim(ctx, free, full)
			if err != nil {
				if isCanceled(err) || ctx.Err() != nil {
					return
				}
				failures++
				d.log.Error("webhook claim failed", "err", err)
				if !sleep(ctx, backoffAfterError(failures)) {
					return
				}
				continue
			}
			failures = 0
			if n == 0 {
				break
			}
		}
		// Sleep until the next retry comes due, so that a short schedule
		// (tests) is kept precisely; the poll ticker covers the rest. A
		// delivery already due but not taken (this process is at a limit,
		// or it came due during the claim) is looked at again shortly.
		if busy {
			continue
		}
		next, err := d.nextDue(ctx)
		if err == nil && next > 0 {
			due.Reset(max(time.Until(time.UnixMilli(next)), 20*time.Millisecond))
		}
	}
}

// nextDue returns when the earliest unleased pending delivery comes due
// (epoch ms), or 0 if there is none.
func (d *Dispatcher) nextDue(ctx context.Context) (int64, error) {
	var next sql.NullInt64
	err := d.db.QueryRowContext(ctx, `SELECT MIN(next_at) FROM webhook_deliveries WHERE state = 'pending' AND lease_until IS NULL`).Scan(&next)
	return next.Int64, err
}

// claim takes up to limit due deliveries and starts an attempt for each.
//
// This is where the delivery contract is enforced:
//
//   - At least once. A delivery stays pending until an attempt's result
//     is recorded. Claiming it sets a lease (lease_owner, lease_until) and
//     counts the attempt; the worker then POSTs and records the outcome,
//     fenced by (lease_owner, attempts) so that only the current holder can
//     change the delivery. A worker that dies mid-attempt (crash, SIGKILL,
//     lost database) leaves the lease to expire; the delivery is then
//     claimed again by any process, and the lost attempt is recorded as
//     "abandoned" and counts towards the attempt limit. The receiver may
//     therefore get an event twice (it may have answered the lost attempt);
//     duplicates carry the same webhookActionId.
//   - Each attempt by exactly one process. On PostgreSQL the candidates
//     are locked with FOR UPDATE SKIP LOCKED, so concurrent claimers never
//     take the same row, and a leased row is not claimable until its lease
//     expires; the lease outlasts the attempt timeout, so a live worker
//     always finishes first. On SQLite the write transaction excludes
//     other claimers.
//   - Ordering within one setting: deliveries are claimed oldest first
//     (by due time, then creation), so first attempts to one setting start
//     in event order; but up to PerSetting of them are in flight at once,
//     and a failed delivery is retried after later events went out. There
//     is no ordering guarantee: receivers order by the data's timestamps.
//   - Isolation: at most PerSetting attempts to one setting run at once in
//     a process, so a slow receiver cannot take every worker.
//
// The setting is read as it is now: an update of its URL or secret
// applies to retries, and a disabled or deleted setting's deliveries are
// cancelled rather than sent.
func (d *Dispatcher) claim(ctx context.Context, limit int, full []string) (int, error) {
	var c claimed
	err := d.db.Write(ctx, func(tx *store.Tx) error {
		// Losing this transaction to a database crash only means doing the
		// work again, which at-least-once delivery allows.
		if err := tx.RelaxDurability(ctx); err != nil {
			return err
		}
		c.reset(d) // a retried transaction starts over
		return d.claimTx(ctx, tx, limit, full, &c)
	})
	if err != nil {
		c.reset(d)
		return 0, err
	}
	return d.launch(&c), nil
}

// claimed is what a claim took: attempts to start, and deliveries ended
// without one.
type claimed struct {
	jobs []*job
	done []*result
}

func (c *claimed) reset(d *Dispatcher) {
	for _, j := range c.jobs {
		d.release(j.setting)
	}
	c.jobs, c.done = nil, nil
}

// launch starts the claimed attempts, once their transaction committed.
// Once the dispatcher is stopping, claimed attempts are not started; their
// leases expire and they are attempted again later (by any process).
func (d *Dispatcher) launch(c *claimed) int {
	for _, r := range c.done {
		d.cfg.Metrics.deliveries.WithLabelValues(r.state).Inc()
	}
	d.launchMu.Lock()
	defer d.launchMu.Unlock()
	for _, j := range c.jobs {
		if d.stopping {
			d.release(j.setting)
			continue
		}
		d.sends.Add(1)
		go d.run(j)
	}
	return len(c.jobs) + len(c.done)
}

// claimTx is claim's work inside a transaction; the fan-out and the
// recorder also call it, so that new deliveries and freed workers are
// matched in the transaction that produced them.
func (d *Dispatcher) claimTx(ctx context.Context, tx *store.Tx, limit int, full []string, cl *claimed) error {
	if limit <= 0 {
		return nil
	}
	now := d.db.Now()
	nowMs := store.Millis(now)
	var jobs []*job
	{
		args := []any{nowMs, limit}
		exclude := ""
		if len(full) > 0 {
			var ph []string
			for _, s := range full {
				args = append(args, s)
				ph = append(ph, fmt.Sprintf("$%d", len(args)))
			}
			exclude = " AND d.setting_id NOT IN (" + strings.Join(ph, ",") + ")"
		}
		lock := ""
		if d.db.Engine() == store.Postgres {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		// The candidates come from the delivery table alone, in the order
		// of the partial index on due pending rows; their payloads and
		// settings are read next, by key. A join here would let a planner
		// with stale statistics read the whole backlog on every claim.
		rows, err := tx.QueryContext(ctx, `
			SELECT d.id, d.org_id, d.setting_id, d.event_id, d.action, d.attempts, d.lease_owner, d.event_at, d.payload
			FROM webhook_deliveries d
			WHERE d.state = 'pending' AND d.next_at <= $1 AND (d.lease_until IS NULL OR d.lease_until <= $1)`+exclude+`
			ORDER BY d.next_at, d.seq LIMIT $2`+lock, args...)
		if err != nil {
			return fmt.Errorf("claim webhook deliveries: %w", err)
		}
		type cand struct {
			j         job
			attempts  int
			owner     sql.NullString
			payload   sql.NullString
			doc, meta sql.NullString
		}
		var cs []cand
		for rows.Next() {
			var c cand
			if err := rows.Scan(&c.j.id, &c.j.org, &c.j.setting, &c.j.eventID, &c.j.action, &c.attempts, &c.owner, &c.j.eventAt, &c.payload); err != nil {
				rows.Close()
				return fmt.Errorf("claim webhook deliveries: %w", err)
			}
			cs = append(cs, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("claim webhook deliveries: %w", err)
		}
		if len(cs) == 0 {
			return nil
		}
		var eventIDs []string
		settings := map[string]map[string]bool{} // org → setting ids
		for _, c := range cs {
			if !c.payload.Valid {
				eventIDs = append(eventIDs, c.j.eventID)
			}
			if settings[c.j.org] == nil {
				settings[c.j.org] = map[string]bool{}
			}
			settings[c.j.org][c.j.setting] = true
		}
		payloads, err := eventPayloads(ctx, tx, eventIDs)
		if err != nil {
			return err
		}
		docs, err := settingDocs(ctx, tx, settings)
		if err != nil {
			return err
		}
		for i := range cs {
			c := &cs[i]
			if !c.payload.Valid {
				if p, ok := payloads[c.j.eventID]; ok {
					c.payload = sql.NullString{String: p, Valid: true}
				}
			}
			if sd, ok := docs[c.j.org+"/"+c.j.setting]; ok {
				c.doc, c.meta = sd[0], sd[1]
			}
		}
		for _, c := range cs {
			j := c.j
			// A lease that expired means its worker died mid-attempt.
			if c.owner.Valid {
				lj := j
				lj.attempt, lj.leaseOwner = c.attempts, c.owner.String
				lost := &result{job: &lj, started: now, outcome: OutcomeAbandoned, abandoned: true,
					err: fmt.Sprintf("worker %s stopped before recording the result of this attempt; its lease expired", c.owner.String)}
				if err := d.recordAttempt(ctx, tx, lost); err != nil {
					return err
				}
				d.cfg.Metrics.attempts.WithLabelValues(OutcomeAbandoned).Inc()
				if c.attempts >= d.cfg.Schedule.MaxAttempts {
					lost.state, lost.err = StateFailed, fmt.Sprintf("gave up after %d attempts: %s", c.attempts, lost.err)
					if err := d.finish(ctx, tx, &j, StateFailed, nowMs, lost.err); err != nil {
						return err
					}
					cl.done = append(cl.done, lost)
					continue
				}
			}
			var set ashby.WebhookSetting
			var meta SettingMeta
			reason := ""
			switch {
			case !c.doc.Valid:
				reason = "the webhook was deleted"
			case json.Unmarshal([]byte(c.doc.String), &set) != nil:
				reason = "the webhook setting is unreadable"
			case !set.Enabled:
				reason = "the webhook is disabled"
			case !c.payload.Valid:
				reason = "the event no longer exists"
			}
			if c.meta.Valid {
				json.Unmarshal([]byte(c.meta.String), &meta)
			}
			if reason != "" {
				if err := d.finish(ctx, tx, &j, StateCancelled, nowMs, reason); err != nil {
					return err
				}
				cl.done = append(cl.done, &result{job: &j, state: StateCancelled, err: reason})
				continue
			}
			if !d.reserve(j.setting) {
				continue // this process is at its limit for the setting
			}
			j.attempt = c.attempts + 1
			j.payload = []byte(c.payload.String)
			j.url, j.secret, j.standard = set.RequestURL, meta.SecretToken, set.StandardWebhooks
			j.leaseOwner = d.cfg.Worker
			jobs = append(jobs, &j)
			cl.jobs = append(cl.jobs, &j)
		}
		if len(jobs) == 0 {
			return nil
		}
		uargs := []any{d.cfg.Worker, store.Millis(now.Add(d.cfg.Lease))}
		var ph []string
		for _, j := range jobs {
			uargs = append(uargs, j.id)
			ph = append(ph, fmt.Sprintf("$%d", len(uargs)))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET lease_owner = $1, lease_until = $2, attempts = attempts + 1
			WHERE id IN (`+strings.Join(ph, ",")+`)`, uargs...); err != nil {
			return fmt.Errorf("lease webhook deliveries: %w", err)
		}
		return nil
	}
}

// run makes one attempt and hands its result to the recorder.
func (d *Dispatcher) run(j *job) {
	defer d.sends.Done()
	r := d.attempt(d.sendCtx, j)
	d.results <- r
}

// Body returns the exact bytes POSTed for an event:
// {"webhookActionId":…,"action":…,"data":…}, with data as recorded. The
// same bytes go out on every attempt and to every setting.
func Body(webhookActionID, action string, data []byte) []byte {
	id, _ := json.Marshal(webhookActionID)
	act, _ := json.Marshal(action)
	b := make([]byte, 0, len(data)+len(id)+len(act)+40)
	b = append(b, `{"webhookActionId":`...)
	b = append(b, id...)
	b = append(b, `,"action":`...)
	b = append(b, act...)
	b = append(b, `,"data":`...)
	b = append(b, data...)
	return append(b, '}')
}

// UserAgent identifies Ashlar's webhook requests.
const UserAgent = "Ashlar-Webhooks/1"

// attempt POSTs a delivery once and classifies the outcome.
func (d *Dispatcher) attempt(parent context.Context, j *job) *result {
	body := Body(j.eventID, j.action, j.payload)
	r := &result{job: j, started: time.Now()}
	ctx, cancel := context.WithTimeout(parent, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.url, bytes.NewReader(body))
	if err != nil {
		r.outcome, r.err = OutcomeRejected, "invalid request URL: "+err.Error()
		return d.decide(r, nil)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	if j.secret != "" {
		req.Header.Set(SignatureHeader, Sign(j.secret, body))
	}
	if j.standard {
		ts := time.Now().Unix()
		req.Header.Set("webhook-id", j.eventID)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("webhook-signature", StandardSign(j.secret, j.eventID, ts, body))
	}
	resp, err := d.client.Do(req)
	if err != nil {
		r.latency = time.Since(r.started)
		r.outcome, r.err = classifyError(err, parent)
		return d.decide(r, nil)
	}
	// Keep the first bytes, and read (a bounded amount of) the rest so the
	// connection can be reused.
	head, err := io.ReadAll(io.LimitReader(resp.Body, int64(d.cfg.ResponseBytes)))
	if err == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	}
	resp.Body.Close()
	r.latency = time.Since(r.started)
	r.status = resp.StatusCode
	r.response = printable(head)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		r.outcome = OutcomeSuccess
	case !Retryable(resp.StatusCode):
		r.outcome, r.err = OutcomeRejected, fmt.Sprintf("HTTP %d: not retried", resp.StatusCode)
	default:
		r.outcome, r.err = OutcomeHTTPError, fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	return d.decide(r, resp)
}

// decide sets the delivery's next state from the attempt's outcome.
func (d *Dispatcher) decide(r *result, resp *http.Response) *result {
	switch r.outcome {
	case OutcomeSuccess:
		r.state = StateSucceeded
	case OutcomeRejected, OutcomeBlocked:
		r.state = StateFailed
	default:
		if r.job.attempt >= d.cfg.Schedule.MaxAttempts {
			r.state = StateFailed
			r.err = fmt.Sprintf("gave up after %d attempts: %s", r.job.attempt, r.err)
			break
		}
		r.state = StatePending
		now := time.Now()
		r.nextAt = now.Add(d.cfg.Schedule.retryAfter(resp, now, d.cfg.Schedule.Delay(r.job.attempt)))
	}
	return r
}

// classifyError names a failed request's outcome.
func classifyError(err error, parent context.Context) (string, string) {
	var blocked *BlockedError
	var ne net.Error
	switch {
	case errors.As(err, &blocked):
		return OutcomeBlocked, blocked.Error()
	case parent.Err() != nil:
		return OutcomeNetwork, "aborted: the server was stopping"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return OutcomeTimeout, "timed out: " + err.Error()
	}
	return OutcomeNetwork, err.Error()
}

// printable keeps a response prefix as text (invalid UTF-8, as from a cut
// multi-byte character or a binary body, is replaced).
func printable(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// recordLoop writes attempt results in batches: one transaction records
// every result that arrived meanwhile, which keeps the write load (and,
// on SQLite, the single writer) light under a burst.
func (d *Dispatcher) recordLoop() {
	defer d.recorder.Done()
	for r := range d.results {
		batch := []*result{r}
	more:
		for len(batch) < 256 {
			select {
			case r, ok := <-d.results:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		d.record(batch)
	}
}

func (d *Dispatcher) record(batch []*result) {
	// Results are written even while the dispatcher stops; a failed write
	// is retried for a while, after which the leases expire and the
	// deliveries are attempted again (at least once).
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.Lease)
	defer cancel()
	// The attempts are over: their workers are free, and the transaction
	// that records them also claims what is due for those workers.
	for _, r := range batch {
		d.release(r.job.setting)
	}
	var lost []string
	var cl claimed
	for i := 0; ; i++ {
		lost = lost[:0]
		err := d.db.Write(ctx, func(tx *store.Tx) error {
			// Attempt records lost to a database crash only mean an attempt
			// is made again, which at-least-once delivery allows.
			if err := tx.RelaxDurability(ctx); err != nil {
				return err
			}
			lost = lost[:0]
			cl.reset(d)
			for _, r := range batch {
				if err := d.recordAttempt(ctx, tx, r); err != nil {
					return err
				}
				errText := r.err
				if r.state == StateSucceeded {
					errText = ""
				}
				ok, err := d.settle(ctx, tx, r, errText)
				if err != nil {
					return err
				}
				if !ok {
					lost = append(lost, r.job.id)
				}
			}
			d.launchMu.Lock()
			stopping := d.stopping
			d.launchMu.Unlock()
			if stopping {
				return nil
			}
			free, full := d.free()
			return d.claimTx(ctx, tx, free, full, &cl)
		})
		if err == nil {
			d.launch(&cl)
			break
		}
		cl.reset(d)
		d.log.Error("record webhook attempts", "err", err, "attempts", len(batch))
		if !sleep(ctx, backoffAfterError(i)) {
			break
		}
	}
	for _, id := range lost {
		d.log.Warn("webhook delivery was taken over by another worker after its lease expired; this attempt's result only adds to its history", "delivery", id)
	}
	m := d.cfg.Metrics
	for _, r := range batch {
		m.attempts.WithLabelValues(r.outcome).Inc()
		m.attemptSeconds.Observe(r.latency.Seconds())
		if r.state != StatePending {
			m.deliveries.WithLabelValues(r.state).Inc()
		}
		if r.state == StateSucceeded {
			m.deliverySeconds.Observe(time.Since(time.UnixMilli(r.job.eventAt)).Seconds())
		}
	}
	signal(d.wakeClaim)
}

// recordAttempt keeps one attempt. An attempt first recorded as abandoned
// (its worker's lease expired) is overwritten if that worker turns out to
// be alive and reports the real outcome.
func (d *Dispatcher) recordAttempt(ctx context.Context, tx *store.Tx, r *result) error {
	worker := d.cfg.Worker
	if r.abandoned {
		worker = r.job.leaseOwner
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO webhook_attempts (delivery_id, attempt, org_id, worker, url, started_at, latency_ms, status_code, outcome, response, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (delivery_id, attempt) DO UPDATE SET worker = excluded.worker, url = excluded.url, started_at = excluded.started_at,
			latency_ms = excluded.latency_ms, status_code = excluded.status_code, outcome = excluded.outcome,
			response = excluded.response, error = excluded.error
		WHERE webhook_attempts.outcome = 'abandoned' AND excluded.outcome <> 'abandoned'`,
		r.job.id, r.job.attempt, r.job.org, worker, r.job.url, store.Millis(r.started), r.latency.Milliseconds(), r.status,
		r.outcome, nullIfEmpty(r.response), nullIfEmpty(r.err))
	if err != nil {
		return fmt.Errorf("record webhook attempt: %w", err)
	}
	return nil
}

// settle moves the delivery to the attempt's next state if this worker
// still holds it: (lease_owner, attempts) must be what the claim set.
func (d *Dispatcher) settle(ctx context.Context, tx *store.Tx, r *result, errText string) (bool, error) {
	var done, next any
	if r.state == StatePending {
		next = store.Millis(r.nextAt)
	} else {
		done, next = store.Millis(d.db.Now()), store.Millis(d.db.Now())
	}
	res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = $1, next_at = $2, done_at = $3, last_error = $4,
		lease_owner = NULL, lease_until = NULL
		WHERE id = $5 AND lease_owner = $6 AND attempts = $7`,
		r.state, next, done, nullIfEmpty(errText), r.job.id, d.cfg.Worker, r.job.attempt)
	if err != nil {
		return false, fmt.Errorf("update webhook delivery: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// finish ends a delivery the claim transaction holds without making an
// attempt (cancelled, or failed after an abandoned last attempt).
func (d *Dispatcher) finish(ctx context.Context, tx *store.Tx, j *job, state string, now int64, reason string) error {
	_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = $1, done_at = $2, last_error = $3, lease_owner = NULL, lease_until = NULL
		WHERE id = $4`, state, now, reason, j.id)
	if err != nil {
		return fmt.Errorf("end webhook delivery: %w", err)
	}
	return nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// eventPayloads reads events' payloads by id.
func eventPayloads(ctx context.Context, tx *store.Tx, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	ph := make([]string, len(ids))
	for i, id := range ids {
		args[i], ph[i] = id, fmt.Sprintf("$%d", i+1)
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, payload FROM events WHERE id IN (`+strings.Join(ph, ",")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("read event payloads: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, p string
		if err := rows.Scan(&id, &p); err != nil {
			return nil, fmt.Errorf("read event payloads: %w", err)
		}
		out[id] = p
	}
	return out, rows.Err()
}

// settingDocs reads settings' documents and meta, keyed "org/id".
func settingDocs(ctx context.Context, tx *store.Tx, byOrg map[string]map[string]bool) (map[string][2]sql.NullString, error) {
	out := map[string][2]sql.NullString{}
	for org, ids := range byOrg {
		args := []any{org, Settings.Name}
		var ph []string
		for id := range ids {
			args = append(args, id)
			ph = append(ph, fmt.Sprintf("$%d", len(args)))
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, doc, meta FROM `+tx.DB().DocsByID()+` WHERE org_id = $1 AND kind = $2 AND id IN (`+strings.Join(ph, ",")+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("read webhook settings: %w", err)
		}
		for rows.Next() {
			var id string
			var doc, meta sql.NullString
			if err := rows.Scan(&id, &doc, &meta); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read webhook settings: %w", err)
			}
			out[org+"/"+id] = [2]sql.NullString{doc, meta}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
