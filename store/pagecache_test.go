package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
)

// A page whose documents would pass the byte budget ends early, with a
// cursor after its last document; a walk still returns every record once,
// in order, and a document larger than the budget comes alone.
func TestListPagesKeepToTheByteBudget(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		org := newOrg(t, db)
		db.PageBytes = 10_000
		var want []string
		base := time.Now().Add(-time.Hour)
		for i := range 25 {
			size := 3000
			if i == 7 {
				size = 50_000 // larger than the whole budget
			}
			w := &widget{ID: ashby.NewID(), Name: strings.Repeat("x", size), CreatedAt: ashby.NewTime(base.Add(time.Duration(i) * time.Second))}
			put(t, db, org, w)
			want = append(want, w.ID)
		}
		spec := store.ListSpec{Kind: widgets.Name, Endpoint: "widget.list", Org: org, Limit: 100}
		var got []string
		for pages := 1; ; pages++ {
			p, err := db.List(context.Background(), spec)
			if err != nil {
				t.Fatal(err)
			}
			size := 0
			for _, d := range p.Docs {
				size += len(d)
				var w widget
				if err := json.Unmarshal(d, &w); err != nil {
					t.Fatal(err)
				}
				got = append(got, w.ID)
			}
			if len(p.Docs) == 0 {
				t.Fatalf("page %d is empty", pages)
			}
			if len(p.Docs) > 1 && size > db.PageBytes {
				t.Errorf("page %d holds %d bytes in %d documents, over the budget of %d", pages, size, len(p.Docs), db.PageBytes)
			}
			if !p.MoreDataAvailable {
				if p.SyncToken == "" {
					t.Fatal("last page without a sync token")
				}
				if pages < 8 {
					t.Errorf("25 documents of 3 KB in pages of at most 10 KB took only %d pages", pages)
				}
				break
			}
			if p.NextCursor == "" {
				t.Fatalf("page %d ended early without a cursor", pages)
			}
			spec.Cursor = p.NextCursor
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("walk returned %d records %v, want %d in creation order", len(got), got, len(want))
		}
	})
}

// A list served from the page cache of one process must show every
// change acknowledged to another process before the request, while
// readers keep that cache full of pages of every age. Updates, inserts
// and deletions race each other and the readers.
func TestCachedPagesShowEveryAcknowledgedChange(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine.String(), func(t *testing.T) {
			reader, writer := storetest.OpenTwo(t, engine)
			ctx := context.Background()
			org := newOrg(t, writer)
			const records = 40
			ids := make([]string, records)
			base := time.Now().Add(-time.Hour)
			for i := range ids {
				ids[i] = ashby.NewID()
				put(t, writer, org, &widget{ID: ids[i], Name: "v0", CreatedAt: ashby.NewTime(base.Add(time.Duration(i) * time.Second))})
			}
			spec := store.ListSpec{Kind: widgets.Name, Endpoint: "widget.list", Org: org, Limit: 9}
			walk := func() map[string]int {
				out := map[string]int{}
				s := spec
				for {
					p, err := reader.List(ctx, s)
					if err != nil {
						t.Error(err)
						return out
					}
					for _, d := range p.Docs {
						var w widget
						if err := json.Unmarshal(d, &w); err != nil {
							t.Error(err)
						}
						out[w.ID] = w.Version
					}
					if !p.MoreDataAvailable {
						return out
					}
					s.Cursor = p.NextCursor
				}
			}
			var stop atomic.Bool
			var wg, writing sync.WaitGroup
			for range 3 { // keep the cache full of pages read at every moment
				wg.Add(1)
				go func() {
					defer wg.Done()
					for !stop.Load() {
						walk()
					}
				}()
			}
			const writers = 3
			var checks atomic.Int64
			for w := range writers {
				writing.Add(1)
				go func() {
					defer writing.Done()
					r := rand.New(rand.NewPCG(uint64(w), 3))
					mine := ids[w*records/writers : (w+1)*records/writers] // each record has one writer
					version := map[string]int{}
					deleted := map[string]bool{}
					for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline) && !t.Failed(); {
						id := mine[r.IntN(len(mine))]
						var err error
						action := "update"
						switch {
						case deleted[id]:
							continue
						case r.IntN(8) == 0:
							action = "delete"
							err = writer.Write(ctx, func(tx *store.Tx) error { return widgets.Delete(ctx, tx, org, id) })
							deleted[id] = true
						case r.IntN(8) == 0:
							action = "insert"
							id = ashby.NewID()
							err = writer.Write(ctx, func(tx *store.Tx) error {
								return widgets.Put(ctx, tx, org, &widget{ID: id, Name: "new", Version: 1, CreatedAt: ashby.NewTime(base.Add(time.Duration(r.IntN(records)) * time.Second))})
							})
							version[id] = 1
						default:
							version[id]++
							v := version[id]
							err = writer.Write(ctx, func(tx *store.Tx) error {
								_, err := widgets.Update(ctx, tx, org, id, func(w *widget) error {
									w.Version, w.Name = v, fmt.Sprint("v", v)
									return nil
								})
								return err
							})
						}
						if err != nil {
							t.Error(err)
							return
						}
						// Acknowledged: the other process's next list shows it.
						got := walk()
						checks.Add(1)
						switch v, ok := got[id]; {
						case action == "delete" && ok:
							t.Errorf("%s: deleted record %s still listed", engine, id)
						case action != "delete" && !ok:
							t.Errorf("%s: %s of %s acknowledged but the record is not listed", engine, action, id)
						case action != "delete" && v < version[id]:
							t.Errorf("%s: %s of %s to version %d acknowledged but version %d listed", engine, action, id, version[id], v)
						}
					}
				}()
			}
			writing.Wait()
			stop.Store(true)
			wg.Wait()
			t.Logf("%d acknowledged changes checked", checks.Load())
		})
	}
}

// On PostgreSQL change positions are transaction ids, and a transaction
// can commit after one with a higher id: a page read while it runs must
// not be served once it has committed.
func TestCachedPageWaitsForOlderTransactions(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		if db.Engine() != store.Postgres {
			t.Skip("SQLite has one writer: change positions are in commit order")
		}
		ctx := context.Background()
		org := newOrg(t, db)
		put(t, db, org, &widget{ID: ashby.NewID(), Name: "first", CreatedAt: ashby.Now()})
		spec := store.ListSpec{Kind: widgets.Name, Endpoint: "widget.list", Org: org}
		names := func() string {
			p, err := db.List(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, d := range p.Docs {
				var w widget
				json.Unmarshal(d, &w)
				out = append(out, w.Name)
			}
			return strings.Join(out, ",")
		}
		written, release, done := make(chan struct{}), make(chan struct{}), make(chan error)
		go func() {
			done <- db.Write(ctx, func(tx *store.Tx) error {
				// Takes its transaction id now, commits last.
				if err := widgets.Put(ctx, tx, org, &widget{ID: ashby.NewID(), Name: "older", CreatedAt: ashby.Now()}); err != nil {
					return err
				}
				close(written)
				<-release
				return nil
			})
		}()
		<-written
		put(t, db, org, &widget{ID: ashby.NewID(), Name: "younger", CreatedAt: ashby.Now()})
		if got := names(); got != "first,younger" {
			t.Fatalf("before the older transaction commits: %q", got)
		}
		names() // a second read, in case the first one was what filled the cache
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := names(); got != "first,younger,older" && got != "first,older,younger" {
			t.Fatalf("after the older transaction committed: %q, want all three", got)
		}
	})
}

// A deletion leaves no change position behind; it must still reach a
// cached page, in this process and another.
func TestCachedPagesSeeDeletions(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine.String(), func(t *testing.T) {
			a, b := storetest.OpenTwo(t, engine)
			ctx := context.Background()
			org := newOrg(t, a)
			w1, w2 := &widget{ID: ashby.NewID(), CreatedAt: ashby.Now()}, &widget{ID: ashby.NewID(), CreatedAt: ashby.Now()}
			put(t, a, org, w1, w2)
			spec := store.ListSpec{Kind: widgets.Name, Endpoint: "widget.list", Org: org}
			for _, db := range []*store.DB{a, b, a, b} { // warm both caches
				if ids, _, _ := collect(t, db, spec); len(ids) != 2 {
					t.Fatalf("listed %d records, want 2", len(ids))
				}
			}
			if err := b.Write(ctx, func(tx *store.Tx) error { return widgets.Delete(ctx, tx, org, w1.ID) }); err != nil {
				t.Fatal(err)
			}
			for name, db := range map[string]*store.DB{"deleting process": b, "other process": a} {
				if ids, _, _ := collect(t, db, spec); len(ids) != 1 || ids[0] != w2.ID {
					t.Errorf("%s lists %v after the deletion, want only %s", name, ids, w2.ID)
				}
			}
		})
	}
}

// A read-only list returns the same documents as one JSON array, shared
// with later requests for the page; a caller that changes its own Docs
// changes nothing another request gets. Empty pages are "[]".
func TestReadOnlyPagesAreTheDocumentsAsOneArray(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		org := newOrg(t, db)
		spec := store.ListSpec{Kind: widgets.Name, Endpoint: "widget.list", Org: org, Limit: 3}
		ro := spec
		ro.ReadOnly = true
		if p, err := db.List(ctx, ro); err != nil || string(p.JSON) != "[]" || p.Docs != nil {
			t.Fatalf("empty read-only page: %q, %d docs, %v", p.JSON, len(p.Docs), err)
		}
		for i := range 5 {
			put(t, db, org, &widget{ID: ashby.NewID(), Name: fmt.Sprintf("w%d", i), CreatedAt: ashby.NewTime(time.Now().Add(time.Duration(i-10) * time.Second))})
		}
		for round := range 3 { // the first read fills the cache; the others come from it
			p, err := db.List(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			want := "[" + string(bytesJoin(p.Docs)) + "]"
			// The caller owns Docs: scribbling on them must not reach
			// anyone else.
			for i := range p.Docs {
				p.Docs[i] = append(p.Docs[i], "garbage"...)
			}
			r, err := db.List(ctx, ro)
			if err != nil {
				t.Fatal(err)
			}
			if string(r.JSON) != want || r.Docs != nil || r.MoreDataAvailable != p.MoreDataAvailable || !r.MoreDataAvailable {
				t.Fatalf("round %d: read-only page %s (more %v), want %s (more %v)", round, r.JSON, r.MoreDataAvailable, want, p.MoreDataAvailable)
			}
			var ws []widget
			if err := json.Unmarshal(r.JSON, &ws); err != nil || len(ws) != 3 {
				t.Fatalf("round %d: %d widgets, %v", round, len(ws), err)
			}
			// The next page through the read-only page's cursor.
			next := ro
			next.Cursor = r.NextCursor
			r2, err := db.List(ctx, next)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(r2.JSON, &ws); err != nil || len(ws) != 2 || r2.MoreDataAvailable || r2.SyncToken == "" {
				t.Fatalf("round %d: second page %s, %v", round, r2.JSON, err)
			}
		}
	})
}

func bytesJoin(docs [][]byte) []byte {
	var b []byte
	for i, d := range docs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, d...)
	}
	return b
}
