package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/partner"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// Partner integrations (Ashlar extensions; docs/partners.md): an
// organization registers the assessment and workflow partners it uses,
// with the partner's base URL and key, and opts in or out by enabling
// the integration. Ashby does this in its web app.

func init() { register((*Service).partnerEndpoints) }

// PartnerIntegrations: State = "enabled" or "disabled"; Ref = the API key
// the partner calls back with (so that key's calls are recognised as the
// partner's); Search = title.
var PartnerIntegrations = store.Kind[ashby.PartnerIntegration]{Name: "partner_integration", Index: func(p *ashby.PartnerIntegration) store.Index {
	state := "disabled"
	if p.Enabled {
		state = "enabled"
	}
	return store.Index{ID: p.ID, CreatedAt: p.CreatedAt.Time, State: state, Ref: p.APIKeyID, Search: lc(p.Title)}
}}

// partnerMeta is an integration's secret (store meta column): the key
// Ashlar authenticates to the partner with.
type partnerMeta struct {
	PartnerKey string `json:"partnerKey"`
}

// partnerWorker names this process in the records of the calls it makes
// directly (as the worker does for queued ones).
var partnerWorker = partner.DefaultWorkerName()

// PartnerTarget resolves a call's integration for the partner worker:
// its base URL and key, or why it must not be called.
func PartnerTarget(ctx context.Context, q store.Q, org, integrationID string) (partner.Target, error) {
	p, err := PartnerIntegrations.Get(ctx, q, org, integrationID)
	if errors.Is(err, store.ErrNotFound) {
		return partner.Target{Disabled: "the partner integration was deleted"}, nil
	}
	if err != nil {
		return partner.Target{}, err
	}
	if !p.Enabled {
		return partner.Target{Disabled: "the partner integration is disabled"}, nil
	}
	var m partnerMeta
	if _, err := store.GetMeta(ctx, q, org, PartnerIntegrations.Name, p.ID, &m); err != nil {
		return partner.Target{}, err
	}
	return partner.Target{BaseURL: p.BaseURL, Key: m.PartnerKey}, nil
}

func (s *Service) partnerEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "partnerIntegration.create", Permission: ashby.APIKeysWrite, Extension: true,
			Summary: "Register an assessment or workflow partner: its base URL and key, and optionally an API key for its callbacks (returned once)."}, s.partnerCreate),
		rpc.Object(rpc.Spec{Name: "partnerIntegration.info", Permission: ashby.APIKeysRead, Extension: true,
			Summary: "A partner integration (without the partner's key)."}, s.partnerInfo),
		rpc.List[ashby.PartnerIntegration](rpc.Spec{Name: "partnerIntegration.list", Permission: ashby.APIKeysRead, Extension: true,
			Summary: "The organization's partner integrations, enabled or not."}, s.partnerList),
		rpc.Object(rpc.Spec{Name: "partnerIntegration.update", Permission: ashby.APIKeysWrite, Extension: true,
			Summary: "Change a partner integration: enable or disable it (the organization's opt-in), its URL, key, title or frameworks."}, s.partnerUpdate),
		rpc.Object(rpc.Spec{Name: "partnerIntegration.delete", Permission: ashby.APIKeysWrite, Extension: true,
			Summary: "Delete a partner integration with its stage triggers; calls not yet made are cancelled. Started assessments are kept."}, s.partnerDelete),
		rpc.Object(rpc.Spec{Name: "partnerIntegration.sync", Permission: ashby.APIKeysWrite, Extension: true,
			Summary: "Fetch the partner's assessment types (assessment.list) and custom fields (customFields.fetch) now."}, s.partnerSync),
		rpc.List[partner.Call](rpc.Spec{Name: "partnerIntegration.listCalls", Permission: ashby.APIKeysRead, Extension: true,
			Summary: "Calls Ashlar made or will make to partners, newest first, each with its request and every attempt (status, latency, start of the response, error)."}, s.partnerListCalls),
	}
}

type partnerCreateRequest struct {
	Title       string `json:"title" required:"true"`
	BaseURL     string `json:"baseUrl" required:"true" doc:"Where the partner hosts its endpoints: Ashlar POSTs to baseUrl + \"/assessment.start\" and so on. https (http only with --partner-allow-private)." maxLength:"url"`
	PartnerKey  string `json:"partnerKey,omitempty" doc:"The key the partner gave you: sent as the HTTP Basic user name of every call. Never returned." maxLength:"1024"`
	Assessments *bool  `json:"assessments,omitempty" doc:"The partner serves assessments (default true)."`
	Workflows   bool   `json:"workflows,omitempty" doc:"The partner serves workflows."`
	Enabled     *bool  `json:"enabled,omitempty" doc:"Opt in now (default true)."`
	APIKeyID    string `json:"apiKeyId,omitempty" doc:"An existing API key of the organization the partner calls back with."`
	// CreateAPIKey makes a key for the partner's callbacks.
	CreateAPIKey bool `json:"createApiKey,omitempty" doc:"Create an API key (candidatesRead and candidatesWrite) for the partner's callbacks; its secret is returned once, as apiKey."`
}

func (s *Service) checkPartnerFields(title, baseURL string) (string, string, error) {
	title = strings.TrimSpace(title)
	if title == "" {
		return "", "", ashby.InvalidInput("title", "title cannot be empty")
	}
	baseURL = strings.TrimSpace(baseURL)
	if err := partner.CheckBaseURL(baseURL, s.Partners.Config().AllowPrivate); err != nil {
		return "", "", ashby.InvalidInput("baseUrl", "baseUrl %s", err)
	}
	u, _ := url.Parse(baseURL)
	u.Path = strings.TrimRight(u.Path, "/")
	return title, u.String(), nil
}

// checkCallbackKey checks that an API key belongs to the organization and
// is not revoked.
func (s *Service) checkCallbackKey(ctx context.Context, org, keyID string) error {
	keys, err := s.DB.APIKeys(ctx, org)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.ID == keyID && k.RevokedAt == nil {
			return nil
		}
	}
	return ashby.Errorf("api_key_not_found", "API key %s is not an active key of this organization (field apiKeyId)", keyID)
}

func (s *Service) partnerCreate(ctx context.Context, c *rpc.Call, req *partnerCreateRequest) (rpc.Result[ashby.PartnerIntegration], error) {
	title, base, err := s.checkPartnerFields(req.Title, req.BaseURL)
	if err == nil {
		err = s.checkTarget(ctx, "baseUrl", base, s.Partners.Config().AllowPrivate, "--partner-allow-private")
	}
	if err != nil {
		return rpc.Result[ashby.PartnerIntegration]{}, err
	}
	if req.APIKeyID != "" && req.CreateAPIKey {
		return rpc.Result[ashby.PartnerIntegration]{}, ashby.InvalidInput("createApiKey", "Give apiKeyId or createApiKey, not both")
	}
	if req.APIKeyID != "" {
		if err := s.checkCallbackKey(ctx, c.Org(), req.APIKeyID); err != nil {
			return rpc.Result[ashby.PartnerIntegration]{}, err
		}
	}
	now := s.now()
	p := &ashby.PartnerIntegration{ID: ashby.NewID(), Title: title, BaseURL: base, Enabled: req.Enabled == nil || *req.Enabled,
		Assessments: req.Assessments == nil || *req.Assessments, Workflows: req.Workflows, APIKeyID: req.APIKeyID,
		HasPartnerKey: req.PartnerKey != "", CreatedAt: now, UpdatedAt: now}
	if !p.Assessments && !p.Workflows {
		return rpc.Result[ashby.PartnerIntegration]{}, ashby.InvalidInput("assessments", "A partner serves assessments, workflows or both")
	}
	secret := ""
	err = s.write(ctx, func(tx *store.Tx) error {
		if req.CreateAPIKey {
			k, sec, err := tx.CreateAPIKey(ctx, c.Org(), "Partner: "+title, []ashby.Permission{ashby.CandidatesRead, ashby.CandidatesWrite}, "")
			if err != nil {
				return err
			}
			p.APIKeyID, secret = k.ID, sec
		}
		if err := PartnerIntegrations.Put(ctx, tx, c.Org(), p); err != nil {
			return err
		}
		if err := tx.SetMeta(ctx, c.Org(), PartnerIntegrations.Name, p.ID, partnerMeta{PartnerKey: req.PartnerKey}); err != nil {
			return err
		}
		return enqueueSync(ctx, tx, c.Org(), p, "created")
	})
	if err != nil {
		return rpc.Result[ashby.PartnerIntegration]{}, err
	}
	out := *p
	out.APIKey = secret
	return rpc.Value(&out), nil
}

type partnerIDRequest struct {
	PartnerIntegrationID ashby.ID `json:"partnerIntegrationId" required:"true"`
}

func partnerNotFound(err error) error {
	return notFound(err, "partner_integration", "Partner integration not found")
}

func (s *Service) partnerInfo(ctx context.Context, c *rpc.Call, req *partnerIDRequest) (rpc.Result[ashby.PartnerIntegration], error) {
	doc, err := PartnerIntegrations.GetRaw(ctx, s.DB, c.Org(), string(req.PartnerIntegrationID))
	if err != nil {
		return rpc.Result[ashby.PartnerIntegration]{}, partnerNotFound(err)
	}
	return rpc.Raw[ashby.PartnerIntegration](doc), nil
}

type partnerListRequest struct {
	rpc.ListParams
}

func (s *Service) partnerList(ctx context.Context, c *rpc.Call, req *partnerListRequest) (*rpc.Page, error) {
	spec := listSpec(c, PartnerIntegrations.Name, rpc.SyncParams{ListParams: req.ListParams})
	spec.NoSync = true
	return s.listPage(ctx, spec)
}

type partnerUpdateRequest struct {
	PartnerIntegrationID ashby.ID `json:"partnerIntegrationId" required:"true"`
	Title                *string  `json:"title,omitempty"`
	BaseURL              *string  `json:"baseUrl,omitempty" maxLength:"url"`
	PartnerKey           *string  `json:"partnerKey,omitempty" doc:"A new key; \"\" removes it." maxLength:"1024"`
	Enabled              *bool    `json:"enabled,omitempty" doc:"false opts the organization out: the partner is no longer called, and its stage triggers do nothing."`
	Assessments          *bool    `json:"assessments,omitempty"`
	Workflows            *bool    `json:"workflows,omitempty"`
	APIKeyID             *string  `json:"apiKeyId,omitempty" doc:"The API key the partner calls back with; \"\" unbinds it."`
}

func (s *Service) partnerUpdate(ctx context.Context, c *rpc.Call, req *partnerUpdateRequest) (rpc.Result[ashby.PartnerIntegration], error) {
	if req.Title == nil && req.BaseURL == nil && req.PartnerKey == nil && req.Enabled == nil && req.Assessments == nil && req.Workflows == nil && req.APIKeyID == nil {
		return rpc.Result[ashby.PartnerIntegration]{}, ashby.InvalidInput("", "Give at least one field to change")
	}
	if req.APIKeyID != nil && *req.APIKeyID != "" {
		if err := s.checkCallbackKey(ctx, c.Org(), *req.APIKeyID); err != nil {
			return rpc.Result[ashby.PartnerIntegration]{}, err
		}
	}
	if req.BaseURL != nil {
		// Resolved before the transaction, which must not wait on DNS.
		if err := s.checkTarget(ctx, "baseUrl", strings.TrimSpace(*req.BaseURL), s.Partners.Config().AllowPrivate, "--partner-allow-private"); err != nil {
			return rpc.Result[ashby.PartnerIntegration]{}, err
		}
	}
	var p *ashby.PartnerIntegration
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		if p, err = PartnerIntegrations.GetForUpdate(ctx, tx, c.Org(), string(req.PartnerIntegrationID)); err != nil {
			return partnerNotFound(err)
		}
		title, base := p.Title, p.BaseURL
		if req.Title != nil {
			title = *req.Title
		}
		if req.BaseURL != nil {
			base = *req.BaseURL
		}
		if p.Title, p.BaseURL, err = s.checkPartnerFields(title, base); err != nil {
			return err
		}
		wasEnabled := p.Enabled
		if req.Enabled != nil {
			p.Enabled = *req.Enabled
		}
		if req.Assessments != nil {
			p.Assessments = *req.Assessments
		}
		if req.Workflows != nil {
			p.Workflows = *req.Workflows
		}
		if !p.Assessments && !p.Workflows {
			return ashby.InvalidInput("assessments", "A partner serves assessments, workflows or both")
		}
		if req.APIKeyID != nil {
			p.APIKeyID = *req.APIKeyID
		}
		if req.PartnerKey != nil {
			p.HasPartnerKey = *req.PartnerKey != ""
			if err := tx.SetMeta(ctx, c.Org(), PartnerIntegrations.Name, p.ID, partnerMeta{PartnerKey: *req.PartnerKey}); err != nil {
				return err
			}
		}
		p.UpdatedAt = s.now()
		if err := PartnerIntegrations.Put(ctx, tx, c.Org(), p); err != nil {
			return err
		}
		switch {
		case wasEnabled && !p.Enabled:
			return cancelIntegrationCalls(ctx, tx, c.Org(), p.ID, "the partner integration was disabled")
		case !wasEnabled && p.Enabled, req.BaseURL != nil, req.PartnerKey != nil, req.Assessments != nil:
			// Opted in again, or pointed elsewhere: fetch its types anew.
			return enqueueSync(ctx, tx, c.Org(), p, "changed")
		}
		return nil
	})
	if err != nil {
		return rpc.Result[ashby.PartnerIntegration]{}, err
	}
	return rpc.Value(p), nil
}

// cancelIntegrationCalls cancels the calls to an integration not in
// flight, telling each call's handler (a pending start becomes
// Cancelled).
func cancelIntegrationCalls(ctx context.Context, tx *store.Tx, org, integrationID, reason string) error {
	ids, err := partner.CancelIntegration(ctx, tx, org, integrationID, reason)
	if err != nil {
		return err
	}
	for _, id := range ids {
		call, err := partner.Get(ctx, tx, org, id)
		if err != nil {
			return err
		}
		if h, ok := partnerEnded[call.Method]; ok {
			if err := h(ctx, tx, call, partner.StateCancelled, reason); err != nil {
				return err
			}
		}
	}
	return nil
}

// partnerEnded holds the Ended handlers of partner methods, for calls
// cancelled from the API rather than by the worker.
var partnerEnded = map[string]func(ctx context.Context, tx *store.Tx, c *partner.Call, state, reason string) error{}

// handlePartner registers a method's handler with the worker and keeps
// its Ended for cancellations made here.
func handlePartner(method string, h partner.Handler) {
	partner.Handle(method, h)
	if h.Ended != nil {
		partnerEnded[method] = h.Ended
	}
}

type partnerDeleted struct {
	PartnerIntegrationID string `json:"partnerIntegrationId"`
}

func (s *Service) partnerDelete(ctx context.Context, c *rpc.Call, req *partnerIDRequest) (rpc.Result[partnerDeleted], error) {
	org, id := c.Org(), string(req.PartnerIntegrationID)
	err := s.write(ctx, func(tx *store.Tx) error {
		if _, err := PartnerIntegrations.GetForUpdate(ctx, tx, org, id); err != nil {
			return partnerNotFound(err)
		}
		if err := cancelIntegrationCalls(ctx, tx, org, id, "the partner integration was deleted"); err != nil {
			return err
		}
		trig, err := AssessmentStageTriggers.Find(ctx, tx, org, store.Filter{Ref: id, IncludeArchived: true})
		if err != nil {
			return err
		}
		for _, t := range trig {
			if err := AssessmentStageTriggers.Delete(ctx, tx, org, t.ID); err != nil {
				return err
			}
		}
		types, err := AssessmentTypes.Find(ctx, tx, org, store.Filter{Parent: id, IncludeArchived: true})
		if err != nil {
			return err
		}
		for _, t := range types {
			if err := AssessmentTypes.Delete(ctx, tx, org, t.ID); err != nil {
				return err
			}
		}
		if err := PartnerCustomFieldLists.Delete(ctx, tx, org, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return PartnerIntegrations.Delete(ctx, tx, org, id)
	})
	if err != nil {
		return rpc.Result[partnerDeleted]{}, err
	}
	return rpc.Value(&partnerDeleted{PartnerIntegrationID: id}), nil
}

// Partner methods Ashlar calls to sync an assessment partner.
const (
	methodAssessmentList  = "assessment.list"
	methodCustomFields    = "customFields.fetch"
	methodCustomFieldList = "assessment.customField.list" // the spec's path of customFields.fetch
)

// enqueueSync queues a fetch of an assessment partner's types and custom
// fields (on creation, when re-enabled, and hourly). The dedupe key
// holds the time bucket, so processes scheduling at once queue one.
func enqueueSync(ctx context.Context, tx *store.Tx, org string, p *ashby.PartnerIntegration, bucket string) error {
	if !p.Enabled || !p.Assessments {
		return nil
	}
	if bucket == "created" || bucket == "changed" {
		bucket += ":" + ashby.NewID() // each creation or change syncs
	}
	for _, m := range []string{methodAssessmentList, methodCustomFields} {
		if _, _, err := partner.Enqueue(ctx, tx, partner.NewCall{OrgID: org, IntegrationID: p.ID, Method: m, SubjectID: p.ID,
			Dedupe: "sync:" + p.ID + ":" + m + ":" + bucket}); err != nil {
			return err
		}
	}
	return nil
}

// SchedulePartnerSyncs queues the hourly sync of every enabled assessment
// partner not synced for interval; the serve hook runs it periodically.
func SchedulePartnerSyncs(ctx context.Context, db *store.DB, interval time.Duration) error {
	orgs, err := db.Orgs(ctx)
	if err != nil {
		return err
	}
	now := db.Now()
	bucket := fmt.Sprintf("t%d", now.UnixMilli()/max(interval.Milliseconds(), 1))
	for _, o := range orgs {
		ps, err := PartnerIntegrations.Find(ctx, db, o.ID, store.Filter{State: []string{"enabled"}})
		if err != nil {
			return err
		}
		for _, p := range ps {
			if !p.Assessments || (p.AssessmentTypesSyncedAt != nil && now.Sub(p.AssessmentTypesSyncedAt.Time) < interval) {
				continue
			}
			// A partner that is down has its last sync still retrying:
			// one at a time.
			if busy, err := partner.HasPending(ctx, db, o.ID, p.ID, methodAssessmentList); err != nil || busy {
				if err != nil {
					return err
				}
				continue
			}
			if err := db.Write(ctx, func(tx *store.Tx) error { return enqueueSync(ctx, tx, o.ID, p, bucket) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// listResult is one entry of a partner's assessment.list.
type listResult struct {
	AssessmentTypeID string `json:"assessment_type_id"`
	Name             string `json:"name"`
	Description      string `json:"description"`
}

// applyAssessmentList stores the types a partner's assessment.list
// returned; types it no longer lists are archived.
func applyAssessmentList(ctx context.Context, tx *store.Tx, org, integrationID string, body []byte) error {
	env, err := partner.ParseEnvelope(body)
	if err != nil {
		return err
	}
	if env.Failed() {
		return fmt.Errorf("the partner answered success:false: %s", env.ErrorMessage())
	}
	var results []listResult
	if err := json.Unmarshal(env.Results, &results); err != nil {
		return fmt.Errorf("results is not a list of assessment types: %w", err)
	}
	p, err := PartnerIntegrations.GetForUpdate(ctx, tx, org, integrationID)
	if err != nil {
		return err
	}
	now := ashby.NewTime(tx.DB().Now())
	have, err := AssessmentTypes.FindForUpdate(ctx, tx, org, store.Filter{Parent: integrationID, IncludeArchived: true})
	if err != nil {
		return err
	}
	byTypeID := map[string]*ashby.AssessmentType{}
	for _, t := range have {
		byTypeID[t.AssessmentTypeID] = t
	}
	listed := map[string]bool{}
	for i, r := range results {
		id := strings.TrimSpace(r.AssessmentTypeID)
		if id == "" || strings.TrimSpace(r.Name) == "" {
			return fmt.Errorf("results[%d] needs an assessment_type_id and a name", i)
		}
		if listed[id] {
			continue
		}
		listed[id] = true
		t := byTypeID[id]
		if t == nil {
			t = &ashby.AssessmentType{ID: ashby.NewID(), PartnerIntegrationID: integrationID, AssessmentTypeID: id}
		}
		t.Name, t.Description, t.IsArchived, t.SyncedAt = strings.TrimSpace(r.Name), r.Description, false, now
		if err := AssessmentTypes.Put(ctx, tx, org, t); err != nil {
			return err
		}
	}
	for _, t := range have {
		if !listed[t.AssessmentTypeID] && !t.IsArchived {
			t.IsArchived, t.SyncedAt = true, now
			if err := AssessmentTypes.Put(ctx, tx, org, t); err != nil {
				return err
			}
		}
	}
	p.AssessmentTypesSyncedAt, p.LastSyncError, p.UpdatedAt = now.Ptr(), "", now
	return PartnerIntegrations.Put(ctx, tx, org, p)
}

// fieldResult is one field of a partner's customFields.fetch.
type fieldResult struct {
	ID             string                    `json:"id"`
	Name           string                    `json:"name"`
	Type           string                    `json:"type"`
	PossibleValues []ashby.PartnerFieldValue `json:"possible_values"`
	IsRequired     bool                      `json:"isRequired"`
}

var partnerFieldTypes = map[string]bool{"String": true, "Date": true, "DateRange": true, "Number": true, "ValueSelect": true, "MultiValueSelect": true,
	"Boolean": true, "LongText": true, "Email": true, "Phone": true, "Score": true, "SocialLink": true, "Url": true, "Currency": true, "Location": true}

// applyCustomFields stores a partner's custom fields (nil body: the
// partner has none to offer).
func applyCustomFields(ctx context.Context, tx *store.Tx, org, integrationID string, body []byte) error {
	var fields []ashby.PartnerCustomField
	if body != nil {
		env, err := partner.ParseEnvelope(body)
		if err != nil {
			return err
		}
		if env.Failed() {
			return fmt.Errorf("the partner answered success:false: %s", env.ErrorMessage())
		}
		raw := env.Fields
		if len(raw) == 0 {
			raw = env.Results // lenient: some partners wrap the list in results
		}
		var in []fieldResult
		if err := json.Unmarshal(raw, &in); err != nil {
			return fmt.Errorf("fields is not a list of custom fields: %w", err)
		}
		seen := map[string]bool{}
		for i, f := range in {
			if f.ID == "" || f.Name == "" || !partnerFieldTypes[f.Type] {
				return fmt.Errorf("fields[%d] needs an id, a name and a known type (got %q)", i, f.Type)
			}
			if seen[f.ID] {
				return fmt.Errorf("fields[%d]: id %q is used twice", i, f.ID)
			}
			seen[f.ID] = true
			fields = append(fields, ashby.PartnerCustomField{ID: f.ID, Name: f.Name, Type: f.Type, PossibleValues: f.PossibleValues, IsRequired: f.IsRequired})
		}
	}
	if fields == nil {
		fields = []ashby.PartnerCustomField{}
	}
	p, err := PartnerIntegrations.GetForUpdate(ctx, tx, org, integrationID)
	if err != nil {
		return err
	}
	now := ashby.NewTime(tx.DB().Now())
	// The list is replaced whole: lock the stored one first.
	if _, err := PartnerCustomFieldLists.GetForUpdate(ctx, tx, org, integrationID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := PartnerCustomFieldLists.Put(ctx, tx, org, &ashby.PartnerCustomFields{ID: integrationID, PartnerIntegrationID: integrationID, Fields: fields, SyncedAt: now}); err != nil {
		return err
	}
	p.CustomFieldsSyncedAt, p.CustomFieldsSupported, p.UpdatedAt = now.Ptr(), body != nil, now
	return PartnerIntegrations.Put(ctx, tx, org, p)
}

// noteSyncError records why a sync failed on the integration.
func noteSyncError(ctx context.Context, tx *store.Tx, org, integrationID, msg string) error {
	p, err := PartnerIntegrations.GetForUpdate(ctx, tx, org, integrationID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	p.LastSyncError, p.UpdatedAt = msg, ashby.NewTime(tx.DB().Now())
	return PartnerIntegrations.Put(ctx, tx, org, p)
}

// unsupported reports a status that says "no such endpoint".
func unsupported(status int) bool { return status == 404 || status == 405 || status == 501 }

func init() {
	syncEnded := func(ctx context.Context, tx *store.Tx, c *partner.Call, state, reason string) error {
		if state == partner.StateCancelled {
			return nil
		}
		return noteSyncError(ctx, tx, c.OrgID, c.PartnerIntegrationID, c.Method+": "+reason)
	}
	handlePartner(methodAssessmentList, partner.Handler{
		Result: func(ctx context.Context, tx *store.Tx, c *partner.Call, resp *partner.Response) (partner.Decision, error) {
			d := partner.Classify(resp)
			switch d.State {
			case partner.StateSucceeded:
				if err := applyAssessmentList(ctx, tx, c.OrgID, c.PartnerIntegrationID, resp.Body); err != nil {
					// A malformed list is retried: partners fix deploys.
					msg := "invalid assessment.list response: " + err.Error()
					return partner.Decision{State: partner.StatePending, Err: msg}, noteSyncError(ctx, tx, c.OrgID, c.PartnerIntegrationID, msg)
				}
			case partner.StateFailed:
				return d, noteSyncError(ctx, tx, c.OrgID, c.PartnerIntegrationID, c.Method+": "+d.Err)
			}
			return d, nil
		},
		Ended: syncEnded,
	})
	fields := func(ctx context.Context, tx *store.Tx, c *partner.Call, resp *partner.Response) (partner.Decision, error) {
		if unsupported(resp.Status) {
			// customFields.fetch is optional, and Ashby's spec names it
			// assessment.customField.list: try that spelling, then
			// conclude the partner has no custom fields.
			if c.Method == methodCustomFields {
				_, _, err := partner.Enqueue(ctx, tx, partner.NewCall{OrgID: c.OrgID, IntegrationID: c.PartnerIntegrationID, Method: methodCustomFieldList,
					SubjectID: c.SubjectID, Dedupe: "fallback:" + c.ID})
				return partner.Decision{State: partner.StateFailed, Err: fmt.Sprintf("HTTP %d: trying %s", resp.Status, methodCustomFieldList)}, err
			}
			return partner.Decision{State: partner.StateSucceeded}, applyCustomFields(ctx, tx, c.OrgID, c.PartnerIntegrationID, nil)
		}
		d := partner.Classify(resp)
		switch d.State {
		case partner.StateSucceeded:
			if err := applyCustomFields(ctx, tx, c.OrgID, c.PartnerIntegrationID, resp.Body); err != nil {
				msg := "invalid " + c.Method + " response: " + err.Error()
				return partner.Decision{State: partner.StatePending, Err: msg}, noteSyncError(ctx, tx, c.OrgID, c.PartnerIntegrationID, msg)
			}
		case partner.StateFailed:
			return d, noteSyncError(ctx, tx, c.OrgID, c.PartnerIntegrationID, c.Method+": "+d.Err)
		}
		return d, nil
	}
	handlePartner(methodCustomFields, partner.Handler{Result: fields, Ended: syncEnded})
	handlePartner(methodCustomFieldList, partner.Handler{Result: fields, Ended: syncEnded})
}

// callPartner makes a direct call to an integration on behalf of an API
// request and returns the response, or the error the caller sees.
func (s *Service) callPartner(ctx context.Context, org string, p *ashby.PartnerIntegration, method, subject string, body []byte, idemKey string) (*partner.Response, error) {
	t, err := PartnerTarget(ctx, s.DB, org, p.ID)
	if err != nil {
		return nil, err
	}
	if t.Disabled != "" {
		return nil, ashby.Errorf("partner_integration_disabled", "Partner integration %s is disabled", p.ID)
	}
	resp, _, err := s.Partners.Direct(ctx, s.DB, partner.NewCall{OrgID: org, IntegrationID: p.ID, Method: method, SubjectID: subject, Body: body, IdempotencyKey: idemKey}, t, partnerWorker)
	if err != nil {
		return nil, err
	}
	if resp.Status == 0 {
		return resp, ashby.Errorf("partner_request_failed", "%s to %s failed: %s", method, p.Title, resp.Err)
	}
	return resp, nil
}

// partnerRefusal is the error for a partner's non-2xx or success:false answer.
func (s *Service) partnerRefusal(method string, p *ashby.PartnerIntegration, resp *partner.Response) error {
	msg := ""
	if env, err := partner.ParseEnvelope(resp.Body); err == nil {
		msg = env.ErrorMessage()
	}
	if msg == "" {
		msg = strings.TrimSpace(s.Partners.LogText(resp.Body))
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
	}
	e := ashby.Errorf("partner_request_failed", "%s: %s answered HTTP %d", method, p.Title, resp.Status)
	if msg != "" {
		e.Message += ": " + msg
	}
	e.Meta = map[string]any{"partnerStatus": resp.Status}
	return e
}

func (s *Service) partnerSync(ctx context.Context, c *rpc.Call, req *partnerIDRequest) (rpc.Result[ashby.PartnerIntegration], error) {
	org := c.Org()
	p, err := PartnerIntegrations.Get(ctx, s.DB, org, string(req.PartnerIntegrationID))
	if err != nil {
		return rpc.Result[ashby.PartnerIntegration]{}, partnerNotFound(err)
	}
	if !p.Assessments {
		return rpc.Result[ashby.PartnerIntegration]{}, ashby.Errorf("partner_integration_not_assessments", "Partner integration %s does not serve assessments", p.ID)
	}
	// A failure is the caller's error and, as for the periodic sync, the
	// integration's lastSyncError.
	fail := func(err error) (rpc.Result[ashby.PartnerIntegration], error) {
		if ae, ok := ashby.AsError(err); ok && ae.Code != "partner_integration_disabled" {
			if werr := s.write(ctx, func(tx *store.Tx) error { return noteSyncError(ctx, tx, org, p.ID, ae.Message) }); werr != nil {
				s.Log.Error("record partner sync error", "err", werr)
			}
		}
		return rpc.Result[ashby.PartnerIntegration]{}, err
	}
	resp, err := s.callPartner(ctx, org, p, methodAssessmentList, p.ID, nil, "")
	if err != nil {
		return fail(err)
	}
	if resp.Status < 200 || resp.Status > 299 {
		return fail(s.partnerRefusal(methodAssessmentList, p, resp))
	}
	if err := s.write(ctx, func(tx *store.Tx) error { return applyAssessmentList(ctx, tx, org, p.ID, resp.Body) }); err != nil {
		if _, ok := ashby.AsError(err); ok {
			return fail(err)
		}
		return fail(ashby.Errorf("partner_invalid_response", "%s: %v", methodAssessmentList, err))
	}
	// Custom fields are optional: an absent endpoint means none.
	var fieldsBody []byte
	for _, m := range []string{methodCustomFields, methodCustomFieldList} {
		resp, err := s.callPartner(ctx, org, p, m, p.ID, nil, "")
		if err != nil {
			return fail(err)
		}
		if unsupported(resp.Status) {
			continue
		}
		if resp.Status < 200 || resp.Status > 299 {
			return fail(s.partnerRefusal(m, p, resp))
		}
		fieldsBody = resp.Body
		break
	}
	var out *ashby.PartnerIntegration
	err = s.write(ctx, func(tx *store.Tx) error {
		if err := applyCustomFields(ctx, tx, org, p.ID, fieldsBody); err != nil {
			return ashby.Errorf("partner_invalid_response", "%s: %v", methodCustomFields, err)
		}
		out, err = PartnerIntegrations.Get(ctx, tx, org, p.ID)
		return err
	})
	if err != nil {
		return fail(err)
	}
	return rpc.Value(out), nil
}

type partnerListCallsRequest struct {
	rpc.ListParams
	PartnerIntegrationID ashby.ID `json:"partnerIntegrationId,omitempty"`
	SubjectID            ashby.ID `json:"subjectId,omitempty" doc:"Only calls about this assessment start, workflow run or integration."`
	Method               string   `json:"method,omitempty" enum:"assessment.list,customFields.fetch,assessment.customField.list,assessment.start,assessment.cancel,workflow.list,workflow.info,workflow.start"`
	Status               string   `json:"status,omitempty" enum:"pending,succeeded,failed,cancelled"`
}

func (s *Service) partnerListCalls(ctx context.Context, c *rpc.Call, req *partnerListCallsRequest) (*rpc.Page, error) {
	calls, next, err := partner.List(ctx, s.DB, c.Org(), partner.Filter{IntegrationID: string(req.PartnerIntegrationID), SubjectID: string(req.SubjectID),
		Method: req.Method, Status: req.Status, Cursor: req.Cursor, Limit: req.PageLimit()})
	if errors.Is(err, partner.ErrBadCursor) {
		return nil, ashby.Errorf(ashby.CodeInvalidNextCursor, "The cursor is not one partnerIntegration.listCalls returned")
	}
	if err != nil {
		return nil, err
	}
	if calls == nil {
		calls = []*partner.Call{}
	}
	return &rpc.Page{Items: calls, MoreDataAvailable: next != "", NextCursor: next}, nil
}
