package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// freshRead shares one database read among concurrent callers that each
// need a value read after they asked: the version a cache is checked
// against, which must reflect every change committed before the
// request arrived. A caller joins the next read to start, never one
// already under way (which may have started before it arrived): if no
// read is running it starts one at once, else it waits for the one
// that starts when the running read ends, together with everyone else
// who arrived meanwhile. Under load, one read then serves a whole
// group of requests, and no request waits longer than two reads.
type freshRead[T any] struct {
	mu      sync.Mutex
	running bool
	next    *flight[T]
}

type flight[T any] struct {
	done chan struct{}
	v    T
	err  error
}

// get returns a value read after get was called.
func (f *freshRead[T]) get(ctx context.Context, read func(context.Context) (T, error)) (T, error) {
	f.mu.Lock()
	fl := f.next
	if fl == nil {
		fl = &flight[T]{done: make(chan struct{})}
		f.next = fl
	}
	lead := !f.running
	if lead {
		f.running, f.next = true, nil
	}
	f.mu.Unlock()
	if lead {
		f.run(fl, read)
	}
	select {
	case <-fl.done:
		return fl.v, fl.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// run performs fl's read, then, if callers arrived meanwhile, starts a
// goroutine that performs the reads they wait for (the caller that led
// this one returns with its value).
func (f *freshRead[T]) run(fl *flight[T], read func(context.Context) (T, error)) {
	if next := f.once(fl, read); next != nil {
		go f.follow(next, read)
	}
}

// follow performs reads until no caller waits for one. Under steady load
// one goroutine keeps doing so, rather than a new one for each read
// that must first grow its stack to the database driver's depth (a
// twentieth of the CPU in a profile of PostgreSQL lists).
func (f *freshRead[T]) follow(fl *flight[T], read func(context.Context) (T, error)) {
	for fl != nil {
		fl = f.once(fl, read)
	}
}

// once performs fl's read and returns the flight callers who arrived
// meanwhile wait for, if any (else the freshRead is idle again).
func (f *freshRead[T]) once(fl *flight[T], read func(context.Context) (T, error)) *flight[T] {
	// A read serves many requests: it runs to its end even when the one
	// that started it gives up.
	fl.v, fl.err = read(context.Background())
	close(fl.done)
	f.mu.Lock()
	defer f.mu.Unlock()
	next := f.next
	f.next = nil
	if next == nil {
		f.running = false
	}
	return next
}

// freshReads keeps a freshRead per key (organization and kind).
type freshReads[T any] struct {
	mu sync.Mutex
	m  map[string]*freshRead[T]
}

// maxFreshKeys bounds freshReads; past it the map starts over (a read
// under way finishes for its callers all the same).
const maxFreshKeys = 10000

func (fr *freshReads[T]) of(key string) *freshRead[T] {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	f, ok := fr.m[key]
	if !ok {
		if fr.m == nil || len(fr.m) >= maxFreshKeys {
			fr.m = map[string]*freshRead[T]{}
		}
		f = &freshRead[T]{}
		fr.m[key] = f
	}
	return f
}

// apiKeysCounter counts changes to API keys that a cache of them must
// see (revocations).
const apiKeysCounter = "api_keys"

// marks are the database's change markers, read in one query: the API
// keys' version and a marker that moves whenever anything commits, by
// this process or another: on SQLite the change counter, which every
// write of a document moves; on PostgreSQL the snapshot
// ("xmin:xmax:xip…"), which is the same in two statements only if no
// transaction finished between them (a finished writer leaves the
// in-progress list or, started later, moves xmax). horizon is the change
// horizon at the same moment (Horizon).
type marks struct {
	keys, chg int64
	snap      string
	horizon   int64
}

// same reports whether nothing was committed between the reads of m
// and n.
func (m *marks) same(n marks) bool { return m.chg == n.chg && m.snap == n.snap }

// requestState lets the reads of one request share what they read of
// the database's state (see WithRequest).
type requestState struct {
	marks atomic.Pointer[marks]
}

type requestKey struct{}

// WithRequest marks ctx as one request's: the change markers read for
// it (by the API key check) are reused by the rest of the request (a
// list page's check of its cache) instead of being read again, which is
// as fresh as the request needs, since they were read after it arrived.
// A write the request commits drops them, so that it reads its own
// writes.
func WithRequest(ctx context.Context) context.Context {
	return context.WithValue(ctx, requestKey{}, &requestState{})
}

// forgetMarks drops the markers a request read, after it wrote.
func forgetMarks(ctx context.Context) {
	if st, ok := ctx.Value(requestKey{}).(*requestState); ok {
		st.marks.Store(nil)
	}
}

// marks returns change markers read after the request (or call) began.
func (db *DB) marks(ctx context.Context) (marks, error) {
	st, _ := ctx.Value(requestKey{}).(*requestState)
	if st != nil {
		if m := st.marks.Load(); m != nil {
			return *m, nil
		}
	}
	m, err := db.marksRead.get(ctx, db.readMarks)
	if err == nil && st != nil {
		st.marks.Store(&m)
	}
	return m, err
}

func (db *DB) readMarks(ctx context.Context) (marks, error) {
	var m marks
	if db.engine == Postgres {
		q := `SELECT COALESCE((SELECT value FROM counters WHERE name = $1), 0), s::text, pg_snapshot_xmin(s)::text::bigint
			FROM pg_current_snapshot() AS s`
		if err := db.smallRead(ctx, q, apiKeysCounter).Scan(&m.keys, &m.snap, &m.horizon); err != nil {
			return m, fmt.Errorf("read change markers: %w", err)
		}
		return m, nil
	}
	q := `SELECT COALESCE((SELECT value FROM counters WHERE name = $1), 0), (SELECT value FROM counters WHERE name = 'chg')`
	if err := db.smallRead(ctx, q, apiKeysCounter).Scan(&m.keys, &m.chg); err != nil {
		return m, fmt.Errorf("read change markers: %w", err)
	}
	m.horizon = m.chg + 1 // as Horizon
	return m, nil
}

// APIKeysVersion returns a number that changes whenever an API key is
// revoked, by this process or any other on the database, read after
// the call (or the request, see WithRequest) began: a cache holding
// keys looked up at the version it returns is current.
func (db *DB) APIKeysVersion(ctx context.Context) (int64, error) {
	m, err := db.marks(ctx)
	return m.keys, err
}
