package rpc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/ratelimit"
)

type thingRequest struct {
	ThingID ashby.ID                `json:"thingId" required:"true"`
	Status  ashby.OneOrMany[string] `json:"status,omitempty" enum:"Open,Closed"`
	Count   int                     `json:"count,omitempty"`
	At      *ashby.Time             `json:"at,omitempty"`
	Nested  *struct {
		Name string `json:"name" required:"true"`
	} `json:"nested,omitempty"`
	ExpandParam
}

type thing struct {
	ID string `json:"id"`
}

type fakeAuth map[string]*Principal

func (f fakeAuth) Authenticate(_ context.Context, secret string) (*Principal, error) {
	if p, ok := f[secret]; ok {
		return p, nil
	}
	return nil, ErrUnknownKey
}

func testServer() *Server {
	api := NewAPI()
	api.Add(Object(Spec{Name: "thing.info", Permission: ashby.JobsRead, Expand: []string{"owner"}},
		func(ctx context.Context, c *Call, req *thingRequest) (Result[thing], error) {
			if req.ThingID == "00000000-0000-4000-8000-000000000000" {
				return Result[thing]{}, ashby.NotFound("thing", "Thing not found")
			}
			if req.Count == 42 {
				c.Warn("something_minor")
			}
			return Value(&thing{ID: string(req.ThingID)}), nil
		}))
	auth := fakeAuth{
		"good":   {OrgID: "o", KeyID: "k", Permissions: []ashby.Permission{ashby.JobsRead}},
		"noperm": {OrgID: "o", KeyID: "k2", Permissions: []ashby.Permission{ashby.CandidatesRead}},
	}
	return NewServer(api, auth, Options{})
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func do(t *testing.T, s http.Handler, key, path, body string) reply {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.SetBasicAuth(key, "")
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("%s: response is not JSON: %q", path, w.Body.String())
	}
	return reply{w.Code, w.Header(), m}
}

func errCode(r reply) string {
	info, _ := r.body["errorInfo"].(map[string]any)
	code, _ := info["code"].(string)
	return code
}

func TestAuthAndEnvelope(t *testing.T) {
	s := testServer()
	id := ashby.NewID()
	cases := []struct {
		name, key, path, body string
		status                int
		code                  string
	}{
		{"no key", "", "/thing.info", `{}`, 401, ashby.CodeMissingAPIKey},
		{"unknown key", "nope", "/thing.info", `{}`, 403, ashby.CodeInvalidAPIKey},
		{"missing permission", "noperm", "/thing.info", `{}`, 403, ashby.CodeMissingEndpointPermission},
		{"unknown endpoint", "good", "/thing.explode", `{}`, 404, ashby.CodeEndpointNotFound},
		{"empty body", "good", "/thing.info", ``, 200, ashby.CodeInvalidInput},
		{"malformed", "good", "/thing.info", `{"thingId":`, 200, ashby.CodeInvalidInput},
		{"not an object", "good", "/thing.info", `[1]`, 200, ashby.CodeInvalidInput},
		{"bad uuid", "good", "/thing.info", `{"thingId":"abc"}`, 200, ashby.CodeInvalidInput},
		{"wrong type", "good", "/thing.info", `{"thingId":"` + id + `","count":"x"}`, 200, ashby.CodeInvalidInput},
		{"bad enum", "good", "/thing.info", `{"thingId":"` + id + `","status":"Nope"}`, 200, ashby.CodeInvalidInput},
		{"bad expand", "good", "/thing.info", `{"thingId":"` + id + `","expand":["nope"]}`, 200, ashby.CodeInvalidInput},
		{"missing nested", "good", "/thing.info", `{"thingId":"` + id + `","nested":{}}`, 200, ashby.CodeInvalidInput},
		{"bad time", "good", "/thing.info", `{"thingId":"` + id + `","at":"yesterday"}`, 200, ashby.CodeInvalidInput},
		{"trailing data", "good", "/thing.info", `{"thingId":"` + id + `"} {}`, 200, ashby.CodeInvalidInput},
		{"not found", "good", "/thing.info", `{"thingId":"00000000-0000-4000-8000-000000000000"}`, 200, "thing_not_found"},
		{"ok", "good", "/thing.info", `{"thingId":"` + id + `","status":"Open","expand":"owner","at":"2024-01-02T03:04:05Z","nested":null}`, 200, ""},
		{"ok with array status", "good", "/thing.info", `{"thingId":"` + id + `","status":["Open","Closed"]}`, 200, ""},
	}
	for _, c := range cases {
		r := do(t, s, c.key, c.path, c.body)
		if r.status != c.status || errCode(r) != c.code {
			t.Errorf("%s: got %d %q, want %d %q (%v)", c.name, r.status, errCode(r), c.status, c.code, r.body)
			continue
		}
		rid := r.header.Get("x-ashby-request-id")
		if len(rid) != 26 {
			t.Errorf("%s: request id %q", c.name, rid)
		}
		if c.code != "" {
			info := r.body["errorInfo"].(map[string]any)
			if info["requestId"] != rid {
				t.Errorf("%s: errorInfo.requestId %v != header %s", c.name, info["requestId"], rid)
			}
			if errs, _ := r.body["errors"].([]any); len(errs) != 1 || errs[0] != c.code {
				t.Errorf("%s: legacy errors %v", c.name, r.body["errors"])
			}
			if r.body["success"] != false {
				t.Errorf("%s: success should be false", c.name)
			}
		} else if r.body["success"] != true || r.body["results"].(map[string]any)["id"] != id {
			t.Errorf("%s: body %v", c.name, r.body)
		}
	}
	// The failing field is named.
	r := do(t, s, "good", "/thing.info", `{"thingId":"`+id+`","count":"x"}`)
	if msg := r.body["errorInfo"].(map[string]any)["message"].(string); !strings.Contains(msg, "count") {
		t.Errorf("message does not name the field: %s", msg)
	}
	r = do(t, s, "good", "/thing.info", `{"thingId":"`+id+`","nested":{}}`)
	if msg := r.body["errorInfo"].(map[string]any)["message"].(string); !strings.Contains(msg, "nested.name") {
		t.Errorf("message does not name the nested field: %s", msg)
	}
	r = do(t, s, "good", "/thing.info", `{"thingId":"`+id+`","count":42}`)
	if w, _ := r.body["warnings"].([]any); len(w) != 1 || w[0] != "something_minor" {
		t.Errorf("warnings: %v", r.body)
	}
}

func TestAbsoluteFormAndVersionHeader(t *testing.T) {
	s := testServer()
	id := ashby.NewID()
	req := httptest.NewRequest(http.MethodPost, "https://api.ashbyhq.com/thing.info", strings.NewReader(`{"thingId":"`+id+`"}`))
	req.Host = "api.ashbyhq.com"
	req.SetBasicAuth("good", "ignored-password")
	req.Header.Set("Accept", "application/json; version=1")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"success":true`) {
		t.Fatalf("absolute form: %d %s", w.Code, w.Body)
	}
	req = httptest.NewRequest(http.MethodGet, "/thing.info", nil)
	w = httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != 405 || w.Header().Get("x-ashby-request-id") == "" {
		t.Fatalf("GET: %d", w.Code)
	}
}

func TestRateLimitAnswers429WithRetryAfter(t *testing.T) {
	s := testServer()
	s.limiter = ratelimit.New(nil, "api", ratelimit.Rate{PerSecond: 1, Burst: 2})
	id := ashby.NewID()
	var last reply
	for i := 0; i < 3; i++ {
		last = do(t, s, "good", "/thing.info", `{"thingId":"`+id+`"}`)
	}
	if last.status != 429 || errCode(last) != ashby.CodeRateLimitExceeded || last.header.Get("Retry-After") == "" {
		t.Fatalf("third call within a second: %d %v %v", last.status, last.body, last.header)
	}
}

func TestOpenAPIDescribesEveryEndpoint(t *testing.T) {
	s := testServer()
	var doc map[string]any
	if err := json.Unmarshal(s.API().OpenAPIJSON("http://x"), &doc); err != nil {
		t.Fatal(err)
	}
	op := doc["paths"].(map[string]any)["/thing.info"].(map[string]any)["post"].(map[string]any)
	if perm := op["x-permission"].([]any); perm[0] != "jobsRead" {
		t.Fatalf("x-permission: %v", perm)
	}
	req := op["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
	if req["properties"].(map[string]any)["thingId"].(map[string]any)["format"] != "uuid" {
		t.Fatalf("request schema: %v", req)
	}
	if r := req["required"].([]any); len(r) != 1 || r[0] != "thingId" {
		t.Fatalf("required: %v", r)
	}
}

func TestRequestIDsAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 10000; i++ {
		id := NewRequestID()
		if seen[id] || len(id) != 26 {
			t.Fatalf("duplicate or malformed id %q", id)
		}
		seen[id] = true
	}
}

func TestOversizedBodiesAreRefused(t *testing.T) {
	s := testServer()
	s.maxBody = 1 << 10
	body := `{"thingId":"` + ashby.NewID() + `","pad":"` + strings.Repeat("x", 2<<10) + `"}`
	r := do(t, s, "good", "/thing.info", body)
	if r.status != http.StatusRequestEntityTooLarge || errCode(r) != ashby.CodeRequestTooLarge {
		t.Fatalf("oversized body: %d %v", r.status, r.body)
	}
}
