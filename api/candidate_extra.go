package api

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

func init() { register((*Service).candidateExtraEndpoints) }

// FraudChecks: Parent = candidate (outside the record's own fields it is
// also candidateId).
var FraudChecks = store.Kind[ashby.FraudCheck]{Name: "fraud_check", Index: func(f *ashby.FraudCheck) store.Index {
	return store.Index{ID: f.ID, CreatedAt: f.CreatedAt.Time, Parent: f.CandidateID}
}}

// EmailMessages: Parent = candidate; Search = the provider's email id, so
// that recording the same email twice is refused.
var EmailMessages = store.Kind[ashby.EmailMessage]{Name: "email_message", Index: func(m *ashby.EmailMessage) store.Index {
	return store.Index{ID: m.ID, CreatedAt: m.SentAt.Time, Parent: m.CandidateID, Unique: m.CandidateID + "/" + m.EmailProviderEmailID}
}}

func (s *Service) candidateExtraEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.List[ashby.ClientInfo](rpc.Spec{Name: "candidate.listClientInfo", Permission: ashby.CandidatesRead, Summary: "The IP addresses and user agents a candidate applied from; supports incremental sync."}, s.candidateListClientInfo),
		rpc.List[ashby.FraudCheck](rpc.Spec{Name: "candidate.listFraudChecks", Permission: ashby.CandidatesRead, Summary: "A candidate's fraud reviews, oldest first."}, s.candidateListFraudChecks),
		rpc.Object(rpc.Spec{Name: "candidate.setFraudStatus", Permission: ashby.CandidatesWrite, Summary: "Record a reviewer's fraud verdict on a candidate."}, s.candidateSetFraudStatus),
		rpc.Object(rpc.Spec{Name: "candidate.addEmailMessage", Permission: ashby.CandidatesWrite, Summary: "Record an email exchanged with a candidate (sent or received outside Ashlar)."}, s.candidateAddEmailMessage),
	}
}

// Client info

type candidateIDListRequest struct {
	rpc.SyncParams
	CandidateID ashby.ID `json:"candidateId" required:"true"`
}

// candidateListClientInfo lists, as ClientInfo, the applications of the
// candidate that were submitted with a client address (applications made
// through application forms and the careers site; ones created by API
// calls record none). Each application yields one entry whose id is
// derived from the application's, so it stays stable across calls.
func (s *Service) candidateListClientInfo(ctx context.Context, c *rpc.Call, req *candidateIDListRequest) (*rpc.Page, error) {
	if _, err := mustExist(ctx, s.DB, Candidates, c.Org(), string(req.CandidateID), "candidate", "candidateId"); err != nil {
		return nil, err
	}
	spec := listSpec(c, Applications.Name, req.SyncParams)
	spec.Filter.Ref = string(req.CandidateID)
	spec.Filter.IncludeArchived = true
	spec.Conds = []store.Cond{{SQL: "doc LIKE ?", Args: []any{`%"submitterClientIp":"%`}}}
	p, err := s.DB.List(ctx, spec)
	if err != nil {
		return nil, err
	}
	for i, d := range p.Docs {
		var app ashby.Application
		if err := json.Unmarshal(d, &app); err != nil {
			return nil, fmt.Errorf("decode application: %w", err)
		}
		p.Docs[i] = mustJSON(ashby.ClientInfo{ID: derivedID("client-info", app.ID), IPAddress: app.SubmitterClientIP, UserAgent: app.SubmitterUserAgent,
			RelatedEntityType: "application", RelatedEntityID: app.ID, CandidateID: app.Candidate.ID, CreatedAt: app.CreatedAt})
	}
	return page(p), nil
}

// derivedID is a stable UUID (version 8, name-based) for a record derived
// from another.
func derivedID(kind, from string) string {
	h := sha256.Sum256([]byte(kind + "\x00" + from))
	h[6] = h[6]&0x0f | 0x80
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// Fraud checks

type candidateIDPageRequest struct {
	rpc.ListParams
	CandidateID ashby.ID `json:"candidateId" required:"true"`
}

func (s *Service) candidateListFraudChecks(ctx context.Context, c *rpc.Call, req *candidateIDPageRequest) (*rpc.Page, error) {
	if _, err := mustExist(ctx, s.DB, Candidates, c.Org(), string(req.CandidateID), "candidate", "candidateId"); err != nil {
		return nil, err
	}
	spec := listSpec(c, FraudChecks.Name, rpc.SyncParams{ListParams: req.ListParams})
	spec.Filter.Parent = string(req.CandidateID)
	spec.NoSync = true
	return s.listPage(ctx, spec)
}

type candidateSetFraudStatusRequest struct {
	CandidateID ashby.ID `json:"candidateId" required:"true"`
	FraudStatus string   `json:"fraudStatus" required:"true" enum:"Fraudulent,NotFraudulent,Unsure"`
}

// candidateSetFraudStatus sets the candidate's verdict and records the
// review as a fraud check (Ashlar runs no automated fraud detection, so
// manual reviews are the checks it has).
func (s *Service) candidateSetFraudStatus(ctx context.Context, c *rpc.Call, req *candidateSetFraudStatusRequest) (rpc.Result[ashby.Candidate], error) {
	return s.UpdateCandidate(ctx, c.Org(), string(req.CandidateID), func(tx *store.Tx, cand *ashby.Candidate) error {
		previous := "Unreviewed"
		if cand.FraudStatus != nil {
			previous = *cand.FraudStatus
		}
		if previous == req.FraudStatus {
			return nil
		}
		status := req.FraudStatus
		cand.FraudStatus = &status
		actor, err := s.actingUser(ctx, tx, c)
		if err != nil {
			return err
		}
		check := &ashby.FraudCheck{ID: ashby.NewID(), CandidateID: cand.ID, CreatedAt: s.now(), FraudSignals: []ashby.FraudSignal{{
			ID: ashby.NewID(), Category: "ManualReview", Name: "Fraud status set to " + status,
			Description: fmt.Sprintf("%s %s changed the fraud status from %s to %s.", actor.FirstName, actor.LastName, previous, status), Value: status}}}
		return FraudChecks.Put(ctx, tx, c.Org(), check)
	})
}

// Email messages

type candidateAddEmailMessageRequest struct {
	CandidateID          ashby.ID    `json:"candidateId" required:"true"`
	EmailProviderEmailID string      `json:"emailProviderEmailId" required:"true" doc:"The message's id at the email provider; recording the same id twice for a candidate is refused."`
	Subject              string      `json:"subject" required:"true" maxLength:"998"`
	From                 string      `json:"from" required:"true" maxLength:"text"`
	To                   string      `json:"to" required:"true" maxLength:"text"`
	Body                 string      `json:"body" required:"true" maxLength:"long"`
	UserID               ashby.ID    `json:"userId,omitempty" doc:"The user who exchanged the email."`
	SentAt               *ashby.Time `json:"sentAt,omitempty" doc:"Default: now."`
	CC                   string      `json:"cc,omitempty" maxLength:"text"`
	MessageURL           string      `json:"messageUrl,omitempty" maxLength:"url"`
	MessageIDHeader      string      `json:"messageIdHeader,omitempty" maxLength:"998"`
	ThreadID             string      `json:"threadId,omitempty" doc:"Default: the provider's email id (a thread of its own)."`
	IsPrivate            bool        `json:"isPrivate,omitempty"`
}

func (s *Service) candidateAddEmailMessage(ctx context.Context, c *rpc.Call, req *candidateAddEmailMessageRequest) (rpc.Result[ashby.EmailMessage], error) {
	if req.MessageURL != "" {
		if u, err := url.Parse(req.MessageURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return rpc.Result[ashby.EmailMessage]{}, ashby.InvalidInput("messageUrl", "messageUrl must be an http or https URL")
		}
	}
	m := &ashby.EmailMessage{ID: ashby.NewID(), CandidateID: string(req.CandidateID), EmailProviderEmailID: strings.TrimSpace(req.EmailProviderEmailID),
		Subject: req.Subject, From: strings.TrimSpace(req.From), To: strings.TrimSpace(req.To), Body: &req.Body, SentAt: s.now(),
		CC: optional(req.CC), MessageURL: optional(req.MessageURL), MessageIDHeader: optional(req.MessageIDHeader),
		ThreadID: strings.TrimSpace(req.ThreadID), IsPrivate: req.IsPrivate}
	if req.SentAt != nil {
		m.SentAt = *req.SentAt
	}
	if m.ThreadID == "" {
		m.ThreadID = m.EmailProviderEmailID
	}
	err := s.write(ctx, func(tx *store.Tx) error {
		if _, err := mustExist(ctx, tx, Candidates, c.Org(), m.CandidateID, "candidate", "candidateId"); err != nil {
			return err
		}
		if req.UserID != "" {
			u, err := mustShare(ctx, tx, Users, c.Org(), string(req.UserID), "user", "userId")
			if err != nil {
				return err
			}
			// The user sent it when the From header names their address.
			m.UserIsSender = u.Email != "" && strings.Contains(lc(m.From), lc(u.Email))
		}
		err := EmailMessages.Put(ctx, tx, c.Org(), m)
		if errors.Is(err, store.ErrDuplicate) {
			return ashby.Errorf("email_message_already_exists", "Email %s is already recorded for this candidate", m.EmailProviderEmailID)
		}
		return err
	})
	if err != nil {
		return rpc.Result[ashby.EmailMessage]{}, err
	}
	return rpc.Value(m), nil
}

func optional(s string) *string {
	if s = strings.TrimSpace(s); s == "" {
		return nil
	}
	return &s
}
