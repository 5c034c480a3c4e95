package store

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFreshReadStartsAfterCall: every caller gets a value whose read
// began after it called, concurrent callers share reads, and no
// goroutine is left behind once callers stop coming.
func TestFreshReadStartsAfterCall(t *testing.T) {
	var f freshRead[int64]
	var started, reads atomic.Int64
	read := func(context.Context) (int64, error) {
		reads.Add(1)
		n := started.Add(1)
		time.Sleep(50 * time.Microsecond)
		return n, nil
	}
	before := runtime.NumGoroutine()
	const callers, calls = 16, 200
	var wg sync.WaitGroup
	var bad atomic.Int64
	for range callers {
		wg.Go(func() {
			for range calls {
				asked := started.Load()
				v, err := f.get(context.Background(), read)
				if err != nil || v <= asked {
					bad.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := bad.Load(); n > 0 {
		t.Fatalf("%d calls got a value read before they asked", n)
	}
	if r := reads.Load(); r >= callers*calls {
		t.Errorf("%d reads for %d calls: concurrent calls did not share reads", r, callers*calls)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Errorf("%d goroutines after the calls, %d before", g, before)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running || f.next != nil {
		t.Errorf("idle freshRead still running (%v) or with a waiting flight (%v)", f.running, f.next != nil)
	}
}
