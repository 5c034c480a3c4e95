package api

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// candidate.pushToHris (https://developers.ashbyhq.com/reference/candidatepushtohris; docs/compatibility.md#push-to-hris).
// In Ashby it runs the "Add Candidate Data" flow of a connected HRIS.
// Ashlar connects to no HRIS: a push is recorded (one record per
// application and system, counting repeats, as Ashby re-pushes when asked
// again) and announced with the pushToHRIS webhook event in the same
// transaction, so that whatever integration subscribes to it does the
// HRIS side. Ashby's preconditions hold: the candidate must have a name,
// and the application's offer, when it has one, must be accepted.

func init() { register((*Service).hrisEndpoints) }

// CodeHRISPushBlockedByOfferStatus is Ashby's refusal when the offer is
// not accepted.
const CodeHRISPushBlockedByOfferStatus = "candidate_hris_push_blocked_by_offer_status"

// CodeHRISPushFailed is Ashby's error when the HRIS refuses the data.
const CodeHRISPushFailed = "candidate_hris_push_failed"

// HRISPush records the pushes of one application to one HRIS.
type HRISPush struct {
	ID                   string     `json:"id"`
	ApplicationID        string     `json:"applicationId"`
	CandidateID          string     `json:"candidateId"`
	ExternalSystem       string     `json:"externalSystem"`
	IntegrationPartnerID string     `json:"integrationPartnerId,omitempty"`
	PushCount            int        `json:"pushCount"`
	FirstPushedAt        ashby.Time `json:"firstPushedAt"`
	LastPushedAt         ashby.Time `json:"lastPushedAt"`
}

// HRISPushes: Parent = application; Ref = candidate; Unique = the
// application and the system, case-insensitively.
var HRISPushes = store.Kind[HRISPush]{Name: "hris_push", Index: func(p *HRISPush) store.Index {
	return store.Index{ID: p.ID, CreatedAt: p.FirstPushedAt.Time, Parent: p.ApplicationID, Ref: p.CandidateID,
		Unique: p.ApplicationID + "|" + lc(p.ExternalSystem), State: lc(p.ExternalSystem)}
}}

func (s *Service) hrisEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "candidate.pushToHris", Permission: ashby.CandidatesWrite,
			Summary: "Push a hired candidate's data to an HRIS: recorded and sent as the pushToHRIS webhook event (Ashlar connects to no HRIS itself)."}, s.candidatePushToHris),
	}
}

type candidatePushToHrisRequest struct {
	ApplicationID        ashby.ID `json:"applicationId" required:"true" doc:"The application whose candidate is pushed."`
	ExternalSystem       string   `json:"externalSystem" required:"true" doc:"The HRIS to push to, as Ashby names it (e.g. Workday, BambooHr, bob for HiBob)."`
	IntegrationPartnerID ashby.ID `json:"integrationPartnerId,omitempty" doc:"The integration partner; Ashby requires it for SelfServe integrations."`
}

// externalSystemRE accepts the identifiers Ashby's HRIS enum uses; Ashby
// does not publish the enum, so any such name is accepted.
var externalSystemRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

func (s *Service) candidatePushToHris(ctx context.Context, c *rpc.Call, req *candidatePushToHrisRequest) (rpc.Result[HRISPush], error) {
	system := strings.TrimSpace(req.ExternalSystem)
	if !externalSystemRE.MatchString(system) {
		return rpc.Result[HRISPush]{}, ashby.InvalidInput("externalSystem", "externalSystem must be an HRIS identifier such as Workday or bob (letters, digits, '.', '_', '-'; at most 64)")
	}
	org := c.Org()
	var push *HRISPush
	err := s.write(ctx, func(tx *store.Tx) error {
		// Locking the application serialises concurrent pushes of it, so
		// each is counted once.
		app, err := Applications.GetForUpdate(ctx, tx, org, string(req.ApplicationID))
		if err != nil {
			return notFound(err, "application", "Application not found")
		}
		cand, err := Candidates.Get(ctx, tx, org, app.Candidate.ID)
		if err != nil {
			return notFound(err, "candidate", "The application's candidate was not found")
		}
		if strings.TrimSpace(cand.Name) == "" {
			return ashby.Errorf(CodeHRISPushFailed, "The candidate has no name; an HRIS needs one")
		}
		offers, err := Offers.Find(ctx, tx, org, store.Filter{Parent: app.ID})
		if err != nil {
			return err
		}
		// The most recent offer is the application's offer; an application
		// without one (a hire recorded without an offer) may be pushed.
		if n := len(offers); n > 0 && offers[n-1].AcceptanceStatus != ashby.AcceptanceAccepted {
			o := offers[n-1]
			e := ashby.Errorf(CodeHRISPushBlockedByOfferStatus, "The application's offer is %s; only an accepted offer can be pushed to an HRIS", o.AcceptanceStatus)
			e.Meta = map[string]any{"offerId": o.ID, "acceptanceStatus": o.AcceptanceStatus}
			return e
		}
		now := s.now()
		push, err = HRISPushes.FindOneForUpdate(ctx, tx, org, store.Filter{Unique: app.ID + "|" + lc(system), IncludeArchived: true})
		switch {
		case errors.Is(err, store.ErrNotFound):
			push = &HRISPush{ID: ashby.NewID(), ApplicationID: app.ID, CandidateID: cand.ID, ExternalSystem: system, FirstPushedAt: now}
		case err != nil:
			return err
		}
		push.PushCount++
		push.LastPushedAt = now
		if req.IntegrationPartnerID != "" {
			push.IntegrationPartnerID = string(req.IntegrationPartnerID)
		}
		if err := HRISPushes.Put(ctx, tx, org, push); err != nil {
			return err
		}
		return emit(ctx, tx, org, "pushToHRIS", map[string]any{"application": app})
	})
	if err != nil {
		return rpc.Result[HRISPush]{}, err
	}
	return rpc.Value(push), nil
}
