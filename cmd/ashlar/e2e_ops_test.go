package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

func httpGet(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// /metrics on its own listener (--metrics-addr): HTTP requests by
// endpoint and status with a latency histogram, the database pools, the
// queue depths; and no /metrics on the API's port.
func TestE2EMetrics(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{Args: []string{"--metrics-addr", "127.0.0.1:0"}})
		if srv.MetricsURL == "" {
			t.Fatalf("no metrics line:\n%s", srv.Logs())
		}
		slug, key := srv.NewOrg()
		c := srv.Client(key)
		for range 3 {
			must(t, c, "candidate.list", nil, nil)
		}
		wantCode(t, c, "candidate.info", map[string]any{"id": ashby.NewID()}, "candidate_not_found")
		httpGet(t, srv.URL+"/jobs/"+slug)
		httpGet(t, srv.URL+"/no/such/path")
		var w ashby.WebhookSetting
		must(t, c, "webhook.create", map[string]any{"webhookType": "jobCreate", "requestUrl": "https://hooks.invalid/x", "secretToken": "s3cret-token"}, &w)

		code, body := httpGet(t, srv.MetricsURL+"/metrics")
		if code != http.StatusOK {
			t.Fatalf("GET /metrics: %d", code)
		}
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`ashlar_http_requests_total\{code="200",endpoint="candidate.list"\} 3`),
			// Ashby answers API errors with 200 and success: false.
			regexp.MustCompile(`ashlar_http_requests_total\{code="200",endpoint="candidate.info"\} 1`),
			regexp.MustCompile(`ashlar_http_requests_total\{code="200",endpoint="GET /jobs/\{board\}"\} 1`),
			regexp.MustCompile(`ashlar_http_requests_total\{code="404",endpoint="unmatched"\} 1`),
			regexp.MustCompile(`ashlar_http_request_duration_seconds_bucket\{endpoint="candidate.list",le="\+Inf"\} 3`),
			regexp.MustCompile(`ashlar_db_pool_open_connections\{pool="\w+"\} \d+`),
			regexp.MustCompile(`ashlar_db_pool_max_open_connections\{pool="\w+"\} [1-9]\d*`),
			regexp.MustCompile(`ashlar_queue_pending\{queue="webhook.delivery"\} \d+`),
			regexp.MustCompile(`ashlar_queue_pending\{queue="partner.call"\} \d+`),
			regexp.MustCompile(`ashlar_queue_scrape_errors_total 0`),
			regexp.MustCompile(`ashlar_webhook_queue_depth \d+`),
			regexp.MustCompile(`go_goroutines \d+`),
		} {
			if !want.MatchString(body) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		if t.Failed() {
			t.Logf("/metrics:\n%s", body)
		}
		if code, _ := httpGet(t, srv.URL+"/metrics"); code == http.StatusOK {
			t.Error("/metrics is served on the API port too")
		}
	})
}

// With --log-format json every line on stderr is a JSON object: the
// status lines (database, listening, shutting down, stopped) too;
// durations read "15s"; careers site and posting API requests are logged
// at debug level.
func TestE2EJSONLogs(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, store.SQLite, testserver.Options{Args: []string{"--log-format", "json", "--log-level", "debug"}})
	slug, _ := srv.NewOrg()
	httpGet(t, srv.URL+"/jobs/"+slug)
	httpGet(t, srv.URL+"/posting-api/job-board/"+slug)
	srv.Stop()
	var records []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(srv.Logs()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("not JSON: %q", line)
			continue
		}
		records = append(records, rec)
	}
	find := func(what string, match func(map[string]any) bool) map[string]any {
		for _, r := range records {
			if match(r) {
				return r
			}
		}
		t.Errorf("no log record of %s", what)
		return nil
	}
	msg := func(m string) func(map[string]any) bool { return func(r map[string]any) bool { return r["msg"] == m } }
	if r := find("the database", msg("database")); r != nil && r["engine"] != "sqlite" {
		t.Errorf("database record: %v", r)
	}
	if r := find("listening", msg("listening")); r != nil && (r["addr"] != strings.TrimPrefix(srv.URL, "http://") || r["base_url"] == nil) {
		t.Errorf("listening record: %v", r)
	}
	if r := find("the webhook dispatcher", msg("webhook dispatcher started")); r != nil && r["timeout"] != "15s" {
		t.Errorf("durations should read like 15s: %v", r)
	}
	for _, route := range []string{"GET /jobs/{board}", "GET /posting-api/job-board/{name}"} {
		find("a "+route+" request at debug level", func(r map[string]any) bool {
			return r["msg"] == "http request" && r["route"] == route && r["level"] == "DEBUG" && r["status"] == float64(200) && r["duration"] != nil
		})
	}
	find("shutting down", msg("shutting down"))
	find("stopped", msg("stopped"))
}

// serve --demo prints one key, the same after a restart; a revoked demo
// key is replaced by a new one at the next start.
func TestE2EDemoKeyAcrossRestarts(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, store.SQLite, testserver.Options{Args: []string{"--demo", "--demo-candidates", "30"}})
	keyRE := regexp.MustCompile(`ashlar_[A-Za-z0-9_-]+`)
	first := srv.WaitStdout(keyRE, time.Minute)
	for _, label := range []string{"Careers site:  " + srv.URL + "/jobs/demo", "Posting API:   " + srv.URL + "/posting-api/job-board/demo", "Web app:       " + srv.URL + "/app/"} {
		if !strings.Contains(srv.Stdout(), label) {
			t.Errorf("serve --demo does not print %q:\n%s", label, srv.Stdout())
		}
	}
	// Each start prints one block ending in "Try:"; the process wrote it
	// before its listening line, but the pipes are read independently.
	started := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); strings.Count(srv.Stdout(), "\nTry:\n") < n || !strings.HasSuffix(srv.Stdout(), "\n\n"); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("start %d printed no demo block:\n%s", n, srv.Logs())
			}
		}
	}
	started(1)
	srv.Restart()
	started(2)
	keys := keyRE.FindAllString(srv.Stdout(), -1)
	last := keys[len(keys)-1]
	if last != first {
		t.Fatalf("after a restart the demo key changed: %s, then %s", first, last)
	}
	list := srv.CLI("apikey", "list", "--org", "demo", "--json")
	if n := strings.Count(list, `"title":"demo key"`); n != 1 {
		t.Fatalf("%d demo keys after a restart:\n%s", n, list)
	}
	must(t, srv.Client(first), "candidate.list", map[string]any{"limit": 1}, nil)

	srv.CLI("apikey", "revoke", "--org", "demo", first)
	srv.Restart()
	started(3)
	keys = keyRE.FindAllString(srv.Stdout(), -1)
	if next := keys[len(keys)-1]; next == first {
		t.Fatal("the revoked demo key was printed again")
	} else {
		must(t, srv.Client(next), "candidate.list", map[string]any{"limit": 1}, nil)
	}
}

// ashlar backup snapshots a running server's SQLite database while
// clients write to it; each snapshot opens, passes an integrity check and
// holds every candidate created before the backup began. On PostgreSQL
// the command says to use pg_dump.
func TestE2EBackupWhileWriting(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, store.SQLite, testserver.Options{})
	_, key := srv.NewOrg()
	c := srv.Client(key)
	var mu sync.Mutex
	created := 0
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var writeErr error
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				_, err := c.Call(ctx, "candidate.create", map[string]any{"name": fmt.Sprintf("Writer %d-%d", w, i)}, nil)
				if err != nil {
					if ctx.Err() == nil {
						writeErr = err
					}
					return
				}
				mu.Lock()
				created++
				mu.Unlock()
			}
		}()
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return created
	}
	dir := t.TempDir()
	for i := range 3 {
		for deadline := time.Now().Add(time.Minute); count() < 10*(i+1); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the writers made %d candidates in a minute (%v)", count(), writeErr)
			}
		}
		before := count()
		out := filepath.Join(dir, fmt.Sprintf("snap%d.db", i))
		if r := srv.CLI("backup", "--out", out); !strings.Contains(r, "wrote "+out) {
			t.Fatalf("backup: %s", r)
		}
		db, err := store.Open(context.Background(), out)
		if err != nil {
			t.Fatal(err)
		}
		var check string
		var n int
		if err := db.QueryRowContext(context.Background(), `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
			t.Fatalf("integrity_check: %q %v", check, err)
		}
		if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM docs WHERE kind = 'candidate'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if n < before {
			t.Fatalf("snapshot %d has %d candidates; %d were created before it began", i, n, before)
		}
		t.Logf("snapshot %d: %d candidates (%d acknowledged before it began, %d after)", i, n, before, count())
	}
	cancel()
	wg.Wait()
	if writeErr != nil {
		t.Fatalf("a writer failed: %v", writeErr)
	}
	// An existing file is never overwritten.
	if _, errOut, err := srv.TryCLI("backup", "--out", filepath.Join(dir, "snap0.db")); err == nil || !strings.Contains(errOut, "already exists") {
		t.Fatalf("backup over an existing file: %v %s", err, errOut)
	}
	if fi, err := os.Stat(filepath.Join(dir, "snap0.db")); err != nil || fi.Size() == 0 {
		t.Fatal("the first snapshot was damaged")
	}

	pg := testserver.Start(t, store.Postgres, testserver.Options{})
	if _, errOut, err := pg.TryCLI("backup", "--out", filepath.Join(dir, "pg.db")); err == nil || !strings.Contains(errOut, "pg_dump") {
		t.Fatalf("backup on PostgreSQL: %v %s", err, errOut)
	}
}
