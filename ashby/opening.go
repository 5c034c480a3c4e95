package ashby

// Openings (https://developers.ashbyhq.com/reference/openinginfo): a headcount slot that one or more jobs hire
// into. Its editable content lives in versions; only the latest is shown.

// Opening states.
const (
	OpeningDraft    = "Draft"
	OpeningApproved = "Approved"
	OpeningOpen     = "Open"
	OpeningClosed   = "Closed"
	OpeningFilled   = "Filled"
)

// Opening is an opening with its latest version.
type Opening struct {
	ID            string          `json:"id"`
	OpenedAt      *Time           `json:"openedAt,omitempty"`
	ClosedAt      *Time           `json:"closedAt,omitempty"`
	IsArchived    bool            `json:"isArchived"`
	ArchivedAt    *Time           `json:"archivedAt,omitempty"`
	CloseReasonID string          `json:"closeReasonId,omitempty"`
	OpeningState  string          `json:"openingState" enum:"Approved,Closed,Draft,Filled,Open"`
	LatestVersion *OpeningVersion `json:"latestVersion,omitempty"`
}

// OpeningVersion is one revision of an opening's content.
type OpeningVersion struct {
	ID              string             `json:"id"`
	Identifier      string             `json:"identifier"`
	Description     string             `json:"description"`
	AuthorID        string             `json:"authorId"`
	CreatedAt       Time               `json:"createdAt"`
	TeamID          string             `json:"teamId,omitempty"`
	JobIDs          []string           `json:"jobIds"`
	TargetHireDate  string             `json:"targetHireDate,omitempty"`
	TargetStartDate string             `json:"targetStartDate,omitempty"`
	IsBackfill      bool               `json:"isBackfill"`
	EmploymentType  string             `json:"employmentType" enum:"FullTime,PartTime,Intern,Contract,Temporary"`
	LocationIDs     []string           `json:"locationIds"`
	HiringTeam      []HiringTeamMember `json:"hiringTeam"`
	CustomFields    []CustomFieldValue `json:"customFields"`
}

// CloseReason explains why an opening was closed.
type CloseReason struct {
	ID         string `json:"id"`
	ReasonText string `json:"reasonText"`
	IsArchived bool   `json:"isArchived"`
}
