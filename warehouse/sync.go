package warehouse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ashlarhq/ashlar/client"
)

// Options configure a run.
type Options struct {
	Client *client.Client
	DB     *DB
	// Streams to sync (nil: every stream of the catalog).
	Streams []*Stream
	// Full ignores the checkpoints: every stream is read in full, and
	// rows the server no longer returns are removed.
	Full bool
	// Concurrency is how many streams are synced at once (default 4).
	Concurrency int
	// PageSize is the limit sent with each page (default 100, Ashby's
	// maximum).
	PageSize int
	// Progress, if set, receives every step of the run. It is called from
	// several goroutines at once.
	Progress func(Progress)
	// Now is the clock (tests).
	Now func() time.Time
}

// Progress is a step of a run, for display and logs.
type Progress struct {
	Kind    string // "start", "page", "fallback", "done", "skipped", "failed"
	Stream  string // the walk's key: stream, or stream/variant
	Mode    string // "incremental" or "full"
	Records int    // records so far in this walk
	Pages   int
	Detail  string // the fallback's code, the skip's or failure's reason
}

// StreamResult is how one walk of a stream ended.
type StreamResult struct {
	Key      string
	Status   string // "done", "skipped", "failed"
	Full     bool
	FellBack string
	Records  int
	Pages    int
	Deleted  int64
	Token    string
	Duration time.Duration
	Err      error
	// Skipped says why a stream was skipped: the server lacks the
	// endpoint, or the key lacks its permission.
	Skipped string
}

// Result is a run's outcome.
type Result struct {
	RunID    string
	Streams  []*StreamResult
	Duration time.Duration
}

// Failed counts the walks that failed.
func (r *Result) Failed() int {
	n := 0
	for _, s := range r.Streams {
		if s.Status == "failed" {
			n++
		}
	}
	return n
}

// Done counts the walks that finished.
func (r *Result) Done() int {
	n := 0
	for _, s := range r.Streams {
		if s.Status == "done" {
			n++
		}
	}
	return n
}

// Records counts the records written.
func (r *Result) Records() int {
	n := 0
	for _, s := range r.Streams {
		n += s.Records
	}
	return n
}

// NewRunID returns a sortable unique id for a run.
func NewRunID(now time.Time) string {
	b := make([]byte, 4)
	rand.Read(b)
	return now.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b)
}

// Run syncs the streams into the warehouse. Streams are independent: one
// failing does not stop the others, and its checkpoint stays where it
// was. The error is for what stops the whole run (the context, the
// database).
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.PageSize <= 0 || o.PageSize > 100 {
		o.PageSize = 100
	}
	if o.Progress == nil {
		o.Progress = func(Progress) {}
	}
	if o.Streams == nil {
		o.Streams, _ = Select(nil)
	}
	start := o.Now()
	res := &Result{RunID: NewRunID(start)}
	for _, s := range o.Streams {
		if err := o.DB.Ensure(ctx, s); err != nil {
			return nil, err
		}
	}
	type job struct {
		s       *Stream
		variant string
	}
	var jobs []job
	for _, s := range o.Streams {
		for _, v := range s.walks() {
			jobs = append(jobs, job{s, v})
		}
	}
	results := make([]*StreamResult, len(jobs))
	sem := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i] = &StreamResult{Key: j.s.key(j.variant), Status: "failed", Err: ctx.Err()}
				return
			}
			defer func() { <-sem }()
			results[i] = runWalk(ctx, &o, res.RunID, j.s, j.variant)
		}()
	}
	wg.Wait()
	res.Streams = results
	res.Duration = o.Now().Sub(start)
	return res, ctx.Err()
}

// unavailable reports why a stream cannot be read with this server and
// key, or "" if err is a real failure.
func unavailable(err error) string {
	var e *client.Error
	if !errors.As(err, &e) {
		return ""
	}
	switch {
	case e.Status == http.StatusNotFound || e.Code == "endpoint_not_found":
		return "the server has no " + e.Endpoint
	case e.Code == "missing_endpoint_permission":
		// Only this code: a wrong or revoked key is a failure, not a skip.
		return "the API key lacks the permission for " + e.Endpoint
	}
	return ""
}

func runWalk(ctx context.Context, o *Options, runID string, s *Stream, variant string) *StreamResult {
	key := s.key(variant)
	started := o.Now()
	r := &StreamResult{Key: key}
	finish := func() *StreamResult {
		r.Duration = o.Now().Sub(started)
		// The run's row is bookkeeping: a failure to write it must not
		// turn a finished walk into a failed one.
		_ = o.DB.finishRun(context.WithoutCancel(ctx), runID, r, o.Now())
		switch r.Status {
		case "done":
			o.Progress(Progress{Kind: "done", Stream: key, Mode: mode(r.Full), Records: r.Records, Pages: r.Pages})
		case "skipped":
			o.Progress(Progress{Kind: "skipped", Stream: key, Detail: r.Skipped})
		default:
			o.Progress(Progress{Kind: "failed", Stream: key, Records: r.Records, Pages: r.Pages, Detail: fmt.Sprint(r.Err)})
		}
		return r
	}
	cp, err := o.DB.Checkpoint(ctx, key)
	if err != nil {
		r.Status, r.Err = "failed", err
		return finish()
	}
	token := ""
	if cp != nil && !o.Full && s.Incremental && s.Parent == nil {
		token = cp.Token
	}
	full := token == ""
	r.Full = full
	if err := o.DB.startRun(ctx, runID, key, token, started); err != nil {
		r.Status, r.Err = "failed", fmt.Errorf("record run: %w", err)
		return finish()
	}
	o.Progress(Progress{Kind: "start", Stream: key, Mode: mode(full)})
	records, pages := 0, 0
	write := func(recs []client.Page, last bool, newToken string, reqToken string) error {
		for _, p := range recs {
			page := &Page{Stream: s, Variant: variant, Records: p.Results, RunID: runID, Token: reqToken, Now: o.Now()}
			if last {
				page.Finish = &Finish{Key: key, NewToken: newToken, FullPass: full}
			}
			deleted, err := o.DB.Write(ctx, page)
			if err != nil {
				return err
			}
			r.Deleted += deleted
			records += len(p.Results)
			pages++
			o.Progress(Progress{Kind: "page", Stream: key, Mode: mode(full), Records: records, Pages: pages})
		}
		return nil
	}
	params := s.params(variant)
	params["limit"] = o.PageSize
	if s.Parent != nil {
		err = walkChildren(ctx, o, s, params, write)
	} else {
		var sr *client.SyncResult
		sr, err = o.Client.Incremental(ctx, s.Endpoint, params, token, func(p *client.Page) error {
			last := !p.MoreDataAvailable
			return write([]client.Page{*p}, last, p.SyncToken, token)
		}, func(code string) error {
			full, token = true, ""
			r.Full, r.FellBack = true, code
			o.Progress(Progress{Kind: "fallback", Stream: key, Mode: "full", Detail: code})
			return nil
		})
		if sr != nil {
			r.Token = sr.Token
		}
	}
	r.Records, r.Pages = records, pages
	if err != nil {
		if why := unavailable(err); why != "" && pages == 0 {
			r.Status, r.Skipped = "skipped", why
			return finish()
		}
		r.Status, r.Err = "failed", err
		return finish()
	}
	r.Status = "done"
	return finish()
}

// walkChildren reads a child stream in full: the child list once per
// record of the parent's list. The checkpoint (no token) goes with the
// last write.
func walkChildren(ctx context.Context, o *Options, s *Stream, params map[string]any,
	write func([]client.Page, bool, string, string) error) error {
	var parents []string
	pp := s.Parent.params("")
	pp["limit"] = o.PageSize
	for p, err := range o.Client.Pages(ctx, s.Parent.Endpoint, pp, "") {
		if err != nil {
			return err
		}
		for _, raw := range p.Results {
			var rec struct {
				ID string `json:"id"`
			}
			if err := jsonUnmarshal(raw, &rec); err != nil {
				return err
			}
			parents = append(parents, rec.ID)
		}
	}
	for _, id := range parents {
		cp := map[string]any{}
		for k, v := range params {
			cp[k] = v
		}
		cp[s.ParentParam] = id
		for p, err := range o.Client.Pages(ctx, s.Endpoint, cp, "") {
			if err != nil {
				return err
			}
			if err := write([]client.Page{*p}, false, "", ""); err != nil {
				return err
			}
		}
	}
	return write([]client.Page{{}}, true, "", "")
}

func mode(full bool) string {
	if full {
		return "full"
	}
	return "incremental"
}

func jsonUnmarshal(raw []byte, v any) error { return json.Unmarshal(raw, v) }
