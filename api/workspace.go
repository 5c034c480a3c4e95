package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/jsonscan"
	"github.com/ashlarhq/ashlar/store"
)

// Read models of the recruiter's workspace (package webapp): a job's
// pipeline, the jobs list's counts, the review queue and an
// interviewer's interviews. No endpoint returns these, and the pipeline
// must render fast for a job with thousands of applications, so they
// read the store directly: a few queries per page instead of one per
// application, and documents decoded only as far as a card needs. The
// pages that call them check the signed-in user's role first.

// PipelineCard is an application as a pipeline card shows it.
type PipelineCard struct {
	ApplicationID  string
	CandidateID    string
	Name           string
	Status         string
	StageID        string
	SourceID       string
	Source         string
	Tags           []ashby.CandidateTag
	CreatedAt      time.Time
	EnteredStageAt time.Time
	ArchiveReason  string
}

// PipelineColumn is one stage of a pipeline and its cards.
type PipelineColumn struct {
	Stage ashby.InterviewStage
	Cards []PipelineCard
}

// Pipeline is a job's applications by stage.
type Pipeline struct {
	Job     *ashby.Job
	Columns []PipelineColumn
	// Stages are the stages an application can be moved to (the job's
	// plans' stages, in plan order).
	Stages []ashby.InterviewStage
	// Sources and Tags are those found on the job's cards (for filters).
	Sources []ashby.Source
	Tags    []ashby.CandidateTag
	// Total counts the cards shown; Hidden the ones the filters hid.
	Total, Hidden int
}

// PipelineFilter narrows a pipeline.
type PipelineFilter struct {
	StageID, SourceID, TagID string
	IncludeArchived          bool
}

// slimApplication is the part of an application document a card needs.
type slimApplication struct {
	ID, Status, CandidateID, Name, StageID string
	SourceID, Source, ArchiveReason        string
	CreatedAt                              time.Time
}

// decodeSlim reads a card's fields from an application document with
// jsonscan, skipping the rest: for thousands of documents, encoding/json's
// full decode was most of the pipeline's time.
func decodeSlim(doc []byte, a *slimApplication) error {
	var err error
	str := func(v []byte) string {
		s, e := jsonscan.String(v)
		if e != nil && err == nil {
			err = e
		}
		return s
	}
	sub := func(v []byte, fn func(name, value []byte)) {
		if !jsonscan.IsObject(v) {
			return
		}
		if e := jsonscan.Members(v, func(n, x []byte) bool { fn(n, x); return true }); e != nil && err == nil {
			err = e
		}
	}
	if e := jsonscan.Members(doc, func(name, v []byte) bool {
		switch string(name) {
		case "id":
			a.ID = str(v)
		case "status":
			a.Status = str(v)
		case "createdAt":
			t, e := time.Parse(time.RFC3339Nano, str(v))
			if e != nil && err == nil {
				err = e
			}
			a.CreatedAt = t.UTC()
		case "candidate":
			sub(v, func(n, x []byte) {
				switch string(n) {
				case "id":
					a.CandidateID = str(x)
				case "name":
					a.Name = str(x)
				}
			})
		case "currentInterviewStage":
			sub(v, func(n, x []byte) {
				if string(n) == "id" {
					a.StageID = str(x)
				}
			})
		case "source":
			sub(v, func(n, x []byte) {
				switch string(n) {
				case "id":
					a.SourceID = str(x)
				case "title":
					a.Source = str(x)
				}
			})
		case "archiveReason":
			sub(v, func(n, x []byte) {
				if string(n) == "text" {
					a.ArchiveReason = str(x)
				}
			})
		}
		return true
	}); e != nil {
		return e
	}
	return err
}

// Pipeline returns a job's applications grouped by stage: every stage of
// the job's interview plans, in plan order (the Archived stage only with
// IncludeArchived).
func (s *Service) Pipeline(ctx context.Context, org, jobID string, f PipelineFilter) (*Pipeline, error) {
	job, err := Jobs.Get(ctx, s.DB, org, jobID)
	if err != nil {
		return nil, notFound(err, "job", "Job not found")
	}
	p := &Pipeline{Job: job}
	if p.Stages, err = s.jobStages(ctx, org, job); err != nil {
		return nil, err
	}
	states := []string{ashby.ApplicationLead, ashby.ApplicationActive, ashby.ApplicationHired}
	if f.IncludeArchived {
		states = append(states, ashby.ApplicationArchived)
	}
	docs, err := Applications.FindRaw(ctx, s.DB, org, store.Filter{Parent: job.ID, State: states})
	if err != nil {
		return nil, err
	}
	apps := make([]slimApplication, len(docs))
	for i, d := range docs {
		if err := decodeSlim(d, &apps[i]); err != nil {
			return nil, fmt.Errorf("application document: %w", err)
		}
	}
	appIDs, candIDs := make([]string, len(apps)), make([]string, len(apps))
	for i := range apps {
		appIDs[i], candIDs[i] = apps[i].ID, apps[i].CandidateID
	}
	entered, err := s.enteredStages(ctx, org, appIDs)
	if err != nil {
		return nil, err
	}
	tags, err := s.candidateTags(ctx, org, candIDs)
	if err != nil {
		return nil, err
	}

	byStage := map[string]int{}
	for _, st := range p.Stages {
		if st.Type == ashby.StageArchived && !f.IncludeArchived {
			continue
		}
		byStage[st.ID] = len(p.Columns)
		p.Columns = append(p.Columns, PipelineColumn{Stage: st})
	}
	sources, tagSeen := map[string]ashby.Source{}, map[string]ashby.CandidateTag{}
	for i := range apps {
		a := &apps[i]
		c := PipelineCard{ApplicationID: a.ID, CandidateID: a.CandidateID, Name: a.Name, Status: a.Status, StageID: a.StageID,
			CreatedAt: a.CreatedAt, EnteredStageAt: entered[a.ID], Tags: tags[a.CandidateID], SourceID: a.SourceID, Source: a.Source,
			ArchiveReason: a.ArchiveReason}
		if c.EnteredStageAt.IsZero() {
			c.EnteredStageAt = c.CreatedAt
		}
		if a.SourceID != "" {
			sources[a.SourceID] = ashby.Source{ID: a.SourceID, Title: a.Source}
		}
		for _, t := range c.Tags {
			tagSeen[t.ID] = t
		}
		if f.StageID != "" && c.StageID != f.StageID || f.SourceID != "" && c.SourceID != f.SourceID ||
			f.TagID != "" && !slices.ContainsFunc(c.Tags, func(t ashby.CandidateTag) bool { return t.ID == f.TagID }) {
			p.Hidden++
			continue
		}
		col, ok := byStage[c.StageID]
		if !ok {
			// A stage of a plan the job no longer uses (or an archived
			// application while archived ones are hidden): its own column.
			st, err := InterviewStages.Get(ctx, s.DB, org, c.StageID)
			if err != nil {
				st = &ashby.InterviewStage{ID: c.StageID, Title: "Other stage"}
			}
			col = len(p.Columns)
			byStage[c.StageID] = col
			p.Columns = append(p.Columns, PipelineColumn{Stage: *st})
		}
		p.Columns[col].Cards = append(p.Columns[col].Cards, c)
		p.Total++
	}
	for _, src := range sources {
		p.Sources = append(p.Sources, src)
	}
	slices.SortFunc(p.Sources, func(a, b ashby.Source) int { return strings.Compare(a.Title, b.Title) })
	for _, t := range tagSeen {
		p.Tags = append(p.Tags, t)
	}
	slices.SortFunc(p.Tags, func(a, b ashby.CandidateTag) int { return strings.Compare(a.Title, b.Title) })
	return p, nil
}

// jobStages returns the stages of a job's interview plans, the default
// plan first, each in plan order.
func (s *Service) jobStages(ctx context.Context, org string, job *ashby.Job) ([]ashby.InterviewStage, error) {
	plans := []string{}
	if job.DefaultInterviewPlanID != "" {
		plans = append(plans, job.DefaultInterviewPlanID)
	}
	for _, id := range job.InterviewPlanIDs {
		if !slices.Contains(plans, id) {
			plans = append(plans, id)
		}
	}
	var out []ashby.InterviewStage
	for _, plan := range plans {
		st, err := InterviewStages.Find(ctx, s.DB, org, store.Filter{Parent: plan})
		if err != nil {
			return nil, err
		}
		slices.SortStableFunc(st, func(a, b *ashby.InterviewStage) int { return a.OrderInInterviewPlan - b.OrderInInterviewPlan })
		for _, x := range st {
			out = append(out, *x)
		}
	}
	return out, nil
}

// JobStages returns the stages of a job's interview plans in plan order.
func (s *Service) JobStages(ctx context.Context, org, jobID string) ([]ashby.InterviewStage, error) {
	job, err := Jobs.Get(ctx, s.DB, org, jobID)
	if err != nil {
		return nil, notFound(err, "job", "Job not found")
	}
	return s.jobStages(ctx, org, job)
}

// inList is SQL that col is one of the ids passed as a JSON array in
// parameter n: thousands of ids travel as one parameter. PostgreSQL
// plans the IN (set-returning function) as a hashed semi-join that
// probes col's index once per id. (col = ANY(ARRAY(SELECT …)) instead
// compared every row with every id: 450 ms for the stage entries of
// 2,000 applications.) Both engines plan it well once the tables have
// statistics, which a serving Ashlar keeps (store.Maintain).
func (s *Service) inList(col string, n int) string {
	if s.DB.Engine() == store.Postgres {
		return fmt.Sprintf("%s IN (SELECT jsonb_array_elements_text(CAST($%d AS jsonb)))", col, n)
	}
	return fmt.Sprintf("%s IN (SELECT value FROM json_each($%d))", col, n)
}

// keysByID names doc_keys for a probe by (org_id, kind, id, name). Without
// statistics SQLite prefers the primary key's (org_id, kind, name) prefix
// to the doc_keys_id index, and so scanned every key of that name for
// each row probed: the jobs list of a job with 2,000 applications took
// 200 ms of CPU.
func (s *Service) keysByID(alias string) string {
	if s.DB.Engine() == store.SQLite {
		return "doc_keys " + alias + " INDEXED BY doc_keys_id"
	}
	return "doc_keys " + alias
}

func jsonList(ids []string) string {
	if ids == nil {
		ids = []string{}
	}
	b, _ := json.Marshal(ids)
	return string(b)
}

// enteredStages returns when each application entered its current stage:
// the entry of its last history item (the highest stage number, kept in
// the history rows' created_at column).
func (s *Service) enteredStages(ctx context.Context, org string, appIDs []string) (map[string]time.Time, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT parent_id, created_at, t1 FROM docs WHERE org_id = $1 AND kind = 'application_history' AND `+s.inList("parent_id", 2),
		org, jsonList(appIDs))
	if err != nil {
		return nil, fmt.Errorf("stage entries: %w", err)
	}
	defer rows.Close()
	type last struct{ number, at int64 }
	seen := map[string]last{}
	for rows.Next() {
		var app string
		var number, at int64
		if err := rows.Scan(&app, &number, &at); err != nil {
			return nil, err
		}
		if l, ok := seen[app]; !ok || number >= l.number {
			seen[app] = last{number, at}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make(map[string]time.Time, len(seen))
	for app, l := range seen {
		out[app] = time.UnixMilli(l.at).UTC()
	}
	return out, nil
}

// candidateTags returns the tags of candidates, from their tag keys.
func (s *Service) candidateTags(ctx context.Context, org string, candIDs []string) (map[string][]ashby.CandidateTag, error) {
	all, err := CandidateTags.Find(ctx, s.DB, org, store.Filter{IncludeArchived: true})
	if err != nil {
		return nil, err
	}
	byID := make(map[string]ashby.CandidateTag, len(all))
	for _, t := range all {
		byID[t.ID] = *t
	}
	out := map[string][]ashby.CandidateTag{}
	if len(byID) == 0 {
		return out, nil
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT id, value FROM doc_keys WHERE org_id = $1 AND kind = 'candidate' AND name = 'tag' AND `+s.inList("id", 2),
		org, jsonList(candIDs))
	if err != nil {
		return nil, fmt.Errorf("candidate tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var cand, tag string
		if err := rows.Scan(&cand, &tag); err != nil {
			return nil, err
		}
		if t, ok := byID[tag]; ok {
			out[cand] = append(out[cand], t)
		}
	}
	for _, ts := range out {
		slices.SortFunc(ts, func(a, b ashby.CandidateTag) int { return strings.Compare(a.Title, b.Title) })
	}
	return out, rows.Err()
}

// JobCounts is what the jobs list shows of a job's applications.
type JobCounts struct {
	// ByStage counts the applications that are not archived, by stage id.
	ByStage  map[string]int
	Archived int
	// Hired counts hired applications (also in ByStage).
	Hired int
	// New counts applications created since the time asked for.
	New int
}

// JobsCounts counts the applications of the given jobs.
func (s *Service) JobsCounts(ctx context.Context, org string, jobIDs []string, since time.Time) (map[string]*JobCounts, error) {
	out := make(map[string]*JobCounts, len(jobIDs))
	if len(jobIDs) == 0 {
		return out, nil
	}
	args := []any{org}
	ph := make([]string, len(jobIDs))
	for i, id := range jobIDs {
		out[id] = &JobCounts{ByStage: map[string]int{}}
		args = append(args, id)
		ph[i] = fmt.Sprintf("$%d", len(args))
	}
	in := strings.Join(ph, ",")
	// The stage key is read per application (a probe of doc_keys by id),
	// not joined: without planner statistics PostgreSQL joined the two
	// as a nested loop over every key of the kind (and SQLite needs
	// keysByID's hint for the probe).
	rows, err := s.DB.QueryContext(ctx, `SELECT d.parent_id, d.state, COALESCE((SELECT k.value FROM `+s.keysByID("k")+` WHERE k.org_id = d.org_id AND k.kind = d.kind AND k.id = d.id AND k.name = 'stage'), ''), COUNT(*)
		FROM docs d WHERE d.org_id = $1 AND d.kind = 'application' AND d.parent_id IN (`+in+`)
		GROUP BY 1, 2, 3`, args...)
	if err != nil {
		return nil, fmt.Errorf("count applications: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var job, state, stage string
		var n int
		if err := rows.Scan(&job, &state, &stage, &n); err != nil {
			return nil, err
		}
		c := out[job]
		if c == nil {
			continue
		}
		switch state {
		case ashby.ApplicationArchived:
			c.Archived += n
		case ashby.ApplicationHired:
			c.Hired += n
			c.ByStage[stage] += n
		default:
			c.ByStage[stage] += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	args = append(args, since.UnixMilli())
	rows2, err := s.DB.QueryContext(ctx, fmt.Sprintf(`SELECT parent_id, COUNT(*) FROM docs WHERE org_id = $1 AND kind = 'application' AND parent_id IN (%s) AND created_at >= $%d GROUP BY parent_id`, in, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("count new applications: %w", err)
	}
	defer rows2.Close()
	for rows2.Next() {
		var job string
		var n int
		if err := rows2.Scan(&job, &n); err != nil {
			return nil, err
		}
		if c := out[job]; c != nil {
			c.New = n
		}
	}
	return out, rows2.Err()
}

// reviewStageTypes are the stages new applications wait in for review:
// Lead and Application Review (a PreInterviewScreen stage).
var reviewStageTypes = []string{ashby.StageLead, ashby.StagePreInterviewScreen}

// ReviewQueue returns the oldest application waiting for review after the
// position after (nil: from the start), optionally of one job, and how
// many wait in all. An application waits for review when it came from
// the careers site or applicationForm.submit (it names the posting it was
// submitted through) and its current stage is a Lead or
// PreInterviewScreen stage ("Application Review"). item is nil when none
// waits (after the position).
func (s *Service) ReviewQueue(ctx context.Context, org, jobID string, after *store.Position) (item *ashby.Application, waiting int, err error) {
	stages, err := InterviewStages.Find(ctx, s.DB, org, store.Filter{State: reviewStageTypes})
	if err != nil {
		return nil, 0, err
	}
	if len(stages) == 0 {
		return nil, 0, nil
	}
	ids := make([]string, len(stages))
	for i, st := range stages {
		ids[i] = st.ID
	}
	// The applications in a review stage, from the stage keys (a range of
	// doc_keys' primary key per stage), that came through a posting …
	rows, err := s.DB.QueryContext(ctx, `SELECT k.id FROM doc_keys k WHERE k.org_id = $1 AND k.kind = 'application' AND k.name = 'stage' AND `+s.inList("k.value", 2)+`
		AND EXISTS (SELECT 1 FROM `+s.keysByID("p")+` WHERE p.org_id = k.org_id AND p.kind = k.kind AND p.id = k.id AND p.name = 'posting')`, org, jsonList(ids))
	if err != nil {
		return nil, 0, fmt.Errorf("read the review queue: %w", err)
	}
	var appIDs []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, 0, err
		}
		appIDs = append(appIDs, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	// … and are not archived (a stage key is the current stage), of the
	// job asked for, in queue order.
	args := []any{org, jsonList(appIDs)}
	where := `org_id = $1 AND kind = 'application' AND ` + s.inList("id", 2) + ` AND state IN ('Lead', 'Active')`
	if jobID != "" {
		args = append(args, jobID)
		where += " AND parent_id = $3"
	}
	rows, err = s.DB.QueryContext(ctx, `SELECT created_at, id FROM docs WHERE `+where+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("read the review queue: %w", err)
	}
	var first string
	for rows.Next() {
		var at int64
		var id string
		if err := rows.Scan(&at, &id); err != nil {
			rows.Close()
			return nil, 0, err
		}
		waiting++
		if first == "" && (after == nil || at > after.CreatedAt || at == after.CreatedAt && id > after.ID) {
			first = id
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if first == "" {
		return nil, waiting, nil
	}
	doc, err := Applications.GetRaw(ctx, s.DB, org, first)
	if err != nil {
		return nil, 0, err
	}
	var app ashby.Application
	if err := json.Unmarshal(doc, &app); err != nil {
		return nil, 0, err
	}
	return &app, waiting, nil
}

// UserInterview is an interview event an interviewer sits on, with what
// their page shows of it.
type UserInterview struct {
	Event         ashby.InterviewEvent
	Schedule      string // the schedule's status
	ApplicationID string
	CandidateName string
	JobTitle      string
	InterviewName string
	// FeedbackOwed: the user's feedback is required and not yet given.
	FeedbackOwed     bool
	FeedbackRequired bool
	FeedbackGiven    bool
}

// UserInterviews returns the interview events a user is an interviewer on,
// soonest first, leaving out those of cancelled schedules.
func (s *Service) UserInterviews(ctx context.Context, org, userID string) ([]UserInterview, error) {
	events, err := InterviewEvents.ByKey(ctx, s.DB, org, "user", userID, 0)
	if err != nil {
		return nil, err
	}
	var schedIDs, ivIDs []string
	for _, e := range events {
		schedIDs = append(schedIDs, e.InterviewScheduleID)
		ivIDs = append(ivIDs, e.InterviewID)
	}
	scheds, err := InterviewSchedules.GetMany(ctx, s.DB, org, schedIDs)
	if err != nil {
		return nil, err
	}
	ivs, err := Interviews.GetMany(ctx, s.DB, org, ivIDs)
	if err != nil {
		return nil, err
	}
	var appIDs []string
	for _, sc := range scheds {
		appIDs = append(appIDs, sc.ApplicationID)
	}
	apps, err := Applications.GetMany(ctx, s.DB, org, appIDs)
	if err != nil {
		return nil, err
	}
	given, err := s.feedbackGivenBy(ctx, org, userID)
	if err != nil {
		return nil, err
	}
	var out []UserInterview
	for _, e := range events {
		sc, ok := scheds[e.InterviewScheduleID]
		if !ok || sc.Status == ashby.ScheduleCancelled {
			continue
		}
		ui := UserInterview{Event: *e, Schedule: sc.Status, ApplicationID: sc.ApplicationID, FeedbackGiven: given[e.ID]}
		// The schedule's copy of the event is the current one.
		for _, se := range sc.InterviewEvents {
			if se.ID == e.ID {
				ui.Event = se
			}
		}
		if !slices.ContainsFunc(ui.Event.Interviewers, func(i ashby.EventInterviewer) bool { return i.ID == userID }) {
			continue // removed from the event since
		}
		for _, i := range ui.Event.Interviewers {
			if i.ID == userID {
				ui.FeedbackRequired = i.IsFeedbackRequired
			}
		}
		ui.FeedbackOwed = ui.FeedbackRequired && !ui.FeedbackGiven && !ui.Event.EndTime.After(s.DB.Now())
		if a, ok := apps[sc.ApplicationID]; ok {
			ui.CandidateName, ui.JobTitle = a.Candidate.Name, a.Job.Title
		}
		if iv, ok := ivs[e.InterviewID]; ok {
			ui.InterviewName = iv.Title
		}
		out = append(out, ui)
	}
	slices.SortFunc(out, func(a, b UserInterview) int { return a.Event.StartTime.Compare(b.Event.StartTime.Time) })
	return out, nil
}

// feedbackGivenBy returns the events a user has submitted feedback for.
func (s *Service) feedbackGivenBy(ctx context.Context, org, userID string) (map[string]bool, error) {
	fbs, err := Feedback.ByKey(ctx, s.DB, org, "user", userID, 0)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, f := range fbs {
		if f.InterviewEventID != "" {
			out[f.InterviewEventID] = true
		}
	}
	return out, nil
}

// InterviewerOn reports whether an interview event exists in the
// organization, whether a user is one of its interviewers, and its
// application.
func (s *Service) InterviewerOn(ctx context.Context, org, userID, eventID string) (applicationID string, found, on bool, err error) {
	ev, err := InterviewEvents.Get(ctx, s.DB, org, eventID)
	if errors.Is(err, store.ErrNotFound) {
		return "", false, false, nil
	}
	if err != nil {
		return "", false, false, err
	}
	sched, err := InterviewSchedules.Get(ctx, s.DB, org, ev.InterviewScheduleID)
	if errors.Is(err, store.ErrNotFound) {
		return "", false, false, nil
	}
	if err != nil {
		return "", false, false, err
	}
	for _, e := range sched.InterviewEvents {
		if e.ID == eventID {
			return sched.ApplicationID, true, slices.ContainsFunc(e.Interviewers, func(i ashby.EventInterviewer) bool { return i.ID == userID }), nil
		}
	}
	return "", false, false, nil
}
