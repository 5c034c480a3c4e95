package api

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// Offers (https://developers.ashbyhq.com/reference/offerprocessstart). offerProcess.start opens an offer process for
// an application; offer.start hands out the offer form; offer.create makes
// the offer's first version from the answers, and offer.update each later
// one. Every version needs approval (approval.go) before the candidate's
// answer can be recorded with offer.setStatus.
//
// The offer's statuses are derived, never set independently: its
// acceptanceStatus records the candidate's decision (Accepted, Declined)
// or a cancellation, and otherwise follows the latest version's approval;
// offerStatus is a function of both (deriveOfferStatus).

func init() {
	register((*Service).offerEndpoints)
	OnUserChange(refreshOfferUsers)
}

// OfferProcesses: Parent = application; State = status.
var OfferProcesses = store.Kind[ashby.OfferProcess]{Name: "offer_process", Index: func(p *ashby.OfferProcess) store.Index {
	return store.Index{ID: p.ID, Parent: p.ApplicationID, State: p.Status}
}}

// Offers: Parent = application; State = offerStatus; Search =
// acceptanceStatus; Ref = the latest version's approvalStatus; Keys: the
// latest version's opening and author.
var Offers = store.Kind[ashby.Offer]{Name: "offer", HasKeys: true, Index: func(o *ashby.Offer) store.Index {
	idx := store.Index{ID: o.ID, Parent: o.ApplicationID, State: o.OfferStatus, Search: o.AcceptanceStatus}
	if v := o.LatestVersion; v != nil {
		if v.ApprovalStatus != nil {
			idx.Ref = *v.ApprovalStatus
		}
		if v.OpeningID != "" {
			idx.Keys = append(idx.Keys, store.Key{Name: "opening", Value: v.OpeningID})
		}
		if v.Author != nil {
			idx.Keys = append(idx.Keys, store.Key{Name: "user", Value: v.Author.ID})
		}
	}
	return idx
}}

// OfferVersions: Parent = offer (outside the record); Keys: the author.
var OfferVersions = store.Kind[ashby.OfferVersion]{Name: "offer_version", ParentOutside: true, HasKeys: true, Index: func(v *ashby.OfferVersion) store.Index {
	idx := store.Index{ID: v.ID, CreatedAt: v.CreatedAt.Time}
	if v.Author != nil {
		idx.Keys = []store.Key{{Name: "user", Value: v.Author.ID}}
	}
	return idx
}}

// Internal data kept beside the records (never returned as such).
type offerMeta struct {
	ProcessID      string               `json:"processId"`
	VersionIDs     []string             `json:"versionIds"` // oldest first
	FormDefinition ashby.FormDefinition `json:"formDefinition"`
}

type offerProcessMeta struct {
	OfferID string `json:"offerId"`
}

type offerVersionMeta struct {
	OfferID string         `json:"offerId"`
	Values  map[string]any `json:"values"` // the validated form answers, by path
}

func (s *Service) offerEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "offerProcess.start", Permission: ashby.OffersWrite, Summary: "Start an offer process for an application (returns the open one if there is one)."}, s.offerProcessStart),
		rpc.Object(rpc.Spec{Name: "offer.start", Permission: ashby.OffersWrite, Summary: "The offer form to fill in for an offer process."}, s.offerStart),
		rpc.Object(rpc.Spec{Name: "offer.create", Permission: ashby.OffersWrite, Summary: "Create an offer from offer form answers."}, s.offerCreate),
		rpc.Object(rpc.Spec{Name: "offer.update", Permission: ashby.OffersWrite, Summary: "Revise an offer: a new version, which needs approval again."}, s.offerUpdate),
		rpc.Object(rpc.Spec{Name: "offer.info", Permission: ashby.OffersRead, Summary: "Fetch an offer with its versions and form."}, s.offerInfo),
		rpc.List[ashby.Offer](rpc.Spec{Name: "offer.list", Permission: ashby.OffersRead, Summary: "List offers with their latest version; supports incremental sync."}, s.offerList),
		rpc.Object(rpc.Spec{Name: "offer.setStatus", Permission: ashby.OffersWrite, Summary: "Record the candidate's answer (or a cancellation); offerStatus follows."}, s.offerSetStatus),
		rpc.Object(rpc.Spec{Name: "offer.setDecidedAt", Permission: ashby.OffersWrite, Summary: "Set when the candidate decided on the offer."}, s.offerSetDecidedAt),
	}
}

type offerProcessStartRequest struct {
	ApplicationID ashby.ID `json:"applicationId" required:"true"`
}

func (s *Service) offerProcessStart(ctx context.Context, c *rpc.Call, req *offerProcessStartRequest) (rpc.Result[ashby.OfferProcess], error) {
	var p *ashby.OfferProcess
	err := s.write(ctx, func(tx *store.Tx) error {
		// Locking the application serialises concurrent starts, so an
		// application never gets two open processes.
		app, err := Applications.GetForUpdate(ctx, tx, c.Org(), string(req.ApplicationID))
		if err != nil {
			return notFound(err, "application", "Application not found")
		}
		if app.Status == ashby.ApplicationArchived {
			return ashby.InvalidInput("applicationId", "Application %s is archived; move it back to an active stage before making an offer", app.ID)
		}
		existing, err := OfferProcesses.Find(ctx, tx, c.Org(), store.Filter{Parent: app.ID})
		if err != nil {
			return err
		}
		for i := len(existing) - 1; i >= 0; i-- {
			if st := existing[i].Status; st != ashby.OfferCandidateRejected && st != ashby.OfferCancelled {
				p = existing[i]
				return nil
			}
		}
		p = &ashby.OfferProcess{ID: ashby.NewID(), ApplicationID: app.ID, Status: ashby.OfferProcessWaitingOnOfferCreation}
		return OfferProcesses.Put(ctx, tx, c.Org(), p)
	})
	if err != nil {
		return rpc.Result[ashby.OfferProcess]{}, err
	}
	return rpc.Value(p), nil
}

type offerStartRequest struct {
	OfferProcessID ashby.ID `json:"offerProcessId" required:"true"`
}

func (s *Service) offerStart(ctx context.Context, c *rpc.Call, req *offerStartRequest) (rpc.Result[ashby.OfferForm], error) {
	if err := s.ensureOrgDefaults(ctx, c.Org()); err != nil {
		return rpc.Result[ashby.OfferForm]{}, err
	}
	p, err := OfferProcesses.Get(ctx, s.DB, c.Org(), string(req.OfferProcessID))
	if err != nil {
		return rpc.Result[ashby.OfferForm]{}, notFound(err, "offer_process", "Offer process not found")
	}
	app, err := Applications.Get(ctx, s.DB, c.Org(), p.ApplicationID)
	if err != nil {
		return rpc.Result[ashby.OfferForm]{}, notFound(err, "application", "The offer process's application no longer exists")
	}
	f, err := s.composeOfferForm(ctx, s.DB, c.Org(), app)
	if err != nil {
		return rpc.Result[ashby.OfferForm]{}, err
	}
	return rpc.Value(f.form), nil
}

type offerFormInput struct {
	FieldSubmissions []ashby.FieldSubmission `json:"fieldSubmissions" required:"true"`
}

type offerCreateRequest struct {
	OfferProcessID        ashby.ID        `json:"offerProcessId" required:"true"`
	OfferFormID           ashby.ID        `json:"offerFormId" required:"true" doc:"The id offer.start returned."`
	OfferForm             *offerFormInput `json:"offerForm" required:"true"`
	ExcludeFormDefinition bool            `json:"excludeFormDefinition,omitempty"`
}

func (s *Service) offerCreate(ctx context.Context, c *rpc.Call, req *offerCreateRequest) (rpc.Result[ashby.Offer], error) {
	if err := s.ensureOrgDefaults(ctx, c.Org()); err != nil {
		return rpc.Result[ashby.Offer]{}, err
	}
	var offerID string
	err := s.write(ctx, func(tx *store.Tx) error {
		org := c.Org()
		p, err := OfferProcesses.GetForUpdate(ctx, tx, org, string(req.OfferProcessID))
		if err != nil {
			return notFound(err, "offer_process", "Offer process not found")
		}
		var pm offerProcessMeta
		if _, err := store.GetMeta(ctx, tx, org, OfferProcesses.Name, p.ID, &pm); err != nil {
			return err
		}
		if pm.OfferID != "" {
			return ashby.Errorf("offer_already_exists", "Offer process %s already has offer %s; revise it with offer.update", p.ID, pm.OfferID)
		}
		app, err := Applications.Get(ctx, tx, org, p.ApplicationID)
		if err != nil {
			return notFound(err, "application", "The offer process's application no longer exists")
		}
		f, err := s.composeOfferForm(ctx, tx, org, app)
		if err != nil {
			return err
		}
		if string(req.OfferFormID) != f.form.ID {
			return ashby.Errorf("offer_form_not_found", "Offer form %s not found; use the id offer.start returns", req.OfferFormID)
		}
		values, err := f.validate(req.OfferForm.FieldSubmissions, nil)
		if err != nil {
			return err
		}
		actor, err := s.actingUser(ctx, tx, c)
		if err != nil {
			return err
		}
		v := &ashby.OfferVersion{ID: ashby.NewID(), CreatedAt: s.now(), Author: actor, FileHandles: []ashby.FileHandle{}}
		f.applyValues(v, values)
		o := &ashby.Offer{ID: ashby.NewID(), ApplicationID: app.ID, AcceptanceStatus: ashby.AcceptanceCreated, LatestVersion: v}
		offerID = o.ID
		if err := s.checkOfferOpening(ctx, tx, org, o.ID, v.OpeningID); err != nil {
			return err
		}
		// The rows must exist before their internal data can be attached.
		if err := Offers.Put(ctx, tx, org, o); err != nil {
			return err
		}
		if err := OfferVersions.PutChild(ctx, tx, org, o.ID, v); err != nil {
			return err
		}
		if err := tx.SetMeta(ctx, org, OfferVersions.Name, v.ID, offerVersionMeta{OfferID: o.ID, Values: values}); err != nil {
			return err
		}
		if err := tx.SetMeta(ctx, org, Offers.Name, o.ID, offerMeta{ProcessID: p.ID, VersionIDs: []string{v.ID}, FormDefinition: f.form.FormDefinition}); err != nil {
			return err
		}
		if err := tx.SetMeta(ctx, org, OfferProcesses.Name, p.ID, offerProcessMeta{OfferID: o.ID}); err != nil {
			return err
		}
		return s.saveOffer(ctx, tx, org, o, "offerCreate")
	})
	if err != nil {
		return rpc.Result[ashby.Offer]{}, err
	}
	return s.offerResult(ctx, c.Org(), offerID, req.ExcludeFormDefinition)
}

type offerUpdateRequest struct {
	OfferID               ashby.ID        `json:"offerId" required:"true"`
	OfferForm             *offerFormInput `json:"offerForm" required:"true" doc:"Answers to change; unanswered fields keep the previous version's values, null clears one."`
	ExcludeFormDefinition bool            `json:"excludeFormDefinition,omitempty"`
}

func (s *Service) offerUpdate(ctx context.Context, c *rpc.Call, req *offerUpdateRequest) (rpc.Result[ashby.Offer], error) {
	if err := s.ensureOrgDefaults(ctx, c.Org()); err != nil {
		return rpc.Result[ashby.Offer]{}, err
	}
	err := s.write(ctx, func(tx *store.Tx) error {
		org := c.Org()
		o, err := Offers.GetForUpdate(ctx, tx, org, string(req.OfferID))
		if err != nil {
			return notFound(err, "offer", "Offer not found")
		}
		if o.AcceptanceStatus == ashby.AcceptanceCancelled {
			return ashby.Errorf("offer_state_invalid", "Offer %s is cancelled; start a new offer process instead", o.ID)
		}
		app, err := Applications.Get(ctx, tx, org, o.ApplicationID)
		if err != nil {
			return notFound(err, "application", "The offer's application no longer exists")
		}
		f, err := s.composeOfferForm(ctx, tx, org, app)
		if err != nil {
			return err
		}
		var om offerMeta
		if _, err := store.GetMeta(ctx, tx, org, Offers.Name, o.ID, &om); err != nil {
			return err
		}
		prev := o.LatestVersion
		var pvm offerVersionMeta
		if _, err := store.GetMeta(ctx, tx, org, OfferVersions.Name, prev.ID, &pvm); err != nil {
			return err
		}
		values, err := f.validate(req.OfferForm.FieldSubmissions, pvm.Values)
		if err != nil {
			return err
		}
		actor, err := s.actingUser(ctx, tx, c)
		if err != nil {
			return err
		}
		now := s.now()
		v := &ashby.OfferVersion{ID: ashby.NewID(), CreatedAt: now, Author: actor, FileHandles: []ashby.FileHandle{}}
		f.applyValues(v, values)
		if v.OpeningID != prev.OpeningID {
			if err := s.checkOfferOpening(ctx, tx, org, o.ID, v.OpeningID); err != nil {
				return err
			}
		}
		// A revised offer is a new offer to the candidate: any earlier
		// answer no longer applies.
		o.LatestVersion = v
		o.AcceptanceStatus, o.DecidedAt = ashby.AcceptanceCreated, nil
		if err := OfferVersions.PutChild(ctx, tx, org, o.ID, v); err != nil {
			return err
		}
		if err := tx.SetMeta(ctx, org, OfferVersions.Name, v.ID, offerVersionMeta{OfferID: o.ID, Values: values}); err != nil {
			return err
		}
		om.VersionIDs = append(om.VersionIDs, v.ID)
		om.FormDefinition = f.form.FormDefinition
		if err := tx.SetMeta(ctx, org, Offers.Name, o.ID, om); err != nil {
			return err
		}
		if err := carryApproval(ctx, tx, org, prev.ID, v, now); err != nil {
			return err
		}
		return s.saveOffer(ctx, tx, org, o, "offerUpdate")
	})
	if err != nil {
		return rpc.Result[ashby.Offer]{}, err
	}
	return s.offerResult(ctx, c.Org(), string(req.OfferID), req.ExcludeFormDefinition)
}

// checkOfferOpening checks that an offer may fill an opening: it must be
// Open and not promised to another live offer (one not declined or
// cancelled).
func (s *Service) checkOfferOpening(ctx context.Context, tx *store.Tx, org, offerID, openingID string) error {
	if openingID == "" {
		return nil
	}
	// Locking the opening serialises offers naming it, so two cannot both
	// find it free.
	op, err := Openings.GetForUpdate(ctx, tx, org, openingID)
	if err != nil {
		return notFound(err, "opening", "Opening not found")
	}
	if op.IsArchived || op.OpeningState != ashby.OpeningOpen {
		state := op.OpeningState
		if op.IsArchived {
			state = "archived"
		}
		return ashby.Errorf("opening_state_invalid", "Opening %s is %s; an offer needs an Open opening", op.ID, state)
	}
	others, err := Offers.ByKey(ctx, tx, org, "opening", openingID, 0)
	if err != nil {
		return err
	}
	for _, x := range others {
		if x.ID != offerID && x.AcceptanceStatus != ashby.AcceptanceDeclined && x.AcceptanceStatus != ashby.AcceptanceCancelled {
			return ashby.Errorf("opening_in_use", "Opening %s is already used by offer %s", openingID, x.ID)
		}
	}
	return nil
}

// saveOffer derives the offer's statuses from its latest version's
// approval, stores the offer and that version, brings its offer process up
// to date and, when action is set, emits the event with the whole offer.
func (s *Service) saveOffer(ctx context.Context, tx *store.Tx, org string, o *ashby.Offer, action string) error {
	ph, _, _, err := offerPhase(ctx, tx, org, o.LatestVersion)
	if err != nil {
		return err
	}
	deriveOfferStatus(o, ph)
	if err := Offers.Put(ctx, tx, org, o); err != nil {
		return err
	}
	// The version record is a copy of the offer's latest version, written
	// only here under the offer's lock; lock it too before overwriting it.
	if _, err := OfferVersions.GetForUpdate(ctx, tx, org, o.LatestVersion.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := OfferVersions.PutChild(ctx, tx, org, o.ID, o.LatestVersion); err != nil {
		return err
	}
	var om offerMeta
	if _, err := store.GetMeta(ctx, tx, org, Offers.Name, o.ID, &om); err != nil {
		return err
	}
	if om.ProcessID != "" {
		p, err := OfferProcesses.GetForUpdate(ctx, tx, org, om.ProcessID)
		if err != nil {
			return fmt.Errorf("offer %s process: %w", o.ID, err)
		}
		if st := processStatus(o.OfferStatus); p.Status != st {
			p.Status = st
			if err := OfferProcesses.Put(ctx, tx, org, p); err != nil {
				return err
			}
		}
	}
	if action == "" {
		return nil
	}
	full, err := fullOffer(ctx, tx, org, o, false)
	if err != nil {
		return err
	}
	return emit(ctx, tx, org, action, map[string]any{"offer": full})
}

// processStatus is an offer process's status for its offer's status; a
// process has no status of its own for a missing approval definition.
func processStatus(offerStatus string) string {
	if offerStatus == ashby.OfferWaitingOnApprovalDefinition {
		return ashby.OfferWaitingOnApprovalStart
	}
	return offerStatus
}

// fullOffer is the offer as offer.info and events show it: with every
// version, oldest first, and the form it was made with.
func fullOffer(ctx context.Context, q store.Q, org string, o *ashby.Offer, excludeForm bool) (*ashby.Offer, error) {
	var om offerMeta
	if _, err := store.GetMeta(ctx, q, org, Offers.Name, o.ID, &om); err != nil {
		return nil, err
	}
	byID, err := OfferVersions.GetMany(ctx, q, org, om.VersionIDs)
	if err != nil {
		return nil, err
	}
	out := *o
	out.Versions = make([]ashby.OfferVersion, 0, len(om.VersionIDs))
	for _, id := range om.VersionIDs {
		if v, ok := byID[id]; ok {
			out.Versions = append(out.Versions, *v)
		}
	}
	if !excludeForm {
		out.FormDefinition = &om.FormDefinition
	}
	return &out, nil
}

// offerResult reads a committed offer back for a response.
func (s *Service) offerResult(ctx context.Context, org, id string, excludeForm bool) (rpc.Result[ashby.Offer], error) {
	o, err := Offers.Get(ctx, s.DB, org, id)
	if err != nil {
		return rpc.Result[ashby.Offer]{}, notFound(err, "offer", "Offer not found")
	}
	full, err := fullOffer(ctx, s.DB, org, o, excludeForm)
	if err != nil {
		return rpc.Result[ashby.Offer]{}, err
	}
	return rpc.Value(full), nil
}

type offerInfoRequest struct {
	OfferID               ashby.ID `json:"offerId" required:"true"`
	ExcludeFormDefinition bool     `json:"excludeFormDefinition,omitempty"`
}

func (s *Service) offerInfo(ctx context.Context, c *rpc.Call, req *offerInfoRequest) (rpc.Result[ashby.Offer], error) {
	return s.offerResult(ctx, c.Org(), string(req.OfferID), req.ExcludeFormDefinition)
}

type offerListRequest struct {
	rpc.SyncParams
	CreatedAfter     int64                   `json:"createdAfter,omitempty" doc:"Epoch milliseconds."`
	OfferStatus      ashby.OneOrMany[string] `json:"offerStatus,omitempty" enum:"WaitingOnApprovalStart,WaitingOnOfferApproval,WaitingOnApprovalDefinition,WaitingOnCandidateResponse,CandidateRejected,CandidateAccepted,OfferCancelled"`
	AcceptanceStatus ashby.OneOrMany[string] `json:"acceptanceStatus,omitempty" enum:"Accepted,Declined,Pending,Created,Cancelled,WaitingOnResponse"`
	ApplicationID    ashby.ID                `json:"applicationId,omitempty"`
	ApprovalStatus   ashby.OneOrMany[string] `json:"approvalStatus,omitempty" enum:"Approved,WaitingOnApprovals,Declined"`
}

func (s *Service) offerList(ctx context.Context, c *rpc.Call, req *offerListRequest) (*rpc.Page, error) {
	spec := listSpec(c, Offers.Name, req.SyncParams)
	spec.CreatedAfter = req.CreatedAfter
	spec.Filter.Parent = string(req.ApplicationID)
	spec.Filter.State = req.OfferStatus
	// The statuses are state filters: an incremental sync reports offers
	// that left them too (FullConds apply to full syncs only).
	for _, f := range []struct {
		col  string
		vals []string
	}{{"skey", req.AcceptanceStatus}, {"ref_id", req.ApprovalStatus}} {
		if len(f.vals) == 0 {
			continue
		}
		args := make([]any, len(f.vals))
		for i, v := range f.vals {
			args[i] = v
		}
		spec.FullConds = append(spec.FullConds, store.Cond{SQL: f.col + " IN (" + strings.TrimSuffix(strings.Repeat("?,", len(args)), ",") + ")", Args: args})
	}
	return s.listPage(ctx, spec)
}

type offerSetStatusRequest struct {
	OfferID               ashby.ID `json:"offerId" required:"true"`
	AcceptanceStatus      string   `json:"acceptanceStatus" required:"true" enum:"Accepted,Declined,Pending,Created,Cancelled,WaitingOnResponse"`
	ExcludeFormDefinition bool     `json:"excludeFormDefinition,omitempty"`
}

func (s *Service) offerSetStatus(ctx context.Context, c *rpc.Call, req *offerSetStatusRequest) (rpc.Result[ashby.Offer], error) {
	err := s.write(ctx, func(tx *store.Tx) error {
		org := c.Org()
		o, err := Offers.GetForUpdate(ctx, tx, org, string(req.OfferID))
		if err != nil {
			return notFound(err, "offer", "Offer not found")
		}
		if o.AcceptanceStatus == req.AcceptanceStatus {
			return nil
		}
		ph, _, _, err := offerPhase(ctx, tx, org, o.LatestVersion)
		if err != nil {
			return err
		}
		// Each acceptance status is only consistent with some approval
		// states: a candidate answers an approved offer, and Created or
		// Pending describe an offer whose approval has not finished.
		ok := true
		switch req.AcceptanceStatus {
		case ashby.AcceptanceAccepted, ashby.AcceptanceDeclined, ashby.AcceptanceWaitingOnResponse:
			ok = ph == phaseDone
		case ashby.AcceptanceCreated:
			ok = ph == phaseUndefined || ph == phaseNotStarted
		case ashby.AcceptancePending:
			ok = ph == phaseInProgress
		}
		if !ok {
			return ashby.Errorf("offer_state_invalid", "Offer %s cannot become %s while its latest version is %s", o.ID, req.AcceptanceStatus, ph)
		}
		o.AcceptanceStatus, o.DecidedAt = req.AcceptanceStatus, nil
		if req.AcceptanceStatus == ashby.AcceptanceAccepted || req.AcceptanceStatus == ashby.AcceptanceDeclined {
			o.DecidedAt = s.now().Ptr()
		}
		return s.saveOffer(ctx, tx, org, o, "offerUpdate")
	})
	if err != nil {
		return rpc.Result[ashby.Offer]{}, err
	}
	return s.offerResult(ctx, c.Org(), string(req.OfferID), req.ExcludeFormDefinition)
}

type offerSetDecidedAtRequest struct {
	OfferID               ashby.ID    `json:"offerId" required:"true"`
	DecidedAt             *ashby.Time `json:"decidedAt" required:"true"`
	ExcludeFormDefinition bool        `json:"excludeFormDefinition,omitempty"`
}

func (s *Service) offerSetDecidedAt(ctx context.Context, c *rpc.Call, req *offerSetDecidedAtRequest) (rpc.Result[ashby.Offer], error) {
	if req.DecidedAt.After(s.DB.Now()) {
		return rpc.Result[ashby.Offer]{}, ashby.InvalidInput("decidedAt", "decidedAt cannot be in the future")
	}
	err := s.write(ctx, func(tx *store.Tx) error {
		org := c.Org()
		o, err := Offers.GetForUpdate(ctx, tx, org, string(req.OfferID))
		if err != nil {
			return notFound(err, "offer", "Offer not found")
		}
		if o.AcceptanceStatus != ashby.AcceptanceAccepted && o.AcceptanceStatus != ashby.AcceptanceDeclined {
			return ashby.Errorf("offer_state_invalid", "Offer %s is %s; only an accepted or declined offer has a decision time", o.ID, o.AcceptanceStatus)
		}
		if o.DecidedAt != nil && o.DecidedAt.Equal(req.DecidedAt.Time) {
			return nil
		}
		o.DecidedAt = req.DecidedAt
		return s.saveOffer(ctx, tx, org, o, "offerUpdate")
	})
	if err != nil {
		return rpc.Result[ashby.Offer]{}, err
	}
	return s.offerResult(ctx, c.Org(), string(req.OfferID), req.ExcludeFormDefinition)
}

// hiredOffer is api.HiredOffer: called in the transaction that hires an
// application, it returns the accepted offer for the candidateHire event
// and marks the opening the hire fills (the offer's, else the job's
// longest-open one) as Filled.
func hiredOffer(ctx context.Context, tx *store.Tx, org, applicationID string) (any, error) {
	app, err := Applications.Get(ctx, tx, org, applicationID)
	if err != nil {
		return nil, fmt.Errorf("hired application %s: %w", applicationID, err)
	}
	accepted, err := Offers.Find(ctx, tx, org, store.Filter{Parent: applicationID, State: []string{ashby.OfferCandidateAccepted}})
	if err != nil {
		return nil, err
	}
	var offer *ashby.Offer
	if n := len(accepted); n > 0 {
		offer = accepted[n-1]
	}
	openingID := ""
	if offer != nil && offer.LatestVersion != nil {
		openingID = offer.LatestVersion.OpeningID
	}
	if err := fillOpening(ctx, tx, org, app.Job.ID, openingID, ashby.NewTime(tx.DB().Now())); err != nil {
		return nil, err
	}
	if offer == nil {
		return nil, nil
	}
	full, err := fullOffer(ctx, tx, org, offer, false)
	if err != nil {
		return nil, err
	}
	return full, nil
}

// deleteApplicationOffers removes an application's offer processes and
// offers with their versions and approvals, announcing each offer with
// offerDelete.
func (s *Service) deleteApplicationOffers(ctx context.Context, tx *store.Tx, org, applicationID string) error {
	offers, err := Offers.Find(ctx, tx, org, store.Filter{Parent: applicationID, IncludeArchived: true})
	if err != nil {
		return err
	}
	for _, o := range offers {
		var om offerMeta
		if _, err := store.GetMeta(ctx, tx, org, Offers.Name, o.ID, &om); err != nil {
			return err
		}
		for _, vid := range om.VersionIDs {
			if err := s.deleteApprovals(ctx, tx, org, vid); err != nil {
				return err
			}
			if err := OfferVersions.Delete(ctx, tx, org, vid); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if err := Offers.Delete(ctx, tx, org, o.ID); err != nil {
			return err
		}
		if err := emit(ctx, tx, org, "offerDelete", map[string]any{"offer": map[string]string{"id": o.ID, "applicationId": o.ApplicationID}}); err != nil {
			return err
		}
	}
	procs, err := OfferProcesses.Find(ctx, tx, org, store.Filter{Parent: applicationID, IncludeArchived: true})
	if err != nil {
		return err
	}
	for _, p := range procs {
		if err := OfferProcesses.Delete(ctx, tx, org, p.ID); err != nil {
			return err
		}
	}
	return nil
}

// refreshOfferUsers rewrites the offer versions, and the offers whose
// latest version, name user u as their author.
func refreshOfferUsers(ctx context.Context, _ *Service, tx *store.Tx, org string, u *ashby.User) error {
	versions, err := OfferVersions.ByKeyForUpdate(ctx, tx, org, "user", u.ID)
	if err != nil {
		return err
	}
	for _, v := range versions {
		if v.Author == nil || v.Author.ID != u.ID || string(mustJSON(v.Author)) == string(mustJSON(u)) {
			continue
		}
		var vm offerVersionMeta
		if _, err := store.GetMeta(ctx, tx, org, OfferVersions.Name, v.ID, &vm); err != nil {
			return err
		}
		v.Author = u
		if err := OfferVersions.PutChild(ctx, tx, org, vm.OfferID, v); err != nil {
			return err
		}
	}
	_, err = Offers.RewriteByKey(ctx, tx, org, "user", u.ID, func(o *ashby.Offer) error {
		if o.LatestVersion != nil && o.LatestVersion.Author != nil && o.LatestVersion.Author.ID == u.ID {
			o.LatestVersion.Author = u
		}
		return nil
	})
	return err
}
