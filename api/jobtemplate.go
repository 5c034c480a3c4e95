package api

import (
	"context"
	"slices"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// Job templates: the starting point job.create applies when given a
// jobTemplateId. Ashby manages templates in its web app; Ashlar adds
// jobTemplate.create and jobTemplate.update.

func init() {
	register((*Service).jobTemplateEndpoints)
	AddExpansion("jobTemplate", "location", expandByID(Locations, "locationId"))
}

// JobTemplates: State = status; Search = title; Ref = location.
var JobTemplates = store.Kind[ashby.JobTemplate]{Name: "job_template", Index: func(t *ashby.JobTemplate) store.Index {
	return store.Index{ID: t.ID, CreatedAt: t.CreatedAt.Time, State: t.Status, Ref: t.LocationID, Search: lc(t.Title)}
}}

func (s *Service) jobTemplateEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.List[ashby.JobTemplate](rpc.Spec{Name: "jobTemplate.list", Permission: ashby.JobsRead, Summary: "List job templates; supports incremental sync.", Expand: ExpansionNames("jobTemplate")}, s.jobTemplateList),
		rpc.Object(rpc.Spec{Name: "jobTemplate.create", Permission: ashby.JobsWrite, Extension: true, Summary: "Create a job template (Ashby does this in its web app)."}, s.jobTemplateCreate),
		rpc.Object(rpc.Spec{Name: "jobTemplate.update", Permission: ashby.JobsWrite, Extension: true, Summary: "Update a job template, e.g. deactivate it (Ashby does this in its web app)."}, s.jobTemplateUpdate),
	}
}

type jobTemplateListRequest struct {
	rpc.SyncParams
	rpc.ExpandParam
}

func (s *Service) jobTemplateList(ctx context.Context, c *rpc.Call, req *jobTemplateListRequest) (*rpc.Page, error) {
	spec := listSpec(c, JobTemplates.Name, req.SyncParams)
	p, err := s.DB.List(ctx, spec)
	if err != nil {
		return nil, err
	}
	if err := s.expand(ctx, c.Org(), p.Docs, req.Expand, "jobTemplate"); err != nil {
		return nil, err
	}
	return page(p), nil
}

// JobTemplateFields are the optional fields of jobTemplate.create and
// jobTemplate.update.
type JobTemplateFields struct {
	Status                 string     `json:"status,omitempty" enum:"Active,Inactive"`
	DepartmentID           *ashby.ID  `json:"departmentId,omitempty" doc:"Empty string clears it."`
	LocationID             *ashby.ID  `json:"locationId,omitempty" doc:"Empty string clears it."`
	DefaultInterviewPlanID *ashby.ID  `json:"defaultInterviewPlanId,omitempty" doc:"Empty string clears it."`
	InterviewPlanIDs       []ashby.ID `json:"interviewPlanIds,omitempty" doc:"Plans jobs created from the template may use; the default plan is always one of them."`
}

type jobTemplateCreateRequest struct {
	Title string `json:"title" required:"true"`
	JobTemplateFields
}

func (s *Service) jobTemplateCreate(ctx context.Context, c *rpc.Call, req *jobTemplateCreateRequest) (rpc.Result[ashby.JobTemplate], error) {
	now := s.now()
	t := &ashby.JobTemplate{ID: ashby.NewID(), Title: strings.TrimSpace(req.Title), Status: ashby.JobTemplateActive, InterviewPlanIDs: []string{}, CreatedAt: now, UpdatedAt: now}
	err := s.write(ctx, func(tx *store.Tx) error {
		if err := s.applyTemplateFields(ctx, tx, c.Org(), t, &req.JobTemplateFields); err != nil {
			return err
		}
		return JobTemplates.Put(ctx, tx, c.Org(), t)
	})
	if err != nil {
		return rpc.Result[ashby.JobTemplate]{}, err
	}
	return rpc.Value(t), nil
}

type jobTemplateUpdateRequest struct {
	JobTemplateID ashby.ID `json:"jobTemplateId" required:"true"`
	Title         string   `json:"title,omitempty"`
	JobTemplateFields
}

func (s *Service) jobTemplateUpdate(ctx context.Context, c *rpc.Call, req *jobTemplateUpdateRequest) (rpc.Result[ashby.JobTemplate], error) {
	var t *ashby.JobTemplate
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		if t, err = JobTemplates.GetForUpdate(ctx, tx, c.Org(), string(req.JobTemplateID)); err != nil {
			return notFound(err, "job_template", "Job template not found")
		}
		before := string(mustJSON(t))
		if title := strings.TrimSpace(req.Title); title != "" {
			t.Title = title
		}
		if err := s.applyTemplateFields(ctx, tx, c.Org(), t, &req.JobTemplateFields); err != nil {
			return err
		}
		if string(mustJSON(t)) == before {
			return nil
		}
		t.UpdatedAt = s.now()
		return JobTemplates.Put(ctx, tx, c.Org(), t)
	})
	if err != nil {
		return rpc.Result[ashby.JobTemplate]{}, err
	}
	return rpc.Value(t), nil
}

// applyTemplateFields sets the given fields on t after checking that what
// they reference exists in the organization.
func (s *Service) applyTemplateFields(ctx context.Context, q store.Q, org string, t *ashby.JobTemplate, f *JobTemplateFields) error {
	if f.Status != "" {
		t.Status = f.Status
	}
	if f.DepartmentID != nil {
		t.DepartmentID = string(*f.DepartmentID)
		if t.DepartmentID != "" {
			if _, err := mustExist(ctx, q, Departments, org, t.DepartmentID, "department", "departmentId"); err != nil {
				return err
			}
		}
	}
	if f.LocationID != nil {
		t.LocationID = string(*f.LocationID)
		if t.LocationID != "" {
			if _, err := mustExist(ctx, q, Locations, org, t.LocationID, "location", "locationId"); err != nil {
				return err
			}
		}
	}
	if f.InterviewPlanIDs != nil {
		t.InterviewPlanIDs = []string{}
		for i, id := range f.InterviewPlanIDs {
			if _, err := mustExist(ctx, q, InterviewPlans, org, string(id), "interview_plan", "interviewPlanIds"); err != nil {
				return err
			}
			if !slices.Contains(t.InterviewPlanIDs, string(id)) {
				t.InterviewPlanIDs = append(t.InterviewPlanIDs, string(f.InterviewPlanIDs[i]))
			}
		}
	}
	if f.DefaultInterviewPlanID != nil {
		t.DefaultInterviewPlanID = string(*f.DefaultInterviewPlanID)
		if t.DefaultInterviewPlanID != "" {
			if _, err := mustExist(ctx, q, InterviewPlans, org, t.DefaultInterviewPlanID, "interview_plan", "defaultInterviewPlanId"); err != nil {
				return err
			}
		}
	}
	if t.DefaultInterviewPlanID != "" && !slices.Contains(t.InterviewPlanIDs, t.DefaultInterviewPlanID) {
		t.InterviewPlanIDs = append([]string{t.DefaultInterviewPlanID}, t.InterviewPlanIDs...)
	}
	return nil
}

// applyJobTemplate fills a new job from a template (job.create's
// jobTemplateId). job.create requires a title, department and location, so
// the template supplies those only where the job lacks them; its default
// interview plan applies unless the request names one.
func applyJobTemplate(ctx context.Context, tx *store.Tx, org, templateID string, job *ashby.Job) error {
	t, err := JobTemplates.Get(ctx, tx, org, templateID)
	if err != nil {
		return notFound(err, "job_template", "Job template not found")
	}
	if t.Status != ashby.JobTemplateActive {
		return ashby.InvalidInput("jobTemplateId", "Job template %s is %s; only Active templates can be used", t.ID, t.Status)
	}
	if job.Title == "" {
		job.Title = t.Title
	}
	if job.DepartmentID == "" {
		job.DepartmentID = t.DepartmentID
	}
	if job.LocationID == "" {
		job.LocationID = t.LocationID
	}
	if job.DefaultInterviewPlanID == "" {
		job.DefaultInterviewPlanID = t.DefaultInterviewPlanID
	}
	return nil
}
