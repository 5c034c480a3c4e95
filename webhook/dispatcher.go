package webhook

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/ashlarhq/ashlar/store"
)

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
	// has expired.
	Lease time.Duration
	// Poll is how often the dispatcher looks for work it was not told
	// about: events and pings recorded by other processes, retries that
	// came due, expired leases (default 1 s). Work recorded in this process
	// wakes it at once.
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
	// Worker names this process in leases and attempts (default
	// host-pid-random).
	Worker string
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
	if c.Worker == "" {
		host, _ := os.Hostname()
		b := make([]byte, 3)
		rand.Read(b)
		c.Worker = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Dispatcher delivers the events of every organization of a database. Run
// one per `ashlar serve` process; several may share a database.
type Dispatcher struct {
	db     *store.DB
	cfg    Config
	client *http.Client
	log    *slog.Logger

	wakeFan   chan struct{}
	wakeClaim chan struct{}
	results   chan *result

	mu         sync.Mutex
	inflight   int
	perSetting map[string]int

	stopLoops context.CancelFunc // stops fan-out and claiming
	stopSends context.CancelFunc // aborts attempts in flight (last resort)
	sendCtx   context.Context
	loops     sync.WaitGroup // fan-out, claimer, maintenance
	sends     sync.WaitGroup // attempts in flight
	recorder  sync.WaitGroup
	started   bool
	stopped   bool

	launchMu sync.Mutex
	stopping bool // no new attempts start
}

// New returns a dispatcher on db. Start it with Start.
func New(db *store.DB, cfg Config) *Dispatcher {
	cfg = cfg.withDefaults()
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
	return &Dispatcher{
		db: db, cfg: cfg, client: client, log: cfg.Logger.With("component", "webhooks", "worker", cfg.Worker),
		wakeFan:    make(chan struct{}, 1),
		wakeClaim:  make(chan struct{}, 1),
		results:    make(chan *result, cfg.Workers),
		perSetting: map[string]int{},
	}
}

// Config returns the dispatcher's configuration with defaults applied.
func (d *Dispatcher) Config() Config { return d.cfg }

// Start runs the dispatcher in the background until Stop.
func (d *Dispatcher) Start() {
	if d.started {
		return
	}
	d.started = true
	loopCtx, stopLoops := context.WithCancel(context.Background())
	sendCtx, stopSends := context.WithCancel(context.Background())
	d.stopLoops, d.stopSends, d.sendCtx = stopLoops, stopSends, sendCtx
	register(d)
	d.recorder.Add(1)
	go d.recordLoop()
	d.loops.Add(3)
	go d.fanOutLoop(loopCtx)
	go d.claimLoop(loopCtx)
	go d.maintenanceLoop(loopCtx)
	d.Wake()
}

// Stop stops claiming new work, lets the attempts in flight finish and
// records them, until ctx is done; attempts still running then are
// aborted and recovered later through their lease, by this process after
// a restart or by another one.
func (d *Dispatcher) Stop(ctx context.Context) error {
	if !d.started || d.stopped {
		return nil
	}
	d.stopped = true
	d.launchMu.Lock()
	d.stopping = true
	d.launchMu.Unlock()
	unregister(d)
	d.stopLoops()
	d.loops.Wait()
	done := make(chan struct{})
	go func() { d.sends.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		d.stopSends()
		<-done
		err = fmt.Errorf("webhook dispatcher: stopped with attempts in flight: %w", ctx.Err())
	}
	close(d.results)
	d.recorder.Wait()
	d.stopSends()
	d.client.CloseIdleConnections()
	return err
}

// Wake tells the dispatcher that events were recorded: store.DB.OnEmit
// calls it after every commit that emitted.
func (d *Dispatcher) Wake() { signal(d.wakeFan) }

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Dispatchers running in this process, woken when a ping or redelivery is
// queued here (by the API or the CLI in-process) so that it goes out at
// once rather than at the next poll.
var running = struct {
	sync.Mutex
	ds map[*Dispatcher]bool
}{ds: map[*Dispatcher]bool{}}

func register(d *Dispatcher) {
	running.Lock()
	running.ds[d] = true
	running.Unlock()
}

func unregister(d *Dispatcher) {
	running.Lock()
	delete(running.ds, d)
	running.Unlock()
}

func wakeLocal() {
	running.Lock()
	defer running.Unlock()
	for d := range running.ds {
		signal(d.wakeClaim)
	}
}

// reserve takes a worker slot for an attempt to setting, unless this
// process already has Workers attempts in flight or PerSetting to that
// setting.
func (d *Dispatcher) reserve(setting string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.inflight >= d.cfg.Workers || d.perSetting[setting] >= d.cfg.PerSetting {
		return false
	}
	d.inflight++
	d.perSetting[setting]++
	d.cfg.Metrics.inflight.Inc()
	return true
}

func (d *Dispatcher) release(setting string) {
	d.mu.Lock()
	d.inflight--
	if d.perSetting[setting]--; d.perSetting[setting] <= 0 {
		delete(d.perSetting, setting)
	}
	d.mu.Unlock()
	d.cfg.Metrics.inflight.Dec()
}

// free returns the number of free worker slots and the settings that have
// no slot left.
func (d *Dispatcher) free() (int, []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var full []string
	for s, n := range d.perSetting {
		if n >= d.cfg.PerSetting {
			full = append(full, s)
		}
	}
	return d.cfg.Workers - d.inflight, full
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
