package email

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/jobqueue"
	"github.com/ashlarhq/ashlar/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() { store.RegisterMigrations(migrations, "migrations") }

// What an email is about (Email.Kind).
const (
	KindApplicationConfirmation = "applicationConfirmation"
	KindArchive                 = "archive"
	KindSurvey                  = "surveyRequest"
	KindManual                  = "manual"
)

// Statuses of an email.
const (
	StatusQueued  = "queued"
	StatusSent    = "sent"
	StatusFailed  = "failed"
	StatusNotSent = "not_sent"
)

// JobKind is the job queue's kind for deliveries.
const JobKind = "email.send"

// Email is one recorded email (the API's Ashlar extension object).
type Email struct {
	ID            string      `json:"id"`
	CandidateID   string      `json:"candidateId,omitempty"`
	ApplicationID string      `json:"applicationId,omitempty"`
	Kind          string      `json:"kind" enum:"applicationConfirmation,archive,surveyRequest,manual"`
	TemplateID    string      `json:"communicationTemplateId,omitempty"`
	SenderUserID  string      `json:"sentByUserId,omitempty"`
	From          string      `json:"from"`
	To            string      `json:"to"`
	ReplyTo       string      `json:"replyTo,omitempty"`
	Subject       string      `json:"subject"`
	BodyHTML      string      `json:"bodyHtml"`
	BodyText      string      `json:"bodyText"`
	MessageID     string      `json:"messageId"`
	Status        string      `json:"status" enum:"queued,sent,failed,not_sent"`
	Reason        string      `json:"reason,omitempty"`
	Attempts      int         `json:"attempts"`
	SendAt        ashby.Time  `json:"sendAt"`
	SentAt        *ashby.Time `json:"sentAt,omitempty"`
	CreatedAt     ashby.Time  `json:"createdAt"`
	orgID         string
}

// Sender delivers a message (SMTP).
type Sender interface {
	Send(ctx context.Context, m *Message) error
}

// Outbox records emails and has the job queue deliver them.
type Outbox struct {
	db  *store.DB
	mu  sync.RWMutex
	snd Sender
	// from is the From of every email (--mail-from).
	from mail.Address
	log  *slog.Logger
}

// NotConfigured is the reason given for emails made while no SMTP server
// is configured.
const NotConfigured = "No SMTP server is configured (ashlar serve --smtp-url), so the email was recorded but not sent."

// NewOutbox returns an outbox on db that sends nothing until Configure
// gives it a sender: emails are recorded as not sent.
func NewOutbox(db *store.DB) *Outbox { return &Outbox{db: db, log: slog.Default()} }

// Configure makes the outbox send with snd from the address from.
func (o *Outbox) Configure(snd Sender, from mail.Address, log *slog.Logger) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.snd, o.from = snd, from
	if log != nil {
		o.log = log
	}
}

// Sending reports whether emails are sent (a sender is configured).
func (o *Outbox) Sending() bool {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.snd != nil
}

// From is the address emails are sent from ("" when not configured).
func (o *Outbox) From() mail.Address {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.from
}

// Enqueue records e in tx and, when a sender is configured, queues its
// delivery at e.SendAt (now when in the past): both commit with tx. The
// id, message id, status and times are filled in.
func (o *Outbox) Enqueue(ctx context.Context, tx *store.Tx, org string, e *Email) error {
	now := tx.DB().Now()
	e.ID = ashby.NewID()
	e.CreatedAt = ashby.NewTime(now)
	if e.SendAt.IsZero() || e.SendAt.Before(now) {
		e.SendAt = ashby.NewTime(now)
	}
	from := o.From()
	if from.Address != "" {
		e.From = from.String()
	}
	domain := "ashlar.invalid"
	if _, d, ok := strings.Cut(from.Address, "@"); ok {
		domain = d
	}
	e.MessageID = NewMessageID(domain)
	e.Status = StatusQueued
	if !o.Sending() {
		e.Status, e.Reason = StatusNotSent, NotConfigured
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO emails (id, org_id, candidate_id, application_id, kind, template_id, sender_user_id, from_addr, to_addr, reply_to,
		subject, body_html, body_text, message_id, status, reason, attempts, send_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 0, $17, $18)`,
		e.ID, org, nullable(e.CandidateID), nullable(e.ApplicationID), e.Kind, nullable(e.TemplateID), nullable(e.SenderUserID), e.From, e.To,
		nullable(e.ReplyTo), e.Subject, e.BodyHTML, e.BodyText, e.MessageID, e.Status, nullable(e.Reason), e.SendAt.UnixMilli(), e.CreatedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("record email: %w", err)
	}
	if e.Status != StatusQueued {
		return nil
	}
	domainKey := "default"
	if _, d, ok := strings.Cut(e.To, "@"); ok {
		domainKey = strings.ToLower(strings.Trim(d, "> "))
	}
	_, err = jobqueue.Insert(ctx, tx, jobqueue.NewJob{Kind: JobKind, OrgID: org, Key: domainKey, Subject: e.ID, Action: e.Kind,
		UniqueKey: "email:" + e.ID, Args: jobArgs{EmailID: e.ID}, NotBefore: e.SendAt.Time})
	return err
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

type jobArgs struct {
	EmailID string `json:"emailId"`
}

// Kind is the job queue's kind that delivers emails: at most 4 at once,
// 2 per recipient domain; up to 8 attempts over about 21 hours
// (Exponential(1 min)); a permanent refusal (5xx) fails at once.
func (o *Outbox) Kind() jobqueue.Kind {
	return jobqueue.Kind{Name: JobKind, Workers: 4, PerKey: 2, Timeout: 45 * time.Second, MaxAttempts: 8,
		Backoff: jobqueue.Exponential(time.Minute), Retention: 30 * 24 * time.Hour,
		Handler: jobqueue.Handler{Begin: o.begin, Work: o.work, Settle: o.settle, Ended: o.ended}}
}

// WithBackoff is Kind with another retry delay (tests).
func (o *Outbox) WithBackoff(k jobqueue.Kind, base time.Duration) jobqueue.Kind {
	k.Backoff = jobqueue.Exponential(base)
	return k
}

// begin loads each job's email; a job whose email is gone or no longer
// queued ends without an attempt.
func (o *Outbox) begin(ctx context.Context, tx *store.Tx, jobs []*jobqueue.Job) error {
	for _, j := range jobs {
		var a jobArgs
		if err := json.Unmarshal(j.Args, &a); err != nil {
			j.End(jobqueue.Failed, "malformed arguments")
			continue
		}
		e, err := get(ctx, tx, j.OrgID, a.EmailID)
		if errors.Is(err, store.ErrNotFound) {
			j.End(jobqueue.Cancelled, "the email is gone")
			continue
		}
		if err != nil {
			return err
		}
		if e.Status != StatusQueued {
			j.End(jobqueue.Cancelled, "the email is "+e.Status)
			continue
		}
		j.Data = e
	}
	return nil
}

// attemptDetail is the job attempt's record.
type attemptDetail struct {
	To     string `json:"to"`
	Server string `json:"server,omitempty"`
}

func (o *Outbox) work(ctx context.Context, j *jobqueue.Job) jobqueue.Result {
	e := j.Data.(*Email)
	o.mu.RLock()
	snd := o.snd
	o.mu.RUnlock()
	if snd == nil {
		return jobqueue.Result{State: jobqueue.Pending, Outcome: "not_configured", Err: "no SMTP server is configured in this process"}
	}
	m, err := e.message()
	if err != nil {
		return jobqueue.Result{State: jobqueue.Failed, Outcome: "invalid", Err: err.Error()}
	}
	detail := attemptDetail{To: e.To}
	if s, ok := snd.(fmt.Stringer); ok {
		detail.Server = s.String()
	}
	if err := snd.Send(ctx, m); err != nil {
		var se *SendError
		if errors.As(err, &se) && se.Permanent {
			return jobqueue.Result{State: jobqueue.Failed, Outcome: "refused", Err: err.Error(), Detail: detail}
		}
		return jobqueue.Result{State: jobqueue.Pending, Outcome: "error", Err: err.Error(), Detail: detail}
	}
	return jobqueue.Result{State: jobqueue.Succeeded, Outcome: "sent", Detail: detail}
}

// settle records the attempt's outcome on the email, in the transaction
// that records the attempt.
func (o *Outbox) settle(ctx context.Context, tx *store.Tx, j *jobqueue.Job, r *jobqueue.Result) error {
	e := j.Data.(*Email)
	now := tx.DB().Now().UnixMilli()
	switch r.State {
	case jobqueue.Succeeded:
		_, err := tx.ExecContext(ctx, `UPDATE emails SET status = $3, reason = NULL, attempts = attempts + 1, sent_at = $4 WHERE org_id = $1 AND id = $2`,
			j.OrgID, e.ID, StatusSent, now)
		return err
	case jobqueue.Failed:
		_, err := tx.ExecContext(ctx, `UPDATE emails SET status = $3, reason = $4, attempts = attempts + 1 WHERE org_id = $1 AND id = $2`,
			j.OrgID, e.ID, StatusFailed, r.Err)
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE emails SET reason = $3, attempts = attempts + 1 WHERE org_id = $1 AND id = $2`, j.OrgID, e.ID, "Will try again: "+r.Err)
	return err
}

// ended fails an email whose job ended without its own result (out of
// attempts).
func (o *Outbox) ended(ctx context.Context, tx *store.Tx, j *jobqueue.Job, state, reason string) error {
	var a jobArgs
	if json.Unmarshal(j.Args, &a) != nil {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE emails SET status = $3, reason = $4 WHERE org_id = $1 AND id = $2 AND status = $5`,
		j.OrgID, a.EmailID, StatusFailed, reason, StatusQueued)
	return err
}

// message builds the email's message.
func (e *Email) message() (*Message, error) {
	from, err := mail.ParseAddress(e.From)
	if err != nil {
		return nil, fmt.Errorf("from address %q: %w", e.From, err)
	}
	to, err := mail.ParseAddress(e.To)
	if err != nil {
		return nil, fmt.Errorf("to address %q: %w", e.To, err)
	}
	m := &Message{From: *from, To: *to, Subject: e.Subject, HTML: e.BodyHTML, Text: e.BodyText, ID: e.MessageID, Date: e.SendAt.Time}
	if e.ReplyTo != "" {
		if rt, err := mail.ParseAddress(e.ReplyTo); err == nil {
			m.ReplyTo = rt
		}
	}
	return m, nil
}

// Bytes is the email as it is (or would be) sent.
func (e *Email) Bytes() ([]byte, error) {
	m, err := e.message()
	if err != nil {
		return nil, err
	}
	return m.Bytes(), nil
}

const columns = `id, org_id, COALESCE(candidate_id, ''), COALESCE(application_id, ''), kind, COALESCE(template_id, ''), COALESCE(sender_user_id, ''),
	from_addr, to_addr, COALESCE(reply_to, ''), subject, body_html, body_text, message_id, status, COALESCE(reason, ''), attempts, send_at, sent_at, created_at`

func scan(row interface{ Scan(...any) error }) (*Email, error) {
	var e Email
	var sendAt, createdAt int64
	var sentAt sql.NullInt64
	if err := row.Scan(&e.ID, &e.orgID, &e.CandidateID, &e.ApplicationID, &e.Kind, &e.TemplateID, &e.SenderUserID, &e.From, &e.To, &e.ReplyTo,
		&e.Subject, &e.BodyHTML, &e.BodyText, &e.MessageID, &e.Status, &e.Reason, &e.Attempts, &sendAt, &sentAt, &createdAt); err != nil {
		return nil, err
	}
	e.SendAt, e.CreatedAt = ashby.NewTime(time.UnixMilli(sendAt)), ashby.NewTime(time.UnixMilli(createdAt))
	if sentAt.Valid {
		t := ashby.NewTime(time.UnixMilli(sentAt.Int64))
		e.SentAt = &t
	}
	return &e, nil
}

func get(ctx context.Context, q store.Q, org, id string) (*Email, error) {
	e, err := scan(q.QueryRowContext(ctx, `SELECT `+columns+` FROM emails WHERE org_id = $1 AND id = $2`, org, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return e, err
}

// Get returns one email of an organization.
func Get(ctx context.Context, q store.Q, org, id string) (*Email, error) { return get(ctx, q, org, id) }

// Filter selects emails, newest first.
type Filter struct {
	CandidateID string
	Status      string
	// Before pages: only emails created before this (epoch ms), 0: none.
	Before int64
	Limit  int
}

// List returns an organization's emails, newest first.
func List(ctx context.Context, q store.Q, org string, f Filter) ([]*Email, error) {
	args := []any{org}
	where := "org_id = $1"
	if f.CandidateID != "" {
		args = append(args, f.CandidateID)
		where += fmt.Sprintf(" AND candidate_id = $%d", len(args))
	}
	if f.Status != "" {
		args = append(args, f.Status)
		where += fmt.Sprintf(" AND status = $%d", len(args))
	}
	if f.Before > 0 {
		args = append(args, f.Before)
		where += fmt.Sprintf(" AND created_at < $%d", len(args))
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := q.QueryContext(ctx, `SELECT `+columns+` FROM emails WHERE `+where+fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT %d`, limit), args...)
	if err != nil {
		return nil, fmt.Errorf("list emails: %w", err)
	}
	defer rows.Close()
	var out []*Email
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// DeleteCandidate removes a candidate's emails (when the candidate is
// anonymized), cancelling their deliveries.
func DeleteCandidate(ctx context.Context, tx *store.Tx, org, candidateID string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM emails WHERE org_id = $1 AND candidate_id = $2`, org, candidateID)
	return err
}
