package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/compat"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

// liveTable is the endpoint table this build serves.
var liveTable = sync.OnceValue(func() *rpc.API {
	return api.New(nil, "", slog.New(slog.NewTextHandler(io.Discard, nil))).API()
})

// TestEveryReferenceEndpointIsImplementedOrExplained fails when an
// endpoint of Ashby's API is neither served nor explained in
// docs/compatibility.md, and when that page explains an endpoint that is
// in fact served (so the page cannot go stale).
func TestEveryReferenceEndpointIsImplementedOrExplained(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/compatibility.md")
	if err != nil {
		t.Fatal(err)
	}
	gaps := compat.ParseGaps(doc)
	var unexplained []string
	for _, r := range compat.Table(liveTable()) {
		if r.Extension {
			continue
		}
		_, explained := gaps[r.Name]
		switch {
		case r.Status != compat.Implemented && !explained:
			unexplained = append(unexplained, r.Name)
		case r.Status == compat.Implemented && explained:
			t.Errorf("docs/compatibility.md says %s is not implemented, but it is: remove it from the table", r.Name)
		case r.PermissionMismatch != "":
			t.Errorf("%s requires %s in Ashlar but %s in Ashby", r.Name, r.PermissionMismatch, r.Permission)
		}
	}
	if len(unexplained) > 0 {
		t.Errorf("%d reference endpoints are neither implemented nor listed in docs/compatibility.md with a reason:\n  %s",
			len(unexplained), strings.Join(unexplained, "\n  "))
	}
}

// TestE2EResponsesMatchAshbySchemas drives every implemented endpoint of
// Ashby's API against the real binary and validates each success
// response against Ashby's response schema for it.
//
// Requests are built from Ashby's own request schema: ids are filled from
// the records earlier responses returned (by field name), other fields
// from enums, examples and types; `requests` overrides this where an
// endpoint needs a particular body to succeed. Endpoints are called in
// rounds (reads, then writes, then destructive ones), each round
// retrying the endpoints that failed, as later calls create the records
// earlier ones needed.
func TestE2EResponsesMatchAshbySchemas(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../compat/testdata/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		v, err := compat.NewValidator(raw)
		if err != nil {
			t.Fatal(err)
		}
		var spec map[string]any
		if err := json.Unmarshal(raw, &spec); err != nil {
			t.Fatal(err)
		}
		// Partners in this test are httptest servers on 127.0.0.1.
		srv := testserver.Start(t, engine, testserver.Options{Env: []string{"ASHLAR_PARTNER_ALLOW_PRIVATE=true"}})
		_, key := srv.NewOrg()
		h := &schemaHarness{t: t, url: srv.URL, key: key, v: v, spec: spec, pool: map[string][]string{}, outcome: map[string]string{}, fx: map[string]string{}}
		h.seed()
		h.run(liveTable())
		h.report()
	})
}

type schemaHarness struct {
	t    *testing.T
	url  string
	key  string
	v    *compat.Validator
	spec map[string]any
	// pool holds ids seen in responses, by record kind ("candidate",
	// "interviewStage" …), newest last.
	pool map[string][]string
	// outcome: endpoint → "" (validated) or why it was not.
	outcome   map[string]string
	validated []string
	// fx names records seed made, for requests that need a particular one.
	fx       map[string]string
	failures []string
}

// post calls an endpoint and returns the raw envelope.
func (h *schemaHarness) post(endpoint string, req any) (body []byte, env map[string]any, err error) {
	b, _ := json.Marshal(req)
	r, _ := http.NewRequest(http.MethodPost, h.url+"/"+endpoint, bytes.NewReader(b))
	r.SetBasicAuth(h.key, "")
	r.Header.Set("Content-Type", "application/json")
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	res, err := http.DefaultClient.Do(r.WithContext(ctx))
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	body, err = io.ReadAll(res.Body)
	if err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return body, nil, fmt.Errorf("HTTP %d, not JSON: %.200s", res.StatusCode, body)
	}
	if ok, _ := env["success"].(bool); !ok {
		info, _ := env["errorInfo"].(map[string]any)
		return body, env, fmt.Errorf("HTTP %d %v: %v", res.StatusCode, info["code"], info["message"])
	}
	return body, env, nil
}

// call posts and collects ids; it fails the test on an error, for setup.
func (h *schemaHarness) call(endpoint string, req any) map[string]any {
	h.t.Helper()
	_, env, err := h.post(endpoint, req)
	if err != nil {
		h.t.Fatalf("setup %s: %v", endpoint, err)
	}
	h.collect(endpoint, env["results"])
	res, _ := env["results"].(map[string]any)
	return res
}

// resultKinds names the record kind of endpoints whose results are not
// records of their category.
var resultKinds = map[string]string{
	"applicationFeedback.list": "feedback", "applicationFeedback.submit": "feedback", "applicationForm.submit": "",
	"candidate.createNote": "note", "candidate.listNotes": "note", "candidate.listProjects": "project",
	"candidate.listClientInfo": "clientInfo", "candidate.listFraudChecks": "fraudCheck", "candidate.addEmailMessage": "emailMessage",
	"application.listHistory": "applicationHistory", "application.listCriteriaEvaluations": "criteriaEvaluation",
	"jobInterviewPlan.info": "", "offer.start": "offerForm", "customField.setValue": "", "customField.setValues": "",
	"user.setCustomFieldValue": "", "user.setCustomFieldValues": "", "report.generate": "", "report.synchronous": "",
	"user.listInterviewerPauses": "interviewerPause", "user.createInterviewerPause": "interviewerPause",
	"user.interviewerSettings": "", "user.updateInterviewerSettings": "", "interviewBriefing.info": "interviewBriefing",
	"applicationFeedbackRequest.create": "", "webhook.delete": "",
}

// collect records the ids of results (objects, arrays of objects, and
// the nested objects whose kind is known by their key).
func (h *schemaHarness) collect(endpoint string, results any) {
	kind, ok := resultKinds[endpoint]
	if !ok {
		kind, _, _ = strings.Cut(endpoint, ".")
	}
	h.collectAs(kind, results, 0)
}

func (h *schemaHarness) collectAs(kind string, v any, depth int) {
	if depth > 4 {
		return
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			h.collectAs(kind, e, depth)
		}
	case map[string]any:
		if id, ok := x["id"].(string); ok && kind != "" && ashby.IsUUID(id) {
			h.add(kind, id)
		}
		for k, c := range x {
			switch c.(type) {
			case map[string]any, []any:
				h.collectAs(nestedKind(k), c, depth+1)
			}
		}
	}
}

// nestedKind names the kind of an embedded object by its key
// ("currentInterviewStage" → interviewStage); "" for keys that hold
// no records of their own.
func nestedKind(key string) string {
	switch key {
	case "currentInterviewStage":
		return "interviewStage"
	case "candidate", "job", "source", "archiveReason", "interview", "application", "opening", "offer", "jobPosting", "interviewSchedule", "user":
		return key
	case "creditedToUser", "author", "scheduledBy", "submittedByUser":
		return "user"
	case "interviewEvents":
		return "interviewEvent"
	case "tags":
		return "candidateTag"
	case "submittedFormInstance":
		return "submittedFormInstance"
	case "latestVersion", "versions":
		return "version"
	}
	return ""
}

func (h *schemaHarness) add(kind, id string) {
	ids := h.pool[kind]
	if !slices.Contains(ids, id) {
		h.pool[kind] = append(ids, id)
	}
}

func (h *schemaHarness) last(kind string) string {
	if ids := h.pool[kind]; len(ids) > 0 {
		return ids[len(ids)-1]
	}
	return ""
}

// seed creates a small organization through the core endpoints.
func (h *schemaHarness) seed() {
	dept := h.call("department.create", map[string]any{"name": "Engineering"})
	loc := h.call("location.create", map[string]any{"name": "Berlin", "type": "Location"})
	h.call("interviewPlan.list", map[string]any{})
	plan := h.last("interviewPlan")
	h.call("interviewStage.list", map[string]any{"interviewPlanId": plan})
	job := h.call("job.create", map[string]any{"title": "Schema Engineer", "teamId": dept["id"], "locationId": loc["id"], "defaultInterviewPlanId": plan})
	h.call("job.setStatus", map[string]any{"jobId": job["id"], "status": "Open"})
	h.call("source.list", map[string]any{})
	h.call("archiveReason.list", map[string]any{})
	h.call("user.list", map[string]any{})
	h.call("candidateTag.create", map[string]any{"title": "Schema"})
	for name, f := range map[string]map[string]any{
		"candidateField":   {"title": "Schema text", "fieldType": "String", "objectType": "Candidate"},
		"applicationField": {"title": "Schema select", "fieldType": "ValueSelect", "objectType": "Application", "selectableValues": []map[string]string{{"label": "A", "value": "a"}}},
		"employeeField":    {"title": "Schema employee", "fieldType": "Number", "objectType": "Employee"},
	} {
		h.fx[name] = h.call("customField.create", f)["id"].(string)
	}
	for i, name := range []string{"Schema Candidate", "Second Candidate"} {
		c := h.call("candidate.create", map[string]any{"name": name, "email": fmt.Sprintf("schema%d@example.com", i), "phoneNumber": "+1 555 0100",
			"linkedInUrl": "https://linkedin.com/in/schema", "location": map[string]any{"city": "Berlin", "country": "Germany"}})
		h.call("candidate.createNote", map[string]any{"candidateId": c["id"], "note": "A note"})
		a := h.call("application.create", map[string]any{"candidateId": c["id"], "jobId": job["id"], "sourceId": h.pool["source"][0]})
		if i == 0 {
			h.fx["candidate"], h.fx["application"] = c["id"].(string), a["id"].(string)
		}
	}
	h.fx["job"], h.fx["user"] = job["id"].(string), h.pool["user"][0]
	// Ashlar extensions stand in for what Ashby's web app creates.
	if _, ok := liveTable().Endpoint("project.create"); ok {
		h.fx["project"] = h.call("project.create", map[string]any{"title": "Schema Project"})["id"].(string)
	}
}

// surveyForm returns the id of the organization's form of a survey type.
func (h *schemaHarness) surveyForm(typ string) string {
	_, env, err := h.post("surveyFormDefinition.list", map[string]any{})
	if err != nil {
		h.t.Fatalf("surveyFormDefinition.list: %v", err)
	}
	for _, f := range asList(env["results"]) {
		m, _ := f.(map[string]any)
		if m["surveyType"] == typ {
			return m["id"].(string)
		}
	}
	h.t.Fatalf("no %s survey form", typ)
	return ""
}

// destructive endpoints run last, after every other endpoint had its turn
// with the records they destroy.
var destructive = regexp.MustCompile(`\.(anonymize|delete|archive|cancel|remove\w*|setArchived|deleteInterviewerPause)$|^canidate\.anonymize$`)

func (h *schemaHarness) run(table *rpc.API) {
	var reads, writes, last []string
	for _, r := range compat.Table(table) {
		if r.Extension || r.Status != compat.Implemented {
			if !r.Extension {
				h.outcome[r.Name] = "not implemented"
			}
			continue
		}
		switch {
		case destructive.MatchString(r.Name):
			last = append(last, r.Name)
		case readOnly(r.Name):
			reads = append(reads, r.Name)
		default:
			writes = append(writes, r.Name)
		}
	}
	for _, group := range [][]string{reads, writes, reads, writes, last} {
		for round := 0; round < 2; round++ {
			for _, name := range group {
				// Validated and mismatched responses are final; only
				// failed calls are retried once later calls made records.
				if reason, done := h.outcome[name]; done && (reason == "" || reason == "schema mismatch") {
					continue
				}
				h.drive(name)
			}
		}
	}
}

func readOnly(name string) bool {
	_, m, _ := strings.Cut(name, ".")
	return m == "info" || m == "search" || strings.HasPrefix(m, "list") || m == "interviewerSettings"
}

func (h *schemaHarness) drive(name string) {
	if reason, ok := cannotDrive[name]; ok {
		h.outcome[name] = "cannot drive: " + reason
		return
	}
	req, err := h.request(name)
	if err != nil {
		h.outcome[name] = "no request: " + err.Error()
		return
	}
	body, env, err := h.post(name, req)
	if err != nil {
		h.outcome[name] = err.Error()
		return
	}
	h.collect(name, env["results"])
	if !h.v.HasResponseSchema(name) {
		h.outcome[name] = ""
		h.validated = append(h.validated, name+" (Ashby gives no response schema; envelope only)")
		return
	}
	if err := h.v.Validate(name, body); err != nil {
		h.failures = append(h.failures, err.Error())
		h.outcome[name] = "schema mismatch"
		return
	}
	h.outcome[name] = ""
	h.validated = append(h.validated, name)
}

// requests overrides the synthesized request of endpoints that need a
// particular body to succeed (Ashby's description leaves "one of these
// is required" rules to prose, and some calls need records in a state).
var requests = map[string]func(h *schemaHarness) any{
	"candidate.search": func(h *schemaHarness) any { return map[string]any{"name": "Schema"} },
	"job.search":       func(h *schemaHarness) any { return map[string]any{"title": "Schema"} },
	"customField.info": func(h *schemaHarness) any { return map[string]any{"customFieldId": h.last("customField")} },
	"candidate.info":   func(h *schemaHarness) any { return map[string]any{"id": h.pool["candidate"][0]} },
	"application.info": func(h *schemaHarness) any { return map[string]any{"applicationId": h.pool["application"][0]} },
	"application.create": func(h *schemaHarness) any {
		c := h.call("candidate.create", map[string]any{"name": "Applicant"})
		return map[string]any{"candidateId": c["id"], "jobId": h.pool["job"][0]}
	},
	"customField.setValue": func(h *schemaHarness) any {
		return map[string]any{"objectType": "Candidate", "objectId": h.fx["candidate"], "fieldId": h.fx["candidateField"], "fieldValue": "Text"}
	},
	"customField.setValues": func(h *schemaHarness) any {
		return map[string]any{"objectType": "Application", "objectId": h.fx["application"], "values": []any{map[string]any{"fieldId": h.fx["applicationField"], "fieldValue": "a"}}}
	},
	"customField.updateSelectableValues": func(h *schemaHarness) any {
		return map[string]any{"customFieldId": h.fx["applicationField"], "selectableValues": []any{map[string]any{"label": "A+", "value": "a"}, map[string]any{"label": "B", "value": "b"}}}
	},
	"user.setCustomFieldValue": func(h *schemaHarness) any {
		return map[string]any{"userId": h.fx["user"], "fieldId": h.fx["employeeField"], "fieldValue": 7}
	},
	"user.setCustomFieldValues": func(h *schemaHarness) any {
		return map[string]any{"userId": h.fx["user"], "values": []any{map[string]any{"fieldId": h.fx["employeeField"], "fieldValue": 8}}}
	},
	"project.info":   func(h *schemaHarness) any { return map[string]any{"projectId": h.fx["project"]} },
	"project.search": func(h *schemaHarness) any { return map[string]any{"title": "schema"} },
	"candidate.addProject": func(h *schemaHarness) any {
		return map[string]any{"candidateId": h.fx["candidate"], "projectId": h.fx["project"]}
	},
	"candidate.removeProject": func(h *schemaHarness) any {
		return map[string]any{"candidateId": h.fx["candidate"], "projectId": h.fx["project"]}
	},
	"candidate.addEmailMessage": func(h *schemaHarness) any {
		return map[string]any{"candidateId": h.fx["candidate"], "emailProviderEmailId": ashby.NewID(), "subject": "Hello", "from": "recruiter@example.com",
			"to": "schema0@example.com", "body": "Hi there", "userId": h.fx["user"], "messageUrl": "https://mail.example.com/m/1"}
	},
	"surveyRequest.create": func(h *schemaHarness) any {
		return map[string]any{"candidateId": h.fx["candidate"], "applicationId": h.fx["application"], "surveyFormDefinitionId": h.surveyForm("CandidateExperience")}
	},
	"surveySubmission.create": func(h *schemaHarness) any {
		return map[string]any{"candidateId": h.fx["candidate"], "applicationId": h.fx["application"], "surveyFormDefinitionId": h.surveyForm("CandidateExperience"),
			"submittedValues": map[string]any{"overall_experience": map[string]any{"score": 4}, "comments": "Smooth"}}
	},
	"referral.create": func(h *schemaHarness) any {
		_, env, err := h.post("referralForm.info", map[string]any{})
		if err != nil {
			h.t.Fatalf("referralForm.info: %v", err)
		}
		form := env["results"].(map[string]any)
		return map[string]any{"id": form["id"], "creditedToUserId": h.fx["user"], "fieldSubmissions": []any{
			map[string]any{"path": "_systemfield_job", "value": map[string]any{"title": "Schema Engineer", "value": h.fx["job"]}},
			map[string]any{"path": "_systemfield_name", "value": "Referred Person"},
			map[string]any{"path": "_systemfield_email", "value": "referred." + ashby.NewID()[:8] + "@example.com"}}}
	},
	"assessment.addCompletedToCandidate": func(h *schemaHarness) any {
		return map[string]any{"candidateId": h.fx["candidate"], "partnerId": ashby.NewID(), "timestamp": time.Now().UnixMilli(), "assessment": map[string]any{
			"assessmentTypeId": ashby.NewID(), "assessmentId": ashby.NewID(), "assessmentName": "Coding exercise",
			"result":   map[string]any{"identifier": "score", "label": "Score", "type": "numeric_score", "value": 87},
			"metadata": []any{map[string]any{"identifier": "duration", "label": "Duration", "type": "numeric_duration_minutes", "value": 55}}}}
	},
	"assessment.update": func(h *schemaHarness) any {
		id := ashby.NewID()
		h.call("assessment.create", map[string]any{"candidateId": h.fx["candidate"], "assessmentTypeId": ashby.NewID(), "assessmentId": id})
		return map[string]any{"assessment_id": id, "timestamp": time.Now().UnixMilli(),
			"assessment_status": map[string]any{"identifier": "status", "label": "Status", "type": "string", "value": "Started"}}
	},
	"workflow.update": func(h *schemaHarness) any {
		// A workflow started with a real (httptest) partner, which
		// then reports on it.
		fp := newFakePartner(h.t, "schema-partner")
		p := h.call("partnerIntegration.create", map[string]any{"title": "Schema partner", "baseUrl": fp.URL, "partnerKey": "schema-partner", "assessments": false, "workflows": true})
		run := h.call("workflow.startRun", map[string]any{"partnerIntegrationId": p["id"], "externalWorkflowTemplateId": "bg-check", "candidateId": h.fx["candidate"],
			"values": []any{map[string]any{"fieldId": "package", "value": "basic"}}})
		return map[string]any{"timestamp": time.Now().UnixMilli(), "external_workflow_id": run["externalWorkflowId"], "external_workflow_status": "completed",
			"external_workflow_profile_url": "https://partner.example.com/report/1", "metadata": []any{map[string]any{"id": "result", "value": "clear", "label": "Result"}}}
	},
	"report.generate":     func(h *schemaHarness) any { return map[string]any{"reportId": reportID} },
	"report.synchronous":  func(h *schemaHarness) any { return map[string]any{"reportId": reportID} },
	"candidate.anonymize": func(h *schemaHarness) any { return h.freshCandidate() },
	"canidate.anonymize":  func(h *schemaHarness) any { return h.freshCandidate() },
	"application.changeStage": func(h *schemaHarness) any {
		return map[string]any{"applicationId": h.pool["application"][0], "interviewStageId": h.stageOfType("Active")}
	},
	"location.move": func(h *schemaHarness) any {
		region := h.call("location.create", map[string]any{"name": "Europe", "type": "LocationHierarchy"})
		return map[string]any{"locationId": h.pool["location"][0], "parentLocationHierarchyId": region["id"]}
	},
}

// reportID is Ashlar's built-in "Applications by Stage" report.
const reportID = "6f1d2a3e-0b1c-4c55-9a2e-7e1f0a9b1001"

// freshCandidate creates a candidate with no applications (one that may
// be anonymized) and returns {candidateId}.
func (h *schemaHarness) freshCandidate() any {
	c := h.call("candidate.create", map[string]any{"name": "Disposable Candidate"})
	return map[string]any{"candidateId": c["id"]}
}

// stageOfType returns a stage of the default plan with this type.
func (h *schemaHarness) stageOfType(typ string) string {
	_, env, err := h.post("interviewStage.list", map[string]any{"interviewPlanId": h.pool["interviewPlan"][0]})
	if err != nil {
		h.t.Fatalf("interviewStage.list: %v", err)
	}
	for _, st := range asList(env["results"]) {
		m, _ := st.(map[string]any)
		if m["type"] == typ {
			return m["id"].(string)
		}
	}
	h.t.Fatalf("the default plan has no %s stage", typ)
	return ""
}

func (h *schemaHarness) request(name string) (any, error) {
	if ep, ok := liveTable().Endpoint(name); ok && ep.AliasOf != "" {
		if f, ok := requests[ep.AliasOf]; ok {
			return f(h), nil
		}
		if s := h.requestSchema(name); s == nil {
			name = ep.AliasOf // the description has no path for the alias
		}
	}
	if f, ok := requests[name]; ok {
		return f(h), nil
	}
	schema := h.requestSchema(name)
	if schema == nil {
		return map[string]any{}, nil
	}
	cat, _, _ := strings.Cut(name, ".")
	v, err := h.synth(schema, cat, "", 0)
	if err != nil {
		return nil, err
	}
	return v, nil
}

func (h *schemaHarness) requestSchema(name string) map[string]any {
	paths, _ := h.spec["paths"].(map[string]any)
	op, _ := paths["/"+name].(map[string]any)
	post, _ := op["post"].(map[string]any)
	rb, _ := post["requestBody"].(map[string]any)
	content, _ := rb["content"].(map[string]any)
	js, _ := content["application/json"].(map[string]any)
	s, _ := js["schema"].(map[string]any)
	return s
}

// resolve follows $refs and merges allOf parts (and a $ref's sibling
// keywords) into one schema.
func (h *schemaHarness) resolve(s map[string]any, depth int) map[string]any {
	if depth > 20 || s == nil {
		return s
	}
	if ref, ok := s["$ref"].(string); ok {
		var node any = h.spec
		for _, p := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			p = strings.NewReplacer("~1", "/", "~0", "~").Replace(p)
			switch n := node.(type) {
			case map[string]any:
				node = n[p]
			case []any:
				var i int
				fmt.Sscan(p, &i)
				node = n[i]
			}
		}
		target, _ := node.(map[string]any)
		rest := map[string]any{}
		for k, v := range s {
			if k != "$ref" {
				rest[k] = v
			}
		}
		return merge(h.resolve(target, depth+1), h.resolve(rest, depth+1))
	}
	parts, ok := s["allOf"].([]any)
	if !ok {
		return s
	}
	out := map[string]any{}
	for k, v := range s {
		if k != "allOf" {
			out[k] = v
		}
	}
	for _, part := range parts {
		pm, _ := part.(map[string]any)
		out = merge(out, h.resolve(pm, depth+1))
	}
	return out
}

// merge combines two object schemas: properties and required are
// united, other keywords of b win.
func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	props := map[string]any{}
	var req []any
	for _, m := range []map[string]any{a, b} {
		for k, v := range m {
			switch k {
			case "properties":
				for pk, pv := range v.(map[string]any) {
					props[pk] = pv
				}
			case "required":
				req = append(req, asList(v)...)
			default:
				out[k] = v
			}
		}
	}
	if len(props) > 0 {
		out["properties"] = props
	}
	if len(req) > 0 {
		out["required"] = req
	}
	return out
}

// idKinds maps request field names to the record kind whose id they take.
var idKinds = map[string]string{
	"teamId": "department", "parentId": "department", "departmentId": "department",
	"creditedToUserId": "user", "userId": "user", "teamMemberId": "user", "interviewerUserId": "user", "managerId": "user",
	"tagId": "candidateTag", "fieldId": "customField", "customFieldId": "customField",
	"parentLocationId": "location", "parentLocationHierarchyId": "location", "locationId": "location",
	"formDefinitionId": "feedbackFormDefinition", "feedbackFormDefinitionId": "feedbackFormDefinition",
	"defaultInterviewPlanId": "interviewPlan", "offerVersionId": "version", "submittedFormInstanceId": "submittedFormInstance",
	"stageId": "interviewStage", "roleId": "hiringTeamRole", "offerFormId": "offerForm", "assessment_id": "assessment",
}

// synth builds a value for schema s. owner is the endpoint category, for
// a bare "id" field.
func (h *schemaHarness) synth(s map[string]any, owner, field string, depth int) (any, error) {
	s = h.resolve(s, 0)
	if depth > 6 || s == nil {
		return nil, nil
	}
	if alts, ok := s["oneOf"].([]any); ok && len(alts) > 0 {
		m, _ := alts[0].(map[string]any)
		return h.synth(m, owner, field, depth+1)
	}
	if alts, ok := s["anyOf"].([]any); ok && len(alts) > 0 {
		m, _ := alts[0].(map[string]any)
		return h.synth(m, owner, field, depth+1)
	}
	if enum, ok := s["enum"].([]any); ok && len(enum) > 0 {
		return enum[0], nil
	}
	typ := s["type"]
	if ts, ok := typ.([]any); ok && len(ts) > 0 {
		typ = ts[0]
	}
	isID := s["format"] == "uuid" || strings.HasSuffix(field, "Id") || field == "id" || field == "assessment_id"
	if _, hasProps := s["properties"]; hasProps {
		typ = "object"
	}
	switch typ {
	case "object":
		props, _ := s["properties"].(map[string]any)
		out := map[string]any{}
		for _, r := range asList(s["required"]) {
			name, _ := r.(string)
			ps, _ := props[name].(map[string]any)
			v, err := h.synth(ps, owner, name, depth+1)
			if err != nil {
				return nil, err
			}
			out[name] = v
		}
		return out, nil
	case "array":
		items, _ := s["items"].(map[string]any)
		v, err := h.synth(items, owner, strings.TrimSuffix(strings.TrimSuffix(field, "s"), "Id")+"Id", depth+1)
		if err != nil || v == nil {
			return []any{}, err
		}
		return []any{v}, nil
	case "boolean":
		return false, nil
	case "integer", "number":
		if field == "timestamp" || strings.HasSuffix(field, "After") {
			return time.Now().Add(-time.Hour).UnixMilli(), nil
		}
		return 1, nil
	}
	if isID && typ != "array" {
		kind := idKinds[field]
		if kind == "" {
			kind = strings.TrimSuffix(field, "Id")
		}
		if field == "id" {
			kind = owner
		}
		if id := h.last(kind); id != "" {
			return id, nil
		}
		return nil, fmt.Errorf("no %s id for field %s yet", kind, field)
	}
	if ex, ok := s["example"]; ok {
		return ex, nil
	}
	if s["format"] == "date-time" {
		return ashby.Now().String(), nil
	}
	if s["format"] == "uri" || strings.HasSuffix(strings.ToLower(field), "url") {
		return "https://example.com/schema-test", nil
	}
	if strings.Contains(strings.ToLower(field), "email") {
		return "schema.test@example.com", nil
	}
	return "Schema test " + field, nil
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func (h *schemaHarness) report() {
	t := h.t
	var notDriven []string
	names := make([]string, 0, len(h.outcome))
	for n := range h.outcome {
		names = append(names, n)
	}
	sort.Strings(names)
	var missing []string
	for _, n := range names {
		switch reason := h.outcome[n]; {
		case reason == "":
		case reason == "not implemented":
			missing = append(missing, n)
		case reason == "schema mismatch":
		case strings.HasPrefix(reason, "cannot drive: "):
			t.Logf("%s not driven: %s", n, strings.TrimPrefix(reason, "cannot drive: "))
		default:
			notDriven = append(notDriven, fmt.Sprintf("%s: %s", n, reason))
		}
	}
	t.Logf("validated %d responses against Ashby's schemas", len(h.validated))
	if len(missing) > 0 {
		t.Logf("%d reference endpoints not implemented, so not driven: %s", len(missing), strings.Join(missing, ", "))
	}
	for _, f := range h.failures {
		t.Error(f)
	}
	if len(notDriven) > 0 {
		t.Errorf("%d implemented endpoints could not be driven to a success response (add a request to `requests` in e2e_schema_test.go):\n  %s",
			len(notDriven), strings.Join(notDriven, "\n  "))
	}
}

// Scenarios for endpoints that need records made by a particular flow.
// Each helper makes its records once and remembers them in h.fx.

func init() {
	for name, f := range map[string]func(h *schemaHarness) any{
		"application.delete": func(h *schemaHarness) any {
			return map[string]any{"applicationId": h.freshApplication()}
		},
		"application.transfer": func(h *schemaHarness) any {
			job := h.secondJob()
			return map[string]any{"applicationId": h.freshApplication(), "jobId": job, "interviewPlanId": h.pool["interviewPlan"][0], "interviewStageId": h.stageOfType("Active")}
		},
		"application.updateHistory": func(h *schemaHarness) any {
			app := h.freshApplication()
			_, env, err := h.post("application.listHistory", map[string]any{"applicationId": app})
			if err != nil {
				h.t.Fatalf("application.listHistory: %v", err)
			}
			var hist []any
			for _, e := range asList(env["results"]) {
				m := e.(map[string]any)
				hist = append(hist, map[string]any{"applicationHistoryId": m["id"], "stageId": m["stageId"], "stageNumber": m["stageNumber"], "enteredStageAt": m["enteredStageAt"]})
			}
			return map[string]any{"applicationId": app, "applicationHistory": hist}
		},
		"application.addHiringTeamMember": func(h *schemaHarness) any {
			return map[string]any{"applicationId": h.fx["application"], "teamMemberId": h.fx["user"], "roleId": h.roleID()}
		},
		"application.removeHiringTeamMember": func(h *schemaHarness) any {
			return map[string]any{"applicationId": h.fx["application"], "teamMemberId": h.fx["user"], "roleId": h.roleID()}
		},
		"hiringTeam.addMember": func(h *schemaHarness) any {
			return map[string]any{"jobId": h.fx["job"], "teamMemberId": h.fx["user"], "roleId": h.roleID()}
		},
		"hiringTeam.removeMember": func(h *schemaHarness) any {
			return map[string]any{"jobId": h.fx["job"], "teamMemberId": h.fx["user"], "roleId": h.roleID()}
		},
		"applicationFeedback.submit": func(h *schemaHarness) any {
			_, env, err := h.post("feedbackFormDefinition.list", map[string]any{})
			if err != nil || len(asList(env["results"])) == 0 {
				h.t.Fatalf("feedbackFormDefinition.list: %v", err)
			}
			form := asList(env["results"])[0].(map[string]any)
			return map[string]any{"applicationId": h.fx["application"], "formDefinitionId": form["id"],
				"feedbackForm": map[string]any{"fieldSubmissions": h.answers(form["formDefinition"], "")}}
		},
		"applicationForm.submit": func(h *schemaHarness) any {
			posting := h.posting()
			_, env, err := h.post("jobPosting.info", map[string]any{"jobPostingId": posting})
			if err != nil {
				h.t.Fatalf("jobPosting.info: %v", err)
			}
			def := env["results"].(map[string]any)["applicationFormDefinition"]
			return map[string]any{"jobPostingId": posting, "applicationForm": map[string]any{"fieldSubmissions": h.answers(def, "ApplicationForm")}}
		},
		"jobPosting.info": func(h *schemaHarness) any { return map[string]any{"jobPostingId": h.posting()} },
		"jobPosting.update": func(h *schemaHarness) any {
			return map[string]any{"jobPostingId": h.posting(), "title": "Schema Engineer (m/f/d)"}
		},
		"jobPosting.setStatus": func(h *schemaHarness) any { return map[string]any{"jobPostingId": h.posting(), "status": "Published"} },
		"jobPosting.updateCompensation": func(h *schemaHarness) any {
			return map[string]any{"jobPostingId": h.posting(), "compensationTiers": compensationTiers()}
		},
		"job.updateCompensation": func(h *schemaHarness) any {
			return map[string]any{"jobId": h.fx["job"], "compensationTiers": compensationTiers()}
		},
		"file.info": func(h *schemaHarness) any { return map[string]any{"fileHandle": h.upload("CandidateFiles")} },
		"candidate.uploadFile": func(h *schemaHarness) any {
			return map[string]any{"candidateId": h.fx["candidate"], "fileHandle": h.upload("CandidateFiles")}
		},
		"candidate.uploadResume": func(h *schemaHarness) any {
			return map[string]any{"candidateId": h.fx["candidate"], "resumeHandle": h.upload("CandidateResume")}
		},
		"interviewSchedule.create": func(h *schemaHarness) any {
			return map[string]any{"applicationId": h.fx["application"], "interviewEvents": []any{h.event("")}}
		},
		"interviewSchedule.update": func(h *schemaHarness) any {
			sched, event := h.schedule()
			return map[string]any{"interviewScheduleId": sched, "interviewEvent": h.event(event)}
		},
		"interviewSchedule.cancel": func(h *schemaHarness) any { sched, _ := h.schedule(); return map[string]any{"id": sched} },
		"interviewEvent.list": func(h *schemaHarness) any {
			sched, _ := h.schedule()
			return map[string]any{"interviewScheduleId": sched}
		},
		"interviewBriefing.info": func(h *schemaHarness) any { _, event := h.schedule(); return map[string]any{"interviewEventId": event} },
		"offer.create": func(h *schemaHarness) any {
			process, form, def := h.offerForm(true)
			return map[string]any{"offerProcessId": process, "offerFormId": form, "offerForm": map[string]any{"fieldSubmissions": h.answers(def, "")}}
		},
		"offer.info": func(h *schemaHarness) any { return map[string]any{"offerId": h.offer()} },
		"offer.setStatus": func(h *schemaHarness) any {
			return map[string]any{"offerId": h.offer(), "acceptanceStatus": "WaitingOnResponse"}
		},
		"offer.setDecidedAt": func(h *schemaHarness) any {
			id := h.newOffer()
			h.call("approvalDefinition.update", map[string]any{"entityType": "offer", "entityId": h.fx["lastOfferVersion"], "approvalStepDefinitions": []any{}})
			h.call("offer.setStatus", map[string]any{"offerId": id, "acceptanceStatus": "Declined"})
			return map[string]any{"offerId": id, "decidedAt": ashby.Now().String()}
		},
		"offer.update": func(h *schemaHarness) any {
			id := h.offer()
			_, env, err := h.post("offer.info", map[string]any{"offerId": id})
			if err != nil {
				h.t.Fatalf("offer.info: %v", err)
			}
			return map[string]any{"offerId": id, "offerForm": map[string]any{"fieldSubmissions": h.answers(env["results"].(map[string]any)["formDefinition"], "")}}
		},
		"approvalDefinition.update": func(h *schemaHarness) any {
			return map[string]any{"entityType": "offer", "entityId": h.offerVersion(), "approvalStepDefinitions": []any{
				map[string]any{"approvalsRequired": 1, "approvers": []any{map[string]any{"userId": h.fx["user"], "type": "user"}}}}}
		},
		"offer.startApprovalProcess": func(h *schemaHarness) any { return map[string]any{"offerVersionId": h.offerVersion()} },
		"offer.approve":              func(h *schemaHarness) any { return map[string]any{"offerVersionId": h.offerVersion()} },
		"opening.update": func(h *schemaHarness) any {
			return map[string]any{"openingId": h.last("opening"), "description": "Backfill"}
		},
		"opening.setOpeningState": func(h *schemaHarness) any {
			return map[string]any{"openingId": h.last("opening"), "openingState": "Open"}
		},
		"opening.setArchived": func(h *schemaHarness) any { return map[string]any{"openingId": h.last("opening"), "archive": true} },
		"webhook.update":      func(h *schemaHarness) any { return map[string]any{"webhookId": h.last("webhook"), "enabled": false} },
	} {
		requests[name] = f
	}
}

// cannotDrive lists implemented endpoints no valid request can succeed
// on in Ashlar, and why; they are reported, not failed.
var cannotDrive = map[string]string{
	"notetakerTranscript.info": "Ashlar has no notetaker, so there are no transcripts to fetch (docs/interviews.md)",
}

func compensationTiers() []any {
	return []any{map[string]any{"title": "Zone A", "components": []any{
		map[string]any{"compensationType": "Salary", "interval": "1 YEAR", "currencyCode": "EUR", "minValue": 72000, "maxValue": 100000}}}}
}

// freshApplication applies a new candidate to the seeded job.
func (h *schemaHarness) freshApplication() string {
	c := h.call("candidate.create", map[string]any{"name": "Fresh Applicant"})
	return h.call("application.create", map[string]any{"candidateId": c["id"], "jobId": h.fx["job"]})["id"].(string)
}

func (h *schemaHarness) once(key string, make func() string) string {
	if id, ok := h.fx[key]; ok {
		return id
	}
	id := make()
	h.fx[key] = id
	return id
}

func (h *schemaHarness) secondJob() string {
	return h.once("secondJob", func() string {
		job := h.call("job.create", map[string]any{"title": "Second Job", "teamId": h.pool["department"][0], "locationId": h.pool["location"][0],
			"defaultInterviewPlanId": h.pool["interviewPlan"][0]})
		h.call("job.setStatus", map[string]any{"jobId": job["id"], "status": "Open"})
		return job["id"].(string)
	})
}

func (h *schemaHarness) roleID() string {
	return h.once("role", func() string {
		_, env, err := h.post("hiringTeamRole.list", map[string]any{"namesOnly": false})
		if err != nil || len(asList(env["results"])) == 0 {
			h.t.Fatalf("hiringTeamRole.list: %v", err)
		}
		return asList(env["results"])[0].(map[string]any)["id"].(string)
	})
}

func (h *schemaHarness) posting() string {
	return h.once("posting", func() string {
		return h.call("jobPosting.create", map[string]any{"jobId": h.fx["job"], "status": "Published", "descriptionHtml": "<p>Build schemas.</p>"})["id"].(string)
	})
}

// event is an interview event an hour long tomorrow, with the seeded
// user interviewing (updating eventID when given).
func (h *schemaHarness) event(eventID string) map[string]any {
	_, env, err := h.post("user.info", map[string]any{"userId": h.fx["user"]})
	if err != nil {
		h.t.Fatalf("user.info: %v", err)
	}
	start := time.Now().Add(24 * time.Hour).Truncate(time.Hour)
	ev := map[string]any{"startTime": start.Format(time.RFC3339), "endTime": start.Add(time.Hour).Format(time.RFC3339),
		"interviewers": []any{map[string]any{"email": env["results"].(map[string]any)["email"]}}}
	if eventID != "" {
		ev["interviewEventId"] = eventID
	}
	return ev
}

func (h *schemaHarness) schedule() (string, string) {
	sched := h.once("schedule", func() string {
		res := h.call("interviewSchedule.create", map[string]any{"applicationId": h.fx["application"], "interviewEvents": []any{h.event("")}})
		events := asList(res["interviewEvents"])
		if len(events) == 0 {
			h.t.Fatalf("interviewSchedule.create returned no events: %v", res)
		}
		h.fx["event"] = events[0].(map[string]any)["id"].(string)
		return res["id"].(string)
	})
	return sched, h.fx["event"]
}

// upload creates an upload handle and uploads a small file to it.
func (h *schemaHarness) upload(context string) string {
	body := []byte("%PDF-1.4\n% schema test\n")
	res := h.call("file.createFileUploadHandle", map[string]any{"fileUploadContext": context, "filename": "cv.pdf", "contentType": "application/pdf", "contentLength": len(body)})
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if fields, ok := res["fields"].(map[string]any); ok {
		for k, v := range fields {
			mw.WriteField(k, fmt.Sprint(v))
		}
	}
	fw, _ := mw.CreateFormFile("file", "cv.pdf")
	fw.Write(body)
	mw.Close()
	up, err := http.Post(res["url"].(string), mw.FormDataContentType(), &buf)
	if err != nil {
		h.t.Fatalf("upload: %v", err)
	}
	up.Body.Close()
	if up.StatusCode >= 300 {
		h.t.Fatalf("upload: HTTP %d", up.StatusCode)
	}
	return res["handle"].(string)
}

// offerForm starts an offer process for a new application and its offer
// form.
func (h *schemaHarness) offerForm(_ bool) (process, form string, def any) {
	process = h.call("offerProcess.start", map[string]any{"applicationId": h.freshApplication()})["id"].(string)
	res := h.call("offer.start", map[string]any{"offerProcessId": process})
	return process, res["id"].(string), res["formDefinition"]
}

// newOffer creates an offer for a new application.
func (h *schemaHarness) newOffer() string {
	process, form, def := h.offerForm(true)
	res := h.call("offer.create", map[string]any{"offerProcessId": process, "offerFormId": form, "offerForm": map[string]any{"fieldSubmissions": h.answers(def, "")}})
	if v, ok := res["latestVersion"].(map[string]any); ok {
		h.fx["lastOfferVersion"] = v["id"].(string)
	}
	return res["id"].(string)
}

func (h *schemaHarness) offer() string {
	return h.once("offer", func() string {
		id := h.newOffer()
		h.fx["offerVersion"] = h.fx["lastOfferVersion"]
		return id
	})
}

func (h *schemaHarness) offerVersion() string {
	h.offer()
	return h.fx["offerVersion"]
}

// answers fills every required field of a form definition with a valid
// value for its type; File fields get an uploaded file's handle.
func (h *schemaHarness) answers(def any, fileContext string) []any {
	var out []any
	d, _ := def.(map[string]any)
	for _, sec := range asList(d["sections"]) {
		for _, e := range asList(sec.(map[string]any)["fields"]) {
			entry := e.(map[string]any)
			f := entry["field"].(map[string]any)
			if req, _ := entry["isRequired"].(bool); !req {
				continue
			}
			var v any
			switch f["type"] {
			case "String", "LongText":
				v = "Schema test answer"
			case "RichText":
				v = map[string]any{"type": "PlainText", "value": "Schema test answer"}
			case "Email":
				v = "answer." + ashby.NewID()[:8] + "@example.com"
			case "Phone":
				v = "+1 555 0100"
			case "Url", "SocialLink":
				v = "https://example.com/answer"
			case "Boolean":
				v = true
			case "Date":
				v = time.Now().AddDate(0, 1, 0).Format("2006-01-02")
			case "DateRange":
				v = map[string]any{"startDate": "2026-01-01", "endDate": "2026-02-01"}
			case "Number":
				v = 100000
			case "Score":
				v = map[string]any{"score": 3}
			case "ValueSelect":
				v = asList(f["selectableValues"])[0].(map[string]any)["value"]
			case "MultiValueSelect":
				v = []any{asList(f["selectableValues"])[0].(map[string]any)["value"]}
			case "Location":
				v = map[string]any{"city": "Berlin", "country": "Germany"}
			case "Currency":
				v = map[string]any{"currencyCode": "EUR", "value": 90000}
			case "NumberRange":
				v = map[string]any{"minValue": 1, "maxValue": 2}
			case "CompensationRange":
				v = map[string]any{"minValue": 1, "maxValue": 2, "currencyCode": "EUR", "interval": "1 YEAR"}
			case "UUID":
				v = ashby.NewID()
			case "EducationHistory":
				v = []any{map[string]any{"schoolName": "University of Schema"}}
			case "File":
				v = h.upload(fileContext)
			}
			out = append(out, map[string]any{"path": f["path"], "value": v})
		}
	}
	return out
}
