package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
)

// The recruiter's workspace in the demo: applications from the careers
// site waiting in the review queue, resumes, and one candidate whose page
// shows everything a candidate's page can (Valentina Tereshkova: contact
// details, tags, custom fields, a stage history, notes, a resume shown in the
// page, another file, interviews and feedback, an offer, an assessment,
// and feedback still owed by a Limited Access interviewer).

func init() { AddStep("the recruiter's workspace", seedWorkspace) }

// ShowcaseName is the demo candidate whose page shows everything.
const ShowcaseName = "Valentina Tereshkova"

func seedWorkspace(ctx context.Context, d *Demo) error {
	if err := seedCareersApplications(ctx, d); err != nil {
		return err
	}
	return seedShowcase(ctx, d)
}

var applicantNames = []string{"Ellen Ochoa", "Guion Bluford", "Sally Ride", "Franklin Chang-Díaz", "Peggy Whitson", "Chris Hadfield"}

// seedCareersApplications applies to published postings through
// applicationForm.submit, as the careers site does: the applications wait
// in the review queue.
func seedCareersApplications(ctx context.Context, d *Demo) error {
	var postings []ashby.JobPostingListItem
	if err := d.Invoke(ctx, "jobPosting.list", map[string]any{}, &postings); err != nil {
		return err
	}
	n := 0
	for _, p := range postings {
		if !p.IsListed || n == len(applicantNames) {
			continue
		}
		for k := 0; k < 2 && n < len(applicantNames); k++ {
			name := applicantNames[n]
			email := strings.ToLower(strings.NewReplacer(" ", ".", "í", "i").Replace(name)) + "@example.net"
			var info ashby.JobPostingInfo
			if err := d.Invoke(ctx, "jobPosting.info", map[string]any{"jobPostingId": p.ID}, &info); err != nil {
				return err
			}
			subs, err := d.answerForm(ctx, info.ApplicationFormDefinition, name, email)
			if err != nil {
				return err
			}
			var res ashby.ApplicationFormSubmitResult
			if err := d.Invoke(ctx, "applicationForm.submit", map[string]any{"jobPostingId": p.ID, "applicationForm": map[string]any{"fieldSubmissions": subs}}, &res); err != nil {
				return err
			}
			if n%2 == 0 {
				var app ashby.Application
				if err := d.Invoke(ctx, "application.info", map[string]any{"submittedFormInstanceId": res.SubmittedFormInstance.ID}, &app); err != nil {
					return err
				}
				if err := d.uploadResume(ctx, app.Candidate.ID, name); err != nil {
					return err
				}
			}
			n++
		}
	}
	return nil
}

// answerForm answers every required question of an application form as
// an applicant would.
func (d *Demo) answerForm(ctx context.Context, def ashby.FormDefinition, name, email string) ([]map[string]any, error) {
	var out []map[string]any
	for _, sec := range def.Sections {
		for _, e := range sec.Fields {
			f := e.Field
			var v any
			switch {
			case f.Path == "_systemfield_name":
				v = name
			case f.Path == "_systemfield_email":
				v = email
			case !e.IsRequired:
				continue
			case f.Type == ashby.FieldFile:
				if d.Files == nil {
					return nil, errors.New("the demo's application forms ask for files, and the server keeps none")
				}
				h, err := d.Files(ctx, ashby.UploadApplicationForm, strings.ReplaceAll(name, " ", "-")+"-resume.pdf", ResumePDF(name, []string{"Applied through the careers site."}))
				if err != nil {
					return nil, err
				}
				v = h
			case f.Type == ashby.FieldBoolean:
				v = true
			case f.Type == ashby.FieldValueSelect && len(f.SelectableValues) > 0:
				v = f.SelectableValues[0].Value
			case f.Type == ashby.FieldMultiValueSelect && len(f.SelectableValues) > 0:
				v = []string{f.SelectableValues[0].Value}
			case f.Type == ashby.FieldEmail:
				v = email
			case f.Type == ashby.FieldPhone:
				v = "+1 415 555 0142"
			case f.Type == ashby.FieldNumber:
				v = 5
			case f.Type == ashby.FieldDate:
				v = "2027-01-04"
			case f.Type == ashby.FieldURL:
				v = "https://example.net/" + strings.ToLower(strings.ReplaceAll(asciiOnly(name), " ", ""))
			default:
				v = "I have followed Northwind's robots for years and would love to build them."
			}
			out = append(out, map[string]any{"path": f.Path, "value": v})
		}
	}
	return out, nil
}

// uploadResume gives a candidate a one-page PDF resume.
func (d *Demo) uploadResume(ctx context.Context, candidateID, name string) error {
	if candidateID == "" || d.Files == nil {
		return nil
	}
	h, err := d.Files(ctx, ashby.UploadCandidateResume, strings.ReplaceAll(name, " ", "-")+"-resume.pdf", ResumePDF(name, []string{
		"Experience", "Senior engineer, Northwind Labs (2019-2026): led the fleet telemetry platform.",
		"Engineer, Orbital Systems (2014-2019): flight software and ground tooling.", "",
		"Education", "B.S. Chemical Engineering; M.D.", "", "Skills", "Go, distributed systems, robotics, mentoring."}))
	if err != nil {
		return err
	}
	return d.Invoke(ctx, "candidate.uploadResume", map[string]any{"candidateId": candidateID, "resumeHandle": h}, nil)
}

// seedShowcase makes the candidate of the demo's first offer into
// Valentina Tereshkova, whose page has one of everything.
func seedShowcase(ctx context.Context, d *Demo) error {
	var offers []ashby.Offer
	if err := d.Invoke(ctx, "offer.list", map[string]any{"limit": 1}, &offers); err != nil {
		return err
	}
	if len(offers) == 0 {
		return errors.New("the demo has no offer to build the showcase candidate on")
	}
	var app ashby.Application
	if err := d.Invoke(ctx, "application.info", map[string]any{"applicationId": offers[0].ApplicationID}, &app); err != nil {
		return err
	}
	candID := app.Candidate.ID
	var tags []ashby.CandidateTag
	if err := d.Invoke(ctx, "candidateTag.list", map[string]any{}, &tags); err != nil {
		return err
	}
	if err := d.Invoke(ctx, "candidate.update", map[string]any{"candidateId": candID, "name": ShowcaseName, "email": "valentina.tereshkova@example.com",
		"phoneNumber": "+1 415 555 0199", "linkedInUrl": "https://www.linkedin.com/in/valentina-tereshkova-demo", "githubUrl": "https://github.com/valentina-tereshkova-demo"}, nil); err != nil {
		return err
	}
	var fields []ashby.CustomField
	if err := d.Invoke(ctx, "customField.list", map[string]any{}, &fields); err != nil {
		return err
	}
	for _, f := range fields {
		if f.Title == "Years of experience" {
			if err := d.Invoke(ctx, "customField.setValue", map[string]any{"objectType": "Candidate", "objectId": candID, "fieldId": f.ID, "fieldValue": 12}, nil); err != nil {
				return err
			}
		}
	}
	for _, t := range tags[:min(2, len(tags))] {
		if err := d.Invoke(ctx, "candidate.addTag", map[string]any{"candidateId": candID, "tagId": t.ID}, nil); err != nil {
			return err
		}
	}
	for _, note := range []map[string]any{
		{"candidateId": candID, "note": "Led the fleet telemetry rewrite; ask about the on-call changes she drove."},
		{"candidateId": candID, "note": "Competing offer expected next week: keep the process moving.", "isPrivate": true},
	} {
		if err := d.Invoke(ctx, "candidate.createNote", note, nil); err != nil {
			return err
		}
	}
	if err := d.uploadResume(ctx, candID, ShowcaseName); err != nil {
		return err
	}
	if d.Files != nil {
		h, err := d.Files(ctx, ashby.UploadCandidateFiles, "work-sample.txt", []byte("Work sample: a design note on telemetry sampling.\n"))
		if err != nil {
			return err
		}
		if err := d.Invoke(ctx, "candidate.uploadFile", map[string]any{"candidateId": candID, "fileHandle": h}, nil); err != nil {
			return err
		}
	}
	if err := d.Invoke(ctx, "assessment.addCompletedToCandidate", map[string]any{"candidateId": candID, "partnerId": demoAssessmentPartner,
		"timestamp": time.Now().UnixMilli(), "assessment": map[string]any{"assessmentTypeId": demoAssessmentType, "assessmentId": ashby.NewID(),
			"assessmentName": "Systems design exercise",
			"result":         map[string]any{"identifier": "score", "label": "Score", "type": "numeric_score", "value": 91},
			"metadata":       []map[string]any{{"identifier": "duration", "label": "Time taken (minutes)", "type": "numeric_duration_minutes", "value": 52}},
		}}, nil); err != nil {
		return err
	}
	// Interviews in the past: one with feedback, one whose Limited Access
	// interviewer still owes it.
	var ivs []ashby.Interview
	if err := d.Invoke(ctx, "interview.list", map[string]any{"limit": 100}, &ivs); err != nil {
		return err
	}
	pick := func(title string) string {
		for _, iv := range ivs {
			if iv.Title == title && (iv.JobID == "" || iv.JobID == app.Job.ID) {
				return iv.ID
			}
		}
		return ""
	}
	screen, hm := pick("Recruiter Screen"), pick("Hiring Manager Interview")
	elevated, limited := d.userWithRole("Elevated Access"), d.userWithRole("Limited Access")
	if screen == "" || hm == "" || elevated == nil || limited == nil {
		return fmt.Errorf("the demo lacks the interviews or interviewers of the showcase candidate")
	}
	day := time.Now().UTC().Truncate(24 * time.Hour).Add(-3 * 24 * time.Hour)
	var sched ashby.InterviewSchedule
	if err := d.Invoke(ctx, "interviewSchedule.create", map[string]any{"applicationId": app.ID, "interviewEvents": []map[string]any{
		{"startTime": ashby.NewTime(day.Add(10 * time.Hour)), "endTime": ashby.NewTime(day.Add(10*time.Hour + 30*time.Minute)), "interviewId": screen,
			"interviewers": []map[string]any{{"email": elevated.Email}}, "location": "Zoom", "meetingLink": "https://zoom.example.com/j/5550199"},
		{"startTime": ashby.NewTime(day.Add(11 * time.Hour)), "endTime": ashby.NewTime(day.Add(11*time.Hour + 45*time.Minute)), "interviewId": hm,
			"interviewers": []map[string]any{{"email": limited.Email}}, "location": "Room 4B"},
	}}, &sched); err != nil {
		return err
	}
	// Emails: one a recruiter wrote, and a survey request.
	if err := d.Invoke(ctx, "candidate.sendEmail", map[string]any{"candidateId": candID, "applicationId": app.ID,
		"subject": "Next steps for {{job.title}}", "bodyHtml": "<p>Hi {{candidate.firstName}},</p><p>Thank you for your time with the team. We will send your offer details tomorrow.</p><p>{{sender.name}}</p>"}, nil); err != nil {
		return err
	}
	var surveys []ashby.SurveyFormDefinition
	if err := d.Invoke(ctx, "surveyFormDefinition.list", map[string]any{}, &surveys); err != nil {
		return err
	}
	for _, f := range surveys {
		if f.SurveyType == ashby.SurveyCandidateExperience && !f.IsArchived {
			if err := d.Invoke(ctx, "surveyRequest.create", map[string]any{"candidateId": candID, "applicationId": app.ID, "surveyFormDefinitionId": f.ID, "sendEmail": true}, nil); err != nil {
				return err
			}
			break
		}
	}
	var forms []ashby.FeedbackFormDefinition
	if err := d.Invoke(ctx, "feedbackFormDefinition.list", map[string]any{}, &forms); err != nil {
		return err
	}
	for _, f := range forms {
		if f.IsDefaultForm {
			return d.Invoke(ctx, "applicationFeedback.submit", map[string]any{"applicationId": app.ID, "formDefinitionId": f.ID,
				"interviewEventId": sched.InterviewEvents[0].ID, "userId": elevated.ID, "feedbackForm": map[string]any{"fieldSubmissions": []map[string]any{
					{"path": "overall_recommendation", "value": map[string]any{"score": 4}},
					{"path": "feedback", "value": "Thoughtful, precise and kind. Clear hire for the team."}}}}, nil)
		}
	}
	return errors.New("the demo has no default feedback form")
}

func (d *Demo) userWithRole(role string) *ashby.User {
	for i := range d.Users {
		if d.Users[i].GlobalRole == role {
			return &d.Users[i]
		}
	}
	return nil
}

// ResumePDF is a one-page PDF with a name and lines of text: a resume
// for demos and tests.
func ResumePDF(name string, lines []string) []byte {
	esc := strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`)
	var text bytes.Buffer
	fmt.Fprintf(&text, "BT /F1 22 Tf 72 720 Td (%s) Tj ET\n", esc.Replace(asciiText(name)))
	y := 690
	for _, l := range lines {
		fmt.Fprintf(&text, "BT /F1 11 Tf 72 %d Td (%s) Tj ET\n", y, esc.Replace(asciiText(l)))
		y -= 16
	}
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", text.Len(), text.String()),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// asciiText keeps a line printable in the PDF's standard font.
func asciiText(s string) string {
	return strings.Map(func(r rune) rune {
		if r > 126 {
			return '-'
		}
		return r
	}, s)
}
