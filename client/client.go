// Package client is a Go client for Ashby's API, as served by Ashby or by
// Ashlar: point it at either base URL.
//
// It handles Basic auth, the response envelope, Ashby's error shapes,
// pagination and incremental sync, and retries 429s (honouring
// Retry-After) and, for reads only, transient 5xx and network errors.
package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is Ashby's production API.
const DefaultBaseURL = "https://api.ashbyhq.com"

// Client calls one API with one key.
type Client struct {
	BaseURL string
	APIKey  string
	HTTP    *http.Client
	// MaxRetries bounds retries of throttled or failed calls (default 5).
	MaxRetries int
	// UserAgent is sent with every request.
	UserAgent string
}

// New returns a client for baseURL ("" for Ashby's) authenticating with key.
func New(baseURL, key string) *Client {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), APIKey: key, HTTP: &http.Client{Timeout: 60 * time.Second}, MaxRetries: 5, UserAgent: "ashlar-go-client/1"}
}

// Response is a decoded envelope.
type Response struct {
	Results           json.RawMessage `json:"results"`
	Warnings          []string        `json:"warnings,omitempty"`
	MoreDataAvailable bool            `json:"moreDataAvailable"`
	NextCursor        string          `json:"nextCursor,omitempty"`
	SyncToken         string          `json:"syncToken,omitempty"`
	RequestID         string          `json:"-"`
	HTTPStatus        int             `json:"-"`
}

// Error is an API failure: success:false or a non-2xx status.
type Error struct {
	Status    int            // HTTP status (200 for most API errors, as Ashby does)
	Code      string         // errorInfo.code, e.g. "invalid_input"
	Message   string         // errorInfo.message
	RequestID string         // x-ashby-request-id
	Meta      map[string]any // errorInfo.meta
	// RetryAfter is the server's hint on a 429.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("ashby: %s", e.Code)
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

// IsSyncTokenInvalid reports whether err means the sync token must be
// discarded and a full sync run.
func IsSyncTokenInvalid(err error) bool {
	switch Code(err) {
	case "sync_token_expired", "sync_token_invalid", "incremental_sync_too_large":
		return true
	}
	return false
}

// Call invokes an endpoint ("candidate.list") with req (any JSON-encodable
// value, nil for {}), decoding results into out when out is non-nil.
func (c *Client) Call(ctx context.Context, endpoint string, req, out any) (*Response, error) {
	body := []byte("{}")
	if req != nil {
		var err error
		if body, err = json.Marshal(req); err != nil {
			return nil, fmt.Errorf("encode %s request: %w", endpoint, err)
		}
	}
	res, err := c.do(ctx, endpoint, body, "application/json")
	if err != nil {
		return nil, err
	}
	if out != nil && len(res.Results) > 0 {
		if err := json.Unmarshal(res.Results, out); err != nil {
			return res, fmt.Errorf("decode %s results: %w", endpoint, err)
		}
	}
	return res, nil
}

// CallMultipart posts a multipart/form-data body (applicationForm.submit,
// candidate.uploadResume).
func (c *Client) CallMultipart(ctx context.Context, endpoint string, body []byte, contentType string, out any) (*Response, error) {
	res, err := c.do(ctx, endpoint, body, contentType)
	if err != nil {
		return nil, err
	}
	if out != nil && len(res.Results) > 0 {
		if err := json.Unmarshal(res.Results, out); err != nil {
			return res, fmt.Errorf("decode %s results: %w", endpoint, err)
		}
	}
	return res, nil
}

// retrySafe reports whether a call may be repeated after an ambiguous
// failure: reads only, since Ashby's writes have no idempotency keys.
func retrySafe(endpoint string) bool {
	_, method, _ := strings.Cut(endpoint, ".")
	return method == "list" || method == "info" || method == "search" || strings.HasPrefix(method, "list")
}

func (c *Client) do(ctx context.Context, endpoint string, body []byte, contentType string) (*Response, error) {
	var lastErr error
	for attempt := 0; ; attempt++ {
		res, err, retry := c.once(ctx, endpoint, body, contentType)
		if err == nil {
			return res, nil
		}
		lastErr = err
		if !retry || attempt >= c.MaxRetries {
			return nil, lastErr
		}
		wait := backoff(attempt)
		var e *Error
		if errors.As(err, &e) && e.RetryAfter > 0 {
			wait = e.RetryAfter
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

func backoff(attempt int) time.Duration {
	d := time.Duration(1<<min(attempt, 6)) * 250 * time.Millisecond
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func (c *Client) once(ctx context.Context, endpoint string, body []byte, contentType string) (res *Response, err error, retry bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+"/"+endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err, false
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json; version=1")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.APIKey+":")))
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", endpoint, err), retrySafe(endpoint) && ctx.Err() == nil
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: read response: %w", endpoint, err), retrySafe(endpoint)
	}
	rid := resp.Header.Get("x-ashby-request-id")
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
		return &env.Response, nil, false
	}
	e := &Error{Status: resp.StatusCode, RequestID: rid}
	switch {
	case env.ErrorInfo != nil:
		e.Code, e.Message, e.Meta = env.ErrorInfo.Code, env.ErrorInfo.Message, env.ErrorInfo.Meta
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
	if resp.StatusCode == http.StatusTooManyRequests {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		return nil, e, true
	}
	return nil, e, resp.StatusCode >= 500 && retrySafe(endpoint)
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
