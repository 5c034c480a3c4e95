package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
)

func init() {
	AddStep("projects and custom field values", seedProjects)
	AddStep("surveys, referrals and templates", seedSurveys)
}

func seedProjects(ctx context.Context, d *Demo) error {
	var projects []ashby.Project
	for _, p := range []struct{ title, desc string }{
		{"Robotics silver medalists", "Strong finalists for robotics roles to reconsider next quarter."},
		{"Berlin engineering pipeline", "Engineers open to roles in Berlin."},
		{"Open source maintainers", "Maintainers of projects we depend on."},
		{"Future sales leaders", ""},
	} {
		var out ashby.Project
		if err := d.Invoke(ctx, "project.create", map[string]any{"title": p.title, "description": p.desc}, &out); err != nil {
			return err
		}
		projects = append(projects, out)
	}
	for i, cand := range d.CandidateList {
		if i%4 != 0 {
			continue
		}
		if err := d.Invoke(ctx, "candidate.addProject", map[string]any{"candidateId": cand.ID, "projectId": projects[(i/4)%len(projects)].ID}, nil); err != nil {
			return err
		}
	}

	var fields []ashby.CustomField
	if err := d.Invoke(ctx, "customField.list", map[string]any{}, &fields); err != nil {
		return err
	}
	byTitle := map[string]string{}
	for _, f := range fields {
		byTitle[f.Title] = f.ID
	}
	for i, cand := range d.CandidateList {
		if i%3 != 0 {
			continue
		}
		auth := "authorized"
		if d.Rand.IntN(4) == 0 {
			auth = "sponsorship"
		}
		if err := d.Invoke(ctx, "customField.setValues", map[string]any{"objectType": "Candidate", "objectId": cand.ID, "values": []map[string]any{
			{"fieldId": byTitle["Years of experience"], "fieldValue": 1 + d.Rand.IntN(15)},
			{"fieldId": byTitle["Work authorization"], "fieldValue": auth},
		}}, nil); err != nil {
			return err
		}
	}
	for i, app := range d.Applications {
		if i%5 != 0 || app.Status == ashby.ApplicationArchived || app.Status == ashby.ApplicationHired {
			continue
		}
		priority := Pick(d, []string{"high", "normal", "normal"})
		if err := d.Invoke(ctx, "customField.setValue", map[string]any{"objectType": "Application", "objectId": app.ID,
			"fieldId": byTitle["Priority"], "fieldValue": priority}, nil); err != nil {
			return err
		}
	}
	for i, job := range d.Jobs {
		if err := d.Invoke(ctx, "customField.setValue", map[string]any{"objectType": "Job", "objectId": job.ID,
			"fieldId": byTitle["Cost center"], "fieldValue": fmt.Sprintf("CC-%03d", 100+i*10)}, nil); err != nil {
			return err
		}
	}
	return nil
}

func seedSurveys(ctx context.Context, d *Demo) error {
	var forms []ashby.SurveyFormDefinition
	if err := d.Invoke(ctx, "surveyFormDefinition.list", map[string]any{}, &forms); err != nil {
		return err
	}
	byType := map[string]string{}
	for _, f := range forms {
		byType[f.SurveyType] = f.ID
	}
	agree := []string{"agree", "strongly_agree", "neutral", "agree", "disagree"}
	surveyed := 0
	for i, app := range d.Applications {
		if i%6 != 0 {
			continue
		}
		var sr ashby.SurveyRequest
		if err := d.Invoke(ctx, "surveyRequest.create", map[string]any{"candidateId": app.Candidate.ID, "applicationId": app.ID,
			"surveyFormDefinitionId": byType[ashby.SurveyCandidateExperience]}, &sr); err != nil {
			return err
		}
		if surveyed%2 == 0 {
			if err := d.Invoke(ctx, "surveySubmission.create", map[string]any{"candidateId": app.Candidate.ID, "applicationId": app.ID,
				"surveyFormDefinitionId": byType[ashby.SurveyCandidateExperience], "submittedValues": map[string]any{
					"overall_experience": map[string]any{"score": 2 + d.Rand.IntN(3)}, "process_was_clear": Pick(d, agree),
					"interviewers_were_prepared": Pick(d, agree)}}, nil); err != nil {
				return err
			}
		}
		if surveyed%3 == 0 {
			if err := d.Invoke(ctx, "surveySubmission.create", map[string]any{"candidateId": app.Candidate.ID, "applicationId": app.ID,
				"surveyFormDefinitionId": byType[ashby.SurveyQuestionnaire], "submittedValues": map[string]any{
					"work_authorization": true, "requires_sponsorship": d.Rand.IntN(5) == 0,
					"earliest_start_date": time.Now().AddDate(0, 1, 0).Format("2006-01-02")}}, nil); err != nil {
				return err
			}
		}
		surveyed++
	}

	for _, t := range []map[string]any{
		{"title": "Rejection + consideration for future roles", "subject": "Your application to Northwind Robotics"},
		{"title": "Interview invitation", "subject": "Let's talk"},
		{"title": "Offer follow-up", "subject": "Following up on your offer"},
		{"title": "LinkedIn outreach", "intendedTypes": []string{"inMail", "linkedInConnection"}},
	} {
		if err := d.Invoke(ctx, "communicationTemplate.create", t, nil); err != nil {
			return err
		}
	}

	var form ashby.ReferralForm
	if err := d.Invoke(ctx, "referralForm.info", map[string]any{}, &form); err != nil {
		return err
	}
	var open []ashby.Job
	for _, j := range d.Jobs {
		if j.Status == ashby.JobOpen {
			open = append(open, j)
		}
	}
	for i, name := range []string{"Mae Jemison", "Annie Easley", "Evelyn Boyd Granville"} {
		job := open[i%len(open)]
		if err := d.Invoke(ctx, "referral.create", map[string]any{"id": form.ID, "creditedToUserId": d.Users[1+i%3].ID, "fieldSubmissions": []map[string]any{
			{"path": "_systemfield_job", "value": map[string]any{"title": job.Title, "value": job.ID}},
			{"path": "_systemfield_name", "value": name},
			{"path": "_systemfield_email", "value": fmt.Sprintf("referral%d@example.com", i+1)},
			{"path": "relationship", "value": "former_colleague"},
			{"path": "why_refer", "value": "One of the best engineers I have worked with."},
		}}, nil); err != nil {
			return err
		}
	}

	for i, cand := range d.CandidateList {
		if i%25 != 0 {
			continue
		}
		if err := d.Invoke(ctx, "assessment.addCompletedToCandidate", map[string]any{"candidateId": cand.ID, "partnerId": demoAssessmentPartner,
			"timestamp": time.Now().UnixMilli(), "assessment": map[string]any{"assessmentTypeId": demoAssessmentType, "assessmentId": ashby.NewID(),
				"assessmentName": "Systems design exercise",
				"result":         map[string]any{"identifier": "score", "label": "Score", "type": "numeric_score", "value": 55 + d.Rand.IntN(45)},
				"metadata":       []map[string]any{{"identifier": "duration", "label": "Time taken (minutes)", "type": "numeric_duration_minutes", "value": 40 + d.Rand.IntN(50)}},
			}}, nil); err != nil {
			return err
		}
	}
	return nil
}

// Stable ids for the demo's assessment partner and assessment type.
const (
	demoAssessmentPartner = "5a0c1e6d-8f4b-4d7a-9c3e-2b1f0e9d8c70"
	demoAssessmentType    = "5a0c1e6d-8f4b-4d7a-9c3e-2b1f0e9d8c71"
)
