package api

import (
	"context"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/compensation"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// A job's compensation: tiers of components with the summaries Ashby
// renders (https://developers.ashbyhq.com/reference/jobpostinginfo), stored in the job document so that job.info,
// job.list and jobUpdate events carry it.

func init() { register((*Service).compensationEndpoints) }

func (s *Service) compensationEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "job.updateCompensation", Permission: ashby.JobsWrite, Summary: "Replace a job's compensation tiers ([] clears them)."}, s.jobUpdateCompensation),
	}
}

type jobUpdateCompensationRequest struct {
	JobID             ashby.ID                 `json:"jobId" required:"true"`
	CompensationTiers []compensation.TierInput `json:"compensationTiers" required:"true" doc:"Every tier of the job; [] removes its compensation."`
}

// jobWithTiers is job.updateCompensation's result: the job, with its
// tiers also at the top level as Ashby's response has them.
type jobWithTiers struct {
	*ashby.Job
	CompensationTiers []ashby.CompensationTier `json:"compensationTiers"`
}

func (s *Service) jobUpdateCompensation(ctx context.Context, c *rpc.Call, req *jobUpdateCompensationRequest) (rpc.Result[jobWithTiers], error) {
	tiers, err := compensation.Build("compensationTiers", req.CompensationTiers, ashby.NewID)
	if err != nil {
		return rpc.Result[jobWithTiers]{}, err
	}
	var job *ashby.Job
	_, err = s.UpdateJob(ctx, c.Org(), string(req.JobID), func(tx *store.Tx, j *ashby.Job) error {
		job = j
		if len(tiers) == 0 {
			j.Compensation = nil
			return nil
		}
		j.Compensation = &ashby.JobCompensation{CompensationTiers: tiers}
		return nil
	})
	if err != nil {
		return rpc.Result[jobWithTiers]{}, err
	}
	return rpc.Value(&jobWithTiers{Job: job, CompensationTiers: tiers}), nil
}
