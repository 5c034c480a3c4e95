package webapp_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/browsertest"
	"github.com/ashlarhq/ashlar/demo"
	"github.com/ashlarhq/ashlar/email/smtptest"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

// Browser tests of the recruiter's workspace, the interviewer's feedback
// and email, in real Chromium against the real binary, on both engines.

// hookSink is a webhook receiver that keeps every body it gets.
type hookSink struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
}

func newHookSink(t *testing.T) *hookSink {
	h := &hookSink{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		json.Unmarshal(b, &m)
		h.mu.Lock()
		h.bodies = append(h.bodies, m)
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

// wait returns the first body with the action whose data's application has
// the id, or fails the test.
func (h *hookSink) wait(t *testing.T, action, applicationID string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		for _, b := range h.bodies {
			data, _ := b["data"].(map[string]any)
			app, _ := data["application"].(map[string]any)
			if b["action"] == action && app != nil && app["id"] == applicationID {
				h.mu.Unlock()
				return b
			}
		}
		h.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no %s webhook for application %s arrived", action, applicationID)
	return nil
}

// job creates an open job with a published posting asking for name and
// email, and returns them with the job's stages by title.
func (s *site) job(title string) (ashby.Job, ashby.JobPostingInfo, map[string]ashby.InterviewStage) {
	var d ashby.Department
	s.call("department.create", map[string]any{"name": "Engineering"}, &d)
	var l ashby.Location
	s.call("location.create", map[string]any{"name": "Berlin", "type": "Location"}, &l)
	var plans []ashby.InterviewPlan
	s.call("interviewPlan.list", nil, &plans)
	var job ashby.Job
	s.call("job.create", map[string]any{"title": title, "teamId": d.ID, "locationId": l.ID, "defaultInterviewPlanId": plans[0].ID}, &job)
	s.call("job.setStatus", map[string]any{"jobId": job.ID, "status": "Open"}, &job)
	var p ashby.JobPostingInfo
	s.call("jobPosting.create", map[string]any{"jobId": job.ID, "title": title, "status": "Published", "descriptionHtml": "<p>Talk to robots.</p>",
		"applicationFormDefinition": map[string]any{"sections": []any{map[string]any{"title": "About you", "fields": []any{
			map[string]any{"isRequired": true, "field": map[string]any{"type": "String", "path": "_systemfield_name", "title": "Name"}},
			map[string]any{"isRequired": true, "field": map[string]any{"type": "Email", "path": "_systemfield_email", "title": "Email"}}}}}}}, &p)
	var st []ashby.InterviewStage
	s.call("interviewStage.list", map[string]any{"interviewPlanId": plans[0].ID}, &st)
	stages := map[string]ashby.InterviewStage{}
	for _, x := range st {
		stages[x.Title] = x
	}
	return job, p, stages
}

func TestBrowserWorkspace(t *testing.T) {
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		mail := smtptest.Start(t, smtptest.Options{User: "ashlar", Password: "smtp password"})
		s := newSite(t, engine, "--webhook-allow-private", "--webhook-poll", "100ms", "--smtp-url", "smtp://ashlar:smtp%20password@"+mail.Addr,
			"--mail-from", "Acme Recruiting <jobs@acme.example>", "--smtp-retry-base", "100ms")
		if strings.Contains(s.srv.Logs(), "smtp password") {
			t.Fatal("the server logged the SMTP password")
		}
		n := func(name string) string { return shotName(engine, name) }
		hooks := newHookSink(t)
		s.call("webhook.create", map[string]any{"webhookType": "candidateStageChange", "requestUrl": hooks.URL + "/hook", "secretToken": "0123456789abcdef0123456789abcdef"}, nil)
		job, posting, stages := s.job("Robot Whisperer")
		var ada ashby.Candidate
		s.call("candidate.create", map[string]any{"name": "Ada Lovelace", "email": "ada@example.com"}, &ada)
		var adaApp ashby.Application
		s.call("application.create", map[string]any{"candidateId": ada.ID, "jobId": job.ID}, &adaApp)
		var tpl ashby.CommunicationTemplate
		s.call("communicationTemplate.create", map[string]any{"title": "Rejection", "subject": "Your application to {{job.title}}",
			"bodyHtml": "<p>Dear {{candidate.firstName}},</p><p>Thank you for your time. We will not go on with your application.</p><p>{{sender.name}}</p>"}, &tpl)
		ctx := browsertest.Browser(t)

		// A candidate applies on the careers site …
		browsertest.Do(t, ctx, chromedp.Navigate(s.srv.URL+"/jobs/"+s.slug+"/"+posting.ID+"/application"), browsertest.WaitFor(`form.apply`),
			chromedp.SendKeys(chromedp.CSS(`input[name="_systemfield_name"]`), "Ellen Ochoa"),
			chromedp.SendKeys(chromedp.CSS(`input[name="_systemfield_email"]`), "ellen@example.net"),
			submit(`form.apply button[type=submit]`), browsertest.WaitFor(`h1`))
		// … and is confirmed by email (the built-in confirmation).
		confirmation := mail.Wait(t, 1, 60*time.Second)[0]
		if confirmation.To[0] != "ellen@example.net" || !strings.Contains(confirmation.Data, "Thank you for applying to Robot Whisperer") {
			t.Fatalf("confirmation:\n%s", confirmation.Data)
		}
		// The application waits in the review queue.
		s.signIn(ctx, s.admin)
		browsertest.Do(t, ctx, submit(`nav.top a[href="/app/review"]`), browsertest.WaitFor(`article.review`))
		if text := browsertest.Text(t, ctx, "main"); !strings.Contains(text, "Ellen Ochoa") || !strings.Contains(text, "1 waiting") {
			t.Fatalf("review queue:\n%s", text)
		}
		s.check(ctx, n("review"))
		browsertest.Do(t, ctx, submit(`.review-actions button`), browsertest.WaitFor(`.flash`))
		if text := browsertest.Text(t, ctx, "main"); !strings.Contains(text, "Ellen Ochoa moved to Application Review") {
			t.Fatalf("after advancing:\n%s", text)
		}

		// The jobs list and the pipeline.
		browsertest.Do(t, ctx, submit(`nav.top a[href="/app/jobs"]`), browsertest.WaitFor(`table.jobs`))
		s.check(ctx, n("jobs"))
		browsertest.Do(t, ctx, submit(`table.jobs a[href="/app/jobs/`+job.ID+`"]`), browsertest.WaitFor(`.board`))
		s.check(ctx, n("pipeline"))
		// Move Ada's card on with its button: application.info and a real
		// webhook receiver see the new stage.
		review := stages["Application Review"]
		browsertest.Do(t, ctx, submit(`button[name=move][value="`+adaApp.ID+`:`+review.ID+`"]`), browsertest.WaitFor(`.flash`))
		if msg := browsertest.Text(t, ctx, ".flash"); !strings.Contains(msg, "Ada Lovelace moved to Application Review") {
			t.Fatalf("move: %q", msg)
		}
		var got ashby.Application
		s.call("application.info", map[string]any{"applicationId": adaApp.ID}, &got)
		if got.CurrentInterviewStage.ID != review.ID {
			t.Fatalf("application.info after the move: %s", got.CurrentInterviewStage.Title)
		}
		hook := hooks.wait(t, "candidateStageChange", adaApp.ID)
		stage := hook["data"].(map[string]any)["application"].(map[string]any)["currentInterviewStage"].(map[string]any)
		if stage["id"] != review.ID {
			t.Fatalf("webhook's stage: %v", stage)
		}
		// Move with the selection's form too (any stage).
		onsite := stages["Onsite"]
		browsertest.Do(t, ctx, browsertest.Click(`input[name=application][value="`+adaApp.ID+`"]`), chromedp.SetValue(chromedp.CSS(`#b-stage`), onsite.ID),
			submit(`form#bulk button[value=move]`), browsertest.WaitFor(`.flash`))
		if s.call("application.info", map[string]any{"applicationId": adaApp.ID}, &got); got.CurrentInterviewStage.ID != onsite.ID {
			t.Fatalf("bulk move: %s", got.CurrentInterviewStage.Title)
		}

		// Archive Ada with the email: a real SMTP server gets it, rendered.
		browsertest.Do(t, ctx, submit(`a.archive-link[href^="/app/applications/`+adaApp.ID+`/archive"]`), browsertest.WaitFor(`#f-reason`))
		s.check(ctx, n("archive"))
		var reasons []ashby.ArchiveReason
		s.call("archiveReason.list", map[string]any{}, &reasons)
		browsertest.Do(t, ctx, chromedp.SetValue(chromedp.CSS(`#f-reason`), reasons[0].ID), chromedp.SetValue(chromedp.CSS(`#f-template`), tpl.ID),
			submit(`form[action$="/archive"] button[type=submit]`), browsertest.WaitFor(`.flash`))
		rejection := mail.Wait(t, 2, 60*time.Second)[1]
		if rejection.To[0] != "ada@example.com" || rejection.Authenticated != "ashlar" || !strings.Contains(rejection.Data, "Subject: Your application to Robot Whisperer") ||
			!strings.Contains(rejection.Data, "Dear Ada,") || !strings.Contains(rejection.Data, "Ada Admin") {
			t.Fatalf("archive email:\n%s", rejection.Data)
		}
		if s.call("application.info", map[string]any{"applicationId": adaApp.ID}, &got); got.Status != ashby.ApplicationArchived {
			t.Fatalf("after archiving: %s", got.Status)
		}
		// The pipeline page it came back to; then Ada's page lists the email
		// as sent.
		browsertest.Do(t, ctx, chromedp.Navigate(s.srv.URL+"/app/candidates/"+ada.ID), browsertest.WaitFor(`table.emails`))
		waitText(t, ctx, "table.emails", regexp.MustCompile(`Your application to Robot Whisperer[\s\S]*Sent`), "the archive email on Ada's page")
		s.check(ctx, n("candidate-full"))
		// Write Ada an email from her page.
		browsertest.Do(t, ctx, submit(`a[href="/app/candidates/`+ada.ID+`/email"]`), browsertest.WaitFor(`#f-subject`))
		s.check(ctx, n("compose"))
		browsertest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#f-subject`), "A question, {{candidate.firstName}}"),
			chromedp.SendKeys(chromedp.CSS(`#f-body`), "Hi {{candidate.firstName}},\n\nWould you consider another role?"),
			submit(`form[action$="/email"] button[type=submit]`), browsertest.WaitFor(`.flash`))
		written := mail.Wait(t, 3, 60*time.Second)[2]
		if !strings.Contains(written.Data, "Subject: A question, Ada") || !strings.Contains(written.Data, "Would you consider another role?") {
			t.Fatalf("written email:\n%s", written.Data)
		}
		// The outbox and an email's page.
		browsertest.Do(t, ctx, submit(`nav.top a[href="/app/outbox"]`), browsertest.WaitFor(`table.emails`))
		s.check(ctx, n("outbox"))
		browsertest.Do(t, ctx, submit(`table.emails a`), browsertest.WaitFor(`.email-body`))
		s.check(ctx, n("email"))
		// Searching from the header.
		browsertest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#top-q`), "Ellen\r"), browsertest.WaitFor(searchResult))
		s.check(ctx, n("search"))
		s.phonePass(ctx)
	})
}

func TestBrowserInterviewerFeedback(t *testing.T) {
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		s := newSite(t, engine)
		n := func(name string) string { return shotName(engine, name) }
		lim := "lee@" + s.slug + ".example"
		s.srv.CLIInput(password+"\n", "user", "create", "--org", s.slug, "--email", lim, "--name", "Lee Interviewer", "--role", "limited", "--password-stdin")
		job, _, _ := s.job("Robot Whisperer")
		var c ashby.Candidate
		s.call("candidate.create", map[string]any{"name": "Grace Hopper", "email": "grace@example.com"}, &c)
		var app ashby.Application
		s.call("application.create", map[string]any{"candidateId": c.ID, "jobId": job.ID}, &app)
		var iv ashby.Interview
		s.call("interview.create", map[string]any{"title": "Robot Interview", "durationMinutes": 45, "instructionsHtml": "<p>Ask about <b>compilers</b>.</p>"}, &iv)
		var form ashby.FeedbackFormDefinition
		s.call("feedbackFormDefinition.info", map[string]any{"feedbackFormDefinitionId": iv.FeedbackFormDefinitionID}, &form)
		start := time.Now().Add(-2 * time.Hour).UTC()
		var sched ashby.InterviewSchedule
		s.call("interviewSchedule.create", map[string]any{"applicationId": app.ID, "interviewEvents": []map[string]any{{"interviewId": iv.ID,
			"startTime": ashby.NewTime(start), "endTime": ashby.NewTime(start.Add(45 * time.Minute)), "interviewers": []map[string]any{{"email": lim}}}}}, &sched)
		ev := sched.InterviewEvents[0]

		// The interviewer follows feedbackLink, signs in, and lands on it.
		ctx := browsertest.Browser(t)
		browsertest.Do(t, ctx, chromedp.Navigate(ev.FeedbackLink), browsertest.WaitFor(`#f-email`),
			chromedp.SendKeys(chromedp.CSS(`#f-email`), lim), chromedp.SendKeys(chromedp.CSS(`#f-password`), password),
			submit(`main form button[type=submit]`), browsertest.WaitFor(`form.feedback`))
		if text := browsertest.Text(t, ctx, "main"); !strings.Contains(text, "Robot Interview with Grace Hopper") || !strings.Contains(text, "Ask about compilers") {
			t.Fatalf("feedback page:\n%s", text)
		}
		s.check(ctx, n("feedback"))
		// Nothing answered: the API's validation, beside each question.
		browsertest.Do(t, ctx, submit(`form.feedback button[type=submit]`), browsertest.WaitFor(`.error-summary`))
		s.check(ctx, n("feedback-error"))
		for _, sec := range form.FormDefinition.Sections {
			for _, e := range sec.Fields {
				switch e.Field.Type {
				case ashby.FieldScore:
					browsertest.Do(t, ctx, browsertest.Click(`input[name="`+e.Field.Path+`"][value="4"]`))
				case ashby.FieldValueSelect:
					browsertest.Do(t, ctx, chromedp.SetValue(chromedp.CSS(`select[name="`+e.Field.Path+`"]`), e.Field.SelectableValues[0].Value))
				default:
					browsertest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS(`[name="`+e.Field.Path+`"]`), "Knows compilers inside out."))
				}
			}
		}
		browsertest.Do(t, ctx, submit(`form.feedback button[type=submit]`), browsertest.WaitFor(`.flash`))
		if h1 := browsertest.Text(t, ctx, "h1"); h1 != "Your interviews" {
			t.Fatalf("after submitting: %q", h1)
		}
		s.check(ctx, n("interviews"))
		var fbs []ashby.ApplicationFeedback
		s.call("applicationFeedback.list", map[string]any{"applicationId": app.ID}, &fbs)
		if len(fbs) != 1 || fbs[0].SubmittedByUser.Email != lim || fbs[0].InterviewEventID != ev.ID {
			t.Fatalf("applicationFeedback.list: %+v", fbs)
		}
		// The interviewer's home; no candidate pages for Limited Access.
		browsertest.Do(t, ctx, chromedp.Navigate(s.srv.URL+"/app/"), browsertest.WaitFor(`h1`))
		s.check(ctx, n("home-interviewer"))
		browsertest.Do(t, ctx, chromedp.Navigate(s.srv.URL+"/app/candidates/"+c.ID), browsertest.WaitFor(`h1`))
		if h1 := browsertest.Text(t, ctx, "h1"); h1 != "You do not have access" {
			t.Fatalf("Limited Access opens a candidate page: %q", h1)
		}
		s.phonePass(ctx)
	})
}

// searchResult is a candidate found by the search page. (The home page
// lists jobs in a ul.results too: waiting for any ".results a" after
// pressing Enter could find the home page's before the search page
// loaded, and click a job.)
const searchResult = `ul.results a[href^="/app/candidates/"]`

// The demo's showcase candidate's page shows everything a candidate's
// page can.
func TestBrowserDemoCandidate(t *testing.T) {
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{Args: []string{"--demo", "--demo-candidates", "40"}})
		re := regexp.MustCompile(`sign in at (\S+)/app/signin as (\S+) \(Organization Admin\)\s+with the password (\S+) `)
		m := re.FindStringSubmatch(srv.WaitStdout(re, 5*time.Minute))
		s := &site{t: t, srv: srv, engine: engine, axe: browsertest.AxeSource(t), pages: map[string]string{}}
		n := func(name string) string { return shotName(engine, name) }
		ctx := browsertest.Browser(t)
		browsertest.Do(t, ctx, chromedp.Navigate(srv.URL+"/app/signin"), browsertest.WaitFor(`#f-email`),
			chromedp.SendKeys(chromedp.CSS(`#f-email`), m[2]), chromedp.SendKeys(chromedp.CSS(`#f-password`), m[3]),
			submit(`main form button[type=submit]`), browsertest.WaitFor(`nav.top`))
		s.check(ctx, n("demo-home"))
		browsertest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#top-q`), demo.ShowcaseName+"\r"), browsertest.WaitFor(searchResult),
			submit(searchResult), browsertest.WaitFor(`table.emails`))
		text := browsertest.Text(t, ctx, "main")
		for _, want := range []string{demo.ShowcaseName, "valentina.tereshkova@example.com", "+1 415 555 0199", "Tags", "Years of experience",
			"Stage history", "Interviews", "Recruiter Screen", "Hiring Manager Interview", "Feedback", "Thoughtful, precise and kind.",
			"Offers", "Resume", "work-sample.txt", "Competing offer expected next week", "Private", "Next steps for", "Not sent",
			"Systems design exercise", "Activity", "Send a survey"} {
			if !strings.Contains(text, want) {
				t.Errorf("the showcase candidate's page lacks %q", want)
			}
		}
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector('object.resume[type="application/pdf"]')`)); err != nil || !ok {
			t.Errorf("no resume shown in the page (%v)", err)
		}
		s.check(ctx, n("demo-candidate"))
		// The outbox shows what the demo recorded instead of sending.
		browsertest.Do(t, ctx, chromedp.Navigate(srv.URL+"/app/outbox"), browsertest.WaitFor(`table.emails`))
		if text := browsertest.Text(t, ctx, "main"); !strings.Contains(text, "No SMTP server is configured") || !strings.Contains(text, "Not sent") {
			t.Errorf("demo outbox:\n%s", text)
		}
		for _, p := range []struct{ path, name, sel string }{{"/app/jobs", "demo-jobs", "table.jobs"}, {"/app/review", "demo-review", "h1"},
			{"/app/outbox", "demo-outbox", "table.emails"}, {"/app/interviews", "demo-interviews", "h1"}} {
			browsertest.Do(t, ctx, chromedp.Navigate(srv.URL+p.path), browsertest.WaitFor(p.sel))
			s.check(ctx, n(p.name))
		}
		s.phonePass(ctx)
	})
}
