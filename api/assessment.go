package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/partner"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// Ashby's side of the assessments partner framework (https://developers.ashbyhq.com/docs/creating-an-assessments-integration): a
// partner reports progress with assessment.update and can attach an
// assessment done elsewhere with assessment.addCompletedToCandidate.
// Ashby learns a partner's assessment id when it calls the partner's
// assessment.start, which Ashlar does for configured partners
// (partner_assessment.go); the assessment.create extension records a
// start made some other way.

func init() { register((*Service).assessmentEndpoints) }

// Assessments: Parent = candidate; Ref = application; Unique = the
// partner's assessment id; State = status.
var Assessments = store.Kind[ashby.Assessment]{Name: "assessment", Index: func(a *ashby.Assessment) store.Index {
	return store.Index{ID: a.ID, CreatedAt: a.CreatedAt.Time, Parent: a.CandidateID, Ref: a.ApplicationID, Unique: lc(a.AssessmentID), State: a.Status}
}}

func (s *Service) assessmentEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "assessment.update", Permission: ashby.CandidatesWrite, Summary: "A partner reports an assessment's status, result, profile URL or cancellation."}, s.assessmentUpdate),
		rpc.Object(rpc.Spec{Name: "assessment.addCompletedToCandidate", Permission: ashby.CandidatesWrite, Summary: "Attach an assessment completed outside Ashlar to a candidate."}, s.assessmentAddCompleted),
		rpc.Object(rpc.Spec{Name: "assessment.create", Permission: ashby.CandidatesWrite, Extension: true, Summary: "Record that a partner assessment was started for a candidate (what Ashby does when it calls the partner's assessment.start)."}, s.assessmentCreate),
		rpc.List[ashby.Assessment](rpc.Spec{Name: "candidate.listAssessments", Permission: ashby.CandidatesRead, Extension: true, Summary: "A candidate's partner assessments, oldest first."}, s.candidateListAssessments),
	}
}

// checkDatum validates a Datum's shape: identifier and label, a known
// type, and a value of that type.
func checkDatum(d *ashby.Datum, field string) error {
	if d == nil {
		return nil
	}
	if strings.TrimSpace(d.Identifier) == "" || strings.TrimSpace(d.Label) == "" {
		return ashby.InvalidInput(field, "%s needs an identifier and a label", field)
	}
	switch d.Type {
	case ashby.DatumNumericScore, ashby.DatumNumericDurationMinutes:
		n, ok := d.Value.(float64)
		if !ok || math.IsNaN(n) || math.IsInf(n, 0) {
			return ashby.InvalidInput(field+".value", "A %s value must be a number", d.Type)
		}
		if d.Type == ashby.DatumNumericDurationMinutes && n < 0 {
			return ashby.InvalidInput(field+".value", "A duration cannot be negative")
		}
	case ashby.DatumURL:
		str, ok := d.Value.(string)
		u, err := url.Parse(str)
		if !ok || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return ashby.InvalidInput(field+".value", "A url value must be an http or https URL")
		}
	case ashby.DatumString:
		if _, ok := d.Value.(string); !ok {
			return ashby.InvalidInput(field+".value", "A string value must be a string")
		}
	case ashby.DatumBooleanSuccess:
		if _, ok := d.Value.(bool); !ok {
			return ashby.InvalidInput(field+".value", "A boolean_success value must be true or false")
		}
	default:
		return ashby.InvalidInput(field+".type", "Unknown datum type %q", d.Type)
	}
	return nil
}

func checkData(ds []ashby.Datum, field string) error {
	seen := map[string]bool{}
	for i := range ds {
		at := fmt.Sprintf("%s[%d]", field, i)
		if err := checkDatum(&ds[i], at); err != nil {
			return err
		}
		if seen[ds[i].Identifier] {
			return ashby.InvalidInput(at+".identifier", "Identifier %q is used twice", ds[i].Identifier)
		}
		seen[ds[i].Identifier] = true
	}
	return nil
}

type assessmentUpdateRequest struct {
	AssessmentID         ashby.ID      `json:"assessment_id" required:"true"`
	Timestamp            int64         `json:"timestamp" required:"true" doc:"When the partner observed this state, epoch milliseconds; older updates than the last applied are ignored."`
	AssessmentStatus     *ashby.Datum  `json:"assessment_status,omitempty"`
	AssessmentProfileURL *ashby.Datum  `json:"assessment_profile_url,omitempty"`
	AssessmentResult     *ashby.Datum  `json:"assessment_result,omitempty"`
	CancelledReason      *ashby.Datum  `json:"cancelled_reason,omitempty"`
	Metadata             []ashby.Datum `json:"metadata,omitempty"`
}

// checkAssessmentUpdate validates an assessment.update body (the
// endpoint's and the update_request partners return inline).
func checkAssessmentUpdate(req *assessmentUpdateRequest) error {
	if req.AssessmentStatus == nil && req.CancelledReason == nil {
		return ashby.InvalidInput("assessment_status", "assessment_status is required unless cancelled_reason is given")
	}
	if req.AssessmentResult != nil && req.AssessmentProfileURL == nil {
		return ashby.InvalidInput("assessment_profile_url", "A completed assessment (with assessment_result) needs assessment_profile_url")
	}
	if req.AssessmentProfileURL != nil && req.AssessmentProfileURL.Type != ashby.DatumURL {
		return ashby.InvalidInput("assessment_profile_url.type", "assessment_profile_url must have type url")
	}
	for _, d := range []struct {
		d     *ashby.Datum
		field string
	}{{req.AssessmentStatus, "assessment_status"}, {req.AssessmentProfileURL, "assessment_profile_url"}, {req.AssessmentResult, "assessment_result"}, {req.CancelledReason, "cancelled_reason"}} {
		if err := checkDatum(d.d, d.field); err != nil {
			return err
		}
	}
	return checkData(req.Metadata, "metadata")
}

// applyAssessmentUpdate applies a checked update to a; it reports false,
// changing nothing, for an update older than the last one applied.
func applyAssessmentUpdate(a *ashby.Assessment, req *assessmentUpdateRequest, now ashby.Time) bool {
	if req.Timestamp < a.LastUpdateTimestamp {
		return false // an update that arrives after a newer one changes nothing
	}
	at := ashby.TimeFromMillis(req.Timestamp)
	a.LastUpdateTimestamp, a.UpdatedAt = req.Timestamp, now
	if req.AssessmentStatus != nil {
		a.AssessmentStatus = req.AssessmentStatus
		if a.Status == ashby.AssessmentNotStarted || a.Status == ashby.AssessmentStarted {
			a.Status = ashby.AssessmentInProgress
		}
		if v, _ := req.AssessmentStatus.Value.(string); strings.EqualFold(v, "Started") {
			a.Status = ashby.AssessmentStarted
			if a.StartedAt == nil {
				a.StartedAt = at.Ptr()
			}
		}
	}
	if req.AssessmentProfileURL != nil {
		a.AssessmentProfileURL = req.AssessmentProfileURL
	}
	if req.Metadata != nil {
		a.Metadata = mergeData(a.Metadata, req.Metadata)
	}
	switch {
	case req.CancelledReason != nil:
		a.CancelledReason, a.Status, a.CancelledAt = req.CancelledReason, ashby.AssessmentCancelled, at.Ptr()
	case req.AssessmentResult != nil:
		a.AssessmentResult, a.Status, a.CompletedAt = req.AssessmentResult, ashby.AssessmentCompleted, at.Ptr()
	}
	return true
}

// callerPartners returns the partner integrations whose callback key the
// call is made with (none for an ordinary key).
func callerPartners(ctx context.Context, q store.Q, c *rpc.Call) ([]string, error) {
	if c.KeyID == "" {
		return nil, nil
	}
	ps, err := PartnerIntegrations.Find(ctx, q, c.Org(), store.Filter{Ref: c.KeyID})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return ids, nil
}

func (s *Service) assessmentUpdate(ctx context.Context, c *rpc.Call, req *assessmentUpdateRequest) (rpc.Result[ashby.Assessment], error) {
	if err := checkAssessmentUpdate(req); err != nil {
		return rpc.Result[ashby.Assessment]{}, err
	}
	var a *ashby.Assessment
	err := s.write(ctx, func(tx *store.Tx) error {
		missing := ashby.NotFound("assessment", fmt.Sprintf("Assessment %s not found", req.AssessmentID))
		found, err := Assessments.FindOne(ctx, tx, c.Org(), store.Filter{Unique: lc(string(req.AssessmentID))})
		if err != nil {
			return notFound(err, "assessment", missing.Message)
		}
		// A partner's callback key reaches only that partner's
		// assessments: another partner's look as if they did not exist.
		if mine, err := callerPartners(ctx, tx, c); err != nil {
			return err
		} else if len(mine) > 0 && !slices.Contains(mine, found.PartnerID) {
			return missing
		}
		if a, err = Assessments.GetForUpdate(ctx, tx, c.Org(), found.ID); err != nil {
			return err
		}
		if !applyAssessmentUpdate(a, req, s.now()) {
			return nil
		}
		if err := Assessments.Put(ctx, tx, c.Org(), a); err != nil {
			return err
		}
		return assessmentEndedByPartner(ctx, tx, c.Org(), a)
	})
	if err != nil {
		return rpc.Result[ashby.Assessment]{}, err
	}
	return rpc.Value(a), nil
}

// assessmentEndedByPartner withdraws a cancellation Ashlar had queued for
// an assessment the partner has now reported completed or cancelled: the
// partner is not called back about what it just reported.
func assessmentEndedByPartner(ctx context.Context, tx *store.Tx, org string, a *ashby.Assessment) error {
	if a.Status != ashby.AssessmentCompleted && a.Status != ashby.AssessmentCancelled {
		return nil
	}
	st, err := AssessmentStarts.GetForUpdate(ctx, tx, org, a.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // not one Ashlar started
	}
	if err != nil || st.CancelStatus != ashby.AssessmentCancelPending {
		return err
	}
	withdrawn, err := partner.CancelIdle(ctx, tx, org, cancelDedupe(st.ID), "the partner reported the assessment "+strings.ToLower(a.Status))
	if err != nil || !withdrawn {
		return err
	}
	st.CancelStatus, st.CancelMessage = ashby.AssessmentCancelSkipped, "The partner reported the assessment "+strings.ToLower(a.Status)+" before the cancellation was sent"
	st.UpdatedAt = a.UpdatedAt
	return AssessmentStarts.Put(ctx, tx, org, st)
}

// mergeData replaces data by identifier and appends new ones.
func mergeData(have, in []ashby.Datum) []ashby.Datum {
	out := append([]ashby.Datum{}, have...)
	for _, d := range in {
		replaced := false
		for i := range out {
			if out[i].Identifier == d.Identifier {
				out[i], replaced = d, true
			}
		}
		if !replaced {
			out = append(out, d)
		}
	}
	return out
}

type completedAssessmentInput struct {
	AssessmentTypeID ashby.ID      `json:"assessmentTypeId" required:"true"`
	AssessmentID     ashby.ID      `json:"assessmentId" required:"true"`
	AssessmentName   string        `json:"assessmentName" required:"true"`
	Result           *ashby.Datum  `json:"result" required:"true"`
	Metadata         []ashby.Datum `json:"metadata" required:"true"`
}

type assessmentAddCompletedRequest struct {
	CandidateID ashby.ID                  `json:"candidateId" required:"true"`
	PartnerID   ashby.ID                  `json:"partnerId" required:"true"`
	Assessment  *completedAssessmentInput `json:"assessment" required:"true"`
	Timestamp   int64                     `json:"timestamp" required:"true" doc:"When it was completed, epoch milliseconds."`
}

func (s *Service) assessmentAddCompleted(ctx context.Context, c *rpc.Call, req *assessmentAddCompletedRequest) (rpc.Result[ashby.CompletedAssessment], error) {
	ts := req.Timestamp
	if ts <= 0 {
		return rpc.Result[ashby.CompletedAssessment]{}, ashby.InvalidInput("timestamp", "timestamp must be epoch milliseconds")
	}
	in := req.Assessment
	if err := checkDatum(in.Result, "assessment.result"); err != nil {
		return rpc.Result[ashby.CompletedAssessment]{}, err
	}
	if err := checkData(in.Metadata, "assessment.metadata"); err != nil {
		return rpc.Result[ashby.CompletedAssessment]{}, err
	}
	at := ashby.TimeFromMillis(ts)
	a := &ashby.Assessment{ID: ashby.NewID(), AssessmentID: string(in.AssessmentID), AssessmentTypeID: string(in.AssessmentTypeID),
		AssessmentName: strings.TrimSpace(in.AssessmentName), PartnerID: string(req.PartnerID), CandidateID: string(req.CandidateID),
		Status: ashby.AssessmentCompleted, AssessmentResult: in.Result, Metadata: in.Metadata, CompletedAt: at.Ptr(),
		LastUpdateTimestamp: ts, CreatedAt: s.now(), UpdatedAt: s.now()}
	err := s.write(ctx, func(tx *store.Tx) error {
		if _, err := mustExist(ctx, tx, Candidates, c.Org(), a.CandidateID, "candidate", "candidateId"); err != nil {
			return err
		}
		// Attach it to the candidate's most recent open application, if any.
		apps, err := Applications.Find(ctx, tx, c.Org(), store.Filter{Ref: a.CandidateID, State: []string{ashby.ApplicationLead, ashby.ApplicationActive}})
		if err != nil {
			return err
		}
		if n := len(apps); n > 0 {
			a.ApplicationID = apps[n-1].ID
		}
		err = Assessments.Put(ctx, tx, c.Org(), a)
		if errors.Is(err, store.ErrDuplicate) {
			return ashby.Errorf("assessment_already_exists", "Assessment %s is already recorded", a.AssessmentID)
		}
		return err
	})
	if err != nil {
		return rpc.Result[ashby.CompletedAssessment]{}, err
	}
	return rpc.Value(&ashby.CompletedAssessment{ApplicationID: a.ApplicationID, AssessmentID: a.AssessmentID, AssessmentName: a.AssessmentName,
		AssessmentTypeID: a.AssessmentTypeID, CandidateID: a.CandidateID, Metadata: a.Metadata, Result: a.AssessmentResult}), nil
}

type assessmentCreateRequest struct {
	CandidateID      ashby.ID `json:"candidateId" required:"true"`
	ApplicationID    ashby.ID `json:"applicationId,omitempty"`
	AssessmentTypeID ashby.ID `json:"assessmentTypeId" required:"true"`
	AssessmentName   string   `json:"assessmentName,omitempty"`
	PartnerID        ashby.ID `json:"partnerId,omitempty"`
	AssessmentID     ashby.ID `json:"assessmentId,omitempty" doc:"The partner's id for it (assessment.start's assessment_id); default: a new id."`
}

func (s *Service) assessmentCreate(ctx context.Context, c *rpc.Call, req *assessmentCreateRequest) (rpc.Result[ashby.Assessment], error) {
	now := s.now()
	a := &ashby.Assessment{ID: ashby.NewID(), AssessmentID: string(req.AssessmentID), AssessmentTypeID: string(req.AssessmentTypeID),
		AssessmentName: strings.TrimSpace(req.AssessmentName), PartnerID: string(req.PartnerID), CandidateID: string(req.CandidateID),
		ApplicationID: string(req.ApplicationID), Status: ashby.AssessmentNotStarted, Metadata: []ashby.Datum{}, CreatedAt: now, UpdatedAt: now}
	if a.AssessmentID == "" {
		a.AssessmentID = ashby.NewID()
	}
	err := s.write(ctx, func(tx *store.Tx) error {
		if _, err := mustExist(ctx, tx, Candidates, c.Org(), a.CandidateID, "candidate", "candidateId"); err != nil {
			return err
		}
		if a.ApplicationID != "" {
			app, err := mustExist(ctx, tx, Applications, c.Org(), a.ApplicationID, "application", "applicationId")
			if err != nil {
				return err
			}
			if app.Candidate.ID != a.CandidateID {
				return ashby.InvalidInput("applicationId", "Application %s is not an application of candidate %s", app.ID, a.CandidateID)
			}
		}
		err := Assessments.Put(ctx, tx, c.Org(), a)
		if errors.Is(err, store.ErrDuplicate) {
			return ashby.Errorf("assessment_already_exists", "Assessment %s is already recorded", a.AssessmentID)
		}
		return err
	})
	if err != nil {
		return rpc.Result[ashby.Assessment]{}, err
	}
	return rpc.Value(a), nil
}

func (s *Service) candidateListAssessments(ctx context.Context, c *rpc.Call, req *candidateIDPageRequest) (*rpc.Page, error) {
	if _, err := mustExist(ctx, s.DB, Candidates, c.Org(), string(req.CandidateID), "candidate", "candidateId"); err != nil {
		return nil, err
	}
	spec := listSpec(c, Assessments.Name, rpc.SyncParams{ListParams: req.ListParams})
	spec.Filter.Parent = string(req.CandidateID)
	spec.NoSync = true
	return s.listPage(ctx, spec)
}
