package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ashlarhq/ashlar/store"
)

// The write connection syncs every commit (synchronous=FULL, 2) unless
// the faster mode is asked for (NORMAL, 1).
func TestSQLiteWritesAreDurableByDefault(t *testing.T) {
	ctx := context.Background()
	for mode, want := range map[string]int{"": 2, "full": 2, "normal": 1, "NORMAL": 1} {
		db, err := store.OpenWith(ctx, "sqlite:"+filepath.Join(t.TempDir(), "d.db"), store.Options{SQLiteSynchronous: mode})
		if err != nil {
			t.Fatal(err)
		}
		var got int
		err = db.Write(ctx, func(tx *store.Tx) error {
			return tx.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&got)
		})
		db.Close()
		if err != nil || got != want {
			t.Errorf("mode %q: synchronous=%d (%v), want %d", mode, got, err, want)
		}
	}
	if _, err := store.OpenWith(ctx, "sqlite:"+filepath.Join(t.TempDir(), "e.db"), store.Options{SQLiteSynchronous: "off"}); err == nil {
		t.Error("synchronous=off accepted")
	}
}
