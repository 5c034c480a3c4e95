// Command webhooks benchmarks webhook delivery against a local receiver
// that answers 200 at once, on SQLite or PostgreSQL:
//
//   - throughput: a backlog of -events events is recorded with the
//     dispatcher stopped, then the dispatcher is started and the time until
//     the receiver has every event gives events delivered per second;
//   - latency: events are recorded one per transaction at a fixed -rate for
//     -duration with the dispatcher running; each event's latency is from
//     its transaction's commit to its arrival at the receiver (p50, p99).
//
// It runs the real dispatcher and job queue, database and HTTP stack in
// one process (the receiver is a real HTTP server on loopback, in its own
// goroutines) so that commit and receipt are timed by one clock.
//
//	go run ./bench/webhooks                       # SQLite in a temporary file
//	go run ./bench/webhooks -db postgres://postgres@127.0.0.1:5432/test
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/jobqueue"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/webhook"
)

func main() {
	dsn := flag.String("db", "", "database: a postgres:// URL (a temporary schema is used) or empty for a temporary SQLite file")
	events := flag.Int("events", 20000, "events in the throughput backlog")
	rate := flag.Int("rate", 200, "events per second in the latency run")
	duration := flag.Duration("duration", 15*time.Second, "length of the latency run")
	workers := flag.Int("workers", 32, "dispatcher workers")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	breakdown := flag.Bool("breakdown", false, "split the latency run's delays into fan-out, claim and send (ms resolution)")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	ctx := context.Background()

	target, cleanup, err := prepare(ctx, *dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer cleanup()
	db, err := store.Open(ctx, target)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	rc := newReceiver()
	var org *store.Org
	if err := db.Write(ctx, func(tx *store.Tx) (err error) { org, err = tx.CreateOrg(ctx, "bench", "Bench"); return }); err != nil {
		log.Fatal(err)
	}
	set := &ashby.WebhookSetting{ID: ashby.NewID(), Enabled: true, RequestURL: rc.url + "/hook", WebhookType: "applicationUpdate"}
	if err := db.Write(ctx, func(tx *store.Tx) error {
		if err := webhook.Settings.Put(ctx, tx, org.ID, set); err != nil {
			return err
		}
		return tx.SetMeta(ctx, org.ID, webhook.Settings.Name, set.ID, webhook.SettingMeta{SecretToken: "bench-secret"})
	}); err != nil {
		log.Fatal(err)
	}
	// A payload of a realistic size: an application of about 2 KB.
	payload := map[string]any{"application": map[string]any{"id": ashby.NewID(), "status": "Active", "notes": strings.Repeat("x", 1800)}}
	cfg := webhook.Config{Workers: *workers, AllowPrivate: true, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}

	// Throughput: drain a backlog.
	start := time.Now()
	for i := 0; i < *events; i += 100 {
		if err := db.Write(ctx, func(tx *store.Tx) error {
			for j := i; j < min(i+100, *events); j++ {
				if _, err := tx.Emit(ctx, org.ID, "applicationUpdate", payload); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			log.Fatal(err)
		}
	}
	log.Printf("%s: recorded %d events in %v", db.Engine(), *events, time.Since(start).Round(time.Millisecond))
	jobs := jobqueue.New(db, jobqueue.Config{Logger: cfg.Logger})
	d, err := webhook.New(db, jobs, cfg)
	if err != nil {
		log.Fatal(err)
	}
	db.OnEmit(d.Wake)
	start = time.Now()
	d.Start()
	jobs.Start()
	rc.waitFor(*events)
	drain := time.Since(start)
	throughput := float64(*events) / drain.Seconds()
	st := jobs.Stats(webhook.Kind)
	log.Printf("%s: drained in %d claims and %d recording transactions", db.Engine(), st.Claims, st.Records)

	// Latency at a fixed rate.
	rc.reset()
	// With -breakdown, a probe times a trivial query every 10 ms meanwhile:
	// how responsive the database itself is (on a shared machine, other
	// work stalls it now and then).
	probeStop := make(chan struct{})
	probeDone := make(chan []time.Duration)
	go func() {
		var rtt []time.Duration
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-probeStop:
				probeDone <- rtt
				return
			case <-t.C:
			}
			if !*breakdown {
				continue
			}
			start := time.Now()
			var one int
			if err := db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err == nil {
				rtt = append(rtt, time.Since(start))
			}
		}
	}()
	commits := map[string]time.Time{}
	var mu sync.Mutex
	n := int(duration.Seconds() * float64(*rate))
	interval := time.Second / time.Duration(*rate)
	next := time.Now()
	var wg sync.WaitGroup
	for range n {
		time.Sleep(time.Until(next))
		next = next.Add(interval)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var id string
			err := db.Write(ctx, func(tx *store.Tx) error {
				var err error
				// Registered before Emit, so it runs first after the commit.
				tx.AfterCommit(func() {
					mu.Lock()
					commits[id] = time.Now()
					mu.Unlock()
				})
				id, err = tx.Emit(ctx, org.ID, "applicationUpdate", payload)
				return err
			})
			if err != nil {
				log.Fatal(err)
			}
		}()
	}
	wg.Wait()
	rc.waitFor(n)
	close(probeStop)
	rtt := <-probeDone
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	d.Stop(stopCtx)
	jobs.Stop(stopCtx)
	cancel()
	var lat []time.Duration
	rc.mu.Lock()
	for id, at := range rc.at {
		if c, ok := commits[id]; ok {
			lat = append(lat, at.Sub(c))
		}
	}
	rc.mu.Unlock()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("| %s | %d | %.0f events/s (%d in %v) | %d/s for %v | %v | %v | %v |\n", db.Engine(), *workers, throughput, *events, drain.Round(time.Millisecond),
		*rate, *duration, q(0.50).Round(10*time.Microsecond), q(0.99).Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond))
	if *breakdown {
		stages(ctx, db, commits, rc)
		sort.Slice(rtt, func(i, j int) bool { return rtt[i] < rtt[j] })
		if len(rtt) > 0 {
			fmt.Printf("  database round trip (SELECT 1 every 10 ms): p50 %v, p99 %v, max %v\n", rtt[len(rtt)/2].Round(10*time.Microsecond),
				rtt[min(len(rtt)-1, len(rtt)*99/100)].Round(10*time.Microsecond), rtt[len(rtt)-1].Round(10*time.Microsecond))
		}
	}
}

// stages splits the latency run's delays at the delivery job's creation
// (the fan-out's commit, by the database's clock) and the attempt's start
// (the worker's clock): all run on this machine, so the clocks agree to
// the millisecond.
func stages(ctx context.Context, db *store.DB, commits map[string]time.Time, rc *receiver) {
	rows, err := db.QueryContext(ctx, `SELECT j.subject, j.created_at, a.started_at FROM jobs j JOIN job_attempts a ON a.job_id = j.id
		WHERE j.kind = 'webhook.delivery' AND a.attempt = 1`)
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	var fan, claim, send []time.Duration
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for rows.Next() {
		var id string
		var created, started int64
		if err := rows.Scan(&id, &created, &started); err != nil {
			log.Fatal(err)
		}
		c, ok := commits[id]
		at, ok2 := rc.at[id]
		if !ok || !ok2 {
			continue
		}
		fan = append(fan, time.UnixMilli(created).Sub(c))
		claim = append(claim, time.UnixMilli(started).Sub(time.UnixMilli(created)))
		send = append(send, at.Sub(time.UnixMilli(started)))
	}
	for _, st := range []struct {
		name string
		d    []time.Duration
	}{{"commit → delivery job inserted", fan}, {"job inserted → attempt started", claim}, {"attempt started → received", send}} {
		sort.Slice(st.d, func(i, j int) bool { return st.d[i] < st.d[j] })
		q := func(p float64) time.Duration {
			return st.d[min(len(st.d)-1, int(p*float64(len(st.d))))].Round(time.Millisecond)
		}
		fmt.Printf("  %s: p50 %v, p99 %v, max %v\n", st.name, q(0.5), q(0.99), st.d[len(st.d)-1].Round(time.Millisecond))
	}
}

// receiver answers 200 at once and notes when each webhookActionId arrived.
type receiver struct {
	url  string
	mu   sync.Mutex
	at   map[string]time.Time
	cond *sync.Cond
}

func newReceiver() *receiver {
	rc := &receiver{at: map[string]time.Time{}}
	rc.cond = sync.NewCond(&rc.mu)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	rc.url = "http://" + ln.Addr().String()
	prefix := []byte(`{"webhookActionId":"`)
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		body, _ := io.ReadAll(r.Body)
		if !bytes.HasPrefix(body, prefix) || len(body) < len(prefix)+36 {
			http.Error(w, "bad body", 400)
			return
		}
		id := string(body[len(prefix) : len(prefix)+36])
		rc.mu.Lock()
		if _, dup := rc.at[id]; !dup {
			rc.at[id] = now
		}
		rc.cond.Broadcast()
		rc.mu.Unlock()
	}))
	return rc
}

func (rc *receiver) waitFor(n int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for len(rc.at) < n {
		rc.cond.Wait()
	}
}

func (rc *receiver) reset() {
	rc.mu.Lock()
	rc.at = map[string]time.Time{}
	rc.mu.Unlock()
}

// prepare returns the DSN to benchmark on and how to remove it.
func prepare(ctx context.Context, dsn string) (string, func(), error) {
	if dsn == "" {
		dir, err := os.MkdirTemp("", "ashlar-webhook-bench-")
		if err != nil {
			return "", nil, err
		}
		return "sqlite:" + filepath.Join(dir, "bench.db"), func() { os.RemoveAll(dir) }, nil
	}
	b := make([]byte, 4)
	rand.Read(b)
	schema := "bench_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", nil, err
	}
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema, func() {
		admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	}, nil
}
