package inbox

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/client/webhooks"
	"github.com/ashlarhq/ashlar/store/storetest"
)

func stores(t *testing.T, fn func(t *testing.T, s *Store)) {
	for _, e := range storetest.Engines {
		t.Run(e.String(), func(t *testing.T) {
			s, err := Open(context.Background(), storetest.DSN(t, e))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			fn(t, s)
		})
	}
}

func event(id string) (*webhooks.Event, []byte) {
	body := []byte(`{"webhookActionId":"` + id + `","action":"ping","data":{"webhookActionType":"ping"}}`)
	ev, _ := webhooks.Parse(body)
	return ev, body
}

func TestStoreDedupesAndLeases(t *testing.T) {
	stores(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now()
		ev, body := event("e1")
		if added, err := s.Add(ctx, ev, body, now); err != nil || !added {
			t.Fatalf("first add: %v %v", added, err)
		}
		if added, err := s.Add(ctx, ev, body, now); err != nil || added {
			t.Fatalf("duplicate add: %v %v", added, err)
		}
		c, err := s.Claim(ctx, "w1", now, time.Minute)
		if err != nil || c == nil || c.WebhookActionID != "e1" || c.Attempts != 1 || string(c.Body) != string(body) {
			t.Fatalf("claim: %+v %v", c, err)
		}
		// Held: nobody else gets it until the lease ends.
		if c2, err := s.Claim(ctx, "w2", now.Add(30*time.Second), time.Minute); err != nil || c2 != nil {
			t.Fatalf("claimed a held event: %+v %v", c2, err)
		}
		// The holder died: after the lease, another worker takes it.
		c3, err := s.Claim(ctx, "w2", now.Add(2*time.Minute), time.Minute)
		if err != nil || c3 == nil || c3.Attempts != 2 {
			t.Fatalf("claim after the lease: %+v %v", c3, err)
		}
		// The first worker's late result is ignored; the new holder's counts.
		if err := s.Done(ctx, "e1", "w1", now); err != nil {
			t.Fatal(err)
		}
		if e := s.mustEvent(t, "e1"); e.Status != "processing" || e.Duplicates != 1 {
			t.Fatalf("after a stale Done: %+v", e)
		}
		retry := now.Add(3 * time.Minute)
		if err := s.Fail(ctx, "e1", "w2", errors.New("boom"), now.Add(2*time.Minute), &retry); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.Claim(ctx, "w3", now.Add(150*time.Second), time.Minute); c != nil {
			t.Fatalf("claimed before its retry time: %+v", c)
		}
		c4, err := s.Claim(ctx, "w3", retry, time.Minute)
		if err != nil || c4 == nil {
			t.Fatalf("claim at the retry time: %+v %v", c4, err)
		}
		if err := s.Done(ctx, "e1", "w3", retry); err != nil {
			t.Fatal(err)
		}
		if e := s.mustEvent(t, "e1"); e.Status != "done" || e.Attempts != 3 || e.LastError != "" {
			t.Fatalf("done: %+v", e)
		}
		if n, err := s.Purge(ctx, retry.Add(time.Second)); err != nil || n != 1 {
			t.Fatalf("purge: %d %v", n, err)
		}
	})
}

func (s *Store) mustEvent(t *testing.T, id string) EventState {
	t.Helper()
	evs, err := s.Events(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.WebhookActionID == id {
			return e
		}
	}
	t.Fatalf("no event %s", id)
	return EventState{}
}

type recorder struct {
	mu   sync.Mutex
	runs map[string]int
	fail int
	done chan string
}

func (r *recorder) Run(ctx context.Context, ev *webhooks.Event, body []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs[ev.WebhookActionID]++
	if r.fail > 0 {
		r.fail--
		return errors.New("not yet")
	}
	r.done <- ev.WebhookActionID
	return nil
}

func TestProcessorAcknowledgesThenProcessesOnce(t *testing.T) {
	stores(t, func(t *testing.T, s *Store) {
		rec := &recorder{runs: map[string]int{}, fail: 1, done: make(chan string, 10)}
		p := New(s, rec, Config{Workers: 2, RetryBase: 10 * time.Millisecond, Poll: 10 * time.Millisecond})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go p.Run(ctx)
		h := webhooks.Middleware("k", p)
		post := func(id string) string {
			_, body := event(id)
			r := httptest.NewRequest("POST", "/", strings.NewReader(string(body)))
			r.Header.Set(webhooks.SignatureHeader, webhooks.Sign("k", body))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			return w.Body.String()
		}
		if b := post("a"); !strings.Contains(b, `"duplicate":false`) {
			t.Fatal(b)
		}
		if b := post("a"); !strings.Contains(b, `"duplicate":true`) {
			t.Fatal(b)
		}
		select {
		case id := <-rec.done:
			if id != "a" {
				t.Fatal(id)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("not processed")
		}
		cancel()
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if rec.runs["a"] != 2 { // one failure, one success
			t.Fatalf("runs %v", rec.runs)
		}
	})
}
