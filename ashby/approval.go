package ashby

// Approvals (https://developers.ashbyhq.com/reference/approvallist): an approval belongs to an entity (an offer
// version) and has ordered steps, each needing a number of its approvers.

// Approver decisions.
const (
	DecisionApprove = "approve"
	DecisionReject  = "reject"
	DecisionPending = "pending"
)

// Approval is approval.list's item.
type Approval struct {
	ID                   string         `json:"id"`
	ApprovalDefinitionID string         `json:"approvalDefinitionId"`
	EntityID             string         `json:"entityId"`
	EntityType           string         `json:"entityType" enum:"offer,job,opening"`
	CreatedAt            Time           `json:"createdAt"`
	SubmittedAt          *Time          `json:"submittedAt,omitempty"`
	CompletedAt          *Time          `json:"completedAt,omitempty"`
	Steps                []ApprovalStep `json:"steps"`
}

// ApprovalStep is one step of an approval.
type ApprovalStep struct {
	ID                string     `json:"id"`
	ApprovalsRequired int        `json:"approvalsRequired"`
	CompletedAt       *Time      `json:"completedAt,omitempty"`
	Approvers         []Approver `json:"approvers"`
}

// Approver is a user asked to approve a step, with their decision.
type Approver struct {
	ID          string `json:"id"`
	UserID      string `json:"userId"`
	Decision    string `json:"decision" enum:"approve,reject,pending"`
	DecidedAt   *Time  `json:"decidedAt,omitempty"`
	RequestedAt *Time  `json:"requestedAt,omitempty"`
}

// ApprovalDefinition is approvalDefinition.update's result: who must
// approve an entity, step by step. No steps means no approval is needed.
type ApprovalDefinition struct {
	ID                      string                   `json:"id"`
	EntityType              string                   `json:"entityType" enum:"Offer"`
	EntityID                string                   `json:"entityId"`
	ApprovalStepDefinitions []ApprovalStepDefinition `json:"approvalStepDefinitions"`
}

// ApprovalStepDefinition is one step of an approval definition.
type ApprovalStepDefinition struct {
	ApprovalsRequired int                `json:"approvalsRequired"`
	Approvers         []ApproverSelector `json:"approvers"`
}

// ApproverSelector names who may approve a step; Ashby's API knows only
// individual users.
type ApproverSelector struct {
	UserID string `json:"userId"`
	Type   string `json:"type" enum:"user"`
}
