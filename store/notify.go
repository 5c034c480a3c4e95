package store

import "sync"

// topics holds the functions subscribed to each topic (Subscribe).
type topics struct {
	mu   sync.Mutex
	next int
	subs map[string]map[int]func()
}

// Subscribe registers fn to run after every transaction that called
// Notify(topic) commits, in this process. The job queue uses it to start
// work queued here at once instead of at its next poll. The returned
// function unsubscribes.
func (db *DB) Subscribe(topic string, fn func()) (unsubscribe func()) {
	t := &db.topics
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.subs == nil {
		t.subs = map[string]map[int]func(){}
	}
	if t.subs[topic] == nil {
		t.subs[topic] = map[int]func(){}
	}
	t.next++
	id := t.next
	t.subs[topic][id] = fn
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		delete(t.subs[topic], id)
	}
}

// Notify runs the functions subscribed to topic once this transaction
// has committed (never if it rolls back). Several calls with one topic
// run them once.
func (tx *Tx) Notify(topic string) {
	if tx.notified == nil {
		tx.notified = map[string]bool{}
	}
	if tx.notified[topic] {
		return
	}
	tx.notified[topic] = true
	tx.AfterCommit(func() {
		t := &tx.db.topics
		t.mu.Lock()
		fns := make([]func(), 0, len(t.subs[topic]))
		for _, fn := range t.subs[topic] {
			fns = append(fns, fn)
		}
		t.mu.Unlock()
		for _, fn := range fns {
			fn()
		}
	})
}

// EngineOf reports the engine a query runner (the database or one of its
// transactions) runs on, for packages that write engine-specific SQL.
func EngineOf(q Q) Engine { return q.store().engine }
