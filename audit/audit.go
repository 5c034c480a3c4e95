// Package audit keeps the audit log behind auditLog.list: who changed which
// record, when, through which request, and which fields changed.
//
// It is written by a store.DB.BeforeCommit hook (Attach), inside every
// transaction that stored or deleted records, so an entry commits or rolls
// back with the change it records and no write path can bypass it. The
// store hands the hook each record as it was before the transaction and as
// it leaves it (store.DB.CaptureChanges), so changedFields costs no query
// and the log keeps no copies of documents: a transaction adds multi-row
// inserts of at most one row per record. Reads of the docs table are
// untouched. See docs/audit-log.md for the contract.
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
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
		db.CaptureChanges()
		db.BeforeCommit(record)
	}
}

// systemName names the actor of changes made outside any API call.
const systemName = "Ashlar"

// change is one record a transaction changed, after collapsing repeated
// writes of it: before the first write and after the last.
type change struct {
	org, kind, id string
	deleted       bool
	before, after []byte // nil: absent
}

// collapse reduces a transaction's writes to one per record, in the order
// records were first written.
func collapse(ws []store.Written) []change {
	out := make([]change, 0, len(ws))
	at := make(map[[3]string]int, len(ws))
	for _, w := range ws {
		k := [3]string{w.Org, w.Kind, w.ID}
		if i, ok := at[k]; ok {
			out[i].deleted, out[i].after = w.Deleted, w.After
			continue
		}
		at[k] = len(out)
		out = append(out, change{org: w.Org, kind: w.Kind, id: w.ID, deleted: w.Deleted, before: w.Before, after: w.After})
	}
	return out
}

// row is an audit_log row to insert.
type row struct {
	entry ashby.AuditLogEntry
	org   string
	kind  string
}

// record is the BeforeCommit hook.
func record(ctx context.Context, tx *store.Tx) error {
	changes := collapse(tx.Written())
	if len(changes) == 0 {
		return nil
	}
	actor, req := actorOf(ctx)
	now := ashby.NewTime(tx.DB().Now())
	var rows []row
	for _, c := range changes {
		var r row
		switch {
		case c.deleted:
			if c.before == nil {
				// Created and deleted within this transaction: nothing that
				// existed before changed.
				continue
			}
			_, f, err := redact(c.before)
			if err != nil {
				return fmt.Errorf("audit %s %s: decode previous document: %w", c.kind, c.id, err)
			}
			r = newRow(c, ActionDeleted, nil, f)
		default:
			_, f, err := redact(c.after)
			if err != nil {
				return fmt.Errorf("audit %s %s: %w", c.kind, c.id, err)
			}
			if c.before == nil {
				r = newRow(c, ActionCreated, nil, f)
				break
			}
			prev, _, err := redact(c.before)
			if err != nil {
				return fmt.Errorf("audit %s %s: decode previous document: %w", c.kind, c.id, err)
			}
			changed, err := diff(prev, f)
			if err != nil {
				return fmt.Errorf("audit %s %s: %w", c.kind, c.id, err)
			}
			if len(changed) == 0 {
				continue // rewritten unchanged (a fan-out that did not affect it)
			}
			r = newRow(c, ActionUpdated, changed, f)
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

// Change is a change to something that is not a record of the document
// store (an API key, an organization's settings), which the endpoints
// making it log with Record. Kind names the target type as record kinds
// do ("api_key" → ApiKey); Action is ActionCreated, ActionUpdated or
// ActionDeleted.
type Change struct {
	Org, Kind, ID, Name, Action string
	Changed                     map[string]ashby.AuditChange
}

// Record writes the audit entry of a change that is not a record, inside
// the transaction making it, with the actor and request of the call in
// ctx like every other entry.
func Record(ctx context.Context, tx *store.Tx, c Change) error {
	actor, req := actorOf(ctx)
	r := row{org: c.Org, kind: c.Kind, entry: ashby.AuditLogEntry{
		ID: ashby.NewID(), Timestamp: ashby.NewTime(tx.DB().Now()), Actor: actor, Request: req,
		Category: Category(c.Kind, c.Action), Target: ashby.AuditTarget{Type: TargetType(c.Kind), ID: c.ID, Name: truncate(c.Name, 200)},
	}}
	if c.Action == ActionUpdated {
		r.entry.ChangedFields = c.Changed
	}
	r.entry.Description = describe(actor, r.entry.Category, r.entry.Target)
	return insert(ctx, tx, []row{r})
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
// target's name is read from.
func newRow(c change, action string, changed map[string]ashby.AuditChange, fields map[string]json.RawMessage) row {
	return row{
		org: c.org, kind: c.kind,
		entry: ashby.AuditLogEntry{
			Category:      Category(c.kind, action),
			ChangedFields: changed,
			Target:        ashby.AuditTarget{Type: TargetType(c.kind), ID: c.id, Name: nameOf(c.kind, fields)},
		},
	}
}

// actorOf derives the actor and request from the call in ctx: an API key,
// or a person signed in to the web app (a User). Calls made in-process
// without either (demo seeding, command-line tools) and
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
	if c.KeyID == "" && c.SessionID != "" && c.UserID != "" {
		id := c.UserID
		return ashby.AuditActor{Type: ashby.ActorUser, ID: &id, Name: c.UserName, UserID: c.UserID}, req
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
	switch actor.Type {
	case ashby.ActorAPIUser:
		who = fmt.Sprintf("API key %q", actor.Name)
	case ashby.ActorUser:
		who = fmt.Sprintf("User %q", actor.Name)
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

// diff compares a record's previous document with its fields now.
func diff(before []byte, b map[string]json.RawMessage) (map[string]ashby.AuditChange, error) {
	a, err := fields(before)
	if err != nil {
		return nil, fmt.Errorf("decode previous document: %w", err)
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
// changes to them still show. It returns the redacted document and its
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

// chunk bounds multi-row inserts, well below both engines' limits on bound
// parameters.
const chunk = 200

const insertColumns = 10

func insert(ctx context.Context, tx *store.Tx, rows []row) error {
	for start := 0; start < len(rows); start += chunk {
		part := rows[start:min(start+chunk, len(rows))]
		var q strings.Builder
		q.WriteString(`INSERT INTO audit_log (id, org_id, created_at, listed, actor_type, actor_id, category, target_type, target_kind, target_id, entry) VALUES `)
		args := make([]any, 0, len(part)*insertColumns)
		for i, r := range part {
			if i > 0 {
				q.WriteByte(',')
			}
			n := len(args)
			fmt.Fprintf(&q, "($%d,$%d,$%d,1,$%d,$%d,$%d,$%d,$%d,$%d,$%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9, n+10)
			entry, err := json.Marshal(r.entry)
			if err != nil {
				return fmt.Errorf("audit: encode entry: %w", err)
			}
			var actorID any
			if r.entry.Actor.ID != nil {
				actorID = *r.entry.Actor.ID
			}
			args = append(args, r.entry.ID, r.org, r.entry.Timestamp.UnixMilli(), r.entry.Actor.Type, actorID,
				r.entry.Category, r.entry.Target.Type, r.kind, r.entry.Target.ID, string(entry))
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("audit: record %d entries: %w", len(part), err)
		}
	}
	return nil
}
