package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ashlarhq/ashlar/careers"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/client/webhooks"
	"github.com/ashlarhq/ashlar/files"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/webform"
)

func careersCommand() *command {
	return &command{name: "careers", summary: "serve the careers site in front of an Ashby-compatible API (Ashby's or Ashlar's): cached listings, applications forwarded", run: runCareers}
}

const careersUsage = "ashlar careers --upstream URL (--key-stdin | env ASHBY_API_KEY | --api-key KEY) --board NAME [--addr ADDR] [--base-url URL] [--webhook-secret SECRET] [flags]"

func runCareers(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "careers", careersUsage)
	upstream := fs.String("upstream", client.DefaultBaseURL, "the upstream API's base URL: Ashby's, or an Ashlar server's")
	flagKey := fs.String("api-key", "", "API key with jobsRead and candidatesWrite (on the command line it is visible in the process list: prefer --key-stdin or the environment variable)")
	keyStdin := fs.Bool("key-stdin", false, "read the API key from the first line of standard input")
	board := fs.String("board", "", "the job board's public name upstream (jobs.ashbyhq.com/NAME); the site serves it at /jobs/NAME")
	boardID := fs.String("board-id", "", "the board's id upstream, for its unlisted postings (default: found with jobBoard.list)")
	addr := fs.String("addr", "127.0.0.1:8088", "address to listen on (HOST:PORT)")
	baseURL := fs.String("base-url", "", "the site's public URL, path prefix included when a proxy serves it under one (https://example.com/careers)")
	cacheDir := fs.String("cache-dir", "./ashlar-careers", "keeps the last good copy of the board (board.json) and the site's secret, so that pages render across restarts while the upstream is down")
	refresh := fs.Duration("refresh", 5*time.Minute, "how often the board is read from the upstream (webhooks refresh it at once)")
	webhookSecret := fs.String("webhook-secret", "", "secret token of an upstream webhook pointed at --webhook-path: job and job posting events refresh the board at once (default: no webhook endpoint)")
	webhookPath := fs.String("webhook-path", "/webhooks/ashby", "path of the webhook endpoint")
	orgName := fs.String("org-name", "", "the organization's name on every page (default: the hiring organization of the postings' linked data)")
	logoURL := fs.String("logo-url", "", "logo shown in the page header")
	color := fs.String("brand-color", "", "the brand colour (#rrggbb) of headings, links and buttons, darkened if needed for contrast")
	perMinute := fs.Int("rate-limit", 10, "applications a minute accepted from one IP address (0: no limit)")
	burst := fs.Int("rate-burst", 10, "burst size for --rate-limit")
	maxSize := fs.String("max-upload-size", "20MB", "largest file accepted, e.g. 20MB or 512KB")
	scanCommand := fs.String("scan-command", "", "command that scans each upload, given its path as the last argument: exit 0 clean, 1 infected")
	trustedProxies := fs.String("trusted-proxies", "", "comma-separated addresses or CIDR ranges of the reverse proxies in front of the site, whose X-Forwarded-For is believed")
	bodyTimeout := fs.Duration("public-body-timeout", webform.DefaultBodyTimeout, "how long an application's body may take to arrive, plus a second per 64 KiB it may hold (at most 2 minutes)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(fs, pos); err != nil {
		return err
	}
	if *board == "" || !store.ValidSlug(strings.ToLower(*board)) {
		return usageError{"careers: give the board's public name with --board (letters, digits and dashes)"}
	}
	if u, err := url.Parse(*upstream); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError{"careers: --upstream must be an http:// or https:// URL"}
	}
	if *baseURL != "" {
		if u, err := url.Parse(*baseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageError{"careers: --base-url must be an http:// or https:// URL"}
		}
	}
	if *refresh <= 0 || *bodyTimeout <= 0 {
		return usageError{"careers: --refresh and --public-body-timeout must be positive"}
	}
	if *webhookSecret != "" && !strings.HasPrefix(*webhookPath, "/") {
		return usageError{"careers: --webhook-path must start with /"}
	}
	size, err := parseSize(*maxSize)
	if err != nil {
		return usageError{fmt.Sprintf("--max-upload-size: %v", err)}
	}
	trusted, err := rpc.ParseProxies(*trustedProxies)
	if err != nil {
		return usageError{"--trusted-proxies: " + err.Error()}
	}
	logger, err := newLogger(e.stderr, *logFormat, *logLevel)
	if err != nil {
		return usageError{err.Error()}
	}
	key, err := apiKey(*flagKey, *keyStdin, os.Stdin)
	if err != nil {
		return err
	}
	secret, err := careersSecret(*cacheDir)
	if err != nil {
		return err
	}

	c := client.New(*upstream, key)
	c.HTTP = &http.Client{Timeout: time.Minute}
	c.MaxRetries = 3
	c.MaxBackoff = 5 * time.Second
	// A visitor waits for a submission: a long Retry-After is an error
	// page, not minutes of waiting.
	c.MaxRetryAfter = 10 * time.Second
	c.OnRetry = func(endpoint string, attempt int, err error, wait time.Duration) {
		logger.Info("retrying the upstream", "endpoint", endpoint, "attempt", attempt, "wait", wait.Round(time.Millisecond), "error", err)
	}
	c.OnWarning = func(endpoint string, w []string) {
		logger.Warn("upstream warning", "endpoint", endpoint, "warnings", w)
	}
	stage := files.Config{MaxSize: size, Log: logger}
	if *scanCommand != "" {
		stage.Scanner = files.CommandScanner{Command: strings.Fields(*scanCommand)}
	}
	up, err := careers.NewUpstream(careers.UpstreamOptions{Client: c, Board: strings.ToLower(*board), BoardID: *boardID,
		OrgName: *orgName, LogoURL: *logoURL, PrimaryColor: *color, CacheFile: filepath.Join(*cacheDir, "board.json"),
		Refresh: *refresh, Uploads: files.NewStager(stage), Secret: secret, Log: logger})
	if err != nil {
		return err
	}
	site, err := careers.NewWith(up, careers.Options{PostsPerMinute: *perMinute, Burst: burstOrOff(*perMinute, *burst), Log: logger,
		BodyTimeout: *bodyTimeout, Secret: secret, BaseURL: *baseURL})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	site.Routes(mux)
	prefix := webform.BasePath(*baseURL)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, prefix+"/jobs/"+strings.ToLower(*board), http.StatusFound)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	if *webhookSecret != "" {
		mux.Handle(*webhookPath, &webhooks.Handler{Secrets: []string{*webhookSecret}, Next: up.WebhookHandler(), Logger: logger})
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	if onCommandLine(fs, "api-key") && !*keyStdin {
		e.say("warning: --api-key is visible to other users in the process list; prefer --key-stdin or ASHBY_API_KEY", "warning: --api-key is visible in the process list")
	}
	if onCommandLine(fs, "webhook-secret") {
		e.say("warning: --webhook-secret is visible to other users in the process list; prefer ASHBY_WEBHOOK_SECRET", "warning: --webhook-secret is visible in the process list")
	}
	// The body deadline of an application (webform.BodyDeadline) may not
	// exceed the read timeout.
	srv := &http.Server{Handler: rpc.WithClientIP(trusted, mux), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: webform.MaxBodyTimeout, WriteTimeout: 3 * time.Minute, IdleTimeout: 2 * time.Minute}
	var wg sync.WaitGroup
	rctx, stopRefresh := context.WithCancel(ctx)
	wg.Add(1)
	go func() {
		defer wg.Done()
		up.Run(rctx)
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	e.say(fmt.Sprintf("careers site of board %s at %s (cache %s)", *board, *upstream, *cacheDir), "careers", "board", *board, "upstream", *upstream, "cache", *cacheDir)
	e.say("listening on http://"+displayAddr(ln.Addr()), "listening", "url", "http://"+displayAddr(ln.Addr()))
	select {
	case err = <-errc:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
	}
	stopRefresh()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// careersSecret is the site's secret (CSRF tokens, confirmation links),
// made once and kept in the cache directory, so that forms opened before
// a restart still submit after it.
func careersSecret(dir string) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("careers cache directory: %w", err)
	}
	path := filepath.Join(dir, "secret")
	b, err := os.ReadFile(path)
	if err == nil && len(b) >= 32 {
		return b, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("careers secret: %w", err)
	}
	b = make([]byte, 32)
	rand.Read(b)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("careers secret: %w", err)
	}
	return b, nil
}
