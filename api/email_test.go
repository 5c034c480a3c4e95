package api_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/email"
	"github.com/ashlarhq/ashlar/email/smtptest"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/server"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
)

// mailOrg is a server whose outbox sends through a test SMTP server
// (nil: none configured), with an organization and an archivable
// application.
type mailOrg struct {
	t      *testing.T
	srv    *server.Server
	call   *rpc.Call
	smtp   *smtptest.Server
	app    ashby.Application
	cand   ashby.Candidate
	stages map[string]ashby.InterviewStage
	reason ashby.ArchiveReason
	job    ashby.Job
}

func newMailOrg(t *testing.T, db *store.DB, withSMTP bool) *mailOrg {
	t.Helper()
	m := &mailOrg{t: t, srv: server.New(db, server.Config{BaseURL: "https://ats.example.com"}), stages: map[string]ashby.InterviewStage{}}
	if withSMTP {
		m.smtp = smtptest.Start(t, smtptest.Options{TLS: "starttls", User: "ashlar", Password: "s3cret"})
		c, err := email.ParseURL("smtp://ashlar:s3cret@" + m.smtp.Addr)
		if err != nil {
			t.Fatal(err)
		}
		c.TLS = &tls.Config{RootCAs: m.smtp.Pool}
		out := m.srv.Service.Mail
		out.Configure(c, mail.Address{Name: "Acme Recruiting", Address: "jobs@acme.example"}, nil)
		if err := m.srv.Jobs.Register(out.WithBackoff(out.Kind(), 50*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		m.srv.Jobs.Start()
		t.Cleanup(func() { m.srv.Jobs.Stop(context.Background()) })
	}
	o, err := m.srv.Service.CreateOrg(context.Background(), storetest.Name("mail"), "Acme")
	if err != nil {
		t.Fatal(err)
	}
	m.call = &rpc.Call{Principal: &rpc.Principal{OrgID: o.ID, Permissions: ashby.AllPermissions}}
	var u ashby.User
	m.invoke("user.create", map[string]any{"firstName": "Riley", "lastName": "Chen", "email": "riley@acme.example", "globalRole": "Organization Admin"}, &u)
	m.call.UserID = u.ID
	var plans []ashby.InterviewPlan
	m.invoke("interviewPlan.list", nil, &plans)
	var st []ashby.InterviewStage
	m.invoke("interviewStage.list", map[string]any{"interviewPlanId": plans[0].ID}, &st)
	for _, s := range st {
		m.stages[s.Type] = s
	}
	var d ashby.Department
	m.invoke("department.create", map[string]any{"name": "Engineering"}, &d)
	var l ashby.Location
	m.invoke("location.create", map[string]any{"name": "Berlin", "type": "Location"}, &l)
	m.invoke("job.create", map[string]any{"title": "Robot Whisperer", "teamId": d.ID, "locationId": l.ID, "defaultInterviewPlanId": plans[0].ID}, &m.job)
	m.invoke("job.setStatus", map[string]any{"jobId": m.job.ID, "status": "Open"}, &m.job)
	m.invoke("candidate.create", map[string]any{"name": "Zoë Jemison", "email": "zoe@example.com"}, &m.cand)
	m.invoke("application.create", map[string]any{"candidateId": m.cand.ID, "jobId": m.job.ID}, &m.app)
	var reasons []ashby.ArchiveReason
	m.invoke("archiveReason.list", map[string]any{}, &reasons)
	m.reason = reasons[0]
	return m
}

func (m *mailOrg) invoke(endpoint string, req, out any) []string {
	m.t.Helper()
	raw, warnings, err := m.srv.API.InvokeWithWarnings(context.Background(), m.call, endpoint, req)
	if err != nil {
		m.t.Fatalf("%s: %v", endpoint, err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			m.t.Fatal(err)
		}
	}
	return warnings
}

func (m *mailOrg) refused(endpoint string, req any) *ashby.Error {
	m.t.Helper()
	c := *m.call
	_, err := m.srv.API.Invoke(context.Background(), &c, endpoint, req)
	ae, ok := ashby.AsError(err)
	if !ok {
		m.t.Fatalf("%s: want a refusal, got %v", endpoint, err)
	}
	return ae
}

func (m *mailOrg) template(title, subject, body string) ashby.CommunicationTemplate {
	var t ashby.CommunicationTemplate
	m.invoke("communicationTemplate.create", map[string]any{"title": title, "subject": subject, "bodyHtml": body}, &t)
	return t
}

func (m *mailOrg) emails() []email.Email {
	var es []email.Email
	m.invoke("candidate.listEmails", map[string]any{"candidateId": m.cand.ID}, &es)
	return es
}

// waitEmail waits until the candidate's newest email is no longer queued.
func (m *mailOrg) waitEmail(status string) email.Email {
	m.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		es := m.emails()
		if len(es) > 0 && es[0].Status == status {
			return es[0]
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("email never %s: %+v", status, es)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (m *mailOrg) archive(templateID string, sendAt *time.Time) []string {
	email := map[string]any{"communicationTemplateId": templateID}
	if sendAt != nil {
		email["sendAt"] = ashby.NewTime(*sendAt)
	}
	return m.invoke("application.changeStage", map[string]any{"applicationId": m.app.ID, "interviewStageId": m.stages[ashby.StageArchived].ID,
		"archiveReasonId": m.reason.ID, "archiveEmail": email}, nil)
}

// An archive email goes out with its tokens filled in, after the SMTP
// server refused it twice (4xx): the outbox retries with backoff.
func TestArchiveEmailRetries(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		m := newMailOrg(t, db, true)
		tpl := m.template("Rejection", "Your application to {{job.title}}", "<p>Dear {{candidate.firstName}},</p><p>Thank you. {{sender.name}}, {{organization.name}}</p>")
		m.smtp.Refuse(2, 451)
		now := time.Now()
		if w := m.archive(tpl.ID, &now); len(w) != 0 {
			t.Fatalf("warnings with SMTP configured: %v", w)
		}
		got := m.smtp.Wait(t, 1, 30*time.Second)[0]
		if got.To[0] != "zoe@example.com" || got.From != "jobs@acme.example" || got.Authenticated != "ashlar" {
			t.Fatalf("envelope: %+v", got)
		}
		body := got.Data
		if !strings.Contains(body, "Subject: Your application to Robot Whisperer") || !strings.Contains(body, "Dear Zo=C3=AB,") ||
			!strings.Contains(body, "Riley Chen, Acme") || !strings.Contains(body, "Reply-To: \"Riley Chen\" <riley@acme.example>") {
			t.Fatalf("message:\n%s", body)
		}
		e := m.waitEmail(email.StatusSent)
		if e.Attempts != 3 || m.smtp.Attempts() != 3 || e.Kind != email.KindArchive || e.TemplateID != tpl.ID || e.SentAt == nil || e.SenderUserID != m.call.UserID {
			t.Fatalf("email after two refusals: %+v (server saw %d)", e, m.smtp.Attempts())
		}
	})
}

// A permanent refusal (5xx) fails the email at once, with the reason.
func TestEmailPermanentRefusal(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		m := newMailOrg(t, db, true)
		m.smtp.Refuse(1, 550)
		m.invoke("candidate.sendEmail", map[string]any{"candidateId": m.cand.ID, "subject": "Hello {{candidate.firstName}}", "bodyHtml": "<p>Hi</p>"}, nil)
		e := m.waitEmail(email.StatusFailed)
		if e.Attempts != 1 || !strings.Contains(e.Reason, "550") {
			t.Fatalf("failed email: %+v", e)
		}
	})
}

// sendAt in the future is honoured: the email arrives no earlier.
func TestArchiveEmailSendAt(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		m := newMailOrg(t, db, true)
		tpl := m.template("Rejection", "About {{job.title}}", "<p>Dear {{candidate.name}}</p>")
		at := time.Now().Add(1500 * time.Millisecond)
		m.archive(tpl.ID, &at)
		es := m.emails()
		if len(es) != 1 || es[0].Status != email.StatusQueued || !es[0].SendAt.Equal(ashby.NewTime(at).Time) {
			t.Fatalf("queued email: %+v", es)
		}
		m.smtp.Wait(t, 1, 30*time.Second)
		e := m.waitEmail(email.StatusSent)
		if e.SentAt.Before(ashby.NewTime(at).Time) {
			t.Fatalf("sent at %v, before its sendAt %v", e.SentAt, at)
		}
		// Without sendAt: 09:32 the next morning, in the organization's zone.
		m.invoke("organization.update", map[string]any{"timezone": "Asia/Tokyo"}, nil)
		m.invoke("application.changeStage", map[string]any{"applicationId": m.app.ID, "interviewStageId": m.stages[ashby.StageLead].ID}, nil)
		m.archive(tpl.ID, nil)
		// The next calendar day there: 9.5 to 33.5 hours away, depending
		// on the time of day the test runs.
		tokyo := mustZone(t, "Asia/Tokyo")
		next := m.emails()[0].SendAt.In(tokyo)
		ty, tm, td := time.Now().In(tokyo).AddDate(0, 0, 1).Date()
		if y, mo, d := next.Date(); y != ty || mo != tm || d != td || next.Hour() != 9 || next.Minute() != 32 {
			t.Fatalf("default sendAt %v, want 09:32 on %d-%02d-%02d in Tokyo", next, ty, tm, td)
		}
	})
}

func mustZone(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// A template with a token that cannot be resolved in an archive email is
// refused, and the stage change with it.
func TestArchiveEmailUnresolvableToken(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		m := newMailOrg(t, db, false)
		for _, body := range []string{"<p>Take our survey: {{survey.link}}</p>", "<p>Hi {{candidate.favouriteColour}}</p>"} {
			tpl := m.template("Bad", "Hello", body)
			ae := m.refused("application.changeStage", map[string]any{"applicationId": m.app.ID, "interviewStageId": m.stages[ashby.StageArchived].ID,
				"archiveReasonId": m.reason.ID, "archiveEmail": map[string]any{"communicationTemplateId": tpl.ID}})
			if ae.Code != "communication_template_not_allowed" || !strings.Contains(ae.Message, "cannot be resolved") {
				t.Fatalf("unresolvable token: %v", ae)
			}
		}
		var app ashby.Application
		m.invoke("application.info", map[string]any{"applicationId": m.app.ID}, &app)
		if app.Status == ashby.ApplicationArchived || len(m.emails()) != 0 {
			t.Fatalf("the refused change archived the application (%s) or recorded an email", app.Status)
		}
		// A candidate without an email address: invalid_input, nothing changes.
		var c ashby.Candidate
		m.invoke("candidate.create", map[string]any{"name": "No Address"}, &c)
		var a ashby.Application
		m.invoke("application.create", map[string]any{"candidateId": c.ID, "jobId": m.job.ID}, &a)
		tpl := m.template("Fine", "Hello", "<p>Hi {{candidate.firstName}}</p>")
		ae := m.refused("application.changeStage", map[string]any{"applicationId": a.ID, "interviewStageId": m.stages[ashby.StageArchived].ID,
			"archiveReasonId": m.reason.ID, "archiveEmail": map[string]any{"communicationTemplateId": tpl.ID}})
		if ae.Code != ashby.CodeInvalidInput || ae.Meta["field"] != "archiveEmail" {
			t.Fatalf("no address: %v %v", ae, ae.Meta)
		}
	})
}

// Without SMTP configured, emails are recorded as not sent, with the
// reason, and the archive is answered with a warning.
func TestEmailWithoutSMTP(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		m := newMailOrg(t, db, false)
		tpl := m.template("Rejection", "About {{job.title}}", "<p>Dear {{candidate.name}}</p>")
		if w := m.archive(tpl.ID, nil); len(w) != 1 || w[0] != "archive_email_not_sent" {
			t.Fatalf("warnings: %v", w)
		}
		es := m.emails()
		if len(es) != 1 || es[0].Status != email.StatusNotSent || es[0].Reason != email.NotConfigured || es[0].Subject != "About Robot Whisperer" {
			t.Fatalf("emails: %+v", es)
		}
		var n int
		if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM jobs WHERE kind = $1`, email.JobKind).Scan(&n); err != nil || n != 0 {
			t.Fatalf("delivery jobs without SMTP: %d %v", n, err)
		}
	})
}

// Applications through a posting are confirmed: with the posting's
// template, else the organization's default, else Ashlar's own text.
func TestApplicationConfirmation(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		m := newMailOrg(t, db, false)
		var p ashby.JobPostingInfo
		m.invoke("jobPosting.create", map[string]any{"jobId": m.job.ID, "title": "Robot Whisperer", "status": "Published", "descriptionHtml": "<p>Robots.</p>",
			"applicationFormDefinition": map[string]any{"sections": []any{map[string]any{"fields": []any{
				map[string]any{"isRequired": true, "field": map[string]any{"type": "String", "path": "_systemfield_name", "title": "Name"}},
				map[string]any{"isRequired": true, "field": map[string]any{"type": "Email", "path": "_systemfield_email", "title": "Email"}}}}}}}, &p)
		apply := func(name string) email.Email {
			var res ashby.ApplicationFormSubmitResult
			addr := strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.net"
			m.invoke("applicationForm.submit", map[string]any{"jobPostingId": p.ID, "applicationForm": map[string]any{"fieldSubmissions": []map[string]any{
				{"path": "_systemfield_name", "value": name}, {"path": "_systemfield_email", "value": addr}}}}, &res)
			var a ashby.Application
			m.invoke("application.info", map[string]any{"submittedFormInstanceId": res.SubmittedFormInstance.ID}, &a)
			var es []email.Email
			m.invoke("candidate.listEmails", map[string]any{"candidateId": a.Candidate.ID}, &es)
			if len(es) != 1 || es[0].Kind != email.KindApplicationConfirmation || es[0].ApplicationID != a.ID {
				t.Fatalf("confirmation of %s: %+v", name, es)
			}
			return es[0]
		}
		if e := apply("Ellen Ochoa"); e.Subject != "Thank you for applying to Robot Whisperer at Acme" || !strings.Contains(e.BodyHTML, "Hi Ellen,") {
			t.Fatalf("built-in confirmation: %+v", e)
		}
		orgDefault := m.template("Org confirmation", "We got it, {{candidate.firstName}}", "<p>{{organization.name}} thanks you.</p>")
		m.invoke("organization.update", map[string]any{"applicationConfirmationEmailTemplateId": orgDefault.ID}, nil)
		if e := apply("Sally Ride"); e.TemplateID != orgDefault.ID || e.Subject != "We got it, Sally" {
			t.Fatalf("organization's default: %+v", e)
		}
		own := m.template("Posting confirmation", "{{job.title}}: received", "<p>Hi {{candidate.name}}</p>")
		m.invoke("jobPosting.update", map[string]any{"jobPostingId": p.ID, "applicationConfirmationEmailTemplateId": own.ID}, nil)
		if e := apply("Mae Jemison"); e.TemplateID != own.ID || e.Subject != "Robot Whisperer: received" {
			t.Fatalf("posting's template: %+v", e)
		}
		// A template whose tokens cannot resolve in a confirmation is refused
		// where it is chosen.
		bad := m.template("Bad", "Hi {{sender.name}}", "<p>x</p>")
		if ae := m.refused("jobPosting.update", map[string]any{"jobPostingId": p.ID, "applicationConfirmationEmailTemplateId": bad.ID}); ae.Code != "communication_template_not_allowed" {
			t.Fatalf("bad posting template: %v", ae)
		}
		if ae := m.refused("organization.update", map[string]any{"applicationConfirmationEmailTemplateId": bad.ID}); ae.Code != "communication_template_not_allowed" {
			t.Fatalf("bad organization template: %v", ae)
		}
	})
}

// A survey request can email its link; surveyRequest.create alone does not.
func TestSurveyRequestEmail(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		m := newMailOrg(t, db, true)
		var forms []ashby.SurveyFormDefinition
		m.invoke("surveyFormDefinition.list", nil, &forms)
		var sr ashby.SurveyRequest
		m.invoke("surveyRequest.create", map[string]any{"candidateId": m.cand.ID, "applicationId": m.app.ID, "surveyFormDefinitionId": forms[0].ID}, &sr)
		if len(m.emails()) != 0 {
			t.Fatal("surveyRequest.create without sendEmail emailed")
		}
		m.invoke("surveyRequest.create", map[string]any{"candidateId": m.cand.ID, "applicationId": m.app.ID, "surveyFormDefinitionId": forms[0].ID, "sendEmail": true}, &sr)
		got := m.smtp.Wait(t, 1, 30*time.Second)[0]
		if !strings.Contains(strings.ReplaceAll(got.Data, "=\r\n", ""), sr.SurveyURL) {
			t.Fatalf("the email lacks the survey link %s:\n%s", sr.SurveyURL, got.Data)
		}
		if e := m.waitEmail(email.StatusSent); e.Kind != email.KindSurvey {
			t.Fatalf("survey email: %+v", e)
		}
	})
}
