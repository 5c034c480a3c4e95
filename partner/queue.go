package partner

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
)

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

// Enqueue records a call in tx, due at once. It returns the call's id and
// whether it was recorded (false when Dedupe matched an existing call,
// whose id is returned). Workers of this process are woken when tx
// commits; other processes notice within their poll interval.
func Enqueue(ctx context.Context, tx *store.Tx, c NewCall) (string, bool, error) {
	if c.OrgID == "" || c.IntegrationID == "" || c.Method == "" {
		return "", false, errors.New("partner call: organization, integration and method are required")
	}
	id := ashby.NewID()
	key := c.IdempotencyKey
	if key == "" {
		key = id
	}
	body := c.Body
	if body == nil {
		body = []byte("{}")
	}
	now := tx.DB().Now()
	at := c.NotBefore
	if at.IsZero() || at.Before(now) {
		at = now
	}
	var dedupe any
	if c.Dedupe != "" {
		dedupe = c.Dedupe
	}
	// ON CONFLICT DO NOTHING rather than check-then-insert: two
	// transactions recording the same dedupe key at once (two processes)
	// end with one call and no error.
	res, err := tx.ExecContext(ctx, `INSERT INTO partner_calls (id, org_id, integration_id, method, subject_id, dedupe, idempotency_key, request, state, next_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10)
		ON CONFLICT (org_id, dedupe) WHERE dedupe IS NOT NULL DO NOTHING`,
		id, c.OrgID, c.IntegrationID, c.Method, nullIfEmpty(c.SubjectID), dedupe, key, string(body), store.Millis(at), store.Millis(now))
	if err != nil {
		return "", false, fmt.Errorf("record partner call %s: %w", c.Method, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var existing string
		if err := tx.QueryRowContext(ctx, `SELECT id FROM partner_calls WHERE org_id = $1 AND dedupe = $2`, c.OrgID, c.Dedupe).Scan(&existing); err != nil {
			return "", false, fmt.Errorf("find partner call %s: %w", c.Dedupe, err)
		}
		return existing, false, nil
	}
	tx.AfterCommit(wakeLocal)
	return id, true, nil
}

// CancelUnsent cancels the pending call with this dedupe key if no
// attempt of it has started: then the partner has certainly not received
// it. It reports whether it cancelled. A call being attempted, or
// attempted before, is left alone (the partner may have acted on it).
func CancelUnsent(ctx context.Context, tx *store.Tx, org, dedupe, reason string) (bool, error) {
	now := store.Millis(tx.DB().Now())
	res, err := tx.ExecContext(ctx, `UPDATE partner_calls SET state = 'cancelled', done_at = $3, last_error = $4
		WHERE org_id = $1 AND dedupe = $2 AND state = 'pending' AND attempts = 0 AND lease_owner IS NULL`, org, dedupe, now, reason)
	if err != nil {
		return false, fmt.Errorf("cancel partner call: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// HasPending reports whether an integration has a pending call of a
// method (a sync still being retried need not be queued again).
func HasPending(ctx context.Context, q store.Q, org, integrationID, method string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM partner_calls WHERE org_id = $1 AND integration_id = $2 AND method = $3 AND state = 'pending'`,
		org, integrationID, method).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("count pending partner calls: %w", err)
	}
	return n > 0, nil
}

// ReleaseDedupe frees a finished call's dedupe key, so that a new call
// with it can be recorded (retrying a failed cancellation).
func ReleaseDedupe(ctx context.Context, tx *store.Tx, org, dedupe string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE partner_calls SET dedupe = NULL WHERE org_id = $1 AND dedupe = $2 AND state <> 'pending'`, org, dedupe); err != nil {
		return fmt.Errorf("release partner call: %w", err)
	}
	return nil
}

// CancelIdle cancels the pending call with this dedupe key unless an
// attempt of it is in flight now (its lease has not expired). It
// reports whether it cancelled.
func CancelIdle(ctx context.Context, tx *store.Tx, org, dedupe, reason string) (bool, error) {
	now := store.Millis(tx.DB().Now())
	res, err := tx.ExecContext(ctx, `UPDATE partner_calls SET state = 'cancelled', done_at = $3, last_error = $4, lease_owner = NULL, lease_until = NULL
		WHERE org_id = $1 AND dedupe = $2 AND state = 'pending' AND (lease_until IS NULL OR lease_until <= $3)`, org, dedupe, now, reason)
	if err != nil {
		return false, fmt.Errorf("cancel partner call: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// CancelIntegration cancels every idle pending call to an integration
// (it was disabled or deleted) and returns their ids.
func CancelIntegration(ctx context.Context, tx *store.Tx, org, integrationID, reason string) ([]string, error) {
	now := store.Millis(tx.DB().Now())
	rows, err := tx.QueryContext(ctx, `SELECT id FROM partner_calls WHERE org_id = $1 AND integration_id = $2 AND state = 'pending'
		AND (lease_until IS NULL OR lease_until <= $3)`, org, integrationID, now)
	if err != nil {
		return nil, fmt.Errorf("find partner calls: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `UPDATE partner_calls SET state = 'cancelled', done_at = $2, last_error = $3, lease_owner = NULL, lease_until = NULL
			WHERE id = $1`, id, now, reason); err != nil {
			return nil, fmt.Errorf("cancel partner call: %w", err)
		}
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

const callColumns = `seq, id, org_id, integration_id, method, COALESCE(subject_id, ''), COALESCE(dedupe, ''), idempotency_key, request, state, attempts,
	next_at, created_at, done_at, last_status, COALESCE(last_error, '')`

func scanCall(scan func(...any) error) (*Call, error) {
	var c Call
	var req string
	var next, created int64
	var done sql.NullInt64
	if err := scan(&c.seq, &c.ID, &c.OrgID, &c.PartnerIntegrationID, &c.Method, &c.SubjectID, &c.Dedupe, &c.IdempotencyKey, &req, &c.Status,
		&c.AttemptCount, &next, &created, &done, &c.LastStatusCode, &c.LastError); err != nil {
		return nil, err
	}
	c.Request = json.RawMessage(req)
	c.CreatedAt = ashby.NewTime(time.UnixMilli(created))
	if c.Status == StatePending {
		t := ashby.NewTime(time.UnixMilli(next))
		c.NextAttemptAt = &t
	}
	if done.Valid {
		t := ashby.NewTime(time.UnixMilli(done.Int64))
		c.CompletedAt = &t
	}
	c.Attempts = []Attempt{}
	return &c, nil
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
	conds := []string{"org_id = $1"}
	args := []any{org}
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1))
	}
	if f.IntegrationID != "" {
		add("integration_id = ?", f.IntegrationID)
	}
	if f.SubjectID != "" {
		add("subject_id = ?", f.SubjectID)
	}
	if f.Method != "" {
		add("method = ?", f.Method)
	}
	if f.Status != "" {
		add("state = ?", f.Status)
	}
	if f.Cursor != "" {
		before, err := strconv.ParseInt(f.Cursor, 36, 64)
		if err != nil || before <= 0 {
			return nil, "", ErrBadCursor
		}
		add("seq < ?", before)
	}
	args = append(args, limit+1)
	rows, err := q.QueryContext(ctx, `SELECT `+callColumns+` FROM partner_calls WHERE `+strings.Join(conds, " AND ")+
		` ORDER BY seq DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, "", fmt.Errorf("list partner calls: %w", err)
	}
	var out []*Call
	for rows.Next() {
		c, err := scanCall(rows.Scan)
		if err != nil {
			rows.Close()
			return nil, "", fmt.Errorf("list partner calls: %w", err)
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = strconv.FormatInt(out[limit-1].seq, 36)
	}
	if err := loadAttempts(ctx, q, org, out); err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// Get returns one call of the organization with its attempts.
func Get(ctx context.Context, q store.Q, org, id string) (*Call, error) {
	c, err := scanCall(q.QueryRowContext(ctx, `SELECT `+callColumns+` FROM partner_calls WHERE org_id = $1 AND id = $2`, org, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get partner call: %w", err)
	}
	return c, loadAttempts(ctx, q, org, []*Call{c})
}

// ByDedupe returns the call with a dedupe key, without its attempts.
func ByDedupe(ctx context.Context, q store.Q, org, dedupe string) (*Call, error) {
	c, err := scanCall(q.QueryRowContext(ctx, `SELECT `+callColumns+` FROM partner_calls WHERE org_id = $1 AND dedupe = $2`, org, dedupe).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get partner call: %w", err)
	}
	return c, nil
}

func loadAttempts(ctx context.Context, q store.Q, org string, calls []*Call) error {
	if len(calls) == 0 {
		return nil
	}
	byID := map[string]*Call{}
	args := []any{org}
	var ph []string
	for _, c := range calls {
		byID[c.ID] = c
		args = append(args, c.ID)
		ph = append(ph, "$"+strconv.Itoa(len(args)))
	}
	rows, err := q.QueryContext(ctx, `SELECT call_id, attempt, worker, url, started_at, latency_ms, status_code, outcome, COALESCE(response, ''), COALESCE(error, '')
		FROM partner_call_attempts WHERE org_id = $1 AND call_id IN (`+strings.Join(ph, ",")+`) ORDER BY call_id, attempt`, args...)
	if err != nil {
		return fmt.Errorf("list partner call attempts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var a Attempt
		var started int64
		if err := rows.Scan(&id, &a.Attempt, &a.Worker, &a.URL, &started, &a.LatencyMs, &a.StatusCode, &a.Outcome, &a.Response, &a.Error); err != nil {
			return fmt.Errorf("list partner call attempts: %w", err)
		}
		a.StartedAt = ashby.NewTime(time.UnixMilli(started))
		if c := byID[id]; c != nil {
			c.Attempts = append(c.Attempts, a)
		}
	}
	return rows.Err()
}

// Direct makes a call at once, outside the outbox, and records it and its
// attempt like a queued one, so that it is inspectable too. Endpoints
// whose caller waits for the partner's answer (syncing assessment types
// on demand, listing and starting workflows) use it; there is one
// attempt, and the caller sees its outcome.
func (c *Client) Direct(ctx context.Context, db *store.DB, call NewCall, target Target, worker string) (*Response, string, error) {
	id := ashby.NewID()
	key := call.IdempotencyKey
	if key == "" {
		key = id
	}
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
	body := call.Body
	if body == nil {
		body = []byte("{}")
	}
	err := db.Write(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		now := store.Millis(tx.DB().Now())
		if _, err := tx.ExecContext(ctx, `INSERT INTO partner_calls (id, org_id, integration_id, method, subject_id, idempotency_key, request, state, attempts, next_at, created_at, done_at, last_status, last_error)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9, $9, $10, $11)`,
			id, call.OrgID, call.IntegrationID, call.Method, nullIfEmpty(call.SubjectID), key, string(body), state, now, resp.Status, nullIfEmpty(errText)); err != nil {
			return fmt.Errorf("record partner call: %w", err)
		}
		return insertAttempt(ctx, tx, id, call.OrgID, 1, worker, resp.URL, started, resp.Latency, resp.Status, outcome, c.LogText(resp.Body), errText)
	})
	if err != nil {
		return resp, id, err
	}
	return resp, id, nil
}

func insertAttempt(ctx context.Context, tx *store.Tx, callID, org string, attempt int, worker, url string, started time.Time, latency time.Duration, status int, outcome, response, errText string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO partner_call_attempts (call_id, attempt, org_id, worker, url, started_at, latency_ms, status_code, outcome, response, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (call_id, attempt) DO UPDATE SET worker = excluded.worker, url = excluded.url, started_at = excluded.started_at,
			latency_ms = excluded.latency_ms, status_code = excluded.status_code, outcome = excluded.outcome,
			response = excluded.response, error = excluded.error
		WHERE partner_call_attempts.outcome = 'abandoned' AND excluded.outcome <> 'abandoned'`,
		callID, attempt, org, worker, url, store.Millis(started), latency.Milliseconds(), status, outcome, nullIfEmpty(response), nullIfEmpty(errText))
	if err != nil {
		return fmt.Errorf("record partner call attempt: %w", err)
	}
	return nil
}

// Redact replaces the request bodies and kept responses of calls about
// these subjects (an anonymized candidate's assessment starts): they hold
// the candidate's name and email.
func Redact(ctx context.Context, tx *store.Tx, org string, subjects []string) error {
	for _, s := range subjects {
		if _, err := tx.ExecContext(ctx, `UPDATE partner_call_attempts SET response = NULL
			WHERE org_id = $1 AND call_id IN (SELECT id FROM partner_calls WHERE org_id = $1 AND subject_id = $2)`, org, s); err != nil {
			return fmt.Errorf("redact partner call attempts: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE partner_calls SET request = '{"redacted":true}' WHERE org_id = $1 AND subject_id = $2`, org, s); err != nil {
			return fmt.Errorf("redact partner calls: %w", err)
		}
	}
	return nil
}

// DeleteFinished removes calls that ended before t, with their attempts.
func DeleteFinished(ctx context.Context, db *store.DB, before time.Time) (int64, error) {
	var n int64
	err := db.Write(ctx, func(tx *store.Tx) error {
		cut := store.Millis(before)
		if _, err := tx.ExecContext(ctx, `DELETE FROM partner_call_attempts WHERE call_id IN
			(SELECT id FROM partner_calls WHERE done_at IS NOT NULL AND done_at < $1)`, cut); err != nil {
			return fmt.Errorf("delete partner call attempts: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM partner_calls WHERE done_at IS NOT NULL AND done_at < $1`, cut)
		if err != nil {
			return fmt.Errorf("delete partner calls: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
