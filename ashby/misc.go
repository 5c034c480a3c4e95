package ashby

// Wire types of the smaller categories: projects, client info, fraud
// checks, email messages, surveys, referral forms, communication
// templates, criteria evaluations, assessments and reports (https://developers.ashbyhq.com/reference,
// https://developers.ashbyhq.com/docs/creating-an-assessments-integration).

// Project is a talent pool project (https://developers.ashbyhq.com/reference/projectinfo).
type Project struct {
	ID                 string             `json:"id"`
	Title              string             `json:"title"`
	Description        string             `json:"description,omitempty"`
	IsArchived         bool               `json:"isArchived"`
	Confidential       bool               `json:"confidential"`
	AuthorID           string             `json:"authorId,omitempty"`
	CreatedAt          Time               `json:"createdAt"`
	CustomFieldEntries []CustomFieldValue `json:"customFieldEntries"`
}

// ClientInfo records the device a candidate acted from
// (candidate.listClientInfo).
type ClientInfo struct {
	ID                string `json:"id"`
	IPAddress         string `json:"ipAddress"`
	UserAgent         string `json:"userAgent,omitempty"`
	RelatedEntityType string `json:"relatedEntityType" enum:"application,blocked_application_submission,meeting_availability_request"`
	RelatedEntityID   string `json:"relatedEntityId"`
	CandidateID       string `json:"candidateId"`
	CreatedAt         Time   `json:"createdAt"`
}

// FraudCheck is one fraud review of a candidate (candidate.listFraudChecks).
type FraudCheck struct {
	ID            string        `json:"id"`
	CandidateID   string        `json:"candidateId"`
	ApplicationID *string       `json:"applicationId"`
	CreatedAt     Time          `json:"createdAt"`
	FraudSignals  []FraudSignal `json:"fraudSignals"`
}

// FraudSignal is one finding of a fraud check.
type FraudSignal struct {
	ID          string `json:"id"`
	Category    string `json:"category"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Value       string `json:"value,omitempty"`
}

// Candidate fraud statuses. The first three are what a client may set;
// the others are set by Ashby's own checks.
const (
	FraudFraudulent       = "Fraudulent"
	FraudNotFraudulent    = "NotFraudulent"
	FraudUnsure           = "Unsure"
	FraudUnreviewed       = "Unreviewed"
	FraudPassedFraudCheck = "PassedFraudCheck"
)

// EmailMessage is an email recorded on a candidate (candidate.addEmailMessage).
type EmailMessage struct {
	ID                   string  `json:"id"`
	CandidateID          string  `json:"candidateId"`
	EmailProviderEmailID string  `json:"emailProviderEmailId"`
	Subject              string  `json:"subject"`
	From                 string  `json:"from"`
	To                   string  `json:"to"`
	Body                 *string `json:"body"`
	SentAt               Time    `json:"sentAt"`
	CC                   *string `json:"cc"`
	MessageURL           *string `json:"messageUrl"`
	MessageIDHeader      *string `json:"messageIdHeader"`
	ThreadID             string  `json:"threadId"`
	IsPrivate            bool    `json:"isPrivate"`
	UserIsSender         bool    `json:"userIsSender"`
}

// Survey types.
const (
	SurveyCandidateDataConsent = "CandidateDataConsent"
	SurveyCandidateExperience  = "CandidateExperience"
	SurveyDiversity            = "Diversity"
	SurveyEEOC                 = "EEOC"
	SurveyQuestionnaire        = "Questionnaire"
)

// SurveyTypes lists every survey type.
var SurveyTypes = []string{SurveyCandidateDataConsent, SurveyCandidateExperience, SurveyDiversity, SurveyEEOC, SurveyQuestionnaire}

// SurveyFormDefinition is a survey form (https://developers.ashbyhq.com/reference/surveyformdefinitionlist).
type SurveyFormDefinition struct {
	ID             string         `json:"id"`
	OrganizationID string         `json:"organizationId"`
	Title          string         `json:"title"`
	IsArchived     bool           `json:"isArchived"`
	IsDefaultForm  bool           `json:"isDefaultForm"`
	FormDefinition FormDefinition `json:"formDefinition"`
	SurveyType     string         `json:"surveyType,omitempty" enum:"CandidateDataConsent,CandidateExperience,Diversity,EEOC,Questionnaire"`
}

// SurveyRequest asks a candidate to answer a survey; SurveyURL is where
// they answer it.
type SurveyRequest struct {
	ID                     string `json:"id"`
	CandidateID            string `json:"candidateId"`
	ApplicationID          string `json:"applicationId"`
	SurveyFormDefinitionID string `json:"surveyFormDefinitionId"`
	SurveyURL              string `json:"surveyUrl"`
}

// SurveySubmission is a candidate's answers to a survey.
type SurveySubmission struct {
	ID                     string          `json:"id"`
	SurveyFormDefinitionID *string         `json:"surveyFormDefinitionId"`
	SubmittedAt            Time            `json:"submittedAt"`
	CandidateID            string          `json:"candidateId"`
	ApplicationID          string          `json:"applicationId,omitempty"`
	SurveyType             string          `json:"surveyType" enum:"CandidateDataConsent,CandidateExperience,Diversity,EEOC,Questionnaire"`
	FormDefinition         *FormDefinition `json:"formDefinition,omitempty"`
	SubmittedValues        map[string]any  `json:"submittedValues,omitempty"`
}

// ReferralForm is the organization's referral form (referralForm.info).
type ReferralForm struct {
	ID             string         `json:"id"`
	OrganizationID string         `json:"organizationId"`
	Title          string         `json:"title"`
	IsArchived     bool           `json:"isArchived"`
	IsDefaultForm  bool           `json:"isDefaultForm"`
	FormDefinition FormDefinition `json:"formDefinition"`
}

// CommunicationTemplate is an email or message template.
type CommunicationTemplate struct {
	ID            string   `json:"id"`
	CreatedAt     Time     `json:"createdAt"`
	UpdatedAt     Time     `json:"updatedAt"`
	Title         string   `json:"title"`
	IntendedTypes []string `json:"intendedTypes" enum:"email,inMail,linkedInConnection"`
}

// CriteriaEvaluation is an AI application review result
// (application.listCriteriaEvaluations).
type CriteriaEvaluation struct {
	ID            string    `json:"id"`
	Criterion     Criterion `json:"criterion"`
	Status        string    `json:"status" enum:"Pending,Completed,Failed,Skipped"`
	Outcome       *string   `json:"outcome"`
	Reasoning     *string   `json:"reasoning"`
	SkipReason    *string   `json:"skipReason"`
	OutcomeNumber *float64  `json:"outcomeNumber"`
	EvaluatedAt   *Time     `json:"evaluatedAt"`
}

// Criterion is what a criteria evaluation judged.
type Criterion struct {
	ID                          string  `json:"id"`
	Title                       string  `json:"title"`
	Type                        string  `json:"type" enum:"ResumePrompt,DidAnswerApplicationFormQuestion,SimilarityToAiGeneratedAnswer"`
	Prompt                      string  `json:"prompt"`
	ApplicationFormDefinitionID *string `json:"applicationFormDefinitionId,omitempty"`
	ApplicationFormFieldPath    *string `json:"applicationFormFieldPath,omitempty"`
}

// Datum types of the assessments partner framework (https://developers.ashbyhq.com/docs/creating-an-assessments-integration).
const (
	DatumNumericScore           = "numeric_score"
	DatumNumericDurationMinutes = "numeric_duration_minutes"
	DatumURL                    = "url"
	DatumString                 = "string"
	DatumBooleanSuccess         = "boolean_success"
)

// Datum is one value an assessment partner reports: a status, a result,
// a profile URL or a piece of metadata.
type Datum struct {
	Identifier  string `json:"identifier" required:"true"`
	Label       string `json:"label" required:"true"`
	Description string `json:"description,omitempty" maxLength:"text"`
	Type        string `json:"type" required:"true" enum:"numeric_score,numeric_duration_minutes,url,string,boolean_success"`
	Value       any    `json:"value"`
}

// CompletedAssessment is assessment.addCompletedToCandidate's result.
type CompletedAssessment struct {
	ApplicationID    string  `json:"applicationId,omitempty"`
	AssessmentID     string  `json:"assessmentId"`
	AssessmentName   string  `json:"assessmentName"`
	AssessmentTypeID string  `json:"assessmentTypeId"`
	CandidateID      string  `json:"candidateId"`
	Metadata         []Datum `json:"metadata"`
	Result           *Datum  `json:"result,omitempty"`
}

// Assessment statuses Ashlar derives from partner updates.
const (
	AssessmentNotStarted = "NotStarted"
	AssessmentStarted    = "Started"
	AssessmentInProgress = "InProgress"
	AssessmentCompleted  = "Completed"
	AssessmentCancelled  = "Cancelled"
)

// Assessment is a partner assessment of a candidate as Ashlar stores it.
// Ashby has no read endpoint for these; Ashlar's candidate.listAssessments
// extension returns them.
type Assessment struct {
	ID                   string  `json:"id"`
	AssessmentID         string  `json:"assessmentId"`
	AssessmentTypeID     string  `json:"assessmentTypeId,omitempty"`
	AssessmentName       string  `json:"assessmentName,omitempty"`
	PartnerID            string  `json:"partnerId,omitempty"`
	CandidateID          string  `json:"candidateId"`
	ApplicationID        string  `json:"applicationId,omitempty"`
	Status               string  `json:"status" enum:"NotStarted,Started,InProgress,Completed,Cancelled"`
	AssessmentStatus     *Datum  `json:"assessmentStatus,omitempty"`
	AssessmentProfileURL *Datum  `json:"assessmentProfileUrl,omitempty"`
	AssessmentResult     *Datum  `json:"assessmentResult,omitempty"`
	CancelledReason      *Datum  `json:"cancelledReason,omitempty"`
	Metadata             []Datum `json:"metadata"`
	StartedAt            *Time   `json:"startedAt,omitempty"`
	CompletedAt          *Time   `json:"completedAt,omitempty"`
	CancelledAt          *Time   `json:"cancelledAt,omitempty"`
	// LastUpdateTimestamp is the partner's timestamp (epoch ms) of the
	// latest update applied; older updates are ignored.
	LastUpdateTimestamp int64 `json:"lastUpdateTimestamp"`
	CreatedAt           Time  `json:"createdAt"`
	UpdatedAt           Time  `json:"updatedAt"`
}

// Report statuses.
const (
	ReportComplete   = "complete"
	ReportFailed     = "failed"
	ReportInProgress = "in_progress"
)

// ReportResult is report.generate's and report.synchronous's result.
type ReportResult struct {
	RequestID     string      `json:"requestId"`
	Status        string      `json:"status" enum:"complete,failed,in_progress"`
	ReportData    *ReportData `json:"reportData"`
	FailureReason *string     `json:"failureReason"`
}

// ReportData is a generated report: rows of cells (strings or numbers),
// optionally starting with a header row.
type ReportData struct {
	Data        [][]any        `json:"data"`
	ColumnNames []string       `json:"columnNames"`
	Metadata    ReportMetadata `json:"metadata"`
}

// ReportMetadata describes a report's freshness.
type ReportMetadata struct {
	UpdatedAt         Time   `json:"updatedAt"`
	Title             string `json:"title"`
	ReportGeneratedAt *Time  `json:"reportGeneratedAt,omitempty"`
	CacheExpiresAt    *Time  `json:"cacheExpiresAt,omitempty"`
}

// ReportDefinition is a built-in report Ashlar can generate (the
// report.list extension).
type ReportDefinition struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	ColumnNames []string `json:"columnNames"`
}
