package warehouse

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver
)

// DB is the warehouse: the target database.
type DB struct {
	sql      *sql.DB
	postgres bool
	// known caches the tables whose columns are in place.
	known map[string]bool
}

// Engine names the database engine ("sqlite" or "postgres").
func (db *DB) Engine() string {
	if db.postgres {
		return "postgres"
	}
	return "sqlite"
}

// SQL returns the underlying database, for queries.
func (db *DB) SQL() *sql.DB { return db.sql }

// Open opens the warehouse: "sqlite:PATH" (or a bare path) for SQLite,
// "postgres://…" for PostgreSQL (tables go in the DSN's search_path).
func Open(ctx context.Context, dsn string) (*DB, error) {
	db := &DB{known: map[string]bool{}}
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		p, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres warehouse: %w", err)
		}
		p.SetMaxOpenConns(8)
		db.sql, db.postgres = p, true
	default:
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
		if path == "" {
			return nil, errors.New("empty warehouse path")
		}
		q := url.Values{}
		// WAL with synchronous=NORMAL: a committed page survives the
		// process being killed; busy_timeout lets a reader (a BI tool)
		// share the file while a sync writes.
		for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "synchronous(NORMAL)"} {
			q.Add("_pragma", p)
		}
		s, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode()+"&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("open sqlite warehouse %s: %w", path, err)
		}
		// One writer: the streams' goroutines take turns.
		s.SetMaxOpenConns(1)
		db.sql = s
	}
	if err := db.sql.PingContext(ctx); err != nil {
		db.sql.Close()
		return nil, fmt.Errorf("connect to the %s warehouse: %w", db.Engine(), err)
	}
	if err := db.meta(ctx); err != nil {
		db.sql.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the database.
func (db *DB) Close() error { return db.sql.Close() }

func q(ident string) string { return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"` }

func (db *DB) sqlType(t ColType) string {
	if db.postgres {
		return map[ColType]string{Text: "TEXT", Bool: "BOOLEAN", Int: "BIGINT", Timestamp: "TIMESTAMPTZ", JSON: "JSONB"}[t]
	}
	return map[ColType]string{Text: "TEXT", Bool: "INTEGER", Int: "INTEGER", Timestamp: "TEXT", JSON: "TEXT"}[t]
}

// meta creates the tables of checkpoints and runs.
func (db *DB) meta(ctx context.Context) error {
	ts := db.sqlType(Timestamp)
	for _, stmt := range []string{
		`CREATE TABLE IF NOT EXISTS _sync_state (
			stream TEXT PRIMARY KEY,
			sync_token TEXT NOT NULL,
			run_id TEXT NOT NULL,
			full_sync_at ` + ts + `,
			updated_at ` + ts + ` NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS _sync_runs (
			run_id TEXT NOT NULL,
			stream TEXT NOT NULL,
			started_at ` + ts + ` NOT NULL,
			finished_at ` + ts + `,
			status TEXT NOT NULL,
			from_token TEXT NOT NULL,
			to_token TEXT,
			full_sync ` + db.sqlType(Bool) + `,
			fell_back TEXT,
			pages BIGINT,
			records BIGINT,
			deleted BIGINT,
			error TEXT,
			PRIMARY KEY (run_id, stream))`,
	} {
		if _, err := db.sql.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create warehouse bookkeeping tables: %w", err)
		}
	}
	return nil
}

// metaColumns are the columns every stream table has besides its own.
var metaColumns = []string{"doc", "last_seen_at", "sync_token", "run_id"}

// Ensure creates a stream's table, or adds the columns a newer version of
// the catalog gave it.
func (db *DB) Ensure(ctx context.Context, s *Stream) error {
	if db.known[s.Name] {
		return nil
	}
	cols := []string{q("id") + " TEXT PRIMARY KEY"}
	for _, c := range s.Columns {
		cols = append(cols, q(c.Name)+" "+db.sqlType(c.Type))
	}
	cols = append(cols, q("doc")+" "+db.sqlType(JSON)+" NOT NULL", q("last_seen_at")+" "+db.sqlType(Timestamp)+" NOT NULL",
		q("sync_token")+" TEXT NOT NULL", q("run_id")+" TEXT NOT NULL")
	if _, err := db.sql.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+q(s.Name)+` (`+strings.Join(cols, ", ")+`)`); err != nil {
		return fmt.Errorf("create table %s: %w", s.Name, err)
	}
	have, err := db.columns(ctx, s.Name)
	if err != nil {
		return err
	}
	for _, c := range s.Columns {
		if !have[c.Name] {
			// Filled as rows are written again: run --full to fill it now.
			if _, err := db.sql.ExecContext(ctx, `ALTER TABLE `+q(s.Name)+` ADD COLUMN `+q(c.Name)+` `+db.sqlType(c.Type)); err != nil {
				return fmt.Errorf("add column %s.%s: %w", s.Name, c.Name, err)
			}
		}
	}
	if _, err := db.sql.ExecContext(ctx, `CREATE INDEX IF NOT EXISTS `+q(s.Name+"_run_id")+` ON `+q(s.Name)+` (run_id)`); err != nil {
		return fmt.Errorf("index %s: %w", s.Name, err)
	}
	db.known[s.Name] = true
	return nil
}

func (db *DB) columns(ctx context.Context, table string) (map[string]bool, error) {
	var rows *sql.Rows
	var err error
	if db.postgres {
		rows, err = db.sql.QueryContext(ctx, `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`, table)
	} else {
		rows, err = db.sql.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
	}
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out[n] = true
	}
	return out, rows.Err()
}

// Checkpoint is where a walk of a stream stopped last time.
type Checkpoint struct {
	Token      string
	RunID      string
	FullSyncAt *time.Time
	UpdatedAt  time.Time
}

// Checkpoint returns the stored checkpoint of a walk (key: stream, or
// stream/variant), or nil when it never finished.
func (db *DB) Checkpoint(ctx context.Context, key string) (*Checkpoint, error) {
	var c Checkpoint
	var full, updated any
	err := db.sql.QueryRowContext(ctx, db.rebind(`SELECT sync_token, run_id, full_sync_at, updated_at FROM _sync_state WHERE stream = ?`), key).
		Scan(&c.Token, &c.RunID, &full, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint of %s: %w", key, err)
	}
	c.UpdatedAt = scanTime(updated)
	if full != nil {
		t := scanTime(full)
		c.FullSyncAt = &t
	}
	return &c, nil
}

// ResetCheckpoints forgets the checkpoints of the given keys.
func (db *DB) ResetCheckpoints(ctx context.Context, keys []string) error {
	for _, k := range keys {
		if _, err := db.sql.ExecContext(ctx, db.rebind(`DELETE FROM _sync_state WHERE stream = ?`), k); err != nil {
			return err
		}
	}
	return nil
}

func scanTime(v any) time.Time {
	switch t := v.(type) {
	case time.Time:
		return t
	case string:
		p, _ := time.Parse(time.RFC3339Nano, t)
		return p
	case []byte:
		p, _ := time.Parse(time.RFC3339Nano, string(t))
		return p
	}
	return time.Time{}
}

// rebind turns ? placeholders into $n for PostgreSQL.
func (db *DB) rebind(query string) string {
	if !db.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (db *DB) timeArg(t time.Time) any {
	if db.postgres {
		return t
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

// Page is what one page of a walk writes.
type Page struct {
	Stream  *Stream
	Variant string
	Records []json.RawMessage
	RunID   string
	// Token is the sync token the page was fetched with ("" in a full pass).
	Token string
	Now   time.Time
	// Finish, on the walk's last page, writes the checkpoint in the same
	// transaction.
	Finish *Finish
}

// Finish ends a walk: the checkpoint, and in a full pass the removal of
// the rows it did not see.
type Finish struct {
	Key      string
	NewToken string
	FullPass bool
}

// Write upserts a page's records and, on the last page, the checkpoint,
// in one transaction. It returns how many rows a full pass deleted.
func (db *DB) Write(ctx context.Context, p *Page) (deleted int64, err error) {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := db.upsert(ctx, tx, p); err != nil {
		return 0, err
	}
	if f := p.Finish; f != nil {
		if f.FullPass {
			del := `DELETE FROM ` + q(p.Stream.Name) + ` WHERE run_id <> ?`
			args := []any{p.RunID}
			if vc := variantColumn(p.Stream); vc != "" {
				del += ` AND ` + q(vc) + ` = ?`
				args = append(args, p.Variant)
			}
			res, err := tx.ExecContext(ctx, db.rebind(del), args...)
			if err != nil {
				return 0, fmt.Errorf("remove %s rows the server no longer has: %w", p.Stream.Name, err)
			}
			deleted, _ = res.RowsAffected()
		}
		var full any
		if f.FullPass {
			full = db.timeArg(p.Now)
		}
		up := `INSERT INTO _sync_state (stream, sync_token, run_id, full_sync_at, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (stream) DO UPDATE SET sync_token = excluded.sync_token, run_id = excluded.run_id,
			full_sync_at = COALESCE(excluded.full_sync_at, _sync_state.full_sync_at), updated_at = excluded.updated_at`
		if _, err := tx.ExecContext(ctx, db.rebind(up), f.Key, f.NewToken, p.RunID, full, db.timeArg(p.Now)); err != nil {
			return 0, fmt.Errorf("write checkpoint of %s: %w", f.Key, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit %s page: %w", p.Stream.Name, err)
	}
	return deleted, nil
}

func variantColumn(s *Stream) string {
	for _, c := range s.Columns {
		if c.FromVariant {
			return c.Name
		}
	}
	return ""
}

func (db *DB) upsert(ctx context.Context, tx *sql.Tx, p *Page) error {
	if len(p.Records) == 0 {
		return nil
	}
	s := p.Stream
	names := []string{"id"}
	for _, c := range s.Columns {
		names = append(names, c.Name)
	}
	names = append(names, metaColumns...)
	// One statement per page; a record repeated within a page (possible
	// when a record changes during a walk) is written once, last wins.
	seen := map[string]int{}
	var rows [][]any
	for _, raw := range p.Records {
		row, id, err := db.row(s, p, raw)
		if err != nil {
			return err
		}
		if i, ok := seen[id]; ok {
			rows[i] = row
			continue
		}
		seen[id] = len(rows)
		rows = append(rows, row)
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO ` + q(s.Name) + ` (`)
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(q(n))
	}
	b.WriteString(`) VALUES `)
	args := make([]any, 0, len(rows)*len(names))
	n := 0
	for i, row := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range row {
			if j > 0 {
				b.WriteString(", ")
			}
			n++
			if db.postgres {
				b.WriteString("$" + strconv.Itoa(n))
			} else {
				b.WriteByte('?')
			}
		}
		b.WriteByte(')')
		args = append(args, row...)
	}
	b.WriteString(` ON CONFLICT (id) DO UPDATE SET `)
	for i, n := range names[1:] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(q(n) + " = excluded." + q(n))
	}
	if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("upsert %d %s rows: %w", len(rows), s.Name, err)
	}
	return nil
}

// row builds a record's column values.
func (db *DB) row(s *Stream, p *Page, raw json.RawMessage) ([]any, string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, "", fmt.Errorf("%s: record is not a JSON object: %w", s.Name, err)
	}
	id, _ := doc["id"].(string)
	if id == "" {
		return nil, "", fmt.Errorf("%s: record without an id: %.200s", s.Name, raw)
	}
	row := []any{id}
	for _, c := range s.Columns {
		if c.FromVariant {
			row = append(row, p.Variant)
			continue
		}
		row = append(row, db.value(c.Type, lookup(doc, c.Path)))
	}
	// JSONB refuses \u0000; such a document is kept with the escape
	// spelled out rather than failing the sync.
	docText := string(raw)
	if db.postgres && strings.Contains(docText, `\u0000`) {
		docText = strings.ReplaceAll(docText, `\u0000`, `\\u0000`)
	}
	row = append(row, docText, db.timeArg(p.Now), p.Token, p.RunID)
	return row, id, nil
}

func lookup(doc map[string]any, path string) any {
	var v any = doc
	for _, part := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[part]
	}
	return v
}

func (db *DB) value(t ColType, v any) any {
	if v == nil {
		return nil
	}
	switch t {
	case Text:
		switch x := v.(type) {
		case string:
			return x
		case json.Number:
			return x.String()
		case bool:
			return strconv.FormatBool(x)
		}
		b, _ := json.Marshal(v)
		return string(b)
	case Bool:
		b, ok := v.(bool)
		if !ok {
			return nil
		}
		if db.postgres {
			return b
		}
		if b {
			return 1
		}
		return 0
	case Int:
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				return i
			}
		}
		return nil
	case Timestamp:
		s, ok := v.(string)
		if !ok {
			return nil
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil
		}
		if db.postgres {
			return t
		}
		return s
	case JSON:
		b, err := json.Marshal(v)
		if err != nil {
			return nil
		}
		return string(b)
	}
	return nil
}

// Docs returns every document of a stream's table by id, for checks and
// tests.
func (db *DB) Docs(ctx context.Context, stream string) (map[string]json.RawMessage, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id, doc FROM `+q(stream))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]json.RawMessage{}
	for rows.Next() {
		var id, doc string
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, err
		}
		out[id] = json.RawMessage(doc)
	}
	return out, rows.Err()
}

// Run bookkeeping: one _sync_runs row per (run, stream).

func (db *DB) startRun(ctx context.Context, runID, stream, fromToken string, now time.Time) error {
	_, err := db.sql.ExecContext(ctx, db.rebind(`INSERT INTO _sync_runs (run_id, stream, started_at, status, from_token) VALUES (?, ?, ?, 'running', ?)
		ON CONFLICT (run_id, stream) DO UPDATE SET started_at = excluded.started_at, status = 'running', from_token = excluded.from_token`),
		runID, stream, db.timeArg(now), fromToken)
	return err
}

func (db *DB) finishRun(ctx context.Context, runID string, r *StreamResult, now time.Time) error {
	errText := ""
	if r.Err != nil {
		errText = r.Err.Error()
	}
	full := any(r.Full)
	if !db.postgres {
		full = map[bool]int{false: 0, true: 1}[r.Full]
	}
	_, err := db.sql.ExecContext(ctx, db.rebind(`UPDATE _sync_runs SET finished_at = ?, status = ?, to_token = ?, full_sync = ?, fell_back = ?,
		pages = ?, records = ?, deleted = ?, error = ? WHERE run_id = ? AND stream = ?`),
		db.timeArg(now), r.Status, r.Token, full, r.FellBack, r.Pages, r.Records, r.Deleted, errText, runID, r.Key)
	return err
}
