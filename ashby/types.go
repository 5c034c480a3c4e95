package ashby

import "encoding/json"

// Shapes shared by many objects (https://developers.ashbyhq.com/reference).

// ContactInfo is an email address or phone number.
type ContactInfo struct {
	Value     string `json:"value"`
	Type      string `json:"type" enum:"Personal,Work,Other"`
	IsPrimary bool   `json:"isPrimary"`
}

// SocialLink is a candidate's profile link.
type SocialLink struct {
	Type string `json:"type" enum:"LinkedIn,GitHub,Twitter,Medium,StackOverflow,YouTube,CodePen,Website"`
	URL  string `json:"url" maxLength:"url"`
}

// FileHandle references a stored file; exchange Handle via file.info.
type FileHandle struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Handle string `json:"handle"`
}

// CustomFieldValue is a custom field's value as embedded in an object.
type CustomFieldValue struct {
	ID         string `json:"id"`
	IsPrivate  bool   `json:"isPrivate"`
	Title      string `json:"title"`
	Value      any    `json:"value"`
	ValueLabel any    `json:"valueLabel,omitempty"`
}

// PostalAddress is a schema.org-style postal address.
type PostalAddress struct {
	AddressCountry  string `json:"addressCountry,omitempty"`
	AddressRegion   string `json:"addressRegion,omitempty"`
	AddressLocality string `json:"addressLocality,omitempty"`
	PostalCode      string `json:"postalCode,omitempty"`
	StreetAddress   string `json:"streetAddress,omitempty"`
}

// Address wraps a postal address, as Ashby nests it.
type Address struct {
	PostalAddress PostalAddress `json:"postalAddress"`
}

// User is an Ashby user (a member of the hiring organization).
type User struct {
	ID           string             `json:"id"`
	FirstName    string             `json:"firstName"`
	LastName     string             `json:"lastName"`
	Email        string             `json:"email,omitempty"`
	GlobalRole   string             `json:"globalRole" enum:"Organization Admin,Elevated Access,Limited Access,External Recruiter"`
	IsEnabled    bool               `json:"isEnabled"`
	UpdatedAt    Time               `json:"updatedAt"`
	ManagerID    string             `json:"managerId,omitempty"`
	CustomFields []CustomFieldValue `json:"customFields,omitempty"`
}

// Author is the short user form on notes.
type Author struct {
	ID        string `json:"id"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Email     string `json:"email,omitempty"`
}

// HiringTeamMember is a user with a role on a job, application or opening.
type HiringTeamMember struct {
	UserID    string `json:"userId"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Email     string `json:"email"`
	Role      string `json:"role"`
}

// SourceType groups sources ("Inbound", "Outbound", …).
type SourceType struct {
	ID         string `json:"id"`
	Title      string `json:"title"`
	IsArchived bool   `json:"isArchived"`
}

// Source is where a candidate or application came from.
type Source struct {
	ID         string      `json:"id"`
	Title      string      `json:"title"`
	IsArchived bool        `json:"isArchived"`
	SourceType *SourceType `json:"sourceType,omitempty"`
}

// ArchiveReason explains why an application was archived.
type ArchiveReason struct {
	ID           string              `json:"id"`
	Text         string              `json:"text"`
	ReasonType   string              `json:"reasonType" enum:"RejectedByCandidate,RejectedByOrg,Other"`
	IsArchived   bool                `json:"isArchived"`
	CustomFields *[]CustomFieldValue `json:"customFields,omitempty"`
}

// CandidateTag labels candidates.
type CandidateTag struct {
	ID         string `json:"id"`
	Title      string `json:"title"`
	IsArchived bool   `json:"isArchived"`
}

// Department is a team in the organization (jobs' teamId).
type Department struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	ExternalName string          `json:"externalName,omitempty"`
	IsArchived   bool            `json:"isArchived"`
	ParentID     string          `json:"parentId,omitempty"`
	CreatedAt    Time            `json:"createdAt"`
	UpdatedAt    Time            `json:"updatedAt"`
	ExtraData    json.RawMessage `json:"extraData,omitempty"`
}

// Location is an office, a remote location or a region (LocationHierarchy).
type Location struct {
	ID               string          `json:"id"`
	Name             string          `json:"name"`
	ExternalName     string          `json:"externalName,omitempty"`
	IsArchived       bool            `json:"isArchived"`
	Address          *Address        `json:"address,omitempty"`
	IsRemote         bool            `json:"isRemote"`
	WorkplaceType    string          `json:"workplaceType,omitempty" enum:"OnSite,Hybrid,Remote"`
	ParentLocationID string          `json:"parentLocationId,omitempty"`
	Type             string          `json:"type" enum:"Location,LocationHierarchy"`
	ExtraData        json.RawMessage `json:"extraData,omitempty"`
}

// SelectableValue is one option of a select custom field.
type SelectableValue struct {
	Label      string `json:"label"`
	Value      string `json:"value"`
	IsArchived bool   `json:"isArchived"`
}

// CustomField is a custom field definition.
type CustomField struct {
	ID                     string            `json:"id"`
	Title                  string            `json:"title"`
	Description            string            `json:"description,omitempty"`
	IsPrivate              bool              `json:"isPrivate"`
	ObjectType             string            `json:"objectType" enum:"Application,Candidate,Employee,Job,Offer,Opening,Talent_Project"`
	IsArchived             bool              `json:"isArchived"`
	FieldType              string            `json:"fieldType" enum:"Boolean,CompensationRange,Currency,Date,LongText,MultiValueSelect,Number,NumberRange,String,ValueSelect,Url,UUID,Location"`
	IsRequired             bool              `json:"isRequired"`
	SelectableValues       []SelectableValue `json:"selectableValues,omitempty"`
	IsDateOnlyField        bool              `json:"isDateOnlyField,omitempty"`
	IsExposableToCandidate bool              `json:"isExposableToCandidate,omitempty"`
}

// InterviewPlan is a sequence of interview stages used by jobs.
type InterviewPlan struct {
	ID         string `json:"id"`
	Title      string `json:"title"`
	IsArchived bool   `json:"isArchived"`
	CreatedAt  Time   `json:"createdAt"`
	UpdatedAt  Time   `json:"updatedAt"`
}

// Stage types (interview stage groups), in pipeline order.
const (
	StageLead               = "Lead"
	StagePreInterviewScreen = "PreInterviewScreen"
	StageActive             = "Active"
	StageOffer              = "Offer"
	StageHired              = "Hired"
	StageArchived           = "Archived"
)

// StageTypes lists stage types in pipeline order.
var StageTypes = []string{StageLead, StagePreInterviewScreen, StageActive, StageOffer, StageHired, StageArchived}

// InterviewStage is one step of an interview plan.
type InterviewStage struct {
	ID                    string `json:"id"`
	Title                 string `json:"title"`
	Type                  string `json:"type"`
	OrderInInterviewPlan  int    `json:"orderInInterviewPlan"`
	InterviewStageGroupID string `json:"interviewStageGroupId,omitempty"`
	InterviewPlanID       string `json:"interviewPlanId"`
}

// InterviewStageGroup groups stages by type.
type InterviewStageGroup struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Order     int    `json:"order"`
	StageType string `json:"stageType" enum:"Lead,PreInterviewScreen,Active,Offer,Hired,Archived"`
}

// JobInterviewPlan is a job's default plan with its stages and activities.
type JobInterviewPlan struct {
	JobID           string              `json:"jobId"`
	InterviewPlanID string              `json:"interviewPlanId"`
	Stages          []JobInterviewStage `json:"stages"`
}

// JobInterviewStage is a stage with its scheduled activities.
type JobInterviewStage struct {
	InterviewStage
	Activities []StageActivity `json:"activities"`
}

// StageActivity is a set of interviews held in one stage.
type StageActivity struct {
	ID         string              `json:"id"`
	Title      string              `json:"title,omitempty"`
	Interviews []ActivityInterview `json:"interviews"`
}

// ActivityInterview is an interview scheduled as part of an activity.
type ActivityInterview struct {
	ID                       string `json:"id"`
	Title                    string `json:"title"`
	InterviewID              string `json:"interviewId"`
	InterviewDurationMinutes int    `json:"interviewDurationMinutes"`
	IsSchedulable            bool   `json:"isSchedulable"`
}

// Job statuses.
const (
	JobDraft    = "Draft"
	JobOpen     = "Open"
	JobClosed   = "Closed"
	JobArchived = "Archived"
)

// Job is a requisition candidates apply to.
type Job struct {
	ID                     string             `json:"id"`
	Title                  string             `json:"title"`
	Confidential           bool               `json:"confidential"`
	Status                 string             `json:"status" enum:"Draft,Open,Closed,Archived"`
	EmploymentType         string             `json:"employmentType" enum:"FullTime,PartTime,Intern,Contract,Temporary"`
	LocationID             string             `json:"locationId,omitempty"`
	DepartmentID           string             `json:"departmentId,omitempty"`
	DefaultInterviewPlanID string             `json:"defaultInterviewPlanId,omitempty"`
	InterviewPlanIDs       []string           `json:"interviewPlanIds"`
	CustomFields           []CustomFieldValue `json:"customFields"`
	JobPostingIDs          []string           `json:"jobPostingIds"`
	CustomRequisitionID    string             `json:"customRequisitionId,omitempty"`
	BrandID                string             `json:"brandId,omitempty"`
	HiringTeam             []HiringTeamMember `json:"hiringTeam"`
	Author                 *User              `json:"author,omitempty"`
	CreatedAt              Time               `json:"createdAt"`
	UpdatedAt              Time               `json:"updatedAt"`
	OpenedAt               *Time              `json:"openedAt,omitempty"`
	ClosedAt               *Time              `json:"closedAt,omitempty"`
	Compensation           *JobCompensation   `json:"compensation,omitempty"`
	Location               *Location          `json:"location,omitempty"`
	Openings               *[]json.RawMessage `json:"openings,omitempty"`
}

// JobCompensation holds a job's compensation tiers.
type JobCompensation struct {
	CompensationTiers []CompensationTier `json:"compensationTiers"`
}

// CompensationComponent is one part of a compensation tier (https://developers.ashbyhq.com/reference/jobpostinginfo).
type CompensationComponent struct {
	ID               string   `json:"id,omitempty"`
	CompensationType string   `json:"compensationType" enum:"Salary,EquityPercentage,EquityCashValue,Commission,Bonus"`
	Interval         string   `json:"interval" enum:"NONE,1 TIME,1 HOUR,1 DAY,1 WEEK,2 WEEK,1 MONTH,2 MONTH,3 MONTH,6 MONTH,0.5 MONTH,1 YEAR"`
	CurrencyCode     *string  `json:"currencyCode,omitempty"` // absent, not null: Ashby's schema types it string
	Label            *string  `json:"label,omitempty"`
	MinValue         *float64 `json:"minValue"`
	MaxValue         *float64 `json:"maxValue"`
	Summary          string   `json:"summary"`
}

// CompensationTier is a named set of compensation components.
type CompensationTier struct {
	ID                    string                  `json:"id"`
	Title                 *string                 `json:"title,omitempty"`
	AdditionalInformation *string                 `json:"additionalInformation,omitempty" maxLength:"text"`
	Components            []CompensationComponent `json:"components"`
	TierSummary           string                  `json:"tierSummary"`
}

// CandidateLocation is a candidate's geocoded location.
type CandidateLocation struct {
	ID                 string              `json:"id"`
	LocationSummary    string              `json:"locationSummary"`
	LocationComponents []LocationComponent `json:"locationComponents"`
}

// LocationComponent is one level of a candidate location.
type LocationComponent struct {
	Type string `json:"type" enum:"Country,Region,City"`
	Name string `json:"name"`
}

// Candidate is a person in the talent pool (https://developers.ashbyhq.com/reference/candidateinfo).
type Candidate struct {
	ID                  string             `json:"id"`
	CreatedAt           Time               `json:"createdAt"`
	UpdatedAt           Time               `json:"updatedAt"`
	Name                string             `json:"name"`
	PrimaryEmailAddress *ContactInfo       `json:"primaryEmailAddress,omitempty"`
	EmailAddresses      []ContactInfo      `json:"emailAddresses"`
	PrimaryPhoneNumber  *ContactInfo       `json:"primaryPhoneNumber,omitempty"`
	PhoneNumbers        []ContactInfo      `json:"phoneNumbers"`
	SocialLinks         []SocialLink       `json:"socialLinks"`
	Tags                []CandidateTag     `json:"tags"`
	Position            string             `json:"position,omitempty"`
	Company             string             `json:"company,omitempty"`
	School              string             `json:"school,omitempty"`
	ApplicationIDs      []string           `json:"applicationIds"`
	ResumeFileHandle    *FileHandle        `json:"resumeFileHandle,omitempty"`
	FileHandles         []FileHandle       `json:"fileHandles"`
	CustomFields        []CustomFieldValue `json:"customFields"`
	ProfileURL          string             `json:"profileUrl"`
	Source              *Source            `json:"source,omitempty"`
	CreditedToUser      *User              `json:"creditedToUser,omitempty"`
	Timezone            string             `json:"timezone,omitempty"`
	Location            *CandidateLocation `json:"location,omitempty"`
	FraudStatus         *string            `json:"fraudStatus,omitempty"`
}

// Note is a note on a candidate.
type Note struct {
	ID        string `json:"id"`
	CreatedAt Time   `json:"createdAt"`
	IsPrivate bool   `json:"isPrivate"`
	Content   string `json:"content"`
	Author    Author `json:"author"`
}

// Application statuses.
const (
	ApplicationLead     = "Lead"
	ApplicationActive   = "Active"
	ApplicationHired    = "Hired"
	ApplicationArchived = "Archived"
)

// ApplicationCandidate is the candidate summary embedded in an application.
type ApplicationCandidate struct {
	ID                  string       `json:"id"`
	Name                string       `json:"name"`
	PrimaryEmailAddress *ContactInfo `json:"primaryEmailAddress,omitempty"`
	PrimaryPhoneNumber  *ContactInfo `json:"primaryPhoneNumber,omitempty"`
}

// ApplicationJob is the job summary embedded in an application.
type ApplicationJob struct {
	ID           string `json:"id"`
	Title        string `json:"title"`
	LocationID   string `json:"locationId,omitempty"`
	DepartmentID string `json:"departmentId,omitempty"`
}

// Application is a candidate's consideration for a job (https://developers.ashbyhq.com/reference/applicationinfo).
type Application struct {
	ID                     string               `json:"id"`
	CreatedAt              Time                 `json:"createdAt"`
	UpdatedAt              Time                 `json:"updatedAt"`
	Status                 string               `json:"status" enum:"Hired,Archived,Active,Lead"`
	CustomFields           []CustomFieldValue   `json:"customFields"`
	Candidate              ApplicationCandidate `json:"candidate"`
	CurrentInterviewStage  InterviewStage       `json:"currentInterviewStage"`
	Source                 *Source              `json:"source,omitempty"`
	ArchiveReason          *ArchiveReason       `json:"archiveReason,omitempty"`
	ArchivedAt             *Time                `json:"archivedAt,omitempty"`
	Job                    ApplicationJob       `json:"job"`
	CreditedToUser         *User                `json:"creditedToUser,omitempty"`
	HiringTeam             []HiringTeamMember   `json:"hiringTeam"`
	AppliedViaJobPostingID string               `json:"appliedViaJobPostingId,omitempty"`
	SubmitterClientIP      string               `json:"submitterClientIp,omitempty"`
	SubmitterUserAgent     string               `json:"submitterUserAgent,omitempty"`
}

// ApplicationHistoryItem is one visit of an application to a stage.
type ApplicationHistoryItem struct {
	ID             string   `json:"id"`
	StageID        string   `json:"stageId"`
	Title          string   `json:"title"`
	EnteredStageAt Time     `json:"enteredStageAt"`
	LeftStageAt    *Time    `json:"leftStageAt,omitempty"`
	StageNumber    int      `json:"stageNumber"`
	AllowedActions []string `json:"allowedActions"`
	ActorID        string   `json:"actorId,omitempty"`
}

// APIKeyInfo is apiKey.info's result.
type APIKeyInfo struct {
	Title     string   `json:"title"`
	CreatedAt Time     `json:"createdAt"`
	Scopes    []string `json:"scopes"`
}
