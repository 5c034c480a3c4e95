package api

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// Hiring teams: users holding roles ("Recruiter", "Hiring Manager" …) on a
// job, an application or an opening. The team is embedded in each of those
// documents as HiringTeamMember values (user name, email and role title),
// so every change rewrites the documents in the same transaction.

func init() { register((*Service).hiringTeamEndpoints) }

// HiringTeamRoles: Unique = title, case-insensitively.
var HiringTeamRoles = store.Kind[ashby.HiringTeamRole]{Name: "hiring_team_role", Index: func(r *ashby.HiringTeamRole) store.Index {
	return store.Index{ID: r.ID, Unique: lc(r.Title), Search: lc(r.Title)}
}}

// DefaultHiringTeamRoles are the roles a new organization has, in the
// order lists show them.
var DefaultHiringTeamRoles = []string{"Recruiter", "Hiring Manager", "Coordinator", "Sourcer"}

func (s *Service) hiringTeamEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Array[any](rpc.Spec{Name: "hiringTeamRole.list", Permission: ashby.OrganizationRead, Summary: "List hiring team roles: their titles, or {id, title} objects with namesOnly false."}, s.hiringTeamRoleList),
		rpc.Array[ashby.HiringTeamRole](rpc.Spec{Name: "applicationHiringTeamRole.list", Permission: ashby.CandidatesRead, Summary: "List the roles a user can hold on an application's hiring team."}, s.applicationHiringTeamRoleList),
		rpc.Object(rpc.Spec{Name: "hiringTeam.addMember", Permission: ashby.OrganizationWrite, Summary: "Add a user with a role to the hiring team of an application, a job or an opening (exactly one)."}, s.hiringTeamAddMember),
		rpc.Object(rpc.Spec{Name: "hiringTeam.removeMember", Permission: ashby.OrganizationWrite, Summary: "Remove a user's role from the hiring team of an application, a job or an opening (exactly one)."}, s.hiringTeamRemoveMember),
	}
}

type hiringTeamRoleListRequest struct {
	NamesOnly *bool `json:"namesOnly,omitempty" doc:"Default true: return role titles only."`
}

func (s *Service) hiringTeamRoleList(ctx context.Context, c *rpc.Call, req *hiringTeamRoleListRequest) (*rpc.Page, error) {
	roles, err := s.hiringTeamRoles(ctx, c.Org())
	if err != nil {
		return nil, err
	}
	if req.NamesOnly == nil || *req.NamesOnly {
		names := make([]string, len(roles))
		for i, r := range roles {
			names[i] = r.Title
		}
		return items(names), nil
	}
	return items(roles), nil
}

func (s *Service) applicationHiringTeamRoleList(ctx context.Context, c *rpc.Call, _ *emptyRequest) (*rpc.Page, error) {
	// Every hiring team role can be held on an application; Ashlar has one
	// set of roles for jobs, openings and applications.
	roles, err := s.hiringTeamRoles(ctx, c.Org())
	if err != nil {
		return nil, err
	}
	return items(roles), nil
}

// hiringTeamRoles lists the organization's roles: the default ones in
// their usual order, then any others by title.
func (s *Service) hiringTeamRoles(ctx context.Context, org string) ([]*ashby.HiringTeamRole, error) {
	if err := s.ensureOrgDefaults(ctx, org); err != nil {
		return nil, err
	}
	roles, err := HiringTeamRoles.Find(ctx, s.DB, org, store.Filter{IncludeArchived: true})
	if err != nil {
		return nil, err
	}
	rank := func(r *ashby.HiringTeamRole) int {
		if i := slices.Index(DefaultHiringTeamRoles, r.Title); i >= 0 {
			return i
		}
		return len(DefaultHiringTeamRoles)
	}
	slices.SortStableFunc(roles, func(a, b *ashby.HiringTeamRole) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(lc(a.Title), lc(b.Title))
	})
	return roles, nil
}

func bootstrapHiringTeamRoles(ctx context.Context, tx *store.Tx, org string) error {
	for _, t := range DefaultHiringTeamRoles {
		if err := HiringTeamRoles.Put(ctx, tx, org, &ashby.HiringTeamRole{ID: ashby.NewID(), Title: t}); err != nil {
			return err
		}
	}
	return nil
}

type hiringTeamMemberRequest struct {
	ApplicationID ashby.ID `json:"applicationId,omitempty"`
	JobID         ashby.ID `json:"jobId,omitempty"`
	OpeningID     ashby.ID `json:"openingId,omitempty"`
	TeamMemberID  ashby.ID `json:"teamMemberId" required:"true" doc:"The user's id."`
	RoleID        ashby.ID `json:"roleId" required:"true" doc:"A hiring team role id (hiringTeamRole.list with namesOnly false)."`
}

func (s *Service) hiringTeamAddMember(ctx context.Context, c *rpc.Call, req *hiringTeamMemberRequest) (rpc.Result[ashby.HiringTeamMember], error) {
	return s.changeHiringTeam(ctx, c, req, true)
}

func (s *Service) hiringTeamRemoveMember(ctx context.Context, c *rpc.Call, req *hiringTeamMemberRequest) (rpc.Result[ashby.HiringTeamMember], error) {
	return s.changeHiringTeam(ctx, c, req, false)
}

func (s *Service) changeHiringTeam(ctx context.Context, c *rpc.Call, req *hiringTeamMemberRequest, add bool) (rpc.Result[ashby.HiringTeamMember], error) {
	n := 0
	for _, id := range []ashby.ID{req.ApplicationID, req.JobID, req.OpeningID} {
		if id != "" {
			n++
		}
	}
	if n != 1 {
		return rpc.Result[ashby.HiringTeamMember]{}, ashby.InvalidInput("applicationId", "Give exactly one of applicationId, jobId and openingId")
	}
	var m *ashby.HiringTeamMember
	var err error
	switch {
	case req.ApplicationID != "":
		m, err = s.setApplicationTeamMember(ctx, c.Org(), string(req.ApplicationID), string(req.TeamMemberID), string(req.RoleID), add)
	case req.JobID != "":
		m, err = s.setJobTeamMember(ctx, c.Org(), string(req.JobID), string(req.TeamMemberID), string(req.RoleID), add)
	default:
		m, err = s.setOpeningTeamMember(ctx, c, string(req.OpeningID), string(req.TeamMemberID), string(req.RoleID), add)
	}
	if err != nil {
		return rpc.Result[ashby.HiringTeamMember]{}, err
	}
	return rpc.Value(m), nil
}

// teamMember resolves a user and a role into the embedded member form.
// Deactivated users cannot join a team; they can still be removed.
func (s *Service) teamMember(ctx context.Context, tx *store.Tx, org, userID, roleID string, add bool) (*ashby.HiringTeamMember, error) {
	u, err := mustShare(ctx, tx, Users, org, userID, "user", "teamMemberId")
	if err != nil {
		return nil, err
	}
	if add && !u.IsEnabled {
		return nil, ashby.InvalidInput("teamMemberId", "User %s is deactivated and cannot join a hiring team", u.ID)
	}
	role, err := mustExist(ctx, tx, HiringTeamRoles, org, roleID, "hiring_team_role", "roleId")
	if err != nil {
		return nil, err
	}
	return &ashby.HiringTeamMember{UserID: u.ID, FirstName: u.FirstName, LastName: u.LastName, Email: u.Email, Role: role.Title}, nil
}

// withMember adds m to team unless the user already holds that role.
func withMember(team []ashby.HiringTeamMember, m ashby.HiringTeamMember) ([]ashby.HiringTeamMember, bool) {
	if slices.ContainsFunc(team, func(x ashby.HiringTeamMember) bool { return sameTeamMember(x, m) }) {
		return team, false
	}
	return append(team, m), true
}

// withoutMember removes the user's role from team.
func withoutMember(team []ashby.HiringTeamMember, m ashby.HiringTeamMember) ([]ashby.HiringTeamMember, bool) {
	out := slices.DeleteFunc(slices.Clone(team), func(x ashby.HiringTeamMember) bool { return sameTeamMember(x, m) })
	if out == nil {
		out = []ashby.HiringTeamMember{}
	}
	return out, len(out) != len(team)
}

func sameTeamMember(a, b ashby.HiringTeamMember) bool {
	return a.UserID == b.UserID && strings.EqualFold(a.Role, b.Role)
}

func teamMemberNotFound(m *ashby.HiringTeamMember, where string) error {
	return ashby.Errorf("hiring_team_member_not_found", "%s %s is not a %s on this %s's hiring team", m.FirstName, m.LastName, m.Role, where)
}

// setJobTeamMember changes a job's hiring team and, in the same
// transaction, the teams of the job's applications still in progress (Lead
// or Active) that mirror it. Hired and archived applications keep the team
// they had, as a record of who worked on them.
func (s *Service) setJobTeamMember(ctx context.Context, org, jobID, userID, roleID string, add bool) (*ashby.HiringTeamMember, error) {
	var m *ashby.HiringTeamMember
	err := s.write(ctx, func(tx *store.Tx) (err error) {
		if ok, err := Jobs.Exists(ctx, tx, org, jobID); err != nil || !ok {
			return notFound(cmp.Or(err, store.ErrNotFound), "job", "Job not found")
		}
		// The user first, then the job: the order a user's fan-out locks them.
		if m, err = s.teamMember(ctx, tx, org, userID, roleID, add); err != nil {
			return err
		}
		_, err = s.updateJob(ctx, tx, org, jobID, func(tx *store.Tx, job *ashby.Job) error {
			return s.setJobTeam(ctx, tx, org, job, m, add)
		})
		return err
	})
	return m, err
}

// setJobTeam changes job's team and the teams of its applications in progress.
func (s *Service) setJobTeam(ctx context.Context, tx *store.Tx, org string, job *ashby.Job, m *ashby.HiringTeamMember, add bool) error {
	var changed bool
	if add {
		job.HiringTeam, changed = withMember(job.HiringTeam, *m)
	} else if job.HiringTeam, changed = withoutMember(job.HiringTeam, *m); !changed {
		return teamMemberNotFound(m, "job")
	}
	if !changed {
		return nil
	}
	now := s.now()
	var changedApps []*ashby.Application
	if _, err := Applications.Rewrite(ctx, tx, org, store.Filter{Parent: job.ID, State: []string{ashby.ApplicationLead, ashby.ApplicationActive}}, func(a *ashby.Application) error {
		var ch bool
		if add {
			a.HiringTeam, ch = withMember(a.HiringTeam, *m)
		} else {
			a.HiringTeam, ch = withoutMember(a.HiringTeam, *m)
		}
		if ch {
			a.UpdatedAt = now
			changedApps = append(changedApps, a)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, a := range changedApps {
		if err := emit(ctx, tx, org, "applicationUpdate", map[string]any{"application": a}); err != nil {
			return err
		}
	}
	return nil
}

// setApplicationTeamMember changes one application's hiring team.
func (s *Service) setApplicationTeamMember(ctx context.Context, org, appID, userID, roleID string, add bool) (*ashby.HiringTeamMember, error) {
	var m *ashby.HiringTeamMember
	err := s.write(ctx, func(tx *store.Tx) (err error) {
		if ok, err := Applications.Exists(ctx, tx, org, appID); err != nil || !ok {
			return notFound(cmp.Or(err, store.ErrNotFound), "application", "Application not found - are you lacking permissions to edit candidates?")
		}
		// The user first, then the application (see updateApplication).
		if m, err = s.teamMember(ctx, tx, org, userID, roleID, add); err != nil {
			return err
		}
		_, err = s.updateApplication(ctx, tx, org, appID, func(tx *store.Tx, app *ashby.Application) error {
			return setApplicationTeam(app, m, add)
		})
		return err
	})
	return m, err
}

func setApplicationTeam(app *ashby.Application, m *ashby.HiringTeamMember, add bool) error {
	if add {
		app.HiringTeam, _ = withMember(app.HiringTeam, *m)
		return nil
	}
	var changed bool
	if app.HiringTeam, changed = withoutMember(app.HiringTeam, *m); !changed {
		return teamMemberNotFound(m, "application")
	}
	return nil
}
