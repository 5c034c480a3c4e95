package api

import (
	"context"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

func init() { register((*Service).projectEndpoints) }

// Projects: Search = title; Archived = isArchived.
var Projects = store.Kind[ashby.Project]{Name: "project", Index: func(p *ashby.Project) store.Index {
	return store.Index{ID: p.ID, CreatedAt: p.CreatedAt.Time, Archived: p.IsArchived, Search: lc(p.Title)}
}}

// candidateProject is a candidate's membership of a project. Its document
// is the project as candidate.listProjects returns it; the row id joins
// candidate and project, since a project has many candidates. Its
// creation time is when the candidate was added, so the candidate's list
// comes in the order projects were added.
type candidateProject struct {
	ashby.Project
	CandidateID string `json:"-"`
}

// CandidateProjects: Parent = candidate; Ref = project.
var CandidateProjects = store.Kind[candidateProject]{Name: "candidate_project", Index: func(m *candidateProject) store.Index {
	return store.Index{ID: m.CandidateID + "/" + m.Project.ID, Parent: m.CandidateID, Ref: m.Project.ID}
}}

func (s *Service) projectEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		// Ashby's description gives project.info jobsRead and the other
		// two candidatesRead; Ashlar follows it.
		rpc.Object(rpc.Spec{Name: "project.info", Permission: ashby.JobsRead, Summary: "Fetch a project."}, s.projectInfo),
		rpc.List[ashby.Project](rpc.Spec{Name: "project.list", Permission: ashby.CandidatesRead, Summary: "List projects; supports incremental sync."}, s.projectList),
		rpc.Array[ashby.Project](rpc.Spec{Name: "project.search", Permission: ashby.CandidatesRead, Summary: "Find projects whose title contains the given text, at most 100."}, s.projectSearch),
		rpc.Object(rpc.Spec{Name: "project.create", Permission: ashby.CandidatesWrite, Extension: true, Summary: "Create a project (Ashby does this in its web app)."}, s.projectCreate),
		rpc.Object(rpc.Spec{Name: "candidate.addProject", Permission: ashby.CandidatesWrite, Summary: "Add a candidate to a project; returns the candidate."}, s.candidateProject(true)),
		rpc.Object(rpc.Spec{Name: "candidate.removeProject", Permission: ashby.CandidatesWrite, Summary: "Remove a candidate from a project; returns the candidate."}, s.candidateProject(false)),
		rpc.List[ashby.Project](rpc.Spec{Name: "candidate.listProjects", Permission: ashby.CandidatesRead, Summary: "The projects a candidate belongs to; supports incremental sync."}, s.candidateListProjects),
	}
}

type projectInfoRequest struct {
	ProjectID string `json:"projectId" required:"true"`
}

func (s *Service) projectInfo(ctx context.Context, c *rpc.Call, req *projectInfoRequest) (rpc.Result[ashby.Project], error) {
	if !ashby.IsUUID(req.ProjectID) {
		return rpc.Result[ashby.Project]{}, ashby.NotFound("project", "Project not found")
	}
	doc, err := Projects.GetRaw(ctx, s.DB, c.Org(), strings.ToLower(req.ProjectID))
	if err != nil {
		return rpc.Result[ashby.Project]{}, notFound(err, "project", "Project not found")
	}
	return rpc.Raw[ashby.Project](doc), nil
}

type projectListRequest struct {
	rpc.SyncParams
	CreatedAfter int64 `json:"createdAfter,omitempty" doc:"Epoch milliseconds."`
}

func (s *Service) projectList(ctx context.Context, c *rpc.Call, req *projectListRequest) (*rpc.Page, error) {
	spec := listSpec(c, Projects.Name, req.SyncParams)
	spec.CreatedAfter = req.CreatedAfter
	spec.Filter.IncludeArchived = true
	return s.listPage(ctx, spec)
}

type projectSearchRequest struct {
	Title string `json:"title,omitempty"`
}

func (s *Service) projectSearch(ctx context.Context, c *rpc.Call, req *projectSearchRequest) (*rpc.Page, error) {
	title := lc(req.Title)
	if title == "" {
		return nil, ashby.InvalidInput("title", "Give the title (or part of it) to search for")
	}
	docs, err := Projects.FindRaw(ctx, s.DB, c.Org(), store.Filter{SearchContains: title, IncludeArchived: true, Limit: 100})
	if err != nil {
		return nil, err
	}
	return &rpc.Page{Raw: docs}, nil
}

type projectCreateRequest struct {
	Title        string `json:"title" required:"true"`
	Description  string `json:"description,omitempty" maxLength:"text"`
	Confidential bool   `json:"confidential,omitempty"`
}

func (s *Service) projectCreate(ctx context.Context, c *rpc.Call, req *projectCreateRequest) (rpc.Result[ashby.Project], error) {
	p := &ashby.Project{ID: ashby.NewID(), Title: strings.TrimSpace(req.Title), Description: strings.TrimSpace(req.Description),
		Confidential: req.Confidential, CreatedAt: s.now(), CustomFieldEntries: []ashby.CustomFieldValue{}}
	err := s.write(ctx, func(tx *store.Tx) error {
		author, err := s.actingUser(ctx, tx, c)
		if err != nil {
			return err
		}
		p.AuthorID = author.ID
		return Projects.Put(ctx, tx, c.Org(), p)
	})
	if err != nil {
		return rpc.Result[ashby.Project]{}, err
	}
	return rpc.Value(p), nil
}

type candidateProjectRequest struct {
	CandidateID ashby.ID `json:"candidateId" required:"true"`
	ProjectID   ashby.ID `json:"projectId" required:"true"`
}

// candidateProject adds or removes a membership. Both are idempotent:
// adding a member again or removing a non-member changes nothing.
func (s *Service) candidateProject(add bool) func(context.Context, *rpc.Call, *candidateProjectRequest) (rpc.Result[ashby.Candidate], error) {
	return func(ctx context.Context, c *rpc.Call, req *candidateProjectRequest) (rpc.Result[ashby.Candidate], error) {
		var cand *ashby.Candidate
		err := s.write(ctx, func(tx *store.Tx) error {
			var err error
			// Lock the candidate so concurrent adds of one candidate serialise.
			if cand, err = Candidates.GetForUpdate(ctx, tx, c.Org(), string(req.CandidateID)); err != nil {
				return notFound(err, "candidate", "Candidate not found")
			}
			proj, err := mustExist(ctx, tx, Projects, c.Org(), string(req.ProjectID), "project", "projectId")
			if err != nil {
				return err
			}
			m := &candidateProject{Project: *proj, CandidateID: cand.ID}
			idx := CandidateProjects.Index(m)
			exists, err := CandidateProjects.Exists(ctx, tx, c.Org(), idx.ID)
			if err != nil {
				return err
			}
			switch {
			case add && !exists:
				if proj.IsArchived {
					return ashby.Errorf("project_archived", "Project %q is archived", proj.Title)
				}
				return CandidateProjects.Put(ctx, tx, c.Org(), m)
			case !add && exists:
				return CandidateProjects.Delete(ctx, tx, c.Org(), idx.ID)
			}
			return nil
		})
		if err != nil {
			return rpc.Result[ashby.Candidate]{}, err
		}
		return rpc.Value(cand), nil
	}
}

type candidateListProjectsRequest struct {
	rpc.SyncParams
	CandidateID ashby.ID `json:"candidateId" required:"true"`
}

func (s *Service) candidateListProjects(ctx context.Context, c *rpc.Call, req *candidateListProjectsRequest) (*rpc.Page, error) {
	if _, err := mustExist(ctx, s.DB, Candidates, c.Org(), string(req.CandidateID), "candidate", "candidateId"); err != nil {
		return nil, err
	}
	spec := listSpec(c, CandidateProjects.Name, req.SyncParams)
	spec.Filter.Parent = string(req.CandidateID)
	return s.listPage(ctx, spec)
}
