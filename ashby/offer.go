package ashby

// Offers (https://developers.ashbyhq.com/reference/offerinfo): an offer process belongs to an application and
// holds one offer; every edit of the offer is a new version, and each
// version goes through its own approval.

// Offer process statuses (offerProcess.start).
const (
	OfferProcessWaitingOnOfferCreation = "WaitingOnOfferCreation"
)

// Offer statuses (offerStatus). An offer process reports the same values,
// except that it has no WaitingOnApprovalDefinition.
const (
	OfferWaitingOnApprovalDefinition = "WaitingOnApprovalDefinition"
	OfferWaitingOnApprovalStart      = "WaitingOnApprovalStart"
	OfferWaitingOnOfferApproval      = "WaitingOnOfferApproval"
	OfferWaitingOnCandidateResponse  = "WaitingOnCandidateResponse"
	OfferCandidateAccepted           = "CandidateAccepted"
	OfferCandidateRejected           = "CandidateRejected"
	OfferCancelled                   = "OfferCancelled"
)

// OfferStatuses lists every offerStatus value.
var OfferStatuses = []string{OfferWaitingOnApprovalStart, OfferWaitingOnOfferApproval, OfferWaitingOnApprovalDefinition,
	OfferWaitingOnCandidateResponse, OfferCandidateRejected, OfferCandidateAccepted, OfferCancelled}

// Offer acceptance statuses (acceptanceStatus).
const (
	AcceptanceCreated           = "Created"
	AcceptancePending           = "Pending"
	AcceptanceWaitingOnResponse = "WaitingOnResponse"
	AcceptanceAccepted          = "Accepted"
	AcceptanceDeclined          = "Declined"
	AcceptanceCancelled         = "Cancelled"
)

// Approval statuses of an offer version (approvalStatus; null when the
// version needs no approval or its approval has not been submitted).
const (
	ApprovalApproved           = "Approved"
	ApprovalWaitingOnApprovals = "WaitingOnApprovals"
	ApprovalDeclined           = "Declined"
)

// OfferProcess is offerProcess.start's result.
type OfferProcess struct {
	ID            string `json:"id"`
	ApplicationID string `json:"applicationId"`
	Status        string `json:"status" enum:"WaitingOnOfferCreation,WaitingOnApprovalStart,WaitingOnOfferApproval,WaitingOnCandidateResponse,CandidateAccepted,CandidateRejected,OfferCancelled"`
}

// OfferForm is offer.start's result: the form an offer is created with.
type OfferForm struct {
	ID             string         `json:"id"`
	FormDefinition FormDefinition `json:"formDefinition"`
}

// Salary is an offer version's salary.
type Salary struct {
	CurrencyCode string  `json:"currencyCode"`
	Value        float64 `json:"value"`
}

// OfferVersion is one revision of an offer.
type OfferVersion struct {
	ID           string             `json:"id"`
	StartDate    *Time              `json:"startDate,omitempty"`
	Salary       *Salary            `json:"salary,omitempty"`
	CreatedAt    Time               `json:"createdAt"`
	OpeningID    string             `json:"openingId,omitempty"`
	CustomFields []CustomFieldValue `json:"customFields"`
	FileHandles  []FileHandle       `json:"fileHandles"`
	Author       *User              `json:"author,omitempty"`
	// ApprovalStatus is null while no approval is under way or needed.
	ApprovalStatus *string `json:"approvalStatus" enum:"Approved,WaitingOnApprovals,Declined"`
}

// Offer is an offer made to a candidate for an application. Versions and
// FormDefinition are filled by offer.info and events, not by offer.list.
type Offer struct {
	ID               string          `json:"id"`
	DecidedAt        *Time           `json:"decidedAt,omitempty"`
	ApplicationID    string          `json:"applicationId"`
	AcceptanceStatus string          `json:"acceptanceStatus" enum:"Accepted,Declined,Pending,Created,Cancelled,WaitingOnResponse"`
	OfferStatus      string          `json:"offerStatus" enum:"WaitingOnApprovalStart,WaitingOnOfferApproval,WaitingOnApprovalDefinition,WaitingOnCandidateResponse,CandidateRejected,CandidateAccepted,OfferCancelled"`
	LatestVersion    *OfferVersion   `json:"latestVersion,omitempty"`
	Versions         []OfferVersion  `json:"versions,omitempty"`
	FormDefinition   *FormDefinition `json:"formDefinition,omitempty"`
}
