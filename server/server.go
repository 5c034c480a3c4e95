// Package server assembles Ashlar's HTTP server: the Ashby RPC API, the
// generated API description, health checks, and the routes that other
// packages (job boards, careers site, files, webhooks) mount on it.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ashlarhq/ashlar/api"
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
	Logger    *slog.Logger
}

// Server is a running Ashlar.
type Server struct {
	DB      *store.DB
	Service *api.Service
	API     *rpc.API
	RPC     *rpc.Server
	// Mux routes everything; RPC is the fallback for POST /{category.method}.
	Mux     *http.ServeMux
	Log     *slog.Logger
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
	s := &Server{DB: db, Service: svc, API: table, Mux: http.NewServeMux(), Log: cfg.Logger, config: cfg}
	s.RPC = rpc.NewServer(table, svc, rpc.Options{RateLimit: cfg.RateLimit, Burst: cfg.Burst, Logger: cfg.Logger})
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

// Handler is the server's root handler.
func (s *Server) Handler() http.Handler { return rpc.WithRequestID(s.observe(s.Mux)) }

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
	mctx, stopMaintenance := context.WithCancel(ctx)
	defer stopMaintenance()
	go s.DB.Maintain(mctx, time.Minute, s.Log)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	err := hs.Shutdown(sctx)
	for _, f := range s.shutdown {
		err = errors.Join(err, f(sctx))
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
