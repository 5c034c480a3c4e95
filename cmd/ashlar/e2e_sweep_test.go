package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

// operation is an RPC endpoint as /openapi.json describes it.
type operation struct {
	Name       string
	Permission string
	Extension  bool
	Paged      bool
	Request    map[string]any
}

// operations reads the endpoint table from the running server's
// /openapi.json, which is generated from the same table that routes and
// authorises requests: a new endpoint joins these sweeps by existing.
func operations(t *testing.T, baseURL string) []operation {
	t.Helper()
	resp, err := http.Get(baseURL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Paths map[string]map[string]struct {
			Permission  []string `json:"x-permission"`
			Extension   bool     `json:"x-ashlar-extension"`
			RequestBody struct {
				Content map[string]struct {
					Schema map[string]any `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
			Responses map[string]struct {
				Content map[string]struct {
					Schema map[string]any `json:"schema"`
				} `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	var ops []operation
	for path, methods := range doc.Paths {
		op, ok := methods["post"]
		if !ok || !strings.Contains(path, ".") {
			continue
		}
		o := operation{Name: strings.TrimPrefix(path, "/"), Extension: op.Extension, Request: op.RequestBody.Content["application/json"].Schema}
		if len(op.Permission) > 0 {
			o.Permission = op.Permission[0]
		}
		if s, ok := op.Responses["200"].Content["application/json"].Schema["oneOf"].([]any); ok && len(s) > 0 {
			if props, ok := s[0].(map[string]any)["properties"].(map[string]any); ok {
				_, o.Paged = props["moreDataAvailable"]
			}
		}
		ops = append(ops, o)
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].Name < ops[j].Name })
	if len(ops) < 50 {
		t.Fatalf("only %d endpoints in /openapi.json", len(ops))
	}
	return ops
}

func rawCall(t *testing.T, baseURL, key, endpoint string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, baseURL+"/"+endpoint, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(key+":")))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", endpoint, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("x-ashby-request-id") == "" {
		t.Errorf("%s: response without x-ashby-request-id", endpoint)
	}
	return resp.StatusCode, b
}

func errorCode(body []byte) string {
	var e struct {
		ErrorInfo struct{ Code string } `json:"errorInfo"`
	}
	json.Unmarshal(body, &e)
	return e.ErrorInfo.Code
}

// TestE2EPermissionSweep calls every registered endpoint with no key, an
// unknown key, and a key holding every permission except the endpoint's.
func TestE2EPermissionSweep(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{})
		slug, _ := srv.NewOrg()
		allBut := map[string]string{}
		for _, p := range ashby.AllPermissions {
			var rest []string
			for _, q := range ashby.AllPermissions {
				if q != p {
					rest = append(rest, string(q))
				}
			}
			allBut[string(p)] = srv.Key(slug, strings.Join(rest, ","))
		}
		ops := operations(t, srv.URL)
		for _, op := range ops {
			if status, body := rawCall(t, srv.URL, "", op.Name, []byte(`{}`)); status != 401 || errorCode(body) != ashby.CodeMissingAPIKey {
				t.Errorf("%s without a key: %d %s", op.Name, status, body)
			}
			if status, body := rawCall(t, srv.URL, "ashlar_not-a-real-key", op.Name, []byte(`{}`)); status != 403 || errorCode(body) != ashby.CodeInvalidAPIKey {
				t.Errorf("%s with an unknown key: %d %s", op.Name, status, body)
			}
			if op.Permission == "" {
				t.Errorf("%s declares no permission", op.Name)
				continue
			}
			if status, body := rawCall(t, srv.URL, allBut[op.Permission], op.Name, []byte(`{}`)); status != 403 || errorCode(body) != ashby.CodeMissingEndpointPermission {
				t.Errorf("%s with every permission but %s: %d %s", op.Name, op.Permission, status, body)
			}
		}
		t.Logf("%d endpoints swept", len(ops))
	})
}

// tenant is an organization's data as seen through its own key: ids by
// object category, and strings that must never reach another org.
type tenant struct {
	ids     map[string][]string // "candidate" → ids
	secrets []string            // emails and names
	all     map[string]bool     // every id
}

var idField = regexp.MustCompile(`"id":"([0-9a-f-]{36})"`)

// collect lists every list endpoint through the organization's own key and
// records what it returns.
func collect(t *testing.T, srv *testserver.Server, key string, ops []operation, tn *tenant) map[string]string {
	snapshot := map[string]string{}
	for _, op := range ops {
		if !op.Paged || op.Extension {
			continue
		}
		cat, _, _ := strings.Cut(op.Name, ".")
		body := fill(op.Request, cat, tn, true)
		var all []string
		for cursor := ""; ; {
			if cursor != "" {
				body["cursor"] = cursor
			}
			b, _ := json.Marshal(body)
			status, resp := rawCall(t, srv.URL, key, op.Name, b)
			var env struct {
				Success           bool              `json:"success"`
				Results           []json.RawMessage `json:"results"`
				MoreDataAvailable bool              `json:"moreDataAvailable"`
				NextCursor        string            `json:"nextCursor"`
			}
			if status != 200 || json.Unmarshal(resp, &env) != nil || !env.Success {
				break // lists needing parameters the sweep cannot supply
			}
			for _, r := range env.Results {
				all = append(all, string(r))
				for _, m := range idField.FindAllStringSubmatch(string(r), 1) {
					tn.ids[cat] = append(tn.ids[cat], m[1])
					tn.all[m[1]] = true
				}
			}
			if !env.MoreDataAvailable || env.NextCursor == "" {
				break
			}
			cursor = env.NextCursor
		}
		sort.Strings(all)
		snapshot[op.Name] = strings.Join(all, "\n")
	}
	return snapshot
}

// fill builds a request body from a request schema: every id field gets
// one of the tenant's ids (matched by the field's name), other required
// fields get plausible values.
func fill(schema map[string]any, category string, tn *tenant, onlyIDs bool) map[string]any {
	out := map[string]any{}
	props, _ := schema["properties"].(map[string]any)
	required := map[string]bool{}
	if r, ok := schema["required"].([]any); ok {
		for _, x := range r {
			required[x.(string)] = true
		}
	}
	for name, p := range props {
		ps, _ := p.(map[string]any)
		if id := idFor(name, category, tn); id != "" && (ps["format"] == "uuid" || strings.HasSuffix(name, "Id") || name == "id") {
			out[name] = id
			continue
		}
		if strings.HasSuffix(name, "Ids") {
			if id := idFor(strings.TrimSuffix(name, "s"), category, tn); id != "" {
				out[name] = []string{id}
			}
			continue
		}
		if onlyIDs && !required[name] {
			continue
		}
		if !required[name] {
			continue
		}
		switch ps["type"] {
		case "string":
			if enum, ok := ps["enum"].([]any); ok && len(enum) > 0 {
				out[name] = enum[0]
			} else {
				out[name] = "sweep"
			}
		case "boolean":
			out[name] = false
		case "integer", "number":
			out[name] = 1
		case "array":
			out[name] = []any{}
		case "object":
			out[name] = fill(ps, category, tn, false)
		}
	}
	return out
}

var idNames = []struct{ prefix, category string }{
	{"application", "application"}, {"candidate", "candidate"}, {"job", "job"}, {"department", "department"}, {"team", "department"},
	{"parentLocation", "location"}, {"location", "location"}, {"parent", "department"}, {"user", "user"}, {"creditedToUser", "user"},
	{"manager", "user"}, {"interviewerUser", "user"}, {"teamMember", "user"}, {"interviewPlan", "interviewPlan"},
	{"defaultInterviewPlan", "interviewPlan"}, {"interviewStage", "interviewStage"}, {"stage", "interviewStage"},
	{"source", "source"}, {"archiveReason", "archiveReason"}, {"tag", "candidateTag"}, {"customField", "customField"},
	{"field", "customField"}, {"offer", "offer"}, {"opening", "opening"}, {"interview", "interview"}, {"project", "project"},
	{"feedbackFormDefinition", "feedbackFormDefinition"}, {"interviewerPool", "interviewerPool"}, {"webhook", "webhook"},
	{"jobPosting", "jobPosting"}, {"jobBoard", "jobBoard"}, {"surveyFormDefinition", "surveyFormDefinition"},
}

func idFor(name, category string, tn *tenant) string {
	if name == "id" {
		name = category
	}
	base := strings.TrimSuffix(name, "Id")
	for _, n := range idNames {
		if strings.EqualFold(base, n.prefix) || strings.HasPrefix(base, n.prefix) {
			if ids := tn.ids[n.category]; len(ids) > 0 {
				return ids[0]
			}
		}
	}
	if ids := tn.ids[base]; len(ids) > 0 {
		return ids[0]
	}
	if ids := tn.ids["candidate"]; len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// TestE2ETenancySweep calls every endpoint with another organization's key
// and the demo organization's ids in every id field: nothing of the demo
// organization may come back, and nothing of it may change.
func TestE2ETenancySweep(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{Args: []string{"--demo", "--demo-candidates", "60"}})
		demoKey := srv.WaitStdout(regexp.MustCompile(`ashlar_[A-Za-z0-9_-]+`), 10*time.Second)
		_, otherKey := srv.NewOrg()
		ops := operations(t, srv.URL)
		a := &tenant{ids: map[string][]string{}, all: map[string]bool{}}
		before := collect(t, srv, demoKey, ops, a)
		cands, _, err := client.All[ashby.Candidate](context.Background(), srv.Client(demoKey), "candidate.list", nil)
		if err != nil || len(cands) < 50 {
			t.Fatalf("demo candidates: %d %v", len(cands), err)
		}
		for _, c := range cands {
			if c.PrimaryEmailAddress != nil {
				a.secrets = append(a.secrets, c.PrimaryEmailAddress.Value)
			}
		}
		if len(a.all) < 200 {
			t.Fatalf("collected only %d ids of the demo organization", len(a.all))
		}
		leaks := 0
		for _, op := range ops {
			cat, _, _ := strings.Cut(op.Name, ".")
			body, _ := json.Marshal(fill(op.Request, cat, a, false))
			status, resp := rawCall(t, srv.URL, otherKey, op.Name, body)
			if status >= 500 {
				t.Errorf("%s %s: HTTP %d %s", op.Name, body, status, resp)
			}
			s := string(resp)
			for _, secret := range a.secrets {
				if strings.Contains(s, secret) {
					t.Errorf("%s leaked %q to another organization: %s", op.Name, secret, truncated(s))
					leaks++
				}
			}
			var env struct {
				Success bool            `json:"success"`
				Results json.RawMessage `json:"results"`
			}
			if json.Unmarshal(resp, &env) == nil && env.Success {
				for _, m := range idField.FindAllStringSubmatch(string(env.Results), -1) {
					if a.all[m[1]] {
						t.Errorf("%s returned the demo organization's record %s: %s", op.Name, m[1], truncated(s))
						leaks++
					}
				}
			}
		}
		after := collect(t, srv, demoKey, ops, &tenant{ids: map[string][]string{}, all: map[string]bool{}})
		for name, b := range before {
			if after[name] != b {
				t.Errorf("%s: the demo organization's data changed during the sweep", name)
			}
		}
		t.Logf("%d endpoints called with another organization's key and %d of the demo organization's ids; %d leaks", len(ops), len(a.all), leaks)
	})
}

func truncated(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
