package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
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
	t.Helper()
	snapshot := map[string]string{}
	// Two passes: a list that needs another kind's id (interviewEvent.list
	// needs a schedule's) gets it once that kind's list has run.
	var failed []string
	var retry []operation
	for pass := 0; pass < 2; pass++ {
		todo := ops
		if pass == 1 {
			todo, retry, failed = retry, nil, nil
		}
		for _, op := range todo {
			if !op.Paged || op.Extension {
				continue
			}
			collectList(t, srv, key, op, tn, snapshot, &retry, &failed)
		}
	}
	// A list that fails is not silently left out of the comparison.
	for _, f := range failed {
		t.Errorf("list failed in the organization's own key's sweep: %s", f)
	}
	return snapshot
}

// collectList pages through one list, recording its ids and its results.
func collectList(t *testing.T, srv *testserver.Server, key string, op operation, tn *tenant, snapshot map[string]string, retry *[]operation, failed *[]string) {
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
			*retry = append(*retry, op)
			*failed = append(*failed, fmt.Sprintf("%s %s: HTTP %d %s", op.Name, b, status, truncated(string(resp))))
			return
		}
		for _, r := range env.Results {
			all = append(all, string(r))
			// The record's own id (a nested record's may come first in the text).
			var rec struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(r, &rec) == nil && rec.ID != "" {
				tn.ids[cat] = append(tn.ids[cat], rec.ID)
			}
			for _, m := range idField.FindAllStringSubmatch(string(r), -1) {
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

// fill builds a request body from a request schema: every id field gets
// one of the tenant's ids (matched by the field's name), other required
// fields get plausible values. With requiredOnly (listing a tenant's own
// records), optional filters are left out, so that lists are whole.
func fill(schema map[string]any, category string, tn *tenant, requiredOnly bool) map[string]any {
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
		if requiredOnly && !required[name] {
			continue
		}
		if id := idFor(name, category, tn); id != "" && (ps["format"] == "uuid" || strings.HasSuffix(name, "Id") || name == "id") {
			out[name] = id
			continue
		}
		if strings.HasSuffix(name, "Ids") && ps["type"] == "array" {
			if id := idFor(strings.TrimSuffix(name, "s"), category, tn); id != "" {
				out[name] = []string{id}
			}
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
	{"interviewSchedule", "interviewSchedule"}, {"interviewEvent", "interviewEvent"},
}

func idFor(name, category string, tn *tenant) string {
	if name == "id" {
		name = category
	}
	base := strings.TrimSuffix(name, "Id")
	// The exact name, else the longest matching prefix: jobBoardId is a
	// board's id, not a job's.
	best := -1
	for i, n := range idNames {
		if strings.EqualFold(base, n.prefix) {
			best = i
			break
		}
		if strings.HasPrefix(base, n.prefix) && (best < 0 || len(n.prefix) > len(idNames[best].prefix)) {
			best = i
		}
	}
	if best >= 0 {
		if ids := tn.ids[idNames[best].category]; len(ids) > 0 {
			return ids[0]
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
		// Per endpoint family, how the calls that named the demo
		// organization's records were answered.
		refused := map[string]int{} // a *_not_found error, or a list filtered to nothing
		withIDs := map[string]int{} // calls whose body held a demo id
		answers := map[string][]string{}
		for _, op := range ops {
			cat, _, _ := strings.Cut(op.Name, ".")
			req := fill(op.Request, cat, a, false)
			if cat == "hiringTeam" { // exactly one of application, job and opening
				delete(req, "jobId")
				delete(req, "openingId")
			}
			body, _ := json.Marshal(req)
			status, resp := rawCall(t, srv.URL, otherKey, op.Name, body)
			if status >= 500 {
				t.Errorf("%s %s: HTTP %d %s", op.Name, body, status, resp)
			}
			if demoIDIn(body, a) {
				withIDs[cat]++
				code := errorCode(resp)
				var list struct {
					Success bool              `json:"success"`
					Results []json.RawMessage `json:"results"`
				}
				filtered := op.Paged && json.Unmarshal(resp, &list) == nil && list.Success && len(list.Results) == 0
				if strings.HasSuffix(code, "_not_found") || filtered {
					refused[cat]++
				}
				answers[cat] = append(answers[cat], fmt.Sprintf("%s→%d %s", op.Name, status, code))
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
		// Every family whose endpoints were handed the demo organization's
		// ids must have refused at least one as not found: a sweep whose
		// calls all fail validation first proves nothing about tenancy.
		families := 0
		for cat, n := range withIDs {
			families++
			if cat == "notetakerTranscript" {
				continue // Ashlar has no notetaker: every call answers notetaker_transcript_not_enabled (docs/interviews.md)
			}
			if refused[cat] == 0 {
				t.Errorf("%s: none of %d calls naming the demo organization's records was refused as not found: %v", cat, n, answers[cat])
			}
		}
		totalRefused := 0
		for _, n := range refused {
			totalRefused += n
		}
		if families < 30 || totalRefused < 100 {
			t.Errorf("only %d families and %d not-found refusals: the sweep did not reach the records", families, totalRefused)
		}
		after := collect(t, srv, demoKey, ops, &tenant{ids: map[string][]string{}, all: map[string]bool{}})
		for name, b := range before {
			if after[name] != b {
				t.Errorf("%s: the demo organization's data changed during the sweep", name)
			}
		}
		t.Logf("%d endpoints called with another organization's key and %d of the demo organization's ids; %d families, %d refused as not found; %d leaks",
			len(ops), len(a.all), families, totalRefused, leaks)
	})
}

// demoIDIn reports whether a request body names one of the demo
// organization's records.
func demoIDIn(body []byte, a *tenant) bool {
	for _, m := range uuidPattern.FindAllString(string(body), -1) {
		if a.all[m] {
			return true
		}
	}
	return false
}

var uuidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

func truncated(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
