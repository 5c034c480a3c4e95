package webhook

import (
	"net/http"
	"testing"
	"time"
)

func TestAshbySchedule(t *testing.T) {
	var s Schedule // Ashby's
	want := []time.Duration{10, 30, 70, 150, 310, 630, 1270, 2550, 5110}
	for i, w := range want {
		n := i + 1
		if got := s.Backoff(n); got != w*time.Second {
			t.Fatalf("Backoff(%d) = %v, want %v", n, got, w*time.Second)
		}
		for range 50 {
			d := s.Delay(n)
			if d < w*time.Second || d > w*time.Second*12/10 {
				t.Fatalf("Delay(%d) = %v, outside [%v, %v]", n, d, w*time.Second, w*time.Second*12/10)
			}
		}
	}
	if s.withDefaults().MaxAttempts != 10 {
		t.Fatalf("max attempts %d", s.withDefaults().MaxAttempts)
	}
	// Jitter spreads retries: 50 draws are not all equal.
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[s.Delay(3)] = true
	}
	if len(seen) < 10 {
		t.Fatalf("jitter produced only %d distinct delays", len(seen))
	}
	if d := (Schedule{Base: time.Millisecond, Jitter: -1}).Delay(4); d != 15*time.Millisecond {
		t.Fatalf("shortened schedule without jitter: %v", d)
	}
}

func TestRetryable(t *testing.T) {
	for code, want := range map[int]bool{200: false, 201: false, 204: false, 299: false,
		301: true, 302: true, 400: true, 408: true, 409: true, 422: true, 429: true, 500: true, 502: true, 503: true,
		401: false, 403: false, 404: false, 405: false, 410: false} {
		if got := Retryable(code); got != want {
			t.Errorf("Retryable(%d) = %v, want %v", code, got, want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	s := Schedule{MaxRetryAfter: time.Hour}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	resp := func(code int, ra string) *http.Response {
		r := &http.Response{StatusCode: code, Header: http.Header{}}
		if ra != "" {
			r.Header.Set("Retry-After", ra)
		}
		return r
	}
	cases := []struct {
		r    *http.Response
		want time.Duration
	}{
		{resp(429, "120"), 120 * time.Second},
		{resp(503, "5"), 10 * time.Second}, // never sooner than the schedule
		{resp(429, "86400"), time.Hour},    // clamped
		{resp(429, now.Add(3*time.Minute).Format(http.TimeFormat)), 3 * time.Minute},
		{resp(500, "120"), 10 * time.Second}, // only 429 and 503
		{resp(429, "soon"), 10 * time.Second},
	}
	for i, c := range cases {
		if got := s.retryAfter(c.r, now, 10*time.Second); got != c.want {
			t.Errorf("case %d: %v, want %v", i, got, c.want)
		}
	}
}
