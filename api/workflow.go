package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/partner"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// The workflow partner framework (https://developers.ashbyhq.com/reference/workflowstart): a partner hosts
// workflow.list, workflow.info and workflow.start, which Ashlar calls
// when a user lists templates, reads a template's fields and starts a
// workflow (extension endpoints); the partner reports progress with
// workflow.update, which Ashby (and Ashlar) hosts.
//
// These calls are made while the user waits, so they are direct calls
// (one attempt, recorded in partnerIntegration.listCalls like queued
// ones): the user sees the partner's answer, and a workflow.start that
// failed is retried by starting again.

func init() { register((*Service).workflowEndpoints) }

const (
	methodWorkflowList  = "workflow.list"
	methodWorkflowInfo  = "workflow.info"
	methodWorkflowStart = "workflow.start"
)

// WorkflowRuns: Parent = integration; Ref = candidate; Search =
// application; Unique = the partner's workflow id, which workflow.update
// names.
var WorkflowRuns = store.Kind[ashby.WorkflowRun]{Name: "workflow_run", Index: func(r *ashby.WorkflowRun) store.Index {
	return store.Index{ID: r.ID, CreatedAt: r.CreatedAt.Time, Parent: r.PartnerIntegrationID, Ref: r.CandidateID, Search: r.ApplicationID,
		Unique: lc(r.ExternalWorkflowID), State: r.Status}
}}

func (s *Service) workflowEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "workflow.update", Permission: ashby.CandidatesWrite,
			Summary: "A workflow partner reports a workflow's status, profile URL or metadata."}, s.workflowUpdate),
		rpc.Array[ashby.WorkflowTemplate](rpc.Spec{Name: "workflow.listTemplates", Permission: ashby.CandidatesRead, Extension: true,
			Summary: "The workflows a partner offers (Ashlar calls the partner's workflow.list)."}, s.workflowListTemplates),
		rpc.Object(rpc.Spec{Name: "workflow.templateInfo", Permission: ashby.CandidatesRead, Extension: true,
			Summary: "A partner's workflow template with its fields (Ashlar calls the partner's workflow.info)."}, s.workflowTemplateInfo),
		rpc.Object(rpc.Spec{Name: "workflow.startRun", Permission: ashby.CandidatesWrite, Extension: true,
			Summary: "Start a partner workflow with field values, checked against the template's fields (Ashlar calls workflow.info, then workflow.start)."}, s.workflowStartRun),
		rpc.Object(rpc.Spec{Name: "workflow.runInfo", Permission: ashby.CandidatesRead, Extension: true,
			Summary: "A workflow started with a partner and its progress."}, s.workflowRunInfo),
		rpc.List[ashby.WorkflowRun](rpc.Spec{Name: "workflow.listRuns", Permission: ashby.CandidatesRead, Extension: true,
			Summary: "Workflows started with partners, oldest first: all, a partner's, a candidate's or an application's."}, s.workflowListRuns),
	}
}

// workflowPartner loads an enabled integration that serves workflows.
func workflowPartner(ctx context.Context, q store.Q, org, id string) (*ashby.PartnerIntegration, error) {
	p, err := PartnerIntegrations.Get(ctx, q, org, id)
	if err != nil {
		return nil, partnerNotFound(err)
	}
	if !p.Workflows {
		return nil, ashby.Errorf("partner_integration_not_workflows", "Partner integration %s does not serve workflows", p.ID)
	}
	if !p.Enabled {
		return nil, ashby.Errorf("partner_integration_disabled", "Partner integration %s is disabled", p.ID)
	}
	return p, nil
}

// partnerResults calls a workflow method and returns its results, or the
// error the user sees.
func (s *Service) partnerResults(ctx context.Context, org string, p *ashby.PartnerIntegration, method, subject string, body []byte, key string) (json.RawMessage, error) {
	resp, err := s.callPartner(ctx, org, p, method, subject, body, key)
	if err != nil {
		return nil, err
	}
	if resp.Status < 200 || resp.Status > 299 {
		return nil, s.partnerRefusal(method, p, resp)
	}
	env, err := partner.ParseEnvelope(resp.Body)
	if err != nil {
		return nil, ashby.Errorf("partner_invalid_response", "%s: %v", method, err)
	}
	if env.Failed() {
		return nil, s.partnerRefusal(method, p, resp)
	}
	return env.Results, nil
}

// templateWire is a template as workflow partners send it.
type templateWire struct {
	ID          string                `json:"external_workflow_template_id"`
	Name        string                `json:"name"`
	Description string                `json:"description"`
	Fields      []ashby.WorkflowField `json:"fields"`
}

type workflowPartnerRequest struct {
	PartnerIntegrationID ashby.ID `json:"partnerIntegrationId" required:"true"`
}

func (s *Service) workflowListTemplates(ctx context.Context, c *rpc.Call, req *workflowPartnerRequest) (*rpc.Page, error) {
	p, err := workflowPartner(ctx, s.DB, c.Org(), string(req.PartnerIntegrationID))
	if err != nil {
		return nil, err
	}
	raw, err := s.partnerResults(ctx, c.Org(), p, methodWorkflowList, p.ID, nil, "")
	if err != nil {
		return nil, err
	}
	var in []templateWire
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, ashby.Errorf("partner_invalid_response", "%s: results is not a list of workflow templates", methodWorkflowList)
	}
	out := make([]ashby.WorkflowTemplate, 0, len(in))
	for _, t := range in {
		if t.ID == "" {
			return nil, ashby.Errorf("partner_invalid_response", "%s: a template has no external_workflow_template_id", methodWorkflowList)
		}
		out = append(out, ashby.WorkflowTemplate{ExternalWorkflowTemplateID: t.ID, Name: t.Name, Description: t.Description})
	}
	return items(out), nil
}

type templateInfoRequest struct {
	PartnerIntegrationID       ashby.ID `json:"partnerIntegrationId" required:"true"`
	ExternalWorkflowTemplateID string   `json:"externalWorkflowTemplateId" required:"true"`
}

// templateInfo calls workflow.info. The partner answers with results as
// a list of one template (Ashby's example) or as the template itself.
func (s *Service) templateInfo(ctx context.Context, org string, p *ashby.PartnerIntegration, templateID string) (*ashby.WorkflowTemplate, error) {
	b, _ := json.Marshal(map[string]string{"external_workflow_template_id": templateID})
	raw, err := s.partnerResults(ctx, org, p, methodWorkflowInfo, p.ID, b, "")
	if err != nil {
		return nil, err
	}
	var list []templateWire
	var one templateWire
	switch {
	case json.Unmarshal(raw, &list) == nil:
		i := slices.IndexFunc(list, func(t templateWire) bool { return t.ID == templateID })
		switch {
		case i >= 0:
			one = list[i]
		case len(list) == 1 && list[0].ID == "":
			one = list[0]
		default:
			return nil, ashby.Errorf("workflow_template_not_found", "The partner has no workflow template %q", templateID)
		}
	case json.Unmarshal(raw, &one) == nil:
	default:
		return nil, ashby.Errorf("partner_invalid_response", "%s: results is not a workflow template", methodWorkflowInfo)
	}
	if one.ID == "" {
		one.ID = templateID
	}
	fields := one.Fields
	if fields == nil {
		fields = []ashby.WorkflowField{}
	}
	for i, f := range fields {
		if strings.TrimSpace(f.ID) == "" {
			return nil, ashby.Errorf("partner_invalid_response", "%s: fields[%d] has no id", methodWorkflowInfo, i)
		}
	}
	return &ashby.WorkflowTemplate{ExternalWorkflowTemplateID: one.ID, Name: one.Name, Description: one.Description, Fields: fields}, nil
}

func (s *Service) workflowTemplateInfo(ctx context.Context, c *rpc.Call, req *templateInfoRequest) (rpc.Result[ashby.WorkflowTemplate], error) {
	p, err := workflowPartner(ctx, s.DB, c.Org(), string(req.PartnerIntegrationID))
	if err != nil {
		return rpc.Result[ashby.WorkflowTemplate]{}, err
	}
	t, err := s.templateInfo(ctx, c.Org(), p, req.ExternalWorkflowTemplateID)
	if err != nil {
		return rpc.Result[ashby.WorkflowTemplate]{}, err
	}
	return rpc.Value(t), nil
}

type startRunRequest struct {
	PartnerIntegrationID       ashby.ID              `json:"partnerIntegrationId" required:"true"`
	ExternalWorkflowTemplateID string                `json:"externalWorkflowTemplateId" required:"true"`
	Values                     []ashby.WorkflowValue `json:"values,omitempty" doc:"One value per field id of the template (workflow.templateInfo); required fields must have one."`
	CandidateID                ashby.ID              `json:"candidateId,omitempty" doc:"The candidate the workflow is about, if any."`
	ApplicationID              ashby.ID              `json:"applicationId,omitempty" doc:"The application the workflow is about, if any (its candidate is implied)."`
}

// checkWorkflowValues validates values against a template's fields.
// Ashby's partner API passes every value as a string.
func checkWorkflowValues(fields []ashby.WorkflowField, values []ashby.WorkflowValue) error {
	byID := map[string]ashby.WorkflowField{}
	for _, f := range fields {
		byID[f.ID] = f
	}
	seen := map[string]bool{}
	for i, v := range values {
		at := fmt.Sprintf("values[%d]", i)
		f, ok := byID[v.FieldID]
		if !ok {
			return ashby.InvalidInput(at+".fieldId", "The workflow has no field %q", v.FieldID)
		}
		if seen[v.FieldID] {
			return ashby.InvalidInput(at+".fieldId", "Field %q is given twice", v.FieldID)
		}
		seen[v.FieldID] = true
		if len(f.SelectableValues) > 0 && !slices.ContainsFunc(f.SelectableValues, func(sv ashby.WorkflowSelectValue) bool { return sv.Value == v.Value }) {
			return ashby.InvalidInput(at+".value", "%s takes one of its selectable values", f.Title)
		}
		switch strings.ToLower(f.Type) {
		case "number", "score":
			if _, err := strconv.ParseFloat(v.Value, 64); err != nil {
				return ashby.InvalidInput(at+".value", "%s is a number field", f.Title)
			}
		case "boolean":
			if _, err := strconv.ParseBool(v.Value); err != nil {
				return ashby.InvalidInput(at+".value", "%s is a Boolean field: give true or false", f.Title)
			}
		case "date":
			if !isDate(v.Value) {
				return ashby.InvalidInput(at+".value", "%s is a date field: give YYYY-MM-DD or an ISO-8601 datetime", f.Title)
			}
		case "email":
			if !strings.Contains(v.Value, "@") {
				return ashby.InvalidInput(at+".value", "%s is an email field", f.Title)
			}
		}
		if f.IsRequired && strings.TrimSpace(v.Value) == "" {
			return ashby.InvalidInput(at+".value", "%s is required", f.Title)
		}
	}
	for _, f := range fields {
		if f.IsRequired && !seen[f.ID] {
			return ashby.InvalidInput("values", "The workflow requires field %q (%s)", f.ID, f.Title)
		}
	}
	return nil
}

func (s *Service) workflowStartRun(ctx context.Context, c *rpc.Call, req *startRunRequest) (rpc.Result[ashby.WorkflowRun], error) {
	org := c.Org()
	p, err := workflowPartner(ctx, s.DB, org, string(req.PartnerIntegrationID))
	if err != nil {
		return rpc.Result[ashby.WorkflowRun]{}, err
	}
	candID, appID := string(req.CandidateID), string(req.ApplicationID)
	if appID != "" {
		app, err := mustExist(ctx, s.DB, Applications, org, appID, "application", "applicationId")
		if err != nil {
			return rpc.Result[ashby.WorkflowRun]{}, err
		}
		if candID != "" && candID != app.Candidate.ID {
			return rpc.Result[ashby.WorkflowRun]{}, ashby.InvalidInput("applicationId", "Application %s is not an application of candidate %s", appID, candID)
		}
		candID = app.Candidate.ID
	} else if candID != "" {
		if _, err := mustExist(ctx, s.DB, Candidates, org, candID, "candidate", "candidateId"); err != nil {
			return rpc.Result[ashby.WorkflowRun]{}, err
		}
	}
	values := req.Values
	if values == nil {
		values = []ashby.WorkflowValue{}
	}
	tmpl, err := s.templateInfo(ctx, org, p, req.ExternalWorkflowTemplateID)
	if err != nil {
		return rpc.Result[ashby.WorkflowRun]{}, err
	}
	if err := checkWorkflowValues(tmpl.Fields, values); err != nil {
		return rpc.Result[ashby.WorkflowRun]{}, err
	}
	run := &ashby.WorkflowRun{ID: ashby.NewID(), PartnerIntegrationID: p.ID, ExternalWorkflowTemplateID: tmpl.ExternalWorkflowTemplateID,
		TemplateName: tmpl.Name, Status: "Started", Metadata: []ashby.WorkflowMetadatum{}, Values: values, CandidateID: candID, ApplicationID: appID}
	if actor, err := s.actingUser(ctx, s.DB, c); err == nil {
		run.StartedByUserID = actor.ID
	}
	b, _ := json.Marshal(map[string]any{"external_workflow_template_id": tmpl.ExternalWorkflowTemplateID, "values": values})
	raw, err := s.partnerResults(ctx, org, p, methodWorkflowStart, run.ID, b, run.ID)
	if err != nil {
		return rpc.Result[ashby.WorkflowRun]{}, err
	}
	var res struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &res) != nil || strings.TrimSpace(res.ID) == "" {
		return rpc.Result[ashby.WorkflowRun]{}, ashby.Errorf("partner_invalid_response", "%s: results.id is missing; the partner may have started the workflow (see partnerIntegration.listCalls, subjectId %s)", methodWorkflowStart, run.ID)
	}
	run.ExternalWorkflowID = strings.TrimSpace(res.ID)
	now := s.now()
	run.CreatedAt, run.UpdatedAt = now, now
	err = s.write(ctx, func(tx *store.Tx) error {
		if _, err := WorkflowRuns.FindOne(ctx, tx, org, store.Filter{Unique: lc(run.ExternalWorkflowID), IncludeArchived: true}); err == nil {
			return ashby.Errorf("workflow_already_exists", "The partner returned workflow id %s, which another workflow has", run.ExternalWorkflowID)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return WorkflowRuns.Put(ctx, tx, org, run)
	})
	if err != nil {
		return rpc.Result[ashby.WorkflowRun]{}, err
	}
	return rpc.Value(run), nil
}

type workflowRunRequest struct {
	WorkflowRunID ashby.ID `json:"workflowRunId" required:"true"`
}

func (s *Service) workflowRunInfo(ctx context.Context, c *rpc.Call, req *workflowRunRequest) (rpc.Result[ashby.WorkflowRun], error) {
	doc, err := WorkflowRuns.GetRaw(ctx, s.DB, c.Org(), string(req.WorkflowRunID))
	if err != nil {
		return rpc.Result[ashby.WorkflowRun]{}, notFound(err, "workflow", "Workflow not found")
	}
	return rpc.Raw[ashby.WorkflowRun](doc), nil
}

type listRunsRequest struct {
	rpc.ListParams
	PartnerIntegrationID ashby.ID `json:"partnerIntegrationId,omitempty"`
	CandidateID          ashby.ID `json:"candidateId,omitempty"`
	ApplicationID        ashby.ID `json:"applicationId,omitempty"`
}

func (s *Service) workflowListRuns(ctx context.Context, c *rpc.Call, req *listRunsRequest) (*rpc.Page, error) {
	spec := listSpec(c, WorkflowRuns.Name, rpc.SyncParams{ListParams: req.ListParams})
	spec.NoSync = true
	spec.Filter.Parent, spec.Filter.Ref, spec.Filter.Search = string(req.PartnerIntegrationID), string(req.CandidateID), string(req.ApplicationID)
	return s.listPage(ctx, spec)
}

type workflowUpdateRequest struct {
	Timestamp                  *int64                    `json:"timestamp,omitempty" doc:"When the partner observed this state: epoch milliseconds (values below 10^11 are read as seconds). Updates older than the last applied are ignored."`
	ExternalWorkflowID         string                    `json:"external_workflow_id" required:"true" doc:"The id the partner returned from workflow.start."`
	ExternalWorkflowStatus     *string                   `json:"external_workflow_status,omitempty"`
	ExternalWorkflowProfileURL *string                   `json:"external_workflow_profile_url,omitempty" maxLength:"url"`
	Metadata                   []ashby.WorkflowMetadatum `json:"metadata,omitempty" doc:"Merged by id into the workflow's metadata."`
}

// updateMillis reads workflow.update's timestamp: Ashby's description
// types it int32, which holds seconds but not milliseconds, while
// assessment.update uses milliseconds; both are accepted.
func updateMillis(ts int64) int64 {
	if ts < 100_000_000_000 {
		return ts * 1000
	}
	return ts
}

func (s *Service) workflowUpdate(ctx context.Context, c *rpc.Call, req *workflowUpdateRequest) (rpc.Result[ashby.WorkflowRun], error) {
	id := strings.TrimSpace(req.ExternalWorkflowID)
	if id == "" {
		return rpc.Result[ashby.WorkflowRun]{}, ashby.InvalidInput("external_workflow_id", "external_workflow_id cannot be empty")
	}
	if req.ExternalWorkflowStatus == nil && req.ExternalWorkflowProfileURL == nil && req.Metadata == nil {
		return rpc.Result[ashby.WorkflowRun]{}, ashby.InvalidInput("external_workflow_status", "Give external_workflow_status, external_workflow_profile_url or metadata")
	}
	if req.ExternalWorkflowStatus != nil && strings.TrimSpace(*req.ExternalWorkflowStatus) == "" {
		return rpc.Result[ashby.WorkflowRun]{}, ashby.InvalidInput("external_workflow_status", "external_workflow_status cannot be empty")
	}
	if u := req.ExternalWorkflowProfileURL; u != nil && *u != "" {
		pu, err := url.Parse(*u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return rpc.Result[ashby.WorkflowRun]{}, ashby.InvalidInput("external_workflow_profile_url", "external_workflow_profile_url must be an http or https URL")
		}
	}
	var ts int64
	if req.Timestamp != nil {
		if *req.Timestamp <= 0 {
			return rpc.Result[ashby.WorkflowRun]{}, ashby.InvalidInput("timestamp", "timestamp must be a positive epoch time")
		}
		ts = updateMillis(*req.Timestamp)
	}
	seen := map[string]bool{}
	for i, m := range req.Metadata {
		at := fmt.Sprintf("metadata[%d]", i)
		if strings.TrimSpace(m.ID) == "" {
			return rpc.Result[ashby.WorkflowRun]{}, ashby.InvalidInput(at+".id", "Each metadata entry needs an id")
		}
		if seen[m.ID] {
			return rpc.Result[ashby.WorkflowRun]{}, ashby.InvalidInput(at+".id", "Metadata id %q is used twice", m.ID)
		}
		seen[m.ID] = true
		switch m.Value.(type) {
		case string, float64, bool, nil:
		default:
			return rpc.Result[ashby.WorkflowRun]{}, ashby.InvalidInput(at+".value", "A metadata value is a string, a number or a Boolean")
		}
	}
	org := c.Org()
	var run *ashby.WorkflowRun
	err := s.write(ctx, func(tx *store.Tx) error {
		missing := ashby.NotFound("workflow", fmt.Sprintf("Workflow %s not found", id))
		found, err := WorkflowRuns.FindOne(ctx, tx, org, store.Filter{Unique: lc(id)})
		if err != nil {
			return notFound(err, "workflow", missing.Message)
		}
		if mine, err := callerPartners(ctx, tx, c); err != nil {
			return err
		} else if len(mine) > 0 && !slices.Contains(mine, found.PartnerIntegrationID) {
			return missing
		}
		if run, err = WorkflowRuns.GetForUpdate(ctx, tx, org, found.ID); err != nil {
			return err
		}
		if ts == 0 {
			ts = max(tx.DB().Now().UnixMilli(), run.LastUpdateTimestamp)
		}
		if ts < run.LastUpdateTimestamp {
			return nil // older than what was applied: changes nothing
		}
		run.LastUpdateTimestamp = ts
		if req.ExternalWorkflowStatus != nil {
			run.Status = strings.TrimSpace(*req.ExternalWorkflowStatus)
		}
		if req.ExternalWorkflowProfileURL != nil {
			run.ProfileURL = *req.ExternalWorkflowProfileURL
		}
		for _, m := range req.Metadata {
			i := slices.IndexFunc(run.Metadata, func(x ashby.WorkflowMetadatum) bool { return x.ID == m.ID })
			if i >= 0 {
				run.Metadata[i] = m
			} else {
				run.Metadata = append(run.Metadata, m)
			}
		}
		run.UpdatedAt = s.now()
		return WorkflowRuns.Put(ctx, tx, org, run)
	})
	if err != nil {
		return rpc.Result[ashby.WorkflowRun]{}, err
	}
	return rpc.Value(run), nil
}
