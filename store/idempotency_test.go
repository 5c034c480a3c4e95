package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
)

// TestIdempotencyKeys runs a key through its life on both engines:
// claimed, its write marking it applied, its response replayed, a
// different request refused, a concurrent one told to wait, and the key
// forgotten once expired.
func TestIdempotencyKeys(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		org := newOrg(t, db)
		req := store.IdemRequest{Org: org, Principal: "key1", Key: "k", Endpoint: "widget.create", Fingerprint: "f1"}
		begin := func(r store.IdemRequest, lease time.Duration) *store.IdemClaim {
			t.Helper()
			c, err := db.BeginIdempotent(ctx, r, time.Hour, lease)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		c := begin(req, time.Hour)
		if c.Outcome != store.IdemRun {
			t.Fatalf("first use: outcome %v, want run", c.Outcome)
		}
		if again := begin(req, time.Hour); again.Outcome != store.IdemInProgress {
			t.Fatalf("while running: outcome %v, want in progress", again.Outcome)
		}
		put(t, db, org, &widget{ID: "w1", Name: "one"}) // not under the key: does not mark it
		if c.Applied() {
			t.Fatal("a write outside the request marked the key")
		}
		rctx := c.Context(ctx)
		if err := db.Write(rctx, func(tx *store.Tx) error {
			return widgets.Put(rctx, tx, org, &widget{ID: "w2", Name: "two"})
		}); err != nil {
			t.Fatal(err)
		}
		if !c.Applied() {
			t.Fatal("the request's write did not mark the key applied")
		}
		if err := c.Finish(ctx, 200, []byte(`{"success":true}`), true); err != nil {
			t.Fatal(err)
		}
		r := begin(req, time.Hour)
		if r.Outcome != store.IdemReplay || r.Status != 200 || string(r.Response) != `{"success":true}` {
			t.Fatalf("retry: %v %d %s, want the first response replayed", r.Outcome, r.Status, r.Response)
		}
		other := req
		other.Fingerprint = "f2"
		if m := begin(other, time.Hour); m.Outcome != store.IdemMismatch {
			t.Fatalf("another request with the key: %v, want mismatch", m.Outcome)
		}
		otherKey := req
		otherKey.Principal = "key2"
		if n := begin(otherKey, time.Hour); n.Outcome != store.IdemRun {
			t.Fatalf("the same key of another API key: %v, want its own", n.Outcome)
		}

		// Expiry: a day later the key is new again, and the sweep deletes
		// expired keys.
		real := db.Now
		defer func() { db.Now = real }()
		db.Now = func() time.Time { return real().Add(2 * time.Hour) }
		if e := begin(other, time.Hour); e.Outcome != store.IdemRun {
			t.Fatalf("after expiry: %v, want run", e.Outcome)
		}
		db.Now = func() time.Time { return real().Add(4 * time.Hour) }
		n, err := db.SweepIdempotencyKeys(ctx)
		if err != nil || n != 2 {
			t.Fatalf("sweep: %d, %v; want the 2 keys left", n, err)
		}
	})
}

// TestIdempotencyLeases: a request that died before committing leaves its
// key to a retry once its lease is over; one that committed leaves it
// interrupted; a request whose key was taken over cannot commit.
func TestIdempotencyLeases(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		org := newOrg(t, db)
		req := store.IdemRequest{Org: org, Principal: "key1", Key: "lease", Endpoint: "widget.create", Fingerprint: "f"}
		first, err := db.BeginIdempotent(ctx, req, time.Hour, 0) // a lease over at once
		if err != nil || first.Outcome != store.IdemRun {
			t.Fatal(first.Outcome, err)
		}
		second, err := db.BeginIdempotent(ctx, req, time.Hour, time.Hour)
		if err != nil || second.Outcome != store.IdemRun {
			t.Fatalf("after the lease of a request that committed nothing: %v %v, want run", second.Outcome, err)
		}
		fctx := first.Context(ctx)
		err = db.Write(fctx, func(tx *store.Tx) error {
			return widgets.Put(fctx, tx, org, &widget{ID: "late", Name: "late"})
		})
		if !errors.Is(err, store.ErrIdempotencyLost) {
			t.Fatalf("write of the request that lost its key: %v, want ErrIdempotencyLost", err)
		}
		if _, err := widgets.Get(ctx, db, org, "late"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the refused write is there: %v", err)
		}

		// A request that committed and died: interrupted, never run again.
		req.Key = "crashed"
		c, err := db.BeginIdempotent(ctx, req, time.Hour, 0)
		if err != nil {
			t.Fatal(err)
		}
		cctx := c.Context(ctx)
		if err := db.Write(cctx, func(tx *store.Tx) error {
			return widgets.Put(cctx, tx, org, &widget{ID: "w", Name: "w"})
		}); err != nil {
			t.Fatal(err)
		}
		if r, err := db.BeginIdempotent(ctx, req, time.Hour, time.Hour); err != nil || r.Outcome != store.IdemInterrupted {
			t.Fatalf("retry after a committed request died: %v %v, want interrupted", r.Outcome, err)
		}

		// A failure that committed nothing releases the key.
		req.Key = "failed"
		c, err = db.BeginIdempotent(ctx, req, time.Hour, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Finish(ctx, 200, []byte(`{"success":false}`), false); err != nil {
			t.Fatal(err)
		}
		if r, err := db.BeginIdempotent(ctx, req, time.Hour, time.Hour); err != nil || r.Outcome != store.IdemRun {
			t.Fatalf("retry after a failure that changed nothing: %v %v, want run", r.Outcome, err)
		}
	})
}
