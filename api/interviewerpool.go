package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// Interviewer pools and their training paths (https://developers.ashbyhq.com/reference/interviewerpoollist; choices in
// docs/interviews.md).

func init() { register((*Service).interviewerPoolEndpoints) }

// InterviewerPools: Search = title; Keys: every user the pool embeds.
var InterviewerPools = store.Kind[ashby.InterviewerPool]{Name: "interviewer_pool", HasKeys: true, Index: func(p *ashby.InterviewerPool) store.Index {
	idx := store.Index{ID: p.ID, Archived: p.IsArchived, Search: lc(p.Title)}
	for _, m := range p.QualifiedMembers {
		idx.Keys = append(idx.Keys, store.Key{Name: "user", Value: m.ID})
	}
	for _, t := range p.Trainees {
		idx.Keys = append(idx.Keys, store.Key{Name: "user", Value: t.ID})
	}
	if p.TrainingPath != nil {
		for _, st := range p.TrainingPath.TrainingStages {
			for _, a := range st.Approvers {
				idx.Keys = append(idx.Keys, store.Key{Name: "user", Value: a.ID})
			}
		}
	}
	return idx
}}

func (s *Service) interviewerPoolEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "interviewerPool.create", Permission: ashby.HiringProcessMetadataWrite, Summary: "Create an interviewer pool; requiresTraining gives it a training path."}, s.poolCreate),
		rpc.Object(rpc.Spec{Name: "interviewerPool.info", Permission: ashby.HiringProcessMetadataRead, Summary: "Fetch an interviewer pool with its qualified members and trainees."}, s.poolInfo),
		rpc.List[ashby.InterviewerPoolSummary](rpc.Spec{Name: "interviewerPool.list", Permission: ashby.HiringProcessMetadataRead, Summary: "List interviewer pools; supports incremental sync."}, s.poolList),
		rpc.Object(rpc.Spec{Name: "interviewerPool.update", Permission: ashby.HiringProcessMetadataWrite, Summary: "Rename a pool or switch its training requirement."}, s.poolUpdate),
		rpc.Object(rpc.Spec{Name: "interviewerPool.archive", Permission: ashby.HiringProcessMetadataWrite, Summary: "Archive an interviewer pool."}, s.poolSetArchived(true)),
		rpc.Object(rpc.Spec{Name: "interviewerPool.restore", Permission: ashby.HiringProcessMetadataWrite, Summary: "Restore an archived interviewer pool."}, s.poolSetArchived(false)),
		rpc.Object(rpc.Spec{Name: "interviewerPool.addUser", Permission: ashby.HiringProcessMetadataWrite, Summary: "Add a user to a pool as a qualified member, or as a trainee at a training stage."}, s.poolAddUser),
		rpc.Object(rpc.Spec{Name: "interviewerPool.removeUser", Permission: ashby.HiringProcessMetadataWrite, Summary: "Remove a user from a pool."}, s.poolRemoveUser),
		rpc.Object(rpc.Spec{Name: "interviewerPool.updateTrainingPath", Permission: ashby.HiringProcessMetadataWrite, Extension: true, Summary: "Set a pool's training stages (Ashby does this in its web app); stages left out are archived."}, s.poolUpdateTrainingPath),
	}
}

// defaultTrainingPath is the path a pool requiring training starts with:
// shadow two interviews, then reverse-shadow two, then a sign-off.
func defaultTrainingPath() *ashby.InterviewerPoolTrainingPath {
	return &ashby.InterviewerPoolTrainingPath{ID: ashby.NewID(), Enabled: true, TrainingStages: []ashby.InterviewerPoolTrainingStage{
		{ID: ashby.NewID(), InterviewerRole: ashby.PoolRoleShadow, InterviewsRequired: 2},
		{ID: ashby.NewID(), InterviewerRole: ashby.PoolRoleReverseShadow, InterviewsRequired: 2, ApprovalRequired: true},
	}}
}

type poolCreateRequest struct {
	Title            string `json:"title" required:"true"`
	RequiresTraining bool   `json:"requiresTraining,omitempty"`
}

func (s *Service) poolCreate(ctx context.Context, c *rpc.Call, req *poolCreateRequest) (rpc.Result[ashby.InterviewerPool], error) {
	p := &ashby.InterviewerPool{InterviewerPoolSummary: ashby.InterviewerPoolSummary{ID: ashby.NewID(), Title: strings.TrimSpace(req.Title)},
		QualifiedMembers: []ashby.InterviewerPoolMember{}, Trainees: []ashby.InterviewerPoolTrainee{}}
	if req.RequiresTraining {
		p.TrainingPath = defaultTrainingPath()
	}
	if err := s.write(ctx, func(tx *store.Tx) error { return InterviewerPools.Put(ctx, tx, c.Org(), p) }); err != nil {
		return rpc.Result[ashby.InterviewerPool]{}, err
	}
	return s.poolResult(ctx, c.Org(), p)
}

// poolResult fills in whether each member is paused now. Pauses start and
// end with the clock, so this is computed when a pool is read rather than
// stored.
func (s *Service) poolResult(ctx context.Context, org string, p *ashby.InterviewerPool) (rpc.Result[ashby.InterviewerPool], error) {
	paused, err := s.pausedUsers(ctx, s.DB, org)
	if err != nil {
		return rpc.Result[ashby.InterviewerPool]{}, err
	}
	out := *p
	out.QualifiedMembers = slices.Clone(p.QualifiedMembers)
	out.Trainees = slices.Clone(p.Trainees)
	for i := range out.QualifiedMembers {
		out.QualifiedMembers[i].IsPaused = paused[out.QualifiedMembers[i].ID]
	}
	for i := range out.Trainees {
		out.Trainees[i].IsPaused = paused[out.Trainees[i].ID]
	}
	return rpc.Value(&out), nil
}

type poolIDRequest struct {
	InterviewerPoolID ashby.ID `json:"interviewerPoolId" required:"true"`
}

func (s *Service) poolInfo(ctx context.Context, c *rpc.Call, req *poolIDRequest) (rpc.Result[ashby.InterviewerPool], error) {
	p, err := InterviewerPools.Get(ctx, s.DB, c.Org(), string(req.InterviewerPoolID))
	if err != nil {
		return rpc.Result[ashby.InterviewerPool]{}, notFound(err, "interviewer_pool", "Interviewer pool not found")
	}
	return s.poolResult(ctx, c.Org(), p)
}

type poolListRequest struct {
	rpc.SyncParams
	IncludeArchivedPools          bool `json:"includeArchivedPools,omitempty"`
	IncludeArchivedTrainingStages bool `json:"includeArchivedTrainingStages,omitempty"`
}

func (s *Service) poolList(ctx context.Context, c *rpc.Call, req *poolListRequest) (*rpc.Page, error) {
	spec := listSpec(c, InterviewerPools.Name, req.SyncParams)
	spec.Filter.IncludeArchived = req.IncludeArchivedPools
	p, err := s.DB.List(ctx, spec)
	if err != nil {
		return nil, err
	}
	// The list shows pools without members, and training stages that
	// are archived only when asked.
	for i, d := range p.Docs {
		var sum ashby.InterviewerPoolSummary
		if err := json.Unmarshal(d, &sum); err != nil {
			return nil, fmt.Errorf("decode stored interviewer pool: %w", err)
		}
		if sum.TrainingPath != nil && !req.IncludeArchivedTrainingStages {
			tp := *sum.TrainingPath
			tp.TrainingStages = slices.DeleteFunc(slices.Clone(tp.TrainingStages), func(st ashby.InterviewerPoolTrainingStage) bool { return st.IsArchived })
			sum.TrainingPath = &tp
		}
		p.Docs[i] = mustJSON(sum)
	}
	return page(p), nil
}

type poolUpdateRequest struct {
	InterviewerPoolID ashby.ID `json:"interviewerPoolId" required:"true"`
	Title             string   `json:"title,omitempty"`
	RequiresTraining  *bool    `json:"requiresTraining,omitempty" doc:"true enables the training path (creating one if needed); false disables it, keeping its stages."`
}

func (s *Service) poolUpdate(ctx context.Context, c *rpc.Call, req *poolUpdateRequest) (rpc.Result[ashby.InterviewerPool], error) {
	return s.updatePool(ctx, c.Org(), string(req.InterviewerPoolID), func(tx *store.Tx, p *ashby.InterviewerPool) error {
		if t := strings.TrimSpace(req.Title); t != "" {
			p.Title = t
		}
		if req.RequiresTraining != nil {
			switch {
			case *req.RequiresTraining && p.TrainingPath == nil:
				p.TrainingPath = defaultTrainingPath()
			case p.TrainingPath != nil:
				p.TrainingPath.Enabled = *req.RequiresTraining
			}
		}
		return nil
	})
}

func (s *Service) poolSetArchived(archive bool) func(context.Context, *rpc.Call, *poolIDRequest) (rpc.Result[ashby.InterviewerPool], error) {
	return func(ctx context.Context, c *rpc.Call, req *poolIDRequest) (rpc.Result[ashby.InterviewerPool], error) {
		return s.updatePool(ctx, c.Org(), string(req.InterviewerPoolID), func(tx *store.Tx, p *ashby.InterviewerPool) error {
			p.IsArchived = archive
			return nil
		})
	}
}

// updatePool applies fn to a pool and stores it if it changed.
func (s *Service) updatePool(ctx context.Context, org, id string, fn func(tx *store.Tx, p *ashby.InterviewerPool) error) (rpc.Result[ashby.InterviewerPool], error) {
	var p *ashby.InterviewerPool
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		p, err = InterviewerPools.GetForUpdate(ctx, tx, org, id)
		if err != nil {
			return notFound(err, "interviewer_pool", "Interviewer pool not found")
		}
		before := string(mustJSON(p))
		if err := fn(tx, p); err != nil {
			return err
		}
		if string(mustJSON(p)) == before {
			return nil
		}
		return InterviewerPools.Put(ctx, tx, org, p)
	})
	if err != nil {
		return rpc.Result[ashby.InterviewerPool]{}, err
	}
	return s.poolResult(ctx, org, p)
}

type poolAddUserRequest struct {
	InterviewerPoolID                  ashby.ID `json:"interviewerPoolId" required:"true"`
	UserID                             ashby.ID `json:"userId" required:"true"`
	InterviewerPoolTrainingPathStageID ashby.ID `json:"interviewerPoolTrainingPathStageId,omitempty" doc:"Add the user as a trainee at this training stage; omit to add a qualified member (a trainee is then qualified)."`
}

func (s *Service) poolAddUser(ctx context.Context, c *rpc.Call, req *poolAddUserRequest) (rpc.Result[ashby.InterviewerPool], error) {
	return s.updatePool(ctx, c.Org(), string(req.InterviewerPoolID), func(tx *store.Tx, p *ashby.InterviewerPool) error {
		if p.IsArchived {
			return ashby.Errorf("interviewer_pool_archived", "Interviewer pool %s is archived", p.ID)
		}
		u, err := mustShare(ctx, tx, Users, c.Org(), string(req.UserID), "user", "userId")
		if err != nil {
			return err
		}
		if !u.IsEnabled {
			return ashby.InvalidInput("userId", "User %s is deactivated", u.ID)
		}
		stageID := string(req.InterviewerPoolTrainingPathStageID)
		if stageID == "" {
			removeFromPool(p, u.ID)
			p.QualifiedMembers = append(p.QualifiedMembers, ashby.InterviewerPoolMember{User: *u})
			return nil
		}
		if p.TrainingPath == nil || !p.TrainingPath.Enabled {
			return ashby.InvalidInput("interviewerPoolTrainingPathStageId", "Interviewer pool %s does not require training", p.ID)
		}
		at := slices.IndexFunc(p.TrainingPath.TrainingStages, func(st ashby.InterviewerPoolTrainingStage) bool { return st.ID == stageID })
		if at < 0 || p.TrainingPath.TrainingStages[at].IsArchived {
			return ashby.Errorf("interviewer_pool_training_stage_not_found", "Training stage %s is not an active stage of pool %s's training path (field interviewerPoolTrainingPathStageId)", stageID, p.ID)
		}
		removeFromPool(p, u.ID)
		p.Trainees = append(p.Trainees, ashby.InterviewerPoolTrainee{User: *u, CurrentProgress: ashby.TraineeProgress{
			TrainingPathID: p.TrainingPath.ID, TrainingPathStageID: stageID}})
		return nil
	})
}

func removeFromPool(p *ashby.InterviewerPool, userID string) {
	p.QualifiedMembers = slices.DeleteFunc(p.QualifiedMembers, func(m ashby.InterviewerPoolMember) bool { return m.ID == userID })
	p.Trainees = slices.DeleteFunc(p.Trainees, func(t ashby.InterviewerPoolTrainee) bool { return t.ID == userID })
}

type poolRemoveUserRequest struct {
	InterviewerPoolID ashby.ID `json:"interviewerPoolId" required:"true"`
	UserID            ashby.ID `json:"userId" required:"true"`
}

// poolRemoveUser is idempotent: removing someone who is not in the pool
// leaves it as it is, so that a retried call succeeds.
func (s *Service) poolRemoveUser(ctx context.Context, c *rpc.Call, req *poolRemoveUserRequest) (rpc.Result[ashby.InterviewerPool], error) {
	return s.updatePool(ctx, c.Org(), string(req.InterviewerPoolID), func(tx *store.Tx, p *ashby.InterviewerPool) error {
		if _, err := mustShare(ctx, tx, Users, c.Org(), string(req.UserID), "user", "userId"); err != nil {
			return err
		}
		removeFromPool(p, string(req.UserID))
		return nil
	})
}

type trainingStageInput struct {
	ID                 ashby.ID   `json:"id,omitempty" doc:"An existing stage to keep (and update); omit for a new stage."`
	InterviewerRole    string     `json:"interviewerRole" required:"true" enum:"Shadow,ReverseShadow"`
	InterviewsRequired *int       `json:"interviewsRequired" required:"true"`
	ApprovalRequired   bool       `json:"approvalRequired,omitempty"`
	ApproverUserIDs    []ashby.ID `json:"approverUserIds,omitempty"`
}

type poolTrainingPathRequest struct {
	InterviewerPoolID ashby.ID             `json:"interviewerPoolId" required:"true"`
	TrainingStages    []trainingStageInput `json:"trainingStages" required:"true"`
}

func (s *Service) poolUpdateTrainingPath(ctx context.Context, c *rpc.Call, req *poolTrainingPathRequest) (rpc.Result[ashby.InterviewerPool], error) {
	if len(req.TrainingStages) == 0 {
		return rpc.Result[ashby.InterviewerPool]{}, ashby.InvalidInput("trainingStages", "A training path needs at least one stage; use interviewerPool.update with requiresTraining: false to stop training")
	}
	return s.updatePool(ctx, c.Org(), string(req.InterviewerPoolID), func(tx *store.Tx, p *ashby.InterviewerPool) error {
		if p.TrainingPath == nil {
			p.TrainingPath = &ashby.InterviewerPoolTrainingPath{ID: ashby.NewID(), TrainingStages: []ashby.InterviewerPoolTrainingStage{}}
		}
		p.TrainingPath.Enabled = true
		old := p.TrainingPath.TrainingStages
		var stages []ashby.InterviewerPoolTrainingStage
		kept := map[string]bool{}
		for i, in := range req.TrainingStages {
			field := fmt.Sprintf("trainingStages[%d]", i)
			if *in.InterviewsRequired < 1 || *in.InterviewsRequired > 100 {
				return ashby.InvalidInput(field+".interviewsRequired", "interviewsRequired must be between 1 and 100")
			}
			st := ashby.InterviewerPoolTrainingStage{ID: ashby.NewID()}
			if in.ID != "" {
				at := slices.IndexFunc(old, func(o ashby.InterviewerPoolTrainingStage) bool { return o.ID == string(in.ID) })
				if at < 0 || kept[string(in.ID)] {
					return ashby.Errorf("interviewer_pool_training_stage_not_found", "Training stage %s is not a stage of this pool (field %s.id)", in.ID, field)
				}
				st.ID = old[at].ID
				kept[st.ID] = true
			}
			st.InterviewerRole, st.InterviewsRequired, st.ApprovalRequired = in.InterviewerRole, *in.InterviewsRequired, in.ApprovalRequired
			for j, uid := range in.ApproverUserIDs {
				u, err := mustShare(ctx, tx, Users, c.Org(), string(uid), "user", fmt.Sprintf("%s.approverUserIds[%d]", field, j))
				if err != nil {
					return err
				}
				st.Approvers = append(st.Approvers, *u)
			}
			stages = append(stages, st)
		}
		// Stages left out are archived, not deleted: trainees' history
		// refers to them. A stage someone is training at must stay.
		for _, o := range old {
			if kept[o.ID] {
				continue
			}
			for _, t := range p.Trainees {
				if t.CurrentProgress.TrainingPathStageID == o.ID {
					return ashby.InvalidInput("trainingStages", "Trainee %s is at training stage %s; keep that stage (by id) or move them first", t.ID, o.ID)
				}
			}
			o.IsArchived = true
			stages = append(stages, o)
		}
		p.TrainingPath.TrainingStages = stages
		return nil
	})
}

// poolSeat checks that a user interviews for a pool and returns the pool
// as embedded in events and the user's training role (nil when qualified).
func poolSeat(ctx context.Context, q store.Q, org, poolID, userID, field string) (*ashby.InterviewerPoolSummary, *string, error) {
	p, err := mustExist(ctx, q, InterviewerPools, org, poolID, "interviewer_pool", field)
	if err != nil {
		return nil, nil, err
	}
	if p.IsArchived {
		return nil, nil, ashby.InvalidInput(field, "Interviewer pool %s is archived", p.ID)
	}
	sum := p.InterviewerPoolSummary
	if slices.ContainsFunc(p.QualifiedMembers, func(m ashby.InterviewerPoolMember) bool { return m.ID == userID }) {
		return &sum, nil, nil
	}
	for _, t := range p.Trainees {
		if t.ID != userID || p.TrainingPath == nil {
			continue
		}
		for _, st := range p.TrainingPath.TrainingStages {
			if st.ID == t.CurrentProgress.TrainingPathStageID {
				role := ashby.TrainingRoleShadow
				if st.InterviewerRole == ashby.PoolRoleReverseShadow {
					role = ashby.TrainingRoleReverseShadow
				}
				return &sum, &role, nil
			}
		}
	}
	return nil, nil, ashby.InvalidInput(field, "User %s is not a member of interviewer pool %s", userID, p.ID)
}

// recordTraineeInterview counts an interview a trainee has given feedback
// on. A trainee who has done the stage's interviews moves to the next
// active stage, or becomes a qualified member after the last; a stage that
// needs approval holds them until someone qualifies them with
// interviewerPool.addUser.
func (s *Service) recordTraineeInterview(ctx context.Context, tx *store.Tx, org, poolID, userID string) error {
	p, err := InterviewerPools.GetForUpdate(ctx, tx, org, poolID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // the pool is gone; there is no progress to record
	}
	if err != nil {
		return err
	}
	at := slices.IndexFunc(p.Trainees, func(t ashby.InterviewerPoolTrainee) bool { return t.ID == userID })
	if at < 0 || p.TrainingPath == nil {
		return nil // qualified or removed since the interview was scheduled
	}
	t := &p.Trainees[at]
	t.CurrentProgress.InterviewsCompleted++
	stages := p.TrainingPath.TrainingStages
	cur := slices.IndexFunc(stages, func(st ashby.InterviewerPoolTrainingStage) bool {
		return st.ID == t.CurrentProgress.TrainingPathStageID
	})
	if cur >= 0 && t.CurrentProgress.InterviewsCompleted >= stages[cur].InterviewsRequired && !stages[cur].ApprovalRequired {
		next := -1
		for i := cur + 1; i < len(stages); i++ {
			if !stages[i].IsArchived {
				next = i
				break
			}
		}
		if next < 0 {
			u := t.User
			p.Trainees = slices.Delete(p.Trainees, at, at+1)
			p.QualifiedMembers = append(p.QualifiedMembers, ashby.InterviewerPoolMember{User: u})
		} else {
			t.CurrentProgress.TrainingPathStageID = stages[next].ID
			t.CurrentProgress.InterviewsCompleted = 0
		}
	}
	return InterviewerPools.Put(ctx, tx, org, p)
}
