package audit

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
)

type gadget struct {
	ID          string     `json:"id"`
	Title       string     `json:"title"`
	Color       string     `json:"color,omitempty"`
	Secret      string     `json:"clientSecret,omitempty"`
	CreatedAt   ashby.Time `json:"createdAt"`
	UpdatedAt   ashby.Time `json:"updatedAt"`
	Manufacture string     `json:"manufacturer,omitempty"`
}

var gadgets = store.Kind[gadget]{Name: "test_gadget", Index: func(g *gadget) store.Index {
	return store.Index{ID: g.ID, CreatedAt: g.CreatedAt.Time}
}}

func init() { RegisterKind(gadgets.Name) }

func newOrg(t *testing.T, db *store.DB) string {
	t.Helper()
	var org *store.Org
	err := db.Write(context.Background(), func(tx *store.Tx) error {
		var err error
		org, err = tx.CreateOrg(context.Background(), strings.ToLower(storetest.Name("org")), "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return org.ID
}

// apiCall is the context of a request made with an API key.
func apiCall(org string) context.Context {
	r := httptest.NewRequest("POST", "/gadget.update", nil)
	r.RemoteAddr = "203.0.113.7:5555"
	r.Header.Set("User-Agent", "audit-test/1.0")
	c := &rpc.Call{Principal: &rpc.Principal{OrgID: org, KeyID: ashby.NewID(), KeyTitle: "Sync job", UserID: ashby.NewID()},
		RequestID: "01TESTREQUEST", HTTP: r, Endpoint: &rpc.Endpoint{Name: "gadget.update"}}
	return rpc.WithCall(context.Background(), c)
}

func write(t *testing.T, ctx context.Context, db *store.DB, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := db.Write(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

func entries(t *testing.T, db *store.DB, q Query) []ashby.AuditLogEntry {
	t.Helper()
	if q.Start.IsZero() {
		q.Start, q.End = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	}
	var out []ashby.AuditLogEntry
	for {
		p, err := List(context.Background(), db, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range p.Entries {
			var e ashby.AuditLogEntry
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatal(err)
			}
			out = append(out, e)
		}
		if !p.MoreDataAvailable {
			return out
		}
		q.Cursor = p.NextCursor
	}
}

func TestRecordsChangesWithActorsAndChangedFields(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		Attach(db)
		Attach(db) // attaching twice records once
		org := newOrg(t, db)
		g := &gadget{ID: ashby.NewID(), Title: "Widget", Color: "red", Secret: "s3cr3t", CreatedAt: ashby.Now(), UpdatedAt: ashby.Now()}
		// Created outside any call: the system's; a second record written
		// in the same transaction points at the first as its parent.
		other := &gadget{ID: ashby.NewID(), Title: "Sprocket", CreatedAt: ashby.Now()}
		write(t, context.Background(), db, func(tx *store.Tx) error {
			if err := save(context.Background(), tx, org, g); err != nil {
				return err
			}
			// Written twice: one entry.
			if err := save(context.Background(), tx, org, other); err != nil {
				return err
			}
			return save(context.Background(), tx, org, other)
		})
		ctx := apiCall(org)
		write(t, ctx, db, func(tx *store.Tx) error {
			g.Color, g.Manufacture, g.UpdatedAt = "blue", "Acme", ashby.NewTime(time.Now().Add(time.Second))
			if err := save(ctx, tx, org, g); err != nil {
				return err
			}
			// Rewritten without a change: no entry.
			return save(ctx, tx, org, other)
		})
		write(t, ctx, db, func(tx *store.Tx) error { return gadgets.Delete(ctx, tx, org, other.ID) })
		// Created and deleted in one transaction: nothing to record.
		write(t, ctx, db, func(tx *store.Tx) error {
			tmp := &gadget{ID: ashby.NewID(), Title: "Ephemeral", CreatedAt: ashby.Now()}
			if err := save(ctx, tx, org, tmp); err != nil {
				return err
			}
			return gadgets.Delete(ctx, tx, org, tmp.ID)
		})
		// A transaction that fails records nothing.
		boom := errors.New("boom")
		if err := db.Write(ctx, func(tx *store.Tx) error {
			g.Color = "green"
			if err := save(ctx, tx, org, g); err != nil {
				return err
			}
			return boom
		}); !errors.Is(err, boom) {
			t.Fatal(err)
		}

		got := entries(t, db, Query{Org: org})
		var cats []string
		for _, e := range got {
			cats = append(cats, e.Category+" "+e.Target.Name)
		}
		want := []string{"testGadget.deleted Sprocket", "testGadget.updated Widget", "testGadget.created Sprocket", "testGadget.created Widget"}
		if strings.Join(cats, ",") != strings.Join(want, ",") {
			t.Fatalf("entries newest first: %q, want %q", cats, want)
		}
		created, sibling, updated, deleted := got[3], got[2], got[1], got[0]
		if created.Actor.Type != ashby.ActorSystem || created.Actor.ID != nil || created.Request != nil || created.ChangedFields != nil || created.ParentAction != nil {
			t.Errorf("system creation: %+v", created)
		}
		if sibling.ParentAction == nil || sibling.ParentAction.ID != created.ID || sibling.ParentAction.Category != "testGadget.created" {
			t.Errorf("second record of a transaction: parent %+v, want %s", sibling.ParentAction, created.ID)
		}
		if updated.Actor.Type != ashby.ActorAPIUser || updated.Actor.ID == nil || updated.Actor.Name != "Sync job" || updated.Actor.UserID == "" {
			t.Errorf("API actor: %+v", updated.Actor)
		}
		if r := updated.Request; r == nil || r.ID != "01TESTREQUEST" || r.IPAddress != "203.0.113.7" || r.UserAgent != "audit-test/1.0" || r.Endpoint != "gadget.update" {
			t.Errorf("request: %+v", updated.Request)
		}
		if len(updated.ChangedFields) != 2 || string(updated.ChangedFields["color"].From) != `"red"` || string(updated.ChangedFields["color"].To) != `"blue"` ||
			string(updated.ChangedFields["manufacturer"].From) != "null" || string(updated.ChangedFields["manufacturer"].To) != `"Acme"` {
			t.Errorf("changedFields (updatedAt excluded): %s", mustJSON(updated.ChangedFields))
		}
		if updated.Target.Type != "TestGadget" || updated.Target.ID != g.ID || !strings.Contains(updated.Description, `API key "Sync job" updated test gadget "Widget"`) {
			t.Errorf("target and description: %+v %q", updated.Target, updated.Description)
		}
		if deleted.Target.Name != "Sprocket" || deleted.ChangedFields != nil {
			t.Errorf("deletion: %+v", deleted)
		}
		// Secrets never reach the log.
		var n int
		if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE entry LIKE '%s3cr3t%' OR snapshot LIKE '%s3cr3t%'`).Scan(&n); err != nil || n != 0 {
			t.Errorf("secret stored in %d audit rows (%v)", n, err)
		}
	})
}

func TestListFiltersWindowsAndCursors(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		Attach(db)
		org, otherOrg := newOrg(t, db), newOrg(t, db)
		ctx := apiCall(org)
		call, _ := rpc.CallFrom(ctx)
		var ids []string
		for i := 0; i < 7; i++ {
			g := &gadget{ID: ashby.NewID(), Title: "G", CreatedAt: ashby.Now()}
			ids = append(ids, g.ID)
			write(t, ctx, db, func(tx *store.Tx) error { return save(ctx, tx, org, g) })
		}
		write(t, context.Background(), db, func(tx *store.Tx) error {
			return save(context.Background(), tx, otherOrg, &gadget{ID: ashby.NewID(), Title: "Elsewhere", CreatedAt: ashby.Now()})
		})
		all := entries(t, db, Query{Org: org, Limit: 3, TargetTypes: []string{"TestGadget"}})
		if len(all) != 7 || all[0].Target.ID != ids[6] || all[6].Target.ID != ids[0] {
			t.Fatalf("paged newest first: %d entries", len(all))
		}
		if got := entries(t, db, Query{Org: org, TargetIDs: []string{ids[2]}}); len(got) != 1 || got[0].Target.ID != ids[2] {
			t.Errorf("targetIds: %+v", got)
		}
		if got := entries(t, db, Query{Org: org, ActorIDs: []string{call.KeyID}, TargetIDs: []string{ids[2], ids[3]}}); len(got) != 2 {
			t.Errorf("actorIds and targetIds: %d entries", len(got))
		}
		if got := entries(t, db, Query{Org: org, ActorIDs: []string{ashby.NewID()}}); len(got) != 0 {
			t.Errorf("unknown actor: %d entries", len(got))
		}
		// targetTypes and categories are ORed.
		if got := entries(t, db, Query{Org: org, TargetTypes: []string{"Candidate"}, Categories: []string{"testGadget.created"}}); len(got) != 7 {
			t.Errorf("targetTypes OR categories: %d entries", len(got))
		}
		if got := entries(t, db, Query{Org: org, Categories: []string{"testGadget.deleted"}}); len(got) != 0 {
			t.Errorf("categories: %d entries", len(got))
		}
		// The window bounds timestamps.
		past := time.Now().Add(-48 * time.Hour)
		if got := entries(t, db, Query{Org: org, Start: past, End: past.Add(time.Hour)}); len(got) != 0 {
			t.Errorf("window in the past: %d entries", len(got))
		}

		// A cursor works only with the request it was issued for.
		q := Query{Org: org, Limit: 2, Start: time.Now().Add(-time.Hour), End: time.Now().Add(time.Hour), Scope: []string{"a"}}
		p, err := List(context.Background(), db, q)
		if err != nil || !p.MoreDataAvailable {
			t.Fatal(p, err)
		}
		for name, bad := range map[string]Query{
			"other filters": {Org: org, Limit: 2, Cursor: p.NextCursor, Scope: []string{"b"}},
			"other org":     {Org: otherOrg, Limit: 2, Cursor: p.NextCursor, Scope: []string{"a"}},
			"edited":        {Org: org, Limit: 2, Cursor: edited(p.NextCursor), Scope: []string{"a"}},
			"garbage":       {Org: org, Limit: 2, Cursor: "not a cursor", Scope: []string{"a"}},
		} {
			_, err := List(context.Background(), db, bad)
			if e, ok := ashby.AsError(err); !ok || e.Code != CodeCursorInvalid {
				t.Errorf("%s cursor: %v", name, err)
			}
		}
		// The cursor keeps its first page's window however late it is used.
		q.Cursor, q.Start, q.End = p.NextCursor, time.Time{}, time.Time{}
		if p2, err := List(context.Background(), db, q); err != nil || len(p2.Entries) != 2 {
			t.Errorf("second page: %v %v", p2, err)
		}
	})
}

// The migration keeps a baseline snapshot of the records that existed
// before the audit log did, so that their first change is an update with
// its changed fields rather than a creation.
func TestBaselineOfRecordsOlderThanTheLog(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		org := newOrg(t, db)
		g := &gadget{ID: ashby.NewID(), Title: "Old", Color: "red", CreatedAt: ashby.Now()}
		write(t, ctx, db, func(tx *store.Tx) error { return save(ctx, tx, org, g) }) // not attached: unaudited
		if _, err := db.ExecContext(ctx, `DROP TABLE audit_log`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = 400`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		Attach(db)
		write(t, apiCall(org), db, func(tx *store.Tx) error { g.Color = "blue"; return save(ctx, tx, org, g) })
		got := entries(t, db, Query{Org: org})
		if len(got) != 1 || got[0].Category != "testGadget.updated" || string(got[0].ChangedFields["color"].From) != `"red"` {
			t.Fatalf("first change of an older record: %s", mustJSON(got))
		}
	})
}

func TestVocabulary(t *testing.T) {
	if TargetType("job_posting") != "JobPosting" || Category("job_posting", ActionUpdated) != "jobPosting.updated" {
		t.Errorf("derived names: %s %s", TargetType("job_posting"), Category("job_posting", ActionUpdated))
	}
	if !ValidTargetType("Application") || ValidTargetType("application") || !ValidCategory("candidate.deleted") || ValidCategory("candidate.archived") {
		t.Error("validation")
	}
	if label("InterviewStageGroup") != "interview stage group" {
		t.Error(label("InterviewStageGroup"))
	}
	if cats, types := Categories(), TargetTypes(); len(cats) != 3*len(types) {
		t.Errorf("%d categories for %d types", len(cats), len(types))
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// fields agrees with encoding/json on every valid object.
func FuzzFields(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"b":"x\"}y","c":{"d":[1,{"e":"]"}]},"f":null,"g":true}`, ` { "a" : [ ] , "b\u00e9" : -1.5e3 } `,
		`{"candidate":{"name":"A \\ B"},"job":{"title":"{[x"}}`, `{"a":"\\"}`, `[1]`, `{"a":}`, `{"a":1`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want map[string]json.RawMessage
		if json.Unmarshal(b, &want) != nil || want == nil {
			return
		}
		got, err := fields(b)
		if err != nil {
			t.Fatalf("fields(%s): %v", b, err)
		}
		if len(got) != len(want) {
			t.Fatalf("fields(%s): %d members, want %d", b, len(got), len(want))
		}
		for k, v := range want {
			if string(got[k]) != string(v) {
				t.Fatalf("fields(%s)[%q] = %s, want %s", b, k, got[k], v)
			}
		}
	})
}

// save stores g as a writer must: locking the stored record first.
func save(ctx context.Context, tx *store.Tx, org string, g *gadget) error {
	if _, err := gadgets.GetForUpdate(ctx, tx, org, g.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return gadgets.Put(ctx, tx, org, g)
}

// edited changes one character in the middle of a cursor, where every
// bit is data. (Replacing its last two characters with "AA" left it
// unchanged when they already were, and the last character's unused low
// bits decode the same whatever they are: the test failed once in CI.)
func edited(cursor string) string {
	b := []byte(cursor)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
