package store_test

import (
	"context"
	"database/sql"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ashlarhq/ashlar/store"
)

// The faults the API answers 503 to are recognised from the drivers'
// errors: a read-only SQLite file and a PostgreSQL that does not answer.
// (A full disk and a PostgreSQL restart are tested end to end in
// cmd/ashlar.)
func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ro.db")
	db, err := store.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	db.Close()
	ro, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	_, err = ro.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ('x', 'y')`)
	if reason, ok := store.Unavailable(err); !ok || !strings.Contains(reason, "read-only") {
		t.Errorf("a write to a read-only SQLite file: %v → %q %v", err, reason, ok)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, err = store.Open(ctx, "postgres://postgres:pw@"+addr+"/x?sslmode=disable&connect_timeout=5")
	if reason, ok := store.Unavailable(err); !ok || !strings.Contains(reason, "PostgreSQL") {
		t.Errorf("PostgreSQL not answering: %v → %q %v", err, reason, ok)
	}

	for _, err := range []error{nil, store.ErrNotFound, context.Canceled} {
		if reason, ok := store.Unavailable(err); ok {
			t.Errorf("%v taken for an unavailable database (%s)", err, reason)
		}
	}
}
