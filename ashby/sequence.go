package ashby

// Wire types of sourcing sequences: email senders, sequence templates and
// candidates' sequences (https://developers.ashbyhq.com/reference/sequencelist; docs/sequences.md). Ashby
// documents the top-level fields of templates and sequences, the sender
// types and the NotStarted status; the stage shapes, the other statuses
// and startResult are Ashlar's, written down in docs/sequences.md.

// Email sender types (emailSender.list). Sequences accept all but NoReply.
const (
	SenderPrimary           = "Primary"
	SenderPersonalAlias     = "PersonalAlias"
	SenderOrganizationAlias = "OrganizationAlias"
	SenderNoReply           = "NoReply"
)

// EmailSender is an address email can be sent from.
type EmailSender struct {
	Email       string `json:"email"`
	DisplayName string `json:"displayName"`
	Type        string `json:"type" enum:"Primary,PersonalAlias,OrganizationAlias,NoReply"`
}

// SequenceTemplate is a reusable sourcing sequence: its cadence, without
// message content.
type SequenceTemplate struct {
	ID                    string                  `json:"id"`
	Title                 string                  `json:"title"`
	IsArchived            bool                    `json:"isArchived"`
	UnsubscribeLinkActive bool                    `json:"unsubscribeLinkActive"`
	Stages                []SequenceTemplateStage `json:"stages"`
	CreatedAt             Time                    `json:"createdAt"`
	UpdatedAt             Time                    `json:"updatedAt"`
}

// Stage types. Sequences have email stages only.
const StageTypeEmail = "Email"

// SequenceTemplateStage is one step of a template's cadence.
type SequenceTemplateStage struct {
	ID          string `json:"id"`
	StageNumber int    `json:"stageNumber"`
	Type        string `json:"type" enum:"Email"`
	// DelayDays is how many days after the previous stage (the first:
	// after the sequence starts) this stage is sent.
	DelayDays int `json:"delayDays"`
}

// Sequence statuses.
const (
	SequenceNotStarted = "NotStarted"
	SequenceActive     = "Active"
	SequenceCompleted  = "Completed"
	SequenceCancelled  = "Cancelled"
)

// Sequence stage statuses.
const (
	StageNotStarted = "NotStarted"
	StageScheduled  = "Scheduled"
	StageDue        = "Due"
	StageCancelled  = "Cancelled"
)

// Sequence is a candidate's enrollment in a sequence template.
type Sequence struct {
	ID                 string          `json:"id"`
	CandidateID        string          `json:"candidateId"`
	ApplicationID      *string         `json:"applicationId"`
	SequenceTemplateID string          `json:"sequenceTemplateId"`
	Status             string          `json:"status" enum:"NotStarted,Active,Completed,Cancelled"`
	Stages             []SequenceStage `json:"stages"`
	From               EmailSender     `json:"from"`
	CreatedAt          Time            `json:"createdAt"`
	UpdatedAt          Time            `json:"updatedAt"`
	StartedAt          *Time           `json:"startedAt"`
	CompletedAt        *Time           `json:"completedAt"`
	CancelledAt        *Time           `json:"cancelledAt"`
	CancelReason       *string         `json:"cancelReason"`
	// StartResult is returned by sequence.add with start and by
	// sequence.start: whether the start went through, and why not.
	StartResult *SequenceStartResult `json:"startResult,omitempty"`
}

// SequenceStage is one email of a sequence, with its content (editable
// until the sequence starts) and its schedule.
type SequenceStage struct {
	ID                      string `json:"id"`
	SequenceTemplateStageID string `json:"sequenceTemplateStageId"`
	StageNumber             int    `json:"stageNumber"`
	Type                    string `json:"type" enum:"Email"`
	DelayDays               int    `json:"delayDays"`
	Subject                 string `json:"subject"`
	BodyHTML                string `json:"bodyHtml"`
	Status                  string `json:"status" enum:"NotStarted,Scheduled,Due,Cancelled"`
	ScheduledAt             *Time  `json:"scheduledAt"`
}

// Start results.
const (
	StartStarted = "Started"
	StartBlocked = "Blocked"
)

// SequenceStartResult says whether a start went through.
type SequenceStartResult struct {
	Status string          `json:"status" enum:"Started,Blocked"`
	Errors []SequenceIssue `json:"errors"`
}

// SequenceIssue is a reason a sequence cannot start.
type SequenceIssue struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	StageID string `json:"stageId,omitempty"`
}
