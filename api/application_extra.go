package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// Application endpoints beyond the core workflow: hiring team changes,
// transfer to another job, history edits and deletion.

func init() { register((*Service).applicationExtraEndpoints) }

func (s *Service) applicationExtraEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "application.addHiringTeamMember", Permission: ashby.CandidatesWrite, Summary: "Add a user with a role to an application's hiring team."}, s.applicationAddHiringTeamMember),
		rpc.Object(rpc.Spec{Name: "application.removeHiringTeamMember", Permission: ashby.CandidatesWrite, Summary: "Remove a user's role from an application's hiring team."}, s.applicationRemoveHiringTeamMember),
		rpc.Object(rpc.Spec{Name: "application.transfer", Permission: ashby.CandidatesWrite, Summary: "Move an application to another job (or plan) at a given stage, keeping its history."}, s.applicationTransfer),
		rpc.Object(rpc.Spec{Name: "application.updateHistory", Permission: ashby.CandidatesWrite, Summary: "Rewrite an application's stage history: change when stages were entered, delete or add past entries."}, s.applicationUpdateHistory),
		rpc.Object(rpc.Spec{Name: "application.delete", Permission: ashby.CandidatesDelete, Summary: "Delete an application with its history and offers."}, s.applicationDelete),
	}
}

type applicationTeamMemberRequest struct {
	ApplicationID ashby.ID `json:"applicationId" required:"true"`
	TeamMemberID  ashby.ID `json:"teamMemberId" required:"true" doc:"The user's id."`
	RoleID        ashby.ID `json:"roleId" required:"true" doc:"A role from applicationHiringTeamRole.list."`
}

func (s *Service) applicationAddHiringTeamMember(ctx context.Context, c *rpc.Call, req *applicationTeamMemberRequest) (rpc.Result[ashby.HiringTeamMember], error) {
	m, err := s.setApplicationTeamMember(ctx, c.Org(), string(req.ApplicationID), string(req.TeamMemberID), string(req.RoleID), true)
	if err != nil {
		return rpc.Result[ashby.HiringTeamMember]{}, err
	}
	return rpc.Value(m), nil
}

func (s *Service) applicationRemoveHiringTeamMember(ctx context.Context, c *rpc.Call, req *applicationTeamMemberRequest) (rpc.Result[ashby.HiringTeamMember], error) {
	m, err := s.setApplicationTeamMember(ctx, c.Org(), string(req.ApplicationID), string(req.TeamMemberID), string(req.RoleID), false)
	if err != nil {
		return rpc.Result[ashby.HiringTeamMember]{}, err
	}
	return rpc.Value(m), nil
}

type applicationTransferRequest struct {
	ApplicationID            ashby.ID `json:"applicationId" required:"true"`
	JobID                    ashby.ID `json:"jobId" required:"true"`
	InterviewPlanID          ashby.ID `json:"interviewPlanId" required:"true" doc:"One of the job's interview plans."`
	InterviewStageID         ashby.ID `json:"interviewStageId" required:"true" doc:"A stage of that plan (not an Archived one)."`
	StartAutomaticActivities *bool    `json:"startAutomaticActivities,omitempty" doc:"Default true: the new stage's automatic actions (assessments it starts) run; false moves the application without them."`
}

func (s *Service) applicationTransfer(ctx context.Context, c *rpc.Call, req *applicationTransferRequest) (rpc.Result[ashby.Application], error) {
	var app *ashby.Application
	err := s.write(ctx, func(tx *store.Tx) error {
		org := c.Org()
		var err error
		if app, err = Applications.GetForUpdate(ctx, tx, org, string(req.ApplicationID)); err != nil {
			return notFound(err, "application", "Application not found - are you lacking permissions to edit candidates?")
		}
		job, err := mustShare(ctx, tx, Jobs, org, string(req.JobID), "job", "jobId")
		if err != nil {
			return err
		}
		if job.Status == ashby.JobArchived {
			return ashby.Errorf("job_archived", "Job %s is archived and takes no applications", job.ID)
		}
		planID := string(req.InterviewPlanID)
		if !slices.Contains(job.InterviewPlanIDs, planID) {
			return ashby.Errorf("interview_plan_not_found", "Interview plan %s is not one of job %s's plans", planID, job.ID)
		}
		stage, err := InterviewStages.GetShared(ctx, tx, org, string(req.InterviewStageID))
		if err != nil || stage.InterviewPlanID != planID {
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return ashby.Errorf("interview_stage_not_found", "Interview stage %s is not in interview plan %s", req.InterviewStageID, planID)
		}
		if stage.Type == ashby.StageArchived {
			return ashby.InvalidInput("interviewStageId", "Transfer to an active stage; archive an application with application.changeStage")
		}
		if job.ID == app.Job.ID && stage.ID == app.CurrentInterviewStage.ID {
			return nil // already there
		}
		if job.ID != app.Job.ID {
			dup, err := Applications.Find(ctx, tx, org, store.Filter{Ref: app.Candidate.ID, Parent: job.ID, IncludeArchived: true, Limit: 1})
			if err != nil {
				return err
			}
			if len(dup) > 0 {
				return ashby.Errorf("application_already_exists", "Candidate %s already has application %s for job %s", app.Candidate.ID, dup[0].ID, job.ID)
			}
		}
		actor, err := s.actingUser(ctx, tx, c)
		if err != nil {
			return err
		}
		now := s.now()
		if err := s.appendHistory(ctx, tx, org, app.ID, stage, actor.ID, now); err != nil {
			return err
		}
		// The team follows the job: members the application had from its
		// old job give way to the new job's team; members added to the
		// application itself stay.
		if job.ID != app.Job.ID {
			var oldTeam []ashby.HiringTeamMember
			if old, err := Jobs.Get(ctx, tx, org, app.Job.ID); err == nil {
				oldTeam = old.HiringTeam
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			team := slices.Clone(job.HiringTeam)
			for _, m := range app.HiringTeam {
				fromOldJob := slices.ContainsFunc(oldTeam, func(x ashby.HiringTeamMember) bool { return sameTeamMember(x, m) })
				if !fromOldJob {
					team, _ = withMember(team, m)
				}
			}
			if team == nil {
				team = []ashby.HiringTeamMember{}
			}
			app.HiringTeam = team
		}
		wasHired := app.Status == ashby.ApplicationHired
		app.Job = jobSummary(job)
		app.CurrentInterviewStage = *stage
		app.Status = statusFor(stage.Type)
		app.ArchiveReason, app.ArchivedAt = nil, nil
		app.UpdatedAt = now
		if err := Applications.Put(ctx, tx, org, app); err != nil {
			return err
		}
		// startAutomaticActivities: false moves the application without the
		// stage's automatic actions (partner assessments a stage starts).
		if req.StartAutomaticActivities == nil || *req.StartAutomaticActivities {
			if err := s.enteredStage(ctx, tx, org, app, stage); err != nil {
				return err
			}
		}
		// The candidate's record changes with its applications, so that a
		// candidate sync reports it.
		cand, err := Candidates.GetForUpdate(ctx, tx, org, app.Candidate.ID)
		if err != nil {
			return fmt.Errorf("transferred application's candidate: %w", err)
		}
		cand.UpdatedAt = now
		if err := Candidates.Put(ctx, tx, org, cand); err != nil {
			return err
		}
		data := map[string]any{"application": app}
		if app.Status == ashby.ApplicationHired && !wasHired {
			hire := map[string]any{"application": app}
			offer, err := hiredOffer(ctx, tx, org, app.ID)
			if err != nil {
				return err
			}
			if offer != nil {
				hire["offer"] = offer
			}
			if err := emit(ctx, tx, org, "candidateHire", hire); err != nil {
				return err
			}
		}
		if err := emit(ctx, tx, org, "candidateStageChange", data); err != nil {
			return err
		}
		return emit(ctx, tx, org, "applicationUpdate", data)
	})
	if err != nil {
		return rpc.Result[ashby.Application]{}, err
	}
	return rpc.Value(app), nil
}

// appendHistory closes an application's current history entry and adds
// one for stage.
func (s *Service) appendHistory(ctx context.Context, tx *store.Tx, org, appID string, stage *ashby.InterviewStage, actorID string, now ashby.Time) error {
	hist, err := s.historyForUpdate(ctx, tx, org, appID)
	if err != nil {
		return err
	}
	next := 0
	if n := len(hist); n > 0 {
		last := hist[n-1]
		last.LeftStageAt = now.Ptr()
		last.AllowedActions = []string{"delete", "set_entered_at"}
		if err := ApplicationHistory.PutChild(ctx, tx, org, appID, last); err != nil {
			return err
		}
		next = last.StageNumber + 1
	}
	item := &ashby.ApplicationHistoryItem{ID: ashby.NewID(), StageID: stage.ID, Title: stage.Title, EnteredStageAt: now,
		StageNumber: next, AllowedActions: []string{"set_entered_at"}, ActorID: actorID}
	return ApplicationHistory.PutChild(ctx, tx, org, appID, item)
}

type historyUpdateInput struct {
	ApplicationHistoryID ashby.ID   `json:"applicationHistoryId,omitempty" doc:"The entry to keep; omit to add a past entry."`
	StageID              ashby.ID   `json:"stageId" required:"true"`
	StageNumber          *int       `json:"stageNumber" required:"true"`
	EnteredStageAt       ashby.Time `json:"enteredStageAt" required:"true"`
	ArchiveReasonID      ashby.ID   `json:"archiveReasonId,omitempty" doc:"Only on the last entry, when it is an Archived stage."`
}

type applicationUpdateHistoryRequest struct {
	ApplicationID      ashby.ID             `json:"applicationId" required:"true"`
	ApplicationHistory []historyUpdateInput `json:"applicationHistory" required:"true" doc:"The whole new history. Entries left out are deleted; the current stage's entry must stay last."`
}

func (s *Service) applicationUpdateHistory(ctx context.Context, c *rpc.Call, req *applicationUpdateHistoryRequest) (rpc.Result[ashby.Application], error) {
	if len(req.ApplicationHistory) == 0 {
		return rpc.Result[ashby.Application]{}, ashby.InvalidInput("applicationHistory", "applicationHistory cannot be empty: the current stage's entry stays")
	}
	var doc []byte
	err := s.write(ctx, func(tx *store.Tx) error {
		org := c.Org()
		app, err := Applications.GetForUpdate(ctx, tx, org, string(req.ApplicationID))
		if err != nil {
			return notFound(err, "application", "Application not found - are you lacking permissions to edit candidates?")
		}
		existing, err := s.historyForUpdate(ctx, tx, org, app.ID)
		if err != nil {
			return err
		}
		if len(existing) == 0 {
			return fmt.Errorf("application %s has no history", app.ID)
		}
		byID := map[string]*ashby.ApplicationHistoryItem{}
		for _, h := range existing {
			byID[h.ID] = h
		}
		current := existing[len(existing)-1]

		in := slices.Clone(req.ApplicationHistory)
		order := make([]int, len(in)) // request index of each sorted entry, for error paths
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return *in[order[a]].StageNumber < *in[order[b]].StageNumber })
		kept := map[string]bool{}
		for _, i := range order {
			h := in[i]
			if h.ApplicationHistoryID == "" {
				continue
			}
			path := fmt.Sprintf("applicationHistory[%d].applicationHistoryId", i)
			old, ok := byID[string(h.ApplicationHistoryID)]
			if !ok {
				return ashby.InvalidInput(path, "%s is not an entry of this application's history", h.ApplicationHistoryID)
			}
			if kept[old.ID] {
				return ashby.InvalidInput(path, "Entry %s is given twice", old.ID)
			}
			kept[old.ID] = true
			if old.StageID != string(h.StageID) {
				return ashby.InvalidInput(fmt.Sprintf("applicationHistory[%d].stageId", i), "Entry %s is for stage %s; an entry's stage cannot change", old.ID, old.StageID)
			}
		}
		last := in[order[len(order)-1]]
		if string(last.ApplicationHistoryID) != current.ID {
			return ashby.InvalidInput("applicationHistory", "The current stage's entry (%s) must be kept as the last entry; move the application with application.changeStage", current.ID)
		}
		// The stages an entry may name: the current plan's and those the
		// application visited (a transferred application's history spans plans).
		stages, err := s.planStages(ctx, tx, org, app.CurrentInterviewStage.InterviewPlanID)
		if err != nil {
			return err
		}
		var visited []string
		for _, h := range existing {
			visited = append(visited, h.StageID)
		}
		more, err := InterviewStages.GetMany(ctx, tx, org, visited)
		if err != nil {
			return err
		}
		for _, st := range more {
			if !slices.ContainsFunc(stages, func(x *ashby.InterviewStage) bool { return x.ID == st.ID }) {
				stages = append(stages, st)
			}
		}
		hin := make([]HistoryInput, len(order))
		for k, i := range order {
			h := in[i]
			hin[k] = HistoryInput{StageID: h.StageID, StageNumber: h.StageNumber, EnteredStageAt: h.EnteredStageAt, ArchiveReasonID: h.ArchiveReasonID}
		}
		if lastIn := &hin[len(hin)-1]; lastIn.ArchiveReasonID == "" && app.ArchiveReason != nil {
			lastIn.ArchiveReasonID = ashby.ID(app.ArchiveReason.ID) // an archived application keeps its reason
		}
		actor, err := s.actingUser(ctx, tx, c)
		if err != nil {
			return err
		}
		items, _, reason, err := s.buildHistory(ctx, tx, org, stages, hin, actor.ID)
		if err != nil {
			return err
		}
		for k, i := range order {
			if id := string(in[i].ApplicationHistoryID); id != "" {
				items[k].ID, items[k].ActorID = id, byID[id].ActorID
			}
		}
		for _, h := range existing {
			if !kept[h.ID] {
				if err := ApplicationHistory.Delete(ctx, tx, org, h.ID); err != nil {
					return err
				}
			}
		}
		for _, it := range items {
			if err := ApplicationHistory.PutChild(ctx, tx, org, app.ID, it); err != nil {
				return err
			}
		}
		if reason != nil {
			app.ArchiveReason, app.ArchivedAt = reason, items[len(items)-1].EnteredStageAt.Ptr()
		}
		app.UpdatedAt = s.now()
		if err := Applications.Put(ctx, tx, org, app); err != nil {
			return err
		}
		if err := emit(ctx, tx, org, "applicationUpdate", map[string]any{"application": app}); err != nil {
			return err
		}
		doc = splice(mustJSON(app), "applicationHistory", mustJSON(items))
		return nil
	})
	if err != nil {
		return rpc.Result[ashby.Application]{}, err
	}
	return rpc.Raw[ashby.Application](doc), nil
}

type applicationDeleteRequest struct {
	ApplicationID ashby.ID `json:"applicationId" required:"true"`
}

// applicationDelete removes an application, its stage history, its offers
// and whatever other categories keep about it, and takes it off its
// candidate. It returns the application as it was. No application event
// is emitted (Ashby has no deletion event for applications); each deleted
// offer is announced with offerDelete, and the candidate's change
// (applicationIds) shows in candidate syncs.
func (s *Service) applicationDelete(ctx context.Context, c *rpc.Call, req *applicationDeleteRequest) (rpc.Result[ashby.Application], error) {
	var app *ashby.Application
	err := s.write(ctx, func(tx *store.Tx) error {
		org := c.Org()
		var err error
		if app, err = Applications.GetForUpdate(ctx, tx, org, string(req.ApplicationID)); err != nil {
			return notFound(err, "application", "Application not found - are you lacking permissions to edit candidates?")
		}
		// What other categories keep about the application goes with it,
		// in the same transaction: schedules, partners' assessment
		// records, take-home assignments.
		for _, f := range []func(ctx context.Context, tx *store.Tx, org, applicationID string) error{
			deleteApplicationInterviews, assessmentsOnApplicationDelete, s.deleteApplicationTakeHomes,
		} {
			if err := f(ctx, tx, org, app.ID); err != nil {
				return err
			}
		}
		if err := s.deleteApplicationOffers(ctx, tx, org, app.ID); err != nil {
			return err
		}
		hist, err := ApplicationHistory.Find(ctx, tx, org, store.Filter{Parent: app.ID, IncludeArchived: true})
		if err != nil {
			return err
		}
		for _, h := range hist {
			if err := ApplicationHistory.Delete(ctx, tx, org, h.ID); err != nil {
				return err
			}
		}
		if err := Applications.Delete(ctx, tx, org, app.ID); err != nil {
			return err
		}
		cand, err := Candidates.GetForUpdate(ctx, tx, org, app.Candidate.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		cand.ApplicationIDs = slices.DeleteFunc(cand.ApplicationIDs, func(id string) bool { return id == app.ID })
		if cand.ApplicationIDs == nil {
			cand.ApplicationIDs = []string{}
		}
		cand.UpdatedAt = s.now()
		return Candidates.Put(ctx, tx, org, cand)
	})
	if err != nil {
		return rpc.Result[ashby.Application]{}, err
	}
	return rpc.Value(app), nil
}
