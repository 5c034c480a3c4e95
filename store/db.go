package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Engine is the database engine behind a DB.
type Engine int

const (
	SQLite Engine = iota + 1
	Postgres
)

func (e Engine) String() string {
	if e == Postgres {
		return "postgres"
	}
	return "sqlite"
}

// DB is an open Ashlar database.
type DB struct {
	engine Engine
	// w is the write pool. On SQLite it has exactly one connection, so that
	// writers queue in Go instead of failing with SQLITE_BUSY, and commit
	// order equals the order in which change positions are assigned.
	w *sql.DB
	// r serves reads; on PostgreSQL it is the same pool as w.
	r *sql.DB

	secret    []byte // signs cursors and sync tokens
	macs      atomic.Pointer[macs]
	emitHooks []func()
	topics    topics // Subscribe and Notify
	// beforeCommit hooks run inside transactions that wrote records.
	beforeCommit []func(ctx context.Context, tx *Tx) error
	capture      bool
	// stmts caches prepared reads; wstmts statements prepared on SQLite's
	// single write connection.
	stmts, wstmts stmtCache
	smallStmts    stmtCache // prepared on small
	dsn           string
	path          string // the SQLite file
	sqliteSync    string // the write connection's synchronous setting: FULL or NORMAL

	// Now is the clock; tests replace it to age tokens.
	Now func() time.Time
	// SyncTokenTTL and CursorTTL bound how long tokens stay usable.
	SyncTokenTTL time.Duration
	CursorTTL    time.Duration
	// PageBytes is a list page's byte budget (0: DefaultPageBytes).
	PageBytes int

	pages *pageCache // nil: off
	// small (SQLite) serves the small per-request reads without mmap;
	// nil on PostgreSQL.
	small *sql.DB
	// group batches concurrent SQLite writes into one commit.
	group committer
	// versions and marksRead share reads of kinds' versions and of the
	// change markers among concurrent requests.
	versions  freshReads[versionRead]
	marksRead freshRead[marks]
}

// Default token lifetimes; see docs/sync.md.
const (
	DefaultSyncTokenTTL = 30 * 24 * time.Hour
	DefaultCursorTTL    = 24 * time.Hour
)

// ParseDSN tells which engine a DSN selects and returns the driver DSN.
// PostgreSQL: a "postgres://" or "postgresql://" URL, or a libpq
// key=value string ("host=… dbname=…"). SQLite: "sqlite:PATH", a
// "file:" URI or a bare path. Any other scheme ("mysql://…") is refused
// rather than taken for a file name.
func ParseDSN(dsn string) (Engine, string, error) {
	if scheme, _, ok := strings.Cut(dsn, "://"); ok && schemeRE.MatchString(scheme) {
		switch strings.ToLower(scheme) {
		case "postgres", "postgresql":
			return Postgres, dsn, nil
		case "sqlite":
		default:
			return 0, "", fmt.Errorf("unsupported database %q: use a postgres:// or postgresql:// URL, a libpq key=value string (host=… dbname=…), or a SQLite path (or sqlite:PATH)", scheme+"://…")
		}
	}
	if keywordRE.MatchString(dsn) {
		return Postgres, dsn, nil
	}
	if rest, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		dsn = strings.TrimPrefix(rest, "//")
	}
	if strings.TrimSpace(dsn) == "" {
		return 0, "", errors.New("empty database path")
	}
	return SQLite, dsn, nil
}

var (
	schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)
	// keywordRE recognises a libpq connection string by its first
	// keyword; a SQLite file whose name looks like one needs sqlite:.
	keywordRE = regexp.MustCompile(`^\s*(host|hostaddr|port|dbname|user|password|passfile|sslmode|service|connect_timeout|application_name|options|target_session_attrs)\s*=`)
)

// sqliteOpenError names the file and, where the driver's message does
// not, the reason it could not be opened.
func sqliteOpenError(path string, err error) error {
	reason := ""
	if st, serr := os.Stat(path); serr == nil && st.IsDir() {
		reason = "it is a directory"
	} else if dir := filepath.Dir(path); dir != "" {
		if st, serr := os.Stat(dir); serr != nil {
			reason = fmt.Sprintf("its directory %s does not exist", dir)
		} else if !st.IsDir() {
			reason = fmt.Sprintf("%s is not a directory", dir)
		} else {
			reason = notWritable(path, dir)
		}
	}
	if reason != "" {
		return fmt.Errorf("open SQLite database %s: %s (%w)", path, reason, err)
	}
	return fmt.Errorf("open SQLite database %s: %w", path, err)
}

// notWritable says why SQLite cannot write the database file or create
// its -wal and -shm files beside it, or "" if it can. SQLite's own message
// is only "unable to open database file".
func notWritable(path, dir string) string {
	const wOK = 2 // access(2)'s W_OK
	for _, p := range []string{path, dir} {
		if _, err := os.Stat(p); err != nil {
			continue // a file not created yet
		}
		switch err := syscall.Access(p, wOK); {
		case errors.Is(err, syscall.EROFS):
			return fmt.Sprintf("%s is on a read-only file system", p)
		case err != nil:
			return fmt.Sprintf("%s is read-only for this user (SQLite writes the file and creates -wal and -shm files in its directory)", p)
		}
	}
	return ""
}

// Options adjust Open.
type Options struct {
	// SQLiteSynchronous is SQLite's synchronous setting on the write
	// connection: "full" (the default) makes every acknowledged write
	// durable, even if the OS crashes or the power fails; "normal" is
	// faster, and in WAL mode such a crash may lose the last transactions
	// (never corrupt the database).
	SQLiteSynchronous string
	// PageCacheBytes bounds the memory kept for list pages (0:
	// DefaultPageCacheBytes; negative: no cache).
	PageCacheBytes int
}

// Open opens the database the DSN names with the default options. It does
// not migrate; call Migrate.
func Open(ctx context.Context, dsn string) (*DB, error) { return OpenWith(ctx, dsn, Options{}) }

// OpenWith opens the database the DSN names. It does not migrate.
func OpenWith(ctx context.Context, dsn string, o Options) (*DB, error) {
	sync := strings.ToUpper(o.SQLiteSynchronous)
	switch sync {
	case "":
		sync = "FULL"
	case "FULL", "NORMAL":
	default:
		return nil, fmt.Errorf("SQLite synchronous setting %q: use full or normal", o.SQLiteSynchronous)
	}
	engine, target, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	db := &DB{engine: engine, dsn: dsn, sqliteSync: sync, Now: time.Now, SyncTokenTTL: DefaultSyncTokenTTL, CursorTTL: DefaultCursorTTL}
	switch {
	case o.PageCacheBytes == 0:
		db.pages = newPageCache(DefaultPageCacheBytes)
	case o.PageCacheBytes > 0:
		db.pages = newPageCache(o.PageCacheBytes)
	}
	switch engine {
	case Postgres:
		p, err := sql.Open("pgx", target)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		p.SetMaxOpenConns(max(16, 4*runtime.NumCPU()))
		p.SetMaxIdleConns(max(16, 4*runtime.NumCPU()))
		p.SetConnMaxIdleTime(5 * time.Minute)
		db.w, db.r = p, p
	case SQLite:
		path := strings.TrimPrefix(target, "file:")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		q := url.Values{}
		// mmap lets readers use the OS page cache directly instead of a
		// pread per database page, which dominated list reads in profiles.
		// The size is the most the driver allows (SQLITE_MAX_MMAP_SIZE):
		// past it, pages are read with pread. With 1 GB, a database of
		// 100,000 candidates (1.2 GB) read a fifth of an incremental
		// sync's scattered rows that way (a walk of 10 pages: 32 ms
		// against 24 ms).
		for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(ON)", "mmap_size(2147418112)"} {
			q.Add("_pragma", p)
		}
		// synchronous=FULL syncs the WAL at every commit, so that a write
		// the API acknowledged survives a crash of the OS; readers write
		// nothing, so theirs does not matter. The page cache is anonymous
		// memory of the process, per connection: the writer keeps 16 MB
		// (the index pages its writes touch), readers 2 MB each, since
		// they read the database through mmap (file-backed memory the
		// kernel can reclaim) and cache only pages read from the WAL.
		wq := url.Values{"_pragma": append(slices.Clone(q["_pragma"]), "synchronous("+sync+")", "cache_size(-16000)")}
		q.Add("_pragma", "cache_size(-2000)")
		// _txlock=immediate takes the write lock at BEGIN, so a transaction
		// never fails half-way because another process started writing.
		w, err := sql.Open("sqlite", "file:"+path+"?"+wq.Encode()+"&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		w.SetConnMaxLifetime(0)
		q.Add("_pragma", "query_only(1)")
		r, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		n := max(4, 2*runtime.NumCPU())
		r.SetMaxOpenConns(n)
		r.SetMaxIdleConns(n)
		r.SetConnMaxLifetime(0)
		// The per-request reads of the change markers and of a kind's
		// version (fresh.go, pagecache.go) touch a few pages. Through mmap
		// each read transaction after a write that grew the file unmaps
		// and maps the whole database again: in a profile of 32 clients
		// creating candidates that munmap was an eighth of the server's
		// CPU. These reads get connections of their own that read with
		// pread into a small page cache.
		mq := url.Values{"_pragma": {"journal_mode(WAL)", "busy_timeout(10000)", "mmap_size(0)", "cache_size(-2000)", "query_only(1)"}}
		m, err := sql.Open("sqlite", "file:"+path+"?"+mq.Encode())
		if err != nil {
			w.Close()
			r.Close()
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		m.SetMaxOpenConns(2)
		m.SetMaxIdleConns(2)
		m.SetConnMaxLifetime(0)
		db.w, db.r, db.small, db.path = w, r, m, path
	}
	if err := db.w.PingContext(ctx); err != nil {
		db.Close()
		if engine == SQLite {
			return nil, sqliteOpenError(db.path, err)
		}
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	return db, nil
}

// Close closes both pools.
func (db *DB) Close() error {
	db.stmts.close()
	db.wstmts.close()
	db.smallStmts.close()
	err := db.w.Close()
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	if db.small != nil {
		err = errors.Join(err, db.small.Close())
	}
	return err
}

// Engine reports which engine this DB runs on.
func (db *DB) Engine() Engine { return db.engine }

// PoolStats reports the connection pools for metrics: "read" and
// "write" on SQLite, one "pool" on PostgreSQL.
func (db *DB) PoolStats() map[string]sql.DBStats {
	if db.r == db.w {
		return map[string]sql.DBStats{"pool": db.w.Stats()}
	}
	return map[string]sql.DBStats{"read": db.r.Stats(), "write": db.w.Stats()}
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.r.PingContext(ctx) }

// Secret is the server secret used to sign tokens, created by the first
// migration and shared by every process on this database.
func (db *DB) Secret() []byte { return db.secret }

func (db *DB) loadSecret(ctx context.Context) error {
	var s string
	err := db.w.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = 'server_secret'`).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		b := make([]byte, 32)
		rand.Read(b)
		s = hex.EncodeToString(b)
		if _, err := db.w.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ('server_secret', $1) ON CONFLICT (name) DO NOTHING`, s); err != nil {
			return fmt.Errorf("store server secret: %w", err)
		}
		return db.loadSecret(ctx)
	}
	if err != nil {
		return fmt.Errorf("load server secret: %w", err)
	}
	db.secret, err = hex.DecodeString(s)
	return err
}

// Q runs queries: the read pool (*DB) or a write transaction (*Tx).
type Q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	lockSuffix() string
	store() *DB
}

func (db *DB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := db.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return db.r.QueryContext(ctx, q, args...)
}

// smallRead runs a read of a few pages (the change markers, a kind's
// version): on SQLite on connections that do not map the database (see
// OpenWith), elsewhere as QueryRowContext.
func (db *DB) smallRead(ctx context.Context, q string, args ...any) *sql.Row {
	if db.small == nil {
		return db.QueryRowContext(ctx, q, args...)
	}
	st, ok := db.smallStmts.get(q)
	if !ok {
		var err error
		if st, err = db.small.PrepareContext(ctx, q); err != nil {
			return db.small.QueryRowContext(ctx, q, args...) // reports the error
		}
		st = db.smallStmts.add(q, st)
	}
	return st.QueryRowContext(ctx, args...)
}

func (db *DB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := db.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return db.r.QueryRowContext(ctx, q, args...)
}

// maxStmts bounds each prepared-statement cache. When one is full, an
// arbitrary entry is evicted and closed (database/sql closes it once the
// queries still using it finish), so that queries of many shapes (IN
// lists of many lengths) cannot grow it without bound.
const maxStmts = 512

// stmtCache holds prepared statements by query text.
type stmtCache struct {
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func (c *stmtCache) get(q string) (*sql.Stmt, bool) {
	c.mu.RLock()
	st, ok := c.m[q]
	c.mu.RUnlock()
	return st, ok
}

// add stores st for q and returns the statement to use: st, or the one
// another goroutine stored first (st is then closed).
func (c *stmtCache) add(q string, st *sql.Stmt) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[q]; ok {
		st.Close()
		return prev
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	if len(c.m) >= maxStmts {
		for old, ost := range c.m { // map order: an arbitrary victim
			delete(c.m, old)
			ost.Close()
			break
		}
	}
	c.m[q] = st
	return st
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}

// stmt returns a prepared statement for a read query. Preparing once and
// reusing it saves SQLite from parsing the SQL on every page, which showed
// up in list profiles.
func (db *DB) stmt(ctx context.Context, q string) *sql.Stmt {
	if st, ok := db.stmts.get(q); ok {
		return st
	}
	st, err := db.r.PrepareContext(ctx, q)
	if err != nil {
		return nil // let the plain query report the error
	}
	return db.stmts.add(q, st)
}

// ExecContext on a DB runs on the write pool, outside any transaction.
func (db *DB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return db.w.ExecContext(ctx, q, args...)
}
func (db *DB) lockSuffix() string { return "" }
func (db *DB) store() *DB         { return db }

// Tx is a write transaction.
type Tx struct {
	*sql.Tx
	db       *DB
	chg      int64
	afterFns []func()
	emitted  bool
	notified map[string]bool
	written  []Written
	seen     map[docKey][]byte
	// locked records what this transaction knows under lock about each
	// record it read for update, inserted or deleted; Put overwrites only
	// records it holds (see Kind.Put).
	locked map[docKey]lockState
	// unprepared are statements run without a prepared statement, to
	// prepare once the write connection is free again.
	unprepared []string
	// shared: the physical transaction is shared with other writers
	// (group commit), so a statement must not be interrupted when this
	// writer's context ends: SQLite would roll back the whole
	// transaction, theirs included.
	shared bool
}

// stmtCtx is the context a statement of the transaction runs with.
func (tx *Tx) stmtCtx(ctx context.Context) context.Context {
	if tx.shared {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// On SQLite a transaction's statements run through statements prepared
// once on the single write connection: modernc.org/sqlite otherwise
// parses every statement anew, which was most of a small write's cost.
// PostgreSQL's driver keeps its own statement cache.

// ExecContext runs a statement in the transaction.
func (tx *Tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	ctx = tx.stmtCtx(ctx)
	if st := tx.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.Tx.ExecContext(ctx, q, args...)
}

// QueryContext runs a query in the transaction.
func (tx *Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	ctx = tx.stmtCtx(ctx)
	if st := tx.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.Tx.QueryContext(ctx, q, args...)
}

// QueryRowContext runs a single-row query in the transaction.
func (tx *Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	ctx = tx.stmtCtx(ctx)
	if st := tx.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.Tx.QueryRowContext(ctx, q, args...)
}

func (tx *Tx) stmt(ctx context.Context, q string) *sql.Stmt {
	if tx.db.engine != SQLite {
		return nil
	}
	st, ok := tx.db.wstmts.get(q)
	if !ok {
		// The write connection is this transaction's until it ends, so
		// the statement is prepared for later transactions once it has.
		tx.unprepared = append(tx.unprepared, q)
		return nil
	}
	// The write pool has one connection, the one st was prepared on, so
	// the transaction's statement reuses it without parsing.
	return tx.Tx.StmtContext(ctx, st)
}

// prepareWrites prepares statements a finished transaction ran unprepared.
func (db *DB) prepareWrites(ctx context.Context, qs []string) {
	for _, q := range qs {
		if _, ok := db.wstmts.get(q); ok {
			continue
		}
		st, err := db.w.PrepareContext(ctx, q)
		if err != nil {
			continue // the query keeps running unprepared
		}
		db.wstmts.add(q, st)
	}
}

func (tx *Tx) lockSuffix() string {
	if tx.db.engine == Postgres {
		return " FOR UPDATE"
	}
	return "" // SQLite has one writer; the transaction already excludes others
}
func (tx *Tx) store() *DB { return tx.db }

// DB returns the database the transaction runs on.
func (tx *Tx) DB() *DB { return tx.db }

// RelaxDurability lets this transaction's commit return before its log
// record is flushed to disk (PostgreSQL's synchronous_commit=off; SQLite
// keeps its connection's setting, full unless Options say otherwise:
// SQLite changes it only between transactions, which WriteRelaxed does).
// A server crash can then lose the transaction, but never corrupt data or
// commit it partially. Only for bookkeeping that is safe to redo, such as
// the job queue's claims and attempt records under at-least-once delivery.
func (tx *Tx) RelaxDurability(ctx context.Context) error {
	if tx.db.engine != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
		return fmt.Errorf("relax durability: %w", err)
	}
	return nil
}

// Written is a record a transaction stored or deleted. With CaptureChanges
// on, Before holds the document as it was before this write (nil: it did
// not exist) and After as this write left it (nil: deleted).
type Written struct {
	Org, Kind, ID string
	Deleted       bool
	Before, After []byte
}

// CaptureChanges makes every write record the document before and after
// it in Tx.Written, for an audit log to diff without reading anything.
// A record already read in the transaction costs nothing more; otherwise
// a write reads the previous document first.
func (db *DB) CaptureChanges() { db.capture = true }

type docKey struct{ org, kind, id string }

// lockState is what a transaction knows about a record under lock.
type lockState uint8

const (
	unknown lockState = iota // never read with a lock: Put may only insert it
	held                     // exists, and this transaction holds its row lock
	absent                   // a locking read found nothing (or this transaction deleted it)
)

func (tx *Tx) setLock(org, kind, id string, st lockState) {
	if tx.locked == nil {
		tx.locked = map[docKey]lockState{}
	}
	tx.locked[docKey{org, kind, id}] = st
}

func (tx *Tx) lockOf(org, kind, id string) lockState { return tx.locked[docKey{org, kind, id}] }

// remember notes a document's current state in this transaction (nil:
// absent), so that a later write knows what it replaces.
func (tx *Tx) remember(org, kind, id string, doc []byte) {
	if !tx.db.capture {
		return
	}
	if tx.seen == nil {
		tx.seen = map[docKey][]byte{}
	}
	tx.seen[docKey{org, kind, id}] = doc
}

// previous returns a document as it stands in this transaction before a
// write: remembered, or read.
func (tx *Tx) previous(ctx context.Context, org, kind, id string) ([]byte, error) {
	if doc, ok := tx.seen[docKey{org, kind, id}]; ok {
		return doc, nil
	}
	var doc []byte
	err := tx.QueryRowContext(ctx, `SELECT doc FROM docs WHERE org_id = $1 AND kind = $2 AND id = $3`, org, kind, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s %s before writing it: %w", kind, id, err)
	}
	return doc, nil
}

// Written lists the records this transaction has stored or deleted so far.
func (tx *Tx) Written() []Written { return tx.written }

// BeforeCommit registers fn to run at the end of every write transaction
// that stored or deleted records, inside it: what fn writes commits or
// rolls back with the change (the audit log uses it). ctx is the one
// given to Write.
func (db *DB) BeforeCommit(fn func(ctx context.Context, tx *Tx) error) {
	db.beforeCommit = append(db.beforeCommit, fn)
}

// AfterCommit registers fn to run once the transaction has committed.
func (tx *Tx) AfterCommit(fn func()) { tx.afterFns = append(tx.afterFns, fn) }

// ChangeTx returns this transaction's change position, assigning it on
// first use. Every row the transaction writes is stamped with it.
//
// SQLite: a counter bumped inside the write transaction. There is one
// writer, so counter order is commit order.
// PostgreSQL: the transaction id (xid8). Ids are assigned in start order,
// not commit order; readers compensate by reading only below the snapshot
// horizon (see Horizon).
func (tx *Tx) ChangeTx(ctx context.Context) (int64, error) {
	if tx.chg != 0 {
		return tx.chg, nil
	}
	var q string
	if tx.db.engine == Postgres {
		q = `SELECT pg_current_xact_id()::text::bigint`
	} else {
		q = `UPDATE counters SET value = value + 1 WHERE name = 'chg' RETURNING value`
	}
	if err := tx.QueryRowContext(ctx, q).Scan(&tx.chg); err != nil {
		return 0, fmt.Errorf("assign change position: %w", err)
	}
	return tx.chg, nil
}

// NextInSeries returns the next number of a named series (say, one per
// organization) in this transaction. The first use seeds the series with
// what seed returns (the highest number already taken). The series' row
// stays locked until the transaction ends, so concurrent transactions
// draw distinct numbers, and a rolled-back draw is drawn again.
func (tx *Tx) NextInSeries(ctx context.Context, name string, seed func() (int64, error)) (int64, error) {
	var n int64
	err := tx.QueryRowContext(ctx, `UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value`, name).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		start, serr := seed()
		if serr != nil {
			return 0, fmt.Errorf("seed series %s: %w", name, serr)
		}
		if _, serr := tx.ExecContext(ctx, `INSERT INTO counters (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, start); serr != nil {
			return 0, fmt.Errorf("seed series %s: %w", name, serr)
		}
		err = tx.QueryRowContext(ctx, `UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value`, name).Scan(&n)
	}
	if err != nil {
		return 0, fmt.Errorf("next in series %s: %w", name, err)
	}
	return n, nil
}

// RaiseSeries makes sure the series' next number is above n, once n has
// been taken by hand. A series not used yet is left to its seed.
func (tx *Tx) RaiseSeries(ctx context.Context, name string, n int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE counters SET value = $2 WHERE name = $1 AND value < $2`, name, n); err != nil {
		return fmt.Errorf("raise series %s: %w", name, err)
	}
	return nil
}

// Horizon returns the change position below which every transaction has
// finished: rows stamped below it are all visible now and no transaction
// can still stamp a row below it.
func (db *DB) Horizon(ctx context.Context) (int64, error) {
	var q string
	if db.engine == Postgres {
		q = `SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint`
	} else {
		q = `SELECT value + 1 FROM counters WHERE name = 'chg'`
	}
	var h int64
	if err := db.QueryRowContext(ctx, q).Scan(&h); err != nil {
		return 0, fmt.Errorf("read change horizon: %w", err)
	}
	return h, nil
}

// Write runs fn in a write transaction and commits it. It retries the whole
// transaction on serialization failures and deadlocks (PostgreSQL) and on
// a busy database (SQLite shared with another process).
func (db *DB) Write(ctx context.Context, fn func(tx *Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := db.writeOnce(ctx, fn, false)
		if err == nil || attempt >= 8 || !retryable(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(1<<attempt) * 5 * time.Millisecond)
	}
}

func (db *DB) writeOnce(ctx context.Context, fn func(tx *Tx) error, relaxed bool) (err error) {
	if db.engine == SQLite && !relaxed {
		return db.writeGrouped(ctx, fn)
	}
	var stx *sql.Tx
	var pinned *sql.Conn
	if relaxed && db.engine == SQLite && db.sqliteSync != "NORMAL" {
		if pinned, stx, err = db.beginRelaxedSQLite(ctx); err != nil {
			return err
		}
	} else if stx, err = db.w.BeginTx(ctx, nil); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{Tx: stx, db: db}
	defer func() {
		if pinned != nil {
			db.endRelaxedSQLite(pinned)
		}
	}()
	if relaxed && db.engine == Postgres {
		if err = tx.RelaxDurability(ctx); err != nil {
			stx.Rollback()
			return err
		}
	}
	defer func() {
		if p := recover(); p != nil {
			stx.Rollback()
			panic(p)
		}
		if err != nil {
			stx.Rollback()
		}
	}()
	if err = db.runWrite(ctx, tx, fn); err != nil {
		return err
	}
	if err = stx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if pinned != nil {
		// The connection is FULL again before anything else may use it,
		// and before the after-commit functions run.
		db.endRelaxedSQLite(pinned)
		pinned = nil
	}
	db.committed(ctx, tx)
	return nil
}

// runWrite runs a write's function and what every write does before it
// commits.
func (db *DB) runWrite(ctx context.Context, tx *Tx, fn func(tx *Tx) error) error {
	if err := fn(tx); err != nil {
		return err
	}
	// A request sent with an Idempotency-Key commits only while the key
	// is its own, and marks it applied with its write.
	if err := markIdempotent(ctx, tx); err != nil {
		return err
	}
	if len(tx.written) > 0 {
		for _, hook := range db.beforeCommit {
			if err := hook(ctx, tx); err != nil {
				return err
			}
		}
	}
	return nil
}

// committed does what follows a write's commit.
func (db *DB) committed(ctx context.Context, tx *Tx) {
	forgetMarks(ctx)
	if len(tx.unprepared) > 0 {
		db.prepareWrites(ctx, tx.unprepared)
	}
	for _, f := range tx.afterFns {
		f()
	}
}

func retryable(err error) bool {
	if errors.Is(err, errInsertRace) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		c := sqErr.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

// IsUniqueViolation reports whether err is a unique-constraint violation.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		return sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// ErrNotFound is returned when a record does not exist in the organization.
var ErrNotFound = errors.New("not found")

// Millis converts t to epoch milliseconds, the unit of every time column.
func Millis(t time.Time) int64 { return t.UnixMilli() }
