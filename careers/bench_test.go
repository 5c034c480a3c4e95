package careers_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/careers"
	"github.com/ashlarhq/ashlar/jobboard"
	"github.com/ashlarhq/ashlar/jobboard/benchdata"
	"github.com/ashlarhq/ashlar/store"
)

// Careers listing pages per second for a board of 500 postings, over
// loopback HTTP with keep-alive clients: the landing page (rendered once
// per board change), a filtered search, and pages never seen before
// (every request a full render of 500 postings):
//
//	go test ./careers -run '^$' -bench CareersListing -benchtime 2000x
func BenchmarkCareersListing(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	svc := api.New(db, "http://bench.example", nil)
	if err := benchdata.Seed(ctx, svc, "bench", 500); err != nil {
		b.Fatal(err)
	}
	boards := jobboard.New(svc, jobboard.Options{SpillDir: dir})
	site, err := careers.New(svc, boards, careers.Options{})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	site.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, c := range []struct{ name, path string }{
		{"all", "/jobs/bench"},
		{"filtered", "/jobs/bench?department=Engineering&workplaceType=Hybrid&q=engineer+1"},
		// A query the cache has never seen, every time: the full render.
		{"uncached", "/jobs/bench?utm_campaign="},
	} {
		b.Run(c.name, func(b *testing.B) {
			resp, err := client.Get(srv.URL + c.path)
			if err != nil || resp.StatusCode != 200 {
				b.Fatalf("%v %v", resp, err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			b.SetBytes(int64(len(page)))
			workers := 4 * runtime.GOMAXPROCS(0)
			work := make(chan struct{}, b.N)
			for i := 0; i < b.N; i++ {
				work <- struct{}{}
			}
			close(work)
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			var seq atomic.Int64
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range work {
						url := srv.URL + c.path
						if c.name == "uncached" {
							url += strconv.FormatInt(seq.Add(1), 10)
						}
						resp, err := client.Get(url)
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pages/s")
		})
	}
}
