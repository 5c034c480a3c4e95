// Package server assembles Ashlar's HTTP server: the Ashby RPC API, the
// generated API description, health checks, the job queue that runs the
// background work (package jobqueue), and the routes that other packages
// (job boards, careers site, files, webhooks) mount on it.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/jobqueue"
	"github.com/ashlarhq/ashlar/ratelimit"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// Config configures a Server.
type Config struct {
	// BaseURL is the public URL clients reach the server at.
	BaseURL string
	// RateLimit is requests per second per API key (0: unlimited); Burst
	// the bucket size.
	RateLimit float64
	Burst     int
	// Limits keeps every rate limit's counts: the API's and those of the
	// features mounted on the server (nil: this process's memory).
	Limits ratelimit.Backend
	Logger *slog.Logger
	// IdempotencyTTL is how long an Idempotency-Key is kept (default
	// rpc.DefaultIdempotencyTTL); IdempotencyLease how long a request
	// holding one may run before a retry may take it over, if it
	// committed nothing (default rpc.DefaultIdempotencyLease).
	IdempotencyTTL, IdempotencyLease time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed when finding a client's address (rpc.Proxies.Resolve).
	TrustedProxies rpc.Proxies
}

// Server is a running Ashlar.
type Server struct {
	DB      *store.DB
	Service *api.Service
	API     *rpc.API
	RPC     *rpc.Server
	// Jobs runs this process's background work: features register their
	// job kinds on it before Serve, which starts it and stops it last.
	Jobs *jobqueue.Queue
	// Mux routes everything; RPC is the fallback for POST /{category.method}.
	Mux *http.ServeMux
	Log *slog.Logger
	// Limits is the rate limits' backend features pass to their limiters
	// (nil: each counts in this process's memory).
	Limits  ratelimit.Backend
	config  Config
	metrics *httpMetrics
	// shutdown hooks run when the server stops (background workers).
	shutdown []func(context.Context) error
}

// New assembles a server on db.
func New(db *store.DB, cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	svc := api.New(db, cfg.BaseURL, cfg.Logger)
	table := svc.API()
	s := &Server{DB: db, Service: svc, API: table, Mux: http.NewServeMux(), Log: cfg.Logger, config: cfg, Limits: cfg.Limits,
		Jobs: jobqueue.New(db, jobqueue.Config{Logger: cfg.Logger})}
	if cfg.IdempotencyTTL <= 0 {
		cfg.IdempotencyTTL = rpc.DefaultIdempotencyTTL
	}
	if cfg.IdempotencyLease <= 0 {
		cfg.IdempotencyLease = rpc.DefaultIdempotencyLease
	}
	s.RPC = rpc.NewServer(table, svc, rpc.Options{RateLimit: cfg.RateLimit, Burst: cfg.Burst, Limits: cfg.Limits, Logger: cfg.Logger,
		Idempotency: idempotency{db: db, ttl: cfg.IdempotencyTTL, lease: cfg.IdempotencyLease}})
	s.Mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	s.Mux.HandleFunc("GET /readyz", s.ready)
	s.Mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(table.OpenAPIJSON(cfg.BaseURL))
	})
	s.Mux.Handle("/", s.RPC)
	return s
}

// RegisterMetrics exports the HTTP request metrics and the database pool
// gauges to reg; serving them is up to the caller. Call it before serving.
func (s *Server) RegisterMetrics(reg prometheus.Registerer) error {
	m, err := newHTTPMetrics(reg)
	if err != nil {
		return fmt.Errorf("register HTTP metrics: %w", err)
	}
	if err := reg.Register(newPoolCollector(s.DB.PoolStats)); err != nil {
		return fmt.Errorf("register database pool metrics: %w", err)
	}
	s.metrics = m
	return nil
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.DB.Ping(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "database unavailable:", err)
		return
	}
	fmt.Fprintln(w, "ready")
}

// OnShutdown registers a function to run when the server stops.
func (s *Server) OnShutdown(f func(context.Context) error) { s.shutdown = append(s.shutdown, f) }

// Handler is the server's root handler: every request gets a request id
// and its client address, every response the headers of guard, and an
// address no route can match is refused before any handler sees it;
// requests that reach the routes are counted (observe).
func (s *Server) Handler() http.Handler {
	return s.guard(s.observe(s.Mux))
}

// guard gives the request its id (in the x-ashby-request-id header and
// the context), its client address and its store.WithRequest state, in
// one context (each Request.WithContext copies the request); sets the
// headers every response carries; and answers 404 for a path or query
// holding a NUL character or invalid UTF-8: no page or endpoint has such
// an address, and PostgreSQL cannot compare such text with what it
// stores (SQLite compares it wrongly), so it must never reach a lookup.
func (s *Server) guard(next http.Handler) http.Handler {
	hsts := strings.HasPrefix(strings.ToLower(s.config.BaseURL), "https://")
	proxies := s.config.TrustedProxies
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := rpc.NewRequestID()
		h := w.Header()
		rpc.SetRequestIDHeader(h, id)
		// No response is meant to be sniffed into another type.
		h["X-Content-Type-Options"] = nosniff
		if hsts {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if badAddress(r.URL) {
			rpc.WriteError(w, id, &ashby.Error{Code: "not_found", Status: http.StatusNotFound,
				Message: "Nothing is at this address: it contains a NUL character or invalid UTF-8."})
			return
		}
		ctx := rpc.ContextWithRequestID(r.Context(), id)
		ctx = rpc.ContextWithClientIP(ctx, proxies, r)
		// The request's reads share what they read of the database's
		// state (store.WithRequest).
		next.ServeHTTP(w, r.WithContext(store.WithRequest(ctx)))
	})
}

// nosniff is the X-Content-Type-Options value, shared by every response
// (net/http only reads it).
var nosniff = []string{"nosniff"}

// badAddress reports a NUL character or invalid UTF-8 in the decoded
// path or query.
func badAddress(u *url.URL) bool {
	bad := func(s string) bool { return strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) }
	q, err := url.QueryUnescape(u.RawQuery)
	return bad(u.Path) || bad(u.RawQuery) || err == nil && bad(q)
}

// ShutdownGrace is how long Serve waits, once told to stop, for requests
// in flight and background work to finish.
const ShutdownGrace = 15 * time.Second

// Serve serves on ln until ctx is done, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // uploads
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.Jobs.Start()
	mctx, stopMaintenance := context.WithCancel(ctx)
	defer stopMaintenance()
	go s.DB.Maintain(mctx, time.Minute, s.Log)
	select {
	case err := <-errc:
		sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
		defer cancel()
		return errors.Join(err, s.Jobs.Stop(sctx))
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	err := hs.Shutdown(sctx)
	for _, f := range s.shutdown {
		err = errors.Join(err, f(sctx))
	}
	// Last, as the hooks above stop what feeds it (the webhook fan-out).
	err = errors.Join(err, s.Jobs.Stop(sctx))
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
