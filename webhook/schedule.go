package webhook

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Schedule is the retry policy. The zero value is Ashby's: at most 10
// attempts, and (2^n − 1) × 10 s after the n-th failed attempt (10 s, 30 s,
// 70 s, 150 s, 310 s … about 2.8 hours in all), each delay lengthened by a
// random part of up to 20% so that deliveries that failed together do not
// retry together. Ashby documents its delays as minimums, so jitter only
// ever adds.
type Schedule struct {
	// Base is the unit of the backoff: 10 s in Ashby's schedule. Tests
	// shorten it.
	Base time.Duration
	// MaxAttempts bounds the attempts of one delivery (default 10).
	MaxAttempts int
	// Jitter is the largest fraction of a delay added at random (default
	// 0.2; negative means none).
	Jitter float64
	// MaxRetryAfter caps how long a receiver's Retry-After can postpone
	// the next attempt (default 1 hour).
	MaxRetryAfter time.Duration
}

// Defaults of Ashby's schedule.
const (
	DefaultBase          = 10 * time.Second
	DefaultMaxAttempts   = 10
	DefaultJitter        = 0.2
	DefaultMaxRetryAfter = time.Hour
)

func (s Schedule) withDefaults() Schedule {
	if s.Base <= 0 {
		s.Base = DefaultBase
	}
	if s.MaxAttempts <= 0 {
		s.MaxAttempts = DefaultMaxAttempts
	}
	if s.Jitter == 0 {
		s.Jitter = DefaultJitter
	}
	if s.Jitter < 0 {
		s.Jitter = 0
	}
	if s.MaxRetryAfter <= 0 {
		s.MaxRetryAfter = DefaultMaxRetryAfter
	}
	return s
}

// Backoff is the delay after the n-th failed attempt (n ≥ 1) before
// attempt n+1, without jitter: (2^n − 1) × Base.
func (s Schedule) Backoff(n int) time.Duration {
	s = s.withDefaults()
	n = min(max(n, 1), 30)
	return time.Duration((1<<n)-1) * s.Base
}

// Delay is Backoff(n) with jitter added: a value in
// [Backoff(n), Backoff(n) × (1 + Jitter)].
func (s Schedule) Delay(n int) time.Duration {
	s = s.withDefaults()
	d := s.Backoff(n)
	if s.Jitter > 0 {
		d += time.Duration(rand.Float64() * s.Jitter * float64(d))
	}
	return d
}

// retryAfter honours a receiver's Retry-After on 429 and 503 responses:
// the next attempt waits at least that long, capped at MaxRetryAfter, and
// never less than the schedule's delay.
func (s Schedule) retryAfter(resp *http.Response, now time.Time, delay time.Duration) time.Duration {
	if resp == nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
		return delay
	}
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return delay
	}
	var ra time.Duration
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		ra = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		ra = t.Sub(now)
	}
	ra = min(ra, s.withDefaults().MaxRetryAfter)
	return max(delay, ra)
}

// Retryable reports whether a response status leads to another attempt:
// every non-2xx status except 401, 403, 404, 405 and 410, which Ashby
// treats as the receiver saying "stop" (https://developers.ashbyhq.com/docs/retries).
func Retryable(status int) bool {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusGone:
		return false
	}
	return status < 200 || status > 299
}
