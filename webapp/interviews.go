package webapp

import (
	"net/http"
	"slices"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/webform"
)

// The interviewer's pages: their interviews (upcoming, and the feedback
// they still owe), and the page behind every interview event's
// feedbackLink, where they fill in the interview's feedback form. The
// form is rendered by webform and validated by the API's own
// applicationFeedback.submit (package forms), so it records the feedback,
// sets hasSubmittedFeedback and sends the interviewScheduleUpdate webhook
// exactly as an API call does.

type interviewsData struct {
	Owed, Upcoming, Past []api.UserInterview
}

// myInterviews splits the signed-in user's interviews into the feedback
// they owe, those still to come and the recent past.
func (a *App) myInterviews(q *Request) (*interviewsData, error) {
	all, err := a.svc.UserInterviews(q.R.Context(), q.Session.OrgID, q.Session.User.ID)
	if err != nil {
		return nil, err
	}
	now := a.svc.DB.Now()
	d := &interviewsData{}
	for _, ui := range all {
		switch {
		case ui.FeedbackOwed:
			d.Owed = append(d.Owed, ui)
		case ui.Event.EndTime.After(now):
			d.Upcoming = append(d.Upcoming, ui)
		default:
			d.Past = append(d.Past, ui)
		}
	}
	slices.Reverse(d.Past)
	if len(d.Past) > 20 {
		d.Past = d.Past[:20]
	}
	return d, nil
}

func (a *App) interviews(q *Request) {
	d, err := a.myInterviews(q)
	if err != nil {
		q.fail(err)
		return
	}
	q.Render(http.StatusOK, "interviews", q.newView("Your interviews", "interviews", d))
}

// asInterviewer is the signed-in user's call with the candidatesWrite
// permission added, for submitting feedback on an interview they sit on:
// what Ashby lets every interviewer do, Limited Access included, though
// that role holds no candidate permission otherwise. The page checks the
// seat first, and applicationFeedback.submit checks it again (the user
// must be an interviewer on the event).
func (q *Request) asInterviewer() *rpc.Call {
	p := *q.Call.Principal
	p.Permissions = append(slices.Clone(p.Permissions), ashby.CandidatesWrite)
	c := *q.Call
	c.Principal = &p
	return &c
}

type feedbackData struct {
	B         *briefing
	Sections  []webform.Section
	Errors    []webform.ErrorLink
	Submitted bool
	Required  bool
	Resume    bool
	EventID   string
}

// briefing is interviewBriefing.info with the expansions the page shows.
type briefing struct {
	ashby.InterviewBriefing
	Event *ashby.InterviewEvent `json:"-"`
}

// loadFeedback loads the interview event behind a feedbackLink for the
// signed-in user, who must be one of its interviewers.
func (a *App) loadFeedback(q *Request) (*feedbackData, bool) {
	eventID, ok := q.id("eventId")
	if !ok {
		return nil, false
	}
	_, found, on, err := a.svc.InterviewerOn(q.R.Context(), q.Session.OrgID, q.Session.User.ID, eventID)
	if err != nil {
		q.fail(err)
		return nil, false
	}
	if !on {
		if found && slices.Contains(recruiters, q.Role()) {
			q.message(http.StatusForbidden, "This feedback is for the interviewers", "Only the interviewers of this interview give feedback on it, and you are not one of them.")
		} else {
			q.notFound()
		}
		return nil, false
	}
	b := &briefing{}
	if err := q.Invoke("interviewBriefing.info", map[string]any{"interviewEventId": eventID,
		"expand": []string{"feedbackFormDefinition", "interview", "candidate", "job", "application", "interviewers"}}, b); err != nil {
		q.fail(err)
		return nil, false
	}
	d := &feedbackData{B: b, EventID: eventID}
	for _, iv := range b.Interviewers {
		if iv.UserID == q.Session.User.ID {
			d.Submitted, d.Required = iv.HasSubmittedFeedback, iv.IsFeedbackRequired
		}
	}
	if ev, err := api.InterviewEvents.Get(q.R.Context(), a.svc.DB, q.Session.OrgID, eventID); err == nil {
		b.Event = ev
	}
	d.Resume = b.Candidate != nil && b.Candidate.ResumeFileHandle != nil
	return d, true
}

func (a *App) feedbackForm(q *Request) {
	d, ok := a.loadFeedback(q)
	if !ok {
		return
	}
	if d.B.FeedbackFormDefinition != nil {
		d.Sections = webform.Sections(d.B.FeedbackFormDefinition.FormDefinition, webform.Values{}, nil, webform.Options{NoFiles: true})
	}
	q.Render(http.StatusOK, "feedback", q.newView("Feedback: "+feedbackTitle(d.B), "interviews", d))
}

func feedbackTitle(b *briefing) string {
	t := "interview"
	if b.Interview != nil {
		t = b.Interview.Title
	}
	if b.Candidate != nil {
		t += " with " + b.Candidate.Name
	}
	return t
}

func (a *App) feedbackSubmit(q *Request) {
	d, ok := a.loadFeedback(q)
	if !ok {
		return
	}
	if d.Submitted {
		q.Redirect("/app/interviews/"+d.EventID+"/feedback", "")
		return
	}
	if d.B.FeedbackFormDefinition == nil {
		q.fail(ashby.Errorf("feedback_form_definition_not_found", "This interview has no feedback form"))
		return
	}
	vals := webform.Values(q.Form)
	subs := webform.Answers(d.B.FeedbackFormDefinition.FormDefinition, vals, nil)
	if subs == nil {
		subs = []ashby.FieldSubmission{}
	}
	req := map[string]any{"applicationId": d.B.ApplicationID, "formDefinitionId": d.B.FeedbackFormDefinition.ID, "interviewEventId": d.EventID,
		"feedbackForm": map[string]any{"fieldSubmissions": subs}}
	_, err := a.api.Invoke(q.R.Context(), q.asInterviewer(), "applicationFeedback.submit", req)
	if err == nil {
		q.Redirect("/app/interviews", "Thank you: your feedback on "+feedbackTitle(d.B)+" is submitted.")
		return
	}
	ae, isAPI := ashby.AsError(err)
	if !isAPI || !correctable(err) {
		q.fail(err)
		return
	}
	if ae.Code == "feedback_already_submitted" {
		q.Redirect("/app/interviews/"+d.EventID+"/feedback", "You had already submitted feedback for this interview.")
		return
	}
	errs := webform.FieldErrors(ae)
	d.Sections = webform.Sections(d.B.FeedbackFormDefinition.FormDefinition, vals, errs, webform.Options{NoFiles: true})
	d.Errors = webform.Errors(d.Sections)
	v := q.newView("Feedback: "+feedbackTitle(d.B), "interviews", d)
	if len(errs) == 0 {
		v.FormError = webform.Sentence(ae.Message)
	}
	q.Render(http.StatusUnprocessableEntity, "feedback", v)
}

// interviewResume shows the candidate's resume to an interviewer of the
// event: Ashby's Limited Access users see resumes as part of their
// interview briefing, though not the candidate's profile.
func (a *App) interviewResume(q *Request) {
	d, ok := a.loadFeedback(q)
	if !ok {
		return
	}
	if d.B.Candidate == nil || d.B.Candidate.ResumeFileHandle == nil {
		q.notFound()
		return
	}
	st, err := a.svc.FileStore()
	if err != nil {
		q.notFound()
		return
	}
	f, err := st.Resolve(q.R.Context(), a.svc.DB, q.Session.OrgID, d.B.Candidate.ResumeFileHandle.Handle)
	if err != nil {
		q.notFound()
		return
	}
	st.ServeFile(q.W, q.R, f, q.R.URL.Query().Get("inline") == "1")
}

// When is an interview's time span in words, in the organization's zone.
func (v *view) When(start, end ashby.Time) string {
	if start.IsZero() {
		return ""
	}
	s := start.In(v.loc)
	out := s.Format("Mon 2 Jan 2006, 15:04")
	if !end.IsZero() && end.After(start.Time) {
		e := end.In(v.loc)
		if e.YearDay() == s.YearDay() && e.Year() == s.Year() {
			out += "–" + e.Format("15:04")
		} else {
			out += " – " + e.Format("Mon 2 Jan 2006, 15:04")
		}
	}
	return out + " " + s.Format("MST")
}
