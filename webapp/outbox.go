package webapp

import (
	"html"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/email"
)

// Emails in the web app: each candidate's emails on their page, one
// email's page, a recruiter's own email to a candidate, and the outbox
// (every email of the organization, for admins) that shows what
// `serve --demo` and any server without SMTP records instead of sending.

// emailView is an email as the candidate's page and the outbox list it.
type emailView struct {
	ID, Subject, To, Status, Reason, Kind string
	CandidateID                           string
	SendAt                                ashby.Time
	SentAt                                *ashby.Time
	Attempts                              int
}

var kindLabels = map[string]string{email.KindApplicationConfirmation: "Application confirmation", email.KindArchive: "Archive email",
	email.KindSurvey: "Survey request", email.KindManual: "Written by a user"}

// KindLabel is what the email is, in words.
func (e emailView) KindLabel() string { return kindLabels[e.Kind] }

// StatusLabel is the email's status in words.
func (e emailView) StatusLabel() string {
	switch e.Status {
	case email.StatusQueued:
		if e.Attempts > 0 {
			return "Retrying"
		}
		if e.SendAt.After(time.Now()) {
			return "Scheduled"
		}
		return "Sending"
	case email.StatusSent:
		return "Sent"
	case email.StatusFailed:
		return "Failed"
	case email.StatusNotSent:
		return "Not sent"
	}
	return e.Status
}

// displayHeader is a header as a person reads it: the encoded words a
// name with accents is sent as (=?utf-8?q?…?=) decoded.
func displayHeader(h string) string {
	if s, err := new(mime.WordDecoder).DecodeHeader(h); err == nil {
		return s
	}
	return h
}

func viewOf(e *email.Email) emailView {
	return emailView{ID: e.ID, Subject: displayHeader(e.Subject), To: displayHeader(e.To), Status: e.Status, Reason: e.Reason, Kind: e.Kind, CandidateID: e.CandidateID,
		SendAt: e.SendAt, SentAt: e.SentAt, Attempts: e.Attempts}
}

func (a *App) candidateEmails(q *Request, candidateID string) ([]emailView, error) {
	var es []email.Email
	if err := q.Invoke("candidate.listEmails", map[string]any{"candidateId": candidateID}, &es); err != nil {
		if isPermission(err) {
			return nil, nil
		}
		return nil, err
	}
	out := make([]emailView, len(es))
	for i := range es {
		out[i] = viewOf(&es[i])
	}
	return out, nil
}

type emailPage struct {
	E       *email.Email
	V       emailView
	Sending bool
}

// emailDetail shows one email: its headers, status and body.
func (a *App) emailDetail(q *Request) {
	id, ok := q.id("emailId")
	if !ok {
		return
	}
	e, err := email.Get(q.R.Context(), a.svc.DB, q.Session.OrgID, id)
	if err != nil {
		q.fail(err)
		return
	}
	// The candidate's page decides who may see it (an External Recruiter
	// only their own candidates').
	if e.CandidateID != "" {
		if _, ok := q.candidateFor(e.CandidateID); !ok {
			return
		}
	}
	q.Render(http.StatusOK, "email", q.newView("Email: "+e.Subject, "outbox", &emailPage{E: e, V: viewOf(e), Sending: a.svc.Mail.Sending()}))
}

type outboxData struct {
	Emails  []emailView
	Status  string
	Sending bool
	From    string
	Older   string
}

// outbox lists every email of the organization, newest first.
func (a *App) outbox(q *Request) {
	f := q.R.URL.Query()
	from := a.svc.Mail.From()
	d := &outboxData{Status: f.Get("status"), Sending: a.svc.Mail.Sending(), From: from.String()}
	switch d.Status {
	case email.StatusQueued, email.StatusSent, email.StatusFailed, email.StatusNotSent, "":
	default:
		d.Status = ""
	}
	before, _ := strconv.ParseInt(f.Get("before"), 10, 64)
	es, err := email.List(q.R.Context(), a.svc.DB, q.Session.OrgID, email.Filter{Status: d.Status, Before: before, Limit: 50})
	if err != nil {
		q.fail(err)
		return
	}
	for _, e := range es {
		d.Emails = append(d.Emails, viewOf(e))
	}
	if len(es) == 50 {
		d.Older = "/app/outbox?status=" + d.Status + "&before=" + strconv.FormatInt(es[len(es)-1].CreatedAt.UnixMilli(), 10)
	}
	q.Render(http.StatusOK, "outbox", q.newView("Outbox", "outbox", d))
}

type composeData struct {
	C         *ashby.Candidate
	Apps      []ashby.Application
	Templates []ashby.CommunicationTemplate
	Tokens    []email.Token
}

func (a *App) composeData(q *Request, c *ashby.Candidate) (*composeData, bool) {
	d := &composeData{C: c, Tokens: email.Tokens}
	for _, id := range c.ApplicationIDs {
		var app ashby.Application
		if err := q.Invoke("application.info", map[string]string{"applicationId": id}, &app); err == nil {
			d.Apps = append(d.Apps, app)
		}
	}
	var err error
	if _, d.Templates, err = q.archiveChoices(); err != nil {
		q.fail(err)
		return nil, false
	}
	return d, true
}

func (a *App) composeForm(q *Request) {
	id, ok := q.id("candidateId")
	if !ok {
		return
	}
	c, ok := q.candidateFor(id)
	if !ok {
		return
	}
	d, ok := a.composeData(q, c)
	if !ok {
		return
	}
	v := q.newView("Email "+c.Name, "candidates", d)
	v.values.Set("when", "now")
	q.Render(http.StatusOK, "compose", v)
}

// textToHTML turns what a person typed into paragraphs of HTML, escaped.
func textToHTML(s string) string {
	var b strings.Builder
	for _, p := range strings.Split(strings.ReplaceAll(strings.TrimSpace(s), "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			b.WriteString("<p>")
			b.WriteString(strings.ReplaceAll(html.EscapeString(p), "\n", "<br>"))
			b.WriteString("</p>")
		}
	}
	return b.String()
}

func (a *App) compose(q *Request) {
	id, ok := q.id("candidateId")
	if !ok {
		return
	}
	c, ok := q.candidateFor(id)
	if !ok {
		return
	}
	d, ok := a.composeData(q, c)
	if !ok {
		return
	}
	v := q.newView("Email "+c.Name, "candidates", d)
	v.values = q.Form
	req := map[string]any{"candidateId": id}
	if app := idParam(q.Form.Get("application")); app != "" {
		req["applicationId"] = app
	}
	if t := idParam(q.Form.Get("template")); t != "" {
		req["communicationTemplateId"] = t
	} else {
		if strings.TrimSpace(q.Form.Get("subject")) == "" {
			v.fieldError("subject", "Enter the subject, or choose a template.")
		}
		if strings.TrimSpace(q.Form.Get("body")) == "" {
			v.fieldError("body", "Write the email, or choose a template.")
		}
		req["subject"], req["bodyHtml"] = strings.TrimSpace(q.Form.Get("subject")), textToHTML(q.Form.Get("body"))
	}
	if q.Form.Get("when") == "at" {
		t, err := time.ParseInLocation("2006-01-02T15:04", q.Form.Get("sendAt"), q.loc)
		if err != nil {
			v.fieldError("sendAt", "Give the date and time to send the email at.")
		} else {
			req["sendAt"] = ashby.NewTime(t)
		}
	}
	if len(v.Errors) > 0 {
		q.Render(http.StatusUnprocessableEntity, "compose", v)
		return
	}
	var e email.Email
	if err := q.Invoke("candidate.sendEmail", req, &e); err != nil {
		if !correctable(err) {
			q.fail(err)
			return
		}
		q.Render(http.StatusUnprocessableEntity, "compose", v.withForm(q.Form, err, map[string]string{"subject": "subject", "bodyHtml": "body",
			"communicationTemplateId": "template", "applicationId": "application", "sendAt": "sendAt"}))
		return
	}
	msg := "Email “" + e.Subject + "” queued for " + c.Name + "."
	if e.Status == email.StatusNotSent {
		msg = "Email “" + e.Subject + "” recorded, not sent: no SMTP server is configured."
	}
	q.Redirect("/app/candidates/"+id+"#emails-h", msg)
}

// sendSurvey asks a candidate to answer a survey, emailing the link.
func (a *App) sendSurvey(q *Request) {
	appID, ok := q.id("applicationId")
	if !ok {
		return
	}
	var app ashby.Application
	if err := q.Invoke("application.info", map[string]string{"applicationId": appID}, &app); err != nil {
		q.fail(err)
		return
	}
	back := "/app/candidates/" + app.Candidate.ID
	form := idParam(q.Form.Get("survey"))
	if form == "" {
		q.app.setFlash(q.W, flash{Message: "Choose the survey to send.", Kind: "error"})
		http.Redirect(q.W, q.R, back, http.StatusSeeOther)
		return
	}
	var sr ashby.SurveyRequest
	if err := q.Invoke("surveyRequest.create", map[string]any{"candidateId": app.Candidate.ID, "applicationId": app.ID,
		"surveyFormDefinitionId": form, "sendEmail": true}, &sr); err != nil {
		if correctable(err) {
			q.app.setFlash(q.W, flash{Message: "No survey sent: " + errSentence(err), Kind: "error"})
			http.Redirect(q.W, q.R, back, http.StatusSeeOther)
			return
		}
		q.fail(err)
		return
	}
	q.Redirect(back, "Survey sent to "+app.Candidate.Name+": the email with its link is in their emails.")
}
