// Package client is a Go client for Ashby's API, as served by Ashby
// (https://developers.ashbyhq.com) or by any compatible server such as
// Ashlar: point it at either base URL.
//
// One Client holds the connection settings; services group the typed calls
// by area (c.Candidates, c.Applications, c.Jobs …), and Call reaches any
// endpoint by name. The client
//
//   - authenticates with Basic auth (the API key as user name);
//   - decodes Ashby's envelope, returning *Error (errorInfo.code, message,
//     request id) for success:false and non-2xx answers, so errors.As works;
//   - hands warnings back on every Response and to Client.OnWarning, since
//     Ashby reports partial successes as warnings;
//   - retries a 429 after its Retry-After, and transient failures (5xx,
//     timeouts, connection resets) with jittered exponential backoff — but
//     only for reads and idempotent calls: a write that may have reached
//     the server is never repeated on its own (see Idempotent);
//   - reads response bodies up to MaxResponseBytes;
//   - walks paginated lists as Go iterators (List, c.Candidates.List …) and
//     runs incremental syncs that fall back to a full sync when the server
//     discards the token (Client.Incremental).
package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Version is this client's version, sent in the User-Agent.
const Version = "1.0.0"

// DefaultUserAgent names the client and its version.
const DefaultUserAgent = "ashlar-go-client/" + Version + " (+https://github.com/ashlarhq/ashlar)"

// DefaultBaseURL is Ashby's production API.
const DefaultBaseURL = "https://api.ashbyhq.com"

// DefaultMaxResponseBytes bounds a response body. A full page of 100
// candidates with custom fields is well under a megabyte; reports are the
// largest answers Ashby gives.
const DefaultMaxResponseBytes = 64 << 20

// Client calls one API with one key. Make it with New; its fields may be
// changed before the first call.
type Client struct {
	BaseURL string
	APIKey  string
	HTTP    *http.Client
	// MaxRetries bounds the retries of one call (default 5).
	MaxRetries int
	// MinBackoff and MaxBackoff bound the wait between retries of
	// transient failures: MinBackoff×2ⁿ, at most MaxBackoff, with full
	// jitter in its upper half (defaults 250ms and 30s).
	MinBackoff, MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After the client waits out; a
	// longer one is returned as the error (default 5 minutes).
	MaxRetryAfter time.Duration
	// MaxResponseBytes bounds a response body (default 64 MiB); a larger
	// one fails with code "response_too_large".
	MaxResponseBytes int64
	// UserAgent is sent with every request (default DefaultUserAgent).
	UserAgent string
	// Limiter, when set, is waited on before every attempt, retries
	// included: a rate limit shared by everything using this client.
	Limiter Limiter
	// OnWarning, when set, is called with the warnings of every
	// successful response that has some (they are also on Response).
	OnWarning func(endpoint string, warnings []string)
	// OnRetry, when set, is called before each retry with the failure and
	// the wait; for logging.
	OnRetry func(endpoint string, attempt int, err error, wait time.Duration)

	// Services, by area of the API.
	Candidates         *CandidatesService
	Applications       *ApplicationsService
	Jobs               *JobsService
	JobPostings        *JobPostingsService
	Openings           *OpeningsService
	InterviewStages    *InterviewStagesService
	InterviewSchedules *InterviewSchedulesService
	Users              *UsersService
	Departments        *DepartmentsService
	Locations          *LocationsService
	Sources            *SourcesService
	ArchiveReasons     *ArchiveReasonsService
	Offers             *OffersService
	Webhooks           *WebhooksService
}

// Limiter paces requests; Wait blocks until the next one may go.
type Limiter interface {
	Wait(ctx context.Context) error
}

// New returns a client for baseURL ("" for Ashby's) authenticating with key.
func New(baseURL, key string) *Client {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	c := &Client{
		BaseURL: strings.TrimRight(baseURL, "/"), APIKey: key,
		HTTP:       &http.Client{Timeout: 60 * time.Second},
		MaxRetries: 5, MinBackoff: 250 * time.Millisecond, MaxBackoff: 30 * time.Second,
		MaxRetryAfter: 5 * time.Minute, MaxResponseBytes: DefaultMaxResponseBytes, UserAgent: DefaultUserAgent,
	}
	c.Candidates = &CandidatesService{c}
	c.Applications = &ApplicationsService{c}
	c.Jobs = &JobsService{c}
	c.JobPostings = &JobPostingsService{c}
	c.Openings = &OpeningsService{c}
	c.InterviewStages = &InterviewStagesService{c}
	c.InterviewSchedules = &InterviewSchedulesService{c}
	c.Users = &UsersService{c}
	c.Departments = &DepartmentsService{c}
	c.Locations = &LocationsService{c}
	c.Sources = &SourcesService{c}
	c.ArchiveReasons = &ArchiveReasonsService{c}
	c.Offers = &OffersService{c}
	c.Webhooks = &WebhooksService{c}
	return c
}

// Response is a decoded envelope and what the transport said about it.
type Response struct {
	Results           json.RawMessage `json:"results"`
	Warnings          []string        `json:"warnings,omitempty"`
	MoreDataAvailable bool            `json:"moreDataAvailable"`
	NextCursor        string          `json:"nextCursor,omitempty"`
	SyncToken         string          `json:"syncToken,omitempty"`
	// RequestID is the x-ashby-request-id header: quote it to support.
	RequestID  string `json:"-"`
	HTTPStatus int    `json:"-"`
	// Attempts is how many requests the call took (1 without retries).
	Attempts int `json:"-"`
}

// Error is an API failure: success:false or a non-2xx status.
type Error struct {
	Endpoint  string         // the endpoint called, e.g. "candidate.create"
	Status    int            // HTTP status (200 for most API errors, as Ashby does)
	Code      string         // errorInfo.code, e.g. "invalid_input"
	Message   string         // errorInfo.message
	RequestID string         // x-ashby-request-id (or errorInfo.requestId)
	Meta      map[string]any // errorInfo.meta, e.g. {"field": "email"}
	// RetryAfter is the server's hint on a 429 or 503.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	msg := "ashby: "
	if e.Endpoint != "" {
		msg += e.Endpoint + ": "
	}
	msg += e.Code
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Status != http.StatusOK {
		msg += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.RequestID != "" {
		msg += " [request " + e.RequestID + "]"
	}
	return msg
}

// Code returns the API error code of err, or "".
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Codes of sync-token failures after which a full sync is the remedy.
const (
	CodeSyncTokenExpired        = "sync_token_expired"
	CodeSyncTokenInvalid        = "sync_token_invalid"
	CodeIncrementalSyncTooLarge = "incremental_sync_too_large"
)

// IsSyncTokenInvalid reports whether err means the sync token must be
// discarded and a full sync run.
func IsSyncTokenInvalid(err error) bool {
	switch Code(err) {
	case CodeSyncTokenExpired, CodeSyncTokenInvalid, CodeIncrementalSyncTooLarge:
		return true
	}
	return false
}

// CallOption adjusts one call.
type CallOption func(*callOptions)

type callOptions struct {
	idempotent *bool
}

// Idempotent declares whether the call may be repeated after a failure
// that leaves its outcome unknown (a 5xx, a timeout, a reset connection).
// Reads (.list, .info, .search …) and a few writes that set a state
// (.update, .setStatus, .addTag …) are idempotent by default; use
// Idempotent(true) for another write you know to be safe to repeat, or
// Idempotent(false) to never retry a call but its 429s.
func Idempotent(v bool) CallOption { return func(o *callOptions) { o.idempotent = &v } }

// Call invokes an endpoint ("candidate.list") with req (any JSON-encodable
// value, nil for {}), decoding results into out when out is non-nil.
func (c *Client) Call(ctx context.Context, endpoint string, req, out any, opts ...CallOption) (*Response, error) {
	body := []byte("{}")
	if req != nil {
		var err error
		if body, err = json.Marshal(req); err != nil {
			return nil, fmt.Errorf("encode %s request: %w", endpoint, err)
		}
	}
	return c.call(ctx, endpoint, body, "application/json", out, opts)
}

// CallMultipart posts a multipart/form-data body (applicationForm.submit,
// candidate.uploadResume).
func (c *Client) CallMultipart(ctx context.Context, endpoint string, body []byte, contentType string, out any, opts ...CallOption) (*Response, error) {
	return c.call(ctx, endpoint, body, contentType, out, opts)
}

func (c *Client) call(ctx context.Context, endpoint string, body []byte, contentType string, out any, opts []CallOption) (*Response, error) {
	var o callOptions
	for _, opt := range opts {
		opt(&o)
	}
	idem := IsIdempotent(endpoint)
	if o.idempotent != nil {
		idem = *o.idempotent
	}
	res, err := c.do(ctx, endpoint, body, contentType, idem)
	if err != nil {
		return res, err
	}
	if len(res.Warnings) > 0 && c.OnWarning != nil {
		c.OnWarning(endpoint, res.Warnings)
	}
	if out != nil && len(res.Results) > 0 {
		if err := json.Unmarshal(res.Results, out); err != nil {
			return res, fmt.Errorf("decode %s results: %w", endpoint, err)
		}
	}
	return res, nil
}

// attemptError is one failed attempt and whether another may follow.
type attemptError struct {
	err   error
	retry bool
}

func (c *Client) do(ctx context.Context, endpoint string, body []byte, contentType string, idempotent bool) (*Response, error) {
	for attempt := 0; ; attempt++ {
		if c.Limiter != nil {
			if err := c.Limiter.Wait(ctx); err != nil {
				return nil, err
			}
		}
		res, fail := c.once(ctx, endpoint, body, contentType, idempotent)
		if fail == nil {
			res.Attempts = attempt + 1
			return res, nil
		}
		if !fail.retry || attempt >= c.MaxRetries || ctx.Err() != nil {
			return nil, fail.err
		}
		wait := c.backoff(attempt)
		var e *Error
		if errors.As(fail.err, &e) && e.RetryAfter > 0 {
			if c.MaxRetryAfter > 0 && e.RetryAfter > c.MaxRetryAfter {
				return nil, fail.err
			}
			wait = e.RetryAfter
			if p, ok := c.Limiter.(interface{ Pause(time.Duration) }); ok && e.Status == http.StatusTooManyRequests {
				p.Pause(wait)
			}
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return nil, fail.err
		}
		if c.OnRetry != nil {
			c.OnRetry(endpoint, attempt+1, fail.err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func (c *Client) once(ctx context.Context, endpoint string, body []byte, contentType string, idempotent bool) (*Response, *attemptError) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+"/"+endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, &attemptError{err: err}
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json; version=1")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.APIKey+":")))
	ua := c.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	req.Header.Set("User-Agent", ua)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, &attemptError{err: fmt.Errorf("%s: %w", endpoint, ctx.Err())}
		}
		// A request that never left (the dial failed) can be sent again
		// whatever it is; otherwise only an idempotent one can.
		unsent := notSent(err)
		if !idempotent && !unsent {
			err = fmt.Errorf("%w (the request may have reached the server; not retried because %s is not idempotent)", err, endpoint)
		}
		return nil, &attemptError{err: fmt.Errorf("%s: %w", endpoint, err), retry: idempotent || unsent}
	}
	defer resp.Body.Close()
	limit := c.MaxResponseBytes
	if limit <= 0 {
		limit = DefaultMaxResponseBytes
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	rid := resp.Header.Get("x-ashby-request-id")
	if err != nil {
		return nil, &attemptError{err: fmt.Errorf("%s: read response: %w", endpoint, err), retry: idempotent}
	}
	if int64(len(raw)) > limit {
		return nil, &attemptError{err: &Error{Endpoint: endpoint, Status: resp.StatusCode, RequestID: rid, Code: "response_too_large",
			Message: fmt.Sprintf("the response is larger than %d bytes (Client.MaxResponseBytes)", limit)}}
	}
	var env struct {
		Response
		Success   *bool           `json:"success"`
		Errors    json.RawMessage `json:"errors"`
		ErrorInfo *struct {
			Code      string         `json:"code"`
			Message   string         `json:"message"`
			RequestID string         `json:"requestId"`
			Meta      map[string]any `json:"meta"`
		} `json:"errorInfo"`
	}
	decodeErr := json.Unmarshal(raw, &env)
	if decodeErr == nil && env.Success != nil && *env.Success && resp.StatusCode < 300 {
		env.Response.RequestID, env.Response.HTTPStatus = rid, resp.StatusCode
		return &env.Response, nil
	}
	e := &Error{Endpoint: endpoint, Status: resp.StatusCode, RequestID: rid}
	switch {
	case env.ErrorInfo != nil:
		e.Code, e.Message, e.Meta = env.ErrorInfo.Code, env.ErrorInfo.Message, env.ErrorInfo.Meta
		if e.RequestID == "" {
			e.RequestID = env.ErrorInfo.RequestID
		}
	case len(env.Errors) > 0:
		e.Code, e.Message = legacyErrors(env.Errors)
	case decodeErr != nil:
		e.Code, e.Message = "unexpected_response", truncate(string(raw), 300)
	default:
		e.Code = "unknown_error"
	}
	if e.Code == "" {
		e.Code = http.StatusText(resp.StatusCode)
	}
	e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		// A throttled request was refused before it ran: safe to send
		// again, write or not.
		return nil, &attemptError{err: e, retry: true}
	case resp.StatusCode >= 500:
		return nil, &attemptError{err: e, retry: idempotent}
	}
	return nil, &attemptError{err: e}
}

// legacyErrors reads the deprecated errors array: strings, or objects
// with message and parameter (Ashby sends both shapes).
func legacyErrors(raw json.RawMessage) (code, message string) {
	var ss []string
	if json.Unmarshal(raw, &ss) == nil && len(ss) > 0 {
		return ss[0], strings.Join(ss, "; ")
	}
	var objs []struct {
		Message   string `json:"message"`
		Parameter string `json:"parameter"`
	}
	if json.Unmarshal(raw, &objs) == nil && len(objs) > 0 {
		var msgs []string
		for _, o := range objs {
			m := o.Message
			if o.Parameter != "" {
				m += " (" + o.Parameter + ")"
			}
			msgs = append(msgs, m)
		}
		return "error", strings.Join(msgs, "; ")
	}
	return "error", string(raw)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
