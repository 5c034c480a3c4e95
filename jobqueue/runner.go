package jobqueue

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ashlarhq/ashlar/store"
)

// runner runs one kind's jobs in this process: a claim loop fills the
// ready list, attempts start from it as workers free up, and a recorder
// writes results in batches (claiming more work in the same
// transaction).
type runner struct {
	q           *Queue
	k           Kind
	log         *slog.Logger
	unsubscribe func()

	wakeNew chan struct{} // jobs were inserted in this process
	results chan *done

	mu      sync.Mutex
	running int            // attempts in flight
	runKey  map[string]int // attempts in flight per key
	held    int            // in flight + ready
	heldKey map[string]int
	ready   []*Job // claimed, waiting for a worker
	// blocked holds the keys that were at their limit in the last claim,
	// which left due jobs of theirs behind: until one of them has room
	// for a batch, or new work arrives, another claim would find nothing
	// more (the claim took what other keys had).
	blocked  map[string]bool
	rr       string // the last key the fair claim served (round robin)
	stopping bool
	// keys caches the keys that have pending jobs (claimByKey).
	keys      []string
	keysAt    time.Time
	keysStale bool

	loopCtx   context.Context
	stopLoops context.CancelFunc
	runCtx    context.Context
	stopRuns  context.CancelFunc
	loops     sync.WaitGroup
	sends     sync.WaitGroup
	recorder  sync.WaitGroup

	claims, records, polls atomic.Int64
}

// done is an attempt's result on its way to the recorder, or a claimed
// job given back unattempted.
type done struct {
	job      *Job
	res      Result
	giveBack bool
}

func newRunner(q *Queue, k Kind) *runner {
	return &runner{
		q: q, k: k, log: q.log.With("kind", k.Name),
		wakeNew: make(chan struct{}, 1),
		results: make(chan *done, k.Workers+k.Prefetch),
		runKey:  map[string]int{}, heldKey: map[string]int{}, blocked: map[string]bool{},
	}
}

func (r *runner) capTotal() int { return r.k.Workers + r.k.Prefetch }
func (r *runner) capKey() int   { return min(r.k.PerKey+r.k.Prefetch, r.capTotal()) }

func (r *runner) start() {
	r.loopCtx, r.stopLoops = context.WithCancel(context.Background())
	r.runCtx, r.stopRuns = context.WithCancel(context.Background())
	r.unsubscribe = r.q.db.Subscribe(topic(r.k.Name), func() {
		r.mu.Lock()
		r.keysStale = true
		r.mu.Unlock()
		signal(r.wakeNew)
	})
	r.recorder.Add(1)
	go r.recordLoop()
	r.loops.Add(1)
	go r.claimLoop(r.loopCtx)
	if r.k.Every > 0 {
		r.loops.Add(1)
		go r.periodic(r.loopCtx)
	}
	signal(r.wakeNew)
}

func (r *runner) stop(ctx context.Context) error {
	r.unsubscribe()
	r.stopLoops()
	r.loops.Wait()
	r.mu.Lock()
	r.stopping = true
	r.mu.Unlock()
	finished := make(chan struct{})
	go func() { r.sends.Wait(); close(finished) }()
	var err error
	select {
	case <-finished:
	case <-ctx.Done():
		r.stopRuns()
		<-finished
		err = fmt.Errorf("jobqueue: %s stopped with attempts in flight: %w", r.k.Name, ctx.Err())
	}
	close(r.results)
	r.recorder.Wait()
	r.stopRuns()
	// Give the claimed jobs no worker started back, so that any process
	// takes them at once rather than when their leases expire.
	r.mu.Lock()
	ready := r.ready
	r.ready = nil
	r.mu.Unlock()
	if len(ready) > 0 {
		gctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if gerr := r.q.db.Write(gctx, func(tx *store.Tx) error { return r.giveBack(gctx, tx, ready) }); gerr != nil {
			r.log.Warn("give back claimed jobs; their leases will expire", "err", gerr, "jobs", len(ready))
		}
	}
	return err
}

// reserve counts a claimed job against the limits, unless this process
// holds as many jobs as it may, in all or with this key.
func (r *runner) reserve(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.held >= r.capTotal() || r.heldKey[key] >= r.capKey() {
		return false
	}
	r.held++
	r.heldKey[key]++
	return true
}

func (r *runner) unreserve(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unreserveLocked(key)
}

func (r *runner) unreserveLocked(key string) {
	r.held--
	if r.heldKey[key]--; r.heldKey[key] <= 0 {
		delete(r.heldKey, key)
	}
}

// free returns how many more jobs this process may hold.
func (r *runner) free() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.capTotal() - r.held
}

// headroom returns how many more jobs with key this process may hold.
func (r *runner) headroom(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return min(r.capKey()-r.heldKey[key], r.capTotal()-r.held)
}

// worthClaiming decides whether a claim may find work for freed
// capacity. Claims are made in batches: with jobs in hand, the runner
// waits until a quarter of its capacity is free (the transactions that
// record completions ask again) rather than claim per completion. When the last claim
// left due jobs behind because their keys were at their limit, it waits
// until one of those keys has room for a quarter of its limit; new work
// (an insert here, a poll, a retry coming due) always justifies a claim.
func (r *runner) worthClaiming(newWork bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping {
		return false
	}
	free := r.capTotal() - r.held
	if free <= 0 {
		return false
	}
	if newWork {
		clear(r.blocked)
		return true
	}
	if len(r.blocked) > 0 {
		batchKey := max(1, r.capKey()/4)
		for key := range r.blocked {
			if r.capKey()-r.heldKey[key] >= batchKey {
				return true
			}
		}
		return false
	}
	return r.held == 0 || free >= max(1, r.capTotal()/4)
}

// claimLoop claims work when told of new work, when a scheduled job
// comes due, and at each poll. Room that finished attempts leave is
// filled by the transaction that records them (record).
func (r *runner) claimLoop(ctx context.Context) {
	defer r.loops.Done()
	poll := time.NewTicker(r.k.Poll)
	defer poll.Stop()
	due := time.NewTimer(time.Hour)
	due.Stop()
	defer due.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.wakeNew:
		case <-due.C:
		case <-poll.C:
			r.polls.Add(1)
		}
		if r.free() <= 0 {
			continue // finishing attempts make room, and their records claim
		}
		// First ask the read pool whether anything is due, and when the
		// next job comes due: when nothing is, no write transaction runs
		// (on SQLite it would hold the only writer), as when an idle queue
		// polls or the webhook fan-out has claimed what it inserted.
		isDue, next, err := r.probe(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.log.Error("look for due jobs", "err", err)
			isDue = true // let the claim report what is wrong
		}
		// Sleep until the next scheduled job comes due, so that retries go
		// out on time without polling. Due jobs this process has no room
		// for are claimed as room frees up (or at the next poll).
		if next > 0 {
			due.Reset(next)
		}
		for newWork := true; isDue && r.worthClaiming(newWork); newWork = false {
			n, err := r.claim(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				failures++
				r.log.Error("claim jobs", "err", err)
				if !sleep(ctx, backoffAfterError(failures)) {
					return
				}
				continue
			}
			failures = 0
			if n == 0 {
				break
			}
		}
	}
}

// probe reports whether a job of the kind is due and not held, and how
// long until the next one not yet due comes due (0: none).
func (r *runner) probe(ctx context.Context) (bool, time.Duration, error) {
	var due, wait sql.NullInt64
	err := r.q.db.QueryRowContext(ctx, expand(r.q.db.Engine(), `SELECT
		(SELECT 1 FROM jobs WHERE kind = $1 AND state = 'pending' AND run_at <= {now} AND (lease_until IS NULL OR lease_until <= {now}) LIMIT 1),
		(SELECT MIN(run_at) - {now} FROM jobs WHERE kind = $1 AND state = 'pending' AND run_at > {now})`), r.k.Name).Scan(&due, &wait)
	if err != nil {
		return false, 0, err
	}
	next := time.Duration(0)
	if wait.Valid {
		next = max(time.Duration(wait.Int64)*time.Millisecond, time.Millisecond)
	}
	return due.Valid, next, nil
}

// write runs the queue's own transactions of the kind: relaxed for a
// Relaxed kind (store.DB.WriteRelaxed), as losing a claim or an attempt's
// record to a database crash only means the job is attempted again,
// which at-least-once allows.
func (r *runner) write(ctx context.Context, fn func(tx *store.Tx) error) error {
	if r.k.Relaxed {
		return r.q.db.WriteRelaxed(ctx, fn)
	}
	return r.q.db.Write(ctx, fn)
}

// claim runs a claim transaction and starts what it took. It returns how
// many jobs it took or ended.
func (r *runner) claim(ctx context.Context) (int, error) {
	var cl claimed
	err := r.write(ctx, func(tx *store.Tx) error {
		cl.reset(r) // a retried transaction starts over
		return r.claimTx(ctx, tx, &cl)
	})
	if err != nil {
		cl.reset(r)
		return 0, err
	}
	return r.launch(&cl), nil
}

// launch hands the claimed jobs to workers once their transaction has
// committed, and reports the jobs it ended.
func (r *runner) launch(cl *claimed) int {
	if len(cl.reports) > 0 && r.k.Handler.Committed != nil {
		r.k.Handler.Committed(cl.reports)
	}
	r.mu.Lock()
	if cl.claimed {
		clear(r.blocked)
		for k := range cl.skipped {
			r.blocked[k] = true
		}
	}
	r.ready = append(r.ready, cl.jobs...)
	r.mu.Unlock()
	r.dispatch()
	return len(cl.jobs) + cl.ended
}

// dispatch starts ready jobs while workers are free, oldest first, each
// within its key's limit. A job that waited so long that its lease could
// expire during its attempt is given back instead.
func (r *runner) dispatch() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping {
		return
	}
	budget := (r.k.Lease - r.k.Timeout) / 2
	kept := r.ready[:0]
	for _, j := range r.ready {
		switch {
		case r.running >= r.k.Workers || r.runKey[j.Key] >= r.k.PerKey:
			kept = append(kept, j)
		case time.Since(j.claimedAt) > budget:
			r.unreserveLocked(j.Key)
			r.sends.Add(1)
			go func() {
				defer r.sends.Done()
				r.results <- &done{job: j, giveBack: true}
			}()
		default:
			r.running++
			r.runKey[j.Key]++
			r.sends.Add(1)
			go r.run(j)
		}
	}
	clear(r.ready[len(kept):])
	r.ready = kept
}

// run makes one attempt and hands its result to the recorder.
func (r *runner) run(j *Job) {
	defer r.sends.Done()
	ctx, cancel := context.WithTimeout(r.runCtx, r.k.Timeout)
	started := time.Now()
	res := r.k.Handler.Work(ctx, j)
	cancel()
	if res.Started.IsZero() {
		res.Started = started
	}
	if res.Duration == 0 {
		res.Duration = time.Since(started)
	}
	r.mu.Lock()
	r.running--
	if r.runKey[j.Key]--; r.runKey[j.Key] <= 0 {
		delete(r.runKey, j.Key)
	}
	r.unreserveLocked(j.Key)
	r.mu.Unlock()
	// The recorder's transaction also claims work for the room this
	// attempt left.
	r.results <- &done{job: j, res: res}
	r.dispatch()
}

// recordLoop writes results in batches: one transaction records every
// result that arrived meanwhile, which keeps the write load (and, on
// SQLite, the single writer) light under a burst.
func (r *runner) recordLoop() {
	defer r.recorder.Done()
	for d := range r.results {
		batch := []*done{d}
	more:
		for len(batch) < 256 {
			select {
			case d, ok := <-r.results:
				if !ok {
					break more
				}
				batch = append(batch, d)
			default:
				break more
			}
		}
		r.record(batch)
	}
}

// periodic inserts the kind's job of each period. Every process that
// registers the kind does; the unique key makes one job per period.
func (r *runner) periodic(ctx context.Context) {
	defer r.loops.Done()
	t := time.NewTicker(max(r.k.Every/4, 10*time.Millisecond))
	defer t.Stop()
	last := int64(-1)
	for {
		now, err := DBNow(ctx, r.q.db)
		if err == nil {
			if bucket := now.UnixMilli() / max(r.k.Every.Milliseconds(), 1); bucket != last {
				err = r.q.db.Write(ctx, func(tx *store.Tx) error {
					_, err := Insert(ctx, tx, NewJob{Kind: r.k.Name, Key: r.k.Name, UniqueKey: fmt.Sprintf("periodic:%s:%d", r.k.Name, bucket)})
					return err
				})
				if err == nil {
					last = bucket
				}
			}
		}
		if err != nil && ctx.Err() == nil {
			r.log.Error("schedule periodic job", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
