package main

import (
	"testing"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

// A posting lists the survey forms to collect beside its application form;
// jobPosting.info returns them.
func TestE2EPostingSurveyForms(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, store.SQLite, testserver.Options{})
	_, key := srv.NewOrg()
	c := srv.Client(key)
	f := newFixture(t, c)
	var surveys []struct {
		ID         string `json:"id"`
		SurveyType string `json:"surveyType"`
	}
	must(t, c, "surveyFormDefinition.list", nil, &surveys)
	var eeoc string
	for _, s := range surveys {
		if s.SurveyType == "EEOC" {
			eeoc = s.ID
		}
	}
	if eeoc == "" {
		t.Fatalf("a new organization has no EEOC survey form: %+v", surveys)
	}
	wantCode(t, c, "jobPosting.create", map[string]any{"jobId": f.job.ID, "surveyFormDefinitionIds": []string{ashby.NewID()}}, "survey_form_definition_not_found")
	var posting struct {
		ID string `json:"id"`
	}
	must(t, c, "jobPosting.create", map[string]any{"jobId": f.job.ID, "surveyFormDefinitionIds": []string{eeoc, eeoc}}, &posting)
	var info struct {
		SurveyFormDefinitions []struct {
			ID         string `json:"id"`
			SurveyType string `json:"surveyType"`
		} `json:"surveyFormDefinitions"`
	}
	must(t, c, "jobPosting.info", map[string]any{"jobPostingId": posting.ID, "includeUnpublishedJobPostings": true}, &info)
	if len(info.SurveyFormDefinitions) != 1 || info.SurveyFormDefinitions[0].ID != eeoc || info.SurveyFormDefinitions[0].SurveyType != "EEOC" {
		t.Fatalf("surveyFormDefinitions: %+v", info.SurveyFormDefinitions)
	}
}
