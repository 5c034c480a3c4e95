package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// script is a test server that answers each request with the next step of
// a script, and records what it received.
type script struct {
	t     *testing.T
	mu    sync.Mutex
	steps []func(w http.ResponseWriter, r *http.Request)
	reqs  []recorded
	srv   *httptest.Server
}

type recorded struct {
	endpoint string
	body     map[string]any
	header   http.Header
}

func newScript(t *testing.T, steps ...func(w http.ResponseWriter, r *http.Request)) *script {
	s := &script{t: t, steps: steps}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		json.Unmarshal(b, &body)
		s.mu.Lock()
		s.reqs = append(s.reqs, recorded{strings.TrimPrefix(r.URL.Path, "/"), body, r.Header.Clone()})
		if len(s.steps) == 0 {
			s.mu.Unlock()
			t.Errorf("unexpected request %d to %s", len(s.reqs), r.URL.Path)
			w.WriteHeader(599)
			return
		}
		step := s.steps[0]
		s.steps = s.steps[1:]
		s.mu.Unlock()
		step(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *script) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.reqs...)
}

func (s *script) client() *Client {
	c := New(s.srv.URL, "KEY")
	c.MinBackoff, c.MaxBackoff = time.Millisecond, 5*time.Millisecond
	return c
}

func ok(results any, extra ...string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		m := map[string]any{"success": true, "results": results}
		for i := 0; i+1 < len(extra); i += 2 {
			switch extra[i] {
			case "more":
				m["moreDataAvailable"] = extra[i+1] == "true"
			case "warning":
				m["warnings"] = []string{extra[i+1]}
			default:
				m[extra[i]] = extra[i+1]
			}
		}
		w.Header().Set("x-ashby-request-id", "req-ok")
		json.NewEncoder(w).Encode(m)
	}
}

func status(code int, header ...string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("x-ashby-request-id", fmt.Sprintf("req-%d", code))
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"success":false,"errors":["e%d"],"errorInfo":{"code":"e%d","message":"status %d"}}`, code, code, code)
	}
}

// reset closes the connection without an answer (a TCP RST).
func reset(w http.ResponseWriter, r *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

func TestRetry429HonoursRetryAfter(t *testing.T) {
	s := newScript(t, status(429, "Retry-After", "1"), ok(map[string]any{"id": "c1"}))
	c := s.client()
	var waits []time.Duration
	c.OnRetry = func(_ string, _ int, _ error, wait time.Duration) { waits = append(waits, wait) }
	start := time.Now()
	var out struct{ ID string }
	res, err := c.Call(context.Background(), "candidate.info", map[string]any{"id": "c1"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if out.ID != "c1" || res.Attempts != 2 || len(s.requests()) != 2 {
		t.Fatalf("got %+v after %d attempts, %d requests", out, res.Attempts, len(s.requests()))
	}
	if len(waits) != 1 || waits[0] != time.Second || time.Since(start) < time.Second {
		t.Fatalf("waited %v (%v in all), want Retry-After's 1s", waits, time.Since(start))
	}
}

func TestRetry429AppliesToWrites(t *testing.T) {
	// A throttled request was refused before it ran, so even a create is
	// sent again.
	s := newScript(t, status(429, "Retry-After", "0"), ok(map[string]any{"id": "c1"}))
	if _, err := s.client().Call(context.Background(), "candidate.create", map[string]any{"name": "A"}, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(s.requests()); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
}

func TestRetryAfterLongerThanMaxIsReturned(t *testing.T) {
	s := newScript(t, status(429, "Retry-After", "3600"))
	_, err := s.client().Call(context.Background(), "candidate.list", nil, nil)
	var e *Error
	if !errors.As(err, &e) || e.Status != 429 || e.RetryAfter != time.Hour {
		t.Fatalf("err = %v, want the 429 with its hour-long Retry-After", err)
	}
}

func TestRetryServerErrorsOnReads(t *testing.T) {
	s := newScript(t, status(500), status(502), status(503), ok([]any{}))
	res, err := s.client().Call(context.Background(), "candidate.list", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 4 {
		t.Fatalf("attempts = %d, want 4", res.Attempts)
	}
}

func TestRetryConnectionResetOnReads(t *testing.T) {
	s := newScript(t, reset, reset, ok(map[string]any{"id": "j1"}))
	res, err := s.client().Call(context.Background(), "job.info", map[string]any{"id": "j1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 3 || len(s.requests()) != 3 {
		t.Fatalf("attempts = %d, requests = %d, want 3", res.Attempts, len(s.requests()))
	}
}

func TestRetryGivesUpAfterMaxRetries(t *testing.T) {
	s := newScript(t, status(500), status(500), status(500))
	c := s.client()
	c.MaxRetries = 2
	_, err := c.Call(context.Background(), "candidate.list", nil, nil)
	if Code(err) != "e500" || len(s.requests()) != 3 {
		t.Fatalf("err = %v after %d requests, want e500 after 3", err, len(s.requests()))
	}
}

func TestNonIdempotentWriteIsNotRepeated(t *testing.T) {
	for name, step := range map[string]func(http.ResponseWriter, *http.Request){"500": status(500), "reset": reset, "503 with Retry-After": status(503, "Retry-After", "0")} {
		t.Run(name, func(t *testing.T) {
			s := newScript(t, step) // a second request would fail the test
			_, err := s.client().Call(context.Background(), "candidate.create", map[string]any{"name": "Ada"}, nil)
			if err == nil {
				t.Fatal("no error")
			}
			if n := len(s.requests()); n != 1 {
				t.Fatalf("candidate.create sent %d times, want once", n)
			}
			if name == "reset" && !strings.Contains(err.Error(), "may have reached the server") {
				t.Fatalf("err = %v, want it to say the outcome is unknown", err)
			}
		})
	}
}

func TestIdempotentOptionAllowsRetryingAWrite(t *testing.T) {
	s := newScript(t, status(500), ok(map[string]any{}))
	if _, err := s.client().Call(context.Background(), "application.changeStage", map[string]any{}, nil, Idempotent(true)); err != nil {
		t.Fatal(err)
	}
	s = newScript(t, status(500))
	if _, err := s.client().Call(context.Background(), "candidate.list", nil, nil, Idempotent(false)); err == nil || len(s.requests()) != 1 {
		t.Fatalf("Idempotent(false) read: err %v after %d requests, want one failed request", err, len(s.requests()))
	}
}

func TestUnsentWriteIsRetried(t *testing.T) {
	// A dial that fails never reached the server: sending again cannot
	// repeat anything.
	s := newScript(t, ok(map[string]any{"id": "c1"}))
	c := s.client()
	var dials atomic.Int32
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) == 1 {
			return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connection refused")}
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	c.HTTP = &http.Client{Transport: tr}
	if _, err := c.Call(context.Background(), "candidate.create", map[string]any{"name": "A"}, nil); err != nil {
		t.Fatal(err)
	}
	if dials.Load() != 2 || len(s.requests()) != 1 {
		t.Fatalf("dials %d, requests %d; want 2 dials and one request", dials.Load(), len(s.requests()))
	}
}

func TestIsIdempotent(t *testing.T) {
	for ep, want := range map[string]bool{
		"candidate.list": true, "candidate.info": true, "candidate.search": true, "application.listHistory": true,
		"assessment.customField.list": true, "report.synchronous": true, "candidate.update": true, "job.setStatus": true,
		"candidate.addTag": true, "candidate.create": false, "application.changeStage": false, "candidate.createNote": false,
		"applicationForm.submit": false, "application.updateHistory": false, "candidate.listing": false, "nodot": false,
	} {
		if got := IsIdempotent(ep); got != want {
			t.Errorf("IsIdempotent(%q) = %v, want %v", ep, got, want)
		}
	}
}

func TestErrorCarriesCodeMessageAndRequestID(t *testing.T) {
	s := newScript(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-ashby-request-id", "01REQ")
		io.WriteString(w, `{"success":false,"errors":["invalid_input"],"errorInfo":{"code":"invalid_input","message":"Invalid value for email","requestId":"01REQ","meta":{"field":"email"}}}`)
	})
	_, err := s.client().Call(context.Background(), "candidate.create", map[string]any{"name": "A", "email": "x"}, nil)
	var e *Error
	if !errors.As(fmt.Errorf("wrapped: %w", err), &e) {
		t.Fatalf("err %T %v is not an *Error", err, err)
	}
	if e.Code != "invalid_input" || e.Message != "Invalid value for email" || e.RequestID != "01REQ" || e.Meta["field"] != "email" ||
		e.Status != 200 || e.Endpoint != "candidate.create" {
		t.Fatalf("error = %+v", e)
	}
	for _, want := range []string{"candidate.create", "invalid_input", "Invalid value for email", "01REQ"} {
		if !strings.Contains(e.Error(), want) {
			t.Errorf("%q lacks %q", e.Error(), want)
		}
	}
}

func TestLegacyErrorsAndNonJSON(t *testing.T) {
	s := newScript(t,
		func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"success":false,"errors":["missing_endpoint_permission"]}`)
		},
		func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(404)
			io.WriteString(w, "<html>not found</html>")
		},
	)
	c := s.client()
	if _, err := c.Call(context.Background(), "candidate.create", nil, nil); Code(err) != "missing_endpoint_permission" {
		t.Fatalf("err = %v", err)
	}
	_, err := c.Call(context.Background(), "nothing.create", nil, nil)
	var e *Error
	if !errors.As(err, &e) || e.Status != 404 || e.Code != "unexpected_response" || !strings.Contains(e.Message, "not found") {
		t.Fatalf("err = %#v", err)
	}
}

func TestWarningsAreSurfaced(t *testing.T) {
	s := newScript(t, ok(map[string]any{"id": "a"}, "warning", "unable_to_add_application_metadata"))
	c := s.client()
	var got []string
	c.OnWarning = func(endpoint string, w []string) { got = append(got, endpoint+":"+strings.Join(w, ",")) }
	res, err := c.Call(context.Background(), "application.create", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || res.Warnings[0] != "unable_to_add_application_metadata" ||
		len(got) != 1 || got[0] != "application.create:unable_to_add_application_metadata" {
		t.Fatalf("warnings %v, hook %v", res.Warnings, got)
	}
}

func TestResponseBodyIsLimited(t *testing.T) {
	big := strings.Repeat("x", 4096)
	s := newScript(t, ok([]string{big}), ok([]string{big}))
	c := s.client()
	c.MaxResponseBytes = 1024
	_, err := c.Call(context.Background(), "candidate.list", nil, nil)
	if Code(err) != "response_too_large" || len(s.requests()) != 1 {
		t.Fatalf("err = %v after %d requests, want response_too_large, not retried", err, len(s.requests()))
	}
	c.MaxResponseBytes = 8192
	if _, err := c.Call(context.Background(), "candidate.list", nil, nil); err != nil {
		t.Fatal(err)
	}
}

func TestHeaders(t *testing.T) {
	s := newScript(t, ok([]any{}))
	if _, err := s.client().Call(context.Background(), "candidate.list", nil, nil); err != nil {
		t.Fatal(err)
	}
	h := s.requests()[0].header
	user, pass, _ := (&http.Request{Header: h}).BasicAuth()
	if user != "KEY" || pass != "" || h.Get("User-Agent") != DefaultUserAgent || !strings.Contains(DefaultUserAgent, Version) ||
		h.Get("Content-Type") != "application/json" || h.Get("Accept") != "application/json; version=1" {
		t.Fatalf("headers %v", h)
	}
}

func TestListIteratesLazily(t *testing.T) {
	s := newScript(t,
		ok([]map[string]string{{"id": "1"}, {"id": "2"}}, "more", "true", "nextCursor", "C1"),
		ok([]map[string]string{{"id": "3"}}, "more", "true", "nextCursor", "C2"),
		ok([]map[string]string{{"id": "4"}}, "syncToken", "T"),
	)
	c := s.client()
	var ids []string
	for r, err := range List[struct{ ID string }](context.Background(), c, "candidate.list", &ListOptions{Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
		if r.ID == "3" {
			break
		}
	}
	reqs := s.requests()
	if strings.Join(ids, ",") != "1,2,3" || len(reqs) != 2 {
		t.Fatalf("ids %v after %d requests; the loop's break must stop fetching", ids, len(reqs))
	}
	if reqs[0].body["limit"] != 2.0 || reqs[0].body["cursor"] != nil || reqs[1].body["cursor"] != "C1" || reqs[1].body["limit"] != 2.0 {
		t.Fatalf("requests %+v", reqs)
	}
}

func TestListYieldsErrors(t *testing.T) {
	s := newScript(t, ok([]map[string]string{{"id": "1"}}, "more", "true", "nextCursor", "C1"), status(400))
	var n int
	var last error
	for _, err := range s.client().Candidates.List(context.Background(), nil) {
		if err != nil {
			last = err
			break
		}
		n++
	}
	if n != 1 || Code(last) != "e400" {
		t.Fatalf("%d records, err %v", n, last)
	}
}

func TestIncrementalKeepsTokenAndReturnsTheNewOneLast(t *testing.T) {
	s := newScript(t,
		ok([]map[string]string{{"id": "1"}}, "more", "true", "nextCursor", "C1"),
		ok([]map[string]string{{"id": "2"}}, "syncToken", "NEW"),
	)
	var seen []string
	res, err := s.client().Incremental(context.Background(), "candidate.list", nil, "OLD", func(p *Page) error {
		seen = append(seen, fmt.Sprintf("%d/%s", len(p.Results), p.SyncToken))
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reqs := s.requests()
	if reqs[0].body["syncToken"] != "OLD" || reqs[1].body["syncToken"] != "OLD" || reqs[1].body["cursor"] != "C1" {
		t.Fatalf("requests %+v: the same token must go with every page", reqs)
	}
	if res.Token != "NEW" || res.Full || res.FellBack != "" || res.Pages != 2 || res.Records != 2 || strings.Join(seen, " ") != "1/ 1/NEW" {
		t.Fatalf("result %+v, pages %v", res, seen)
	}
}

func TestIncrementalFallsBackToFullSync(t *testing.T) {
	for _, code := range []string{CodeSyncTokenExpired, CodeSyncTokenInvalid, CodeIncrementalSyncTooLarge} {
		t.Run(code, func(t *testing.T) {
			s := newScript(t,
				func(w http.ResponseWriter, r *http.Request) {
					fmt.Fprintf(w, `{"success":false,"errors":["%s"],"errorInfo":{"code":"%s","message":"x"}}`, code, code)
				},
				ok([]map[string]string{{"id": "1"}}, "syncToken", "FRESH"),
			)
			var fell []string
			res, err := s.client().Incremental(context.Background(), "candidate.list", nil, "STALE", func(*Page) error { return nil },
				func(c string) error { fell = append(fell, c); return nil })
			if err != nil {
				t.Fatal(err)
			}
			reqs := s.requests()
			if reqs[1].body["syncToken"] != nil || res.Token != "FRESH" || !res.Full || res.FellBack != code || len(fell) != 1 || fell[0] != code {
				t.Fatalf("result %+v, fallbacks %v, second request %v", res, fell, reqs[1].body)
			}
		})
	}
}

func TestIncrementalStopsOnOtherErrors(t *testing.T) {
	s := newScript(t, ok([]map[string]string{{"id": "1"}}, "more", "true", "nextCursor", "C1"), status(403))
	res, err := s.client().Incremental(context.Background(), "candidate.list", nil, "T", func(*Page) error { return nil }, nil)
	if Code(err) != "e403" || res.Token != "" {
		t.Fatalf("err %v, result %+v: no token may come back from a failed walk", err, res)
	}
}

func TestLimiterIsWaitedOnEveryAttempt(t *testing.T) {
	s := newScript(t, status(500), ok([]any{}))
	c := s.client()
	var waits atomic.Int32
	c.Limiter = limiterFunc(func(context.Context) error { waits.Add(1); return nil })
	if _, err := c.Call(context.Background(), "candidate.list", nil, nil); err != nil {
		t.Fatal(err)
	}
	if waits.Load() != 2 {
		t.Fatalf("limiter waited %d times, want 2", waits.Load())
	}
}

type limiterFunc func(context.Context) error

func (f limiterFunc) Wait(ctx context.Context) error { return f(ctx) }

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{"": 0, "7": 7 * time.Second, "-1": 0, "junk": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second, now.Add(-time.Minute).Format(http.TimeFormat): 0} {
		if got := retryAfter(in, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestRateLimiterPacesAndPauses(t *testing.T) {
	l := NewRateLimiter(50, 1)
	ctx := context.Background()
	start := time.Now()
	for range 11 {
		if err := l.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// 1 at once, then 10 at 50/s: at least 200ms. A lower bound of the
	// limiter's own arithmetic, not a performance assertion.
	if d := time.Since(start); d < 190*time.Millisecond {
		t.Fatalf("11 requests at 50/s took %v", d)
	}
	l.Pause(300 * time.Millisecond)
	start = time.Now()
	if err := l.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 290*time.Millisecond {
		t.Fatalf("waited %v through a 300ms pause", d)
	}
	cctx, cancel := context.WithCancel(ctx)
	l.Pause(time.Hour)
	cancel()
	if err := l.Wait(cctx); err == nil {
		t.Fatal("Wait ignored its context")
	}
}

func TestThrottlePausesTheSharedLimiter(t *testing.T) {
	s := newScript(t, status(429, "Retry-After", "1"), ok([]any{}))
	c := s.client()
	l := NewRateLimiter(0, 1)
	c.Limiter = l
	if _, err := c.Call(context.Background(), "candidate.list", nil, nil); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	paused := l.paused
	l.mu.Unlock()
	if paused.IsZero() {
		t.Fatal("a 429 did not pause the shared limiter")
	}
}

func TestSyncWithNilParams(t *testing.T) {
	s := newScript(t, ok([]map[string]string{{"id": "1"}}, "syncToken", "T"))
	var params map[string]any // a nil map, as callers pass for "no filters"
	tok, err := s.client().Sync(context.Background(), "candidate.list", params, "OLD", func(json.RawMessage) error { return nil })
	if err != nil || tok != "T" || s.requests()[0].body["syncToken"] != "OLD" {
		t.Fatalf("token %q, err %v, request %v", tok, err, s.requests()[0].body)
	}
}
