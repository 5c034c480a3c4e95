package client

import (
	"context"
	"iter"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
)

// The services below are typed wrappers of the main endpoints. Each call
// returns the decoded result and the Response (request id, warnings);
// lists return iterators that fetch pages as the loop advances. Anything
// not wrapped here is one Call or List away.

// call decodes endpoint's results into a fresh T.
func call[T any](ctx context.Context, c *Client, endpoint string, req any) (*T, *Response, error) {
	var out T
	res, err := c.Call(ctx, endpoint, req, &out)
	if err != nil {
		return nil, res, err
	}
	return &out, res, nil
}

// Millis is a time sent as Ashby's list filters want it: milliseconds
// since the epoch.
func Millis(t time.Time) int64 { return t.UnixMilli() }

// ListOptions are the filters most lists share. Zero values are left out.
type ListOptions struct {
	// Limit is the page size (1–100; Ashby's default is 100).
	Limit int `json:"limit,omitempty"`
	// CreatedAfter (milliseconds since the epoch, see Millis) keeps
	// records created after it.
	CreatedAfter int64 `json:"createdAfter,omitempty"`
	// IncludeArchived lists archived records too, where the list has it.
	IncludeArchived bool `json:"includeArchived,omitempty"`
}

// CandidatesService calls candidate.* endpoints.
type CandidatesService struct{ c *Client }

// CandidateCreate is candidate.create's request.
type CandidateCreate struct {
	Name                    string   `json:"name"`
	Email                   string   `json:"email,omitempty"`
	PhoneNumber             string   `json:"phoneNumber,omitempty"`
	LinkedInURL             string   `json:"linkedInUrl,omitempty"`
	GithubURL               string   `json:"githubUrl,omitempty"`
	Website                 string   `json:"website,omitempty"`
	AlternateEmailAddresses []string `json:"alternateEmailAddresses,omitempty"`
	SourceID                string   `json:"sourceId,omitempty"`
	CreditedToUserID        string   `json:"creditedToUserId,omitempty"`
}

// CandidateUpdate is candidate.update's request: only the set fields change.
type CandidateUpdate struct {
	CandidateID      string `json:"candidateId"`
	Name             string `json:"name,omitempty"`
	Email            string `json:"email,omitempty"`
	PhoneNumber      string `json:"phoneNumber,omitempty"`
	LinkedInURL      string `json:"linkedInUrl,omitempty"`
	GithubURL        string `json:"githubUrl,omitempty"`
	WebsiteURL       string `json:"websiteUrl,omitempty"`
	AlternateEmail   string `json:"alternateEmail,omitempty"`
	SourceID         string `json:"sourceId,omitempty"`
	CreditedToUserID string `json:"creditedToUserId,omitempty"`
}

// Info returns a candidate by id (candidate.info).
func (s *CandidatesService) Info(ctx context.Context, id string) (*ashby.Candidate, *Response, error) {
	return call[ashby.Candidate](ctx, s.c, "candidate.info", map[string]any{"id": id})
}

// List iterates over the candidates (candidate.list).
func (s *CandidatesService) List(ctx context.Context, o *ListOptions) iter.Seq2[ashby.Candidate, error] {
	return List[ashby.Candidate](ctx, s.c, "candidate.list", o)
}

// Search finds candidates by email and/or name (candidate.search).
func (s *CandidatesService) Search(ctx context.Context, email, name string) ([]ashby.Candidate, *Response, error) {
	req := map[string]any{}
	if email != "" {
		req["email"] = email
	}
	if name != "" {
		req["name"] = name
	}
	out, res, err := call[[]ashby.Candidate](ctx, s.c, "candidate.search", req)
	if err != nil {
		return nil, res, err
	}
	return *out, res, nil
}

// Create creates a candidate (candidate.create). It is not retried after
// an ambiguous failure: check with Search before creating again.
func (s *CandidatesService) Create(ctx context.Context, req *CandidateCreate) (*ashby.Candidate, *Response, error) {
	return call[ashby.Candidate](ctx, s.c, "candidate.create", req)
}

// Update changes a candidate's fields (candidate.update).
func (s *CandidatesService) Update(ctx context.Context, req *CandidateUpdate) (*ashby.Candidate, *Response, error) {
	return call[ashby.Candidate](ctx, s.c, "candidate.update", req)
}

// AddTag tags a candidate (candidate.addTag).
func (s *CandidatesService) AddTag(ctx context.Context, candidateID, tagID string) (*ashby.Candidate, *Response, error) {
	return call[ashby.Candidate](ctx, s.c, "candidate.addTag", map[string]any{"candidateId": candidateID, "tagId": tagID})
}

// ApplicationsService calls application.* endpoints.
type ApplicationsService struct{ c *Client }

// ApplicationListOptions are application.list's filters.
type ApplicationListOptions struct {
	Limit        int    `json:"limit,omitempty"`
	CreatedAfter int64  `json:"createdAfter,omitempty"`
	JobID        string `json:"jobId,omitempty"`
	// Status is Active, Hired, Archived or Lead.
	Status string `json:"status,omitempty"`
}

// ApplicationCreate is application.create's request.
type ApplicationCreate struct {
	CandidateID      string `json:"candidateId"`
	JobID            string `json:"jobId"`
	InterviewPlanID  string `json:"interviewPlanId,omitempty"`
	InterviewStageID string `json:"interviewStageId,omitempty"`
	SourceID         string `json:"sourceId,omitempty"`
	CreditedToUserID string `json:"creditedToUserId,omitempty"`
}

// Info returns an application by id (application.info).
func (s *ApplicationsService) Info(ctx context.Context, id string) (*ashby.Application, *Response, error) {
	return call[ashby.Application](ctx, s.c, "application.info", map[string]any{"applicationId": id})
}

// List iterates over the applications (application.list).
func (s *ApplicationsService) List(ctx context.Context, o *ApplicationListOptions) iter.Seq2[ashby.Application, error] {
	return List[ashby.Application](ctx, s.c, "application.list", o)
}

// Create considers a candidate for a job (application.create).
func (s *ApplicationsService) Create(ctx context.Context, req *ApplicationCreate) (*ashby.Application, *Response, error) {
	return call[ashby.Application](ctx, s.c, "application.create", req)
}

// ChangeStage moves an application to a stage; archiveReasonID is needed
// for an archived stage (application.changeStage). Not retried after an
// ambiguous failure: read the application to see where it is.
func (s *ApplicationsService) ChangeStage(ctx context.Context, applicationID, stageID, archiveReasonID string) (*ashby.Application, *Response, error) {
	req := map[string]any{"applicationId": applicationID, "interviewStageId": stageID}
	if archiveReasonID != "" {
		req["archiveReasonId"] = archiveReasonID
	}
	return call[ashby.Application](ctx, s.c, "application.changeStage", req)
}

// ChangeSource sets an application's source (application.changeSource).
// Setting the same source twice is harmless, so it is retried.
func (s *ApplicationsService) ChangeSource(ctx context.Context, applicationID, sourceID string) (*ashby.Application, *Response, error) {
	var out ashby.Application
	res, err := s.c.Call(ctx, "application.changeSource", map[string]any{"applicationId": applicationID, "sourceId": sourceID}, &out, Idempotent(true))
	if err != nil {
		return nil, res, err
	}
	return &out, res, nil
}

// History lists an application's stage history (application.listHistory).
func (s *ApplicationsService) History(ctx context.Context, applicationID string) iter.Seq2[ashby.ApplicationHistoryItem, error] {
	return List[ashby.ApplicationHistoryItem](ctx, s.c, "application.listHistory", map[string]any{"applicationId": applicationID})
}

// JobsService calls job.* endpoints.
type JobsService struct{ c *Client }

// JobListOptions are job.list's filters.
type JobListOptions struct {
	Limit        int   `json:"limit,omitempty"`
	CreatedAfter int64 `json:"createdAfter,omitempty"`
	// Status keeps jobs in these states (Draft, Open, Closed, Archived).
	Status []string `json:"status,omitempty"`
}

// Info returns a job by id (job.info).
func (s *JobsService) Info(ctx context.Context, id string) (*ashby.Job, *Response, error) {
	return call[ashby.Job](ctx, s.c, "job.info", map[string]any{"id": id})
}

// List iterates over the jobs (job.list).
func (s *JobsService) List(ctx context.Context, o *JobListOptions) iter.Seq2[ashby.Job, error] {
	return List[ashby.Job](ctx, s.c, "job.list", o)
}

// Search finds jobs by title (job.search).
func (s *JobsService) Search(ctx context.Context, title string) ([]ashby.Job, *Response, error) {
	out, res, err := call[[]ashby.Job](ctx, s.c, "job.search", map[string]any{"title": title})
	if err != nil {
		return nil, res, err
	}
	return *out, res, nil
}

// SetStatus sets a job's status: Draft, Open, Closed or Archived (job.setStatus).
func (s *JobsService) SetStatus(ctx context.Context, jobID, status string) (*ashby.Job, *Response, error) {
	return call[ashby.Job](ctx, s.c, "job.setStatus", map[string]any{"jobId": jobID, "status": status})
}

// JobPostingsService calls jobPosting.* endpoints.
type JobPostingsService struct{ c *Client }

// JobPostingListOptions are jobPosting.list's filters.
type JobPostingListOptions struct {
	ListedOnly bool   `json:"listedOnly,omitempty"`
	JobBoardID string `json:"jobBoardId,omitempty"`
	Location   string `json:"location,omitempty"`
	Department string `json:"department,omitempty"`
}

// Info returns a posting with its description and application form
// (jobPosting.info).
func (s *JobPostingsService) Info(ctx context.Context, id string) (*ashby.JobPostingInfo, *Response, error) {
	return call[ashby.JobPostingInfo](ctx, s.c, "jobPosting.info", map[string]any{"jobPostingId": id})
}

// List iterates over the published postings (jobPosting.list).
func (s *JobPostingsService) List(ctx context.Context, o *JobPostingListOptions) iter.Seq2[ashby.JobPostingListItem, error] {
	return List[ashby.JobPostingListItem](ctx, s.c, "jobPosting.list", o)
}

// OpeningsService calls opening.* endpoints.
type OpeningsService struct{ c *Client }

// Info returns an opening by id (opening.info).
func (s *OpeningsService) Info(ctx context.Context, id string) (*ashby.Opening, *Response, error) {
	return call[ashby.Opening](ctx, s.c, "opening.info", map[string]any{"openingId": id})
}

// List iterates over the openings (opening.list).
func (s *OpeningsService) List(ctx context.Context, o *ListOptions) iter.Seq2[ashby.Opening, error] {
	return List[ashby.Opening](ctx, s.c, "opening.list", o)
}

// InterviewStagesService calls interviewStage.* endpoints.
type InterviewStagesService struct{ c *Client }

// Info returns a stage by id (interviewStage.info).
func (s *InterviewStagesService) Info(ctx context.Context, id string) (*ashby.InterviewStage, *Response, error) {
	return call[ashby.InterviewStage](ctx, s.c, "interviewStage.info", map[string]any{"interviewStageId": id})
}

// List iterates over an interview plan's stages, in order (interviewStage.list).
func (s *InterviewStagesService) List(ctx context.Context, interviewPlanID string) iter.Seq2[ashby.InterviewStage, error] {
	return List[ashby.InterviewStage](ctx, s.c, "interviewStage.list", map[string]any{"interviewPlanId": interviewPlanID})
}

// InterviewSchedulesService calls interviewSchedule.* endpoints.
type InterviewSchedulesService struct{ c *Client }

// InterviewScheduleListOptions are interviewSchedule.list's filters.
type InterviewScheduleListOptions struct {
	Limit            int    `json:"limit,omitempty"`
	CreatedAfter     int64  `json:"createdAfter,omitempty"`
	ApplicationID    string `json:"applicationId,omitempty"`
	InterviewStageID string `json:"interviewStageId,omitempty"`
}

// List iterates over interview schedules (interviewSchedule.list).
func (s *InterviewSchedulesService) List(ctx context.Context, o *InterviewScheduleListOptions) iter.Seq2[ashby.InterviewSchedule, error] {
	return List[ashby.InterviewSchedule](ctx, s.c, "interviewSchedule.list", o)
}

// UsersService calls user.* endpoints.
type UsersService struct{ c *Client }

// Info returns a user by id (user.info).
func (s *UsersService) Info(ctx context.Context, id string) (*ashby.User, *Response, error) {
	return call[ashby.User](ctx, s.c, "user.info", map[string]any{"userId": id})
}

// List iterates over the users; deactivated ones with includeDeactivated (user.list).
func (s *UsersService) List(ctx context.Context, includeDeactivated bool) iter.Seq2[ashby.User, error] {
	return List[ashby.User](ctx, s.c, "user.list", map[string]any{"includeDeactivated": includeDeactivated})
}

// Search finds a user by email (user.search).
func (s *UsersService) Search(ctx context.Context, email string) ([]ashby.User, *Response, error) {
	out, res, err := call[[]ashby.User](ctx, s.c, "user.search", map[string]any{"email": email})
	if err != nil {
		return nil, res, err
	}
	return *out, res, nil
}

// DepartmentsService calls department.* endpoints.
type DepartmentsService struct{ c *Client }

// Info returns a department by id (department.info).
func (s *DepartmentsService) Info(ctx context.Context, id string) (*ashby.Department, *Response, error) {
	return call[ashby.Department](ctx, s.c, "department.info", map[string]any{"departmentId": id})
}

// List iterates over the departments (department.list).
func (s *DepartmentsService) List(ctx context.Context, o *ListOptions) iter.Seq2[ashby.Department, error] {
	return List[ashby.Department](ctx, s.c, "department.list", o)
}

// Create creates a department under parentID ("" for the top) (department.create).
func (s *DepartmentsService) Create(ctx context.Context, name, parentID string) (*ashby.Department, *Response, error) {
	req := map[string]any{"name": name}
	if parentID != "" {
		req["parentId"] = parentID
	}
	return call[ashby.Department](ctx, s.c, "department.create", req)
}

// LocationsService calls location.* endpoints.
type LocationsService struct{ c *Client }

// Info returns a location by id (location.info).
func (s *LocationsService) Info(ctx context.Context, id string) (*ashby.Location, *Response, error) {
	return call[ashby.Location](ctx, s.c, "location.info", map[string]any{"locationId": id})
}

// List iterates over the locations (location.list).
func (s *LocationsService) List(ctx context.Context, o *ListOptions) iter.Seq2[ashby.Location, error] {
	return List[ashby.Location](ctx, s.c, "location.list", o)
}

// SourcesService calls source.* endpoints.
type SourcesService struct{ c *Client }

// List iterates over the sources (source.list).
func (s *SourcesService) List(ctx context.Context, includeArchived bool) iter.Seq2[ashby.Source, error] {
	return List[ashby.Source](ctx, s.c, "source.list", map[string]any{"includeArchived": includeArchived})
}

// ArchiveReasonsService calls archiveReason.* endpoints.
type ArchiveReasonsService struct{ c *Client }

// List iterates over the archive reasons (archiveReason.list).
func (s *ArchiveReasonsService) List(ctx context.Context, includeArchived bool) iter.Seq2[ashby.ArchiveReason, error] {
	return List[ashby.ArchiveReason](ctx, s.c, "archiveReason.list", map[string]any{"includeArchived": includeArchived})
}

// OffersService calls offer.* endpoints.
type OffersService struct{ c *Client }

// OfferListOptions are offer.list's filters.
type OfferListOptions struct {
	Limit         int    `json:"limit,omitempty"`
	CreatedAfter  int64  `json:"createdAfter,omitempty"`
	ApplicationID string `json:"applicationId,omitempty"`
}

// Info returns an offer with its latest version (offer.info).
func (s *OffersService) Info(ctx context.Context, id string) (*ashby.Offer, *Response, error) {
	return call[ashby.Offer](ctx, s.c, "offer.info", map[string]any{"offerId": id})
}

// List iterates over the offers (offer.list).
func (s *OffersService) List(ctx context.Context, o *OfferListOptions) iter.Seq2[ashby.Offer, error] {
	return List[ashby.Offer](ctx, s.c, "offer.list", o)
}

// WebhooksService calls webhook.* endpoints (webhook settings).
type WebhooksService struct{ c *Client }

// WebhookCreate is webhook.create's request.
type WebhookCreate struct {
	WebhookType string `json:"webhookType"`
	RequestURL  string `json:"requestUrl"`
	SecretToken string `json:"secretToken"`
}

// WebhookUpdate is webhook.update's request: only the set fields change.
type WebhookUpdate struct {
	WebhookID   string `json:"webhookId"`
	Enabled     *bool  `json:"enabled,omitempty"`
	RequestURL  string `json:"requestUrl,omitempty"`
	SecretToken string `json:"secretToken,omitempty"`
}

// Create subscribes a URL to an event type (webhook.create).
func (s *WebhooksService) Create(ctx context.Context, req *WebhookCreate) (*ashby.WebhookSetting, *Response, error) {
	return call[ashby.WebhookSetting](ctx, s.c, "webhook.create", req)
}

// Info returns a setting, without its secret (webhook.info).
func (s *WebhooksService) Info(ctx context.Context, id string) (*ashby.WebhookSetting, *Response, error) {
	return call[ashby.WebhookSetting](ctx, s.c, "webhook.info", map[string]any{"webhookId": id})
}

// Update changes a setting (webhook.update).
func (s *WebhooksService) Update(ctx context.Context, req *WebhookUpdate) (*ashby.WebhookSetting, *Response, error) {
	return call[ashby.WebhookSetting](ctx, s.c, "webhook.update", req)
}

// Delete removes a setting (webhook.delete).
func (s *WebhooksService) Delete(ctx context.Context, id string) (*Response, error) {
	return s.c.Call(ctx, "webhook.delete", map[string]any{"webhookId": id}, nil)
}
