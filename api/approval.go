package api

import (
	"context"
	"errors"
	"fmt"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// Approvals of offer versions (https://developers.ashbyhq.com/reference/approvallist). approvalDefinition.update
// says who must approve a version, step by step (no steps: no approval
// needed); the approval itself records each approver's decision. It is
// submitted by approvalDefinition.update's submitApprovalRequest or by
// offer.startApprovalProcess, steps complete in order once enough of their
// approvers approve, and offer.approve approves as a user or forces the
// whole approval through, as an admin can in Ashby's app.

func init() { register((*Service).approvalEndpoints) }

// Approvals: Parent and Unique = the entity (an offer version); State =
// entity type.
var Approvals = store.Kind[ashby.Approval]{Name: "approval", Index: func(a *ashby.Approval) store.Index {
	return store.Index{ID: a.ID, CreatedAt: a.CreatedAt.Time, Parent: a.EntityID, Unique: a.EntityID, State: a.EntityType}
}}

// ApprovalDefinitions: Unique = the entity (an offer version).
var ApprovalDefinitions = store.Kind[ashby.ApprovalDefinition]{Name: "approval_definition", Index: func(d *ashby.ApprovalDefinition) store.Index {
	return store.Index{ID: d.ID, Parent: d.EntityID, Unique: d.EntityID}
}}

type approvalMeta struct {
	Note string `json:"note,omitempty"` // offer.startApprovalProcess's note to the approvers
}

func (s *Service) approvalEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.List[ashby.Approval](rpc.Spec{Name: "approval.list", Permission: ashby.ApprovalsRead, Summary: "List approvals, optionally of one entity; supports incremental sync."}, s.approvalList),
		rpc.Object(rpc.Spec{Name: "approvalDefinition.update", Permission: ashby.ApprovalsWrite, Summary: "Set who must approve an offer version; [] means it needs no approval."}, s.approvalDefinitionUpdate),
		rpc.Object(rpc.Spec{Name: "offer.startApprovalProcess", Permission: ashby.OffersWrite, Summary: "Submit an offer version's approval to its approvers."}, s.offerStartApprovalProcess),
		rpc.Object(rpc.Spec{Name: "offer.approve", Permission: ashby.OffersWrite, Summary: "Force-approve an offer version, or approve its current step as one of the step's approvers."}, s.offerApprove),
	}
}

// approvalPhase is where an offer version stands with its approval.
type approvalPhase int

const (
	phaseUndefined  approvalPhase = iota // no approval definition yet
	phaseNotStarted                      // defined, not submitted
	phaseInProgress                      // submitted, steps outstanding
	phaseDone                            // approved, or needs no approval
)

func (p approvalPhase) String() string {
	return [...]string{"waiting for an approval definition", "waiting for its approval to start", "waiting for approvals", "approved"}[p]
}

// offerPhase loads an offer version's approval definition and approval
// and tells where the version stands.
func offerPhase(ctx context.Context, q store.Q, org string, v *ashby.OfferVersion) (approvalPhase, *ashby.ApprovalDefinition, *ashby.Approval, error) {
	def, err := existing(ApprovalDefinitions.FindOne(ctx, q, org, store.Filter{Unique: v.ID}))
	if err != nil {
		return 0, nil, nil, err
	}
	appr, err := existing(Approvals.FindOne(ctx, q, org, store.Filter{Unique: v.ID}))
	if err != nil {
		return 0, nil, nil, err
	}
	return phaseOf(v, def, appr), def, appr, nil
}

// lockedOfferPhase is offerPhase for a writer that changes the definition
// or the approval: both are locked (the writer holds their offer's lock).
func lockedOfferPhase(ctx context.Context, tx *store.Tx, org string, v *ashby.OfferVersion) (approvalPhase, *ashby.ApprovalDefinition, *ashby.Approval, error) {
	def, err := existing(ApprovalDefinitions.FindOneForUpdate(ctx, tx, org, store.Filter{Unique: v.ID}))
	if err != nil {
		return 0, nil, nil, err
	}
	appr, err := existing(Approvals.FindOneForUpdate(ctx, tx, org, store.Filter{Unique: v.ID}))
	if err != nil {
		return 0, nil, nil, err
	}
	return phaseOf(v, def, appr), def, appr, nil
}

// existing turns store.ErrNotFound into a nil record.
func existing[T any](v *T, err error) (*T, error) {
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return v, err
}

func phaseOf(v *ashby.OfferVersion, def *ashby.ApprovalDefinition, appr *ashby.Approval) approvalPhase {
	switch {
	case v.ApprovalStatus != nil && *v.ApprovalStatus == ashby.ApprovalApproved:
		return phaseDone
	case def == nil:
		return phaseUndefined
	case len(def.ApprovalStepDefinitions) == 0:
		return phaseDone
	case appr == nil || appr.SubmittedAt == nil:
		return phaseNotStarted
	case appr.CompletedAt != nil:
		return phaseDone
	}
	return phaseInProgress
}

// deriveOfferStatus sets offerStatus from the candidate's decision or, if
// there is none, from the approval phase, which also sets acceptanceStatus.
func deriveOfferStatus(o *ashby.Offer, ph approvalPhase) {
	switch o.AcceptanceStatus {
	case ashby.AcceptanceAccepted:
		o.OfferStatus = ashby.OfferCandidateAccepted
		return
	case ashby.AcceptanceDeclined:
		o.OfferStatus = ashby.OfferCandidateRejected
		return
	case ashby.AcceptanceCancelled:
		o.OfferStatus = ashby.OfferCancelled
		return
	}
	switch ph {
	case phaseUndefined:
		o.OfferStatus, o.AcceptanceStatus = ashby.OfferWaitingOnApprovalDefinition, ashby.AcceptanceCreated
	case phaseNotStarted:
		o.OfferStatus, o.AcceptanceStatus = ashby.OfferWaitingOnApprovalStart, ashby.AcceptanceCreated
	case phaseInProgress:
		o.OfferStatus, o.AcceptanceStatus = ashby.OfferWaitingOnOfferApproval, ashby.AcceptancePending
	default:
		o.OfferStatus, o.AcceptanceStatus = ashby.OfferWaitingOnCandidateResponse, ashby.AcceptanceWaitingOnResponse
	}
}

func approvalStatusPtr(s string) *string { return &s }

type approvalListRequest struct {
	rpc.SyncParams
	EntityType string   `json:"entityType,omitempty" enum:"offer,job,opening"`
	EntityID   ashby.ID `json:"entityId,omitempty" doc:"For offers, an offer version id."`
}

func (s *Service) approvalList(ctx context.Context, c *rpc.Call, req *approvalListRequest) (*rpc.Page, error) {
	spec := listSpec(c, Approvals.Name, req.SyncParams)
	spec.Filter.Parent = string(req.EntityID)
	if req.EntityType != "" {
		// The entity type scopes the list (in incremental syncs too).
		spec.Conds = append(spec.Conds, store.Cond{SQL: "state = ?", Args: []any{req.EntityType}})
	}
	return s.listPage(ctx, spec)
}

type approverInput struct {
	UserID ashby.ID `json:"userId" required:"true"`
	Type   string   `json:"type" required:"true" enum:"user"`
}

type approvalStepInput struct {
	ApprovalsRequired *int            `json:"approvalsRequired" required:"true"`
	Approvers         []approverInput `json:"approvers" required:"true"`
}

type approvalDefinitionUpdateRequest struct {
	EntityType              string              `json:"entityType" required:"true" enum:"offer"`
	EntityID                ashby.ID            `json:"entityId" required:"true" doc:"The offer version id."`
	ApprovalStepDefinitions []approvalStepInput `json:"approvalStepDefinitions" required:"true" doc:"[] means the version needs no approval."`
	SubmitApprovalRequest   bool                `json:"submitApprovalRequest,omitempty" doc:"Submit the approval to its approvers at once."`
}

func (s *Service) approvalDefinitionUpdate(ctx context.Context, c *rpc.Call, req *approvalDefinitionUpdateRequest) (rpc.Result[ashby.ApprovalDefinition], error) {
	steps := make([]ashby.ApprovalStepDefinition, 0, len(req.ApprovalStepDefinitions))
	var def *ashby.ApprovalDefinition
	err := s.write(ctx, func(tx *store.Tx) error {
		org := c.Org()
		for i, in := range req.ApprovalStepDefinitions {
			st, err := approvalStep(ctx, tx, org, i, in)
			if err != nil {
				return err
			}
			steps = append(steps, st)
		}
		o, err := lockOfferVersion(ctx, tx, org, string(req.EntityID), "entityId")
		if err != nil {
			return err
		}
		if err := offerOpenForApproval(o); err != nil {
			return err
		}
		v := o.LatestVersion
		_, def, _, err = lockedOfferPhase(ctx, tx, org, v)
		if err != nil {
			return err
		}
		if def == nil {
			def = &ashby.ApprovalDefinition{ID: ashby.NewID(), EntityType: "Offer", EntityID: v.ID}
		}
		def.ApprovalStepDefinitions = steps
		if err := ApprovalDefinitions.Put(ctx, tx, org, def); err != nil {
			return err
		}
		// A new definition starts the version's approval over.
		if err := resetApproval(ctx, tx, org, def, v, req.SubmitApprovalRequest, s.now()); err != nil {
			return err
		}
		return s.saveOffer(ctx, tx, org, o, "offerUpdate")
	})
	if err != nil {
		return rpc.Result[ashby.ApprovalDefinition]{}, err
	}
	return rpc.Value(def), nil
}

// approvalStep validates one step definition: at least one approver, each
// an active user at most once, and between one and all of them required.
func approvalStep(ctx context.Context, q store.Q, org string, i int, in approvalStepInput) (ashby.ApprovalStepDefinition, error) {
	path := fmt.Sprintf("approvalStepDefinitions[%d]", i)
	st := ashby.ApprovalStepDefinition{Approvers: []ashby.ApproverSelector{}}
	if len(in.Approvers) == 0 {
		return st, ashby.InvalidInput(path+".approvers", "A step needs at least one approver")
	}
	for j, a := range in.Approvers {
		u, err := mustExist(ctx, q, Users, org, string(a.UserID), "user", fmt.Sprintf("%s.approvers[%d].userId", path, j))
		if err != nil {
			return st, err
		}
		if !u.IsEnabled {
			return st, ashby.InvalidInput(fmt.Sprintf("%s.approvers[%d].userId", path, j), "User %s is deactivated", u.ID)
		}
		for _, x := range st.Approvers {
			if x.UserID == u.ID {
				return st, ashby.InvalidInput(fmt.Sprintf("%s.approvers[%d].userId", path, j), "User %s is listed twice in one step", u.ID)
			}
		}
		st.Approvers = append(st.Approvers, ashby.ApproverSelector{UserID: u.ID, Type: a.Type})
	}
	st.ApprovalsRequired = *in.ApprovalsRequired
	if st.ApprovalsRequired < 1 || st.ApprovalsRequired > len(st.Approvers) {
		return st, ashby.InvalidInput(path+".approvalsRequired", "approvalsRequired must be between 1 and the step's %d approvers", len(st.Approvers))
	}
	return st, nil
}

// lockOfferVersion loads, for update, the offer whose latest version is
// versionID. Approvals act on the latest version only: an older one has
// been superseded.
func lockOfferVersion(ctx context.Context, tx *store.Tx, org, versionID, field string) (*ashby.Offer, error) {
	var vm offerVersionMeta
	ok, err := store.GetMeta(ctx, tx, org, OfferVersions.Name, versionID, &vm)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !ok) {
		return nil, ashby.Errorf("offer_version_not_found", "Offer version %s not found (field %s)", versionID, field)
	}
	if err != nil {
		return nil, err
	}
	o, err := Offers.GetForUpdate(ctx, tx, org, vm.OfferID)
	if err != nil {
		return nil, notFound(err, "offer", "Offer not found")
	}
	if o.LatestVersion == nil || o.LatestVersion.ID != versionID {
		return nil, ashby.InvalidInput(field, "Offer version %s has been superseded by %s; use the latest version", versionID, o.LatestVersion.ID)
	}
	return o, nil
}

// offerOpenForApproval refuses approval changes once the candidate has
// answered or the offer was cancelled; revise the offer instead.
func offerOpenForApproval(o *ashby.Offer) error {
	switch o.AcceptanceStatus {
	case ashby.AcceptanceAccepted, ashby.AcceptanceDeclined, ashby.AcceptanceCancelled:
		return ashby.Errorf("offer_state_invalid", "Offer %s is %s; its approval can no longer change", o.ID, o.AcceptanceStatus)
	}
	return nil
}

// resetApproval gives version v a fresh approval following def, submitted
// at once if submit is set. A definition without steps needs no approval,
// so the version's approval record, if any, is removed.
func resetApproval(ctx context.Context, tx *store.Tx, org string, def *ashby.ApprovalDefinition, v *ashby.OfferVersion, submit bool, now ashby.Time) error {
	appr, err := Approvals.FindOneForUpdate(ctx, tx, org, store.Filter{Unique: v.ID})
	if errors.Is(err, store.ErrNotFound) {
		appr, err = nil, nil
	}
	if err != nil {
		return err
	}
	v.ApprovalStatus = nil
	if len(def.ApprovalStepDefinitions) == 0 {
		if appr != nil {
			return Approvals.Delete(ctx, tx, org, appr.ID)
		}
		return nil
	}
	if appr == nil {
		appr = &ashby.Approval{ID: ashby.NewID(), EntityID: v.ID, EntityType: "offer", CreatedAt: now}
	}
	appr.ApprovalDefinitionID = def.ID
	appr.SubmittedAt, appr.CompletedAt = nil, nil
	appr.Steps = make([]ashby.ApprovalStep, len(def.ApprovalStepDefinitions))
	for i, sd := range def.ApprovalStepDefinitions {
		st := ashby.ApprovalStep{ID: ashby.NewID(), ApprovalsRequired: sd.ApprovalsRequired, Approvers: make([]ashby.Approver, len(sd.Approvers))}
		for j, a := range sd.Approvers {
			st.Approvers[j] = ashby.Approver{ID: ashby.NewID(), UserID: a.UserID, Decision: ashby.DecisionPending}
		}
		appr.Steps[i] = st
	}
	if submit {
		submitApproval(appr, v, now)
	}
	return Approvals.Put(ctx, tx, org, appr)
}

// submitApproval sends an approval to the approvers of its first step.
func submitApproval(a *ashby.Approval, v *ashby.OfferVersion, now ashby.Time) {
	a.SubmittedAt = now.Ptr()
	requestStep(a, now)
	v.ApprovalStatus = approvalStatusPtr(ashby.ApprovalWaitingOnApprovals)
}

// currentStep is the first step not yet complete, or -1.
func currentStep(a *ashby.Approval) int {
	for i, st := range a.Steps {
		if st.CompletedAt == nil {
			return i
		}
	}
	return -1
}

// requestStep asks the current step's approvers for their decision.
func requestStep(a *ashby.Approval, now ashby.Time) {
	if i := currentStep(a); i >= 0 {
		for j := range a.Steps[i].Approvers {
			if a.Steps[i].Approvers[j].RequestedAt == nil {
				a.Steps[i].Approvers[j].RequestedAt = now.Ptr()
			}
		}
	}
}

// carryApproval gives a new offer version the approval definition of the
// version it revises; its approval is submitted at once if the previous
// version's had been, so a revision re-triggers the approval it needs.
func carryApproval(ctx context.Context, tx *store.Tx, org, prevVersionID string, v *ashby.OfferVersion, now ashby.Time) error {
	prev, err := ApprovalDefinitions.FindOne(ctx, tx, org, store.Filter{Unique: prevVersionID})
	if errors.Is(err, store.ErrNotFound) {
		return nil // the new version waits for a definition, as the old one did
	}
	if err != nil {
		return err
	}
	def := &ashby.ApprovalDefinition{ID: ashby.NewID(), EntityType: "Offer", EntityID: v.ID, ApprovalStepDefinitions: prev.ApprovalStepDefinitions}
	if err := ApprovalDefinitions.Put(ctx, tx, org, def); err != nil {
		return err
	}
	prevAppr, err := Approvals.FindOne(ctx, tx, org, store.Filter{Unique: prevVersionID})
	if errors.Is(err, store.ErrNotFound) {
		prevAppr, err = nil, nil
	}
	if err != nil {
		return err
	}
	return resetApproval(ctx, tx, org, def, v, prevAppr != nil && prevAppr.SubmittedAt != nil, now)
}

// deleteApprovals removes an entity's approval and its definition.
func (s *Service) deleteApprovals(ctx context.Context, tx *store.Tx, org, entityID string) error {
	if a, err := Approvals.FindOne(ctx, tx, org, store.Filter{Unique: entityID}); err == nil {
		if err := Approvals.Delete(ctx, tx, org, a.ID); err != nil {
			return err
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if d, err := ApprovalDefinitions.FindOne(ctx, tx, org, store.Filter{Unique: entityID}); err == nil {
		return ApprovalDefinitions.Delete(ctx, tx, org, d.ID)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

type offerStartApprovalRequest struct {
	OfferVersionID        ashby.ID `json:"offerVersionId" required:"true"`
	Note                  string   `json:"note,omitempty" doc:"A note for the approvers." maxLength:"text"`
	ExcludeFormDefinition bool     `json:"excludeFormDefinition,omitempty"`
}

func (s *Service) offerStartApprovalProcess(ctx context.Context, c *rpc.Call, req *offerStartApprovalRequest) (rpc.Result[ashby.Offer], error) {
	var offerID string
	err := s.write(ctx, func(tx *store.Tx) error {
		org := c.Org()
		o, err := lockOfferVersion(ctx, tx, org, string(req.OfferVersionID), "offerVersionId")
		if err != nil {
			return err
		}
		offerID = o.ID
		if err := offerOpenForApproval(o); err != nil {
			return err
		}
		ph, _, appr, err := lockedOfferPhase(ctx, tx, org, o.LatestVersion)
		if err != nil {
			return err
		}
		switch ph {
		case phaseUndefined:
			return ashby.Errorf("offer_state_invalid", "Offer version %s has no approval definition; set one with approvalDefinition.update", o.LatestVersion.ID)
		case phaseInProgress, phaseDone:
			return nil // already under way, or nothing to approve
		}
		submitApproval(appr, o.LatestVersion, s.now())
		if err := Approvals.Put(ctx, tx, org, appr); err != nil {
			return err
		}
		if req.Note != "" {
			if err := tx.SetMeta(ctx, org, Approvals.Name, appr.ID, approvalMeta{Note: req.Note}); err != nil {
				return err
			}
		}
		return s.saveOffer(ctx, tx, org, o, "offerUpdate")
	})
	if err != nil {
		return rpc.Result[ashby.Offer]{}, err
	}
	return s.offerResult(ctx, c.Org(), offerID, req.ExcludeFormDefinition)
}

type offerApproveRequest struct {
	OfferVersionID        ashby.ID `json:"offerVersionId" required:"true" doc:"approval.list's entityId."`
	ApprovalStepID        ashby.ID `json:"approvalStepId,omitempty" doc:"With userId: approve this step (the current one) as that user. Without: force-approve the whole offer."`
	UserID                ashby.ID `json:"userId,omitempty" doc:"An approver of the step."`
	ExcludeFormDefinition bool     `json:"excludeFormDefinition,omitempty"`
}

func (s *Service) offerApprove(ctx context.Context, c *rpc.Call, req *offerApproveRequest) (rpc.Result[ashby.Offer], error) {
	if (req.ApprovalStepID == "") != (req.UserID == "") {
		field := "userId"
		if req.ApprovalStepID == "" {
			field = "approvalStepId"
		}
		return rpc.Result[ashby.Offer]{}, ashby.InvalidInput(field, "approvalStepId and userId go together: give both to approve one step, neither to approve the whole offer")
	}
	var offerID string
	err := s.write(ctx, func(tx *store.Tx) error {
		org := c.Org()
		o, err := lockOfferVersion(ctx, tx, org, string(req.OfferVersionID), "offerVersionId")
		if err != nil {
			return err
		}
		offerID = o.ID
		if err := offerOpenForApproval(o); err != nil {
			return err
		}
		v := o.LatestVersion
		ph, _, appr, err := lockedOfferPhase(ctx, tx, org, v)
		if err != nil {
			return err
		}
		now := s.now()
		if req.ApprovalStepID == "" {
			if ph == phaseDone {
				return nil
			}
			forceApprove(appr, now)
			v.ApprovalStatus = approvalStatusPtr(ashby.ApprovalApproved)
		} else {
			if ph != phaseInProgress || appr == nil {
				return ashby.Errorf("offer_state_invalid", "Offer version %s is %s; there is no step to approve", v.ID, ph)
			}
			if err := approveStep(appr, v, string(req.ApprovalStepID), string(req.UserID), now); err != nil {
				return err
			}
		}
		if appr != nil {
			if err := Approvals.Put(ctx, tx, org, appr); err != nil {
				return err
			}
		}
		return s.saveOffer(ctx, tx, org, o, "offerUpdate")
	})
	if err != nil {
		return rpc.Result[ashby.Offer]{}, err
	}
	return s.offerResult(ctx, c.Org(), offerID, req.ExcludeFormDefinition)
}

// forceApprove completes every outstanding step without recording
// decisions for the approvers, who did not decide.
func forceApprove(a *ashby.Approval, now ashby.Time) {
	if a == nil {
		return
	}
	if a.SubmittedAt == nil {
		a.SubmittedAt = now.Ptr()
	}
	for i := range a.Steps {
		if a.Steps[i].CompletedAt == nil {
			a.Steps[i].CompletedAt = now.Ptr()
		}
	}
	a.CompletedAt = now.Ptr()
}

// approveStep records userID's approval of the current step, completing
// it when enough approvers agree and moving on to the next step, or
// completing the approval after the last.
func approveStep(a *ashby.Approval, v *ashby.OfferVersion, stepID, userID string, now ashby.Time) error {
	cur := currentStep(a)
	idx := -1
	for i, st := range a.Steps {
		if st.ID == stepID {
			idx = i
		}
	}
	if idx < 0 {
		return ashby.InvalidInput("approvalStepId", "Step %s is not a step of this offer version's approval", stepID)
	}
	if idx != cur {
		return ashby.InvalidInput("approvalStepId", "Step %s is not the current step of the approval", stepID)
	}
	st := &a.Steps[idx]
	j := -1
	for k, ap := range st.Approvers {
		if ap.UserID == userID {
			j = k
		}
	}
	if j < 0 {
		return ashby.InvalidInput("userId", "User %s is not an approver of step %s", userID, stepID)
	}
	if st.Approvers[j].Decision == ashby.DecisionApprove {
		return nil
	}
	st.Approvers[j].Decision, st.Approvers[j].DecidedAt = ashby.DecisionApprove, now.Ptr()
	approved := 0
	for _, ap := range st.Approvers {
		if ap.Decision == ashby.DecisionApprove {
			approved++
		}
	}
	if approved < st.ApprovalsRequired {
		return nil
	}
	st.CompletedAt = now.Ptr()
	if currentStep(a) < 0 {
		a.CompletedAt = now.Ptr()
		v.ApprovalStatus = approvalStatusPtr(ashby.ApprovalApproved)
		return nil
	}
	requestStep(a, now)
	return nil
}
