package accounts

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
)

// Role is a user's globalRole, Ashby's organization-wide permission
// group. What each may see and do is in docs/web-app.md.
type Role string

// Ashby's four global roles.
const (
	Admin    Role = "Organization Admin"
	Elevated Role = "Elevated Access"
	Limited  Role = "Limited Access"
	External Role = "External Recruiter"
)

// Roles lists the roles, most powerful first.
var Roles = []Role{Admin, Elevated, Limited, External}

var shortRoles = map[string]Role{"admin": Admin, "elevated": Elevated, "limited": Limited, "external": External}

// ParseRole accepts Ashby's names ("Organization Admin") and the short
// forms admin, elevated, limited and external, in any case.
func ParseRole(s string) (Role, error) {
	s = strings.TrimSpace(s)
	if r, ok := shortRoles[strings.ToLower(s)]; ok {
		return r, nil
	}
	for _, r := range Roles {
		if strings.EqualFold(s, string(r)) {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown role %q: use %q, %q, %q or %q (or admin, elevated, limited, external)", s, Admin, Elevated, Limited, External)
}

// Short is the role's short form (admin, elevated, limited, external).
func (r Role) Short() string {
	for k, v := range shortRoles {
		if v == r {
			return k
		}
	}
	return string(r)
}

// Valid reports whether r is one of Ashby's roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Permissions are the API permissions a signed-in user of the role holds:
// every change they make in the web app goes through the API's endpoints,
// which check these exactly as they check an API key's.
//
// Organization Admins hold every permission. Elevated Access users work
// with candidates, jobs, interviews, offers and reports, but not with the
// organization's administration (API keys and webhooks, users, audit
// logs, hiring-process templates). Limited Access users only see what
// their interviews need. External Recruiters submit candidates and see
// the jobs they recruit for (the candidates they see are further limited
// to those credited to them, by the pages).
func (r Role) Permissions() []ashby.Permission {
	switch r {
	case Admin:
		return slices.Clone(ashby.AllPermissions)
	case Elevated:
		return []ashby.Permission{ashby.ApprovalsRead, ashby.ApprovalsWrite, ashby.CandidatesRead, ashby.CandidatesWrite,
			ashby.HiringProcessMetadataRead, ashby.InterviewsRead, ashby.InterviewsWrite, ashby.JobsRead, ashby.JobsWrite,
			ashby.OffersRead, ashby.OffersWrite, ashby.OrganizationRead, ashby.ReportsRead, ashby.NotetakerRead,
			ashby.SourcingRead, ashby.SourcingWrite}
	case Limited:
		return []ashby.Permission{ashby.HiringProcessMetadataRead, ashby.InterviewsRead, ashby.OrganizationRead}
	case External:
		return []ashby.Permission{ashby.CandidatesRead, ashby.CandidatesWrite, ashby.JobsRead, ashby.OrganizationRead}
	}
	return nil
}
