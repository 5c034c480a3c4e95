package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
)

// A relaxed write commits like any other, and leaves SQLite's write
// connection as durable as it found it, whether it commits or rolls back.
func TestWriteRelaxed(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var org *store.Org
		if err := db.WriteRelaxed(ctx, func(tx *store.Tx) (err error) { org, err = tx.CreateOrg(ctx, storetest.Name("relaxed"), ""); return }); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		if err := db.WriteRelaxed(ctx, func(tx *store.Tx) error {
			if _, err := tx.Emit(ctx, org.ID, "jobCreate", map[string]string{}); err != nil {
				return err
			}
			return boom
		}); !errors.Is(err, boom) {
			t.Fatal(err)
		}
		var events int
		db.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE org_id = $1`, org.ID).Scan(&events)
		if events != 0 {
			t.Fatal("a rolled-back relaxed write left its event")
		}
		if db.Engine() != store.SQLite {
			return
		}
		// The next ordinary write runs on the same single connection: its
		// setting is FULL again (2).
		var level int
		if err := db.Write(ctx, func(tx *store.Tx) error {
			return tx.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&level)
		}); err != nil {
			t.Fatal(err)
		}
		if level != 2 {
			t.Fatalf("synchronous = %d after relaxed writes, want 2 (FULL)", level)
		}
		// (Another text: SQLite bakes a pragma's value into a prepared
		// statement, and the store keeps the first one prepared.)
		if err := db.WriteRelaxed(ctx, func(tx *store.Tx) error {
			return tx.QueryRowContext(ctx, `PRAGMA main.synchronous`).Scan(&level)
		}); err != nil {
			t.Fatal(err)
		}
		if level != 1 {
			t.Fatalf("synchronous = %d in a relaxed write, want 1 (NORMAL)", level)
		}
	})
}
