package surveypage_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/browsertest"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

// A candidate opens the surveyUrl in real Chromium, against the real
// ashlar binary: the form is accessible (axe-core) before and after a
// refused submission, keeps what was entered, and goes through once
// corrected. Without Chromium and axe-core the test is skipped, unless
// ASHLAR_REQUIRE_BROWSER=1 (CI), which makes that a failure.
func TestBrowserSurvey(t *testing.T) {
	axe := browsertest.AxeSource(t)
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		ctx := browsertest.Browser(t)
		srv := testserver.Start(t, engine, testserver.Options{})
		_, key := srv.NewOrg()
		c := srv.Client(key)
		must := func(endpoint string, req, out any) {
			t.Helper()
			if _, err := c.Call(context.Background(), endpoint, req, out); err != nil {
				t.Fatalf("%s: %v", endpoint, err)
			}
		}
		var d ashby.Department
		must("department.create", map[string]any{"name": "Engineering"}, &d)
		var l ashby.Location
		must("location.create", map[string]any{"name": "Remote", "type": "Location"}, &l)
		var plans []ashby.InterviewPlan
		must("interviewPlan.list", nil, &plans)
		var job ashby.Job
		must("job.create", map[string]any{"title": "Backend Engineer", "teamId": d.ID, "locationId": l.ID, "defaultInterviewPlanId": plans[0].ID}, &job)
		var cand ashby.Candidate
		must("candidate.create", map[string]any{"name": "Grace Hopper"}, &cand)
		var app ashby.Application
		must("application.create", map[string]any{"candidateId": cand.ID, "jobId": job.ID}, &app)
		var forms []ashby.SurveyFormDefinition
		must("surveyFormDefinition.list", nil, &forms)
		var form ashby.SurveyFormDefinition
		for _, f := range forms {
			if f.SurveyType == ashby.SurveyCandidateExperience {
				form = f
			}
		}
		var sr ashby.SurveyRequest
		must("surveyRequest.create", map[string]any{"candidateId": cand.ID, "applicationId": app.ID, "surveyFormDefinitionId": form.ID}, &sr)

		// The default candidate experience survey: a required 1–4 rating,
		// two agree/disagree selects and a comment.
		browsertest.Do(t, ctx, chromedp.Navigate(sr.SurveyURL), browsertest.WaitFor(`form.survey`))
		if h1 := browsertest.Text(t, ctx, "h1"); h1 != form.Title {
			t.Fatalf("h1 %q, want the survey's title %q", h1, form.Title)
		}
		browsertest.AxeCheck(t, ctx, axe, "survey form")

		// Leave the rating out: refused, with the answers kept.
		browsertest.Do(t, ctx,
			chromedp.SetValue(chromedp.CSS(`select[name="process_was_clear"]`), "agree"),
			chromedp.SendKeys(chromedp.CSS(`textarea[name="comments"]`), "Friendly people."),
			browsertest.Click(`form.survey button[type="submit"]`),
			browsertest.WaitFor(`.error-summary`),
		)
		summary := browsertest.Text(t, ctx, ".error-summary")
		if !strings.Contains(summary, "How would you rate your overall interview experience?: Is required.") {
			t.Fatalf("error summary %q", summary)
		}
		if clear, comments := browsertest.Value(t, ctx, `select[name="process_was_clear"]`), browsertest.Value(t, ctx, `textarea[name="comments"]`); clear != "agree" || comments != "Friendly people." {
			t.Fatalf("answers lost: %q %q", clear, comments)
		}
		browsertest.AxeCheck(t, ctx, axe, "survey form with errors")
		// The summary links to the question.
		browsertest.Do(t, ctx, browsertest.Click(`.error-summary a`))
		focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.hash`))
		if err != nil || focused != "#field-1" {
			t.Fatalf("the summary's link goes to %q (%v)", focused, err)
		}

		browsertest.Do(t, ctx,
			browsertest.Click(`input[name="overall_experience"][value="4"]`),
			browsertest.Click(`form.survey button[type="submit"]`),
			browsertest.WaitFor(`.confirmation`),
		)
		if h1 := browsertest.Text(t, ctx, "h1"); h1 != "Thank you" {
			t.Fatalf("after submitting: h1 %q", h1)
		}
		browsertest.AxeCheck(t, ctx, axe, "thank-you page")

		var subs []ashby.SurveySubmission
		must("surveySubmission.list", map[string]any{"surveyType": ashby.SurveyCandidateExperience}, &subs)
		if len(subs) != 1 || subs[0].ApplicationID != app.ID {
			t.Fatalf("surveySubmission.list: %+v", subs)
		}
		v := subs[0].SubmittedValues
		if score, _ := v["overall_experience"].(map[string]any); score["score"] != 4.0 || v["process_was_clear"] != "agree" || v["comments"] != "Friendly people." {
			t.Fatalf("submitted values: %v", v)
		}

		// Opening the link again, as from the email.
		browsertest.Do(t, ctx, chromedp.Navigate(sr.SurveyURL), browsertest.WaitFor(`h1`))
		if h1 := browsertest.Text(t, ctx, "h1"); h1 != "Already submitted" {
			t.Fatalf("the link after answering: h1 %q", h1)
		}
		browsertest.AxeCheck(t, ctx, axe, "already submitted")

		// Every kind of question, required radio and checkbox groups and
		// grouped inputs among them, before and after errors.
		var every ashby.SurveyFormDefinition
		must("surveyFormDefinition.create", map[string]any{"title": "Every question", "surveyType": "Questionnaire", "formDefinition": map[string]any{
			"sections": []any{map[string]any{"title": "All of them", "fields": []any{
				entry("String", "s", "Short", true), entry("LongText", "lt", "Long", false), entry("Email", "e", "Email", false),
				entry("Phone", "p", "Phone", false), entry("Url", "u", "Website", false), entry("Number", "n", "Number", false),
				entry("Date", "d", "Date", false), entry("Boolean", "b", "Yes or no", true), entry("ValueSelect", "vs", "One", true, "A", "B"),
				entry("MultiValueSelect", "ms", "Several", true, "A", "B"), entry("Score", "sc", "Rating", true), entry("RichText", "rt", "Rich", false),
				entry("Location", "loc", "Where", true), entry("Currency", "cur", "Amount", false), entry("NumberRange", "nr", "Range", false),
				entry("DateRange", "dr", "Dates", false), entry("EducationHistory", "edu", "Education", false), entry("File", "f", "File", false)}}}}}, &every)
		var sr2 ashby.SurveyRequest
		must("surveyRequest.create", map[string]any{"candidateId": cand.ID, "applicationId": app.ID, "surveyFormDefinitionId": every.ID}, &sr2)
		browsertest.Do(t, ctx, chromedp.Navigate(sr2.SurveyURL), browsertest.WaitFor(`form.survey`))
		browsertest.AxeCheck(t, ctx, axe, "every question")
		browsertest.Do(t, ctx, browsertest.Click(`form.survey button[type="submit"]`), browsertest.WaitFor(`.error-summary`))
		if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('.error-summary li').length`)); err != nil || n != 6 {
			t.Fatalf("errors for the 6 required questions: %d (%v)", n, err)
		}
		browsertest.AxeCheck(t, ctx, axe, "every question, with errors")
	})
}
