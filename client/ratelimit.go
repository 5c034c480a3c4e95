package client

import (
	"context"
	"sync"
	"time"
)

// RateLimiter is a Limiter allowing at most rps requests per second on
// average, in bursts of at most burst. A client whose Limiter is a
// RateLimiter also pauses it for a 429's Retry-After, so that every
// request sharing it waits, not only the one that was throttled.
type RateLimiter struct {
	mu     sync.Mutex
	rps    float64
	burst  float64
	tokens float64
	last   time.Time
	paused time.Time
}

// NewRateLimiter returns a limiter of rps requests per second (burst at
// least 1). rps <= 0 means no limit but the pauses.
func NewRateLimiter(rps float64, burst int) *RateLimiter {
	b := float64(max(burst, 1))
	return &RateLimiter{rps: rps, burst: b, tokens: b, last: time.Now()}
}

// Wait blocks until a request may go.
func (l *RateLimiter) Wait(ctx context.Context) error {
	for {
		l.mu.Lock()
		now := time.Now()
		var wait time.Duration
		switch {
		case now.Before(l.paused):
			wait = l.paused.Sub(now)
		case l.rps <= 0:
			l.mu.Unlock()
			return nil
		default:
			l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rps)
			l.last = now
			if l.tokens >= 1 {
				l.tokens--
				l.mu.Unlock()
				return nil
			}
			wait = time.Duration((1 - l.tokens) / l.rps * float64(time.Second))
		}
		l.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Pause holds every request for d (a server's Retry-After).
func (l *RateLimiter) Pause(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := time.Now().Add(d); until.After(l.paused) {
		l.paused = until
	}
}
