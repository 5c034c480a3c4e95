package partner

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/webhook"
)

// Target is where a call goes, resolved when it is claimed so that a
// changed URL or key applies to retries.
type Target struct {
	BaseURL string
	Key     string
	// Disabled, when set, says why the call must not be made (the
	// integration was disabled or deleted): it is cancelled instead.
	Disabled string
}

// Resolver finds a call's target from its organization and integration.
type Resolver func(ctx context.Context, q store.Q, org, integrationID string) (Target, error)

// Decision is a handler's verdict on a response.
type Decision struct {
	// State is StateSucceeded or StateFailed to end the call (the handler
	// has applied the consequences), or StatePending to retry it.
	State string
	Err   string
	// RetryAfter is the least the retry waits (a partner's Retry-After).
	RetryAfter time.Duration
}

// Handler applies the results of one method's calls, inside the
// transaction that records them, so each result takes effect once.
type Handler struct {
	// Result judges an HTTP response; when it ends the call it applies
	// the consequences (an assessment created, a start rejected).
	Result func(ctx context.Context, tx *store.Tx, c *Call, resp *Response) (Decision, error)
	// Ended is told of a call that ended without a result Result
	// accepted: retries exhausted, refused by the SSRF guard, or
	// cancelled because its integration is disabled. state is
	// StateFailed or StateCancelled.
	Ended func(ctx context.Context, tx *store.Tx, c *Call, state, reason string) error
}

var handlers = struct {
	sync.RWMutex
	m map[string]Handler
}{m: map[string]Handler{}}

// Handle registers the handler of a partner method's calls; the
// packages that enqueue calls register their handlers from init.
func Handle(method string, h Handler) {
	handlers.Lock()
	defer handlers.Unlock()
	handlers.m[method] = h
}

func handlerFor(method string) (Handler, bool) {
	handlers.RLock()
	defer handlers.RUnlock()
	h, ok := handlers.m[method]
	return h, ok
}

// Classify is the default verdict on a status, as webhook deliveries
// judge theirs: 2xx succeeds; 401, 403, 404, 405 and 410 fail at once;
// anything else is retried (a 429 or 503 after its Retry-After).
func Classify(resp *Response) Decision {
	switch {
	case resp.Status >= 200 && resp.Status <= 299:
		return Decision{State: StateSucceeded}
	case !webhook.Retryable(resp.Status):
		return Decision{State: StateFailed, Err: fmt.Sprintf("HTTP %d: not retried", resp.Status)}
	}
	return Decision{State: StatePending, Err: fmt.Sprintf("HTTP %d", resp.Status), RetryAfter: resp.RetryAfter(time.Now())}
}

// WorkerConfig configures a Worker. Zero values take the defaults.
type WorkerConfig struct {
	// Workers bounds the calls this process makes at once (default 8).
	Workers int
	// PerPartner bounds the calls to one integration this process makes
	// at once (default 4), so a hanging partner cannot hold every worker.
	PerPartner int
	// Lease is how long a claimed call belongs to its worker (default the
	// client's timeout + 30 s); it must outlast an attempt.
	Lease time.Duration
	// Poll is how often to look for calls queued by other processes,
	// retries that came due and expired leases (default 1 s).
	Poll time.Duration
	// Schedule is the retry policy (default: the webhook schedule, 10
	// attempts over about 2.8 hours).
	Schedule webhook.Schedule
	// Retention is how long finished calls are kept (default 30 days).
	Retention time.Duration
	// Worker names this process in leases and attempts.
	Worker   string
	Resolver Resolver
	Logger   *slog.Logger
}

// DefaultWorkerName is host-pid-random, unique per process.
func DefaultWorkerName() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Worker makes the queued calls of every organization of a database. Run
// one per `ashlar serve` process; several may share a database.
type Worker struct {
	db     *store.DB
	client *Client
	cfg    WorkerConfig
	log    *slog.Logger

	wake chan struct{}

	mu         sync.Mutex
	inflight   int
	perPartner map[string]int

	cancel  context.CancelFunc
	loops   sync.WaitGroup
	calls   sync.WaitGroup
	callCtx context.Context
	stopC   context.CancelFunc
	started bool
}

// NewWorker returns a worker; start it with Start.
func NewWorker(db *store.DB, client *Client, cfg WorkerConfig) *Worker {
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.PerPartner <= 0 {
		cfg.PerPartner = 4
	}
	cfg.PerPartner = min(cfg.PerPartner, cfg.Workers)
	if cfg.Lease <= 0 {
		cfg.Lease = client.Config().Timeout + 30*time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Schedule.MaxAttempts <= 0 {
		cfg.Schedule.MaxAttempts = webhook.DefaultMaxAttempts
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 30 * 24 * time.Hour
	}
	if cfg.Worker == "" {
		cfg.Worker = DefaultWorkerName()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Worker{db: db, client: client, cfg: cfg, log: cfg.Logger.With("component", "partners", "worker", cfg.Worker),
		wake: make(chan struct{}, 1), perPartner: map[string]int{}}
}

// Config returns the worker's configuration with defaults applied.
func (w *Worker) Config() WorkerConfig { return w.cfg }

// Start runs the worker in the background until Stop.
func (w *Worker) Start() {
	if w.started {
		return
	}
	w.started = true
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	w.callCtx, w.stopC = context.WithCancel(context.Background())
	register(w)
	w.loops.Add(2)
	go w.claimLoop(ctx)
	go w.maintenanceLoop(ctx)
	w.Wake()
}

// Stop stops claiming, lets calls in flight finish and record their
// results until ctx is done, then aborts the rest; their leases expire
// and another process (or this one, restarted) retries them.
func (w *Worker) Stop(ctx context.Context) error {
	if !w.started {
		return nil
	}
	w.started = false
	unregister(w)
	w.cancel()
	w.loops.Wait()
	done := make(chan struct{})
	go func() { w.calls.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		w.stopC()
		<-done
		err = fmt.Errorf("partner worker: stopped with calls in flight: %w", ctx.Err())
	}
	w.stopC()
	w.client.Close()
	return err
}

// Wake makes the worker look for due calls now.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Workers running in this process, woken when a call is recorded here.
var running = struct {
	sync.Mutex
	ws map[*Worker]bool
}{ws: map[*Worker]bool{}}

func register(w *Worker) {
	running.Lock()
	running.ws[w] = true
	running.Unlock()
}

func unregister(w *Worker) {
	running.Lock()
	delete(running.ws, w)
	running.Unlock()
}

func wakeLocal() {
	running.Lock()
	defer running.Unlock()
	for w := range running.ws {
		w.Wake()
	}
}

func (w *Worker) reserve(integration string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.inflight >= w.cfg.Workers || w.perPartner[integration] >= w.cfg.PerPartner {
		return false
	}
	w.inflight++
	w.perPartner[integration]++
	return true
}

func (w *Worker) release(integration string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inflight--
	if w.perPartner[integration]--; w.perPartner[integration] <= 0 {
		delete(w.perPartner, integration)
	}
}

func (w *Worker) free() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cfg.Workers - w.inflight
}

func (w *Worker) claimLoop(ctx context.Context) {
	defer w.loops.Done()
	poll := time.NewTicker(w.cfg.Poll)
	defer poll.Stop()
	due := time.NewTimer(time.Hour)
	defer due.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-poll.C:
		case <-due.C:
		}
		for w.free() > 0 {
			n, err := w.claim(ctx, w.free())
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				failures++
				w.log.Error("claim partner calls", "err", err)
				if !sleep(ctx, min(time.Duration(1<<min(failures, 6))*50*time.Millisecond, 5*time.Second)) {
					return
				}
				continue
			}
			failures = 0
			if n == 0 {
				break
			}
		}
		// Sleep until the next retry comes due, so short schedules
		// (tests) are kept precisely; the poll ticker covers the rest.
		var next sql.NullInt64
		if err := w.db.QueryRowContext(ctx, `SELECT MIN(next_at) FROM partner_calls WHERE state = 'pending' AND lease_until IS NULL`).Scan(&next); err == nil && next.Valid {
			due.Reset(max(time.Until(time.UnixMilli(next.Int64)), 20*time.Millisecond))
		}
	}
}

// job is a claimed call with its target.
type job struct {
	call   *Call
	target Target
}

// claim takes up to limit due calls and starts an attempt for each. It
// returns how many calls it took or ended (cancelled, given up), so that
// the caller looks again while there may be more.
//
// The contract, as for webhook deliveries (see webhook.Dispatcher.claim):
// a call stays pending until the result of an attempt is recorded; the
// claim sets a lease and counts the attempt; the result is recorded only
// if (lease_owner, attempts) still match, and the handler applies it in
// that transaction. A claimer finding an expired lease records the lost
// attempt as abandoned. On PostgreSQL candidates are locked with FOR
// UPDATE SKIP LOCKED, so two processes never take the same call; on
// SQLite the write transaction excludes other claimers.
func (w *Worker) claim(ctx context.Context, limit int) (int, error) {
	var jobs []*job
	ended := 0
	err := w.db.Write(ctx, func(tx *store.Tx) error {
		for _, j := range jobs {
			w.release(j.call.PartnerIntegrationID) // a retried transaction starts over
		}
		jobs, ended = nil, 0
		now := w.db.Now()
		nowMs := store.Millis(now)
		lock := ""
		if w.db.Engine() == store.Postgres {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+callColumns+`, COALESCE(lease_owner, '') FROM partner_calls
			WHERE state = 'pending' AND next_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
			ORDER BY next_at, seq LIMIT $2`+lock, nowMs, limit)
		if err != nil {
			return fmt.Errorf("claim partner calls: %w", err)
		}
		type cand struct {
			c     *Call
			owner string
		}
		var cs []cand
		for rows.Next() {
			var owner string
			c, err := scanCall(func(dest ...any) error { return rows.Scan(append(dest, &owner)...) })
			if err != nil {
				rows.Close()
				return fmt.Errorf("claim partner calls: %w", err)
			}
			cs = append(cs, cand{c, owner})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("claim partner calls: %w", err)
		}
		for _, cd := range cs {
			c := cd.c
			h, known := handlerFor(c.Method)
			if cd.owner != "" {
				// The lease expired: its worker died mid-attempt.
				reason := fmt.Sprintf("worker %s stopped before recording the result of this attempt; its lease expired", cd.owner)
				if err := insertAttempt(ctx, tx, c.ID, c.OrgID, c.AttemptCount, cd.owner, "", now, 0, 0, OutcomeAbandoned, "", reason); err != nil {
					return err
				}
				if c.AttemptCount >= w.cfg.Schedule.MaxAttempts {
					if err := w.end(ctx, tx, c, h, known, StateFailed, fmt.Sprintf("gave up after %d attempts: %s", c.AttemptCount, reason)); err != nil {
						return err
					}
					ended++
					continue
				}
			}
			if !known {
				if err := w.end(ctx, tx, c, h, known, StateFailed, "no handler for partner method "+c.Method); err != nil {
					return err
				}
				ended++
				continue
			}
			t, err := w.cfg.Resolver(ctx, tx, c.OrgID, c.PartnerIntegrationID)
			if err != nil {
				return fmt.Errorf("resolve partner of call %s: %w", c.ID, err)
			}
			if t.Disabled != "" {
				if err := w.end(ctx, tx, c, h, known, StateCancelled, t.Disabled); err != nil {
					return err
				}
				ended++
				continue
			}
			if !w.reserve(c.PartnerIntegrationID) {
				continue
			}
			c.AttemptCount++
			jobs = append(jobs, &job{call: c, target: t})
		}
		for _, j := range jobs {
			if _, err := tx.ExecContext(ctx, `UPDATE partner_calls SET lease_owner = $1, lease_until = $2, attempts = $3 WHERE id = $4`,
				w.cfg.Worker, store.Millis(now.Add(w.cfg.Lease)), j.call.AttemptCount, j.call.ID); err != nil {
				return fmt.Errorf("lease partner call: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		for _, j := range jobs {
			w.release(j.call.PartnerIntegrationID)
		}
		return 0, err
	}
	for _, j := range jobs {
		w.calls.Add(1)
		go w.run(j)
	}
	return len(jobs) + ended, nil
}

// end finishes a call without an attempt's result and tells its handler.
func (w *Worker) end(ctx context.Context, tx *store.Tx, c *Call, h Handler, known bool, state, reason string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE partner_calls SET state = $1, done_at = $2, last_error = $3, lease_owner = NULL, lease_until = NULL WHERE id = $4`,
		state, store.Millis(w.db.Now()), reason, c.ID); err != nil {
		return fmt.Errorf("end partner call: %w", err)
	}
	if known && h.Ended != nil {
		return h.Ended(ctx, tx, c, state, reason)
	}
	return nil
}

// run makes one attempt and records it.
func (w *Worker) run(j *job) {
	defer w.calls.Done()
	c := j.call
	started := time.Now()
	resp := w.client.Do(w.callCtx, Request{BaseURL: j.target.BaseURL, Key: j.target.Key, Method: c.Method, Body: c.Request, IdempotencyKey: c.IdempotencyKey})
	w.release(c.PartnerIntegrationID)
	// Results are recorded even while the worker stops; a failed write is
	// retried until the lease would expire, after which the call is
	// attempted again (at least once).
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.Lease)
	defer cancel()
	for i := 0; ; i++ {
		err := w.db.Write(ctx, func(tx *store.Tx) error { return w.record(ctx, tx, c, resp, started) })
		if err == nil {
			break
		}
		w.log.Error("record partner call", "call", c.ID, "method", c.Method, "err", err)
		if !sleep(ctx, min(time.Duration(1<<min(i, 6))*50*time.Millisecond, 5*time.Second)) {
			return
		}
	}
	w.Wake()
}

func (w *Worker) record(ctx context.Context, tx *store.Tx, c *Call, resp *Response, started time.Time) error {
	h, _ := handlerFor(c.Method)
	var d Decision
	outcome := resp.Outcome
	switch resp.Outcome {
	case OutcomeSuccess:
	case OutcomeBlocked, OutcomeRejected:
		d = Decision{State: StateFailed, Err: resp.Err}
	default:
		d = Decision{State: StatePending, Err: resp.Err}
	}
	// Only the holder of the lease records a result; a worker whose lease
	// expired (a stall longer than the lease) adds its attempt to the
	// history and nothing else.
	res, err := tx.ExecContext(ctx, `UPDATE partner_calls SET lease_owner = NULL, lease_until = NULL, last_status = $4
		WHERE id = $1 AND lease_owner = $2 AND attempts = $3 AND state = 'pending'`, c.ID, w.cfg.Worker, c.AttemptCount, resp.Status)
	if err != nil {
		return fmt.Errorf("settle partner call: %w", err)
	}
	held := false
	if n, _ := res.RowsAffected(); n == 1 {
		held = true
	}
	if held && resp.Outcome == OutcomeSuccess {
		if d, err = h.Result(ctx, tx, c, resp); err != nil {
			return fmt.Errorf("apply %s result: %w", c.Method, err)
		}
		switch d.State {
		case StateSucceeded:
		case StatePending:
			outcome = OutcomeHTTPError
		default:
			outcome = OutcomeRejected
		}
		if d.State != StateSucceeded && d.Err == "" {
			d.Err = fmt.Sprintf("HTTP %d", resp.Status)
		}
	}
	errText := d.Err
	if resp.Err != "" && errText != resp.Err && resp.Outcome == OutcomeSuccess {
		errText = strings.TrimPrefix(errText+"; "+resp.Err, "; ")
	}
	if err := insertAttempt(ctx, tx, c.ID, c.OrgID, c.AttemptCount, w.cfg.Worker, resp.URL, started, resp.Latency, resp.Status, outcome, w.client.LogText(resp.Body), errText); err != nil {
		return err
	}
	if !held {
		w.log.Warn("partner call was taken over by another worker after its lease expired; this attempt only adds to its history", "call", c.ID)
		return nil
	}
	now := w.db.Now()
	switch d.State {
	case StateSucceeded, StateFailed:
		if d.State == StateFailed && resp.Outcome != OutcomeSuccess && h.Ended != nil {
			// A transport failure that ends the call (the SSRF guard):
			// the handler has not seen it.
			if err := h.Ended(ctx, tx, c, StateFailed, d.Err); err != nil {
				return err
			}
		}
		if d.State == StateSucceeded {
			errText = ""
		}
		_, err = tx.ExecContext(ctx, `UPDATE partner_calls SET state = $2, done_at = $3, next_at = $3, last_error = $4 WHERE id = $1`,
			c.ID, d.State, store.Millis(now), nullIfEmpty(errText))
	default:
		if c.AttemptCount >= w.cfg.Schedule.MaxAttempts {
			reason := fmt.Sprintf("gave up after %d attempts: %s", c.AttemptCount, errText)
			return w.end(ctx, tx, c, h, true, StateFailed, reason)
		}
		delay := max(w.cfg.Schedule.Delay(c.AttemptCount), min(d.RetryAfter, time.Hour))
		_, err = tx.ExecContext(ctx, `UPDATE partner_calls SET next_at = $2, last_error = $3 WHERE id = $1`,
			c.ID, store.Millis(now.Add(delay)), nullIfEmpty(errText))
	}
	if err != nil {
		return fmt.Errorf("update partner call: %w", err)
	}
	return nil
}

// maintenanceLoop deletes finished calls past their retention, hourly.
func (w *Worker) maintenanceLoop(ctx context.Context) {
	defer w.loops.Done()
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := DeleteFinished(ctx, w.db, w.db.Now().Add(-w.cfg.Retention)); err != nil && ctx.Err() == nil {
			w.log.Error("delete old partner calls", "err", err)
		} else if n > 0 {
			w.log.Info("deleted old partner calls", "calls", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

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
