package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/server"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/webform"
)

func serveCommand() *command {
	return &command{name: "serve", summary: "run the API server, careers site, posting API, webhooks and partner calls", run: runServe}
}

// serveConfig is every setting of serve. Each feature's flags are defined
// by its own type, in its own file; runServe and assemble below pass
// each its settings explicitly.
type serveConfig struct {
	DB, Addr, BaseURL, MetricsAddr string
	PprofAddr                      string
	LogFormat, LogLevel            string
	Demo                           bool
	DemoCandidates                 int
	RateLimit                      float64
	RateBurst                      int
	InterviewStatusInterval        time.Duration
	TrustedProxies                 string
	trusted                        rpc.Proxies
	SQLiteSynchronous              string
	ListCacheMB                    int
	PublicBodyTimeout              time.Duration
	SyncTokenTTL                   time.Duration

	Limits      limitsConfig
	Idempotency idempotencyConfig
	Files       filesConfig
	Public      careersConfig
	WebApp      webAppConfig
	Webhooks    webhookConfig
	Partners    partnerConfig
	Email       emailConfig
}

func (c *serveConfig) define(fs *flagSet) {
	fs.StringVar(&c.DB, "db", defaultDB, "database: a SQLite file path (or sqlite:PATH), a postgres:// or postgresql:// URL, or a libpq key=value string")
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "address to listen on (HOST:PORT; :8080 for every interface)")
	fs.StringVar(&c.BaseURL, "base-url", "", "public URL of this server, used in the links it hands out: an absolute http(s) URL, with a path prefix when a proxy serves Ashlar under one (default: http://ADDR)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "serve Prometheus /metrics on this address (HOST:PORT) instead of on --addr")
	fs.StringVar(&c.PprofAddr, "pprof-addr", "", "serve Go's profiler (net/http/pprof, /debug/pprof/) on this address (HOST:PORT), for diagnosing performance; keep it on a private interface (default: off)")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json (one JSON object per line)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug (also logs every careers site, posting API and other page request), info, warn or error")
	fs.BoolVar(&c.Demo, "demo", false, "seed a demo organization once, print its API key (the same on every restart) and URLs, and allow webhooks and partner calls to private addresses")
	fs.IntVar(&c.DemoCandidates, "demo-candidates", 300, "how many candidates --demo seeds (the rest of the demo scales with them)")
	fs.Float64Var(&c.RateLimit, "rate-limit", 100, "API requests per second allowed per key before 429 (0: no limit)")
	fs.IntVar(&c.RateBurst, "rate-burst", 0, "burst size for --rate-limit (default: 2 seconds' worth)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", "", "comma-separated addresses or CIDR ranges of the reverse proxies in front of this server, whose X-Forwarded-For is believed: the client is the rightmost entry that is not one of them (default: none; the peer is the client)")
	fs.IntVar(&c.ListCacheMB, "list-cache-mb", store.DefaultPageCacheBytes>>20, "memory kept for list pages served again while their kind is unchanged, in MB (0: no cache)")
	fs.StringVar(&c.SQLiteSynchronous, "sqlite-synchronous", "full", "SQLite only: full makes every acknowledged write durable even if the OS crashes or the power fails; normal is faster, and such a crash may lose the last writes (see BENCHMARKS.md)")
	fs.DurationVar(&c.PublicBodyTimeout, "public-body-timeout", webform.DefaultBodyTimeout, "how long the body of a public, unauthenticated POST (careers, survey and take-home forms, file uploads) may take to arrive, plus a second per 64 KiB it may hold (at most 2 minutes)")
	fs.DurationVar(&c.SyncTokenTTL, "sync-token-ttl", store.DefaultSyncTokenTTL, "how long a list's syncToken stays usable before sync_token_expired (docs/sync.md)")
	defineInterviewFlags(fs, &c.InterviewStatusInterval)
	c.Limits.define(fs)
	c.Idempotency.define(fs)
	c.Files.define(fs)
	c.Public.define(fs)
	c.WebApp.define(fs)
	c.Webhooks.define(fs)
	c.Partners.define(fs)
	c.Email.define(fs)
}

// check validates the settings before anything is opened or started.
func (c *serveConfig) check() error {
	if c.BaseURL != "" {
		u, err := checkBaseURL(c.BaseURL)
		if err != nil {
			return usageError{"--base-url: " + err.Error()}
		}
		c.BaseURL = u
	}
	if c.RateLimit < 0 {
		return usageError{"--rate-limit: must be 0 (no limit) or more"}
	}
	if c.RateBurst == 0 {
		c.RateBurst = int(2 * c.RateLimit)
	}
	trusted, err := rpc.ParseProxies(c.TrustedProxies)
	if err != nil {
		return usageError{"--trusted-proxies: " + err.Error()}
	}
	c.trusted = trusted
	if s := strings.ToLower(c.SQLiteSynchronous); s != "full" && s != "normal" {
		return usageError{fmt.Sprintf("--sqlite-synchronous: %q is neither full nor normal", c.SQLiteSynchronous)}
	}
	if c.PublicBodyTimeout <= 0 {
		return usageError{"--public-body-timeout: must be positive"}
	}
	if c.SyncTokenTTL <= 0 {
		return usageError{"--sync-token-ttl: must be positive"}
	}
	for _, check := range []func() error{c.Limits.check, c.Idempotency.check, c.Files.check, c.Webhooks.check, c.Partners.check, c.WebApp.check, c.Email.check} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// checkBaseURL accepts an absolute http or https URL, optionally with a
// path prefix, and returns it without a trailing slash.
func checkBaseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL: %v", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("%q is not an absolute http(s) URL: write it in full, e.g. https://ats.example.com", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%q: give only scheme, host and an optional path prefix (no query, fragment or user)", s)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func runServe(ctx context.Context, e *env, args []string) error {
	var c serveConfig
	fs := flags(e, "serve", "ashlar serve [--db DSN] [--addr HOST:PORT] [--base-url URL] [--demo] [flags]")
	c.define(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(fs, pos); err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return err
	}
	logger, err := newLogger(e.stderr, c.LogFormat, c.LogLevel)
	if err != nil {
		return usageError{err.Error()}
	}
	if c.LogFormat == "json" {
		// Status lines become log records too, whatever --log-level.
		e.log = slog.New(newLogHandler(e.stderr, "json", slog.LevelInfo))
	}
	db, err := openDBWith(ctx, e, c.DB, createDB, store.Options{SQLiteSynchronous: c.SQLiteSynchronous, PageCacheBytes: pageCacheBytes(c.ListCacheMB)})
	if err != nil {
		return err
	}
	defer db.Close()
	db.SyncTokenTTL = c.SyncTokenTTL

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	defer ln.Close()
	baseURL := c.BaseURL
	if baseURL == "" {
		baseURL = "http://" + displayAddr(ln.Addr())
	}
	var metricsLn net.Listener
	if c.MetricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", c.MetricsAddr); err != nil {
			return fmt.Errorf("listen on %s (--metrics-addr): %w", c.MetricsAddr, err)
		}
		defer metricsLn.Close()
	}

	if c.PprofAddr != "" {
		pln, err := net.Listen("tcp", c.PprofAddr)
		if err != nil {
			return fmt.Errorf("listen on %s (--pprof-addr): %w", c.PprofAddr, err)
		}
		stop := servePprof(pln, logger)
		defer stop()
		e.say(fmt.Sprintf("profiler on http://%s/debug/pprof/", pln.Addr()), "profiler listening", "addr", pln.Addr().String())
	}

	reg := newRegistry(db)
	srv, err := assemble(ctx, e, &c, db, logger, reg, baseURL)
	if err != nil {
		return err
	}
	metrics := promHandler(reg)
	if metricsLn == nil {
		srv.Mux.Handle("GET /metrics", metrics)
	} else {
		stop := serveMetrics(metricsLn, metrics, logger)
		defer stop()
		e.say(fmt.Sprintf("metrics on http://%s/metrics", metricsLn.Addr()), "metrics listening", "addr", metricsLn.Addr().String())
	}
	if c.Demo {
		if err := startDemo(ctx, e, srv, baseURL, c.DemoCandidates); err != nil {
			return err
		}
	}
	e.say(fmt.Sprintf("listening on %s (base URL %s)", ln.Addr(), baseURL), "listening", "addr", ln.Addr().String(), "base_url", baseURL)
	stopped, announced := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(announced)
		select {
		case <-ctx.Done():
			e.say(fmt.Sprintf("shutting down: finishing requests in flight (up to %s) and stopping background work", server.ShutdownGrace),
				"shutting down", "grace", server.ShutdownGrace)
		case <-stopped:
		}
	}()
	err = srv.Serve(ctx, ln)
	close(stopped)
	<-announced
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	if err == nil {
		e.say("stopped", "stopped")
	}
	return err
}

// assemble builds the server and every feature on it, each given exactly
// what it needs. This is the one place the program is wired together.
func assemble(ctx context.Context, e *env, c *serveConfig, db *store.DB, log *slog.Logger, reg prometheus.Registerer, baseURL string) (*server.Server, error) {
	limits, closeLimits, err := c.Limits.open(ctx, log)
	if err != nil {
		return nil, fmt.Errorf("rate limits: %w", err)
	}
	srv := server.New(db, server.Config{BaseURL: baseURL, RateLimit: c.RateLimit, Burst: c.RateBurst, Limits: limits, Logger: log, TrustedProxies: c.trusted,
		IdempotencyTTL: c.Idempotency.TTL})
	srv.OnShutdown(closeLimits)
	if err := srv.RegisterMetrics(reg); err != nil {
		return nil, err
	}
	if err := startFiles(ctx, e, srv, c.Files, baseURL, c.PublicBodyTimeout); err != nil {
		return nil, fmt.Errorf("files: %w", err)
	}
	if err := startPublicPages(srv, c.Public, c.PublicBodyTimeout); err != nil {
		return nil, fmt.Errorf("careers site: %w", err)
	}
	if err := startWebApp(ctx, srv, c.WebApp, baseURL, c.PublicBodyTimeout); err != nil {
		return nil, fmt.Errorf("web app: %w", err)
	}
	if err := startWebhooks(srv, c.Webhooks, c.Demo, reg); err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	if err := startPartners(srv, c.Partners, c.Demo); err != nil {
		return nil, fmt.Errorf("partners: %w", err)
	}
	if err := registerIdempotencySweep(srv); err != nil {
		return nil, fmt.Errorf("idempotency keys: %w", err)
	}
	if err := startInterviewStatuses(srv, c.InterviewStatusInterval); err != nil {
		return nil, fmt.Errorf("interview statuses: %w", err)
	}
	if err := startEmail(e, srv, c.Email); err != nil {
		return nil, fmt.Errorf("email: %w", err)
	}
	return srv, nil
}

// displayAddr turns a listen address into one a browser can reach.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	if format != "text" && format != "json" {
		return nil, fmt.Errorf("--log-format %q: use text or json", format)
	}
	return slog.New(newLogHandler(w, format, lv)), nil
}

func newLogHandler(w io.Writer, format string, level slog.Level) slog.Handler {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: readableDurations}
	if format == "json" {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// readableDurations logs durations as "15s", not 15000000000 (JSON's
// nanoseconds).
func readableDurations(groups []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// servePprof serves Go's profiler on its own listener until stop is
// called; it is never mounted on the API's address.
func servePprof(ln net.Listener, log *slog.Logger) (stop func()) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return serveOn(ln, mux, log, "profiler listener")
}

// serveMetrics serves /metrics on its own listener until stop is called.
func serveMetrics(ln net.Listener, h http.Handler, log *slog.Logger) (stop func()) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	return serveOn(ln, mux, log, "metrics listener")
}

// serveOn serves h on ln until stop is called.
func serveOn(ln net.Listener, h http.Handler, log *slog.Logger, what string) (stop func()) {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error(what, "error", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
		<-done
	}
}

// pageCacheBytes turns --list-cache-mb into store.Options.PageCacheBytes,
// where 0 means the default and a negative number no cache.
func pageCacheBytes(mb int) int {
	if mb <= 0 {
		return -1
	}
	return mb << 20
}
