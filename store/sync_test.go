package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
)

// After its first page a walk seeks to its cursor alone (the other lower
// bounds are left out as implied): a walk restricted by createdAfter,
// full and incremental, over several pages, still lists exactly the
// records created after it, once each.
func TestCreatedAfterWalksOverManyPages(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		org := newOrg(t, db)
		base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
		var all []*widget
		for i := range 30 {
			all = append(all, &widget{ID: ashby.NewID(), Name: "v0", CreatedAt: ashby.NewTime(base.Add(time.Duration(i) * time.Second))})
		}
		put(t, db, org, all...)
		after := base.Add(9500 * time.Millisecond).UnixMilli() // records 10..29
		spec := store.ListSpec{Kind: widgets.Name, Endpoint: "widget.list", Org: org, Limit: 4, CreatedAfter: after}
		ids, pages, token := collect(t, db, spec)
		var want []string
		for _, w := range all[10:] {
			want = append(want, w.ID)
		}
		if !slices.Equal(ids, want) || pages != 5 {
			t.Fatalf("full walk: %d pages, %d ids %v; want 5 pages of the 20 records created after, in order", pages, len(ids), ids)
		}

		// Change records on both sides of createdAfter, in an order unlike
		// creation order, one transaction each (a position each).
		var changed []string
		for _, i := range []int{27, 3, 12, 25, 0, 18, 11, 29, 5, 14, 21, 16, 8, 23, 10, 19} {
			w := *all[i]
			w.Name, w.Version = "v1", 1
			put(t, db, org, &w)
			if i >= 10 {
				changed = append(changed, w.ID)
			}
		}
		inc := spec
		inc.SyncToken = token
		if db.Engine() == store.SQLite {
			got, pages, _ := collect(t, db, inc)
			if !slices.Equal(got, changed) || pages != 3 {
				t.Fatalf("incremental walk: %d pages, ids %v; want the %d changed records created after, in change order, on 3 pages: %v", pages, got, len(changed), changed)
			}
			return
		}
		// On PostgreSQL a transaction running elsewhere may hold the
		// horizon back: a pass may lack the latest changes (the next has
		// them) or repeat unchanged records created after createdAfter,
		// never list one created before it.
		before := map[string]bool{}
		for _, w := range all[:10] {
			before[w.ID] = true
		}
		missing := map[string]bool{}
		for _, id := range changed {
			missing[id] = true
		}
		for deadline := time.Now().Add(30 * time.Second); len(missing) > 0; time.Sleep(20 * time.Millisecond) {
			got, _, next := collect(t, db, inc)
			for _, id := range got {
				if before[id] {
					t.Fatalf("incremental walk listed %s, created before createdAfter", id)
				}
				delete(missing, id)
			}
			if time.Now().After(deadline) {
				t.Fatalf("incremental walks missed %d of %d changes", len(missing), len(changed))
			}
			inc.SyncToken = next
		}
	})
}
