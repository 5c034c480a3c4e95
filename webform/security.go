package webform

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CSRF implements the double-submit pattern with a signed token: a
// random nonce in an HttpOnly cookie, and in the form the HMAC of that
// nonce. A cross-site form cannot read the cookie to forge the field,
// and the SameSite=Lax cookie is not sent with cross-site POSTs anyway.
type CSRF struct {
	key          []byte
	cookie, path string
}

// NewCSRF returns the protection of one site's forms: its tokens are keyed
// from the server secret and purpose (so that one site's token is no good
// on another), and its cookie is named cookie and scoped to path.
func NewCSRF(secret []byte, purpose, cookie, path string) CSRF {
	key := append(append([]byte{}, secret...), purpose...)
	return CSRF{key: key, cookie: cookie, path: path}
}

func (c CSRF) sign(nonce string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("csrf\x00" + nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Token returns the form token for the request, setting the cookie when
// the browser has none.
func (c CSRF) Token(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(c.cookie); err == nil && len(ck.Value) >= 16 {
		return c.sign(ck.Value)
	}
	nonce := RandomToken()
	http.SetCookie(w, &http.Cookie{Name: c.cookie, Value: nonce, Path: c.path, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil, MaxAge: 24 * 3600})
	return c.sign(nonce)
}

// Valid reports whether token is the form token of the request's cookie.
func (c CSRF) Valid(r *http.Request, token string) bool {
	ck, err := r.Cookie(c.cookie)
	if err != nil || len(ck.Value) < 16 || token == "" {
		return false
	}
	return hmac.Equal([]byte(token), []byte(c.sign(ck.Value)))
}

// BasePath is the path prefix of a server's public base URL ("" for
// none, "/ashlar" for https://example.com/ashlar/): a proxy that serves
// Ashlar under a prefix strips it from requests, so the pages' own links,
// form actions, redirects and cookie paths must add it back.
func BasePath(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil {
		return ""
	}
	return strings.TrimRight(u.EscapedPath(), "/")
}

// RandomToken is 144 random bits, URL-safe.
func RandomToken() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Limiter is a token bucket per client IP for form POSTs: it stops a
// script from flooding the hiring team with submissions while leaving
// room for a person who fixes a validation error and retries.
type Limiter struct {
	mu      sync.Mutex
	rate    float64 // tokens per second
	burst   float64
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewLimiter allows perMinute POSTs a minute per IP in bursts of burst;
// perMinute 0 or less allows everything.
func NewLimiter(perMinute, burst int) *Limiter {
	return &Limiter{rate: float64(perMinute) / 60, burst: float64(burst), buckets: map[string]*bucket{}}
}

// Allow takes a token for ip, or says how long to wait.
func (l *Limiter) Allow(ip string, now time.Time) (bool, time.Duration) {
	if l.rate <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.last).Seconds()*l.rate > l.burst {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b := l.buckets[ip]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[ip] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// DefaultBodyTimeout is the base time a public POST's body has to arrive
// (BodyDeadline).
const DefaultBodyTimeout = 30 * time.Second

// minBodyRate is the slowest upload BodyDeadline waits for: 64 KiB/s, a
// poor mobile connection.
const minBodyRate = 64 << 10

// MaxBodyTimeout is the longest BodyDeadline allows: the read timeout of
// the server (server.Serve), which it must not extend.
const MaxBodyTimeout = 2 * time.Minute

// BodyDeadline bounds how long the body of a public, unauthenticated
// POST may take to arrive: base (DefaultBodyTimeout when 0) plus a second
// for every 64 KiB the body may hold (its Content-Length, or max when it
// declares none or more), and never more than the server's own read
// timeout. A client that trickles its body in cannot hold a connection
// for minutes; one that sends at a modest rate is never cut off. Call it
// after the checks that need no body (rate limit, link or handle) and
// before reading.
func BodyDeadline(w http.ResponseWriter, r *http.Request, base time.Duration, max int64) {
	if base <= 0 {
		base = DefaultBodyTimeout
	}
	n := r.ContentLength
	if n < 0 || n > max {
		n = max
	}
	d := min(base+time.Duration(n/minBodyRate)*time.Second, MaxBodyTimeout)
	// Not every ResponseWriter supports deadlines (tests' recorders); the
	// server's read timeout still applies then.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
}

// SecurityHeaders are set on every page of the public sites. The pages
// need no script at all, so the policy allows none; styles come from this
// server; images may be the organization's logo from anywhere on the web.
func SecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' https: http: data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// Theme colours: the organization's colour is used for links, headings
// and buttons, adjusted until it meets WCAG AA contrast (4.5:1) on white
// so that branding never makes a page unreadable.

const defaultColor = "#3b4fd8"

func parseHex(c string) (r, g, b float64, ok bool) {
	if len(c) != 7 || c[0] != '#' {
		return 0, 0, 0, false
	}
	v, err := strconv.ParseUint(c[1:], 16, 32)
	if err != nil {
		return 0, 0, 0, false
	}
	return float64(v >> 16 & 0xff), float64(v >> 8 & 0xff), float64(v & 0xff), true
}

func channel(c float64) float64 {
	c /= 255
	if c <= 0.03928 {
		return c / 12.92
	}
	return math.Pow((c+0.055)/1.055, 2.4)
}

func luminance(r, g, b float64) float64 {
	return 0.2126*channel(r) + 0.7152*channel(g) + 0.0722*channel(b)
}

func contrast(l1, l2 float64) float64 {
	if l1 < l2 {
		l1, l2 = l2, l1
	}
	return (l1 + 0.05) / (l2 + 0.05)
}

// AccessibleColor darkens c (#rrggbb; anything else is the default
// colour) until white text on it, and it on white, reaches a 4.5:1
// contrast ratio.
func AccessibleColor(c string) string {
	r, g, b, ok := parseHex(strings.ToLower(c))
	if !ok {
		r, g, b, _ = parseHex(defaultColor)
	}
	for i := 0; i < 100 && contrast(1, luminance(r, g, b)) < 4.6; i++ {
		r, g, b = r*0.95, g*0.95, b*0.95
	}
	return fmt.Sprintf("#%02x%02x%02x", int(r), int(g), int(b))
}
