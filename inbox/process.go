package inbox

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/ashlarhq/ashlar/client/webhooks"
)

// Action processes one event. It gets the event and the exact body that
// was received; an error means "try again later".
type Action interface {
	Run(ctx context.Context, ev *webhooks.Event, body []byte) error
}

// Config configures a Processor.
type Config struct {
	// Workers run actions at once (default 4); 0 receives only, leaving
	// processing to another process on the same store.
	Workers int
	// Timeout bounds one action (default 30s). The lease is twice that.
	Timeout time.Duration
	// MaxAttempts before an event is marked failed (default 10).
	MaxAttempts int
	// RetryBase is the unit of the backoff: RetryBase×2ⁿ, jittered,
	// capped at an hour (default 5s).
	RetryBase time.Duration
	// Poll is how often workers look for due work besides being woken
	// (default 1s).
	Poll time.Duration
	// Retention keeps finished events (and so their ids for
	// deduplication) this long (default 30 days).
	Retention time.Duration
	Logger    *slog.Logger
}

// Processor receives deliveries into the store and works them off.
type Processor struct {
	store  *Store
	action Action
	cfg    Config
	owner  string
	wake   chan struct{}
	log    *slog.Logger
}

// New returns a processor of store's events with action.
func New(store *Store, action Action, cfg Config) *Processor {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 10
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 5 * time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 30 * 24 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Processor{store: store, action: action, cfg: cfg, owner: NewOwner(), wake: make(chan struct{}, 1), log: cfg.Logger}
}

// ServeHTTP stores a verified delivery (mount it behind
// webhooks.Handler) and acknowledges it: 200 once it is committed, 503 if
// it could not be stored, so that the sender retries.
func (p *Processor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ev, ok := webhooks.FromContext(r.Context())
	if !ok {
		http.Error(w, "not a verified delivery", http.StatusInternalServerError)
		return
	}
	body, err := readAll(r)
	if err != nil {
		http.Error(w, "could not read the body", http.StatusBadRequest)
		return
	}
	added, err := p.store.Add(r.Context(), ev, body, time.Now())
	if err != nil {
		p.log.Error("could not store a delivery; the sender will retry", "webhook_action_id", ev.WebhookActionID, "error", err)
		http.Error(w, "could not store the event", http.StatusServiceUnavailable)
		return
	}
	if added {
		p.log.Info("event queued", "webhook_action_id", ev.WebhookActionID, "action", ev.Action)
		select {
		case p.wake <- struct{}{}:
		default:
		}
	} else {
		p.log.Info("duplicate delivery acknowledged", "webhook_action_id", ev.WebhookActionID, "action", ev.Action)
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"received":true,"duplicate":%v}`+"\n", !added)
}

// Run works off the queue until ctx ends, then waits for the actions in
// flight.
func (p *Processor) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range p.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.worker(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.janitor(ctx)
	}()
	wg.Wait()
}

func (p *Processor) worker(ctx context.Context) {
	t := time.NewTicker(p.cfg.Poll)
	defer t.Stop()
	for {
		for ctx.Err() == nil && p.one(ctx) {
		}
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-t.C:
		}
	}
}

// one claims and processes one event; it reports whether there was one.
func (p *Processor) one(ctx context.Context) bool {
	c, err := p.store.Claim(ctx, p.owner, time.Now(), 2*p.cfg.Timeout)
	if err != nil {
		if ctx.Err() == nil {
			p.log.Error("claim", "error", err)
		}
		return false
	}
	if c == nil {
		return false
	}
	// Another worker may find more.
	select {
	case p.wake <- struct{}{}:
	default:
	}
	ev, err := webhooks.Parse(c.Body)
	if err == nil {
		actx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
		err = p.action.Run(actx, ev, c.Body)
		cancel()
	}
	// Record the outcome even if ctx ended meanwhile: the action ran.
	rctx := context.WithoutCancel(ctx)
	now := time.Now()
	if err == nil {
		if err := p.store.Done(rctx, c.WebhookActionID, p.owner, now); err != nil {
			p.log.Error("record a processed event", "webhook_action_id", c.WebhookActionID, "error", err)
		}
		p.log.Info("event processed", "webhook_action_id", c.WebhookActionID, "action", c.Action, "attempt", c.Attempts)
		return true
	}
	if ctx.Err() != nil {
		// Shutting down mid-action: leave the claim to expire so that the
		// next process runs it again, without counting a failure.
		return true
	}
	var retryAt *time.Time
	if c.Attempts < p.cfg.MaxAttempts {
		d := p.cfg.RetryBase << min(c.Attempts-1, 20)
		if d > time.Hour || d <= 0 {
			d = time.Hour
		}
		d += time.Duration(rand.Int64N(int64(d/5) + 1))
		t := now.Add(d)
		retryAt = &t
		p.log.Warn("event failed; will retry", "webhook_action_id", c.WebhookActionID, "action", c.Action, "attempt", c.Attempts, "retry_in", d.Round(time.Millisecond), "error", err)
	} else {
		p.log.Error("event failed for good", "webhook_action_id", c.WebhookActionID, "action", c.Action, "attempts", c.Attempts, "error", err)
	}
	if ferr := p.store.Fail(rctx, c.WebhookActionID, p.owner, err, now, retryAt); ferr != nil {
		p.log.Error("record a failed attempt", "webhook_action_id", c.WebhookActionID, "error", ferr)
	}
	return true
}

func (p *Processor) janitor(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := p.store.Purge(ctx, time.Now().Add(-p.cfg.Retention)); err != nil && ctx.Err() == nil {
			p.log.Warn("purge old events", "error", err)
		} else if n > 0 {
			p.log.Info("purged old events", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
