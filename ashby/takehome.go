package ashby

// Take-home assignments (in beta at Ashby, https://developers.ashbyhq.com/reference/takehomeassignmentlist; docs/interviews.md).
//
// Ashby documents the top-level fields of an assignment, the error code
// take_home_assignment_not_found and the four webhooks, and describes the
// statuses only in prose ("Waiting On Submission", "Waiting On
// Feedback"). The status values, the shapes of reviewers and submission
// and the extension fields below are Ashlar's, written down in
// docs/interviews.md.

// Take-home assignment statuses, in the PascalCase style of Ashby's
// interview schedule statuses (WaitingOnFeedback, Complete, Cancelled).
const (
	TakeHomeWaitingOnSubmission = "WaitingOnSubmission"
	TakeHomeWaitingOnFeedback   = "WaitingOnFeedback"
	TakeHomeComplete            = "Complete"
	TakeHomeCancelled           = "Cancelled"
)

// Error codes of take-home assignments. The first is Ashby's; the others
// are Ashlar's, for transitions an assignment's status does not allow.
const (
	CodeTakeHomeNotFound               = "take_home_assignment_not_found"
	CodeTakeHomeNotWaitingOnSubmission = "take_home_assignment_not_waiting_on_submission"
	CodeTakeHomeNotWaitingOnFeedback   = "take_home_assignment_not_waiting_on_feedback"
	CodeTakeHomeAlreadyComplete        = "take_home_assignment_already_complete"
	CodeTakeHomeAlreadyAssigned        = "take_home_assignment_already_assigned"
)

// TakeHomeAssignment is an exercise a candidate does on their own time
// for an application, reviewed afterwards by its reviewers.
type TakeHomeAssignment struct {
	ID            string `json:"id"`
	ApplicationID string `json:"applicationId"`
	CandidateID   string `json:"candidateId"`
	CreatedAt     Time   `json:"createdAt"`
	UpdatedAt     Time   `json:"updatedAt"`
	// FeedbackFormDefinitionID is the form reviewers submit feedback
	// with: the interview's form when the assignment was made.
	FeedbackFormDefinitionID string `json:"feedbackFormDefinitionId"`
	InterviewID              string `json:"interviewId"`
	// Interview is present only when expanded.
	Interview *Interview `json:"interview,omitempty"`
	// InterviewStageID is the application's stage when it was assigned.
	InterviewStageID string              `json:"interviewStageId"`
	Reviewers        []TakeHomeReviewer  `json:"reviewers"`
	Status           string              `json:"status" enum:"WaitingOnSubmission,WaitingOnFeedback,Complete,Cancelled"`
	Submission       *TakeHomeSubmission `json:"submission"`

	// Ashlar extensions.

	// DueAt is when the candidate is asked to submit by; null: no
	// deadline. Later submissions are accepted.
	DueAt *Time `json:"dueAt"`
	// InstructionsHTML is what the candidate is asked to do, shown on
	// the submission page (sanitized like notes).
	InstructionsHTML  string `json:"instructionsHtml,omitempty"`
	InstructionsPlain string `json:"instructionsPlain,omitempty"`
	// SubmissionURLIssuedAt is when the current submission URL was
	// issued (by create or regenerateSubmissionUrl), so that issuing one
	// is a visible, audited change although the URL is not stored.
	SubmissionURLIssuedAt Time `json:"submissionUrlIssuedAt"`
	// SubmissionURL is the candidate's page for submitting. It is a
	// secret (whoever has it can submit as the candidate), so only
	// takeHomeAssignment.create and .regenerateSubmissionUrl return it;
	// it is never stored.
	SubmissionURL string `json:"submissionUrl,omitempty"`
}

// TakeHomeReviewer is a user who reviews the submission: the user, as
// interview events embed interviewers, and whether they have submitted
// their feedback on it.
type TakeHomeReviewer struct {
	User
	HasSubmittedFeedback bool `json:"hasSubmittedFeedback"`
}

// TakeHomeSubmission is what the candidate handed in.
type TakeHomeSubmission struct {
	SubmittedAt Time `json:"submittedAt"`
	// Text is the candidate's answer as plain text; null when none.
	Text  *string  `json:"text"`
	Links []string `json:"links"`
	// Files are downloadable with file.info's handle, like candidate files.
	Files []TakeHomeFile `json:"files"`
}

// TakeHomeFile is a file of a submission: its handle, with the type
// detected from its content and its size in bytes.
type TakeHomeFile struct {
	FileHandle
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
}
