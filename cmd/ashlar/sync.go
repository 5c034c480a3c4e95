package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/warehouse"
)

func syncCommand() *command {
	return &command{name: "sync", summary: "copy an Ashby-compatible API (Ashby's or Ashlar's) into a SQLite or PostgreSQL warehouse", run: runSync}
}

const syncUsage = "ashlar sync --base-url URL (--key-stdin | env ASHBY_API_KEY | --api-key KEY) --into DSN [--streams a,b] [--full] [--every 15m] [--max-rps N] [--json]"

// toolEnv names the environment variables of the tool commands' flags
// (envVar in main.go reads it): the Ashby-side ones use ASHBY_, as other
// Ashby tools do.
var toolEnv = map[string]map[string]string{
	"sync": {"base-url": "ASHBY_BASE_URL", "api-key": "ASHBY_API_KEY", "into": "ASHLAR_SYNC_INTO"},
	"listen": {"addr": "ASHLAR_LISTEN_ADDR", "db": "ASHLAR_LISTEN_DB", "secret": "ASHBY_WEBHOOK_SECRET",
		"previous-secret": "ASHBY_WEBHOOK_PREVIOUS_SECRET", "nats-url": "NATS_URL"},
	"careers": {"upstream": "ASHBY_BASE_URL", "api-key": "ASHBY_API_KEY", "board": "ASHLAR_CAREERS_BOARD", "addr": "ASHLAR_CAREERS_ADDR",
		"base-url": "ASHLAR_CAREERS_BASE_URL", "cache-dir": "ASHLAR_CAREERS_CACHE_DIR", "webhook-secret": "ASHBY_WEBHOOK_SECRET",
		"trusted-proxies": "ASHLAR_CAREERS_TRUSTED_PROXIES"},
}

// onCommandLine reports whether a flag was given as an argument (not by
// its environment variable): a secret there is visible in the process
// list.
func onCommandLine(fs *flagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// apiKey reads the key from --key-stdin, else --api-key (or its
// ASHBY_API_KEY).
func apiKey(flagKey string, fromStdin bool, stdin io.Reader) (string, error) {
	switch {
	case fromStdin:
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read the API key from stdin: %w", err)
		}
		if k := strings.TrimSpace(line); k != "" {
			return k, nil
		}
		return "", usageError{"--key-stdin: standard input held no key"}
	case flagKey != "":
		return flagKey, nil
	}
	return "", usageError{"give the API key with --key-stdin, ASHBY_API_KEY or --api-key"}
}

func runSync(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "sync", syncUsage)
	baseURL := fs.String("base-url", client.DefaultBaseURL, "the API's base URL: Ashby's, or an Ashlar server's")
	flagKey := fs.String("api-key", "", "API key (on the command line it is visible in the process list: prefer --key-stdin or the environment variable)")
	keyStdin := fs.Bool("key-stdin", false, "read the API key from the first line of standard input")
	into := fs.String("into", "", "warehouse: sqlite:PATH (or a path) or a postgres:// URL (tables go in its search_path)")
	streamsFlag := fs.String("streams", "", "comma-separated streams to sync (default: all; --list-streams shows them)")
	full := fs.Bool("full", false, "ignore checkpoints: read every stream in full and remove rows the server no longer has (a backfill)")
	every := fs.Duration("every", 0, "run again this long after each run starts (e.g. 15m), until interrupted; 0 runs once")
	maxRPS := fs.Float64("max-rps", 10, "never send more than this many requests per second (0: no limit); 429s pause every stream for their Retry-After")
	concurrency := fs.Int("concurrency", 4, "streams synced at once")
	pageSize := fs.Int("page-size", 100, "records per page, 1-100")
	listStreams := fs.Bool("list-streams", false, "print the streams and exit")
	asJSON := fs.Bool("json", false, "print the summary (or --list-streams) as JSON, one stream per line")
	progress := fs.String("progress", "auto", "auto (a live display on a terminal, log lines otherwise), tty or log")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug (one line per page), info, warn or error")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(fs, pos); err != nil {
		return err
	}
	if *listStreams {
		return printStreams(e.stdout, *asJSON)
	}
	if *into == "" {
		return usageError{"sync: --into is required (sqlite:PATH or postgres://…)"}
	}
	if *pageSize < 1 || *pageSize > 100 {
		return usageError{"sync: --page-size must be 1-100"}
	}
	if *progress != "auto" && *progress != "tty" && *progress != "log" {
		return usageError{"sync: --progress takes auto, tty or log"}
	}
	var names []string
	if *streamsFlag != "" {
		names = strings.Split(*streamsFlag, ",")
	}
	streams, err := warehouse.Select(names)
	if err != nil {
		return usageError{"sync: " + err.Error()}
	}
	logger, err := newLogger(e.stderr, *logFormat, *logLevel)
	if err != nil {
		return usageError{err.Error()}
	}
	key, err := apiKey(*flagKey, *keyStdin, os.Stdin)
	if err != nil {
		return err
	}
	db, err := warehouse.Open(ctx, *into)
	if err != nil {
		return err
	}
	defer db.Close()
	e.say(fmt.Sprintf("database: %s %s (the warehouse of %s)", db.Engine(), redact(*into), *baseURL), "database", "engine", db.Engine(), "db", redact(*into), "source", *baseURL)
	if onCommandLine(fs, "api-key") && !*keyStdin {
		e.say("warning: --api-key is visible to other users in the process list; prefer --key-stdin or ASHBY_API_KEY", "warning: --api-key is visible in the process list")
	}

	c := client.New(*baseURL, key)
	c.Limiter = client.NewRateLimiter(*maxRPS, 1)
	c.OnWarning = func(endpoint string, w []string) { logger.Warn("API warning", "endpoint", endpoint, "warnings", w) }
	c.OnRetry = func(endpoint string, attempt int, err error, wait time.Duration) {
		logger.Info("retrying", "endpoint", endpoint, "attempt", attempt, "wait", wait.Round(time.Millisecond), "error", err)
	}
	tty := *progress == "tty" || *progress == "auto" && isTerminal(e.stderr)
	for {
		started := time.Now()
		var display progressSink
		if tty {
			display = newTTYProgress(e.stderr)
		} else {
			display = newLogProgress(logger)
		}
		res, err := warehouse.Run(ctx, warehouse.Options{Client: c, DB: db, Streams: streams, Full: *full,
			Concurrency: *concurrency, PageSize: *pageSize, Progress: display.event})
		display.close()
		if res != nil {
			if perr := printSyncSummary(e.stdout, res, *asJSON); perr != nil {
				return perr
			}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("sync interrupted: streams not finished keep their previous checkpoint")
		}
		if err != nil {
			return err
		}
		if *every <= 0 {
			if n := res.Failed(); n > 0 {
				return fmt.Errorf("%d stream(s) failed; their checkpoints were not moved (see above)", n)
			}
			if res.Done() == 0 {
				return errors.New("no stream could be read: check the key's permissions and --base-url")
			}
			return nil
		}
		// --every: a failed stream is retried by the next run.
		*full = false
		next := started.Add(*every)
		logger.Info("next run", "at", next.Format(time.RFC3339))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Until(next)):
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb"
}

func printStreams(w io.Writer, asJSON bool) error {
	streams, _ := warehouse.Select(nil)
	if asJSON {
		type row struct {
			Stream      string   `json:"stream"`
			Endpoint    string   `json:"endpoint"`
			Incremental bool     `json:"incremental"`
			Airbyte     bool     `json:"airbyte"`
			Extension   bool     `json:"extension"`
			Columns     []string `json:"columns"`
		}
		var rows []row
		for _, s := range streams {
			r := row{Stream: s.Name, Endpoint: s.Endpoint, Incremental: s.Incremental, Airbyte: s.Airbyte, Extension: s.Extension}
			for _, c := range s.Columns {
				r.Columns = append(r.Columns, c.Name)
			}
			rows = append(rows, r)
		}
		return writeJSONLines(w, rows)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tENDPOINT\tMODE\tNOTES")
	for _, s := range streams {
		m := "full each run"
		if s.Incremental {
			m = "incremental"
		}
		var notes []string
		if s.Airbyte {
			notes = append(notes, "Airbyte stream")
		}
		if s.Extension {
			notes = append(notes, "not in Ashby's spec")
		}
		if s.Parent != nil {
			notes = append(notes, "per "+strings.TrimSuffix(s.Parent.Name, "s"))
		}
		if s.VariantParam != "" {
			notes = append(notes, "per "+s.VariantParam+": "+strings.Join(s.Variants, ", "))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Endpoint, m, strings.Join(notes, "; "))
	}
	return tw.Flush()
}

func printSyncSummary(w io.Writer, res *warehouse.Result, asJSON bool) error {
	sort.Slice(res.Streams, func(i, j int) bool { return res.Streams[i].Key < res.Streams[j].Key })
	if asJSON {
		type row struct {
			RunID    string  `json:"runId"`
			Stream   string  `json:"stream"`
			Status   string  `json:"status"`
			Mode     string  `json:"mode,omitempty"`
			FellBack string  `json:"fellBackFrom,omitempty"`
			Records  int     `json:"records"`
			Pages    int     `json:"pages"`
			Deleted  int64   `json:"deleted"`
			Seconds  float64 `json:"seconds"`
			Reason   string  `json:"reason,omitempty"`
		}
		var rows []row
		for _, s := range res.Streams {
			r := row{RunID: res.RunID, Stream: s.Key, Status: s.Status, FellBack: s.FellBack, Records: s.Records, Pages: s.Pages,
				Deleted: s.Deleted, Seconds: s.Duration.Seconds(), Reason: s.Skipped}
			if s.Status != "skipped" {
				r.Mode = map[bool]string{true: "full", false: "incremental"}[s.Full]
			}
			if s.Err != nil {
				r.Reason = s.Err.Error()
			}
			rows = append(rows, r)
		}
		return writeJSONLines(w, rows)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "STREAM\tSTATUS\tMODE\tRECORDS\tDELETED\tTIME\tNOTE\n")
	done, skipped, failed := 0, 0, 0
	for _, s := range res.Streams {
		m, note := "", s.Skipped
		if s.Status != "skipped" {
			m = map[bool]string{true: "full", false: "incremental"}[s.Full]
		}
		if s.FellBack != "" {
			note = "token refused (" + s.FellBack + "): full sync instead"
		}
		if s.Err != nil {
			note = s.Err.Error()
		}
		switch s.Status {
		case "done":
			done++
		case "skipped":
			skipped++
		default:
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", s.Key, s.Status, m, s.Records, s.Deleted, s.Duration.Round(time.Millisecond), note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	rate := 0.0
	if res.Duration > 0 {
		rate = float64(res.Records()) / res.Duration.Seconds()
	}
	_, err := fmt.Fprintf(w, "run %s: %d records in %s (%.0f/s); %d streams done, %d skipped, %d failed\n",
		res.RunID, res.Records(), res.Duration.Round(time.Millisecond), rate, done, skipped, failed)
	return err
}

// progressSink shows a run's progress.
type progressSink interface {
	event(warehouse.Progress)
	close()
}

// logProgress writes structured lines: a stream's start and end, every
// page at debug level, and its count every 10 seconds.
type logProgress struct {
	log  *slog.Logger
	mu   sync.Mutex
	last map[string]time.Time
	t0   map[string]time.Time
}

func newLogProgress(l *slog.Logger) *logProgress {
	return &logProgress{log: l, last: map[string]time.Time{}, t0: map[string]time.Time{}}
}

func (p *logProgress) event(ev warehouse.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	switch ev.Kind {
	case "start":
		p.t0[ev.Stream], p.last[ev.Stream] = now, now
		p.log.Info("stream started", "stream", ev.Stream, "mode", ev.Mode)
	case "page":
		p.log.Debug("page written", "stream", ev.Stream, "records", ev.Records, "pages", ev.Pages)
		if now.Sub(p.last[ev.Stream]) >= 10*time.Second {
			p.last[ev.Stream] = now
			p.log.Info("stream progress", "stream", ev.Stream, "records", ev.Records, "per_second", rate(ev.Records, now.Sub(p.t0[ev.Stream])))
		}
	case "fallback":
		p.log.Warn("sync token refused: full sync instead", "stream", ev.Stream, "code", ev.Detail)
	case "done":
		p.log.Info("stream done", "stream", ev.Stream, "mode", ev.Mode, "records", ev.Records, "pages", ev.Pages,
			"per_second", rate(ev.Records, now.Sub(p.t0[ev.Stream])))
	case "skipped":
		p.log.Warn("stream skipped", "stream", ev.Stream, "reason", ev.Detail)
	case "failed":
		p.log.Error("stream failed", "stream", ev.Stream, "records", ev.Records, "error", ev.Detail)
	}
}

func (p *logProgress) close() {}

func rate(n int, d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(float64(n) / d.Seconds())
}

// ttyProgress redraws one line per stream on a terminal.
type ttyProgress struct {
	w     io.Writer
	mu    sync.Mutex
	order []string
	state map[string]*ttyLine
	drawn int
	stop  chan struct{}
	done  chan struct{}
}

type ttyLine struct {
	mode, status, detail string
	records              int
	start, end           time.Time
}

func newTTYProgress(w io.Writer) *ttyProgress {
	p := &ttyProgress{w: w, state: map[string]*ttyLine{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				p.draw()
				return
			case <-t.C:
				p.draw()
			}
		}
	}()
	return p
}

func (p *ttyProgress) event(ev warehouse.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.state[ev.Stream]
	if !ok {
		l = &ttyLine{start: time.Now()}
		p.state[ev.Stream] = l
		p.order = append(p.order, ev.Stream)
	}
	if ev.Mode != "" {
		l.mode = ev.Mode
	}
	l.records = max(l.records, ev.Records)
	switch ev.Kind {
	case "start", "page":
		l.status = "running"
	case "fallback":
		l.detail = "token refused (" + ev.Detail + "): full"
	case "done", "skipped", "failed":
		l.status, l.end = ev.Kind, time.Now()
		if ev.Kind != "done" {
			l.detail = ev.Detail
		}
	}
}

func (p *ttyProgress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}
	now := time.Now()
	for _, k := range p.order {
		l := p.state[k]
		end := now
		if !l.end.IsZero() {
			end = l.end
		}
		detail := l.detail
		if len(detail) > 60 {
			detail = detail[:60] + "…"
		}
		fmt.Fprintf(&b, "\x1b[2K%-28s %-8s %-11s %9d records %7d/s %s\n", k, l.status, l.mode, l.records, rate(l.records, end.Sub(l.start)), detail)
	}
	p.drawn = len(p.order)
	io.WriteString(p.w, b.String())
}

func (p *ttyProgress) close() {
	close(p.stop)
	<-p.done
}
