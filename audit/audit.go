// Package audit keeps the audit log behind auditLog.list: who changed which
// record, when, through which request, and which fields changed.
//
// It is written by a store.DB.BeforeCommit hook (Attach), inside every
// transaction that stored or deleted records, so an entry commits or rolls
// back with the change it records and no write path can bypass it. Each
// transaction costs one query per record kind for the records as they now
// are, one for their previous snapshots, and multi-row inserts of at most
// one row per record; reads of the docs table are untouched. See
// docs/audit-log.md for the contract.
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

func init() { store.RegisterMigrations(migrationFS, "migrations") }

var attached sync.Map // *store.DB → struct{}

// Attach makes db record every change to its records in the audit log.
// Attaching a database twice attaches it once.
func Attach(db *store.DB) {
	if _, dup := attached.LoadOrStore(db, struct{}{}); !dup {
		db.BeforeCommit(record)
	}
}

// systemName names the actor of changes made outside any API call.
const systemName = "Ashlar"

// change is one record a transaction changed, after collapsing repeated
// writes of it: the last write decides whether it was deleted.
type change struct {
	org, kind, id string
	deleted       bool
}

// collapse reduces a transaction's writes to one per record, in the order
// records were first written.
func collapse(ws []store.Written) []change {
	out := make([]change, 0, len(ws))
	at := make(map[[3]string]int, len(ws))
	for _, w := range ws {
		k := [3]string{w.Org, w.Kind, w.ID}
		if i, ok := at[k]; ok {
			out[i].deleted = w.Deleted
			continue
		}
		at[k] = len(out)
		out = append(out, change{org: w.Org, kind: w.Kind, id: w.ID, deleted: w.Deleted})
	}
	return out
}

// row is an audit_log row to insert.
type row struct {
	entry    ashby.AuditLogEntry
	org      string
	kind     string
	snapshot []byte // nil after a deletion
}

// record is the BeforeCommit hook.
func record(ctx context.Context, tx *store.Tx) error {
	changes := collapse(tx.Written())
	if len(changes) == 0 {
		return nil
	}
	actor, req := actorOf(ctx)
	now := ashby.NewTime(tx.DB().Now())

	type group struct{ org, kind string }
	byGroup := map[group][]string{}
	var groups []group
	for _, c := range changes {
		if c.deleted {
			continue
		}
		g := group{c.org, c.kind}
		if _, ok := byGroup[g]; !ok {
			groups = append(groups, g)
		}
		byGroup[g] = append(byGroup[g], c.id)
	}
	current := map[[3]string]state{}
	for _, g := range groups {
		if err := loadCurrent(ctx, tx, g.org, g.kind, byGroup[g], current); err != nil {
			return err
		}
	}
	for _, c := range changes {
		if c.deleted {
			st, err := loadLast(ctx, tx, c.org, c.kind, c.id)
			if err != nil {
				return err
			}
			current[[3]string{c.org, c.kind, c.id}] = st
		}
	}

	var rows []row
	for _, c := range changes {
		st, ok := current[[3]string{c.org, c.kind, c.id}]
		if !ok {
			continue
		}
		var r row
		switch {
		case c.deleted:
			if st.before == nil {
				// Created and deleted within this transaction, or already
				// deleted: nothing that existed before changed.
				continue
			}
			f, err := fields(st.before)
			if err != nil {
				return fmt.Errorf("audit %s %s: decode previous snapshot: %w", c.kind, c.id, err)
			}
			r = newRow(c, ActionDeleted, nil, f, nil)
		default:
			after, f, err := redact(st.doc)
			if err != nil {
				return fmt.Errorf("audit %s %s: %w", c.kind, c.id, err)
			}
			if st.before == nil {
				r = newRow(c, ActionCreated, nil, f, after)
				break
			}
			changed, err := diff(st.before, f)
			if err != nil {
				return fmt.Errorf("audit %s %s: %w", c.kind, c.id, err)
			}
			if len(changed) == 0 {
				continue // rewritten unchanged (a fan-out that did not affect it)
			}
			r = newRow(c, ActionUpdated, changed, f, after)
		}
		r.entry.ID = ashby.NewID()
		r.entry.Timestamp = now
		r.entry.Actor = actor
		r.entry.Request = req
		r.entry.Description = describe(actor, r.entry.Category, r.entry.Target)
		rows = append(rows, r)
	}
	if main := mainRow(rows, req); main >= 0 {
		parent := &ashby.AuditParentAction{ID: rows[main].entry.ID, Category: rows[main].entry.Category}
		for i := range rows {
			if i != main {
				rows[i].entry.ParentAction = parent
			}
		}
	}
	return insert(ctx, tx, rows)
}

// mainRow picks the entry the others of a transaction are consequences
// of: the first about a record of the endpoint's own category (an
// application for application.changeStage, whose history entries come
// first), else the first.
func mainRow(rows []row, req *ashby.AuditRequest) int {
	if len(rows) == 0 {
		return -1
	}
	if req != nil {
		if cat, _, ok := strings.Cut(req.Endpoint, "."); ok {
			for i, r := range rows {
				if prefix, _, _ := strings.Cut(r.entry.Category, "."); prefix == cat {
					return i
				}
			}
		}
	}
	return 0
}

// newRow starts the row of one change. fields is the document the
// target's name is read from; snapshot is what to keep (nil after a
// deletion).
func newRow(c change, action string, changed map[string]ashby.AuditChange, fields map[string]json.RawMessage, snapshot []byte) row {
	return row{
		org: c.org, kind: c.kind, snapshot: snapshot,
		entry: ashby.AuditLogEntry{
			Category:      Category(c.kind, action),
			ChangedFields: changed,
			Target:        ashby.AuditTarget{Type: TargetType(c.kind), ID: c.id, Name: nameOf(c.kind, fields)},
		},
	}
}

// actorOf derives the actor and request from the call in ctx. Calls made
// in-process without an API key (demo seeding, command-line tools) and
// writes outside any call are the system's.
func actorOf(ctx context.Context) (ashby.AuditActor, *ashby.AuditRequest) {
	c, ok := rpc.CallFrom(ctx)
	if !ok || c == nil || c.Principal == nil {
		return ashby.AuditActor{Type: ashby.ActorSystem, Name: systemName}, nil
	}
	req := &ashby.AuditRequest{ID: c.RequestID}
	if c.Endpoint != nil {
		req.Endpoint = c.Endpoint.Name
	}
	if c.HTTP != nil {
		req.IPAddress = c.ClientIP()
		req.UserAgent = truncate(c.HTTP.UserAgent(), 512)
	}
	if c.KeyID == "" {
		name := systemName
		if c.KeyTitle != "" {
			name += " (" + c.KeyTitle + ")"
		}
		return ashby.AuditActor{Type: ashby.ActorSystem, Name: name}, req
	}
	id := c.KeyID
	return ashby.AuditActor{Type: ashby.ActorAPIUser, ID: &id, Name: c.KeyTitle, UserID: c.UserID}, req
}

// describe writes the entry's one-line description.
func describe(actor ashby.AuditActor, category string, t ashby.AuditTarget) string {
	who := actor.Name
	if actor.Type == ashby.ActorAPIUser {
		who = fmt.Sprintf("API key %q", actor.Name)
	}
	_, action, _ := strings.Cut(category, ".")
	what := label(t.Type) + " " + t.ID
	if t.Name != "" {
		what = fmt.Sprintf("%s %q", label(t.Type), t.Name)
	}
	return who + " " + action + " " + what
}

// nameOf reads a record's display name from its document: its name or
// title, a user's full name, an application's candidate and job.
func nameOf(kind string, m map[string]json.RawMessage) string {
	str := func(raw json.RawMessage, key string) string {
		if key != "" {
			obj, err := fields(raw)
			if err != nil {
				return ""
			}
			raw = obj[key]
		}
		if len(raw) == 0 || raw[0] != '"' {
			return ""
		}
		var s string
		json.Unmarshal(raw, &s)
		return strings.TrimSpace(s)
	}
	var name string
	switch {
	case kind == "application":
		cand, job := str(m["candidate"], "name"), str(m["job"], "title")
		if cand != "" && job != "" {
			name = cand + " for " + job
		}
	case m["firstName"] != nil || m["lastName"] != nil:
		name = strings.TrimSpace(str(m["firstName"], "") + " " + str(m["lastName"], ""))
	}
	for _, key := range []string{"name", "title", "text", "reasonText"} {
		if name != "" {
			break
		}
		name = str(m[key], "")
	}
	return truncate(name, 200)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// excluded fields change with every write and are not reported.
var excluded = map[string]bool{"updatedAt": true}

// diff compares a record's previous snapshot with its fields now.
func diff(before []byte, b map[string]json.RawMessage) (map[string]ashby.AuditChange, error) {
	a, err := fields(before)
	if err != nil {
		return nil, fmt.Errorf("decode previous snapshot: %w", err)
	}
	out := map[string]ashby.AuditChange{}
	for k, v := range b {
		if !excluded[k] && !bytes.Equal(a[k], v) {
			out[k] = ashby.AuditChange{From: a[k], To: v}
		}
	}
	for k, v := range a {
		if _, ok := b[k]; !ok && !excluded[k] {
			out[k] = ashby.AuditChange{From: v}
		}
	}
	return out, nil
}

// redact decodes a document's top-level fields and replaces secret-looking
// ones with a fingerprint, so that secrets never reach the audit log while
// changes to them still show. It returns the snapshot to keep and the
// fields. Records keep their secrets in meta rather than in their
// documents, so this is a safety net.
func redact(doc []byte) ([]byte, map[string]json.RawMessage, error) {
	m, err := fields(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("decode document: %w", err)
	}
	// Field names are ASCII: "ecret" and "assword" find them in any case.
	if !bytes.Contains(doc, []byte("ecret")) && !bytes.Contains(doc, []byte("ECRET")) && !bytes.Contains(doc, []byte("assword")) && !bytes.Contains(doc, []byte("ASSWORD")) {
		return doc, m, nil
	}
	changed := false
	for k, v := range m {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "secret") || strings.Contains(lk, "password") {
			sum := sha256.Sum256(v)
			m[k], _ = json.Marshal("[redacted " + hex.EncodeToString(sum[:6]) + "]")
			changed = true
		}
	}
	if !changed {
		return doc, m, nil
	}
	snap, err := json.Marshal(m)
	return snap, m, err
}

// chunk bounds IN lists and multi-row inserts, well below both engines'
// limits on bound parameters.
const chunk = 200

func placeholders(first, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "$%d", first+i)
	}
	return b.String()
}

// state is a changed record as the transaction leaves it (doc; nil when
// deleted) and as the log last saw it (before; nil when the log has no
// snapshot of it: new, or deleted before).
type state struct {
	doc, before []byte
}

// currentQuery reads a record with its latest snapshot. The snapshot is
// found by a seek on audit_log_target (the newest row of the record),
// which stays cheap however long the record's history grows. COALESCE
// tells "deleted" (”) from "never seen" (NULL).
const currentQuery = `SELECT d.id, d.doc, (SELECT COALESCE(a.snapshot, '') FROM audit_log a
	WHERE a.org_id = d.org_id AND a.target_id = d.id AND a.target_kind = d.kind ORDER BY a.seq DESC LIMIT 1)
	FROM docs d WHERE d.org_id = $1 AND d.kind = $2 AND d.id `

// loadCurrent reads records as this transaction leaves them, each with
// its latest snapshot. On PostgreSQL one query per chunk of ids; on SQLite
// one prepared statement run per id, because its planner answers an IN
// list on docs by scanning the kind's rows, and in-process queries cost
// no round trip.
func loadCurrent(ctx context.Context, tx *store.Tx, org, kind string, ids []string, out map[[3]string]state) error {
	scan := func(rows *sql.Rows) error {
		defer rows.Close()
		for rows.Next() {
			var id string
			var doc []byte
			var before sql.NullString
			if err := rows.Scan(&id, &doc, &before); err != nil {
				return err
			}
			st := state{doc: doc}
			if before.String != "" {
				st.before = []byte(before.String)
			}
			out[[3]string{org, kind, id}] = st
		}
		return rows.Err()
	}
	if tx.DB().Engine() == store.SQLite {
		stmt, err := tx.PrepareContext(ctx, currentQuery+`= $3`)
		if err != nil {
			return fmt.Errorf("audit: read %s records: %w", kind, err)
		}
		defer stmt.Close()
		for _, id := range ids {
			rows, err := stmt.QueryContext(ctx, org, kind, id)
			if err == nil {
				err = scan(rows)
			}
			if err != nil {
				return fmt.Errorf("audit: read %s %s: %w", kind, id, err)
			}
		}
		return nil
	}
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := []any{org, kind}
		for _, id := range part {
			args = append(args, id)
		}
		rows, err := tx.QueryContext(ctx, currentQuery+`IN (`+placeholders(3, len(part))+`)`, args...)
		if err == nil {
			err = scan(rows)
		}
		if err != nil {
			return fmt.Errorf("audit: read %s records: %w", kind, err)
		}
	}
	return nil
}

// loadLast reads the latest snapshot of a deleted record.
func loadLast(ctx context.Context, tx *store.Tx, org, kind, id string) (state, error) {
	var before string
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(snapshot, '') FROM audit_log WHERE org_id = $1 AND target_id = $2 AND target_kind = $3
		ORDER BY seq DESC LIMIT 1`, org, id, kind).Scan(&before)
	if errors.Is(err, sql.ErrNoRows) || before == "" {
		return state{}, nil
	}
	if err != nil {
		return state{}, fmt.Errorf("audit: read the last snapshot of %s %s: %w", kind, id, err)
	}
	return state{before: []byte(before)}, nil
}

const insertColumns = 11

func insert(ctx context.Context, tx *store.Tx, rows []row) error {
	for start := 0; start < len(rows); start += chunk {
		part := rows[start:min(start+chunk, len(rows))]
		var q strings.Builder
		q.WriteString(`INSERT INTO audit_log (id, org_id, created_at, listed, actor_type, actor_id, category, target_type, target_kind, target_id, entry, snapshot) VALUES `)
		args := make([]any, 0, len(part)*insertColumns)
		for i, r := range part {
			if i > 0 {
				q.WriteByte(',')
			}
			n := len(args)
			fmt.Fprintf(&q, "($%d,$%d,$%d,1,$%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9, n+10, n+11)
			entry, err := json.Marshal(r.entry)
			if err != nil {
				return fmt.Errorf("audit: encode entry: %w", err)
			}
			var actorID, snapshot any
			if r.entry.Actor.ID != nil {
				actorID = *r.entry.Actor.ID
			}
			if r.snapshot != nil {
				snapshot = string(r.snapshot)
			}
			args = append(args, r.entry.ID, r.org, r.entry.Timestamp.UnixMilli(), r.entry.Actor.Type, actorID,
				r.entry.Category, r.entry.Target.Type, r.kind, r.entry.Target.ID, string(entry), snapshot)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("audit: record %d entries: %w", len(part), err)
		}
	}
	return nil
}
