package partner

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/jobqueue"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
	"github.com/ashlarhq/ashlar/webhook"
)

// The call outbox's throughput: 2,000 calls recorded (as stage changes
// record assessment starts), then the time for one worker process (8
// workers) to make them against a local partner that answers 200 at once
// and record every attempt:
//
//	go test ./partner -run '^$' -bench Outbox -benchtime 1x -count 3
func BenchmarkOutbox(b *testing.B) {
	for _, engine := range storetest.Engines {
		b.Run(engine.String(), func(b *testing.B) {
			db := storetest.Open(b, engine)
			ctx := context.Background()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte(`{"success":true,"results":{"assessment_id":"x"}}`))
			}))
			defer srv.Close()
			method := "bench." + engine.String()
			Handle(method, Handler{Result: func(ctx context.Context, tx *store.Tx, c *Call, resp *Response) (Decision, error) {
				return Classify(resp), nil
			}})
			const n = 2000
			org := ashby.NewID()
			for b.Loop() {
				b.StopTimer()
				for i := 0; i < n; i += 100 {
					err := db.Write(ctx, func(tx *store.Tx) error {
						for j := i; j < i+100; j++ {
							if _, _, err := Enqueue(ctx, tx, NewCall{OrgID: org, IntegrationID: fmt.Sprintf("p%d", j%4), Method: method,
								Body: []byte(`{"assessment_type_id":"t"}`), NotBefore: time.Now().Add(time.Hour)}); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				if _, err := db.ExecContext(ctx, `UPDATE jobs SET run_at = 0 WHERE kind = $1 AND state = 'pending'`, Kind); err != nil {
					b.Fatal(err)
				}
				q := jobqueue.New(db, jobqueue.Config{Poll: 50 * time.Millisecond})
				w, err := NewWorker(q, NewClient(ClientConfig{AllowPrivate: true}), WorkerConfig{
					Schedule: webhook.Schedule{Base: time.Second}, Resolver: func(context.Context, store.Q, string, string) (Target, error) {
						return Target{BaseURL: srv.URL}, nil
					}})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				q.Start()
				for {
					var pending int
					db.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE kind = $1 AND state = 'pending'`, Kind).Scan(&pending)
					if pending == 0 {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				d := time.Since(start)
				b.StopTimer()
				q.Stop(ctx)
				w.Close()
				b.ReportMetric(n/d.Seconds(), "calls/s")
				b.StartTimer()
			}
		})
	}
}
