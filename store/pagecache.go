package store

import (
	"container/list"
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
)

// The page cache keeps full-sync list pages in memory, keyed by their
// query, and serves one again only while the kind it was read from has
// not changed since: every request reads the kind's version first (one
// indexed query) and compares. It is correct with several processes on
// one database because the version is read from the database, never
// from what this process has written.
//
// A kind's version is the highest change position among its records
// together with a counter of its deletions (a deleted row leaves no
// position behind).
//
//   - SQLite: positions come from a counter under the single writer's
//     lock, so every commit after the version was read carries a higher
//     position than any it saw: the highest position grows.
//   - PostgreSQL: positions are transaction ids, which commit out of
//     order. A transaction that was running when the version was read
//     could still commit a change below the highest position seen. So a
//     page is cached only when the highest position is below the
//     snapshot's xmin (read by the same statement): then every
//     transaction with a lower id had finished, and any later writer of
//     the kind has an id at least xmin, above the highest position.
//
// Either way: the version read at a request equal to the one read
// before the cached page was read means no change to the kind committed
// in between, so the cached page is what reading it again would return.
//
// A cheaper check comes first: a marker that moves whenever anything is
// committed (SQLite's change counter, PostgreSQL's snapshot) is read
// with the API keys' version at the start of each request (marks). If
// it has not moved since the page was last found current, nothing has
// changed at all and the page is served with no further read; only if
// it has is the kind's version read. Under a read load that is one
// read per request (shared by concurrent requests) instead of two.

// kindVersion is what a cached page's validity is checked against.
type kindVersion struct {
	maxChg, dels int64
}

// versionRead is one read of a kind's version.
type versionRead struct {
	v       kindVersion
	horizon int64
}

// version reads a kind's version and the change horizon in one query
// (the horizon is what a first page's cursor carries), read after the
// call began; concurrent requests share reads (freshRead). ok is false
// when a page read now may not be cached (PostgreSQL, a transaction
// older than the kind's last change still running).
func (db *DB) version(ctx context.Context, org, kind string) (v kindVersion, horizon int64, ok bool, err error) {
	r, err := db.versions.of(org+"\x00"+kind).get(ctx, func(ctx context.Context) (versionRead, error) {
		var q string
		if db.engine == Postgres {
			q = `SELECT COALESCE((SELECT max(chg_tx) FROM docs WHERE org_id = $1 AND kind = $2), 0),
				COALESCE((SELECT value FROM counters WHERE name = $3), 0),
				pg_snapshot_xmin(pg_current_snapshot())::text::bigint`
		} else {
			q = `SELECT COALESCE((SELECT max(chg_tx) FROM docs WHERE org_id = $1 AND kind = $2), 0),
				COALESCE((SELECT value FROM counters WHERE name = $3), 0),
				(SELECT value + 1 FROM counters WHERE name = 'chg')`
		}
		var r versionRead
		if err := db.smallRead(ctx, q, org, kind, deletesCounter(org, kind)).Scan(&r.v.maxChg, &r.v.dels, &r.horizon); err != nil {
			return r, fmt.Errorf("read %s version: %w", kind, err)
		}
		return r, nil
	})
	if err != nil {
		return v, 0, false, err
	}
	return r.v, r.horizon, r.v.maxChg < r.horizon, nil
}

// deletesCounter names the counters row that counts a kind's deletions
// in an organization.
func deletesCounter(org, kind string) string { return "del:" + org + ":" + kind }

// DefaultPageCacheBytes bounds the page cache unless Options say
// otherwise: about 200 pages of 100 candidates. Go's collector lets the
// heap grow to twice what is live, so the cache costs about twice this
// in resident memory; 32 MB took the server to 144 MB of anonymous
// memory under list load (BENCHMARKS.md).
const DefaultPageCacheBytes = 16 << 20

type pageCache struct {
	mu    sync.Mutex
	max   int
	size  int
	items map[string]*list.Element
	lru   list.List // front: most recently used
}

type cachedPage struct {
	key     string
	ver     kindVersion
	buf     []byte
	ends    []int
	more    bool
	lastPos int64
	lastID  string
	cost    int
	// seen holds change markers read before the page was last found
	// current: while they have not moved, nothing at all has been
	// committed, and the kind's version need not be read.
	seen atomic.Pointer[marks]
}

func newPageCache(max int) *pageCache {
	if max <= 0 {
		return nil
	}
	return &pageCache{max: max, items: map[string]*list.Element{}}
}

// get returns the page cached under key, if any. (A []byte key: the
// map lookup converts it without allocating.)
func (c *pageCache) get(key []byte) *cachedPage {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[string(key)]
	if !ok {
		return nil
	}
	c.lru.MoveToFront(e)
	return e.Value.(*cachedPage)
}

// put caches p, evicting the least recently used pages beyond the bound.
// A page larger than an eighth of the cache is not kept.
func (c *pageCache) put(p *cachedPage) {
	p.cost = len(p.buf) + 8*len(p.ends) + len(p.key) + len(p.lastID) + 128
	if p.cost > c.max/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[p.key]; ok {
		c.remove(e)
	}
	c.items[p.key] = c.lru.PushFront(p)
	c.size += p.cost
	for c.size > c.max {
		c.remove(c.lru.Back())
	}
}

func (c *pageCache) remove(e *list.Element) {
	p := c.lru.Remove(e).(*cachedPage)
	delete(c.items, p.key)
	c.size -= p.cost
}

// pageKey identifies a page by its query and arguments, which determine
// its rows.
func pageKey(b []byte, query string, args []any) []byte {
	b = append(b, query...)
	for _, a := range args {
		b = append(b, 0)
		switch v := a.(type) {
		case string:
			b = append(b, 's')
			b = append(b, v...)
		case int:
			b = append(b, 'i')
			b = strconv.AppendInt(b, int64(v), 10)
		case int64:
			b = append(b, 'i')
			b = strconv.AppendInt(b, v, 10)
		case bool:
			b = append(b, 'b')
			b = strconv.AppendBool(b, v)
		case nil:
			b = append(b, 'n')
		default:
			b = append(b, 'x')
			b = fmt.Append(b, v)
		}
	}
	return b
}
