package ashby

import "encoding/xml"

// Partner integrations (https://developers.ashbyhq.com/docs/dedicated-partner-job-feeds,
// https://developers.ashbyhq.com/docs/creating-an-assessments-integration). Ashby configures partners in
// its web app; Ashlar's extension endpoints return these objects. Field
// names follow Ashby's conventions for Ashlar's own objects (camelCase);
// the partner-hosted endpoints Ashlar calls keep Ashby's partner wire
// names (snake_case), see partner/ and docs/partners.md.

// PartnerIntegration is an organization's connection to an assessment or
// workflow partner: where Ashlar calls it and with which key, and which
// API key the partner calls back with. The partner's key is never
// returned (only HasPartnerKey).
type PartnerIntegration struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// BaseURL is where the partner hosts its endpoints: Ashlar POSTs to
	// BaseURL + "/assessment.start" and so on.
	BaseURL string `json:"baseUrl"`
	// Enabled is the organization's opt-in: a disabled integration is
	// never called, and stage triggers that use it do nothing.
	Enabled bool `json:"enabled"`
	// Assessments and Workflows say which frameworks the partner serves.
	Assessments bool `json:"assessments"`
	Workflows   bool `json:"workflows"`
	// APIKeyID is the Ashlar API key the partner calls back with, if the
	// integration has one: calls made with it reach only this
	// integration's assessments and workflows.
	APIKeyID      string `json:"apiKeyId,omitempty"`
	HasPartnerKey bool   `json:"hasPartnerKey"`
	// Sync state of the partner's assessment types and custom fields.
	AssessmentTypesSyncedAt *Time  `json:"assessmentTypesSyncedAt,omitempty"`
	CustomFieldsSyncedAt    *Time  `json:"customFieldsSyncedAt,omitempty"`
	CustomFieldsSupported   bool   `json:"customFieldsSupported"`
	LastSyncError           string `json:"lastSyncError,omitempty"`
	CreatedAt               Time   `json:"createdAt"`
	UpdatedAt               Time   `json:"updatedAt"`
	// APIKey is the secret of a key created with the integration
	// (createApiKey): returned once, by partnerIntegration.create, never
	// stored in the document.
	APIKey string `json:"apiKey,omitempty"`
}

// AssessmentType is an assessment a partner offers (its assessment.list),
// as Ashlar caches it.
type AssessmentType struct {
	ID                   string `json:"id"`
	PartnerIntegrationID string `json:"partnerIntegrationId"`
	// AssessmentTypeID is the partner's assessment_type_id.
	AssessmentTypeID string `json:"assessmentTypeId"`
	Name             string `json:"name"`
	Description      string `json:"description"`
	// IsArchived is set when the partner no longer lists the type.
	IsArchived bool `json:"isArchived"`
	SyncedAt   Time `json:"syncedAt"`
}

// PartnerFieldValue is one allowed value of a partner's select field.
type PartnerFieldValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// PartnerCustomField is a field a partner asks Ashby to fill in when it
// starts an assessment (its customFields.fetch); values go in
// assessment.start's additional_fields.
type PartnerCustomField struct {
	ID             string              `json:"id"`
	Name           string              `json:"name"`
	Type           string              `json:"type" enum:"String,Date,DateRange,Number,ValueSelect,MultiValueSelect,Boolean,LongText,Email,Phone,Score,SocialLink,Url,Currency,Location"`
	PossibleValues []PartnerFieldValue `json:"possibleValues,omitempty"`
	IsRequired     bool                `json:"isRequired"`
}

// PartnerCustomFields is a partner's field list as last fetched.
type PartnerCustomFields struct {
	ID                   string               `json:"id"` // the integration's id
	PartnerIntegrationID string               `json:"partnerIntegrationId"`
	Fields               []PartnerCustomField `json:"fields"`
	SyncedAt             Time                 `json:"syncedAt"`
}

// When a started assessment is cancelled with the partner.
const (
	AssessmentCancelOnArchive   = "Archive"   // the application is archived
	AssessmentCancelOnStageExit = "StageExit" // the application leaves the stage (archiving included)
	AssessmentCancelOnNever     = "Never"
)

// AssessmentStageTrigger starts an assessment whenever an application
// enters a stage.
type AssessmentStageTrigger struct {
	ID                   string         `json:"id"`
	InterviewStageID     string         `json:"interviewStageId"`
	InterviewPlanID      string         `json:"interviewPlanId"`
	PartnerIntegrationID string         `json:"partnerIntegrationId"`
	AssessmentTypeID     string         `json:"assessmentTypeId"`
	AssessmentName       string         `json:"assessmentName"`
	AdditionalFields     map[string]any `json:"additionalFields"`
	CancelOn             string         `json:"cancelOn" enum:"Archive,StageExit,Never"`
	CreatedAt            Time           `json:"createdAt"`
	UpdatedAt            Time           `json:"updatedAt"`
}

// Assessment start statuses: what became of Ashlar's assessment.start call.
const (
	AssessmentStartPending         = "Pending"         // queued or being retried
	AssessmentStartStarted         = "Started"         // the partner returned an assessment_id
	AssessmentStartAlreadyAssessed = "AlreadyAssessed" // 409: the candidate is already being assessed
	AssessmentStartRejected        = "Rejected"        // 422: the partner's message says why
	AssessmentStartFailed          = "Failed"          // refused or unreachable; retries exhausted
	AssessmentStartCancelled       = "Cancelled"       // cancelled before it was sent
)

// Cancellation statuses of a started assessment.
const (
	AssessmentCancelRequested    = "Requested"    // waiting for the start call in flight to finish
	AssessmentCancelPending      = "Pending"      // assessment.cancel queued or being retried
	AssessmentCancelDone         = "Cancelled"    // the partner confirmed
	AssessmentCancelFailed       = "Failed"       // the partner refused or could not be reached
	AssessmentCancelNotSupported = "NotSupported" // the partner has no assessment.cancel (404)
	AssessmentCancelSkipped      = "Skipped"      // the assessment had ended before the cancel went out
)

// Assessment start triggers.
const (
	AssessmentTriggerStageEntry = "StageEntry"
	AssessmentTriggerManual     = "Manual"
)

// AssessmentStart is one assessment.start Ashlar makes for an
// application: its id is the idempotency key the partner sees on every
// attempt, and the id of the Assessment it creates.
type AssessmentStart struct {
	ID                   string `json:"id"`
	PartnerIntegrationID string `json:"partnerIntegrationId"`
	AssessmentTypeID     string `json:"assessmentTypeId"`
	AssessmentName       string `json:"assessmentName"`
	CandidateID          string `json:"candidateId"`
	ApplicationID        string `json:"applicationId"`
	JobID                string `json:"jobId"`
	InterviewStageID     string `json:"interviewStageId,omitempty"`
	// ApplicationHistoryID is the stage entry that triggered it.
	ApplicationHistoryID string `json:"applicationHistoryId,omitempty"`
	StageTriggerID       string `json:"stageTriggerId,omitempty"`
	Trigger              string `json:"trigger" enum:"StageEntry,Manual"`
	CancelOn             string `json:"cancelOn" enum:"Archive,StageExit,Never"`
	Status               string `json:"status" enum:"Pending,Started,AlreadyAssessed,Rejected,Failed,Cancelled"`
	// Message is the partner's 422 message, or why the start failed.
	Message string `json:"message,omitempty"`
	// AssessmentID is the partner's assessment_id once started.
	AssessmentID  string `json:"assessmentId,omitempty"`
	CancelStatus  string `json:"cancelStatus,omitempty" enum:"Requested,Pending,Cancelled,Failed,NotSupported,Skipped"`
	CancelMessage string `json:"cancelMessage,omitempty"`
	StartedAt     *Time  `json:"startedAt,omitempty"`
	CreatedAt     Time   `json:"createdAt"`
	UpdatedAt     Time   `json:"updatedAt"`
	// Assessment is the assessment as the partner reports it (read-time
	// join; never stored here).
	Assessment *Assessment `json:"assessment,omitempty"`
}

// WorkflowField is a field of a partner's workflow template (workflow.info).
type WorkflowField struct {
	ID               string                `json:"id"`
	Title            string                `json:"title"`
	Description      string                `json:"description,omitempty"`
	Type             string                `json:"type"`
	IsRequired       bool                  `json:"isRequired"`
	SelectableValues []WorkflowSelectValue `json:"selectableValues,omitempty"`
}

// WorkflowSelectValue is an allowed value of a workflow field.
type WorkflowSelectValue struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// WorkflowTemplate is a workflow a partner offers (workflow.list, and
// workflow.info with its fields).
type WorkflowTemplate struct {
	ExternalWorkflowTemplateID string          `json:"externalWorkflowTemplateId"`
	Name                       string          `json:"name"`
	Description                string          `json:"description"`
	Fields                     []WorkflowField `json:"fields,omitempty"`
}

// WorkflowValue is a field value a workflow was started with.
type WorkflowValue struct {
	FieldID string `json:"fieldId"`
	Value   string `json:"value" maxLength:"text"`
}

// WorkflowMetadatum is a piece of progress a partner reports in
// workflow.update.
type WorkflowMetadatum struct {
	ID          string `json:"id"`
	Value       any    `json:"value"`
	Type        string `json:"type,omitempty"`
	Label       string `json:"label,omitempty"`
	Description string `json:"description,omitempty" maxLength:"text"`
}

// WorkflowRun is a workflow started with a partner and its progress.
type WorkflowRun struct {
	ID                         string `json:"id"`
	PartnerIntegrationID       string `json:"partnerIntegrationId"`
	ExternalWorkflowTemplateID string `json:"externalWorkflowTemplateId"`
	TemplateName               string `json:"templateName"`
	// ExternalWorkflowID is the partner's id (workflow.start's results.id),
	// which workflow.update names.
	ExternalWorkflowID string `json:"externalWorkflowId"`
	// Status is external_workflow_status as last reported ("Started"
	// until the first update).
	Status              string              `json:"status"`
	ProfileURL          string              `json:"profileUrl,omitempty"`
	Metadata            []WorkflowMetadatum `json:"metadata"`
	Values              []WorkflowValue     `json:"values"`
	CandidateID         string              `json:"candidateId,omitempty"`
	ApplicationID       string              `json:"applicationId,omitempty"`
	StartedByUserID     string              `json:"startedByUserId,omitempty"`
	LastUpdateTimestamp int64               `json:"lastUpdateTimestamp"`
	CreatedAt           Time                `json:"createdAt"`
	UpdatedAt           Time                `json:"updatedAt"`
}

// JobFeed is a job-distribution partner's dedicated feed (https://developers.ashbyhq.com/docs/dedicated-partner-job-feeds),
// set up by the server's operator, as an organization sees it.
type JobFeed struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Title     string `json:"title"`
	OptedIn   bool   `json:"optedIn"`
	OptedInAt *Time  `json:"optedInAt,omitempty"`
}

// FeedDocument is a partner job feed: every published posting of every
// organization that opted in, as JSON ({"jobs": […]}) or XML
// (<jobs><job>…</job></jobs>) with identical content.
type FeedDocument struct {
	XMLName xml.Name  `json:"-" xml:"jobs"`
	Jobs    []FeedJob `json:"jobs" xml:"job"`
}

// FeedJob is one posting in a partner feed (the schema of https://developers.ashbyhq.com/docs/dedicated-partner-job-feeds).
type FeedJob struct {
	ID                string                 `json:"id" xml:"id"`
	OrganizationID    string                 `json:"organizationId" xml:"organizationId"`
	OrganizationName  string                 `json:"organizationName" xml:"organizationName"`
	Title             string                 `json:"title" xml:"title"`
	DepartmentName    string                 `json:"departmentName" xml:"departmentName"`
	TeamName          string                 `json:"teamName,omitempty" xml:"teamName,omitempty"`
	DescriptionPlain  CDATA                  `json:"descriptionPlain" xml:"descriptionPlain"`
	DescriptionHTML   CDATA                  `json:"descriptionHtml" xml:"descriptionHtml"`
	EmploymentType    string                 `json:"employmentType" xml:"employmentType"`
	ExternalLink      string                 `json:"externalLink" xml:"externalLink"`
	UpdatedAt         string                 `json:"updatedAt" xml:"updatedAt"`
	PublishedAt       string                 `json:"publishedAt" xml:"publishedAt"`
	Locations         []FeedLocation         `json:"locations" xml:"locations>location"`
	CompensationTiers []FeedCompensationTier `json:"compensationTiers,omitempty" xml:"compensationTiers>compensationTier,omitempty"`
}

// FeedLocation is a posting's location (a schema.org Place).
type FeedLocation struct {
	LocationName      string       `json:"locationName" xml:"locationName"`
	Address           *FeedAddress `json:"address,omitempty" xml:"address,omitempty"`
	IsRemote          bool         `json:"isRemote" xml:"isRemote"`
	IsPrimaryLocation bool         `json:"isPrimaryLocation" xml:"isPrimaryLocation"`
}

// FeedAddress is a location's postal address.
type FeedAddress struct {
	PostalAddress FeedPostalAddress `json:"postalAddress" xml:"postalAddress"`
}

// FeedPostalAddress is a schema.org PostalAddress.
type FeedPostalAddress struct {
	AddressLocality string `json:"addressLocality,omitempty" xml:"addressLocality,omitempty"`
	AddressRegion   string `json:"addressRegion,omitempty" xml:"addressRegion,omitempty"`
	AddressCountry  string `json:"addressCountry,omitempty" xml:"addressCountry,omitempty"`
	PostalCode      string `json:"postalCode,omitempty" xml:"postalCode,omitempty"`
	StreetAddress   string `json:"streetAddress,omitempty" xml:"streetAddress,omitempty"`
}

// FeedCompensationTier is a compensation tier in a feed.
type FeedCompensationTier struct {
	ID                    string                      `json:"id" xml:"id"`
	Title                 string                      `json:"title,omitempty" xml:"title,omitempty"`
	AdditionalInformation string                      `json:"additionalInformation,omitempty" xml:"additionalInformation,omitempty"`
	TierSummary           string                      `json:"tierSummary" xml:"tierSummary"`
	Components            []FeedCompensationComponent `json:"components" xml:"components>component"`
}

// FeedCompensationComponent is one part of a compensation tier.
type FeedCompensationComponent struct {
	ID               string   `json:"id,omitempty" xml:"id,omitempty"`
	CompensationType string   `json:"compensationType" xml:"compensationType"`
	Interval         string   `json:"interval" xml:"interval"`
	CurrencyCode     string   `json:"currencyCode,omitempty" xml:"currencyCode,omitempty"`
	Label            string   `json:"label,omitempty" xml:"label,omitempty"`
	MinValue         *float64 `json:"minValue,omitempty" xml:"minValue,omitempty"`
	MaxValue         *float64 `json:"maxValue,omitempty" xml:"maxValue,omitempty"`
	Summary          string   `json:"summary" xml:"summary"`
}

// CDATA is text written as a CDATA section in XML (descriptions hold
// HTML, which reads better unescaped) and as a plain string in JSON.
type CDATA string

// MarshalXML writes the text as one CDATA section (encoding/xml splits
// a "]]>" inside it).
func (c CDATA) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return e.EncodeElement(struct {
		S string `xml:",cdata"`
	}{string(c)}, start)
}

// UnmarshalXML reads the element's text, CDATA or not.
func (c *CDATA) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var s string
	if err := d.DecodeElement(&s, &start); err != nil {
		return err
	}
	*c = CDATA(s)
	return nil
}
