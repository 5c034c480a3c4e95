package webapp

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
)

// The review queue: applications from the careers site and
// applicationForm.submit that wait in a Lead or Application Review stage,
// oldest first, one at a time, to advance or archive one after another.

// applicationWithForms is application.info expanded with the answers
// the candidate submitted.
type applicationWithForms struct {
	ashby.Application
	Submissions []ashby.SubmittedFormInstance `json:"applicationFormSubmissions"`
}

type reviewData struct {
	App     *applicationWithForms
	Answers []answerView
	Next    *ashby.InterviewStage // the stage Advance moves to
	Waiting int
	Resume  *fileView
	Cand    *ashby.Candidate
	Reasons []ashby.ArchiveReason
	Emails  []ashby.CommunicationTemplate
	JobID   string
	JobName string
	After   string // this application's position, to skip past it
	Skipped bool
}

// position is an application's place in the queue as a URL parameter.
func position(app *ashby.Application) string {
	return strconv.FormatInt(app.CreatedAt.UnixMilli(), 10) + "." + app.ID
}

func parsePosition(s string) *store.Position {
	ms, id, ok := strings.Cut(s, ".")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || !ashby.IsUUID(id) {
		return nil
	}
	return &store.Position{CreatedAt: n, ID: strings.ToLower(id)}
}

func (a *App) review(q *Request) {
	f := q.R.URL.Query()
	d := &reviewData{JobID: idParam(f.Get("job"))}
	after := parsePosition(f.Get("after"))
	d.Skipped = after != nil
	if d.JobID != "" {
		var job ashby.Job
		if err := q.Invoke("job.info", map[string]string{"id": d.JobID}, &job); err != nil {
			q.fail(err)
			return
		}
		d.JobName = job.Title
	}
	app, waiting, err := a.svc.ReviewQueue(q.R.Context(), q.Session.OrgID, d.JobID, after)
	if err != nil {
		q.fail(err)
		return
	}
	d.Waiting = waiting
	if app != nil {
		if !a.loadReview(q, d, app.ID) {
			return
		}
	}
	v := q.newView("Review new applications", "review", d)
	v.values = url.Values{"when": {"now"}}
	q.Render(http.StatusOK, "review", v)
}

// loadReview fills d with the application to review: its answers, resume,
// the next stage and the archive choices.
func (a *App) loadReview(q *Request, d *reviewData, appID string) bool {
	d.App = &applicationWithForms{}
	if err := q.Invoke("application.info", map[string]any{"applicationId": appID, "expand": []string{"applicationFormSubmissions"}}, d.App); err != nil {
		q.fail(err)
		return false
	}
	d.After = position(&d.App.Application)
	for _, s := range d.App.Submissions {
		d.Answers = append(d.Answers, answers(s.FormDefinition, s.SubmittedValues)...)
	}
	var c ashby.Candidate
	if err := q.Invoke("candidate.info", map[string]string{"id": d.App.Candidate.ID}, &c); err != nil {
		q.fail(err)
		return false
	}
	d.Cand = &c
	cd := &candidateData{}
	if err := a.candidateFiles(q, &c, cd); err != nil {
		q.fail(err)
		return false
	}
	d.Resume = cd.Resume
	var stages []ashby.InterviewStage
	if err := q.Invoke("interviewStage.list", map[string]any{"interviewPlanId": d.App.CurrentInterviewStage.InterviewPlanID}, &stages); err != nil {
		q.fail(err)
		return false
	}
	slices.SortStableFunc(stages, func(x, y ashby.InterviewStage) int { return x.OrderInInterviewPlan - y.OrderInInterviewPlan })
	for i, st := range stages {
		if st.ID == d.App.CurrentInterviewStage.ID {
			for _, n := range stages[i+1:] {
				if n.Type != ashby.StageArchived {
					d.Next = &n
					break
				}
			}
		}
	}
	var err error
	if d.Reasons, d.Emails, err = q.archiveChoices(); err != nil {
		q.fail(err)
		return false
	}
	d.Reasons = slices.DeleteFunc(d.Reasons, func(r ashby.ArchiveReason) bool { return r.IsArchived })
	return true
}

// reviewAct advances or archives the application under review, then
// shows the next one.
func (a *App) reviewAct(q *Request) {
	appID, ok := q.id("applicationId")
	if !ok {
		return
	}
	jobID := idParam(q.Form.Get("job"))
	next := "/app/review"
	if jobID != "" {
		next += "?job=" + jobID
	}
	switch q.Form.Get("action") {
	case "advance":
		stageID := idParam(q.Form.Get("stage"))
		app, err := q.moveTo(appID, stageID)
		if err != nil {
			if refusedMove(err) {
				q.app.setFlash(q.W, flash{Message: "Not moved: " + errSentence(err), Kind: "error"})
				http.Redirect(q.W, q.R, next, http.StatusSeeOther)
				return
			}
			q.fail(err)
			return
		}
		q.Redirect(next, app.Candidate.Name+" moved to "+app.CurrentInterviewStage.Title+".")
	case "archive":
		r, bad := q.archiveInput()
		var err error
		if bad == "" {
			if err = q.archiveApplication(appID, r); err == nil {
				msg := "Archived."
				var app ashby.Application
				if q.Invoke("application.info", map[string]string{"applicationId": appID}, &app) == nil {
					msg = app.Candidate.Name + " archived."
				}
				q.Redirect(next, msg)
				return
			}
			if !correctable(err) {
				q.fail(err)
				return
			}
		}
		// Refused: the same application again, with the problem shown.
		d := &reviewData{JobID: jobID}
		if !a.loadReview(q, d, appID) {
			return
		}
		if _, d.Waiting, err = a.svc.ReviewQueue(q.R.Context(), q.Session.OrgID, jobID, nil); err != nil {
			q.fail(err)
			return
		}
		v := q.newView("Review new applications", "review", d)
		if bad != "" {
			v.values = q.Form
			field := "reason"
			if r.ReasonID != "" {
				field = "sendAt"
			}
			q.Render(http.StatusUnprocessableEntity, "review", v.fieldError(field, bad))
			return
		}
		q.Render(http.StatusUnprocessableEntity, "review", v.withForm(q.Form, err, archiveErrorFields))
	default:
		q.notFound()
	}
}
