package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
)

// JobBoard reads a job board's public postings from the posting API,
// GET /posting-api/job-board/{name}
// (https://developers.ashbyhq.com/docs/public-job-posting-api), on the
// client's base URL. The API needs no key; none is sent. It is a read,
// so 429s, 5xx answers and transport failures are retried as for any
// read. A board that does not exist is an *Error with Status 404.
func (c *Client) JobBoard(ctx context.Context, name string, includeCompensation bool) (*ashby.PublicBoard, error) {
	u := c.BaseURL + "/posting-api/job-board/" + url.PathEscape(name)
	if includeCompensation {
		u += "?includeCompensation=true"
	}
	const endpoint = "posting-api/job-board"
	for attempt := 0; ; attempt++ {
		if c.Limiter != nil {
			if err := c.Limiter.Wait(ctx); err != nil {
				return nil, err
			}
		}
		board, retry, err := c.getBoard(ctx, u, endpoint)
		if err == nil {
			return board, nil
		}
		if !retry || attempt >= c.MaxRetries || ctx.Err() != nil {
			return nil, err
		}
		wait := c.backoff(attempt)
		var e *Error
		if errors.As(err, &e) && e.RetryAfter > 0 {
			if c.MaxRetryAfter > 0 && e.RetryAfter > c.MaxRetryAfter {
				return nil, err
			}
			wait = e.RetryAfter
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return nil, err
		}
		if c.OnRetry != nil {
			c.OnRetry(endpoint, attempt+1, err, wait)
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

func (c *Client) getBoard(ctx context.Context, u, endpoint string) (*ashby.PublicBoard, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Accept", "application/json")
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
			return nil, false, fmt.Errorf("%s: %w", endpoint, ctx.Err())
		}
		return nil, true, fmt.Errorf("%s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	limit := c.MaxResponseBytes
	if limit <= 0 {
		limit = DefaultMaxResponseBytes
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	rid := resp.Header.Get("x-ashby-request-id")
	if err != nil {
		return nil, true, fmt.Errorf("%s: read response: %w", endpoint, err)
	}
	if int64(len(raw)) > limit {
		return nil, false, &Error{Endpoint: endpoint, Status: resp.StatusCode, RequestID: rid, Code: "response_too_large",
			Message: fmt.Sprintf("the response is larger than %d bytes (Client.MaxResponseBytes)", limit)}
	}
	if resp.StatusCode == http.StatusOK {
		var board ashby.PublicBoard
		if err := json.Unmarshal(raw, &board); err != nil {
			return nil, false, &Error{Endpoint: endpoint, Status: resp.StatusCode, RequestID: rid, Code: "unexpected_response", Message: truncate(string(raw), 300)}
		}
		return &board, false, nil
	}
	e := &Error{Endpoint: endpoint, Status: resp.StatusCode, RequestID: rid, Code: http.StatusText(resp.StatusCode)}
	var env struct {
		ErrorInfo *struct {
			Code, Message string
		} `json:"errorInfo"`
	}
	if json.Unmarshal(raw, &env) == nil && env.ErrorInfo != nil {
		e.Code, e.Message = env.ErrorInfo.Code, env.ErrorInfo.Message
	}
	e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	return nil, resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500, e
}
