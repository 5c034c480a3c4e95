package api

import (
	"context"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
)

// Bootstrappers add defaults to a new organization; categories that own
// more defaults (job boards, feedback forms …) register their own.
var bootstrappers []func(ctx context.Context, s *Service, tx *store.Tx, org *store.Org) error

// OnBootstrap registers a step run for every new organization, in the
// same transaction that creates it.
func OnBootstrap(f func(ctx context.Context, s *Service, tx *store.Tx, org *store.Org) error) {
	bootstrappers = append(bootstrappers, f)
}

// CreateOrg creates an organization with what Ashby gives a new account:
// an admin user, interview stage groups, a default interview plan whose
// stages cover every stage type, standard sources and archive reasons.
func (s *Service) CreateOrg(ctx context.Context, slug, name string) (*store.Org, error) {
	var org *store.Org
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		if org, err = tx.CreateOrg(ctx, slug, name); err != nil {
			return err
		}
		if err := s.bootstrap(ctx, tx, org); err != nil {
			return err
		}
		for _, f := range bootstrappers {
			if err := f(ctx, s, tx, org); err != nil {
				return err
			}
		}
		return nil
	})
	return org, err
}

// DefaultStages is the default interview plan: title and stage type.
var DefaultStages = []struct{ Title, Type string }{
	{"Lead", ashby.StageLead},
	{"Application Review", ashby.StagePreInterviewScreen},
	{"Recruiter Screen", ashby.StageActive},
	{"Technical Interview", ashby.StageActive},
	{"Onsite", ashby.StageActive},
	{"Offer", ashby.StageOffer},
	{"Hired", ashby.StageHired},
	{"Archived", ashby.StageArchived},
}

var defaultSources = []struct{ Type, Title string }{
	{"Inbound", "Applied"},
	{"Inbound", "Careers Page"},
	{"Inbound", "LinkedIn"},
	{"Inbound", "Indeed"},
	{"Inbound", "Job Board"},
	{"Referral", "Referral"},
	{"Outbound", "Sourced"},
	{"Outbound", "LinkedIn Recruiter"},
	{"Agency", "Agency"},
	{"Other", "Event"},
}

var defaultArchiveReasons = []struct{ Type, Text string }{
	{"RejectedByOrg", "Not a fit"},
	{"RejectedByOrg", "Underqualified"},
	{"RejectedByOrg", "Overqualified"},
	{"RejectedByOrg", "Position filled"},
	{"RejectedByOrg", "Failed interview"},
	{"RejectedByCandidate", "Withdrew"},
	{"RejectedByCandidate", "Accepted another offer"},
	{"RejectedByCandidate", "Compensation expectations"},
	{"RejectedByCandidate", "Unresponsive"},
	{"Other", "Duplicate"},
	{"Other", "Hired for another role"},
}

func (s *Service) bootstrap(ctx context.Context, tx *store.Tx, org *store.Org) error {
	now := s.now()
	admin := &ashby.User{ID: ashby.NewID(), FirstName: "Admin", LastName: org.Name, Email: "admin@" + org.Slug + ".example.com",
		GlobalRole: "Organization Admin", IsEnabled: true, UpdatedAt: now}
	if err := Users.Put(ctx, tx, org.ID, admin); err != nil {
		return err
	}
	groups := map[string]string{}
	for i, t := range ashby.StageTypes {
		g := &ashby.InterviewStageGroup{ID: ashby.NewID(), Title: stageGroupTitle(t), Order: i, StageType: t}
		if err := InterviewStageGroups.Put(ctx, tx, org.ID, g); err != nil {
			return err
		}
		groups[t] = g.ID
	}
	plan := &ashby.InterviewPlan{ID: ashby.NewID(), Title: "Default Interview Plan", CreatedAt: now, UpdatedAt: now}
	if err := InterviewPlans.Put(ctx, tx, org.ID, plan); err != nil {
		return err
	}
	for i, st := range DefaultStages {
		stage := &ashby.InterviewStage{ID: ashby.NewID(), Title: st.Title, Type: st.Type, OrderInInterviewPlan: i,
			InterviewStageGroupID: groups[st.Type], InterviewPlanID: plan.ID}
		if err := InterviewStages.Put(ctx, tx, org.ID, stage); err != nil {
			return err
		}
	}
	types := map[string]*ashby.SourceType{}
	for _, src := range defaultSources {
		st, ok := types[src.Type]
		if !ok {
			st = &ashby.SourceType{ID: ashby.NewID(), Title: src.Type}
			types[src.Type] = st
		}
		if err := Sources.Put(ctx, tx, org.ID, &ashby.Source{ID: ashby.NewID(), Title: src.Title, SourceType: st}); err != nil {
			return err
		}
	}
	for _, r := range defaultArchiveReasons {
		if err := ArchiveReasons.Put(ctx, tx, org.ID, &ashby.ArchiveReason{ID: ashby.NewID(), Text: r.Text, ReasonType: r.Type}); err != nil {
			return err
		}
	}
	return nil
}

func stageGroupTitle(t string) string {
	switch t {
	case ashby.StagePreInterviewScreen:
		return "Pre-Interview Screen"
	case ashby.StageActive:
		return "Interviewing"
	}
	return t
}
