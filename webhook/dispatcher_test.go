package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/jobqueue"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
)

// hit is one request a receiver got.
type hit struct {
	path   string
	body   []byte
	header http.Header
	at     time.Time
}

// receiver is a real HTTP server scripted per path: respond gets the
// request and how many requests that path has had (1 for the first).
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	hits []hit
	n    map[string]int
}

func newReceiver(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, n int)) *receiver {
	rc := &receiver{n: map[string]int{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.hits = append(rc.hits, hit{path: r.URL.Path, body: body, header: r.Header.Clone(), at: time.Now()})
		rc.n[r.URL.Path]++
		n := rc.n[r.URL.Path]
		rc.mu.Unlock()
		if respond != nil {
			respond(w, r, n)
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got(path string) []hit {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []hit
	for _, h := range rc.hits {
		if path == "" || h.path == path {
			out = append(out, h)
		}
	}
	return out
}

type env struct {
	t   *testing.T
	db  *store.DB
	org string
	q   *jobqueue.Queue
	d   *Dispatcher
	m   *Metrics
}

// testConfig is a shortened schedule: base 5 ms, so ten attempts take
// about five seconds.
func testConfig() Config {
	return Config{Workers: 8, PerSetting: 4, Timeout: 2 * time.Second, Lease: 5 * time.Second, Poll: 50 * time.Millisecond,
		Schedule: Schedule{Base: 5 * time.Millisecond}, AllowPrivate: true}
}

func newEnv(t *testing.T, db *store.DB, cfg Config) *env {
	ctx := context.Background()
	var org *store.Org
	if err := db.Write(ctx, func(tx *store.Tx) (err error) { org, err = tx.CreateOrg(ctx, storetest.Name("org"), ""); return }); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, org: org.ID}
	e.start(cfg)
	return e
}

// start runs a dispatcher and its job queue, as `ashlar serve` does.
func (e *env) start(cfg Config) {
	e.m = NewMetrics()
	cfg.Metrics = e.m
	e.q = jobqueue.New(e.db, jobqueue.Config{Poll: cfg.Poll})
	d, err := New(e.db, e.q, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.d = d
	e.db.OnEmit(d.Wake)
	d.Start()
	e.q.Start()
	q := e.q
	e.t.Cleanup(func() { e.stopBoth(d, q) })
}

// stop stops the dispatcher and its queue.
func (e *env) stop() { e.stopBoth(e.d, e.q) }

func (e *env) stopBoth(d *Dispatcher, q *jobqueue.Queue) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d.Stop(ctx)
	q.Stop(ctx)
	d.Close()
}

func (e *env) setting(org, typ, url, secret string, enabled, standard bool) string {
	e.t.Helper()
	ctx := context.Background()
	s := &ashby.WebhookSetting{ID: ashby.NewID(), Enabled: enabled, RequestURL: url, WebhookType: typ, StandardWebhooks: standard}
	if err := e.db.Write(ctx, func(tx *store.Tx) error {
		if err := Settings.Put(ctx, tx, org, s); err != nil {
			return err
		}
		return tx.SetMeta(ctx, org, Settings.Name, s.ID, SettingMeta{SecretToken: secret})
	}); err != nil {
		e.t.Fatal(err)
	}
	return s.ID
}

func (e *env) emit(org, action string, data any) string {
	e.t.Helper()
	ctx := context.Background()
	var id string
	if err := e.db.Write(ctx, func(tx *store.Tx) (err error) { id, err = tx.Emit(ctx, org, action, data); return }); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) deliveries(filter DeliveryFilter) []*Delivery {
	e.t.Helper()
	filter.Limit = 100
	ds, _, err := ListDeliveries(context.Background(), e.db, e.org, filter)
	if err != nil {
		e.t.Fatal(err)
	}
	return ds
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fanOutEvent fans events out until the event's deliveries exist. On
// PostgreSQL an event waits behind the horizon while any transaction
// that began before it commits runs, and the horizon is the whole
// server's: other packages' tests running at the same time hold it back.
func (e *env) fanOutEvent(ctx context.Context, eventID string) {
	e.t.Helper()
	waitFor(e.t, "fan-out of event "+eventID, func() bool {
		if _, _, _, err := e.d.fanOut(ctx); err != nil {
			e.t.Fatal(err)
		}
		var n int
		if err := e.db.QueryRowContext(ctx, `SELECT count(*) FROM jobs WHERE kind = $1 AND subject = $2`, Kind, eventID).Scan(&n); err != nil {
			e.t.Fatal(err)
		}
		return n > 0
	})
}

func (e *env) waitState(eventID string, n int, states ...string) []*Delivery {
	e.t.Helper()
	var ds []*Delivery
	waitFor(e.t, fmt.Sprintf("%d deliveries of %s to reach %v", n, eventID, states), func() bool {
		ds = e.deliveries(DeliveryFilter{WebhookActionID: eventID})
		if len(ds) != n {
			return false
		}
		for _, d := range ds {
			ok := false
			for _, s := range states {
				ok = ok || d.Status == s
			}
			if !ok {
				return false
			}
		}
		return true
	})
	return ds
}

func TestDeliverySignedExactBytes(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) { w.Write([]byte("thanks")) })
		e := newEnv(t, db, testConfig())
		secret := "0c2f9463f87641919f8106a2c49d7a57"
		e.setting(e.org, "jobCreate", rc.URL+"/hook", secret, true, true)
		data := map[string]any{"job": map[string]any{"id": ashby.NewID(), "title": "Zoë's <job> & \u2028 \"quotes\""}}
		id := e.emit(e.org, "jobCreate", data)
		ds := e.waitState(id, 1, StateSucceeded)

		hits := rc.got("/hook")
		if len(hits) != 1 {
			t.Fatalf("%d requests, want 1", len(hits))
		}
		h := hits[0]
		var payload string
		if err := db.QueryRowContext(context.Background(), `SELECT payload FROM events WHERE id = $1`, id).Scan(&payload); err != nil {
			t.Fatal(err)
		}
		if want := Body(id, "jobCreate", []byte(payload)); !bytes.Equal(h.body, want) {
			t.Fatalf("body\n got %s\nwant %s", h.body, want)
		}
		var env struct {
			WebhookActionID string          `json:"webhookActionId"`
			Action          string          `json:"action"`
			Data            json.RawMessage `json:"data"`
		}
		dec := json.NewDecoder(bytes.NewReader(h.body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&env); err != nil || env.WebhookActionID != id || env.Action != "jobCreate" {
			t.Fatalf("envelope %+v: %v", env, err)
		}
		// The signature is over the raw bytes received.
		if !Verify(secret, h.body, h.header.Get("Ashby-Signature")) {
			t.Fatalf("Ashby-Signature %q does not verify", h.header.Get("Ashby-Signature"))
		}
		if Verify("wrong", h.body, h.header.Get("Ashby-Signature")) || Verify(secret, append(h.body, ' '), h.header.Get("Ashby-Signature")) {
			t.Fatal("signature verifies with a wrong secret or body")
		}
		if ct := h.header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("Content-Type %q", ct)
		}
		// Standard Webhooks headers, checked as a Standard Webhooks library does.
		ts, _ := strconv.ParseInt(h.header.Get("webhook-timestamp"), 10, 64)
		if h.header.Get("webhook-id") != id || time.Since(time.Unix(ts, 0)) > time.Minute ||
			h.header.Get("webhook-signature") != StandardSign(secret, id, ts, h.body) {
			t.Fatalf("standard webhooks headers: %v", h.header)
		}
		d := ds[0]
		if d.AttemptCount != 1 || len(d.Attempts) != 1 || d.Trigger != TriggerEvent || d.CompletedAt == nil {
			t.Fatalf("delivery %+v", d)
		}
		a := d.Attempts[0]
		if a.StatusCode != 200 || a.Outcome != OutcomeSuccess || a.Response != "thanks" || a.Error != "" || a.Worker != e.q.Worker() || a.URL != rc.URL+"/hook" {
			t.Fatalf("attempt %+v", a)
		}
		// Metrics count what was recorded, just after the record commits.
		waitFor(t, "success attempts metric", func() bool {
			return testutil.ToFloat64(e.m.attempts.WithLabelValues(OutcomeSuccess)) == 1
		})
	})
}

// A receiver that always fails gets exactly MaxAttempts attempts, spaced
// by the (shortened) schedule, all with the same bytes and so the same
// webhookActionId.
func TestRetryScheduleAndStableActionID(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) { w.WriteHeader(500) })
		cfg := testConfig()
		cfg.Poll = 30 * time.Second // only the retry timer may wake the claimer
		e := newEnv(t, db, cfg)
		e.setting(e.org, "jobUpdate", rc.URL+"/fail", "s", true, false)
		id := e.emit(e.org, "jobUpdate", map[string]any{"job": map[string]string{"id": "j1"}})
		ds := e.waitState(id, 1, StateFailed)
		hits := rc.got("/fail")
		if len(hits) != DefaultMaxAttempts {
			t.Fatalf("%d attempts, want %d", len(hits), DefaultMaxAttempts)
		}
		s := cfg.Schedule
		for i := 1; i < len(hits); i++ {
			if !bytes.Equal(hits[i].body, hits[0].body) || hits[i].header.Get("Ashby-Signature") != hits[0].header.Get("Ashby-Signature") {
				t.Fatalf("attempt %d sent different bytes", i+1)
			}
			gap := hits[i].at.Sub(hits[i-1].at)
			lo := s.Backoff(i)
			hi := lo*12/10 + 750*time.Millisecond // jitter plus scheduling slack on a busy machine
			if gap < lo || gap > hi {
				t.Errorf("gap before attempt %d = %v, want within [%v, %v]", i+1, gap, lo, hi)
			}
		}
		var env struct{ WebhookActionID string }
		json.Unmarshal(hits[0].body, &env)
		if env.WebhookActionID != id {
			t.Fatalf("webhookActionId %s, want the event id %s", env.WebhookActionID, id)
		}
		d := ds[0]
		if d.AttemptCount != DefaultMaxAttempts || len(d.Attempts) != DefaultMaxAttempts || !strings.Contains(d.LastError, "gave up after 10 attempts") {
			t.Fatalf("delivery: %d attempts, %d recorded, error %q", d.AttemptCount, len(d.Attempts), d.LastError)
		}
		for i, a := range d.Attempts {
			if a.Attempt != i+1 || a.StatusCode != 500 || a.Outcome != OutcomeHTTPError {
				t.Fatalf("attempt %d: %+v", i+1, a)
			}
		}
	})
}

func TestNonRetryableStatusesStopAtOnce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
			code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
			if code == 503 && n > 1 {
				code = 200 // recovers: retried, then delivered
			}
			w.WriteHeader(code)
		})
		e := newEnv(t, db, testConfig())
		codes := []int{401, 403, 404, 405, 410, 503}
		for _, c := range codes {
			e.setting(e.org, "candidateHire", fmt.Sprintf("%s/%d", rc.URL, c), "s", true, false)
		}
		id := e.emit(e.org, "candidateHire", map[string]any{"application": map[string]string{"id": "a"}})
		ds := e.waitState(id, len(codes), StateFailed, StateSucceeded)
		for _, d := range ds {
			path := strings.TrimPrefix(d.Attempts[0].URL, rc.URL)
			want := 1
			if path == "/503" {
				want = 2
				if d.Status != StateSucceeded || d.Attempts[0].Outcome != OutcomeHTTPError {
					t.Fatalf("503 then 200: %+v", d)
				}
			} else if d.Status != StateFailed || d.Attempts[0].Outcome != OutcomeRejected {
				t.Fatalf("%s: %+v", path, d)
			}
			if len(rc.got(path)) != want || d.AttemptCount != want {
				t.Fatalf("%s: %d requests, %d attempts, want %d", path, len(rc.got(path)), d.AttemptCount, want)
			}
		}
	})
}

func TestHangingAndClosingReceiversAreRetried(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
			switch r.URL.Path {
			case "/hang":
				<-r.Context().Done() // never answers; the attempt times out
			case "/close":
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close() // the connection closes without a response
				}
			}
		})
		cfg := testConfig()
		cfg.Timeout = 300 * time.Millisecond
		cfg.Schedule.MaxAttempts = 3
		e := newEnv(t, db, cfg)
		e.setting(e.org, "offerCreate", rc.URL+"/hang", "s", true, false)
		e.setting(e.org, "offerCreate", rc.URL+"/close", "s", true, false)
		id := e.emit(e.org, "offerCreate", map[string]any{"offer": map[string]string{"id": "o"}})
		ds := e.waitState(id, 2, StateFailed)
		for _, d := range ds {
			path := strings.TrimPrefix(d.Attempts[0].URL, rc.URL)
			want := map[string]string{"/hang": OutcomeTimeout, "/close": OutcomeNetwork}[path]
			if len(d.Attempts) != 3 || len(rc.got(path)) != 3 {
				t.Fatalf("%s: %d attempts recorded, %d requests, want 3", path, len(d.Attempts), len(rc.got(path)))
			}
			for _, a := range d.Attempts {
				if a.Outcome != want || a.StatusCode != 0 || a.Error == "" {
					t.Fatalf("%s attempt %+v, want outcome %s", path, a, want)
				}
				if path == "/hang" && (a.LatencyMs < 300 || a.LatencyMs > 5000) {
					t.Fatalf("timed-out attempt latency %d ms", a.LatencyMs)
				}
			}
		}
	})
}

// A receiver that hangs holds at most PerSetting workers; the others keep
// delivering to other settings meanwhile.
func TestSlowReceiverDoesNotStallOthers(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		release := make(chan struct{})
		var once sync.Once
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if r.URL.Path == "/slow" {
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}
		})
		t.Cleanup(func() { once.Do(func() { close(release) }) })
		cfg := testConfig()
		cfg.Timeout, cfg.Lease = 30*time.Second, 40*time.Second // the lease outlasts an attempt
		e := newEnv(t, db, cfg)
		e.setting(e.org, "applicationSubmit", rc.URL+"/slow", "s", true, false)
		e.setting(e.org, "applicationSubmit", rc.URL+"/fast", "s", true, false)
		const n = 20
		for i := range n {
			e.emit(e.org, "applicationSubmit", map[string]any{"application": map[string]int{"n": i}})
		}
		waitFor(t, "the fast receiver to get every event", func() bool { return len(rc.got("/fast")) == n })
		if got := len(rc.got("/slow")); got != cfg.PerSetting {
			t.Fatalf("slow receiver holds %d attempts, want PerSetting=%d", got, cfg.PerSetting)
		}
		once.Do(func() { close(release) })
		waitFor(t, "the slow receiver to get every event", func() bool { return len(rc.got("/slow")) == n })
		waitFor(t, "every delivery to succeed", func() bool {
			return len(e.deliveries(DeliveryFilter{Status: StateSucceeded})) == 2*n
		})
	})
}

func TestFanOutRules(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		rc := newReceiver(t, nil)
		e := newEnv(t, db, testConfig())
		ctx := context.Background()
		var other *store.Org
		if err := db.Write(ctx, func(tx *store.Tx) (err error) { other, err = tx.CreateOrg(ctx, storetest.Name("other"), ""); return }); err != nil {
			t.Fatal(err)
		}
		a := e.setting(e.org, "jobCreate", rc.URL+"/a", "s", true, false)
		b := e.setting(e.org, "jobCreate", rc.URL+"/b", "s", true, false)
		e.setting(e.org, "jobCreate", rc.URL+"/disabled", "s", false, false)
		e.setting(e.org, "jobUpdate", rc.URL+"/other-type", "s", true, false)
		e.setting(other.ID, "jobCreate", rc.URL+"/other-org", "s", true, false)
		id := e.emit(e.org, "jobCreate", map[string]any{"job": map[string]string{"id": "j"}})
		ds := e.waitState(id, 2, StateSucceeded)
		got := map[string]bool{ds[0].WebhookID: true, ds[1].WebhookID: true}
		if !got[a] || !got[b] {
			t.Fatalf("delivered to %v, want %s and %s", got, a, b)
		}
		for _, p := range []string{"/a", "/b"} {
			hs := rc.got(p)
			if len(hs) != 1 {
				t.Fatalf("%s got %d", p, len(hs))
			}
			var env struct{ WebhookActionID string }
			json.Unmarshal(hs[0].body, &env)
			if env.WebhookActionID != id {
				t.Fatalf("%s: webhookActionId %s, want %s (the same for every setting)", p, env.WebhookActionID, id)
			}
		}
		// Everything else is fanned out by now (the cursor is past the event).
		waitFor(t, "the fan-out to finish", func() bool {
			st, err := ReadQueue(ctx, db)
			return err == nil && st.Unfanned == 0 && st.Pending == 0
		})
		for _, p := range []string{"/disabled", "/other-type", "/other-org"} {
			if n := len(rc.got(p)); n != 0 {
				t.Fatalf("%s got %d requests", p, n)
			}
		}
		var n int
		db.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE kind = $1`, Kind).Scan(&n)
		if n != 2 {
			t.Fatalf("%d deliveries, want 2", n)
		}
	})
}

// A worker that died mid-attempt leaves its lease; once it expires,
// another worker claims the delivery, records the lost attempt and sends
// it again.
func TestExpiredLeaseIsRecovered(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		rc := newReceiver(t, nil)
		ctx := context.Background()
		cfg := testConfig()
		cfg.Workers = 1
		e := newEnv(t, db, cfg)
		e.stop() // no dispatcher while the "dead" worker holds the lease
		e.setting(e.org, "pushToHRIS", rc.URL+"/r", "s", true, false)
		id := e.emit(e.org, "pushToHRIS", map[string]any{"application": map[string]string{"id": "a"}})
		// Fan out without claiming, then play a worker that claimed the
		// delivery and died: its lease runs for 300 ms more.
		e.fanOutEvent(ctx, id)
		until := store.Millis(time.Now().Add(300 * time.Millisecond))
		res, err := db.ExecContext(ctx, `UPDATE jobs SET lease_owner = 'dead-worker', lease_until = $1, attempts = 1 WHERE kind = $2 AND subject = $3`, until, Kind, id)
		if n, _ := res.RowsAffected(); err != nil || n != 1 {
			t.Fatalf("lease: %v, %d rows", err, n)
		}
		e.start(cfg)
		ds := e.waitState(id, 1, StateSucceeded)
		if len(rc.got("/r")) != 1 {
			t.Fatalf("%d requests", len(rc.got("/r")))
		}
		if time.Since(time.UnixMilli(until)) < 0 {
			t.Fatal("delivered before the lease expired")
		}
		at := ds[0].Attempts
		if len(at) != 2 || at[0].Outcome != OutcomeAbandoned || at[0].Worker != "dead-worker" || at[1].Outcome != OutcomeSuccess || at[1].Attempt != 2 {
			t.Fatalf("attempts %+v", at)
		}
	})
}

// A worker whose lease was taken over (it stalled past its lease, say)
// cannot change the delivery: its attempt only joins the history.
func TestStaleWorkerIsFenced(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		release := make(chan struct{})
		var once sync.Once
		t.Cleanup(func() { once.Do(func() { close(release) }) })
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		cfg := testConfig()
		cfg.Timeout, cfg.Lease = 20*time.Second, 30*time.Second
		e := newEnv(t, db, cfg)
		e.setting(e.org, "jobCreate", rc.URL+"/stall", "s", true, false)
		id := e.emit(e.org, "jobCreate", map[string]any{})
		waitFor(t, "the attempt to reach the receiver", func() bool { return len(rc.got("/stall")) == 1 })
		// Another worker takes the delivery over meanwhile.
		if _, err := db.ExecContext(ctx, `UPDATE jobs SET lease_owner = 'new-owner', lease_until = $1, attempts = 2 WHERE kind = $2 AND subject = $3`,
			store.Millis(time.Now().Add(time.Minute)), Kind, id); err != nil {
			t.Fatal(err)
		}
		once.Do(func() { close(release) }) // the stalled attempt succeeds …
		var d *Delivery
		waitFor(t, "the stalled attempt's record", func() bool {
			ds := e.deliveries(DeliveryFilter{WebhookActionID: id})
			d = ds[0]
			return len(d.Attempts) == 1
		})
		// … but the delivery stays the new owner's.
		if d.Status != StatePending || d.AttemptCount != 2 || d.Attempts[0].Outcome != OutcomeSuccess {
			t.Fatalf("stale worker settled the delivery: %+v", d)
		}
	})
}

// Two dispatchers (as two processes would) on one database make every
// attempt exactly once.
func TestConcurrentDispatchersAttemptOnce(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine.String(), func(t *testing.T) {
			ctx := context.Background()
			dsn := storetest.DSN(t, engine)
			open := func() *store.DB {
				db, err := store.Open(ctx, dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				if _, err := db.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				return db
			}
			rc := newReceiver(t, nil)
			e := newEnv(t, open(), testConfig())
			second := &env{t: t, db: open(), org: e.org}
			second.start(testConfig())
			e.setting(e.org, "applicationUpdate", rc.URL+"/x", "s", true, false)
			const n = 300
			var wg sync.WaitGroup
			for w := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					db := []*store.DB{e.db, second.db}[w]
					for i := range n / 2 {
						if err := db.Write(ctx, func(tx *store.Tx) error {
							_, err := tx.Emit(ctx, e.org, "applicationUpdate", map[string]any{"n": i, "w": w})
							return err
						}); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			waitFor(t, "every event to be delivered", func() bool {
				return len(e.deliveries(DeliveryFilter{Status: StateSucceeded, Limit: 100})) == 100 && countState(t, e.db, StateSucceeded) == n
			})
			ids := map[string]int{}
			for _, h := range rc.got("/x") {
				var env struct{ WebhookActionID string }
				json.Unmarshal(h.body, &env)
				ids[env.WebhookActionID]++
			}
			if len(ids) != n || len(rc.got("/x")) != n {
				t.Fatalf("%d requests for %d distinct events, want %d each", len(rc.got("/x")), len(ids), n)
			}
			var attempts, maxAttempt, workers int
			e.db.QueryRowContext(ctx, `SELECT COUNT(*), MAX(attempt), COUNT(DISTINCT worker) FROM job_attempts`).Scan(&attempts, &maxAttempt, &workers)
			if attempts != n || maxAttempt != 1 {
				t.Fatalf("%d attempts (highest number %d), want %d first attempts", attempts, maxAttempt, n)
			}
			if workers != 2 {
				t.Logf("only %d of 2 dispatchers made attempts", workers)
			}
		})
	}
}

func countState(t *testing.T, db *store.DB, state string) int {
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM jobs WHERE kind = $1 AND state = $2`, Kind, state).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// On PostgreSQL an event whose transaction started first but commits last
// is still delivered: the fan-out waits for the horizon instead of moving
// its cursor past it.
func TestFanOutWaitsForEarlierTransaction(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, store.Postgres)
	rc := newReceiver(t, nil)
	e := newEnv(t, db, testConfig())
	e.setting(e.org, "jobUpdate", rc.URL+"/h", "s", true, false)
	hold, held := make(chan struct{}), make(chan string)
	done := make(chan error)
	go func() {
		done <- db.Write(ctx, func(tx *store.Tx) error {
			id, err := tx.Emit(ctx, e.org, "jobUpdate", map[string]any{"first": true})
			if err != nil {
				return err
			}
			held <- id
			<-hold
			return nil
		})
	}()
	early := <-held
	late := e.emit(e.org, "jobUpdate", map[string]any{"first": false})
	// Nothing may be delivered while the early transaction is open. First
	// the positive markers: a fan-out pass run now finds the late event
	// waiting behind the open transaction, and a ping queued now (pings
	// skip the fan-out) is delivered, so the workers run …
	if _, _, behind, err := e.d.fanOut(ctx); err != nil || !behind {
		t.Fatalf("fan-out past an open transaction: behind=%v, %v", behind, err)
	}
	var set string
	db.QueryRowContext(ctx, `SELECT id FROM docs WHERE org_id = $1 AND kind = $2`, e.org, Settings.Name).Scan(&set)
	var ping *Delivery
	if err := db.Write(ctx, func(tx *store.Tx) (err error) { ping, err = EnqueuePing(ctx, tx, e.org, set); return }); err != nil {
		t.Fatal(err)
	}
	e.waitState(ping.WebhookActionID, 1, StateSucceeded)
	// … then the absence: neither event has a delivery, and the receiver
	// got the ping alone.
	if ds := e.deliveries(DeliveryFilter{WebhookActionID: late}); len(ds) != 0 {
		t.Fatalf("the late event was fanned out past an open transaction's event: %+v", ds)
	}
	if hs := rc.got("/h"); len(hs) != 1 || !strings.Contains(string(hs[0].body), `"action":"ping"`) {
		t.Fatalf("%d requests went out past an open transaction's event", len(hs)-1)
	}
	close(hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	e.waitState(early, 1, StateSucceeded) // … and after it commits, both are
	e.waitState(late, 1, StateSucceeded)
}

func TestBlockedDestination(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		rc := newReceiver(t, nil)
		cfg := testConfig()
		cfg.AllowPrivate = false
		e := newEnv(t, db, cfg)
		e.setting(e.org, "jobCreate", rc.URL+"/private", "s", true, false)
		id := e.emit(e.org, "jobCreate", map[string]any{})
		ds := e.waitState(id, 1, StateFailed)
		a := ds[0].Attempts
		if len(a) != 1 || a[0].Outcome != OutcomeBlocked || !strings.Contains(a[0].Error, "loopback") {
			t.Fatalf("attempts %+v", a)
		}
		if n := len(rc.got("")); n != 0 {
			t.Fatalf("the private receiver got %d requests", n)
		}
	})
}

func TestPingRedeliverAndCancel(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if r.URL.Path == "/down" {
				w.WriteHeader(502)
			}
		})
		ctx := context.Background()
		cfg := testConfig()
		cfg.Schedule.Base = time.Hour // a failed delivery stays pending
		e := newEnv(t, db, cfg)
		up := e.setting(e.org, "surveySubmit", rc.URL+"/up", "tok", true, false)
		down := e.setting(e.org, "surveySubmit", rc.URL+"/down", "tok", true, false)
		var ping *Delivery
		if err := db.Write(ctx, func(tx *store.Tx) (err error) { ping, err = EnqueuePing(ctx, tx, e.org, up); return }); err != nil {
			t.Fatal(err)
		}
		e.waitState(ping.WebhookActionID, 1, StateSucceeded)
		want := `{"webhookActionId":"` + ping.WebhookActionID + `","action":"ping","data":{"webhookActionType":"ping"}}`
		if hs := rc.got("/up"); len(hs) != 1 || string(hs[0].body) != want || !Verify("tok", hs[0].body, hs[0].header.Get("Ashby-Signature")) {
			t.Fatalf("ping: %d requests %v", len(hs), hs)
		}
		id := e.emit(e.org, "surveySubmit", map[string]any{"surveySubmission": map[string]string{"id": "s"}})
		ds := e.waitState(id, 2, StateSucceeded, StatePending)
		var first *Delivery
		for _, d := range ds {
			if d.WebhookID == up {
				first = d
			}
		}
		waitFor(t, "the failing delivery's first attempt", func() bool { return len(rc.got("/down")) == 1 })
		var again []*Delivery
		if err := db.Write(ctx, func(tx *store.Tx) (err error) { again, err = Redeliver(ctx, tx, e.org, first.ID); return }); err != nil {
			t.Fatal(err)
		}
		if len(again) != 1 || again[0].WebhookActionID != id || again[0].Trigger != TriggerRedelivery || again[0].ID == first.ID {
			t.Fatalf("redelivery %+v", again)
		}
		waitFor(t, "the redelivery", func() bool { return len(rc.got("/up")) == 3 })
		if !bytes.Equal(rc.got("/up")[1].body, rc.got("/up")[2].body) {
			t.Fatal("a redelivery sent different bytes")
		}
		if err := db.Write(ctx, func(tx *store.Tx) error { return CancelSetting(ctx, tx, e.org, down, "deleted") }); err != nil {
			t.Fatal(err)
		}
		d := e.deliveries(DeliveryFilter{WebhookID: down})
		if len(d) != 1 || d[0].Status != StateCancelled || d[0].LastError != "deleted" {
			t.Fatalf("cancelled: %+v", d)
		}
		if _, err := GetDelivery(ctx, db, "another-org", first.ID); err != ErrDeliveryNotFound {
			t.Fatalf("delivery visible to another organization: %v", err)
		}
		var none []*Delivery
		err := db.Write(ctx, func(tx *store.Tx) (err error) { none, err = Redeliver(ctx, tx, "another-org", first.ID); return })
		if err != ErrDeliveryNotFound || none != nil {
			t.Fatalf("redeliver across organizations: %v", err)
		}
	})
}

func TestQueueMetricsAndPaging(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) { w.WriteHeader(500) })
		ctx := context.Background()
		cfg := testConfig()
		cfg.Schedule.Base = time.Hour
		e := newEnv(t, db, cfg)
		e.setting(e.org, "openingCreate", rc.URL+"/m", "s", true, false)
		for range 3 {
			e.emit(e.org, "openingCreate", map[string]any{})
		}
		waitFor(t, "three first attempts", func() bool { return len(rc.got("/m")) == 3 })
		waitFor(t, "three recorded attempts", func() bool {
			return testutil.ToFloat64(e.m.attempts.WithLabelValues(OutcomeHTTPError)) == 3
		})
		reg := prometheus.NewRegistry()
		if err := e.m.Register(reg); err != nil {
			t.Fatal(err)
		}
		reg.MustRegister(NewQueueCollector(db))
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		vals := map[string]float64{}
		for _, mf := range mfs {
			for _, m := range mf.Metric {
				if m.Gauge != nil {
					vals[mf.GetName()] = m.Gauge.GetValue()
				}
			}
		}
		if vals["ashlar_webhook_queue_depth"] != 3 || vals["ashlar_webhook_oldest_pending_event_age_seconds"] <= 0 || vals["ashlar_webhook_events_pending_fanout"] != 0 {
			t.Fatalf("queue metrics %v", vals)
		}
		p1, next, err := ListDeliveries(ctx, db, e.org, DeliveryFilter{Limit: 2})
		if err != nil || len(p1) != 2 || next == "" {
			t.Fatalf("page 1: %d %q %v", len(p1), next, err)
		}
		p2, next2, err := ListDeliveries(ctx, db, e.org, DeliveryFilter{Limit: 2, Cursor: next})
		if err != nil || len(p2) != 1 || next2 != "" || p2[0].ID == p1[1].ID {
			t.Fatalf("page 2: %d %q %v", len(p2), next2, err)
		}
		if _, _, err := ListDeliveries(ctx, db, e.org, DeliveryFilter{Cursor: "garbage!"}); err != ErrBadCursor {
			t.Fatalf("bad cursor: %v", err)
		}
		// Prune keeps pending deliveries and removes finished old ones.
		db.ExecContext(ctx, `UPDATE jobs SET state = 'failed', done_at = 1 WHERE seq = (SELECT MIN(seq) FROM jobs WHERE kind = $1)`, Kind)
		if n, err := Prune(ctx, db, time.Now()); err != nil || n != 1 {
			t.Fatalf("prune: %d %v", n, err)
		}
		var left, attempts int
		db.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE kind = $1`, Kind).Scan(&left)
		db.QueryRowContext(ctx, `SELECT COUNT(*) FROM job_attempts`).Scan(&attempts)
		if left != 2 || attempts != 2 {
			t.Fatalf("after prune: %d deliveries, %d attempts", left, attempts)
		}
	})
}

// A setting whose secret token cannot be read never gets an unsigned
// request: the attempt fails with a clear error and is retried, and once
// the secret is fixed the retry goes out signed.
func TestUnreadableSecretIsNotSentUnsigned(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rc := newReceiver(t, nil)
		cfg := testConfig()
		cfg.Schedule.Base = 100 * time.Millisecond
		e := newEnv(t, db, cfg)
		set := e.setting(e.org, "jobCreate", rc.URL+"/signed", "good-secret", true, false)
		if err := db.Write(ctx, func(tx *store.Tx) error {
			return tx.SetMeta(ctx, e.org, Settings.Name, set, json.RawMessage(`"not an object"`))
		}); err != nil {
			t.Fatal(err)
		}
		id := e.emit(e.org, "jobCreate", map[string]any{"job": map[string]string{"id": "j"}})
		var d *Delivery
		waitFor(t, "the failed attempt", func() bool {
			ds := e.deliveries(DeliveryFilter{WebhookActionID: id})
			if len(ds) == 1 && len(ds[0].Attempts) > 0 {
				d = ds[0]
			}
			return d != nil
		})
		a := d.Attempts[0]
		if a.Outcome != OutcomeUnsigned || !strings.Contains(a.Error, "secret token cannot be read") || !strings.Contains(a.Error, "never sent unsigned") ||
			a.StatusCode != 0 || d.Status != StatePending {
			t.Fatalf("delivery %+v, attempt %+v", d, a)
		}
		if n := len(rc.got("")); n != 0 {
			t.Fatalf("the receiver got %d requests without a usable secret", n)
		}
		waitFor(t, "the unsigned attempts metric", func() bool {
			return testutil.ToFloat64(e.m.attempts.WithLabelValues(OutcomeUnsigned)) >= 1
		})
		if err := db.Write(ctx, func(tx *store.Tx) error {
			return tx.SetMeta(ctx, e.org, Settings.Name, set, SettingMeta{SecretToken: "fixed"})
		}); err != nil {
			t.Fatal(err)
		}
		e.waitState(id, 1, StateSucceeded)
		hs := rc.got("/signed")
		if len(hs) != 1 || !Verify("fixed", hs[0].body, hs[0].header.Get(SignatureHeader)) {
			t.Fatalf("%d requests after the fix, signature %q", len(hs), hs[0].header.Get(SignatureHeader))
		}
	})
}
