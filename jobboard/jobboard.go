// Package jobboard serves Ashby's public Job Postings API (https://developers.ashbyhq.com/docs/public-job-posting-api):
//
//	GET /posting-api/job-board/{name}[?includeCompensation=true]
//
// No authentication: it is a company's public jobs, read by careers
// sites, aggregators and crawlers, often far more than anything else. So
// each board's response is rendered once, in both variants (with and
// without compensation) and both encodings (identity and gzip), and then
// served from memory with an ETag until the board changes.
//
// Invalidation across processes: every second at most (Options.Refresh)
// a request checks the board's version, a handful of index probes
// (api.BoardVersion), and rebuilds on a mismatch. Changes made through
// this process invalidate at once.
package jobboard

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// Options configure a Handler.
type Options struct {
	// Refresh is how often a board's version is checked against the
	// database (default 1s): the longest a change made by another process
	// takes to show.
	Refresh time.Duration
	// MaxAge is the Cache-Control max-age given to clients (default 60s).
	MaxAge time.Duration
	// SpillDir holds large responses as files for sendfile (default: a
	// new directory under os.TempDir(), removed by Close).
	SpillDir string
	Log      *slog.Logger
}

// Handler serves the posting API and keeps board snapshots.
type Handler struct {
	svc  *api.Service
	opts Options

	mu       sync.Mutex
	boards   map[string]*entry // by lower-case board name
	spillDir string
	ownDir   bool
}

// New returns the posting API for svc.
func New(svc *api.Service, o Options) *Handler {
	if o.Refresh <= 0 {
		o.Refresh = time.Second
	}
	if o.MaxAge <= 0 {
		o.MaxAge = time.Minute
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	h := &Handler{svc: svc, opts: o, boards: map[string]*entry{}, spillDir: o.SpillDir}
	if h.spillDir == "" {
		if dir, err := os.MkdirTemp("", "ashlar-posting-api-"); err == nil {
			h.spillDir, h.ownDir = dir, true
		} else {
			o.Log.Warn("posting API: no directory for large responses; serving them from memory", "error", err)
		}
	}
	svc.OnPostingsChanged(h.invalidate)
	return h
}

// Close removes the files of large responses.
func (h *Handler) Close() error {
	if h.ownDir {
		return os.RemoveAll(h.spillDir)
	}
	return nil
}

// spill writes a large response to a file of its own (the old one is
// removed when its state is replaced; requests that opened it keep
// reading it).
func (h *Handler) spill(b []byte) string {
	if h.spillDir == "" || len(b) < spillSize {
		return ""
	}
	f, err := os.CreateTemp(h.spillDir, "board-*")
	if err != nil {
		h.opts.Log.Warn("posting API: spill response", "error", err)
		return ""
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return ""
	}
	return f.Name()
}

func (st *state) removeFiles() {
	if st == nil {
		return
	}
	for _, v := range st.variants {
		if v != nil {
			for _, f := range []string{v.file, v.gzFile} {
				if f != "" {
					os.Remove(f)
				}
			}
		}
	}
}

// Routes mounts the posting API on mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /posting-api/job-board/{name}", h.serve)
	mux.HandleFunc("OPTIONS /posting-api/job-board/{name}", h.preflight)
}

// entry is one board's cached state.
type entry struct {
	name    string
	refresh sync.Mutex // one rebuild at a time; readers keep the old state
	state   atomic.Pointer[state]
	dirty   atomic.Bool
}

// state is an immutable snapshot and its rendered responses.
type state struct {
	org, boardID string
	version      string
	notFound     bool
	checked      time.Time
	stale        time.Time // zero: never
	snap         *api.BoardSnapshot
	variants     [2]*rendered // [includeCompensation]
}

type rendered struct {
	body, gz       []byte
	etag, etagGzip string
	// file and gzFile hold the same bytes as body and gz when they are
	// large: they are sent with sendfile(2) straight from the page cache,
	// as http.FileServer sends files, instead of being copied through
	// the process for every request.
	file, gzFile string
}

// spillSize is the size from which a response is also kept in a file.
const spillSize = 64 << 10

func render(v any) (*rendered, error) {
	// Descriptions are HTML; leaving <, > and & unescaped keeps the body
	// readable and smaller, and it is served as application/json.
	var raw bytes.Buffer
	enc := json.NewEncoder(&raw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	body := bytes.TrimRight(raw.Bytes(), "\n")
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(body)
	zw.Close()
	sum := sha256.Sum256(body)
	tag := base64.RawURLEncoding.EncodeToString(sum[:12])
	return &rendered{body: body, gz: buf.Bytes(), etag: `"` + tag + `"`, etagGzip: `"` + tag + `-gzip"`}, nil
}

func (h *Handler) invalidate(org string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.boards {
		if st := e.state.Load(); st == nil || st.org == org || st.notFound {
			e.dirty.Store(true)
		}
	}
}

func (h *Handler) entry(name string) *entry {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.boards[name]
	if e == nil {
		// Unknown names are cached too (as not found), so a crawler
		// guessing names cannot make every request hit the database; the
		// map is bounded to keep such guesses from growing it forever.
		if len(h.boards) > 10000 {
			for k, old := range h.boards {
				if st := old.state.Load(); st == nil || st.notFound {
					delete(h.boards, k)
				}
			}
		}
		e = &entry{name: name}
		h.boards[name] = e
	}
	return e
}

// Snapshot returns the current snapshot of a board (nil for unknown or
// internal boards), refreshing it if it is due. The careers site renders
// from it too.
func (h *Handler) Snapshot(ctx context.Context, name string) (*api.BoardSnapshot, error) {
	st, err := h.current(ctx, strings.ToLower(name))
	if err != nil || st.notFound {
		return nil, err
	}
	return st.snap, nil
}

func (h *Handler) current(ctx context.Context, name string) (*state, error) {
	e := h.entry(name)
	st := e.state.Load()
	now := time.Now()
	if st != nil && !e.dirty.Load() && now.Sub(st.checked) < h.opts.Refresh && (st.stale.IsZero() || now.Before(st.stale)) {
		return st, nil
	}
	e.refresh.Lock()
	defer e.refresh.Unlock()
	// Another request may have refreshed while this one waited.
	if st2 := e.state.Load(); st2 != st && st2 != nil && !e.dirty.Load() {
		return st2, nil
	}
	e.dirty.Store(false)
	next, err := h.build(ctx, name, st)
	if err != nil {
		e.dirty.Store(true)
		if st != nil {
			// Serve the last good response rather than fail a public page
			// on a database hiccup; the next request tries again.
			h.opts.Log.Error("refresh job board", "board", name, "error", err)
			return st, nil
		}
		return nil, err
	}
	e.state.Store(next)
	if st != nil && st.variants != next.variants {
		st.removeFiles()
	}
	return next, nil
}

func (h *Handler) build(ctx context.Context, name string, prev *state) (*state, error) {
	now := time.Now()
	org, board, err := api.BoardByName(ctx, h.svc.DB, name)
	if errors.Is(err, store.ErrNotFound) || err == nil && board.IsInternal {
		return &state{notFound: true, checked: now}, nil
	}
	if err != nil {
		return nil, err
	}
	version, err := api.BoardVersion(ctx, h.svc.DB, org)
	if err != nil {
		return nil, err
	}
	if prev != nil && !prev.notFound && prev.boardID == board.ID && prev.version == version && (prev.stale.IsZero() || now.Before(prev.stale)) {
		cp := *prev
		cp.checked = now
		return &cp, nil
	}
	snap, err := h.svc.Board(ctx, org, board.ID, version)
	if err != nil {
		return nil, fmt.Errorf("build job board %s: %w", name, err)
	}
	st := &state{org: org, boardID: board.ID, version: version, checked: now, stale: snap.Stale, snap: snap}
	for i, jobs := range [][]ashby.PublicJob{snap.Public, snap.PublicWithCompensation} {
		if st.variants[i], err = render(ashby.PublicBoard{APIVersion: "1", Jobs: jobs}); err != nil {
			return nil, err
		}
		st.variants[i].file, st.variants[i].gzFile = h.spill(st.variants[i].body), h.spill(st.variants[i].gz)
	}
	return st, nil
}

func setCORS(hd http.Header) {
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Access-Control-Expose-Headers", "ETag")
}

func (h *Handler) preflight(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	setCORS(hd)
	hd.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	hd.Set("Access-Control-Allow-Headers", "*")
	hd.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	setCORS(hd)
	st, err := h.current(r.Context(), strings.ToLower(r.PathValue("name")))
	rid, _ := rpc.RequestIDFrom(r.Context())
	if err != nil {
		e, logged := rpc.Failure(err)
		h.opts.Log.Error("posting API", "error", logged, "request_id", rid)
		rpc.WriteError(w, rid, e)
		return
	}
	if st.notFound {
		hd.Set("Cache-Control", "public, max-age=60")
		rpc.WriteError(w, rid, &ashby.Error{Code: "job_board_not_found", Status: http.StatusNotFound,
			Message: fmt.Sprintf("No public job board is named %q.", r.PathValue("name"))})
		return
	}
	v := st.variants[0]
	if comp, _ := strconv.ParseBool(r.URL.Query().Get("includeCompensation")); comp {
		v = st.variants[1]
	}
	gz := acceptsGzip(r)
	body, tag, file := v.body, v.etag, v.file
	if gz {
		body, tag, file = v.gz, v.etagGzip, v.gzFile
	}
	hd.Set("ETag", tag)
	hd.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(h.opts.MaxAge/time.Second))+", stale-while-revalidate=300")
	hd.Set("Vary", "Accept-Encoding")
	hd.Set("X-Content-Type-Options", "nosniff")
	if inm := r.Header.Get("If-None-Match"); inm != "" && (etagMatch(inm, v.etag) || etagMatch(inm, v.etagGzip)) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Type", "application/json; charset=utf-8")
	if gz {
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if file != "" {
		// io.Copy from an *os.File lets net/http use sendfile(2).
		if f, err := os.Open(file); err == nil {
			defer f.Close()
			io.Copy(w, f)
			return
		}
	}
	w.Write(body)
}

// etagMatch implements If-None-Match's weak comparison over a list.
func etagMatch(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == tag || t == "*" {
			return true
		}
	}
	return false
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			return !strings.Contains(strings.ReplaceAll(params, " ", ""), "q=0") || strings.Contains(params, "q=0.")
		}
	}
	return false
}
