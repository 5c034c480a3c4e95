package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
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
// until the transaction ends, so that read-modify-write cannot lose an
// update. It is the way to obtain a record that will be Put back.
func (k Kind[T]) GetForUpdate(ctx context.Context, tx *Tx, org, id string) (*T, error) {
	v, err := k.get(ctx, tx, org, id, tx.lockSuffix())
	switch {
	case err == nil:
		tx.setLock(org, k.Name, id, held)
	case errors.Is(err, ErrNotFound):
		tx.setLock(org, k.Name, id, absent)
	}
	return v, err
}

// GetShared loads a record and keeps it from changing until the
// transaction ends (PostgreSQL's FOR SHARE), without blocking other
// readers that do the same. A writer that copies part of a record into
// another document (an application embeds its job's title) reads the
// source this way: the source's own writer, which rewrites the embedding
// documents, then waits for this transaction, and finds its document.
func (k Kind[T]) GetShared(ctx context.Context, tx *Tx, org, id string) (*T, error) {
	suffix := ""
	if tx.db.engine == Postgres {
		suffix = " FOR SHARE"
	}
	return k.get(ctx, tx, org, id, suffix)
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

// Put stores a record, stamping it with the transaction's change position
// so that incremental sync reports it.
//
// Put overwrites only a record this transaction holds: one it read with a
// locking read (GetForUpdate, Update, FindForUpdate, ByKeyForUpdate,
// Rewrite) or inserted itself. Any other Put may only insert; if the
// record exists, Put fails with ErrUnlockedWrite and writes nothing. On
// PostgreSQL under READ COMMITTED, writing back a document read without a
// lock would silently replace whatever another transaction committed in
// between (a stage move lost to a concurrent rename), so the store makes
// that impossible rather than rarer. SQLite, with its single writer, is
// held to the same rule so that its tests catch a violation too.
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
	doc, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", k.Name, err)
	}
	return k.putDoc(ctx, tx, org, doc, idx)
}

// ErrUnlockedWrite is returned by Put for an existing record that the
// transaction did not read with a locking read. It is a programming
// error: load the record with GetForUpdate (or a locking find) first.
var ErrUnlockedWrite = errors.New("record exists but was not locked by this transaction; read it with GetForUpdate before writing it")

// errInsertRace is an insert that lost to a concurrent insert of the same
// record after a locking read had found it absent: the whole transaction
// is retried (by Write), and then finds the record.
var errInsertRace = errors.New("record was inserted concurrently")

func (k Kind[T]) putDoc(ctx context.Context, tx *Tx, org string, doc []byte, idx Index) error {
	if idx.ID == "" {
		return fmt.Errorf("put %s: empty id", k.Name)
	}
	chg, err := tx.ChangeTx(ctx)
	if err != nil {
		return err
	}
	state := tx.lockOf(org, k.Name, idx.ID)
	var before []byte
	if tx.db.capture && state == held {
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
	args := []any{org, k.Name, idx.ID, created, now, chg, boolInt(idx.Archived), nullStr(idx.Parent), nullStr(idx.Ref),
		nullStr(idx.State), nullStr(idx.Search), nullStr(idx.Unique), nullInt(idx.T1), nullInt(idx.T2), string(doc)}
	var res sql.Result
	if state == held {
		res, err = tx.ExecContext(ctx, `
		INSERT INTO docs (org_id, kind, id, created_at, updated_at, chg_tx, archived, parent_id, ref_id, state, skey, uniq, t1, t2, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (org_id, kind, id) DO UPDATE SET
			created_at = CASE WHEN $16 = 1 THEN docs.created_at ELSE excluded.created_at END, updated_at = excluded.updated_at, chg_tx = excluded.chg_tx,
			archived = excluded.archived, parent_id = excluded.parent_id, ref_id = excluded.ref_id,
			state = excluded.state, skey = excluded.skey, uniq = excluded.uniq, t1 = excluded.t1,
			t2 = excluded.t2, doc = excluded.doc`, append(args, boolInt(keepCreated))...)
	} else {
		res, err = tx.ExecContext(ctx, `
		INSERT INTO docs (org_id, kind, id, created_at, updated_at, chg_tx, archived, parent_id, ref_id, state, skey, uniq, t1, t2, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (org_id, kind, id) DO NOTHING`, args...)
	}
	if err != nil {
		if IsUniqueViolation(err) {
			return fmt.Errorf("put %s %s: %w", k.Name, idx.ID, ErrDuplicate)
		}
		return fmt.Errorf("put %s %s: %w", k.Name, idx.ID, err)
	}
	if state != held {
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("put %s %s: %w", k.Name, idx.ID, err)
		} else if n == 0 {
			if state == absent {
				return fmt.Errorf("put %s %s: %w", k.Name, idx.ID, errInsertRace)
			}
			return fmt.Errorf("put %s %s: %w", k.Name, idx.ID, ErrUnlockedWrite)
		}
		tx.setLock(org, k.Name, idx.ID, held)
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
	if state == held {
		if _, err := tx.ExecContext(ctx, `DELETE FROM doc_keys WHERE org_id = $1 AND kind = $2 AND id = $3`, org, k.Name, idx.ID); err != nil {
			return fmt.Errorf("reindex %s %s: %w", k.Name, idx.ID, err)
		}
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
	// On SQLite the change counter moves on every write of a document,
	// deletions included: cached pages rely on it (see pagecache.go).
	if _, err := tx.ChangeTx(ctx); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM docs WHERE org_id = $1 AND kind = $2 AND id = $3`, org, k.Name, id)
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", k.Name, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	// A deletion leaves no change position behind: the kind's deletion
	// counter is what tells cached list pages that it changed.
	if _, err := tx.ExecContext(ctx, `INSERT INTO counters (name, value) VALUES ($1, 1)
		ON CONFLICT (name) DO UPDATE SET value = counters.value + 1`, deletesCounter(org, k.Name)); err != nil {
		return fmt.Errorf("delete %s %s: count the deletion: %w", k.Name, id, err)
	}
	tx.written = append(tx.written, Written{Org: org, Kind: k.Name, ID: id, Deleted: true, Before: before})
	tx.remember(org, k.Name, id, nil)
	tx.setLock(org, k.Name, id, absent)
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
	// After, when set, keeps only records after this position in creation
	// order: keyset paging for Find.
	After *Position
	Limit int // 0 = no limit
}

// Position is a record's place in creation order.
type Position struct {
	CreatedAt int64 // epoch ms
	ID        string
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
		w.args = append(w.args, f.Limit)
		query += fmt.Sprintf(" LIMIT $%d", len(w.args))
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
	// The key's records are found first (keyedIDs), then read and
	// sorted: as a join, SQLite's planner (whose statistics guess a
	// thousand records per key value) walked every record of the kind in
	// creation order, probing doc_keys for each: 0.4 s to learn that a new
	// applicant's email was unknown among 100,000 candidates.
	query := `SELECT d.doc FROM docs d WHERE d.org_id = $1 AND d.kind = $2 AND ` + keyedIDs + ` ORDER BY d.created_at, d.id`
	args := []any{org, k.Name, name, value}
	if limit > 0 {
		query += " LIMIT $5"
		args = append(args, limit)
	}
	rows, err := q.QueryContext(ctx, query, args...)
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

// FindForUpdate returns the records matching f and locks them until the
// transaction ends, so that they can be Put back. Locks are taken in id
// order, whatever f selects, so that two transactions locking overlapping
// sets (a job's applications and a candidate's) wait for each other
// instead of deadlocking. Results come in id order; f.Limit applies.
func (k Kind[T]) FindForUpdate(ctx context.Context, tx *Tx, org string, f Filter) ([]*T, error) {
	var out []*T
	err := k.lockEach(ctx, tx, org, k.filterSel(f), f.Limit, func(v *T, _ []byte) error {
		out = append(out, v)
		return nil
	})
	return out, err
}

// FindOneForUpdate is FindOne with a row lock (see FindForUpdate).
func (k Kind[T]) FindOneForUpdate(ctx context.Context, tx *Tx, org string, f Filter) (*T, error) {
	f.Limit = 1
	vs, err := k.FindForUpdate(ctx, tx, org, f)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, ErrNotFound
	}
	return vs[0], nil
}

// ByKeyForUpdate is ByKey with row locks taken in id order (see
// FindForUpdate); results come in id order.
func (k Kind[T]) ByKeyForUpdate(ctx context.Context, tx *Tx, org, name, value string) ([]*T, error) {
	var out []*T
	err := k.lockEach(ctx, tx, org, k.keySel(name, value), 0, func(v *T, _ []byte) error {
		out = append(out, v)
		return nil
	})
	return out, err
}

// Rewrite locks each record matching f, lets fn change it, and stores it
// if its document changed: fan-outs that refresh an embedded summary
// leave untouched the records already up to date, so sync clients do not
// download them again. Records are locked in id order, in batches, so
// memory stays bounded however many match. It returns how many records
// it stored.
func (k Kind[T]) Rewrite(ctx context.Context, tx *Tx, org string, f Filter, fn func(*T) error) (int, error) {
	return k.rewrite(ctx, tx, org, k.filterSel(f), fn)
}

// RewriteByKey is Rewrite for the records with key name=value.
func (k Kind[T]) RewriteByKey(ctx context.Context, tx *Tx, org, name, value string, fn func(*T) error) (int, error) {
	return k.rewrite(ctx, tx, org, k.keySel(name, value), fn)
}

func (k Kind[T]) rewrite(ctx context.Context, tx *Tx, org string, sel selection, fn func(*T) error) (int, error) {
	if k.ParentOutside {
		return 0, fmt.Errorf("rewrite %s: kind has an outside parent", k.Name)
	}
	n := 0
	err := k.lockEach(ctx, tx, org, sel, 0, func(v *T, old []byte) error {
		if err := fn(v); err != nil {
			return err
		}
		doc, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode %s: %w", k.Name, err)
		}
		if bytes.Equal(doc, old) {
			return nil
		}
		n++
		return k.putDoc(ctx, tx, org, doc, k.Index(v))
	})
	return n, err
}

// selection is the FROM and WHERE of a locking read; its conditions
// number their arguments from $3 ($1 is the org, $2 the kind).
type selection struct {
	from, cond string // cond on the alias d
	args       []any
	// key, when set, selects through doc_keys. PostgreSQL re-checks a
	// locked row's own conditions on its latest version, but reads
	// doc_keys in the subquery with the statement's snapshot, so a record
	// that lost the key while the read waited for its lock would still be
	// returned: lockEach checks the key again once it holds the locks.
	key *Key
}

func (k Kind[T]) filterSel(f Filter) selection {
	w := where{args: []any{"", ""}}
	f.Limit = 0
	f.apply(&w)
	return selection{from: "docs d", cond: strings.Join(w.conds, " AND "), args: w.args[2:]}
}

func (k Kind[T]) keySel(name, value string) selection {
	return selection{
		from: "docs d",
		cond: keyedIDs, args: []any{name, value},
		key: &Key{Name: name, Value: value},
	}
}

// keyedIDs restricts docs d to the records with key $3 = $4 (of org $1
// and kind $2), as a list of ids read from doc_keys first: both engines
// then read just those records (see ByKey).
const keyedIDs = `d.id IN (SELECT k.id FROM doc_keys k WHERE k.org_id = $1 AND k.kind = $2 AND k.name = $3 AND k.value = $4)`

// lockBatch bounds how many records a locking read holds in memory.
const lockBatch = 500

// lockEach locks the selected records in id order, a batch at a time, and
// calls fn with each record and its stored document. A record that stops
// matching while the read waits for its lock is skipped (PostgreSQL
// re-checks the condition on the latest version); one that starts
// matching after the read began is found by a later batch when its id is
// above the last one seen.
func (k Kind[T]) lockEach(ctx context.Context, tx *Tx, org string, sel selection, limit int, fn func(v *T, doc []byte) error) error {
	forUpdate := ""
	if tx.db.engine == Postgres {
		forUpdate = " FOR UPDATE OF d"
	}
	after := ""
	for seen := 0; limit == 0 || seen < limit; {
		batch := lockBatch
		if limit > 0 {
			batch = min(batch, limit-seen)
		}
		args := append([]any{org, k.Name}, sel.args...)
		args = append(args, after, batch)
		q := `SELECT d.id, d.doc FROM ` + sel.from + ` WHERE d.org_id = $1 AND d.kind = $2`
		if sel.cond != "" {
			q += ` AND ` + sel.cond
		}
		q += fmt.Sprintf(` AND d.id > $%d ORDER BY d.id LIMIT $%d`, len(args)-1, len(args)) + forUpdate
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("lock %s records: %w", k.Name, err)
		}
		type rec struct {
			id  string
			doc []byte
		}
		var recs []rec
		for rows.Next() {
			var r rec
			if err := rows.Scan(&r.id, &r.doc); err != nil {
				rows.Close()
				return fmt.Errorf("lock %s records: %w", k.Name, err)
			}
			recs = append(recs, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("lock %s records: %w", k.Name, err)
		}
		full := len(recs) == batch
		if len(recs) > 0 {
			after = recs[len(recs)-1].id
		}
		seen += len(recs)
		if sel.key != nil && forUpdate != "" && len(recs) > 0 {
			ids := make([]string, len(recs))
			for i, r := range recs {
				ids[i] = r.id
			}
			still, err := k.stillKeyed(ctx, tx, org, *sel.key, ids)
			if err != nil {
				return err
			}
			recs = slices.DeleteFunc(recs, func(r rec) bool { return !still[r.id] })
		}
		for _, r := range recs {
			tx.setLock(org, k.Name, r.id, held)
			tx.remember(org, k.Name, r.id, r.doc)
			v, err := k.decode(r.doc)
			if err != nil {
				return err
			}
			if err := fn(v, r.doc); err != nil {
				return err
			}
		}
		if !full {
			return nil
		}
	}
	return nil
}

// stillKeyed returns which of ids have the key now. Run after their rows
// are locked, it reads the keys their last writers committed.
func (k Kind[T]) stillKeyed(ctx context.Context, tx *Tx, org string, key Key, ids []string) (map[string]bool, error) {
	args := []any{org, k.Name, key.Name, key.Value}
	var ph strings.Builder
	for i, id := range ids {
		if i > 0 {
			ph.WriteByte(',')
		}
		args = append(args, id)
		ph.WriteString("$" + strconv.Itoa(len(args)))
	}
	rows, err := tx.QueryContext(ctx, `SELECT id FROM doc_keys WHERE org_id = $1 AND kind = $2 AND name = $3 AND value = $4 AND id IN (`+ph.String()+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("recheck %s keys: %w", k.Name, err)
	}
	defer rows.Close()
	out := make(map[string]bool, len(ids))
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("recheck %s keys: %w", k.Name, err)
		}
		out[id] = true
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
	if f.After != nil {
		w.add("(created_at, id) > (?, ?)", f.After.CreatedAt, f.After.ID)
	}
}

// where builds a WHERE clause; "?" in a condition becomes the next $n.
type where struct {
	conds []string
	args  []any
}

// add appends a condition, numbering its "?"s in one pass (a rescan per
// argument made long IN lists quadratic).
func (w *where) add(cond string, args ...any) {
	if len(args) == 0 {
		w.conds = append(w.conds, cond)
		return
	}
	var b strings.Builder
	b.Grow(len(cond) + 4*len(args))
	next := 0
	for i := 0; i < len(cond); i++ {
		if cond[i] == '?' && next < len(args) {
			w.args = append(w.args, args[next])
			next++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(len(w.args)))
			continue
		}
		b.WriteByte(cond[i])
	}
	w.args = append(w.args, args[next:]...) // more args than "?": keep the old behaviour of binding them
	w.conds = append(w.conds, b.String())
}

// in adds "col IN (…)" for the distinct values.
func (w *where) in(col string, vals []string) {
	var b strings.Builder
	b.WriteString(col)
	b.WriteString(" IN (")
	for i, v := range uniqueStrings(vals) {
		if i > 0 {
			b.WriteByte(',')
		}
		w.args = append(w.args, v)
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(len(w.args)))
	}
	b.WriteByte(')')
	w.conds = append(w.conds, b.String())
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
