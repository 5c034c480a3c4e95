package api

import (
	"context"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
)

// Interview schedules and events, feedback and interviewer pools embed
// users; when a user changes (a new name or email, deactivation), the
// documents that embed them are rewritten in the same transaction, so
// that lists stay consistent and incremental sync reports the change.

func init() { OnUserChange(refreshInterviewUsers) }

func refreshInterviewUsers(ctx context.Context, s *Service, tx *store.Tx, org string, u *ashby.User) error {
	same := func(v ashby.User) bool { return string(mustJSON(v)) == string(mustJSON(*u)) }

	scheds, err := InterviewSchedules.ByKey(ctx, tx, org, "user", u.ID, 0)
	if err != nil {
		return err
	}
	for _, found := range scheds {
		// Locked and read again (as in every refresh below): writing back
		// the copy ByKey returned would undo a change committed meanwhile.
		sc, err := InterviewSchedules.GetForUpdate(ctx, tx, org, found.ID)
		if err != nil {
			return err
		}
		changed := false
		events := map[string]bool{}
		if sc.ScheduledBy != nil && sc.ScheduledBy.ID == u.ID && !same(*sc.ScheduledBy) {
			cp := *u
			sc.ScheduledBy, changed = &cp, true
		}
		for i := range sc.InterviewEvents {
			e := &sc.InterviewEvents[i]
			for j := range e.Interviewers {
				if e.Interviewers[j].ID == u.ID && !same(e.Interviewers[j].User) {
					e.Interviewers[j].User = *u
					events[e.ID] = true
				}
			}
		}
		if changed || len(events) > 0 {
			if err := s.putSchedule(ctx, tx, org, sc, events); err != nil {
				return err
			}
		}
	}

	fbs, err := Feedback.ByKey(ctx, tx, org, "user", u.ID, 0)
	if err != nil {
		return err
	}
	for _, f := range fbs {
		if f.SubmittedByUser.ID == u.ID && !same(f.SubmittedByUser) {
			f.SubmittedByUser = *u
			if err := Feedback.Put(ctx, tx, org, f); err != nil {
				return err
			}
		}
	}

	pools, err := InterviewerPools.ByKey(ctx, tx, org, "user", u.ID, 0)
	if err != nil {
		return err
	}
	for _, found := range pools {
		p, err := InterviewerPools.GetForUpdate(ctx, tx, org, found.ID)
		if err != nil {
			return err
		}
		changed := false
		for i := range p.QualifiedMembers {
			if m := &p.QualifiedMembers[i]; m.ID == u.ID && !same(m.User) {
				m.User, changed = *u, true
			}
		}
		for i := range p.Trainees {
			if t := &p.Trainees[i]; t.ID == u.ID && !same(t.User) {
				t.User, changed = *u, true
			}
		}
		if p.TrainingPath != nil {
			for i := range p.TrainingPath.TrainingStages {
				st := &p.TrainingPath.TrainingStages[i]
				for j := range st.Approvers {
					if st.Approvers[j].ID == u.ID && !same(st.Approvers[j]) {
						st.Approvers[j], changed = *u, true
					}
				}
			}
		}
		if changed {
			if err := InterviewerPools.Put(ctx, tx, org, p); err != nil {
				return err
			}
		}
	}
	return nil
}
