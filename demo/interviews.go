package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/forms"
)

// The interviewing part of the demo: a scorecard, interviews attached to
// every job's interview stages, interviewer pools, limits and a pause,
// and schedules for applications in interview stages, the past ones with
// their feedback submitted.

func init() { AddStep("interviews", seedInterviews) }

// demoInterview is an interview the demo creates and the stages (by
// title) whose activity holds it.
type demoInterview struct {
	title, external string
	minutes         int
	scorecard       bool // the engineering scorecard, else the default form
	debrief         bool
	stages          []string
}

var demoInterviews = []demoInterview{
	{"Recruiter Screen", "Intro call", 30, false, false, []string{"Recruiter Screen"}},
	{"Technical Screen", "Technical interview", 60, true, false, []string{"Technical Screen", "Technical Interview"}},
	{"Coding Interview", "Coding", 60, true, false, []string{"Onsite Loop", "Onsite"}},
	{"System Design", "System design", 60, true, false, []string{"Onsite Loop", "Onsite"}},
	{"Hiring Manager Interview", "Meet the hiring manager", 45, false, false, []string{"Onsite Loop", "Onsite", "Hiring Manager Screen"}},
	{"Mock Pitch", "Mock sales pitch", 45, false, false, []string{"Mock Pitch"}},
	{"Reference Call", "", 30, false, false, []string{"Reference Check"}},
	{"Hiring Debrief", "", 30, false, true, nil},
}

var recommendations = []string{"Strong no hire", "No hire", "Hire", "Strong hire"}

func seedInterviews(ctx context.Context, d *Demo) error {
	scorecard := ashby.FormDefinition{Sections: []ashby.FormSection{
		{Title: "Skills", Fields: []ashby.FormEntry{
			forms.Field(ashby.FieldScore, "technical_skills", "Technical skills", true),
			forms.Field(ashby.FieldScore, "communication", "Communication", true),
		}},
		{Title: "Decision", Fields: []ashby.FormEntry{
			forms.Field(ashby.FieldValueSelect, "recommendation", "Recommendation", true, forms.Choices(recommendations...)...),
			forms.Field(ashby.FieldMultiValueSelect, "strengths", "Strengths", false, forms.Choices("Architecture", "Debugging", "Testing", "Collaboration", "Ownership")...),
			forms.Field(ashby.FieldLongText, "notes", "Notes", true),
		}},
	}}
	var existing []ashby.FeedbackFormDefinition
	if err := d.Invoke(ctx, "feedbackFormDefinition.list", map[string]any{}, &existing); err != nil {
		return err
	}
	var defaultForm string
	for _, f := range existing {
		if f.IsDefaultForm {
			defaultForm = f.ID
		}
	}
	var eng ashby.FeedbackFormDefinition
	if err := d.Invoke(ctx, "feedbackFormDefinition.create", map[string]any{"title": "Engineering Scorecard", "formDefinition": scorecard}, &eng); err != nil {
		return err
	}

	// Interviews, and which use the engineering scorecard.
	byStage := map[string][]string{}
	usesScorecard := map[string]bool{}
	for _, di := range demoInterviews {
		req := map[string]any{"title": di.title, "durationMinutes": di.minutes, "isDebrief": di.debrief,
			"instructionsHtml": fmt.Sprintf("<p>Run the <b>%s</b> as described in the interview guide; submit feedback the same day.</p>", di.title)}
		if di.external != "" {
			req["externalTitle"] = di.external
		}
		if di.scorecard {
			req["feedbackFormDefinitionId"] = eng.ID
		}
		var iv ashby.Interview
		if err := d.Invoke(ctx, "interview.create", req, &iv); err != nil {
			return err
		}
		usesScorecard[iv.ID] = di.scorecard
		for _, st := range di.stages {
			byStage[st] = append(byStage[st], iv.ID)
		}
	}
	// A job's own interview.
	var robotics ashby.Job
	for _, j := range d.Jobs {
		if j.Title == "Robotics Software Engineer" {
			robotics = j
		}
	}
	jobOnly := map[string]string{} // job id → interview id
	if robotics.ID != "" {
		var iv ashby.Interview
		if err := d.Invoke(ctx, "interview.create", map[string]any{"title": "Robotics Deep Dive", "jobId": robotics.ID, "durationMinutes": 90,
			"feedbackFormDefinitionId": eng.ID}, &iv); err != nil {
			return err
		}
		usesScorecard[iv.ID] = true
		jobOnly[robotics.ID] = iv.ID
	}

	// Activities: each job's stages get the interviews held in them.
	activities := map[string][]string{} // job id + stage id → interview ids
	for _, j := range d.Jobs {
		for _, st := range d.Stages[j.DefaultInterviewPlanID] {
			ids := byStage[st.Title]
			if st.Title == "Technical Screen" && jobOnly[j.ID] != "" {
				ids = append(ids, jobOnly[j.ID])
			}
			if len(ids) == 0 {
				continue
			}
			var ivs []map[string]any
			for _, id := range ids {
				ivs = append(ivs, map[string]any{"interviewId": id})
			}
			if err := d.Invoke(ctx, "jobInterviewPlan.addActivity", map[string]any{"jobId": j.ID, "interviewStageId": st.ID, "title": st.Title, "interviews": ivs}, nil); err != nil {
				return err
			}
			activities[j.ID+st.ID] = ids
		}
	}

	// Interviewers: everyone but the external recruiter; one is paused and
	// one has limits.
	var interviewers []ashby.User
	for _, u := range d.Users {
		if u.GlobalRole != "External Recruiter" {
			interviewers = append(interviewers, u)
		}
	}
	paused := interviewers[len(interviewers)-1]
	interviewers = interviewers[:len(interviewers)-1]
	if err := d.Invoke(ctx, "user.createInterviewerPause", map[string]any{"userId": paused.ID, "endsAt": ashby.NewTime(time.Now().Add(14 * 24 * time.Hour)),
		"comment": "Parental leave"}, nil); err != nil {
		return err
	}
	if err := d.Invoke(ctx, "user.updateInterviewerSettings", map[string]any{"userId": interviewers[1].ID, "dailyLimit": 3, "weeklyLimit": 10}, nil); err != nil {
		return err
	}

	var backend ashby.InterviewerPool
	if err := d.Invoke(ctx, "interviewerPool.create", map[string]any{"title": "Backend Interviewers", "requiresTraining": true}, &backend); err != nil {
		return err
	}
	for _, u := range interviewers[1:5] {
		if err := d.Invoke(ctx, "interviewerPool.addUser", map[string]any{"interviewerPoolId": backend.ID, "userId": u.ID}, nil); err != nil {
			return err
		}
	}
	trainee := interviewers[5]
	if err := d.Invoke(ctx, "interviewerPool.addUser", map[string]any{"interviewerPoolId": backend.ID, "userId": trainee.ID,
		"interviewerPoolTrainingPathStageId": backend.TrainingPath.TrainingStages[0].ID}, nil); err != nil {
		return err
	}
	var sales ashby.InterviewerPool
	if err := d.Invoke(ctx, "interviewerPool.create", map[string]any{"title": "Sales Interviewers"}, &sales); err != nil {
		return err
	}
	for _, u := range interviewers[6:] {
		if err := d.Invoke(ctx, "interviewerPool.addUser", map[string]any{"interviewerPoolId": sales.ID, "userId": u.ID}, nil); err != nil {
			return err
		}
	}

	// Schedules for applications in interview stages: most took place
	// (with feedback), the rest are coming up.
	scheduled := 0
	day := time.Now().UTC().Truncate(24 * time.Hour)
	for _, app := range d.Applications {
		if scheduled >= 80 || app.Status != "Active" || app.CurrentInterviewStage.Type != "Active" {
			continue
		}
		ids := activities[app.Job.ID+app.CurrentInterviewStage.ID]
		if len(ids) == 0 {
			continue
		}
		scheduled++
		past := d.Rand.IntN(3) > 0
		start := day.Add(time.Duration(1+d.Rand.IntN(10)) * 24 * time.Hour)
		if past {
			start = day.Add(-time.Duration(1+d.Rand.IntN(20)) * 24 * time.Hour)
		}
		start = start.Add(time.Duration(9+d.Rand.IntN(7)) * time.Hour)
		var events []map[string]any
		var seats [][]string // interviewer user ids per event
		for _, id := range ids {
			who := []ashby.User{Pick(d, interviewers)}
			if d.Rand.IntN(3) == 0 {
				if other := Pick(d, interviewers); other.ID != who[0].ID {
					who = append(who, other)
				}
			}
			var ivs []map[string]any
			var uids []string
			for _, u := range who {
				ivs = append(ivs, map[string]any{"email": u.Email})
				uids = append(uids, u.ID)
			}
			end := start.Add(45 * time.Minute)
			events = append(events, map[string]any{"startTime": ashby.NewTime(start), "endTime": ashby.NewTime(end), "interviewId": id,
				"interviewers": ivs, "location": "Zoom", "meetingLink": "https://zoom.example.com/j/" + fmt.Sprint(1000000+d.Rand.IntN(8999999))})
			seats = append(seats, uids)
			start = end.Add(15 * time.Minute)
		}
		var sched ashby.InterviewSchedule
		if err := d.Invoke(ctx, "interviewSchedule.create", map[string]any{"applicationId": app.ID, "interviewEvents": events}, &sched); err != nil {
			return err
		}
		if !past {
			continue
		}
		for i, ev := range sched.InterviewEvents {
			for j, uid := range seats[i] {
				if j > 0 && d.Rand.IntN(2) == 0 {
					continue // a second interviewer who has not written it up yet
				}
				form, values := demoFeedback(d, usesScorecard[ev.InterviewID], eng.ID, defaultForm)
				if err := d.Invoke(ctx, "applicationFeedback.submit", map[string]any{"applicationId": app.ID, "formDefinitionId": form,
					"interviewEventId": ev.ID, "userId": uid, "feedbackForm": map[string]any{"fieldSubmissions": values}}, nil); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// demoFeedback returns the form to submit and plausible answers to it.
func demoFeedback(d *Demo, scorecard bool, scorecardID, defaultID string) (string, []map[string]any) {
	score := 1 + d.Rand.IntN(4)
	note := Pick(d, []string{
		"Clear communicator; walked through trade-offs without prompting.",
		"Solid fundamentals, but struggled to break the problem down.",
		"Strong ownership stories; would raise the bar on the team.",
		"Good instincts on testing; needed hints on the data model.",
	})
	if !scorecard {
		return defaultID, []map[string]any{{"path": "overall_recommendation", "value": map[string]any{"score": score}}, {"path": "feedback", "value": note}}
	}
	strengths := []string{"debugging"}
	if score > 2 {
		strengths = append(strengths, "ownership")
	}
	return scorecardID, []map[string]any{
		{"path": "technical_skills", "value": map[string]any{"score": score}},
		{"path": "communication", "value": map[string]any{"score": 1 + d.Rand.IntN(4)}},
		{"path": "recommendation", "value": forms.Slug(recommendations[score-1])},
		{"path": "strengths", "value": strengths},
		{"path": "notes", "value": note},
	}
}
