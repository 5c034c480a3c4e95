package api

import (
	"context"
	"sort"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

func init() { register((*Service).interviewPlanEndpoints) }

func (s *Service) interviewPlanEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.List[ashby.InterviewPlan](rpc.Spec{Name: "interviewPlan.list", Permission: ashby.InterviewsRead, Summary: "List interview plans."}, s.interviewPlanList),
		rpc.Object(rpc.Spec{Name: "interviewPlan.create", Permission: ashby.InterviewsWrite, Extension: true, Summary: "Create an interview plan with its stages (Ashby does this in its web app)."}, s.interviewPlanCreate),
		rpc.List[ashby.InterviewStage](rpc.Spec{Name: "interviewStage.list", Permission: ashby.InterviewsRead, Summary: "List a plan's stages in order."}, s.interviewStageList),
		rpc.Object(rpc.Spec{Name: "interviewStage.info", Permission: ashby.InterviewsRead, Summary: "Fetch an interview stage."}, s.interviewStageInfo),
		rpc.Object(rpc.Spec{Name: "interviewStage.create", Permission: ashby.InterviewsWrite, Extension: true, Summary: "Add a stage to a plan at a position (Ashby does this in its web app)."}, s.interviewStageCreate),
		rpc.Object(rpc.Spec{Name: "interviewStage.update", Permission: ashby.InterviewsWrite, Extension: true, Summary: "Rename a stage."}, s.interviewStageUpdate),
		rpc.Array[ashby.InterviewStageGroup](rpc.Spec{Name: "interviewStageGroup.list", Permission: ashby.InterviewsRead, Summary: "List interview stage groups."}, s.interviewStageGroupList),
		rpc.Object(rpc.Spec{Name: "jobInterviewPlan.info", Permission: ashby.JobsRead, Summary: "A job's interview plan with stages and activities."}, s.jobInterviewPlanInfo),
	}
}

func (s *Service) interviewPlanList(ctx context.Context, c *rpc.Call, req *includeArchivedListRequest) (*rpc.Page, error) {
	spec := listSpec(c, InterviewPlans.Name, req.SyncParams)
	spec.Filter.IncludeArchived = req.IncludeArchived
	return s.listPage(ctx, spec)
}

type planStageSpec struct {
	Title string `json:"title" required:"true"`
	Type  string `json:"type" required:"true" enum:"Lead,PreInterviewScreen,Active,Offer,Hired,Archived"`
}

type interviewPlanCreateRequest struct {
	Title  string          `json:"title" required:"true"`
	Stages []planStageSpec `json:"stages,omitempty" doc:"Stages in order. Default: the stages of the default plan. Every plan needs a Hired and an Archived stage."`
}

func (s *Service) interviewPlanCreate(ctx context.Context, c *rpc.Call, req *interviewPlanCreateRequest) (rpc.Result[ashby.InterviewPlan], error) {
	stages := req.Stages
	if len(stages) == 0 {
		for _, d := range DefaultStages {
			stages = append(stages, planStageSpec{Title: d.Title, Type: d.Type})
		}
	}
	has := map[string]bool{}
	for _, st := range stages {
		has[st.Type] = true
	}
	if !has[ashby.StageHired] || !has[ashby.StageArchived] {
		return rpc.Result[ashby.InterviewPlan]{}, ashby.InvalidInput("stages", "An interview plan needs a Hired stage and an Archived stage")
	}
	now := s.now()
	plan := &ashby.InterviewPlan{ID: ashby.NewID(), Title: req.Title, CreatedAt: now, UpdatedAt: now}
	err := s.write(ctx, func(tx *store.Tx) error {
		groups, err := s.stageGroups(ctx, tx, c.Org())
		if err != nil {
			return err
		}
		if err := InterviewPlans.Put(ctx, tx, c.Org(), plan); err != nil {
			return err
		}
		for i, st := range stages {
			stage := &ashby.InterviewStage{ID: ashby.NewID(), Title: st.Title, Type: st.Type, OrderInInterviewPlan: i,
				InterviewStageGroupID: groups[st.Type], InterviewPlanID: plan.ID}
			if err := InterviewStages.Put(ctx, tx, c.Org(), stage); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return rpc.Result[ashby.InterviewPlan]{}, err
	}
	return rpc.Value(plan), nil
}

func (s *Service) stageGroups(ctx context.Context, q store.Q, org string) (map[string]string, error) {
	gs, err := InterviewStageGroups.Find(ctx, q, org, store.Filter{})
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, g := range gs {
		m[g.StageType] = g.ID
	}
	return m, nil
}

// planStages returns a plan's stages in plan order.
func (s *Service) planStages(ctx context.Context, q store.Q, org, planID string) ([]*ashby.InterviewStage, error) {
	stages, err := InterviewStages.Find(ctx, q, org, store.Filter{Parent: planID})
	if err != nil {
		return nil, err
	}
	sortStages(stages)
	return stages, nil
}

func sortStages(stages []*ashby.InterviewStage) {
	sort.SliceStable(stages, func(i, j int) bool { return stages[i].OrderInInterviewPlan < stages[j].OrderInInterviewPlan })
}

type interviewStageListRequest struct {
	InterviewPlanID ashby.ID `json:"interviewPlanId" required:"true"`
}

func (s *Service) interviewStageList(ctx context.Context, c *rpc.Call, req *interviewStageListRequest) (*rpc.Page, error) {
	if _, err := mustExist(ctx, s.DB, InterviewPlans, c.Org(), string(req.InterviewPlanID), "interview_plan", "interviewPlanId"); err != nil {
		return nil, err
	}
	stages, err := s.planStages(ctx, s.DB, c.Org(), string(req.InterviewPlanID))
	if err != nil {
		return nil, err
	}
	return items(stages), nil
}

type interviewStageIDRequest struct {
	InterviewStageID ashby.ID `json:"interviewStageId" required:"true"`
}

func (s *Service) interviewStageInfo(ctx context.Context, c *rpc.Call, req *interviewStageIDRequest) (rpc.Result[ashby.InterviewStage], error) {
	doc, err := InterviewStages.GetRaw(ctx, s.DB, c.Org(), string(req.InterviewStageID))
	if err != nil {
		return rpc.Result[ashby.InterviewStage]{}, notFound(err, "interview_stage", "Interview stage not found")
	}
	return rpc.Raw[ashby.InterviewStage](doc), nil
}

type interviewStageCreateRequest struct {
	InterviewPlanID ashby.ID `json:"interviewPlanId" required:"true"`
	Title           string   `json:"title" required:"true"`
	Type            string   `json:"type" required:"true" enum:"Lead,PreInterviewScreen,Active,Offer,Hired,Archived"`
	Order           *int     `json:"orderInInterviewPlan,omitempty" doc:"Position; later stages move down. Default: before the Hired stage."`
}

func (s *Service) interviewStageCreate(ctx context.Context, c *rpc.Call, req *interviewStageCreateRequest) (rpc.Result[ashby.InterviewStage], error) {
	var stage *ashby.InterviewStage
	err := s.write(ctx, func(tx *store.Tx) error {
		if _, err := mustExist(ctx, tx, InterviewPlans, c.Org(), string(req.InterviewPlanID), "interview_plan", "interviewPlanId"); err != nil {
			return err
		}
		// The stages after the new one move down: lock them all.
		stages, err := InterviewStages.FindForUpdate(ctx, tx, c.Org(), store.Filter{Parent: string(req.InterviewPlanID)})
		if err != nil {
			return err
		}
		sortStages(stages)
		pos := len(stages)
		for i, st := range stages {
			if st.Type == ashby.StageHired || st.Type == ashby.StageArchived {
				pos = i
				break
			}
		}
		if req.Order != nil {
			if *req.Order < 0 || *req.Order > len(stages) {
				return ashby.InvalidInput("orderInInterviewPlan", "orderInInterviewPlan must be between 0 and %d", len(stages))
			}
			pos = *req.Order
		}
		groups, err := s.stageGroups(ctx, tx, c.Org())
		if err != nil {
			return err
		}
		stage = &ashby.InterviewStage{ID: ashby.NewID(), Title: req.Title, Type: req.Type, OrderInInterviewPlan: pos,
			InterviewStageGroupID: groups[req.Type], InterviewPlanID: string(req.InterviewPlanID)}
		for _, st := range stages[pos:] {
			st.OrderInInterviewPlan++
			if err := s.putStage(ctx, tx, c.Org(), st); err != nil {
				return err
			}
		}
		return InterviewStages.Put(ctx, tx, c.Org(), stage)
	})
	if err != nil {
		return rpc.Result[ashby.InterviewStage]{}, err
	}
	return rpc.Value(stage), nil
}

type interviewStageUpdateRequest struct {
	InterviewStageID ashby.ID `json:"interviewStageId" required:"true"`
	Title            string   `json:"title" required:"true"`
}

func (s *Service) interviewStageUpdate(ctx context.Context, c *rpc.Call, req *interviewStageUpdateRequest) (rpc.Result[ashby.InterviewStage], error) {
	var stage *ashby.InterviewStage
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		stage, err = InterviewStages.GetForUpdate(ctx, tx, c.Org(), string(req.InterviewStageID))
		if err != nil {
			return notFound(err, "interview_stage", "Interview stage not found")
		}
		stage.Title = req.Title
		return s.putStage(ctx, tx, c.Org(), stage)
	})
	if err != nil {
		return rpc.Result[ashby.InterviewStage]{}, err
	}
	return rpc.Value(stage), nil
}

// putStage stores a stage and rewrites the applications currently in it,
// which embed the stage.
func (s *Service) putStage(ctx context.Context, tx *store.Tx, org string, st *ashby.InterviewStage) error {
	if err := InterviewStages.Put(ctx, tx, org, st); err != nil {
		return err
	}
	_, err := Applications.RewriteByKey(ctx, tx, org, "stage", st.ID, func(a *ashby.Application) error {
		a.CurrentInterviewStage = *st
		return nil
	})
	return err
}

func (s *Service) interviewStageGroupList(ctx context.Context, c *rpc.Call, _ *emptyRequest) (*rpc.Page, error) {
	gs, err := InterviewStageGroups.Find(ctx, s.DB, c.Org(), store.Filter{})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(gs, func(i, j int) bool { return gs[i].Order < gs[j].Order })
	return items(gs), nil
}

type jobIDRequest struct {
	JobID ashby.ID `json:"jobId" required:"true"`
}

func (s *Service) jobInterviewPlanInfo(ctx context.Context, c *rpc.Call, req *jobIDRequest) (rpc.Result[ashby.JobInterviewPlan], error) {
	job, err := Jobs.Get(ctx, s.DB, c.Org(), string(req.JobID))
	if err != nil {
		return rpc.Result[ashby.JobInterviewPlan]{}, notFound(err, "job", "Job not found")
	}
	if job.DefaultInterviewPlanID == "" {
		return rpc.Result[ashby.JobInterviewPlan]{}, ashby.Errorf("interview_plan_not_found", "Job %s has no interview plan", job.ID)
	}
	stages, err := s.planStages(ctx, s.DB, c.Org(), job.DefaultInterviewPlanID)
	if err != nil {
		return rpc.Result[ashby.JobInterviewPlan]{}, err
	}
	out := &ashby.JobInterviewPlan{JobID: job.ID, InterviewPlanID: job.DefaultInterviewPlanID, Stages: []ashby.JobInterviewStage{}}
	for _, st := range stages {
		js := ashby.JobInterviewStage{InterviewStage: *st, Activities: []ashby.StageActivity{}}
		acts, err := stageActivities(ctx, s.DB, c.Org(), job.ID, st)
		if err != nil {
			return rpc.Result[ashby.JobInterviewPlan]{}, err
		}
		if acts != nil {
			js.Activities = acts
		}
		out.Stages = append(out.Stages, js)
	}
	return rpc.Value(out), nil
}
