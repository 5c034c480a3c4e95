// Package warehouse copies an Ashby-compatible API (Ashby's own, or
// Ashlar) into a SQL database, one table per stream, for analytics: the
// "batch sync into a warehouse" pattern of Ashby's integration guide.
//
// Each stream is one list endpoint. Sync-capable lists are synced
// incrementally with their syncToken; the others are read in full on
// every run. Rows are upserted by record id with the full JSON document,
// typed columns for the main fields, the time the run saw them
// (last_seen_at), the sync token they were fetched with and the run's id.
// A stream's checkpoint (its new token) is written in the same transaction
// as its last page, so an interrupted run — even kill -9 — leaves the
// previous checkpoint, and the next run repeats the stream to the same end
// state. After a complete full pass, rows the server no longer returned
// are deleted, so that a --full run also removes what was deleted on the
// server.
package warehouse

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// ColType is a typed column's SQL type.
type ColType int

// Column types.
const (
	Text ColType = iota
	Bool
	Int
	Timestamp
	JSON
)

// Column is a typed column derived from a record's JSON.
type Column struct {
	Name string
	// Path is the dotted JSON path of the value ("candidate.id").
	Path string
	Type ColType
	// FromVariant fills the column with the stream variant's value
	// (survey type) instead of a JSON path.
	FromVariant bool
}

// Stream is one list endpoint synced into one table.
type Stream struct {
	// Name is the stream's and its table's name.
	Name string
	// Endpoint is the list endpoint ("candidate.list").
	Endpoint string
	// Params are sent with every request: they widen the list to every
	// record (archived, deactivated, every status …) for a full pass.
	Params map[string]any
	// Incremental: the list is sync-capable. A list that returns no
	// syncToken is read in full every run whatever this says.
	Incremental bool
	// VariantParam and Variants split a list that needs a parameter
	// (surveyType) into one walk per value, each with its own checkpoint.
	VariantParam string
	Variants     []string
	// Parent and ParentParam make a child stream: the list is walked once
	// per record of the parent stream's endpoint (interviewStage.list per
	// interview plan), in full every run.
	Parent      *Stream
	ParentParam string
	Columns     []Column
	// Airbyte marks the streams of Airbyte's Ashby source connector.
	Airbyte bool
	// Extension marks lists Ashby does not document (Ashlar's and later
	// additions); a server without them skips them.
	Extension bool
}

var (
	createdAt = Column{"created_at", "createdAt", Timestamp, false}
	updatedAt = Column{"updated_at", "updatedAt", Timestamp, false}
	archived  = Column{"is_archived", "isArchived", Bool, false}
	title     = Column{"title", "title", Text, false}
)

func col(name, path string, t ColType) Column { return Column{Name: name, Path: path, Type: t} }

var archivedToo = map[string]any{"includeArchived": true}

var interviewPlans = &Stream{Name: "interview_plans", Endpoint: "interviewPlan.list", Params: archivedToo, Incremental: true,
	Columns: []Column{title, archived, createdAt, updatedAt}}

// Catalog is every stream the tool knows, by name. It is the union of
// every sync-capable list of Ashby's API (and Ashlar's extensions) and the
// streams of Airbyte's Ashby source
// (https://docs.airbyte.com/integrations/sources/ashby), whose
// non-sync-capable lists (archive reasons, job postings, sources …) are
// read in full each run.
var Catalog = map[string]*Stream{}

func init() {
	for _, s := range []*Stream{
		{Name: "applications", Endpoint: "application.list", Incremental: true, Airbyte: true, Columns: []Column{
			col("candidate_id", "candidate.id", Text), col("candidate_name", "candidate.name", Text), col("job_id", "job.id", Text),
			col("job_title", "job.title", Text), col("status", "status", Text), col("current_interview_stage_id", "currentInterviewStage.id", Text),
			col("current_interview_stage", "currentInterviewStage.title", Text), col("source_id", "source.id", Text),
			col("archive_reason_id", "archiveReason.id", Text), col("archived_at", "archivedAt", Timestamp),
			col("credited_to_user_id", "creditedToUser.id", Text), createdAt, updatedAt}},
		{Name: "application_feedback", Endpoint: "applicationFeedback.list", Incremental: true, Columns: []Column{
			col("application_id", "applicationId", Text), col("interview_id", "interviewId", Text), col("interview_event_id", "interviewEventId", Text),
			col("feedback_form_definition_id", "feedbackFormDefinitionId", Text), col("submitted_by_user_id", "submittedByUser.id", Text),
			col("submitted_at", "submittedAt", Timestamp)}},
		{Name: "approvals", Endpoint: "approval.list", Incremental: true, Columns: []Column{
			col("entity_type", "entityType", Text), col("entity_id", "entityId", Text), col("approval_definition_id", "approvalDefinitionId", Text),
			createdAt, col("submitted_at", "submittedAt", Timestamp), col("completed_at", "completedAt", Timestamp)}},
		{Name: "archive_reasons", Endpoint: "archiveReason.list", Params: archivedToo, Airbyte: true, Columns: []Column{
			col("text", "text", Text), col("reason_type", "reasonType", Text), archived}},
		{Name: "candidates", Endpoint: "candidate.list", Incremental: true, Airbyte: true, Columns: []Column{
			col("name", "name", Text), col("primary_email", "primaryEmailAddress.value", Text), col("primary_phone", "primaryPhoneNumber.value", Text),
			col("company", "company", Text), col("position", "position", Text), col("school", "school", Text), col("source_id", "source.id", Text),
			col("credited_to_user_id", "creditedToUser.id", Text), col("application_ids", "applicationIds", JSON), col("tags", "tags", JSON),
			createdAt, updatedAt}},
		{Name: "candidate_tags", Endpoint: "candidateTag.list", Params: archivedToo, Incremental: true, Airbyte: true, Columns: []Column{title, archived}},
		{Name: "close_reasons", Endpoint: "closeReason.list", Params: archivedToo, Incremental: true, Columns: []Column{
			col("reason_text", "reasonText", Text), archived}},
		{Name: "custom_fields", Endpoint: "customField.list", Params: archivedToo, Incremental: true, Airbyte: true, Columns: []Column{
			title, col("object_type", "objectType", Text), col("field_type", "fieldType", Text), archived, col("is_private", "isPrivate", Bool)}},
		{Name: "departments", Endpoint: "department.list", Params: archivedToo, Incremental: true, Airbyte: true, Columns: []Column{
			col("name", "name", Text), col("parent_id", "parentId", Text), archived, createdAt, updatedAt}},
		{Name: "feedback_form_definitions", Endpoint: "feedbackFormDefinition.list", Params: archivedToo, Incremental: true, Airbyte: true, Columns: []Column{
			title, archived, col("is_default_form", "isDefaultForm", Bool)}},
		{Name: "interviews", Endpoint: "interview.list", Params: map[string]any{"includeArchived": true, "includeNonSharedInterviews": true}, Incremental: true, Columns: []Column{
			title, archived, col("is_debrief", "isDebrief", Bool), col("feedback_form_definition_id", "feedbackFormDefinitionId", Text)}},
		interviewPlans,
		{Name: "interview_schedules", Endpoint: "interviewSchedule.list", Incremental: true, Airbyte: true, Columns: []Column{
			col("application_id", "applicationId", Text), col("interview_stage_id", "interviewStageId", Text), col("status", "status", Text),
			col("scheduled_by_user_id", "scheduledBy.id", Text), col("interview_events", "interviewEvents", JSON), createdAt, updatedAt}},
		{Name: "interview_stages", Endpoint: "interviewStage.list", Parent: interviewPlans, ParentParam: "interviewPlanId", Columns: []Column{
			title, col("type", "type", Text), col("interview_plan_id", "interviewPlanId", Text), col("order_in_interview_plan", "orderInInterviewPlan", Int),
			col("interview_stage_group_id", "interviewStageGroupId", Text)}},
		{Name: "interview_stage_groups", Endpoint: "interviewStageGroup.list", Columns: []Column{title, col("order", "order", Int), col("stage_type", "stageType", Text)}},
		{Name: "interviewer_pools", Endpoint: "interviewerPool.list", Params: map[string]any{"includeArchivedPools": true, "includeArchivedTrainingStages": true},
			Incremental: true, Columns: []Column{title, archived}},
		{Name: "jobs", Endpoint: "job.list", Params: map[string]any{"status": []string{"Draft", "Open", "Closed", "Archived"}, "includeUnpublishedJobPostingsIds": true},
			Incremental: true, Airbyte: true, Columns: []Column{
				title, col("status", "status", Text), col("employment_type", "employmentType", Text), col("confidential", "confidential", Bool),
				col("department_id", "departmentId", Text), col("location_id", "locationId", Text), col("default_interview_plan_id", "defaultInterviewPlanId", Text),
				col("hiring_team", "hiringTeam", JSON), createdAt, updatedAt, col("opened_at", "openedAt", Timestamp), col("closed_at", "closedAt", Timestamp)}},
		{Name: "job_boards", Endpoint: "jobBoard.list", Columns: []Column{title, col("is_internal", "isInternal", Bool)}},
		{Name: "job_postings", Endpoint: "jobPosting.list", Airbyte: true, Columns: []Column{
			title, col("job_id", "jobId", Text), col("department_name", "departmentName", Text), col("team_name", "teamName", Text),
			col("location_name", "locationName", Text), col("employment_type", "employmentType", Text), col("is_listed", "isListed", Bool),
			col("published_date", "publishedDate", Text), col("updated_at", "updatedAt", Timestamp)}},
		{Name: "job_templates", Endpoint: "jobTemplate.list", Incremental: true, Columns: []Column{
			title, col("status", "status", Text), col("department_id", "departmentId", Text), col("location_id", "locationId", Text), createdAt, updatedAt}},
		{Name: "locations", Endpoint: "location.list", Params: archivedToo, Incremental: true, Airbyte: true, Columns: []Column{
			col("name", "name", Text), col("type", "type", Text), col("parent_location_id", "parentLocationId", Text), col("is_remote", "isRemote", Bool),
			col("workplace_type", "workplaceType", Text), archived, col("address", "address", JSON)}},
		{Name: "offers", Endpoint: "offer.list", Incremental: true, Airbyte: true, Columns: []Column{
			col("application_id", "applicationId", Text), col("acceptance_status", "acceptanceStatus", Text), col("offer_status", "offerStatus", Text),
			col("decided_at", "decidedAt", Timestamp), col("latest_version_id", "latestVersion.id", Text), col("start_date", "latestVersion.startDate", Text),
			col("latest_version", "latestVersion", JSON)}},
		{Name: "openings", Endpoint: "opening.list", Incremental: true, Columns: []Column{
			col("opening_state", "openingState", Text), archived, col("opened_at", "openedAt", Timestamp), col("closed_at", "closedAt", Timestamp),
			col("identifier", "latestVersion.identifier", Text), col("job_ids", "latestVersion.jobIds", JSON), col("latest_version", "latestVersion", JSON)}},
		{Name: "projects", Endpoint: "project.list", Incremental: true, Columns: []Column{
			title, archived, col("confidential", "confidential", Bool), col("author_id", "authorId", Text), createdAt}},
		{Name: "sequence_templates", Endpoint: "sequenceTemplate.list", Params: archivedToo, Incremental: true, Extension: true, Columns: []Column{
			title, archived, createdAt, updatedAt}},
		{Name: "sources", Endpoint: "source.list", Params: archivedToo, Airbyte: true, Columns: []Column{
			title, archived, col("source_type_id", "sourceType.id", Text), col("source_type", "sourceType.title", Text)}},
		{Name: "source_tracking_links", Endpoint: "sourceTrackingLink.list", Params: map[string]any{"includeDisabled": true}, Columns: []Column{
			col("code", "code", Text), col("enabled", "enabled", Bool), col("source_id", "sourceId", Text), col("link", "link", Text)}},
		{Name: "survey_form_definitions", Endpoint: "surveyFormDefinition.list", Incremental: true, Columns: []Column{
			title, col("survey_type", "surveyType", Text), archived, col("is_default_form", "isDefaultForm", Bool)}},
		{Name: "survey_requests", Endpoint: "surveyRequest.list", Incremental: true, VariantParam: "surveyType", Variants: []string{"CandidateExperience"},
			Columns: []Column{{Name: "survey_type", FromVariant: true}, col("candidate_id", "candidateId", Text), col("application_id", "applicationId", Text),
				col("survey_form_definition_id", "surveyFormDefinitionId", Text), col("survey_url", "surveyUrl", Text)}},
		{Name: "survey_submissions", Endpoint: "surveySubmission.list", Incremental: true, VariantParam: "surveyType", Variants: []string{"CandidateExperience", "Questionnaire"},
			Columns: []Column{{Name: "survey_type", FromVariant: true}, col("candidate_id", "candidateId", Text), col("application_id", "applicationId", Text),
				col("survey_form_definition_id", "surveyFormDefinitionId", Text), col("submitted_at", "submittedAt", Timestamp)}},
		{Name: "take_home_assignments", Endpoint: "takeHomeAssignment.list", Incremental: true, Extension: true, Columns: []Column{
			col("application_id", "applicationId", Text), col("candidate_id", "candidateId", Text), col("interview_id", "interviewId", Text),
			col("status", "status", Text), col("due_at", "dueAt", Timestamp), createdAt, updatedAt}},
		{Name: "users", Endpoint: "user.list", Params: map[string]any{"includeDeactivated": true}, Incremental: true, Airbyte: true, Columns: []Column{
			col("first_name", "firstName", Text), col("last_name", "lastName", Text), col("email", "email", Text), col("global_role", "globalRole", Text),
			col("is_enabled", "isEnabled", Bool), updatedAt}},
		{Name: "webhooks", Endpoint: "webhook.list", Incremental: true, Extension: true, Columns: []Column{
			col("webhook_type", "webhookType", Text), col("request_url", "requestUrl", Text), col("enabled", "enabled", Bool)}},
	} {
		Catalog[s.Name] = s
	}
}

// Names lists the catalog's stream names, sorted.
func Names() []string {
	var out []string
	for n := range Catalog {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Select returns the named streams (all of them for an empty list), in
// an order where a parent comes before its children.
func Select(names []string) ([]*Stream, error) {
	if len(names) == 0 {
		names = Names()
	}
	var out []*Stream
	var unknown []string
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		s, ok := Catalog[n]
		if !ok {
			unknown = append(unknown, n)
			continue
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("unknown stream %s (streams: %s)", strings.Join(unknown, ", "), strings.Join(Names(), ", "))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// checkpointKeys are the walks of a stream: one, or one per variant.
func (s *Stream) walks() []string {
	if s.VariantParam == "" {
		return []string{""}
	}
	return s.Variants
}

// key names a walk's checkpoint.
func (s *Stream) key(variant string) string {
	if variant == "" {
		return s.Name
	}
	return s.Name + "/" + variant
}

// params returns the request parameters of a walk.
func (s *Stream) params(variant string) map[string]any {
	p := map[string]any{}
	for k, v := range s.Params {
		p[k] = v
	}
	if variant != "" {
		p[s.VariantParam] = variant
	}
	return p
}
