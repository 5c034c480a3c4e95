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

func (s *Service) refreshCandidate(ctx context.Context, tx *store.Tx, org string, c *ashby.Candidate) error {
	apps, err := Applications.Find(ctx, tx, org, store.Filter{Ref: c.ID, IncludeArchived: true})
	if err != nil {
		return err
	}
	sum := candidateSummary(c)
	for _, a := range apps {
		if sameSummary(a.Candidate, sum) {
			continue
		}
		a.Candidate = sum
		if err := Applications.Put(ctx, tx, org, a); err != nil {
			return err
		}
	}
	return nil
}

func sameSummary(a, b ashby.ApplicationCandidate) bool {
	eq := func(x, y *ashby.ContactInfo) bool {
		if x == nil || y == nil {
			return x == y
		}
		return *x == *y
	}
	return a.ID == b.ID && a.Name == b.Name && eq(a.PrimaryEmailAddress, b.PrimaryEmailAddress) && eq(a.PrimaryPhoneNumber, b.PrimaryPhoneNumber)
}

func candidateSummary(c *ashby.Candidate) ashby.ApplicationCandidate {
	return ashby.ApplicationCandidate{ID: c.ID, Name: c.Name, PrimaryEmailAddress: c.PrimaryEmailAddress, PrimaryPhoneNumber: c.PrimaryPhoneNumber}
}

func jobSummary(j *ashby.Job) ashby.ApplicationJob {
	return ashby.ApplicationJob{ID: j.ID, Title: j.Title, LocationID: j.LocationID, DepartmentID: j.DepartmentID}
}

func (s *Service) refreshJob(ctx context.Context, tx *store.Tx, org string, j *ashby.Job) error {
	apps, err := Applications.Find(ctx, tx, org, store.Filter{Parent: j.ID, IncludeArchived: true})
	if err != nil {
		return err
	}
	sum := jobSummary(j)
	for _, a := range apps {
		if a.Job == sum {
			continue
		}
		a.Job = sum
		if err := Applications.Put(ctx, tx, org, a); err != nil {
			return err
		}
	}
	return nil
}

// userEmbedders rewrite the documents of other categories that embed a
// user (interview schedules, feedback, interviewer pools …).
var userEmbedders []func(ctx context.Context, s *Service, tx *store.Tx, org string, u *ashby.User) error

// OnUserChange registers f to rewrite, in tx, documents that embed user u
// whenever u changes; categories that embed users register from init.
func OnUserChange(f func(ctx context.Context, s *Service, tx *store.Tx, org string, u *ashby.User) error) {
	userEmbedders = append(userEmbedders, f)
}

// refreshUser rewrites every document that embeds user u.
func (s *Service) refreshUser(ctx context.Context, tx *store.Tx, org string, u *ashby.User) error {
	for _, f := range userEmbedders {
		if err := f(ctx, s, tx, org, u); err != nil {
			return err
		}
	}
	member := func(m *ashby.HiringTeamMember) {
		if m.UserID == u.ID {
			m.FirstName, m.LastName, m.Email = u.FirstName, u.LastName, u.Email
		}
	}
	apps, err := Applications.ByKey(ctx, tx, org, "user", u.ID, 0)
	if err != nil {
		return err
	}
	for _, a := range apps {
		if a.CreditedToUser != nil && a.CreditedToUser.ID == u.ID {
			a.CreditedToUser = u
		}
		for i := range a.HiringTeam {
			member(&a.HiringTeam[i])
		}
		if err := Applications.Put(ctx, tx, org, a); err != nil {
			return err
		}
	}
	cands, err := Candidates.ByKey(ctx, tx, org, "user", u.ID, 0)
	if err != nil {
		return err
	}
	for _, c := range cands {
		c.CreditedToUser = u
		if err := Candidates.Put(ctx, tx, org, c); err != nil {
			return err
		}
	}
	jobs, err := Jobs.ByKey(ctx, tx, org, "user", u.ID, 0)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.Author != nil && j.Author.ID == u.ID {
			j.Author = u
		}
		for i := range j.HiringTeam {
			member(&j.HiringTeam[i])
		}
		if err := Jobs.Put(ctx, tx, org, j); err != nil {
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
