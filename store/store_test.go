package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
)

type widget struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Version   int        `json:"version"`
	Archived  bool       `json:"isArchived"`
	Owner     string     `json:"owner,omitempty"`
	Tags      []string   `json:"tags,omitempty"`
	CreatedAt ashby.Time `json:"createdAt"`
}

var widgets = store.Kind[widget]{
	Name:    "test_widget",
	HasKeys: true,
	Index: func(w *widget) store.Index {
		idx := store.Index{ID: w.ID, CreatedAt: w.CreatedAt.Time, Archived: w.Archived, Parent: w.Owner, Search: w.Name}
		for _, t := range w.Tags {
			idx.Keys = append(idx.Keys, store.Key{Name: "tag", Value: t})
		}
		return idx
	},
}

func newOrg(t testing.TB, db *store.DB) string {
	t.Helper()
	var id string
	err := db.Write(context.Background(), func(tx *store.Tx) error {
		o, err := tx.CreateOrg(context.Background(), storetest.Name("org"), "Test")
		if o != nil {
			id = o.ID
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func put(t testing.TB, db *store.DB, org string, ws ...*widget) {
	t.Helper()
	err := db.Write(context.Background(), func(tx *store.Tx) error {
		for _, w := range ws {
			// Lock first, as every writer must (see Kind.Put).
			if _, err := widgets.GetForUpdate(context.Background(), tx, org, w.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err := widgets.Put(context.Background(), tx, org, w); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDocumentsAreScopedToTheirOrganization(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b := newOrg(t, db), newOrg(t, db)
		w := &widget{ID: ashby.NewID(), Name: "alpha", Tags: []string{"x", "y"}, CreatedAt: ashby.Now()}
		put(t, db, a, w)

		got, err := widgets.Get(ctx, db, a, w.ID)
		if err != nil || got.Name != "alpha" {
			t.Fatalf("get in own org: %v %+v", err, got)
		}
		if _, err := widgets.Get(ctx, db, b, w.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get from another org: want ErrNotFound, got %v", err)
		}
		if ids, _ := widgets.IDsByKey(ctx, db, b, "tag", "x"); len(ids) != 0 {
			t.Fatalf("key lookup leaked across orgs: %v", ids)
		}
		byTag, err := widgets.ByKey(ctx, db, a, "tag", "y", 0)
		if err != nil || len(byTag) != 1 || byTag[0].ID != w.ID {
			t.Fatalf("by key: %v %v", err, byTag)
		}
		// Re-putting with different tags reindexes.
		w.Tags = []string{"z"}
		put(t, db, a, w)
		if ids, _ := widgets.IDsByKey(ctx, db, a, "tag", "x"); len(ids) != 0 {
			t.Fatalf("stale key after reindex: %v", ids)
		}
		err = db.Write(ctx, func(tx *store.Tx) error { return widgets.Delete(ctx, tx, b, w.ID) })
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete from another org: want ErrNotFound, got %v", err)
		}
		if err := db.Write(ctx, func(tx *store.Tx) error { return widgets.Delete(ctx, tx, a, w.ID) }); err != nil {
			t.Fatal(err)
		}
		if ok, _ := widgets.Exists(ctx, db, a, w.ID); ok {
			t.Fatal("deleted record still exists")
		}
	})
}

func TestRollbackLeavesNoTrace(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		org := newOrg(t, db)
		boom := errors.New("boom")
		w := &widget{ID: ashby.NewID(), Name: "gone", CreatedAt: ashby.Now()}
		err := db.Write(ctx, func(tx *store.Tx) error {
			if err := widgets.Put(ctx, tx, org, w); err != nil {
				return err
			}
			if _, err := tx.Emit(ctx, org, "ping", map[string]string{"a": "b"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("want boom, got %v", err)
		}
		if ok, _ := widgets.Exists(ctx, db, org, w.ID); ok {
			t.Fatal("rolled-back record exists")
		}
		var n int
		db.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE org_id = $1`, org).Scan(&n)
		if n != 0 {
			t.Fatalf("rolled-back event recorded: %d", n)
		}
	})
}

// collect walks a whole list (full or incremental) and returns the ids in
// the order seen, the number of pages and the final sync token.
func collect(t testing.TB, db *store.DB, spec store.ListSpec) (ids []string, pages int, token string) {
	t.Helper()
	for {
		p, err := db.List(context.Background(), spec)
		if err != nil {
			t.Fatalf("list page %d: %v", pages+1, err)
		}
		pages++
		for _, d := range p.Docs {
			var w widget
			if err := json.Unmarshal(d, &w); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, w.ID)
		}
		if p.MoreDataAvailable == (p.NextCursor == "") {
			t.Fatalf("page %d: moreDataAvailable=%v with nextCursor %q", pages, p.MoreDataAvailable, p.NextCursor)
		}
		if p.MoreDataAvailable && p.SyncToken != "" {
			t.Fatalf("page %d: sync token before the last page", pages)
		}
		if !p.MoreDataAvailable {
			if p.SyncToken == "" {
				t.Fatalf("last page %d has no sync token", pages)
			}
			return ids, pages, p.SyncToken
		}
		spec.Cursor = p.NextCursor
	}
}

func TestFullThenIncrementalSync(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		org := newOrg(t, db)
		base := time.Now().Add(-time.Hour)
		all := make([]*widget, 1050)
		for i := range all {
			// Several share a creation millisecond, so the id tie-break matters.
			all[i] = &widget{ID: ashby.NewID(), Name: fmt.Sprint("w", i), CreatedAt: ashby.NewTime(base.Add(time.Duration(i/3) * time.Millisecond))}
		}
		put(t, db, org, all...)
		spec := store.ListSpec{Kind: widgets.Name, Endpoint: "widget.list", Org: org, Limit: 100}
		ids, pages, tok := collect(t, db, spec)
		if len(ids) != 1050 || pages != 11 {
			t.Fatalf("full sync: %d records in %d pages, want 1050 in 11", len(ids), pages)
		}
		seen := map[string]int{}
		for _, id := range ids {
			seen[id]++
		}
		for _, w := range all {
			if seen[w.ID] != 1 {
				t.Fatalf("record %s seen %d times", w.ID, seen[w.ID])
			}
		}

		// Nothing changed: an incremental sync is one empty page.
		inc := spec
		inc.SyncToken = tok
		if ids, _, _ := collect(t, db, inc); len(ids) != 0 {
			t.Fatalf("incremental with no changes returned %d", len(ids))
		}

		// Update 7 (one archived), create 3.
		want := map[string]bool{}
		var changed []*widget
		for i := 0; i < 7; i++ {
			w := all[i*137]
			w.Version++
			w.Archived = i == 0
			changed = append(changed, w)
			want[w.ID] = true
		}
		for i := 0; i < 3; i++ {
			w := &widget{ID: ashby.NewID(), Name: "new", CreatedAt: ashby.Now()}
			changed = append(changed, w)
			want[w.ID] = true
		}
		for _, w := range changed { // separate transactions
			put(t, db, org, w)
		}
		inc.Limit = 4
		got, tok2 := syncUntil(t, db, inc, want)
		if len(got) != 10 {
			t.Fatalf("incremental returned %d records, want the 10 changed: %v", len(got), got)
		}
		// The archived record is excluded from a full list but was in the sync.
		full, _, _ := collect(t, db, spec)
		if len(full) != 1052 {
			t.Fatalf("full list after archive: %d, want 1052", len(full))
		}
		inc.SyncToken = tok2
		if db.Engine() == store.SQLite {
			// On PostgreSQL a pass may legitimately repeat changes that were
			// above the previous pass's horizon; SQLite has no such lag.
			if ids, _, _ := collect(t, db, inc); len(ids) != 0 {
				t.Fatalf("second incremental returned %d", len(ids))
			}
		}
	})
}

func TestBadTokens(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		org := newOrg(t, db)
		for i := 0; i < 3; i++ {
			put(t, db, org, &widget{ID: ashby.NewID(), CreatedAt: ashby.Now()})
		}
		spec := store.ListSpec{Kind: widgets.Name, Endpoint: "widget.list", Org: org, Limit: 1}
		p, err := db.List(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		_, _, tok := collect(t, db, spec)
		code := func(s store.ListSpec) string {
			_, err := db.List(ctx, s)
			e, ok := ashby.AsError(err)
			if !ok {
				t.Fatalf("want an API error, got %v", err)
			}
			return e.Code
		}
		flip := func(s string) string {
			b := []byte(s)
			b[len(b)/2] ^= 1
			if b[len(b)/2] == '-' || b[len(b)/2] == '_' { // keep it base64
				b[len(b)/2] = 'A'
			}
			return string(b)
		}
		cases := []struct {
			name string
			mod  func(s *store.ListSpec)
			want string
		}{
			{"garbage cursor", func(s *store.ListSpec) { s.Cursor = "not a cursor!" }, ashby.CodeInvalidNextCursor},
			{"tampered cursor", func(s *store.ListSpec) { s.Cursor = flip(p.NextCursor) }, ashby.CodeInvalidNextCursor},
			{"token as cursor", func(s *store.ListSpec) { s.Cursor = tok }, ashby.CodeInvalidNextCursor},
			{"cursor of another list", func(s *store.ListSpec) { s.Cursor = p.NextCursor; s.Endpoint = "other.list" }, ashby.CodeInvalidNextCursor},
			{"garbage token", func(s *store.ListSpec) { s.SyncToken = "qA" }, ashby.CodeSyncTokenInvalid},
			{"tampered token", func(s *store.ListSpec) { s.SyncToken = flip(tok) }, ashby.CodeSyncTokenInvalid},
			{"cursor as token", func(s *store.ListSpec) { s.SyncToken = p.NextCursor }, ashby.CodeSyncTokenInvalid},
			{"token of another org", func(s *store.ListSpec) { s.SyncToken = tok; s.Org = newOrg(t, db) }, ashby.CodeSyncTokenInvalid},
			{"token with other filters", func(s *store.ListSpec) { s.SyncToken = tok; s.Filter.Parent = "x" }, ashby.CodeSyncTokenInvalid},
		}
		for _, c := range cases {
			s := spec
			c.mod(&s)
			if got := code(s); got != c.want {
				t.Errorf("%s: got %s, want %s", c.name, got, c.want)
			}
		}
		// Age the clock past both lifetimes.
		db.Now = func() time.Time { return time.Now().Add(store.DefaultSyncTokenTTL + time.Hour) }
		defer func() { db.Now = time.Now }()
		s := spec
		s.SyncToken = tok
		if got := code(s); got != ashby.CodeSyncTokenExpired {
			t.Errorf("old token: got %s", got)
		}
		s = spec
		s.Cursor = p.NextCursor
		if got := code(s); got != ashby.CodeNextCursorExpired {
			t.Errorf("old cursor: got %s", got)
		}
	})
}

// TestSyncUnderConcurrentWriters is the property incremental sync exists
// for: writers commit overlapping transactions of random length, some of
// which roll back, while a client syncs incrementally over and over. When
// the writers stop, one more sync brings the client to every record's
// final state, and rolled-back writes never reached it.
func TestSyncUnderConcurrentWriters(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		org := newOrg(t, db)
		const writers, records = 6, 60
		ids := make([]string, records)
		for i := range ids {
			ids[i] = ashby.NewID()
		}
		var stop atomic.Bool
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(seed uint64) {
				defer wg.Done()
				r := rand.New(rand.NewPCG(seed, 7))
				for !stop.Load() {
					id := ids[r.IntN(records)]
					hold := time.Duration(r.IntN(15)) * time.Millisecond
					rollback := r.IntN(5) == 0
					err := db.Write(ctx, func(tx *store.Tx) error {
						cur, err := widgets.GetForUpdate(ctx, tx, org, id)
						if errors.Is(err, store.ErrNotFound) {
							cur = &widget{ID: id, CreatedAt: ashby.Now()}
						} else if err != nil {
							return err
						}
						cur.Version++
						cur.Name = fmt.Sprint("v", cur.Version)
						if err := widgets.Put(ctx, tx, org, cur); err != nil {
							return err
						}
						time.Sleep(hold) // a long transaction commits after later ones
						if rollback {
							return errRollback
						}
						return nil
					})
					if err != nil && !errors.Is(err, errRollback) {
						errs <- err
						return
					}
				}
			}(uint64(w))
		}
		client := map[string]int{}
		apply := func(spec store.ListSpec) string {
			for {
				p, err := db.List(ctx, spec)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range p.Docs {
					var w widget
					json.Unmarshal(d, &w)
					if w.Version < client[w.ID] {
						// Positions only move forward; a sync may deliver a
						// record again but never an older state after a newer.
						t.Errorf("record %s went back from version %d to %d", w.ID, client[w.ID], w.Version)
					}
					client[w.ID] = w.Version
				}
				if !p.MoreDataAvailable {
					return p.SyncToken
				}
				spec.Cursor = p.NextCursor
			}
		}
		spec := store.ListSpec{Kind: widgets.Name, Endpoint: "widget.list", Org: org, Limit: 7}
		tok := apply(spec)
		syncs := 0
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); syncs++ {
			s := spec
			s.SyncToken = tok
			tok = apply(s)
		}
		stop.Store(true)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		final, err := widgets.GetMany(ctx, db, org, ids)
		if err != nil {
			t.Fatal(err)
		}
		behind := func() int {
			n := 0
			for id, w := range final {
				if client[id] != w.Version {
					n++
				}
			}
			return n + len(final) - len(client)
		}
		// Transactions of other tests on a shared PostgreSQL server can hold
		// the horizon back for a moment: the client may need another pass,
		// but must converge.
		for deadline := time.Now().Add(30 * time.Second); behind() > 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			s := spec
			s.SyncToken = tok
			tok = apply(s)
		}
		for id, w := range final {
			if client[id] != w.Version {
				t.Errorf("record %s: client has version %d, database %d", id, client[id], w.Version)
			}
		}
		if len(client) != len(final) {
			t.Errorf("client knows %d records, database has %d", len(client), len(final))
		}
		t.Logf("%d incremental syncs while writing; %d records", syncs, len(final))
	})
}

var errRollback = errors.New("rollback on purpose")

// syncUntil runs incremental syncs from spec.SyncToken until every id in
// want has come, and returns those that came and the last token.
//
// On SQLite one pass must return exactly want. On PostgreSQL, a
// transaction of another test on the shared server holds the horizon back:
// a change can move to a later pass (never be lost), and records written
// above the horizon of the earlier pass come again (at-least-once). Those
// repeats are tolerated there and logged.
func syncUntil(t *testing.T, db *store.DB, spec store.ListSpec, want map[string]bool) (map[string]bool, string) {
	t.Helper()
	got := map[string]bool{}
	repeats := 0
	defer func() {
		if repeats > 0 {
			t.Logf("PostgreSQL horizon lag: %d unchanged records delivered again", repeats)
		}
	}()
	for deadline := time.Now().Add(30 * time.Second); ; {
		ids, _, tok := collect(t, db, spec)
		for _, id := range ids {
			if !want[id] {
				if db.Engine() == store.SQLite {
					t.Fatalf("incremental sync returned unchanged record %s", id)
				}
				repeats++
				continue
			}
			got[id] = true
		}
		if len(got) == len(want) {
			return got, tok
		}
		if db.Engine() == store.SQLite || time.Now().After(deadline) {
			t.Fatalf("incremental sync missed %d of %d changes", len(want)-len(got), len(want))
		}
		spec.SyncToken = tok
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBeforeCommitSeesWhatTheTransactionWrote(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		org := newOrg(t, db)
		var seen []store.Written
		db.BeforeCommit(func(ctx context.Context, tx *store.Tx) error {
			seen = append(seen, tx.Written()...)
			_, err := tx.Emit(ctx, org, "audited", map[string]int{"n": len(tx.Written())})
			return err
		})
		w := &widget{ID: ashby.NewID(), CreatedAt: ashby.Now()}
		put(t, db, org, w)
		if err := db.Write(ctx, func(tx *store.Tx) error { return widgets.Delete(ctx, tx, org, w.ID) }); err != nil {
			t.Fatal(err)
		}
		// A transaction that writes no record runs no hook.
		if err := db.Write(ctx, func(tx *store.Tx) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if len(seen) != 2 || seen[0].ID != w.ID || seen[0].Deleted || !seen[1].Deleted || seen[0].Kind != widgets.Name {
			t.Fatalf("hook saw %+v", seen)
		}
		var n int
		db.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE org_id = $1 AND action = 'audited'`, org).Scan(&n)
		if n != 2 {
			t.Fatalf("what the hook wrote in the transaction: %d events, want 2", n)
		}
	})
}

func TestMaintainAnalyzesChangedTables(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// Autovacuum is on by default; turned off for this schema's docs
		// table, the table is Maintain's to analyze, whenever the server
		// would otherwise have done it.
		analyzed := `SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'docs'`
		if db.Engine() == store.Postgres {
			if _, err := db.ExecContext(ctx, `ALTER TABLE docs SET (autovacuum_enabled = false)`); err != nil {
				t.Fatal(err)
			}
			analyzed = `SELECT count(*) FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = 'docs' AND last_analyze IS NOT NULL`
		}
		org := newOrg(t, db)
		ws := make([]*widget, 500)
		for i := range ws {
			ws[i] = &widget{ID: ashby.NewID(), CreatedAt: ashby.Now()}
		}
		put(t, db, org, ws...)
		mctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			db.Maintain(mctx, 100*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
			close(done)
		}()
		defer func() { cancel(); <-done }()
		// Table statistics reach pg_stat_user_tables with a delay of up to
		// some seconds.
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			var n int
			if err := db.QueryRowContext(ctx, analyzed).Scan(&n); err != nil && !strings.Contains(err.Error(), "no such table") {
				t.Fatal(err)
			}
			if n > 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("Maintain did not analyze the docs table")
			}
		}
	})
}

// A PostgreSQL DSN whose search_path names a schema that does not exist
// gets an error that says so, and nothing is created.
func TestMigrateNamesAMissingSchema(t *testing.T) {
	dsn := storetest.DSN(t, store.Postgres)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", "no_such_schema_"+fmt.Sprint(rand.Uint32()))
	u.RawQuery = q.Encode()
	ctx := context.Background()
	db, err := store.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = db.Migrate(ctx)
	if err == nil || !strings.Contains(err.Error(), "no schema of the search_path (no_such_schema_") || !strings.Contains(err.Error(), "CREATE SCHEMA") {
		t.Fatalf("Migrate: %v", err)
	}
}
