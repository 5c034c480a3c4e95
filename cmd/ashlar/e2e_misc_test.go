package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

func TestE2ECustomFieldValues(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{})
		_, key := srv.NewOrg()
		c := srv.Client(key)
		f := newFixture(t, c)
		var cand ashby.Candidate
		must(t, c, "candidate.create", map[string]any{"name": "Ada Lovelace", "email": "ada@example.com"}, &cand)
		var app ashby.Application
		must(t, c, "application.create", map[string]any{"candidateId": cand.ID, "jobId": f.job.ID}, &app)

		field := func(req map[string]any) ashby.CustomField {
			var cf ashby.CustomField
			must(t, c, "customField.create", req, &cf)
			return cf
		}
		years := field(map[string]any{"title": "Years", "fieldType": "Number", "objectType": "Candidate"})
		auth := field(map[string]any{"title": "Work authorization", "fieldType": "ValueSelect", "objectType": "Candidate",
			"selectableValues": []map[string]string{{"label": "Authorized", "value": "authorized"}, {"label": "Needs sponsorship", "value": "sponsorship"}}})
		langs := field(map[string]any{"title": "Languages", "fieldType": "MultiValueSelect", "objectType": "Candidate",
			"selectableValues": []map[string]string{{"label": "Go", "value": "go"}, {"label": "Rust", "value": "rust"}}})
		priority := field(map[string]any{"title": "Priority", "fieldType": "ValueSelect", "objectType": "Application",
			"selectableValues": []map[string]string{{"label": "High", "value": "high"}, {"label": "Low", "value": "low"}}})
		budget := field(map[string]any{"title": "Budget", "fieldType": "CompensationRange", "objectType": "Job"})

		// A select value is stored as the option value, with its label.
		var v ashby.CustomFieldValue
		must(t, c, "customField.setValue", map[string]any{"objectType": "Candidate", "objectId": cand.ID, "fieldId": auth.ID, "fieldValue": "sponsorship"}, &v)
		if v.Value != "sponsorship" || v.ValueLabel != "Needs sponsorship" || v.Title != "Work authorization" {
			t.Fatalf("setValue: %+v", v)
		}
		wantCode(t, c, "customField.setValue", map[string]any{"objectType": "Candidate", "objectId": cand.ID, "fieldId": auth.ID, "fieldValue": "Authorized"}, "invalid_input")
		wantCode(t, c, "customField.setValue", map[string]any{"objectType": "Candidate", "objectId": cand.ID, "fieldId": years.ID, "fieldValue": "ten"}, "invalid_input")
		wantCode(t, c, "customField.setValue", map[string]any{"objectType": "Application", "objectId": app.ID, "fieldId": years.ID, "fieldValue": 3}, "invalid_input")
		wantCode(t, c, "customField.setValue", map[string]any{"objectType": "Candidate", "objectId": cand.ID, "fieldId": ashby.NewID(), "fieldValue": 3}, "custom_field_not_found")
		wantCode(t, c, "customField.setValue", map[string]any{"objectType": "Candidate", "objectId": ashby.NewID(), "fieldId": years.ID, "fieldValue": 3}, "candidate_not_found")

		// setValues is atomic: one bad value and nothing is written.
		_, err := c.Call(context.Background(), "customField.setValues", map[string]any{"objectType": "Candidate", "objectId": cand.ID, "values": []map[string]any{
			{"fieldId": years.ID, "fieldValue": 12}, {"fieldId": langs.ID, "fieldValue": []string{"go", "cobol"}}}}, nil)
		if client.Code(err) != "invalid_input" {
			t.Fatalf("setValues with a bad option: %v", err)
		}
		must(t, c, "candidate.info", map[string]any{"id": cand.ID}, &cand)
		if len(cand.CustomFields) != 1 {
			t.Fatalf("a failed setValues wrote values: %+v", cand.CustomFields)
		}
		var vals []ashby.CustomFieldValue
		must(t, c, "customField.setValues", map[string]any{"objectType": "Candidate", "objectId": cand.ID, "values": []map[string]any{
			{"fieldId": years.ID, "fieldValue": 12}, {"fieldId": langs.ID, "fieldValue": []string{"rust", "go"}}, {"fieldId": auth.ID, "fieldValue": nil}}}, &vals)
		must(t, c, "candidate.info", map[string]any{"id": cand.ID}, &cand)
		byID := map[string]ashby.CustomFieldValue{}
		for _, cf := range cand.CustomFields {
			byID[cf.ID] = cf
		}
		if len(cand.CustomFields) != 2 || byID[years.ID].Value != 12.0 || byID[auth.ID].ID != "" {
			t.Fatalf("after setValues (null clears): %+v", cand.CustomFields)
		}
		if l, _ := byID[langs.ID].ValueLabel.([]any); len(l) != 2 || l[0] != "Rust" {
			t.Fatalf("multi-select labels: %+v", byID[langs.ID])
		}

		// Application values are visible in application.list (and fire applicationUpdate).
		must(t, c, "customField.setValue", map[string]any{"objectType": "Application", "objectId": app.ID, "fieldId": priority.ID, "fieldValue": "high"}, nil)
		var apps []ashby.Application
		must(t, c, "application.list", map[string]any{"jobId": f.job.ID}, &apps)
		if len(apps) != 1 || len(apps[0].CustomFields) != 1 || apps[0].CustomFields[0].Value != "high" {
			t.Fatalf("application custom fields: %+v", apps)
		}

		// Job compensation range.
		wantCode(t, c, "customField.setValue", map[string]any{"objectType": "Job", "objectId": f.job.ID, "fieldId": budget.ID,
			"fieldValue": map[string]any{"minValue": 10, "maxValue": 5, "currencyCode": "EUR", "interval": "1 YEAR"}}, "invalid_input")
		must(t, c, "customField.setValue", map[string]any{"objectType": "Job", "objectId": f.job.ID, "fieldId": budget.ID,
			"fieldValue": map[string]any{"minValue": 90000, "maxValue": 120000, "currencyCode": "eur", "interval": "1 YEAR"}}, &v)
		if m, _ := v.Value.(map[string]any); m["type"] != "compensation-range" || m["currencyCode"] != "EUR" {
			t.Fatalf("compensation range: %+v", v.Value)
		}

		// updateSelectableValues merges by value and archives omitted options.
		var updated ashby.CustomField
		must(t, c, "customField.updateSelectableValues", map[string]any{"customFieldId": priority.ID, "selectableValues": []map[string]any{
			{"label": "Urgent", "value": "high"}, {"label": "Medium", "value": "medium"}}}, &updated)
		opts := map[string]ashby.SelectableValue{}
		for _, o := range updated.SelectableValues {
			opts[o.Value] = o
		}
		if len(opts) != 3 || opts["high"].Label != "Urgent" || !opts["low"].IsArchived || opts["medium"].IsArchived {
			t.Fatalf("merged options: %+v", updated.SelectableValues)
		}
		wantCode(t, c, "customField.setValue", map[string]any{"objectType": "Application", "objectId": app.ID, "fieldId": priority.ID, "fieldValue": "low"}, "invalid_input")
		wantCode(t, c, "customField.updateSelectableValues", map[string]any{"customFieldId": years.ID, "selectableValues": []map[string]any{{"label": "x", "value": "x"}}}, "invalid_input")

		// Users take Employee fields.
		level := field(map[string]any{"title": "Level", "fieldType": "String", "objectType": "Employee"})
		var users []ashby.User
		must(t, c, "user.list", nil, &users)
		must(t, c, "user.setCustomFieldValue", map[string]any{"userId": users[0].ID, "fieldId": level.ID, "fieldValue": "L5"}, nil)
		var u ashby.User
		must(t, c, "user.info", map[string]any{"userId": users[0].ID}, &u)
		if len(u.CustomFields) != 1 || u.CustomFields[0].Value != "L5" {
			t.Fatalf("user custom fields: %+v", u.CustomFields)
		}
		wantCode(t, c, "user.setCustomFieldValues", map[string]any{"userId": users[0].ID, "values": []map[string]any{{"fieldId": years.ID, "fieldValue": 1}}}, "invalid_input")
	})
}

func TestE2EProjectsAndCandidateRecords(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{})
		_, key := srv.NewOrg()
		c := srv.Client(key)
		var cand ashby.Candidate
		must(t, c, "candidate.create", map[string]any{"name": "Grace Hopper", "email": "grace@example.com"}, &cand)
		var p1, p2 ashby.Project
		must(t, c, "project.create", map[string]any{"title": "Compiler experts"}, &p1)
		must(t, c, "project.create", map[string]any{"title": "Navy alumni", "description": "Silver medalists"}, &p2)
		must(t, c, "candidate.addProject", map[string]any{"candidateId": cand.ID, "projectId": p1.ID}, nil)
		must(t, c, "candidate.addProject", map[string]any{"candidateId": cand.ID, "projectId": p2.ID}, nil)
		must(t, c, "candidate.addProject", map[string]any{"candidateId": cand.ID, "projectId": p2.ID}, nil) // idempotent
		var projects []ashby.Project
		res := must(t, c, "candidate.listProjects", map[string]any{"candidateId": cand.ID}, &projects)
		if len(projects) != 2 || projects[0].ID != p1.ID || res.SyncToken == "" {
			t.Fatalf("listProjects: %+v", projects)
		}
		must(t, c, "candidate.removeProject", map[string]any{"candidateId": cand.ID, "projectId": p1.ID}, nil)
		must(t, c, "candidate.listProjects", map[string]any{"candidateId": cand.ID}, &projects)
		if len(projects) != 1 || projects[0].ID != p2.ID {
			t.Fatalf("after removeProject: %+v", projects)
		}
		wantCode(t, c, "candidate.addProject", map[string]any{"candidateId": cand.ID, "projectId": ashby.NewID()}, "project_not_found")
		must(t, c, "project.search", map[string]any{"title": "NAVY"}, &projects)
		if len(projects) != 1 || projects[0].ID != p2.ID {
			t.Fatalf("project.search: %+v", projects)
		}
		var got ashby.Project
		must(t, c, "project.info", map[string]any{"projectId": p2.ID}, &got)
		if got.Description != "Silver medalists" || got.AuthorID == "" {
			t.Fatalf("project.info: %+v", got)
		}
		wantCode(t, c, "project.info", map[string]any{"projectId": "nope"}, "project_not_found")
		must(t, c, "project.list", map[string]any{"createdAfter": p1.CreatedAt.UnixMilli()}, &projects)
		if len(projects) != 1 || projects[0].ID != p2.ID {
			t.Fatalf("project.list createdAfter: %+v", projects)
		}

		// Fraud status: settable values only; each change is a fraud check.
		wantCode(t, c, "candidate.setFraudStatus", map[string]any{"candidateId": cand.ID, "fraudStatus": "PassedFraudCheck"}, "invalid_input")
		must(t, c, "candidate.setFraudStatus", map[string]any{"candidateId": cand.ID, "fraudStatus": "Fraudulent"}, &cand)
		if cand.FraudStatus == nil || *cand.FraudStatus != "Fraudulent" {
			t.Fatalf("fraud status: %v", cand.FraudStatus)
		}
		must(t, c, "candidate.setFraudStatus", map[string]any{"candidateId": cand.ID, "fraudStatus": "NotFraudulent"}, nil)
		var checks []ashby.FraudCheck
		must(t, c, "candidate.listFraudChecks", map[string]any{"candidateId": cand.ID}, &checks)
		if len(checks) != 2 || checks[1].FraudSignals[0].Value != "NotFraudulent" {
			t.Fatalf("fraud checks: %+v", checks)
		}

		// Email messages.
		var users []ashby.User
		must(t, c, "user.list", nil, &users)
		var msg ashby.EmailMessage
		must(t, c, "candidate.addEmailMessage", map[string]any{"candidateId": cand.ID, "emailProviderEmailId": "gmail-1", "subject": "Hello",
			"from": "Admin <" + users[0].Email + ">", "to": "grace@example.com", "body": "Hi Grace", "userId": users[0].ID}, &msg)
		if !msg.UserIsSender || msg.ThreadID != "gmail-1" || msg.SentAt.IsZero() {
			t.Fatalf("email message: %+v", msg)
		}
		wantCode(t, c, "candidate.addEmailMessage", map[string]any{"candidateId": cand.ID, "emailProviderEmailId": "gmail-1", "subject": "Hello",
			"from": "x@example.com", "to": "grace@example.com", "body": "again"}, "email_message_already_exists")

		// Client info is empty for applications created over the API.
		var info []ashby.ClientInfo
		must(t, c, "candidate.listClientInfo", map[string]any{"candidateId": cand.ID}, &info)
		if len(info) != 0 {
			t.Fatalf("client info: %+v", info)
		}
	})
}

func TestE2ESurveysReferralsAndAssessments(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{})
		_, key := srv.NewOrg()
		c := srv.Client(key)
		f := newFixture(t, c)

		// Referral: the form exists from the first call on, and a referral
		// creates a candidate and an application credited to the referrer.
		var form ashby.ReferralForm
		must(t, c, "referralForm.info", nil, &form)
		var again ashby.ReferralForm
		must(t, c, "referralForm.info", nil, &again)
		if form.ID == "" || form.ID != again.ID || !form.IsDefaultForm {
			t.Fatalf("referral form: %+v / %+v", form, again)
		}
		var users []ashby.User
		must(t, c, "user.list", nil, &users)
		subs := []map[string]any{
			{"path": "_systemfield_job", "value": map[string]any{"title": f.job.Title, "value": f.job.ID}},
			{"path": "_systemfield_name", "value": "Katherine Johnson"},
			{"path": "_systemfield_email", "value": "katherine@example.com"},
			{"path": "relationship", "value": "former_colleague"},
		}
		var app ashby.Application
		must(t, c, "referral.create", map[string]any{"id": form.ID, "creditedToUserId": users[0].ID, "fieldSubmissions": subs}, &app)
		if app.Source == nil || app.Source.Title != "Referral" || app.CreditedToUser == nil || app.CreditedToUser.ID != users[0].ID || app.Job.ID != f.job.ID {
			t.Fatalf("referral application: %+v", app)
		}
		var withRefs map[string]any
		must(t, c, "application.info", map[string]any{"applicationId": app.ID, "expand": []string{"referrals"}}, &withRefs)
		if refs, _ := withRefs["referrals"].([]any); len(refs) != 1 {
			t.Fatalf("referrals expansion: %v", withRefs["referrals"])
		}
		_, err := c.Call(context.Background(), "referral.create", map[string]any{"id": form.ID, "creditedToUserId": users[0].ID,
			"fieldSubmissions": []map[string]any{{"path": "_systemfield_name", "value": "No Job"}}}, nil)
		var apiErr *client.Error
		if !asError(err, &apiErr) || apiErr.Code != "invalid_input" || !strings.Contains(apiErr.Message, "_systemfield_job") {
			t.Fatalf("referral without job and email: %v", err)
		}
		wantCode(t, c, "referral.create", map[string]any{"id": ashby.NewID(), "creditedToUserId": users[0].ID, "fieldSubmissions": subs}, "referral_form_not_found")

		// Surveys: default forms exist; submissions are validated.
		var surveyForms []ashby.SurveyFormDefinition
		must(t, c, "surveyFormDefinition.list", nil, &surveyForms)
		byType := map[string]ashby.SurveyFormDefinition{}
		for _, sf := range surveyForms {
			byType[sf.SurveyType] = sf
		}
		for _, typ := range ashby.SurveyTypes {
			if _, ok := byType[typ]; !ok {
				t.Fatalf("no default %s survey: %+v", typ, surveyForms)
			}
		}
		ce := byType["CandidateExperience"]
		var sr ashby.SurveyRequest
		must(t, c, "surveyRequest.create", map[string]any{"candidateId": app.Candidate.ID, "applicationId": app.ID, "surveyFormDefinitionId": ce.ID}, &sr)
		if !strings.HasPrefix(sr.SurveyURL, srv.URL+"/") {
			t.Fatalf("survey URL %q is not on this server", sr.SurveyURL)
		}
		var requests []ashby.SurveyRequest
		must(t, c, "surveyRequest.list", map[string]any{"surveyType": "CandidateExperience", "applicationId": app.ID}, &requests)
		if len(requests) != 1 || requests[0].ID != sr.ID {
			t.Fatalf("surveyRequest.list: %+v", requests)
		}
		wantCode(t, c, "surveyRequest.list", map[string]any{}, "invalid_input")
		wantCode(t, c, "surveySubmission.create", map[string]any{"candidateId": app.Candidate.ID, "applicationId": app.ID, "surveyFormDefinitionId": ce.ID,
			"submittedValues": map[string]any{"comments": "no score"}}, "invalid_input")
		wantCode(t, c, "surveySubmission.create", map[string]any{"candidateId": app.Candidate.ID, "applicationId": app.ID, "surveyFormDefinitionId": ce.ID,
			"submittedValues": map[string]any{"overall_experience": map[string]any{"score": 9}}}, "invalid_input")
		var sub ashby.SurveySubmission
		must(t, c, "surveySubmission.create", map[string]any{"candidateId": app.Candidate.ID, "applicationId": app.ID, "surveyFormDefinitionId": ce.ID,
			"submittedValues": map[string]any{"overall_experience": map[string]any{"score": 4}, "process_was_clear": "agree"}}, &sub)
		if sub.SurveyType != "CandidateExperience" || sub.SubmittedValues["process_was_clear"] != "agree" {
			t.Fatalf("submission: %+v", sub)
		}
		must(t, c, "surveySubmission.create", map[string]any{"candidateId": app.Candidate.ID, "applicationId": app.ID, "surveyFormDefinitionId": byType["EEOC"].ID,
			"submittedValues": map[string]any{"gender": "decline_to_self_identify"}}, nil)
		var subsCE, subsQ []ashby.SurveySubmission
		must(t, c, "surveySubmission.list", map[string]any{"surveyType": "CandidateExperience"}, &subsCE)
		must(t, c, "surveySubmission.list", map[string]any{"surveyType": "Questionnaire"}, &subsQ)
		if len(subsCE) != 1 || len(subsQ) != 0 {
			t.Fatalf("submission lists: %d CandidateExperience, %d Questionnaire", len(subsCE), len(subsQ))
		}

		// Assessments: a started assessment progresses, completes, and
		// ignores stale updates.
		var a ashby.Assessment
		aid := ashby.NewID()
		must(t, c, "assessment.create", map[string]any{"candidateId": app.Candidate.ID, "applicationId": app.ID, "assessmentTypeId": ashby.NewID(), "assessmentId": aid, "assessmentName": "Take-home"}, &a)
		now := time.Now().UnixMilli()
		status := func(v string) map[string]any {
			return map[string]any{"identifier": "status", "label": "Status", "type": "string", "value": v}
		}
		must(t, c, "assessment.update", map[string]any{"assessment_id": aid, "timestamp": now, "assessment_status": status("Started")}, &a)
		if a.Status != "Started" || a.StartedAt == nil {
			t.Fatalf("started: %+v", a)
		}
		wantCode(t, c, "assessment.update", map[string]any{"assessment_id": aid, "timestamp": now + 1, "assessment_status": status("Done"),
			"assessment_result": map[string]any{"identifier": "score", "label": "Score", "type": "numeric_score", "value": 90}}, "invalid_input")
		wantCode(t, c, "assessment.update", map[string]any{"assessment_id": aid, "timestamp": now + 1,
			"assessment_status": map[string]any{"identifier": "ok", "label": "OK", "type": "boolean_success", "value": "yes"}}, "invalid_input")
		wantCode(t, c, "assessment.update", map[string]any{"assessment_id": ashby.NewID(), "timestamp": now, "assessment_status": status("Started")}, "assessment_not_found")
		must(t, c, "assessment.update", map[string]any{"assessment_id": aid, "timestamp": now + 2, "assessment_status": status("Done"),
			"assessment_result":      map[string]any{"identifier": "score", "label": "Score", "type": "numeric_score", "value": 90},
			"assessment_profile_url": map[string]any{"identifier": "url", "label": "Report", "type": "url", "value": "https://partner.example.com/r/1"}}, &a)
		must(t, c, "assessment.update", map[string]any{"assessment_id": aid, "timestamp": now + 1, "assessment_status": status("Stale")}, &a)
		if a.Status != "Completed" || a.AssessmentResult == nil || a.AssessmentStatus.Value != "Done" {
			t.Fatalf("completed (and a stale update ignored): %+v", a)
		}
		var done ashby.CompletedAssessment
		must(t, c, "assessment.addCompletedToCandidate", map[string]any{"candidateId": app.Candidate.ID, "partnerId": ashby.NewID(), "timestamp": now,
			"assessment": map[string]any{"assessmentTypeId": ashby.NewID(), "assessmentId": ashby.NewID(), "assessmentName": "Aptitude",
				"result": map[string]any{"identifier": "pass", "label": "Passed", "type": "boolean_success", "value": true}, "metadata": []any{}}}, &done)
		if done.ApplicationID != app.ID {
			t.Fatalf("completed assessment not attached to the open application: %+v", done)
		}
		var list []ashby.Assessment
		must(t, c, "candidate.listAssessments", map[string]any{"candidateId": app.Candidate.ID}, &list)
		if len(list) != 2 {
			t.Fatalf("assessments: %+v", list)
		}

		// Criteria evaluations: Ashlar has no AI review; the list is empty.
		var evals []json.RawMessage
		res := must(t, c, "application.listCriteriaEvaluations", map[string]any{"applicationId": app.ID}, &evals)
		if len(evals) != 0 || res.MoreDataAvailable {
			t.Fatalf("criteria evaluations: %s", evals)
		}

		// Communication templates gate archive emails.
		var tmpl, inmail ashby.CommunicationTemplate
		must(t, c, "communicationTemplate.create", map[string]any{"title": "Rejection", "subject": "Your application"}, &tmpl)
		must(t, c, "communicationTemplate.create", map[string]any{"title": "Sourcing", "intendedTypes": []string{"inMail"}}, &inmail)
		var templates []ashby.CommunicationTemplate
		must(t, c, "communicationTemplate.list", nil, &templates)
		if len(templates) != 2 {
			t.Fatalf("templates: %+v", templates)
		}
		archive := func(tid string) map[string]any {
			return map[string]any{"applicationId": app.ID, "interviewStageId": f.stageByTyp["Archived"].ID, "archiveReasonId": f.reasons[0].ID,
				"archiveEmail": map[string]any{"communicationTemplateId": tid}}
		}
		wantCode(t, c, "application.changeStage", archive(inmail.ID), "communication_template_not_allowed")
		must(t, c, "communicationTemplate.setArchived", map[string]any{"communicationTemplateId": tmpl.ID, "isArchived": true}, nil)
		wantCode(t, c, "application.changeStage", archive(tmpl.ID), "communication_template_not_allowed")
		must(t, c, "communicationTemplate.list", nil, &templates)
		if len(templates) != 1 {
			t.Fatalf("archived template still listed: %+v", templates)
		}
		must(t, c, "communicationTemplate.setArchived", map[string]any{"communicationTemplateId": tmpl.ID, "isArchived": false}, nil)
		must(t, c, "application.changeStage", archive(tmpl.ID), &app)
		if app.Status != "Archived" {
			t.Fatalf("archived with email: %+v", app.Status)
		}
	})
}

// rawPost calls an endpoint and returns the HTTP status, Retry-After and
// the decoded envelope, without the client's retries.
func rawPost(t *testing.T, url, key, endpoint string, req any) (int, string, map[string]any) {
	t.Helper()
	status, retry, env, err := postEnvelope(url, key, endpoint, req)
	if err != nil {
		t.Fatal(err)
	}
	return status, retry, env
}

// postEnvelope is rawPost for goroutines, which must not call t.Fatal.
func postEnvelope(url, key, endpoint string, req any) (int, string, map[string]any, error) {
	b, _ := json.Marshal(req)
	r, _ := http.NewRequest(http.MethodPost, url+"/"+endpoint, strings.NewReader(string(b)))
	r.SetBasicAuth(key, "")
	r.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		return 0, "", nil, err
	}
	defer res.Body.Close()
	var env map[string]any
	if err := json.NewDecoder(res.Body).Decode(&env); err != nil {
		return res.StatusCode, "", nil, fmt.Errorf("%s: HTTP %d, undecodable body: %w", endpoint, res.StatusCode, err)
	}
	return res.StatusCode, res.Header.Get("Retry-After"), env, nil
}

func TestE2EReports(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{})
		slug, key := srv.NewOrg()
		c := srv.Client(key)
		f := newFixture(t, c)
		for i, name := range []string{"Ada", "Grace", "Alan"} {
			var cand ashby.Candidate
			must(t, c, "candidate.create", map[string]any{"name": name}, &cand)
			var app ashby.Application
			must(t, c, "application.create", map[string]any{"candidateId": cand.ID, "jobId": f.job.ID, "sourceId": f.sources[0].ID}, &app)
			if i == 0 {
				must(t, c, "application.changeStage", map[string]any{"applicationId": app.ID, "interviewStageId": f.stageByTyp["Hired"].ID}, nil)
			}
		}
		var defs []ashby.ReportDefinition
		must(t, c, "report.list", nil, &defs)
		if len(defs) < 3 {
			t.Fatalf("report.list: %+v", defs)
		}
		pipeline, hires := defs[1], defs[2]

		// Synchronous: complete, with the header row by default.
		var res ashby.ReportResult
		must(t, c, "report.synchronous", map[string]any{"reportId": pipeline.ID}, &res)
		if res.Status != "complete" || res.ReportData == nil || len(res.ReportData.Data) != 2 || res.ReportData.Data[0][0] != "Job" {
			t.Fatalf("pipeline report: %+v", res)
		}
		row := res.ReportData.Data[1]
		if row[0] != f.job.Title || row[2] != 2.0 || row[4] != 1.0 || row[6] != 3.0 {
			t.Fatalf("pipeline row: %v", row)
		}
		// Generate: in progress, then complete when polled.
		must(t, c, "report.generate", map[string]any{"reportId": hires.ID, "includeHeadersInData": false}, &res)
		if res.Status != "in_progress" || !strings.HasPrefix(res.RequestID, "rep_result:") || res.ReportData != nil {
			t.Fatalf("generate: %+v", res)
		}
		id := res.RequestID
		for deadline := time.Now().Add(20 * time.Second); res.Status == "in_progress" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			must(t, c, "report.generate", map[string]any{"reportId": hires.ID, "requestId": id}, &res)
		}
		if res.Status != "complete" || len(res.ReportData.Data) != 1 || res.ReportData.Data[0][2] != 1.0 || res.ReportData.Metadata.Title != hires.Title {
			t.Fatalf("polled hires report: %+v", res)
		}
		wantCode(t, c, "report.generate", map[string]any{"reportId": pipeline.ID, "requestId": id}, "invalid_input")
		wantCode(t, c, "report.generate", map[string]any{"reportId": hires.ID, "requestId": "rep_result:nope"}, "report_request_not_found")
		wantCode(t, c, "report.synchronous", map[string]any{"reportId": ashby.NewID()}, "report_not_found")

		// 15 starts a minute per organization, counted in the database:
		// two processes on one database share the budget.
		second := srv
		if engine == store.Postgres {
			second = testserver.Start(t, engine, testserver.Options{DSN: srv.DSN})
		}
		var wg sync.WaitGroup
		codes := make(chan string, 20)
		// At most two runs at once, whatever the machine's speed (three
		// running is a limit of its own): a slot is given back only once
		// its run has completed.
		inFlight := make(chan struct{}, 2)
		for i := 0; i < 13; i++ { // 2 starts so far; 13 more reach the limit
			wg.Add(1)
			inFlight <- struct{}{}
			go func(i int) {
				defer wg.Done()
				defer func() { <-inFlight }()
				url := srv.URL
				if i%2 == 1 {
					url = second.URL
				}
				status, _, env, err := postEnvelope(url, key, "report.generate", map[string]any{"reportId": pipeline.ID})
				if err != nil || status != http.StatusOK || env["success"] != true {
					codes <- fmt.Sprintf("HTTP %d %v %v", status, env, err)
					return
				}
				res, _ := env["results"].(map[string]any)
				for deadline := time.Now().Add(20 * time.Second); res["status"] == "in_progress"; time.Sleep(20 * time.Millisecond) {
					if time.Now().After(deadline) {
						codes <- "a report run did not complete"
						return
					}
					_, _, env, err = postEnvelope(url, key, "report.generate", map[string]any{"reportId": pipeline.ID, "requestId": res["requestId"]})
					if err != nil || env["success"] != true {
						codes <- fmt.Sprintf("polling: %v %v", env, err)
						return
					}
					res, _ = env["results"].(map[string]any)
				}
			}(i)
		}
		wg.Wait()
		close(codes)
		for code := range codes {
			t.Fatalf("a start within the limit failed: %s", code)
		}
		status, retry, env := rawPost(t, second.URL, key, "report.synchronous", map[string]any{"reportId": pipeline.ID})
		info, _ := env["errorInfo"].(map[string]any)
		if status != http.StatusTooManyRequests || info["code"] != "rate_limit_exceeded" || retry == "" {
			t.Fatalf("16th start in a minute: HTTP %d, Retry-After %q, %v", status, retry, env)
		}
		// Polling is not limited.
		must(t, c, "report.generate", map[string]any{"reportId": hires.ID, "requestId": id}, &res)
		// Another organization has its own budget.
		_, key2 := srv.NewOrg()
		if status, _, _ := rawPost(t, srv.URL, key2, "report.synchronous", map[string]any{"reportId": pipeline.ID}); status != http.StatusOK {
			t.Fatalf("another organization was limited: HTTP %d", status)
		}
		_ = slug
	})
}
