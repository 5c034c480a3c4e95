package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

// privatePostgres is a PostgreSQL cluster of the test's own, which it may
// stop and start: the shared one on 5432 is never restarted.
type privatePostgres struct {
	t        *testing.T
	bin, dir string
	port     int
	asUser   []string // runuser prefix when running as root
}

// startPrivatePostgres runs initdb and pg_ctl (from /usr/lib/postgresql/*/bin)
// into a temporary directory, on a free port with trust authentication.
// PostgreSQL refuses to run as root, so as root it runs as the postgres
// user (runuser). It skips when PostgreSQL is not installed, unless
// ASHLAR_REQUIRE_POSTGRES=1.
func startPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	skip := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("ASHLAR_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("a private PostgreSQL cluster is required (ASHLAR_REQUIRE_POSTGRES=1): "+format, args...)
		}
		t.Skipf(format, args...)
	}
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(bins) == 0 {
		skip("no /usr/lib/postgresql/*/bin/pg_ctl")
	}
	slices.SortFunc(bins, func(a, b string) int { // the newest major version
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(a))))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(b))))
		return vb - va
	})
	p := &privatePostgres{t: t, bin: filepath.Dir(bins[0])}
	// Not t.TempDir: its parent is private to root, and the postgres user
	// must reach the data directory.
	dir, err := os.MkdirTemp("", "ashlar-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p.dir = filepath.Join(dir, "data")
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			skip("running as root and there is no postgres user to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		p.asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	p.run("initdb", "-D", p.dir, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale", "C")
	// Its own socket directory, so that it cannot collide with the
	// system cluster's.
	conf := fmt.Sprintf("\nport = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nfsync = off\n", p.port, dir)
	f, err := os.OpenFile(filepath.Join(p.dir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(conf)
	f.Close()
	p.Start()
	t.Cleanup(func() { p.ctl("stop", "-m", "immediate") })
	return p
}

func (p *privatePostgres) run(name string, args ...string) {
	p.t.Helper()
	argv := append(slices.Clone(p.asUser), append([]string{filepath.Join(p.bin, name)}, args...)...)
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

func (p *privatePostgres) ctl(args ...string) error {
	argv := append(slices.Clone(p.asUser), append([]string{filepath.Join(p.bin, "pg_ctl"), "-D", p.dir}, args...)...)
	return exec.Command(argv[0], argv[1:]...).Run()
}

// Start starts the cluster and waits until it accepts connections.
func (p *privatePostgres) Start() {
	p.t.Helper()
	p.run("pg_ctl", "-D", p.dir, "-l", filepath.Join(p.dir, "server.log"), "-w", "start")
}

// Crash stops the cluster at once, as a crash would (no checkpoint;
// sessions are cut).
func (p *privatePostgres) Crash() {
	p.t.Helper()
	p.run("pg_ctl", "-D", p.dir, "-m", "immediate", "-w", "stop")
}

// DSN reaches the cluster's postgres database. password is sent by no
// one (trust authentication): it is there to show that the server never
// logs it.
func (p *privatePostgres) DSN(password string) string {
	return fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/postgres?sslmode=disable", password, p.port)
}

// PostgreSQL crashes and comes back under load: while it is down, every
// request fails at once with 503, Retry-After and Ashby's error envelope
// (no hang, no panic, no dropped connection, the DSN's password in no log
// line); once it is back, the server serves again by itself, background
// jobs (webhook delivery) included, and every acknowledged write is there.
func TestE2EPostgresRestart(t *testing.T) {
	t.Parallel()
	pg := startPrivatePostgres(t)
	password := testserver.Secret(t, "db-password")
	srv := testserver.Start(t, store.Postgres, testserver.Options{DSN: pg.DSN(password),
		Args: []string{"--webhook-allow-private", "--webhook-poll", "200ms", "--webhook-retry-base", "200ms", "--log-level", "info"}})
	_, key := srv.NewOrg()
	c := srv.Client(key)
	rc := newHookReceiver(t)
	var d ashby.Department
	must(t, c, "department.create", map[string]any{"name": "Outage"}, &d)
	var l ashby.Location
	must(t, c, "location.create", map[string]any{"name": "Anywhere", "type": "Location"}, &l)
	must(t, c, "webhook.create", map[string]any{"webhookType": "jobCreate", "requestUrl": rc.URL + "/jobs", "secretToken": testserver.Secret(t, "webhook")}, nil)

	var mu sync.Mutex
	var acked []string // candidate ids
	var unavailable, okAfter int
	var bad []string
	phase := 0 // 0 before the crash, 1 while down, 2 after the restart
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := srv.Client(key)
			cl.MaxRetries = 0
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// A generous bound: a request that hangs this long is a failure.
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				var cd ashby.Candidate
				var err error
				if i%3 == 2 {
					_, err = cl.Call(ctx, "candidate.list", map[string]any{"limit": 5}, nil)
				} else {
					_, err = cl.Call(ctx, "candidate.create", map[string]any{"name": fmt.Sprintf("Outage %d-%d", w, i)}, &cd)
				}
				cancel()
				mu.Lock()
				var ae *client.Error
				switch {
				case err == nil:
					if cd.ID != "" {
						acked = append(acked, cd.ID)
					}
					if phase == 2 {
						okAfter++
					}
				case asError(err, &ae) && ae.Status == 503 && ae.Code == ashby.CodeUnavailable && ae.RetryAfter > 0 && ae.RequestID != "":
					unavailable++
				default:
					bad = append(bad, fmt.Sprintf("phase %d: %v", phase, err))
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	count := func(f func() bool) func() bool {
		return func() bool { mu.Lock(); defer mu.Unlock(); return f() }
	}
	waitUntil(t, "writes before the crash", time.Minute, count(func() bool { return len(acked) >= 10 }))
	pg.Crash()
	mu.Lock()
	phase = 1
	mu.Unlock()
	waitUntil(t, "503 answers while PostgreSQL is down", time.Minute, count(func() bool { return unavailable >= 20 }))
	// Pages fail the same way: a survey page reads the database.
	if resp, err := http.Get(srv.URL + "/surveys/" + ashby.NewID()); err != nil {
		t.Errorf("survey page while PostgreSQL is down: %v", err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("survey page while PostgreSQL is down: HTTP %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	pg.Start()
	mu.Lock()
	phase = 2
	mu.Unlock()
	waitUntil(t, "successful requests after PostgreSQL is back", time.Minute, count(func() bool { return okAfter >= 20 }))
	close(stop)
	wg.Wait()
	// A failure counted in phase 1 or 2 may be a request that was under
	// way when the phase changed; none may be anything but a clean 503.
	for _, b := range bad {
		t.Errorf("not a clean 503: %s", b)
	}
	// Every acknowledged write survived the crash.
	have := map[string]bool{}
	all, _, err := client.All[ashby.Candidate](context.Background(), c, "candidate.list", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, cd := range all {
		have[cd.ID] = true
	}
	for _, id := range acked {
		if !have[id] {
			t.Errorf("acknowledged candidate %s is missing after the restart", id)
		}
	}
	// Background work recovered too: a webhook is delivered.
	var job ashby.Job
	must(t, c, "job.create", map[string]any{"title": "After the outage", "teamId": d.ID, "locationId": l.ID}, &job)
	waitUntil(t, "the jobCreate webhook after the outage", time.Minute, func() bool {
		for _, h := range rc.hits("jobCreate") {
			if strings.Contains(string(h.Body), job.ID) {
				return true
			}
		}
		return false
	})
	logs := srv.Logs()
	if !strings.Contains(logs, "database unavailable") {
		t.Errorf("no log line names the cause of the 503s:\n%s", tail(logs, 40))
	}
	for _, bad := range []string{"panic", "DATA RACE"} {
		if strings.Contains(logs, bad) {
			t.Errorf("the log shows a %s:\n%s", bad, logs)
		}
	}
	// The server is still the one started at the beginning.
	if err := srv.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the server is no longer running: %v", err)
	}
	t.Logf("%d writes acknowledged, %d clean 503s while PostgreSQL was down, %d successes after", len(acked), unavailable, okAfter)
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
