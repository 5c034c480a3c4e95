package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/partner"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
	"github.com/ashlarhq/ashlar/testserver"
)

// partnerServerArgs let the worker reach partners on 127.0.0.1 and
// shorten its schedule and lease for tests.
var partnerServerArgs = []string{"--partner-allow-private", "--partner-retry-base", "50ms", "--partner-poll", "200ms",
	"--partner-timeout", "2s", "--partner-lease", "4s"}

// startServer starts the binary and, when the test ends, fails it if the
// server reported a data race (the binary is built with -race under
// go test -race).
func startServer(t *testing.T, engine store.Engine, o testserver.Options) *testserver.Server {
	t.Helper()
	srv := testserver.Start(t, engine, o)
	t.Cleanup(func() {
		if logs := srv.Logs(); strings.Contains(logs, "DATA RACE") {
			t.Errorf("the server reported a data race:\n%s", logs)
		}
	})
	return srv
}

// partnerHit is one request a fake partner received.
type partnerHit struct {
	Method         string // the RPC method (path without the slash)
	Auth           string // the Basic user name, "" without Authorization
	IdempotencyKey string
	Body           map[string]any
	At             time.Time
}

// fakePartner is a real HTTP server implementing the partner side of the
// assessments and workflow frameworks (https://developers.ashbyhq.com/docs/creating-an-assessments-integration). Its answers can be
// scripted per method; by default it behaves like a well-mannered
// partner: a new assessment id per Idempotency-Key (the same one for a
// retry), success for cancellations, and a workflow template with fields.
type fakePartner struct {
	*httptest.Server
	t   *testing.T
	key string

	mu   sync.Mutex
	hits []partnerHit
	// answer, when set, overrides the default answer: return status 0
	// for the default.
	answer func(h partnerHit) (int, any)
	// ids: Idempotency-Key → assessment id handed out for it.
	ids map[string]string
	// block, when set, holds assessment.start requests until it is closed.
	block chan struct{}
	// noCustomFields makes customFields.fetch and its spec spelling 404.
	noCustomFields bool
}

func newFakePartner(t *testing.T, key string) *fakePartner {
	fp := &fakePartner{t: t, key: key, ids: map[string]string{}}
	fp.Server = httptest.NewServer(http.HandlerFunc(fp.serve))
	t.Cleanup(fp.Close)
	return fp
}

func (fp *fakePartner) serve(w http.ResponseWriter, r *http.Request) {
	h := partnerHit{Method: strings.TrimPrefix(r.URL.Path, "/"), IdempotencyKey: r.Header.Get("Idempotency-Key"), At: time.Now()}
	if user, _, ok := r.BasicAuth(); ok {
		h.Auth = user
	}
	b, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &h.Body) != nil {
		fp.t.Errorf("partner: %s %s %q with %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"), b)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	fp.mu.Lock()
	fp.hits = append(fp.hits, h)
	answer, block := fp.answer, fp.block
	fp.mu.Unlock()
	if h.Auth != fp.key {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if block != nil && h.Method == "assessment.start" {
		select {
		case <-block:
		case <-r.Context().Done():
			return // the caller went away (it was killed)
		}
	}
	status, body := 0, any(nil)
	if answer != nil {
		status, body = answer(h)
	}
	if status == 0 {
		status, body = fp.standard(h)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if body != nil {
		json.NewEncoder(w).Encode(body)
	}
}

func (fp *fakePartner) standard(h partnerHit) (int, any) {
	ok := func(results any) map[string]any { return map[string]any{"success": true, "results": results} }
	switch h.Method {
	case "assessment.list":
		return 200, ok([]any{
			map[string]any{"assessment_type_id": "go-coding", "name": "Go coding exercise", "description": "90 minutes"},
			map[string]any{"assessment_type_id": "sql-quiz", "name": "SQL quiz", "description": "20 questions"}})
	case "customFields.fetch":
		if fp.noCustomFields {
			return 404, nil
		}
		return 200, map[string]any{"success": true, "fields": []any{
			map[string]any{"id": "level", "name": "Level", "type": "ValueSelect", "isRequired": true,
				"possible_values": []any{map[string]any{"key": "junior", "value": "Junior"}, map[string]any{"key": "senior", "value": "Senior"}}},
			map[string]any{"id": "minutes", "name": "Time limit", "type": "Number"}}}
	case "assessment.customField.list":
		return 404, nil
	case "assessment.start":
		fp.mu.Lock()
		id := fp.ids[h.IdempotencyKey]
		if id == "" {
			id = ashby.NewID()
			fp.ids[h.IdempotencyKey] = id
		}
		fp.mu.Unlock()
		return 200, ok(map[string]any{"assessment_id": id})
	case "assessment.cancel":
		return 200, ok(map[string]any{"assessment_id": h.Body["assessment_id"]})
	case "workflow.list":
		return 200, map[string]any{"results": []any{map[string]any{"external_workflow_template_id": "bg-check", "name": "Background check", "description": "Criminal and employment"}}}
	case "workflow.info":
		return 200, map[string]any{"results": []any{map[string]any{"external_workflow_template_id": "bg-check", "name": "Background check", "description": "Criminal and employment",
			"fields": []any{
				map[string]any{"id": "package", "title": "Package", "type": "ValueSelect", "isRequired": true,
					"selectableValues": []any{map[string]any{"label": "Basic", "value": "basic"}, map[string]any{"label": "Full", "value": "full"}}},
				map[string]any{"id": "country", "title": "Country", "type": "String", "isRequired": false}}}}}
	case "workflow.start":
		return 200, ok(map[string]any{"id": "wf-" + h.IdempotencyKey[:8]})
	}
	return 404, nil
}

func (fp *fakePartner) calls(method string) []partnerHit {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	var out []partnerHit
	for _, h := range fp.hits {
		if h.Method == method {
			out = append(out, h)
		}
	}
	return out
}

func (fp *fakePartner) setAnswer(f func(h partnerHit) (int, any)) {
	fp.mu.Lock()
	fp.answer = f
	fp.mu.Unlock()
}

// partnerApp makes a candidate with an application in the fixture's job
// (in its first stage).
func partnerApp(t *testing.T, f *fixture, name string) ashby.Application {
	t.Helper()
	var cand ashby.Candidate
	must(t, f.c, "candidate.create", map[string]any{"name": name, "email": strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.com"}, &cand)
	var app ashby.Application
	must(t, f.c, "application.create", map[string]any{"candidateId": cand.ID, "jobId": f.job.ID}, &app)
	return app
}

func listStarts(t *testing.T, c *client.Client, appID string) []ashby.AssessmentStart {
	t.Helper()
	var starts []ashby.AssessmentStart
	must(t, c, "assessment.listForApplication", map[string]any{"applicationId": appID}, &starts)
	return starts
}

// settleCalls waits until no partner call of the organization is pending.
// Calls are decided in the transaction of the change that causes them, so
// once none is pending every call decided so far has been made (and any
// retry would keep its call pending): the fake partner's hits are final
// and an absence can be asserted without guessing a delay.
func settleCalls(t *testing.T, c *client.Client) {
	t.Helper()
	waitUntil(t, "every partner call to finish", 30*time.Second, func() bool {
		var pending []partner.Call
		must(t, c, "partnerIntegration.listCalls", map[string]any{"status": "pending"}, &pending)
		return len(pending) == 0
	})
}

// waitStart waits until the application's only start leaves Pending (and
// any cancellation asked for is settled) and returns it.
func waitStart(t *testing.T, c *client.Client, appID string) ashby.AssessmentStart {
	t.Helper()
	var st ashby.AssessmentStart
	waitUntil(t, "the assessment start of "+appID+" to settle", 20*time.Second, func() bool {
		starts := listStarts(t, c, appID)
		if len(starts) != 1 {
			return false
		}
		st = starts[0]
		return st.Status != ashby.AssessmentStartPending && st.CancelStatus != ashby.AssessmentCancelRequested && st.CancelStatus != ashby.AssessmentCancelPending
	})
	return st
}

func datum(id, label, typ string, v any) map[string]any {
	return map[string]any{"identifier": id, "label": label, "type": typ, "value": v}
}

func TestE2EAssessmentPartner(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := startServer(t, engine, testserver.Options{Args: partnerServerArgs})
		_, key := srv.NewOrg()
		c := srv.Client(key)
		f := newFixture(t, c)
		fp := newFakePartner(t, "partner-secret")

		// Registration: the key is stored out of the document; http and a
		// missing scheme are refused; a callback key is made once.
		wantCode(t, c, "partnerIntegration.create", map[string]any{"title": "X", "baseUrl": "ftp://partner.example.com"}, "invalid_input")
		wantCode(t, c, "partnerIntegration.create", map[string]any{"title": "", "baseUrl": fp.URL}, "invalid_input")
		var p ashby.PartnerIntegration
		must(t, c, "partnerIntegration.create", map[string]any{"title": "CodeCheck", "baseUrl": fp.URL + "/", "partnerKey": "partner-secret", "createApiKey": true}, &p)
		if !p.Enabled || !p.Assessments || p.Workflows || !p.HasPartnerKey || p.BaseURL != fp.URL || !strings.HasPrefix(p.APIKey, "ashlar_") || p.APIKeyID == "" {
			t.Fatalf("created %+v", p)
		}
		var info map[string]any
		must(t, c, "partnerIntegration.info", map[string]any{"partnerIntegrationId": p.ID}, &info)
		if _, has := info["apiKey"]; has || strings.Contains(fmt.Sprint(info), "partner-secret") {
			t.Fatalf("info leaks a secret: %v", info)
		}
		partnerClient := srv.Client(p.APIKey)

		// Creating it queued a sync of the partner's types and fields.
		var types []ashby.AssessmentType
		waitUntil(t, "the partner's assessment types", 10*time.Second, func() bool {
			must(t, c, "assessment.listTypes", map[string]any{"partnerIntegrationId": p.ID}, &types)
			return len(types) == 2
		})
		var fields ashby.PartnerCustomFields
		waitUntil(t, "the partner's custom fields", 10*time.Second, func() bool {
			must(t, c, "assessment.listPartnerCustomFields", map[string]any{"partnerIntegrationId": p.ID}, &fields)
			return len(fields.Fields) == 2
		})
		for _, h := range fp.calls("assessment.list") {
			if h.Auth != "partner-secret" {
				t.Fatalf("assessment.list sent user %q", h.Auth)
			}
		}
		// On demand too.
		must(t, c, "partnerIntegration.sync", map[string]any{"partnerIntegrationId": p.ID}, &p)
		if p.AssessmentTypesSyncedAt == nil || !p.CustomFieldsSupported || p.LastSyncError != "" {
			t.Fatalf("synced: %+v", p)
		}

		// Stage triggers are checked against the partner's types and fields.
		stage := f.stageByTyp["Active"]
		trig := map[string]any{"interviewStageId": stage.ID, "partnerIntegrationId": p.ID, "assessmentTypeId": "go-coding",
			"additionalFields": map[string]any{"level": "senior", "minutes": 90}, "cancelOn": "StageExit"}
		bad := func(change map[string]any, code string) {
			t.Helper()
			req := map[string]any{}
			for k, v := range trig {
				req[k] = v
			}
			for k, v := range change {
				req[k] = v
			}
			wantCode(t, c, "assessment.createStageTrigger", req, code)
		}
		bad(map[string]any{"assessmentTypeId": "rust-coding"}, "assessment_type_not_found")
		bad(map[string]any{"additionalFields": map[string]any{"minutes": 90}}, "invalid_input")                      // level is required
		bad(map[string]any{"additionalFields": map[string]any{"level": "principal"}}, "invalid_input")               // not a key
		bad(map[string]any{"additionalFields": map[string]any{"level": "senior", "shoe": 42}}, "invalid_input")      // unknown field
		bad(map[string]any{"additionalFields": map[string]any{"level": "senior", "minutes": "90"}}, "invalid_input") // not a number
		bad(map[string]any{"interviewStageId": f.stageByTyp["Archived"].ID}, "invalid_input")
		var trigger ashby.AssessmentStageTrigger
		must(t, c, "assessment.createStageTrigger", trig, &trigger)
		if trigger.AssessmentName != "Go coding exercise" || trigger.CancelOn != "StageExit" || trigger.InterviewPlanID != stage.InterviewPlanID {
			t.Fatalf("trigger %+v", trigger)
		}
		bad(nil, "assessment_stage_trigger_already_exists")

		// Entering the stage starts the assessment once, with Ashby's body,
		// Basic auth with the partner's key, and the start's id as
		// Idempotency-Key.
		app := partnerApp(t, f, "Grace Hopper")
		if got := listStarts(t, c, app.ID); len(got) != 0 {
			t.Fatalf("an application outside the stage has starts: %+v", got)
		}
		must(t, c, "application.changeStage", map[string]any{"applicationId": app.ID, "interviewStageId": stage.ID}, nil)
		st := waitStart(t, c, app.ID)
		if st.Status != ashby.AssessmentStartStarted || st.Trigger != "StageEntry" || st.StageTriggerID != trigger.ID || st.ApplicationHistoryID == "" ||
			st.Assessment == nil || st.Assessment.AssessmentID != st.AssessmentID || st.Assessment.Status != ashby.AssessmentNotStarted || st.Assessment.PartnerID != p.ID {
			t.Fatalf("start %+v (assessment %+v)", st, st.Assessment)
		}
		starts := fp.calls("assessment.start")
		if len(starts) != 1 {
			t.Fatalf("%d assessment.start requests, want 1", len(starts))
		}
		h := starts[0]
		cand := h.Body["candidate"].(map[string]any)
		appB := h.Body["application"].(map[string]any)
		job := h.Body["job"].(map[string]any)
		if h.Auth != "partner-secret" || h.IdempotencyKey != st.ID || h.Body["assessment_type_id"] != "go-coding" ||
			cand["ashby_id"] != app.Candidate.ID || cand["first_name"] != "Grace" || cand["last_name"] != "Hopper" || cand["email"] != "grace.hopper@example.com" ||
			!strings.HasPrefix(cand["ashby_profile_url"].(string), srv.URL) || appB["ashby_id"] != app.ID || appB["status"] != "Active" ||
			job["ashby_id"] != f.job.ID || job["name"] != f.job.Title || !strings.HasPrefix(job["ashby_job_url"].(string), srv.URL) ||
			!reflect.DeepEqual(h.Body["additional_fields"], map[string]any{"level": "senior", "minutes": float64(90)}) {
			t.Fatalf("assessment.start request %+v", h)
		}

		// The partner reports progress with its callback key; a stale
		// update changes nothing; the result completes it. None of it is
		// a webhook event: assessments are not among Ashby's (see https://developers.ashbyhq.com/reference/applicationsubmitwebhook).
		db, err := store.Open(context.Background(), srv.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		org, err := db.OrgBySlug(context.Background(), orgSlugOf(t, srv, c))
		if err != nil {
			t.Fatal(err)
		}
		events := func() int {
			var n int
			if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM events WHERE org_id = $1`, org.ID).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		eventsBefore := events()
		aid := st.AssessmentID
		now := time.Now().UnixMilli()
		var a ashby.Assessment
		must(t, partnerClient, "assessment.update", map[string]any{"assessment_id": aid, "timestamp": now, "assessment_status": datum("status", "Status", "string", "Started")}, &a)
		if a.Status != ashby.AssessmentStarted || a.StartedAt == nil || a.ID != st.ID {
			t.Fatalf("started: %+v", a)
		}
		// Another partner's key does not reach this partner's assessments.
		var other ashby.PartnerIntegration
		must(t, c, "partnerIntegration.create", map[string]any{"title": "Other", "baseUrl": fp.URL, "partnerKey": "partner-secret", "createApiKey": true, "assessments": true}, &other)
		wantCode(t, srv.Client(other.APIKey), "assessment.update", map[string]any{"assessment_id": aid, "timestamp": now + 1,
			"assessment_status": datum("status", "Status", "string", "Hijacked")}, "assessment_not_found")
		// Nor does another organization's key.
		_, otherOrgKey := srv.NewOrg()
		wantCode(t, srv.Client(otherOrgKey), "assessment.update", map[string]any{"assessment_id": aid, "timestamp": now + 1,
			"assessment_status": datum("status", "Status", "string", "Hijacked")}, "assessment_not_found")
		must(t, partnerClient, "assessment.update", map[string]any{"assessment_id": aid, "timestamp": now + 10, "assessment_status": datum("status", "Status", "string", "Done"),
			"assessment_result":      datum("score", "Score", "numeric_score", 92),
			"assessment_profile_url": datum("report", "Report", "url", "https://partner.example.com/r/1"),
			"metadata":               []any{datum("duration", "Duration", "numeric_duration_minutes", 71)}}, &a)
		must(t, partnerClient, "assessment.update", map[string]any{"assessment_id": aid, "timestamp": now + 5, "assessment_status": datum("status", "Status", "string", "Stale")}, &a)
		if a.Status != ashby.AssessmentCompleted || a.AssessmentStatus.Value != "Done" || a.AssessmentResult.Value != float64(92) || len(a.Metadata) != 1 {
			t.Fatalf("completed: %+v", a)
		}
		if n := events(); n != eventsBefore {
			t.Fatalf("the partner's updates recorded %d webhook events", n-eventsBefore)
		}
		// A completed assessment is not cancelled when the application
		// leaves the stage.
		must(t, c, "application.changeStage", map[string]any{"applicationId": app.ID, "interviewStageId": f.stageByTyp["Offer"].ID}, nil)
		settleCalls(t, c)
		if n := len(fp.calls("assessment.cancel")); n != 0 {
			t.Fatalf("%d cancellations of a completed assessment", n)
		}
		if st := listStarts(t, c, app.ID)[0]; st.CancelStatus != "" || st.Assessment.Status != ashby.AssessmentCompleted {
			t.Fatalf("completed start after leaving the stage: %+v", st)
		}

		// Leaving the stage (cancelOn StageExit) cancels a running
		// assessment with the partner, which confirms.
		app2 := partnerApp(t, f, "Ada Lovelace")
		must(t, c, "application.changeStage", map[string]any{"applicationId": app2.ID, "interviewStageId": stage.ID}, nil)
		st2 := waitStart(t, c, app2.ID)
		must(t, c, "application.changeStage", map[string]any{"applicationId": app2.ID, "interviewStageId": f.stageByTyp["Offer"].ID}, nil)
		st2 = waitStart(t, c, app2.ID)
		cancels := fp.calls("assessment.cancel")
		if st2.CancelStatus != ashby.AssessmentCancelDone || st2.Assessment.Status != ashby.AssessmentCancelled || len(cancels) != 1 ||
			cancels[0].Body["assessment_id"] != st2.AssessmentID || cancels[0].Auth != "partner-secret" {
			t.Fatalf("cancelled on stage exit: %+v (assessment %+v), %d cancels", st2, st2.Assessment, len(cancels))
		}

		// A partner that cancelled an assessment itself is not called back
		// about it.
		app3 := partnerApp(t, f, "Katherine Johnson")
		must(t, c, "application.changeStage", map[string]any{"applicationId": app3.ID, "interviewStageId": stage.ID}, nil)
		st3 := waitStart(t, c, app3.ID)
		must(t, partnerClient, "assessment.update", map[string]any{"assessment_id": st3.AssessmentID, "timestamp": time.Now().UnixMilli(),
			"cancelled_reason": datum("reason", "Reason", "string", "Candidate withdrew")}, nil)
		must(t, c, "application.changeStage", map[string]any{"applicationId": app3.ID, "interviewStageId": f.stageByTyp["Archived"].ID, "archiveReasonId": f.reasons[0].ID}, nil)
		settleCalls(t, c)
		if n := len(fp.calls("assessment.cancel")); n != 1 {
			t.Fatalf("%d cancellations, want only the earlier one", n)
		}

		// The partner may report the first state inline.
		fp.setAnswer(func(h partnerHit) (int, any) {
			if h.Method != "assessment.start" {
				return 0, nil
			}
			id := ashby.NewID()
			return 200, map[string]any{"success": true, "results": map[string]any{"assessment_id": id, "update_request": map[string]any{
				"assessment_id": id, "timestamp": time.Now().UnixMilli(), "assessment_status": datum("status", "Status", "string", "Started"),
				"assessment_profile_url": datum("link", "Link", "url", "https://partner.example.com/take/"+id)}}}
		})
		app4 := partnerApp(t, f, "Dorothy Vaughan")
		must(t, c, "application.changeStage", map[string]any{"applicationId": app4.ID, "interviewStageId": stage.ID}, nil)
		st4 := waitStart(t, c, app4.ID)
		if st4.Status != ashby.AssessmentStartStarted || st4.Assessment.Status != ashby.AssessmentStarted || st4.Assessment.AssessmentProfileURL == nil {
			t.Fatalf("inline update_request not applied: %+v (%+v)", st4, st4.Assessment)
		}

		// 409: already being assessed; not retried.
		fp.setAnswer(func(h partnerHit) (int, any) {
			if h.Method == "assessment.start" {
				return 409, nil
			}
			return 0, nil
		})
		app5 := partnerApp(t, f, "Mary Jackson")
		before := len(fp.calls("assessment.start"))
		must(t, c, "application.changeStage", map[string]any{"applicationId": app5.ID, "interviewStageId": stage.ID}, nil)
		st5 := waitStart(t, c, app5.ID)
		settleCalls(t, c)
		if st5.Status != ashby.AssessmentStartAlreadyAssessed || st5.Assessment != nil || len(fp.calls("assessment.start")) != before+1 {
			t.Fatalf("409: %+v, %d requests", st5, len(fp.calls("assessment.start"))-before)
		}

		// 422 {message}: the partner's message is shown; not retried.
		fp.setAnswer(func(h partnerHit) (int, any) {
			if h.Method == "assessment.start" {
				return 422, map[string]any{"message": "This candidate has no verified email address"}
			}
			return 0, nil
		})
		app6 := partnerApp(t, f, "Annie Easley")
		before = len(fp.calls("assessment.start"))
		must(t, c, "application.changeStage", map[string]any{"applicationId": app6.ID, "interviewStageId": stage.ID}, nil)
		st6 := waitStart(t, c, app6.ID)
		settleCalls(t, c)
		if st6.Status != ashby.AssessmentStartRejected || st6.Message != "This candidate has no verified email address" || len(fp.calls("assessment.start")) != before+1 {
			t.Fatalf("422: %+v", st6)
		}

		// 5xx: retried with the same Idempotency-Key until it succeeds.
		var mu sync.Mutex
		failures := 0
		fp.setAnswer(func(h partnerHit) (int, any) {
			mu.Lock()
			defer mu.Unlock()
			if h.Method == "assessment.start" && failures < 2 {
				failures++
				return 503, map[string]any{"success": false, "errorInfo": map[string]any{"code": "unavailable", "message": "deploying"}}
			}
			return 0, nil
		})
		app7 := partnerApp(t, f, "Evelyn Boyd")
		before = len(fp.calls("assessment.start"))
		must(t, c, "application.changeStage", map[string]any{"applicationId": app7.ID, "interviewStageId": stage.ID}, nil)
		st7 := waitStart(t, c, app7.ID)
		tries := fp.calls("assessment.start")[before:]
		if st7.Status != ashby.AssessmentStartStarted || len(tries) != 3 || tries[0].IdempotencyKey != st7.ID || tries[1].IdempotencyKey != st7.ID || tries[2].IdempotencyKey != st7.ID {
			t.Fatalf("retried start: %+v after %d requests", st7, len(tries))
		}
		// Every request and outcome is inspectable.
		var calls []partner.Call
		must(t, c, "partnerIntegration.listCalls", map[string]any{"subjectId": st7.ID}, &calls)
		if len(calls) != 1 || calls[0].Method != "assessment.start" || calls[0].Status != "succeeded" || calls[0].AttemptCount != 3 || len(calls[0].Attempts) != 3 ||
			calls[0].Attempts[0].StatusCode != 503 || calls[0].Attempts[0].Outcome != "http_error" || !strings.Contains(calls[0].Attempts[0].Response, "deploying") ||
			calls[0].Attempts[2].Outcome != "success" || calls[0].IdempotencyKey != st7.ID || !strings.Contains(string(calls[0].Request), `"assessment_type_id":"go-coding"`) {
			t.Fatalf("calls: %+v", calls)
		}
		out := srv.CLI("partner", "calls", "--org", orgSlugOf(t, srv, c), "--subject", st7.ID)
		if !strings.Contains(out, "assessment.start") || !strings.Contains(out, "503") {
			t.Fatalf("partner calls:\n%s", out)
		}
		fp.setAnswer(nil)

		// Opting out (disabling) stops the stage trigger; a manual start is
		// refused; opting in again restores both.
		must(t, c, "partnerIntegration.update", map[string]any{"partnerIntegrationId": p.ID, "enabled": false}, nil)
		app8 := partnerApp(t, f, "Valerie Thomas")
		must(t, c, "application.changeStage", map[string]any{"applicationId": app8.ID, "interviewStageId": stage.ID}, nil)
		if got := listStarts(t, c, app8.ID); len(got) != 0 {
			t.Fatalf("a disabled partner's trigger started %+v", got)
		}
		wantCode(t, c, "assessment.startForApplication", map[string]any{"applicationId": app8.ID, "partnerIntegrationId": p.ID, "assessmentTypeId": "sql-quiz"}, "partner_integration_disabled")
		must(t, c, "partnerIntegration.update", map[string]any{"partnerIntegrationId": p.ID, "enabled": true}, nil)

		// A manual start, cancelled when the application is archived.
		wantCode(t, c, "assessment.startForApplication", map[string]any{"applicationId": app8.ID, "partnerIntegrationId": p.ID, "assessmentTypeId": "sql-quiz",
			"additionalFields": map[string]any{"minutes": 20}}, "invalid_input")
		var manual ashby.AssessmentStart
		must(t, c, "assessment.startForApplication", map[string]any{"applicationId": app8.ID, "partnerIntegrationId": p.ID, "assessmentTypeId": "sql-quiz",
			"additionalFields": map[string]any{"level": "junior"}}, &manual)
		if manual.Trigger != "Manual" || manual.CancelOn != "Archive" || manual.AssessmentName != "SQL quiz" {
			t.Fatalf("manual start %+v", manual)
		}
		waitStart(t, c, app8.ID)
		must(t, c, "application.changeStage", map[string]any{"applicationId": app8.ID, "interviewStageId": f.stageByTyp["Archived"].ID, "archiveReasonId": f.reasons[0].ID}, nil)
		if st8 := waitStart(t, c, app8.ID); st8.CancelStatus != ashby.AssessmentCancelDone || st8.Assessment.Status != ashby.AssessmentCancelled {
			t.Fatalf("cancelled on archive: %+v", st8)
		}
		wantCode(t, c, "assessment.startForApplication", map[string]any{"applicationId": app8.ID, "partnerIntegrationId": p.ID, "assessmentTypeId": "sql-quiz",
			"additionalFields": map[string]any{"level": "junior"}}, "application_archived")

		// A start in flight when the application leaves the stage is
		// cancelled once it returns (one never sent is dropped:
		// TestE2EAssessmentStartDroppedBeforeSent).
		fp.mu.Lock()
		fp.block = make(chan struct{})
		fp.mu.Unlock()
		app9 := partnerApp(t, f, "Hedy Lamarr")
		must(t, c, "application.changeStage", map[string]any{"applicationId": app9.ID, "interviewStageId": stage.ID}, nil)
		waitUntil(t, "the start in flight", 10*time.Second, func() bool {
			return len(fp.calls("assessment.start")) > 0 && fp.calls("assessment.start")[len(fp.calls("assessment.start"))-1].Body["application"].(map[string]any)["ashby_id"] == app9.ID
		})
		must(t, c, "application.changeStage", map[string]any{"applicationId": app9.ID, "interviewStageId": f.stageByTyp["Offer"].ID}, nil)
		if got := listStarts(t, c, app9.ID); len(got) != 1 || got[0].CancelStatus != ashby.AssessmentCancelRequested {
			t.Fatalf("cancel while in flight: %+v", got)
		}
		fp.mu.Lock()
		close(fp.block)
		fp.block = nil
		fp.mu.Unlock()
		if st9 := waitStart(t, c, app9.ID); st9.Status != ashby.AssessmentStartStarted || st9.CancelStatus != ashby.AssessmentCancelDone {
			t.Fatalf("cancelled after the start returned: %+v", st9)
		}

		// Validation and tenancy of the extension endpoints.
		wantCode(t, c, "assessment.listForApplication", map[string]any{"applicationId": ashby.NewID()}, "application_not_found")
		wantCode(t, c, "assessment.cancelStart", map[string]any{"assessmentStartId": ashby.NewID()}, "assessment_start_not_found")
		wantCode(t, c, "assessment.cancelStart", map[string]any{"assessmentStartId": st6.ID}, "assessment_not_cancellable")
		wantCode(t, srv.Client(otherOrgKey), "partnerIntegration.info", map[string]any{"partnerIntegrationId": p.ID}, "partner_integration_not_found")
		wantCode(t, srv.Client(otherOrgKey), "assessment.listForApplication", map[string]any{"applicationId": app.ID}, "application_not_found")
		var otherCalls []partner.Call
		must(t, srv.Client(otherOrgKey), "partnerIntegration.listCalls", map[string]any{}, &otherCalls)
		if len(otherCalls) != 0 {
			t.Fatalf("another organization sees %d calls", len(otherCalls))
		}

		// Anonymizing a candidate redacts the requests kept of the calls
		// about its assessments (they hold its name and email).
		must(t, c, "candidate.anonymize", map[string]any{"candidateId": app8.Candidate.ID}, nil)
		must(t, c, "partnerIntegration.listCalls", map[string]any{"subjectId": manual.ID}, &calls)
		if len(calls) != 2 {
			t.Fatalf("calls about the anonymized candidate's start: %+v", calls)
		}
		for _, call := range calls {
			if strings.Contains(string(call.Request), "Valerie") || strings.Contains(string(call.Request), "valerie") {
				t.Fatalf("an anonymized candidate's request is kept: %s", call.Request)
			}
		}
		// Deleting an application drops its starts.
		must(t, c, "application.delete", map[string]any{"applicationId": app6.ID}, nil)
		wantCode(t, c, "assessment.cancelStart", map[string]any{"assessmentStartId": st6.ID}, "assessment_start_not_found")

		// Deleting the integration removes its triggers and types.
		must(t, c, "partnerIntegration.delete", map[string]any{"partnerIntegrationId": p.ID}, nil)
		var trigs []ashby.AssessmentStageTrigger
		must(t, c, "assessment.listStageTriggers", map[string]any{"interviewStageId": stage.ID}, &trigs)
		if len(trigs) != 0 {
			t.Fatalf("triggers after delete: %+v", trigs)
		}
		wantCode(t, c, "partnerIntegration.info", map[string]any{"partnerIntegrationId": p.ID}, "partner_integration_not_found")
	})
}

// orgSlugOf finds the slug of the organization a client's key belongs to.
func orgSlugOf(t *testing.T, srv *testserver.Server, c *client.Client) string {
	t.Helper()
	var boards []ashby.JobBoard
	must(t, c, "jobBoard.list", nil, &boards)
	var b ashby.JobBoardSettings
	must(t, c, "jobBoard.info", map[string]any{"jobBoardId": boards[0].ID}, &b)
	return b.Name // an organization's first board is named after its slug
}

// An assessment partner without custom fields, and one whose sync fails.
func TestE2EAssessmentPartnerSyncEdges(t *testing.T) {
	t.Parallel()
	srv := startServer(t, store.SQLite, testserver.Options{Args: append([]string{"--partner-sync-interval", "1s"}, partnerServerArgs...)})
	_, key := srv.NewOrg()
	c := srv.Client(key)
	fp := newFakePartner(t, "k")
	fp.noCustomFields = true
	var p ashby.PartnerIntegration
	must(t, c, "partnerIntegration.create", map[string]any{"title": "NoFields", "baseUrl": fp.URL, "partnerKey": "k"}, &p)
	must(t, c, "partnerIntegration.sync", map[string]any{"partnerIntegrationId": p.ID}, &p)
	if p.CustomFieldsSupported || p.CustomFieldsSyncedAt == nil {
		t.Fatalf("a partner without custom fields: %+v", p)
	}
	if n := len(fp.calls("assessment.customField.list")); n == 0 {
		t.Fatal("the spec's spelling was not tried")
	}
	// Types are fetched again every --partner-sync-interval (1s here).
	n := len(fp.calls("assessment.list"))
	waitUntil(t, "an hourly (here: every second) sync", 15*time.Second, func() bool { return len(fp.calls("assessment.list")) >= n+2 })
	// A wrong key: the partner answers 401, which the user sees.
	var bad ashby.PartnerIntegration
	must(t, c, "partnerIntegration.create", map[string]any{"title": "WrongKey", "baseUrl": fp.URL, "partnerKey": "nope"}, &bad)
	_, err := c.Call(context.Background(), "partnerIntegration.sync", map[string]any{"partnerIntegrationId": bad.ID}, nil)
	if client.Code(err) != "partner_request_failed" || !strings.Contains(err.Error(), "401") {
		t.Fatalf("sync with a wrong key: %v", err)
	}
	waitUntil(t, "the queued sync's error on the integration", 10*time.Second, func() bool {
		must(t, c, "partnerIntegration.info", map[string]any{"partnerIntegrationId": bad.ID}, &bad)
		return strings.Contains(bad.LastSyncError, "401")
	})
	// The SSRF guard: without --partner-allow-private, http and private
	// addresses are refused when configured, and an integration stored
	// before that names one is never connected to.
	guarded := startServer(t, store.SQLite, testserver.Options{Env: []string{"ASHLAR_PARTNER_ALLOW_PRIVATE=false"}})
	gslug, gkey := guarded.NewOrg()
	gc := guarded.Client(gkey)
	wantCode(t, gc, "partnerIntegration.create", map[string]any{"title": "Local", "baseUrl": fp.URL, "partnerKey": "k"}, "invalid_input")
	for _, u := range []string{"https://127.0.0.1:1", "https://localhost:1", "https://192.0.2.1", "https://[fd00::1]"} {
		wantCode(t, gc, "partnerIntegration.create", map[string]any{"title": "Private", "baseUrl": u, "partnerKey": "k"}, "invalid_input")
	}
	var loop ashby.PartnerIntegration
	must(t, gc, "partnerIntegration.create", map[string]any{"title": "Loopback", "baseUrl": "https://partner.invalid", "partnerKey": "k"}, &loop)
	wantCode(t, gc, "partnerIntegration.update", map[string]any{"partnerIntegrationId": loop.ID, "baseUrl": "https://127.0.0.1:1"}, "invalid_input")
	db, err := store.Open(context.Background(), guarded.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	gorg, err := db.OrgBySlug(context.Background(), gslug)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Write(context.Background(), func(tx *store.Tx) error {
		_, err := api.PartnerIntegrations.Update(context.Background(), tx, gorg.ID, loop.ID, func(p *ashby.PartnerIntegration) error {
			p.BaseURL = "https://127.0.0.1:1"
			return nil
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = gc.Call(context.Background(), "partnerIntegration.sync", map[string]any{"partnerIntegrationId": loop.ID}, nil)
	if client.Code(err) != "partner_request_failed" || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("sync to loopback with the guard on: %v", err)
	}
}

// A start not yet sent when the application leaves the stage is dropped:
// the partner never hears of it. The server makes no calls here
// (--partners=false), so the start stays unsent.
func TestE2EAssessmentStartDroppedBeforeSent(t *testing.T) {
	t.Parallel()
	srv := startServer(t, store.SQLite, testserver.Options{Args: append([]string{"--partners=false"}, partnerServerArgs...)})
	_, key := srv.NewOrg()
	c := srv.Client(key)
	f := newFixture(t, c)
	fp := newFakePartner(t, "k")
	var p ashby.PartnerIntegration
	must(t, c, "partnerIntegration.create", map[string]any{"title": "P", "baseUrl": fp.URL, "partnerKey": "k"}, &p)
	must(t, c, "partnerIntegration.sync", map[string]any{"partnerIntegrationId": p.ID}, nil)
	stage := f.stageByTyp["Active"]
	must(t, c, "assessment.createStageTrigger", map[string]any{"interviewStageId": stage.ID, "partnerIntegrationId": p.ID, "assessmentTypeId": "sql-quiz",
		"additionalFields": map[string]any{"level": "junior"}, "cancelOn": "StageExit"}, nil)
	app := partnerApp(t, f, "Sophie Wilson")
	must(t, c, "application.changeStage", map[string]any{"applicationId": app.ID, "interviewStageId": stage.ID}, nil)
	starts := listStarts(t, c, app.ID)
	if len(starts) != 1 || starts[0].Status != ashby.AssessmentStartPending {
		t.Fatalf("queued start: %+v", starts)
	}
	must(t, c, "application.changeStage", map[string]any{"applicationId": app.ID, "interviewStageId": f.stageByTyp["Offer"].ID}, nil)
	starts = listStarts(t, c, app.ID)
	if len(starts) != 1 || starts[0].Status != ashby.AssessmentStartCancelled || !strings.Contains(starts[0].Message, "before it was sent") {
		t.Fatalf("dropped start: %+v", starts)
	}
	var calls []partner.Call
	must(t, c, "partnerIntegration.listCalls", map[string]any{"subjectId": starts[0].ID}, &calls)
	if len(calls) != 1 || calls[0].Status != "cancelled" || calls[0].AttemptCount != 0 || len(fp.calls("assessment.start")) != 0 {
		t.Fatalf("the dropped start's call: %+v, %d requests", calls, len(fp.calls("assessment.start")))
	}
}

// Two server processes on one PostgreSQL database: every stage entry
// starts its assessment exactly once.
func TestE2EAssessmentStartTwoServersOnePostgres(t *testing.T) {
	t.Parallel()
	dsn := storetest.DSN(t, store.Postgres)
	a := startServer(t, store.Postgres, testserver.Options{DSN: dsn, Args: partnerServerArgs})
	b := startServer(t, store.Postgres, testserver.Options{DSN: dsn, Args: partnerServerArgs})
	_, key := a.NewOrg()
	ca, cb := a.Client(key), b.Client(key)
	f := newFixture(t, ca)
	fp := newFakePartner(t, "k")
	var p ashby.PartnerIntegration
	must(t, ca, "partnerIntegration.create", map[string]any{"title": "P", "baseUrl": fp.URL, "partnerKey": "k"}, &p)
	must(t, ca, "partnerIntegration.sync", map[string]any{"partnerIntegrationId": p.ID}, nil)
	stage := f.stageByTyp["Active"]
	must(t, ca, "assessment.createStageTrigger", map[string]any{"interviewStageId": stage.ID, "partnerIntegrationId": p.ID, "assessmentTypeId": "sql-quiz",
		"additionalFields": map[string]any{"level": "junior"}}, nil)
	const n = 40
	apps := make([]ashby.Application, n)
	for i := range apps {
		apps[i] = partnerApp(t, f, fmt.Sprintf("Applicant %d", i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, app := range apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := []*client.Client{ca, cb}[i%2]
			// Both processes move each application; the second move is a
			// no-op, so each application enters the stage once.
			for _, c := range []*client.Client{cl, []*client.Client{cb, ca}[i%2]} {
				if _, err := c.Call(context.Background(), "application.changeStage", map[string]any{"applicationId": app.ID, "interviewStageId": stage.ID}, nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waitUntil(t, "a start per application", 60*time.Second, func() bool { return len(fp.calls("assessment.start")) >= n })
	for _, app := range apps {
		if st := waitStart(t, ca, app.ID); st.Status != ashby.AssessmentStartStarted {
			t.Fatalf("start of %s: %+v", app.ID, st)
		}
	}
	// Every call finished with one attempt: no second attempt was claimed,
	// so no duplicate request can still arrive.
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var attempts, workers, calls int
	waitUntil(t, "every call to finish", 60*time.Second, func() bool {
		var pending int
		db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM jobs WHERE kind = 'partner.call' AND action = 'assessment.start' AND state = 'pending'`).Scan(&pending)
		return pending == 0
	})
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*), COUNT(DISTINCT a.worker), COUNT(DISTINCT c.id) FROM job_attempts a JOIN jobs c ON c.id = a.job_id
		WHERE c.kind = 'partner.call' AND c.action = 'assessment.start'`).Scan(&attempts, &workers, &calls); err != nil {
		t.Fatal(err)
	}
	if attempts != n || calls != n {
		t.Fatalf("%d attempts for %d calls for %d starts", attempts, calls, n)
	}
	perApp := map[string]int{}
	keys := map[string]bool{}
	for _, h := range fp.calls("assessment.start") {
		perApp[h.Body["application"].(map[string]any)["ashby_id"].(string)]++
		keys[h.IdempotencyKey] = true
	}
	if len(fp.calls("assessment.start")) != n || len(perApp) != n || len(keys) != n {
		t.Fatalf("%d assessment.start requests for %d applications with %d keys, want %d of each", len(fp.calls("assessment.start")), len(perApp), len(keys), n)
	}
	t.Logf("%d starts made by %d processes", n, workers)
}

// A server killed while its assessment.start is in flight: another
// attempt is made after the lease expires, with the same
// Idempotency-Key, and the start is recorded once.
func TestE2EAssessmentStartCrash(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := startServer(t, engine, testserver.Options{Args: partnerServerArgs})
		_, key := srv.NewOrg()
		c := srv.Client(key)
		f := newFixture(t, c)
		fp := newFakePartner(t, "k")
		var p ashby.PartnerIntegration
		must(t, c, "partnerIntegration.create", map[string]any{"title": "P", "baseUrl": fp.URL, "partnerKey": "k"}, &p)
		must(t, c, "partnerIntegration.sync", map[string]any{"partnerIntegrationId": p.ID}, nil)
		stage := f.stageByTyp["Active"]
		must(t, c, "assessment.createStageTrigger", map[string]any{"interviewStageId": stage.ID, "partnerIntegrationId": p.ID, "assessmentTypeId": "go-coding",
			"additionalFields": map[string]any{"level": "senior"}}, nil)
		fp.mu.Lock()
		fp.block = make(chan struct{})
		fp.mu.Unlock()
		app := partnerApp(t, f, "Margaret Hamilton")
		must(t, c, "application.changeStage", map[string]any{"applicationId": app.ID, "interviewStageId": stage.ID}, nil)
		waitUntil(t, "the start in flight", 10*time.Second, func() bool { return len(fp.calls("assessment.start")) == 1 })
		srv.Kill()
		fp.mu.Lock()
		close(fp.block)
		fp.block = nil
		fp.mu.Unlock()
		srv.Restart()
		c = srv.Client(key)
		st := waitStart(t, c, app.ID)
		hits := fp.calls("assessment.start")
		if st.Status != ashby.AssessmentStartStarted || len(hits) != 2 || hits[0].IdempotencyKey != st.ID || hits[1].IdempotencyKey != st.ID {
			t.Fatalf("after the crash: %+v, %d requests", st, len(hits))
		}
		if d := hits[1].At.Sub(hits[0].At); d < 3*time.Second {
			t.Fatalf("retried %v after the lost attempt, before its lease (4s) expired", d)
		}
		var calls []partner.Call
		must(t, c, "partnerIntegration.listCalls", map[string]any{"subjectId": st.ID}, &calls)
		if len(calls) != 1 || len(calls[0].Attempts) != 2 || calls[0].Attempts[0].Outcome != "abandoned" || calls[0].Attempts[1].Outcome != "success" {
			t.Fatalf("calls after the crash: %+v", calls)
		}
		var as []ashby.Assessment
		must(t, c, "candidate.listAssessments", map[string]any{"candidateId": app.Candidate.ID}, &as)
		if len(as) != 1 || as[0].AssessmentID != st.AssessmentID {
			t.Fatalf("assessments after the crash: %+v", as)
		}
	})
}

func TestE2EWorkflowPartner(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := startServer(t, engine, testserver.Options{Args: partnerServerArgs})
		_, key := srv.NewOrg()
		c := srv.Client(key)
		f := newFixture(t, c)
		fp := newFakePartner(t, "wf-key")
		var p ashby.PartnerIntegration
		must(t, c, "partnerIntegration.create", map[string]any{"title": "Checkr-ish", "baseUrl": fp.URL, "partnerKey": "wf-key", "assessments": false, "workflows": true, "createApiKey": true}, &p)
		partnerClient := srv.Client(p.APIKey)
		if n := len(fp.calls("assessment.list")); n != 0 {
			t.Fatalf("a workflow-only partner was asked for assessment types")
		}
		var templates []ashby.WorkflowTemplate
		must(t, c, "workflow.listTemplates", map[string]any{"partnerIntegrationId": p.ID}, &templates)
		if len(templates) != 1 || templates[0].ExternalWorkflowTemplateID != "bg-check" {
			t.Fatalf("templates %+v", templates)
		}
		var tmpl ashby.WorkflowTemplate
		must(t, c, "workflow.templateInfo", map[string]any{"partnerIntegrationId": p.ID, "externalWorkflowTemplateId": "bg-check"}, &tmpl)
		if len(tmpl.Fields) != 2 || !tmpl.Fields[0].IsRequired || len(tmpl.Fields[0].SelectableValues) != 2 {
			t.Fatalf("template %+v", tmpl)
		}
		app := partnerApp(t, f, "Alan Turing")
		start := func(values []map[string]any) map[string]any {
			return map[string]any{"partnerIntegrationId": p.ID, "externalWorkflowTemplateId": "bg-check", "applicationId": app.ID, "values": values}
		}
		wantCode(t, c, "workflow.startRun", start([]map[string]any{{"fieldId": "country", "value": "UK"}}), "invalid_input")                                      // package missing
		wantCode(t, c, "workflow.startRun", start([]map[string]any{{"fieldId": "package", "value": "gold"}}), "invalid_input")                                    // not selectable
		wantCode(t, c, "workflow.startRun", start([]map[string]any{{"fieldId": "package", "value": "full"}, {"fieldId": "shoe", "value": "9"}}), "invalid_input") // unknown
		if n := len(fp.calls("workflow.start")); n != 0 {
			t.Fatalf("invalid values reached the partner (%d starts)", n)
		}
		var run ashby.WorkflowRun
		must(t, c, "workflow.startRun", start([]map[string]any{{"fieldId": "package", "value": "full"}, {"fieldId": "country", "value": "UK"}}), &run)
		hits := fp.calls("workflow.start")
		if len(hits) != 1 || hits[0].Auth != "wf-key" || hits[0].IdempotencyKey != run.ID || hits[0].Body["external_workflow_template_id"] != "bg-check" ||
			!reflect.DeepEqual(hits[0].Body["values"], []any{map[string]any{"fieldId": "package", "value": "full"}, map[string]any{"fieldId": "country", "value": "UK"}}) {
			t.Fatalf("workflow.start request %+v", hits)
		}
		if run.ExternalWorkflowID == "" || run.Status != "Started" || run.CandidateID != app.Candidate.ID || run.ApplicationID != app.ID || run.TemplateName != "Background check" {
			t.Fatalf("run %+v", run)
		}

		// workflow.update records status, profile URL and metadata; a stale
		// update changes nothing; seconds and milliseconds are both read.
		now := time.Now()
		must(t, partnerClient, "workflow.update", map[string]any{"timestamp": now.Unix(), "external_workflow_id": run.ExternalWorkflowID,
			"external_workflow_status": "in_progress", "metadata": []any{map[string]any{"id": "eta", "value": "3 days", "type": "string", "label": "ETA"}}}, &run)
		must(t, partnerClient, "workflow.update", map[string]any{"timestamp": now.Add(time.Minute).UnixMilli(), "external_workflow_id": run.ExternalWorkflowID,
			"external_workflow_status": "completed", "external_workflow_profile_url": "https://partner.example.com/report/9",
			"metadata": []any{map[string]any{"id": "result", "value": "clear", "label": "Result"}, map[string]any{"id": "eta", "value": "done", "label": "ETA"}}}, &run)
		must(t, partnerClient, "workflow.update", map[string]any{"timestamp": now.Add(30 * time.Second).UnixMilli(), "external_workflow_id": run.ExternalWorkflowID,
			"external_workflow_status": "in_progress"}, &run)
		var got ashby.WorkflowRun
		must(t, c, "workflow.runInfo", map[string]any{"workflowRunId": run.ID}, &got)
		if got.Status != "completed" || got.ProfileURL != "https://partner.example.com/report/9" || len(got.Metadata) != 2 || got.Metadata[0].Value != "done" {
			t.Fatalf("after updates: %+v", got)
		}
		wantCode(t, partnerClient, "workflow.update", map[string]any{"external_workflow_id": "nope", "external_workflow_status": "x"}, "workflow_not_found")
		wantCode(t, partnerClient, "workflow.update", map[string]any{"external_workflow_id": run.ExternalWorkflowID}, "invalid_input")
		wantCode(t, partnerClient, "workflow.update", map[string]any{"external_workflow_id": run.ExternalWorkflowID, "external_workflow_profile_url": "javascript:alert(1)"}, "invalid_input")
		_, otherKey := srv.NewOrg()
		wantCode(t, srv.Client(otherKey), "workflow.update", map[string]any{"external_workflow_id": run.ExternalWorkflowID, "external_workflow_status": "x"}, "workflow_not_found")
		wantCode(t, srv.Client(otherKey), "workflow.runInfo", map[string]any{"workflowRunId": run.ID}, "workflow_not_found")
		var runs []ashby.WorkflowRun
		must(t, c, "workflow.listRuns", map[string]any{"applicationId": app.ID}, &runs)
		if len(runs) != 1 || runs[0].ID != run.ID {
			t.Fatalf("runs %+v", runs)
		}
		// A partner failure is reported, not a 500.
		fp.setAnswer(func(h partnerHit) (int, any) {
			if h.Method == "workflow.start" {
				return 400, map[string]any{"success": false, "errorInfo": map[string]any{"code": "bad_package", "message": "Package unavailable in UK"}}
			}
			return 0, nil
		})
		_, err := c.Call(context.Background(), "workflow.startRun", start([]map[string]any{{"fieldId": "package", "value": "basic"}}), nil)
		if client.Code(err) != "partner_request_failed" || !strings.Contains(err.Error(), "Package unavailable in UK") {
			t.Fatalf("refused start: %v", err)
		}
		wantCode(t, c, "assessment.startForApplication", map[string]any{"applicationId": app.ID, "partnerIntegrationId": p.ID, "assessmentTypeId": "x"}, "partner_integration_not_assessments")
	})
}

func decodeFeeds(t *testing.T, base string) (ashby.FeedDocument, ashby.FeedDocument) {
	t.Helper()
	rj, bj := get(t, base+"/jobs.json", nil)
	rx, bx := get(t, base+"/jobs.xml", nil)
	if rj.StatusCode != 200 || rx.StatusCode != 200 || !strings.HasPrefix(rj.Header.Get("Content-Type"), "application/json") || !strings.HasPrefix(rx.Header.Get("Content-Type"), "application/xml") {
		t.Fatalf("feeds: JSON %d %s / XML %d %s", rj.StatusCode, bj, rx.StatusCode, bx)
	}
	var j, x ashby.FeedDocument
	if err := json.Unmarshal(bj, &j); err != nil {
		t.Fatalf("JSON feed: %v\n%s", err, bj)
	}
	if err := xml.Unmarshal(bx, &x); err != nil {
		t.Fatalf("XML feed: %v\n%s", err, bx)
	}
	return j, x
}

// sameContent compares the two decodings field by field (XML has no
// empty lists, JSON no element names).
func sameContent(t *testing.T, j, x ashby.FeedDocument) {
	t.Helper()
	norm := func(d ashby.FeedDocument) []ashby.FeedJob {
		out := []ashby.FeedJob{}
		for _, job := range d.Jobs {
			if job.Locations == nil {
				job.Locations = []ashby.FeedLocation{}
			}
			for i := range job.CompensationTiers {
				if job.CompensationTiers[i].Components == nil {
					job.CompensationTiers[i].Components = []ashby.FeedCompensationComponent{}
				}
			}
			out = append(out, job)
		}
		return out
	}
	if a, b := norm(j), norm(x); !reflect.DeepEqual(a, b) {
		aj, _ := json.MarshalIndent(a, "", " ")
		bj, _ := json.MarshalIndent(b, "", " ")
		t.Fatalf("JSON and XML feeds differ:\nJSON %s\nXML  %s", aj, bj)
	}
}

var feedTokenRE = regexp.MustCompile(`token \(shown once\): (feed_\S+)`)

func TestE2EPartnerJobFeed(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := startServer(t, engine, testserver.Options{Args: []string{"--files-dir", t.TempDir(), "--partner-feed-refresh", "1s"}})
		out := srv.CLI("partner", "feed", "create", "--name", "jobhub", "--title", "JobHub")
		m := feedTokenRE.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("feed create printed no token:\n%s", out)
		}
		token := m[1]
		base := srv.URL + "/partner-feed/" + token

		a := newPostingFixture(t, srv) // organization A with a published posting
		b := newPostingFixture(t, srv) // organization B
		must(t, a.c, "jobPosting.updateCompensation", map[string]any{"jobPostingId": a.posting.ID, "compensationTiers": []any{
			map[string]any{"title": "Zone A", "components": []any{map[string]any{"compensationType": "Salary", "interval": "1 YEAR", "currencyCode": "EUR", "minValue": 70000, "maxValue": 90000},
				map[string]any{"compensationType": "Bonus", "interval": "1 YEAR"}}}}}, nil)
		var unlisted, hidden ashby.JobPostingInfo
		must(t, a.c, "jobPosting.create", map[string]any{"jobId": a.job.ID, "title": "Unlisted role", "descriptionHtml": "<p>x</p>", "isListed": false, "status": "Published"}, &unlisted)
		var internal ashby.JobBoardSettings
		must(t, a.c, "jobBoard.create", map[string]any{"title": "Internal", "isInternal": true}, &internal)
		must(t, a.c, "jobPosting.create", map[string]any{"jobId": a.job.ID, "title": "Internal role", "descriptionHtml": "<p>x</p>", "status": "Published", "jobBoardId": internal.ID}, nil)
		must(t, b.c, "jobPosting.create", map[string]any{"jobId": b.job.ID, "title": "Quiet pay", "descriptionHtml": "<p>Pay ]]> hidden &amp; <b>bold</b></p>", "status": "Published",
			"shouldDisplayCompensationOnJobBoard": false}, &hidden)

		var feeds []ashby.JobFeed
		must(t, a.c, "jobFeed.list", nil, &feeds)
		if len(feeds) != 1 || feeds[0].Name != "jobhub" || feeds[0].OptedIn {
			t.Fatalf("feeds %+v", feeds)
		}
		feedID := feeds[0].ID

		// No organization opted in: an empty feed.
		j, x := decodeFeeds(t, base)
		if len(j.Jobs) != 0 || len(x.Jobs) != 0 {
			t.Fatalf("feed before opt-in: %+v", j)
		}
		// A opts in through the API: its listed, external postings appear.
		var v ashby.JobFeed
		must(t, a.c, "jobFeed.optIn", map[string]any{"jobFeedId": feedID}, &v)
		if !v.OptedIn || v.OptedInAt == nil {
			t.Fatalf("opt-in %+v", v)
		}
		j, x = decodeFeeds(t, base)
		sameContent(t, j, x)
		if len(j.Jobs) != 1 {
			t.Fatalf("after A's opt-in: %+v", j.Jobs)
		}
		job := j.Jobs[0]
		orgA := job.OrganizationID
		if job.ID != a.posting.ID || job.OrganizationName != "Test "+a.slug || job.Title != a.posting.Title || job.DepartmentName != "Engineering" ||
			job.EmploymentType != "FullTime" || !strings.HasSuffix(job.ExternalLink, "/"+a.posting.ID+"/application") || job.PublishedAt == "" || job.UpdatedAt == "" ||
			len(job.Locations) != 1 || job.Locations[0].LocationName != "Berlin" || !job.Locations[0].IsPrimaryLocation || !strings.Contains(string(job.DescriptionHTML), "<b>things</b>") ||
			strings.Contains(string(job.DescriptionHTML), "script") || len(job.CompensationTiers) != 1 || len(job.CompensationTiers[0].Components) != 2 {
			t.Fatalf("feed job %+v", job)
		}
		var raw struct {
			Jobs []map[string]any `json:"jobs"`
		}
		_, body := get(t, base+"/jobs.json", nil)
		json.Unmarshal(body, &raw)
		for _, k := range []string{"id", "organizationId", "organizationName", "title", "departmentName", "descriptionPlain", "descriptionHtml", "employmentType",
			"externalLink", "updatedAt", "publishedAt", "locations", "compensationTiers"} {
			if _, ok := raw.Jobs[0][k]; !ok {
				t.Errorf("feed job lacks %s", k)
			}
		}

		// B opts in through the command line: both organizations; B's
		// posting that hides its pay carries none, and its "]]>" survives
		// the XML's CDATA.
		srv.CLI("partner", "feed", "opt-in", "--org", b.slug, "jobhub")
		j, x = decodeFeeds(t, base)
		sameContent(t, j, x)
		if len(j.Jobs) != 3 {
			t.Fatalf("after B's opt-in, %d jobs", len(j.Jobs))
		}
		for _, job := range j.Jobs {
			if job.ID == hidden.ID && (job.CompensationTiers != nil || !strings.Contains(string(job.DescriptionPlain), "]]>")) {
				t.Fatalf("B's hidden-pay posting: %+v", job)
			}
			if job.ID == unlisted.ID {
				t.Fatal("an unlisted posting is in the feed")
			}
		}

		// ETag and 304, gzip, HEAD.
		resp, body := get(t, base+"/jobs.xml", nil)
		etag := resp.Header.Get("ETag")
		r304, b304 := get(t, base+"/jobs.xml", map[string]string{"If-None-Match": etag})
		if etag == "" || r304.StatusCode != http.StatusNotModified || len(b304) != 0 {
			t.Fatalf("If-None-Match: %d %q", r304.StatusCode, etag)
		}
		rgz, bgz := get(t, base+"/jobs.xml", map[string]string{"Accept-Encoding": "gzip"})
		zr, err := gzip.NewReader(bytes.NewReader(bgz))
		if err != nil || rgz.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("gzip: %v %v", err, rgz.Header)
		}
		plain, _ := io.ReadAll(zr)
		if !bytes.Equal(plain, body) || !strings.HasPrefix(string(body), "<?xml") {
			t.Fatal("gzip body differs from the identity body")
		}
		if r, _ := get(t, base+"/jobs.json", map[string]string{"If-None-Match": resp.Header.Get("ETag")}); r.StatusCode != 200 {
			t.Fatalf("the XML ETag matched the JSON feed: %d", r.StatusCode)
		}

		// Posting changes show within the refresh interval (1s here).
		must(t, a.c, "jobPosting.update", map[string]any{"jobPostingId": a.posting.ID, "title": "Senior Backend Engineer (Go)"}, nil)
		waitUntil(t, "the retitled posting in the feed", 10*time.Second, func() bool {
			j, _ := decodeFeeds(t, base)
			for _, job := range j.Jobs {
				if job.ID == a.posting.ID {
					return job.Title == "Senior Backend Engineer (Go)"
				}
			}
			return false
		})
		r2, _ := get(t, base+"/jobs.xml", map[string]string{"If-None-Match": etag})
		if r2.StatusCode != 200 {
			t.Fatalf("a changed feed answered %d to its old ETag", r2.StatusCode)
		}

		// Opting out takes A's postings out at once.
		must(t, a.c, "jobFeed.optOut", map[string]any{"jobFeedId": feedID}, &v)
		j, x = decodeFeeds(t, base)
		sameContent(t, j, x)
		for _, job := range j.Jobs {
			if job.OrganizationID == orgA {
				t.Fatal("an opted-out organization's posting is in the feed")
			}
		}
		if len(j.Jobs) != 2 || v.OptedIn {
			t.Fatalf("after A's opt-out: %d jobs, %+v", len(j.Jobs), v)
		}

		// Unknown tokens, unknown files, rotated tokens: 404, no API key needed.
		for _, u := range []string{srv.URL + "/partner-feed/feed_nope/jobs.json", base + "/jobs.csv", srv.URL + "/partner-feed/" + base64.RawURLEncoding.EncodeToString([]byte("x")) + "/jobs.xml"} {
			if r, body := get(t, u, nil); r.StatusCode != 404 || !strings.Contains(string(body), "job_feed_not_found") {
				t.Fatalf("GET %s: %d %s", u, r.StatusCode, body)
			}
		}
		wantCode(t, a.c, "jobFeed.optIn", map[string]any{"jobFeedId": ashby.NewID()}, "job_feed_not_found")
		out = srv.CLI("partner", "feed", "rotate-token", "jobhub")
		if r, _ := get(t, base+"/jobs.json", nil); r.StatusCode != 404 {
			t.Fatalf("the old token still reads the feed: %d\n%s", r.StatusCode, out)
		}
		newToken := regexp.MustCompile(`(feed_\S+)`).FindString(out)
		if r, _ := get(t, srv.URL+"/partner-feed/"+newToken+"/jobs.json", nil); r.StatusCode != 200 {
			t.Fatalf("the new token: %d", r.StatusCode)
		}
		if list := srv.CLI("partner", "feed", "list"); !strings.Contains(list, "jobhub") || !strings.Contains(list, b.slug) || strings.Contains(list, a.slug) {
			t.Fatalf("feed list:\n%s", list)
		}
	})
}

// application.transfer runs the new stage's automatic actions unless told
// not to with startAutomaticActivities: false.
func TestE2EAssessmentStartOnTransfer(t *testing.T) {
	t.Parallel()
	srv := startServer(t, store.SQLite, testserver.Options{Args: append([]string{"--partners=false"}, partnerServerArgs...)})
	_, key := srv.NewOrg()
	c := srv.Client(key)
	f := newFixture(t, c)
	fp := newFakePartner(t, "k")
	var p ashby.PartnerIntegration
	must(t, c, "partnerIntegration.create", map[string]any{"title": "P", "baseUrl": fp.URL, "partnerKey": "k"}, &p)
	must(t, c, "partnerIntegration.sync", map[string]any{"partnerIntegrationId": p.ID}, nil)
	stage := f.stageByTyp["Active"]
	must(t, c, "assessment.createStageTrigger", map[string]any{"interviewStageId": stage.ID, "partnerIntegrationId": p.ID, "assessmentTypeId": "sql-quiz",
		"additionalFields": map[string]any{"level": "junior"}}, nil)
	var other ashby.Job
	must(t, c, "job.create", map[string]any{"title": "Second role", "teamId": f.dept, "locationId": f.loc, "defaultInterviewPlanId": f.job.DefaultInterviewPlanID}, &other)
	quiet := partnerApp(t, f, "Quiet Transfer")
	must(t, c, "application.transfer", map[string]any{"applicationId": quiet.ID, "jobId": other.ID, "interviewPlanId": f.job.DefaultInterviewPlanID,
		"interviewStageId": stage.ID, "startAutomaticActivities": false}, nil)
	if starts := listStarts(t, c, quiet.ID); len(starts) != 0 {
		t.Fatalf("startAutomaticActivities false still started: %+v", starts)
	}
	loud := partnerApp(t, f, "Default Transfer")
	must(t, c, "application.transfer", map[string]any{"applicationId": loud.ID, "jobId": other.ID, "interviewPlanId": f.job.DefaultInterviewPlanID,
		"interviewStageId": stage.ID}, nil)
	if starts := listStarts(t, c, loud.ID); len(starts) != 1 {
		t.Fatalf("a transfer into the trigger stage should start one assessment: %+v", starts)
	}
}
