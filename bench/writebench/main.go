// Command writebench measures the cost of durable writes on SQLite:
// candidate.create calls per second through HTTP, against two servers on
// fresh databases, one with synchronous=FULL on the write connection (the
// default: an acknowledged write survives an OS crash) and one with
// synchronous=NORMAL (--sqlite-synchronous=normal). The two alternate
// for several rounds so that machine noise hits both alike.
//
//	go run ./bench/writebench -dir /tmp -clients 1,8
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/server"
	"github.com/ashlarhq/ashlar/store"
)

func main() {
	dir := flag.String("dir", os.TempDir(), "directory for the databases (its file system decides what a sync costs)")
	clientList := flag.String("clients", "1,8", "comma-separated numbers of concurrent clients")
	dur := flag.Duration("duration", 4*time.Second, "load duration per measurement")
	rounds := flag.Int("rounds", 5, "measurements of each mode, interleaved")
	flag.Parse()
	ctx := context.Background()
	modes := []string{"full", "normal"}
	servers := map[string]*target{}
	for _, m := range modes {
		servers[m] = start(ctx, filepath.Join(*dir, fmt.Sprintf("ashlar-writebench-%s-%d.db", m, os.Getpid())), m)
		defer servers[m].close()
	}
	for _, cs := range strings.Split(*clientList, ",") {
		clients, err := strconv.Atoi(strings.TrimSpace(cs))
		check(err)
		res := map[string][]float64{}
		for r := 0; r < *rounds; r++ {
			for _, m := range modes {
				v := servers[m].load(clients, *dur)
				res[m] = append(res[m], v)
			}
			fmt.Printf("  clients %d round %d: full %.0f/s, normal %.0f/s\n", clients, r+1, res["full"][r], res["normal"][r])
		}
		f, n := median(res["full"]), median(res["normal"])
		fmt.Printf("candidate.create with %d client(s), median of %d rounds: synchronous=FULL %.0f/s (%.0f–%.0f), NORMAL %.0f/s (%.0f–%.0f), FULL/NORMAL %.2f\n",
			clients, *rounds, f, minOf(res["full"]), maxOf(res["full"]), n, minOf(res["normal"]), maxOf(res["normal"]), f/n)
	}
}

type target struct {
	db   *store.DB
	path string
	url  string
	key  string
	seq  atomic.Int64
	stop context.CancelFunc
}

func start(ctx context.Context, path, mode string) *target {
	db, err := store.OpenWith(ctx, "sqlite:"+path, store.Options{SQLiteSynchronous: mode})
	check(err)
	_, err = db.Migrate(ctx)
	check(err)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := server.New(db, server.Config{BaseURL: "http://bench", Logger: quiet})
	org, err := srv.Service.CreateOrg(ctx, "writebench", "Write Bench")
	check(err)
	var key string
	check(db.Write(ctx, func(tx *store.Tx) error {
		_, key, err = tx.CreateAPIKey(ctx, org.ID, "bench", ashby.AllPermissions, "")
		return err
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	sctx, stop := context.WithCancel(ctx)
	go srv.Serve(sctx, ln)
	return &target{db: db, path: path, url: "http://" + ln.Addr().String(), key: key, stop: stop}
}

func (t *target) close() {
	t.stop()
	t.db.Close()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(t.path + suffix)
	}
}

var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func (t *target) create() {
	n := t.seq.Add(1)
	body := fmt.Sprintf(`{"name":"Candidate %d","email":"candidate%d@example.com","phoneNumber":"+1 415 555 0100"}`, n, n)
	req, _ := http.NewRequest(http.MethodPost, t.url+"/candidate.create", bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(t.key+":")))
	resp, err := httpClient.Do(req)
	check(err)
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	check(err)
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"success":true`)) {
		check(fmt.Errorf("candidate.create: HTTP %d: %s", resp.StatusCode, b))
	}
}

func (t *target) load(clients int, d time.Duration) float64 {
	var count atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				t.create()
				count.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(count.Load()) / d.Seconds()
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func minOf(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs {
		m = min(m, x)
	}
	return m
}

func maxOf(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "writebench:", err)
		os.Exit(1)
	}
}
