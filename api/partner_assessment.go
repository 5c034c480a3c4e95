package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/partner"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// The calling side of the assessments framework (https://developers.ashbyhq.com/docs/creating-an-assessments-integration): Ashlar
// offers the partner's assessment types, starts an assessment when an
// application enters a stage configured for it (or on request), and
// cancels it when the application is archived or leaves the stage.
//
// A start is decided in the transaction that moves the application
// (Service.enteredStage): an AssessmentStart record, unique per (stage entry,
// trigger), and its assessment.start call in the partner outbox commit or
// roll back with the stage change. The partner worker makes the call
// after commit, retrying with backoff; the start's id is the
// Idempotency-Key of every attempt and the id of the Assessment that
// assessment.update later advances.

func init() {
	register((*Service).partnerAssessmentEndpoints)
	handlePartner(methodStart, partner.Handler{Result: startResult, Ended: startEnded})
	handlePartner(methodCancel, partner.Handler{Result: cancelResult, Ended: cancelEnded})
}

const (
	methodStart  = "assessment.start"
	methodCancel = "assessment.cancel"
)

// AssessmentTypes: Parent = integration; Unique = integration and the
// partner's type id; Archived = no longer offered.
var AssessmentTypes = store.Kind[ashby.AssessmentType]{Name: "assessment_type", Index: func(t *ashby.AssessmentType) store.Index {
	return store.Index{ID: t.ID, Parent: t.PartnerIntegrationID, Unique: t.PartnerIntegrationID + " " + t.AssessmentTypeID, Archived: t.IsArchived, Search: lc(t.Name)}
}}

// PartnerCustomFieldLists: one per integration (id = the integration's).
var PartnerCustomFieldLists = store.Kind[ashby.PartnerCustomFields]{Name: "partner_custom_fields", Index: func(f *ashby.PartnerCustomFields) store.Index {
	return store.Index{ID: f.ID, Parent: f.PartnerIntegrationID}
}}

// AssessmentStageTriggers: Parent = stage; Ref = integration; Unique =
// stage, integration and type (one trigger per assessment per stage).
var AssessmentStageTriggers = store.Kind[ashby.AssessmentStageTrigger]{Name: "assessment_stage_trigger", Index: func(t *ashby.AssessmentStageTrigger) store.Index {
	return store.Index{ID: t.ID, CreatedAt: t.CreatedAt.Time, Parent: t.InterviewStageID, Ref: t.PartnerIntegrationID,
		Unique: t.InterviewStageID + " " + t.PartnerIntegrationID + " " + t.AssessmentTypeID}
}}

// AssessmentStarts: Parent = application; Ref = candidate; State =
// status; Unique = the stage entry and trigger it came from, so one
// stage entry starts each trigger's assessment once, whatever retries
// or processes run the transaction.
var AssessmentStarts = store.Kind[ashby.AssessmentStart]{Name: "assessment_start", Index: func(s *ashby.AssessmentStart) store.Index {
	uniq := ""
	if s.ApplicationHistoryID != "" && s.StageTriggerID != "" {
		uniq = s.ApplicationHistoryID + " " + s.StageTriggerID
	}
	return store.Index{ID: s.ID, CreatedAt: s.CreatedAt.Time, Parent: s.ApplicationID, Ref: s.CandidateID, State: s.Status, Unique: uniq}
}}

func startDedupe(id string) string  { return methodStart + ":" + id }
func cancelDedupe(id string) string { return methodCancel + ":" + id }

func (s *Service) partnerAssessmentEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.List[ashby.AssessmentType](rpc.Spec{Name: "assessment.listTypes", Permission: ashby.HiringProcessMetadataRead, Extension: true,
			Summary: "The assessment types partners offer (their assessment.list, as last synced)."}, s.assessmentListTypes),
		rpc.Object(rpc.Spec{Name: "assessment.listPartnerCustomFields", Permission: ashby.HiringProcessMetadataRead, Extension: true,
			Summary: "The fields an assessment partner asks to be filled in when an assessment starts (its customFields.fetch, as last synced)."}, s.assessmentPartnerFields),
		rpc.Object(rpc.Spec{Name: "assessment.createStageTrigger", Permission: ashby.HiringProcessMetadataWrite, Extension: true,
			Summary: "Start a partner assessment whenever an application enters an interview stage."}, s.assessmentCreateTrigger),
		rpc.Object(rpc.Spec{Name: "assessment.updateStageTrigger", Permission: ashby.HiringProcessMetadataWrite, Extension: true,
			Summary: "Change a stage trigger's additional fields or when its assessments are cancelled."}, s.assessmentUpdateTrigger),
		rpc.Object(rpc.Spec{Name: "assessment.deleteStageTrigger", Permission: ashby.HiringProcessMetadataWrite, Extension: true,
			Summary: "Stop starting an assessment when applications enter a stage; assessments already started continue."}, s.assessmentDeleteTrigger),
		rpc.List[ashby.AssessmentStageTrigger](rpc.Spec{Name: "assessment.listStageTriggers", Permission: ashby.HiringProcessMetadataRead, Extension: true,
			Summary: "The stage triggers of the organization, of a stage or of a partner integration."}, s.assessmentListTriggers),
		rpc.Object(rpc.Spec{Name: "assessment.startForApplication", Permission: ashby.CandidatesWrite, Extension: true,
			Summary: "Start a partner assessment for an application now (Ashlar calls the partner's assessment.start)."}, s.assessmentStartForApplication),
		rpc.Object(rpc.Spec{Name: "assessment.cancelStart", Permission: ashby.CandidatesWrite, Extension: true,
			Summary: "Cancel a partner assessment Ashlar started (Ashlar calls the partner's assessment.cancel, or drops the start if it was not sent yet)."}, s.assessmentCancelStart),
		rpc.List[ashby.AssessmentStart](rpc.Spec{Name: "assessment.listForApplication", Permission: ashby.CandidatesRead, Extension: true,
			Summary: "The partner assessments Ashlar started for an application, oldest first, each with what became of the start and the assessment's progress."}, s.assessmentListForApplication),
	}
}

type assessmentListTypesRequest struct {
	rpc.ListParams
	PartnerIntegrationID ashby.ID `json:"partnerIntegrationId,omitempty"`
	IncludeArchived      bool     `json:"includeArchived,omitempty" doc:"Include types the partner no longer offers."`
}

func (s *Service) assessmentListTypes(ctx context.Context, c *rpc.Call, req *assessmentListTypesRequest) (*rpc.Page, error) {
	if req.PartnerIntegrationID != "" {
		if _, err := PartnerIntegrations.Get(ctx, s.DB, c.Org(), string(req.PartnerIntegrationID)); err != nil {
			return nil, partnerNotFound(err)
		}
	}
	spec := listSpec(c, AssessmentTypes.Name, rpc.SyncParams{ListParams: req.ListParams})
	spec.NoSync = true
	spec.Filter.Parent = string(req.PartnerIntegrationID)
	spec.Filter.IncludeArchived = req.IncludeArchived
	return s.listPage(ctx, spec)
}

func (s *Service) assessmentPartnerFields(ctx context.Context, c *rpc.Call, req *partnerIDRequest) (rpc.Result[ashby.PartnerCustomFields], error) {
	p, err := PartnerIntegrations.Get(ctx, s.DB, c.Org(), string(req.PartnerIntegrationID))
	if err != nil {
		return rpc.Result[ashby.PartnerCustomFields]{}, partnerNotFound(err)
	}
	f, err := PartnerCustomFieldLists.Get(ctx, s.DB, c.Org(), p.ID)
	if errors.Is(err, store.ErrNotFound) {
		// Not synced yet: no fields known.
		return rpc.Value(&ashby.PartnerCustomFields{ID: p.ID, PartnerIntegrationID: p.ID, Fields: []ashby.PartnerCustomField{}}), nil
	}
	if err != nil {
		return rpc.Result[ashby.PartnerCustomFields]{}, err
	}
	return rpc.Value(f), nil
}

// assessmentPartner loads an integration that can start assessments.
func assessmentPartner(ctx context.Context, q store.Q, org, id string) (*ashby.PartnerIntegration, error) {
	p, err := PartnerIntegrations.Get(ctx, q, org, id)
	if err != nil {
		return nil, partnerNotFound(err)
	}
	if !p.Assessments {
		return nil, ashby.Errorf("partner_integration_not_assessments", "Partner integration %s does not serve assessments", p.ID)
	}
	return p, nil
}

// assessmentType finds a partner's current (not archived) type.
func assessmentType(ctx context.Context, q store.Q, org, integrationID, typeID string) (*ashby.AssessmentType, error) {
	t, err := AssessmentTypes.FindOne(ctx, q, org, store.Filter{Unique: integrationID + " " + typeID, IncludeArchived: true})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ashby.Errorf("assessment_type_not_found", "The partner offers no assessment type %q (sync its types with partnerIntegration.sync)", typeID)
	}
	if err != nil {
		return nil, err
	}
	if t.IsArchived {
		return nil, ashby.Errorf("assessment_type_not_found", "The partner no longer offers assessment type %q", typeID)
	}
	return t, nil
}

// checkAdditionalFields validates values against the partner's custom
// fields: known ids, required ones present, each of its type.
func checkAdditionalFields(ctx context.Context, q store.Q, org, integrationID string, values map[string]any) (map[string]any, error) {
	var fields []ashby.PartnerCustomField
	if fl, err := PartnerCustomFieldLists.Get(ctx, q, org, integrationID); err == nil {
		fields = fl.Fields
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	byID := map[string]ashby.PartnerCustomField{}
	for _, f := range fields {
		byID[f.ID] = f
	}
	ids := make([]string, 0, len(values))
	for id := range values {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := map[string]any{}
	for _, id := range ids {
		v := values[id]
		at := "additionalFields." + id
		f, ok := byID[id]
		if !ok {
			return nil, ashby.InvalidInput(at, "The partner has no custom field %q", id)
		}
		if v == nil {
			continue
		}
		if err := checkFieldValue(f, v, at); err != nil {
			return nil, err
		}
		out[id] = v
	}
	for _, f := range fields {
		if _, ok := out[f.ID]; f.IsRequired && !ok {
			return nil, ashby.InvalidInput("additionalFields."+f.ID, "The partner requires field %q (%s)", f.ID, f.Name)
		}
	}
	return out, nil
}

func checkFieldValue(f ashby.PartnerCustomField, v any, at string) error {
	str, isStr := v.(string)
	keys := map[string]bool{}
	for _, pv := range f.PossibleValues {
		keys[pv.Key] = true
	}
	switch f.Type {
	case "Number", "Score":
		if _, ok := v.(float64); !ok {
			return ashby.InvalidInput(at, "%s is a %s field: give a number", f.Name, f.Type)
		}
	case "Boolean":
		if _, ok := v.(bool); !ok {
			return ashby.InvalidInput(at, "%s is a Boolean field: give true or false", f.Name)
		}
	case "ValueSelect":
		if !isStr || !keys[str] {
			return ashby.InvalidInput(at, "%s takes one of the partner's keys", f.Name)
		}
	case "MultiValueSelect":
		list, ok := v.([]any)
		if !ok {
			return ashby.InvalidInput(at, "%s takes a list of the partner's keys", f.Name)
		}
		for _, x := range list {
			if s, ok := x.(string); !ok || !keys[s] {
				return ashby.InvalidInput(at, "%s takes a list of the partner's keys", f.Name)
			}
		}
	case "Date":
		if !isStr || !isDate(str) {
			return ashby.InvalidInput(at, "%s is a Date field: give YYYY-MM-DD or an ISO-8601 datetime", f.Name)
		}
	case "Email":
		if _, err := mail.ParseAddress(str); !isStr || err != nil {
			return ashby.InvalidInput(at, "%s is an Email field: give an email address", f.Name)
		}
	case "Url", "SocialLink":
		u, err := url.Parse(str)
		if !isStr || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return ashby.InvalidInput(at, "%s is a %s field: give an http or https URL", f.Name, f.Type)
		}
	case "DateRange", "Currency":
		// Shapes Ashby does not document: an object, passed on as given.
		if _, ok := v.(map[string]any); !ok {
			return ashby.InvalidInput(at, "%s is a %s field: give an object", f.Name, f.Type)
		}
	default: // String, LongText, Phone, Location
		if !isStr {
			return ashby.InvalidInput(at, "%s is a %s field: give a string", f.Name, f.Type)
		}
	}
	return nil
}

func isDate(s string) bool {
	if _, err := time.Parse("2006-01-02", s); err == nil {
		return true
	}
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}

type createTriggerRequest struct {
	InterviewStageID     ashby.ID       `json:"interviewStageId" required:"true"`
	PartnerIntegrationID ashby.ID       `json:"partnerIntegrationId" required:"true"`
	AssessmentTypeID     string         `json:"assessmentTypeId" required:"true" doc:"The partner's assessment_type_id (assessment.listTypes)."`
	AdditionalFields     map[string]any `json:"additionalFields,omitempty" doc:"Values of the partner's custom fields, by field id, sent as assessment.start's additional_fields."`
	CancelOn             string         `json:"cancelOn,omitempty" enum:"Archive,StageExit,Never" doc:"When a started assessment is cancelled with the partner: when the application is archived (default), when it leaves the stage (archiving included), or never."`
}

func (s *Service) assessmentCreateTrigger(ctx context.Context, c *rpc.Call, req *createTriggerRequest) (rpc.Result[ashby.AssessmentStageTrigger], error) {
	org := c.Org()
	var t *ashby.AssessmentStageTrigger
	err := s.write(ctx, func(tx *store.Tx) error {
		stage, err := mustExist(ctx, tx, InterviewStages, org, string(req.InterviewStageID), "interview_stage", "interviewStageId")
		if err != nil {
			return err
		}
		if stage.Type == ashby.StageArchived {
			return ashby.InvalidInput("interviewStageId", "Assessments cannot start when an application is archived")
		}
		p, err := assessmentPartner(ctx, tx, org, string(req.PartnerIntegrationID))
		if err != nil {
			return err
		}
		typ, err := assessmentType(ctx, tx, org, p.ID, req.AssessmentTypeID)
		if err != nil {
			return err
		}
		fields, err := checkAdditionalFields(ctx, tx, org, p.ID, req.AdditionalFields)
		if err != nil {
			return err
		}
		cancelOn := req.CancelOn
		if cancelOn == "" {
			cancelOn = ashby.AssessmentCancelOnArchive
		}
		now := s.now()
		t = &ashby.AssessmentStageTrigger{ID: ashby.NewID(), InterviewStageID: stage.ID, InterviewPlanID: stage.InterviewPlanID, PartnerIntegrationID: p.ID,
			AssessmentTypeID: typ.AssessmentTypeID, AssessmentName: typ.Name, AdditionalFields: fields, CancelOn: cancelOn, CreatedAt: now, UpdatedAt: now}
		err = AssessmentStageTriggers.Put(ctx, tx, org, t)
		if errors.Is(err, store.ErrDuplicate) {
			return ashby.Errorf("assessment_stage_trigger_already_exists", "Stage %s already starts %s from this partner", stage.ID, typ.Name)
		}
		return err
	})
	if err != nil {
		return rpc.Result[ashby.AssessmentStageTrigger]{}, err
	}
	return rpc.Value(t), nil
}

type updateTriggerRequest struct {
	AssessmentStageTriggerID ashby.ID       `json:"assessmentStageTriggerId" required:"true"`
	AdditionalFields         map[string]any `json:"additionalFields,omitempty" doc:"Replaces the values."`
	CancelOn                 string         `json:"cancelOn,omitempty" enum:"Archive,StageExit,Never"`
}

func triggerNotFound(err error) error {
	return notFound(err, "assessment_stage_trigger", "Assessment stage trigger not found")
}

func (s *Service) assessmentUpdateTrigger(ctx context.Context, c *rpc.Call, req *updateTriggerRequest) (rpc.Result[ashby.AssessmentStageTrigger], error) {
	if req.AdditionalFields == nil && req.CancelOn == "" {
		return rpc.Result[ashby.AssessmentStageTrigger]{}, ashby.InvalidInput("", "Give additionalFields or cancelOn")
	}
	org := c.Org()
	var t *ashby.AssessmentStageTrigger
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		if t, err = AssessmentStageTriggers.GetForUpdate(ctx, tx, org, string(req.AssessmentStageTriggerID)); err != nil {
			return triggerNotFound(err)
		}
		if req.AdditionalFields != nil {
			if t.AdditionalFields, err = checkAdditionalFields(ctx, tx, org, t.PartnerIntegrationID, req.AdditionalFields); err != nil {
				return err
			}
		}
		if req.CancelOn != "" {
			t.CancelOn = req.CancelOn
		}
		t.UpdatedAt = s.now()
		return AssessmentStageTriggers.Put(ctx, tx, org, t)
	})
	if err != nil {
		return rpc.Result[ashby.AssessmentStageTrigger]{}, err
	}
	return rpc.Value(t), nil
}

type triggerIDRequest struct {
	AssessmentStageTriggerID ashby.ID `json:"assessmentStageTriggerId" required:"true"`
}

type triggerDeleted struct {
	AssessmentStageTriggerID string `json:"assessmentStageTriggerId"`
}

func (s *Service) assessmentDeleteTrigger(ctx context.Context, c *rpc.Call, req *triggerIDRequest) (rpc.Result[triggerDeleted], error) {
	err := s.write(ctx, func(tx *store.Tx) error {
		return triggerNotFound(AssessmentStageTriggers.Delete(ctx, tx, c.Org(), string(req.AssessmentStageTriggerID)))
	})
	if err != nil {
		return rpc.Result[triggerDeleted]{}, err
	}
	return rpc.Value(&triggerDeleted{AssessmentStageTriggerID: string(req.AssessmentStageTriggerID)}), nil
}

type listTriggersRequest struct {
	rpc.ListParams
	InterviewStageID     ashby.ID `json:"interviewStageId,omitempty"`
	PartnerIntegrationID ashby.ID `json:"partnerIntegrationId,omitempty"`
}

func (s *Service) assessmentListTriggers(ctx context.Context, c *rpc.Call, req *listTriggersRequest) (*rpc.Page, error) {
	spec := listSpec(c, AssessmentStageTriggers.Name, rpc.SyncParams{ListParams: req.ListParams})
	spec.NoSync = true
	spec.Filter.Parent = string(req.InterviewStageID)
	spec.Filter.Ref = string(req.PartnerIntegrationID)
	return s.listPage(ctx, spec)
}

// startBody is assessment.start's request (https://developers.ashbyhq.com/docs/creating-an-assessments-integration).
type startBody struct {
	AssessmentTypeID string           `json:"assessment_type_id"`
	Candidate        startCandidate   `json:"candidate"`
	Application      startApplication `json:"application"`
	Job              startJob         `json:"job"`
	AdditionalFields map[string]any   `json:"additional_fields,omitempty"`
}

type startCandidate struct {
	AshbyID         string `json:"ashby_id"`
	FirstName       string `json:"first_name"`
	LastName        string `json:"last_name"`
	Email           string `json:"email"`
	AshbyProfileURL string `json:"ashby_profile_url"`
}

type startApplication struct {
	AshbyID string `json:"ashby_id"`
	Status  string `json:"status"`
}

type startJob struct {
	AshbyID     string                   `json:"ashby_id"`
	Name        string                   `json:"name"`
	ReqID       string                   `json:"req_id,omitempty"`
	AshbyJobURL string                   `json:"ashby_job_url"`
	HiringTeam  []ashby.HiringTeamMember `json:"hiringTeam,omitempty"`
}

// splitName splits a candidate's name into first and last names at the
// first space: Ashby's partner API wants both, Ashby's candidates have one.
func splitName(name string) (string, string) {
	first, last, _ := strings.Cut(strings.TrimSpace(name), " ")
	return first, strings.TrimSpace(last)
}

func primaryEmail(c *ashby.Candidate) string {
	if c.PrimaryEmailAddress != nil {
		return c.PrimaryEmailAddress.Value
	}
	if len(c.EmailAddresses) > 0 {
		return c.EmailAddresses[0].Value
	}
	return ""
}

// newStart records an assessment start and its assessment.start call.
// It returns false, recording nothing, when the start's unique key
// (stage entry and trigger) exists already.
func (s *Service) newStart(ctx context.Context, tx *store.Tx, org string, st *ashby.AssessmentStart, app *ashby.Application, fields map[string]any) (bool, error) {
	cand, err := Candidates.Get(ctx, tx, org, app.Candidate.ID)
	if err != nil {
		return false, fmt.Errorf("candidate of application %s: %w", app.ID, err)
	}
	job, err := Jobs.Get(ctx, tx, org, app.Job.ID)
	if err != nil {
		return false, fmt.Errorf("job of application %s: %w", app.ID, err)
	}
	base := s.BaseURL
	first, last := splitName(cand.Name)
	body := startBody{AssessmentTypeID: st.AssessmentTypeID,
		Candidate:        startCandidate{AshbyID: cand.ID, FirstName: first, LastName: last, Email: primaryEmail(cand), AshbyProfileURL: cand.ProfileURL},
		Application:      startApplication{AshbyID: app.ID, Status: app.Status},
		Job:              startJob{AshbyID: job.ID, Name: job.Title, ReqID: job.CustomRequisitionID, AshbyJobURL: base + "/job/" + job.ID, HiringTeam: app.HiringTeam},
		AdditionalFields: fields}
	b, err := json.Marshal(body)
	if err != nil {
		return false, fmt.Errorf("encode assessment.start: %w", err)
	}
	st.CandidateID, st.ApplicationID, st.JobID = cand.ID, app.ID, job.ID
	// Checked before writing: a failed insert would abort the whole
	// (stage change) transaction on PostgreSQL.
	if uniq := AssessmentStarts.Index(st).Unique; uniq != "" {
		if _, err := AssessmentStarts.FindOne(ctx, tx, org, store.Filter{Unique: uniq, IncludeArchived: true}); err == nil {
			return false, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return false, err
		}
	}
	if err := AssessmentStarts.Put(ctx, tx, org, st); err != nil {
		return false, err
	}
	_, _, err = partner.Enqueue(ctx, tx, partner.NewCall{OrgID: org, IntegrationID: st.PartnerIntegrationID, Method: methodStart, SubjectID: st.ID,
		Dedupe: startDedupe(st.ID), IdempotencyKey: st.ID, Body: b})
	return err == nil, err
}

// assessmentsOnStageEntry runs in the transaction that moves an
// application into a stage: it cancels the application's assessments
// that must not outlive the move, and starts the stage's assessments.
func (s *Service) assessmentsOnStageEntry(ctx context.Context, tx *store.Tx, org string, app *ashby.Application, stage *ashby.InterviewStage) error {
	active, err := AssessmentStarts.Find(ctx, tx, org, store.Filter{Parent: app.ID, State: []string{ashby.AssessmentStartPending, ashby.AssessmentStartStarted}})
	if err != nil {
		return err
	}
	archived := stage.Type == ashby.StageArchived
	for _, st := range active {
		reason := ""
		switch {
		case st.CancelStatus != "":
		case archived && st.CancelOn != ashby.AssessmentCancelOnNever:
			reason = "the application was archived"
		case st.InterviewStageID != stage.ID && st.CancelOn == ashby.AssessmentCancelOnStageExit:
			reason = "the application left the stage"
		}
		if reason != "" {
			if err := requestCancel(ctx, tx, org, st.ID, reason); err != nil {
				return err
			}
		}
	}
	if archived {
		return nil
	}
	triggers, err := AssessmentStageTriggers.Find(ctx, tx, org, store.Filter{Parent: stage.ID})
	if err != nil || len(triggers) == 0 {
		return err
	}
	// The stage entry is the newest history entry of this stage: the
	// caller wrote it in this transaction.
	hist, err := ApplicationHistory.Find(ctx, tx, org, store.Filter{Parent: app.ID})
	if err != nil {
		return err
	}
	entry := ""
	best := -1
	for _, h := range hist {
		if h.StageID == stage.ID && h.StageNumber > best {
			entry, best = h.ID, h.StageNumber
		}
	}
	if entry == "" {
		return fmt.Errorf("application %s entered stage %s without a history entry", app.ID, stage.ID)
	}
	now := ashby.NewTime(tx.DB().Now())
	for _, t := range triggers {
		p, err := PartnerIntegrations.Get(ctx, tx, org, t.PartnerIntegrationID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if !p.Enabled || !p.Assessments {
			continue // the organization opted out: the trigger rests
		}
		st := &ashby.AssessmentStart{ID: ashby.NewID(), PartnerIntegrationID: p.ID, AssessmentTypeID: t.AssessmentTypeID, AssessmentName: t.AssessmentName,
			InterviewStageID: stage.ID, ApplicationHistoryID: entry, StageTriggerID: t.ID, Trigger: ashby.AssessmentTriggerStageEntry, CancelOn: t.CancelOn,
			Status: ashby.AssessmentStartPending, CreatedAt: now, UpdatedAt: now}
		if _, err := s.newStart(ctx, tx, org, st, app, t.AdditionalFields); err != nil {
			return err
		}
	}
	return nil
}

// requestCancel asks for a start's assessment to be cancelled: a start
// not sent yet is dropped; a start in flight is cancelled once it
// returns; a started assessment gets an assessment.cancel call.
//
// The start is read again under its lock: the worker may have recorded
// the partner's answer since the caller read it. The unsent call is
// cancelled before the start is locked, the order in which the worker
// takes the two, so the two transactions cannot deadlock.
func requestCancel(ctx context.Context, tx *store.Tx, org, id, reason string) error {
	dropped, err := partner.CancelUnsent(ctx, tx, org, startDedupe(id), reason)
	if err != nil {
		return err
	}
	st, err := AssessmentStarts.GetForUpdate(ctx, tx, org, id)
	if err != nil {
		return err
	}
	if !dropped && st.CancelStatus != "" && st.CancelStatus != ashby.AssessmentCancelFailed {
		return nil // asked already
	}
	switch {
	case dropped:
		st.Status, st.Message = ashby.AssessmentStartCancelled, "Cancelled before it was sent: "+reason
	case st.Status == ashby.AssessmentStartPending:
		st.CancelStatus, st.CancelMessage = ashby.AssessmentCancelRequested, reason
	case st.Status == ashby.AssessmentStartStarted:
		a, err := Assessments.Get(ctx, tx, org, st.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if a != nil && (a.Status == ashby.AssessmentCompleted || a.Status == ashby.AssessmentCancelled) {
			return nil // over already; nothing to cancel
		}
		if st.CancelStatus == ashby.AssessmentCancelFailed {
			// A failed cancellation is tried again with a fresh call.
			if err := partner.ReleaseDedupe(ctx, tx, org, cancelDedupe(st.ID)); err != nil {
				return err
			}
		}
		if err := enqueueCancel(ctx, tx, org, st); err != nil {
			return err
		}
		st.CancelStatus, st.CancelMessage = ashby.AssessmentCancelPending, reason
	default:
		return nil
	}
	st.UpdatedAt = ashby.NewTime(tx.DB().Now())
	return AssessmentStarts.Put(ctx, tx, org, st)
}

func enqueueCancel(ctx context.Context, tx *store.Tx, org string, st *ashby.AssessmentStart) error {
	b, _ := json.Marshal(map[string]string{"assessment_id": st.AssessmentID})
	_, _, err := partner.Enqueue(ctx, tx, partner.NewCall{OrgID: org, IntegrationID: st.PartnerIntegrationID, Method: methodCancel, SubjectID: st.ID,
		Dedupe: cancelDedupe(st.ID), Body: b})
	return err
}

// startResults is assessment.start's (and assessment.cancel's) results.
type startResults struct {
	AssessmentID  string          `json:"assessment_id"`
	UpdateRequest json.RawMessage `json:"update_request"`
}

// startResult applies a partner's answer to assessment.start.
func startResult(ctx context.Context, tx *store.Tx, c *partner.Call, resp *partner.Response) (partner.Decision, error) {
	org := c.OrgID
	st, err := AssessmentStarts.GetForUpdate(ctx, tx, org, c.SubjectID)
	if errors.Is(err, store.ErrNotFound) {
		return partner.Decision{State: partner.StateFailed, Err: "the assessment start no longer exists (its application was deleted)"}, nil
	}
	if err != nil {
		return partner.Decision{}, err
	}
	if st.Status != ashby.AssessmentStartPending {
		return partner.Decision{State: partner.StateSucceeded}, nil
	}
	env, perr := partner.ParseEnvelope(resp.Body)
	now := ashby.NewTime(tx.DB().Now())
	st.UpdatedAt = now
	var d partner.Decision
	switch {
	case resp.Status == http.StatusConflict:
		st.Status, st.Message = ashby.AssessmentStartAlreadyAssessed, "The partner reports that the candidate is already being assessed"
		if m := env.ErrorMessage(); m != "" {
			st.Message += ": " + m
		}
		d = partner.Decision{State: partner.StateFailed, Err: "HTTP 409: the candidate is already being assessed"}
	case resp.Status == http.StatusUnprocessableEntity:
		st.Status, st.Message = ashby.AssessmentStartRejected, env.ErrorMessage()
		if st.Message == "" {
			st.Message = "The partner refused to start the assessment (HTTP 422) without a message"
		}
		d = partner.Decision{State: partner.StateFailed, Err: "HTTP 422: " + st.Message}
	case resp.Status >= 200 && resp.Status <= 299:
		var res startResults
		switch {
		case perr != nil:
			d = partner.Decision{State: partner.StatePending, Err: "invalid response: " + perr.Error()}
		case env.Failed():
			st.Status, st.Message = ashby.AssessmentStartFailed, "The partner answered success:false: "+env.ErrorMessage()
			d = partner.Decision{State: partner.StateFailed, Err: st.Message}
		case json.Unmarshal(env.Results, &res) != nil || strings.TrimSpace(res.AssessmentID) == "":
			// A partner that answers 2xx without an id is retried: with
			// the same Idempotency-Key, a fixed deploy returns the id.
			d = partner.Decision{State: partner.StatePending, Err: "invalid response: results.assessment_id is missing"}
		default:
			return startAccepted(ctx, tx, org, st, res, now)
		}
	default:
		d = partner.Classify(resp)
		if d.State == partner.StateFailed {
			st.Status, st.Message = ashby.AssessmentStartFailed, "The partner refused the start: "+d.Err
			if m := env.ErrorMessage(); m != "" {
				st.Message += ": " + m
			}
		}
	}
	if d.State == partner.StatePending {
		st.Message = fmt.Sprintf("Attempt %d failed (%s); retrying", c.AttemptCount, d.Err)
	}
	if st.Status != ashby.AssessmentStartPending && st.CancelStatus == ashby.AssessmentCancelRequested {
		st.CancelStatus, st.CancelMessage = ashby.AssessmentCancelSkipped, "Nothing to cancel: the assessment did not start"
	}
	return d, AssessmentStarts.Put(ctx, tx, org, st)
}

// startAccepted records the assessment a partner started.
func startAccepted(ctx context.Context, tx *store.Tx, org string, st *ashby.AssessmentStart, res startResults, now ashby.Time) (partner.Decision, error) {
	a := &ashby.Assessment{ID: st.ID, AssessmentID: strings.TrimSpace(res.AssessmentID), AssessmentTypeID: st.AssessmentTypeID, AssessmentName: st.AssessmentName,
		PartnerID: st.PartnerIntegrationID, CandidateID: st.CandidateID, ApplicationID: st.ApplicationID, Status: ashby.AssessmentNotStarted,
		Metadata: []ashby.Datum{}, CreatedAt: now, UpdatedAt: now}
	// The partner's id must be new in the organization (assessment.update
	// finds assessments by it). Checked before writing: a failed insert
	// would abort the recording transaction on PostgreSQL.
	_, err := Assessments.FindOne(ctx, tx, org, store.Filter{Unique: lc(a.AssessmentID), IncludeArchived: true})
	if err == nil {
		st.Status = ashby.AssessmentStartAlreadyAssessed
		st.Message = fmt.Sprintf("The partner returned assessment_id %s, which belongs to another assessment already recorded", a.AssessmentID)
		st.AssessmentID = a.AssessmentID
		if st.CancelStatus == ashby.AssessmentCancelRequested {
			st.CancelStatus, st.CancelMessage = ashby.AssessmentCancelSkipped, "Nothing to cancel: the assessment did not start"
		}
		return partner.Decision{State: partner.StateFailed, Err: st.Message}, AssessmentStarts.Put(ctx, tx, org, st)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return partner.Decision{}, err
	}
	if err := Assessments.Put(ctx, tx, org, a); err != nil {
		return partner.Decision{}, err
	}
	st.Status, st.AssessmentID, st.StartedAt, st.Message = ashby.AssessmentStartStarted, a.AssessmentID, now.Ptr(), ""
	if !ashby.IsUUID(a.AssessmentID) {
		// Recorded all the same (the partner did start it), but the
		// partner cannot report on it: assessment.update takes a UUID.
		st.Message = "The partner's assessment_id is not a UUID, which Ashby's assessment.update requires: the partner cannot report progress on it"
	}
	if len(res.UpdateRequest) > 0 && string(res.UpdateRequest) != "null" {
		if err := applyInlineUpdate(ctx, tx, org, a, res.UpdateRequest); err != nil {
			if _, ok := ashby.AsError(err); !ok {
				return partner.Decision{}, err
			}
			st.Message = "The partner's update_request was not applied: " + err.Error()
		}
	}
	if st.CancelStatus == ashby.AssessmentCancelRequested {
		// Cancelled while the start was in flight: cancel it now.
		if err := enqueueCancel(ctx, tx, org, st); err != nil {
			return partner.Decision{}, err
		}
		st.CancelStatus = ashby.AssessmentCancelPending
	}
	st.UpdatedAt = now
	return partner.Decision{State: partner.StateSucceeded}, AssessmentStarts.Put(ctx, tx, org, st)
}

// applyInlineUpdate applies an update_request a partner returned with
// assessment.start or assessment.cancel, as if it had called
// assessment.update. Its assessment_id, if any, must be the assessment's.
func applyInlineUpdate(ctx context.Context, tx *store.Tx, org string, a *ashby.Assessment, raw json.RawMessage) error {
	var req assessmentUpdateRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return ashby.InvalidInput("update_request", "update_request is not an assessment.update body: %v", err)
	}
	if req.AssessmentID != "" && !strings.EqualFold(string(req.AssessmentID), a.AssessmentID) {
		return ashby.InvalidInput("update_request.assessment_id", "update_request names assessment %s, not %s", req.AssessmentID, a.AssessmentID)
	}
	if req.Timestamp == 0 {
		req.Timestamp = tx.DB().Now().UnixMilli()
	}
	if err := checkAssessmentUpdate(&req); err != nil {
		return err
	}
	if applyAssessmentUpdate(a, &req, ashby.NewTime(tx.DB().Now())) {
		return Assessments.Put(ctx, tx, org, a)
	}
	return nil
}

// startEnded records a start that ended without an answer.
func startEnded(ctx context.Context, tx *store.Tx, c *partner.Call, state, reason string) error {
	st, err := AssessmentStarts.GetForUpdate(ctx, tx, c.OrgID, c.SubjectID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil || st.Status != ashby.AssessmentStartPending {
		return err
	}
	st.Status, st.Message = ashby.AssessmentStartFailed, reason
	if state == partner.StateCancelled {
		st.Status = ashby.AssessmentStartCancelled
	}
	if st.CancelStatus == ashby.AssessmentCancelRequested {
		st.CancelStatus, st.CancelMessage = ashby.AssessmentCancelSkipped, "Nothing to cancel: the assessment did not start"
	}
	st.UpdatedAt = ashby.NewTime(tx.DB().Now())
	return AssessmentStarts.Put(ctx, tx, c.OrgID, st)
}

// cancelResult applies a partner's answer to assessment.cancel.
func cancelResult(ctx context.Context, tx *store.Tx, c *partner.Call, resp *partner.Response) (partner.Decision, error) {
	org := c.OrgID
	st, err := AssessmentStarts.GetForUpdate(ctx, tx, org, c.SubjectID)
	if errors.Is(err, store.ErrNotFound) {
		return partner.Decision{State: partner.StateFailed, Err: "the assessment start no longer exists"}, nil
	}
	if err != nil {
		return partner.Decision{}, err
	}
	now := ashby.NewTime(tx.DB().Now())
	env, perr := partner.ParseEnvelope(resp.Body)
	var d partner.Decision
	switch {
	case resp.Status >= 200 && resp.Status <= 299 && perr == nil && env.Failed():
		st.CancelStatus, st.CancelMessage = ashby.AssessmentCancelFailed, "The partner answered success:false: "+env.ErrorMessage()
		d = partner.Decision{State: partner.StateFailed, Err: st.CancelMessage}
	case resp.Status >= 200 && resp.Status <= 299:
		st.CancelStatus = ashby.AssessmentCancelDone
		a, err := Assessments.GetForUpdate(ctx, tx, org, st.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return partner.Decision{}, err
		}
		if a != nil {
			var res startResults
			if perr == nil {
				json.Unmarshal(env.Results, &res)
			}
			applied := false
			if len(res.UpdateRequest) > 0 && string(res.UpdateRequest) != "null" {
				if err := applyInlineUpdate(ctx, tx, org, a, res.UpdateRequest); err != nil {
					if _, ok := ashby.AsError(err); !ok {
						return partner.Decision{}, err
					}
					st.CancelMessage += "; the partner's update_request was not applied: " + err.Error()
				} else {
					applied = true
				}
			}
			if !applied && a.Status != ashby.AssessmentCompleted && a.Status != ashby.AssessmentCancelled {
				// The partner confirmed without reporting the new state:
				// record the cancellation it confirmed.
				a.Status, a.CancelledAt, a.UpdatedAt = ashby.AssessmentCancelled, now.Ptr(), now
				a.CancelledReason = &ashby.Datum{Identifier: "ashlar_cancelled", Label: "Cancelled", Type: ashby.DatumString, Value: "Cancelled by Ashlar: " + st.CancelMessage}
				if err := Assessments.Put(ctx, tx, org, a); err != nil {
					return partner.Decision{}, err
				}
			}
		}
		d = partner.Decision{State: partner.StateSucceeded}
	case unsupported(resp.Status):
		// assessment.cancel is optional for partners.
		st.CancelStatus, st.CancelMessage = ashby.AssessmentCancelNotSupported, fmt.Sprintf("The partner does not support assessment.cancel (HTTP %d)", resp.Status)
		d = partner.Decision{State: partner.StateFailed, Err: st.CancelMessage}
	case resp.Status == http.StatusConflict || resp.Status == http.StatusUnprocessableEntity:
		st.CancelStatus, st.CancelMessage = ashby.AssessmentCancelFailed, fmt.Sprintf("The partner refused to cancel (HTTP %d)", resp.Status)
		if m := env.ErrorMessage(); m != "" {
			st.CancelMessage += ": " + m
		}
		d = partner.Decision{State: partner.StateFailed, Err: st.CancelMessage}
	default:
		if d = partner.Classify(resp); d.State == partner.StateFailed {
			st.CancelStatus, st.CancelMessage = ashby.AssessmentCancelFailed, "The partner refused to cancel: "+d.Err
		} else {
			return d, nil
		}
	}
	st.UpdatedAt = now
	return d, AssessmentStarts.Put(ctx, tx, org, st)
}

func cancelEnded(ctx context.Context, tx *store.Tx, c *partner.Call, state, reason string) error {
	st, err := AssessmentStarts.GetForUpdate(ctx, tx, c.OrgID, c.SubjectID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil || st.CancelStatus != ashby.AssessmentCancelPending {
		return err
	}
	st.CancelStatus, st.CancelMessage = ashby.AssessmentCancelFailed, reason
	if state == partner.StateCancelled {
		st.CancelStatus = ashby.AssessmentCancelSkipped
	}
	st.UpdatedAt = ashby.NewTime(tx.DB().Now())
	return AssessmentStarts.Put(ctx, tx, c.OrgID, st)
}

type startForApplicationRequest struct {
	ApplicationID        ashby.ID       `json:"applicationId" required:"true"`
	PartnerIntegrationID ashby.ID       `json:"partnerIntegrationId" required:"true"`
	AssessmentTypeID     string         `json:"assessmentTypeId" required:"true" doc:"The partner's assessment_type_id (assessment.listTypes)."`
	AdditionalFields     map[string]any `json:"additionalFields,omitempty"`
	CancelOn             string         `json:"cancelOn,omitempty" enum:"Archive,StageExit,Never" doc:"Default Archive."`
}

func (s *Service) assessmentStartForApplication(ctx context.Context, c *rpc.Call, req *startForApplicationRequest) (rpc.Result[ashby.AssessmentStart], error) {
	org := c.Org()
	var st *ashby.AssessmentStart
	err := s.write(ctx, func(tx *store.Tx) error {
		app, err := Applications.GetForUpdate(ctx, tx, org, string(req.ApplicationID))
		if err != nil {
			return notFound(err, "application", "Application not found - are you lacking permissions to edit candidates?")
		}
		if app.Status == ashby.ApplicationArchived {
			return ashby.Errorf("application_archived", "Application %s is archived", app.ID)
		}
		p, err := assessmentPartner(ctx, tx, org, string(req.PartnerIntegrationID))
		if err != nil {
			return err
		}
		if !p.Enabled {
			return ashby.Errorf("partner_integration_disabled", "Partner integration %s is disabled", p.ID)
		}
		typ, err := assessmentType(ctx, tx, org, p.ID, req.AssessmentTypeID)
		if err != nil {
			return err
		}
		fields, err := checkAdditionalFields(ctx, tx, org, p.ID, req.AdditionalFields)
		if err != nil {
			return err
		}
		cancelOn := req.CancelOn
		if cancelOn == "" {
			cancelOn = ashby.AssessmentCancelOnArchive
		}
		now := s.now()
		st = &ashby.AssessmentStart{ID: ashby.NewID(), PartnerIntegrationID: p.ID, AssessmentTypeID: typ.AssessmentTypeID, AssessmentName: typ.Name,
			InterviewStageID: app.CurrentInterviewStage.ID, Trigger: ashby.AssessmentTriggerManual, CancelOn: cancelOn, Status: ashby.AssessmentStartPending, CreatedAt: now, UpdatedAt: now}
		_, err = s.newStart(ctx, tx, org, st, app, fields)
		return err
	})
	if err != nil {
		return rpc.Result[ashby.AssessmentStart]{}, err
	}
	return rpc.Value(st), nil
}

type cancelStartRequest struct {
	AssessmentStartID ashby.ID `json:"assessmentStartId" required:"true"`
	Reason            string   `json:"reason,omitempty" maxLength:"text"`
}

func (s *Service) assessmentCancelStart(ctx context.Context, c *rpc.Call, req *cancelStartRequest) (rpc.Result[ashby.AssessmentStart], error) {
	org, id := c.Org(), string(req.AssessmentStartID)
	var st *ashby.AssessmentStart
	err := s.write(ctx, func(tx *store.Tx) error {
		cur, err := AssessmentStarts.Get(ctx, tx, org, id)
		if err != nil {
			return notFound(err, "assessment_start", "Assessment start not found")
		}
		if cur.Status != ashby.AssessmentStartPending && cur.Status != ashby.AssessmentStartStarted {
			return ashby.Errorf("assessment_not_cancellable", "The assessment did not start (%s)", cur.Status)
		}
		reason := strings.TrimSpace(req.Reason)
		if reason == "" {
			reason = "cancelled by a user"
		}
		if err := requestCancel(ctx, tx, org, id, reason); err != nil {
			return err
		}
		st, err = AssessmentStarts.Get(ctx, tx, org, id)
		return err
	})
	if err != nil {
		return rpc.Result[ashby.AssessmentStart]{}, err
	}
	return rpc.Value(st), nil
}

type listForApplicationRequest struct {
	rpc.ListParams
	ApplicationID ashby.ID `json:"applicationId" required:"true"`
}

func (s *Service) assessmentListForApplication(ctx context.Context, c *rpc.Call, req *listForApplicationRequest) (*rpc.Page, error) {
	org := c.Org()
	if _, err := mustExist(ctx, s.DB, Applications, org, string(req.ApplicationID), "application", "applicationId"); err != nil {
		return nil, err
	}
	spec := listSpec(c, AssessmentStarts.Name, rpc.SyncParams{ListParams: req.ListParams})
	spec.NoSync = true
	spec.Filter.Parent = string(req.ApplicationID)
	p, err := s.DB.List(ctx, spec)
	if err != nil {
		return nil, err
	}
	starts := make([]ashby.AssessmentStart, len(p.Docs))
	ids := make([]string, len(p.Docs))
	for i, d := range p.Docs {
		if err := json.Unmarshal(d, &starts[i]); err != nil {
			return nil, fmt.Errorf("decode assessment start: %w", err)
		}
		ids[i] = starts[i].ID
	}
	as, err := Assessments.GetMany(ctx, s.DB, org, ids)
	if err != nil {
		return nil, err
	}
	for i := range starts {
		starts[i].Assessment = as[starts[i].ID]
	}
	return &rpc.Page{Items: starts, MoreDataAvailable: p.MoreDataAvailable, NextCursor: p.NextCursor}, nil
}

// assessmentsOnApplicationDelete drops a deleted application's starts,
// with their calls not yet made; assessments already started stay with
// the candidate.
func assessmentsOnApplicationDelete(ctx context.Context, tx *store.Tx, org, appID string) error {
	starts, err := AssessmentStarts.Find(ctx, tx, org, store.Filter{Parent: appID, IncludeArchived: true})
	if err != nil {
		return err
	}
	for _, st := range starts {
		for _, d := range []string{startDedupe(st.ID), cancelDedupe(st.ID)} {
			if _, err := partner.CancelIdle(ctx, tx, org, d, "the application was deleted"); err != nil {
				return err
			}
		}
		if err := AssessmentStarts.Delete(ctx, tx, org, st.ID); err != nil {
			return err
		}
	}
	return nil
}

// assessmentsOnAnonymize redacts the candidate's data from the records
// of calls made about its assessments (requests carry name and email).
func assessmentsOnAnonymize(ctx context.Context, tx *store.Tx, org, candidateID string) error {
	starts, err := AssessmentStarts.Find(ctx, tx, org, store.Filter{Ref: candidateID, IncludeArchived: true})
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(starts))
	for _, st := range starts {
		ids = append(ids, st.ID)
	}
	runs, err := WorkflowRuns.Find(ctx, tx, org, store.Filter{Ref: candidateID, IncludeArchived: true})
	if err != nil {
		return err
	}
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	return partner.Redact(ctx, tx, org, slices.Compact(ids))
}
