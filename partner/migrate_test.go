package partner

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
)

// An upgrade moves every call into the job queue: a queued call is then
// made, with its idempotency key and body; a finished one keeps its log
// and dedupe key; one leased by a worker of the old release keeps its
// lease.
func TestUpgradeMovesCallsToJobs(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine.String(), func(t *testing.T) {
			ctx := context.Background()
			db, err := store.Open(ctx, storetest.DSN(t, engine))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if _, err := db.MigrateTo(ctx, 450); err != nil { // as the previous release left it
				t.Fatal(err)
			}
			var mu sync.Mutex
			var got []string // idempotency key and body of each request
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b := make([]byte, 100)
				n, _ := r.Body.Read(b)
				mu.Lock()
				got = append(got, r.Header.Get("Idempotency-Key")+" "+string(b[:n]))
				mu.Unlock()
				w.Write([]byte(`{"success":true,"results":{}}`))
			}))
			t.Cleanup(srv.Close)
			org := ashby.NewID()
			method := "test.upgrade." + engine.String()
			res := newResults()
			Handle(method, res.handler())
			now := time.Now().UnixMilli()
			ins := func(id string, dedupe any, idem, request, state string, attempts int, owner, until, done any) {
				t.Helper()
				if _, err := db.ExecContext(ctx, `INSERT INTO partner_calls (id, org_id, integration_id, method, subject_id, dedupe, idempotency_key, request, state,
					attempts, next_at, lease_owner, lease_until, created_at, done_at, last_status, last_error) VALUES ($1, $2, 'p1', $3, 'subj', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0, NULL)`,
					id, org, method, dedupe, idem, request, state, attempts, now-1000, owner, until, now-5000, done); err != nil {
					t.Fatal(err)
				}
			}
			queued, finished, leased := ashby.NewID(), ashby.NewID(), ashby.NewID()
			ins(finished, "done-key", "idem-done", `{"x":1}`, StateSucceeded, 1, nil, nil, now-2000)
			ins(queued, "queued-key", "idem-queued", `{"q":true}`, StatePending, 0, nil, nil, nil)
			ins(leased, nil, "idem-leased", `{}`, StatePending, 1, "old-worker", now+3600_000, nil)
			if _, err := db.ExecContext(ctx, `INSERT INTO partner_call_attempts (call_id, attempt, org_id, worker, url, started_at, latency_ms, status_code, outcome, response, error)
				VALUES ($1, 1, $2, 'old-worker', 'http://partner/x', $3, 7, 200, 'success', 'ok-body', NULL)`, finished, org, now-3000); err != nil {
				t.Fatal(err)
			}

			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM partner_calls`).Scan(&n); err == nil {
				t.Fatal("the old call table is still there")
			}
			f, err := Get(ctx, db, org, finished)
			if err != nil || f.Status != StateSucceeded || f.IdempotencyKey != "idem-done" || string(f.Request) != `{"x":1}` || f.SubjectID != "subj" ||
				len(f.Attempts) != 1 || f.Attempts[0].Response != "ok-body" || f.Attempts[0].StatusCode != 200 || f.LastStatusCode != 200 || f.Dedupe != "done-key" {
				t.Fatalf("finished call: %+v %v", f, err)
			}
			var again string
			var created bool
			db.Write(ctx, func(tx *store.Tx) (err error) {
				again, created, err = Enqueue(ctx, tx, NewCall{OrgID: org, IntegrationID: "p1", Method: method, Dedupe: "queued-key"})
				return err
			})
			if again != queued || created {
				t.Fatalf("the migrated dedupe key: %s %v", again, created)
			}

			startWorker(t, db, func(ctx context.Context, q store.Q, o, integration string) (Target, error) {
				return Target{BaseURL: srv.URL}, nil
			}, 3, "new")
			c := waitState(t, db, org, queued, StateSucceeded)
			mu.Lock()
			if len(got) != 1 || got[0] != `idem-queued {"q":true}` {
				t.Fatalf("partner got %q", got)
			}
			mu.Unlock()
			if c.AttemptCount != 1 || c.Attempts[0].Worker != "new" {
				t.Fatalf("queued call: %+v", c)
			}
			l, err := Get(ctx, db, org, leased)
			if err != nil || l.Status != StatePending || len(l.Attempts) != 0 || !strings.HasPrefix(l.IdempotencyKey, "idem-") {
				t.Fatalf("leased call: %+v %v", l, err)
			}
		})
	}
}
