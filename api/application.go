package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

func init() { register((*Service).applicationEndpoints) }

func (s *Service) applicationEndpoints() []*rpc.Endpoint {
	changeStage := rpc.Object(rpc.Spec{Name: "application.changeStage", Permission: ashby.CandidatesWrite, Summary: "Move an application to another stage of its plan; an Archived stage needs archiveReasonId."}, s.applicationChangeStage)
	changeSource := rpc.Object(rpc.Spec{Name: "application.changeSource", Permission: ashby.CandidatesWrite, Summary: "Set an application's source."}, s.applicationChangeSource)
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "application.create", Permission: ashby.CandidatesWrite, Summary: "Consider a candidate for a job."}, s.applicationCreate),
		rpc.Object(rpc.Spec{Name: "application.info", Permission: ashby.CandidatesRead, Summary: "Fetch an application by id or by submitted form instance id.", Expand: ExpansionNames("application")}, s.applicationInfo),
		rpc.List[ashby.Application](rpc.Spec{Name: "application.list", Permission: ashby.CandidatesRead, Summary: "List applications; supports incremental sync.", Expand: ExpansionNames("application")}, s.applicationList),
		changeStage, changeStage.Alias("application.change_stage"),
		changeSource, changeSource.Alias("application.change_source"),
		rpc.Object(rpc.Spec{Name: "application.update", Permission: ashby.CandidatesWrite, Summary: "Update an application's source, credited user or creation time."}, s.applicationUpdate),
		rpc.List[ashby.ApplicationHistoryItem](rpc.Spec{Name: "application.listHistory", Permission: ashby.CandidatesRead, Summary: "An application's stage history, oldest first."}, s.applicationListHistory),
	}
}

// HistoryInput is one entry of a backdated application history.
type HistoryInput struct {
	StageID         ashby.ID   `json:"stageId" required:"true"`
	StageNumber     *int       `json:"stageNumber" required:"true"`
	EnteredStageAt  ashby.Time `json:"enteredStageAt" required:"true"`
	ArchiveReasonID ashby.ID   `json:"archiveReasonId,omitempty"`
}

type applicationCreateRequest struct {
	CandidateID        ashby.ID       `json:"candidateId" required:"true"`
	JobID              ashby.ID       `json:"jobId" required:"true"`
	InterviewPlanID    ashby.ID       `json:"interviewPlanId,omitempty" doc:"Default: the job's default plan."`
	InterviewStageID   string         `json:"interviewStageId,omitempty" doc:"A stage id, or FirstPreInterviewScreen. Default: the plan's first Lead stage."`
	SourceID           ashby.ID       `json:"sourceId,omitempty"`
	CreditedToUserID   ashby.ID       `json:"creditedToUserId,omitempty"`
	CreatedAt          *ashby.Time    `json:"createdAt,omitempty"`
	ApplicationHistory []HistoryInput `json:"applicationHistory,omitempty" doc:"Backdated stage history; the highest stageNumber is the current stage."`
}

// NewApplication is what CreateApplication needs; applicationForm.submit
// and the careers site use it too.
type NewApplication struct {
	CandidateID      string
	JobID            string
	PlanID           string
	StageID          string
	SourceID         string
	CreditedToUserID string
	CreatedAt        *ashby.Time
	History          []HistoryInput
	PostingID        string
	ClientIP         string
	UserAgent        string
	ActorID          string
}

func (s *Service) applicationCreate(ctx context.Context, c *rpc.Call, req *applicationCreateRequest) (rpc.Result[ashby.Application], error) {
	if req.InterviewStageID != "" && req.InterviewStageID != "FirstPreInterviewScreen" && !ashby.IsUUID(req.InterviewStageID) {
		return rpc.Result[ashby.Application]{}, ashby.InvalidInput("interviewStageId", "interviewStageId must be a UUID or FirstPreInterviewScreen")
	}
	var app *ashby.Application
	err := s.write(ctx, func(tx *store.Tx) error {
		actor, err := s.actingUser(ctx, tx, c)
		if err != nil {
			return err
		}
		app, err = s.CreateApplication(ctx, tx, c.Org(), NewApplication{CandidateID: string(req.CandidateID), JobID: string(req.JobID),
			PlanID: string(req.InterviewPlanID), StageID: lcID(req.InterviewStageID), SourceID: string(req.SourceID),
			CreditedToUserID: string(req.CreditedToUserID), CreatedAt: req.CreatedAt, History: req.ApplicationHistory, ActorID: actor.ID})
		return err
	})
	if err != nil {
		return rpc.Result[ashby.Application]{}, err
	}
	return rpc.Value(app), nil
}

func lcID(s string) string {
	if ashby.IsUUID(s) {
		return lc(s)
	}
	return s
}

// CreateApplication validates and stores a new application in tx, adds it
// to the candidate, records its stage history and emits applicationSubmit.
func (s *Service) CreateApplication(ctx context.Context, tx *store.Tx, org string, n NewApplication) (*ashby.Application, error) {
	cand, err := Candidates.GetForUpdate(ctx, tx, org, n.CandidateID)
	if err != nil {
		return nil, notFound(err, "candidate", "Candidate not found")
	}
	job, err := Jobs.GetShared(ctx, tx, org, n.JobID)
	if err != nil {
		return nil, notFound(err, "job", "Job not found")
	}
	if job.Status == ashby.JobArchived {
		return nil, ashby.Errorf("job_archived", "Job %s is archived and takes no applications", job.ID)
	}
	existing, err := applicationFor(ctx, tx, org, cand, job.ID)
	if err != nil {
		return nil, err
	}
	if existing != nil {
		return nil, ashby.Errorf("application_already_exists", "Candidate %s already has application %s for this job", cand.ID, existing.ID)
	}
	planID := n.PlanID
	if planID == "" {
		planID = job.DefaultInterviewPlanID
	}
	if planID == "" {
		return nil, ashby.Errorf("interview_plan_not_found", "Job %s has no interview plan", job.ID)
	}
	if n.PlanID != "" && !slices.Contains(job.InterviewPlanIDs, planID) {
		return nil, ashby.Errorf("interview_plan_not_found", "Interview plan %s is not one of job %s's plans", planID, job.ID)
	}
	stages, err := s.planStages(ctx, tx, org, planID)
	if err != nil {
		return nil, err
	}
	if len(stages) == 0 {
		return nil, ashby.Errorf("interview_plan_not_found", "Interview plan %s has no stages", planID)
	}
	now := s.now()
	created := now
	if n.CreatedAt != nil {
		created = *n.CreatedAt
	}
	app := &ashby.Application{ID: ashby.NewID(), CreatedAt: created, UpdatedAt: now, CustomFields: []ashby.CustomFieldValue{},
		Candidate: candidateSummary(cand), Job: jobSummary(job), HiringTeam: slices.Clone(job.HiringTeam),
		AppliedViaJobPostingID: n.PostingID, SubmitterClientIP: n.ClientIP, SubmitterUserAgent: n.UserAgent}
	if app.HiringTeam == nil {
		app.HiringTeam = []ashby.HiringTeamMember{}
	}

	// The stage history: given, or one entry for the starting stage.
	history := n.History
	if len(history) == 0 {
		stage, err := startStage(stages, n.StageID)
		if err != nil {
			return nil, err
		}
		zero := 0
		history = []HistoryInput{{StageID: ashby.ID(stage.ID), StageNumber: &zero, EnteredStageAt: created}}
	}
	items, current, reason, err := s.buildHistory(ctx, tx, org, stages, history, n.ActorID)
	if err != nil {
		return nil, err
	}
	// The current stage is embedded: hold it against a concurrent rename.
	if current, err = InterviewStages.GetShared(ctx, tx, org, current.ID); err != nil {
		return nil, fmt.Errorf("current stage: %w", err)
	}
	app.Status = statusFor(current.Type)
	app.CurrentInterviewStage = *current
	if reason != nil {
		app.ArchiveReason = reason
		app.ArchivedAt = items[len(items)-1].EnteredStageAt.Ptr()
	}
	sourceID := n.SourceID
	if sourceID == "" && cand.Source != nil {
		sourceID = cand.Source.ID
	}
	if sourceID != "" {
		if app.Source, err = mustShare(ctx, tx, Sources, org, sourceID, "source", "sourceId"); err != nil {
			return nil, err
		}
	}
	if n.CreditedToUserID != "" {
		if app.CreditedToUser, err = mustShare(ctx, tx, Users, org, n.CreditedToUserID, "user", "creditedToUserId"); err != nil {
			return nil, err
		}
	}
	if err := Applications.Put(ctx, tx, org, app); err != nil {
		return nil, err
	}
	for _, h := range items {
		if err := ApplicationHistory.PutChild(ctx, tx, org, app.ID, h); err != nil {
			return nil, err
		}
	}
	cand.ApplicationIDs = append(cand.ApplicationIDs, app.ID)
	cand.UpdatedAt = now
	if err := Candidates.Put(ctx, tx, org, cand); err != nil {
		return nil, err
	}
	if err := emit(ctx, tx, org, "applicationSubmit", map[string]any{"application": app}); err != nil {
		return nil, err
	}
	if err := s.enteredStage(ctx, tx, org, app, current); err != nil {
		return nil, err
	}
	return app, nil
}

// applicationFor returns the candidate's application for a job, or nil.
// It reads the candidate's applications by id: a query filtering the
// kind by candidate and job was planned, on a database without planner
// statistics, as a scan of all the job's applications, which made
// seeding quadratic (9 minutes for 100,000 on PostgreSQL).
func applicationFor(ctx context.Context, q store.Q, org string, cand *ashby.Candidate, jobID string) (*ashby.Application, error) {
	apps, err := Applications.GetMany(ctx, q, org, cand.ApplicationIDs)
	if err != nil {
		return nil, err
	}
	for _, id := range cand.ApplicationIDs {
		if a := apps[id]; a != nil && a.Job.ID == jobID {
			return a, nil
		}
	}
	return nil, nil
}

func startStage(stages []*ashby.InterviewStage, want string) (*ashby.InterviewStage, error) {
	switch want {
	case "":
		for _, st := range stages {
			if st.Type == ashby.StageLead {
				return st, nil
			}
		}
		return stages[0], nil
	case "FirstPreInterviewScreen":
		for _, st := range stages {
			if st.Type == ashby.StagePreInterviewScreen {
				return st, nil
			}
		}
		return nil, ashby.Errorf("interview_stage_not_found", "The interview plan has no PreInterviewScreen stage")
	}
	for _, st := range stages {
		if st.ID == want {
			if st.Type == ashby.StageArchived {
				return nil, ashby.InvalidInput("interviewStageId", "To create an archived application, pass applicationHistory with an archiveReasonId")
			}
			return st, nil
		}
	}
	return nil, ashby.Errorf("interview_stage_not_found", "Interview stage %s is not in the application's interview plan", want)
}

// buildHistory validates a history against the plan's stages and returns
// the stored items, the current stage and, for an archived application,
// its archive reason.
func (s *Service) buildHistory(ctx context.Context, q store.Q, org string, stages []*ashby.InterviewStage, in []HistoryInput, actorID string) ([]*ashby.ApplicationHistoryItem, *ashby.InterviewStage, *ashby.ArchiveReason, error) {
	byID := map[string]*ashby.InterviewStage{}
	for _, st := range stages {
		byID[st.ID] = st
	}
	in = slices.Clone(in)
	sort.SliceStable(in, func(i, j int) bool { return *in[i].StageNumber < *in[j].StageNumber })
	items := make([]*ashby.ApplicationHistoryItem, len(in))
	var reason *ashby.ArchiveReason
	for i, h := range in {
		st, ok := byID[string(h.StageID)]
		if !ok {
			return nil, nil, nil, ashby.Errorf("interview_stage_not_found", "applicationHistory[%d]: stage %s is not in the interview plan", i, h.StageID)
		}
		if i > 0 && *h.StageNumber == *in[i-1].StageNumber {
			return nil, nil, nil, ashby.InvalidInput("applicationHistory", "applicationHistory has two entries with stageNumber %d", *h.StageNumber)
		}
		if i > 0 && h.EnteredStageAt.Before(in[i-1].EnteredStageAt.Time) {
			return nil, nil, nil, ashby.InvalidInput("applicationHistory", "applicationHistory: stage %d is entered before stage %d", *h.StageNumber, *in[i-1].StageNumber)
		}
		last := i == len(in)-1
		if h.ArchiveReasonID != "" && !(last && st.Type == ashby.StageArchived) {
			return nil, nil, nil, ashby.InvalidInput("applicationHistory", "archiveReasonId is only allowed on a final Archived stage")
		}
		if last && st.Type == ashby.StageArchived {
			if h.ArchiveReasonID == "" {
				return nil, nil, nil, ashby.InvalidInput("applicationHistory", "An Archived stage needs an archiveReasonId")
			}
			r, err := mustExist(ctx, q, ArchiveReasons, org, string(h.ArchiveReasonID), "archive_reason", "archiveReasonId")
			if err != nil {
				return nil, nil, nil, err
			}
			reason = embeddedReason(r)
		}
		items[i] = &ashby.ApplicationHistoryItem{ID: ashby.NewID(), StageID: st.ID, Title: st.Title, EnteredStageAt: h.EnteredStageAt,
			StageNumber: i, AllowedActions: []string{"delete", "set_entered_at"}, ActorID: actorID}
		if i > 0 {
			items[i-1].LeftStageAt = h.EnteredStageAt.Ptr()
		}
	}
	items[len(items)-1].AllowedActions = []string{"set_entered_at"}
	return items, byID[items[len(items)-1].StageID], reason, nil
}

func embeddedReason(r *ashby.ArchiveReason) *ashby.ArchiveReason {
	cp := *r
	if cp.CustomFields == nil {
		cp.CustomFields = &[]ashby.CustomFieldValue{}
	}
	return &cp
}

// statusFor maps a stage type to the application status it implies.
func statusFor(stageType string) string {
	switch stageType {
	case ashby.StageLead:
		return ashby.ApplicationLead
	case ashby.StageHired:
		return ashby.ApplicationHired
	case ashby.StageArchived:
		return ashby.ApplicationArchived
	}
	return ashby.ApplicationActive
}

type applicationInfoRequest struct {
	ApplicationID           ashby.ID `json:"applicationId,omitempty"`
	SubmittedFormInstanceID ashby.ID `json:"submittedFormInstanceId,omitempty"`
	rpc.ExpandParam
}

func (s *Service) applicationInfo(ctx context.Context, c *rpc.Call, req *applicationInfoRequest) (rpc.Result[ashby.Application], error) {
	id := string(req.ApplicationID)
	if id == "" && req.SubmittedFormInstanceID == "" {
		return rpc.Result[ashby.Application]{}, ashby.InvalidInput("applicationId", "Give applicationId or submittedFormInstanceId")
	}
	if id == "" {
		sub, err := FormSubmissions.Get(ctx, s.DB, c.Org(), string(req.SubmittedFormInstanceID))
		if err != nil {
			return rpc.Result[ashby.Application]{}, notFound(err, "application", "Application not found")
		}
		id = sub.ApplicationID
	}
	doc, err := Applications.GetRaw(ctx, s.DB, c.Org(), id)
	if err != nil {
		return rpc.Result[ashby.Application]{}, notFound(err, "application", "Application not found - are you lacking permissions to edit candidates?")
	}
	hist, err := s.history(ctx, s.DB, c.Org(), id)
	if err != nil {
		return rpc.Result[ashby.Application]{}, err
	}
	docs := [][]byte{splice(doc, "applicationHistory", mustJSON(hist))}
	if err := s.expand(ctx, c.Org(), docs, req.Expand, "application"); err != nil {
		return rpc.Result[ashby.Application]{}, err
	}
	return rpc.Raw[ashby.Application](docs[0]), nil
}

func (s *Service) history(ctx context.Context, q store.Q, org, appID string) ([]*ashby.ApplicationHistoryItem, error) {
	h, err := ApplicationHistory.Find(ctx, q, org, store.Filter{Parent: appID})
	if err != nil {
		return nil, err
	}
	return sortHistory(h), nil
}

// historyForUpdate is history locked for rewriting, in a write transaction.
func (s *Service) historyForUpdate(ctx context.Context, tx *store.Tx, org, appID string) ([]*ashby.ApplicationHistoryItem, error) {
	h, err := ApplicationHistory.FindForUpdate(ctx, tx, org, store.Filter{Parent: appID})
	if err != nil {
		return nil, err
	}
	return sortHistory(h), nil
}

func sortHistory(h []*ashby.ApplicationHistoryItem) []*ashby.ApplicationHistoryItem {
	sort.SliceStable(h, func(i, j int) bool { return h[i].StageNumber < h[j].StageNumber })
	if h == nil {
		h = []*ashby.ApplicationHistoryItem{}
	}
	return h
}

type applicationListRequest struct {
	rpc.SyncParams
	rpc.ExpandParam
	CreatedAfter int64                   `json:"createdAfter,omitempty" doc:"Epoch milliseconds."`
	Status       ashby.OneOrMany[string] `json:"status,omitempty" enum:"Hired,Archived,Active,Lead"`
	JobID        ashby.ID                `json:"jobId,omitempty"`
}

func (s *Service) applicationList(ctx context.Context, c *rpc.Call, req *applicationListRequest) (*rpc.Page, error) {
	spec := listSpec(c, Applications.Name, req.SyncParams)
	spec.CreatedAfter = req.CreatedAfter
	spec.Filter.State = req.Status
	spec.Filter.Parent = string(req.JobID)
	if len(req.Expand) == 0 {
		return s.listPage(ctx, spec)
	}
	p, err := s.DB.List(ctx, spec)
	if err != nil {
		return nil, err
	}
	if err := s.expand(ctx, c.Org(), p.Docs, req.Expand, "application"); err != nil {
		return nil, err
	}
	return page(p), nil
}

type archiveEmailInput struct {
	CommunicationTemplateID ashby.ID    `json:"communicationTemplateId" required:"true"`
	SendAt                  *ashby.Time `json:"sendAt,omitempty" doc:"When to send it; default 09:32 the next morning in the organization's time zone; a time past is now."`
}

type applicationChangeStageRequest struct {
	ApplicationID    ashby.ID           `json:"applicationId" required:"true"`
	InterviewStageID ashby.ID           `json:"interviewStageId" required:"true"`
	ArchiveReasonID  ashby.ID           `json:"archiveReasonId,omitempty" doc:"Required when the stage is an Archived stage, and only then."`
	ArchiveEmail     *archiveEmailInput `json:"archiveEmail,omitempty"`
}

func (s *Service) applicationChangeStage(ctx context.Context, c *rpc.Call, req *applicationChangeStageRequest) (rpc.Result[ashby.Application], error) {
	var app *ashby.Application
	err := s.write(ctx, func(tx *store.Tx) error {
		actor, err := s.actingUser(ctx, tx, c)
		if err != nil {
			return err
		}
		app, err = s.ChangeStage(ctx, tx, c.Org(), string(req.ApplicationID), string(req.InterviewStageID), string(req.ArchiveReasonID), actor.ID, req.ArchiveEmail)
		return err
	})
	if err != nil {
		return rpc.Result[ashby.Application]{}, err
	}
	if req.ArchiveEmail != nil && !s.Mail.Sending() {
		// No SMTP server is configured: the stage change stands and the
		// email is recorded as not sent; the caller is told (a partial
		// success, as Ashby words it).
		c.Warn("archive_email_not_sent")
	}
	return rpc.Value(app), nil
}

// ChangeStage moves an application to a stage of its plan, records the
// history and emits candidateStageChange, applicationUpdate and, on a
// hire, candidateHire.
func (s *Service) ChangeStage(ctx context.Context, tx *store.Tx, org, appID, stageID, reasonID, actorID string, archiveEmail *archiveEmailInput) (*ashby.Application, error) {
	// The stage is embedded: it is read (shared) before the application
	// is locked, the order a stage rename locks them.
	stage, err := InterviewStages.GetShared(ctx, tx, org, stageID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	app, err := Applications.GetForUpdate(ctx, tx, org, appID)
	if err != nil {
		return nil, notFound(err, "application", "Application not found - are you lacking permissions to edit candidates?")
	}
	if stage == nil || stage.InterviewPlanID != app.CurrentInterviewStage.InterviewPlanID {
		return nil, ashby.Errorf("interview_stage_not_found", "Interview stage %s is not in the application's interview plan", stageID)
	}
	archived := stage.Type == ashby.StageArchived
	if archived && reasonID == "" {
		return nil, ashby.InvalidInput("archiveReasonId", "archiveReasonId is required to move an application to an Archived stage")
	}
	if !archived && reasonID != "" {
		return nil, ashby.InvalidInput("archiveReasonId", "archiveReasonId is only allowed when moving to an Archived stage")
	}
	if !archived && archiveEmail != nil {
		return nil, ashby.InvalidInput("archiveEmail", "archiveEmail is only allowed when moving to an Archived stage")
	}
	var reason *ashby.ArchiveReason
	if archived {
		r, err := mustExist(ctx, tx, ArchiveReasons, org, reasonID, "archive_reason", "archiveReasonId")
		if err != nil {
			return nil, err
		}
		reason = embeddedReason(r)
		if archiveEmail != nil {
			if err := checkArchiveEmailTemplate(ctx, tx, org, string(archiveEmail.CommunicationTemplateID)); err != nil {
				return nil, err
			}
		}
	}
	if stage.ID == app.CurrentInterviewStage.ID && (!archived || app.ArchiveReason != nil && app.ArchiveReason.ID == reasonID) {
		return app, nil // already there
	}
	now := s.now()
	hist, err := s.historyForUpdate(ctx, tx, org, app.ID)
	if err != nil {
		return nil, err
	}
	next := 0
	if n := len(hist); n > 0 {
		last := hist[n-1]
		last.LeftStageAt = now.Ptr()
		last.AllowedActions = []string{"delete", "set_entered_at"}
		if err := ApplicationHistory.PutChild(ctx, tx, org, app.ID, last); err != nil {
			return nil, err
		}
		next = last.StageNumber + 1
	}
	item := &ashby.ApplicationHistoryItem{ID: ashby.NewID(), StageID: stage.ID, Title: stage.Title, EnteredStageAt: now,
		StageNumber: next, AllowedActions: []string{"set_entered_at"}, ActorID: actorID}
	if err := ApplicationHistory.PutChild(ctx, tx, org, app.ID, item); err != nil {
		return nil, err
	}
	app.CurrentInterviewStage = *stage
	app.Status = statusFor(stage.Type)
	app.UpdatedAt = now
	if archived {
		app.ArchiveReason, app.ArchivedAt = reason, now.Ptr()
	} else {
		app.ArchiveReason, app.ArchivedAt = nil, nil
	}
	if err := Applications.Put(ctx, tx, org, app); err != nil {
		return nil, err
	}
	if err := s.enteredStage(ctx, tx, org, app, stage); err != nil {
		return nil, err
	}
	data := map[string]any{"application": app}
	if app.Status == ashby.ApplicationHired {
		hire := map[string]any{"application": app}
		if offer, err := hiredOffer(ctx, tx, org, app.ID); err != nil {
			return nil, err
		} else if offer != nil {
			hire["offer"] = offer
		}
		if err := emit(ctx, tx, org, "candidateHire", hire); err != nil {
			return nil, err
		}
	}
	if err := emit(ctx, tx, org, "candidateStageChange", data); err != nil {
		return nil, err
	}
	if archived && archiveEmail != nil {
		// In the stage change's transaction: an email that cannot be made
		// refuses the change, as in Ashby.
		if err := s.archiveEmail(ctx, tx, org, app, actorID, archiveEmail); err != nil {
			return nil, err
		}
	}
	return app, emit(ctx, tx, org, "applicationUpdate", data)
}

// enteredStage runs, in the writing transaction, whatever acts on an
// application entering a stage (on creation, a stage change or a
// transfer): partners' automatic assessments and take-home assignments.
func (s *Service) enteredStage(ctx context.Context, tx *store.Tx, org string, app *ashby.Application, stage *ashby.InterviewStage) error {
	for _, f := range []func(ctx context.Context, tx *store.Tx, org string, app *ashby.Application, stage *ashby.InterviewStage) error{
		s.assessmentsOnStageEntry, takeHomesOnStageEntry,
	} {
		if err := f(ctx, tx, org, app, stage); err != nil {
			return err
		}
	}
	return nil
}

type applicationChangeSourceRequest struct {
	ApplicationID ashby.ID `json:"applicationId" required:"true"`
	SourceID      ashby.ID `json:"sourceId" required:"true"`
}

func (s *Service) applicationChangeSource(ctx context.Context, c *rpc.Call, req *applicationChangeSourceRequest) (rpc.Result[ashby.Application], error) {
	return s.UpdateApplication(ctx, c.Org(), string(req.ApplicationID), func(tx *store.Tx, app *ashby.Application) error {
		src, err := mustShare(ctx, tx, Sources, c.Org(), string(req.SourceID), "source", "sourceId")
		if err != nil {
			return err
		}
		app.Source = src
		return nil
	})
}

type applicationUpdateRequest struct {
	ApplicationID     ashby.ID    `json:"applicationId" required:"true"`
	SourceID          ashby.ID    `json:"sourceId,omitempty"`
	CreditedToUserID  ashby.ID    `json:"creditedToUserId,omitempty"`
	CreatedAt         *ashby.Time `json:"createdAt,omitempty"`
	SendNotifications bool        `json:"sendNotifications,omitempty"`
}

func (s *Service) applicationUpdate(ctx context.Context, c *rpc.Call, req *applicationUpdateRequest) (rpc.Result[ashby.Application], error) {
	return s.UpdateApplication(ctx, c.Org(), string(req.ApplicationID), func(tx *store.Tx, app *ashby.Application) error {
		if req.SourceID != "" {
			src, err := mustShare(ctx, tx, Sources, c.Org(), string(req.SourceID), "source", "sourceId")
			if err != nil {
				return err
			}
			app.Source = src
		}
		if req.CreditedToUserID != "" {
			u, err := mustShare(ctx, tx, Users, c.Org(), string(req.CreditedToUserID), "user", "creditedToUserId")
			if err != nil {
				return err
			}
			app.CreditedToUser = u
		}
		if req.CreatedAt != nil {
			if req.CreatedAt.After(time.Now()) {
				return ashby.InvalidInput("createdAt", "createdAt cannot be in the future")
			}
			app.CreatedAt = *req.CreatedAt
		}
		return nil
	})
}

// UpdateApplication loads an application for update, applies fn, stores
// it and emits applicationUpdate.
func (s *Service) UpdateApplication(ctx context.Context, org, id string, fn func(tx *store.Tx, app *ashby.Application) error) (rpc.Result[ashby.Application], error) {
	var app *ashby.Application
	err := s.write(ctx, func(tx *store.Tx) (err error) {
		app, err = s.updateApplication(ctx, tx, org, id, fn)
		return err
	})
	if err != nil {
		return rpc.Result[ashby.Application]{}, err
	}
	return rpc.Value(app), nil
}

// updateApplication is UpdateApplication in tx. A caller that copies
// another record into the application reads it (shared) before calling
// this, so that its lock is taken before the application's, in the order
// fan-outs take them.
func (s *Service) updateApplication(ctx context.Context, tx *store.Tx, org, id string, fn func(tx *store.Tx, app *ashby.Application) error) (*ashby.Application, error) {
	app, err := Applications.GetForUpdate(ctx, tx, org, id)
	if err != nil {
		return nil, notFound(err, "application", "Application not found - are you lacking permissions to edit candidates?")
	}
	before := string(mustJSON(app))
	if err := fn(tx, app); err != nil {
		return nil, err
	}
	if string(mustJSON(app)) == before {
		return app, nil
	}
	app.UpdatedAt = s.now()
	if err := Applications.Put(ctx, tx, org, app); err != nil {
		return nil, err
	}
	return app, emit(ctx, tx, org, "applicationUpdate", map[string]any{"application": app})
}

type applicationListHistoryRequest struct {
	rpc.ListParams
	ApplicationID ashby.ID `json:"applicationId" required:"true"`
}

func (s *Service) applicationListHistory(ctx context.Context, c *rpc.Call, req *applicationListHistoryRequest) (*rpc.Page, error) {
	if _, err := mustExist(ctx, s.DB, Applications, c.Org(), string(req.ApplicationID), "application", "applicationId"); err != nil {
		return nil, err
	}
	spec := listSpec(c, ApplicationHistory.Name, rpc.SyncParams{ListParams: req.ListParams})
	spec.Filter.Parent = string(req.ApplicationID)
	spec.NoSync = true
	return s.listPage(ctx, spec)
}
