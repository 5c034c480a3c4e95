package webapp

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/webform"
)

// The recruiter's workspace: the jobs list and each job's pipeline, where
// applications move between stages and are archived, one at a time or
// selected in bulk. Every move and archive is application.changeStage,
// invoked as the signed-in user.

// listAll calls a paged list endpoint until its last page (at most max
// results).
func listAll[T any](q *Request, endpoint string, req map[string]any, max int) ([]T, error) {
	var out []T
	for {
		var page []T
		next, err := q.List(endpoint, req, &page)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" || len(out) >= max {
			return out, nil
		}
		req["cursor"] = next
	}
}

type jobRow struct {
	Job        ashby.Job
	Department string
	Location   string
	Stages     []stageCount
	Active     int
	Hired      int
	Archived   int
	New        int
}

type stageCount struct {
	Title string
	Count int
}

type jobsData struct {
	Rows                        []jobRow
	Departments, Locations      []webform.Option
	Statuses                    []webform.Option
	Department, Location, State string
}

var jobStatuses = []webform.Option{{Value: "Open", Label: "Open"}, {Value: "Draft", Label: "Draft"}, {Value: "Closed", Label: "Closed"},
	{Value: "Archived", Label: "Archived"}, {Value: "all", Label: "Any status"}}

func (a *App) jobs(q *Request) {
	f := q.R.URL.Query()
	d := jobsData{Department: f.Get("department"), Location: f.Get("location"), State: f.Get("status"), Statuses: jobStatuses}
	if d.State == "" {
		d.State = "Open"
	}
	req := map[string]any{"limit": 100}
	if d.State != "all" {
		req["status"] = d.State
	}
	jobs, err := listAll[ashby.Job](q, "job.list", req, 2000)
	if err != nil {
		q.fail(err)
		return
	}
	deps, err := listAll[ashby.Department](q, "department.list", map[string]any{"limit": 100}, 2000)
	if err != nil {
		q.fail(err)
		return
	}
	locs, err := listAll[ashby.Location](q, "location.list", map[string]any{"limit": 100}, 2000)
	if err != nil {
		q.fail(err)
		return
	}
	depName, locName := map[string]string{}, map[string]string{}
	for _, x := range deps {
		depName[x.ID] = x.Name
		d.Departments = append(d.Departments, webform.Option{Value: x.ID, Label: x.Name})
	}
	for _, x := range locs {
		locName[x.ID] = x.Name
		d.Locations = append(d.Locations, webform.Option{Value: x.ID, Label: x.Name})
	}
	jobs = slices.DeleteFunc(jobs, func(j ashby.Job) bool {
		return d.Department != "" && j.DepartmentID != d.Department || d.Location != "" && j.LocationID != d.Location
	})
	slices.SortStableFunc(jobs, func(x, y ashby.Job) int { return strings.Compare(strings.ToLower(x.Title), strings.ToLower(y.Title)) })
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	ctx := q.R.Context()
	counts, err := a.svc.JobsCounts(ctx, q.Session.OrgID, ids, a.svc.DB.Now().Add(-24*time.Hour))
	if err != nil {
		q.fail(err)
		return
	}
	stagesOf := map[string][]*ashby.InterviewStage{}
	for _, j := range jobs {
		row := jobRow{Job: j, Department: depName[j.DepartmentID], Location: locName[j.LocationID]}
		c := counts[j.ID]
		plan := j.DefaultInterviewPlanID
		if _, ok := stagesOf[plan]; !ok && plan != "" {
			st, err := api.InterviewStages.Find(ctx, a.svc.DB, q.Session.OrgID, store.Filter{Parent: plan})
			if err != nil {
				q.fail(err)
				return
			}
			slices.SortStableFunc(st, func(x, y *ashby.InterviewStage) int { return x.OrderInInterviewPlan - y.OrderInInterviewPlan })
			stagesOf[plan] = st
		}
		shown := map[string]bool{}
		for _, st := range stagesOf[plan] {
			if st.Type == ashby.StageArchived {
				continue
			}
			shown[st.ID] = true
			row.Stages = append(row.Stages, stageCount{Title: st.Title, Count: c.ByStage[st.ID]})
		}
		for id, n := range c.ByStage {
			row.Active += n
			if !shown[id] && n > 0 {
				row.Stages = append(row.Stages, stageCount{Title: "Other plans", Count: n})
			}
		}
		row.Active -= c.Hired
		row.Archived, row.Hired, row.New = c.Archived, c.Hired, c.New
		d.Rows = append(d.Rows, row)
	}
	q.Render(http.StatusOK, "jobs", q.newView("Jobs", "jobs", d))
}

// pipelineData is a job's pipeline page.
type pipelineData struct {
	P        *api.Pipeline
	Columns  []columnView
	Filter   api.PipelineFilter
	Movable  []ashby.InterviewStage // stages a card may move to (not Archived)
	Reasons  []ashby.ArchiveReason
	Emails   []ashby.CommunicationTemplate
	Back     string // this page's URL, to come back to after a change
	Filtered bool
}

// columnView is a stage's column; cardView a card, with its text made
// ready in Go: a job can have thousands of cards, and each template
// action costs (a reflective call and an escaper), so a card is a few
// plain strings rather than logic in the template.
type columnView struct {
	Stage ashby.InterviewStage
	Cards []cardView
}

type cardView struct {
	ApplicationID, CandidateID, Name, Meta string
	Tags                                   []string
	Select                                 string // the checkbox's label
	Archive, ArchiveLabel                  string // the archive page's link
	Back, Next                             *moveButton
	Archived                               bool
}

// moveButton moves a card to the stage before or after its own.
type moveButton struct{ Value, Title, Label string }

// days is how long a card has been in its stage, in words.
func days(now, since time.Time) string {
	n := int(now.Sub(since).Hours() / 24)
	switch {
	case n <= 0:
		return "today"
	case n == 1:
		return "1 day"
	}
	return strconv.Itoa(n) + " days"
}

// cards makes the columns' card views. Back and Next move to the stage
// before and after the card's own in the plan (never to Archived, which
// has its own form).
func (d *pipelineData) cards(now time.Time) {
	back := url.QueryEscape(d.Back)
	at := map[string]int{}
	for i, st := range d.Movable {
		at[st.ID] = i
	}
	var meta strings.Builder
	for _, col := range d.P.Columns {
		cv := columnView{Stage: col.Stage, Cards: make([]cardView, len(col.Cards))}
		pos, inPlan := at[col.Stage.ID]
		for i := range col.Cards {
			c := &col.Cards[i]
			meta.Reset()
			if c.Source != "" {
				meta.WriteString(c.Source)
				meta.WriteString(" · ")
			}
			meta.WriteString(days(now, c.EnteredStageAt))
			meta.WriteString(" in stage")
			if c.ArchiveReason != "" {
				meta.WriteString(" · ")
				meta.WriteString(c.ArchiveReason)
			}
			v := cardView{ApplicationID: c.ApplicationID, CandidateID: c.CandidateID, Name: c.Name, Meta: meta.String(),
				Select: "Select " + c.Name, Archived: c.Status == ashby.ApplicationArchived,
				Archive: "/app/applications/" + c.ApplicationID + "/archive?back=" + back, ArchiveLabel: "Archive " + c.Name}
			for _, t := range c.Tags {
				v.Tags = append(v.Tags, t.Title)
			}
			if inPlan && pos > 0 {
				st := d.Movable[pos-1]
				v.Back = &moveButton{Value: c.ApplicationID + ":" + st.ID, Title: st.Title, Label: "Move " + c.Name + " back to " + st.Title}
			}
			if inPlan && pos+1 < len(d.Movable) {
				st := d.Movable[pos+1]
				v.Next = &moveButton{Value: c.ApplicationID + ":" + st.ID, Title: st.Title, Label: "Move " + c.Name + " on to " + st.Title}
			}
			cv.Cards[i] = v
		}
		d.Columns = append(d.Columns, cv)
	}
}

func (a *App) pipeline(q *Request) {
	jobID, ok := q.id("jobId")
	if !ok {
		return
	}
	f := q.R.URL.Query()
	filter := api.PipelineFilter{StageID: idParam(f.Get("stage")), SourceID: idParam(f.Get("source")), TagID: idParam(f.Get("tag")), IncludeArchived: f.Get("archived") == "on"}
	// The job itself through the API: its permission check and 404 for
	// another organization's job.
	var job ashby.Job
	if err := q.Invoke("job.info", map[string]string{"id": jobID}, &job); err != nil {
		q.fail(err)
		return
	}
	p, err := a.svc.Pipeline(q.R.Context(), q.Session.OrgID, jobID, filter)
	if err != nil {
		q.fail(err)
		return
	}
	d := &pipelineData{P: p, Filter: filter, Back: q.R.URL.RequestURI(),
		Filtered: filter.StageID != "" || filter.SourceID != "" || filter.TagID != "" || filter.IncludeArchived}
	for _, st := range p.Stages {
		if st.Type != ashby.StageArchived && st.InterviewPlanID == job.DefaultInterviewPlanID {
			d.Movable = append(d.Movable, st)
		}
	}
	d.cards(a.svc.DB.Now())
	if d.Reasons, d.Emails, err = q.archiveChoices(); err != nil {
		q.fail(err)
		return
	}
	q.Render(http.StatusOK, "pipeline", q.newView(job.Title, "jobs", d))
}

// idParam keeps a query parameter that is a UUID (filters), else "".
func idParam(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if ashby.IsUUID(s) {
		return s
	}
	return ""
}

// archiveChoices are the archive reasons and email templates an archive
// form offers.
func (q *Request) archiveChoices() ([]ashby.ArchiveReason, []ashby.CommunicationTemplate, error) {
	var reasons []ashby.ArchiveReason
	if err := q.Invoke("archiveReason.list", map[string]any{}, &reasons); err != nil {
		return nil, nil, err
	}
	var templates []ashby.CommunicationTemplate
	if err := q.Invoke("communicationTemplate.list", map[string]any{}, &templates); err != nil {
		return nil, nil, err
	}
	templates = slices.DeleteFunc(templates, func(t ashby.CommunicationTemplate) bool { return !slices.Contains(t.IntendedTypes, "email") })
	return reasons, templates, nil
}

// back is where a change returns to: the page it came from (a page of the
// app, as the form said), else fallback.
func (q *Request) back(fallback string) string {
	b := q.Form.Get("back")
	if strings.HasPrefix(b, "/app/") && !strings.HasPrefix(b, "//") && !strings.ContainsAny(b, "\\\r\n") {
		return b
	}
	return fallback
}

// moveTo changes one application's stage, as the signed-in user.
func (q *Request) moveTo(appID, stageID string) (*ashby.Application, error) {
	var app ashby.Application
	err := q.Invoke("application.changeStage", map[string]string{"applicationId": appID, "interviewStageId": stageID}, &app)
	return &app, err
}

func (a *App) pipelineMove(q *Request) {
	jobID, ok := q.id("jobId")
	if !ok {
		return
	}
	appID, stageID := idParam(q.Form.Get("application")), idParam(q.Form.Get("stage"))
	if a, s, ok := strings.Cut(q.Form.Get("move"), ":"); ok {
		// A card's Back or Next button: "applicationId:stageId".
		appID, stageID = idParam(a), idParam(s)
	}
	back := q.back("/app/jobs/" + jobID)
	if appID == "" || stageID == "" {
		q.Redirect(back, "Choose a stage to move to.")
		return
	}
	app, err := q.moveTo(appID, stageID)
	if err != nil {
		if refusedMove(err) {
			q.app.setFlash(q.W, flash{Message: "Not moved: " + errSentence(err), Kind: "error"})
			http.Redirect(q.W, q.R, back, http.StatusSeeOther)
			return
		}
		q.fail(err)
		return
	}
	q.Redirect(back, app.Candidate.Name+" moved to "+app.CurrentInterviewStage.Title+".")
}

// pipelineBulk moves or archives the selected applications, each with
// its own application.changeStage call (each is checked, audited and
// announced by webhook like a single change). It reports how many
// changed and why any did not.
func (a *App) pipelineBulk(q *Request) {
	jobID, ok := q.id("jobId")
	if !ok {
		return
	}
	back := q.back("/app/jobs/" + jobID)
	var ids []string
	for _, v := range q.Form["application"] {
		if id := idParam(v); id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	fail := func(msg string) {
		q.app.setFlash(q.W, flash{Message: msg, Kind: "error"})
		http.Redirect(q.W, q.R, back, http.StatusSeeOther)
	}
	if len(ids) == 0 {
		fail("Select at least one candidate first.")
		return
	}
	action := q.Form.Get("action")
	var done int
	var problems []string
	switch action {
	case "move":
		stageID := idParam(q.Form.Get("stage"))
		if stageID == "" {
			fail("Choose the stage to move the selected candidates to.")
			return
		}
		for _, id := range ids {
			if _, err := q.moveTo(id, stageID); err != nil {
				if !correctable(err) && !isNotFound(err) {
					q.fail(err)
					return
				}
				problems = append(problems, errSentence(err))
				continue
			}
			done++
		}
	case "archive":
		arch, bad := q.archiveInput()
		if bad != "" {
			fail(bad)
			return
		}
		for _, id := range ids {
			if err := q.archiveApplication(id, arch); err != nil {
				if !correctable(err) && !isNotFound(err) {
					q.fail(err)
					return
				}
				problems = append(problems, errSentence(err))
				continue
			}
			done++
		}
	default:
		fail("Choose what to do with the selected candidates.")
		return
	}
	verb := map[string]string{"move": "moved", "archive": "archived"}[action]
	msg := strconv.Itoa(done) + " of " + strconv.Itoa(len(ids)) + " " + verb + "."
	if len(problems) > 0 {
		slices.Sort(problems)
		problems = slices.Compact(problems)
		q.app.setFlash(q.W, flash{Message: msg + " Not changed: " + strings.Join(problems, " "), Kind: "error"})
		http.Redirect(q.W, q.R, back, http.StatusSeeOther)
		return
	}
	q.Redirect(back, msg)
}

// refusedMove reports whether a stage change was refused for a reason to
// tell the person (a stage not in the application's plan, a missing
// offer …), rather than a missing application or a failure.
func refusedMove(err error) bool {
	ae, ok := ashby.AsError(err)
	return correctable(err) || ok && ae.Code == "interview_stage_not_found"
}

func isNotFound(err error) bool {
	ae, ok := ashby.AsError(err)
	return ok && strings.HasSuffix(ae.Code, "_not_found")
}

// archiveErrorFields maps application.changeStage's fields to an archive
// form's inputs.
var archiveErrorFields = map[string]string{"archiveReasonId": "reason", "archiveEmail": "template",
	"archiveEmail.communicationTemplateId": "template", "archiveEmail.sendAt": "sendAt"}

// archiveRequest is what an archive form asks for.
type archiveRequest struct {
	ReasonID   string
	TemplateID string     // "" : no email
	SendAt     *time.Time // nil: Ashby's default (next morning)
}

// archiveInput reads an archive form: reason, email template and when to
// send it. bad is a sentence for the person when the form is incomplete.
func (q *Request) archiveInput() (archiveRequest, string) {
	r := archiveRequest{ReasonID: idParam(q.Form.Get("reason")), TemplateID: idParam(q.Form.Get("template"))}
	if r.ReasonID == "" {
		return r, "Choose the reason for archiving."
	}
	if r.TemplateID == "" {
		return r, ""
	}
	switch q.Form.Get("when") {
	case "now", "":
		now := q.app.svc.DB.Now()
		r.SendAt = &now
	case "default":
	case "at":
		t, err := time.ParseInLocation("2006-01-02T15:04", q.Form.Get("sendAt"), q.loc)
		if err != nil {
			return r, "Give the date and time to send the email at."
		}
		r.SendAt = &t
	}
	return r, ""
}

// archiveApplication archives an application, with its plan's Archived
// stage, and the email when asked for.
func (q *Request) archiveApplication(appID string, r archiveRequest) error {
	var app ashby.Application
	if err := q.Invoke("application.info", map[string]string{"applicationId": appID}, &app); err != nil {
		return err
	}
	var stages []ashby.InterviewStage
	if err := q.Invoke("interviewStage.list", map[string]any{"interviewPlanId": app.CurrentInterviewStage.InterviewPlanID}, &stages); err != nil {
		return err
	}
	i := slices.IndexFunc(stages, func(s ashby.InterviewStage) bool { return s.Type == ashby.StageArchived })
	if i < 0 {
		return ashby.InvalidInput("interviewStageId", "The application's interview plan has no Archived stage")
	}
	req := map[string]any{"applicationId": appID, "interviewStageId": stages[i].ID, "archiveReasonId": r.ReasonID}
	if r.TemplateID != "" {
		email := map[string]any{"communicationTemplateId": r.TemplateID}
		if r.SendAt != nil {
			email["sendAt"] = r.SendAt.UTC().Format(time.RFC3339)
		}
		req["archiveEmail"] = email
	}
	return q.Invoke("application.changeStage", req, nil)
}

// applicationStage moves an application from its candidate's page.
func (a *App) applicationStage(q *Request) {
	appID, ok := q.id("applicationId")
	if !ok {
		return
	}
	stageID := idParam(q.Form.Get("stage"))
	back := q.back("/app/")
	if stageID == "" {
		q.Redirect(back, "Choose a stage to move to.")
		return
	}
	app, err := q.moveTo(appID, stageID)
	if err != nil {
		if refusedMove(err) {
			q.app.setFlash(q.W, flash{Message: "Not moved: " + errSentence(err), Kind: "error"})
			http.Redirect(q.W, q.R, back, http.StatusSeeOther)
			return
		}
		q.fail(err)
		return
	}
	q.Redirect(back, app.Candidate.Name+" moved to "+app.CurrentInterviewStage.Title+" for "+app.Job.Title+".")
}

type archiveData struct {
	App     ashby.Application
	Reasons []ashby.ArchiveReason
	Emails  []ashby.CommunicationTemplate
	Back    string
}

func (a *App) archiveForm(q *Request) {
	appID, ok := q.id("applicationId")
	if !ok {
		return
	}
	d, ok := q.archiveData(appID)
	if !ok {
		return
	}
	d.Back = q.R.URL.Query().Get("back")
	v := q.newView("Archive "+d.App.Candidate.Name, "jobs", d)
	v.values = url.Values{"when": {"now"}, "back": {d.Back}}
	q.Render(http.StatusOK, "archive", v)
}

func (q *Request) archiveData(appID string) (*archiveData, bool) {
	d := &archiveData{}
	if err := q.Invoke("application.info", map[string]string{"applicationId": appID}, &d.App); err != nil {
		q.fail(err)
		return nil, false
	}
	var err error
	if d.Reasons, d.Emails, err = q.archiveChoices(); err != nil {
		q.fail(err)
		return nil, false
	}
	d.Reasons = slices.DeleteFunc(d.Reasons, func(r ashby.ArchiveReason) bool { return r.IsArchived })
	return d, true
}

func (a *App) archive(q *Request) {
	appID, ok := q.id("applicationId")
	if !ok {
		return
	}
	d, ok := q.archiveData(appID)
	if !ok {
		return
	}
	d.Back = q.Form.Get("back")
	v := q.newView("Archive "+d.App.Candidate.Name, "jobs", d)
	v.values = q.Form
	r, bad := q.archiveInput()
	if bad != "" {
		field := "reason"
		if r.ReasonID != "" {
			field = "sendAt"
		}
		q.Render(http.StatusUnprocessableEntity, "archive", v.fieldError(field, bad))
		return
	}
	if err := q.archiveApplication(appID, r); err != nil {
		if !correctable(err) {
			q.fail(err)
			return
		}
		q.Render(http.StatusUnprocessableEntity, "archive", v.withForm(q.Form, err, archiveErrorFields))
		return
	}
	msg := d.App.Candidate.Name + " archived for " + d.App.Job.Title + "."
	if r.TemplateID != "" {
		msg += " The email is in their emails."
	}
	q.Redirect(q.back("/app/candidates/"+d.App.Candidate.ID), msg)
}

// errSentence is an error as a sentence for a flash message.
func errSentence(err error) string {
	if ae, ok := ashby.AsError(err); ok {
		return webform.Sentence(ae.Message)
	}
	return sentenceOf(err)
}
