package webhook

import (
	"context"
	"errors"
	"testing"

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
