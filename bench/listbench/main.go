// Command listbench measures candidate.list: pages per second for clients
// walking 100,000 candidates, the latency of the last page against the
// first, and the same load against a server that only writes the same
// response bytes with no work (the yardstick: Ashlar should reach at least
// half of it).
//
//	go run ./bench/listbench -db sqlite:/tmp/bench.db
//	go run ./bench/listbench -db 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/server"
	"github.com/ashlarhq/ashlar/store"
)

func main() {
	dsn := flag.String("db", "sqlite:/tmp/ashlar-listbench.db", "database DSN (reused if already seeded)")
	n := flag.Int("n", 100000, "candidates")
	clients := flag.Int("clients", 8, "concurrent clients")
	dur := flag.Duration("duration", 5*time.Second, "load duration per measurement")
	rounds := flag.Int("rounds", 5, "measurements of each server, interleaved so that machine noise hits both alike")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the throughput run")
	flag.Parse()
	ctx := context.Background()
	db, err := store.Open(ctx, *dsn)
	check(err)
	defer db.Close()
	_, err = db.Migrate(ctx)
	check(err)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := server.New(db, server.Config{BaseURL: "http://bench", Logger: quiet})
	key := seed(ctx, db, srv.Service, *n)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	go srv.Serve(ctx, ln)
	url := "http://" + ln.Addr().String()

	// Walk once to capture every page's request and response bytes.
	var bodies [][]byte
	var cursors []string
	cursor := ""
	for {
		req := map[string]any{"limit": 100}
		if cursor != "" {
			req["cursor"] = cursor
		}
		b, _ := json.Marshal(req)
		resp := post(url, key, b)
		var env struct {
			Success    bool   `json:"success"`
			More       bool   `json:"moreDataAvailable"`
			NextCursor string `json:"nextCursor"`
		}
		check(json.Unmarshal(resp, &env))
		if !env.Success {
			log.Fatalf("list failed: %s", resp)
		}
		cursors = append(cursors, cursor)
		bodies = append(bodies, resp)
		if !env.More {
			break
		}
		cursor = env.NextCursor
	}
	fmt.Printf("engine=%s candidates=%d pages=%d page_bytes≈%d\n", db.Engine(), *n, len(bodies), len(bodies[len(bodies)/2]))

	// Latency of the first page against the last, one client, sequential.
	first := latency(url, key, cursors[0], 300)
	last := latency(url, key, cursors[len(cursors)-1], 300)
	fmt.Printf("latency p50: first page %v, last page %v (ratio %.2f)\n", first, last, float64(last)/float64(first))

	// Throughput: clients request random pages of the walk.
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		check(err)
		check(pprof.StartCPUProfile(f))
	}
	var ashlar, static, ratios []float64
	for r := 0; r < *rounds; r++ {
		a := load(url, key, cursors, *clients, *dur)
		b := staticLoad(bodies, *clients, *dur)
		ashlar, static, ratios = append(ashlar, a), append(static, b), append(ratios, a/b)
		fmt.Printf("  round %d: ashlar %.0f pages/s, bytes-only %.0f pages/s, ratio %.2f\n", r+1, a, b, a/b)
	}
	if *cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	fmt.Printf("throughput with %d clients (median of %d rounds): ashlar %.0f pages/s, bytes-only server %.0f pages/s, ratio %.2f\n",
		*clients, *rounds, median(ashlar), median(static), median(ratios))
}

// seed creates an organization with n candidates (once per database) and
// returns a fresh API key.
func seed(ctx context.Context, db *store.DB, svc *api.Service, n int) string {
	org, err := db.OrgBySlug(ctx, "listbench")
	if err != nil {
		org, err = svc.CreateOrg(ctx, "listbench", "List Bench")
		check(err)
		start := time.Now()
		for done := 0; done < n; {
			batch := min(1000, n-done)
			check(db.Write(ctx, func(tx *store.Tx) error {
				for i := 0; i < batch; i++ {
					k := done + i
					_, err := svc.CreateCandidate(ctx, tx, org.ID, api.NewCandidate{
						Name: fmt.Sprintf("Candidate %d", k), Email: fmt.Sprintf("candidate%d@example.com", k),
						Phone: "+1 415 555 0100", LinkedInURL: fmt.Sprintf("https://linkedin.com/in/c%d", k),
					})
					if err != nil {
						return err
					}
				}
				return nil
			}))
			done += batch
		}
		fmt.Printf("seeded %d candidates in %v\n", n, time.Since(start).Round(time.Millisecond))
	}
	var secret string
	check(db.Write(ctx, func(tx *store.Tx) error {
		_, secret, err = tx.CreateAPIKey(ctx, org.ID, "bench", ashby.AllPermissions, "")
		return err
	}))
	return secret
}

var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func post(url, key string, body []byte) []byte {
	req, _ := http.NewRequest(http.MethodPost, url+"/candidate.list", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(key+":")))
	resp, err := httpClient.Do(req)
	check(err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	check(err)
	if resp.StatusCode != 200 {
		log.Fatalf("HTTP %d: %s", resp.StatusCode, b)
	}
	return b
}

func pageBody(cursor string) []byte {
	if cursor == "" {
		return []byte(`{"limit":100}`)
	}
	return []byte(`{"limit":100,"cursor":"` + cursor + `"}`)
}

func latency(url, key, cursor string, n int) time.Duration {
	body := pageBody(cursor)
	post(url, key, body) // warm
	ds := make([]time.Duration, n)
	for i := range ds {
		t := time.Now()
		post(url, key, body)
		ds[i] = time.Since(t)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[n/2]
}

func load(url, key string, cursors []string, clients int, d time.Duration) float64 {
	var count atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 1))
			for time.Now().Before(deadline) {
				post(url, key, pageBody(cursors[r.IntN(len(cursors))]))
				count.Add(1)
			}
		}(uint64(c))
	}
	wg.Wait()
	return float64(count.Load()) / d.Seconds()
}

// staticLoad runs the same load against a server that does no work: it
// reads the request and writes one of the captured response bodies.
func staticLoad(bodies [][]byte, clients int, d time.Duration) float64 {
	var i atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		b := bodies[int(i.Add(1))%len(bodies)]
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.Write(b)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	hs := &http.Server{Handler: h}
	go hs.Serve(ln)
	defer hs.Close()
	cursors := make([]string, len(bodies))
	return load("http://"+ln.Addr().String(), "x", cursors, clients, d)
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "listbench:", err)
		os.Exit(1)
	}
}
