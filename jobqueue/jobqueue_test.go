package jobqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func start(t *testing.T, db *store.DB, worker string, kinds ...Kind) *Queue {
	t.Helper()
	q := New(db, Config{Worker: worker, Poll: 50 * time.Millisecond})
	for _, k := range kinds {
		if err := q.Register(k); err != nil {
			t.Fatal(err)
		}
	}
	q.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		q.Stop(ctx)
	})
	return q
}

func insert(t *testing.T, db *store.DB, jobs ...NewJob) []Inserted {
	t.Helper()
	var out []Inserted
	if err := db.Write(context.Background(), func(tx *store.Tx) (err error) { out, err = Insert(context.Background(), tx, jobs...); return }); err != nil {
		t.Fatal(err)
	}
	return out
}

func get(t *testing.T, db *store.DB, kind, id string) *Job {
	t.Helper()
	j, err := Get(context.Background(), db, Filter{Kind: kind, ID: id})
	if err != nil {
		t.Fatal(err)
	}
	if err := LoadAttempts(context.Background(), db, []*Job{j}); err != nil {
		t.Fatal(err)
	}
	return j
}

func waitState(t *testing.T, db *store.DB, kind, id, state string) *Job {
	t.Helper()
	var j *Job
	waitFor(t, fmt.Sprintf("job %s to be %s", id, state), func() bool {
		j = get(t, db, kind, id)
		return j.State == state
	})
	return j
}

// counter counts Work calls per job id.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[id]++
	return c.n[id]
}

func (c *counter) get(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[id]
}

func TestInsertIsTransactional(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var ran counter
		kind := Kind{Name: "test.tx", Handler: Handler{Work: func(ctx context.Context, j *Job) Result {
			ran.add(j.ID)
			return Result{State: Succeeded, Outcome: "ok"}
		}}}
		start(t, db, "w", kind)
		boom := errors.New("boom")
		var rolledBack string
		err := db.Write(ctx, func(tx *store.Tx) error {
			in, err := Insert(ctx, tx, NewJob{Kind: kind.Name})
			if err != nil {
				return err
			}
			rolledBack = in[0].ID
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		// A job inserted in an open transaction is invisible until it
		// commits: a job committed later runs first.
		hold, held := make(chan struct{}), make(chan string)
		done := make(chan error)
		go func() {
			done <- db.Write(ctx, func(tx *store.Tx) error {
				in, err := Insert(ctx, tx, NewJob{Kind: kind.Name})
				if err != nil {
					return err
				}
				held <- in[0].ID
				<-hold
				return nil
			})
		}()
		open := <-held
		if db.Engine() == store.Postgres {
			// SQLite's single writer keeps any other write out meanwhile.
			later := insert(t, db, NewJob{Kind: kind.Name})[0].ID
			waitState(t, db, kind.Name, later, Succeeded)
			if n := ran.get(open); n != 0 {
				t.Fatal("a job ran before its transaction committed")
			}
			if _, err := Get(ctx, db, Filter{Kind: kind.Name, ID: open}); !errors.Is(err, ErrNotFound) {
				t.Fatalf("an uncommitted job is visible: %v", err)
			}
		}
		close(hold)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		j := waitState(t, db, kind.Name, open, Succeeded)
		if ran.get(open) != 1 || j.Attempt != 1 || len(j.History) != 1 || j.History[0].Worker != "w" || j.History[0].Outcome != "ok" {
			t.Fatalf("job %+v ran %d times", j, ran.get(open))
		}
		if _, err := Get(ctx, db, Filter{Kind: kind.Name, ID: rolledBack}); !errors.Is(err, ErrNotFound) || ran.get(rolledBack) != 0 {
			t.Fatalf("a rolled-back job exists (%v) or ran", err)
		}
	})
}

// Retries follow the backoff, a Failed result is final, and a job out of
// attempts fails with the last error; Settle and Ended see what they
// should.
func TestRetriesSettleAndEnded(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		var ran counter
		var mu sync.Mutex
		ended := map[string]string{}
		var gaps []time.Duration
		var last time.Time
		kind := Kind{Name: "test.retry", MaxAttempts: 3, Backoff: Exponential(20 * time.Millisecond), Handler: Handler{
			Work: func(ctx context.Context, j *Job) Result {
				n := ran.add(j.ID)
				var a struct{ Mode string }
				json.Unmarshal(j.Args, &a)
				switch a.Mode {
				case "flaky":
					mu.Lock()
					if !last.IsZero() {
						gaps = append(gaps, time.Since(last))
					}
					last = time.Now()
					mu.Unlock()
					if n < 3 {
						return Result{State: Pending, Outcome: "error", Err: fmt.Sprintf("try %d", n), Detail: map[string]int{"n": n}}
					}
					return Result{State: Succeeded, Outcome: "ok"}
				case "fatal":
					return Result{State: Failed, Outcome: "rejected", Err: "no"}
				case "judged":
					// Work says success; Settle overrules it.
					return Result{State: Succeeded, Outcome: "ok"}
				}
				return Result{State: Pending, Outcome: "error", Err: "down"}
			},
			Settle: func(ctx context.Context, tx *store.Tx, j *Job, r *Result) error {
				if strings.Contains(string(j.Args), "judged") {
					r.State, r.Err = Failed, "the body says no"
				}
				return nil
			},
			Ended: func(ctx context.Context, tx *store.Tx, j *Job, state, reason string) error {
				mu.Lock()
				defer mu.Unlock()
				ended[j.ID] = state + ": " + reason
				return nil
			},
		}}
		start(t, db, "w", kind)
		ins := insert(t, db,
			NewJob{Kind: kind.Name, Args: map[string]string{"mode": "flaky"}},
			NewJob{Kind: kind.Name, Args: map[string]string{"mode": "fatal"}},
			NewJob{Kind: kind.Name, Args: map[string]string{"mode": "down"}},
			NewJob{Kind: kind.Name, Args: map[string]string{"mode": "judged"}})
		flaky := waitState(t, db, kind.Name, ins[0].ID, Succeeded)
		if flaky.Attempt != 3 || len(flaky.History) != 3 || flaky.LastError != "" || flaky.History[0].Error != "try 1" ||
			string(flaky.History[0].Detail) != `{"n":1}` || flaky.History[2].Outcome != "ok" {
			t.Fatalf("flaky: %+v", flaky)
		}
		mu.Lock()
		if len(gaps) != 2 || gaps[0] < 20*time.Millisecond || gaps[1] < 60*time.Millisecond {
			t.Errorf("retry gaps %v, want at least 20ms and 60ms", gaps)
		}
		mu.Unlock()
		fatal := waitState(t, db, kind.Name, ins[1].ID, Failed)
		if fatal.Attempt != 1 || fatal.LastError != "no" {
			t.Fatalf("fatal: %+v", fatal)
		}
		down := waitState(t, db, kind.Name, ins[2].ID, Failed)
		if down.Attempt != 3 || !strings.HasPrefix(down.LastError, "gave up after 3 attempts: down") {
			t.Fatalf("down: %+v", down)
		}
		judged := waitState(t, db, kind.Name, ins[3].ID, Failed)
		if judged.LastError != "the body says no" || judged.History[0].Outcome != "ok" {
			t.Fatalf("judged: %+v", judged)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(ended) != 1 || !strings.HasPrefix(ended[ins[2].ID], "failed: gave up after 3 attempts") {
			t.Fatalf("ended %v", ended)
		}
	})
}

func TestUniqueKeys(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := insert(t, db, NewJob{Kind: "test.unique", UniqueKey: "u1", NotBefore: time.Now().Add(time.Hour)},
			NewJob{Kind: "test.unique", UniqueKey: "u1"})
		if !a[0].Created || a[1].Created || a[1].ID != a[0].ID {
			t.Fatalf("inserted %+v", a)
		}
		b := insert(t, db, NewJob{Kind: "test.unique", UniqueKey: "u1"})
		if b[0].Created || b[0].ID != a[0].ID {
			t.Fatalf("second insert %+v", b)
		}
		// A pending job keeps its key; a finished one can give it up.
		if err := db.Write(ctx, func(tx *store.Tx) error { return ReleaseUnique(ctx, tx, "u1") }); err != nil {
			t.Fatal(err)
		}
		if c := insert(t, db, NewJob{Kind: "test.unique", UniqueKey: "u1"}); c[0].Created {
			t.Fatal("a pending job's key was released")
		}
		var cancelled []*Job
		if err := db.Write(ctx, func(tx *store.Tx) (err error) {
			cancelled, err = Cancel(ctx, tx, Filter{Kind: "test.unique", UniqueKey: "u1", Unattempted: true}, "not needed")
			if err != nil {
				return err
			}
			return ReleaseUnique(ctx, tx, "u1")
		}); err != nil {
			t.Fatal(err)
		}
		if len(cancelled) != 1 || cancelled[0].State != Cancelled || cancelled[0].LastError != "not needed" || cancelled[0].DoneAt.IsZero() {
			t.Fatalf("cancelled %+v", cancelled)
		}
		if c := insert(t, db, NewJob{Kind: "test.unique", UniqueKey: "u1"}); !c[0].Created || c[0].ID == a[0].ID {
			t.Fatalf("after release: %+v", c)
		}
	})
}

// A worker that died mid-attempt leaves its lease; once it has expired,
// another worker records the lost attempt and makes the next one. On
// the last attempt, the job fails instead.
func TestExpiredLeaseIsTakenOver(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var ran counter
		kind := Kind{Name: "test.lease", MaxAttempts: 3, Handler: Handler{Work: func(ctx context.Context, j *Job) Result {
			ran.add(j.ID)
			return Result{State: Succeeded, Outcome: "ok"}
		}}}
		ins := insert(t, db, NewJob{Kind: kind.Name}, NewJob{Kind: kind.Name})
		// Play a worker that claimed both and died; the second was on its
		// last attempt. The leases expire in 300 ms by the database's clock.
		until := time.Now().Add(300 * time.Millisecond).UnixMilli()
		db.ExecContext(ctx, `UPDATE jobs SET lease_owner = 'dead', lease_until = $1, attempts = 1 WHERE id = $2`, until, ins[0].ID)
		db.ExecContext(ctx, `UPDATE jobs SET lease_owner = 'dead', lease_until = $1, attempts = 3 WHERE id = $2`, until, ins[1].ID)
		start(t, db, "alive", kind)
		j := waitState(t, db, kind.Name, ins[0].ID, Succeeded)
		if time.Now().UnixMilli() < until {
			t.Fatal("taken over before the lease expired")
		}
		if h := j.History; len(h) != 2 || h[0].Outcome != OutcomeAbandoned || h[0].Worker != "dead" || h[1].Worker != "alive" || h[1].Attempt != 2 {
			t.Fatalf("history %+v", h)
		}
		j = waitState(t, db, kind.Name, ins[1].ID, Failed)
		if ran.get(ins[1].ID) != 0 || !strings.Contains(j.LastError, "gave up after 3 attempts: worker dead stopped") || len(j.History) != 1 {
			t.Fatalf("last-attempt job: %+v, ran %d", j, ran.get(ins[1].ID))
		}
	})
}

// Lease decisions use the database's clock: a process whose own clock
// is an hour ahead cannot take a live lease over, and one whose clock is
// an hour behind writes leases that others still see as live.
func TestSkewedClocksKeepLeases(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine.String(), func(t *testing.T) {
			ctx := context.Background()
			dsn := storetest.DSN(t, engine)
			open := func(skew time.Duration) *store.DB {
				db, err := store.Open(ctx, dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				if _, err := db.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				db.Now = func() time.Time { return time.Now().Add(skew) }
				return db
			}
			var ran counter
			release := make(chan struct{})
			t.Cleanup(func() { close(release) })
			kind := Kind{Name: "test.skew", Workers: 1, Timeout: 20 * time.Second, Lease: 30 * time.Second, Handler: Handler{Work: func(ctx context.Context, j *Job) Result {
				ran.add(j.ID)
				if strings.Contains(string(j.Args), "hang") {
					select {
					case <-release:
					case <-ctx.Done():
					}
				}
				return Result{State: Succeeded, Outcome: "ok"}
			}}}
			behind, ahead := open(-time.Hour), open(time.Hour)
			start(t, behind, "behind", kind)
			held := insert(t, behind, NewJob{Kind: kind.Name, Args: map[string]bool{"hang": true}})[0].ID
			waitFor(t, "the behind process to hold the job", func() bool { return ran.get(held) == 1 })
			var until int64
			ahead.QueryRowContext(ctx, `SELECT lease_until FROM jobs WHERE id = $1`, held).Scan(&until)
			if d := time.Until(time.UnixMilli(until)); d < 20*time.Second {
				t.Fatalf("the lease ends in %v, want about 30s from the database's now", d)
			}
			// The process whose clock runs ahead claims the next job (the
			// behind one's only worker is busy), passing over the held one,
			// which is older.
			start(t, ahead, "ahead", kind)
			next := insert(t, ahead, NewJob{Kind: kind.Name})[0].ID
			j := waitState(t, ahead, kind.Name, next, Succeeded)
			if j.History[0].Worker != "ahead" {
				t.Fatalf("next job made by %s", j.History[0].Worker)
			}
			h := get(t, ahead, kind.Name, held)
			if ran.get(held) != 1 || h.Attempt != 1 || len(h.History) != 0 || h.State != Pending {
				t.Fatalf("the live lease was taken over: ran %d, %+v", ran.get(held), h)
			}
		})
	}
}

// A worker whose lease was taken over cannot change the job: its result
// only joins the history.
func TestStaleWorkerIsFenced(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		release := make(chan struct{})
		var ran counter
		kind := Kind{Name: "test.fence", Handler: Handler{Work: func(ctx context.Context, j *Job) Result {
			ran.add(j.ID)
			<-release
			return Result{State: Succeeded, Outcome: "ok"}
		}}}
		q := start(t, db, "stale", kind)
		id := insert(t, db, NewJob{Kind: kind.Name})[0].ID
		waitFor(t, "the attempt", func() bool { return ran.get(id) == 1 })
		if _, err := db.ExecContext(ctx, `UPDATE jobs SET lease_owner = 'new-owner', lease_until = $1, attempts = 2 WHERE id = $2`,
			time.Now().Add(time.Minute).UnixMilli(), id); err != nil {
			t.Fatal(err)
		}
		close(release)
		waitFor(t, "the stale attempt's record", func() bool { return len(get(t, db, kind.Name, id).History) == 1 })
		j := get(t, db, kind.Name, id)
		var owner string
		db.QueryRowContext(ctx, `SELECT lease_owner FROM jobs WHERE id = $1`, id).Scan(&owner)
		if j.State != Pending || owner != "new-owner" || j.History[0].Worker != q.Worker() {
			t.Fatalf("stale worker changed the job: %+v, owner %s", j, owner)
		}
	})
}

// One key's backlog does not starve other keys (PerKey < Workers), and
// the runner does not spin while it waits: at most one claim per poll.
func TestBusyKeyDoesNotStarveOthers(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		release := make(chan struct{})
		var once sync.Once
		t.Cleanup(func() { once.Do(func() { close(release) }) })
		var ran counter
		var slowStarted atomic.Int64
		kind := Kind{Name: "test.starve", Workers: 4, PerKey: 2, Timeout: 30 * time.Second, Handler: Handler{Work: func(ctx context.Context, j *Job) Result {
			ran.add(j.ID)
			if j.Key == "slow" {
				slowStarted.Add(1)
				select {
				case <-release:
				case <-ctx.Done():
				}
			}
			return Result{State: Succeeded, Outcome: "ok"}
		}}}
		var slow, fast []NewJob
		for range 20 {
			slow = append(slow, NewJob{Kind: kind.Name, Key: "slow"})
		}
		for range 3 {
			fast = append(fast, NewJob{Kind: kind.Name, Key: "fast"})
		}
		insert(t, db, slow...) // the slow key's backlog is older …
		fastIDs := insert(t, db, fast...)
		q := start(t, db, "w", kind)
		for _, in := range fastIDs { // … and the fast key's jobs still run
			waitState(t, db, kind.Name, in.ID, Succeeded)
		}
		if n := slowStarted.Load(); n != 2 {
			t.Fatalf("%d slow jobs running, want PerKey=2", n)
		}
		// Waiting: the slow key is at its limit with due jobs. Over five
		// polls, the runner claims at most once per poll.
		s0 := q.Stats(kind.Name)
		waitFor(t, "five polls", func() bool { return q.Stats(kind.Name).Polls >= s0.Polls+5 })
		s1 := q.Stats(kind.Name)
		if claims, polls := s1.Claims-s0.Claims, s1.Polls-s0.Polls; claims > polls+1 {
			t.Fatalf("%d claims in %d polls while blocked", claims, polls)
		}
		once.Do(func() { close(release) })
		n, _ := Count(context.Background(), db, Filter{Kind: kind.Name, State: Succeeded})
		waitFor(t, "every job", func() bool {
			n, _ = Count(context.Background(), db, Filter{Kind: kind.Name, State: Succeeded})
			return n == 23
		})
		// Idle: polls find nothing due and run no claim transaction.
		s2 := q.Stats(kind.Name)
		waitFor(t, "five idle polls", func() bool { return q.Stats(kind.Name).Polls >= s2.Polls+5 })
		if s3 := q.Stats(kind.Name); s3.Claims-s2.Claims > 1 {
			t.Fatalf("%d claims in %d idle polls", s3.Claims-s2.Claims, s3.Polls-s2.Polls)
		}
	})
}

// Two queues on one database (two processes) make each attempt once.
func TestTwoProcessesAttemptOnce(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine.String(), func(t *testing.T) {
			ctx := context.Background()
			dsn := storetest.DSN(t, engine)
			open := func() *store.DB {
				db, err := store.Open(ctx, dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				if _, err := db.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				return db
			}
			var ran counter
			kind := Kind{Name: "test.twice", Workers: 4, Prefetch: 4, Relaxed: true, Handler: Handler{Work: func(ctx context.Context, j *Job) Result {
				ran.add(j.ID)
				time.Sleep(time.Millisecond)
				return Result{State: Succeeded, Outcome: "ok"}
			}}}
			a, b := open(), open()
			start(t, a, "a", kind)
			start(t, b, "b", kind)
			const n = 300
			var jobs []NewJob
			for i := range n {
				jobs = append(jobs, NewJob{Kind: kind.Name, Key: fmt.Sprint(i % 5)})
			}
			ins := insert(t, a, jobs...)
			waitFor(t, "every job", func() bool {
				c, _ := Count(ctx, a, Filter{Kind: kind.Name, State: Succeeded})
				return c == n
			})
			for _, in := range ins {
				if ran.get(in.ID) != 1 {
					t.Fatalf("job %s ran %d times", in.ID, ran.get(in.ID))
				}
			}
			var attempts, maxAttempt, workers int
			a.QueryRowContext(ctx, `SELECT COUNT(*), MAX(attempt), COUNT(DISTINCT worker) FROM job_attempts`).Scan(&attempts, &maxAttempt, &workers)
			if attempts != n || maxAttempt != 1 {
				t.Fatalf("%d attempts, highest number %d", attempts, maxAttempt)
			}
			t.Logf("%d processes made attempts", workers)
		})
	}
}

// Periodic kinds run once per period however many processes register
// them.
func TestPeriodic(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine.String(), func(t *testing.T) {
			ctx := context.Background()
			dsn := storetest.DSN(t, engine)
			var runs atomic.Int64
			kind := Kind{Name: "test.periodic", Every: 200 * time.Millisecond, Handler: Handler{Work: func(ctx context.Context, j *Job) Result {
				runs.Add(1)
				return Result{State: Succeeded, Outcome: "ok"}
			}}}
			var dbs []*store.DB
			for range 2 {
				db, err := store.Open(ctx, dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				if _, err := db.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				dbs = append(dbs, db)
				start(t, db, fmt.Sprint("p", len(dbs)), kind)
			}
			waitFor(t, "five runs", func() bool { return runs.Load() >= 5 })
			js, err := List(ctx, dbs[0], Filter{Kind: kind.Name})
			if err != nil {
				t.Fatal(err)
			}
			buckets := map[string]bool{}
			for _, j := range js {
				if buckets[j.UniqueKey] {
					t.Fatalf("two jobs for %s", j.UniqueKey)
				}
				buckets[j.UniqueKey] = true
			}
			if int64(len(js)) < runs.Load() {
				t.Fatalf("%d runs of %d jobs", runs.Load(), len(js))
			}
		})
	}
}

// Prefetched jobs are given back, unattempted, when the queue stops; an
// attempt still running when the stop's deadline passes is cancelled and
// records what it has.
func TestStopGivesBackPrefetched(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var started atomic.Int64
		kind := Kind{Name: "test.prefetch", Workers: 1, Prefetch: 3, Handler: Handler{Work: func(ctx context.Context, j *Job) Result {
			started.Add(1)
			<-ctx.Done()
			return Result{State: Pending, Outcome: "aborted", Err: "stopping"}
		}}}
		var jobs []NewJob
		for range 6 {
			jobs = append(jobs, NewJob{Kind: kind.Name})
		}
		insert(t, db, jobs...)
		q := New(db, Config{Worker: "p", Poll: 50 * time.Millisecond})
		if err := q.Register(kind); err != nil {
			t.Fatal(err)
		}
		q.Start()
		waitFor(t, "one attempt and three held", func() bool {
			var leased int
			db.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE lease_owner = 'p'`).Scan(&leased)
			return started.Load() == 1 && leased == 4
		})
		sctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		if err := q.Stop(sctx); err == nil {
			t.Fatal("Stop reported no attempt in flight")
		}
		var leased, attempts, history int
		db.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE lease_owner IS NOT NULL`).Scan(&leased)
		db.QueryRowContext(ctx, `SELECT COALESCE(SUM(attempts), 0) FROM jobs`).Scan(&attempts)
		db.QueryRowContext(ctx, `SELECT COUNT(*) FROM job_attempts WHERE outcome = 'aborted'`).Scan(&history)
		pending, _ := Count(ctx, db, Filter{Kind: kind.Name, State: Pending})
		if started.Load() != 1 || leased != 0 || attempts != 1 || history != 1 || pending != 6 {
			t.Fatalf("after stop: %d started, %d leased, %d attempts, %d recorded, %d pending", started.Load(), leased, attempts, history, pending)
		}
	})
}
