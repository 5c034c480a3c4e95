package careers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/forms"
)

// fakeUpstream answers the calls Upstream makes, or 503 to all of them
// while down.
type fakeUpstream struct {
	*httptest.Server
	down  atomic.Bool
	title atomic.Value // the posting's title
	calls atomic.Int64
}

func newFakeUpstream(t *testing.T) *fakeUpstream {
	f := &fakeUpstream{}
	f.title.Store("Gardener")
	const posting, board = "0b7a2a52-7c0e-4c3e-9d3e-6a1f0e8f6b11", "5d0b3a8e-8f5e-4a43-9e2c-1c0d6f5b7a22"
	ok := func(w http.ResponseWriter, v any) {
		json.NewEncoder(w).Encode(map[string]any{"success": true, "results": v})
	}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		if f.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		title := f.title.Load().(string)
		switch r.URL.Path {
		case "/posting-api/job-board/acme":
			json.NewEncoder(w).Encode(ashby.PublicBoard{APIVersion: "1", Jobs: []ashby.PublicJob{{ID: posting, Title: title, IsListed: true, Location: "Kew"}}})
		case "/posting-api/job-board/gone":
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"success":false,"errorInfo":{"code":"job_board_not_found","message":"no"}}`))
		case "/jobBoard.list":
			ok(w, []ashby.JobBoard{{ID: board, Title: "Acme"}})
		case "/jobPosting.list":
			ok(w, []ashby.JobPostingListItem{{ID: posting, Title: title, IsListed: true, Status: "Published"}})
		case "/jobPosting.info":
			info := ashby.JobPostingInfo{JobPostingListItem: ashby.JobPostingListItem{ID: posting, Title: title}}
			info.LinkedData.HiringOrganization.Name = "Acme Gardens"
			ok(w, info)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func newTestUpstream(t *testing.T, f *fakeUpstream, board, cache string) *Upstream {
	c := client.New(f.URL, "key")
	c.MaxRetries = 0
	u, err := NewUpstream(UpstreamOptions{Client: c, Board: board, CacheFile: cache, Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUpstreamKeepsTheLastGoodCopy(t *testing.T) {
	ctx := context.Background()
	f := newFakeUpstream(t)
	cache := filepath.Join(t.TempDir(), "board.json")
	u := newTestUpstream(t, f, "acme", cache)
	snap, err := u.Board(ctx, "ACME")
	if err != nil || snap == nil || len(snap.Info) != 1 || snap.Info[0].Title != "Gardener" || snap.Org.Name != "Acme Gardens" {
		t.Fatalf("first read: %+v %v", snap, err)
	}
	if other, err := u.Board(ctx, "other"); other != nil || err != nil {
		t.Fatalf("a board the proxy does not serve: %v %v", other, err)
	}
	// Unchanged content keeps the same snapshot (and so the rendered pages).
	if err := u.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if again, _ := u.Board(ctx, "acme"); again != snap {
		t.Error("an unchanged board replaced the snapshot")
	}
	f.title.Store("Head Gardener")
	if err := u.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	changed, _ := u.Board(ctx, "acme")
	if changed == snap || changed.Info[0].Title != "Head Gardener" {
		t.Fatalf("a change was not picked up: %+v", changed.Info[0].Title)
	}
	// Down: the refresh fails and the last good copy stays.
	f.down.Store(true)
	if err := u.Refresh(ctx); err == nil {
		t.Fatal("a refresh against a down upstream succeeded")
	}
	if kept, err := u.Board(ctx, "acme"); err != nil || kept != changed {
		t.Fatalf("the last good copy was not kept: %v", err)
	}
	// A new process, upstream still down: the cache file serves.
	restarted := newTestUpstream(t, f, "acme", cache)
	if snap, err := restarted.Board(ctx, "acme"); err != nil || snap == nil || snap.Info[0].Title != "Head Gardener" {
		t.Fatalf("after a restart: %+v %v", snap, err)
	}
	// Nothing cached and the upstream down: unavailable, and the upstream
	// is not tried again on every request.
	cold := newTestUpstream(t, f, "acme", "")
	if _, err := cold.Board(ctx, "acme"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("cold start, upstream down: %v", err)
	}
	before := f.calls.Load()
	if _, err := cold.Board(ctx, "acme"); !errors.Is(err, ErrUnavailable) || f.calls.Load() != before {
		t.Fatalf("a second request at once: %v, %d more calls", err, f.calls.Load()-before)
	}
	// A board the upstream does not have is not found, not unavailable.
	f.down.Store(false)
	gone := newTestUpstream(t, f, "gone", "")
	if snap, err := gone.Board(ctx, "gone"); snap != nil || err != nil {
		t.Fatalf("a board the upstream lacks: %+v %v", snap, err)
	}
}

func TestUpstreamErrors(t *testing.T) {
	withFields := upstreamError(&client.Error{Code: "invalid_input", Message: "bad", Meta: map[string]any{
		"fieldErrors": []any{map[string]any{"path": "_systemfield_email", "title": "Email", "message": "is wrong"}}}})
	ae, ok := ashby.AsError(withFields)
	if !ok || ae.Status != http.StatusBadRequest {
		t.Fatalf("a refusal: %v", withFields)
	}
	if fe, _ := ae.Meta["fieldErrors"].([]forms.FieldError); len(fe) != 1 || fe[0].Path != "_systemfield_email" || fe[0].Message != "is wrong" {
		t.Fatalf("fieldErrors: %#v", ae.Meta)
	}
	oneField, _ := ashby.AsError(upstreamError(&client.Error{Code: "invalid_input", Message: "Bad phone", Meta: map[string]any{"field": "_systemfield_phone"}}))
	if fe, _ := oneField.Meta["fieldErrors"].([]forms.FieldError); len(fe) != 1 || fe[0].Path != "_systemfield_phone" || fe[0].Message != "Bad phone" {
		t.Fatalf("meta.field: %#v", oneField.Meta)
	}
	if err := upstreamError(&client.Error{Code: "internal_error", Status: 502}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("a 5xx: %v", err)
	}
	if err := upstreamError(errors.New("applicationForm.submit: connection reset by peer")); !errors.Is(err, ErrUncertain) {
		t.Errorf("a reset after sending: %v", err)
	}
}

func TestUpstreamSubmitOnceAndSignedConfirmations(t *testing.T) {
	var c submitCache
	var runs atomic.Int64
	release := make(chan struct{})
	var wg sync.WaitGroup
	refs := make([]string, 5)
	for i := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			refs[i], _ = c.do("p:key", func() (string, error) { runs.Add(1); <-release; return "ref", nil })
		}()
	}
	for c.inFlight("p:key") == nil {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	if runs.Load() != 1 || refs[0] != "ref" || refs[4] != "ref" {
		t.Fatalf("five submissions of one form: %d upstream calls, refs %v", runs.Load(), refs)
	}
	// A failure is forgotten: the corrected form goes through.
	c.do("p:other", func() (string, error) { return "", errors.New("refused") })
	if ref, err := c.do("p:other", func() (string, error) { return "second", nil }); err != nil || ref != "second" {
		t.Fatalf("after a failure: %q %v", ref, err)
	}

	u := &Upstream{o: UpstreamOptions{Secret: []byte("secret")}}
	ref := "f00d." + u.sign("posting-1", "f00d")
	if shown, ok := u.Confirmation(context.Background(), nil, "posting-1", ref); !ok || shown != "f00d" {
		t.Fatalf("a signed reference: %q %v", shown, ok)
	}
	for _, bad := range []string{"f00d", "f00d.x", "beef." + u.sign("posting-1", "f00d")} {
		if _, ok := u.Confirmation(context.Background(), nil, "posting-1", bad); ok {
			t.Errorf("accepted %q", bad)
		}
	}
	if _, ok := u.Confirmation(context.Background(), nil, "posting-2", ref); ok {
		t.Error("accepted another posting's reference")
	}
}

// inFlight is the entry of key, once a submission holds it.
func (c *submitCache) inFlight(key string) *submitEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries[key]
}
