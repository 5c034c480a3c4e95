package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/ashlarhq/ashlar/jobqueue"
	"github.com/ashlarhq/ashlar/store"
)

// Kind is the job kind of webhook deliveries (package jobqueue).
const Kind = "webhook.delivery"

// Config configures a Dispatcher. Zero values take the defaults.
type Config struct {
	// Workers bounds the attempts this process makes at once (default 32).
	Workers int
	// PerSetting bounds the attempts to one setting this process makes at
	// once (default 8), so that a slow or hanging receiver holds at most
	// that many workers and the others keep delivering.
	PerSetting int
	// Timeout bounds one attempt: connecting, sending, and reading the
	// response (default 15 s). An attempt that times out is retried.
	Timeout time.Duration
	// Lease is how long a claimed delivery belongs to its worker (default
	// Timeout + 30 s). It must outlast an attempt and the recording of its
	// result; a delivery whose worker died is claimed again once its lease
	// has expired, by the database's clock.
	Lease time.Duration
	// Poll is how often the dispatcher looks for work it was not told
	// about: events, pings and redeliveries recorded by other processes,
	// expired leases (default 1 s). Work recorded in this process, and
	// retries coming due, start at once.
	Poll time.Duration
	// Schedule is the retry policy (default: Ashby's).
	Schedule Schedule
	// AllowPrivate lets deliveries reach loopback, private and link-local
	// addresses. Off by default (the SSRF guard); for local development.
	AllowPrivate bool
	// ResponseBytes is how much of each response body an attempt keeps
	// (default 1024).
	ResponseBytes int
	// Retention is how long finished deliveries and their attempts are
	// kept (default 30 days).
	Retention time.Duration
	// Metrics receives the dispatcher's metrics (nil: none are exported).
	Metrics *Metrics
	Logger  *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Workers <= 0 {
		c.Workers = 32
	}
	if c.PerSetting <= 0 {
		c.PerSetting = 8
	}
	c.PerSetting = min(c.PerSetting, c.Workers)
	if c.Timeout <= 0 {
		c.Timeout = 15 * time.Second
	}
	if c.Lease <= 0 {
		c.Lease = c.Timeout + 30*time.Second
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	c.Schedule = c.Schedule.withDefaults()
	if c.ResponseBytes <= 0 {
		c.ResponseBytes = 1024
	}
	if c.Retention <= 0 {
		c.Retention = 30 * 24 * time.Hour
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Dispatcher delivers the events of every organization of a database:
// its fan-out turns events into delivery jobs, and the job queue it is
// given attempts them (deliver.go). Run one per `ashlar serve` process;
// several may share a database.
type Dispatcher struct {
	db     *store.DB
	jobs   *jobqueue.Queue
	cfg    Config
	client *http.Client
	log    *slog.Logger

	wakeFan chan struct{}

	stopLoops context.CancelFunc
	loops     sync.WaitGroup
	mu        sync.Mutex
	started   bool
	stopped   bool
}

// New returns a dispatcher on db that delivers through jobs: it registers
// the delivery kind there. Start the fan-out with Start, and the queue
// with its own Start.
func New(db *store.DB, jobs *jobqueue.Queue, cfg Config) (*Dispatcher, error) {
	cfg = cfg.withDefaults()
	if cfg.Lease <= cfg.Timeout {
		return nil, errors.New("webhook dispatcher: the lease must be longer than the timeout")
	}
	dialer := guardedDialer(cfg.AllowPrivate, cfg.Timeout)
	tr := &http.Transport{
		// Proxies from the environment are ignored: the SSRF guard checks
		// the address dialled, which would be the proxy's.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4 * cfg.Workers,
		MaxIdleConnsPerHost:   cfg.PerSetting,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.Timeout,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	}
	client := &http.Client{
		Transport: tr,
		// Redirects are not followed: a 3xx is a failed attempt, as the
		// receiver did not acknowledge the event, and following it would
		// send the signed payload somewhere the setting does not name.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	d := &Dispatcher{
		db: db, jobs: jobs, cfg: cfg, client: client, log: cfg.Logger.With("component", "webhooks", "worker", jobs.Worker()),
		wakeFan: make(chan struct{}, 1),
	}
	err := jobs.Register(jobqueue.Kind{
		Name: Kind, Workers: cfg.Workers, PerKey: cfg.PerSetting,
		// A worker that finishes takes the next delivery from what this
		// process already claimed, instead of waiting for a claim.
		Prefetch: cfg.PerSetting,
		Timeout:  cfg.Timeout, Lease: cfg.Lease, Poll: cfg.Poll,
		MaxAttempts: cfg.Schedule.MaxAttempts, Backoff: cfg.Schedule.Delay, Retention: cfg.Retention,
		// Claims and attempt records lost to a database crash only mean an
		// event is delivered again, which at-least-once delivery allows.
		Relaxed: true,
		Handler: jobqueue.Handler{Begin: d.begin, Work: d.work, Committed: d.committed},
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Config returns the dispatcher's configuration with defaults applied.
func (d *Dispatcher) Config() Config { return d.cfg }

// Start runs the fan-out in the background until Stop.
func (d *Dispatcher) Start() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started {
		return
	}
	d.started = true
	ctx, cancel := context.WithCancel(context.Background())
	d.stopLoops = cancel
	d.loops.Add(1)
	go d.fanOutLoop(ctx)
	d.Wake()
}

// Stop stops the fan-out. Deliveries in flight belong to the job queue,
// which stops separately.
func (d *Dispatcher) Stop(context.Context) error {
	d.mu.Lock()
	if !d.started || d.stopped {
		d.mu.Unlock()
		return nil
	}
	d.stopped = true
	d.mu.Unlock()
	d.stopLoops()
	d.loops.Wait()
	return nil
}

// Close releases the idle connections of the dispatcher's HTTP client,
// once the queue has stopped.
func (d *Dispatcher) Close() { d.client.CloseIdleConnections() }

// Wake tells the dispatcher that events were recorded: store.DB.OnEmit
// calls it after every commit that emitted.
func (d *Dispatcher) Wake() { signal(d.wakeFan) }

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
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

func isCanceled(err error) bool {
	return errors.Is(err, context.Canceled)
}
