package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"

	"github.com/ashlarhq/ashlar/server"
	"github.com/ashlarhq/ashlar/store"
)

func init() {
	addCommand(command{"serve", "run the API server (and careers site, webhooks …)", runServe})
}

// serveHook lets a feature (careers site, webhook dispatcher …) add flags
// to serve and attach itself to the server. Each feature registers its hook
// from its own file in this package.
type serveHook struct {
	name  string
	flags func(fs *flag.FlagSet)
	// start mounts routes and starts background work; it runs after the
	// database is migrated and before the server listens.
	start func(ctx context.Context, srv *server.Server, o *serveOptions) error
}

var serveHooks []serveHook

// serveOptions are serve's settings that hooks can read.
type serveOptions struct {
	Demo    bool
	BaseURL string
	Addr    string
	Env     *env
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "serve", "ashlar serve [--db DSN] [--addr HOST:PORT] [--demo] [flags]")
	dsn := dbFlag(e, fs)
	addrDef := e.getenv("ASHLAR_ADDR")
	if addrDef == "" {
		addrDef = "127.0.0.1:8080"
	}
	addr := fs.String("addr", addrDef, "listen address; env ASHLAR_ADDR")
	demo := fs.Bool("demo", false, "seed a demo organization once, print an API key with every permission, and allow webhooks to private addresses")
	demoCandidates := fs.Int("demo-candidates", 300, "how many candidates --demo seeds (the rest of the demo scales with them)")
	baseURL := fs.String("base-url", e.getenv("ASHLAR_BASE_URL"), "public URL of this server, used in links it hands out (default: http://ADDR); env ASHLAR_BASE_URL")
	rateDef := 100.0
	if v := e.getenv("ASHLAR_RATE_LIMIT"); v != "" {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			rateDef = f
		}
	}
	rate := fs.Float64("rate-limit", rateDef, "API requests per second allowed per key before 429 (0: no limit); env ASHLAR_RATE_LIMIT")
	burst := fs.Int("rate-burst", 0, "burst size for --rate-limit (default: 2 seconds' worth)")
	tokenTTL := fs.Duration("sync-token-ttl", store.DefaultSyncTokenTTL, "how long a list's syncToken stays usable before sync_token_expired (docs/sync.md)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	for _, h := range serveHooks {
		if h.flags != nil {
			h.flags(fs)
		}
	}
	if _, err := parse(fs, args); err != nil {
		return err
	}
	logger, err := newLogger(e, *logFormat, *logLevel)
	if err != nil {
		return usageError{err.Error()}
	}
	db, err := openDB(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if *tokenTTL <= 0 {
		return usageError{"--sync-token-ttl must be positive"}
	}
	db.SyncTokenTTL = *tokenTTL

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	defer ln.Close()
	url := *baseURL
	if url == "" {
		url = "http://" + displayAddr(ln.Addr())
	}
	url = strings.TrimRight(url, "/")
	if *burst == 0 {
		*burst = int(2 * *rate)
	}
	srv := server.New(db, server.Config{BaseURL: url, RateLimit: *rate, Burst: *burst, Logger: logger})
	o := &serveOptions{Demo: *demo, BaseURL: url, Addr: ln.Addr().String(), Env: e}
	for _, h := range serveHooks {
		if h.start != nil {
			if err := h.start(ctx, srv, o); err != nil {
				return fmt.Errorf("start %s: %w", h.name, err)
			}
		}
	}
	if *demo {
		if err := startDemo(ctx, e, srv, url, *demoCandidates); err != nil {
			return err
		}
	}
	logger.Info("ashlar listening", "url", url, "engine", db.Engine().String(), "db", redact(*dsn))
	fmt.Fprintf(e.stderr, "ashlar: listening on %s (database: %s)\n", url, db.Engine())
	err = srv.Serve(ctx, ln)
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
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

func newLogger(e *env, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("bad --log-level %q", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(e.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(e.stderr, opts)), nil
	}
	return nil, fmt.Errorf("bad --log-format %q: use text or json", format)
}
