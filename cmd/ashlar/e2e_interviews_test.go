package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/compat"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

// ivClient calls the API and checks every success response of an Ashby
// endpoint against Ashby's response schema.
type ivClient struct {
	t *testing.T
	c *client.Client
	v *compat.Validator
}

func newIVClient(t *testing.T, c *client.Client) *ivClient {
	raw, err := os.ReadFile("../../compat/testdata/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	v, err := compat.NewValidator(raw)
	if err != nil {
		t.Fatal(err)
	}
	return &ivClient{t: t, c: c, v: v}
}

func (h *ivClient) call(endpoint string, req, out any) *client.Response {
	h.t.Helper()
	res := must(h.t, h.c, endpoint, req, out)
	if h.v.HasResponseSchema(endpoint) {
		env := map[string]any{"success": true, "results": res.Results}
		if strings.HasPrefix(string(res.Results), "[") {
			env["moreDataAvailable"] = res.MoreDataAvailable
			if res.NextCursor != "" {
				env["nextCursor"] = res.NextCursor
			}
			if res.SyncToken != "" {
				env["syncToken"] = res.SyncToken
			}
		}
		if len(res.Warnings) > 0 {
			env["warnings"] = res.Warnings
		}
		body, _ := json.Marshal(env)
		if err := h.v.Validate(endpoint, body); err != nil {
			h.t.Fatalf("%v\n%s", err, body)
		}
	}
	return res
}

func (h *ivClient) fails(endpoint string, req any, code string) *client.Error {
	h.t.Helper()
	_, err := h.c.Call(context.Background(), endpoint, req, nil)
	var e *client.Error
	if !errors.As(err, &e) || e.Code != code {
		h.t.Fatalf("%s %v: got %v, want %s", endpoint, req, err, code)
	}
	return e
}

func at(d time.Duration) ashby.Time { return ashby.NewTime(time.Now().Add(d)) }

func newUser(h *ivClient, first, email string) ashby.User {
	var u ashby.User
	h.call("user.create", map[string]any{"firstName": first, "lastName": "Interviewer", "email": email}, &u)
	return u
}

// outbox reads the events an organization's changes recorded.
func outbox(t *testing.T, dsn, slug string) []store.Event {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	org, err := db.OrgBySlug(ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, `SELECT action, payload FROM events WHERE org_id = $1 ORDER BY seq`, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var e store.Event
		var payload string
		if err := rows.Scan(&e.Action, &payload); err != nil {
			t.Fatal(err)
		}
		e.Payload = json.RawMessage(payload)
		out = append(out, e)
	}
	return out
}

func TestE2EInterviewsAndFeedback(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{})
		slug, key := srv.NewOrg()
		h := newIVClient(t, srv.Client(key))
		f := newFixture(t, h.c)
		ada := newUser(h, "Ada", "ada@interviews.example.com")
		bob := newUser(h, "Bob", "bob@interviews.example.com")
		cy := newUser(h, "Cy", "cy@interviews.example.com")
		var admin ashby.User
		var users []ashby.User
		h.call("user.list", nil, &users)
		for _, u := range users {
			if u.GlobalRole == "Organization Admin" {
				admin = u
			}
		}

		// A new organization has a default feedback form and interview.
		var formList []ashby.FeedbackFormDefinition
		h.call("feedbackFormDefinition.list", nil, &formList)
		if len(formList) != 1 || !formList[0].IsDefaultForm {
			t.Fatalf("default feedback forms: %+v", formList)
		}
		defaultForm := formList[0]
		var ivs []ashby.Interview
		h.call("interview.list", nil, &ivs)
		if len(ivs) != 1 || ivs[0].FeedbackFormDefinitionID != defaultForm.ID {
			t.Fatalf("default interviews: %+v", ivs)
		}
		defaultInterview := ivs[0]

		// A scorecard of our own.
		section := func(fields ...map[string]any) map[string]any {
			return map[string]any{"sections": []any{map[string]any{"title": "Scorecard", "fields": fields}}}
		}
		entry := func(typ, path, title string, required bool, options ...string) map[string]any {
			fd := map[string]any{"type": typ, "path": path, "title": title}
			if len(options) > 0 {
				var opts []map[string]string
				for i := 0; i < len(options); i += 2 {
					opts = append(opts, map[string]string{"label": options[i], "value": options[i+1]})
				}
				fd["selectableValues"] = opts
			}
			return map[string]any{"isRequired": required, "field": fd}
		}
		h.fails("feedbackFormDefinition.create", map[string]any{"title": "Bad", "formDefinition": section(entry("ValueSelect", "x", "X", true))}, "invalid_input")
		h.fails("feedbackFormDefinition.create", map[string]any{"title": "Bad", "formDefinition": section(entry("File", "x", "X", true))}, "invalid_input")
		h.fails("feedbackFormDefinition.create", map[string]any{"title": "Bad", "formDefinition": section()}, "invalid_input")
		var scorecard ashby.FeedbackFormDefinition
		h.call("feedbackFormDefinition.create", map[string]any{"title": "Engineering Scorecard", "formDefinition": section(
			entry("Score", "technical", "Technical skills", true),
			entry("ValueSelect", "recommendation", "Recommendation", true, "Hire", "hire", "No hire", "no_hire"),
			entry("LongText", "notes", "Notes", false))}, &scorecard)
		if scorecard.IsDefaultForm || len(scorecard.FormDefinition.Sections[0].Fields) != 3 || !ashby.IsUUID(scorecard.FormDefinition.Sections[0].Fields[0].Field.ID) {
			t.Fatalf("scorecard: %+v", scorecard)
		}
		var gotForm ashby.FeedbackFormDefinition
		h.call("feedbackFormDefinition.info", map[string]any{"feedbackFormDefinitionId": scorecard.ID}, &gotForm)
		if gotForm.Title != "Engineering Scorecard" {
			t.Fatalf("feedbackFormDefinition.info: %+v", gotForm)
		}

		// Interviews: shared ones and one for the job.
		var tech, onsite, jobOnly ashby.Interview
		h.call("interview.create", map[string]any{"title": "Technical Interview", "externalTitle": "Tech chat", "durationMinutes": 45,
			"feedbackFormDefinitionId": scorecard.ID, "instructionsHtml": "<p>Ask about <b>queues</b></p><script>x()</script>"}, &tech)
		if tech.InstructionsHTML != "<p>Ask about <b>queues</b></p>" || tech.InstructionsPlain != "Ask about queues" || !tech.IsFeedbackRequired || tech.JobID != "" {
			t.Fatalf("interview: %+v", tech)
		}
		h.call("interview.create", map[string]any{"title": "Onsite"}, &onsite)
		if onsite.FeedbackFormDefinitionID != defaultForm.ID {
			t.Fatalf("interview without a form gets the default one: %+v", onsite)
		}
		h.call("interview.create", map[string]any{"title": "Robotics Deep Dive", "jobId": f.job.ID}, &jobOnly)
		h.fails("interview.create", map[string]any{"title": "x", "jobId": ashby.NewID()}, "job_not_found")
		h.fails("interview.create", map[string]any{"title": "x", "feedbackFormDefinitionId": ashby.NewID()}, "feedback_form_definition_not_found")
		h.fails("interview.create", map[string]any{"title": "x", "durationMinutes": 1}, "invalid_input")
		h.call("interview.list", nil, &ivs)
		if len(ivs) != 3 {
			t.Fatalf("interview.list lists shared interviews: %d", len(ivs))
		}
		h.call("interview.list", map[string]any{"includeNonSharedInterviews": true}, &ivs)
		if len(ivs) != 4 {
			t.Fatalf("interview.list with job interviews: %d", len(ivs))
		}
		h.call("interview.update", map[string]any{"interviewId": onsite.ID, "title": "Onsite Loop"}, &onsite)
		h.call("interview.archive", map[string]any{"interviewId": onsite.ID}, &onsite)
		h.call("interview.list", nil, &ivs)
		if len(ivs) != 2 || !onsite.IsArchived {
			t.Fatalf("archived interview still listed: %d", len(ivs))
		}
		h.call("interview.list", map[string]any{"includeArchived": true}, &ivs)
		if len(ivs) != 3 {
			t.Fatalf("includeArchived: %d", len(ivs))
		}
		h.fails("interview.archive", map[string]any{"interviewId": defaultInterview.ID}, "invalid_input")
		var got ashby.Interview
		h.call("interview.info", map[string]any{"id": tech.ID}, &got)
		if got.Title != "Technical Interview" || got.ExternalTitle != "Tech chat" {
			t.Fatalf("interview.info: %+v", got)
		}

		// Interviews attached to a stage show in the job's interview plan.
		screen := f.stageByTyp["Active"]
		var act ashby.StageActivity
		h.call("jobInterviewPlan.addActivity", map[string]any{"jobId": f.job.ID, "interviewStageId": screen.ID, "title": "Screen",
			"interviews": []any{map[string]any{"interviewId": tech.ID}, map[string]any{"interviewId": jobOnly.ID, "durationMinutes": 90}}}, &act)
		h.fails("jobInterviewPlan.addActivity", map[string]any{"jobId": f.job.ID, "interviewStageId": f.stageByTyp["Hired"].ID,
			"interviews": []any{map[string]any{"interviewId": tech.ID}}}, "invalid_input")
		h.fails("jobInterviewPlan.addActivity", map[string]any{"jobId": f.job.ID, "interviewStageId": screen.ID,
			"interviews": []any{map[string]any{"interviewId": onsite.ID}}}, "invalid_input") // archived
		var plan ashby.JobInterviewPlan
		h.call("jobInterviewPlan.info", map[string]any{"jobId": f.job.ID}, &plan)
		var acts []ashby.StageActivity
		for _, st := range plan.Stages {
			if st.ID == screen.ID {
				acts = st.Activities
			}
		}
		if len(acts) != 1 || len(acts[0].Interviews) != 2 || acts[0].Interviews[0].InterviewDurationMinutes != 45 ||
			acts[0].Interviews[1].InterviewDurationMinutes != 90 || acts[0].Interviews[0].Title != "Technical Interview" {
			t.Fatalf("stage activities: %+v", acts)
		}

		// An application in an interview stage.
		var cand ashby.Candidate
		h.call("candidate.create", map[string]any{"name": "Grace Hopper", "email": "grace@example.com"}, &cand)
		var app ashby.Application
		h.call("application.create", map[string]any{"candidateId": cand.ID, "jobId": f.job.ID}, &app)
		h.call("application.changeStage", map[string]any{"applicationId": app.ID, "interviewStageId": screen.ID}, &app)

		// Schedule one interview that took place and one to come.
		past, future := at(-48*time.Hour), at(24*time.Hour)
		ev := func(start ashby.Time, minutes int, interviewID string, who ...any) map[string]any {
			e := map[string]any{"startTime": start, "endTime": ashby.NewTime(start.Add(time.Duration(minutes) * time.Minute)), "interviewers": who}
			if interviewID != "" {
				e["interviewId"] = interviewID
			}
			return e
		}
		email := func(u ashby.User) map[string]any { return map[string]any{"email": u.Email} }
		h.fails("interviewSchedule.create", map[string]any{"applicationId": app.ID, "interviewEvents": []any{ev(past, 60, "", map[string]any{"email": "nobody@example.com"})}}, "user_not_found")
		h.fails("interviewSchedule.create", map[string]any{"applicationId": app.ID, "interviewEvents": []any{ev(past, -60, "", email(ada))}}, "invalid_input")
		h.fails("interviewSchedule.create", map[string]any{"applicationId": app.ID, "interviewEvents": []any{ev(past, 60, onsite.ID, email(ada))}}, "invalid_input")
		h.fails("interviewSchedule.create", map[string]any{"applicationId": app.ID, "interviewEvents": []any{ev(past, 60, "", email(ada), email(ada))}}, "invalid_input")
		h.fails("interviewSchedule.create", map[string]any{"applicationId": app.ID, "interviewEvents": []any{}}, "invalid_input")
		h.fails("interviewSchedule.create", map[string]any{"applicationId": ashby.NewID(), "interviewEvents": []any{ev(past, 60, "", email(ada))}}, "application_not_found")
		var sched ashby.InterviewSchedule
		h.call("interviewSchedule.create", map[string]any{"applicationId": app.ID, "interviewEvents": []any{
			ev(past, 60, tech.ID, email(ada), map[string]any{"email": bob.Email, "feedbackRequired": false}),
			ev(future, 60, "", email(cy)),
		}}, &sched)
		if sched.Status != "Scheduled" || sched.ApplicationID != app.ID || sched.InterviewStageID != screen.ID || len(sched.InterviewEvents) != 2 ||
			sched.ScheduledBy == nil {
			t.Fatalf("schedule: %+v", sched)
		}
		e0, e1 := sched.InterviewEvents[0], sched.InterviewEvents[1]
		if e1.InterviewID != defaultInterview.ID || e0.InterviewID != tech.ID || e0.FeedbackLink != srv.URL+"/app/interviews/"+e0.ID+"/feedback" ||
			len(e0.Interviewers) != 2 || !e0.Interviewers[0].IsFeedbackRequired || e0.Interviewers[1].IsFeedbackRequired ||
			!slices.Equal(e0.InterviewerUserIDs, []string{ada.ID, bob.ID}) || e0.HasSubmittedFeedback {
			t.Fatalf("events: %+v", sched.InterviewEvents)
		}
		var events []ashby.InterviewEvent
		h.call("interviewEvent.list", map[string]any{"interviewScheduleId": sched.ID, "expand": []string{"interview"}}, &events)
		// Events created together may share a millisecond, and then list
		// in id order: find them by id.
		byID := map[string]ashby.InterviewEvent{}
		for _, e := range events {
			byID[e.ID] = e
		}
		if len(byID) != 2 || byID[e0.ID].Interview == nil || byID[e0.ID].Interview.Title != "Technical Interview" || byID[e1.ID].Interview.ID != defaultInterview.ID {
			t.Fatalf("interviewEvent.list: %+v", events)
		}
		h.fails("interviewEvent.list", map[string]any{"interviewScheduleId": ashby.NewID()}, "interview_schedule_not_found")

		// Only the key that created a schedule updates it.
		other := newIVClient(t, srv.Client(srv.Key(slug, "all")))
		other.fails("interviewSchedule.update", map[string]any{"interviewScheduleId": sched.ID, "interviewEventIdToCancel": e1.ID}, "interview_schedule_update_not_allowed")

		// Move the coming interview (one event), then add one (an array).
		moved := at(26 * time.Hour)
		h.call("interviewSchedule.update", map[string]any{"interviewScheduleId": sched.ID, "interviewEvent": map[string]any{
			"interviewEventId": e1.ID, "startTime": moved, "endTime": ashby.NewTime(moved.Add(time.Hour)), "interviewers": []any{email(cy), email(bob)}}}, &sched)
		if len(sched.InterviewEvents) != 2 || !sched.InterviewEvents[1].StartTime.Equal(moved.Time) || len(sched.InterviewEvents[1].Interviewers) != 2 ||
			sched.InterviewEvents[1].ID != e1.ID || sched.InterviewEvents[1].InterviewID != defaultInterview.ID {
			t.Fatalf("updated event: %+v", sched.InterviewEvents[1])
		}
		h.call("interviewSchedule.update", map[string]any{"interviewScheduleId": sched.ID, "interviewEvent": []any{ev(at(72*time.Hour), 30, tech.ID, email(bob))}}, &sched)
		if len(sched.InterviewEvents) != 3 {
			t.Fatalf("added event: %d events", len(sched.InterviewEvents))
		}
		e2 := sched.InterviewEvents[2]
		h.fails("interviewSchedule.update", map[string]any{"interviewScheduleId": sched.ID, "interviewEventIdToCancel": e1.ID,
			"interviewEvent": ev(future, 60, "", email(cy))}, "invalid_input")
		h.fails("interviewSchedule.update", map[string]any{"interviewScheduleId": sched.ID}, "invalid_input")
		h.fails("interviewSchedule.update", map[string]any{"interviewScheduleId": sched.ID, "interviewEventIdToCancel": ashby.NewID()}, "interview_event_not_found")

		// Feedback is validated against the form.
		answers := func(pairs ...any) map[string]any {
			var subs []map[string]any
			for i := 0; i < len(pairs); i += 2 {
				subs = append(subs, map[string]any{"path": pairs[i], "value": pairs[i+1]})
			}
			return map[string]any{"fieldSubmissions": subs}
		}
		submit := func(user ashby.User, form, event string, a map[string]any) map[string]any {
			r := map[string]any{"applicationId": app.ID, "formDefinitionId": form, "feedbackForm": a}
			if user.ID != "" {
				r["userId"] = user.ID
			}
			if event != "" {
				r["interviewEventId"] = event
			}
			return r
		}
		good := answers("technical", map[string]any{"score": 3}, "recommendation", "hire", "notes", "Strong on queues")
		e := h.fails("applicationFeedback.submit", submit(ada, scorecard.ID, e0.ID, answers("technical", map[string]any{"score": 3}, "recommendation", "Hire")), "invalid_input")
		if fe, _ := e.Meta["fieldErrors"].([]any); len(fe) != 1 || !strings.Contains(e.Message, "recommendation") {
			t.Fatalf("a select label instead of its value: %+v", e)
		}
		e = h.fails("applicationFeedback.submit", submit(ada, scorecard.ID, e0.ID, answers("recommendation", "hire")), "invalid_input")
		if !strings.Contains(e.Message, "technical") {
			t.Fatalf("missing required answer: %+v", e)
		}
		e = h.fails("applicationFeedback.submit", submit(cy, scorecard.ID, e0.ID, good), "invalid_input")
		if e.Meta["field"] != "userId" {
			t.Fatalf("user not on the event: %+v", e)
		}
		h.fails("applicationFeedback.submit", submit(ada, defaultForm.ID, e0.ID, answers("overall_recommendation", map[string]any{"score": 2}, "feedback", "ok")), "invalid_input")
		h.fails("applicationFeedback.submit", submit(ada, scorecard.ID, ashby.NewID(), good), "interview_event_not_found")
		h.fails("applicationFeedback.submit", submit(ada, ashby.NewID(), e0.ID, good), "feedback_form_definition_not_found")
		var sub ashby.FeedbackSubmission
		h.call("applicationFeedback.submit", submit(ada, scorecard.ID, e0.ID, good), &sub)
		if sub.SubmittedFormInstance.SubmittedValues["recommendation"] != "hire" || sub.SubmittedFormInstance.ID == "" {
			t.Fatalf("submitted values: %+v", sub.SubmittedFormInstance.SubmittedValues)
		}
		h.fails("applicationFeedback.submit", submit(ada, scorecard.ID, e0.ID, good), "feedback_already_submitted")
		var fbs []ashby.ApplicationFeedback
		h.call("applicationFeedback.list", map[string]any{"applicationId": app.ID}, &fbs)
		if len(fbs) != 1 || fbs[0].SubmittedByUser.ID != ada.ID || fbs[0].InterviewEventID != e0.ID || fbs[0].InterviewID != tech.ID ||
			fbs[0].FeedbackFormDefinitionID != scorecard.ID || fbs[0].ApplicationHistoryID == "" {
			t.Fatalf("applicationFeedback.list: %+v", fbs)
		}
		var scheds []ashby.InterviewSchedule
		h.call("interviewSchedule.list", map[string]any{"applicationId": app.ID}, &scheds)
		if len(scheds) != 1 || !scheds[0].InterviewEvents[0].HasSubmittedFeedback || scheds[0].Status != "Scheduled" {
			t.Fatalf("schedule after feedback: %+v", scheds)
		}

		// The briefing, with every expansion.
		var briefing map[string]any
		h.call("interviewBriefing.info", map[string]any{"interviewEventId": e0.ID, "expand": []string{"feedbackFormDefinition", "application", "candidate", "job", "interview", "interviewers"}}, &briefing)
		for _, k := range []string{"feedbackFormDefinition", "application", "candidate", "job", "interview"} {
			if m, _ := briefing[k].(map[string]any); m["id"] == nil {
				t.Fatalf("briefing lacks %s: %v", k, briefing)
			}
		}
		var b ashby.InterviewBriefing
		raw, _ := json.Marshal(briefing)
		json.Unmarshal(raw, &b)
		if b.ApplicationID != app.ID || b.InterviewStageID != screen.ID || b.FeedbackFormDefinitionID != scorecard.ID || !b.HasSubmittedFeedback ||
			len(b.Interviewers) != 2 || !b.Interviewers[0].HasSubmittedFeedback || b.Interviewers[1].HasSubmittedFeedback ||
			b.Interviewers[0].User == nil || b.Interviewers[0].User.Email != ada.Email || b.Candidate.ID != cand.ID || b.Job.ID != f.job.ID {
			t.Fatalf("briefing: %s", raw)
		}
		var plain ashby.InterviewBriefing
		h.call("interviewBriefing.info", map[string]any{"interviewEventId": e1.ID}, &plain)
		if plain.Interviewers[0].User != nil || plain.Application != nil || plain.HasSubmittedFeedback || len(plain.Interviewers) != 2 {
			t.Fatalf("briefing without expand: %+v", plain)
		}
		h.fails("interviewBriefing.info", map[string]any{"interviewEventId": e0.ID, "expand": []string{"offers"}}, "invalid_input")
		h.fails("interviewBriefing.info", map[string]any{"interviewEventId": ashby.NewID()}, "interview_event_not_found")

		// Cancelling an event with feedback needs allowFeedbackDeletion,
		// and deletes the feedback.
		h.fails("interviewSchedule.update", map[string]any{"interviewScheduleId": sched.ID, "interviewEventIdToCancel": e0.ID}, "invalid_input")
		h.call("interviewSchedule.update", map[string]any{"interviewScheduleId": sched.ID, "interviewEventIdToCancel": []string{e0.ID}, "allowFeedbackDeletion": true}, &sched)
		if len(sched.InterviewEvents) != 2 || sched.InterviewEvents[0].ID != e1.ID {
			t.Fatalf("after cancelling an event: %+v", sched.InterviewEvents)
		}
		h.call("applicationFeedback.list", map[string]any{"applicationId": app.ID}, &fbs)
		if len(fbs) != 0 {
			t.Fatalf("feedback of a cancelled event survives: %d", len(fbs))
		}
		h.call("interviewEvent.list", map[string]any{"interviewScheduleId": sched.ID}, &events)
		if len(events) != 2 {
			t.Fatalf("cancelled event still listed: %d", len(events))
		}

		// Statuses: an interview that took place waits on its required
		// feedback, then is Complete.
		var done ashby.InterviewSchedule
		h.call("interviewSchedule.create", map[string]any{"applicationId": app.ID, "interviewEvents": []any{
			ev(past, 60, tech.ID, email(ada), map[string]any{"email": cy.Email, "feedbackRequired": false})}}, &done)
		if done.Status != "WaitingOnFeedback" {
			t.Fatalf("past interview without feedback: %s", done.Status)
		}
		h.call("applicationFeedback.submit", submit(ada, scorecard.ID, done.InterviewEvents[0].ID, good), nil)
		h.call("interviewSchedule.list", map[string]any{"applicationId": app.ID}, &scheds)
		if scheds[1].ID != done.ID || scheds[1].Status != "Complete" {
			t.Fatalf("schedule with all required feedback: %+v", scheds[1])
		}
		// An interview that ends while nobody writes moves on by itself.
		var soon ashby.InterviewSchedule
		h.call("interviewSchedule.create", map[string]any{"applicationId": app.ID, "interviewEvents": []any{
			map[string]any{"startTime": at(-time.Hour), "endTime": at(1500 * time.Millisecond), "interviewers": []any{email(bob)}}}}, &soon)
		if soon.Status != "Scheduled" {
			t.Fatalf("interview under way: %s", soon.Status)
		}
		time.Sleep(2 * time.Second)
		h.call("interviewSchedule.list", map[string]any{"applicationId": app.ID}, &scheds)
		if scheds[2].ID != soon.ID || scheds[2].Status != "WaitingOnFeedback" || !scheds[2].UpdatedAt.After(soon.UpdatedAt.Time) {
			t.Fatalf("ended interview: %+v", scheds[2])
		}

		// A feedback request is an event to submit against.
		var fr ashby.FeedbackRequest
		h.call("applicationFeedbackRequest.create", map[string]any{"applicationId": app.ID, "interviewId": defaultInterview.ID, "interviewerUserId": bob.ID}, &fr)
		if fr.ApplicationID != app.ID || fr.InterviewerUserID != bob.ID || !ashby.IsUUID(fr.InterviewEventID) {
			t.Fatalf("feedback request: %+v", fr)
		}
		h.fails("applicationFeedbackRequest.create", map[string]any{"applicationId": app.ID, "interviewId": onsite.ID, "interviewerUserId": bob.ID}, "invalid_input")
		h.fails("applicationFeedbackRequest.create", map[string]any{"applicationId": app.ID, "interviewId": tech.ID, "interviewerUserId": ashby.NewID()}, "user_not_found")
		h.call("applicationFeedback.submit", submit(bob, defaultForm.ID, fr.InterviewEventID, answers("overall_recommendation", map[string]any{"score": 4}, "feedback", "Great")), nil)
		h.call("interviewSchedule.list", map[string]any{"applicationId": app.ID}, &scheds)
		if last := scheds[len(scheds)-1]; last.Status != "Complete" || last.InterviewEvents[0].ID != fr.InterviewEventID {
			t.Fatalf("answered feedback request: %+v", last)
		}
		// Feedback without an event is the key's user's (here the admin's).
		h.call("applicationFeedback.submit", submit(ashby.User{}, defaultForm.ID, "", answers("overall_recommendation", map[string]any{"score": 2}, "feedback", "Hmm")), nil)
		h.call("applicationFeedback.list", map[string]any{"applicationId": app.ID}, &fbs)
		if len(fbs) != 3 || fbs[2].SubmittedByUser.ID != admin.ID || fbs[2].InterviewEventID != "" {
			t.Fatalf("feedback without an event: %+v", fbs)
		}

		// Cancelling: with allowReschedule the schedule waits to be
		// rescheduled; without, it is over.
		h.call("interviewSchedule.cancel", map[string]any{"id": sched.ID, "allowReschedule": true}, &sched)
		if sched.Status != "NeedsScheduling" || len(sched.InterviewEvents) != 0 {
			t.Fatalf("cancel with allowReschedule: %+v", sched)
		}
		h.call("interviewSchedule.update", map[string]any{"interviewScheduleId": sched.ID, "interviewEvent": ev(future, 45, "", email(cy))}, &sched)
		if sched.Status != "Scheduled" {
			t.Fatalf("rescheduled: %s", sched.Status)
		}
		h.call("interviewSchedule.cancel", map[string]any{"id": sched.ID}, &sched)
		if sched.Status != "Cancelled" {
			t.Fatalf("cancelled: %s", sched.Status)
		}
		h.fails("interviewSchedule.update", map[string]any{"interviewScheduleId": sched.ID, "interviewEvent": ev(future, 45, "", email(cy))}, "interview_schedule_cancelled")
		h.fails("interviewSchedule.cancel", map[string]any{"id": ashby.NewID()}, "interview_schedule_not_found")
		_ = e2

		// Paging and incremental sync of schedules and feedback.
		for i := 0; i < 3; i++ {
			h.call("interviewSchedule.create", map[string]any{"applicationId": app.ID, "interviewEvents": []any{ev(at(time.Duration(100+i)*time.Hour), 30, "", email(ada))}}, nil)
		}
		walk := func(endpoint string, params map[string]any) (ids []string, token string) {
			cursor := ""
			for pages := 0; ; pages++ {
				p, err := h.c.ListPage(context.Background(), endpoint, params, cursor, "")
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range p.Results {
					var x struct{ ID string }
					json.Unmarshal(r, &x)
					ids = append(ids, x.ID)
				}
				if !p.MoreDataAvailable {
					if p.SyncToken == "" {
						t.Fatalf("%s: no syncToken on the last page", endpoint)
					}
					return ids, p.SyncToken
				}
				if pages > 20 {
					t.Fatalf("%s: too many pages", endpoint)
				}
				cursor = p.NextCursor
			}
		}
		// sync runs incremental syncs from token until the records in want
		// have come. On SQLite one pass returns exactly the changed
		// records. On PostgreSQL a transaction still running anywhere on
		// the server (other tests share it) holds the horizon back: a pass
		// may not yet see the newest changes, and may repeat older ones
		// (docs/sync.md), so passes continue until the changes arrive.
		sync := func(endpoint string, params map[string]any, token string, want ...string) map[string]bool {
			t.Helper()
			got := map[string]bool{}
			deadline := time.Now().Add(30 * time.Second)
			for {
				next, err := h.c.Sync(context.Background(), endpoint, params, token, func(r json.RawMessage) error {
					var x struct{ ID string }
					json.Unmarshal(r, &x)
					got[x.ID] = true
					return nil
				})
				if err != nil || next == "" {
					t.Fatalf("%s incremental sync: %v (token %q)", endpoint, err, next)
				}
				missing := slices.ContainsFunc(want, func(id string) bool { return !got[id] })
				if !missing {
					if engine == store.SQLite && len(got) != len(want) {
						t.Fatalf("%s incremental sync returned %d records, want %d: %v", endpoint, len(got), len(want), got)
					}
					return got
				}
				if engine == store.SQLite || time.Now().After(deadline) {
					t.Fatalf("%s incremental sync misses some of %v: %v", endpoint, want, got)
				}
				token = next
				time.Sleep(200 * time.Millisecond)
			}
		}
		all, token := walk("interviewSchedule.list", map[string]any{"limit": 2})
		h.call("interviewSchedule.list", nil, &scheds)
		if len(all) != len(scheds) || len(all) != 7 {
			t.Fatalf("walked %d schedules, listed %d", len(all), len(scheds))
		}
		var fresh ashby.InterviewSchedule
		h.call("interviewSchedule.create", map[string]any{"applicationId": app.ID, "interviewEvents": []any{ev(future, 30, "", email(bob), email(cy))}}, &fresh)
		h.call("interviewSchedule.cancel", map[string]any{"id": done.ID}, nil)
		sync("interviewSchedule.list", map[string]any{"limit": 1}, token, fresh.ID, done.ID)
		h.call("interviewSchedule.list", map[string]any{"createdAfter": fresh.CreatedAt.UnixMilli() - 1}, &scheds)
		if len(scheds) != 1 || scheds[0].ID != fresh.ID {
			t.Fatalf("createdAfter: %d", len(scheds))
		}
		h.call("interviewSchedule.list", map[string]any{"interviewStageId": f.stageByTyp["Offer"].ID}, &scheds)
		if len(scheds) != 0 {
			t.Fatalf("interviewStageId filter: %d", len(scheds))
		}
		fbIDs, fbToken := walk("applicationFeedback.list", map[string]any{"limit": 1, "applicationId": app.ID})
		if len(fbIDs) != 3 {
			t.Fatalf("walked %d feedback", len(fbIDs))
		}
		var more, more2 ashby.FeedbackSubmission
		h.call("applicationFeedback.submit", submit(cy, defaultForm.ID, fresh.InterviewEvents[0].ID, answers("overall_recommendation", map[string]any{"score": 3}, "feedback", "Fine")), &more)
		h.call("applicationFeedback.submit", submit(bob, defaultForm.ID, fresh.InterviewEvents[0].ID, answers("overall_recommendation", map[string]any{"score": 3}, "feedback", "Fine")), &more2)
		sync("applicationFeedback.list", map[string]any{"applicationId": app.ID}, fbToken, more.SubmittedFormInstance.ID, more2.SubmittedFormInstance.ID)
		_, evToken := walk("interviewEvent.list", map[string]any{"interviewScheduleId": fresh.ID})
		h.call("interviewSchedule.update", map[string]any{"interviewScheduleId": fresh.ID, "interviewEvent": ev(at(200*time.Hour), 30, "", email(ada))}, &fresh)
		sync("interviewEvent.list", map[string]any{"interviewScheduleId": fresh.ID}, evToken, fresh.InterviewEvents[1].ID)

		// Renaming a user rewrites the schedules and feedback that embed them.
		h.call("user.update", map[string]any{"userId": ada.ID, "firstName": "Augusta"}, nil)
		h.call("applicationFeedback.list", map[string]any{"applicationId": app.ID}, &fbs)
		h.call("interviewSchedule.list", map[string]any{"applicationId": app.ID}, &scheds)
		seen := 0
		for _, fb := range fbs {
			if fb.SubmittedByUser.ID == ada.ID {
				seen++
				if fb.SubmittedByUser.FirstName != "Augusta" {
					t.Fatalf("feedback keeps the old name: %+v", fb.SubmittedByUser)
				}
			}
		}
		for _, sc := range scheds {
			for _, e := range sc.InterviewEvents {
				for _, iv := range e.Interviewers {
					if iv.ID == ada.ID {
						seen++
						if iv.FirstName != "Augusta" {
							t.Fatalf("schedule %s keeps the old name: %+v", sc.ID, iv.User)
						}
					}
				}
			}
		}
		if seen < 3 {
			t.Fatalf("renamed user seen %d times", seen)
		}

		// The outbox has interviewScheduleCreate for every schedule, each
		// with its interviewScheduleUpdate carrying the candidate.
		creates, updates := 0, 0
		for _, e := range outbox(t, srv.DSN, slug) {
			var data struct {
				InterviewSchedule map[string]any `json:"interviewSchedule"`
			}
			json.Unmarshal(e.Payload, &data)
			switch e.Action {
			case "interviewScheduleCreate":
				creates++
			case "interviewScheduleUpdate":
				updates++
				if data.InterviewSchedule["candidateId"] != cand.ID || data.InterviewSchedule["id"] == nil {
					t.Fatalf("interviewScheduleUpdate payload: %s", e.Payload)
				}
			}
		}
		if creates != 8 || updates <= creates {
			t.Fatalf("outbox: %d interviewScheduleCreate, %d interviewScheduleUpdate", creates, updates)
		}

		// Another organization sees and changes none of it.
		_, key3 := srv.NewOrg()
		o := newIVClient(t, srv.Client(key3))
		o.call("interviewSchedule.list", nil, &scheds)
		o.call("applicationFeedback.list", nil, &fbs)
		o.call("interview.list", map[string]any{"includeNonSharedInterviews": true, "includeArchived": true}, &ivs)
		o.call("feedbackFormDefinition.list", map[string]any{"includeArchived": true}, &formList)
		if len(scheds) != 0 || len(fbs) != 0 || len(ivs) != 1 || ivs[0].ID == defaultInterview.ID || len(formList) != 1 || formList[0].ID == defaultForm.ID {
			t.Fatalf("another organization sees: %d schedules, %d feedback, %d interviews, %d forms", len(scheds), len(fbs), len(ivs), len(formList))
		}
		o.fails("interview.info", map[string]any{"id": tech.ID}, "interview_not_found")
		o.fails("interview.update", map[string]any{"interviewId": tech.ID, "title": "Mine"}, "interview_not_found")
		o.fails("interview.archive", map[string]any{"interviewId": tech.ID}, "interview_not_found")
		o.fails("feedbackFormDefinition.info", map[string]any{"feedbackFormDefinitionId": scorecard.ID}, "feedback_form_definition_not_found")
		o.fails("interviewEvent.list", map[string]any{"interviewScheduleId": fresh.ID}, "interview_schedule_not_found")
		o.fails("interviewBriefing.info", map[string]any{"interviewEventId": fresh.InterviewEvents[0].ID}, "interview_event_not_found")
		o.fails("interviewSchedule.update", map[string]any{"interviewScheduleId": fresh.ID, "interviewEventIdToCancel": fresh.InterviewEvents[0].ID}, "interview_schedule_not_found")
		o.fails("interviewSchedule.cancel", map[string]any{"id": fresh.ID}, "interview_schedule_not_found")
		o.fails("interviewSchedule.create", map[string]any{"applicationId": app.ID, "interviewEvents": []any{ev(future, 30, "", email(ada))}}, "application_not_found")
		o.fails("applicationFeedback.submit", submit(ashby.User{}, defaultForm.ID, "", good), "application_not_found")
		o.fails("applicationFeedbackRequest.create", map[string]any{"applicationId": app.ID, "interviewId": tech.ID, "interviewerUserId": bob.ID}, "application_not_found")
		o.fails("jobInterviewPlan.addActivity", map[string]any{"jobId": f.job.ID, "interviewStageId": screen.ID, "interviews": []any{map[string]any{"interviewId": tech.ID}}}, "job_not_found")
		o.fails("jobInterviewPlan.removeActivity", map[string]any{"activityId": act.ID}, "activity_not_found")
		h.call("jobInterviewPlan.removeActivity", map[string]any{"activityId": act.ID}, nil)
		h.call("jobInterviewPlan.info", map[string]any{"jobId": f.job.ID}, &plan)
		for _, st := range plan.Stages {
			if len(st.Activities) != 0 {
				t.Fatalf("removed activity still in the plan: %+v", st)
			}
		}

		h.fails("notetakerTranscript.info", map[string]any{"notetakerTranscriptId": ashby.NewID()}, "notetaker_transcript_not_enabled")

		// Deleting an application deletes its schedules, events and feedback.
		var cand2 ashby.Candidate
		h.call("candidate.create", map[string]any{"name": "Barbara Liskov"}, &cand2)
		var app2 ashby.Application
		h.call("application.create", map[string]any{"candidateId": cand2.ID, "jobId": f.job.ID}, &app2)
		var gone ashby.InterviewSchedule
		h.call("interviewSchedule.create", map[string]any{"applicationId": app2.ID, "interviewEvents": []any{ev(past, 30, "", email(cy))}}, &gone)
		h.call("applicationFeedback.submit", map[string]any{"applicationId": app2.ID, "formDefinitionId": defaultForm.ID, "userId": cy.ID,
			"interviewEventId": gone.InterviewEvents[0].ID, "feedbackForm": answers("overall_recommendation", map[string]any{"score": 1}, "feedback", "No")}, nil)
		h.call("application.delete", map[string]any{"applicationId": app2.ID}, nil)
		h.call("interviewSchedule.list", map[string]any{"applicationId": app2.ID}, &scheds)
		h.call("applicationFeedback.list", map[string]any{"applicationId": app2.ID}, &fbs)
		if len(scheds) != 0 || len(fbs) != 0 {
			t.Fatalf("a deleted application's %d schedules and %d feedback remain", len(scheds), len(fbs))
		}
		h.fails("interviewBriefing.info", map[string]any{"interviewEventId": gone.InterviewEvents[0].ID}, "interview_event_not_found")
	})
}

func TestE2EInterviewerPoolsAndSettings(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{})
		_, key := srv.NewOrg()
		h := newIVClient(t, srv.Client(key))
		f := newFixture(t, h.c)
		qual := newUser(h, "Quinn", "quinn@pools.example.com")
		trainee := newUser(h, "Tara", "tara@pools.example.com")
		busy := newUser(h, "Bea", "bea@pools.example.com")

		var pool ashby.InterviewerPool
		h.call("interviewerPool.create", map[string]any{"title": "Backend", "requiresTraining": true}, &pool)
		if pool.TrainingPath == nil || !pool.TrainingPath.Enabled || len(pool.TrainingPath.TrainingStages) != 2 ||
			pool.TrainingPath.TrainingStages[0].InterviewerRole != "Shadow" || pool.QualifiedMembers == nil {
			t.Fatalf("pool: %+v", pool)
		}
		shadow, reverse := pool.TrainingPath.TrainingStages[0], pool.TrainingPath.TrainingStages[1]
		h.call("interviewerPool.addUser", map[string]any{"interviewerPoolId": pool.ID, "userId": qual.ID}, &pool)
		h.call("interviewerPool.addUser", map[string]any{"interviewerPoolId": pool.ID, "userId": trainee.ID, "interviewerPoolTrainingPathStageId": shadow.ID}, &pool)
		h.fails("interviewerPool.addUser", map[string]any{"interviewerPoolId": pool.ID, "userId": busy.ID, "interviewerPoolTrainingPathStageId": ashby.NewID()}, "interviewer_pool_training_stage_not_found")
		h.fails("interviewerPool.addUser", map[string]any{"interviewerPoolId": pool.ID, "userId": ashby.NewID()}, "user_not_found")
		h.call("interviewerPool.info", map[string]any{"interviewerPoolId": pool.ID}, &pool)
		if len(pool.QualifiedMembers) != 1 || pool.QualifiedMembers[0].ID != qual.ID || len(pool.Trainees) != 1 ||
			pool.Trainees[0].CurrentProgress.TrainingPathStageID != shadow.ID || pool.Trainees[0].CurrentProgress.InterviewsCompleted != 0 {
			t.Fatalf("pool members: %+v", pool)
		}

		// Pauses: one at a time, and they show on the pool.
		var pause ashby.InterviewerPause
		h.call("user.createInterviewerPause", map[string]any{"userId": qual.ID, "endsAt": at(7 * 24 * time.Hour), "comment": "Vacation"}, &pause)
		if pause.UserID != qual.ID || pause.EndsAt == nil || *pause.Comment != "Vacation" {
			t.Fatalf("pause: %+v", pause)
		}
		h.fails("user.createInterviewerPause", map[string]any{"userId": qual.ID}, "interviewer_pause_already_exists")
		h.fails("user.createInterviewerPause", map[string]any{"userId": busy.ID, "startsAt": at(time.Hour), "endsAt": at(time.Minute)}, "invalid_input")
		h.fails("user.createInterviewerPause", map[string]any{"userId": ashby.NewID()}, "user_not_found")
		var pauses []ashby.InterviewerPause
		h.call("user.listInterviewerPauses", map[string]any{"userId": qual.ID}, &pauses)
		if len(pauses) != 1 || pauses[0].ID != pause.ID {
			t.Fatalf("pauses: %+v", pauses)
		}
		h.call("interviewerPool.info", map[string]any{"interviewerPoolId": pool.ID}, &pool)
		if !pool.QualifiedMembers[0].IsPaused || pool.Trainees[0].IsPaused {
			t.Fatalf("isPaused: %+v", pool)
		}

		// Limits: null clears, omitted keeps.
		var st ashby.InterviewerSettings
		h.call("user.interviewerSettings", map[string]any{"userId": busy.ID}, &st)
		if st.ID != busy.ID || st.DailyLimit != nil || st.WeeklyLimit != nil {
			t.Fatalf("settings: %+v", st)
		}
		h.call("user.updateInterviewerSettings", map[string]any{"userId": busy.ID, "dailyLimit": 1, "weeklyLimit": 5}, &st)
		h.call("user.updateInterviewerSettings", map[string]any{"userId": busy.ID, "weeklyLimit": nil}, &st)
		if st.DailyLimit == nil || *st.DailyLimit != 1 || st.WeeklyLimit != nil {
			t.Fatalf("settings after clearing the weekly limit: %+v", st)
		}
		h.fails("user.updateInterviewerSettings", map[string]any{"userId": busy.ID, "dailyLimit": 0}, "invalid_input")
		h.fails("user.updateInterviewerSettings", map[string]any{"userId": busy.ID, "dailyLimit": 3, "weeklyLimit": 2}, "invalid_input")
		h.fails("user.updateInterviewerSettings", map[string]any{"userId": busy.ID, "dailyLimit": "3"}, "invalid_input")

		// Scheduling: the trainee sits in with their training role; a
		// paused or over-limit interviewer is scheduled with a warning.
		var cand ashby.Candidate
		h.call("candidate.create", map[string]any{"name": "Linus"}, &cand)
		var app ashby.Application
		h.call("application.create", map[string]any{"candidateId": cand.ID, "jobId": f.job.ID}, &app)
		in := func(d time.Duration, who ...map[string]any) map[string]any {
			return map[string]any{"startTime": at(d), "endTime": at(d + time.Hour), "interviewers": who}
		}
		seat := map[string]any{"email": trainee.Email, "interviewerPoolId": pool.ID}
		var sched ashby.InterviewSchedule
		// Two interviews on one UTC day three days ago, whatever the time
		// of day the test runs at.
		day := time.Now().UTC().Truncate(24 * time.Hour).Add(-72*time.Hour + 10*time.Hour)
		sameDay := func(h int, who ...map[string]any) map[string]any {
			start := day.Add(time.Duration(h) * time.Hour)
			return map[string]any{"startTime": ashby.NewTime(start), "endTime": ashby.NewTime(start.Add(time.Hour)), "interviewers": who}
		}
		res := h.call("interviewSchedule.create", map[string]any{"applicationId": app.ID, "interviewEvents": []any{
			sameDay(0, seat, map[string]any{"email": busy.Email}),
			sameDay(1, seat, map[string]any{"email": busy.Email}),
		}}, &sched)
		if !slices.Contains(res.Warnings, "interviewer_limit_exceeded") || slices.Contains(res.Warnings, "interviewer_paused") {
			t.Fatalf("warnings: %v", res.Warnings)
		}
		tr := sched.InterviewEvents[0].Interviewers[0]
		if tr.TrainingRole == nil || *tr.TrainingRole != "Shadow" || tr.InterviewerPool == nil || tr.InterviewerPool.ID != pool.ID {
			t.Fatalf("trainee seat: %+v", tr)
		}
		res = h.call("interviewSchedule.create", map[string]any{"applicationId": app.ID, "interviewEvents": []any{in(24*time.Hour, map[string]any{"email": qual.Email})}}, nil)
		if !slices.Equal(res.Warnings, []string{"interviewer_paused"}) {
			t.Fatalf("paused interviewer warnings: %v", res.Warnings)
		}
		h.fails("interviewSchedule.create", map[string]any{"applicationId": app.ID, "interviewEvents": []any{in(time.Hour, map[string]any{"email": busy.Email, "interviewerPoolId": pool.ID})}}, "invalid_input")

		// The trainee's feedback counts towards their training.
		var forms []ashby.FeedbackFormDefinition
		h.call("feedbackFormDefinition.list", nil, &forms)
		feedback := func(event string) {
			h.call("applicationFeedback.submit", map[string]any{"applicationId": app.ID, "formDefinitionId": forms[0].ID, "userId": trainee.ID, "interviewEventId": event,
				"feedbackForm": map[string]any{"fieldSubmissions": []any{map[string]any{"path": "overall_recommendation", "value": map[string]any{"score": 3}},
					map[string]any{"path": "feedback", "value": "Shadowed"}}}}, nil)
		}
		feedback(sched.InterviewEvents[0].ID)
		h.call("interviewerPool.info", map[string]any{"interviewerPoolId": pool.ID}, &pool)
		if pool.Trainees[0].CurrentProgress.InterviewsCompleted != 1 || pool.Trainees[0].CurrentProgress.TrainingPathStageID != shadow.ID {
			t.Fatalf("progress after one interview: %+v", pool.Trainees[0].CurrentProgress)
		}
		feedback(sched.InterviewEvents[1].ID)
		h.call("interviewerPool.info", map[string]any{"interviewerPoolId": pool.ID}, &pool)
		if p := pool.Trainees[0].CurrentProgress; p.InterviewsCompleted != 0 || p.TrainingPathStageID != reverse.ID {
			t.Fatalf("progress after the shadow stage: %+v", p)
		}

		// Training path: stages left out are archived; a trainee's stage
		// cannot be.
		h.fails("interviewerPool.updateTrainingPath", map[string]any{"interviewerPoolId": pool.ID, "trainingStages": []any{
			map[string]any{"interviewerRole": "Shadow", "interviewsRequired": 1}}}, "invalid_input")
		h.call("interviewerPool.updateTrainingPath", map[string]any{"interviewerPoolId": pool.ID, "trainingStages": []any{
			map[string]any{"id": reverse.ID, "interviewerRole": "ReverseShadow", "interviewsRequired": 3, "approvalRequired": true, "approverUserIds": []string{qual.ID}},
			map[string]any{"interviewerRole": "ReverseShadow", "interviewsRequired": 1}}}, &pool)
		if n := len(pool.TrainingPath.TrainingStages); n != 3 || !pool.TrainingPath.TrainingStages[2].IsArchived || len(pool.TrainingPath.TrainingStages[0].Approvers) != 1 {
			t.Fatalf("training path: %+v", pool.TrainingPath)
		}
		var list []ashby.InterviewerPoolSummary
		h.call("interviewerPool.list", nil, &list)
		if len(list) != 1 || len(list[0].TrainingPath.TrainingStages) != 2 {
			t.Fatalf("pool list hides archived stages: %+v", list)
		}
		_, token, err := client.All[ashby.InterviewerPoolSummary](context.Background(), h.c, "interviewerPool.list", map[string]any{"includeArchivedTrainingStages": true})
		if err != nil {
			t.Fatal(err)
		}
		h.call("interviewerPool.list", map[string]any{"includeArchivedTrainingStages": true}, &list)
		if len(list[0].TrainingPath.TrainingStages) != 3 {
			t.Fatalf("includeArchivedTrainingStages: %+v", list[0].TrainingPath)
		}
		// Qualifying a trainee (the approval) is adding them as a member.
		h.call("interviewerPool.addUser", map[string]any{"interviewerPoolId": pool.ID, "userId": trainee.ID}, &pool)
		if len(pool.Trainees) != 0 || len(pool.QualifiedMembers) != 2 {
			t.Fatalf("qualified trainee: %+v", pool)
		}
		h.call("interviewerPool.removeUser", map[string]any{"interviewerPoolId": pool.ID, "userId": qual.ID}, &pool)
		h.call("interviewerPool.removeUser", map[string]any{"interviewerPoolId": pool.ID, "userId": qual.ID}, &pool)
		if len(pool.QualifiedMembers) != 1 {
			t.Fatalf("after removal: %+v", pool.QualifiedMembers)
		}
		h.call("interviewerPool.update", map[string]any{"interviewerPoolId": pool.ID, "title": "Backend Panel", "requiresTraining": false}, &pool)
		if pool.Title != "Backend Panel" || pool.TrainingPath.Enabled {
			t.Fatalf("pool update: %+v", pool)
		}
		h.call("interviewerPool.archive", map[string]any{"interviewerPoolId": pool.ID}, &pool)
		h.call("interviewerPool.list", nil, &list)
		if len(list) != 0 {
			t.Fatalf("archived pool listed")
		}
		h.fails("interviewerPool.addUser", map[string]any{"interviewerPoolId": pool.ID, "userId": qual.ID}, "interviewer_pool_archived")
		// The incremental sync reports the pool, archived (on PostgreSQL
		// possibly a pass later; see the sync helper of the test above).
		changed := map[string]bool{}
		for deadline := time.Now().Add(30 * time.Second); !changed[pool.ID]; {
			next, err := h.c.Sync(context.Background(), "interviewerPool.list", map[string]any{"includeArchivedTrainingStages": true}, token, func(r json.RawMessage) error {
				var p ashby.InterviewerPoolSummary
				json.Unmarshal(r, &p)
				changed[p.ID] = p.IsArchived
				return nil
			})
			if err != nil || len(changed) > 1 || (!changed[pool.ID] && (engine == store.SQLite || time.Now().After(deadline))) {
				t.Fatalf("pool sync reports the archived pool: %v %v", changed, err)
			}
			token = next
			time.Sleep(100 * time.Millisecond)
		}
		h.call("interviewerPool.list", map[string]any{"includeArchivedPools": true}, &list)
		h.call("interviewerPool.restore", map[string]any{"interviewerPoolId": pool.ID}, &pool)
		if len(list) != 1 || pool.IsArchived {
			t.Fatalf("restore: %+v", pool)
		}

		// Another organization can touch none of it.
		_, key2 := srv.NewOrg()
		o := newIVClient(t, srv.Client(key2))
		o.fails("interviewerPool.info", map[string]any{"interviewerPoolId": pool.ID}, "interviewer_pool_not_found")
		o.fails("interviewerPool.addUser", map[string]any{"interviewerPoolId": pool.ID, "userId": qual.ID}, "interviewer_pool_not_found")
		o.fails("user.interviewerSettings", map[string]any{"userId": busy.ID}, "user_not_found")
		o.fails("user.updateInterviewerSettings", map[string]any{"userId": busy.ID, "dailyLimit": 4}, "user_not_found")
		o.fails("user.listInterviewerPauses", map[string]any{"userId": qual.ID}, "user_not_found")
		o.fails("user.deleteInterviewerPause", map[string]any{"interviewerPauseId": pause.ID}, "interviewer_pause_not_found")
		o.call("interviewerPool.list", map[string]any{"includeArchivedPools": true}, &list)
		if len(list) != 0 {
			t.Fatalf("another organization lists %d pools", len(list))
		}

		var deleted ashby.InterviewerPauseID
		h.call("user.deleteInterviewerPause", map[string]any{"interviewerPauseId": pause.ID}, &deleted)
		h.fails("user.deleteInterviewerPause", map[string]any{"interviewerPauseId": pause.ID}, "interviewer_pause_not_found")
		h.call("user.listInterviewerPauses", map[string]any{"userId": qual.ID}, &pauses)
		if deleted.ID != pause.ID || len(pauses) != 0 {
			t.Fatalf("pause deletion: %+v %d", deleted, len(pauses))
		}
	})
}

// TestE2EInterviewStatusTimer checks that a server moves a schedule on
// when its interview ends, with nobody listing: the status change is
// stored and its interviewScheduleUpdate recorded.
func TestE2EInterviewStatusTimer(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{Args: []string{"--interview-status-interval", "300ms"}})
		slug, key := srv.NewOrg()
		h := newIVClient(t, srv.Client(key))
		f := newFixture(t, h.c)
		u := newUser(h, "Tim", "tim@timer.example.com")
		var cand ashby.Candidate
		h.call("candidate.create", map[string]any{"name": "Edsger"}, &cand)
		var app ashby.Application
		h.call("application.create", map[string]any{"candidateId": cand.ID, "jobId": f.job.ID}, &app)
		var sched ashby.InterviewSchedule
		h.call("interviewSchedule.create", map[string]any{"applicationId": app.ID, "interviewEvents": []any{map[string]any{
			"startTime": at(-time.Hour), "endTime": at(time.Second), "interviewers": []any{map[string]any{"email": u.Email}}}}}, &sched)
		if sched.Status != "Scheduled" {
			t.Fatalf("status: %s", sched.Status)
		}
		for deadline := time.Now().Add(20 * time.Second); ; {
			var status string
			for _, e := range outbox(t, srv.DSN, slug) {
				var data struct {
					InterviewSchedule ashby.InterviewSchedule `json:"interviewSchedule"`
				}
				json.Unmarshal(e.Payload, &data)
				if e.Action == "interviewScheduleUpdate" && data.InterviewSchedule.ID == sched.ID {
					status = data.InterviewSchedule.Status
				}
			}
			if status == "WaitingOnFeedback" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no interviewScheduleUpdate to WaitingOnFeedback; last status %q", status)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}
