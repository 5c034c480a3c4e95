package webapp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/accounts"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/audit"
	"github.com/ashlarhq/ashlar/files"
)

// A candidate's page, at exactly the API's profileUrl: contact details,
// tags, source and custom fields; each application with its stage
// history; notes; files (the resume shown in the page); interviews and
// their feedback; offers, assessments, emails and the audit trail; and the
// recruiter's actions on them.

// candidateApp is one application as the candidate's page shows it.
type candidateApp struct {
	App        ashby.Application
	History    []ashby.ApplicationHistoryItem
	Stages     []ashby.InterviewStage // stages it can move to
	Interviews []candidateInterview
	Feedback   []feedbackView
	Offers     []ashby.Offer
	Surveys    []ashby.SurveyRequest
}

type candidateInterview struct {
	Schedule ashby.InterviewSchedule
	Event    ashby.InterviewEvent
	Title    string
}

// feedbackView is submitted feedback with its answers in form order.
type feedbackView struct {
	F       ashby.ApplicationFeedback
	Title   string
	Answers []answerView
}

type answerView struct{ Question, Answer string }

// fileView is a candidate's file as the page lists it.
type fileView struct {
	ID, Name, ContentType string
	Size                  int64
	Resume                bool
	Inline                bool
	Image, PDF            bool
}

type auditRow struct {
	When  ashby.Time
	Actor string
	What  string
}

type candidateData struct {
	C            *ashby.Candidate
	Apps         []candidateApp
	Notes        []ashby.Note
	Files        []fileView
	Resume       *fileView
	Assessments  []ashby.Assessment
	Emails       []emailView
	Audit        []auditRow
	CanAct       bool
	CanAnonymize bool
	// CanCreateTags: creating tags is an admin setting in Ashby
	// (hiringProcessMetadataWrite); others add existing tags.
	CanCreateTags bool
	AllTags       []ashby.CandidateTag
	OpenJobs      []ashby.Job
	Surveys       []ashby.SurveyFormDefinition
	Back          string
}

// HasApp reports whether the candidate has an application for a job.
func (d *candidateData) HasApp(jobID string) bool {
	return slices.ContainsFunc(d.Apps, func(a candidateApp) bool { return a.App.Job.ID == jobID })
}

// candidateFor loads a candidate the signed-in user may see: an External
// Recruiter only those credited to them.
func (q *Request) candidateFor(id string) (*ashby.Candidate, bool) {
	var c ashby.Candidate
	if err := q.Invoke("candidate.info", map[string]string{"id": id}, &c); err != nil {
		q.fail(err)
		return nil, false
	}
	if q.Role() == accounts.External && !creditedTo(&c, q.Session.User.ID) {
		q.notFound()
		return nil, false
	}
	return &c, true
}

func (a *App) candidate(q *Request) {
	id, ok := q.id("candidateId")
	if !ok {
		return
	}
	c, ok := q.candidateFor(id)
	if !ok {
		return
	}
	d, err := a.candidateData(q, c)
	if err != nil {
		q.fail(err)
		return
	}
	q.Render(http.StatusOK, "candidate", q.newView(c.Name, "candidates", d))
}

func (a *App) candidateData(q *Request, c *ashby.Candidate) (*candidateData, error) {
	ctx := q.R.Context()
	org := q.Session.OrgID
	d := &candidateData{C: c, CanAct: slices.Contains(recruiters, q.Role()), CanAnonymize: q.Role() == accounts.Admin,
		CanCreateTags: slices.Contains(q.Call.Permissions, ashby.HiringProcessMetadataWrite), Back: "/app/candidates/" + c.ID}
	interviewTitles := map[string]string{}
	interviewTitle := func(id string) string {
		if t, ok := interviewTitles[id]; ok {
			return t
		}
		var iv ashby.Interview
		if err := q.Invoke("interview.info", map[string]string{"id": id}, &iv); err == nil {
			interviewTitles[id] = iv.Title
		} else {
			interviewTitles[id] = "Interview"
		}
		return interviewTitles[id]
	}
	stagesOf := map[string][]ashby.InterviewStage{}
	for i, appID := range c.ApplicationIDs {
		if i == 50 {
			break
		}
		var ca candidateApp
		if err := q.Invoke("application.info", map[string]string{"applicationId": appID}, &ca.App); err != nil {
			if isNotFound(err) {
				continue
			}
			return nil, err
		}
		if _, err := q.List("application.listHistory", map[string]any{"applicationId": appID, "limit": 100}, &ca.History); err != nil {
			return nil, err
		}
		plan := ca.App.CurrentInterviewStage.InterviewPlanID
		if _, ok := stagesOf[plan]; !ok {
			var st []ashby.InterviewStage
			if err := q.Invoke("interviewStage.list", map[string]any{"interviewPlanId": plan}, &st); err != nil {
				return nil, err
			}
			stagesOf[plan] = slices.DeleteFunc(st, func(s ashby.InterviewStage) bool { return s.Type == ashby.StageArchived })
		}
		ca.Stages = stagesOf[plan]
		if q.Role() != accounts.External {
			var scheds []ashby.InterviewSchedule
			if _, err := q.List("interviewSchedule.list", map[string]any{"applicationId": appID, "limit": 100}, &scheds); err != nil {
				return nil, err
			}
			for _, s := range scheds {
				for _, e := range s.InterviewEvents {
					ca.Interviews = append(ca.Interviews, candidateInterview{Schedule: s, Event: e, Title: interviewTitle(e.InterviewID)})
				}
			}
			sort.SliceStable(ca.Interviews, func(i, j int) bool {
				return ca.Interviews[i].Event.StartTime.Before(ca.Interviews[j].Event.StartTime.Time)
			})
			var fbs []ashby.ApplicationFeedback
			if _, err := q.List("applicationFeedback.list", map[string]any{"applicationId": appID, "limit": 100}, &fbs); err != nil {
				return nil, err
			}
			for _, f := range fbs {
				fv := feedbackView{F: f, Answers: answers(f.FormDefinition, f.SubmittedValues)}
				switch {
				case f.InterviewID != "":
					fv.Title = interviewTitle(f.InterviewID)
				case f.TakeHomeAssignmentID != "":
					fv.Title = "Take-home review"
				default:
					fv.Title = "Feedback"
				}
				ca.Feedback = append(ca.Feedback, fv)
			}
			if _, err := q.List("offer.list", map[string]any{"applicationId": appID, "limit": 100}, &ca.Offers); err != nil && !isPermission(err) {
				return nil, err
			}
			if _, err := q.List("surveyRequest.list", map[string]any{"applicationId": appID, "surveyType": "CandidateExperience", "limit": 100}, &ca.Surveys); err != nil && !isPermission(err) {
				return nil, err
			}
		}
		d.Apps = append(d.Apps, ca)
	}
	if q.Role() != accounts.External {
		var notes []ashby.Note
		if _, err := q.List("candidate.listNotes", map[string]any{"candidateId": c.ID, "limit": 100}, &notes); err != nil {
			return nil, err
		}
		// A private note is for its author (and Organization Admins).
		for _, n := range notes {
			if !n.IsPrivate || n.Author.ID == q.Session.User.ID || q.Role() == accounts.Admin {
				d.Notes = append(d.Notes, n)
			}
		}
		slices.SortStableFunc(d.Notes, func(x, y ashby.Note) int { return y.CreatedAt.Compare(x.CreatedAt.Time) })
		if _, err := q.List("candidate.listAssessments", map[string]any{"candidateId": c.ID, "limit": 100}, &d.Assessments); err != nil && !isPermission(err) {
			return nil, err
		}
	}
	if err := a.candidateFiles(q, c, d); err != nil {
		return nil, err
	}
	var err error
	if d.Emails, err = a.candidateEmails(q, c.ID); err != nil {
		return nil, err
	}
	if q.Role() != accounts.External {
		targets := []string{c.ID}
		for _, ca := range d.Apps {
			targets = append(targets, ca.App.ID)
		}
		page, err := audit.List(ctx, a.svc.DB, audit.Query{Org: org, End: a.svc.DB.Now().Add(time.Minute), TargetIDs: targets, Limit: 50})
		if err != nil {
			return nil, err
		}
		for _, raw := range page.Entries {
			var e ashby.AuditLogEntry
			if json.Unmarshal(raw, &e) == nil {
				d.Audit = append(d.Audit, auditRow{When: e.Timestamp, Actor: e.Actor.Name, What: e.Description})
			}
		}
	}
	if d.CanAct {
		var tags []ashby.CandidateTag
		if _, err := q.List("candidateTag.list", map[string]any{"limit": 100}, &tags); err != nil {
			return nil, err
		}
		d.AllTags = slices.DeleteFunc(tags, func(t ashby.CandidateTag) bool {
			return slices.ContainsFunc(c.Tags, func(h ashby.CandidateTag) bool { return h.ID == t.ID })
		})
		jobs, err := listAll[ashby.Job](q, "job.list", map[string]any{"status": "Open", "limit": 100}, 1000)
		if err != nil {
			return nil, err
		}
		d.OpenJobs = slices.DeleteFunc(jobs, func(j ashby.Job) bool { return d.HasApp(j.ID) })
		var surveys []ashby.SurveyFormDefinition
		if _, err := q.List("surveyFormDefinition.list", map[string]any{"limit": 100}, &surveys); err != nil {
			return nil, err
		}
		d.Surveys = slices.DeleteFunc(surveys, func(f ashby.SurveyFormDefinition) bool {
			return f.IsArchived || f.SurveyType != ashby.SurveyCandidateExperience
		})
	}
	return d, nil
}

func isPermission(err error) bool {
	ae, ok := ashby.AsError(err)
	return ok && ae.Code == ashby.CodeMissingEndpointPermission
}

// answers lists a submission's answers in its form's order.
func answers(def ashby.FormDefinition, values map[string]any) []answerView {
	var out []answerView
	for _, s := range def.Sections {
		for _, e := range s.Fields {
			v, ok := values[e.Field.Path]
			if !ok || v == nil || systemField(e.Field.Path) {
				continue // name and email are shown with the candidate
			}
			out = append(out, answerView{Question: e.Field.Title, Answer: answerText(e.Field, v)})
		}
	}
	return out
}

// answerText is an answer as text: a choice's label, yes or no, a list,
// or the value itself.
func answerText(f ashby.FormField, v any) string {
	label := func(x any) string {
		s := fmt.Sprint(x)
		for _, o := range f.SelectableValues {
			if o.Value == s {
				return o.Label
			}
		}
		return s
	}
	switch x := v.(type) {
	case bool:
		if x {
			return "Yes"
		}
		return "No"
	case string:
		return label(x)
	case float64:
		if f.Type == ashby.FieldScore {
			return fmt.Sprintf("%v of 4", x)
		}
		return label(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = answerText(f, e)
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		if name, ok := x["name"].(string); ok && f.Type == ashby.FieldFile {
			return name + " (in the candidate’s files)"
		}
		if sc, ok := x["score"]; ok && len(x) == 1 {
			return fmt.Sprintf("%v of 4", sc)
		}
		if val, ok := x["value"]; ok && len(x) <= 2 {
			if cur, ok := x["currencyCode"]; ok {
				return fmt.Sprintf("%v %v", val, cur)
			}
			return fmt.Sprint(val)
		}
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprint(v)
}

// candidateFiles lists the candidate's resume and files.
func (a *App) candidateFiles(q *Request, c *ashby.Candidate, d *candidateData) error {
	st, err := a.svc.FileStore()
	if err != nil {
		return nil // no file storage: nothing to list
	}
	handles := append([]ashby.FileHandle{}, c.FileHandles...)
	if c.ResumeFileHandle != nil && !slices.ContainsFunc(handles, func(h ashby.FileHandle) bool { return h.Handle == c.ResumeFileHandle.Handle }) {
		handles = append([]ashby.FileHandle{*c.ResumeFileHandle}, handles...)
	}
	for _, h := range handles {
		f, err := st.Resolve(q.R.Context(), a.svc.DB, q.Session.OrgID, h.Handle)
		if err != nil {
			continue // deleted or never uploaded: nothing to show
		}
		fv := fileView{ID: f.ID, Name: f.Name, ContentType: f.ContentType, Size: f.Size, Inline: files.Inline(f.ContentType),
			Resume: c.ResumeFileHandle != nil && c.ResumeFileHandle.Handle == h.Handle}
		fv.PDF = strings.HasPrefix(f.ContentType, "application/pdf")
		fv.Image = strings.HasPrefix(f.ContentType, "image/")
		d.Files = append(d.Files, fv)
		if fv.Resume {
			d.Resume = &d.Files[len(d.Files)-1]
		}
	}
	if d.Resume != nil {
		// d.Files may have grown after the pointer was taken.
		for i := range d.Files {
			if d.Files[i].Resume {
				d.Resume = &d.Files[i]
			}
		}
	}
	return nil
}

// candidateFile serves one of a candidate's files: shown in the page
// (?inline=1, when browsers can) or downloaded.
func (a *App) candidateFile(q *Request) {
	id, ok := q.id("candidateId")
	if !ok {
		return
	}
	fileID, ok := q.id("fileId")
	if !ok {
		return
	}
	c, ok := q.candidateFor(id)
	if !ok {
		return
	}
	a.serveCandidateFile(q, c, fileID, q.R.URL.Query().Get("inline") == "1")
}

func (a *App) serveCandidateFile(q *Request, c *ashby.Candidate, fileID string, inline bool) {
	st, err := a.svc.FileStore()
	if err != nil {
		q.notFound()
		return
	}
	handles := append([]ashby.FileHandle{}, c.FileHandles...)
	if c.ResumeFileHandle != nil {
		handles = append(handles, *c.ResumeFileHandle)
	}
	for _, h := range handles {
		if hid, err := st.ParseHandle(q.Session.OrgID, h.Handle); err == nil && hid == fileID {
			f, err := st.Resolve(q.R.Context(), a.svc.DB, q.Session.OrgID, h.Handle)
			if err != nil {
				q.notFound()
				return
			}
			st.ServeFile(q.W, q.R, f, inline)
			return
		}
	}
	q.notFound()
}

func (a *App) candidateNote(q *Request) {
	id, ok := q.id("candidateId")
	if !ok {
		return
	}
	text := strings.TrimSpace(q.Form.Get("note"))
	back := "/app/candidates/" + id + "#notes"
	if text == "" {
		q.app.setFlash(q.W, flash{Message: "Write the note first: it was empty, so nothing was added.", Kind: "error"})
		http.Redirect(q.W, q.R, back, http.StatusSeeOther)
		return
	}
	private := q.Form.Get("private") == "on"
	if err := q.Invoke("candidate.createNote", map[string]any{"candidateId": id, "note": text, "isPrivate": private}, nil); err != nil {
		q.fail(err)
		return
	}
	msg := "Note added."
	if private {
		msg = "Private note added: only you and Organization Admins see it."
	}
	q.Redirect(back, msg)
}

func (a *App) candidateTagAdd(q *Request) {
	id, ok := q.id("candidateId")
	if !ok {
		return
	}
	back := "/app/candidates/" + id
	tagID := idParam(q.Form.Get("tag"))
	if title := strings.TrimSpace(q.Form.Get("newTag")); title != "" {
		var t ashby.CandidateTag
		if err := q.Invoke("candidateTag.create", map[string]any{"title": title}, &t); err != nil {
			if correctable(err) {
				q.app.setFlash(q.W, flash{Message: errSentence(err), Kind: "error"})
				http.Redirect(q.W, q.R, back, http.StatusSeeOther)
				return
			}
			q.fail(err)
			return
		}
		tagID = t.ID
	}
	if tagID == "" {
		q.app.setFlash(q.W, flash{Message: "Choose a tag or type a new one.", Kind: "error"})
		http.Redirect(q.W, q.R, back, http.StatusSeeOther)
		return
	}
	var c ashby.Candidate
	if err := q.Invoke("candidate.addTag", map[string]any{"candidateId": id, "tagId": tagID}, &c); err != nil {
		q.fail(err)
		return
	}
	q.Redirect(back, "Tag added.")
}

func (a *App) candidateTagRemove(q *Request) {
	id, ok := q.id("candidateId")
	if !ok {
		return
	}
	tagID, ok := q.id("tagId")
	if !ok {
		return
	}
	if err := q.Invoke("candidate.removeTag", map[string]any{"candidateId": id, "tagId": tagID}, nil); err != nil {
		q.fail(err)
		return
	}
	q.Redirect("/app/candidates/"+id, "Tag removed.")
}

// contactFields are the contact details the edit form changes, as
// candidate.update names them.
var contactFields = []string{"name", "email", "phoneNumber", "linkedInUrl", "githubUrl", "websiteUrl"}

func (a *App) candidateEditForm(q *Request) {
	id, ok := q.id("candidateId")
	if !ok {
		return
	}
	c, ok := q.candidateFor(id)
	if !ok {
		return
	}
	v := q.newView("Edit "+c.Name, "candidates", c)
	v.values = url.Values{"name": {c.Name}}
	if c.PrimaryEmailAddress != nil {
		v.values.Set("email", c.PrimaryEmailAddress.Value)
	}
	if c.PrimaryPhoneNumber != nil {
		v.values.Set("phoneNumber", c.PrimaryPhoneNumber.Value)
	}
	for _, l := range c.SocialLinks {
		switch l.Type {
		case "LinkedIn":
			v.values.Set("linkedInUrl", l.URL)
		case "GitHub":
			v.values.Set("githubUrl", l.URL)
		case "PersonalWebsite", "Website":
			v.values.Set("websiteUrl", l.URL)
		}
	}
	q.Render(http.StatusOK, "candidate-edit", v)
}

func (a *App) candidateEdit(q *Request) {
	id, ok := q.id("candidateId")
	if !ok {
		return
	}
	c, ok := q.candidateFor(id)
	if !ok {
		return
	}
	req := map[string]any{"candidateId": id}
	for _, f := range contactFields {
		if v := strings.TrimSpace(q.Form.Get(f)); v != "" {
			req[f] = v
		}
	}
	v := q.newView("Edit "+c.Name, "candidates", c)
	if strings.TrimSpace(q.Form.Get("name")) == "" {
		v.values = q.Form
		q.Render(http.StatusUnprocessableEntity, "candidate-edit", v.fieldError("name", "Enter the candidate’s name."))
		return
	}
	if err := q.Invoke("candidate.update", req, nil); err != nil {
		if !correctable(err) {
			q.fail(err)
			return
		}
		q.Render(http.StatusUnprocessableEntity, "candidate-edit", v.withForm(q.Form, err, map[string]string{"name": "name", "email": "email",
			"phoneNumber": "phoneNumber", "linkedInUrl": "linkedInUrl", "githubUrl": "githubUrl", "websiteUrl": "websiteUrl"}))
		return
	}
	q.Redirect("/app/candidates/"+id, "Contact details saved.")
}

func (a *App) candidateAddToJob(q *Request) {
	id, ok := q.id("candidateId")
	if !ok {
		return
	}
	back := "/app/candidates/" + id
	jobID := idParam(q.Form.Get("job"))
	if jobID == "" {
		q.app.setFlash(q.W, flash{Message: "Choose the job to add the candidate to.", Kind: "error"})
		http.Redirect(q.W, q.R, back, http.StatusSeeOther)
		return
	}
	var app ashby.Application
	if err := q.Invoke("application.create", map[string]any{"candidateId": id, "jobId": jobID}, &app); err != nil {
		if correctable(err) {
			q.app.setFlash(q.W, flash{Message: errSentence(err), Kind: "error"})
			http.Redirect(q.W, q.R, back, http.StatusSeeOther)
			return
		}
		q.fail(err)
		return
	}
	q.Redirect(back, "Added to "+app.Job.Title+" in "+app.CurrentInterviewStage.Title+".")
}

func (a *App) anonymizeForm(q *Request) {
	id, ok := q.id("candidateId")
	if !ok {
		return
	}
	c, ok := q.candidateFor(id)
	if !ok {
		return
	}
	q.Render(http.StatusOK, "anonymize", q.newView("Anonymize "+c.Name, "candidates", c))
}

func (a *App) anonymize(q *Request) {
	id, ok := q.id("candidateId")
	if !ok {
		return
	}
	c, ok := q.candidateFor(id)
	if !ok {
		return
	}
	if q.Form.Get("confirm") != c.Name {
		v := q.newView("Anonymize "+c.Name, "candidates", c)
		v.values = q.Form
		q.Render(http.StatusUnprocessableEntity, "anonymize", v.fieldError("confirm", "Type the candidate’s name exactly as shown to confirm."))
		return
	}
	if err := q.Invoke("candidate.anonymize", map[string]any{"candidateId": id}, nil); err != nil {
		if !correctable(err) {
			q.fail(err)
			return
		}
		v := q.newView("Anonymize "+c.Name, "candidates", c)
		q.Render(http.StatusUnprocessableEntity, "anonymize", v.withForm(q.Form, err, map[string]string{}))
		return
	}
	q.Redirect("/app/candidates/"+id, "The candidate was anonymized: their personal details and files are gone.")
}

// search finds candidates by name or email address (every page's header).
func (a *App) search(q *Request) {
	d := homeData{CanSeeCandidates: true, Query: strings.TrimSpace(q.R.URL.Query().Get("q"))}
	if d.Query != "" {
		d.Searched = true
		req := map[string]string{"name": d.Query}
		if strings.Contains(d.Query, "@") {
			req = map[string]string{"email": d.Query}
		}
		if err := q.Invoke("candidate.search", req, &d.Results); err != nil {
			q.fail(err)
			return
		}
		if q.Role() == accounts.External {
			d.Results = slices.DeleteFunc(d.Results, func(c ashby.Candidate) bool { return !creditedTo(&c, q.Session.User.ID) })
		}
	}
	v := q.newView("Find candidates", "search", d)
	v.Search = d.Query
	q.Render(http.StatusOK, "search", v)
}
