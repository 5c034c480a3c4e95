package partner

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestClientSendsBasicAuthAndIdempotencyKey(t *testing.T) {
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		body, _ = io.ReadAll(r.Body)
		w.Write([]byte(`{"success":true,"results":{"assessment_id":"a1"}}`))
	}))
	defer srv.Close()
	c := NewClient(ClientConfig{AllowPrivate: true, Timeout: 2 * time.Second})
	resp := c.Do(context.Background(), Request{BaseURL: srv.URL + "/base/", Key: "pk", Method: "assessment.start", Body: []byte(`{"x":1}`), IdempotencyKey: "idem-1"})
	if resp.Outcome != OutcomeSuccess || resp.Status != 200 || resp.URL != srv.URL+"/base/assessment.start" {
		t.Fatalf("response %+v", resp)
	}
	if got.URL.Path != "/base/assessment.start" || got.Method != http.MethodPost || got.Header.Get("Content-Type") != "application/json" ||
		got.Header.Get("Idempotency-Key") != "idem-1" || got.Header.Get("User-Agent") != UserAgent || string(body) != `{"x":1}` {
		t.Fatalf("request %s %s %v %s", got.Method, got.URL, got.Header, body)
	}
	if got.Header.Get("Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte("pk:")) {
		t.Fatalf("Authorization %q", got.Header.Get("Authorization"))
	}
	// Without a key, no Authorization header; without a body, {}.
	c.Do(context.Background(), Request{BaseURL: srv.URL, Method: "assessment.list"})
	if got.Header.Get("Authorization") != "" || string(body) != "{}" {
		t.Fatalf("keyless request: %v %s", got.Header, body)
	}
}

func TestClientRefusesPrivateAddressesAndRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "https://elsewhere.example.com/steal", http.StatusFound)
			return
		}
		time.Sleep(300 * time.Millisecond)
	}))
	defer srv.Close()
	guarded := NewClient(ClientConfig{})
	resp := guarded.Do(context.Background(), Request{BaseURL: srv.URL, Method: "assessment.list"})
	if resp.Outcome != OutcomeBlocked || !strings.Contains(resp.Err, "loopback") || !strings.Contains(resp.Err, "--partner-allow-private") {
		t.Fatalf("guarded: %+v", resp)
	}
	open := NewClient(ClientConfig{AllowPrivate: true, Timeout: 100 * time.Millisecond})
	if resp := open.Do(context.Background(), Request{BaseURL: srv.URL, Method: "slow"}); resp.Outcome != OutcomeTimeout || resp.Status != 0 {
		t.Fatalf("timeout: %+v", resp)
	}
	open = NewClient(ClientConfig{AllowPrivate: true})
	if resp := open.Do(context.Background(), Request{BaseURL: srv.URL, Method: "moved"}); resp.Status != http.StatusFound {
		t.Fatalf("a redirect was followed: %+v", resp)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	url := closed.URL
	closed.Close()
	if resp := open.Do(context.Background(), Request{BaseURL: url, Method: "x"}); resp.Outcome != OutcomeNetwork {
		t.Fatalf("refused connection: %+v", resp)
	}
}

func TestClientCutsLongBodies(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", 5000)))
	}))
	defer srv.Close()
	c := NewClient(ClientConfig{AllowPrivate: true, MaxBody: 4096, LogBytes: 10})
	resp := c.Do(context.Background(), Request{BaseURL: srv.URL, Method: "m"})
	if len(resp.Body) != 4096 || !strings.Contains(resp.Err, "cut") || len(c.LogText(resp.Body)) != 10 {
		t.Fatalf("%d bytes, err %q", len(resp.Body), resp.Err)
	}
	if s := c.LogText([]byte{0xff, 'a'}); s != "\uFFFDa" {
		t.Fatalf("invalid UTF-8 kept as %q", s)
	}
}

func TestClassify(t *testing.T) {
	now := time.Now()
	for status, want := range map[int]string{200: StateSucceeded, 204: StateSucceeded, 401: StateFailed, 403: StateFailed, 404: StateFailed,
		405: StateFailed, 410: StateFailed, 400: StatePending, 409: StatePending, 429: StatePending, 500: StatePending, 503: StatePending, 302: StatePending} {
		if got := Classify(&Response{Status: status}); got.State != want {
			t.Errorf("HTTP %d: %s, want %s", status, got.State, want)
		}
	}
	r := &Response{Status: 503, Header: http.Header{"Retry-After": {"7"}}}
	if d := r.RetryAfter(now); d != 7*time.Second {
		t.Fatalf("Retry-After seconds: %v", d)
	}
	r.Header.Set("Retry-After", now.Add(90*time.Second).UTC().Format(http.TimeFormat))
	if d := r.RetryAfter(now); d < 88*time.Second || d > 91*time.Second {
		t.Fatalf("Retry-After date: %v", d)
	}
	if d := (&Response{Status: 500, Header: http.Header{"Retry-After": {"7"}}}).RetryAfter(now); d != 0 {
		t.Fatalf("Retry-After on a 500: %v", d)
	}
}

func TestEnvelope(t *testing.T) {
	for body, want := range map[string]string{
		`{"message":"No email"}`: "No email",
		`{"success":false,"errorInfo":{"code":"bad","message":"Bad thing"}}`: "Bad thing",
		`{"success":false,"errorInfo":{"code":"bad"}}`:                       "bad",
		`{"success":false,"errors":["one",{"message":"two"}]}`:               "one; two",
		`{"success":true,"results":[]}`:                                      "",
	} {
		e, err := ParseEnvelope([]byte(body))
		if err != nil || e.ErrorMessage() != want {
			t.Errorf("%s: %q %v, want %q", body, e.ErrorMessage(), err, want)
		}
	}
	if e, _ := ParseEnvelope([]byte(`{"success":false}`)); !e.Failed() {
		t.Error("success:false is a failure")
	}
	if e, _ := ParseEnvelope([]byte(`{"results":{}}`)); e.Failed() {
		t.Error("an envelope without success is not a failure")
	}
	for _, bad := range []string{"", "  ", "<html>", "[1]"} {
		if _, err := ParseEnvelope([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestCheckBaseURL(t *testing.T) {
	for raw, ok := range map[string]bool{"https://p.example.com": true, "https://p.example.com/ashby/": true, "http://p.example.com": false,
		"ftp://p.example.com": false, "p.example.com": false, "https://u:p@p.example.com": false, "https://p.example.com/?k=1": false,
		"https://p.example.com/#x": false, "": false} {
		if err := CheckBaseURL(raw, false); (err == nil) != ok {
			t.Errorf("%q: %v", raw, err)
		}
	}
	if err := CheckBaseURL("http://127.0.0.1:8080", true); err != nil {
		t.Errorf("http with private addresses allowed: %v", err)
	}
}
