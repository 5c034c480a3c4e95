package main

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/demo"
	"github.com/ashlarhq/ashlar/email/smtptest"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

// The recruiter's main flow against the real binary, over HTTP: sign in,
// see the job's pipeline, move a card, archive with an email (received by
// a real SMTP server), see the resume inline; an interviewer submits
// feedback through feedbackLink.
func TestE2EWorkspace(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		mail := smtptest.Start(t, smtptest.Options{User: "relay", Password: "relay-secret"})
		srv := testserver.Start(t, engine, testserver.Options{Args: []string{"--mail-from", "Acme Recruiting <jobs@acme.example>", "--smtp-retry-base", "100ms"},
			Env: []string{"ASHLAR_SMTP_URL=smtp://relay:relay-secret@" + mail.Addr}})
		if logs := srv.Logs() + srv.Stdout(); strings.Contains(logs, "relay-secret") || !strings.Contains(logs, "email: sending through smtp://relay:***@") {
			t.Fatalf("email status line (and no password):\n%s", logs)
		}
		slug, key := srv.NewOrg()
		c := srv.Client(key)
		ctx := context.Background()
		must := func(endpoint string, req, out any) {
			t.Helper()
			if _, err := c.Call(ctx, endpoint, req, out); err != nil {
				t.Fatalf("%s: %v", endpoint, err)
			}
		}
		admin := "ada@" + slug + ".example"
		srv.CLIInput("a long enough password\n", "user", "create", "--org", slug, "--email", admin, "--name", "Ada Admin", "--role", "admin", "--password-stdin")
		lim := "lee@" + slug + ".example"
		srv.CLIInput("a long enough password\n", "user", "create", "--org", slug, "--email", lim, "--name", "Lee Interviewer", "--role", "limited", "--password-stdin")
		var plans []ashby.InterviewPlan
		must("interviewPlan.list", nil, &plans)
		var stages []ashby.InterviewStage
		must("interviewStage.list", map[string]any{"interviewPlanId": plans[0].ID}, &stages)
		byTitle := map[string]ashby.InterviewStage{}
		for _, s := range stages {
			byTitle[s.Title] = s
		}
		var d ashby.Department
		must("department.create", map[string]any{"name": "Engineering"}, &d)
		var l ashby.Location
		must("location.create", map[string]any{"name": "Berlin", "type": "Location"}, &l)
		var job ashby.Job
		must("job.create", map[string]any{"title": "Robot Whisperer", "teamId": d.ID, "locationId": l.ID, "defaultInterviewPlanId": plans[0].ID}, &job)
		must("job.setStatus", map[string]any{"jobId": job.ID, "status": "Open"}, &job)
		var cand ashby.Candidate
		must("candidate.create", map[string]any{"name": "Grace Hopper", "email": "grace@example.com"}, &cand)
		var app ashby.Application
		must("application.create", map[string]any{"candidateId": cand.ID, "jobId": job.ID}, &app)
		var tpl ashby.CommunicationTemplate
		must("communicationTemplate.create", map[string]any{"title": "Rejection", "subject": "About {{job.title}}", "bodyHtml": "<p>Dear {{candidate.firstName}}, thank you.</p>"}, &tpl)
		var reasons []ashby.ArchiveReason
		must("archiveReason.list", map[string]any{}, &reasons)
		// A resume, uploaded through the API.
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("candidateId", cand.ID)
		fw, _ := mw.CreateFormFile("resume", "grace-resume.pdf")
		fw.Write(demo.ResumePDF("Grace Hopper", []string{"Compilers."}))
		mw.Close()
		if _, err := c.CallMultipart(ctx, "candidate.uploadResume", body.Bytes(), mw.FormDataContentType(), nil); err != nil {
			t.Fatalf("upload resume: %v", err)
		}

		w := newWebClient(t, srv.URL)
		if r := w.signIn(admin, "a long enough password"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in: %d", r.StatusCode)
		}
		if r, page := w.do("GET", "/app/jobs", nil); r.StatusCode != http.StatusOK || !strings.Contains(page, "/app/jobs/"+job.ID) {
			t.Fatalf("jobs: %d", r.StatusCode)
		}
		review := byTitle["Application Review"]
		if r, page := w.do("GET", "/app/jobs/"+job.ID, nil); r.StatusCode != http.StatusOK || !strings.Contains(page, app.ID+":"+review.ID) {
			t.Fatalf("pipeline: %d\n%s", r.StatusCode, page)
		}
		if r, _ := w.do("POST", "/app/jobs/"+job.ID+"/move", url.Values{"move": {app.ID + ":" + review.ID}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("move: %d", r.StatusCode)
		}
		var got ashby.Application
		must("application.info", map[string]any{"applicationId": app.ID}, &got)
		if got.CurrentInterviewStage.ID != review.ID {
			t.Fatalf("after the move: %s", got.CurrentInterviewStage.Title)
		}
		// The resume is shown inline, as a PDF, to a signed-in recruiter.
		_, page := w.do("GET", cand.ProfileURL, nil)
		m := regexp.MustCompile(`data="(/app/candidates/[^"]+/files/[^"?]+)\?inline=1"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no inline resume on the candidate's page:\n%s", page)
		}
		r, pdf := w.do("GET", m[1]+"?inline=1", nil)
		if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "inline") ||
			!strings.HasPrefix(pdf, "%PDF-") {
			t.Fatalf("inline resume: %d %v", r.StatusCode, r.Header)
		}
		if r, _ := w.do("GET", m[1], nil); !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("resume download: %v", r.Header)
		}
		if r, _ := newWebClient(t, srv.URL).do("GET", m[1]+"?inline=1", nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("the resume without signing in: %d", r.StatusCode)
		}
		// Archive with the email: the SMTP server refuses it once (4xx),
		// then gets it.
		mail.Refuse(1, 451)
		w.do("GET", "/app/applications/"+app.ID+"/archive", nil)
		if r, _ := w.do("POST", "/app/applications/"+app.ID+"/archive", url.Values{"reason": {reasons[0].ID}, "template": {tpl.ID}, "when": {"now"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("archive: %d", r.StatusCode)
		}
		got1 := mail.Wait(t, 1, time.Minute)[0]
		if got1.To[0] != "grace@example.com" || got1.Authenticated != "relay" || !strings.Contains(got1.Data, "Subject: About Robot Whisperer") || !strings.Contains(got1.Data, "Dear Grace, thank you.") {
			t.Fatalf("archive email:\n%s", got1.Data)
		}
		deadline := time.Now().Add(time.Minute)
		for {
			_, page := w.do("GET", cand.ProfileURL, nil)
			if strings.Contains(page, ">Sent</span>") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the email is not shown as sent:\n%s", page)
			}
			time.Sleep(200 * time.Millisecond)
		}

		// An interviewer follows feedbackLink and submits feedback.
		var iv ashby.Interview
		must("interview.create", map[string]any{"title": "Robot Interview", "durationMinutes": 30}, &iv)
		start := time.Now().Add(-time.Hour).UTC()
		var app2 ashby.Application
		var c2 ashby.Candidate
		must("candidate.create", map[string]any{"name": "Alan Turing", "email": "alan@example.com"}, &c2)
		must("application.create", map[string]any{"candidateId": c2.ID, "jobId": job.ID}, &app2)
		var sched ashby.InterviewSchedule
		must("interviewSchedule.create", map[string]any{"applicationId": app2.ID, "interviewEvents": []map[string]any{{"interviewId": iv.ID,
			"startTime": ashby.NewTime(start), "endTime": ashby.NewTime(start.Add(30 * time.Minute)), "interviewers": []map[string]any{{"email": lim}}}}}, &sched)
		link := sched.InterviewEvents[0].FeedbackLink
		iw := newWebClient(t, srv.URL)
		if r, _ := iw.do("GET", link, nil); r.StatusCode != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "/app/signin?next=") {
			t.Fatalf("feedbackLink signed out: %d %s", r.StatusCode, r.Header.Get("Location"))
		}
		iw.signIn(lim, "a long enough password")
		if r, page := iw.do("GET", link, nil); r.StatusCode != http.StatusOK || !strings.Contains(page, `form class="feedback"`) {
			t.Fatalf("feedback page: %d", r.StatusCode)
		}
		if r, _ := iw.do("POST", link, url.Values{"overall_recommendation": {"3"}, "feedback": {"Broke the code."}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("submit feedback: %d", r.StatusCode)
		}
		var fbs []ashby.ApplicationFeedback
		must("applicationFeedback.list", map[string]any{"applicationId": app2.ID}, &fbs)
		if len(fbs) != 1 || fbs[0].SubmittedByUser.Email != lim || fbs[0].SubmittedValues["feedback"] != "Broke the code." {
			t.Fatalf("applicationFeedback.list: %+v", fbs)
		}
		// After a refused delivery and its retry, the password is still in
		// no log line.
		if mail.Attempts() < 2 {
			t.Fatalf("the SMTP server saw %d attempts, want the refused one and its retry", mail.Attempts())
		}
		if logs := srv.Logs() + srv.Stdout(); strings.Contains(logs, "relay-secret") {
			t.Fatalf("the SMTP password is in the server's output:\n%s", logs)
		}
	})
}
