package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Group commit (SQLite).
//
// With synchronous=FULL every commit waits for an fdatasync of the WAL,
// and SQLite has one writer: concurrent writes queued behind each other's
// sync, which bounded candidate.create at the disk's sync rate. Writers
// that arrive while a transaction holds the write connection now join
// it: each runs its function inside its own savepoint of one physical
// transaction, handed from writer to writer, and the last one commits for
// all of them. A writer whose function fails rolls back to its savepoint
// and returns at once, leaving the others' work intact; a writer whose
// function succeeded returns only after the shared commit, with its
// result, so an acknowledged write is on disk exactly as before. Change
// positions stay distinct and in commit order (each member draws its own
// from the counter, in turn).
//
// A batch closes when nobody is waiting, when it has groupMax members, or
// when it has been open for groupAge, so that one long transaction (an
// import) does not hold the acknowledgement of the writes before it for
// long. PostgreSQL commits concurrent transactions on their own
// connections and needs none of this.
const (
	groupMax = 64
	groupAge = 4 * time.Millisecond
)

type committer struct {
	mu    sync.Mutex
	open  bool    // a batch holds (or is about to hold) the write connection
	queue []*turn // writers waiting to join it, in arrival order
	// maxAge overrides groupAge (tests).
	maxAge time.Duration

	commits, writes atomic.Int64
}

// GroupCommitStats counts SQLite's physical commits and the writes they
// carried since the database was opened (writes/commits is the mean
// batch), and the writers waiting for the write connection now.
type GroupCommitStats struct {
	Commits, Writes, Waiting int64
}

// GroupCommitStats reports the group commit's counters (zero on
// PostgreSQL).
func (db *DB) GroupCommitStats() GroupCommitStats {
	c := &db.group
	c.mu.Lock()
	waiting := int64(len(c.queue))
	c.mu.Unlock()
	return GroupCommitStats{Commits: c.commits.Load(), Writes: c.writes.Load(), Waiting: waiting}
}

// turn is a writer waiting for the batch.
type turn struct {
	ready chan *batch // receives the batch (nil: lead a new one)
}

// batch is one physical transaction shared by several writers.
type batch struct {
	stx     *sql.Tx
	start   time.Time
	members int
	// broken is set when the physical transaction can no longer commit
	// (a savepoint could not be rolled back or released): the batch
	// rolls back and its successful members get this error.
	broken error
	done   chan struct{} // closed after the commit (or rollback)
	err    error         // the commit's outcome, read after done
}

// join waits until the writer may run: it returns the open batch to join,
// or nil when the writer is to begin a new one.
func (c *committer) join(ctx context.Context) (*batch, error) {
	c.mu.Lock()
	if !c.open {
		c.open = true
		c.mu.Unlock()
		return nil, nil
	}
	t := &turn{ready: make(chan *batch, 1)}
	c.queue = append(c.queue, t)
	c.mu.Unlock()
	select {
	case b := <-t.ready:
		return b, nil
	case <-ctx.Done():
		c.mu.Lock()
		for i, q := range c.queue {
			if q == t {
				c.queue = append(c.queue[:i], c.queue[i+1:]...)
				c.mu.Unlock()
				return nil, ctx.Err()
			}
		}
		c.mu.Unlock()
		// The turn was handed over as ctx ended: pass it on.
		c.pass(<-t.ready)
		return nil, ctx.Err()
	}
}

// next hands the batch to the next waiting writer and reports whether it
// did; if it did not, the caller must end the batch. A nil batch hands
// over the lead: the next writer begins a new transaction.
func (c *committer) next(b *batch) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	age := groupAge
	if c.maxAge > 0 {
		age = c.maxAge
	}
	if b != nil && (b.broken != nil || b.members >= groupMax || time.Since(b.start) >= age) {
		return false
	}
	if len(c.queue) == 0 {
		if b == nil {
			c.open = false
		}
		return false
	}
	t := c.queue[0]
	c.queue = c.queue[1:]
	t.ready <- b
	return true
}

// pass gives up a turn without running: the batch goes to the next
// writer, or ends when nobody waits.
func (c *committer) pass(b *batch) {
	if c.next(b) {
		return
	}
	if b != nil {
		c.finish(b)
	}
}

// finish commits the batch (rolls it back if broken) and releases the
// write connection. The next batch's leader is chosen before the commit,
// so that writers arriving during the sync gather behind it.
func (c *committer) finish(b *batch) {
	c.mu.Lock()
	var lead *turn
	if len(c.queue) > 0 {
		lead = c.queue[0]
		c.queue = c.queue[1:]
	} else {
		c.open = false
	}
	c.mu.Unlock()
	if b.broken != nil {
		b.stx.Rollback()
		b.err = b.broken
	} else if err := b.stx.Commit(); err != nil {
		b.err = fmt.Errorf("commit: %w", err)
	} else {
		c.commits.Add(1)
	}
	close(b.done)
	if lead != nil {
		// Begins after this commit has released the connection.
		lead.ready <- nil
	}
}

// writeGrouped is writeOnce for SQLite's write connection: fn runs in a
// savepoint of a transaction it may share with concurrent writers.
func (db *DB) writeGrouped(ctx context.Context, fn func(tx *Tx) error) (err error) {
	b, err := db.group.join(ctx)
	if err != nil {
		return err
	}
	if b == nil {
		// Lead a new batch. The transaction outlives this writer's
		// request: members after it run in it, so its context must not
		// end with this one's.
		stx, berr := db.w.BeginTx(context.WithoutCancel(ctx), nil)
		if berr != nil {
			db.group.pass(nil)
			return fmt.Errorf("begin: %w", berr)
		}
		b = &batch{stx: stx, start: time.Now(), done: make(chan struct{})}
	}
	b.members++
	tx := &Tx{Tx: b.stx, db: db, shared: true}
	ok := false
	defer func() {
		if ok {
			return
		}
		// fn failed or panicked: undo its part and let the batch go on.
		if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO member`); rerr != nil {
			b.broken = fmt.Errorf("roll back a failed write in a shared transaction: %w", rerr)
		} else if _, rerr := tx.ExecContext(ctx, `RELEASE member`); rerr != nil {
			b.broken = fmt.Errorf("release a failed write in a shared transaction: %w", rerr)
		}
		db.group.pass(b)
	}()
	if _, err = tx.ExecContext(ctx, `SAVEPOINT member`); err != nil {
		// Not inside the savepoint: nothing of ours to undo.
		ok = true
		db.group.pass(b)
		return fmt.Errorf("begin: %w", err)
	}
	if err = db.runWrite(ctx, tx, fn); err != nil {
		return err
	}
	if _, err = tx.ExecContext(ctx, `RELEASE member`); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	ok = true
	if !db.group.next(b) {
		db.group.finish(b)
	}
	<-b.done
	if b.err != nil {
		return b.err
	}
	db.group.writes.Add(1)
	db.committed(ctx, tx)
	return nil
}
