package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/files"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
)

// thOrg is an organization with a job, an application, a take-home
// interview and two reviewers, driven through the endpoint table as a
// client would.
type thOrg struct {
	t         *testing.T
	s         *Service
	api       *rpc.API
	db        *store.DB
	org       *store.Org
	call      *rpc.Call
	fs        *files.Store
	app       ashby.Application
	interview ashby.Interview
	ada, bob  ashby.User
	stages    []ashby.InterviewStage
}

func newTHOrg(t *testing.T, db *store.DB, s *Service, fs *files.Store, slug string) *thOrg {
	t.Helper()
	ctx := context.Background()
	org, err := s.CreateOrg(ctx, slug, "Org "+slug)
	if err != nil {
		t.Fatal(err)
	}
	o := &thOrg{t: t, s: s, api: s.API(), db: db, org: org, fs: fs,
		call: &rpc.Call{Principal: &rpc.Principal{OrgID: org.ID, KeyID: ashby.NewID(), KeyTitle: "test", Permissions: ashby.AllPermissions}, RequestID: "test"}}
	var dept ashby.Department
	o.must("department.create", map[string]any{"name": "Engineering"}, &dept)
	var loc ashby.Location
	o.must("location.create", map[string]any{"name": "Berlin", "type": "Location"}, &loc)
	var plans []ashby.InterviewPlan
	o.must("interviewPlan.list", map[string]any{}, &plans)
	o.must("interviewStage.list", map[string]any{"interviewPlanId": plans[0].ID}, &o.stages)
	var job ashby.Job
	o.must("job.create", map[string]any{"title": "Backend Engineer", "teamId": dept.ID, "locationId": loc.ID, "defaultInterviewPlanId": plans[0].ID}, &job)
	o.must("job.setStatus", map[string]any{"jobId": job.ID, "status": "Open"}, nil)
	o.app = o.newApplication("Grace Hopper", "grace@"+slug+".example", job.ID)
	o.must("interview.create", map[string]any{"title": "Take-home exercise", "externalTitle": "Coding exercise"}, &o.interview)
	o.must("user.create", map[string]any{"firstName": "Ada", "lastName": "Reviewer", "email": "ada@" + slug + ".example"}, &o.ada)
	o.must("user.create", map[string]any{"firstName": "Bob", "lastName": "Reviewer", "email": "bob@" + slug + ".example"}, &o.bob)
	return o
}

func (o *thOrg) newApplication(name, email, jobID string) ashby.Application {
	o.t.Helper()
	var cand ashby.Candidate
	o.must("candidate.create", map[string]any{"name": name, "email": email}, &cand)
	var app ashby.Application
	o.must("application.create", map[string]any{"candidateId": cand.ID, "jobId": jobID}, &app)
	return app
}

// invoke calls an endpoint in-process; a list's result is its items.
func (o *thOrg) invoke(endpoint string, req, out any) error {
	raw, err := o.api.Invoke(context.Background(), o.call, endpoint, req)
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			o.t.Fatalf("%s: decode %s: %v", endpoint, raw, err)
		}
	}
	return nil
}

func (o *thOrg) must(endpoint string, req, out any) {
	o.t.Helper()
	if err := o.invoke(endpoint, req, out); err != nil {
		o.t.Fatalf("%s: %v", endpoint, err)
	}
}

func (o *thOrg) fails(endpoint string, req any, code string) *ashby.Error {
	o.t.Helper()
	err := o.invoke(endpoint, req, nil)
	e, ok := ashby.AsError(err)
	if !ok || e.Code != code {
		o.t.Fatalf("%s %v: got %v, want %s", endpoint, req, err, code)
	}
	return e
}

// assign makes a take-home for the fixture's application and returns it
// with its submission URL's token.
func (o *thOrg) assign(extra map[string]any) (ashby.TakeHomeAssignment, string) {
	o.t.Helper()
	req := map[string]any{"applicationId": o.app.ID, "interviewId": o.interview.ID, "reviewerUserIds": []string{o.ada.ID, o.bob.ID}}
	for k, v := range extra {
		req[k] = v
	}
	var th ashby.TakeHomeAssignment
	o.must("takeHomeAssignment.create", req, &th)
	token, ok := strings.CutPrefix(th.SubmissionURL, "http://ashlar.test/take-home/")
	if !ok {
		o.t.Fatalf("submission URL %q", th.SubmissionURL)
	}
	return th, token
}

func (o *thOrg) feedback(th ashby.TakeHomeAssignment, user ashby.User, extra map[string]any) error {
	req := map[string]any{"applicationId": th.ApplicationID, "formDefinitionId": th.FeedbackFormDefinitionID, "userId": user.ID,
		"takeHomeAssignmentId": th.ID, "feedbackForm": map[string]any{"fieldSubmissions": []any{
			map[string]any{"path": "overall_recommendation", "value": map[string]any{"score": 3}},
			map[string]any{"path": "feedback", "value": "Clean, tested code."}}}}
	for k, v := range extra {
		req[k] = v
	}
	return o.invoke("applicationFeedback.submit", req, nil)
}

func (o *thOrg) info(id string) ashby.TakeHomeAssignment {
	o.t.Helper()
	var th ashby.TakeHomeAssignment
	o.must("takeHomeAssignment.info", map[string]any{"takeHomeAssignmentId": id}, &th)
	return th
}

type thEvent struct {
	Action string
	TH     ashby.TakeHomeAssignment
}

// events returns the organization's take-home webhook events, oldest first.
func (o *thOrg) events() []thEvent {
	o.t.Helper()
	rows, err := o.db.QueryContext(context.Background(), `SELECT action, payload FROM events WHERE org_id = $1 AND action LIKE 'takeHome%' ORDER BY seq`, o.org.ID)
	if err != nil {
		o.t.Fatal(err)
	}
	defer rows.Close()
	var out []thEvent
	for rows.Next() {
		var e thEvent
		var payload string
		if err := rows.Scan(&e.Action, &payload); err != nil {
			o.t.Fatal(err)
		}
		var data struct {
			TakeHomeAssignment ashby.TakeHomeAssignment `json:"takeHomeAssignment"`
		}
		if err := json.Unmarshal([]byte(payload), &data); err != nil {
			o.t.Fatal(err)
		}
		e.TH = data.TakeHomeAssignment
		out = append(out, e)
	}
	return out
}

func actions(evs []thEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Action)
	}
	return out
}

func newTHService(t *testing.T, db *store.DB, maxSize int64) (*Service, *files.Store) {
	t.Helper()
	s := New(db, "http://ashlar.test", nil)
	blobs, err := files.NewDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fs, err := files.New(db, files.Config{Blobs: blobs, BaseURL: "http://ashlar.test", MaxSize: maxSize, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	s.Files = fs
	return s, fs
}

// stage stages a file's bytes as the page does.
func stage(t *testing.T, fs *files.Store, name string, b []byte) *files.Staged {
	t.Helper()
	st, err := fs.Stage(context.Background(), bytes.NewReader(b), name, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Remove)
	return st
}

var pdf = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

// An assignment's whole life: assigned, submitted through its URL with a
// file, reviewed by both reviewers, complete; each step emitting its
// webhook event with the assignment as it then was.
func TestTakeHomeLifecycle(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, fs := newTHService(t, db, 0)
		o := newTHOrg(t, db, s, fs, "acme")
		due := ashby.NewTime(time.Now().Add(72 * time.Hour).Truncate(time.Millisecond))
		th, token := o.assign(map[string]any{"dueAt": due, "instructionsHtml": "<p>Build a <b>rate limiter</b>.</p><script>alert(1)</script>"})
		if th.Status != ashby.TakeHomeWaitingOnSubmission || th.CandidateID != o.app.Candidate.ID || th.InterviewStageID != o.app.CurrentInterviewStage.ID ||
			th.FeedbackFormDefinitionID != o.interview.FeedbackFormDefinitionID || len(th.Reviewers) != 2 || th.Reviewers[0].ID != o.ada.ID ||
			th.Reviewers[0].Email != o.ada.Email || th.Reviewers[0].HasSubmittedFeedback || th.Submission != nil || th.DueAt == nil || !th.DueAt.Equal(due.Time) ||
			th.InstructionsHTML != "<p>Build a <b>rate limiter</b>.</p>" || th.InstructionsPlain != "Build a rate limiter." || !th.SubmissionURLIssuedAt.Equal(th.CreatedAt.Time) {
			t.Fatalf("created: %+v", th)
		}
		// The URL is a secret: create returns it, reads never do.
		var raw json.RawMessage
		o.must("takeHomeAssignment.info", map[string]any{"takeHomeAssignmentId": th.ID}, &raw)
		if strings.Contains(string(raw), `"submissionUrl":`) || strings.Contains(string(raw), token) || !strings.Contains(string(raw), `"submission":null`) {
			t.Fatalf("info: %s", raw)
		}
		if got := actions(o.events()); !slices.Equal(got, []string{"takeHomeAssignmentAssigned"}) {
			t.Fatalf("events after assigning: %v", got)
		}
		if e := o.events()[0]; e.TH.ID != th.ID || e.TH.SubmissionURL != "" || e.TH.Status != ashby.TakeHomeWaitingOnSubmission {
			t.Fatalf("assigned event: %+v", e.TH)
		}
		// Feedback before the submission is refused.
		if err := o.feedback(th, o.ada, nil); codeOf(err) != ashby.CodeTakeHomeNotWaitingOnFeedback {
			t.Fatalf("feedback before submission: %v", err)
		}
		o.fails("takeHomeAssignment.complete", map[string]any{"takeHomeAssignmentId": th.ID}, ashby.CodeTakeHomeNotWaitingOnFeedback)

		// The candidate's page and submission.
		page, err := s.TakeHomeByToken(ctx, token)
		if err != nil || page.Assignment.ID != th.ID || page.Title != "Coding exercise" || page.JobTitle != "Backend Engineer" || page.OrgName != "Org acme" {
			t.Fatalf("page: %+v %v", page, err)
		}
		st := stage(t, fs, "solution.pdf", pdf)
		sub, err := s.SubmitTakeHome(ctx, token, TakeHomeSubmissionInput{Text: "  See the PDF.\r\n", Links: []string{" https://git.example.com/grace/limiter ", "", "https://git.example.com/grace/limiter"}, Files: []*files.Staged{st}})
		if err != nil {
			t.Fatal(err)
		}
		if sub.Status != ashby.TakeHomeWaitingOnFeedback || sub.Submission == nil || *sub.Submission.Text != "See the PDF." ||
			!slices.Equal(sub.Submission.Links, []string{"https://git.example.com/grace/limiter"}) || len(sub.Submission.Files) != 1 ||
			sub.Submission.Files[0].Name != "solution.pdf" || sub.Submission.Files[0].ContentType != "application/pdf" || sub.Submission.Files[0].Size != int64(len(pdf)) ||
			!sub.UpdatedAt.After(th.UpdatedAt.Time) && !sub.UpdatedAt.Equal(th.UpdatedAt.Time) {
			t.Fatalf("submitted: %+v", sub.Submission)
		}
		// The file is the candidate's, downloadable with file.info.
		var u ashby.FileURL
		o.must("file.info", map[string]any{"fileHandle": sub.Submission.Files[0].Handle}, &u)
		if !strings.HasPrefix(u.URL, "http://ashlar.test/files/"+st.ID) {
			t.Fatalf("download URL %s", u.URL)
		}
		var owner string
		if err := db.QueryRowContext(ctx, `SELECT candidate_id FROM files WHERE id = $1`, st.ID).Scan(&owner); err != nil || owner != th.CandidateID {
			t.Fatalf("file owner %q %v", owner, err)
		}
		// One submission only.
		if _, err := s.SubmitTakeHome(ctx, token, TakeHomeSubmissionInput{Text: "again"}); codeOf(err) != ashby.CodeTakeHomeNotWaitingOnSubmission {
			t.Fatalf("second submission: %v", err)
		}
		o.fails("takeHomeAssignment.regenerateSubmissionUrl", map[string]any{"takeHomeAssignmentId": th.ID}, ashby.CodeTakeHomeNotWaitingOnSubmission)

		// Reviewing: only reviewers, with the assignment's form, once each.
		outsider := ashby.User{}
		o.must("user.create", map[string]any{"firstName": "Cy", "lastName": "Outsider", "email": "cy@acme.example"}, &outsider)
		if err := o.feedback(th, outsider, nil); codeOf(err) != ashby.CodeInvalidInput {
			t.Fatalf("feedback from a non-reviewer: %v", err)
		}
		var otherForm ashby.FeedbackFormDefinition
		o.must("feedbackFormDefinition.create", map[string]any{"title": "Other", "formDefinition": map[string]any{"sections": []any{map[string]any{"fields": []any{
			map[string]any{"isRequired": true, "field": map[string]any{"type": "LongText", "path": "notes", "title": "Notes"}}}}}}}, &otherForm)
		if err := o.feedback(th, o.ada, map[string]any{"formDefinitionId": otherForm.ID}); codeOf(err) != ashby.CodeInvalidInput {
			t.Fatalf("feedback with another form: %v", err)
		}
		if err := o.feedback(th, o.ada, map[string]any{"interviewEventId": ashby.NewID()}); codeOf(err) != ashby.CodeInvalidInput {
			t.Fatalf("feedback for an event and a take-home: %v", err)
		}
		if err := o.feedback(th, o.ada, nil); err != nil {
			t.Fatal(err)
		}
		if err := o.feedback(th, o.ada, nil); codeOf(err) != "feedback_already_submitted" {
			t.Fatalf("second feedback: %v", err)
		}
		mid := o.info(th.ID)
		if mid.Status != ashby.TakeHomeWaitingOnFeedback || !mid.Reviewers[0].HasSubmittedFeedback || mid.Reviewers[1].HasSubmittedFeedback {
			t.Fatalf("after the first review: %+v", mid)
		}
		if err := o.feedback(th, o.bob, nil); err != nil {
			t.Fatal(err)
		}
		done := o.info(th.ID)
		if done.Status != ashby.TakeHomeComplete || !done.Reviewers[1].HasSubmittedFeedback {
			t.Fatalf("after every review: %+v", done)
		}
		var fbs []ashby.ApplicationFeedback
		o.must("applicationFeedback.list", map[string]any{"applicationId": o.app.ID}, &fbs)
		if len(fbs) != 2 || fbs[0].TakeHomeAssignmentID != th.ID || fbs[0].InterviewID != o.interview.ID || fbs[0].InterviewEventID != "" {
			t.Fatalf("feedback: %+v", fbs)
		}
		o.fails("takeHomeAssignment.cancel", map[string]any{"takeHomeAssignmentId": th.ID}, ashby.CodeTakeHomeAlreadyComplete)
		var again ashby.TakeHomeAssignment
		o.must("takeHomeAssignment.complete", map[string]any{"takeHomeAssignmentId": th.ID}, &again)
		if !again.UpdatedAt.Equal(done.UpdatedAt.Time) {
			t.Fatal("completing a complete assignment changed it")
		}
		evs := o.events()
		if got := actions(evs); !slices.Equal(got, []string{"takeHomeAssignmentAssigned", "takeHomeAssignmentSubmitted", "takeHomeAssignmentCompleted"}) {
			t.Fatalf("events: %v", got)
		}
		if evs[1].TH.Status != ashby.TakeHomeWaitingOnFeedback || evs[1].TH.Submission == nil || evs[2].TH.Status != ashby.TakeHomeComplete {
			t.Fatalf("event payloads: %+v", evs)
		}
		// The page now confirms; expand embeds the interview.
		if page, err := s.TakeHomeByToken(ctx, token); err != nil || page.Assignment.Status != ashby.TakeHomeComplete {
			t.Fatalf("page after completion: %+v %v", page, err)
		}
		var expanded ashby.TakeHomeAssignment
		o.must("takeHomeAssignment.info", map[string]any{"takeHomeAssignmentId": th.ID, "expand": []string{"interview"}}, &expanded)
		if expanded.Interview == nil || expanded.Interview.ID != o.interview.ID {
			t.Fatalf("expanded: %+v", expanded.Interview)
		}
		// Every change is in the audit log.
		var entries []ashby.AuditLogEntry
		o.must("auditLog.list", map[string]any{"targetIds": []string{th.ID}}, &entries)
		if len(entries) != 4 || entries[len(entries)-1].Category != "takeHomeAssignment.created" || entries[0].Category != "takeHomeAssignment.updated" {
			t.Fatalf("audit entries: %+v", entries)
		}
	})
}

func codeOf(err error) string {
	if e, ok := ashby.AsError(err); ok {
		return e.Code
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func TestTakeHomeErrors(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, fs := newTHService(t, db, 0)
		o := newTHOrg(t, db, s, fs, "acme")
		base := func(kv ...any) map[string]any {
			req := map[string]any{"applicationId": o.app.ID, "interviewId": o.interview.ID, "reviewerUserIds": []string{o.ada.ID}}
			for i := 0; i+1 < len(kv); i += 2 {
				req[kv[i].(string)] = kv[i+1]
			}
			return req
		}
		field := func(e *ashby.Error, want string) {
			t.Helper()
			if e.Meta["field"] != want {
				t.Fatalf("%s names field %v, want %s", e.Code, e.Meta["field"], want)
			}
		}
		o.fails("takeHomeAssignment.info", map[string]any{"takeHomeAssignmentId": ashby.NewID()}, ashby.CodeTakeHomeNotFound)
		for _, ep := range []string{"takeHomeAssignment.cancel", "takeHomeAssignment.complete", "takeHomeAssignment.regenerateSubmissionUrl", "takeHomeAssignment.submit"} {
			o.fails(ep, map[string]any{"takeHomeAssignmentId": ashby.NewID(), "text": "x"}, ashby.CodeTakeHomeNotFound)
		}
		field(o.fails("takeHomeAssignment.create", base("reviewerUserIds", []string{}), ashby.CodeInvalidInput), "reviewerUserIds")
		field(o.fails("takeHomeAssignment.create", base("reviewerUserIds", []string{o.ada.ID, o.ada.ID}), ashby.CodeInvalidInput), "reviewerUserIds[1]")
		o.fails("takeHomeAssignment.create", base("reviewerUserIds", []string{ashby.NewID()}), "user_not_found")
		field(o.fails("takeHomeAssignment.create", base("dueAt", ashby.NewTime(time.Now().Add(-time.Hour))), ashby.CodeInvalidInput), "dueAt")
		o.fails("takeHomeAssignment.create", base("applicationId", ashby.NewID()), "application_not_found")
		o.fails("takeHomeAssignment.create", base("interviewId", ashby.NewID()), "interview_not_found")
		var off ashby.User
		o.must("user.create", map[string]any{"firstName": "Off", "lastName": "Line", "email": "off@acme.example"}, &off)
		o.must("user.update", map[string]any{"userId": off.ID, "isEnabled": false}, nil)
		field(o.fails("takeHomeAssignment.create", base("reviewerUserIds", []string{off.ID}), ashby.CodeInvalidInput), "reviewerUserIds[0]")
		// Another job's interview cannot be assigned.
		var other ashby.Job
		o.must("job.create", map[string]any{"title": "Other", "teamId": mustDept(o), "locationId": mustLoc(o)}, &other)
		var ownIV ashby.Interview
		o.must("interview.create", map[string]any{"title": "Other job's", "jobId": other.ID}, &ownIV)
		field(o.fails("takeHomeAssignment.create", base("interviewId", ownIV.ID), ashby.CodeInvalidInput), "interviewId")

		// One open assignment per interview and application.
		th, token := o.assign(nil)
		e := o.fails("takeHomeAssignment.create", base(), ashby.CodeTakeHomeAlreadyAssigned)
		if e.Meta["existingTakeHomeAssignmentId"] != th.ID {
			t.Fatalf("meta: %v", e.Meta)
		}
		// Submissions: something, within the limits.
		for _, bad := range []struct {
			in    TakeHomeSubmissionInput
			field string
		}{
			{TakeHomeSubmissionInput{Text: "   "}, "text"},
			{TakeHomeSubmissionInput{Links: []string{"ftp://example.com/x"}}, "links[0]"},
			{TakeHomeSubmissionInput{Links: []string{"https://a.example", "javascript:alert(1)"}}, "links[1]"},
			{TakeHomeSubmissionInput{Text: strings.Repeat("é", MaxTakeHomeText+1)}, "text"},
			{TakeHomeSubmissionInput{Text: "x", Handles: []string{"a", "b", "c", "d", "e", "f"}}, "fileHandles"},
		} {
			_, err := s.SubmitTakeHome(ctx, token, bad.in)
			if e, ok := ashby.AsError(err); !ok || e.Code != ashby.CodeInvalidInput || e.Meta["field"] != bad.field {
				t.Fatalf("submission %+v: %v", bad.in, err)
			}
		}
		links := make([]string, MaxTakeHomeLinks+1)
		for i := range links {
			links[i] = "https://example.com/" + string(rune('a'+i))
		}
		if _, err := s.SubmitTakeHome(ctx, token, TakeHomeSubmissionInput{Links: links}); codeOf(err) != ashby.CodeInvalidInput {
			t.Fatalf("too many links: %v", err)
		}
		o.fails("takeHomeAssignment.submit", map[string]any{"takeHomeAssignmentId": th.ID, "fileHandles": []string{"not-a-handle"}}, "file_not_found")

		// Tokens: malformed, forged and replaced ones name nothing.
		for _, bad := range []string{"", "x", token + "x", strings.Replace(token, ".", ".A", 1), token[:strings.Index(token, ".")] + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
			if _, err := s.TakeHomeByToken(ctx, bad); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("token %q: %v", bad, err)
			}
		}
		var fresh ashby.TakeHomeAssignment
		o.must("takeHomeAssignment.regenerateSubmissionUrl", map[string]any{"takeHomeAssignmentId": th.ID}, &fresh)
		newToken := strings.TrimPrefix(fresh.SubmissionURL, "http://ashlar.test/take-home/")
		if newToken == token || newToken == fresh.SubmissionURL || fresh.SubmissionURLIssuedAt.Before(th.SubmissionURLIssuedAt.Time) {
			t.Fatalf("regenerated URL %s issued at %s", fresh.SubmissionURL, fresh.SubmissionURLIssuedAt)
		}
		// Issuing a URL is a change of the record, audited and synced,
		// though the URL itself is not stored.
		var entries []ashby.AuditLogEntry
		o.must("auditLog.list", map[string]any{"targetIds": []string{th.ID}}, &entries)
		if _, ok := entries[0].ChangedFields["submissionUrlIssuedAt"]; len(entries) != 2 || !ok || strings.Contains(mustJSONString(entries), newToken) {
			t.Fatalf("audit entries after regenerating the URL: %+v", entries)
		}
		if got := o.info(th.ID); !got.SubmissionURLIssuedAt.Equal(fresh.SubmissionURLIssuedAt.Time) || got.SubmissionURL != "" {
			t.Fatalf("info after regenerating the URL: %+v", got)
		}
		if _, err := s.SubmitTakeHome(ctx, token, TakeHomeSubmissionInput{Text: "old link"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("submission through the replaced URL: %v", err)
		}
		if _, err := s.TakeHomeByToken(ctx, newToken); err != nil {
			t.Fatalf("new URL: %v", err)
		}

		// Cancelling: twice is the same as once; the URL then takes nothing;
		// the interview can be assigned again.
		var cancelled ashby.TakeHomeAssignment
		o.must("takeHomeAssignment.cancel", map[string]any{"takeHomeAssignmentId": th.ID}, &cancelled)
		o.must("takeHomeAssignment.cancel", map[string]any{"takeHomeAssignmentId": th.ID}, nil)
		if cancelled.Status != ashby.TakeHomeCancelled {
			t.Fatalf("cancelled: %+v", cancelled)
		}
		if _, err := s.SubmitTakeHome(ctx, newToken, TakeHomeSubmissionInput{Text: "late"}); codeOf(err) != ashby.CodeTakeHomeNotWaitingOnSubmission {
			t.Fatalf("submission after cancelling: %v", err)
		}
		o.fails("takeHomeAssignment.complete", map[string]any{"takeHomeAssignmentId": th.ID}, ashby.CodeTakeHomeNotWaitingOnFeedback)
		if got := actions(o.events()); !slices.Equal(got, []string{"takeHomeAssignmentAssigned", "takeHomeAssignmentCancelled"}) {
			t.Fatalf("events: %v", got)
		}
		second, _ := o.assign(nil)

		// An archived application takes no new assignments, and archiving
		// cancels those waiting on the candidate.
		var archived ashby.InterviewStage
		for _, st := range o.stages {
			if st.Type == ashby.StageArchived {
				archived = st
			}
		}
		var reasons []ashby.ArchiveReason
		o.must("archiveReason.list", map[string]any{}, &reasons)
		o.must("application.changeStage", map[string]any{"applicationId": o.app.ID, "interviewStageId": archived.ID, "archiveReasonId": reasons[0].ID}, nil)
		if got := o.info(second.ID); got.Status != ashby.TakeHomeCancelled {
			t.Fatalf("after archiving the application: %s", got.Status)
		}
		o.fails("takeHomeAssignment.create", base(), "application_archived")
		if got := actions(o.events()); got[len(got)-1] != "takeHomeAssignmentCancelled" || len(got) != 4 {
			t.Fatalf("events: %v", got)
		}
	})
}

func mustDept(o *thOrg) string {
	var ds []ashby.Department
	o.must("department.list", map[string]any{}, &ds)
	return ds[0].ID
}

func mustLoc(o *thOrg) string {
	var ls []ashby.Location
	o.must("location.list", map[string]any{}, &ls)
	return ls[0].ID
}

// Lists filter by application and candidate and sync incrementally;
// another organization sees none of it and can change none of it.
func TestTakeHomeListSyncAndTenancy(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, fs := newTHService(t, db, 0)
		o := newTHOrg(t, db, s, fs, "acme")
		first, token := o.assign(nil)
		second := o.newApplication("Alan Turing", "alan@acme.example", o.app.Job.ID)
		o.app, second = second, o.app
		other, _ := o.assign(nil)
		o.app = second

		// In-process calls return a page's results only; the handler's
		// page has the sync token.
		ep, _ := o.api.Endpoint("takeHomeAssignment.list")
		call := *o.call
		call.Endpoint = ep
		list := func(req takeHomeListRequest) ([]string, string) {
			t.Helper()
			p, err := s.takeHomeList(ctx, &call, &req)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, d := range p.Raw {
				var r ashby.TakeHomeAssignment
				if err := json.Unmarshal(d, &r); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, r.ID)
				if r.Interview != nil {
					t.Fatal("an unexpanded list embeds the interview")
				}
			}
			return ids, p.SyncToken
		}
		one := 1
		all, syncToken := list(takeHomeListRequest{})
		if !slices.Equal(all, []string{first.ID, other.ID}) || syncToken == "" {
			t.Fatalf("list: %v %q", all, syncToken)
		}
		if got, _ := list(takeHomeListRequest{ApplicationID: ashby.ID(second.ID)}); !slices.Equal(got, []string{first.ID}) {
			t.Fatalf("by application: %v", got)
		}
		if got, _ := list(takeHomeListRequest{CandidateID: ashby.ID(other.CandidateID)}); !slices.Equal(got, []string{other.ID}) {
			t.Fatalf("by candidate: %v", got)
		}
		if got, _ := list(takeHomeListRequest{SyncParams: rpc.SyncParams{ListParams: rpc.ListParams{Limit: &one}}}); !slices.Equal(got, []string{first.ID}) {
			t.Fatalf("a page of one: %v", got)
		}
		var expanded []ashby.TakeHomeAssignment
		o.must("takeHomeAssignment.list", map[string]any{"expand": "interview"}, &expanded)
		if len(expanded) != 2 || expanded[1].Interview == nil || expanded[1].Interview.Title != "Take-home exercise" {
			t.Fatalf("expanded list: %+v", expanded)
		}
		// A submission is a change an incremental sync reports, alone.
		if _, err := s.SubmitTakeHome(ctx, token, TakeHomeSubmissionInput{Text: "Done"}); err != nil {
			t.Fatal(err)
		}
		// On SQLite the first pass has exactly the change. On PostgreSQL a
		// transaction of another test on the same server can hold the
		// sync horizon back, deferring the change to a later pass (never
		// losing it) and re-delivering records written above the previous
		// horizon.
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			got, next := list(takeHomeListRequest{SyncParams: rpc.SyncParams{SyncToken: syncToken}})
			if next == "" || db.Engine() == store.SQLite && !slices.Equal(got, []string{first.ID}) {
				t.Fatalf("incremental sync: %v (next %q)", got, next)
			}
			if slices.ContainsFunc(got, func(id string) bool { return id != first.ID && id != other.ID }) {
				t.Fatalf("incremental sync returned an unknown record: %v", got)
			}
			if slices.Contains(got, first.ID) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("incremental sync missed the submission")
			}
			syncToken = next
		}

		// Another organization.
		x := newTHOrg(t, db, s, fs, "other")
		if got := listIDs(x); len(got) != 0 {
			t.Fatalf("another organization lists %v", got)
		}
		for _, ep := range []string{"takeHomeAssignment.info", "takeHomeAssignment.cancel", "takeHomeAssignment.complete", "takeHomeAssignment.regenerateSubmissionUrl", "takeHomeAssignment.submit"} {
			x.fails(ep, map[string]any{"takeHomeAssignmentId": other.ID, "text": "x"}, ashby.CodeTakeHomeNotFound)
		}
		x.fails("takeHomeAssignment.create", map[string]any{"applicationId": o.app.ID, "interviewId": o.interview.ID, "reviewerUserIds": []string{o.ada.ID}}, "application_not_found")
		x.fails("takeHomeAssignment.create", map[string]any{"applicationId": x.app.ID, "interviewId": o.interview.ID, "reviewerUserIds": []string{x.ada.ID}}, "interview_not_found")
		x.fails("takeHomeAssignment.create", map[string]any{"applicationId": x.app.ID, "interviewId": x.interview.ID, "reviewerUserIds": []string{o.ada.ID}}, "user_not_found")
		// Feedback through another organization's application cannot reach it.
		if err := x.feedback(ashby.TakeHomeAssignment{ID: first.ID, ApplicationID: x.app.ID, FeedbackFormDefinitionID: x.interview.FeedbackFormDefinitionID}, x.ada, nil); codeOf(err) != ashby.CodeTakeHomeNotFound {
			t.Fatalf("feedback from another organization: %v", err)
		}
		if got := o.info(other.ID); got.Status != ashby.TakeHomeWaitingOnSubmission {
			t.Fatalf("another organization changed the assignment: %s", got.Status)
		}
	})
}

// listIDs lists the organization's assignments.
func listIDs(o *thOrg) []string {
	var got []ashby.TakeHomeAssignment
	o.must("takeHomeAssignment.list", map[string]any{}, &got)
	var ids []string
	for _, th := range got {
		ids = append(ids, th.ID)
	}
	return ids
}

// Anonymizing a candidate erases their submission; deleting an
// application deletes its assignments and their files; renaming a
// reviewer rewrites the assignments they review.
func TestTakeHomeHooks(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, fs := newTHService(t, db, 0)
		o := newTHOrg(t, db, s, fs, "acme")
		th, token := o.assign(nil)
		st := stage(t, fs, "notes.txt", []byte("My notes on the exercise.\n"))
		if _, err := s.SubmitTakeHome(ctx, token, TakeHomeSubmissionInput{Text: "Secret sauce", Links: []string{"https://example.com/me"}, Files: []*files.Staged{st}}); err != nil {
			t.Fatal(err)
		}
		o.must("user.update", map[string]any{"userId": o.bob.ID, "firstName": "Robert"}, nil)
		if got := o.info(th.ID); got.Reviewers[1].FirstName != "Robert" {
			t.Fatalf("reviewer after renaming: %+v", got.Reviewers[1])
		}

		// Anonymizing (the application must be archived first).
		var reasons []ashby.ArchiveReason
		o.must("archiveReason.list", map[string]any{}, &reasons)
		var archived string
		for _, s := range o.stages {
			if s.Type == ashby.StageArchived {
				archived = s.ID
			}
		}
		o.must("application.changeStage", map[string]any{"applicationId": o.app.ID, "interviewStageId": archived, "archiveReasonId": reasons[0].ID}, nil)
		if got := o.info(th.ID); got.Status != ashby.TakeHomeWaitingOnFeedback {
			t.Fatalf("archiving cancelled a submitted assignment: %s", got.Status)
		}
		o.must("candidate.anonymize", map[string]any{"candidateId": th.CandidateID}, nil)
		got := o.info(th.ID)
		if got.Submission == nil || got.Submission.Text != nil || len(got.Submission.Links) != 0 || len(got.Submission.Files) != 0 || got.Submission.SubmittedAt.IsZero() {
			t.Fatalf("anonymized submission: %+v", got.Submission)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM files WHERE id = $1`, st.ID).Scan(&n); err != nil || n != 0 {
			t.Fatalf("the anonymized candidate's file is still there: %d %v", n, err)
		}

		// Deleting an application.
		app := o.newApplication("Alan Turing", "alan@acme.example", o.app.Job.ID)
		o.app = app
		th2, token2 := o.assign(nil)
		st2 := stage(t, fs, "answer.pdf", pdf)
		if _, err := s.SubmitTakeHome(ctx, token2, TakeHomeSubmissionInput{Files: []*files.Staged{st2}}); err != nil {
			t.Fatal(err)
		}
		var blob string
		if err := db.QueryRowContext(ctx, `SELECT blob_key FROM files WHERE id = $1`, st2.ID).Scan(&blob); err != nil {
			t.Fatal(err)
		}
		o.must("application.delete", map[string]any{"applicationId": app.ID}, nil)
		o.fails("takeHomeAssignment.info", map[string]any{"takeHomeAssignmentId": th2.ID}, ashby.CodeTakeHomeNotFound)
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM files WHERE id = $1`, st2.ID).Scan(&n); err != nil || n != 0 {
			t.Fatalf("the deleted application's submitted file is still recorded: %d %v", n, err)
		}
		u, err := fs.DownloadURL(ctx, o.org.ID, fs.Handle(o.org.ID, st2.ID))
		if codeOf(err) != "file_not_found" {
			t.Fatalf("download of a deleted file: %s %v", u, err)
		}
		if _, err := s.TakeHomeByToken(ctx, token2); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the deleted assignment's page: %v", err)
		}
	})
}

// Submitting needs file storage only when files are sent.
func TestTakeHomeWithoutFileStorage(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := New(db, "http://ashlar.test", nil)
		o := newTHOrg(t, db, s, nil, "acme")
		th, token := o.assign(nil)
		_, err := s.SubmitTakeHome(ctx, token, TakeHomeSubmissionInput{Text: "x", Handles: []string{"h"}})
		if e, ok := ashby.AsError(err); !ok || e.Status != http.StatusServiceUnavailable {
			t.Fatalf("files without storage: %v", err)
		}
		if got := o.info(th.ID); got.Status != ashby.TakeHomeWaitingOnSubmission {
			t.Fatalf("a refused submission changed the assignment: %s", got.Status)
		}
		var sub ashby.TakeHomeAssignment
		o.must("takeHomeAssignment.submit", map[string]any{"takeHomeAssignmentId": th.ID, "text": "Here it is", "links": []string{"https://example.com/pr/1"}}, &sub)
		if sub.Status != ashby.TakeHomeWaitingOnFeedback || len(sub.Submission.Files) != 0 || sub.Submission.Links[0] != "https://example.com/pr/1" {
			t.Fatalf("API submission: %+v", sub)
		}
	})
}

func mustJSONString(v any) string { return string(mustJSON(v)) }
