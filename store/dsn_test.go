package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
)

func TestParseDSN(t *testing.T) {
	for _, c := range []struct {
		dsn    string
		engine store.Engine
		target string
	}{
		{"postgres://u:p@h/db", store.Postgres, "postgres://u:p@h/db"},
		{"postgresql://u@h:5432/db?sslmode=disable", store.Postgres, "postgresql://u@h:5432/db?sslmode=disable"},
		{"PostgreSQL://u@h/db", store.Postgres, "PostgreSQL://u@h/db"},
		{"host=127.0.0.1 user=postgres dbname=test", store.Postgres, "host=127.0.0.1 user=postgres dbname=test"},
		{"  dbname=test sslmode=disable", store.Postgres, "  dbname=test sslmode=disable"},
		{"./ashlar.db", store.SQLite, "./ashlar.db"},
		{"/var/lib/ashlar/ashlar.db", store.SQLite, "/var/lib/ashlar/ashlar.db"},
		{"sqlite:data/a.db", store.SQLite, "data/a.db"},
		{"sqlite:///abs/a.db", store.SQLite, "/abs/a.db"},
		{"sqlite:host=x.db", store.SQLite, "host=x.db"},
		{"file:a.db?mode=ro", store.SQLite, "file:a.db?mode=ro"},
		{"my file.db", store.SQLite, "my file.db"},
	} {
		engine, target, err := store.ParseDSN(c.dsn)
		if err != nil || engine != c.engine || target != c.target {
			t.Errorf("ParseDSN(%q) = %v, %q, %v; want %v, %q", c.dsn, engine, target, err, c.engine, c.target)
		}
	}
	for _, dsn := range []string{"mysql://root@localhost/ashlar", "sqlserver://x", "redis://127.0.0.1", "", "sqlite:"} {
		_, _, err := store.ParseDSN(dsn)
		if err == nil {
			t.Errorf("ParseDSN(%q) accepted it", dsn)
			continue
		}
		if strings.Contains(dsn, "://") && !strings.Contains(err.Error(), "postgres://") {
			t.Errorf("ParseDSN(%q): the error does not name what is supported: %v", dsn, err)
		}
	}
}

func TestSQLiteOpenErrorsNameThePathAndReason(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("not a database ", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, reason string }{
		{filepath.Join(dir, "missing", "a.db"), "does not exist"},
		{dir, "is a directory"},
		{notDB, "not a database"},
		{filepath.Join(notDB, "a.db"), "is not a directory"},
	} {
		db, err := store.Open(context.Background(), c.path)
		if err == nil {
			db.Close()
			t.Errorf("opening %s succeeded", c.path)
			continue
		}
		if !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("opening %s: %v; want the path and %q", c.path, err, c.reason)
		}
	}
}

func TestInitialized(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine.String(), func(t *testing.T) {
			ctx := context.Background()
			db, err := store.Open(ctx, storetest.DSN(t, engine))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if ok, err := db.Initialized(ctx); err != nil || ok {
				t.Fatalf("a new database: Initialized = %v, %v", ok, err)
			}
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if ok, err := db.Initialized(ctx); err != nil || !ok {
				t.Fatalf("after Migrate: Initialized = %v, %v", ok, err)
			}
		})
	}
}

// A backup taken while another connection keeps writing is a consistent
// database: it opens, passes an integrity check, and holds every row the
// writer committed before the backup began.
func TestBackupUnderConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.DSN(t, store.SQLite)
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// The backup runs on a handle of its own, as "ashlar backup" does in
	// its own process, so the writer's connection is not shared with it.
	bk, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer bk.Close()
	org := newOrg(t, db)
	progress := make(chan int64, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writeErr error
	var mu sync.Mutex
	committed := int64(0)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			err := db.Write(ctx, func(tx *store.Tx) error {
				return widgets.Put(ctx, tx, org, &widget{ID: ashby.NewID(), Name: "w", CreatedAt: ashby.Now()})
			})
			if err != nil {
				writeErr = err
				close(progress)
				return
			}
			mu.Lock()
			committed++
			n := committed
			mu.Unlock()
			select {
			case progress <- n:
			default:
			}
		}
	}()
	count := func() int64 {
		mu.Lock()
		defer mu.Unlock()
		return committed
	}
	dir := t.TempDir()
	for i := range 3 {
		// Wait for the writer to be well under way.
		for n := range progress {
			if n >= int64(20*(i+1)) {
				break
			}
		}
		before := count()
		path := filepath.Join(dir, "backup"+string(rune('a'+i))+".db")
		if err := bk.Backup(ctx, path); err != nil {
			t.Fatal(err)
		}
		if err := bk.Backup(ctx, path); err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Fatalf("a second backup to the same file: %v", err)
		}
		snap, err := store.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		var check string
		if err := snap.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
			t.Fatalf("integrity_check of the backup: %q, %v", check, err)
		}
		var n int64
		if err := snap.QueryRowContext(ctx, `SELECT COUNT(*) FROM docs WHERE kind = 'test_widget'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if ok, err := snap.Initialized(ctx); err != nil || !ok {
			t.Fatalf("the backup has no migrations table: %v %v", ok, err)
		}
		snap.Close()
		if n < before {
			t.Fatalf("backup %d holds %d widgets; %d were committed before it began", i, n, before)
		}
		t.Logf("backup %d: %d widgets (%d committed before it began, %d after it)", i, n, before, count())
	}
	close(stop)
	wg.Wait()
	if writeErr != nil {
		t.Fatalf("the writer failed: %v", writeErr)
	}

	pg := storetest.Open(t, store.Postgres)
	if err := pg.Backup(ctx, filepath.Join(dir, "pg.db")); err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Fatalf("backup on PostgreSQL: %v", err)
	}
}
