// Package webhooks receives Ashby's webhooks (from Ashby or any compatible
// server such as Ashlar): it verifies the Ashby-Signature header, parses
// the common payload into typed events, and is an http.Handler middleware
// that does both before your handler runs.
//
// Ashby signs each delivery with the webhook's secret token: the header
// is "sha256=" and the hex HMAC-SHA256 of the raw request body
// (https://developers.ashbyhq.com/docs/authenticating-webhooks). Verify
// the bytes as received, before any JSON parsing; Verify compares in
// constant time. Every payload is {webhookActionId, action, data}
// (https://developers.ashbyhq.com/docs/common-payload-data);
// webhookActionId is the same on every retry of an event, so receivers
// deduplicate on it.
package webhooks

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
)

// SignatureHeader is the header Ashby puts the signature in.
const SignatureHeader = "Ashby-Signature"

// Errors of Verify.
var (
	ErrNoSecret         = errors.New("webhooks: no secret token configured")
	ErrNoSignature      = errors.New("webhooks: no Ashby-Signature header")
	ErrMalformed        = errors.New("webhooks: Ashby-Signature is not sha256=<hex digest>")
	ErrSignatureInvalid = errors.New("webhooks: signature does not match the body")
)

// Sign returns the Ashby-Signature value of body under secret: what Ashby
// sends, and what a test sender needs.
func Sign(secret string, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac(secret, body))
}

func mac(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks header (the Ashby-Signature value) against the raw body
// under any of secrets (several while a token is being rotated), in
// constant time. It returns nil when one matches.
func Verify(body []byte, header string, secrets ...string) error {
	header = strings.TrimSpace(header)
	if header == "" {
		return ErrNoSignature
	}
	alg, digest, ok := strings.Cut(header, "=")
	if !ok || !strings.EqualFold(alg, "sha256") {
		return ErrMalformed
	}
	// Compared as bytes, so the hex's case does not matter.
	got, err := hex.DecodeString(digest)
	if err != nil || len(got) != sha256.Size {
		return ErrMalformed
	}
	valid := false
	for _, s := range secrets {
		if s == "" {
			continue
		}
		// Every secret is tried, so the time taken does not tell which.
		if hmac.Equal(got, mac(s, body)) {
			valid = true
		}
	}
	if !valid {
		if len(nonEmpty(secrets)) == 0 {
			return ErrNoSecret
		}
		return ErrSignatureInvalid
	}
	return nil
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Event is one delivery's payload.
type Event struct {
	// WebhookActionID identifies the event: the same on every retry and
	// for every webhook setting that receives it. Deduplicate on it.
	WebhookActionID string `json:"webhookActionId"`
	// Action is the event type, e.g. "candidateStageChange".
	Action string `json:"action"`
	// Data is the event's payload; Decode gives it a type.
	Data json.RawMessage `json:"data"`
}

// Parse parses a delivery's body. It checks the shape only; verify the
// signature first.
func Parse(body []byte) (*Event, error) {
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("webhooks: payload is not JSON: %w", err)
	}
	if e.Action == "" {
		return nil, errors.New("webhooks: payload has no action")
	}
	if len(e.Data) == 0 || e.Data[0] != '{' {
		return nil, errors.New("webhooks: payload's data is not an object")
	}
	return &e, nil
}

// Payloads of the event types, as Ashby documents them (its API
// reference, from
// https://developers.ashbyhq.com/reference/applicationsubmitwebhook on);
// Decode returns one.

// ApplicationEvent is the data of applicationSubmit, applicationUpdate,
// candidateStageChange, candidateHire (with the hire's offer, if any) and
// pushToHRIS.
type ApplicationEvent struct {
	Application ashby.Application `json:"application"`
	Offer       *ashby.Offer      `json:"offer,omitempty"`
}

// CandidateDeleteEvent is candidateDelete's data.
type CandidateDeleteEvent struct {
	Candidate struct {
		ID string `json:"id"`
	} `json:"candidate"`
}

// CandidateMergeEvent is candidateMerge's data: DeletedCandidate was merged
// into MergedCandidate.
type CandidateMergeEvent struct {
	DeletedCandidate struct {
		ID string `json:"id"`
	} `json:"deletedCandidate"`
	MergedCandidate struct {
		ID string `json:"id"`
	} `json:"mergedCandidate"`
}

// InterviewPlanTransitionEvent is interviewPlanTransition's data.
type InterviewPlanTransitionEvent struct {
	JobID             string   `json:"jobId"`
	FromInterviewPlan PlanRef  `json:"fromInterviewPlan"`
	ToInterviewPlan   PlanRef  `json:"toInterviewPlan"`
	StageMappings     []Mapped `json:"interviewStageMappings"`
}

// PlanRef names an interview plan.
type PlanRef struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// Mapped maps a stage of the old plan to one of the new.
type Mapped struct {
	FromInterviewStageID string `json:"fromInterviewStageId"`
	ToInterviewStageID   string `json:"toInterviewStageId"`
}

// InterviewScheduleEvent is the data of interviewScheduleCreate and
// interviewScheduleUpdate (whose schedule carries candidateId).
type InterviewScheduleEvent struct {
	InterviewSchedule ashby.InterviewScheduleUpdate `json:"interviewSchedule"`
}

// JobEvent is the data of jobCreate and jobUpdate.
type JobEvent struct {
	Job ashby.Job `json:"job"`
}

// JobPostingEvent is the data of jobPostingUpdate, jobPostingPublish,
// jobPostingUnpublish and jobPostingDelete (which carries only the ids).
type JobPostingEvent struct {
	JobPosting ashby.JobPostingListItem `json:"jobPosting"`
}

// OfferEvent is the data of offerCreate, offerUpdate and offerDelete
// (which carries only id and applicationId).
type OfferEvent struct {
	Offer ashby.Offer `json:"offer"`
}

// OpeningEvent is openingCreate's data.
type OpeningEvent struct {
	Opening ashby.Opening `json:"opening"`
}

// SurveySubmitEvent is surveySubmit's data.
type SurveySubmitEvent struct {
	SurveySubmission ashby.SurveySubmission `json:"surveySubmission"`
}

// SignatureRequestUpdateEvent is signatureRequestUpdate's data.
type SignatureRequestUpdateEvent struct {
	RelatedEntityType string `json:"relatedEntityType"`
	ApplicationID     string `json:"applicationId,omitempty"`
	OfferID           string `json:"offerId,omitempty"`
	OfferVersionID    string `json:"offerVersionId,omitempty"`
	EventType         string `json:"eventType"`
}

// TakeHomeEvent is the data of the takeHomeAssignment* events.
type TakeHomeEvent struct {
	TakeHomeAssignment ashby.TakeHomeAssignment `json:"takeHomeAssignment"`
}

// PingEvent is ping's data, sent to check that a URL is live.
type PingEvent struct {
	WebhookActionType string `json:"webhookActionType"`
}

// Decode returns the event's data as the type of its action (a pointer to
// one of the *Event types of this package), or the raw JSON for an action
// this package does not know.
func (e *Event) Decode() (any, error) {
	var v any
	switch e.Action {
	case "applicationSubmit", "applicationUpdate", "candidateStageChange", "candidateHire", "pushToHRIS":
		v = &ApplicationEvent{}
	case "candidateDelete":
		v = &CandidateDeleteEvent{}
	case "candidateMerge":
		v = &CandidateMergeEvent{}
	case "interviewPlanTransition":
		v = &InterviewPlanTransitionEvent{}
	case "interviewScheduleCreate", "interviewScheduleUpdate":
		v = &InterviewScheduleEvent{}
	case "jobCreate", "jobUpdate":
		v = &JobEvent{}
	case "jobPostingUpdate", "jobPostingPublish", "jobPostingUnpublish", "jobPostingDelete":
		v = &JobPostingEvent{}
	case "offerCreate", "offerUpdate", "offerDelete":
		v = &OfferEvent{}
	case "openingCreate":
		v = &OpeningEvent{}
	case "surveySubmit":
		v = &SurveySubmitEvent{}
	case "signatureRequestUpdate":
		v = &SignatureRequestUpdateEvent{}
	case "takeHomeAssignmentAssigned", "takeHomeAssignmentSubmitted", "takeHomeAssignmentCompleted", "takeHomeAssignmentCancelled":
		v = &TakeHomeEvent{}
	case "ping":
		v = &PingEvent{}
	default:
		return e.Data, nil
	}
	if err := json.Unmarshal(e.Data, v); err != nil {
		return nil, fmt.Errorf("webhooks: decode %s data: %w", e.Action, err)
	}
	return v, nil
}

type ctxKey struct{}

// FromContext returns the verified event Handler put in a request's context.
func FromContext(ctx context.Context) (*Event, bool) {
	e, ok := ctx.Value(ctxKey{}).(*Event)
	return e, ok
}

// NewContext returns ctx carrying e.
func NewContext(ctx context.Context, e *Event) context.Context {
	return context.WithValue(ctx, ctxKey{}, e)
}
