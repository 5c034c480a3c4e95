package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ashlarhq/ashlar/client/webhooks"
	"github.com/ashlarhq/ashlar/inbox"
)

func listenCommand() *command {
	return &command{name: "listen", summary: "receive Ashby webhooks: verify, dedupe, queue durably, then run a command, forward or publish to NATS", run: runListen}
}

const listenUsage = "ashlar listen --addr ADDR --secret SECRET (--exec CMD | --forward URL | --nats SUBJECT) [--db DSN] [flags]"

func runListen(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "listen", listenUsage)
	addr := fs.String("addr", "127.0.0.1:8090", "address to listen on (HOST:PORT)")
	secret := fs.String("secret", "", "the webhook's secret token (on the command line it is visible in the process list: prefer the environment variable)")
	previous := fs.String("previous-secret", "", "a second accepted secret, while rotating tokens")
	dsn := fs.String("db", "sqlite:./ashlar-listen.db", "the inbox: sqlite:PATH or a postgres:// URL")
	execCmd := fs.String("exec", "", "run this shell command per event, the event's JSON on stdin, ASHBY_WEBHOOK_ACTION_ID and ASHBY_ACTION in its environment")
	forward := fs.String("forward", "", "POST a message per event to this URL (a Slack incoming webhook, for instance)")
	tmpl := fs.String("template", inbox.DefaultTemplate, "--forward's message: a Go text/template (or @FILE) over .WebhookActionID, .Action, .Data, .Raw; functions json, get, summary")
	natsSubject := fs.String("nats", "", "publish each event to this NATS JetStream subject")
	natsURL := fs.String("nats-url", "nats://127.0.0.1:4222", "NATS server")
	natsStream := fs.String("nats-stream", "", "create this JetStream stream for the subject if it does not exist")
	workers := fs.Int("workers", 4, "actions run at once; 0 only receives (another listen on the same --db processes)")
	timeout := fs.Duration("timeout", 30*time.Second, "time limit of one action; a worker's claim on an event lasts twice that")
	maxAttempts := fs.Int("max-attempts", 10, "attempts per event before it is marked failed")
	retryBase := fs.Duration("retry-base", 5*time.Second, "backoff unit: a failed event waits base × 2^(attempt-1), at most an hour")
	maxBody := fs.Int64("max-body", webhooks.DefaultMaxBodyBytes, "largest accepted body in bytes (413 above)")
	retention := fs.Duration("retention", 30*24*time.Hour, "how long processed events are kept, and so deduplicated")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(fs, pos); err != nil {
		return err
	}
	if *secret == "" {
		return usageError{"listen: give the webhook's secret token with --secret or ASHBY_WEBHOOK_SECRET"}
	}
	n := 0
	for _, v := range []string{*execCmd, *forward, *natsSubject} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return usageError{"listen: give exactly one of --exec, --forward, --nats"}
	}
	if *workers < 0 || *timeout <= 0 || *maxAttempts < 1 || *maxBody < 1 {
		return usageError{"listen: --workers, --timeout, --max-attempts and --max-body must be positive"}
	}
	logger, err := newLogger(e.stderr, *logFormat, *logLevel)
	if err != nil {
		return usageError{err.Error()}
	}
	var action inbox.Action
	switch {
	case *execCmd != "":
		action = &inbox.Exec{Command: *execCmd}
	case *forward != "":
		text := *tmpl
		if strings.HasPrefix(text, "@") {
			b, err := os.ReadFile(text[1:])
			if err != nil {
				return fmt.Errorf("read --template: %w", err)
			}
			text = string(b)
		}
		t, err := inbox.ParseTemplate(text)
		if err != nil {
			return usageError{"listen: --template: " + err.Error()}
		}
		action = &inbox.Forward{URL: *forward, Template: t, Client: &http.Client{Timeout: *timeout}}
	default:
		nc, err := inbox.NewNATS(ctx, *natsURL, *natsSubject, *natsStream)
		if err != nil {
			return err
		}
		defer nc.Close()
		action = nc
	}
	store, err := inbox.Open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer store.Close()
	e.say(fmt.Sprintf("database: %s %s (the inbox)", store.Engine(), redact(*dsn)), "database", "engine", store.Engine(), "db", redact(*dsn))
	if onCommandLine(fs, "secret") || onCommandLine(fs, "previous-secret") {
		e.say("warning: --secret is visible to other users in the process list; prefer ASHBY_WEBHOOK_SECRET", "warning: --secret is visible in the process list")
	}

	proc := inbox.New(store, action, inbox.Config{Workers: *workers, Timeout: *timeout, MaxAttempts: *maxAttempts,
		RetryBase: *retryBase, Retention: *retention, Logger: logger})
	secrets := []string{*secret}
	if *previous != "" {
		secrets = append(secrets, *previous)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("/", &webhooks.Handler{Secrets: secrets, MaxBodyBytes: *maxBody, Next: proc, Logger: logger})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute}
	var wg sync.WaitGroup
	wctx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	wg.Add(1)
	go func() {
		defer wg.Done()
		proc.Run(wctx)
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	e.say("listening on http://"+displayAddr(ln.Addr()), "listening", "url", "http://"+displayAddr(ln.Addr()))
	select {
	case err = <-errc:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
	}
	// Actions in flight are cut off; their claims expire and the next
	// process runs them again.
	stopWorkers()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
