package api

import (
	"context"
	"errors"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/email"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/sanitize"
	"github.com/ashlarhq/ashlar/store"
)

// Email Ashlar sends (docs/email.md): archive emails of
// application.changeStage, application confirmations, survey requests and
// emails written by a user. Each is rendered from a communication
// template (or a user's own text) when it is made, recorded in the outbox
// (package email) in the transaction of the change that calls for it, and
// delivered by the job queue.

func init() {
	register((*Service).emailEndpoints)
}

func (s *Service) emailEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "candidate.sendEmail", Permission: ashby.CandidatesWrite, Extension: true,
			Summary: "Email a candidate, from a communication template or a subject and body of your own, now or at sendAt; the email is recorded and delivered by the outbox (docs/email.md)."}, s.candidateSendEmail),
		rpc.Array[email.Email](rpc.Spec{Name: "candidate.listEmails", Permission: ashby.CandidatesRead, Extension: true,
			Summary: "The emails Ashlar sent or will send a candidate, newest first, with their status."}, s.candidateListEmails),
	}
}

// Built-in templates, for emails Ashby sends without one being chosen.
var (
	defaultConfirmation = struct{ Subject, Body string }{"Thank you for applying to {{job.title}} at {{organization.name}}",
		"<p>Hi {{candidate.firstName}},</p><p>Thank you for applying to <b>{{job.title}}</b> at {{organization.name}}. We have your application and will be in touch.</p>"}
	defaultSurvey = struct{ Subject, Body string }{"How was your experience with {{organization.name}}?",
		`<p>Hi {{candidate.firstName}},</p><p>We would like to hear how your application to {{job.title}} went. It takes two minutes: <a href="{{survey.link}}">answer the survey</a>.</p><p>{{survey.link}}</p>`}
)

// emailTemplate is a communication template's content, checked as fit for
// email: it must exist, be meant for email and not be archived.
func emailTemplate(ctx context.Context, q store.Q, org, id string) (*ashby.CommunicationTemplate, *templateMeta, error) {
	if err := checkArchiveEmailTemplate(ctx, q, org, id); err != nil {
		return nil, nil, err
	}
	t, err := CommunicationTemplates.Get(ctx, q, org, id)
	if err != nil {
		return nil, nil, err
	}
	var m templateMeta
	if _, err := store.GetMeta(ctx, q, org, CommunicationTemplates.Name, id, &m); err != nil {
		return nil, nil, err
	}
	return t, &m, nil
}

// emailContext is what an email's tokens are resolved from.
type emailContext struct {
	cand   *ashby.Candidate
	app    *ashby.Application
	sender *ashby.User
	extra  email.Values
}

// values are the tokens resolvable for the email: those of its
// candidate and organization always; its job, sender and survey when it
// has them.
func (s *Service) values(ctx context.Context, org string, ec emailContext) (email.Values, error) {
	o, err := s.DB.OrgByID(ctx, org)
	if err != nil {
		return nil, err
	}
	first, last := splitName(ec.cand.Name)
	v := email.Values{"candidate.firstName": first, "candidate.lastName": last, "candidate.name": ec.cand.Name,
		"candidate.email": primaryEmail(ec.cand), "organization.name": o.Name}
	if ec.app != nil {
		v["job.title"] = ec.app.Job.Title
	}
	if u := ec.sender; u != nil {
		v["sender.firstName"], v["sender.lastName"] = u.FirstName, u.LastName
		v["sender.name"] = strings.TrimSpace(u.FirstName + " " + u.LastName)
		v["sender.email"] = u.Email
	}
	for k, x := range ec.extra {
		v[k] = x
	}
	return v, nil
}

// notAllowed is Ashby's refusal of a template whose tokens cannot resolve.
func notAllowed(err error, title string) error {
	var ue *email.UnresolvedError
	if errors.As(err, &ue) {
		return ashby.Errorf("communication_template_not_allowed", "Communication template %q uses %s, which cannot be resolved in this email",
			title, "{{"+strings.Join(ue.Tokens, "}}, {{")+"}}")
	}
	return err
}

// queueEmail renders an email for a candidate and records it in the
// outbox, in tx. field names the request field to blame when the
// candidate has no email address.
func (s *Service) queueEmail(ctx context.Context, tx *store.Tx, org, kind, templateID, title, subject, body string, ec emailContext, sendAt time.Time, field string) (*email.Email, error) {
	to := primaryEmail(ec.cand)
	if to == "" {
		return nil, ashby.InvalidInput(field, "Candidate %s has no primary email address to send the email to", ec.cand.ID)
	}
	v, err := s.values(ctx, org, ec)
	if err != nil {
		return nil, err
	}
	r, err := email.Render(subject, body, v)
	if err != nil {
		return nil, notAllowed(err, title)
	}
	if strings.TrimSpace(r.Subject) == "" {
		return nil, ashby.InvalidInput(field, "The email has no subject")
	}
	rcpt, err := email.CheckAddress(to)
	if err != nil {
		return nil, ashby.InvalidInput(field, "Candidate %s's email address %q cannot be sent to", ec.cand.ID, to)
	}
	rcpt.Name = ec.cand.Name
	e := &email.Email{CandidateID: ec.cand.ID, Kind: kind, TemplateID: templateID, To: rcpt.String(), Subject: r.Subject,
		BodyHTML: r.HTML, BodyText: r.Text, SendAt: ashby.NewTime(sendAt)}
	if ec.app != nil {
		e.ApplicationID = ec.app.ID
	}
	if ec.sender != nil {
		e.SenderUserID = ec.sender.ID
		if ec.sender.Email != "" {
			e.ReplyTo = (&mail.Address{Name: strings.TrimSpace(ec.sender.FirstName + " " + ec.sender.LastName), Address: ec.sender.Email}).String()
		}
	}
	if err := s.Mail.Enqueue(ctx, tx, org, e); err != nil {
		return nil, err
	}
	return e, nil
}

// nextMorning is Ashby's default time for an archive email: 09:32 the
// next morning in the organization's time zone.
func (s *Service) nextMorning(ctx context.Context, org string) time.Time {
	loc := s.OrgTimezone(ctx, org)
	now := s.DB.Now().In(loc)
	d := now.AddDate(0, 0, 1)
	return time.Date(d.Year(), d.Month(), d.Day(), 9, 32, 0, 0, loc)
}

// archiveEmail queues the email application.changeStage was asked to send
// on archiving an application, in the stage change's transaction: a
// template that cannot be rendered for it refuses the stage change too.
func (s *Service) archiveEmail(ctx context.Context, tx *store.Tx, org string, app *ashby.Application, actorID string, in *archiveEmailInput) error {
	t, m, err := emailTemplate(ctx, tx, org, string(in.CommunicationTemplateID))
	if err != nil {
		return err
	}
	cand, err := Candidates.Get(ctx, tx, org, app.Candidate.ID)
	if err != nil {
		return err
	}
	var sender *ashby.User
	if actorID != "" {
		if u, err := Users.Get(ctx, tx, org, actorID); err == nil {
			sender = u
		}
	}
	at := s.nextMorning(ctx, org)
	if in.SendAt != nil {
		at = in.SendAt.Time
	}
	_, err = s.queueEmail(ctx, tx, org, email.KindArchive, t.ID, t.Title, m.Subject, m.BodyHTML, emailContext{cand: cand, app: app, sender: sender}, at, "archiveEmail")
	return err
}

// confirmApplication queues the confirmation of an application made
// through a posting (the careers site or applicationForm.submit): the
// posting's confirmation template, else the organization's default, else
// Ashlar's own text. A chosen template that can no longer be rendered
// (archived since) gives way to the next, so an application is never
// refused for its confirmation.
func (s *Service) confirmApplication(ctx context.Context, tx *store.Tx, org string, posting *ashby.JobPosting, cand *ashby.Candidate, app *ashby.Application) error {
	if primaryEmail(cand) == "" {
		return nil
	}
	var pm postingMeta
	if _, err := store.GetMeta(ctx, tx, org, JobPostings.Name, posting.ID, &pm); err != nil {
		return err
	}
	var st orgSettings
	if err := s.DB.OrgSettings(ctx, tx, org, &st); err != nil {
		return err
	}
	ec := emailContext{cand: cand, app: app}
	for _, id := range []string{pm.ConfirmationTemplateID, st.ConfirmationTemplateID} {
		if id == "" {
			continue
		}
		t, m, err := emailTemplate(ctx, tx, org, id)
		if err == nil {
			_, err = s.queueEmail(ctx, tx, org, email.KindApplicationConfirmation, t.ID, t.Title, m.Subject, m.BodyHTML, ec, time.Time{}, "applicationForm")
		}
		if err == nil {
			return nil
		}
		if _, ok := ashby.AsError(err); !ok {
			return err
		}
		s.Log.Warn("application confirmation template not usable: using the next one", "template", id, "error", err)
	}
	_, err := s.queueEmail(ctx, tx, org, email.KindApplicationConfirmation, "", "", defaultConfirmation.Subject, defaultConfirmation.Body, ec, time.Time{}, "applicationForm")
	if _, ok := ashby.AsError(err); ok {
		return nil // an address that cannot be sent to: no confirmation
	}
	return err
}

// postingMeta is what Ashlar keeps about a posting beyond its document.
type postingMeta struct {
	ConfirmationTemplateID string `json:"confirmationTemplateId,omitempty"`
}

// confirmationTokens are the tokens an application confirmation resolves.
var confirmationTokens = []string{"candidate.firstName", "candidate.lastName", "candidate.name", "candidate.email", "organization.name", "job.title"}

// checkConfirmationTemplate accepts a template as an application
// confirmation: fit for email, and every token resolvable in one.
func checkConfirmationTemplate(ctx context.Context, q store.Q, org, id string) error {
	t, m, err := emailTemplate(ctx, q, org, id)
	if err != nil {
		// communication_template_not_found, as for archiveEmail: an id
		// of another organization's template is one that does not exist.
		return err
	}
	return notAllowed(email.Check(m.Subject, m.BodyHTML, confirmationTokens), t.Title)
}

// surveyEmail emails a candidate the link of a survey request.
func (s *Service) surveyEmail(ctx context.Context, tx *store.Tx, c *rpc.Call, req *surveyRequestCreateRequest, url string) error {
	org := c.Org()
	cand, err := Candidates.Get(ctx, tx, org, string(req.CandidateID))
	if err != nil {
		return err
	}
	app, err := Applications.Get(ctx, tx, org, string(req.ApplicationID))
	if err != nil {
		return err
	}
	sender, err := s.actingUser(ctx, tx, c)
	if err != nil {
		return err
	}
	ec := emailContext{cand: cand, app: app, sender: sender, extra: email.Values{"survey.link": url}}
	subject, body, title, tid := defaultSurvey.Subject, defaultSurvey.Body, "", ""
	if req.CommunicationTemplateID != "" {
		t, m, err := emailTemplate(ctx, tx, org, string(req.CommunicationTemplateID))
		if err != nil {
			return err
		}
		subject, body, title, tid = m.Subject, m.BodyHTML, t.Title, t.ID
	}
	_, err = s.queueEmail(ctx, tx, org, email.KindSurvey, tid, title, subject, body, ec, time.Time{}, "candidateId")
	return err
}

type candidateSendEmailRequest struct {
	CandidateID             ashby.ID    `json:"candidateId" required:"true"`
	ApplicationID           ashby.ID    `json:"applicationId,omitempty" doc:"The application the email is about (resolves {{job.title}})."`
	CommunicationTemplateID ashby.ID    `json:"communicationTemplateId,omitempty" doc:"Send this template; or give subject and bodyHtml."`
	Subject                 string      `json:"subject,omitempty"`
	BodyHTML                string      `json:"bodyHtml,omitempty" doc:"HTML, sanitised to the tags Ashby allows in rich text; may contain tokens."`
	SendAt                  *ashby.Time `json:"sendAt,omitempty" doc:"When to send it (default, or in the past: now)."`
}

func (s *Service) candidateSendEmail(ctx context.Context, c *rpc.Call, req *candidateSendEmailRequest) (rpc.Result[email.Email], error) {
	if req.CommunicationTemplateID == "" {
		if strings.TrimSpace(req.Subject) == "" {
			return rpc.Result[email.Email]{}, ashby.InvalidInput("subject", "Give a subject, or a communicationTemplateId")
		}
		if sanitize.PlainText(req.BodyHTML) == "" {
			return rpc.Result[email.Email]{}, ashby.InvalidInput("bodyHtml", "Write the email's body, or give a communicationTemplateId")
		}
	} else if req.Subject != "" || req.BodyHTML != "" {
		return rpc.Result[email.Email]{}, ashby.InvalidInput("communicationTemplateId", "Give a communicationTemplateId or a subject and bodyHtml, not both")
	}
	var out *email.Email
	err := s.write(ctx, func(tx *store.Tx) error {
		org := c.Org()
		cand, err := mustExist(ctx, tx, Candidates, org, string(req.CandidateID), "candidate", "candidateId")
		if err != nil {
			return err
		}
		ec := emailContext{cand: cand}
		if req.ApplicationID != "" {
			app, err := mustExist(ctx, tx, Applications, org, string(req.ApplicationID), "application", "applicationId")
			if err != nil {
				return err
			}
			if app.Candidate.ID != cand.ID {
				return ashby.InvalidInput("applicationId", "Application %s is not candidate %s's", app.ID, cand.ID)
			}
			ec.app = app
		}
		if ec.sender, err = s.actingUser(ctx, tx, c); err != nil {
			return err
		}
		subject, body, title, tid := req.Subject, req.BodyHTML, "", ""
		if req.CommunicationTemplateID != "" {
			t, m, err := emailTemplate(ctx, tx, org, string(req.CommunicationTemplateID))
			if err != nil {
				return err
			}
			subject, body, title, tid = m.Subject, m.BodyHTML, t.Title, t.ID
		}
		at := time.Time{}
		if req.SendAt != nil {
			at = req.SendAt.Time
		}
		out, err = s.queueEmail(ctx, tx, org, email.KindManual, tid, title, subject, body, ec, at, "candidateId")
		var ae *ashby.Error
		if errors.As(err, &ae) && ae.Code == "communication_template_not_allowed" && tid == "" {
			// The user's own text: name the field, not a template.
			return ashby.InvalidInput("bodyHtml", "%s", strings.Replace(ae.Message, `Communication template ""`, "The email", 1))
		}
		return err
	})
	if err != nil {
		return rpc.Result[email.Email]{}, err
	}
	if !s.Mail.Sending() {
		c.Warn("email_not_sent")
	}
	return rpc.Value(out), nil
}

type candidateListEmailsRequest struct {
	CandidateID ashby.ID `json:"candidateId" required:"true"`
}

func (s *Service) candidateListEmails(ctx context.Context, c *rpc.Call, req *candidateListEmailsRequest) (*rpc.Page, error) {
	if _, err := mustExist(ctx, s.DB, Candidates, c.Org(), string(req.CandidateID), "candidate", "candidateId"); err != nil {
		return nil, err
	}
	es, err := email.List(ctx, s.DB, c.Org(), email.Filter{CandidateID: string(req.CandidateID), Limit: 500})
	if err != nil {
		return nil, err
	}
	return items(es), nil
}

// EmailTokens is the token set for the docs and the web app's help.
func EmailTokens() []email.Token { return slices.Clone(email.Tokens) }
