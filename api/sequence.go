package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// Sourcing sequences (https://developers.ashbyhq.com/reference/sequencelist; docs/sequences.md): a candidate's
// enrollment in a sequence template, whose email stages are copied from
// the template and can be personalised while the sequence is a draft.
//
// A draft (NotStarted) belongs to the API key that created it: only that
// key can edit, start or discard it, as in Ashby only the acting user who
// created a draft can. Starting a sequence schedules its stages (each
// delayDays after the one before); Ashlar sends no email, so a stage
// whose time has come is reported Due, and a sequence whose stages are
// all due Completed. That is computed when a sequence is read (settle), so
// the stored document holds the schedule and the statuses as of its last
// change.

func init() { register((*Service).sequenceEndpoints) }

// Ashby's error codes for sequences.
const (
	CodeSequenceNotFound           = "sequence_not_found"
	CodeSequenceDraftAlreadyExists = "sequence_draft_already_exists"
	CodeSequenceSenderNotAllowed   = "sequence_sender_not_allowed"
)

// Sequences: Parent = template; Ref = candidate; State = status as stored.
var Sequences = store.Kind[ashby.Sequence]{Name: "sequence", Index: func(q *ashby.Sequence) store.Index {
	return store.Index{ID: q.ID, CreatedAt: q.CreatedAt.Time, Parent: q.SequenceTemplateID, Ref: q.CandidateID, State: q.Status}
}}

// sequenceMeta records who owns a sequence: the API key and the user
// that created it ("" for in-process seeding).
type sequenceMeta struct {
	OwnerKeyID  string `json:"ownerKeyId"`
	OwnerUserID string `json:"ownerUserId"`
}

func (s *Service) sequenceEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "sequence.add", Permission: ashby.SourcingWrite,
			Summary: "Enroll a candidate in a sourcing sequence template: a draft, or started at once with start."}, s.sequenceAdd),
		rpc.Object(rpc.Spec{Name: "sequence.start", Permission: ashby.SourcingWrite,
			Summary: "Validate and start a draft sequence this key created; a Blocked startResult says why it cannot start."}, s.sequenceStart),
		rpc.Object(rpc.Spec{Name: "sequence.updateStage", Permission: ashby.SourcingWrite,
			Summary: "Replace the subject or HTML body of one email stage of a draft sequence this key created."}, s.sequenceUpdateStage),
		rpc.Object(rpc.Spec{Name: "sequence.discard", Permission: ashby.SourcingWrite,
			Summary: "Delete a draft sequence this key created; repeating it is safe."}, s.sequenceDiscard),
		rpc.Object(rpc.Spec{Name: "sequence.cancel", Permission: ashby.SourcingWrite,
			Summary: "Cancel a running sequence: its stages not yet due are cancelled."}, s.sequenceCancel),
		rpc.Object(rpc.Spec{Name: "sequence.info", Permission: ashby.SourcingRead,
			Summary: "Fetch a sourcing sequence with its stages, their content and schedule."}, s.sequenceInfo),
		rpc.List[ashby.Sequence](rpc.Spec{Name: "sequence.list", Permission: ashby.SourcingRead,
			Summary: "List sourcing sequences, oldest first, optionally of one candidate."}, s.sequenceList),
	}
}

func sequenceNotFound() error {
	return ashby.NotFound("sequence", "Sequence not found")
}

// settle applies the passage of time to a read sequence: started stages
// whose time has come are Due, and a sequence whose stages are all due is
// Completed as of the last one.
func settle(q *ashby.Sequence, now time.Time) {
	if q.Status != ashby.SequenceActive || len(q.Stages) == 0 {
		return
	}
	var last *ashby.Time
	for i := range q.Stages {
		st := &q.Stages[i]
		if st.Status == ashby.StageScheduled && st.ScheduledAt != nil && !st.ScheduledAt.After(now) {
			st.Status = ashby.StageDue
		}
		if st.Status != ashby.StageDue {
			return
		}
		last = st.ScheduledAt
	}
	q.Status, q.CompletedAt = ashby.SequenceCompleted, last
}

// settledDoc re-encodes a stored sequence as it stands now; only a running
// sequence changes with time.
func settledDoc(doc []byte, now time.Time) ([]byte, error) {
	var q ashby.Sequence
	if err := json.Unmarshal(doc, &q); err != nil {
		return nil, fmt.Errorf("decode stored sequence: %w", err)
	}
	if q.Status != ashby.SequenceActive {
		return doc, nil
	}
	settle(&q, now)
	return json.Marshal(&q)
}

// loadOwnedDraft loads a sequence for update and checks that the call
// may change it as the owner of the draft it was created as.
func (s *Service) loadOwnedDraft(ctx context.Context, tx *store.Tx, c *rpc.Call, id string) (*ashby.Sequence, error) {
	q, err := Sequences.GetForUpdate(ctx, tx, c.Org(), id)
	if err != nil {
		return nil, notFound(err, "sequence", "Sequence not found")
	}
	var m sequenceMeta
	if _, err := store.GetMeta(ctx, tx, c.Org(), Sequences.Name, id, &m); err != nil {
		return nil, err
	}
	if m.OwnerKeyID != c.KeyID {
		// Another key's sequence is not this key's to edit; Ashby answers
		// as if it did not exist.
		return nil, sequenceNotFound()
	}
	return q, nil
}

type sequenceFromInput struct {
	Email string `json:"email" required:"true" doc:"An address emailSender.list returns (not a NoReply one)." maxLength:"email"`
}

type sequenceAddRequest struct {
	SequenceTemplateID ashby.ID           `json:"sequenceTemplateId" required:"true" doc:"The reusable sourcing sequence template."`
	CandidateID        ashby.ID           `json:"candidateId" required:"true"`
	Start              *bool              `json:"start" required:"true" doc:"true: validate and start at once; false: create an editable draft."`
	ApplicationID      ashby.ID           `json:"applicationId,omitempty" doc:"The candidate's application the sequence is about (used for tokens such as {{job.title}})."`
	From               *sequenceFromInput `json:"from,omitempty" doc:"The sender; default: the acting user's primary address."`
}

func (s *Service) sequenceAdd(ctx context.Context, c *rpc.Call, req *sequenceAddRequest) (rpc.Result[ashby.Sequence], error) {
	org := c.Org()
	var q *ashby.Sequence
	err := s.write(ctx, func(tx *store.Tx) error {
		// Locking the candidate serialises enrollments of one candidate, so
		// that a key cannot end up with two drafts of one template.
		cand, err := Candidates.GetForUpdate(ctx, tx, org, string(req.CandidateID))
		if err != nil {
			return notFound(err, "candidate", "Candidate not found")
		}
		tmpl, err := SequenceTemplates.Get(ctx, tx, org, string(req.SequenceTemplateID))
		if err != nil {
			return notFound(err, "sequence_template", "Sequence template not found")
		}
		if tmpl.IsArchived {
			return ashby.InvalidInput("sequenceTemplateId", "Sequence template %q is archived", tmpl.Title)
		}
		var appID *string
		if req.ApplicationID != "" {
			app, err := mustExist(ctx, tx, Applications, org, string(req.ApplicationID), "application", "applicationId")
			if err != nil {
				return err
			}
			if app.Candidate.ID != cand.ID {
				return ashby.InvalidInput("applicationId", "Application %s is not the candidate's", app.ID)
			}
			appID = &app.ID
		}
		user, err := s.actingUser(ctx, tx, c)
		if err != nil {
			return err
		}
		from, err := pickSender(senderOf(user), req.From)
		if err != nil {
			return err
		}
		existing, err := Sequences.Find(ctx, tx, org, store.Filter{Parent: tmpl.ID, Ref: cand.ID})
		if err != nil {
			return err
		}
		now := s.DB.Now()
		for _, e := range existing {
			settle(e, now)
			switch e.Status {
			case ashby.SequenceNotStarted:
				var m sequenceMeta
				if _, err := store.GetMeta(ctx, tx, org, Sequences.Name, e.ID, &m); err != nil {
					return err
				}
				if m.OwnerKeyID == c.KeyID {
					err := ashby.Errorf(CodeSequenceDraftAlreadyExists, "A draft of this sequence for this candidate already exists: %s", e.ID)
					err.Meta = map[string]any{"existingSequenceId": e.ID}
					return err
				}
			case ashby.SequenceActive:
				return ashby.InvalidInput("candidateId", "The candidate is already in this sequence (%s is running); cancel it first", e.ID)
			}
		}
		var meta sequenceTemplateMeta
		if _, err := store.GetMeta(ctx, tx, org, SequenceTemplates.Name, tmpl.ID, &meta); err != nil {
			return err
		}
		stamp := s.now()
		q = &ashby.Sequence{ID: ashby.NewID(), CandidateID: cand.ID, ApplicationID: appID, SequenceTemplateID: tmpl.ID,
			Status: ashby.SequenceNotStarted, From: from, CreatedAt: stamp, UpdatedAt: stamp}
		for _, ts := range tmpl.Stages {
			content := meta.Stages[ts.ID]
			q.Stages = append(q.Stages, ashby.SequenceStage{ID: ashby.NewID(), SequenceTemplateStageID: ts.ID, StageNumber: ts.StageNumber,
				Type: ts.Type, DelayDays: ts.DelayDays, Subject: content.Subject, BodyHTML: content.BodyHTML, Status: ashby.StageNotStarted})
		}
		if err := Sequences.Put(ctx, tx, org, q); err != nil {
			return err
		}
		if err := tx.SetMeta(ctx, org, Sequences.Name, q.ID, sequenceMeta{OwnerKeyID: c.KeyID, OwnerUserID: user.ID}); err != nil {
			return err
		}
		if *req.Start {
			return s.startSequence(ctx, tx, org, q, cand, user)
		}
		return nil
	})
	if err != nil {
		return rpc.Result[ashby.Sequence]{}, err
	}
	return rpc.Value(q), nil
}

// pickSender chooses the sender of a new sequence: the one asked for,
// which must be one of the acting user's and not a no-reply address, or
// the user's first one that can send.
func pickSender(senders []ashby.EmailSender, from *sequenceFromInput) (ashby.EmailSender, error) {
	for _, snd := range senders {
		if snd.Type == ashby.SenderNoReply {
			continue
		}
		if from == nil || strings.EqualFold(strings.TrimSpace(from.Email), snd.Email) {
			return snd, nil
		}
	}
	if from == nil {
		return ashby.EmailSender{}, ashby.Errorf(CodeSequenceSenderNotAllowed, "The acting user has no address to send a sequence from")
	}
	e := ashby.Errorf(CodeSequenceSenderNotAllowed, "%q is not an address the acting user can send sequences from; see emailSender.list (no-reply addresses are never allowed)", from.Email)
	e.Meta = map[string]any{"field": "from.email"}
	return ashby.EmailSender{}, e
}

// sequenceIssues lists what keeps a sequence from starting.
func sequenceIssues(q *ashby.Sequence, cand *ashby.Candidate, owner *ashby.User) []ashby.SequenceIssue {
	issues := []ashby.SequenceIssue{}
	if cand.PrimaryEmailAddress == nil || strings.TrimSpace(cand.PrimaryEmailAddress.Value) == "" {
		issues = append(issues, ashby.SequenceIssue{Code: "candidate_email_missing", Message: "The candidate has no email address to send to"})
	}
	available := false
	for _, snd := range senderOf(owner) {
		available = available || (snd.Type != ashby.SenderNoReply && strings.EqualFold(snd.Email, q.From.Email))
	}
	if !available {
		issues = append(issues, ashby.SequenceIssue{Code: "sender_unavailable", Message: fmt.Sprintf("%s can no longer send for the sequence's owner", q.From.Email)})
	}
	if len(q.Stages) == 0 {
		issues = append(issues, ashby.SequenceIssue{Code: "sequence_has_no_stages", Message: "The sequence has no stages"})
	}
	for _, st := range q.Stages {
		if strings.TrimSpace(st.Subject) == "" {
			issues = append(issues, ashby.SequenceIssue{Code: "stage_subject_missing", Message: fmt.Sprintf("Stage %d has no subject", st.StageNumber), StageID: st.ID})
		}
		if strings.TrimSpace(st.BodyHTML) == "" {
			issues = append(issues, ashby.SequenceIssue{Code: "stage_body_missing", Message: fmt.Sprintf("Stage %d has no body", st.StageNumber), StageID: st.ID})
		}
	}
	return issues
}

// startSequence starts a draft in tx, or leaves it a draft with a Blocked
// result. It sets q.StartResult either way.
func (s *Service) startSequence(ctx context.Context, tx *store.Tx, org string, q *ashby.Sequence, cand *ashby.Candidate, owner *ashby.User) error {
	if issues := sequenceIssues(q, cand, owner); len(issues) > 0 {
		q.StartResult = &ashby.SequenceStartResult{Status: ashby.StartBlocked, Errors: issues}
		return nil
	}
	now := s.now()
	q.Status, q.StartedAt, q.UpdatedAt = ashby.SequenceActive, now.Ptr(), now
	at := now.Time
	for i := range q.Stages {
		at = at.AddDate(0, 0, q.Stages[i].DelayDays)
		q.Stages[i].Status, q.Stages[i].ScheduledAt = ashby.StageScheduled, ashby.NewTime(at).Ptr()
	}
	settle(q, now.Time)
	if err := Sequences.Put(ctx, tx, org, q); err != nil {
		return err
	}
	q.StartResult = &ashby.SequenceStartResult{Status: ashby.StartStarted, Errors: []ashby.SequenceIssue{}}
	return nil
}

type sequenceIDRequest struct {
	SequenceID ashby.ID `json:"sequenceId" required:"true"`
}

func (s *Service) sequenceStart(ctx context.Context, c *rpc.Call, req *sequenceIDRequest) (rpc.Result[ashby.Sequence], error) {
	org := c.Org()
	var q *ashby.Sequence
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		if q, err = s.loadOwnedDraft(ctx, tx, c, string(req.SequenceID)); err != nil {
			return err
		}
		if q.Status != ashby.SequenceNotStarted {
			// Ashby: already-started sequences are not found by start.
			return sequenceNotFound()
		}
		cand, err := Candidates.Get(ctx, tx, org, q.CandidateID)
		if err != nil {
			return notFound(err, "candidate", "The sequence's candidate was not found")
		}
		var m sequenceMeta
		if _, err := store.GetMeta(ctx, tx, org, Sequences.Name, q.ID, &m); err != nil {
			return err
		}
		owner, err := Users.Get(ctx, tx, org, m.OwnerUserID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return s.startSequence(ctx, tx, org, q, cand, owner)
	})
	if err != nil {
		return rpc.Result[ashby.Sequence]{}, err
	}
	return rpc.Value(q), nil
}

type richTextInput struct {
	Type  string `json:"type" required:"true" enum:"text/html"`
	Value string `json:"value" required:"true" maxLength:"long"`
}

type sequenceUpdateStageRequest struct {
	SequenceID ashby.ID       `json:"sequenceId" required:"true"`
	StageID    ashby.ID       `json:"stageId" required:"true" doc:"The id of one of the sequence's stages."`
	Subject    *string        `json:"subject,omitempty" doc:"Plain-text subject replacing the stage's." maxLength:"998"`
	BodyHTML   *string        `json:"bodyHtml,omitempty" doc:"HTML body replacing the stage's." maxLength:"long"`
	Body       *richTextInput `json:"body,omitempty" doc:"The body as rich text {type: text/html, value}; an alternative to bodyHtml."`
}

func (s *Service) sequenceUpdateStage(ctx context.Context, c *rpc.Call, req *sequenceUpdateStageRequest) (rpc.Result[ashby.Sequence], error) {
	if req.BodyHTML != nil && req.Body != nil {
		return rpc.Result[ashby.Sequence]{}, ashby.InvalidInput("body", "Send the body as bodyHtml or as body, not both")
	}
	var subject, body *string
	if req.Subject != nil {
		v, err := stageSubject("subject", *req.Subject)
		if err != nil {
			return rpc.Result[ashby.Sequence]{}, err
		}
		subject = &v
	}
	for field, in := range map[string]*string{"bodyHtml": req.BodyHTML, "body.value": bodyValue(req.Body)} {
		if in == nil {
			continue
		}
		v, err := stageBody(field, *in)
		if err != nil {
			return rpc.Result[ashby.Sequence]{}, err
		}
		body = &v
	}
	if subject == nil && body == nil {
		return rpc.Result[ashby.Sequence]{}, ashby.InvalidInput("subject", "Send subject, bodyHtml or body to update")
	}
	var q *ashby.Sequence
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		if q, err = s.loadOwnedDraft(ctx, tx, c, string(req.SequenceID)); err != nil {
			return err
		}
		if q.Status != ashby.SequenceNotStarted {
			return ashby.InvalidInput("sequenceId", "The sequence has started; only a draft's stages can be changed")
		}
		i := stageIndex(q, string(req.StageID))
		if i < 0 {
			return ashby.InvalidInput("stageId", "Stage %s is not a stage of sequence %s", req.StageID, q.ID)
		}
		if subject != nil {
			q.Stages[i].Subject = *subject
		}
		if body != nil {
			q.Stages[i].BodyHTML = *body
		}
		q.UpdatedAt = s.now()
		return Sequences.Put(ctx, tx, c.Org(), q)
	})
	if err != nil {
		return rpc.Result[ashby.Sequence]{}, err
	}
	return rpc.Value(q), nil
}

func bodyValue(b *richTextInput) *string {
	if b == nil {
		return nil
	}
	return &b.Value
}

func stageIndex(q *ashby.Sequence, id string) int {
	for i, st := range q.Stages {
		if st.ID == id {
			return i
		}
	}
	return -1
}

// sequenceDiscardResult answers sequence.discard; like Ashby's, it does
// not tell whether the sequence existed.
type sequenceDiscardResult struct {
	SequenceID string `json:"sequenceId"`
}

func (s *Service) sequenceDiscard(ctx context.Context, c *rpc.Call, req *sequenceIDRequest) (rpc.Result[sequenceDiscardResult], error) {
	org, id := c.Org(), string(req.SequenceID)
	err := s.write(ctx, func(tx *store.Tx) error {
		q, err := Sequences.GetForUpdate(ctx, tx, org, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil // absent from the organization: already discarded
		}
		if err != nil {
			return err
		}
		var m sequenceMeta
		if _, err := store.GetMeta(ctx, tx, org, Sequences.Name, id, &m); err != nil {
			return err
		}
		if m.OwnerKeyID != c.KeyID {
			return sequenceNotFound()
		}
		if q.Status != ashby.SequenceNotStarted {
			return ashby.InvalidInput("sequenceId", "The sequence has started and cannot be discarded; cancel it instead")
		}
		return Sequences.Delete(ctx, tx, org, id)
	})
	if err != nil {
		return rpc.Result[sequenceDiscardResult]{}, err
	}
	return rpc.Value(&sequenceDiscardResult{SequenceID: id}), nil
}

type sequenceCancelRequest struct {
	SequenceID ashby.ID `json:"sequenceId" required:"true"`
	Reason     string   `json:"reason,omitempty" doc:"Why the sequence stopped, a snake_case code (Ashby's default: booked_meeting)."`
}

var cancelReasonRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

func (s *Service) sequenceCancel(ctx context.Context, c *rpc.Call, req *sequenceCancelRequest) (rpc.Result[ashby.Sequence], error) {
	reason := strings.TrimSpace(req.Reason)
	if reason == "" {
		reason = "booked_meeting"
	}
	if !cancelReasonRE.MatchString(reason) {
		return rpc.Result[ashby.Sequence]{}, ashby.InvalidInput("reason", "reason is a snake_case code such as booked_meeting")
	}
	var q *ashby.Sequence
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		q, err = Sequences.GetForUpdate(ctx, tx, c.Org(), string(req.SequenceID))
		if err != nil {
			return notFound(err, "sequence", "Sequence not found")
		}
		now := s.now()
		settle(q, now.Time)
		switch q.Status {
		case ashby.SequenceNotStarted:
			return ashby.InvalidInput("sequenceId", "The sequence has not started; discard the draft with sequence.discard")
		case ashby.SequenceCompleted:
			return ashby.InvalidInput("sequenceId", "The sequence has completed; there is nothing left to cancel")
		case ashby.SequenceCancelled:
			return ashby.InvalidInput("sequenceId", "The sequence is already cancelled")
		}
		q.Status, q.CancelledAt, q.CancelReason, q.UpdatedAt = ashby.SequenceCancelled, now.Ptr(), &reason, now
		for i := range q.Stages {
			if q.Stages[i].Status == ashby.StageScheduled {
				q.Stages[i].Status = ashby.StageCancelled
			}
		}
		return Sequences.Put(ctx, tx, c.Org(), q)
	})
	if err != nil {
		return rpc.Result[ashby.Sequence]{}, err
	}
	return rpc.Value(q), nil
}

func (s *Service) sequenceInfo(ctx context.Context, c *rpc.Call, req *sequenceIDRequest) (rpc.Result[ashby.Sequence], error) {
	doc, err := Sequences.GetRaw(ctx, s.DB, c.Org(), string(req.SequenceID))
	if err != nil {
		return rpc.Result[ashby.Sequence]{}, notFound(err, "sequence", "Sequence not found")
	}
	if doc, err = settledDoc(doc, s.DB.Now()); err != nil {
		return rpc.Result[ashby.Sequence]{}, err
	}
	return rpc.Raw[ashby.Sequence](doc), nil
}

type sequenceListRequest struct {
	rpc.ListParams
	CandidateID ashby.ID `json:"candidateId,omitempty" doc:"Only this candidate's sequences."`
}

func (s *Service) sequenceList(ctx context.Context, c *rpc.Call, req *sequenceListRequest) (*rpc.Page, error) {
	if req.CandidateID != "" {
		if _, err := mustExist(ctx, s.DB, Candidates, c.Org(), string(req.CandidateID), "candidate", "candidateId"); err != nil {
			return nil, err
		}
	}
	spec := listSpec(c, Sequences.Name, rpc.SyncParams{ListParams: req.ListParams})
	spec.NoSync = true
	spec.Filter.Ref = string(req.CandidateID)
	p, err := s.DB.List(ctx, spec)
	if err != nil {
		return nil, err
	}
	now := s.DB.Now()
	for i, d := range p.Docs {
		if p.Docs[i], err = settledDoc(d, now); err != nil {
			return nil, err
		}
	}
	return page(p), nil
}
