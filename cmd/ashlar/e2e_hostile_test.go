package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/sanitize/sanitizetest"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

// Stored HTML on public pages: every HTML field that a candidate-facing
// page renders (job posting descriptions, the job board's opening and
// closing, application form and survey form section and field
// descriptions, take-home instructions) is set to a corpus of hostile
// HTML, first through the API and then straight into the stored
// documents, as data stored before sanitising would be. No hostile
// element, attribute, URL, script or style reaches any page.
func TestE2EHostileHTMLNeverReachesAPage(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{Args: []string{"--files-dir", t.TempDir(), "--posting-api-refresh", "50ms"}})
		slug, key := srv.NewOrg()
		c := srv.Client(key)
		f := newFixture(t, c)
		hostile := strings.Join(sanitizetest.Corpus, "\n")
		entry := func(typ, path, title string) map[string]any {
			return map[string]any{"isRequired": typ == "String" || typ == "Email", "descriptionHtml": hostile,
				"field": map[string]any{"type": typ, "path": path, "title": title}}
		}
		form := map[string]any{"sections": []any{map[string]any{"title": "You", "descriptionHtml": hostile, "fields": []any{
			entry("String", "_systemfield_name", "Name"), entry("Email", "_systemfield_email", "Email"), entry("LongText", "q", "Why?"),
		}}}}

		var boards []ashby.JobBoard
		must(t, c, "jobBoard.list", nil, &boards)
		must(t, c, "jobBoard.update", map[string]any{"jobBoardId": boards[0].ID, "descriptionOpeningHtml": hostile, "descriptionClosingHtml": hostile}, nil)
		var posting ashby.JobPostingInfo
		must(t, c, "jobPosting.create", map[string]any{"jobId": f.job.ID, "title": "Engineer", "descriptionHtml": hostile,
			"applicationFormDefinition": form, "status": "Published"}, &posting)
		var survey ashby.SurveyFormDefinition
		must(t, c, "surveyFormDefinition.create", map[string]any{"title": "Survey", "surveyType": "Questionnaire", "formDefinition": form}, &survey)
		var cand ashby.Candidate
		must(t, c, "candidate.create", map[string]any{"name": "Ada Lovelace", "email": "ada@example.com"}, &cand)
		var app ashby.Application
		must(t, c, "application.create", map[string]any{"candidateId": cand.ID, "jobId": f.job.ID}, &app)
		var req ashby.SurveyRequest
		must(t, c, "surveyRequest.create", map[string]any{"candidateId": cand.ID, "applicationId": app.ID, "surveyFormDefinitionId": survey.ID}, &req)
		var iv ashby.Interview
		must(t, c, "interview.create", map[string]any{"title": "Take-home"}, &iv)
		var users []ashby.User
		must(t, c, "user.list", nil, &users)
		var th ashby.TakeHomeAssignment
		must(t, c, "takeHomeAssignment.create", map[string]any{"applicationId": app.ID, "interviewId": iv.ID, "reviewerUserIds": []string{users[0].ID},
			"instructionsHtml": hostile}, &th)

		pages := map[string]string{
			"listing":     "/jobs/" + slug,
			"posting":     "/jobs/" + slug + "/" + posting.ID,
			"apply form":  "/jobs/" + slug + "/" + posting.ID + "/application",
			"survey page": "/surveys/" + req.ID,
			"take-home":   strings.TrimPrefix(th.SubmissionURL, srv.URL),
		}
		get := func(name, path string) string {
			t.Helper()
			resp, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s %s: %d %s", name, path, resp.StatusCode, b)
			}
			return string(b)
		}
		check := func(when string) {
			t.Helper()
			for name, path := range pages {
				page := get(name, path)
				if bad := sanitizetest.Found(page); bad != "" {
					t.Errorf("%s: the %s page carries hostile HTML: %s", when, name, bad)
				}
			}
		}
		check("stored through the API")

		// Data stored before sanitising on write: the hostile HTML goes
		// straight into the documents, with a benign marker to wait for.
		legacy := "<p>legacy-" + engine.String() + "</p>" + hostile
		db, err := store.Open(context.Background(), srv.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ctx := context.Background()
		org, err := db.OrgBySlug(ctx, slug)
		if err != nil {
			t.Fatal(err)
		}
		setForm := func(def *ashby.FormDefinition) {
			for i := range def.Sections {
				def.Sections[i].DescriptionHTML = legacy
				for j := range def.Sections[i].Fields {
					def.Sections[i].Fields[j].DescriptionHTML = legacy
				}
			}
		}
		err = db.Write(ctx, func(tx *store.Tx) error {
			if _, err := api.JobBoards.Update(ctx, tx, org.ID, boards[0].ID, func(b *ashby.JobBoardSettings) error {
				b.DescriptionOpeningHTML, b.DescriptionClosingHTML = legacy, legacy
				return nil
			}); err != nil {
				return err
			}
			if _, err := api.JobPostings.Update(ctx, tx, org.ID, posting.ID, func(p *ashby.JobPosting) error {
				p.DescriptionHTML = legacy
				setForm(&p.ApplicationForm)
				return nil
			}); err != nil {
				return err
			}
			if _, err := api.SurveyForms.Update(ctx, tx, org.ID, survey.ID, func(s *ashby.SurveyFormDefinition) error {
				setForm(&s.FormDefinition)
				return nil
			}); err != nil {
				return err
			}
			_, err := api.TakeHomes.Update(ctx, tx, org.ID, th.ID, func(a *ashby.TakeHomeAssignment) error {
				a.InstructionsHTML = legacy
				return nil
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "the pages to show the stored HTML", 20*time.Second, func() bool {
			for name, path := range pages {
				if name != "listing" && !strings.Contains(get(name, path), "legacy-"+engine.String()) {
					return false
				}
			}
			return true
		})
		check("stored unsanitised")
	})
}
