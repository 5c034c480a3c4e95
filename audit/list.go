package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
)

// CodeCursorInvalid is the error auditLog.list answers for a cursor it did
// not issue for the same request (Ashby's code for this endpoint).
const CodeCursorInvalid = "cursor_invalid"

// Query selects entries of one organization, newest first.
type Query struct {
	Org string
	// Start and End bound the entries' timestamps, Start <= t < End. A
	// cursor carries the window of its first page, so that a window
	// defaulted from the clock stays the same while paging.
	Start, End time.Time
	// ActorIDs and TargetIDs must each match when given; TargetTypes and
	// Categories match when either does (Ashby's rules).
	ActorIDs, TargetIDs, TargetTypes, Categories []string
	Limit                                        int
	Cursor                                       string
	// Scope identifies the request's filters as the client sent them;
	// a cursor is valid only with the same scope.
	Scope []string
}

// Page is one page of entries, each the JSON auditLog.list returns.
type Page struct {
	Entries           [][]byte
	MoreDataAvailable bool
	NextCursor        string
}

// MaxLimit is the largest and default page size.
const MaxLimit = 100

// List returns one page of entries.
func List(ctx context.Context, db *store.DB, q Query) (*Page, error) {
	limit := q.Limit
	if limit <= 0 || limit > MaxLimit {
		limit = MaxLimit
	}
	scope := scopeHash(append([]string{q.Org}, q.Scope...))
	start, end := q.Start.UnixMilli(), q.End.UnixMilli()
	var after *cursor
	if q.Cursor != "" {
		c, err := decodeCursor(db.Secret(), q.Cursor)
		if err != nil || c.scope != scope {
			return nil, ashby.Errorf(CodeCursorInvalid, "The cursor is not valid for this request: send cursors back with the same dates and filters, or restart from the first page without one.")
		}
		start, end, after = c.start, c.end, &c
	}

	args := []any{q.Org, start, end}
	var w strings.Builder
	w.WriteString(`org_id = $1 AND listed = 1 AND created_at >= $2 AND created_at < $3`)
	in := func(col string, vals []string) string {
		ph := make([]string, len(vals))
		for i, v := range vals {
			args = append(args, v)
			ph[i] = fmt.Sprintf("$%d", len(args))
		}
		return col + " IN (" + strings.Join(ph, ",") + ")"
	}
	if len(q.ActorIDs) > 0 {
		w.WriteString(" AND " + in("actor_id", q.ActorIDs))
	}
	if len(q.TargetIDs) > 0 {
		w.WriteString(" AND " + in("target_id", q.TargetIDs))
	}
	var either []string
	if len(q.TargetTypes) > 0 {
		either = append(either, in("target_type", q.TargetTypes))
	}
	if len(q.Categories) > 0 {
		either = append(either, in("category", q.Categories))
	}
	if len(either) > 0 {
		w.WriteString(" AND (" + strings.Join(either, " OR ") + ")")
	}
	if after != nil {
		args = append(args, after.lastCreated, after.lastSeq)
		fmt.Fprintf(&w, " AND (created_at, seq) < ($%d, $%d)", len(args)-1, len(args))
	}
	rows, err := db.QueryContext(ctx, `SELECT seq, created_at, entry FROM audit_log WHERE `+w.String()+
		fmt.Sprintf(` ORDER BY created_at DESC, seq DESC LIMIT %d`, limit+1), args...)
	if err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	defer rows.Close()
	p := &Page{Entries: make([][]byte, 0, limit)}
	var lastSeq, lastCreated int64
	for rows.Next() {
		if len(p.Entries) == limit {
			p.MoreDataAvailable = true
			break
		}
		var entry []byte
		if err := rows.Scan(&lastSeq, &lastCreated, &entry); err != nil {
			return nil, fmt.Errorf("list audit log: %w", err)
		}
		p.Entries = append(p.Entries, entry)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	if p.MoreDataAvailable {
		p.NextCursor = encodeCursor(db.Secret(), cursor{scope: scope, start: start, end: end, lastCreated: lastCreated, lastSeq: lastSeq})
	}
	return p, nil
}

// A cursor is the position after the last entry returned, with the window
// and the scope of the request, signed with the server secret so that an
// edited or foreign cursor is refused rather than misread. Positions never
// go stale (entries are never rewritten), so cursors do not expire.
type cursor struct {
	scope                uint32
	start, end           int64
	lastCreated, lastSeq int64
}

const (
	cursorVersion = 1
	cursorMACLen  = 10
)

// cursorMAC signs a cursor; its prefix separates audit cursors from the store's tokens, which are
// signed with the same secret.
func cursorMAC(secret, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("ashlar audit cursor\x00"))
	m.Write(body)
	return m.Sum(nil)[:cursorMACLen]
}

func encodeCursor(secret []byte, c cursor) string {
	b := []byte{cursorVersion}
	b = binary.BigEndian.AppendUint32(b, c.scope)
	for _, v := range []int64{c.start, c.end, c.lastCreated, c.lastSeq} {
		b = binary.AppendVarint(b, v)
	}
	b = append(b, cursorMAC(secret, b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(secret []byte, s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 1+4+4+cursorMACLen {
		return c, fmt.Errorf("bad cursor")
	}
	body, mac := b[:len(b)-cursorMACLen], b[len(b)-cursorMACLen:]
	if !hmac.Equal(cursorMAC(secret, body), mac) || body[0] != cursorVersion {
		return c, fmt.Errorf("bad cursor")
	}
	c.scope = binary.BigEndian.Uint32(body[1:5])
	r := body[5:]
	vals := make([]int64, 4)
	for i := range vals {
		v, n := binary.Varint(r)
		if n <= 0 {
			return c, fmt.Errorf("bad cursor")
		}
		vals[i], r = v, r[n:]
	}
	if len(r) != 0 {
		return c, fmt.Errorf("bad cursor")
	}
	c.start, c.end, c.lastCreated, c.lastSeq = vals[0], vals[1], vals[2], vals[3]
	return c, nil
}

func scopeHash(parts []string) uint32 {
	h := fnv.New32a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum32()
}
