package api

import (
	"context"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// CriteriaEvaluations: Parent = application. Ashby produces these with
// its AI application review, which Ashlar does not have: nothing writes
// this kind, so every list is empty, but it pages and answers as Ashby's
// does (docs/compatibility.md).
var CriteriaEvaluations = store.Kind[ashby.CriteriaEvaluation]{Name: "criteria_evaluation", ParentOutside: true, Index: func(e *ashby.CriteriaEvaluation) store.Index {
	return store.Index{ID: e.ID}
}}

type applicationIDPageRequest struct {
	rpc.ListParams
	ApplicationID ashby.ID `json:"applicationId" required:"true"`
}

func (s *Service) applicationListCriteriaEvaluations(ctx context.Context, c *rpc.Call, req *applicationIDPageRequest) (*rpc.Page, error) {
	if _, err := mustExist(ctx, s.DB, Applications, c.Org(), string(req.ApplicationID), "application", "applicationId"); err != nil {
		return nil, err
	}
	spec := listSpec(c, CriteriaEvaluations.Name, rpc.SyncParams{ListParams: req.ListParams})
	spec.Filter.Parent = string(req.ApplicationID)
	spec.NoSync = true
	return s.listPage(ctx, spec)
}
