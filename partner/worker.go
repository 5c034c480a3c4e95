package partner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ashlarhq/ashlar/jobqueue"
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
	// Poll is how often to look for calls queued by other processes and
	// expired leases (default 1 s).
	Poll time.Duration
	// Schedule is the retry policy (default: the webhook schedule, 10
	// attempts over about 2.8 hours).
	Schedule webhook.Schedule
	// Retention is how long finished calls are kept (default 30 days).
	Retention time.Duration
	Resolver  Resolver
	Logger    *slog.Logger
}

// DefaultWorkerName is host-pid-random, unique per process.
func DefaultWorkerName() string { return jobqueue.DefaultWorkerName() }

// Worker makes the queued calls of every organization of a database: it
// is the call kind of a job queue (package jobqueue), whose workers in
// every `ashlar serve` process claim due calls under a lease.
type Worker struct {
	client *Client
	cfg    WorkerConfig
	log    *slog.Logger
}

// callJob is a claimed call (jobqueue.Job.Data).
type callJob struct {
	call    *Call
	handler Handler
	target  Target
	resp    *Response
}

// NewWorker registers the call kind with jobs; the queue's Start and
// Stop run it.
func NewWorker(jobs *jobqueue.Queue, client *Client, cfg WorkerConfig) (*Worker, error) {
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
	if cfg.Schedule.MaxAttempts <= 0 {
		cfg.Schedule.MaxAttempts = webhook.DefaultMaxAttempts
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 30 * 24 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Resolver == nil {
		return nil, errors.New("partner worker: a resolver is required")
	}
	w := &Worker{client: client, cfg: cfg, log: cfg.Logger.With("component", "partners", "worker", jobs.Worker())}
	err := jobs.Register(jobqueue.Kind{
		Name: Kind, Workers: cfg.Workers, PerKey: cfg.PerPartner, Timeout: client.Config().Timeout, Lease: cfg.Lease, Poll: cfg.Poll,
		MaxAttempts: cfg.Schedule.MaxAttempts, Backoff: cfg.Schedule.Delay, Retention: cfg.Retention,
		// Not Relaxed: a call's handler applies its consequences (an
		// assessment created) in the transaction that records it.
		Handler: jobqueue.Handler{Begin: w.begin, Work: w.work, Settle: w.settle, Ended: w.ended},
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// Config returns the worker's configuration with defaults applied.
func (w *Worker) Config() WorkerConfig { return w.cfg }

// Close releases the client's idle connections, once the queue stopped.
func (w *Worker) Close() { w.client.Close() }

// begin prepares claimed calls in the claim transaction: their handlers
// and targets, read now so that a changed URL or key applies to retries.
// A call whose integration is disabled or deleted is cancelled, one with
// no handler failed.
func (w *Worker) begin(ctx context.Context, tx *store.Tx, jobs []*jobqueue.Job) error {
	targets := map[string]Target{}
	for _, j := range jobs {
		c := callOf(j)
		c.AttemptCount = j.Attempt
		h, known := handlerFor(c.Method)
		if !known {
			j.End(StateFailed, "no handler for partner method "+c.Method)
			continue
		}
		k := j.OrgID + "/" + j.Key
		t, ok := targets[k]
		if !ok {
			var err error
			if t, err = w.cfg.Resolver(ctx, tx, j.OrgID, j.Key); err != nil {
				return fmt.Errorf("resolve partner of call %s: %w", j.ID, err)
			}
			targets[k] = t
		}
		if t.Disabled != "" {
			j.End(StateCancelled, t.Disabled)
			continue
		}
		j.Data = &callJob{call: c, handler: h, target: t}
	}
	return nil
}

// work makes one attempt.
func (w *Worker) work(ctx context.Context, j *jobqueue.Job) jobqueue.Result {
	cj := j.Data.(*callJob)
	c := cj.call
	resp := w.client.Do(ctx, Request{BaseURL: cj.target.BaseURL, Key: cj.target.Key, Method: c.Method, Body: c.Request, IdempotencyKey: c.IdempotencyKey})
	cj.resp = resp
	r := jobqueue.Result{Outcome: resp.Outcome, Err: resp.Err, Duration: resp.Latency,
		Detail: callDetail{URL: resp.URL, StatusCode: resp.Status, Response: w.client.LogText(resp.Body)}}
	switch resp.Outcome {
	case OutcomeSuccess:
		r.State = StateSucceeded // settle lets the handler judge the response
	case OutcomeBlocked, OutcomeRejected:
		r.State = StateFailed
	default:
		r.State = StatePending
	}
	return r
}

// settle applies a result while the worker still holds the call: the
// method's handler judges a response and applies its consequences in this
// transaction, so they happen once.
func (w *Worker) settle(ctx context.Context, tx *store.Tx, j *jobqueue.Job, r *jobqueue.Result) error {
	cj := j.Data.(*callJob)
	resp := cj.resp
	if resp.Outcome != OutcomeSuccess {
		if r.State == StateFailed && cj.handler.Ended != nil {
			// A transport failure that ends the call (the SSRF guard): the
			// handler has not seen it.
			return cj.handler.Ended(ctx, tx, cj.call, StateFailed, r.Err)
		}
		return nil
	}
	d, err := cj.handler.Result(ctx, tx, cj.call, resp)
	if err != nil {
		return fmt.Errorf("apply %s result: %w", cj.call.Method, err)
	}
	switch d.State {
	case StateSucceeded:
	case StatePending:
		r.Outcome = OutcomeHTTPError
	default:
		d.State, r.Outcome = StateFailed, OutcomeRejected
	}
	if d.State != StateSucceeded && d.Err == "" {
		d.Err = fmt.Sprintf("HTTP %d", resp.Status)
	}
	errText := d.Err
	if resp.Err != "" && errText != resp.Err {
		errText = strings.TrimPrefix(errText+"; "+resp.Err, "; ")
	}
	r.State, r.Err, r.RetryAfter = d.State, errText, min(d.RetryAfter, time.Hour)
	return nil
}

// ended tells a call's handler that the call ended without a result it
// accepted: retries exhausted, or cancelled because its integration is
// disabled.
func (w *Worker) ended(ctx context.Context, tx *store.Tx, j *jobqueue.Job, state, reason string) error {
	c := callOf(j)
	if cj, ok := j.Data.(*callJob); ok {
		c = cj.call
	}
	h, known := handlerFor(c.Method)
	if !known || h.Ended == nil {
		return nil
	}
	return h.Ended(ctx, tx, c, state, reason)
}
