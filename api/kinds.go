package api

import (
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
)

// Record kinds of the hiring domain and what each index column means for
// them. Index functions derive the columns from the record itself, so
// filters can never disagree with what the API returns.

func lc(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func ms(t *ashby.Time) int64 {
	if t == nil {
		return 0
	}
	return t.UnixMilli()
}

// Users: Archived = deactivated; Search = email.
var Users = store.Kind[ashby.User]{Name: "user", Index: func(u *ashby.User) store.Index {
	return store.Index{ID: u.ID, Archived: !u.IsEnabled, Search: lc(u.Email)}
}}

// Departments: Parent = parent department.
var Departments = store.Kind[ashby.Department]{Name: "department", Index: func(d *ashby.Department) store.Index {
	return store.Index{ID: d.ID, CreatedAt: d.CreatedAt.Time, Archived: d.IsArchived, Parent: d.ParentID, Search: lc(d.Name)}
}}

// Locations: Parent = parent location; State = type.
var Locations = store.Kind[ashby.Location]{Name: "location", Index: func(l *ashby.Location) store.Index {
	return store.Index{ID: l.ID, Archived: l.IsArchived, Parent: l.ParentLocationID, State: l.Type, Search: lc(l.Name)}
}}

// Sources.
var Sources = store.Kind[ashby.Source]{Name: "source", Index: func(s *ashby.Source) store.Index {
	return store.Index{ID: s.ID, Archived: s.IsArchived, Search: lc(s.Title)}
}}

// ArchiveReasons.
var ArchiveReasons = store.Kind[ashby.ArchiveReason]{Name: "archive_reason", Index: func(a *ashby.ArchiveReason) store.Index {
	return store.Index{ID: a.ID, Archived: a.IsArchived, State: a.ReasonType}
}}

// CandidateTags: Unique = title, case-insensitively (create is idempotent by title).
var CandidateTags = store.Kind[ashby.CandidateTag]{Name: "candidate_tag", Index: func(t *ashby.CandidateTag) store.Index {
	return store.Index{ID: t.ID, Archived: t.IsArchived, Unique: lc(t.Title), Search: lc(t.Title)}
}}

// CustomFields: State = objectType.
var CustomFields = store.Kind[ashby.CustomField]{Name: "custom_field", Index: func(f *ashby.CustomField) store.Index {
	return store.Index{ID: f.ID, Archived: f.IsArchived, State: f.ObjectType, Search: lc(f.Title)}
}}

// InterviewPlans.
var InterviewPlans = store.Kind[ashby.InterviewPlan]{Name: "interview_plan", Index: func(p *ashby.InterviewPlan) store.Index {
	return store.Index{ID: p.ID, CreatedAt: p.CreatedAt.Time, Archived: p.IsArchived, Search: lc(p.Title)}
}}

// InterviewStages: Parent = plan; State = stage type; T1 = order in plan.
var InterviewStages = store.Kind[ashby.InterviewStage]{Name: "interview_stage", Index: func(s *ashby.InterviewStage) store.Index {
	return store.Index{ID: s.ID, Parent: s.InterviewPlanID, State: s.Type, T1: int64(s.OrderInInterviewPlan) + 1}
}}

// InterviewStageGroups: State = stage type.
var InterviewStageGroups = store.Kind[ashby.InterviewStageGroup]{Name: "interview_stage_group", Index: func(g *ashby.InterviewStageGroup) store.Index {
	return store.Index{ID: g.ID, State: g.StageType, T1: int64(g.Order) + 1}
}}

// Jobs: State = status; Parent = department; Ref = location;
// T1 = openedAt, T2 = closedAt (ms); Search = title; Keys: requisition id,
// interview plans and hiring team users.
var Jobs = store.Kind[ashby.Job]{Name: "job", HasKeys: true, Index: func(j *ashby.Job) store.Index {
	idx := store.Index{ID: j.ID, CreatedAt: j.CreatedAt.Time, State: j.Status, Parent: j.DepartmentID, Ref: j.LocationID,
		T1: ms(j.OpenedAt), T2: ms(j.ClosedAt), Search: lc(j.Title)}
	if j.CustomRequisitionID != "" {
		idx.Keys = append(idx.Keys, store.Key{Name: "requisition", Value: lc(j.CustomRequisitionID)})
	}
	for _, p := range j.InterviewPlanIDs {
		idx.Keys = append(idx.Keys, store.Key{Name: "plan", Value: p})
	}
	for _, m := range j.HiringTeam {
		idx.Keys = append(idx.Keys, store.Key{Name: "user", Value: m.UserID})
	}
	if j.Author != nil {
		idx.Keys = append(idx.Keys, store.Key{Name: "user", Value: j.Author.ID})
	}
	return idx
}}

// Candidates: Search = name; Keys: every email (lower-cased), the
// credited user, tags and the external mapping id.
var Candidates = store.Kind[ashby.Candidate]{Name: "candidate", HasKeys: true, Index: func(c *ashby.Candidate) store.Index {
	idx := store.Index{ID: c.ID, CreatedAt: c.CreatedAt.Time, Search: lc(c.Name)}
	for _, e := range c.EmailAddresses {
		idx.Keys = append(idx.Keys, store.Key{Name: "email", Value: lc(e.Value)})
	}
	if c.CreditedToUser != nil {
		idx.Keys = append(idx.Keys, store.Key{Name: "user", Value: c.CreditedToUser.ID})
	}
	if c.Source != nil {
		idx.Keys = append(idx.Keys, store.Key{Name: "source", Value: c.Source.ID})
	}
	for _, t := range c.Tags {
		idx.Keys = append(idx.Keys, store.Key{Name: "tag", Value: t.ID})
	}
	return idx
}}

// Notes: Parent = candidate (not a field of Ashby's Note; see PutChild).
var Notes = store.Kind[ashby.Note]{Name: "note", ParentOutside: true, Index: func(n *ashby.Note) store.Index {
	return store.Index{ID: n.ID, CreatedAt: n.CreatedAt.Time}
}}

// Applications: Parent = job; Ref = candidate; State = status; Keys: the
// current stage, the source and every user embedded, for fan-out updates.
var Applications = store.Kind[ashby.Application]{Name: "application", HasKeys: true, Index: func(a *ashby.Application) store.Index {
	idx := store.Index{ID: a.ID, CreatedAt: a.CreatedAt.Time, Parent: a.Job.ID, Ref: a.Candidate.ID, State: a.Status,
		Archived: false, T1: ms(a.ArchivedAt)}
	idx.Keys = append(idx.Keys, store.Key{Name: "stage", Value: a.CurrentInterviewStage.ID})
	if a.Source != nil {
		idx.Keys = append(idx.Keys, store.Key{Name: "source", Value: a.Source.ID})
	}
	if a.CreditedToUser != nil {
		idx.Keys = append(idx.Keys, store.Key{Name: "user", Value: a.CreditedToUser.ID})
	}
	for _, m := range a.HiringTeam {
		idx.Keys = append(idx.Keys, store.Key{Name: "user", Value: m.UserID})
	}
	if a.AppliedViaJobPostingID != "" {
		idx.Keys = append(idx.Keys, store.Key{Name: "posting", Value: a.AppliedViaJobPostingID})
	}
	return idx
}}

// ApplicationHistory: Parent = application (outside the record); T1 =
// enteredStageAt.
// Its creation column holds the stage number, so that lists come in
// stage order even when two stages were entered in the same millisecond.
var ApplicationHistory = store.Kind[ashby.ApplicationHistoryItem]{Name: "application_history", ParentOutside: true, Index: func(h *ashby.ApplicationHistoryItem) store.Index {
	return store.Index{ID: h.ID, CreatedAt: time.UnixMilli(int64(h.StageNumber)), T1: h.EnteredStageAt.UnixMilli()}
}}
