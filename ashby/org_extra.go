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
