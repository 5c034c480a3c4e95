package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// Interview schedules and their events (https://developers.ashbyhq.com/reference/interviewschedulelist; choices in
// docs/interviews.md).
//
// A schedule document embeds its events, and each event is also stored on
// its own for interviewEvent.list; storeSchedule writes both in one
// transaction so they never disagree. A schedule's status is derived from
// its events and their feedback whenever it is written. The one change
// that needs no write, an event's end time passing, is applied by
// advanceSchedules before schedules are read.

func init() {
	register((*Service).interviewScheduleEndpoints)
	AddExpansion("interviewEvent", "interview", expandByID(Interviews, "interviewId"))
}

// deleteApplicationInterviews deletes a deleted application's schedules,
// their events and its feedback, which have no meaning without it.
func deleteApplicationInterviews(ctx context.Context, tx *store.Tx, org, applicationID string) error {
	scheds, err := InterviewSchedules.Find(ctx, tx, org, store.Filter{Parent: applicationID})
	if err != nil {
		return err
	}
	for _, sc := range scheds {
		for _, e := range sc.InterviewEvents {
			if err := InterviewEvents.Delete(ctx, tx, org, e.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if err := InterviewSchedules.Delete(ctx, tx, org, sc.ID); err != nil {
			return err
		}
	}
	fbs, err := Feedback.Find(ctx, tx, org, store.Filter{Parent: applicationID})
	if err != nil {
		return err
	}
	for _, f := range fbs {
		if err := Feedback.Delete(ctx, tx, org, f.ID); err != nil {
			return err
		}
	}
	return nil
}

// InterviewSchedules: Parent = application; Ref = interview stage; State =
// status; T1 and the key "due" = when a Scheduled schedule's last event
// ends (ms), the time its status moves on by itself (the key, zero-padded
// to sort as text, lets advanceSchedules find due schedules through the
// doc_keys primary key instead of scanning); Keys "user": every user it
// embeds.
var InterviewSchedules = store.Kind[ashby.InterviewSchedule]{Name: "interview_schedule", HasKeys: true, Index: func(s *ashby.InterviewSchedule) store.Index {
	idx := store.Index{ID: s.ID, CreatedAt: s.CreatedAt.Time, Parent: s.ApplicationID, Ref: s.InterviewStageID, State: s.Status}
	if s.Status == ashby.ScheduleScheduled {
		idx.T1 = lastEnd(s).UnixMilli()
		idx.Keys = append(idx.Keys, store.Key{Name: "due", Value: dueKey(idx.T1)})
	}
	if s.ScheduledBy != nil {
		idx.Keys = append(idx.Keys, store.Key{Name: "user", Value: s.ScheduledBy.ID})
	}
	for _, e := range s.InterviewEvents {
		for _, u := range e.Interviewers {
			idx.Keys = append(idx.Keys, store.Key{Name: "user", Value: u.ID})
		}
	}
	return idx
}}

// InterviewEvents: Parent = schedule; Ref = interview; Keys: interviewers.
var InterviewEvents = store.Kind[ashby.InterviewEvent]{Name: "interview_event", HasKeys: true, Index: func(e *ashby.InterviewEvent) store.Index {
	idx := store.Index{ID: e.ID, CreatedAt: e.CreatedAt.Time, Parent: e.InterviewScheduleID, Ref: e.InterviewID}
	for _, u := range e.Interviewers {
		idx.Keys = append(idx.Keys, store.Key{Name: "user", Value: u.ID})
	}
	return idx
}}

// scheduleMeta is a schedule's internal data: the API key that created it,
// which alone may update it (https://developers.ashbyhq.com/reference/interviewscheduleupdate).
type scheduleMeta struct {
	KeyID string `json:"keyId"`
}

func lastEnd(s *ashby.InterviewSchedule) time.Time {
	var t time.Time
	for _, e := range s.InterviewEvents {
		if e.EndTime.After(t) {
			t = e.EndTime.Time
		}
	}
	return t
}

func (s *Service) interviewScheduleEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "interviewSchedule.create", Permission: ashby.InterviewsWrite, Summary: "Schedule interview events for an application in its current stage."}, s.interviewScheduleCreate),
		rpc.List[ashby.InterviewSchedule](rpc.Spec{Name: "interviewSchedule.list", Permission: ashby.InterviewsRead, Summary: "List interview schedules; supports incremental sync."}, s.interviewScheduleList),
		rpc.Object(rpc.Spec{Name: "interviewSchedule.update", Permission: ashby.InterviewsWrite, Summary: "Add or update events (interviewEvent), or cancel events (interviewEventIdToCancel), of a schedule this API key created."}, s.interviewScheduleUpdate),
		rpc.Object(rpc.Spec{Name: "interviewSchedule.cancel", Permission: ashby.InterviewsWrite, Summary: "Cancel a schedule; with allowReschedule it waits to be scheduled again."}, s.interviewScheduleCancel),
		rpc.List[ashby.InterviewEvent](rpc.Spec{Name: "interviewEvent.list", Permission: ashby.InterviewsRead, Summary: "List a schedule's interview events; supports incremental sync.", Expand: ExpansionNames("interviewEvent")}, s.interviewEventList),
	}
}

type interviewerInput struct {
	Email            string `json:"email" required:"true" maxLength:"email"`
	FeedbackRequired *bool  `json:"feedbackRequired,omitempty" doc:"Default: the interview's isFeedbackRequired."`
	// Ashlar extension: the pool the interviewer sits in for, which gives
	// trainees their training role.
	InterviewerPoolID ashby.ID `json:"interviewerPoolId,omitempty" doc:"Ashlar extension: the interviewer pool the interviewer is drawn from; trainees of the pool get their training role."`
}

type eventInput struct {
	InterviewEventID ashby.ID           `json:"interviewEventId,omitempty" doc:"interviewSchedule.update only: the event to update; omit to add an event."`
	StartTime        ashby.Time         `json:"startTime" required:"true"`
	EndTime          ashby.Time         `json:"endTime" required:"true"`
	Interviewers     []interviewerInput `json:"interviewers" required:"true"`
	InterviewID      ashby.ID           `json:"interviewId,omitempty" doc:"Default: the organization's default interview."`
	ExtraData        json.RawMessage    `json:"extraData,omitempty"`
	Location         *string            `json:"location,omitempty" doc:"Ashlar extension: where the interview takes place." maxLength:"text"`
	MeetingLink      *string            `json:"meetingLink,omitempty" doc:"Ashlar extension: the video meeting URL." maxLength:"url"`
}

type scheduleCreateRequest struct {
	ApplicationID   ashby.ID     `json:"applicationId" required:"true"`
	InterviewEvents []eventInput `json:"interviewEvents" required:"true"`
}

func (s *Service) interviewScheduleCreate(ctx context.Context, c *rpc.Call, req *scheduleCreateRequest) (rpc.Result[ashby.InterviewSchedule], error) {
	if len(req.InterviewEvents) == 0 {
		return rpc.Result[ashby.InterviewSchedule]{}, ashby.InvalidInput("interviewEvents", "A schedule needs at least one interview event")
	}
	if err := s.interviewDefaultsFor(ctx, c.Org()); err != nil {
		return rpc.Result[ashby.InterviewSchedule]{}, err
	}
	var sched *ashby.InterviewSchedule
	err := s.write(ctx, func(tx *store.Tx) error {
		app, err := s.schedulableApplication(ctx, tx, c.Org(), string(req.ApplicationID))
		if err != nil {
			return err
		}
		sched, err = s.newSchedule(ctx, tx, c, app)
		if err != nil {
			return err
		}
		for i, in := range req.InterviewEvents {
			field := fmt.Sprintf("interviewEvents[%d]", i)
			if in.InterviewEventID != "" {
				return ashby.InvalidInput(field+".interviewEventId", "interviewEventId is only for interviewSchedule.update")
			}
			ev, err := s.buildEvent(ctx, tx, c, app, sched, in, field, nil)
			if err != nil {
				return err
			}
			sched.InterviewEvents = append(sched.InterviewEvents, *ev)
		}
		return s.insertSchedule(ctx, tx, c, app, sched)
	})
	if err != nil {
		return rpc.Result[ashby.InterviewSchedule]{}, err
	}
	return rpc.Value(sched), nil
}

// schedulableApplication loads an application interviews can be held for.
func (s *Service) schedulableApplication(ctx context.Context, q store.Q, org, id string) (*ashby.Application, error) {
	app, err := mustExist(ctx, q, Applications, org, id, "application", "applicationId")
	if err != nil {
		return nil, err
	}
	if app.Status == ashby.ApplicationArchived {
		return nil, ashby.Errorf("application_archived", "Application %s is archived; interviews cannot be scheduled for it", app.ID)
	}
	return app, nil
}

// newSchedule starts a schedule for an application in its current stage.
func (s *Service) newSchedule(ctx context.Context, tx *store.Tx, c *rpc.Call, app *ashby.Application) (*ashby.InterviewSchedule, error) {
	by, err := s.actingUser(ctx, tx, c)
	if err != nil {
		return nil, err
	}
	now := s.now()
	return &ashby.InterviewSchedule{ID: ashby.NewID(), Status: ashby.ScheduleScheduled, ApplicationID: app.ID,
		InterviewStageID: app.CurrentInterviewStage.ID, ScheduledBy: by, CreatedAt: now, UpdatedAt: now,
		InterviewEvents: []ashby.InterviewEvent{}}, nil
}

// insertSchedule stores a new schedule with its events, remembers the key
// that created it and emits interviewScheduleCreate and, as Ashby does,
// interviewScheduleUpdate.
func (s *Service) insertSchedule(ctx context.Context, tx *store.Tx, c *rpc.Call, app *ashby.Application, sched *ashby.InterviewSchedule) error {
	changed := map[string]bool{}
	for _, e := range sched.InterviewEvents {
		changed[e.ID] = true
	}
	if err := s.deriveStatus(ctx, tx, c.Org(), sched, changed, true); err != nil {
		return err
	}
	if err := s.putSchedule(ctx, tx, c.Org(), sched, changed); err != nil {
		return err
	}
	if err := tx.SetMeta(ctx, c.Org(), InterviewSchedules.Name, sched.ID, scheduleMeta{KeyID: c.KeyID}); err != nil {
		return err
	}
	if err := emit(ctx, tx, c.Org(), "interviewScheduleCreate", map[string]any{"interviewSchedule": sched}); err != nil {
		return err
	}
	return emitScheduleUpdate(ctx, tx, c.Org(), sched, app.Candidate.ID)
}

func emitScheduleUpdate(ctx context.Context, tx *store.Tx, org string, sched *ashby.InterviewSchedule, candidateID string) error {
	return emit(ctx, tx, org, "interviewScheduleUpdate", map[string]any{
		"interviewSchedule": ashby.InterviewScheduleUpdate{InterviewSchedule: *sched, CandidateID: candidateID}})
}

// putSchedule stores a schedule and those of its events in changed.
func (s *Service) putSchedule(ctx context.Context, tx *store.Tx, org string, sched *ashby.InterviewSchedule, changed map[string]bool) error {
	if len(changed) > 0 {
		// Event records are copies of the schedule's events, written only
		// here; lock the stored ones before overwriting them.
		if _, err := InterviewEvents.FindForUpdate(ctx, tx, org, store.Filter{Parent: sched.ID, IncludeArchived: true}); err != nil {
			return err
		}
	}
	for i := range sched.InterviewEvents {
		if e := &sched.InterviewEvents[i]; changed[e.ID] {
			if err := InterviewEvents.Put(ctx, tx, org, e); err != nil {
				return err
			}
		}
	}
	return InterviewSchedules.Put(ctx, tx, org, sched)
}

// saveSchedule re-derives a changed schedule's status, stores it and
// emits interviewScheduleUpdate.
func (s *Service) saveSchedule(ctx context.Context, tx *store.Tx, org string, sched *ashby.InterviewSchedule, changed map[string]bool, added bool) error {
	if err := s.deriveStatus(ctx, tx, org, sched, changed, added); err != nil {
		return err
	}
	sched.UpdatedAt = s.now()
	if err := s.putSchedule(ctx, tx, org, sched, changed); err != nil {
		return err
	}
	app, err := Applications.Get(ctx, tx, org, sched.ApplicationID)
	if err != nil {
		return fmt.Errorf("schedule %s application: %w", sched.ID, err)
	}
	return emitScheduleUpdate(ctx, tx, org, sched, app.Candidate.ID)
}

// deriveStatus sets each event's hasSubmittedFeedback from the feedback
// stored for it (marking events it changes in changed) and the schedule's
// status from its events:
//
//   - Cancelled stays Cancelled.
//   - NeedsScheduling (no events, or cancelled with allowReschedule) stays
//     until events are added.
//   - Scheduled while any event has yet to end.
//   - Then WaitingOnFeedback until every interviewer whose feedback is
//     required has submitted it for their event, and Complete after.
func (s *Service) deriveStatus(ctx context.Context, q store.Q, org string, sched *ashby.InterviewSchedule, changed map[string]bool, added bool) error {
	complete := true
	for i := range sched.InterviewEvents {
		e := &sched.InterviewEvents[i]
		by, err := feedbackByUser(ctx, q, org, e.ID)
		if err != nil {
			return err
		}
		if has := len(by) > 0; has != e.HasSubmittedFeedback {
			e.HasSubmittedFeedback = has
			e.UpdatedAt = s.now()
			changed[e.ID] = true
		}
		for _, iv := range e.Interviewers {
			if iv.IsFeedbackRequired && !by[iv.ID] {
				complete = false
			}
		}
	}
	switch {
	case sched.Status == ashby.ScheduleCancelled:
	case sched.Status == ashby.ScheduleNeedsScheduling && !added:
	case len(sched.InterviewEvents) == 0:
		sched.Status = ashby.ScheduleNeedsScheduling
	case lastEnd(sched).After(s.DB.Now()):
		sched.Status = ashby.ScheduleScheduled
	case complete:
		sched.Status = ashby.ScheduleComplete
	default:
		sched.Status = ashby.ScheduleWaitingOnFeedback
	}
	return nil
}

// feedbackByUser returns who has submitted feedback for an event.
func feedbackByUser(ctx context.Context, q store.Q, org, eventID string) (map[string]bool, error) {
	fbs, err := Feedback.Find(ctx, q, org, store.Filter{Ref: eventID})
	if err != nil {
		return nil, err
	}
	by := map[string]bool{}
	for _, f := range fbs {
		by[f.SubmittedByUser.ID] = true
	}
	return by, nil
}

// buildEvent validates an event input and returns the event it describes:
// a new one, or prev updated.
func (s *Service) buildEvent(ctx context.Context, tx *store.Tx, c *rpc.Call, app *ashby.Application, sched *ashby.InterviewSchedule, in eventInput, field string, prev *ashby.InterviewEvent) (*ashby.InterviewEvent, error) {
	org := c.Org()
	if !in.EndTime.After(in.StartTime.Time) {
		return nil, ashby.InvalidInput(field+".endTime", "%s.endTime must be after startTime", field)
	}
	if len(in.Interviewers) == 0 {
		return nil, ashby.InvalidInput(field+".interviewers", "An interview event needs at least one interviewer")
	}
	if err := checkObject(field+".extraData", in.ExtraData); err != nil {
		return nil, err
	}
	now := s.now()
	ev := &ashby.InterviewEvent{ID: ashby.NewID(), InterviewScheduleID: sched.ID, CreatedAt: now}
	if prev != nil {
		// Updating keeps the event's identity, feedback and anything a
		// request does not restate (the interview, where it is held).
		cp := *prev
		ev = &cp
	}
	ev.UpdatedAt, ev.StartTime, ev.EndTime = now, in.StartTime, in.EndTime
	ev.FeedbackLink = FeedbackLink(s.BaseURL, ev.ID)
	if len(in.ExtraData) > 0 {
		ev.ExtraData = nullToNil(in.ExtraData)
	}
	if in.Location != nil {
		ev.Location = optString(*in.Location)
	}
	if in.MeetingLink != nil {
		link := strings.TrimSpace(*in.MeetingLink)
		if u, err := url.Parse(link); link != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			return nil, ashby.InvalidInput(field+".meetingLink", "meetingLink must be an http or https URL")
		}
		ev.MeetingLink = optString(link)
	}

	var iv *ashby.Interview
	var err error
	switch {
	case in.InterviewID != "":
		iv, err = usableInterview(ctx, tx, org, string(in.InterviewID), app.Job.ID, field+".interviewId")
	case prev != nil:
		iv, err = Interviews.Get(ctx, tx, org, prev.InterviewID)
	default:
		iv, err = s.defaultInterview(ctx, tx, org)
	}
	if err != nil {
		return nil, err
	}
	ev.InterviewID = iv.ID

	ev.Interviewers = make([]ashby.EventInterviewer, 0, len(in.Interviewers))
	ev.InterviewerUserIDs = make([]string, 0, len(in.Interviewers))
	for j, who := range in.Interviewers {
		f := fmt.Sprintf("%s.interviewers[%d]", field, j)
		u, err := s.interviewerByEmail(ctx, tx, org, who.Email, f+".email")
		if err != nil {
			return nil, err
		}
		if slices.Contains(ev.InterviewerUserIDs, u.ID) {
			return nil, ashby.InvalidInput(f+".email", "%s is listed twice as an interviewer", who.Email)
		}
		ei := ashby.EventInterviewer{User: *u, IsFeedbackRequired: boolOr(who.FeedbackRequired, iv.IsFeedbackRequired)}
		if who.InterviewerPoolID != "" {
			if ei.InterviewerPool, ei.TrainingRole, err = poolSeat(ctx, tx, org, string(who.InterviewerPoolID), u.ID, f+".interviewerPoolId"); err != nil {
				return nil, err
			}
		}
		ev.Interviewers = append(ev.Interviewers, ei)
		ev.InterviewerUserIDs = append(ev.InterviewerUserIDs, u.ID)
		// Availability is advice, not a rule: Ashby's limits and pauses
		// steer its scheduling suggestions, while a schedule made through
		// the API is taken as decided. The caller is told in warnings.
		paused, over, err := interviewerAvailability(ctx, tx, org, u.ID, ev.ID, ev.StartTime, ev.EndTime, sched.InterviewEvents)
		if err != nil {
			return nil, err
		}
		if paused {
			c.Warn("interviewer_paused")
		}
		if over {
			c.Warn("interviewer_limit_exceeded")
		}
	}
	return ev, nil
}

func optString(s string) *string {
	if s = strings.TrimSpace(s); s == "" {
		return nil
	}
	return &s
}

// interviewerByEmail finds the enabled user of the organization with an email.
func (s *Service) interviewerByEmail(ctx context.Context, q store.Q, org, email, field string) (*ashby.User, error) {
	u, err := Users.FindOne(ctx, q, org, store.Filter{Search: lc(email), IncludeArchived: true})
	if errors.Is(err, store.ErrNotFound) {
		e := ashby.Errorf("user_not_found", "No user of the organization has the email %q (field %s)", email, field)
		e.Meta = map[string]any{"field": field}
		return nil, e
	}
	if err != nil {
		return nil, err
	}
	if !u.IsEnabled {
		return nil, ashby.InvalidInput(field, "User %s is deactivated and cannot interview", email)
	}
	return u, nil
}

type scheduleListRequest struct {
	rpc.SyncParams
	CreatedAfter     int64    `json:"createdAfter,omitempty" doc:"Epoch milliseconds."`
	ApplicationID    ashby.ID `json:"applicationId,omitempty"`
	InterviewStageID ashby.ID `json:"interviewStageId,omitempty"`
}

func (s *Service) interviewScheduleList(ctx context.Context, c *rpc.Call, req *scheduleListRequest) (*rpc.Page, error) {
	if err := s.advanceSchedules(ctx, c.Org()); err != nil {
		return nil, err
	}
	spec := listSpec(c, InterviewSchedules.Name, req.SyncParams)
	spec.CreatedAfter = req.CreatedAfter
	spec.Filter.Parent = string(req.ApplicationID)
	spec.Filter.Ref = string(req.InterviewStageID)
	return s.listPage(ctx, spec)
}

// advanceSchedules moves Scheduled schedules whose last event has ended
// on to WaitingOnFeedback or Complete, storing the change (so that
// incremental sync reports it) and emitting interviewScheduleUpdate. It
// runs before schedules are listed; AdvanceInterviewSchedules runs it for
// every organization, for a periodic job.
func (s *Service) advanceSchedules(ctx context.Context, org string) error {
	for range 100 { // bounded: each pass moves up to 200 schedules
		due, err := s.dueSchedules(ctx, org, 200)
		if err != nil || len(due) == 0 {
			return err
		}
		err = s.write(ctx, func(tx *store.Tx) error {
			for _, id := range due {
				sched, err := InterviewSchedules.GetForUpdate(ctx, tx, org, id)
				if errors.Is(err, store.ErrNotFound) {
					continue // deleted since
				}
				if err != nil {
					return err
				}
				if sched.Status != ashby.ScheduleScheduled || lastEnd(sched).After(s.DB.Now()) {
					continue // changed since
				}
				if err := s.saveSchedule(ctx, tx, org, sched, map[string]bool{}, false); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("advance interview schedules: %w", err)
		}
		if len(due) < 200 {
			return nil
		}
	}
	return nil
}

func dueKey(ms int64) string { return fmt.Sprintf("%013d", max(ms, 0)) }

func (s *Service) dueSchedules(ctx context.Context, org string, limit int) ([]string, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT id FROM doc_keys WHERE org_id = $1 AND kind = $2 AND name = 'due' AND value <= $3 ORDER BY value, id LIMIT $4`,
		org, InterviewSchedules.Name, dueKey(store.Millis(s.DB.Now())), limit)
	if err != nil {
		return nil, fmt.Errorf("find due interview schedules: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// AdvanceInterviewSchedules applies time-driven status changes (see
// advanceSchedules) in every organization. A server may call it
// periodically so that interviewScheduleUpdate webhooks fire when
// interviews end, not only when schedules are next read.
func (s *Service) AdvanceInterviewSchedules(ctx context.Context) error {
	orgs, err := s.DB.Orgs(ctx)
	if err != nil {
		return err
	}
	for _, o := range orgs {
		if err := s.advanceSchedules(ctx, o.ID); err != nil {
			return fmt.Errorf("organization %s: %w", o.Slug, err)
		}
	}
	return nil
}

type scheduleUpdateRequest struct {
	InterviewScheduleID      ashby.ID                    `json:"interviewScheduleId" required:"true"`
	InterviewEvent           ashby.OneOrMany[eventInput] `json:"interviewEvent,omitempty" doc:"One event or an array: with interviewEventId to update that event, without to add one."`
	InterviewEventIDToCancel ashby.OneOrMany[ashby.ID]   `json:"interviewEventIdToCancel,omitempty" doc:"One event id or an array of them to cancel."`
	AllowFeedbackDeletion    bool                        `json:"allowFeedbackDeletion,omitempty" doc:"Needed to cancel events with submitted feedback; that feedback is deleted."`
}

func (s *Service) interviewScheduleUpdate(ctx context.Context, c *rpc.Call, req *scheduleUpdateRequest) (rpc.Result[ashby.InterviewSchedule], error) {
	adding, cancelling := len(req.InterviewEvent) > 0, len(req.InterviewEventIDToCancel) > 0
	if adding == cancelling {
		return rpc.Result[ashby.InterviewSchedule]{}, ashby.InvalidInput("interviewEvent", "Give either interviewEvent (to add or update events) or interviewEventIdToCancel, not both")
	}
	if adding {
		if err := s.interviewDefaultsFor(ctx, c.Org()); err != nil {
			return rpc.Result[ashby.InterviewSchedule]{}, err
		}
	}
	var sched *ashby.InterviewSchedule
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		sched, err = InterviewSchedules.GetForUpdate(ctx, tx, c.Org(), string(req.InterviewScheduleID))
		if err != nil {
			return notFound(err, "interview_schedule", "Interview schedule not found")
		}
		var meta scheduleMeta
		if _, err := store.GetMeta(ctx, tx, c.Org(), InterviewSchedules.Name, sched.ID, &meta); err != nil {
			return err
		}
		if meta.KeyID != c.KeyID {
			return ashby.Errorf("interview_schedule_update_not_allowed", "Interview schedule %s was not created by this API key; only schedules created by the same API key can be updated", sched.ID)
		}
		if sched.Status == ashby.ScheduleCancelled {
			return ashby.Errorf("interview_schedule_cancelled", "Interview schedule %s is cancelled", sched.ID)
		}
		if cancelling {
			return s.cancelEvents(ctx, tx, c.Org(), sched, req.InterviewEventIDToCancel, req.AllowFeedbackDeletion)
		}
		app, err := Applications.Get(ctx, tx, c.Org(), sched.ApplicationID)
		if err != nil {
			return err
		}
		changed, added := map[string]bool{}, false
		for i, in := range req.InterviewEvent {
			field := "interviewEvent"
			if len(req.InterviewEvent) > 1 {
				field = fmt.Sprintf("interviewEvent[%d]", i)
			}
			var prev *ashby.InterviewEvent
			at := -1
			if in.InterviewEventID != "" {
				at = slices.IndexFunc(sched.InterviewEvents, func(e ashby.InterviewEvent) bool { return e.ID == string(in.InterviewEventID) })
				if at < 0 {
					return ashby.Errorf("interview_event_not_found", "Interview event %s is not part of schedule %s (field %s.interviewEventId)", in.InterviewEventID, sched.ID, field)
				}
				prev = &sched.InterviewEvents[at]
			}
			ev, err := s.buildEvent(ctx, tx, c, app, sched, in, field, prev)
			if err != nil {
				return err
			}
			if at >= 0 {
				sched.InterviewEvents[at] = *ev
			} else {
				sched.InterviewEvents = append(sched.InterviewEvents, *ev)
				added = true
			}
			changed[ev.ID] = true
		}
		return s.saveSchedule(ctx, tx, c.Org(), sched, changed, added)
	})
	if err != nil {
		return rpc.Result[ashby.InterviewSchedule]{}, err
	}
	return rpc.Value(sched), nil
}

// cancelEvents removes events from a schedule. Events with submitted
// feedback are only cancelled with allowFeedbackDeletion, and their
// feedback is deleted with them.
func (s *Service) cancelEvents(ctx context.Context, tx *store.Tx, org string, sched *ashby.InterviewSchedule, ids []ashby.ID, allowFeedbackDeletion bool) error {
	for i, id := range ids {
		field := "interviewEventIdToCancel"
		if len(ids) > 1 {
			field = fmt.Sprintf("interviewEventIdToCancel[%d]", i)
		}
		at := slices.IndexFunc(sched.InterviewEvents, func(e ashby.InterviewEvent) bool { return e.ID == string(id) })
		if at < 0 {
			return ashby.Errorf("interview_event_not_found", "Interview event %s is not part of schedule %s (field %s)", id, sched.ID, field)
		}
		if err := s.deleteEvent(ctx, tx, org, &sched.InterviewEvents[at], allowFeedbackDeletion, field); err != nil {
			return err
		}
		sched.InterviewEvents = slices.Delete(sched.InterviewEvents, at, at+1)
	}
	return s.saveSchedule(ctx, tx, org, sched, map[string]bool{}, false)
}

// deleteEvent deletes an event and, when allowed, its feedback.
func (s *Service) deleteEvent(ctx context.Context, tx *store.Tx, org string, e *ashby.InterviewEvent, allowFeedbackDeletion bool, field string) error {
	fbs, err := Feedback.Find(ctx, tx, org, store.Filter{Ref: e.ID})
	if err != nil {
		return err
	}
	if len(fbs) > 0 && !allowFeedbackDeletion {
		return ashby.InvalidInput("allowFeedbackDeletion", "Interview event %s (%s) has submitted feedback; pass allowFeedbackDeletion: true to cancel it and delete the feedback", e.ID, field)
	}
	for _, f := range fbs {
		if err := Feedback.Delete(ctx, tx, org, f.ID); err != nil {
			return err
		}
	}
	if err := InterviewEvents.Delete(ctx, tx, org, e.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

type scheduleCancelRequest struct {
	ID              ashby.ID `json:"id" required:"true"`
	AllowReschedule bool     `json:"allowReschedule,omitempty" doc:"Leave the schedule waiting to be scheduled again (NeedsScheduling) instead of Cancelled."`
}

func (s *Service) interviewScheduleCancel(ctx context.Context, c *rpc.Call, req *scheduleCancelRequest) (rpc.Result[ashby.InterviewSchedule], error) {
	var sched *ashby.InterviewSchedule
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		sched, err = InterviewSchedules.GetForUpdate(ctx, tx, c.Org(), string(req.ID))
		if err != nil {
			return notFound(err, "interview_schedule", "Interview schedule not found")
		}
		if sched.Status == ashby.ScheduleCancelled {
			return nil // already cancelled: nothing to do
		}
		// Events that already have feedback took place: they stay, with
		// their feedback, as the record of what happened. The others go.
		kept := sched.InterviewEvents[:0]
		for _, e := range sched.InterviewEvents {
			if e.HasSubmittedFeedback {
				kept = append(kept, e)
				continue
			}
			if err := s.deleteEvent(ctx, tx, c.Org(), &e, false, "id"); err != nil {
				return err
			}
		}
		sched.InterviewEvents = kept
		sched.Status = ashby.ScheduleCancelled
		if req.AllowReschedule {
			sched.Status = ashby.ScheduleNeedsScheduling
		}
		return s.saveSchedule(ctx, tx, c.Org(), sched, map[string]bool{}, false)
	})
	if err != nil {
		return rpc.Result[ashby.InterviewSchedule]{}, err
	}
	return rpc.Value(sched), nil
}

type eventListRequest struct {
	rpc.SyncParams
	rpc.ExpandParam
	InterviewScheduleID ashby.ID `json:"interviewScheduleId" required:"true"`
	CreatedAfter        int64    `json:"createdAfter,omitempty" doc:"Epoch milliseconds."`
}

func (s *Service) interviewEventList(ctx context.Context, c *rpc.Call, req *eventListRequest) (*rpc.Page, error) {
	if _, err := mustExist(ctx, s.DB, InterviewSchedules, c.Org(), string(req.InterviewScheduleID), "interview_schedule", "interviewScheduleId"); err != nil {
		return nil, err
	}
	spec := listSpec(c, InterviewEvents.Name, req.SyncParams)
	spec.Filter.Parent = string(req.InterviewScheduleID)
	spec.CreatedAfter = req.CreatedAfter
	p, err := s.DB.List(ctx, spec)
	if err != nil {
		return nil, err
	}
	if err := s.expand(ctx, c.Org(), p.Docs, req.Expand, "interviewEvent"); err != nil {
		return nil, err
	}
	return page(p), nil
}
