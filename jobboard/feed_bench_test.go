package jobboard

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/jobboard/benchdata"
	"github.com/ashlarhq/ashlar/partner"
	"github.com/ashlarhq/ashlar/store"
)

// A partner feed of 4 organizations × 500 published postings (2,000 jobs,
// seeded through the API by benchdata), on SQLite:
//
//	go test ./jobboard -run '^$' -bench PartnerFeed -benchtime 20x
//
// Build is one rebuild of the snapshot (read every opted-in
// organization's postings, render JSON and XML, gzip both); Serve is
// requests answered from the snapshot over loopback HTTP.

type feedBench struct {
	feeds *Feeds
	feed  *partner.Feed
	url   string
}

var (
	feedBenchOnce sync.Once
	feedBenchEnv  *feedBench
	feedBenchErr  error
)

func feedSetup(b *testing.B) *feedBench {
	feedBenchOnce.Do(func() {
		ctx := context.Background()
		dir, _ := os.MkdirTemp("", "feed-bench")
		db, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "bench.db"))
		if err != nil {
			feedBenchErr = err
			return
		}
		if _, feedBenchErr = db.Migrate(ctx); feedBenchErr != nil {
			return
		}
		svc := api.New(db, "http://bench.example", nil)
		f, token, err := partner.CreateFeed(ctx, db, "bench", "Bench")
		if err != nil {
			feedBenchErr = err
			return
		}
		for i := range 4 {
			slug := fmt.Sprintf("feed%d", i)
			if feedBenchErr = benchdata.Seed(ctx, svc, slug, 500); feedBenchErr != nil {
				return
			}
			o, err := db.OrgBySlug(ctx, slug)
			if err != nil {
				feedBenchErr = err
				return
			}
			if feedBenchErr = db.Write(ctx, func(tx *store.Tx) error { _, err := partner.OptIn(ctx, tx, f.ID, o.ID); return err }); feedBenchErr != nil {
				return
			}
		}
		if f, feedBenchErr = partner.FeedByID(ctx, db, f.ID); feedBenchErr != nil {
			return
		}
		feeds := NewFeeds(svc, FeedOptions{})
		mux := http.NewServeMux()
		feeds.Routes(mux)
		srv := httptest.NewServer(mux)
		feedBenchEnv = &feedBench{feeds: feeds, feed: f, url: srv.URL + "/partner-feed/" + token + "/jobs.xml"}
	})
	if feedBenchErr != nil {
		b.Fatal(feedBenchErr)
	}
	return feedBenchEnv
}

func BenchmarkPartnerFeedBuild(b *testing.B) {
	e := feedSetup(b)
	ctx := context.Background()
	var st *feedState
	b.ResetTimer()
	for range b.N {
		e.feeds.entry(e.feed.ID).state.Store(nil) // no shortcut: build anew
		var err error
		if st, err = e.feeds.rebuild(ctx, e.feed); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(st.jobs), "jobs")
	b.ReportMetric(float64(len(st.json.body)), "json-bytes")
	b.ReportMetric(float64(len(st.xml.body)), "xml-bytes")
	b.ReportMetric(float64(len(st.xml.gz)), "xml-gzip-bytes")
}

func BenchmarkPartnerFeedServe(b *testing.B) {
	e := feedSetup(b)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
	resp, err := c.Get(e.url)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	for _, v := range []struct {
		name string
		hdr  map[string]string
	}{{"gzip", map[string]string{"Accept-Encoding": "gzip"}}, {"304", map[string]string{"If-None-Match": etag}}} {
		b.Run(v.name, func(b *testing.B) {
			var wg sync.WaitGroup
			next := make(chan struct{}, b.N)
			for range b.N {
				next <- struct{}{}
			}
			close(next)
			start := time.Now()
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range next {
						req, _ := http.NewRequest(http.MethodGet, e.url, nil)
						for k, h := range v.hdr {
							req.Header.Set(k, h)
						}
						resp, err := c.Do(req)
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
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}
