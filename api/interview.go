package api

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/forms"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/sanitize"
	"github.com/ashlarhq/ashlar/store"
)

// Interviews, the organization's default interview and feedback form, and
// the interview activities of a job's stages (docs/interviews.md).

func init() {
	register((*Service).interviewEndpoints)
	OnBootstrap(func(ctx context.Context, s *Service, tx *store.Tx, org *store.Org) error {
		_, _, err := s.createInterviewDefaults(ctx, tx, org.ID)
		return err
	})
}

// Interviews: Parent = job (none for a shared interview); Search = title.
var Interviews = store.Kind[ashby.Interview]{Name: "interview", Index: func(i *ashby.Interview) store.Index {
	return store.Index{ID: i.ID, Archived: i.IsArchived, Parent: i.JobID, Search: lc(i.Title)}
}}

// interviewMeta is an interview's internal data: its default length, which
// Ashby's Interview object does not carry but stage activities do.
type interviewMeta struct {
	DurationMinutes int `json:"durationMinutes"`
}

const defaultInterviewMinutes = 60

// interviewDefaults records the organization's default interview, used
// when interviewSchedule.create names none. It is internal: no endpoint
// returns it.
type interviewDefaults struct {
	ID          string `json:"id"`
	InterviewID string `json:"interviewId"`
}

const interviewDefaultsID = "defaults"

var InterviewDefaults = store.Kind[interviewDefaults]{Name: "interview_defaults", Index: func(d *interviewDefaults) store.Index {
	return store.Index{ID: d.ID}
}}

// interviewActivity is a stage activity of one job: the interviews a
// candidate has in that stage. Parent = job; Ref = stage; Keys: interviews.
type interviewActivity struct {
	ashby.StageActivity
	JobID            string     `json:"jobId"`
	InterviewStageID string     `json:"interviewStageId"`
	CreatedAt        ashby.Time `json:"createdAt"`
}

var InterviewActivities = store.Kind[interviewActivity]{Name: "interview_activity", HasKeys: true, Index: func(a *interviewActivity) store.Index {
	idx := store.Index{ID: a.ID, CreatedAt: a.CreatedAt.Time, Parent: a.JobID, Ref: a.InterviewStageID}
	for _, iv := range a.Interviews {
		idx.Keys = append(idx.Keys, store.Key{Name: "interview", Value: iv.InterviewID})
	}
	return idx
}}

func (s *Service) interviewEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "interview.info", Permission: ashby.InterviewsRead, Summary: "Fetch an interview."}, s.interviewInfo),
		rpc.List[ashby.Interview](rpc.Spec{Name: "interview.list", Permission: ashby.InterviewsRead, Summary: "List interviews (shared ones unless includeNonSharedInterviews); supports incremental sync."}, s.interviewList),
		rpc.Object(rpc.Spec{Name: "interview.create", Permission: ashby.InterviewsWrite, Extension: true, Summary: "Create an interview, shared or for one job (Ashby does this in its web app)."}, s.interviewCreate),
		rpc.Object(rpc.Spec{Name: "interview.update", Permission: ashby.InterviewsWrite, Extension: true, Summary: "Update an interview's titles, instructions, feedback form, length or feedback settings."}, s.interviewUpdate),
		rpc.Object(rpc.Spec{Name: "interview.archive", Permission: ashby.InterviewsWrite, Extension: true, Summary: "Archive an interview: it can no longer be scheduled."}, s.interviewSetArchived(true)),
		rpc.Object(rpc.Spec{Name: "interview.restore", Permission: ashby.InterviewsWrite, Extension: true, Summary: "Restore an archived interview."}, s.interviewSetArchived(false)),
		rpc.Object(rpc.Spec{Name: "jobInterviewPlan.addActivity", Permission: ashby.JobsWrite, Extension: true, Summary: "Add an activity (a set of interviews) to a stage of a job's interview plan; jobInterviewPlan.info lists it."}, s.jobInterviewPlanAddActivity),
		rpc.Object(rpc.Spec{Name: "jobInterviewPlan.removeActivity", Permission: ashby.JobsWrite, Extension: true, Summary: "Remove an activity from a job's interview stage."}, s.jobInterviewPlanRemoveActivity),
	}
}

// The default feedback form every organization starts with, so that
// feedback can be submitted before anyone designs a scorecard.
func defaultFeedbackFormDefinition() ashby.FormDefinition {
	score := forms.Field(ashby.FieldScore, "overall_recommendation", "Overall recommendation", true)
	score.DescriptionPlain = "1 = Strong no, 2 = No, 3 = Yes, 4 = Strong yes"
	score.DescriptionHTML = "<p>1 = Strong no, 2 = No, 3 = Yes, 4 = Strong yes</p>"
	return ashby.FormDefinition{Sections: []ashby.FormSection{{
		Title:  "Scorecard",
		Fields: []ashby.FormEntry{score, forms.Field(ashby.FieldLongText, "feedback", "Feedback", true)},
	}}}
}

// createInterviewDefaults gives an organization its default feedback form
// and default interview, unless it has them; it returns both.
func (s *Service) createInterviewDefaults(ctx context.Context, tx *store.Tx, org string) (*ashby.FeedbackFormDefinition, *ashby.Interview, error) {
	form, err := FeedbackForms.FindOne(ctx, tx, org, store.Filter{Unique: defaultFormKey, IncludeArchived: true})
	if errors.Is(err, store.ErrNotFound) {
		form = &ashby.FeedbackFormDefinition{ID: ashby.NewID(), OrganizationID: org, Title: "Interview Feedback", IsDefaultForm: true,
			FormDefinition: defaultFeedbackFormDefinition()}
		err = FeedbackForms.Put(ctx, tx, org, form)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("default feedback form: %w", err)
	}
	d, err := InterviewDefaults.Get(ctx, tx, org, interviewDefaultsID)
	if err == nil {
		iv, err := Interviews.Get(ctx, tx, org, d.InterviewID)
		if err != nil {
			return nil, nil, fmt.Errorf("default interview: %w", err)
		}
		return form, iv, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, nil, fmt.Errorf("interview defaults: %w", err)
	}
	iv := &ashby.Interview{ID: ashby.NewID(), Title: "Interview", IsFeedbackRequired: true, IsFeedbackRequested: true, FeedbackFormDefinitionID: form.ID}
	if err := s.putInterview(ctx, tx, org, iv, defaultInterviewMinutes); err != nil {
		return nil, nil, err
	}
	if err := InterviewDefaults.Put(ctx, tx, org, &interviewDefaults{ID: interviewDefaultsID, InterviewID: iv.ID}); err != nil {
		return nil, nil, fmt.Errorf("interview defaults: %w", err)
	}
	return form, iv, nil
}

// interviewDefaultsFor returns the organization's defaults, creating them
// for an organization made before interviews existed. Creation runs in its
// own transaction, retried once when a concurrent request created them
// first, so that callers can read the defaults inside their own.
func (s *Service) interviewDefaultsFor(ctx context.Context, org string) error {
	if ok, err := InterviewDefaults.Exists(ctx, s.DB, org, interviewDefaultsID); err != nil || ok {
		return err
	}
	var err error
	for range 2 {
		err = s.write(ctx, func(tx *store.Tx) error {
			_, _, err := s.createInterviewDefaults(ctx, tx, org)
			return err
		})
		if !errors.Is(err, store.ErrDuplicate) {
			break
		}
	}
	return err
}

// defaultInterview returns the organization's default interview in tx.
func (s *Service) defaultInterview(ctx context.Context, q store.Q, org string) (*ashby.Interview, error) {
	d, err := InterviewDefaults.Get(ctx, q, org, interviewDefaultsID)
	if err != nil {
		return nil, fmt.Errorf("interview defaults: %w", err)
	}
	return Interviews.Get(ctx, q, org, d.InterviewID)
}

func (s *Service) putInterview(ctx context.Context, tx *store.Tx, org string, iv *ashby.Interview, minutes int) error {
	if err := Interviews.Put(ctx, tx, org, iv); err != nil {
		return err
	}
	return tx.SetMeta(ctx, org, Interviews.Name, iv.ID, interviewMeta{DurationMinutes: minutes})
}

// interviewMinutes is an interview's default length.
func interviewMinutes(ctx context.Context, q store.Q, org, id string) (int, error) {
	var m interviewMeta
	ok, err := store.GetMeta(ctx, q, org, Interviews.Name, id, &m)
	if err != nil {
		return 0, fmt.Errorf("interview %s length: %w", id, err)
	}
	if !ok || m.DurationMinutes <= 0 {
		return defaultInterviewMinutes, nil
	}
	return m.DurationMinutes, nil
}

type interviewIDRequest struct {
	ID ashby.ID `json:"id" required:"true"`
}

func (s *Service) interviewInfo(ctx context.Context, c *rpc.Call, req *interviewIDRequest) (rpc.Result[ashby.Interview], error) {
	doc, err := Interviews.GetRaw(ctx, s.DB, c.Org(), string(req.ID))
	if err != nil {
		return rpc.Result[ashby.Interview]{}, notFound(err, "interview", "Interview not found")
	}
	return rpc.Raw[ashby.Interview](doc), nil
}

type interviewListRequest struct {
	rpc.SyncParams
	IncludeArchived            bool `json:"includeArchived,omitempty"`
	IncludeNonSharedInterviews bool `json:"includeNonSharedInterviews,omitempty" doc:"Also list interviews specific to one job."`
	// Ashlar has no schedule templates, so no interview belongs to one and
	// the flag selects nothing away; it is accepted for compatibility.
	ExcludeArchivedScheduleTemplateInterviews bool `json:"excludeArchivedScheduleTemplateInterviews,omitempty" doc:"Accepted; Ashlar has no schedule templates."`
}

func (s *Service) interviewList(ctx context.Context, c *rpc.Call, req *interviewListRequest) (*rpc.Page, error) {
	spec := listSpec(c, Interviews.Name, req.SyncParams)
	spec.Filter.IncludeArchived = req.IncludeArchived
	if !req.IncludeNonSharedInterviews {
		// Whether job-specific interviews are in the set is a scope, not a
		// state: an interview never moves between shared and job-specific.
		spec.Conds = append(spec.Conds, store.Cond{SQL: "parent_id IS NULL"})
	}
	return s.listPage(ctx, spec)
}

type interviewCreateRequest struct {
	Title                    string   `json:"title" required:"true"`
	ExternalTitle            string   `json:"externalTitle,omitempty" doc:"The title candidates see."`
	InstructionsHTML         string   `json:"instructionsHtml,omitempty" doc:"Instructions for interviewers (HTML; b, i, u, a, lists, code, pre and paragraphs are kept)." maxLength:"long"`
	JobID                    ashby.ID `json:"jobId,omitempty" doc:"The job the interview is specific to; omit for a shared interview."`
	FeedbackFormDefinitionID ashby.ID `json:"feedbackFormDefinitionId,omitempty" doc:"Default: the organization's default feedback form."`
	DurationMinutes          *int     `json:"durationMinutes,omitempty" doc:"Default length in minutes (5–1440, default 60), used by stage activities."`
	IsDebrief                bool     `json:"isDebrief,omitempty"`
	IsFeedbackRequired       *bool    `json:"isFeedbackRequired,omitempty" doc:"Default: true, except for debriefs."`
	IsFeedbackRequested      *bool    `json:"isFeedbackRequested,omitempty" doc:"Default: true, except for debriefs. Required feedback is always requested."`
}

func checkMinutes(field string, m *int) error {
	if m != nil && (*m < 5 || *m > 24*60) {
		return ashby.InvalidInput(field, "%s must be between 5 and 1440 minutes", field)
	}
	return nil
}

func (s *Service) interviewCreate(ctx context.Context, c *rpc.Call, req *interviewCreateRequest) (rpc.Result[ashby.Interview], error) {
	if err := checkMinutes("durationMinutes", req.DurationMinutes); err != nil {
		return rpc.Result[ashby.Interview]{}, err
	}
	if err := s.interviewDefaultsFor(ctx, c.Org()); err != nil {
		return rpc.Result[ashby.Interview]{}, err
	}
	iv := &ashby.Interview{ID: ashby.NewID(), Title: strings.TrimSpace(req.Title), ExternalTitle: strings.TrimSpace(req.ExternalTitle),
		IsDebrief: req.IsDebrief, JobID: string(req.JobID)}
	setInstructions(iv, req.InstructionsHTML)
	iv.IsFeedbackRequired = boolOr(req.IsFeedbackRequired, !req.IsDebrief)
	iv.IsFeedbackRequested = boolOr(req.IsFeedbackRequested, !req.IsDebrief) || iv.IsFeedbackRequired
	minutes := defaultInterviewMinutes
	if req.DurationMinutes != nil {
		minutes = *req.DurationMinutes
	}
	err := s.write(ctx, func(tx *store.Tx) error {
		if iv.JobID != "" {
			if _, err := mustExist(ctx, tx, Jobs, c.Org(), iv.JobID, "job", "jobId"); err != nil {
				return err
			}
		}
		formID := string(req.FeedbackFormDefinitionID)
		if formID == "" {
			form, err := FeedbackForms.FindOne(ctx, tx, c.Org(), store.Filter{Unique: defaultFormKey})
			if err != nil {
				return fmt.Errorf("default feedback form: %w", err)
			}
			formID = form.ID
		}
		if err := s.checkFeedbackForm(ctx, tx, c.Org(), formID); err != nil {
			return err
		}
		iv.FeedbackFormDefinitionID = formID
		return s.putInterview(ctx, tx, c.Org(), iv, minutes)
	})
	if err != nil {
		return rpc.Result[ashby.Interview]{}, err
	}
	return rpc.Value(iv), nil
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

func setInstructions(iv *ashby.Interview, html string) {
	iv.InstructionsHTML = strings.TrimSpace(sanitize.NoteHTML(html))
	iv.InstructionsPlain = sanitize.PlainText(iv.InstructionsHTML)
}

// checkFeedbackForm checks that a feedback form exists and is in use.
func (s *Service) checkFeedbackForm(ctx context.Context, q store.Q, org, id string) error {
	form, err := mustExist(ctx, q, FeedbackForms, org, id, "feedback_form_definition", "feedbackFormDefinitionId")
	if err != nil {
		return err
	}
	if form.IsArchived {
		return ashby.InvalidInput("feedbackFormDefinitionId", "Feedback form definition %s is archived", id)
	}
	return nil
}

type interviewUpdateRequest struct {
	InterviewID              ashby.ID `json:"interviewId" required:"true"`
	Title                    string   `json:"title,omitempty"`
	ExternalTitle            *string  `json:"externalTitle,omitempty" doc:"\"\" clears it."`
	InstructionsHTML         *string  `json:"instructionsHtml,omitempty" doc:"\"\" clears them." maxLength:"long"`
	FeedbackFormDefinitionID ashby.ID `json:"feedbackFormDefinitionId,omitempty"`
	DurationMinutes          *int     `json:"durationMinutes,omitempty"`
	IsDebrief                *bool    `json:"isDebrief,omitempty"`
	IsFeedbackRequired       *bool    `json:"isFeedbackRequired,omitempty"`
	IsFeedbackRequested      *bool    `json:"isFeedbackRequested,omitempty"`
}

func (s *Service) interviewUpdate(ctx context.Context, c *rpc.Call, req *interviewUpdateRequest) (rpc.Result[ashby.Interview], error) {
	if err := checkMinutes("durationMinutes", req.DurationMinutes); err != nil {
		return rpc.Result[ashby.Interview]{}, err
	}
	return s.updateInterview(ctx, c.Org(), string(req.InterviewID), func(tx *store.Tx, iv *ashby.Interview) error {
		if t := strings.TrimSpace(req.Title); t != "" {
			iv.Title = t
		}
		if req.ExternalTitle != nil {
			iv.ExternalTitle = strings.TrimSpace(*req.ExternalTitle)
		}
		if req.InstructionsHTML != nil {
			setInstructions(iv, *req.InstructionsHTML)
		}
		if req.FeedbackFormDefinitionID != "" {
			if err := s.checkFeedbackForm(ctx, tx, c.Org(), string(req.FeedbackFormDefinitionID)); err != nil {
				return err
			}
			iv.FeedbackFormDefinitionID = string(req.FeedbackFormDefinitionID)
		}
		if req.IsDebrief != nil {
			iv.IsDebrief = *req.IsDebrief
		}
		if req.IsFeedbackRequired != nil {
			iv.IsFeedbackRequired = *req.IsFeedbackRequired
		}
		if req.IsFeedbackRequested != nil {
			iv.IsFeedbackRequested = *req.IsFeedbackRequested
		}
		if iv.IsFeedbackRequired && req.IsFeedbackRequested != nil && !*req.IsFeedbackRequested {
			return ashby.InvalidInput("isFeedbackRequested", "Feedback that is required is also requested")
		}
		iv.IsFeedbackRequested = iv.IsFeedbackRequested || iv.IsFeedbackRequired
		if req.DurationMinutes != nil {
			return tx.SetMeta(ctx, c.Org(), Interviews.Name, iv.ID, interviewMeta{DurationMinutes: *req.DurationMinutes})
		}
		return nil
	})
}

func (s *Service) interviewSetArchived(archive bool) func(context.Context, *rpc.Call, *interviewIDOnlyRequest) (rpc.Result[ashby.Interview], error) {
	return func(ctx context.Context, c *rpc.Call, req *interviewIDOnlyRequest) (rpc.Result[ashby.Interview], error) {
		return s.updateInterview(ctx, c.Org(), string(req.InterviewID), func(tx *store.Tx, iv *ashby.Interview) error {
			if archive {
				if d, err := InterviewDefaults.Get(ctx, tx, c.Org(), interviewDefaultsID); err == nil && d.InterviewID == iv.ID {
					return ashby.InvalidInput("interviewId", "The organization's default interview cannot be archived")
				}
			}
			iv.IsArchived = archive
			return nil
		})
	}
}

type interviewIDOnlyRequest struct {
	InterviewID ashby.ID `json:"interviewId" required:"true"`
}

// updateInterview applies fn to an interview, stores it and rewrites the
// stage activities that show its title and whether it can be scheduled.
func (s *Service) updateInterview(ctx context.Context, org, id string, fn func(tx *store.Tx, iv *ashby.Interview) error) (rpc.Result[ashby.Interview], error) {
	var iv *ashby.Interview
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		iv, err = Interviews.GetForUpdate(ctx, tx, org, id)
		if err != nil {
			return notFound(err, "interview", "Interview not found")
		}
		before := string(mustJSON(iv))
		if err := fn(tx, iv); err != nil {
			return err
		}
		if string(mustJSON(iv)) == before {
			return nil
		}
		// Put keeps the row's meta (the interview's length).
		if err := Interviews.Put(ctx, tx, org, iv); err != nil {
			return err
		}
		return s.refreshActivities(ctx, tx, org, iv)
	})
	if err != nil {
		return rpc.Result[ashby.Interview]{}, err
	}
	return rpc.Value(iv), nil
}

func (s *Service) refreshActivities(ctx context.Context, tx *store.Tx, org string, iv *ashby.Interview) error {
	_, err := InterviewActivities.RewriteByKey(ctx, tx, org, "interview", iv.ID, func(a *interviewActivity) error {
		for i := range a.Interviews {
			if ai := &a.Interviews[i]; ai.InterviewID == iv.ID {
				ai.Title, ai.IsSchedulable = iv.Title, !iv.IsArchived
			}
		}
		return nil
	})
	return err
}

// usableInterview loads an interview that can be held for an application
// of job: it exists, is not archived and is shared or the job's own.
func usableInterview(ctx context.Context, tx *store.Tx, org, id, jobID, field string) (*ashby.Interview, error) {
	iv, err := mustShare(ctx, tx, Interviews, org, id, "interview", field)
	if err != nil {
		return nil, err
	}
	if iv.IsArchived {
		return nil, ashby.InvalidInput(field, "Interview %s is archived", id)
	}
	if iv.JobID != "" && iv.JobID != jobID {
		return nil, ashby.InvalidInput(field, "Interview %s belongs to another job", id)
	}
	return iv, nil
}

type activityInterviewInput struct {
	InterviewID     ashby.ID `json:"interviewId" required:"true"`
	DurationMinutes *int     `json:"durationMinutes,omitempty" doc:"Default: the interview's length."`
	IsSchedulable   *bool    `json:"isSchedulable,omitempty" doc:"Default true."`
}

type addActivityRequest struct {
	JobID            ashby.ID                 `json:"jobId" required:"true"`
	InterviewStageID ashby.ID                 `json:"interviewStageId" required:"true"`
	Title            string                   `json:"title,omitempty"`
	Interviews       []activityInterviewInput `json:"interviews" required:"true"`
}

func (s *Service) jobInterviewPlanAddActivity(ctx context.Context, c *rpc.Call, req *addActivityRequest) (rpc.Result[ashby.StageActivity], error) {
	if len(req.Interviews) == 0 {
		return rpc.Result[ashby.StageActivity]{}, ashby.InvalidInput("interviews", "An activity needs at least one interview")
	}
	for i, in := range req.Interviews {
		if err := checkMinutes(fmt.Sprintf("interviews[%d].durationMinutes", i), in.DurationMinutes); err != nil {
			return rpc.Result[ashby.StageActivity]{}, err
		}
	}
	act := &interviewActivity{StageActivity: ashby.StageActivity{ID: ashby.NewID(), Title: strings.TrimSpace(req.Title)},
		JobID: string(req.JobID), InterviewStageID: string(req.InterviewStageID), CreatedAt: s.now()}
	err := s.write(ctx, func(tx *store.Tx) error {
		job, err := mustExist(ctx, tx, Jobs, c.Org(), act.JobID, "job", "jobId")
		if err != nil {
			return err
		}
		stage, err := mustExist(ctx, tx, InterviewStages, c.Org(), act.InterviewStageID, "interview_stage", "interviewStageId")
		if err != nil {
			return err
		}
		if !jobHasPlan(job, stage.InterviewPlanID) {
			return ashby.Errorf("interview_stage_not_found", "Interview stage %s is not in one of job %s's interview plans", stage.ID, job.ID)
		}
		if stage.Type == ashby.StageHired || stage.Type == ashby.StageArchived {
			return ashby.InvalidInput("interviewStageId", "A %s stage has no interviews", stage.Type)
		}
		for i, in := range req.Interviews {
			field := fmt.Sprintf("interviews[%d].interviewId", i)
			iv, err := usableInterview(ctx, tx, c.Org(), string(in.InterviewID), job.ID, field)
			if err != nil {
				return err
			}
			minutes := 0
			if in.DurationMinutes != nil {
				minutes = *in.DurationMinutes
			} else if minutes, err = interviewMinutes(ctx, tx, c.Org(), iv.ID); err != nil {
				return err
			}
			act.Interviews = append(act.Interviews, ashby.ActivityInterview{ID: ashby.NewID(), Title: iv.Title, InterviewID: iv.ID,
				InterviewDurationMinutes: minutes, IsSchedulable: boolOr(in.IsSchedulable, true)})
		}
		return InterviewActivities.Put(ctx, tx, c.Org(), act)
	})
	if err != nil {
		return rpc.Result[ashby.StageActivity]{}, err
	}
	return rpc.Value(&act.StageActivity), nil
}

func jobHasPlan(job *ashby.Job, planID string) bool {
	if job.DefaultInterviewPlanID == planID {
		return true
	}
	for _, p := range job.InterviewPlanIDs {
		if p == planID {
			return true
		}
	}
	return false
}

type removeActivityRequest struct {
	ActivityID ashby.ID `json:"activityId" required:"true"`
}

func (s *Service) jobInterviewPlanRemoveActivity(ctx context.Context, c *rpc.Call, req *removeActivityRequest) (rpc.Result[ashby.StageActivity], error) {
	var act *interviewActivity
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		if act, err = InterviewActivities.GetForUpdate(ctx, tx, c.Org(), string(req.ActivityID)); err != nil {
			return notFound(err, "activity", "Activity not found")
		}
		return InterviewActivities.Delete(ctx, tx, c.Org(), act.ID)
	})
	if err != nil {
		return rpc.Result[ashby.StageActivity]{}, err
	}
	return rpc.Value(&act.StageActivity), nil
}

// stageActivities is api.StageActivities: a job's activities in a stage,
// in the order they were added.
func stageActivities(ctx context.Context, q store.Q, org, jobID string, stage *ashby.InterviewStage) ([]ashby.StageActivity, error) {
	acts, err := InterviewActivities.Find(ctx, q, org, store.Filter{Parent: jobID, Ref: stage.ID})
	if err != nil {
		return nil, err
	}
	out := make([]ashby.StageActivity, 0, len(acts))
	for _, a := range acts {
		out = append(out, a.StageActivity)
	}
	return out, nil
}
