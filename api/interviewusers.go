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

	// Schedules are stored with their events (putSchedule), so they are
	// locked and rewritten here rather than through Rewrite.
	scheds, err := InterviewSchedules.ByKeyForUpdate(ctx, tx, org, "user", u.ID)
	if err != nil {
		return err
	}
	for _, sc := range scheds {
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

	if _, err := Feedback.RewriteByKey(ctx, tx, org, "user", u.ID, func(f *ashby.ApplicationFeedback) error {
		if f.SubmittedByUser.ID == u.ID {
			f.SubmittedByUser = *u
		}
		return nil
	}); err != nil {
		return err
	}

	_, err = InterviewerPools.RewriteByKey(ctx, tx, org, "user", u.ID, func(p *ashby.InterviewerPool) error {
		for i := range p.QualifiedMembers {
			if m := &p.QualifiedMembers[i]; m.ID == u.ID {
				m.User = *u
			}
		}
		for i := range p.Trainees {
			if t := &p.Trainees[i]; t.ID == u.ID {
				t.User = *u
			}
		}
		if p.TrainingPath != nil {
			for i := range p.TrainingPath.TrainingStages {
				st := &p.TrainingPath.TrainingStages[i]
				for j := range st.Approvers {
					if st.Approvers[j].ID == u.ID {
						st.Approvers[j] = *u
					}
				}
			}
		}
		return nil
	})
	return err
}
