package api

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// interviewBriefing.info: what an interviewer needs for one interview
// event, computed from the event, its schedule and the feedback given.

func init() {
	register((*Service).interviewBriefingEndpoints)
	AddExpansion("interviewBriefing", "feedbackFormDefinition", expandByID(FeedbackForms, "feedbackFormDefinitionId"))
	AddExpansion("interviewBriefing", "application", expandByID(Applications, "applicationId"))
	AddExpansion("interviewBriefing", "interview", expandByID(Interviews, "interviewId"))
	AddExpansion("interviewBriefing", "candidate", expandViaApplication(func(a *ashby.Application) string { return a.Candidate.ID }, Candidates))
	AddExpansion("interviewBriefing", "job", expandViaApplication(func(a *ashby.Application) string { return a.Job.ID }, Jobs))
}

// expandViaApplication expands a briefing's applicationId into a record
// the application refers to (its candidate or job).
func expandViaApplication[T any](ref func(*ashby.Application) string, k store.Kind[T]) expander {
	return func(ctx context.Context, s *Service, org string, docs [][]byte) ([][]byte, error) {
		out := make([][]byte, len(docs))
		for i, appID := range field(docs, "applicationId") {
			app, err := Applications.Get(ctx, s.DB, org, appID)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			raw, err := k.GetRaw(ctx, s.DB, org, ref(app))
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out[i] = raw
		}
		return out, nil
	}
}

// briefingInterviewers is the expansion that fills each interviewer's
// user; it is applied inside the interviewers array, not spliced at the top.
const briefingInterviewers = "interviewers"

func (s *Service) interviewBriefingEndpoints() []*rpc.Endpoint {
	exp := append(ExpansionNames("interviewBriefing"), briefingInterviewers)
	slices.Sort(exp)
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "interviewBriefing.info", Permission: ashby.InterviewsRead, Summary: "An interview event's briefing: its interviewers, their feedback and the feedback form.", Expand: exp}, s.interviewBriefingInfo),
	}
}

type briefingRequest struct {
	InterviewEventID ashby.ID `json:"interviewEventId" required:"true"`
	rpc.ExpandParam
}

func (s *Service) interviewBriefingInfo(ctx context.Context, c *rpc.Call, req *briefingRequest) (rpc.Result[ashby.InterviewBriefing], error) {
	org := c.Org()
	ev, err := InterviewEvents.Get(ctx, s.DB, org, string(req.InterviewEventID))
	if err != nil {
		return rpc.Result[ashby.InterviewBriefing]{}, notFound(err, "interview_event", "Interview event not found")
	}
	sched, err := InterviewSchedules.Get(ctx, s.DB, org, ev.InterviewScheduleID)
	if err != nil {
		return rpc.Result[ashby.InterviewBriefing]{}, fmt.Errorf("interview event %s schedule: %w", ev.ID, err)
	}
	iv, err := Interviews.Get(ctx, s.DB, org, ev.InterviewID)
	if err != nil {
		return rpc.Result[ashby.InterviewBriefing]{}, fmt.Errorf("interview event %s interview: %w", ev.ID, err)
	}
	by, err := feedbackByUser(ctx, s.DB, org, ev.ID)
	if err != nil {
		return rpc.Result[ashby.InterviewBriefing]{}, err
	}
	var users map[string]*ashby.User
	if req.Expands(briefingInterviewers) {
		if users, err = Users.GetMany(ctx, s.DB, org, ev.InterviewerUserIDs); err != nil {
			return rpc.Result[ashby.InterviewBriefing]{}, err
		}
	}
	b := &ashby.InterviewBriefing{ID: ev.ID, ApplicationID: sched.ApplicationID, InterviewID: ev.InterviewID, InterviewStageID: sched.InterviewStageID,
		Interviewers: make([]ashby.BriefingInterviewer, 0, len(ev.Interviewers)), HasSubmittedFeedback: ev.HasSubmittedFeedback,
		FeedbackFormDefinitionID: iv.FeedbackFormDefinitionID}
	for _, ei := range ev.Interviewers {
		bi := ashby.BriefingInterviewer{UserID: ei.ID, IsFeedbackRequired: ei.IsFeedbackRequired, HasSubmittedFeedback: by[ei.ID],
			TrainingRole: ei.TrainingRole, InterviewerPool: ei.InterviewerPool}
		if u, ok := users[ei.ID]; ok {
			bi.User = u
		} else if users != nil {
			u := ei.User // the user is gone: show them as they were
			bi.User = &u
		}
		b.Interviewers = append(b.Interviewers, bi)
	}
	docs := [][]byte{mustJSON(b)}
	if err := s.expand(ctx, org, docs, req.Expand, "interviewBriefing"); err != nil {
		return rpc.Result[ashby.InterviewBriefing]{}, err
	}
	return rpc.Raw[ashby.InterviewBriefing](docs[0]), nil
}
