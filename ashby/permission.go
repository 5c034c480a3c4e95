package ashby

import (
	"fmt"
	"slices"
	"strings"
)

// Permission is one of Ashby's module-scoped API key permissions
// ("candidatesRead", "jobsWrite", …). Each endpoint requires exactly one.
type Permission string

const (
	APIKeysRead                Permission = "apiKeysRead"
	APIKeysWrite               Permission = "apiKeysWrite"
	ApprovalsRead              Permission = "approvalsRead"
	ApprovalsWrite             Permission = "approvalsWrite"
	CandidatesRead             Permission = "candidatesRead"
	CandidatesWrite            Permission = "candidatesWrite"
	CandidatesDelete           Permission = "candidatesDelete"
	HiringProcessMetadataRead  Permission = "hiringProcessMetadataRead"
	HiringProcessMetadataWrite Permission = "hiringProcessMetadataWrite"
	InterviewsRead             Permission = "interviewsRead"
	InterviewsWrite            Permission = "interviewsWrite"
	JobsRead                   Permission = "jobsRead"
	JobsWrite                  Permission = "jobsWrite"
	OffersRead                 Permission = "offersRead"
	OffersWrite                Permission = "offersWrite"
	OrganizationRead           Permission = "organizationRead"
	OrganizationWrite          Permission = "organizationWrite"
	ReportsRead                Permission = "reportsRead"
	NotetakerRead              Permission = "notetakerRead"
	AuditLogsRead              Permission = "auditLogsRead"
	SourcingRead               Permission = "sourcingRead"
	SourcingWrite              Permission = "sourcingWrite"
)

// AllPermissions lists every permission a key can hold, in a stable order.
var AllPermissions = []Permission{
	APIKeysRead, APIKeysWrite, ApprovalsRead, ApprovalsWrite,
	CandidatesRead, CandidatesWrite, CandidatesDelete,
	HiringProcessMetadataRead, HiringProcessMetadataWrite,
	InterviewsRead, InterviewsWrite, JobsRead, JobsWrite,
	OffersRead, OffersWrite, OrganizationRead, OrganizationWrite,
	ReportsRead, NotetakerRead, AuditLogsRead, SourcingRead, SourcingWrite,
}

// Valid reports whether p is a permission Ashby defines.
func (p Permission) Valid() bool { return slices.Contains(AllPermissions, p) }

// Scope renders p the way apiKey.info reports it: "module:access",
// e.g. candidatesRead → "candidates:read".
func (p Permission) Scope() string {
	s := string(p)
	for _, suffix := range []string{"Read", "Write", "Delete"} {
		if module, ok := strings.CutSuffix(s, suffix); ok {
			return module + ":" + strings.ToLower(suffix)
		}
	}
	return s
}

// ParsePermissions parses a comma-separated list of permission names, or
// "all" for every permission. It accepts both "candidatesRead" and the
// scope form "candidates:read".
func ParsePermissions(list string) ([]Permission, error) {
	list = strings.TrimSpace(list)
	if list == "all" || list == "*" {
		return slices.Clone(AllPermissions), nil
	}
	var out []Permission
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p := Permission(part)
		if module, access, ok := strings.Cut(part, ":"); ok && len(access) > 0 {
			p = Permission(module + strings.ToUpper(access[:1]) + access[1:])
		}
		if !p.Valid() {
			return nil, fmt.Errorf("unknown permission %q (known: %s)", part, joinPermissions(AllPermissions))
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no permissions given")
	}
	return out, nil
}

func joinPermissions(ps []Permission) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ",")
}
