package ashby

import "encoding/json"

// Interviewing objects (https://developers.ashbyhq.com/reference/interviewplanlist,
// https://developers.ashbyhq.com/reference/interviewschedulelist, https://developers.ashbyhq.com/reference/interviewerpoollist).

// Interview is a kind of interview an organization holds ("Technical
// Screen"), shared across jobs (no JobID) or specific to one job.
type Interview struct {
	ID                       string `json:"id"`
	Title                    string `json:"title"`
	ExternalTitle            string `json:"externalTitle,omitempty"`
	IsArchived               bool   `json:"isArchived"`
	IsDebrief                bool   `json:"isDebrief"`
	IsFeedbackRequired       bool   `json:"isFeedbackRequired"`
	IsFeedbackRequested      bool   `json:"isFeedbackRequested"`
	InstructionsHTML         string `json:"instructionsHtml,omitempty"`
	InstructionsPlain        string `json:"instructionsPlain,omitempty"`
	JobID                    string `json:"jobId,omitempty"`
	FeedbackFormDefinitionID string `json:"feedbackFormDefinitionId"`
}

// Interview schedule statuses (https://developers.ashbyhq.com/reference/interviewschedulelist).
const (
	ScheduleNeedsScheduling                = "NeedsScheduling"
	ScheduleWaitingOnCandidateBooking      = "WaitingOnCandidateBooking"
	ScheduleWaitingOnCandidateAvailability = "WaitingOnCandidateAvailability"
	ScheduleCandidateAvailabilitySubmitted = "CandidateAvailabilitySubmitted"
	ScheduleScheduled                      = "Scheduled"
	ScheduleWaitingOnFeedback              = "WaitingOnFeedback"
	ScheduleComplete                       = "Complete"
	ScheduleCancelled                      = "Cancelled"
	ScheduleOnHold                         = "OnHold"
	ScheduleUnknown                        = "Unknown"
)

// InterviewSchedule is the set of interview events scheduled for an
// application in one interview stage.
type InterviewSchedule struct {
	ID               string           `json:"id"`
	Status           string           `json:"status" enum:"NeedsScheduling,WaitingOnCandidateBooking,WaitingOnCandidateAvailability,CandidateAvailabilitySubmitted,Scheduled,WaitingOnFeedback,Complete,Cancelled,OnHold,Unknown"`
	ApplicationID    string           `json:"applicationId"`
	InterviewStageID string           `json:"interviewStageId"`
	ScheduledBy      *User            `json:"scheduledBy,omitempty"`
	CreatedAt        Time             `json:"createdAt"`
	UpdatedAt        Time             `json:"updatedAt"`
	InterviewEvents  []InterviewEvent `json:"interviewEvents"`
}

// InterviewScheduleUpdate is an interviewScheduleUpdate webhook's
// interviewSchedule: the schedule plus its candidate.
type InterviewScheduleUpdate struct {
	InterviewSchedule
	CandidateID string `json:"candidateId"`
}

// Training roles of an interviewer on an event. Note the hyphen, unlike
// the training stages' interviewerRole (ReverseShadow).
const (
	TrainingRoleShadow        = "Shadow"
	TrainingRoleReverseShadow = "Reverse-Shadow"
)

// EventInterviewer is a user interviewing in an event.
type EventInterviewer struct {
	User
	TrainingRole       *string                 `json:"trainingRole" enum:"Shadow,Reverse-Shadow"`
	InterviewerPool    *InterviewerPoolSummary `json:"interviewerPool"`
	IsFeedbackRequired bool                    `json:"isFeedbackRequired"`
}

// InterviewEvent is one meeting of a schedule (or a feedback request).
type InterviewEvent struct {
	ID                  string `json:"id"`
	InterviewID         string `json:"interviewId"`
	InterviewScheduleID string `json:"interviewScheduleId"`
	// InterviewerUserIDs is deprecated in Ashby's description in favour of
	// Interviewers but still sent, for older clients.
	InterviewerUserIDs         []string           `json:"interviewerUserIds"`
	Interviewers               []EventInterviewer `json:"interviewers"`
	CreatedAt                  Time               `json:"createdAt"`
	UpdatedAt                  Time               `json:"updatedAt"`
	StartTime                  Time               `json:"startTime"`
	EndTime                    Time               `json:"endTime"`
	FeedbackLink               string             `json:"feedbackLink"`
	Location                   *string            `json:"location"`
	MeetingLink                *string            `json:"meetingLink"`
	InterviewerCalendarEventID *string            `json:"interviewerCalendarEventId"`
	HasSubmittedFeedback       bool               `json:"hasSubmittedFeedback"`
	// Interview is present only when expanded.
	Interview *Interview `json:"interview,omitempty"`
	// NotetakerTranscriptID is omitted rather than null: Ashlar has no
	// notetaker, and the description's schema for it admits no null.
	NotetakerTranscriptID *string         `json:"notetakerTranscriptId,omitempty"`
	ExtraData             json.RawMessage `json:"extraData,omitempty"`
}

// BriefingInterviewer is an interviewer as an interview briefing shows them.
type BriefingInterviewer struct {
	UserID               string                  `json:"userId"`
	IsFeedbackRequired   bool                    `json:"isFeedbackRequired"`
	HasSubmittedFeedback bool                    `json:"hasSubmittedFeedback"`
	TrainingRole         *string                 `json:"trainingRole" enum:"Shadow,Reverse-Shadow"`
	User                 *User                   `json:"user,omitempty"`
	InterviewerPool      *InterviewerPoolSummary `json:"interviewerPool,omitempty"`
}

// InterviewBriefing is what an interviewer needs for one interview event.
type InterviewBriefing struct {
	ID                       string                `json:"id"`
	ApplicationID            string                `json:"applicationId"`
	InterviewID              string                `json:"interviewId"`
	InterviewStageID         string                `json:"interviewStageId"`
	Interviewers             []BriefingInterviewer `json:"interviewers"`
	HasSubmittedFeedback     bool                  `json:"hasSubmittedFeedback"`
	FeedbackFormDefinitionID string                `json:"feedbackFormDefinitionId"`
	// Present only when expanded.
	FeedbackFormDefinition *FeedbackFormDefinition `json:"feedbackFormDefinition,omitempty"`
	Application            *Application            `json:"application,omitempty"`
	Candidate              *Candidate              `json:"candidate,omitempty"`
	Job                    *Job                    `json:"job,omitempty"`
	Interview              *Interview              `json:"interview,omitempty"`
}

// Interviewer pool training stage roles.
const (
	PoolRoleShadow        = "Shadow"
	PoolRoleReverseShadow = "ReverseShadow"
)

// InterviewerPoolTrainingStage is one step of a pool's training path.
type InterviewerPoolTrainingStage struct {
	ID                 string `json:"id"`
	InterviewerRole    string `json:"interviewerRole" enum:"Shadow,ReverseShadow"`
	InterviewsRequired int    `json:"interviewsRequired"`
	IsArchived         bool   `json:"isArchived"`
	ApprovalRequired   bool   `json:"approvalRequired"`
	Approvers          []User `json:"approvers,omitempty"`
}

// InterviewerPoolTrainingPath is how trainees become qualified members.
type InterviewerPoolTrainingPath struct {
	ID             string                         `json:"id"`
	Enabled        bool                           `json:"enabled"`
	TrainingStages []InterviewerPoolTrainingStage `json:"trainingStages"`
}

// InterviewerPoolSummary is a pool without its members
// (interviewerPool.list, and as embedded in events and briefings).
type InterviewerPoolSummary struct {
	ID           string                       `json:"id"`
	Title        string                       `json:"title"`
	IsArchived   bool                         `json:"isArchived"`
	TrainingPath *InterviewerPoolTrainingPath `json:"trainingPath,omitempty"`
}

// InterviewerPoolMember is a qualified member of a pool.
type InterviewerPoolMember struct {
	User
	IsPaused bool `json:"isPaused"`
}

// TraineeProgress is where a trainee is on a pool's training path.
type TraineeProgress struct {
	TrainingPathID      string `json:"trainingPathId"`
	TrainingPathStageID string `json:"trainingPathStageId"`
	InterviewsCompleted int    `json:"interviewsCompleted"`
}

// InterviewerPoolTrainee is a pool member in training.
type InterviewerPoolTrainee struct {
	User
	IsPaused        bool            `json:"isPaused"`
	CurrentProgress TraineeProgress `json:"currentProgress"`
}

// InterviewerPool is a group of users qualified (or training) to hold an
// interview (interviewerPool.info and the pool mutations).
type InterviewerPool struct {
	InterviewerPoolSummary
	QualifiedMembers []InterviewerPoolMember  `json:"qualifiedMembers"`
	Trainees         []InterviewerPoolTrainee `json:"trainees"`
}

// InterviewerSettings are a user's interview load limits; nil is no limit.
type InterviewerSettings struct {
	ID          string `json:"id"`
	DailyLimit  *int   `json:"dailyLimit"`
	WeeklyLimit *int   `json:"weeklyLimit"`
}

// InterviewerPause is a period in which a user takes no interviews.
type InterviewerPause struct {
	ID        string  `json:"id"`
	UserID    string  `json:"userId"`
	StartsAt  Time    `json:"startsAt"`
	EndsAt    *Time   `json:"endsAt"`
	Comment   *string `json:"comment"`
	CreatedAt Time    `json:"createdAt"`
}

// InterviewerPauseID is user.deleteInterviewerPause's result.
type InterviewerPauseID struct {
	ID string `json:"id"`
}

// NotetakerTranscript is a recorded interview's transcript
// (notetakerTranscript.info). Ashlar has no notetaker and never returns one.
type NotetakerTranscript struct {
	ID                  string                           `json:"id"`
	InterviewEventID    *string                          `json:"interviewEventId"`
	InterviewScheduleID *string                          `json:"interviewScheduleId"`
	CreatedAt           Time                             `json:"createdAt"`
	Participants        []NotetakerTranscriptParticipant `json:"participants"`
	TranscriptURL       string                           `json:"transcriptUrl"`
}

// NotetakerTranscriptParticipant is someone who spoke in a transcript.
type NotetakerTranscriptParticipant struct {
	ID    string  `json:"id"`
	Type  string  `json:"type" enum:"interviewer,candidate"`
	Name  string  `json:"name"`
	Email *string `json:"email"`
}
