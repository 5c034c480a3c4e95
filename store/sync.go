package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
)

// Every .list endpoint pages through this one engine.
//
// Full sync (no syncToken) walks the records in creation order, keyset
// paged on (created_at, id): a record appears once however long the walk
// takes. The first page notes the change horizon H0; the last page returns
// a sync token "from H0".
//
// Incremental sync (syncToken "from F") walks the changes with positions
// in [F, H), ordered by (chg_tx, id), where H is the horizon at its first
// page; its last page returns "from H".
//
// Why nothing is missed:
//   - A change position is assigned inside the writing transaction
//     (Tx.ChangeTx). On SQLite it is a counter under the single writer's
//     lock, so positions are in commit order. On PostgreSQL it is the
//     transaction id, and transactions commit out of id order; the
//     horizon is the snapshot xmin, below which every transaction has
//     finished. Reading only below the horizon means a transaction that
//     is still running can never commit a change behind the reader.
//   - A record changed again moves to a higher position, never a lower one.
//   - So every change committed after a token was issued has position
//     >= the token's F and is read by the next pass, or the one after
//     if it is above that pass's H.
// A long-running transaction holds the horizon back: readers see its
// changes late but never lose them.

// ListSpec describes one list request.
type ListSpec struct {
	Kind     string
	Endpoint string
	Org      string
	// Filter selects records. In an incremental sync, its State and
	// IncludeArchived are ignored: records that left the filtered state
	// (archived ones included) are reported with their new state.
	Filter Filter
	// CreatedAfter (epoch ms, 0 = none) restricts both kinds of sync.
	CreatedAfter int64
	// Conds are extra conditions ("t1 >= ?", args) on both kinds of sync;
	// FullConds apply to full syncs only.
	Conds, FullConds []Cond
	Limit            int
	Cursor           string
	SyncToken        string
	// NoSync marks lists that page but offer no incremental sync.
	NoSync bool
	// ReadOnly: the caller writes the page out as it is. List then
	// returns the documents as Page.JSON, shared with other requests,
	// instead of a Docs slice of its own for each request.
	ReadOnly bool
}

// Cond is a raw SQL condition on the docs table; "?" binds Args in order.
type Cond struct {
	SQL  string
	Args []any
}

// Page is one page of a list.
type Page struct {
	// Docs are the documents, the caller's to change; nil when the spec
	// was ReadOnly.
	Docs [][]byte
	// JSON (ReadOnly specs) is the documents as one JSON array, shared
	// with other requests that read the same page: never modify it.
	JSON              []byte
	MoreDataAvailable bool
	NextCursor        string
	SyncToken         string
}

// MaxLimit is the largest (and default) page size, as in Ashby.
const MaxLimit = 100

// DefaultPageBytes is a list page's byte budget: a page whose documents
// would pass it ends early, with moreDataAvailable and a cursor after its
// last document (a page always holds at least one document), so that no
// request makes the server hold more than about this much of them.
const DefaultPageBytes = 4 << 20

// List returns one page.
func (db *DB) List(ctx context.Context, s ListSpec) (*Page, error) {
	limit := s.Limit
	if limit <= 0 || limit > MaxLimit {
		limit = MaxLimit
	}
	scope := s.scope()
	var cur token
	mode := typeFullCursor
	switch {
	case s.Cursor != "":
		t, err := db.decodeToken(s.Cursor)
		if err != nil || (t.typ != typeFullCursor && t.typ != typeIncrCursor) || t.scope != scope.cursor {
			return nil, ashby.Errorf(ashby.CodeInvalidNextCursor, "The cursor is not valid for this request; restart pagination from the first page without a cursor.")
		}
		if db.expired(t, db.CursorTTL) {
			return nil, ashby.Errorf(ashby.CodeNextCursorExpired, "The cursor has expired; restart pagination from the first page.")
		}
		cur, mode = t, t.typ
	case s.SyncToken != "" && !s.NoSync:
		t, err := db.decodeToken(s.SyncToken)
		if err != nil || t.typ != typeSyncToken || t.scope != scope.token {
			return nil, ashby.Errorf(ashby.CodeSyncTokenInvalid, "The sync token is not valid for this request; discard it and run a full sync.")
		}
		if db.expired(t, db.SyncTokenTTL) {
			return nil, ashby.Errorf(ashby.CodeSyncTokenExpired, "The sync token has expired; discard it and run a full sync.")
		}
		h, err := db.Horizon(ctx)
		if err != nil {
			return nil, err
		}
		mode = typeIncrCursor
		cur = token{from: t.from, horizon: h}
	}
	first := s.Cursor == ""

	// Full-sync pages go through the page cache (pagecache.go); others
	// read the horizon a first page carries.
	useCache := db.pages != nil && mode == typeFullCursor
	if !useCache && mode == typeFullCursor && first {
		h, err := db.Horizon(ctx)
		if err != nil {
			return nil, err
		}
		cur.horizon = h
	}

	w := where{args: []any{s.Org, s.Kind}}
	w.add("org_id = $1 AND kind = $2")
	f := s.Filter
	f.Limit = 0
	if mode == typeIncrCursor {
		f.State = nil
		f.IncludeArchived = true
	}
	f.apply(&w)
	// After the first page, the cursor's row value is the only lower
	// bound on the column the walk is ordered by: it implies the
	// others (the cursor's row met them), and given two lower bounds
	// SQLite seeks the index to the plain one and then reads every row
	// between it and the cursor — in an incremental walk, a lookup into
	// the table for each (page 10 of a walk cost 5 ms instead of 0.3).
	if s.CreatedAfter > 0 && (first || mode == typeIncrCursor) {
		w.add("created_at > ?", s.CreatedAfter)
	}
	for _, c := range s.Conds {
		w.add(c.SQL, c.Args...)
	}
	var order string
	if mode == typeIncrCursor {
		if first {
			w.add("chg_tx >= ? AND chg_tx < ?", cur.from, cur.horizon)
		} else {
			// Row values let both engines seek the index to the cursor.
			w.add("chg_tx < ? AND (chg_tx, id) > (?, ?)", cur.horizon, cur.lastPos, cur.lastID)
		}
		order = "chg_tx, id"
	} else {
		for _, c := range s.FullConds {
			w.add(c.SQL, c.Args...)
		}
		if !first {
			w.add("(created_at, id) > (?, ?)", cur.lastPos, cur.lastID)
		}
		order = "created_at, id"
	}
	posCol := strings.SplitN(order, ",", 2)[0]
	w.args = append(w.args, limit+1)
	query := fmt.Sprintf(`SELECT doc, %s, id FROM docs WHERE %s ORDER BY %s LIMIT $%d`, posCol, w.sql(), order, len(w.args))

	var cp *cachedPage
	if useCache {
		var err error
		if cp, cur.horizon, err = db.cachedPage(ctx, s, query, w.args, limit, first, cur.horizon); err != nil {
			return nil, err
		}
	} else {
		var err error
		if cp, err = db.readPage(ctx, s.Kind, query, w.args, limit); err != nil {
			return nil, err
		}
	}
	// The documents stay in the page's buffer, a JSON array the cache
	// may share with other requests: a read-only caller gets it whole;
	// others get their own slice of documents, each capped so that an
	// append copies it.
	page := &Page{MoreDataAvailable: cp.more}
	if s.ReadOnly {
		page.JSON = cp.buf[:len(cp.buf):len(cp.buf)]
	} else {
		page.Docs = make([][]byte, len(cp.ends))
		start := 1
		for i, end := range cp.ends {
			page.Docs[i] = cp.buf[start:end:end]
			start = end + 1
		}
	}
	now := db.Now().Unix()
	if page.MoreDataAvailable {
		next := cur
		next.typ, next.scope, next.issued = mode, scope.cursor, now
		next.lastPos, next.lastID = cp.lastPos, cp.lastID
		page.NextCursor = db.encodeToken(next)
	} else if !s.NoSync {
		page.SyncToken = db.encodeToken(token{typ: typeSyncToken, scope: scope.token, issued: now, from: cur.horizon})
	}
	return page, nil
}

// cachedPage returns a full-sync page from the cache if it is current,
// else reads it (and caches it if it may be). A first page also gets
// the horizon its cursor carries (else horizon is returned as given).
func (db *DB) cachedPage(ctx context.Context, s ListSpec, query string, args []any, limit int, first bool, horizon int64) (*cachedPage, int64, error) {
	var kb [512]byte
	key := pageKey(kb[:0], query, args)
	cp := db.pages.get(key)
	m, err := db.marks(ctx)
	if err != nil {
		return nil, 0, err
	}
	if cp != nil {
		if seen := cp.seen.Load(); seen != nil && seen.same(m) {
			if first {
				horizon = m.horizon
			}
			return cp, horizon, nil
		}
	}
	v, h, cacheable, err := db.version(ctx, s.Org, s.Kind)
	if err != nil {
		return nil, 0, err
	}
	if first {
		horizon = h
	}
	if cp != nil && cp.ver == v {
		seen := m // a copy, so that m itself need not escape on every request
		cp.seen.Store(&seen)
		return cp, horizon, nil
	}
	if cp, err = db.readPage(ctx, s.Kind, query, args, limit); err != nil {
		return nil, 0, err
	}
	if cacheable {
		// m and v were read before the page: if the counter or the
		// version is the same later, the page is still current.
		cp.key, cp.ver = string(key), v
		seen := m
		cp.seen.Store(&seen)
		db.pages.put(cp)
	}
	return cp, horizon, nil
}

// readPage reads up to limit documents, fewer when they would pass the
// byte budget, into one buffer (rather than one allocation each).
func (db *DB) readPage(ctx context.Context, kind, query string, args []any, limit int) (*cachedPage, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", kind, err)
	}
	defer rows.Close()
	budget := db.PageBytes
	if budget <= 0 {
		budget = DefaultPageBytes
	}
	p := &cachedPage{ends: make([]int, 0, limit)}
	var id, lastID sql.RawBytes
	var pos int64
	for rows.Next() {
		if len(p.ends) == limit {
			p.more = true
			break
		}
		var doc sql.RawBytes
		if err := rows.Scan(&doc, &pos, &id); err != nil {
			return nil, fmt.Errorf("list %s: %w", kind, err)
		}
		if len(p.ends) > 0 && len(p.buf)+len(doc) > budget {
			p.more = true
			break
		}
		// buf is the page as a JSON array: "[" doc ("," doc)* "]".
		if p.buf == nil {
			p.buf = make([]byte, 0, min((len(doc)+1)*limit+2, budget+len(doc)+2))
			p.buf = append(p.buf, '[')
		} else {
			p.buf = append(p.buf, ',')
		}
		p.buf = append(p.buf, doc...)
		p.ends = append(p.ends, len(p.buf))
		p.lastPos, lastID = pos, append(lastID[:0], id...)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", kind, err)
	}
	if p.buf == nil {
		p.buf = append(p.buf, '[')
	}
	p.buf = append(p.buf, ']')
	p.lastID = string(lastID)
	return p, nil
}

type scopes struct{ token, cursor uint32 }

// scope fingerprints what a token or cursor may be replayed against. A
// sync token binds to the filters an incremental sync applies; a cursor
// binds to the whole request.
func (s ListSpec) scope() scopes {
	// FNV-1a of the parts, each followed by a NUL, computed in place:
	// every list request fingerprints its scope. (Tokens issued by
	// earlier versions, which joined the parts first, stay valid.)
	f := s.Filter
	var nb [20]byte
	h := fnvOffset
	for _, p := range [...]string{s.Org, s.Kind, s.Endpoint, f.Parent, f.Ref, f.Search, f.SearchPrefix, f.SearchContains, f.Unique} {
		h = fnvPart(h, p)
	}
	h = fnvPart(h, string(strconv.AppendInt(nb[:0], s.CreatedAfter, 10)))
	for _, c := range s.Conds {
		h = fnvPart(fnvPart(h, c.SQL), fmt.Sprint(c.Args...))
	}
	token := h
	for i, st := range f.State {
		if i > 0 {
			h = fnvAdd(h, ",")
		}
		h = fnvAdd(h, st)
	}
	h *= fnvPrime // the NUL after the states
	h = fnvPart(h, strconv.FormatBool(f.IncludeArchived))
	for _, c := range s.FullConds {
		h = fnvPart(fnvPart(h, c.SQL), fmt.Sprint(c.Args...))
	}
	return scopes{token: token, cursor: h}
}
