package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
)

// waitForWaiting returns once n writers wait for SQLite's write
// connection (on PostgreSQL nobody waits: it returns at once).
func waitForWaiting(t *testing.T, db *store.DB, n int64) {
	t.Helper()
	if db.Engine() != store.SQLite {
		return
	}
	deadline := time.Now().Add(30 * time.Second)
	for db.GroupCommitStats().Waiting < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writers waiting, want %d", db.GroupCommitStats().Waiting, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// emitted reports whether the event with id is stored.
func emitted(t *testing.T, db *store.DB, id string) bool {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM events WHERE id = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// Writers that share one commit keep apart: one that fails or panics
// leaves no trace and does not undo the others, each gets its own change
// position in the order they ran, and every successful writer returns
// only once the shared commit has happened.
func TestGroupCommitKeepsWritersApart(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		store.SetGroupAge(db, time.Hour) // the batch ends when nobody waits
		org := newOrg(t, db)
		before := db.GroupCommitStats()

		type result struct {
			event string
			chg   int64
			err   error
			panic any
		}
		boom := errors.New("boom")
		// 0 holds the write connection until the others wait; 1 fails
		// after writing, 2 panics after writing, 3 and 4 succeed.
		results := make([]result, 5)
		release, started := make(chan struct{}), make(chan struct{})
		var wg sync.WaitGroup
		write := func(i int) {
			defer wg.Done()
			defer func() { results[i].panic = recover() }()
			results[i].err = db.Write(ctx, func(tx *store.Tx) error {
				id, err := tx.Emit(ctx, org, "candidateHire", map[string]int{"writer": i})
				if err != nil {
					return err
				}
				results[i].event = id
				if results[i].chg, err = tx.ChangeTx(ctx); err != nil {
					return err
				}
				switch i {
				case 0:
					close(started)
					<-release
				case 1:
					return boom
				case 2:
					panic("writer 2")
				}
				return nil
			})
		}
		wg.Add(1)
		go write(0)
		<-started // writer 0 holds the write connection
		for i := 1; i < 5; i++ {
			wg.Add(1)
			go write(i)
			waitForWaiting(t, db, int64(i)) // queue in order 1, 2, 3, 4
		}
		close(release)
		wg.Wait()

		if results[0].err != nil || results[3].err != nil || results[4].err != nil {
			t.Fatalf("successful writers failed: %v, %v, %v", results[0].err, results[3].err, results[4].err)
		}
		if !errors.Is(results[1].err, boom) {
			t.Fatalf("failing writer: %v, want boom", results[1].err)
		}
		if results[2].panic != "writer 2" {
			t.Fatalf("panicking writer: recovered %v", results[2].panic)
		}
		for i, want := range []bool{true, false, false, true, true} {
			if got := emitted(t, db, results[i].event); got != want {
				t.Errorf("writer %d's event stored: %v, want %v", i, got, want)
			}
		}
		if db.Engine() != store.SQLite {
			return
		}
		// One commit carried the three successful writes, in queue order.
		after := db.GroupCommitStats()
		if c, w := after.Commits-before.Commits, after.Writes-before.Writes; c != 1 || w != 3 {
			t.Fatalf("%d commits carried %d writes, want 1 commit of 3", c, w)
		}
		if !(results[0].chg < results[3].chg && results[3].chg < results[4].chg) {
			t.Fatalf("change positions %d, %d, %d: want increasing in commit order", results[0].chg, results[3].chg, results[4].chg)
		}
		var horizon int64
		if err := db.QueryRowContext(ctx, `SELECT value FROM counters WHERE name = 'chg'`).Scan(&horizon); err != nil {
			t.Fatal(err)
		}
		if horizon < results[4].chg {
			t.Fatalf("change counter %d below the last writer's position %d", horizon, results[4].chg)
		}
	})
}

// A writer whose context ends while it waits for the write connection
// gives up at once, and the writers around it are not disturbed.
func TestGroupCommitWaiterCancelled(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		org := newOrg(t, db)
		release, started := make(chan struct{}), make(chan struct{})
		first := make(chan error, 1)
		go func() {
			first <- db.Write(ctx, func(tx *store.Tx) error {
				if _, err := tx.Emit(ctx, org, "candidateHire", map[string]int{}); err != nil {
					return err
				}
				close(started)
				<-release
				return nil
			})
		}()
		<-started
		cctx, cancel := context.WithCancel(ctx)
		ran := false
		second := make(chan error, 1)
		go func() {
			second <- db.Write(cctx, func(tx *store.Tx) error { ran = true; return nil })
		}()
		waitForWaiting(t, db, 1)
		if db.Engine() == store.SQLite {
			cancel()
			select {
			case err := <-second:
				if !errors.Is(err, context.Canceled) || ran {
					t.Fatalf("cancelled waiter: %v (ran %v), want context.Canceled without running", err, ran)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("a cancelled waiter kept waiting for the write connection")
			}
		}
		close(release)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		cancel()
		// The connection is free for the next writer.
		if err := db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.Emit(ctx, org, "candidateHire", map[string]int{})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	})
}

// When a writer breaks the shared transaction itself, the writers
// already in it are told their write failed (it did: nothing of theirs
// was stored), and writers after it start afresh.
func TestGroupCommitBrokenBatch(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	store.SetGroupAge(db, time.Hour)
	org := newOrg(t, db)
	release, started := make(chan struct{}), make(chan struct{})
	var ids [3]string
	var errs [3]error
	var wg sync.WaitGroup
	write := func(i int) {
		defer wg.Done()
		errs[i] = db.Write(ctx, func(tx *store.Tx) error {
			id, err := tx.Emit(ctx, org, "candidateHire", map[string]int{"writer": i})
			ids[i] = id
			if err != nil {
				return err
			}
			switch i {
			case 0:
				close(started)
				<-release
			case 1:
				// Ends the physical transaction under the others.
				if _, err := tx.ExecContext(ctx, `ROLLBACK`); err != nil {
					return err
				}
				return errors.New("rolled back")
			}
			return nil
		})
	}
	wg.Add(1)
	go write(0)
	<-started
	wg.Add(1)
	go write(1)
	waitForWaiting(t, db, 1)
	wg.Add(1)
	go write(2)
	waitForWaiting(t, db, 2)
	close(release)
	wg.Wait()
	if errs[0] == nil || errs[1] == nil {
		t.Fatalf("writers 0 and 1: %v, %v; want both to fail", errs[0], errs[1])
	}
	if errs[2] != nil {
		t.Fatalf("writer after the broken batch: %v", errs[2])
	}
	for i, want := range []bool{false, false, true} {
		if got := emitted(t, db, ids[i]); got != want {
			t.Errorf("writer %d's event stored: %v, want %v", i, got, want)
		}
	}
}
