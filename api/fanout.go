package api

import (
	"context"
	"net/mail"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
)

// Documents embed summaries of other records (an application embeds its
// candidate's name and its job's title). When the embedded record changes,
// these functions rewrite the documents that embed it, in the same
// transaction, so every list stays consistent and incremental sync reports
// the rewritten documents as changed.
//
// The locking protocol (docs/architecture.md): the writer of a record holds
// it with GetForUpdate, then rewrites the embedding documents with
// Kind.Rewrite, which locks each in id order and stores only those whose
// document changed. A writer that copies a summary into a new or changed
// document reads the source with GetShared (mustShare), so the two cannot
// interleave: a rewrite either sees the embedding document or the copier
// waits and reads the new summary.

func (s *Service) refreshCandidate(ctx context.Context, tx *store.Tx, org string, c *ashby.Candidate) error {
	sum := candidateSummary(c)
	_, err := Applications.Rewrite(ctx, tx, org, store.Filter{Ref: c.ID, IncludeArchived: true}, func(a *ashby.Application) error {
		a.Candidate = sum
		return nil
	})
	return err
}

func candidateSummary(c *ashby.Candidate) ashby.ApplicationCandidate {
	return ashby.ApplicationCandidate{ID: c.ID, Name: c.Name, PrimaryEmailAddress: c.PrimaryEmailAddress, PrimaryPhoneNumber: c.PrimaryPhoneNumber}
}

func jobSummary(j *ashby.Job) ashby.ApplicationJob {
	return ashby.ApplicationJob{ID: j.ID, Title: j.Title, LocationID: j.LocationID, DepartmentID: j.DepartmentID}
}

func (s *Service) refreshJob(ctx context.Context, tx *store.Tx, org string, j *ashby.Job) error {
	sum := jobSummary(j)
	_, err := Applications.Rewrite(ctx, tx, org, store.Filter{Parent: j.ID, IncludeArchived: true}, func(a *ashby.Application) error {
		a.Job = sum
		return nil
	})
	return err
}

// userEmbedders rewrite the documents of other categories that embed a
// user (interview schedules, feedback, interviewer pools …).
var userEmbedders []func(ctx context.Context, s *Service, tx *store.Tx, org string, u *ashby.User) error

// OnUserChange registers f to rewrite, in tx, documents that embed user u
// whenever u changes; categories that embed users register from init.
func OnUserChange(f func(ctx context.Context, s *Service, tx *store.Tx, org string, u *ashby.User) error) {
	userEmbedders = append(userEmbedders, f)
}

// refreshUser rewrites every document that embeds user u; documents whose
// copy of u is already current are left alone. Kinds are locked in the
// order every fan-out uses (jobs, candidates, applications, then what
// hangs off applications), so that a user's fan-out and a job's cannot
// each hold what the other waits for.
func (s *Service) refreshUser(ctx context.Context, tx *store.Tx, org string, u *ashby.User) error {
	member := func(m *ashby.HiringTeamMember) {
		if m.UserID == u.ID {
			m.FirstName, m.LastName, m.Email = u.FirstName, u.LastName, u.Email
		}
	}
	if _, err := Jobs.RewriteByKey(ctx, tx, org, "user", u.ID, func(j *ashby.Job) error {
		if j.Author != nil && j.Author.ID == u.ID {
			j.Author = u
		}
		for i := range j.HiringTeam {
			member(&j.HiringTeam[i])
		}
		return nil
	}); err != nil {
		return err
	}
	if _, err := Candidates.RewriteByKey(ctx, tx, org, "user", u.ID, func(c *ashby.Candidate) error {
		if c.CreditedToUser != nil && c.CreditedToUser.ID == u.ID {
			c.CreditedToUser = u
		}
		return nil
	}); err != nil {
		return err
	}
	if _, err := Applications.RewriteByKey(ctx, tx, org, "user", u.ID, func(a *ashby.Application) error {
		if a.CreditedToUser != nil && a.CreditedToUser.ID == u.ID {
			a.CreditedToUser = u
		}
		for i := range a.HiringTeam {
			member(&a.HiringTeam[i])
		}
		return nil
	}); err != nil {
		return err
	}
	for _, f := range userEmbedders {
		if err := f(ctx, s, tx, org, u); err != nil {
			return err
		}
	}
	return nil
}

// validEmail accepts a bare address (no display name).
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s[strings.LastIndexByte(s, '@'):], ".")
}
