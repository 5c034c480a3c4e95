// Package ratelimit is the one rate limiter every part of Ashlar uses:
// the API's limit per key (rpc), the per-IP limits of the public forms
// and uploads (careers, survey, take-home, files) and the sign-in limits
// of the web app. A Limiter names its limit and rate; the Backend keeps
// the counts: Local in this process's memory, or Redis, shared by every
// `ashlar serve` process that points at the same Redis (--redis-url), so
// that several processes enforce one limit (docs/rate-limits.md).
package ratelimit

import (
	"context"
	"math"
	"sync"
	"time"
)

// Rate is a token bucket: PerSecond tokens a second, up to Burst at once.
type Rate struct {
	PerSecond float64
	Burst     int
}

// PerMinute is a rate of n a minute in bursts of burst.
func PerMinute(n, burst int) Rate { return Rate{PerSecond: float64(n) / 60, Burst: burst} }

// Off reports whether the rate limits nothing: a rate of zero or less, or
// a negative burst.
func (r Rate) Off() bool { return r.PerSecond <= 0 || r.Burst < 0 }

func (r Rate) burst() int {
	if r.Burst < 1 {
		return max(1, int(math.Ceil(r.PerSecond)))
	}
	return r.Burst
}

// Backend keeps the buckets. Take takes one token from key's bucket under
// r; when none is left it says how long until one will be. An error means
// the backend could not decide (the caller lets the request through).
type Backend interface {
	Take(ctx context.Context, key string, r Rate) (ok bool, wait time.Duration, err error)
}

// Limiter is one named limit: the API's per-key limit, the careers site's
// per-IP limit, and so on. A nil Limiter allows everything.
type Limiter struct {
	name    string
	rate    Rate
	backend Backend
}

// New returns the limiter called name (it keeps its buckets apart from
// other limiters' in a shared backend) at rate r, counting in backend
// (nil: a Local of its own). It returns nil when r is Off.
func New(backend Backend, name string, r Rate) *Limiter {
	if r.Off() {
		return nil
	}
	if backend == nil {
		backend = NewLocal()
	}
	return &Limiter{name: name, rate: r, backend: backend}
}

// Allow takes a token for key (an API key id, a client address), or says
// how long to wait. A backend that cannot decide lets the request
// through: a limit is protection, not a reason to refuse service (the
// Redis backend falls back to counting locally and logs why).
func (l *Limiter) Allow(ctx context.Context, key string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	ok, wait, err := l.backend.Take(ctx, l.name+":"+key, l.rate)
	if err != nil {
		return true, 0
	}
	return ok, wait
}

// Local keeps token buckets in this process's memory.
type Local struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
	// Now is the clock; tests replace it.
	Now func() time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
	rate   float64
	burst  float64
}

// NewLocal returns an empty in-memory backend.
func NewLocal() *Local { return &Local{buckets: map[string]*bucket{}, Now: time.Now} }

// Take implements Backend.
func (l *Local) Take(_ context.Context, key string, r Rate) (bool, time.Duration, error) {
	now := l.Now()
	burst := float64(r.burst())
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		// Forget full buckets so the map does not grow without bound.
		for k, b := range l.buckets {
			if now.Sub(b.last).Seconds()*b.rate >= b.burst {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: burst, last: now}
		l.buckets[key] = b
	}
	b.rate, b.burst = r.PerSecond, burst
	b.tokens = math.Min(burst, b.tokens+now.Sub(b.last).Seconds()*r.PerSecond)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0, nil
	}
	return false, time.Duration((1 - b.tokens) / r.PerSecond * float64(time.Second)), nil
}
