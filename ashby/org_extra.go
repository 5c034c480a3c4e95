package ashby

// Organization objects beyond departments and locations (brands, hiring
// team roles, interviewer pools …; https://developers.ashbyhq.com/reference).

// Brand is a careers-site brand; jobs may name one (brandId).
type Brand struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	HostedJobsPageSlug string `json:"hostedJobsPageSlug"`
}

// Job template statuses.
const (
	JobTemplateActive   = "Active"
	JobTemplateInactive = "Inactive"
)

// JobTemplate is a starting point for new jobs (job.create's jobTemplateId).
type JobTemplate struct {
	ID                     string    `json:"id"`
	Title                  string    `json:"title"`
	Status                 string    `json:"status" enum:"Active,Inactive"`
	LocationID             string    `json:"locationId,omitempty"`
	DepartmentID           string    `json:"departmentId,omitempty"`
	DefaultInterviewPlanID string    `json:"defaultInterviewPlanId,omitempty"`
	InterviewPlanIDs       []string  `json:"interviewPlanIds"`
	CreatedAt              Time      `json:"createdAt"`
	UpdatedAt              Time      `json:"updatedAt"`
	Location               *Location `json:"location,omitempty"`
}

// HiringTeamRole is a role a user can hold on a hiring team ("Recruiter").
type HiringTeamRole struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// APIKey is an API key as the admin console lists it (apiKey.list, an
// Ashlar extension: Ashby manages keys in its web app). The secret is
// returned once, by apiKey.create.
type APIKey struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Permissions []string `json:"permissions" doc:"Permission names, e.g. candidatesRead."`
	Scopes      []string `json:"scopes" doc:"The same permissions as apiKey.info reports them, e.g. candidates:read."`
	UserID      string   `json:"userId,omitempty"`
	CreatedAt   Time     `json:"createdAt"`
	RevokedAt   *Time    `json:"revokedAt,omitempty"`
	LastUsedAt  *Time    `json:"lastUsedAt,omitempty" doc:"When the key last authenticated a request, to the minute."`
	Secret      string   `json:"secret,omitempty" doc:"Only in apiKey.create's result: the key itself, shown once."`
}

// Organization is the calling organization's name and settings
// (organization.info, an Ashlar extension).
type Organization struct {
	ID        string `json:"id"`
	Slug      string `json:"slug"`
	Name      string `json:"name"`
	Timezone  string `json:"timezone" doc:"IANA time zone the web app shows dates in, e.g. Europe/Berlin (default UTC)."`
	CreatedAt Time   `json:"createdAt"`
	// ApplicationConfirmationEmailTemplateID confirms applications whose
	// posting names no template ("" : Ashlar's own text).
	ApplicationConfirmationEmailTemplateID string `json:"applicationConfirmationEmailTemplateId,omitempty"`
}
