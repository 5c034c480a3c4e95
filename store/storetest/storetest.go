// Package storetest opens fresh Ashlar databases for tests, on every
// engine: a temporary SQLite file, and a private PostgreSQL schema.
//
// PostgreSQL comes from ASHLAR_TEST_POSTGRES (a DSN), else the local
// default postgres://postgres@127.0.0.1:5432/test. When it cannot be
// reached the PostgreSQL variants are skipped, unless
// ASHLAR_REQUIRE_POSTGRES=1 (set by .ci/run), which makes them fail.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/ashlarhq/ashlar/store"
)

// DefaultPostgres is the DSN tried when ASHLAR_TEST_POSTGRES is unset.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

var (
	pgOnce sync.Once
	pgErr  error
	pgBase string
)

// PostgresBase returns the base DSN, or an error when PostgreSQL cannot be
// reached.
func PostgresBase() (string, error) {
	pgOnce.Do(func() {
		pgBase = os.Getenv("ASHLAR_TEST_POSTGRES")
		if pgBase == "" {
			pgBase = DefaultPostgres
		}
		db, err := sql.Open("pgx", pgBase)
		if err != nil {
			pgErr = err
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pgErr = db.PingContext(ctx)
	})
	return pgBase, pgErr
}

// Engines lists the engines tests run on.
var Engines = []store.Engine{store.SQLite, store.Postgres}

// DSN returns a DSN for a fresh, empty database on the engine, removed
// when the test ends. For PostgreSQL that is a new schema.
func DSN(t testing.TB, engine store.Engine) string {
	t.Helper()
	if engine == store.SQLite {
		return "sqlite:" + filepath.Join(t.TempDir(), "ashlar.db")
	}
	base, err := PostgresBase()
	if err != nil {
		if os.Getenv("ASHLAR_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("PostgreSQL is required (ASHLAR_REQUIRE_POSTGRES=1) but unreachable: %v", err)
		}
		t.Skipf("PostgreSQL unreachable (%v); set ASHLAR_TEST_POSTGRES", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens and migrates a fresh database on the engine.
func Open(t testing.TB, engine store.Engine) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, DSN(t, engine))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// Run runs fn as a subtest on every engine, each with a fresh database.
func Run(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	for _, e := range Engines {
		t.Run(e.String(), func(t *testing.T) {
			fn(t, Open(t, e))
		})
	}
}

// Name is a helper for tests that need unique names.
func Name(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s-%s", prefix, hex.EncodeToString(b))
}

// OpenTwo opens a fresh database twice, as two processes sharing it
// would: each handle has its own connections (and caches).
func OpenTwo(t testing.TB, engine store.Engine) (*store.DB, *store.DB) {
	t.Helper()
	ctx := context.Background()
	dsn := DSN(t, engine)
	var dbs [2]*store.DB
	for i := range dbs {
		db, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		dbs[i] = db
	}
	return dbs[0], dbs[1]
}
