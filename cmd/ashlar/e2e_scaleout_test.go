package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/ratelimit"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
	"github.com/ashlarhq/ashlar/testserver"
)

// cluster is several ashlar serve processes on one database; one may be
// down (killed) at a time.
type cluster struct {
	t    *testing.T
	mu   sync.Mutex
	srvs []*testserver.Server
	down int // index of the killed process, -1 if none
	key  string
}

// client returns a client of process i, or of the next live one.
func (c *cluster) client(i int) *client.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	i %= len(c.srvs)
	if i == c.down {
		i = (i + 1) % len(c.srvs)
	}
	cl := client.New(c.srvs[i].URL, c.key)
	cl.MaxRetries = 1
	cl.MinBackoff, cl.MaxBackoff = 20*time.Millisecond, 50*time.Millisecond
	return cl
}

func (c *cluster) kill(i int) {
	c.mu.Lock()
	c.down = i
	s := c.srvs[i]
	c.mu.Unlock()
	s.Kill()
}

func (c *cluster) restart(i int) {
	c.srvs[i].Restart() // a new port: clients made from now on use it
	c.mu.Lock()
	c.down = -1
	c.mu.Unlock()
}

// retryable tells a failure a client spreading its calls meets when a
// process dies under it: the connection, or a 5xx, or a request still
// running under its idempotency key.
func retryable(err error) bool {
	var e *client.Error
	if errors.As(err, &e) {
		return e.Status >= 500 || e.Code == "idempotency_key_in_progress"
	}
	return true // network: refused, reset, EOF
}

// callAnywhere makes a call on process start, failing over to the others
// with the same idempotency key (writes) until one answers.
func (c *cluster) callAnywhere(start int, endpoint string, req, out any, opts ...client.CallOption) error {
	var err error
	for attempt := 0; attempt < 300; attempt++ {
		if _, err = c.client(start+attempt).Call(context.Background(), endpoint, req, out, opts...); err == nil || !retryable(err) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// TestE2EScaleOutThreeProcesses: three ashlar serve processes on one
// PostgreSQL behave as one server to a client that spreads its calls over
// them, while one of them is killed with SIGKILL and restarted mid-run.
// Writes go to any process with an Idempotency-Key and fail over with it;
// a sync client walks with a cursor across processes, then follows its
// syncToken; a real receiver counts webhook attempts. Nothing is missed
// or duplicated, every write happens once, and no webhook attempt is
// made twice except the one a killed process may have had in flight
// (recorded as abandoned).
func TestE2EScaleOutThreeProcesses(t *testing.T) {
	t.Parallel()
	dsn := storetest.DSN(t, store.Postgres)
	cl := &cluster{t: t, down: -1}
	for range 3 {
		cl.srvs = append(cl.srvs, testserver.Start(t, store.Postgres, testserver.Options{DSN: dsn, Args: webhookServerArgs}))
	}
	slug, key := cl.srvs[0].NewOrg()
	cl.key = key
	rc := newHookReceiver(t)
	var d ashby.Department
	must(t, cl.client(0), "department.create", map[string]any{"name": "Scale"}, &d)
	var l ashby.Location
	must(t, cl.client(1), "location.create", map[string]any{"name": "Everywhere", "type": "Location"}, &l)
	must(t, cl.client(2), "webhook.create", map[string]any{"webhookType": "jobCreate", "requestUrl": rc.URL + "/jobs", "secretToken": "scale"}, nil)

	// Writers: three goroutines, each spreading creates and renames over
	// the processes. Past two thirds they wait for the restart.
	const n = 150
	var mu sync.Mutex
	acked := map[string]string{} // job id → title last acknowledged
	var done atomic.Int64
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 3 {
				if i >= 2*n/3 {
					<-gate
				}
				title := fmt.Sprintf("job %d", i)
				var j ashby.Job
				if err := cl.callAnywhere(i, "job.create", map[string]any{"title": title, "teamId": d.ID, "locationId": l.ID}, &j,
					client.WithIdempotencyKey(fmt.Sprintf("create-%d", i))); err != nil {
					t.Errorf("job.create %d: %v", i, err)
					return
				}
				mu.Lock()
				acked[j.ID] = title
				mu.Unlock()
				if i%3 == 0 {
					title += " renamed"
					if err := cl.callAnywhere(i+1, "job.update", map[string]any{"jobId": j.ID, "title": title}, nil,
						client.WithIdempotencyKey(fmt.Sprintf("rename-%d", i))); err != nil {
						t.Errorf("job.update %d: %v", i, err)
						return
					}
					mu.Lock()
					acked[j.ID] = title
					mu.Unlock()
				}
				done.Add(1)
			}
		}()
	}

	// The sync client: every page from the next process in turn.
	seen := map[string]string{}
	page := 0
	walk := func(token string) string {
		t.Helper()
		inWalk := map[string]bool{}
		req := map[string]any{"limit": 20, "status": allJobStatuses}
		if token != "" {
			req["syncToken"] = token
		}
		for {
			var p struct {
				Results           []ashby.Job `json:"results"`
				MoreDataAvailable bool        `json:"moreDataAvailable"`
				NextCursor        string      `json:"nextCursor"`
				SyncToken         string      `json:"syncToken"`
			}
			page++
			res, err := func() (*client.Response, error) {
				var res *client.Response
				var err error
				for attempt := 0; attempt < 300; attempt++ {
					if res, err = cl.client(page+attempt).Call(context.Background(), "job.list", req, nil); err == nil || !retryable(err) {
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				return res, err
			}()
			if err != nil {
				t.Fatalf("job.list page %d: %v", page, err)
			}
			if err := json.Unmarshal(res.Results, &p.Results); err != nil {
				t.Fatal(err)
			}
			for _, j := range p.Results {
				if inWalk[j.ID] {
					t.Fatalf("job %s twice in one walk", j.ID)
				}
				inWalk[j.ID] = true
				seen[j.ID] = j.Title
			}
			if !res.MoreDataAvailable {
				if res.SyncToken == "" {
					t.Fatal("last page without a syncToken")
				}
				return res.SyncToken
			}
			req = map[string]any{"limit": 20, "status": allJobStatuses, "cursor": res.NextCursor}
		}
	}
	token := walk("") // the full walk, with a cursor across processes
	killed, restarted := false, false
	for !restarted {
		time.Sleep(20 * time.Millisecond) // a sync client's poll interval
		token = walk(token)
		switch {
		case !killed && done.Load() >= n/3:
			cl.kill(1) // SIGKILL, with writes, reads and deliveries in flight
			killed = true
		case killed && done.Load() >= 2*n/3-3:
			cl.restart(1)
			restarted = true
			close(gate)
		}
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if len(acked) != n {
		t.Fatalf("%d jobs acknowledged, want %d", len(acked), n)
	}
	// Incremental sync until it has every acknowledged change.
	waitUntil(t, "the sync to catch up", 60*time.Second, func() bool {
		token = walk(token)
		for id, title := range acked {
			if seen[id] != title {
				return false
			}
		}
		return true
	})
	for id := range seen {
		if _, ok := acked[id]; !ok {
			t.Fatalf("sync returned job %s that no acknowledged write created", id)
		}
	}
	// Every write happened once: the full list holds exactly n jobs.
	if full := len(walkAll(t, cl)); full != n {
		t.Fatalf("%d jobs exist, want %d: a failed-over write ran twice", full, n)
	}

	// Webhooks: every job announced, under one webhookActionId, and
	// every request the receiver got is an attempt the queue recorded;
	// a second request for one event only after an abandoned attempt.
	jobOf := func(h hookHit) string {
		var data struct {
			Job struct {
				ID string `json:"id"`
			} `json:"job"`
		}
		json.Unmarshal(h.env.Data, &data)
		return data.Job.ID
	}
	waitUntil(t, "a delivery per job", 120*time.Second, func() bool {
		got := map[string]bool{}
		for _, h := range rc.hits("jobCreate") {
			got[jobOf(h)] = true
		}
		for id := range acked {
			if !got[id] {
				return false
			}
		}
		return true
	})
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	waitUntil(t, "every delivery to finish", 120*time.Second, func() bool {
		var pending int
		db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM jobs WHERE kind = 'webhook.delivery' AND state = 'pending'`).Scan(&pending)
		return pending == 0
	})
	type rec struct{ attempts, abandoned int }
	recorded := map[string]rec{}
	rows, err := db.QueryContext(context.Background(), `SELECT j.subject, COUNT(*), SUM(CASE WHEN a.outcome = 'abandoned' THEN 1 ELSE 0 END)
		FROM jobs j JOIN job_attempts a ON a.job_id = j.id WHERE j.kind = 'webhook.delivery' AND j.action = 'jobCreate' GROUP BY j.subject`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var r rec
		if err := rows.Scan(&id, &r.attempts, &r.abandoned); err != nil {
			t.Fatal(err)
		}
		recorded[id] = r
	}
	rows.Close()
	received := map[string]int{}
	actionOf := map[string]string{}
	for _, h := range rc.hits("jobCreate") {
		received[h.env.WebhookActionID]++
		job := jobOf(h)
		if a, ok := actionOf[job]; ok && a != h.env.WebhookActionID {
			t.Fatalf("job %s announced under two webhookActionIds: %s, %s", job, a, h.env.WebhookActionID)
		}
		actionOf[job] = h.env.WebhookActionID
	}
	if len(received) != n {
		t.Fatalf("%d events delivered, want %d", len(received), n)
	}
	twice := 0
	for id, got := range received {
		r := recorded[id]
		if got > r.attempts {
			t.Fatalf("event %s: the receiver got %d requests, the queue recorded %d attempts", id, got, r.attempts)
		}
		if got > 1 {
			twice++
			if r.abandoned == 0 {
				t.Fatalf("event %s delivered %d times without an abandoned attempt", id, got)
			}
		}
	}
	t.Logf("%d jobs, %d sync pages across 3 processes; events delivered twice after the kill: %d", n, page, twice)

	// Revocation: a key revoked through one process is refused by the
	// others on their next request.
	var k2 ashby.APIKey
	must(t, cl.client(0), "apiKey.create", map[string]any{"title": "revoke me", "permissions": []string{"jobsRead"}}, &k2)
	for i := range 3 {
		if _, err := client.New(cl.srvs[i].URL, k2.Secret).Call(context.Background(), "job.list", map[string]any{"limit": 1}, nil); err != nil {
			t.Fatalf("new key on process %d: %v", i, err)
		}
	}
	must(t, cl.client(0), "apiKey.revoke", map[string]any{"apiKeyId": k2.ID}, nil)
	for i := 1; i < 3; i++ {
		_, err := client.New(cl.srvs[i].URL, k2.Secret).Call(context.Background(), "job.list", map[string]any{"limit": 1}, nil)
		var e *client.Error
		if !errors.As(err, &e) || e.Code != ashby.CodeInvalidAPIKey {
			t.Fatalf("revoked key on process %d: %v, want %s", i, err, ashby.CodeInvalidAPIKey)
		}
	}
	_ = slug
}

// allJobStatuses: job.list leaves drafts out unless asked, as Ashby does.
var allJobStatuses = []string{"Draft", "Open", "Closed", "Archived"}

// walkAll lists every job, one page per process in turn.
func walkAll(t *testing.T, cl *cluster) []ashby.Job {
	t.Helper()
	var all []ashby.Job
	req := map[string]any{"limit": 50, "status": allJobStatuses}
	for i := 0; ; i++ {
		var jobs []ashby.Job
		res, err := cl.client(i).Call(context.Background(), "job.list", req, &jobs)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, jobs...)
		if !res.MoreDataAvailable {
			return all
		}
		req = map[string]any{"limit": 50, "status": allJobStatuses, "cursor": res.NextCursor}
	}
}

// TestE2ESharedRateLimit: with --redis-url, three processes enforce one
// limit per key: requests spread over them hit 429 at the shared burst.
func TestE2ESharedRateLimit(t *testing.T) {
	t.Parallel()
	url := os.Getenv("ASHLAR_TEST_REDIS")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	if r, err := ratelimit.NewRedis(url, nil); err != nil || r.Ping(context.Background()) != nil {
		if os.Getenv("ASHLAR_REQUIRE_REDIS") != "" {
			t.Fatalf("Redis at %s does not answer (ASHLAR_REQUIRE_REDIS is set)", url)
		}
		t.Skipf("Redis at %s does not answer", url)
	}
	dsn := storetest.DSN(t, store.Postgres)
	// One token every 100 s: nothing refills during the test.
	args := []string{"--rate-limit", "0.01", "--rate-burst", "10", "--redis-url", url}
	var srvs []*testserver.Server
	for range 3 {
		srvs = append(srvs, testserver.Start(t, store.Postgres, testserver.Options{DSN: dsn, Args: args}))
	}
	_, key := srvs[0].NewOrg()
	ok, limited := 0, 0
	for i := range 30 {
		c := client.New(srvs[i%3].URL, key)
		c.MaxRetries = 0
		_, err := c.Call(context.Background(), "job.list", map[string]any{"limit": 1}, nil)
		var e *client.Error
		switch {
		case err == nil:
			ok++
		case errors.As(err, &e) && e.Status == 429 && e.Code == ashby.CodeRateLimitExceeded && e.RetryAfter > 0:
			limited++
		default:
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if ok != 10 || limited != 20 {
		t.Fatalf("%d accepted, %d refused over three processes; want the shared burst of 10 accepted (per process it would be 30)", ok, limited)
	}
	// Another key has its own bucket.
	_, key2 := srvs[1].NewOrg()
	if _, err := client.New(srvs[2].URL, key2).Call(context.Background(), "job.list", map[string]any{"limit": 1}, nil); err != nil {
		t.Fatalf("another key: %v", err)
	}
}

// TestE2EWebSessionAcrossProcesses: a web app session started on one
// process is honoured by another, and ended through one it is refused by
// the other on its next request.
func TestE2EWebSessionAcrossProcesses(t *testing.T) {
	t.Parallel()
	dsn := storetest.DSN(t, store.Postgres)
	a := testserver.Start(t, store.Postgres, testserver.Options{DSN: dsn})
	b := testserver.Start(t, store.Postgres, testserver.Options{DSN: dsn})
	slug, _ := a.NewOrg()
	email := "ada@" + slug + ".example"
	a.CLIInput("correct horse battery\n", "user", "create", "--org", slug, "--email", email, "--name", "Ada Lovelace", "--role", "Organization Admin", "--password-stdin")
	w := newWebClient(t, a.URL) // cookies are per host, not port: both processes see them
	if r := w.signIn(email, "correct horse battery"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in on the first process: %d", r.StatusCode)
	}
	if r, _ := w.do("GET", b.URL+"/app/", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("the session on the second process: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r, _ := w.do("POST", "/app/signout", url.Values{}); r.StatusCode >= 400 {
		t.Fatalf("sign out on the first process: %d", r.StatusCode)
	}
	r, _ := w.do("GET", b.URL+"/app/", nil)
	if r.StatusCode == http.StatusOK || !strings.Contains(r.Header.Get("Location"), "/app/signin") {
		t.Fatalf("the ended session on the second process: %d %s, want a redirect to sign in", r.StatusCode, r.Header.Get("Location"))
	}
}
