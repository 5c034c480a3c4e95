package jobboard

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/partner"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// Dedicated partner job feeds (https://developers.ashbyhq.com/docs/dedicated-partner-job-feeds; docs/partners.md):
//
//	GET /partner-feed/{token}/jobs.json
//	GET /partner-feed/{token}/jobs.xml
//
// A feed lists every published posting of every organization opted in
// to the partner, in JSON or XML with identical content. The token is
// the partner's credential (no API key). Each feed is rendered once into
// a snapshot (both formats, identity and gzip, with ETags) and served
// from memory: the postings are rebuilt every FeedOptions.Refresh (an
// hour, as Ashby's feeds), at once when an organization opts in or out
// (the feed's version moves, checked on every request), and when the
// first application deadline among them passes.

// FeedOptions configure Feeds.
type FeedOptions struct {
	// Refresh is how often a feed's postings are rebuilt (default 1 h).
	Refresh time.Duration
	Log     *slog.Logger
}

// Feeds serves the partner feeds.
type Feeds struct {
	svc  *api.Service
	opts FeedOptions

	mu      sync.Mutex
	entries map[string]*feedEntry // by feed id
	stop    context.CancelFunc
	done    chan struct{}
}

type feedEntry struct {
	build sync.Mutex // one build at a time; readers keep the old snapshot
	state atomic.Pointer[feedState]
	// rebuilding is set while a background rebuild runs.
	rebuilding atomic.Bool
}

type feedState struct {
	version   int64
	built     time.Time
	stale     time.Time // the first deadline among the postings (zero: none)
	jobs      int
	json, xml *rendered
}

// NewFeeds returns the feed server for svc.
func NewFeeds(svc *api.Service, o FeedOptions) *Feeds {
	if o.Refresh <= 0 {
		o.Refresh = time.Hour
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Feeds{svc: svc, opts: o, entries: map[string]*feedEntry{}}
}

// Routes mounts the feeds on mux.
func (f *Feeds) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /partner-feed/{token}/{file}", f.serve)
}

// Start rebuilds every feed now and then every Refresh, in the
// background, so that requests are served from a ready snapshot.
func (f *Feeds) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	f.stop, f.done = cancel, make(chan struct{})
	go func() {
		defer close(f.done)
		t := time.NewTicker(f.opts.Refresh)
		defer t.Stop()
		for {
			f.refreshAll(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Stop ends the background refresh.
func (f *Feeds) Stop(context.Context) error {
	if f.stop != nil {
		f.stop()
		<-f.done
	}
	return nil
}

func (f *Feeds) refreshAll(ctx context.Context) {
	feeds, err := partner.Feeds(ctx, f.svc.DB)
	if err != nil {
		if ctx.Err() == nil {
			f.opts.Log.Error("partner feeds: list", "error", err)
		}
		return
	}
	for _, fd := range feeds {
		if _, err := f.rebuild(ctx, fd); err != nil && ctx.Err() == nil {
			f.opts.Log.Error("partner feeds: rebuild", "feed", fd.Name, "error", err)
		}
	}
}

func (f *Feeds) entry(id string) *feedEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.entries[id]
	if e == nil {
		e = &feedEntry{}
		f.entries[id] = e
	}
	return e
}

// Snapshot returns a feed's current rendering, rebuilding it first when
// its opt-ins changed, its postings expired or there is none; a snapshot
// merely older than Refresh is served while a rebuild runs behind it.
func (f *Feeds) snapshot(ctx context.Context, fd *partner.Feed) (*feedState, error) {
	e := f.entry(fd.ID)
	st := e.state.Load()
	now := time.Now()
	if st == nil || st.version != fd.Version || (!st.stale.IsZero() && !now.Before(st.stale)) {
		return f.rebuild(ctx, fd)
	}
	if now.Sub(st.built) >= f.opts.Refresh && e.rebuilding.CompareAndSwap(false, true) {
		go func() {
			defer e.rebuilding.Store(false)
			bctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if _, err := f.rebuild(bctx, fd); err != nil {
				f.opts.Log.Error("partner feeds: rebuild", "feed", fd.Name, "error", err)
			}
		}()
	}
	return st, nil
}

// rebuild renders a feed from the database.
func (f *Feeds) rebuild(ctx context.Context, fd *partner.Feed) (*feedState, error) {
	e := f.entry(fd.ID)
	e.build.Lock()
	defer e.build.Unlock()
	// The version is read again under the lock: a request that waited for
	// another's build may find it current.
	cur, err := partner.FeedByID(ctx, f.svc.DB, fd.ID)
	if err != nil {
		return nil, err
	}
	if st := e.state.Load(); st != nil && st.version == cur.Version && time.Since(st.built) < time.Second && (st.stale.IsZero() || time.Now().Before(st.stale)) {
		return st, nil
	}
	orgs, err := partner.FeedOrgs(ctx, f.svc.DB, fd.ID)
	if err != nil {
		return nil, err
	}
	doc := ashby.FeedDocument{Jobs: []ashby.FeedJob{}}
	var stale time.Time
	for _, org := range orgs {
		jobs, s, err := f.svc.FeedJobs(ctx, org)
		if err != nil {
			return nil, fmt.Errorf("feed %s: organization %s: %w", fd.Name, org, err)
		}
		doc.Jobs = append(doc.Jobs, jobs...)
		if !s.IsZero() && (stale.IsZero() || s.Before(stale)) {
			stale = s
		}
	}
	st := &feedState{version: cur.Version, built: time.Now(), stale: stale, jobs: len(doc.Jobs)}
	if st.json, err = render(doc); err != nil {
		return nil, fmt.Errorf("feed %s: encode JSON: %w", fd.Name, err)
	}
	if st.xml, err = renderXML(doc); err != nil {
		return nil, fmt.Errorf("feed %s: encode XML: %w", fd.Name, err)
	}
	e.state.Store(st)
	return st, nil
}

// renderXML encodes the feed as XML with its gzip variant and ETags.
func renderXML(doc ashby.FeedDocument) (*rendered, error) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	body := buf.Bytes()
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(body)
	zw.Close()
	sum := sha256.Sum256(body)
	tag := base64.RawURLEncoding.EncodeToString(sum[:12])
	return &rendered{body: body, gz: gz.Bytes(), etag: `"` + tag + `"`, etagGzip: `"` + tag + `-gzip"`}, nil
}

func (f *Feeds) serve(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	rid, _ := rpc.RequestIDFrom(r.Context())
	var contentType string
	xmlWanted := false
	switch r.PathValue("file") {
	case "jobs.json":
		contentType = "application/json; charset=utf-8"
	case "jobs.xml":
		contentType, xmlWanted = "application/xml; charset=utf-8", true
	default:
		f.notFound(w, rid)
		return
	}
	fd, err := partner.FeedByToken(r.Context(), f.svc.DB, r.PathValue("token"))
	if errors.Is(err, store.ErrNotFound) {
		f.notFound(w, rid)
		return
	}
	var st *feedState
	if err == nil {
		st, err = f.snapshot(r.Context(), fd)
	}
	if err != nil {
		e, logged := rpc.Failure(err)
		f.opts.Log.Error("partner feed", "error", logged, "request_id", rid)
		rpc.WriteError(w, rid, e)
		return
	}
	v := st.json
	if xmlWanted {
		v = st.xml
	}
	gz := acceptsGzip(r)
	body, tag := v.body, v.etag
	if gz {
		body, tag = v.gz, v.etagGzip
	}
	hd.Set("ETag", tag)
	// The URL holds the partner's token: shared caches keep out.
	hd.Set("Cache-Control", "private, max-age=60")
	hd.Set("Vary", "Accept-Encoding")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Ashlar-Feed-Jobs", strconv.Itoa(st.jobs))
	if inm := r.Header.Get("If-None-Match"); inm != "" && (etagMatch(inm, v.etag) || etagMatch(inm, v.etagGzip)) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Type", contentType)
	if gz {
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func (f *Feeds) notFound(w http.ResponseWriter, rid string) {
	rpc.WriteError(w, rid, &ashby.Error{Code: "job_feed_not_found", Status: http.StatusNotFound, Message: "No job feed at this address."})
}
