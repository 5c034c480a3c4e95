package api

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

func init() {
	register((*Service).jobEndpoints)
	AddExpansion("job", "location", expandByID(Locations, "locationId"))
}

func (s *Service) jobEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "job.create", Permission: ashby.JobsWrite, Summary: "Create a job (in Draft)."}, s.jobCreate),
		rpc.Object(rpc.Spec{Name: "job.info", Permission: ashby.JobsRead, Summary: "Fetch a job.", Expand: ExpansionNames("job")}, s.jobInfo),
		rpc.List[ashby.Job](rpc.Spec{Name: "job.list", Permission: ashby.JobsRead, Summary: "List jobs (Open, Closed and Archived by default).", Expand: ExpansionNames("job")}, s.jobList),
		rpc.Array[ashby.Job](rpc.Spec{Name: "job.search", Permission: ashby.JobsRead, Summary: "Search jobs by title or requisition id."}, s.jobSearch),
		rpc.Object(rpc.Spec{Name: "job.update", Permission: ashby.JobsWrite, Summary: "Update a job."}, s.jobUpdate),
		rpc.Object(rpc.Spec{Name: "job.setStatus", Permission: ashby.JobsWrite, Summary: "Change a job's status (Draft, Open, Closed, Archived)."}, s.jobSetStatus),
	}
}

// Expansions: object type → expand value → how to compute it. Categories
// add theirs with AddExpansion from init, so that "expand" is one
// mechanism for every endpoint.
var expansions = map[string]map[string]expander{}

// AddExpansion registers an expansion of an object type.
func AddExpansion(objectType, name string, x expander) {
	if expansions[objectType] == nil {
		expansions[objectType] = map[string]expander{}
	}
	expansions[objectType][name] = x
}

// ExpansionNames lists the expansions registered for an object type. Call
// it when building the endpoint table (after every init has run).
func ExpansionNames(objectType string) []string {
	var out []string
	for n := range expansions[objectType] {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// expandByID expands a document's id field into the referenced record.
func expandByID[T any](k store.Kind[T], idField string) expander {
	return func(ctx context.Context, s *Service, org string, docs [][]byte) ([][]byte, error) {
		ids := field(docs, idField)
		found, err := k.GetManyRaw(ctx, s.DB, org, ids)
		if err != nil {
			return nil, err
		}
		out := make([][]byte, len(docs))
		for i, id := range ids {
			out[i] = found[id] // nil leaves the document unexpanded
		}
		return out, nil
	}
}

type createJobRequest struct {
	Title                  string   `json:"title" required:"true"`
	TeamID                 ashby.ID `json:"teamId" required:"true" doc:"The department."`
	LocationID             ashby.ID `json:"locationId" required:"true"`
	DefaultInterviewPlanID ashby.ID `json:"defaultInterviewPlanId,omitempty"`
	JobTemplateID          ashby.ID `json:"jobTemplateId,omitempty"`
	BrandID                ashby.ID `json:"brandId,omitempty"`
	EmploymentType         string   `json:"employmentType,omitempty" enum:"FullTime,PartTime,Intern,Contract,Temporary"`
}

func (s *Service) jobCreate(ctx context.Context, c *rpc.Call, req *createJobRequest) (rpc.Result[ashby.Job], error) {
	now := s.now()
	job := &ashby.Job{ID: ashby.NewID(), Title: req.Title, Status: ashby.JobDraft, EmploymentType: req.EmploymentType,
		LocationID: string(req.LocationID), DepartmentID: string(req.TeamID), DefaultInterviewPlanID: string(req.DefaultInterviewPlanID),
		BrandID: string(req.BrandID), InterviewPlanIDs: []string{}, CustomFields: []ashby.CustomFieldValue{}, JobPostingIDs: []string{},
		HiringTeam: []ashby.HiringTeamMember{}, CreatedAt: now, UpdatedAt: now}
	if job.EmploymentType == "" {
		job.EmploymentType = "FullTime"
	}
	err := s.write(ctx, func(tx *store.Tx) error {
		if req.JobTemplateID != "" {
			if err := applyJobTemplate(ctx, tx, c.Org(), string(req.JobTemplateID), job); err != nil {
				return err
			}
		}
		if err := s.checkJobRefs(ctx, tx, c.Org(), job); err != nil {
			return err
		}
		// A template may bring several plans; the default is always one of them.
		if job.DefaultInterviewPlanID != "" && !slices.Contains(job.InterviewPlanIDs, job.DefaultInterviewPlanID) {
			job.InterviewPlanIDs = append(job.InterviewPlanIDs, job.DefaultInterviewPlanID)
		}
		author, err := s.actingUser(ctx, tx, c)
		if err != nil {
			return err
		}
		job.Author = author
		if err := Jobs.Put(ctx, tx, c.Org(), job); err != nil {
			return err
		}
		return emit(ctx, tx, c.Org(), "jobCreate", map[string]any{"job": job})
	})
	if err != nil {
		return rpc.Result[ashby.Job]{}, err
	}
	return rpc.Value(job), nil
}

// checkJobRefs checks that a job's department, location, plan and brand exist.
func (s *Service) checkJobRefs(ctx context.Context, q store.Q, org string, job *ashby.Job) error {
	if _, err := mustExist(ctx, q, Departments, org, job.DepartmentID, "department", "teamId"); err != nil {
		return err
	}
	if _, err := mustExist(ctx, q, Locations, org, job.LocationID, "location", "locationId"); err != nil {
		return err
	}
	if job.DefaultInterviewPlanID != "" {
		if _, err := mustExist(ctx, q, InterviewPlans, org, job.DefaultInterviewPlanID, "interview_plan", "defaultInterviewPlanId"); err != nil {
			return err
		}
	}
	if job.BrandID != "" {
		ok, err := Brands.Exists(ctx, q, org, job.BrandID)
		if err != nil {
			return err
		}
		if !ok {
			return ashby.Errorf("brand_not_found", "brand %s does not exist (field brandId)", job.BrandID)
		}
	}
	return nil
}

type jobInfoRequest struct {
	ID                               ashby.ID `json:"id" required:"true"`
	IncludeUnpublishedJobPostingsIDs bool     `json:"includeUnpublishedJobPostingsIds,omitempty"`
	rpc.ExpandParam
}

func (s *Service) jobInfo(ctx context.Context, c *rpc.Call, req *jobInfoRequest) (rpc.Result[ashby.Job], error) {
	doc, err := Jobs.GetRaw(ctx, s.DB, c.Org(), string(req.ID))
	if err != nil {
		return rpc.Result[ashby.Job]{}, notFound(err, "job", "Job not found")
	}
	docs := [][]byte{doc}
	if err := s.jobDocs(ctx, c.Org(), docs, req.IncludeUnpublishedJobPostingsIDs, req.Expand); err != nil {
		return rpc.Result[ashby.Job]{}, err
	}
	return rpc.Raw[ashby.Job](docs[0]), nil
}

func (s *Service) jobDocs(ctx context.Context, org string, docs [][]byte, includeUnpublished bool, exp []string) error {
	// Unpublished postings leave jobs' jobPostingIds unless asked for.
	if !includeUnpublished {
		if err := filterJobPostingIDs(ctx, s.DB, org, docs); err != nil {
			return err
		}
	}
	return s.expand(ctx, org, docs, exp, "job")
}

type jobListRequest struct {
	rpc.SyncParams
	rpc.ExpandParam
	CreatedAfter                     int64                   `json:"createdAfter,omitempty" doc:"Epoch milliseconds."`
	Status                           ashby.OneOrMany[string] `json:"status,omitempty" enum:"Draft,Open,Closed,Archived"`
	OpenedAfter                      int64                   `json:"openedAfter,omitempty"`
	OpenedBefore                     int64                   `json:"openedBefore,omitempty"`
	ClosedAfter                      int64                   `json:"closedAfter,omitempty"`
	ClosedBefore                     int64                   `json:"closedBefore,omitempty"`
	IncludeUnpublishedJobPostingsIDs bool                    `json:"includeUnpublishedJobPostingsIds,omitempty"`
}

func (s *Service) jobList(ctx context.Context, c *rpc.Call, req *jobListRequest) (*rpc.Page, error) {
	spec := listSpec(c, Jobs.Name, req.SyncParams)
	spec.Filter.IncludeArchived = true
	spec.CreatedAfter = req.CreatedAfter
	spec.Filter.State = req.Status
	if len(spec.Filter.State) == 0 {
		spec.Filter.State = []string{ashby.JobOpen, ashby.JobClosed, ashby.JobArchived}
	}
	for _, r := range []struct {
		v   int64
		sql string
	}{{req.OpenedAfter, "t1 > ?"}, {req.OpenedBefore, "t1 < ?"}, {req.ClosedAfter, "t2 > ?"}, {req.ClosedBefore, "t2 < ?"}} {
		if r.v > 0 {
			spec.FullConds = append(spec.FullConds, store.Cond{SQL: r.sql, Args: []any{r.v}})
		}
	}
	p, err := s.DB.List(ctx, spec)
	if err != nil {
		return nil, err
	}
	if err := s.jobDocs(ctx, c.Org(), p.Docs, req.IncludeUnpublishedJobPostingsIDs, req.Expand); err != nil {
		return nil, err
	}
	return page(p), nil
}

type jobSearchRequest struct {
	Title         string `json:"title,omitempty"`
	RequisitionID string `json:"requisitionId,omitempty"`
}

func (s *Service) jobSearch(ctx context.Context, c *rpc.Call, req *jobSearchRequest) (*rpc.Page, error) {
	if req.Title == "" && req.RequisitionID == "" {
		return nil, ashby.InvalidInput("title", "Give title or requisitionId")
	}
	var jobs []*ashby.Job
	var err error
	if req.RequisitionID != "" {
		jobs, err = Jobs.ByKey(ctx, s.DB, c.Org(), "requisition", lc(req.RequisitionID), 100)
	} else {
		jobs, err = Jobs.Find(ctx, s.DB, c.Org(), store.Filter{SearchContains: lc(req.Title), IncludeArchived: true, Limit: 100})
	}
	if err != nil {
		return nil, err
	}
	var out []*ashby.Job
	for _, j := range jobs {
		if req.Title == "" || contains(j.Title, req.Title) {
			out = append(out, j)
		}
	}
	return items(out), nil
}

type jobUpdateRequest struct {
	JobID                  ashby.ID `json:"jobId" required:"true"`
	Title                  string   `json:"title,omitempty"`
	TeamID                 ashby.ID `json:"teamId,omitempty"`
	LocationID             ashby.ID `json:"locationId,omitempty"`
	DefaultInterviewPlanID ashby.ID `json:"defaultInterviewPlanId,omitempty"`
	CustomRequisitionID    *string  `json:"customRequisitionId,omitempty"`
	EmploymentType         string   `json:"employmentType,omitempty" enum:"FullTime,PartTime,Intern,Contract,Temporary"`
}

func (s *Service) jobUpdate(ctx context.Context, c *rpc.Call, req *jobUpdateRequest) (rpc.Result[ashby.Job], error) {
	return s.UpdateJob(ctx, c.Org(), string(req.JobID), func(tx *store.Tx, job *ashby.Job) error {
		if req.Title != "" {
			job.Title = req.Title
		}
		if req.TeamID != "" {
			job.DepartmentID = string(req.TeamID)
		}
		if req.LocationID != "" {
			job.LocationID = string(req.LocationID)
		}
		if req.CustomRequisitionID != nil {
			job.CustomRequisitionID = *req.CustomRequisitionID
		}
		if req.EmploymentType != "" {
			job.EmploymentType = req.EmploymentType
		}
		if req.DefaultInterviewPlanID != "" && string(req.DefaultInterviewPlanID) != job.DefaultInterviewPlanID {
			if err := s.switchPlan(ctx, tx, c.Org(), job, string(req.DefaultInterviewPlanID)); err != nil {
				return err
			}
		}
		return s.checkJobRefs(ctx, tx, c.Org(), job)
	})
}

// switchPlan changes a job's default plan and announces the transition.
func (s *Service) switchPlan(ctx context.Context, tx *store.Tx, org string, job *ashby.Job, planID string) error {
	to, err := mustExist(ctx, tx, InterviewPlans, org, planID, "interview_plan", "defaultInterviewPlanId")
	if err != nil {
		return err
	}
	ev := map[string]any{"jobId": job.ID, "toInterviewPlan": map[string]string{"id": to.ID, "title": to.Title}, "interviewStageMappings": []any{}}
	if job.DefaultInterviewPlanID != "" {
		if from, err := InterviewPlans.Get(ctx, tx, org, job.DefaultInterviewPlanID); err == nil {
			ev["fromInterviewPlan"] = map[string]string{"id": from.ID, "title": from.Title}
			// Map stages by type and position, as a plan switch moves
			// applications to the matching stage of the new plan.
			fromStages, _ := s.planStages(ctx, tx, org, from.ID)
			toStages, _ := s.planStages(ctx, tx, org, to.ID)
			var mappings []map[string]string
			for _, fs := range fromStages {
				if ts := matchStage(fs, toStages); ts != nil {
					mappings = append(mappings, map[string]string{"fromInterviewStageId": fs.ID, "toInterviewStageId": ts.ID})
				}
			}
			if mappings != nil {
				ev["interviewStageMappings"] = mappings
			}
		}
	}
	job.DefaultInterviewPlanID = to.ID
	if !slices.Contains(job.InterviewPlanIDs, to.ID) {
		job.InterviewPlanIDs = append(job.InterviewPlanIDs, to.ID)
	}
	return emit(ctx, tx, org, "interviewPlanTransition", ev)
}

// matchStage finds the stage of the same type (the same title if several).
func matchStage(st *ashby.InterviewStage, in []*ashby.InterviewStage) *ashby.InterviewStage {
	var first *ashby.InterviewStage
	for _, t := range in {
		if t.Type != st.Type {
			continue
		}
		if t.Title == st.Title {
			return t
		}
		if first == nil {
			first = t
		}
	}
	return first
}

type jobSetStatusRequest struct {
	JobID  ashby.ID `json:"jobId" required:"true"`
	Status string   `json:"status" required:"true" enum:"Draft,Open,Closed,Archived"`
}

// jobTransitions are Ashby's allowed status changes (https://developers.ashbyhq.com/reference/jobsetstatus).
var jobTransitions = map[string][]string{
	ashby.JobDraft:    {ashby.JobOpen, ashby.JobArchived},
	ashby.JobOpen:     {ashby.JobClosed},
	ashby.JobClosed:   {ashby.JobDraft, ashby.JobArchived},
	ashby.JobArchived: {ashby.JobDraft},
}

func (s *Service) jobSetStatus(ctx context.Context, c *rpc.Call, req *jobSetStatusRequest) (rpc.Result[ashby.Job], error) {
	return s.UpdateJob(ctx, c.Org(), string(req.JobID), func(tx *store.Tx, job *ashby.Job) error {
		if job.Status == req.Status {
			return nil
		}
		if !slices.Contains(jobTransitions[job.Status], req.Status) {
			return ashby.Errorf("invalid_job_status_transition", "A %s job cannot move to %s; allowed: %v", job.Status, req.Status, jobTransitions[job.Status])
		}
		now := s.now()
		switch req.Status {
		case ashby.JobOpen:
			if job.DefaultInterviewPlanID == "" {
				return ashby.Errorf("job_missing_interview_plan", "A job needs a default interview plan before it can be opened")
			}
			job.OpenedAt, job.ClosedAt = now.Ptr(), nil
		case ashby.JobClosed:
			job.ClosedAt = now.Ptr()
		}
		job.Status = req.Status
		return nil
	})
}

// UpdateJob loads a job for update, applies fn, stores it, rewrites the
// applications that embed it and emits jobUpdate.
func (s *Service) UpdateJob(ctx context.Context, org, id string, fn func(tx *store.Tx, job *ashby.Job) error) (rpc.Result[ashby.Job], error) {
	var job *ashby.Job
	err := s.write(ctx, func(tx *store.Tx) (err error) {
		job, err = s.updateJob(ctx, tx, org, id, fn)
		return err
	})
	if err != nil {
		return rpc.Result[ashby.Job]{}, err
	}
	return rpc.Value(job), nil
}

// updateJob is UpdateJob in tx (see updateApplication on lock order).
func (s *Service) updateJob(ctx context.Context, tx *store.Tx, org, id string, fn func(tx *store.Tx, job *ashby.Job) error) (*ashby.Job, error) {
	job, err := Jobs.GetForUpdate(ctx, tx, org, id)
	if err != nil {
		return nil, notFound(err, "job", "Job not found")
	}
	before, _ := json.Marshal(job)
	if err := fn(tx, job); err != nil {
		return nil, err
	}
	after, _ := json.Marshal(job)
	if string(before) == string(after) {
		return job, nil // nothing changed: no write, no event
	}
	job.UpdatedAt = s.now()
	if err := Jobs.Put(ctx, tx, org, job); err != nil {
		return nil, err
	}
	if err := s.refreshJob(ctx, tx, org, job); err != nil {
		return nil, err
	}
	return job, emit(ctx, tx, org, "jobUpdate", map[string]any{"job": job})
}
