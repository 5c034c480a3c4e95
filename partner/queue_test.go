package partner

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/jobqueue"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
	"github.com/ashlarhq/ashlar/webhook"
)

// results records what handlers saw, by call id.
type results struct {
	mu     sync.Mutex
	result map[string][]int    // statuses Result judged
	ended  map[string][]string // "state: reason"
}

func newResults() *results {
	return &results{result: map[string][]int{}, ended: map[string][]string{}}
}

func (r *results) handler() Handler {
	return Handler{
		Result: func(ctx context.Context, tx *store.Tx, c *Call, resp *Response) (Decision, error) {
			r.mu.Lock()
			r.result[c.ID] = append(r.result[c.ID], resp.Status)
			r.mu.Unlock()
			return Classify(resp), nil
		},
		Ended: func(ctx context.Context, tx *store.Tx, c *Call, state, reason string) error {
			r.mu.Lock()
			r.ended[c.ID] = append(r.ended[c.ID], state+": "+reason)
			r.mu.Unlock()
			return nil
		},
	}
}

func (r *results) get(id string) ([]int, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.result[id]...), append([]string(nil), r.ended[id]...)
}

// script is a partner answering each path per request number.
func script(t *testing.T, answer func(path string, n int) int) (*httptest.Server, *sync.Map) {
	var counts sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, _ := counts.LoadOrStore(r.URL.Path, new(atomic.Int64))
		n := int(v.(*atomic.Int64).Add(1))
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(answer(r.URL.Path, n))
		w.Write([]byte(`{"success":true,"results":{}}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &counts
}

func enqueue(t *testing.T, db *store.DB, c NewCall) string {
	t.Helper()
	var id string
	err := db.Write(context.Background(), func(tx *store.Tx) error {
		var err error
		id, _, err = Enqueue(context.Background(), tx, c)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func waitState(t *testing.T, db *store.DB, org, id, state string) *Call {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := Get(context.Background(), db, org, id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status == state {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("call %s stayed %s (want %s): %+v", id, c.Status, state, c)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func startWorker(t *testing.T, db *store.DB, resolve Resolver, maxAttempts int, name string) *jobqueue.Queue {
	return startWorkers(t, db, resolve, maxAttempts, name, 4, 4)
}

// startWorkers runs a job queue with the call kind, as `ashlar serve` does.
func startWorkers(t *testing.T, db *store.DB, resolve Resolver, maxAttempts int, name string, workers, perPartner int) *jobqueue.Queue {
	q := jobqueue.New(db, jobqueue.Config{Worker: name, Poll: 50 * time.Millisecond})
	w, err := NewWorker(q, NewClient(ClientConfig{AllowPrivate: true, Timeout: time.Second}), WorkerConfig{
		Workers: workers, PerPartner: perPartner, Lease: 2 * time.Second,
		Schedule: webhook.Schedule{Base: 10 * time.Millisecond, MaxAttempts: maxAttempts, Jitter: -1}, Resolver: resolve})
	if err != nil {
		t.Fatal(err)
	}
	q.Start()
	t.Cleanup(func() {
		q.Stop(context.Background())
		w.Close()
	})
	return q
}

func TestQueueAndWorker(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		org := ashby.NewID()
		res := newResults()
		method := "test." + strings.ReplaceAll(t.Name(), "/", ".")
		Handle(method, res.handler())
		srv, counts := script(t, func(path string, n int) int {
			switch {
			case strings.HasPrefix(path, "/flaky/"):
				if n <= 2 {
					return 503
				}
				return 200
			case strings.HasPrefix(path, "/down/"):
				return 500
			case strings.HasPrefix(path, "/gone/"):
				return 404
			}
			return 200
		})
		disabled := map[string]bool{"off": true}
		resolve := func(ctx context.Context, q store.Q, o, integration string) (Target, error) {
			if o != org {
				return Target{}, fmt.Errorf("resolver asked for organization %s", o)
			}
			if disabled[integration] {
				return Target{Disabled: "the integration is disabled"}, nil
			}
			return Target{BaseURL: srv.URL + "/" + integration, Key: "k"}, nil
		}

		// Dedupe: one call per key; the idempotency key defaults to the id.
		first := enqueue(t, db, NewCall{OrgID: org, IntegrationID: "flaky", Method: method, SubjectID: "s1", Dedupe: "d1", Body: []byte(`{"a":1}`)})
		var again string
		var created bool
		db.Write(ctx, func(tx *store.Tx) error {
			again, created, _ = Enqueue(ctx, tx, NewCall{OrgID: org, IntegrationID: "flaky", Method: method, Dedupe: "d1"})
			return nil
		})
		if again != first || created {
			t.Fatalf("dedupe: %s %v, want %s", again, created, first)
		}
		down := enqueue(t, db, NewCall{OrgID: org, IntegrationID: "down", Method: method, IdempotencyKey: "idem"})
		gone := enqueue(t, db, NewCall{OrgID: org, IntegrationID: "gone", Method: method})
		off := enqueue(t, db, NewCall{OrgID: org, IntegrationID: "off", Method: method})
		unknown := enqueue(t, db, NewCall{OrgID: org, IntegrationID: "flaky", Method: "test.nobody"})

		// A call never attempted can be cancelled unsent.
		unsent := enqueue(t, db, NewCall{OrgID: org, IntegrationID: "ok", Method: method, Dedupe: "unsent", NotBefore: time.Now().Add(time.Hour)})
		var dropped bool
		db.Write(ctx, func(tx *store.Tx) error { dropped, _ = CancelUnsent(ctx, tx, org, "unsent", "test"); return nil })
		if !dropped {
			t.Fatal("an unattempted call was not cancelled")
		}

		startWorker(t, db, resolve, 3, "w1")
		c := waitState(t, db, org, first, StateSucceeded)
		if c.AttemptCount != 3 || len(c.Attempts) != 3 || c.Attempts[0].Outcome != OutcomeHTTPError || c.Attempts[0].StatusCode != 503 ||
			c.Attempts[2].Outcome != OutcomeSuccess || c.Attempts[2].Worker != "w1" || c.IdempotencyKey != first || string(c.Request) != `{"a":1}` ||
			!strings.HasSuffix(c.Attempts[0].URL, "/flaky/"+method) || c.LastError != "" {
			t.Fatalf("flaky call: %+v", c)
		}
		if st, _ := res.get(first); len(st) != 3 {
			t.Fatalf("handler saw %v", st)
		}
		c = waitState(t, db, org, down, StateFailed)
		if _, ended := res.get(down); c.AttemptCount != 3 || len(ended) != 1 || !strings.Contains(ended[0], "gave up after 3 attempts") || c.IdempotencyKey != "idem" {
			t.Fatalf("down: %+v, ended %v", c, ended)
		}
		c = waitState(t, db, org, gone, StateFailed)
		if _, ended := res.get(gone); c.AttemptCount != 1 || len(ended) != 0 || !strings.Contains(c.LastError, "404") {
			t.Fatalf("gone: %+v ended %v", c, ended)
		}
		c = waitState(t, db, org, off, StateCancelled)
		if _, ended := res.get(off); c.AttemptCount != 0 || len(ended) != 1 || ended[0] != "cancelled: the integration is disabled" {
			t.Fatalf("disabled: %+v ended %v", c, ended)
		}
		if c = waitState(t, db, org, unknown, StateFailed); !strings.Contains(c.LastError, "no handler") {
			t.Fatalf("unknown method: %+v", c)
		}
		if c := waitState(t, db, org, unsent, StateCancelled); c.AttemptCount != 0 {
			t.Fatalf("the unsent call was attempted: %+v", c)
		}
		if v, ok := counts.Load("/ok/" + method); ok && v.(*atomic.Int64).Load() != 0 {
			t.Fatal("a cancelled call reached the partner")
		}
		// After an attempt, CancelUnsent leaves a call alone.
		db.Write(ctx, func(tx *store.Tx) error { dropped, _ = CancelUnsent(ctx, tx, org, "d1", "test"); return nil })
		if dropped {
			t.Fatal("CancelUnsent cancelled an attempted call")
		}

		// A call whose worker died: its lease expires; the next claim
		// records the lost attempt and makes another.
		lost := enqueue(t, db, NewCall{OrgID: org, IntegrationID: "ok", Method: method, NotBefore: time.Now().Add(time.Hour)})
		past := store.Millis(time.Now().Add(-time.Second))
		if _, err := db.ExecContext(ctx, `UPDATE jobs SET lease_owner = 'dead-worker', lease_until = $2, attempts = 1, run_at = $2 WHERE id = $1`, lost, past); err != nil {
			t.Fatal(err)
		}
		c = waitState(t, db, org, lost, StateSucceeded)
		if len(c.Attempts) != 2 || c.Attempts[0].Outcome != OutcomeAbandoned || c.Attempts[0].Worker != "dead-worker" || c.Attempts[1].Outcome != OutcomeSuccess {
			t.Fatalf("recovered call: %+v", c)
		}

		// Listing: newest first, paged, scoped to the organization.
		all, next, err := List(ctx, db, org, Filter{Limit: 3})
		if err != nil || len(all) != 3 || next == "" || all[0].ID != lost {
			t.Fatalf("page 1: %d %q %v", len(all), next, err)
		}
		rest, next2, err := List(ctx, db, org, Filter{Limit: 100, Cursor: next})
		if err != nil || len(rest) != 4 || next2 != "" {
			t.Fatalf("page 2: %d %q %v", len(rest), next2, err)
		}
		if _, _, err := List(ctx, db, org, Filter{Cursor: "!!"}); !errors.Is(err, ErrBadCursor) {
			t.Fatalf("bad cursor: %v", err)
		}
		if other, _, _ := List(ctx, db, ashby.NewID(), Filter{}); len(other) != 0 {
			t.Fatal("another organization sees the calls")
		}
		if byS, _, _ := List(ctx, db, org, Filter{SubjectID: "s1"}); len(byS) != 1 || byS[0].ID != first {
			t.Fatalf("by subject: %+v", byS)
		}

		// Redaction and retention.
		db.Write(ctx, func(tx *store.Tx) error { return Redact(ctx, tx, org, []string{"s1"}) })
		if c, _ := Get(ctx, db, org, first); string(c.Request) != `{"redacted":true}` || c.Attempts[2].Response != "" {
			t.Fatalf("redacted: %s %+v", c.Request, c.Attempts)
		}
		n, err := DeleteFinished(ctx, db, time.Now().Add(time.Minute))
		if err != nil || n != 7 {
			t.Fatalf("deleted %d: %v", n, err)
		}
		var left int
		db.QueryRowContext(ctx, `SELECT COUNT(*) FROM job_attempts a WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = a.job_id)`).Scan(&left)
		if left != 0 {
			t.Fatalf("%d attempts outlived their calls", left)
		}
	})
}

// Two workers on one database make each call once.
func TestTwoWorkersEachCallOnce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		org := ashby.NewID()
		method := "test.twice." + strings.ReplaceAll(t.Name(), "/", ".")
		var hits sync.Map
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			v, _ := hits.LoadOrStore(r.Header.Get("Idempotency-Key"), new(atomic.Int64))
			v.(*atomic.Int64).Add(1)
			time.Sleep(5 * time.Millisecond)
		}))
		defer srv.Close()
		res := newResults()
		Handle(method, res.handler())
		resolve := func(ctx context.Context, q store.Q, o, integration string) (Target, error) {
			return Target{BaseURL: srv.URL}, nil
		}
		const n = 60
		ids := make([]string, n)
		for i := range ids {
			ids[i] = enqueue(t, db, NewCall{OrgID: org, IntegrationID: fmt.Sprintf("p%d", i%3), Method: method})
		}
		startWorker(t, db, resolve, 5, "a")
		startWorker(t, db, resolve, 5, "b")
		for _, id := range ids {
			waitState(t, db, org, id, StateSucceeded)
		}
		count := 0
		hits.Range(func(k, v any) bool {
			count++
			if v.(*atomic.Int64).Load() != 1 {
				t.Errorf("call %v made %d times", k, v.(*atomic.Int64).Load())
			}
			return true
		})
		if count != n {
			t.Fatalf("%d calls made, want %d", count, n)
		}
	})
}

// A slow partner with a backlog holds at most PerPartner workers, and the
// calls to other partners flow meanwhile (its older backlog does not
// block the claim); the workers do not spin while they wait.
func TestSlowPartnerDoesNotStarveOthers(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		org := ashby.NewID()
		method := "test.starve." + strings.ReplaceAll(t.Name(), "/", ".")
		res := newResults()
		Handle(method, res.handler())
		release := make(chan struct{})
		var once sync.Once
		t.Cleanup(func() { once.Do(func() { close(release) }) })
		var slowNow, slowMax atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/slow/") {
				n := slowNow.Add(1)
				for m := slowMax.Load(); n > m && !slowMax.CompareAndSwap(m, n); m = slowMax.Load() {
				}
				select {
				case <-release:
				case <-r.Context().Done():
				}
				slowNow.Add(-1)
			}
			w.Write([]byte(`{"success":true,"results":{}}`))
		}))
		t.Cleanup(srv.Close)
		resolve := func(ctx context.Context, q store.Q, o, integration string) (Target, error) {
			return Target{BaseURL: srv.URL + "/" + integration}, nil
		}
		var slow, fast []string
		for range 12 {
			slow = append(slow, enqueue(t, db, NewCall{OrgID: org, IntegrationID: "slow", Method: method}))
		}
		for range 3 {
			fast = append(fast, enqueue(t, db, NewCall{OrgID: org, IntegrationID: "fast", Method: method}))
		}
		q := jobqueue.New(db, jobqueue.Config{Worker: "w", Poll: 50 * time.Millisecond})
		w, err := NewWorker(q, NewClient(ClientConfig{AllowPrivate: true, Timeout: 30 * time.Second}), WorkerConfig{
			Workers: 4, PerPartner: 2, Lease: 40 * time.Second, Resolver: resolve})
		if err != nil {
			t.Fatal(err)
		}
		q.Start()
		t.Cleanup(func() {
			once.Do(func() { close(release) })
			q.Stop(ctx)
			w.Close()
		})
		for _, id := range fast {
			waitState(t, db, org, id, StateSucceeded)
		}
		if m := slowMax.Load(); m > 2 {
			t.Fatalf("%d calls to the slow partner at once, want PerPartner=2", m)
		}
		// Waiting with the slow partner's due backlog: at most one claim per
		// poll (the old claim re-armed a 20 ms timer and ran 50 a second).
		s0 := q.Stats(Kind)
		deadline := time.Now().Add(30 * time.Second)
		for q.Stats(Kind).Polls < s0.Polls+5 {
			if time.Now().After(deadline) {
				t.Fatal("no polls")
			}
			time.Sleep(10 * time.Millisecond)
		}
		s1 := q.Stats(Kind)
		if claims, polls := s1.Claims-s0.Claims, s1.Polls-s0.Polls; claims > polls+1 {
			t.Fatalf("%d claims in %d polls while waiting for the slow partner", claims, polls)
		}
		once.Do(func() { close(release) })
		for _, id := range slow {
			waitState(t, db, org, id, StateSucceeded)
		}
		if m := slowMax.Load(); m != 2 {
			t.Fatalf("at most %d calls to the slow partner at once, want 2", m)
		}
		// Idle: polls find nothing due and run no claim transaction.
		s2 := q.Stats(Kind)
		deadline = time.Now().Add(30 * time.Second)
		for q.Stats(Kind).Polls < s2.Polls+5 {
			if time.Now().After(deadline) {
				t.Fatal("no polls")
			}
			time.Sleep(10 * time.Millisecond)
		}
		if s3 := q.Stats(Kind); s3.Claims-s2.Claims > 1 {
			t.Fatalf("%d claims in %d idle polls", s3.Claims-s2.Claims, s3.Polls-s2.Polls)
		}
	})
}
