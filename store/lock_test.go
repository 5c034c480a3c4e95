package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
)

// A transaction may overwrite only what it holds: a plain read followed
// by Put is refused and leaves the stored document as it was.
func TestPutRefusesUnlockedOverwrite(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		org := newOrg(t, db)
		w := &widget{ID: ashby.NewID(), Name: "first", Tags: []string{"a"}, CreatedAt: ashby.Now()}
		put(t, db, org, w)

		refused := func(what string, read func(tx *store.Tx) (*widget, error)) {
			t.Helper()
			err := db.Write(ctx, func(tx *store.Tx) error {
				got, err := read(tx)
				if err != nil {
					return err
				}
				got.Name = "overwritten by " + what
				return widgets.Put(ctx, tx, org, got)
			})
			if !errors.Is(err, store.ErrUnlockedWrite) {
				t.Fatalf("%s then Put: want ErrUnlockedWrite, got %v", what, err)
			}
		}
		refused("Get", func(tx *store.Tx) (*widget, error) { return widgets.Get(ctx, tx, org, w.ID) })
		refused("Find", func(tx *store.Tx) (*widget, error) { return widgets.FindOne(ctx, tx, org, store.Filter{}) })
		refused("ByKey", func(tx *store.Tx) (*widget, error) {
			ws, err := widgets.ByKey(ctx, tx, org, "tag", "a", 0)
			if err != nil || len(ws) != 1 {
				t.Fatalf("by key: %v %v", err, ws)
			}
			return ws[0], nil
		})
		refused("GetShared", func(tx *store.Tx) (*widget, error) { return widgets.GetShared(ctx, tx, org, w.ID) })
		refused("a fresh value", func(tx *store.Tx) (*widget, error) {
			return &widget{ID: w.ID, CreatedAt: w.CreatedAt}, nil
		})
		if got, _ := widgets.Get(ctx, db, org, w.ID); got.Name != "first" || len(got.Tags) != 1 {
			t.Fatalf("a refused Put changed the document: %+v", got)
		}
		if ids, _ := widgets.IDsByKey(ctx, db, org, "tag", "a"); len(ids) != 1 {
			t.Fatalf("a refused Put changed the keys: %v", ids)
		}

		allowed := func(what string, read func(tx *store.Tx) (*widget, error)) {
			t.Helper()
			err := db.Write(ctx, func(tx *store.Tx) error {
				got, err := read(tx)
				if err != nil {
					return err
				}
				got.Version++
				return widgets.Put(ctx, tx, org, got)
			})
			if err != nil {
				t.Fatalf("%s then Put: %v", what, err)
			}
		}
		allowed("GetForUpdate", func(tx *store.Tx) (*widget, error) { return widgets.GetForUpdate(ctx, tx, org, w.ID) })
		allowed("FindForUpdate", func(tx *store.Tx) (*widget, error) {
			return widgets.FindOneForUpdate(ctx, tx, org, store.Filter{Search: "first"})
		})
		allowed("ByKeyForUpdate", func(tx *store.Tx) (*widget, error) {
			ws, err := widgets.ByKeyForUpdate(ctx, tx, org, "tag", "a")
			if err != nil || len(ws) != 1 {
				t.Fatalf("by key for update: %v %v", err, ws)
			}
			return ws[0], nil
		})
		allowed("an insert, then a second Put of it", func(tx *store.Tx) (*widget, error) {
			n := &widget{ID: ashby.NewID(), Name: "new", CreatedAt: ashby.Now()}
			if err := widgets.Put(ctx, tx, org, n); err != nil {
				return nil, err
			}
			return n, nil
		})
		allowed("Delete, then insert again", func(tx *store.Tx) (*widget, error) {
			if err := widgets.Delete(ctx, tx, org, w.ID); err != nil {
				return nil, err
			}
			return &widget{ID: w.ID, Name: "reborn", CreatedAt: w.CreatedAt}, nil
		})
		if got, _ := widgets.Get(ctx, db, org, w.ID); got.Name != "reborn" {
			t.Fatalf("after delete and insert: %+v", got)
		}
	})
}

// Rewrite stores only the records its function changed, so a fan-out
// that finds everything current leaves nothing for a sync to download.
func TestRewriteStoresOnlyChangedRecords(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		org := newOrg(t, db)
		owner := ashby.NewID()
		var ws []*widget
		for i := range 1200 { // more than one locking batch
			ws = append(ws, &widget{ID: ashby.NewID(), Name: "w", Owner: owner, Version: i % 2, Tags: []string{"t"}, CreatedAt: ashby.Now()})
		}
		err := db.Write(ctx, func(tx *store.Tx) error {
			for _, w := range ws {
				if err := widgets.Put(ctx, tx, org, w); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		spec := store.ListSpec{Kind: widgets.Name, Endpoint: "widget.list", Org: org}
		_, _, tok := collect(t, db, spec)

		var seen int
		changed := map[string]bool{}
		err = db.Write(ctx, func(tx *store.Tx) error {
			n, err := widgets.Rewrite(ctx, tx, org, store.Filter{Parent: owner}, func(w *widget) error {
				seen++
				if w.Version == 0 {
					changed[w.ID] = true
				}
				w.Version = 1
				return nil
			})
			if n != 600 || len(tx.Written()) != 600 {
				t.Errorf("Rewrite stored %d records (%d written), want the 600 it changed", n, len(tx.Written()))
			}
			return err
		})
		if err != nil || seen != 1200 {
			t.Fatalf("rewrite: %v, saw %d of 1200", err, seen)
		}
		inc := spec
		inc.SyncToken = tok
		syncUntil(t, db, inc, changed)
		err = db.Write(ctx, func(tx *store.Tx) error {
			n, err := widgets.RewriteByKey(ctx, tx, org, "tag", "t", func(w *widget) error { w.Version = 1; return nil })
			if n != 0 || len(tx.Written()) != 0 {
				t.Errorf("a rewrite that changed nothing stored %d records", len(tx.Written()))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// On PostgreSQL, a locking read waits for a concurrent writer and then
// sees its commit; a record that lost the key meanwhile is not returned,
// and one whose filter column changed is not either.
func TestLockingReadsSeeConcurrentCommits(t *testing.T) {
	db := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	org := newOrg(t, db)
	w := &widget{ID: ashby.NewID(), Name: "w", Owner: "o1", Tags: []string{"old"}, CreatedAt: ashby.Now()}
	put(t, db, org, w)

	for _, tc := range []struct {
		name   string
		change func(w *widget)
		read   func(tx *store.Tx) ([]*widget, error)
		want   int
	}{
		{"key moved", func(w *widget) { w.Tags = []string{"new"} },
			func(tx *store.Tx) ([]*widget, error) { return widgets.ByKeyForUpdate(ctx, tx, org, "tag", "old") }, 0},
		{"parent moved", func(w *widget) { w.Owner = "o2" },
			func(tx *store.Tx) ([]*widget, error) {
				return widgets.FindForUpdate(ctx, tx, org, store.Filter{Parent: "o1"})
			}, 0},
		{"version bumped", func(w *widget) { w.Version = 42 },
			func(tx *store.Tx) ([]*widget, error) {
				return widgets.FindForUpdate(ctx, tx, org, store.Filter{Parent: "o2"})
			}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			locked := make(chan struct{})
			release := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := db.Write(ctx, func(tx *store.Tx) error {
					cur, err := widgets.GetForUpdate(ctx, tx, org, w.ID)
					if err != nil {
						return err
					}
					tc.change(cur)
					if err := widgets.Put(ctx, tx, org, cur); err != nil {
						return err
					}
					close(locked)
					<-release
					return nil
				})
				if err != nil {
					t.Errorf("writer: %v", err)
				}
			}()
			<-locked
			var got []*widget
			done := make(chan error, 1)
			go func() {
				done <- db.Write(ctx, func(tx *store.Tx) error {
					var err error
					got, err = tc.read(tx)
					return err
				})
			}()
			select {
			case err := <-done:
				t.Fatalf("the locking read did not wait for the writer (err %v)", err)
			case <-time.After(200 * time.Millisecond):
			}
			close(release)
			wg.Wait()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.want {
				t.Fatalf("got %d records, want %d", len(got), tc.want)
			}
			if tc.want == 1 && got[0].Version != 42 {
				t.Fatalf("the locking read returned a stale version: %+v", got[0])
			}
		})
	}
}

// Two transactions that find a record absent under lock and both insert
// it: the loser is retried as a whole, finds the winner's record, and
// updates it, so neither write is lost.
func TestConcurrentInsertOfAbsentRecordIsRetried(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		org := newOrg(t, db)
		id := ashby.NewID()
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := db.Write(ctx, func(tx *store.Tx) error {
					w, err := widgets.GetForUpdate(ctx, tx, org, id)
					if errors.Is(err, store.ErrNotFound) {
						w, err = &widget{ID: id, Name: "counter", CreatedAt: ashby.Now()}, nil
					}
					if err != nil {
						return err
					}
					w.Version++
					w.Tags = append(w.Tags, string(rune('a'+i)))
					return widgets.Put(ctx, tx, org, w)
				})
				if err != nil {
					t.Errorf("writer %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		got, err := widgets.Get(ctx, db, org, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 8 || len(got.Tags) != 8 {
			t.Fatalf("after 8 increments: version %d, tags %v", got.Version, got.Tags)
		}
	})
}
