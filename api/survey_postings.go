package api

import (
	"context"
	"encoding/json"

	"github.com/ashlarhq/ashlar/store"
)

// Postings name the survey forms (EEOC, diversity …) to collect beside the
// application; jobPosting.info returns the forms themselves, in the order
// the posting lists them.
// surveyFormDefinitions returns the stored survey form definitions with
// these ids (missing ones left out), for postings' surveyFormDefinitions.
func surveyFormDefinitions(ctx context.Context, q store.Q, org string, ids []string) ([]json.RawMessage, error) {
	found, err := SurveyForms.GetManyRaw(ctx, q, org, ids)
	if err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, 0, len(ids))
	for _, id := range ids {
		if raw, ok := found[id]; ok { // a form deleted since is left out
			out = append(out, raw)
		}
	}
	return out, nil
}
