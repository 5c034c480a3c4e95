package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Index is what the docs table knows about a record besides its JSON: the
// values that queries filter and order on. A Kind's Index function derives
// it from the record, so it can never disagree with the document.
type Index struct {
	ID        string
	CreatedAt time.Time
	Archived  bool
	// Parent, Ref, State, Search, Unique, T1 and T2 mean what the kind says
	// (for applications: Parent is the job, Ref the candidate, State the
	// status). Empty or zero means NULL.
	Parent string
	Ref    string
	State  string
	Search string
	// Unique must be unique among the organization's records of this kind.
	Unique string
	T1, T2 int64
	// Keys are extra multi-valued lookups, maintained only for kinds that
	// set HasKeys.
	Keys []Key
}

// Key is one multi-valued lookup entry, e.g. {"email", "ada@example.com"}.
type Key struct{ Name, Value string }

// Kind is a type of record stored as a document: its name in the docs
// table and how to index it.
type Kind[T any] struct {
	Name    string
	Index   func(*T) Index
	HasKeys bool
	// ParentOutside marks kinds whose parent is not a field of the record
	// (a note's candidate): they are written with PutChild only.
	ParentOutside bool
}

// Get loads one record of the organization.
func (k Kind[T]) Get(ctx context.Context, q Q, org, id string) (*T, error) {
	return k.get(ctx, q, org, id, "")
}

// GetForUpdate loads a record inside a write transaction and locks it
// until the transaction ends, so that read-modify-write cannot lose an update.
func (k Kind[T]) GetForUpdate(ctx context.Context, tx *Tx, org, id string) (*T, error) {
	return k.get(ctx, tx, org, id, tx.lockSuffix())
}

func (k Kind[T]) get(ctx context.Context, q Q, org, id, suffix string) (*T, error) {
	var doc []byte
	err := q.QueryRowContext(ctx, `SELECT doc FROM docs WHERE org_id = $1 AND kind = $2 AND id = $3`+suffix, org, k.Name, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get %s %s: %w", k.Name, id, err)
	}
	if tx, ok := q.(*Tx); ok {
		tx.remember(org, k.Name, id, doc)
	}
	return k.decode(doc)
}

func (k Kind[T]) decode(doc []byte) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(doc, v); err != nil {
		return nil, fmt.Errorf("decode stored %s: %w", k.Name, err)
	}
	return v, nil
}

// GetRaw returns a record's stored JSON.
func (k Kind[T]) GetRaw(ctx context.Context, q Q, org, id string) ([]byte, error) {
	var doc []byte
	err := q.QueryRowContext(ctx, `SELECT doc FROM docs WHERE org_id = $1 AND kind = $2 AND id = $3`, org, k.Name, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get %s %s: %w", k.Name, id, err)
	}
	return doc, nil
}

// Exists reports whether the organization has a record with this id.
func (k Kind[T]) Exists(ctx context.Context, q Q, org, id string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM docs WHERE org_id = $1 AND kind = $2 AND id = $3`, org, k.Name, id).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// DocsByID names the docs table for queries that look records up by a
// list of ids (id IN (…)). On SQLite, whose documents are clustered in
// list order, the planner would otherwise scan the whole kind for a long
// IN list; the unique index on (org_id, kind, id) is named explicitly.
func (db *DB) DocsByID() string {
	if db.engine == SQLite {
		return "docs INDEXED BY docs_id"
	}
	return "docs"
}

// GetMany loads records by id; missing ids are absent from the map.
func (k Kind[T]) GetMany(ctx context.Context, q Q, org string, ids []string) (map[string]*T, error) {
	raw, err := k.GetManyRaw(ctx, q, org, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*T, len(raw))
	for id, doc := range raw {
		v, err := k.decode(doc)
		if err != nil {
			return nil, err
		}
		out[id] = v
	}
	return out, nil
}

// GetManyRaw returns stored JSON by id in one query; missing and empty
// ids are absent from the map.
func (k Kind[T]) GetManyRaw(ctx context.Context, q Q, org string, ids []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(ids))
	ids = uniqueStrings(ids)
	ids = slices.DeleteFunc(ids, func(s string) bool { return s == "" })
	if len(ids) == 0 {
		return out, nil
	}
	args := []any{org, k.Name}
	var ph strings.Builder
	for i, id := range ids {
		if i > 0 {
			ph.WriteByte(',')
		}
		args = append(args, id)
		fmt.Fprintf(&ph, "$%d", len(args))
	}
	rows, err := q.QueryContext(ctx, `SELECT id, doc FROM `+q.store().DocsByID()+` WHERE org_id = $1 AND kind = $2 AND id IN (`+ph.String()+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("get %s records: %w", k.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var doc []byte
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, err
		}
		out[id] = doc
	}
	return out, rows.Err()
}

// Put inserts or replaces a record, stamping it with the transaction's
// change position so that incremental sync reports it.
func (k Kind[T]) Put(ctx context.Context, tx *Tx, org string, v *T) error {
	if k.ParentOutside {
		return fmt.Errorf("put %s: kind has an outside parent; use PutChild", k.Name)
	}
	return k.put(ctx, tx, org, v, k.Index(v))
}

// PutChild is Put for kinds whose parent is not in the record.
func (k Kind[T]) PutChild(ctx context.Context, tx *Tx, org, parent string, v *T) error {
	idx := k.Index(v)
	idx.Parent = parent
	return k.put(ctx, tx, org, v, idx)
}

func (k Kind[T]) put(ctx context.Context, tx *Tx, org string, v *T, idx Index) error {
	if idx.ID == "" {
		return fmt.Errorf("put %s: empty id", k.Name)
	}
	doc, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", k.Name, err)
	}
	chg, err := tx.ChangeTx(ctx)
	if err != nil {
		return err
	}
	var before []byte
	if tx.db.capture {
		if before, err = tx.previous(ctx, org, k.Name, idx.ID); err != nil {
			return err
		}
	}
	now := Millis(tx.db.Now())
	// A record without a creation time of its own keeps the time of its
	// first insert, so that its place in full-sync order never moves.
	created, keepCreated := now, idx.CreatedAt.IsZero()
	if !keepCreated {
		created = Millis(idx.CreatedAt)
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO docs (org_id, kind, id, created_at, updated_at, chg_tx, archived, parent_id, ref_id, state, skey, uniq, t1, t2, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (org_id, kind, id) DO UPDATE SET
			created_at = CASE WHEN $16 = 1 THEN docs.created_at ELSE excluded.created_at END, updated_at = excluded.updated_at, chg_tx = excluded.chg_tx,
			archived = excluded.archived, parent_id = excluded.parent_id, ref_id = excluded.ref_id,
			state = excluded.state, skey = excluded.skey, uniq = excluded.uniq, t1 = excluded.t1,
			t2 = excluded.t2, doc = excluded.doc`,
		org, k.Name, idx.ID, created, now, chg, boolInt(idx.Archived), nullStr(idx.Parent), nullStr(idx.Ref),
		nullStr(idx.State), nullStr(idx.Search), nullStr(idx.Unique), nullInt(idx.T1), nullInt(idx.T2), string(doc), boolInt(keepCreated))
	if err != nil {
		if IsUniqueViolation(err) {
			return fmt.Errorf("put %s %s: %w", k.Name, idx.ID, ErrDuplicate)
		}
		return fmt.Errorf("put %s %s: %w", k.Name, idx.ID, err)
	}
	w := Written{Org: org, Kind: k.Name, ID: idx.ID}
	if tx.db.capture {
		w.Before, w.After = before, doc
		tx.remember(org, k.Name, idx.ID, doc)
	}
	tx.written = append(tx.written, w)
	if !k.HasKeys {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM doc_keys WHERE org_id = $1 AND kind = $2 AND id = $3`, org, k.Name, idx.ID); err != nil {
		return fmt.Errorf("reindex %s %s: %w", k.Name, idx.ID, err)
	}
	seen := map[Key]bool{}
	for _, key := range idx.Keys {
		if key.Value == "" || seen[key] {
			continue
		}
		seen[key] = true
		if _, err := tx.ExecContext(ctx, `INSERT INTO doc_keys (org_id, kind, name, value, id) VALUES ($1, $2, $3, $4, $5)`,
			org, k.Name, key.Name, key.Value, idx.ID); err != nil {
			return fmt.Errorf("index %s %s: %w", k.Name, idx.ID, err)
		}
	}
	return nil
}

// ErrDuplicate is returned by Put when Index.Unique collides.
var ErrDuplicate = errors.New("duplicate record")

// Update loads a record for update, applies fn and stores the result.
// fn returning an error aborts without writing.
func (k Kind[T]) Update(ctx context.Context, tx *Tx, org, id string, fn func(*T) error) (*T, error) {
	v, err := k.GetForUpdate(ctx, tx, org, id)
	if err != nil {
		return nil, err
	}
	if err := fn(v); err != nil {
		return nil, err
	}
	if k.ParentOutside {
		return nil, fmt.Errorf("update %s: kind has an outside parent; use PutChild", k.Name)
	}
	return v, k.Put(ctx, tx, org, v)
}

// Delete removes a record. Deleting a missing record returns ErrNotFound.
func (k Kind[T]) Delete(ctx context.Context, tx *Tx, org, id string) error {
	var before []byte
	if tx.db.capture {
		var err error
		if before, err = tx.previous(ctx, org, k.Name, id); err != nil {
			return err
		}
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM docs WHERE org_id = $1 AND kind = $2 AND id = $3`, org, k.Name, id)
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", k.Name, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	tx.written = append(tx.written, Written{Org: org, Kind: k.Name, ID: id, Deleted: true, Before: before})
	tx.remember(org, k.Name, id, nil)
	if k.HasKeys {
		if _, err := tx.ExecContext(ctx, `DELETE FROM doc_keys WHERE org_id = $1 AND kind = $2 AND id = $3`, org, k.Name, id); err != nil {
			return fmt.Errorf("unindex %s %s: %w", k.Name, id, err)
		}
	}
	return nil
}

// Filter selects records of a kind by their index columns. Zero fields do
// not filter. Results come in creation order.
type Filter struct {
	Parent          string
	Ref             string
	State           []string
	Search          string // exact match on the search column
	SearchPrefix    string // prefix match on the search column
	SearchContains  string // substring match on the search column
	Unique          string
	IncludeArchived bool
	Limit           int // 0 = no limit
}

// Find returns the records matching f, oldest first.
func (k Kind[T]) Find(ctx context.Context, q Q, org string, f Filter) ([]*T, error) {
	docs, err := k.FindRaw(ctx, q, org, f)
	if err != nil {
		return nil, err
	}
	out := make([]*T, 0, len(docs))
	for _, d := range docs {
		v, err := k.decode(d)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// FindRaw is Find returning stored JSON.
func (k Kind[T]) FindRaw(ctx context.Context, q Q, org string, f Filter) ([][]byte, error) {
	w := where{args: []any{org, k.Name}}
	w.add("org_id = $1 AND kind = $2")
	f.apply(&w)
	query := `SELECT doc FROM docs WHERE ` + w.sql() + ` ORDER BY created_at, id`
	if f.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := q.QueryContext(ctx, query, w.args...)
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", k.Name, err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var d []byte
		if err := rows.Scan(&d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// FindOne returns the first record matching f, or ErrNotFound.
func (k Kind[T]) FindOne(ctx context.Context, q Q, org string, f Filter) (*T, error) {
	f.Limit = 1
	vs, err := k.Find(ctx, q, org, f)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, ErrNotFound
	}
	return vs[0], nil
}

// ByKey returns the records that have key name=value, oldest first.
func (k Kind[T]) ByKey(ctx context.Context, q Q, org, name, value string, limit int) ([]*T, error) {
	query := `SELECT d.doc FROM doc_keys k JOIN docs d ON d.org_id = k.org_id AND d.kind = k.kind AND d.id = k.id
		WHERE k.org_id = $1 AND k.kind = $2 AND k.name = $3 AND k.value = $4 ORDER BY d.created_at, d.id`
	if limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := q.QueryContext(ctx, query, org, k.Name, name, value)
	if err != nil {
		return nil, fmt.Errorf("find %s by %s: %w", k.Name, name, err)
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		var d []byte
		if err := rows.Scan(&d); err != nil {
			return nil, err
		}
		v, err := k.decode(d)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// IDsByKey returns the ids of records with key name=value.
func (k Kind[T]) IDsByKey(ctx context.Context, q Q, org, name, value string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT id FROM doc_keys WHERE org_id = $1 AND kind = $2 AND name = $3 AND value = $4 ORDER BY id`, org, k.Name, name, value)
	if err != nil {
		return nil, fmt.Errorf("find %s ids by %s: %w", k.Name, name, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Count counts the records matching f.
func (k Kind[T]) Count(ctx context.Context, q Q, org string, f Filter) (int, error) {
	w := where{args: []any{org, k.Name}}
	w.add("org_id = $1 AND kind = $2")
	f.apply(&w)
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM docs WHERE `+w.sql(), w.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", k.Name, err)
	}
	return n, nil
}

func (f Filter) apply(w *where) {
	if f.Parent != "" {
		w.add("parent_id = ?", f.Parent)
	}
	if f.Ref != "" {
		w.add("ref_id = ?", f.Ref)
	}
	if len(f.State) > 0 {
		w.in("state", f.State)
	}
	if f.Search != "" {
		w.add("skey = ?", f.Search)
	}
	if f.SearchPrefix != "" {
		w.add("skey LIKE ? ESCAPE '\\'", likeEscape(f.SearchPrefix)+"%")
	}
	if f.SearchContains != "" {
		w.add("skey LIKE ? ESCAPE '\\'", "%"+likeEscape(f.SearchContains)+"%")
	}
	if f.Unique != "" {
		w.add("uniq = ?", f.Unique)
	}
	if !f.IncludeArchived {
		w.add("archived = 0")
	}
}

// where builds a WHERE clause; "?" in a condition becomes the next $n.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	for _, a := range args {
		w.args = append(w.args, a)
		cond = strings.Replace(cond, "?", fmt.Sprintf("$%d", len(w.args)), 1)
	}
	w.conds = append(w.conds, cond)
}

func (w *where) in(col string, vals []string) {
	ph := make([]string, len(vals))
	for i, v := range vals {
		w.args = append(w.args, v)
		ph[i] = fmt.Sprintf("$%d", len(w.args))
	}
	w.conds = append(w.conds, col+" IN ("+strings.Join(ph, ",")+")")
}

func (w *where) sql() string { return strings.Join(w.conds, " AND ") }

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// SetMeta stores internal data beside a record; it is never returned by the
// API and does not count as a change for sync.
func (tx *Tx) SetMeta(ctx context.Context, org, kind, id string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s meta: %w", kind, err)
	}
	res, err := tx.ExecContext(ctx, `UPDATE docs SET meta = $4 WHERE org_id = $1 AND kind = $2 AND id = $3`, org, kind, id, string(b))
	if err != nil {
		return fmt.Errorf("set %s meta: %w", kind, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// GetMeta loads internal data stored with SetMeta into v. It reports
// false when the record has none.
func GetMeta(ctx context.Context, q Q, org, kind, id string, v any) (bool, error) {
	var b sql.NullString
	err := q.QueryRowContext(ctx, `SELECT meta FROM docs WHERE org_id = $1 AND kind = $2 AND id = $3`, org, kind, id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return false, ErrNotFound
	}
	if err != nil {
		return false, fmt.Errorf("get %s meta: %w", kind, err)
	}
	if !b.Valid {
		return false, nil
	}
	return true, json.Unmarshal([]byte(b.String), v)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

func uniqueStrings(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	out := ss[:0:0]
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
