package ashby

// Interview feedback (https://developers.ashbyhq.com/reference/applicationfeedbacklist).

// FeedbackFormDefinition is a scorecard interviewers fill in.
type FeedbackFormDefinition struct {
	ID             string         `json:"id"`
	OrganizationID string         `json:"organizationId"`
	Title          string         `json:"title"`
	IsArchived     bool           `json:"isArchived"`
	IsDefaultForm  bool           `json:"isDefaultForm"`
	FormDefinition FormDefinition `json:"formDefinition"`
	InterviewID    string         `json:"interviewId,omitempty"`
}

// ApplicationFeedback is one submitted feedback form. Select answers hold
// option values, never labels.
type ApplicationFeedback struct {
	ID                       string         `json:"id"`
	FormDefinition           FormDefinition `json:"formDefinition"`
	SubmittedValues          map[string]any `json:"submittedValues"`
	SubmittedByUser          User           `json:"submittedByUser"`
	InterviewID              string         `json:"interviewId,omitempty"`
	InterviewEventID         string         `json:"interviewEventId,omitempty"`
	FeedbackFormDefinitionID string         `json:"feedbackFormDefinitionId,omitempty"`
	ApplicationHistoryID     string         `json:"applicationHistoryId,omitempty"`
	ApplicationID            string         `json:"applicationId"`
	SubmittedAt              Time           `json:"submittedAt"`
	// TakeHomeAssignmentID (an Ashlar extension) is the take-home
	// assignment the feedback reviews, when it was submitted for one.
	TakeHomeAssignmentID string `json:"takeHomeAssignmentId,omitempty"`
}

// FeedbackSubmission is applicationFeedback.submit's result.
type FeedbackSubmission struct {
	SubmittedFormInstance SubmittedFormInstance `json:"submittedFormInstance"`
}

// FeedbackRequest is applicationFeedbackRequest.create's result: the
// event to submit the requested feedback against.
type FeedbackRequest struct {
	InterviewEventID  string `json:"interviewEventId"`
	InterviewerUserID string `json:"interviewerUserId"`
	ApplicationID     string `json:"applicationId"`
}
