package ratelimit

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLocal(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	b := NewLocal()
	b.Now = func() time.Time { return now }
	l := New(b, "form", PerMinute(60, 2)) // one a second, bursts of two
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if ok, _ := l.Allow(ctx, "1.2.3.4"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.Allow(ctx, "1.2.3.4")
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("third request: ok=%v wait=%v, want refused with a wait of at most 1s", ok, wait)
	}
	if ok, _ := l.Allow(ctx, "5.6.7.8"); !ok {
		t.Fatal("another address shares the first one's bucket")
	}
	if ok, _ := New(b, "other", PerMinute(60, 2)).Allow(ctx, "1.2.3.4"); !ok {
		t.Fatal("another limiter shares the first one's bucket")
	}
	now = now.Add(time.Second)
	if ok, _ := l.Allow(ctx, "1.2.3.4"); !ok {
		t.Fatal("refused after the bucket refilled")
	}
}

func TestOff(t *testing.T) {
	for _, r := range []Rate{{}, {PerSecond: 1, Burst: -1}, PerMinute(0, 5)} {
		if l := New(nil, "x", r); l != nil {
			t.Errorf("rate %+v: limiter is not off", r)
		}
	}
	var l *Limiter
	if ok, _ := l.Allow(context.Background(), "k"); !ok {
		t.Fatal("a nil limiter refused")
	}
}

// redisURL is the Redis the tests use: ASHLAR_TEST_REDIS, or the local
// one. ASHLAR_REQUIRE_REDIS=1 (.ci/run) makes its absence a failure.
func redisURL(t *testing.T) string {
	u := os.Getenv("ASHLAR_TEST_REDIS")
	if u == "" {
		u = "redis://127.0.0.1:6379/0"
	}
	r, err := NewRedis(u, nil)
	if err == nil {
		err = r.Ping(context.Background())
		r.Close()
	}
	if err != nil {
		if os.Getenv("ASHLAR_REQUIRE_REDIS") != "" {
			t.Fatalf("Redis at %s: %v (ASHLAR_REQUIRE_REDIS is set)", u, err)
		}
		t.Skipf("Redis at %s: %v", u, err)
	}
	return u
}

// TestRedisShared: two backends (two processes) on one Redis share one
// bucket, and concurrent takers get exactly the burst.
func TestRedisShared(t *testing.T) {
	u := redisURL(t)
	a, _ := NewRedis(u, nil)
	b, _ := NewRedis(u, nil)
	defer a.Close()
	defer b.Close()
	name := fmt.Sprintf("test-%d", time.Now().UnixNano())
	r := Rate{PerSecond: 0.001, Burst: 10} // no refill within the test
	la, lb := New(a, name, r), New(b, name, r)
	ctx := context.Background()
	var mu sync.Mutex
	allowed, refused := 0, 0
	var wg sync.WaitGroup
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			l := la
			if i%2 == 1 {
				l = lb
			}
			ok, wait := l.Allow(ctx, "key")
			mu.Lock()
			defer mu.Unlock()
			if ok {
				allowed++
			} else {
				refused++
				if wait < 100*time.Second {
					t.Errorf("wait %v: want about 1000 s (one token at 0.001/s)", wait)
				}
			}
		}(i)
	}
	wg.Wait()
	if allowed != 10 || refused != 20 {
		t.Fatalf("allowed %d, refused %d: want exactly the burst of 10 allowed across both", allowed, refused)
	}
	if ok, _ := la.Allow(ctx, "other-key"); !ok {
		t.Fatal("another key shares the bucket")
	}
}

// TestRedisRefills: a fast rate refills; the bucket's key expires.
func TestRedisRefills(t *testing.T) {
	u := redisURL(t)
	a, _ := NewRedis(u, nil)
	defer a.Close()
	l := New(a, fmt.Sprintf("refill-%d", time.Now().UnixNano()), Rate{PerSecond: 1000, Burst: 1})
	ctx := context.Background()
	if ok, _ := l.Allow(ctx, "k"); !ok {
		t.Fatal("first request refused")
	}
	ok, wait := l.Allow(ctx, "k")
	for !ok {
		if wait > time.Millisecond+time.Microsecond {
			t.Fatalf("wait %v exceeds one interval of 1 ms", wait)
		}
		time.Sleep(wait)
		ok, wait = l.Allow(ctx, "k")
	}
}

// TestRedisDownFailsOpen: an unreachable Redis lets requests through,
// counted locally, and logs one warning.
func TestRedisDownFailsOpen(t *testing.T) {
	var logs bytes.Buffer
	r, err := NewRedis("redis://127.0.0.1:1/0", slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	l := New(r, "down", Rate{PerSecond: 0.001, Burst: 2})
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if ok, _ := l.Allow(ctx, "k"); !ok {
			t.Fatalf("request %d refused with Redis down", i+1)
		}
	}
	if ok, _ := l.Allow(ctx, "k"); ok {
		t.Fatal("the local fallback did not limit")
	}
	if n := strings.Count(logs.String(), "Redis is unreachable"); n != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", n, logs.String())
	}
}

func TestRedisURL(t *testing.T) {
	if _, err := NewRedis("http://example.com", nil); err == nil {
		t.Fatal("an http URL was accepted")
	}
}
