package webapp_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/accounts"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
	"github.com/ashlarhq/ashlar/webapp"
)

// hiring is a job with its default plan's stages, for workspace tests.
type hiring struct {
	job     ashby.Job
	stages  map[string]ashby.InterviewStage // by title
	reasons []ashby.ArchiveReason
	posting ashby.JobPostingInfo
}

func (g *org) hiring(title string) *hiring {
	h := &hiring{stages: map[string]ashby.InterviewStage{}}
	var plans []ashby.InterviewPlan
	g.invoke("interviewPlan.list", nil, &plans)
	var d ashby.Department
	g.invoke("department.create", map[string]any{"name": "Engineering " + title}, &d)
	var l ashby.Location
	g.invoke("location.create", map[string]any{"name": "Berlin " + title, "type": "Location"}, &l)
	g.invoke("job.create", map[string]any{"title": title, "teamId": d.ID, "locationId": l.ID, "defaultInterviewPlanId": plans[0].ID}, &h.job)
	g.invoke("job.setStatus", map[string]any{"jobId": h.job.ID, "status": "Open"}, &h.job)
	var st []ashby.InterviewStage
	g.invoke("interviewStage.list", map[string]any{"interviewPlanId": plans[0].ID}, &st)
	for _, s := range st {
		h.stages[s.Title] = s
	}
	g.invoke("archiveReason.list", map[string]any{}, &h.reasons)
	g.invoke("jobPosting.create", map[string]any{"jobId": h.job.ID, "title": title, "status": "Published", "descriptionHtml": "<p>Build robots.</p>",
		"applicationFormDefinition": map[string]any{"sections": []any{map[string]any{"fields": []any{
			map[string]any{"isRequired": true, "field": map[string]any{"type": "String", "path": "_systemfield_name", "title": "Name"}},
			map[string]any{"isRequired": true, "field": map[string]any{"type": "Email", "path": "_systemfield_email", "title": "Email"}},
			map[string]any{"isRequired": false, "field": map[string]any{"type": "LongText", "path": "why", "title": "Why us?"}}}}}}}, &h.posting)
	return h
}

// apply adds a candidate to the job through the API (not the careers site).
func (g *org) apply(h *hiring, name string) (ashby.Candidate, ashby.Application) {
	var c ashby.Candidate
	g.invoke("candidate.create", map[string]any{"name": name, "email": strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.com"}, &c)
	var a ashby.Application
	g.invoke("application.create", map[string]any{"candidateId": c.ID, "jobId": h.job.ID}, &a)
	return c, a
}

func (g *org) app(id string) ashby.Application {
	var a ashby.Application
	g.invoke("application.info", map[string]any{"applicationId": id}, &a)
	return a
}

func TestPipelineMovesAndArchives(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webapp.Options{})
		g := f.newOrg("Acme")
		h := g.hiring("Robot Whisperer")
		_, ada := g.apply(h, "Ada Lovelace")
		_, alan := g.apply(h, "Alan Turing")
		grace, gapp := g.apply(h, "Grace Hopper")
		var tag ashby.CandidateTag
		g.invoke("candidateTag.create", map[string]any{"title": "Strong referral"}, &tag)
		g.invoke("candidate.addTag", map[string]any{"candidateId": grace.ID, "tagId": tag.ID}, nil)
		g.user("el@example.com", accounts.Elevated)
		b := f.browser()
		b.signIn("el@example.com")

		// The jobs list counts the job's applications by stage.
		r := b.get("/app/jobs")
		if r.status != http.StatusOK || !strings.Contains(r.body, `href="/app/jobs/`+h.job.ID+`"`) || !regexp.MustCompile(`Lead</span> 3`).MatchString(r.body) ||
			!strings.Contains(r.body, "3 new") {
			t.Fatalf("jobs list: %d\n%s", r.status, r.body)
		}
		// Filters: another department shows none of it.
		if r := b.get("/app/jobs?department=" + ashby.NewID()); strings.Contains(r.body, `href="/app/jobs/`+h.job.ID+`"`) {
			t.Fatal("the department filter kept the job")
		}
		page := b.get("/app/jobs/" + h.job.ID)
		if page.status != http.StatusOK || strings.Count(page.body, `class="card"`) != 3 || !strings.Contains(page.body, "Strong referral") ||
			!strings.Contains(page.body, "today in stage") {
			t.Fatalf("pipeline: %d\n%s", page.status, page.body)
		}
		// Move one card with its Next button (Lead → Application Review).
		review := h.stages["Application Review"]
		if !strings.Contains(page.body, `name="move" value="`+ada.ID+`:`+review.ID+`"`) {
			t.Fatalf("no Next button on the card:\n%s", page.body)
		}
		r = b.post("/app/jobs/"+h.job.ID+"/move", url.Values{"move": {ada.ID + ":" + review.ID}, "back": {"/app/jobs/" + h.job.ID + "?tag="}})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/app/jobs/"+h.job.ID+"?tag=" {
			t.Fatalf("move: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
		}
		if got := g.app(ada.ID); got.CurrentInterviewStage.ID != review.ID {
			t.Fatalf("after the move, application.info says %s", got.CurrentInterviewStage.Title)
		}
		if r := b.get("/app/jobs/" + h.job.ID); !strings.Contains(r.body, "Ada Lovelace moved to Application Review.") {
			t.Fatalf("no flash after the move:\n%s", r.body)
		}
		// The change is the user's, in the audit log.
		var entries []ashby.AuditLogEntry
		g.invoke("auditLog.list", map[string]any{"targetIds": []string{ada.ID}}, &entries)
		if len(entries) == 0 || entries[0].Actor.Type != ashby.ActorUser || entries[0].Request == nil || entries[0].Request.Endpoint != "application.changeStage" {
			t.Fatalf("audit of the move: %+v", entries)
		}
		// An external move back to an unknown stage is refused, and says so.
		b.get("/app/jobs/" + h.job.ID)
		r = b.post("/app/jobs/"+h.job.ID+"/move", url.Values{"application": {ada.ID}, "stage": {ashby.NewID()}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("move to an unknown stage: %d", r.status)
		}
		if r := b.get("/app/jobs/" + h.job.ID); !strings.Contains(r.body, "Not moved:") {
			t.Fatalf("the refusal is not shown:\n%s", r.body)
		}
		// Bulk move two, then bulk archive them with a reason.
		screen := h.stages["Recruiter Screen"]
		r = b.post("/app/jobs/"+h.job.ID+"/bulk", url.Values{"action": {"move"}, "stage": {screen.ID}, "application": {alan.ID, gapp.ID}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("bulk move: %d\n%s", r.status, r.body)
		}
		for _, id := range []string{alan.ID, gapp.ID} {
			if got := g.app(id); got.CurrentInterviewStage.ID != screen.ID {
				t.Fatalf("bulk move left %s in %s", got.Candidate.Name, got.CurrentInterviewStage.Title)
			}
		}
		if r := b.get("/app/jobs/" + h.job.ID); !strings.Contains(r.body, "2 of 2 moved.") {
			t.Fatalf("bulk move flash:\n%s", r.body)
		}
		// Without a reason, nothing is archived.
		b.post("/app/jobs/"+h.job.ID+"/bulk", url.Values{"action": {"archive"}, "application": {alan.ID, gapp.ID}})
		if got := g.app(alan.ID); got.Status == ashby.ApplicationArchived {
			t.Fatal("archived without a reason")
		}
		if r := b.get("/app/jobs/" + h.job.ID); !strings.Contains(r.body, "Choose the reason for archiving.") {
			t.Fatalf("no reason: no message\n%s", r.body)
		}
		r = b.post("/app/jobs/"+h.job.ID+"/bulk", url.Values{"action": {"archive"}, "reason": {h.reasons[0].ID}, "application": {alan.ID, gapp.ID}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("bulk archive: %d", r.status)
		}
		for _, id := range []string{alan.ID, gapp.ID} {
			if got := g.app(id); got.Status != ashby.ApplicationArchived || got.ArchiveReason == nil || got.ArchiveReason.ID != h.reasons[0].ID {
				t.Fatalf("bulk archive: %s is %s", got.Candidate.Name, got.Status)
			}
		}
		// Archived cards are hidden unless asked for; filters narrow.
		if r := b.get("/app/jobs/" + h.job.ID); strings.Count(r.body, `class="card"`) != 1 {
			t.Fatalf("archived cards shown by default:\n%s", r.body)
		}
		if r := b.get("/app/jobs/" + h.job.ID + "?archived=on"); strings.Count(r.body, `class="card"`) != 3 || !strings.Contains(r.body, h.reasons[0].Text) {
			t.Fatalf("include archived:\n%s", r.body)
		}
		if r := b.get("/app/jobs/" + h.job.ID + "?archived=on&tag=" + tag.ID); strings.Count(r.body, `class="card"`) != 1 || !strings.Contains(r.body, "Grace Hopper") {
			t.Fatalf("tag filter:\n%s", r.body)
		}
		if r := b.get("/app/jobs/" + h.job.ID + "?stage=" + review.ID); strings.Count(r.body, `class="card"`) != 1 || !strings.Contains(r.body, "Ada Lovelace") {
			t.Fatalf("stage filter:\n%s", r.body)
		}
		// One archive through its own page, which asks for the reason first.
		b.get("/app/applications/" + ada.ID + "/archive")
		if r := b.post("/app/applications/"+ada.ID+"/archive", url.Values{"back": {"/app/jobs/" + h.job.ID}}); r.status != http.StatusUnprocessableEntity ||
			!strings.Contains(r.body, `href="#f-reason"`) || !strings.Contains(r.body, `aria-invalid="true"`) {
			t.Fatalf("archive without a reason: %d\n%s", r.status, r.body)
		}
		r = b.post("/app/applications/"+ada.ID+"/archive", url.Values{"reason": {h.reasons[1].ID}, "back": {"/app/jobs/" + h.job.ID}})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/app/jobs/"+h.job.ID {
			t.Fatalf("archive: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
		}
		if got := g.app(ada.ID); got.Status != ashby.ApplicationArchived {
			t.Fatalf("archive page: %s", got.Status)
		}
		// back never leads off the app.
		b.get("/app/jobs/" + h.job.ID)
		if r := b.post("/app/jobs/"+h.job.ID+"/move", url.Values{"application": {ada.ID}, "stage": {review.ID}, "back": {"//evil.example.com/"}}); r.header.Get("Location") != "/app/jobs/"+h.job.ID {
			t.Fatalf("back to another site: %s", r.header.Get("Location"))
		}
	})
}

func TestReviewQueue(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webapp.Options{})
		g := f.newOrg("Acme")
		h := g.hiring("Robot Whisperer")
		g.apply(h, "Not From The Careers Site")
		submit := func(name string) ashby.Application {
			var res ashby.ApplicationFormSubmitResult
			g.invoke("applicationForm.submit", map[string]any{"jobPostingId": h.posting.ID, "applicationForm": map[string]any{"fieldSubmissions": []map[string]any{
				{"path": "_systemfield_name", "value": name}, {"path": "_systemfield_email", "value": strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.net"},
				{"path": "why", "value": "Robots are my people."}}}}, &res)
			var a ashby.Application
			g.invoke("application.info", map[string]any{"submittedFormInstanceId": res.SubmittedFormInstance.ID}, &a)
			return a
		}
		first, second := submit("Ellen Ochoa"), submit("Sally Ride")
		// The queue is oldest first (then by id, for the same millisecond).
		if c := first.CreatedAt.Compare(second.CreatedAt.Time); c > 0 || c == 0 && first.ID > second.ID {
			first, second = second, first
		}
		b := f.browser()
		b.signIn(g.email)
		if r := b.get("/app/"); !strings.Contains(r.body, "2 applications wait for review") {
			t.Fatalf("home:\n%s", r.body)
		}
		r := b.get("/app/review")
		if !strings.Contains(r.body, "2 waiting") || !strings.Contains(r.body, first.Candidate.Name) || strings.Contains(r.body, second.Candidate.Name) || !strings.Contains(r.body, "Robots are my people.") {
			t.Fatalf("review queue:\n%s", r.body)
		}
		// Skip to the next one.
		skip := regexp.MustCompile(`href="(/app/review\?after=[^"]+)"`).FindStringSubmatch(r.body)
		if skip == nil {
			t.Fatalf("no skip link:\n%s", r.body)
		}
		if r := b.get(strings.ReplaceAll(skip[1], "&amp;", "&")); !strings.Contains(r.body, second.Candidate.Name) {
			t.Fatalf("after skipping:\n%s", r.body)
		}
		// Advance the first; the next one is shown.
		b.get("/app/review")
		r = b.post("/app/review/"+first.ID, url.Values{"action": {"advance"}, "stage": {h.stages["Application Review"].ID}})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/app/review" {
			t.Fatalf("advance: %d %s", r.status, r.header.Get("Location"))
		}
		if got := g.app(first.ID); got.CurrentInterviewStage.Title != "Application Review" {
			t.Fatalf("advanced to %s", got.CurrentInterviewStage.Title)
		}
		// Application Review is still a review stage: it waits there too.
		if r := b.get("/app/review"); !strings.Contains(r.body, "2 waiting") {
			t.Fatalf("after advancing to Application Review:\n%s", r.body)
		}
		// Archive without a reason: refused on the same application.
		if r := b.post("/app/review/"+second.ID, url.Values{"action": {"archive"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, second.Candidate.Name) ||
			!strings.Contains(r.body, "Choose the reason for archiving.") {
			t.Fatalf("archive without a reason: %d\n%s", r.status, r.body)
		}
		b.post("/app/review/"+second.ID, url.Values{"action": {"archive"}, "reason": {h.reasons[0].ID}})
		b.post("/app/review/"+first.ID, url.Values{"action": {"advance"}, "stage": {h.stages["Recruiter Screen"].ID}})
		if r := b.get("/app/review"); !strings.Contains(r.body, "No application waits for review") {
			t.Fatalf("empty queue:\n%s", r.body)
		}
		// Limited Access has no queue.
		g.user("lim@example.com", accounts.Limited)
		l := f.browser()
		l.signIn("lim@example.com")
		for _, p := range []string{"/app/review", "/app/jobs", "/app/jobs/" + h.job.ID, "/app/search?q=Ellen", "/app/candidates/" + first.Candidate.ID} {
			if r := l.get(p); r.status != http.StatusForbidden {
				t.Errorf("Limited Access GET %s: %d", p, r.status)
			}
		}
	})
}

// scheduleFor schedules one interview event for an application, already
// over, with the given interviewers.
func (g *org) scheduleFor(app ashby.Application, interviewers ...*ashby.User) (ashby.InterviewSchedule, ashby.FeedbackFormDefinition) {
	var ivs []ashby.Interview
	g.invoke("interview.list", map[string]any{}, &ivs)
	var forms []ashby.FeedbackFormDefinition
	g.invoke("feedbackFormDefinition.list", map[string]any{}, &forms)
	var iv ashby.Interview
	if len(ivs) > 0 {
		iv = ivs[0]
	} else {
		g.invoke("interview.create", map[string]any{"title": "Robot Interview", "durationMinutes": 45}, &iv)
	}
	var form ashby.FeedbackFormDefinition
	for _, fm := range forms {
		if fm.ID == iv.FeedbackFormDefinitionID {
			form = fm
		}
	}
	var people []map[string]any
	for _, u := range interviewers {
		people = append(people, map[string]any{"email": u.Email})
	}
	start := time.Now().Add(-3 * time.Hour).UTC()
	var s ashby.InterviewSchedule
	g.invoke("interviewSchedule.create", map[string]any{"applicationId": app.ID, "interviewEvents": []map[string]any{{
		"startTime": ashby.NewTime(start), "endTime": ashby.NewTime(start.Add(45 * time.Minute)), "interviewId": iv.ID, "interviewers": people}}}, &s)
	return s, form
}

func TestInterviewerFeedback(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webapp.Options{})
		g := f.newOrg("Acme")
		h := g.hiring("Robot Whisperer")
		_, app := g.apply(h, "Ada Lovelace")
		lim := g.user("lim@example.com", accounts.Limited)
		other := g.user("other@example.com", accounts.Limited)
		sched, form := g.scheduleFor(app, lim)
		ev := sched.InterviewEvents[0]
		if ev.FeedbackLink != f.url+"/app/interviews/"+ev.ID+"/feedback" {
			t.Fatalf("feedbackLink %q", ev.FeedbackLink)
		}
		b := f.browser()
		b.signIn("lim@example.com")
		// Their home and interviews page show the feedback they owe.
		for _, p := range []string{"/app/", "/app/interviews"} {
			if r := b.get(p); !strings.Contains(r.body, "Feedback to give") || !strings.Contains(r.body, "/app/interviews/"+ev.ID+"/feedback") || !strings.Contains(r.body, "Ada Lovelace") {
				t.Fatalf("%s:\n%s", p, r.body)
			}
		}
		page := b.get("/app/interviews/" + ev.ID + "/feedback")
		if page.status != http.StatusOK || !strings.Contains(page.body, `form class="feedback"`) || !strings.Contains(page.body, "Robot Whisperer") {
			t.Fatalf("feedback page: %d\n%s", page.status, page.body)
		}
		// The form's required questions are checked by the API's validation.
		r := b.post("/app/interviews/"+ev.ID+"/feedback", url.Values{})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Your feedback was not submitted") || !strings.Contains(r.body, `aria-invalid="true"`) {
			t.Fatalf("empty feedback: %d\n%s", r.status, r.body)
		}
		answers := url.Values{}
		for _, sec := range form.FormDefinition.Sections {
			for _, e := range sec.Fields {
				switch e.Field.Type {
				case ashby.FieldScore:
					answers.Set(e.Field.Path, "4")
				case ashby.FieldValueSelect:
					answers.Set(e.Field.Path, e.Field.SelectableValues[0].Value)
				case ashby.FieldBoolean:
					answers.Set(e.Field.Path, "true")
				default:
					answers.Set(e.Field.Path, "Knows her engines.")
				}
			}
		}
		r = b.post("/app/interviews/"+ev.ID+"/feedback", answers)
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/app/interviews" {
			t.Fatalf("feedback: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
		}
		var fbs []ashby.ApplicationFeedback
		g.invoke("applicationFeedback.list", map[string]any{"applicationId": app.ID}, &fbs)
		if len(fbs) != 1 || fbs[0].SubmittedByUser.ID != lim.ID || fbs[0].InterviewEventID != ev.ID {
			t.Fatalf("applicationFeedback.list: %+v", fbs)
		}
		var events []ashby.InterviewEvent
		g.invoke("interviewEvent.list", map[string]any{"interviewScheduleId": sched.ID}, &events)
		if len(events) != 1 || !events[0].HasSubmittedFeedback {
			t.Fatalf("hasSubmittedFeedback: %+v", events)
		}
		// The webhook event went out like an API submission's.
		var n int
		if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM events WHERE org_id = $1 AND action = 'interviewScheduleUpdate'`, g.o.ID).Scan(&n); err != nil || n < 2 {
			t.Fatalf("interviewScheduleUpdate events: %d %v", n, err)
		}
		// Twice is not possible; the page says it is done.
		if r := b.get("/app/interviews/" + ev.ID + "/feedback"); !strings.Contains(r.body, "You have submitted your feedback") || strings.Contains(r.body, `form class="feedback"`) {
			t.Fatalf("feedback page after submitting:\n%s", r.body)
		}
		if r := b.post("/app/interviews/"+ev.ID+"/feedback", answers); r.status != http.StatusSeeOther {
			t.Fatalf("second submission: %d", r.status)
		}
		g.invoke("applicationFeedback.list", map[string]any{"applicationId": app.ID}, &fbs)
		if len(fbs) != 1 {
			t.Fatalf("a second submission was recorded: %d", len(fbs))
		}
		// Not their interview: another Limited user gets 404, an admin a
		// refusal that names why; neither can submit.
		o := f.browser()
		o.signIn(other.Email)
		if r := o.get("/app/interviews/" + ev.ID + "/feedback"); r.status != http.StatusNotFound {
			t.Fatalf("another interviewer: %d", r.status)
		}
		answers.Del("csrf") // b's token, set by b.post
		if r := o.post("/app/interviews/"+ev.ID+"/feedback", answers); r.status != http.StatusNotFound {
			t.Fatalf("another interviewer posts: %d\n%s", r.status, r.body)
		}
		a := f.browser()
		a.signIn(g.email)
		if r := a.get("/app/interviews/" + ev.ID + "/feedback"); r.status != http.StatusForbidden {
			t.Fatalf("an admin who is not an interviewer: %d", r.status)
		}
		// The old link redirects to the page.
		if r := b.get("/interview-briefings/" + ev.ID + "/feedback"); r.status != http.StatusMovedPermanently || r.header.Get("Location") != "/app/interviews/"+ev.ID+"/feedback" {
			t.Fatalf("old feedback link: %d %s", r.status, r.header.Get("Location"))
		}
	})
}

func TestCandidatePageActions(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webapp.Options{})
		g := f.newOrg("Acme")
		h := g.hiring("Robot Whisperer")
		other := g.hiring("Rocket Engineer")
		c, app := g.apply(h, "Ada Lovelace")
		el := g.user("el@example.com", accounts.Elevated)
		g.user("el2@example.com", accounts.Elevated)
		b := f.browser()
		b.signIn(el.Email)
		path := "/app/candidates/" + c.ID
		r := b.get(path)
		if r.status != http.StatusOK || !strings.Contains(r.body, "Robot Whisperer") || !strings.Contains(r.body, `class="timeline"`) || !strings.Contains(r.body, "ada.lovelace@example.com") {
			t.Fatalf("candidate page: %d\n%s", r.status, r.body)
		}
		// Notes: one shared, one private.
		b.post(path+"/notes", url.Values{"note": {"Loves engines."}})
		b.post(path+"/notes", url.Values{"note": {"Competing offer <soon>."}, "private": {"on"}})
		if r := b.post(path+"/notes", url.Values{"note": {"  "}}); r.status != http.StatusSeeOther {
			t.Fatalf("empty note: %d", r.status)
		}
		var notes []ashby.Note
		g.invoke("candidate.listNotes", map[string]any{"candidateId": c.ID}, &notes)
		if len(notes) != 2 {
			t.Fatalf("notes: %+v", notes)
		}
		if r := b.get(path); !strings.Contains(r.body, "Loves engines.") || !strings.Contains(r.body, "Competing offer &lt;soon&gt;.") {
			t.Fatalf("own notes:\n%s", r.body)
		}
		e2 := f.browser()
		e2.signIn("el2@example.com")
		if r := e2.get(path); !strings.Contains(r.body, "Loves engines.") || strings.Contains(r.body, "Competing offer") {
			t.Fatal("another user sees a private note, or not the shared one")
		}
		admin := f.browser()
		admin.signIn(g.email)
		if r := admin.get(path); !strings.Contains(r.body, "Competing offer") {
			t.Fatal("an Organization Admin does not see the private note")
		}
		// Tags: an admin creates one, Elevated Access adds it, then removes it.
		if r := b.get(path); strings.Contains(r.body, `name="newTag"`) {
			t.Fatal("Elevated Access is offered to create tags")
		}
		admin.get(path)
		if r := admin.post(path+"/tags", url.Values{"newTag": {"Rocket scientist"}}); r.status != http.StatusSeeOther {
			t.Fatalf("admin creates a tag: %d", r.status)
		}
		g.invoke("candidate.info", map[string]any{"id": c.ID}, &c)
		b.post(path+"/tags/"+c.Tags[0].ID+"/remove", nil)
		b.post(path+"/tags", url.Values{"tag": {c.Tags[0].ID}})
		g.invoke("candidate.info", map[string]any{"id": c.ID}, &c)
		if len(c.Tags) != 1 || c.Tags[0].Title != "Rocket scientist" {
			t.Fatalf("tags: %+v", c.Tags)
		}
		b.post(path+"/tags/"+c.Tags[0].ID+"/remove", nil)
		g.invoke("candidate.info", map[string]any{"id": c.ID}, &c)
		if len(c.Tags) != 0 {
			t.Fatalf("tag not removed: %+v", c.Tags)
		}
		// Contact details: refused input stays in the form.
		b.get(path + "/edit")
		r = b.post(path+"/edit", url.Values{"name": {"Ada King"}, "email": {"not an email"}})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `value="not an email"`) || !strings.Contains(r.body, "error-summary") {
			t.Fatalf("bad email: %d\n%s", r.status, r.body)
		}
		if r := b.post(path+"/edit", url.Values{"name": {"Ada King"}, "email": {"ada@example.org"}, "phoneNumber": {"+44 20 7946 0000"}}); r.status != http.StatusSeeOther {
			t.Fatalf("edit: %d\n%s", r.status, r.body)
		}
		g.invoke("candidate.info", map[string]any{"id": c.ID}, &c)
		if c.Name != "Ada King" || c.PrimaryEmailAddress == nil || c.PrimaryEmailAddress.Value != "ada@example.org" {
			t.Fatalf("after editing: %+v", c)
		}
		// Add to another job, change stage from the page.
		b.get(path)
		if r := b.post(path+"/applications", url.Values{"job": {other.job.ID}}); r.status != http.StatusSeeOther {
			t.Fatalf("add to job: %d", r.status)
		}
		g.invoke("candidate.info", map[string]any{"id": c.ID}, &c)
		if len(c.ApplicationIDs) != 2 {
			t.Fatalf("applications: %v", c.ApplicationIDs)
		}
		b.post("/app/applications/"+app.ID+"/stage", url.Values{"stage": {h.stages["Onsite"].ID}, "back": {path}})
		if got := g.app(app.ID); got.CurrentInterviewStage.Title != "Onsite" {
			t.Fatalf("stage from the page: %s", got.CurrentInterviewStage.Title)
		}
		if r := b.get(path); !strings.Contains(r.body, "Onsite") || strings.Count(r.body, `<article class="app"`) != 2 {
			t.Fatalf("page after changes:\n%s", r.body)
		}
		// Anonymizing is for Organization Admins, and asks for the name.
		if r := b.get(path + "/anonymize"); r.status != http.StatusForbidden {
			t.Fatalf("Elevated Access anonymize page: %d", r.status)
		}
		admin.get(path + "/anonymize")
		if r := admin.post(path+"/anonymize", url.Values{"confirm": {"someone else"}}); r.status != http.StatusUnprocessableEntity {
			t.Fatalf("anonymize without confirming: %d", r.status)
		}
		if r := admin.post(path+"/anonymize", url.Values{"confirm": {"Ada King"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "archive it first") {
			t.Fatalf("anonymize with active applications: %d\n%s", r.status, r.body)
		}
		for _, id := range c.ApplicationIDs {
			admin.post("/app/applications/"+id+"/archive", url.Values{"reason": {h.reasons[0].ID}})
		}
		if r := admin.post(path+"/anonymize", url.Values{"confirm": {"Ada King"}}); r.status != http.StatusSeeOther {
			t.Fatalf("anonymize: %d\n%s", r.status, r.body)
		}
		var anon ashby.Candidate
		g.invoke("candidate.info", map[string]any{"id": c.ID}, &anon)
		if anon.Name == "Ada King" || anon.PrimaryEmailAddress != nil {
			t.Fatalf("not anonymized: %+v", anon)
		}
	})
}

func TestFormBuilderKeepsSystemFields(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webapp.Options{})
		g := f.newOrg("Acme")
		h := g.hiring("Robot Whisperer")
		b := f.browser()
		b.signIn(g.email)
		page := b.get("/app/settings/postings/" + h.posting.ID + "/form")
		if strings.Count(page.body, `value="remove"`) != 1 || !strings.Contains(page.body, "always asked, always required") {
			t.Fatalf("builder offers to remove system fields:\n%s", page.body)
		}
		for _, action := range []string{"remove", "optional"} {
			for _, index := range []string{"0", "1"} {
				r := b.post("/app/settings/postings/"+h.posting.ID+"/form", url.Values{"action": {action}, "section": {"0"}, "index": {index}})
				if r.status != http.StatusSeeOther {
					t.Fatalf("%s field %s: %d", action, index, r.status)
				}
			}
		}
		var p ashby.JobPostingInfo
		g.invoke("jobPosting.info", map[string]any{"jobPostingId": h.posting.ID}, &p)
		fs := p.ApplicationFormDefinition.Sections[0].Fields
		if len(fs) != 3 || !fs[0].IsRequired || !fs[1].IsRequired {
			t.Fatalf("system fields changed: %+v", fs)
		}
		if r := b.get("/app/settings/postings/" + h.posting.ID + "/form"); !strings.Contains(r.body, "identifies the candidate") {
			t.Fatalf("no explanation:\n%s", r.body)
		}
	})
}
