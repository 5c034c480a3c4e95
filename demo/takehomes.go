package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/forms"
)

// The take-home part of the demo: a review scorecard, a take-home
// interview held in the engineering plan's "Take-home Exercise" stage,
// and assignments in every status for applications in that stage (or,
// when the demo is small, later active stages of the same plan).

func init() { AddStep("take-home assignments", seedTakeHomes) }

const takeHomeStage = "Take-home Exercise"

func seedTakeHomes(ctx context.Context, d *Demo) error {
	review := ashby.FormDefinition{Sections: []ashby.FormSection{{Title: "Review", Fields: []ashby.FormEntry{
		forms.Field(ashby.FieldScore, "correctness", "Correctness", true),
		forms.Field(ashby.FieldScore, "code_quality", "Code quality", true),
		forms.Field(ashby.FieldLongText, "notes", "Notes", true),
	}}}}
	var form ashby.FeedbackFormDefinition
	if err := d.Invoke(ctx, "feedbackFormDefinition.create", map[string]any{"title": "Take-home Review", "formDefinition": review}, &form); err != nil {
		return err
	}
	var iv ashby.Interview
	if err := d.Invoke(ctx, "interview.create", map[string]any{"title": "Take-home Exercise", "externalTitle": "Take-home exercise",
		"feedbackFormDefinitionId": form.ID, "instructionsHtml": "<p>Review the submission against the rubric: correctness first, then readability and tests.</p>"}, &iv); err != nil {
		return err
	}

	// The stage in each plan that has one, and the plan's later active
	// stages (whose candidates did their take-home before).
	inStage, later := map[string]bool{}, map[string]bool{}
	for _, stages := range d.Stages {
		seen := false
		for _, st := range stages {
			switch {
			case st.Title == takeHomeStage:
				inStage[st.ID], seen = true, true
			case seen && st.Type == ashby.StageActive:
				later[st.ID] = true
			}
		}
	}
	for _, j := range d.Jobs {
		for _, st := range d.Stages[j.DefaultInterviewPlanID] {
			if inStage[st.ID] {
				if err := d.Invoke(ctx, "jobInterviewPlan.addActivity", map[string]any{"jobId": j.ID, "interviewStageId": st.ID, "title": takeHomeStage,
					"interviews": []map[string]any{{"interviewId": iv.ID, "isSchedulable": false}}}, nil); err != nil {
					return err
				}
			}
		}
	}
	var picked []ashby.Application
	for _, want := range []map[string]bool{inStage, later} {
		for _, app := range d.Applications {
			if len(picked) < 8 && app.Status == ashby.ApplicationActive && want[app.CurrentInterviewStage.ID] {
				picked = append(picked, app)
			}
		}
	}

	var reviewers []ashby.User
	for _, u := range d.Users {
		if u.GlobalRole != "External Recruiter" && u.IsEnabled {
			reviewers = append(reviewers, u)
		}
	}
	if len(reviewers) < 2 {
		return fmt.Errorf("the demo needs two reviewers, has %d", len(reviewers))
	}
	instructions := "<p>Build a small service that plans a robot's path across a warehouse grid, avoiding obstacles.</p>" +
		"<ul><li>Any language you like; include tests.</li><li>Spend no more than <b>three hours</b>.</li><li>Share a repository link, or attach a PDF write-up.</li></ul>"
	statuses := []string{ashby.TakeHomeWaitingOnSubmission, ashby.TakeHomeWaitingOnFeedback, ashby.TakeHomeComplete, ashby.TakeHomeCancelled}
	for i, app := range picked {
		first := d.Rand.IntN(len(reviewers))
		second := (first + 1 + d.Rand.IntN(len(reviewers)-1)) % len(reviewers)
		pair := []ashby.User{reviewers[first], reviewers[second]}
		var th ashby.TakeHomeAssignment
		if err := d.Invoke(ctx, "takeHomeAssignment.create", map[string]any{"applicationId": app.ID, "interviewId": iv.ID,
			"reviewerUserIds": []string{pair[0].ID, pair[1].ID}, "dueAt": ashby.NewTime(time.Now().Add(time.Duration(3+d.Rand.IntN(5)) * 24 * time.Hour)),
			"instructionsHtml": instructions}, &th); err != nil {
			return err
		}
		switch status := statuses[i%len(statuses)]; status {
		case ashby.TakeHomeCancelled:
			if err := d.Invoke(ctx, "takeHomeAssignment.cancel", map[string]any{"takeHomeAssignmentId": th.ID}, nil); err != nil {
				return err
			}
		case ashby.TakeHomeWaitingOnFeedback, ashby.TakeHomeComplete:
			if err := d.Invoke(ctx, "takeHomeAssignment.submit", map[string]any{"takeHomeAssignmentId": th.ID,
				"text":  "A* over the grid with a binary heap; obstacles are loaded from a bitmap. The README explains the trade-offs.",
				"links": []string{fmt.Sprintf("https://git.example.com/candidates/path-planner-%d", i+1)}}, nil); err != nil {
				return err
			}
			n := 1
			if status == ashby.TakeHomeComplete {
				n = 2
			}
			for _, u := range pair[:n] {
				score := 1 + d.Rand.IntN(4)
				values := []map[string]any{
					{"path": "correctness", "value": map[string]any{"score": score}},
					{"path": "code_quality", "value": map[string]any{"score": 1 + d.Rand.IntN(4)}},
					{"path": "notes", "value": Pick(d, []string{"Well-tested and readable.", "Works, but the heuristic is inadmissible.", "Clean structure; thin on tests."})},
				}
				if err := d.Invoke(ctx, "applicationFeedback.submit", map[string]any{"applicationId": app.ID, "formDefinitionId": form.ID, "userId": u.ID,
					"takeHomeAssignmentId": th.ID, "feedbackForm": map[string]any{"fieldSubmissions": values}}, nil); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
