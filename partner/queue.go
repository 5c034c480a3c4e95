package partner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/jobqueue"
	"github.com/ashlarhq/ashlar/store"
)

// Kind is the job kind of calls to partners (package jobqueue). A call's
// job has the integration as its key (the per-key limit is PerPartner),
// the call's subject as its subject and the partner method as its action;
// a dedupe key becomes the job's unique key within the organization.
const Kind = "partner.call"

// callArgs are a call job's arguments.
type callArgs struct {
	IdempotencyKey string `json:"idempotencyKey"`
	// Request is the body sent, kept as the string it is.
	Request string `json:"request"`
}

// callDetail is what an attempt records beyond the queue's fields.
type callDetail struct {
	URL        string `json:"url"`
	StatusCode int    `json:"statusCode,omitempty"`
	Response   string `json:"response,omitempty"`
}

// uniqueKey is the job unique key of a dedupe key of an organization.
func uniqueKey(org, dedupe string) string { return "partner:" + org + ":" + dedupe }

// NewCall is a call to record with Enqueue.
type NewCall struct {
	OrgID         string
	IntegrationID string
	Method        string // the partner's RPC method
	// SubjectID names what the call is about (an assessment start, a
	// workflow run, an integration), for listing and cancelling.
	SubjectID string
	// Dedupe, when set, makes the call unique in the organization: a
	// second Enqueue with the same value records nothing.
	Dedupe string
	// IdempotencyKey is sent on every attempt (default: the call's id).
	IdempotencyKey string
	Body           []byte
	// NotBefore delays the first attempt (default: now).
	NotBefore time.Time
}

func (c NewCall) job() (jobqueue.NewJob, error) {
	if c.OrgID == "" || c.IntegrationID == "" || c.Method == "" {
		return jobqueue.NewJob{}, errors.New("partner call: organization, integration and method are required")
	}
	body := c.Body
	if body == nil {
		body = []byte("{}")
	}
	if !json.Valid(body) {
		return jobqueue.NewJob{}, fmt.Errorf("partner call %s: the request body is not JSON", c.Method)
	}
	id := ashby.NewID()
	key := c.IdempotencyKey
	if key == "" {
		key = id
	}
	j := jobqueue.NewJob{Kind: Kind, ID: id, OrgID: c.OrgID, Key: c.IntegrationID, Subject: c.SubjectID, Action: c.Method,
		Args: callArgs{IdempotencyKey: key, Request: string(body)}, NotBefore: c.NotBefore}
	if c.Dedupe != "" {
		j.UniqueKey = uniqueKey(c.OrgID, c.Dedupe)
	}
	return j, nil
}

// Enqueue records a call in tx, due at once. It returns the call's id and
// whether it was recorded (false when Dedupe matched an existing call,
// whose id is returned). Two transactions recording the same dedupe key
// at once (two processes) end with one call and no error. Workers of this
// process are woken when tx commits; other processes notice within their
// poll interval.
func Enqueue(ctx context.Context, tx *store.Tx, c NewCall) (string, bool, error) {
	j, err := c.job()
	if err != nil {
		return "", false, err
	}
	in, err := jobqueue.Insert(ctx, tx, j)
	if err != nil {
		return "", false, fmt.Errorf("record partner call %s: %w", c.Method, err)
	}
	return in[0].ID, in[0].Created, nil
}

// cancelOne cancels the pending call with this dedupe key that f's
// conditions allow, and reports whether it did.
func cancelOne(ctx context.Context, tx *store.Tx, f jobqueue.Filter, org, dedupe, reason string) (bool, error) {
	f.Kind, f.OrgID, f.UniqueKey = Kind, org, uniqueKey(org, dedupe)
	js, err := jobqueue.Cancel(ctx, tx, f, reason)
	if err != nil {
		return false, fmt.Errorf("cancel partner call: %w", err)
	}
	return len(js) == 1, nil
}

// CancelUnsent cancels the pending call with this dedupe key if no
// attempt of it has started: then the partner has certainly not received
// it. It reports whether it cancelled. A call being attempted, or
// attempted before, is left alone (the partner may have acted on it).
func CancelUnsent(ctx context.Context, tx *store.Tx, org, dedupe, reason string) (bool, error) {
	return cancelOne(ctx, tx, jobqueue.Filter{Unattempted: true}, org, dedupe, reason)
}

// CancelIdle cancels the pending call with this dedupe key unless an
// attempt of it is in flight now (its lease has not expired). It
// reports whether it cancelled.
func CancelIdle(ctx context.Context, tx *store.Tx, org, dedupe, reason string) (bool, error) {
	return cancelOne(ctx, tx, jobqueue.Filter{Idle: true}, org, dedupe, reason)
}

// HasPending reports whether an integration has a pending call of a
// method (a sync still being retried need not be queued again).
func HasPending(ctx context.Context, q store.Q, org, integrationID, method string) (bool, error) {
	n, err := jobqueue.Count(ctx, q, jobqueue.Filter{Kind: Kind, OrgID: org, Key: integrationID, Action: method, State: StatePending})
	if err != nil {
		return false, fmt.Errorf("count pending partner calls: %w", err)
	}
	return n > 0, nil
}

// ReleaseDedupe frees a finished call's dedupe key, so that a new call
// with it can be recorded (retrying a failed cancellation).
func ReleaseDedupe(ctx context.Context, tx *store.Tx, org, dedupe string) error {
	if err := jobqueue.ReleaseUnique(ctx, tx, uniqueKey(org, dedupe)); err != nil {
		return fmt.Errorf("release partner call: %w", err)
	}
	return nil
}

// CancelIntegration cancels every idle pending call to an integration
// (it was disabled or deleted) and returns their ids.
func CancelIntegration(ctx context.Context, tx *store.Tx, org, integrationID, reason string) ([]string, error) {
	js, err := jobqueue.Cancel(ctx, tx, jobqueue.Filter{Kind: Kind, OrgID: org, Key: integrationID, Idle: true}, reason)
	if err != nil {
		return nil, fmt.Errorf("cancel partner calls: %w", err)
	}
	ids := make([]string, len(js))
	for i, j := range js {
		ids[i] = j.ID
	}
	return ids, nil
}

// Call is a recorded call, as handlers, the API and the CLI see it.
type Call struct {
	ID                   string          `json:"id"`
	PartnerIntegrationID string          `json:"partnerIntegrationId"`
	Method               string          `json:"method"`
	SubjectID            string          `json:"subjectId,omitempty"`
	IdempotencyKey       string          `json:"idempotencyKey"`
	Request              json.RawMessage `json:"request"`
	Status               string          `json:"status" enum:"pending,succeeded,failed,cancelled"`
	AttemptCount         int             `json:"attemptCount"`
	NextAttemptAt        *ashby.Time     `json:"nextAttemptAt,omitempty"`
	CreatedAt            ashby.Time      `json:"createdAt"`
	CompletedAt          *ashby.Time     `json:"completedAt,omitempty"`
	LastStatusCode       int             `json:"lastStatusCode,omitempty"`
	LastError            string          `json:"lastError,omitempty"`
	Attempts             []Attempt       `json:"attempts"`

	OrgID  string `json:"-"`
	Dedupe string `json:"-"`
	seq    int64
}

// Attempt is one HTTP attempt of a call.
type Attempt struct {
	Attempt    int        `json:"attempt"`
	StartedAt  ashby.Time `json:"startedAt"`
	URL        string     `json:"url"`
	StatusCode int        `json:"statusCode,omitempty"`
	LatencyMs  int64      `json:"latencyMs"`
	Outcome    string     `json:"outcome" enum:"success,http_error,rejected,timeout,network_error,blocked,abandoned"`
	Response   string     `json:"response,omitempty"`
	Error      string     `json:"error,omitempty"`
	Worker     string     `json:"worker"`
}

// callOf turns a call's job, with its history when loaded, into a Call.
func callOf(j *jobqueue.Job) *Call {
	var a callArgs
	json.Unmarshal(j.Args, &a) // a record that does not decode still lists
	req := json.RawMessage(a.Request)
	if !json.Valid(req) {
		req = json.RawMessage(`{}`)
	}
	c := &Call{ID: j.ID, PartnerIntegrationID: j.Key, Method: j.Action, SubjectID: j.Subject, IdempotencyKey: a.IdempotencyKey, Request: req,
		Status: j.State, AttemptCount: j.Attempt, CreatedAt: ashby.NewTime(j.CreatedAt), LastError: j.LastError, Attempts: []Attempt{},
		OrgID: j.OrgID, Dedupe: strings.TrimPrefix(j.UniqueKey, uniqueKey(j.OrgID, "")), seq: j.Seq}
	if j.State == StatePending {
		t := ashby.NewTime(j.RunAt)
		c.NextAttemptAt = &t
	}
	if !j.DoneAt.IsZero() {
		t := ashby.NewTime(j.DoneAt)
		c.CompletedAt = &t
	}
	for _, h := range j.History {
		var d callDetail
		if h.Detail != nil {
			json.Unmarshal(h.Detail, &d)
		}
		c.Attempts = append(c.Attempts, Attempt{Attempt: h.Attempt, StartedAt: ashby.NewTime(h.StartedAt), URL: d.URL, StatusCode: d.StatusCode,
			LatencyMs: h.Duration.Milliseconds(), Outcome: h.Outcome, Response: d.Response, Error: h.Error, Worker: h.Worker})
		if h.Outcome != jobqueue.OutcomeAbandoned {
			c.LastStatusCode = d.StatusCode // the status the last attempt got
		}
	}
	return c
}

// Filter selects calls of an organization for List.
type Filter struct {
	IntegrationID string
	SubjectID     string
	Method        string
	Status        string
	// Cursor continues a previous List (its next cursor).
	Cursor string
	Limit  int // 1–100, default 20
}

// ErrBadCursor is returned by List for a cursor it did not issue.
var ErrBadCursor = errors.New("invalid cursor")

// List returns an organization's calls, newest first, each with its
// attempts, and the cursor of the next page ("" on the last).
func List(ctx context.Context, q store.Q, org string, f Filter) ([]*Call, string, error) {
	limit := f.Limit
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	jf := jobqueue.Filter{Kind: Kind, OrgID: org, Key: f.IntegrationID, Subject: f.SubjectID, Action: f.Method, State: f.Status, Limit: limit + 1}
	if f.Cursor != "" {
		before, err := strconv.ParseInt(f.Cursor, 36, 64)
		if err != nil || before <= 0 {
			return nil, "", ErrBadCursor
		}
		jf.Before = before
	}
	js, err := jobqueue.List(ctx, q, jf)
	if err != nil {
		return nil, "", fmt.Errorf("list partner calls: %w", err)
	}
	next := ""
	if len(js) > limit {
		js = js[:limit]
		next = strconv.FormatInt(js[limit-1].Seq, 36)
	}
	if err := jobqueue.LoadAttempts(ctx, q, js); err != nil {
		return nil, "", err
	}
	out := make([]*Call, len(js))
	for i, j := range js {
		out[i] = callOf(j)
	}
	return out, next, nil
}

// Get returns one call of the organization with its attempts.
func Get(ctx context.Context, q store.Q, org, id string) (*Call, error) {
	j, err := jobqueue.Get(ctx, q, jobqueue.Filter{Kind: Kind, OrgID: org, ID: id})
	if errors.Is(err, jobqueue.ErrNotFound) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get partner call: %w", err)
	}
	if err := jobqueue.LoadAttempts(ctx, q, []*jobqueue.Job{j}); err != nil {
		return nil, err
	}
	return callOf(j), nil
}

// ByDedupe returns the call with a dedupe key, without its attempts.
func ByDedupe(ctx context.Context, q store.Q, org, dedupe string) (*Call, error) {
	j, err := jobqueue.Get(ctx, q, jobqueue.Filter{Kind: Kind, OrgID: org, UniqueKey: uniqueKey(org, dedupe)})
	if errors.Is(err, jobqueue.ErrNotFound) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get partner call: %w", err)
	}
	return callOf(j), nil
}

// Direct makes a call at once, outside the outbox, and records it and its
// attempt like a queued one, so that it is inspectable too. Endpoints
// whose caller waits for the partner's answer (syncing assessment types
// on demand, listing and starting workflows) use it; there is one
// attempt, and the caller sees its outcome.
func (c *Client) Direct(ctx context.Context, db *store.DB, call NewCall, target Target, worker string) (*Response, string, error) {
	call.Dedupe, call.NotBefore = "", time.Time{}
	j, err := call.job()
	if err != nil {
		return nil, "", err
	}
	key := j.Args.(callArgs).IdempotencyKey
	started := time.Now()
	resp := c.Do(ctx, Request{BaseURL: target.BaseURL, Key: target.Key, Method: call.Method, Body: call.Body, IdempotencyKey: key})
	state, errText := StateSucceeded, resp.Err
	outcome := resp.Outcome
	switch {
	case resp.Status == 0:
		state = StateFailed
	case resp.Status < 200 || resp.Status > 299:
		state, outcome = StateFailed, OutcomeRejected
		if errText == "" {
			errText = fmt.Sprintf("HTTP %d", resp.Status)
		}
	}
	detail, _ := json.Marshal(callDetail{URL: resp.URL, StatusCode: resp.Status, Response: c.LogText(resp.Body)})
	err = db.Write(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		_, err := jobqueue.InsertFinished(ctx, tx, j, state, errText, jobqueue.Attempt{Worker: worker, StartedAt: started, Duration: resp.Latency,
			Outcome: outcome, Error: errText, Detail: detail})
		return err
	})
	if err != nil {
		return resp, j.ID, fmt.Errorf("record partner call: %w", err)
	}
	return resp, j.ID, nil
}

// Redact replaces the request bodies and kept responses of calls about
// these subjects (an anonymized candidate's assessment starts): they hold
// the candidate's name and email.
func Redact(ctx context.Context, tx *store.Tx, org string, subjects []string) error {
	for _, s := range subjects {
		f := jobqueue.Filter{Kind: Kind, OrgID: org, Subject: s}
		err := jobqueue.RewriteAttempts(ctx, tx, f, func(j *jobqueue.Job, a *jobqueue.Attempt) json.RawMessage {
			var d callDetail
			if a.Detail == nil || json.Unmarshal(a.Detail, &d) != nil || d.Response == "" {
				return nil
			}
			d.Response = ""
			b, _ := json.Marshal(d)
			return b
		})
		if err != nil {
			return fmt.Errorf("redact partner call attempts: %w", err)
		}
		err = jobqueue.Rewrite(ctx, tx, f, func(j *jobqueue.Job) json.RawMessage {
			var a callArgs
			json.Unmarshal(j.Args, &a)
			a.Request = `{"redacted":true}`
			b, _ := json.Marshal(a)
			return b
		})
		if err != nil {
			return fmt.Errorf("redact partner calls: %w", err)
		}
	}
	return nil
}

// DeleteFinished removes calls that ended before t, with their attempts.
// The job queue deletes them past the retention by itself; this is for
// tools and tests.
func DeleteFinished(ctx context.Context, db *store.DB, before time.Time) (int64, error) {
	n, err := jobqueue.Prune(ctx, db, Kind, before)
	return int64(n), err
}
