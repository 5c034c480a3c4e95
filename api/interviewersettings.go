package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// Interviewer load limits and pauses (https://developers.ashbyhq.com/reference; choices in
// docs/interviews.md).

func init() { register((*Service).interviewerSettingsEndpoints) }

// InterviewerSettingsKind holds a user's limits, keyed by the user's id.
var InterviewerSettingsKind = store.Kind[ashby.InterviewerSettings]{Name: "interviewer_settings", Index: func(s *ashby.InterviewerSettings) store.Index {
	return store.Index{ID: s.ID}
}}

// InterviewerPauses: Parent = user; T1 = start, T2 = end (ms; none for an
// open-ended pause).
var InterviewerPauses = store.Kind[ashby.InterviewerPause]{Name: "interviewer_pause", Index: func(p *ashby.InterviewerPause) store.Index {
	return store.Index{ID: p.ID, CreatedAt: p.CreatedAt.Time, Parent: p.UserID, T1: p.StartsAt.UnixMilli(), T2: ms(p.EndsAt)}
}}

func (s *Service) interviewerSettingsEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "user.interviewerSettings", Permission: ashby.OrganizationRead, Summary: "A user's daily and weekly interview limits."}, s.interviewerSettings),
		rpc.Object(rpc.Spec{Name: "user.updateInterviewerSettings", Permission: ashby.OrganizationWrite, Summary: "Set a user's interview limits; null clears a limit, an omitted one is kept."}, s.updateInterviewerSettings),
		rpc.Object(rpc.Spec{Name: "user.createInterviewerPause", Permission: ashby.OrganizationWrite, Summary: "Pause a user from interviewing (one pause per user at a time)."}, s.createInterviewerPause),
		rpc.Object(rpc.Spec{Name: "user.deleteInterviewerPause", Permission: ashby.OrganizationWrite, Summary: "Delete an interviewer pause."}, s.deleteInterviewerPause),
		rpc.Array[ashby.InterviewerPause](rpc.Spec{Name: "user.listInterviewerPauses", Permission: ashby.OrganizationRead, Summary: "A user's interviewer pauses, earliest first."}, s.listInterviewerPauses),
	}
}

type userIDRequest struct {
	UserID ashby.ID `json:"userId" required:"true"`
}

func (s *Service) interviewerSettings(ctx context.Context, c *rpc.Call, req *userIDRequest) (rpc.Result[ashby.InterviewerSettings], error) {
	if _, err := mustExist(ctx, s.DB, Users, c.Org(), string(req.UserID), "user", "userId"); err != nil {
		return rpc.Result[ashby.InterviewerSettings]{}, err
	}
	st, err := InterviewerSettingsKind.Get(ctx, s.DB, c.Org(), string(req.UserID))
	if errors.Is(err, store.ErrNotFound) {
		return rpc.Value(&ashby.InterviewerSettings{ID: string(req.UserID)}), nil
	}
	if err != nil {
		return rpc.Result[ashby.InterviewerSettings]{}, err
	}
	return rpc.Value(st), nil
}

type updateInterviewerSettingsRequest struct {
	UserID ashby.ID `json:"userId" required:"true"`
	// Raw, to tell a limit sent as null (clear it) from one not sent.
	DailyLimit  json.RawMessage `json:"dailyLimit,omitempty" doc:"Interviews a day (1–50); null clears the limit."`
	WeeklyLimit json.RawMessage `json:"weeklyLimit,omitempty" doc:"Interviews a week (1–250); null clears the limit."`
}

// limitInput parses an optional, nullable limit: set reports whether it
// was sent; v is nil when sent as null.
func limitInput(field string, raw json.RawMessage, max int) (v *int, set bool, err error) {
	if len(raw) == 0 {
		return nil, false, nil
	}
	if string(raw) == "null" {
		return nil, true, nil
	}
	var n int
	if json.Unmarshal(raw, &n) != nil || n < 1 || n > max {
		return nil, true, ashby.InvalidInput(field, "%s must be null or an integer from 1 to %d", field, max)
	}
	return &n, true, nil
}

func (s *Service) updateInterviewerSettings(ctx context.Context, c *rpc.Call, req *updateInterviewerSettingsRequest) (rpc.Result[ashby.InterviewerSettings], error) {
	daily, dailySet, err := limitInput("dailyLimit", req.DailyLimit, 50)
	if err != nil {
		return rpc.Result[ashby.InterviewerSettings]{}, err
	}
	weekly, weeklySet, err := limitInput("weeklyLimit", req.WeeklyLimit, 250)
	if err != nil {
		return rpc.Result[ashby.InterviewerSettings]{}, err
	}
	var st *ashby.InterviewerSettings
	err = s.write(ctx, func(tx *store.Tx) error {
		if _, err := mustShare(ctx, tx, Users, c.Org(), string(req.UserID), "user", "userId"); err != nil {
			return err
		}
		var err error
		st, err = InterviewerSettingsKind.GetForUpdate(ctx, tx, c.Org(), string(req.UserID))
		if errors.Is(err, store.ErrNotFound) {
			st, err = &ashby.InterviewerSettings{ID: string(req.UserID)}, nil
		}
		if err != nil {
			return err
		}
		if dailySet {
			st.DailyLimit = daily
		}
		if weeklySet {
			st.WeeklyLimit = weekly
		}
		if st.DailyLimit != nil && st.WeeklyLimit != nil && *st.DailyLimit > *st.WeeklyLimit {
			return ashby.InvalidInput("dailyLimit", "dailyLimit (%d) cannot exceed weeklyLimit (%d)", *st.DailyLimit, *st.WeeklyLimit)
		}
		return InterviewerSettingsKind.Put(ctx, tx, c.Org(), st)
	})
	if err != nil {
		return rpc.Result[ashby.InterviewerSettings]{}, err
	}
	return rpc.Value(st), nil
}

type createPauseRequest struct {
	UserID   ashby.ID    `json:"userId" required:"true"`
	StartsAt *ashby.Time `json:"startsAt,omitempty" doc:"Default: now."`
	EndsAt   *ashby.Time `json:"endsAt,omitempty" doc:"Omit for a pause until deleted."`
	Comment  string      `json:"comment,omitempty" maxLength:"text"`
}

func (s *Service) createInterviewerPause(ctx context.Context, c *rpc.Call, req *createPauseRequest) (rpc.Result[ashby.InterviewerPause], error) {
	now := s.now()
	p := &ashby.InterviewerPause{ID: ashby.NewID(), UserID: string(req.UserID), StartsAt: now, EndsAt: req.EndsAt, CreatedAt: now}
	if req.StartsAt != nil {
		p.StartsAt = *req.StartsAt
	}
	if comment := strings.TrimSpace(req.Comment); comment != "" {
		p.Comment = &comment
	}
	if p.EndsAt != nil && !p.EndsAt.After(p.StartsAt.Time) {
		return rpc.Result[ashby.InterviewerPause]{}, ashby.InvalidInput("endsAt", "endsAt must be after startsAt")
	}
	if p.EndsAt != nil && !p.EndsAt.After(now.Time) {
		return rpc.Result[ashby.InterviewerPause]{}, ashby.InvalidInput("endsAt", "endsAt is in the past")
	}
	err := s.write(ctx, func(tx *store.Tx) error {
		// Lock the user so that two concurrent requests cannot both find
		// no pause and both create one.
		if _, err := Users.GetForUpdate(ctx, tx, c.Org(), p.UserID); err != nil {
			return notFoundField(err, "user", "userId", p.UserID)
		}
		pauses, err := InterviewerPauses.Find(ctx, tx, c.Org(), store.Filter{Parent: p.UserID})
		if err != nil {
			return err
		}
		for _, o := range pauses {
			if o.EndsAt == nil || o.EndsAt.After(now.Time) {
				return ashby.Errorf("interviewer_pause_already_exists", "User %s already has interviewer pause %s; delete it first (a user has one pause at a time)", p.UserID, o.ID)
			}
		}
		return InterviewerPauses.Put(ctx, tx, c.Org(), p)
	})
	if err != nil {
		return rpc.Result[ashby.InterviewerPause]{}, err
	}
	return rpc.Value(p), nil
}

func notFoundField(err error, what, field, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return ashby.Errorf(what+"_not_found", "%s %s does not exist (field %s)", strings.ReplaceAll(what, "_", " "), id, field)
	}
	return err
}

type pauseIDRequest struct {
	InterviewerPauseID ashby.ID `json:"interviewerPauseId" required:"true"`
}

func (s *Service) deleteInterviewerPause(ctx context.Context, c *rpc.Call, req *pauseIDRequest) (rpc.Result[ashby.InterviewerPauseID], error) {
	err := s.write(ctx, func(tx *store.Tx) error {
		return notFound(InterviewerPauses.Delete(ctx, tx, c.Org(), string(req.InterviewerPauseID)), "interviewer_pause", "Interviewer pause not found")
	})
	if err != nil {
		return rpc.Result[ashby.InterviewerPauseID]{}, err
	}
	return rpc.Value(&ashby.InterviewerPauseID{ID: string(req.InterviewerPauseID)}), nil
}

func (s *Service) listInterviewerPauses(ctx context.Context, c *rpc.Call, req *userIDRequest) (*rpc.Page, error) {
	if _, err := mustExist(ctx, s.DB, Users, c.Org(), string(req.UserID), "user", "userId"); err != nil {
		return nil, err
	}
	pauses, err := InterviewerPauses.Find(ctx, s.DB, c.Org(), store.Filter{Parent: string(req.UserID)})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(pauses, func(i, j int) bool { return pauses[i].StartsAt.Before(pauses[j].StartsAt.Time) })
	return items(pauses), nil
}

// pausedUsers returns the users of the organization paused right now.
func (s *Service) pausedUsers(ctx context.Context, q store.Q, org string) (map[string]bool, error) {
	now := store.Millis(s.DB.Now())
	rows, err := q.QueryContext(ctx, `SELECT parent_id FROM docs WHERE org_id = $1 AND kind = $2 AND t1 <= $3 AND (t2 IS NULL OR t2 > $3)`,
		org, InterviewerPauses.Name, now)
	if err != nil {
		return nil, fmt.Errorf("find paused interviewers: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// interviewerAvailability reports whether a user is paused during
// [start, end) and whether an interview then would take them over their
// daily or weekly limit, counting their other events (not eventID): those
// stored and those pending in the request being handled. Days and weeks
// are UTC calendar days and ISO weeks (Monday to Sunday).
func interviewerAvailability(ctx context.Context, q store.Q, org, userID, eventID string, start, end ashby.Time, pending []ashby.InterviewEvent) (paused, overLimit bool, err error) {
	pauses, err := InterviewerPauses.Find(ctx, q, org, store.Filter{Parent: userID})
	if err != nil {
		return false, false, err
	}
	for _, p := range pauses {
		if p.StartsAt.Before(end.Time) && (p.EndsAt == nil || p.EndsAt.After(start.Time)) {
			paused = true
		}
	}
	st, err := InterviewerSettingsKind.Get(ctx, q, org, userID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && st.DailyLimit == nil && st.WeeklyLimit == nil) {
		return paused, false, nil
	}
	if err != nil {
		return false, false, err
	}
	stored, err := InterviewEvents.ByKey(ctx, q, org, "user", userID, 0)
	if err != nil {
		return false, false, err
	}
	events := map[string]*ashby.InterviewEvent{}
	for _, e := range stored {
		events[e.ID] = e
	}
	for i := range pending {
		e := &pending[i]
		if slices.ContainsFunc(e.Interviewers, func(iv ashby.EventInterviewer) bool { return iv.ID == userID }) {
			events[e.ID] = e
		} else {
			delete(events, e.ID) // moved away from this user by the request
		}
	}
	day := func(t time.Time) string { return t.UTC().Format("2006-01-02") }
	week := func(t time.Time) string { y, w := t.UTC().ISOWeek(); return fmt.Sprint(y, "-", w) }
	daily, weekly := 1, 1 // this interview
	for _, e := range events {
		if e.ID == eventID || !e.EndTime.After(e.StartTime.Time) {
			continue // the event itself, or a feedback request (no meeting)
		}
		if day(e.StartTime.Time) == day(start.Time) {
			daily++
		}
		if week(e.StartTime.Time) == week(start.Time) {
			weekly++
		}
	}
	over := st.DailyLimit != nil && daily > *st.DailyLimit || st.WeeklyLimit != nil && weekly > *st.WeeklyLimit
	return paused, over, nil
}
