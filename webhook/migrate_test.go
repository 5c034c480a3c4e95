package webhook

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
)

// Events are recorded with the recording transaction's id (PostgreSQL),
// and a rolled-back change leaves no event behind.
func TestOutboxIsTransactional(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var org *store.Org
		if err := db.Write(ctx, func(tx *store.Tx) (err error) { org, err = tx.CreateOrg(ctx, storetest.Name("o"), ""); return }); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		var rolledBack string
		err := db.Write(ctx, func(tx *store.Tx) error {
			id, err := tx.Emit(ctx, org.ID, "jobCreate", map[string]any{"job": map[string]string{"id": "x"}})
			rolledBack = id
			if err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		var committed string
		var xact int64
		if err := db.Write(ctx, func(tx *store.Tx) (err error) {
			committed, err = tx.Emit(ctx, org.ID, "jobCreate", map[string]any{"job": map[string]string{"id": "y"}})
			if err != nil {
				return err
			}
			if db.Engine() == store.Postgres {
				return tx.QueryRowContext(ctx, `SELECT pg_current_xact_id()::text::bigint`).Scan(&xact)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		var n int
		db.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE id = $1`, rolledBack).Scan(&n)
		if n != 0 {
			t.Fatal("a rolled-back change left its event")
		}
		var xid int64
		if err := db.QueryRowContext(ctx, `SELECT xid FROM events WHERE id = $1`, committed).Scan(&xid); err != nil {
			t.Fatal(err)
		}
		if xid != xact {
			t.Fatalf("event xid %d, want the recording transaction's %d", xid, xact)
		}
	})
}

// An upgrade moves every delivery into the job queue: the pending one is
// then delivered, the finished one keeps its log, and one leased by a
// worker of the old release keeps its lease.
func TestUpgradeMovesDeliveriesToJobs(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine.String(), func(t *testing.T) {
			ctx := context.Background()
			db, err := store.Open(ctx, storetest.DSN(t, engine))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if _, err := db.MigrateTo(ctx, 100); err != nil { // as the previous release left it
				t.Fatal(err)
			}
			rc := newReceiver(t, nil)
			var org *store.Org
			if err := db.Write(ctx, func(tx *store.Tx) (err error) { org, err = tx.CreateOrg(ctx, storetest.Name("up"), ""); return }); err != nil {
				t.Fatal(err)
			}
			e := &env{t: t, db: db, org: org.ID}
			set := e.setting(org.ID, "jobCreate", rc.URL+"/up", "up-secret", true, false)
			event := e.emit(org.ID, "jobCreate", map[string]any{"job": map[string]string{"id": "queued"}})
			now := time.Now().UnixMilli()
			ins := func(id, event, action string, payload any, trigger, state string, attempts int, owner any, until any, done any, lastErr any) {
				t.Helper()
				if _, err := db.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, org_id, setting_id, event_id, action, payload, trigger, state, attempts,
					next_at, lease_owner, lease_until, event_at, created_at, done_at, last_error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
					id, org.ID, set, event, action, payload, trigger, state, attempts, now-1000, owner, until, now-5000, now-4000, done, lastErr); err != nil {
					t.Fatal(err)
				}
			}
			queued, finished, leased := ashby.NewID(), ashby.NewID(), ashby.NewID()
			ins(finished, ashby.NewID(), "ping", PingData, TriggerPing, StateSucceeded, 1, nil, nil, now-3000, nil)
			ins(queued, event, "jobCreate", nil, TriggerEvent, StatePending, 1, nil, nil, nil, "HTTP 500")
			ins(leased, ashby.NewID(), "ping", PingData, TriggerRedelivery, StatePending, 1, "old-worker", now+3600_000, nil, nil)
			for _, a := range []struct {
				id      string
				status  int
				outcome string
			}{{finished, 200, OutcomeSuccess}, {queued, 500, OutcomeHTTPError}} {
				if _, err := db.ExecContext(ctx, `INSERT INTO webhook_attempts (delivery_id, attempt, org_id, worker, url, started_at, latency_ms, status_code, outcome, response, error)
					VALUES ($1, 1, $2, 'old-worker', $3, $4, 12, $5, $6, 'resp', NULL)`, a.id, org.ID, rc.URL+"/up", now-3500, a.status, a.outcome); err != nil {
					t.Fatal(err)
				}
			}

			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_deliveries`).Scan(&n); err == nil {
				t.Fatal("the old delivery table is still there")
			}
			ds, _, err := ListDeliveries(ctx, db, org.ID, DeliveryFilter{})
			if err != nil || len(ds) != 3 {
				t.Fatalf("%d deliveries after the upgrade: %v", len(ds), err)
			}
			byID := map[string]*Delivery{}
			for _, d := range ds {
				byID[d.ID] = d
			}
			f := byID[finished]
			if f.Status != StateSucceeded || f.Trigger != TriggerPing || f.CompletedAt == nil || len(f.Attempts) != 1 ||
				f.Attempts[0].StatusCode != 200 || f.Attempts[0].Response != "resp" || f.Attempts[0].URL != rc.URL+"/up" || f.Attempts[0].LatencyMs != 12 {
				t.Fatalf("finished delivery: %+v", f)
			}
			if q := byID[queued]; q.Status != StatePending || q.AttemptCount != 1 || q.WebhookActionID != event || q.LastError != "HTTP 500" || ds[0].ID != leased {
				t.Fatalf("queued delivery: %+v (newest %s)", q, ds[0].ID)
			}

			// The queue delivers what the old release had queued …
			e.start(testConfig())
			d := e.waitState(event, 1, StateSucceeded)[0]
			if d.ID != queued || d.AttemptCount != 2 || d.Attempts[1].Outcome != OutcomeSuccess {
				t.Fatalf("delivered: %+v", d)
			}
			hs := rc.got("/up")
			if len(hs) != 1 || !Verify("up-secret", hs[0].body, hs[0].header.Get(SignatureHeader)) || !strings.Contains(string(hs[0].body), `"queued"`) {
				t.Fatalf("receiver got %d requests: %+v", len(hs), hs)
			}
			// … and leaves alone what an old worker still holds.
			l, err := GetDelivery(ctx, db, org.ID, leased)
			if err != nil || l.Status != StatePending || len(l.Attempts) != 0 {
				t.Fatalf("leased delivery: %+v %v", l, err)
			}
		})
	}
}
