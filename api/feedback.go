package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/forms"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// Feedback forms, submitted feedback and feedback requests (https://developers.ashbyhq.com/reference/applicationfeedbacklist;
// choices in docs/interviews.md).

func init() { register((*Service).feedbackEndpoints) }

const defaultFormKey = "default"

// FeedbackLink is an interview event's feedbackLink: the web app's page
// where its interviewers give their feedback (package webapp).
func FeedbackLink(baseURL, eventID string) string {
	return baseURL + "/app/interviews/" + eventID + "/feedback"
}

// FeedbackForms: Unique = "default" for the organization's default form
// (so there is at most one); Ref = the interview a form was made for;
// Search = title.
var FeedbackForms = store.Kind[ashby.FeedbackFormDefinition]{Name: "feedback_form_definition", Index: func(f *ashby.FeedbackFormDefinition) store.Index {
	idx := store.Index{ID: f.ID, Archived: f.IsArchived, Ref: f.InterviewID, Search: lc(f.Title)}
	if f.IsDefaultForm {
		idx.Unique = defaultFormKey
	}
	return idx
}}

// Feedback: Parent = application; Ref = interview event; created at
// submission; Keys: the submitting user, and the take-home assignment
// it reviews.
var Feedback = store.Kind[ashby.ApplicationFeedback]{Name: "application_feedback", HasKeys: true, Index: func(f *ashby.ApplicationFeedback) store.Index {
	idx := store.Index{ID: f.ID, CreatedAt: f.SubmittedAt.Time, Parent: f.ApplicationID, Ref: f.InterviewEventID,
		Keys: []store.Key{{Name: "user", Value: f.SubmittedByUser.ID}}}
	if f.TakeHomeAssignmentID != "" {
		idx.Keys = append(idx.Keys, store.Key{Name: "takeHome", Value: f.TakeHomeAssignmentID})
	}
	return idx
}}

func (s *Service) feedbackEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "feedbackFormDefinition.info", Permission: ashby.HiringProcessMetadataRead, Summary: "Fetch a feedback form definition."}, s.feedbackFormInfo),
		rpc.List[ashby.FeedbackFormDefinition](rpc.Spec{Name: "feedbackFormDefinition.list", Permission: ashby.HiringProcessMetadataRead, Summary: "List feedback form definitions; supports incremental sync."}, s.feedbackFormList),
		rpc.Object(rpc.Spec{Name: "feedbackFormDefinition.create", Permission: ashby.HiringProcessMetadataWrite, Extension: true, Summary: "Create a feedback form definition (Ashby does this in its web app)."}, s.feedbackFormCreate),
		rpc.Object(rpc.Spec{Name: "feedbackFormDefinition.archive", Permission: ashby.HiringProcessMetadataWrite, Extension: true, Summary: "Archive a feedback form no interview uses."}, s.feedbackFormSetArchived(true)),
		rpc.Object(rpc.Spec{Name: "feedbackFormDefinition.restore", Permission: ashby.HiringProcessMetadataWrite, Extension: true, Summary: "Restore an archived feedback form."}, s.feedbackFormSetArchived(false)),

		rpc.Object(rpc.Spec{Name: "applicationFeedback.submit", Permission: ashby.CandidatesWrite, Summary: "Submit interview feedback for an application, validated against the feedback form."}, s.feedbackSubmit),
		rpc.List[ashby.ApplicationFeedback](rpc.Spec{Name: "applicationFeedback.list", Permission: ashby.CandidatesRead, Summary: "List submitted feedback; supports incremental sync."}, s.feedbackList),
		rpc.Object(rpc.Spec{Name: "applicationFeedbackRequest.create", Permission: ashby.CandidatesWrite, Summary: "Ask an interviewer for feedback on an application: creates an interview event to submit it against."}, s.feedbackRequestCreate),
	}
}

type feedbackFormIDRequest struct {
	FeedbackFormDefinitionID ashby.ID `json:"feedbackFormDefinitionId" required:"true"`
}

func (s *Service) feedbackFormInfo(ctx context.Context, c *rpc.Call, req *feedbackFormIDRequest) (rpc.Result[ashby.FeedbackFormDefinition], error) {
	doc, err := FeedbackForms.GetRaw(ctx, s.DB, c.Org(), string(req.FeedbackFormDefinitionID))
	if err != nil {
		return rpc.Result[ashby.FeedbackFormDefinition]{}, notFound(err, "feedback_form_definition", "Feedback form definition not found")
	}
	return rpc.Raw[ashby.FeedbackFormDefinition](doc), nil
}

func (s *Service) feedbackFormList(ctx context.Context, c *rpc.Call, req *includeArchivedListRequest) (*rpc.Page, error) {
	spec := listSpec(c, FeedbackForms.Name, req.SyncParams)
	spec.Filter.IncludeArchived = req.IncludeArchived
	return s.listPage(ctx, spec)
}

type feedbackFormCreateRequest struct {
	Title          string                `json:"title" required:"true"`
	FormDefinition *ashby.FormDefinition `json:"formDefinition" required:"true" doc:"Sections of fields; field ids are generated when omitted. File fields are not allowed."`
	InterviewID    ashby.ID              `json:"interviewId,omitempty" doc:"The interview the form is made for."`
	IsDefaultForm  bool                  `json:"isDefaultForm,omitempty" doc:"Make it the organization's default form (the previous default stops being it)."`
}

func (s *Service) feedbackFormCreate(ctx context.Context, c *rpc.Call, req *feedbackFormCreateRequest) (rpc.Result[ashby.FeedbackFormDefinition], error) {
	def, err := normalizeFeedbackForm(*req.FormDefinition)
	if err != nil {
		return rpc.Result[ashby.FeedbackFormDefinition]{}, err
	}
	form := &ashby.FeedbackFormDefinition{ID: ashby.NewID(), OrganizationID: c.Org(), Title: strings.TrimSpace(req.Title),
		IsDefaultForm: req.IsDefaultForm, FormDefinition: def, InterviewID: string(req.InterviewID)}
	if err := s.interviewDefaultsFor(ctx, c.Org()); err != nil {
		return rpc.Result[ashby.FeedbackFormDefinition]{}, err
	}
	err = s.write(ctx, func(tx *store.Tx) error {
		if form.InterviewID != "" {
			if _, err := mustExist(ctx, tx, Interviews, c.Org(), form.InterviewID, "interview", "interviewId"); err != nil {
				return err
			}
		}
		if form.IsDefaultForm {
			old, err := FeedbackForms.FindOne(ctx, tx, c.Org(), store.Filter{Unique: defaultFormKey, IncludeArchived: true})
			if err == nil {
				old.IsDefaultForm = false
				err = FeedbackForms.Put(ctx, tx, c.Org(), old)
			}
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return FeedbackForms.Put(ctx, tx, c.Org(), form)
	})
	if err != nil {
		return rpc.Result[ashby.FeedbackFormDefinition]{}, err
	}
	return rpc.Value(form), nil
}

// normalizeFeedbackForm checks a client's form definition and fills in
// what it may omit: field ids, human-readable paths and nullability.
func normalizeFeedbackForm(def ashby.FormDefinition) (ashby.FormDefinition, error) {
	n := 0
	for i := range def.Sections {
		sec := &def.Sections[i]
		if sec.Fields == nil {
			sec.Fields = []ashby.FormEntry{}
		}
		for j := range sec.Fields {
			e := &sec.Fields[j]
			at := fmt.Sprintf("formDefinition.sections[%d].fields[%d].field", i, j)
			f := &e.Field
			switch {
			case f.ID == "":
				f.ID = ashby.NewID()
			case !ashby.IsUUID(f.ID):
				return def, ashby.InvalidInput(at+".id", "A field id must be a UUID; omit it to have one generated")
			default:
				f.ID = lc(f.ID)
			}
			if f.Type == ashby.FieldFile {
				return def, ashby.InvalidInput(at+".type", "Feedback forms cannot ask for files")
			}
			f.Title = strings.TrimSpace(f.Title)
			if f.HumanReadablePath == "" {
				f.HumanReadablePath = f.Title
			}
			f.IsNullable = !e.IsRequired
			seen := map[string]bool{}
			for k, o := range f.SelectableValues {
				if strings.TrimSpace(o.Value) == "" || strings.TrimSpace(o.Label) == "" || seen[o.Value] {
					return def, ashby.InvalidInput(fmt.Sprintf("%s.selectableValues[%d]", at, k), "Options need a label and a value, and values must be unique")
				}
				seen[o.Value] = true
			}
			n++
		}
	}
	if n == 0 {
		return def, ashby.InvalidInput("formDefinition.sections", "A feedback form needs at least one field")
	}
	if err := forms.CheckDefinition("formDefinition", &def); err != nil {
		return def, err
	}
	return def, nil
}

func (s *Service) feedbackFormSetArchived(archive bool) func(context.Context, *rpc.Call, *feedbackFormIDRequest) (rpc.Result[ashby.FeedbackFormDefinition], error) {
	return func(ctx context.Context, c *rpc.Call, req *feedbackFormIDRequest) (rpc.Result[ashby.FeedbackFormDefinition], error) {
		var form *ashby.FeedbackFormDefinition
		err := s.write(ctx, func(tx *store.Tx) error {
			var err error
			form, err = FeedbackForms.GetForUpdate(ctx, tx, c.Org(), string(req.FeedbackFormDefinitionID))
			if err != nil {
				return notFound(err, "feedback_form_definition", "Feedback form definition not found")
			}
			if form.IsArchived == archive {
				return nil
			}
			if archive {
				if form.IsDefaultForm {
					return ashby.InvalidInput("feedbackFormDefinitionId", "The default feedback form cannot be archived")
				}
				// An interview must always have a usable form, or its
				// feedback could not be submitted.
				ivs, err := Interviews.FindRaw(ctx, tx, c.Org(), store.Filter{})
				if err != nil {
					return err
				}
				for i, id := range field(ivs, "feedbackFormDefinitionId") {
					if id == form.ID {
						return ashby.InvalidInput("feedbackFormDefinitionId", "Interview %s uses this form; give it another form first", field(ivs[i:i+1], "id")[0])
					}
				}
			}
			form.IsArchived = archive
			return FeedbackForms.Put(ctx, tx, c.Org(), form)
		})
		if err != nil {
			return rpc.Result[ashby.FeedbackFormDefinition]{}, err
		}
		return rpc.Value(form), nil
	}
}

type feedbackFormInput struct {
	FieldSubmissions []ashby.FieldSubmission `json:"fieldSubmissions" required:"true"`
}

type feedbackSubmitRequest struct {
	FeedbackForm     *feedbackFormInput `json:"feedbackForm" required:"true"`
	FormDefinitionID ashby.ID           `json:"formDefinitionId" required:"true"`
	ApplicationID    ashby.ID           `json:"applicationId" required:"true"`
	UserID           ashby.ID           `json:"userId,omitempty" doc:"Who gives the feedback. Default: the API key's user, else the organization's admin."`
	InterviewEventID ashby.ID           `json:"interviewEventId,omitempty" doc:"The interview event the feedback is for; the user must be one of its interviewers."`
	// Ashlar extension: feedback reviewing a take-home submission.
	TakeHomeAssignmentID ashby.ID `json:"takeHomeAssignmentId,omitempty" doc:"Ashlar extension: the take-home assignment the feedback reviews (waiting on feedback); the user must be one of its reviewers and formDefinitionId its form."`
}

func (s *Service) feedbackSubmit(ctx context.Context, c *rpc.Call, req *feedbackSubmitRequest) (rpc.Result[ashby.FeedbackSubmission], error) {
	if req.InterviewEventID != "" && req.TakeHomeAssignmentID != "" {
		return rpc.Result[ashby.FeedbackSubmission]{}, ashby.InvalidInput("takeHomeAssignmentId", "Feedback is for an interview event or a take-home assignment, not both")
	}
	var fb *ashby.ApplicationFeedback
	err := s.write(ctx, func(tx *store.Tx) error {
		org := c.Org()
		app, err := mustExist(ctx, tx, Applications, org, string(req.ApplicationID), "application", "applicationId")
		if err != nil {
			return err
		}
		form, err := mustExist(ctx, tx, FeedbackForms, org, string(req.FormDefinitionID), "feedback_form_definition", "formDefinitionId")
		if err != nil {
			return err
		}
		if form.IsArchived {
			return ashby.InvalidInput("formDefinitionId", "Feedback form definition %s is archived", form.ID)
		}
		var user *ashby.User
		if req.UserID != "" {
			user, err = mustShare(ctx, tx, Users, org, string(req.UserID), "user", "userId")
		} else {
			user, err = s.actingUser(ctx, tx, c)
		}
		if err != nil {
			return err
		}
		if !user.IsEnabled {
			return ashby.InvalidInput("userId", "User %s is deactivated", user.ID)
		}
		fb = &ashby.ApplicationFeedback{ID: ashby.NewID(), FormDefinition: form.FormDefinition, SubmittedByUser: *user,
			FeedbackFormDefinitionID: form.ID, ApplicationID: app.ID, SubmittedAt: s.now(), InterviewID: form.InterviewID}

		var sched *ashby.InterviewSchedule
		var seat *ashby.EventInterviewer
		if req.InterviewEventID != "" {
			sched, seat, err = s.feedbackEvent(ctx, tx, org, app, form, user, string(req.InterviewEventID))
			if err != nil {
				return err
			}
			fb.InterviewEventID = string(req.InterviewEventID)
			for _, e := range sched.InterviewEvents {
				if e.ID == fb.InterviewEventID {
					fb.InterviewID = e.InterviewID
				}
			}
		}
		var takeHome *ashby.TakeHomeAssignment
		if req.TakeHomeAssignmentID != "" {
			if takeHome, err = takeHomeForFeedback(ctx, tx, org, app, form, user, string(req.TakeHomeAssignmentID)); err != nil {
				return err
			}
			fb.TakeHomeAssignmentID, fb.InterviewID = takeHome.ID, takeHome.InterviewID
		}

		values, err := forms.Validate(form.FormDefinition, req.FeedbackForm.FieldSubmissions, forms.Options{})
		var ferrs forms.Errors
		if errors.As(err, &ferrs) {
			return ferrs.APIError()
		}
		if err != nil {
			return err
		}
		fb.SubmittedValues = values

		hist, err := s.history(ctx, tx, org, app.ID)
		if err != nil {
			return err
		}
		if n := len(hist); n > 0 {
			fb.ApplicationHistoryID = hist[n-1].ID
		}
		if err := Feedback.Put(ctx, tx, org, fb); err != nil {
			return err
		}
		if takeHome != nil {
			return s.takeHomeFeedbackRecorded(ctx, tx, org, takeHome, user.ID)
		}
		if sched == nil {
			return nil
		}
		if seat.TrainingRole != nil && seat.InterviewerPool != nil {
			if err := s.recordTraineeInterview(ctx, tx, org, seat.InterviewerPool.ID, user.ID); err != nil {
				return err
			}
		}
		return s.saveSchedule(ctx, tx, org, sched, map[string]bool{}, false)
	})
	if err != nil {
		return rpc.Result[ashby.FeedbackSubmission]{}, err
	}
	return rpc.Value(&ashby.FeedbackSubmission{SubmittedFormInstance: ashby.SubmittedFormInstance{ID: fb.ID, FormDefinition: fb.FormDefinition,
		SubmittedValues: fb.SubmittedValues}}), nil
}

// feedbackEvent checks that feedback for an application may be submitted
// against an interview event by user with form, and returns the event's
// schedule (locked for update) and the user's seat on the event.
func (s *Service) feedbackEvent(ctx context.Context, tx *store.Tx, org string, app *ashby.Application, form *ashby.FeedbackFormDefinition, user *ashby.User, eventID string) (*ashby.InterviewSchedule, *ashby.EventInterviewer, error) {
	found, err := mustExist(ctx, tx, InterviewEvents, org, eventID, "interview_event", "interviewEventId")
	if err != nil {
		return nil, nil, err
	}
	sched, err := InterviewSchedules.GetForUpdate(ctx, tx, org, found.InterviewScheduleID)
	if err != nil {
		return nil, nil, notFoundField(err, "interview_event", "interviewEventId", eventID)
	}
	// Work from the locked schedule's copy: the event may have been
	// cancelled or changed since it was read.
	at := slices.IndexFunc(sched.InterviewEvents, func(e ashby.InterviewEvent) bool { return e.ID == eventID })
	if at < 0 {
		return nil, nil, notFoundField(store.ErrNotFound, "interview_event", "interviewEventId", eventID)
	}
	ev := &sched.InterviewEvents[at]
	if sched.ApplicationID != app.ID {
		return nil, nil, ashby.InvalidInput("interviewEventId", "Interview event %s is not an interview of application %s", ev.ID, app.ID)
	}
	var seat *ashby.EventInterviewer
	for i := range ev.Interviewers {
		if ev.Interviewers[i].ID == user.ID {
			seat = &ev.Interviewers[i]
		}
	}
	if seat == nil {
		return nil, nil, ashby.InvalidInput("userId", "User %s is not an interviewer on interview event %s", user.ID, ev.ID)
	}
	iv, err := Interviews.Get(ctx, tx, org, ev.InterviewID)
	if err != nil {
		return nil, nil, fmt.Errorf("interview event %s interview: %w", ev.ID, err)
	}
	if iv.FeedbackFormDefinitionID != form.ID {
		return nil, nil, ashby.InvalidInput("formDefinitionId", "Interview event %s collects feedback with form %s", ev.ID, iv.FeedbackFormDefinitionID)
	}
	by, err := feedbackByUser(ctx, tx, org, ev.ID)
	if err != nil {
		return nil, nil, err
	}
	if by[user.ID] {
		return nil, nil, ashby.Errorf("feedback_already_submitted", "User %s has already submitted feedback for interview event %s", user.ID, ev.ID)
	}
	return sched, seat, nil
}

type feedbackListRequest struct {
	rpc.SyncParams
	CreatedAfter  int64    `json:"createdAfter,omitempty" doc:"Epoch milliseconds."`
	ApplicationID ashby.ID `json:"applicationId,omitempty"`
}

func (s *Service) feedbackList(ctx context.Context, c *rpc.Call, req *feedbackListRequest) (*rpc.Page, error) {
	spec := listSpec(c, Feedback.Name, req.SyncParams)
	spec.CreatedAfter = req.CreatedAfter
	spec.Filter.Parent = string(req.ApplicationID)
	return s.listPage(ctx, spec)
}

type feedbackRequestCreateRequest struct {
	ApplicationID     ashby.ID `json:"applicationId" required:"true"`
	InterviewID       ashby.ID `json:"interviewId" required:"true"`
	InterviewerUserID ashby.ID `json:"interviewerUserId" required:"true"`
}

// feedbackRequestCreate records a feedback request as a schedule with one
// event, held now and already over, whose only interviewer owes feedback:
// the event is what the feedback is then submitted against, and the
// schedule waits on that feedback like any other.
func (s *Service) feedbackRequestCreate(ctx context.Context, c *rpc.Call, req *feedbackRequestCreateRequest) (rpc.Result[ashby.FeedbackRequest], error) {
	var out *ashby.FeedbackRequest
	err := s.write(ctx, func(tx *store.Tx) error {
		org := c.Org()
		app, err := s.schedulableApplication(ctx, tx, org, string(req.ApplicationID))
		if err != nil {
			return err
		}
		iv, err := usableInterview(ctx, tx, org, string(req.InterviewID), app.Job.ID, "interviewId")
		if err != nil {
			return err
		}
		user, err := mustShare(ctx, tx, Users, org, string(req.InterviewerUserID), "user", "interviewerUserId")
		if err != nil {
			return err
		}
		if !user.IsEnabled {
			return ashby.InvalidInput("interviewerUserId", "User %s is deactivated", user.ID)
		}
		sched, err := s.newSchedule(ctx, tx, c, app)
		if err != nil {
			return err
		}
		now := s.now()
		ev := ashby.InterviewEvent{ID: ashby.NewID(), InterviewID: iv.ID, InterviewScheduleID: sched.ID, InterviewerUserIDs: []string{user.ID},
			Interviewers: []ashby.EventInterviewer{{User: *user, IsFeedbackRequired: true}}, CreatedAt: now, UpdatedAt: now, StartTime: now, EndTime: now}
		ev.FeedbackLink = FeedbackLink(s.BaseURL, ev.ID)
		sched.InterviewEvents = append(sched.InterviewEvents, ev)
		if err := s.insertSchedule(ctx, tx, c, app, sched); err != nil {
			return err
		}
		out = &ashby.FeedbackRequest{InterviewEventID: ev.ID, InterviewerUserID: user.ID, ApplicationID: app.ID}
		return nil
	})
	if err != nil {
		return rpc.Result[ashby.FeedbackRequest]{}, err
	}
	return rpc.Value(out), nil
}
