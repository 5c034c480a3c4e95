package jobboard_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/jobboard"
	"github.com/ashlarhq/ashlar/jobboard/benchdata"
	"github.com/ashlarhq/ashlar/store"
)

// The posting API for a board of 500 postings, against Go's own
// http.FileServer serving the identical bytes from disk, in the same
// run, over real loopback HTTP with keep-alive clients:
//
//	go test ./jobboard -run '^$' -bench PostingAPI -benchtime 20000x
//
// ratio is the posting API's throughput over the file server's (goal ≥ 0.8).

type benchEnv struct {
	api, files string
	body       []byte
	client     *http.Client
}

var (
	envOnce sync.Once
	env     *benchEnv
	envErr  error
)

func setup(b *testing.B) *benchEnv {
	envOnce.Do(func() {
		ctx := context.Background()
		// The database outlives the first benchmark that opens it, so it
		// is not tied to that benchmark's cleanup.
		dir, _ := os.MkdirTemp("", "jobboard-bench")
		db, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "bench.db"))
		if err != nil {
			envErr = err
			return
		}
		if _, envErr = db.Migrate(ctx); envErr != nil {
			return
		}
		svc := api.New(db, "http://bench.example", nil)
		if envErr = benchdata.Seed(ctx, svc, "bench", 500); envErr != nil {
			return
		}
		mux := http.NewServeMux()
		jobboard.New(svc, jobboard.Options{}).Routes(mux)
		apiSrv := httptest.NewServer(mux)
		c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}}
		e := &benchEnv{api: apiSrv.URL + "/posting-api/job-board/bench", client: c}
		resp, err := c.Get(e.api)
		if err != nil {
			envErr = err
			return
		}
		e.body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		os.WriteFile(filepath.Join(dir, "bench.json"), e.body, 0o644)
		fsSrv := httptest.NewServer(http.FileServer(http.Dir(dir)))
		e.files = fsSrv.URL + "/bench.json"
		env = e
	})
	if envErr != nil {
		b.Fatal(envErr)
	}
	return env
}

// hammer sends n GETs to url from several keep-alive clients at once and
// returns the elapsed time.
func (e *benchEnv) hammer(b *testing.B, url string, n int, hdr map[string]string) time.Duration {
	workers := 4 * runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	next := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		next <- struct{}{}
	}
	close(next)
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				for k, v := range hdr {
					req.Header.Set(k, v)
				}
				resp, err := e.client.Do(req)
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
	return time.Since(start)
}

func BenchmarkPostingAPIvsFileServer(b *testing.B) {
	e := setup(b)
	e.hammer(b, e.api, 200, nil)
	e.hammer(b, e.files, 200, nil)
	b.SetBytes(int64(len(e.body)))
	b.ResetTimer()
	var apiT, fsT time.Duration
	// Alternate batches so that both see the same machine conditions.
	for done := 0; done < b.N; {
		n := min(500, b.N-done)
		fsT += e.hammer(b, e.files, n, nil)
		apiT += e.hammer(b, e.api, n, nil)
		done += n
	}
	b.StopTimer()
	b.ReportMetric(float64(apiT.Nanoseconds())/float64(b.N), "api-ns/req")
	b.ReportMetric(float64(fsT.Nanoseconds())/float64(b.N), "fileserver-ns/req")
	b.ReportMetric(float64(b.N)/apiT.Seconds(), "api-req/s")
	b.ReportMetric(float64(b.N)/fsT.Seconds(), "fileserver-req/s")
	b.ReportMetric(fsT.Seconds()/apiT.Seconds(), "ratio")
	b.ReportMetric(float64(len(e.body)), "body-bytes")
}

// The gzip variant and conditional requests, which real clients mostly send.
func BenchmarkPostingAPI(b *testing.B) {
	e := setup(b)
	for _, c := range []struct {
		name string
		hdr  map[string]string
	}{
		{"gzip", map[string]string{"Accept-Encoding": "gzip"}},
		{"304", nil},
	} {
		b.Run(c.name, func(b *testing.B) {
			if c.name == "304" {
				resp, _ := e.client.Get(e.api)
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				c.hdr = map[string]string{"If-None-Match": resp.Header.Get("ETag")}
			}
			b.ResetTimer()
			d := e.hammer(b, e.api, b.N, c.hdr)
			b.ReportMetric(float64(b.N)/d.Seconds(), "req/s")
		})
	}
}
