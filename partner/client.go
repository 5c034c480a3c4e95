package partner

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ashlarhq/ashlar/webhook"
)

// ClientConfig configures a Client. Zero values take the defaults.
type ClientConfig struct {
	// Timeout bounds one request: connecting, sending and reading the
	// response (default 15 s).
	Timeout time.Duration
	// AllowPrivate lets requests reach loopback, private and link-local
	// addresses (local development). Off by default: the SSRF guard.
	AllowPrivate bool
	// MaxBody bounds how much of a response is read (default 4 MiB): an
	// assessment.list of a large catalogue fits, a runaway body does not.
	MaxBody int64
	// LogBytes is how much of a response an attempt's record keeps
	// (default 4096).
	LogBytes int
}

func (c ClientConfig) withDefaults() ClientConfig {
	if c.Timeout <= 0 {
		c.Timeout = 15 * time.Second
	}
	if c.MaxBody <= 0 {
		c.MaxBody = 4 << 20
	}
	if c.LogBytes <= 0 {
		c.LogBytes = 4096
	}
	return c
}

// Client calls the RPC endpoints partners host: POST <baseURL>/<method>
// with a JSON body and HTTP Basic auth with the partner's key as user
// name, as Ashby's own API authenticates its callers.
type Client struct {
	cfg  ClientConfig
	http *http.Client
}

// NewClient returns a client whose connections go through the webhook
// package's SSRF-guarded dialer.
func NewClient(cfg ClientConfig) *Client {
	cfg = cfg.withDefaults()
	dialer := webhook.GuardedDialer(cfg.AllowPrivate, cfg.Timeout)
	tr := &http.Transport{
		// Proxies from the environment are ignored: the guard checks the
		// address dialled, which would be the proxy's.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.Timeout,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	}
	return &Client{cfg: cfg, http: &http.Client{
		Transport: tr,
		// Redirects are not followed: they would carry the partner's
		// credentials and the candidate's data to a URL the integration
		// does not name. A 3xx is a failed attempt.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Config returns the client's configuration with defaults applied.
func (c *Client) Config() ClientConfig { return c.cfg }

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Request is one call to a partner.
type Request struct {
	BaseURL string
	// Key is the partner's key, sent as the Basic auth user name; empty
	// sends no Authorization header.
	Key    string
	Method string // the partner's RPC method, e.g. "assessment.start"
	Body   []byte
	// IdempotencyKey is sent as the Idempotency-Key header: the same on
	// every attempt of one call, so a partner can recognise a retry.
	IdempotencyKey string
}

// Response is what came of a request: a response (Status != 0) or a
// transport failure (Outcome and Err).
type Response struct {
	URL     string
	Status  int
	Header  http.Header
	Body    []byte
	Latency time.Duration
	// Outcome is OutcomeSuccess for any HTTP response (the call's handler
	// judges its status), else OutcomeTimeout, OutcomeNetwork or
	// OutcomeBlocked.
	Outcome string
	Err     string
}

// Endpoint returns the URL of a partner method under baseURL.
func Endpoint(baseURL, method string) string {
	return strings.TrimRight(baseURL, "/") + "/" + method
}

// Do makes one attempt.
func (c *Client) Do(ctx context.Context, r Request) *Response {
	res := &Response{URL: Endpoint(r.BaseURL, r.Method)}
	started := time.Now()
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	body := r.Body
	if body == nil {
		body = []byte("{}")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, res.URL, bytes.NewReader(body))
	if err != nil {
		res.Outcome, res.Err = OutcomeRejected, "invalid partner URL: "+err.Error()
		return res
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	if r.Key != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(r.Key+":")))
	}
	if r.IdempotencyKey != "" {
		req.Header.Set("Idempotency-Key", r.IdempotencyKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		res.Latency = time.Since(started)
		res.Outcome, res.Err = classifyError(err)
		return res
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxBody+1))
	res.Latency = time.Since(started)
	res.Status, res.Header = resp.StatusCode, resp.Header
	if err != nil {
		// The status arrived but the body did not: the partner may have
		// acted, so this counts as a network failure to retry.
		res.Outcome, res.Err = classifyError(err)
		res.Status = 0
		return res
	}
	if int64(len(b)) > c.cfg.MaxBody {
		b = b[:c.cfg.MaxBody]
		res.Err = fmt.Sprintf("response longer than %d bytes; cut", c.cfg.MaxBody)
	}
	res.Body, res.Outcome = b, OutcomeSuccess
	return res
}

// classifyError names a failed request's outcome. The guard's own
// message names the webhook flag; partners have their own.
func classifyError(err error) (string, string) {
	var blocked *webhook.BlockedError
	var ne net.Error
	switch {
	case errors.As(err, &blocked):
		return OutcomeBlocked, fmt.Sprintf("refused to connect to %s: %s address (calls to partners on private networks are off; see --partner-allow-private)", blocked.Addr, blocked.Reason)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return OutcomeTimeout, "timed out: " + err.Error()
	}
	return OutcomeNetwork, err.Error()
}

// LogText is the part of a response an attempt's record keeps.
func (c *Client) LogText(b []byte) string {
	if len(b) > c.cfg.LogBytes {
		b = b[:c.cfg.LogBytes]
	}
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// RetryAfter is a 429's or 503's Retry-After, or 0.
func (r *Response) RetryAfter(now time.Time) time.Duration {
	if r.Status != http.StatusTooManyRequests && r.Status != http.StatusServiceUnavailable {
		return 0
	}
	v := r.Header.Get("Retry-After")
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now)
	}
	return 0
}

// Envelope is a partner's JSON response. Partners answer in Ashby's
// envelope ({success, results}), customFields.fetch with {success,
// fields}, and 422s with {message}; any of them may carry Ashby's error
// shapes.
type Envelope struct {
	Success   *bool           `json:"success"`
	Results   json.RawMessage `json:"results"`
	Fields    json.RawMessage `json:"fields"`
	Message   string          `json:"message"`
	Errors    json.RawMessage `json:"errors"`
	ErrorInfo *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errorInfo"`
}

// ParseEnvelope decodes a response body.
func ParseEnvelope(body []byte) (*Envelope, error) {
	var e Envelope
	if len(bytes.TrimSpace(body)) == 0 {
		return &e, errors.New("empty response body")
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return &e, fmt.Errorf("response is not a JSON object: %w", err)
	}
	return &e, nil
}

// Failed reports whether the envelope says success:false.
func (e *Envelope) Failed() bool { return e.Success != nil && !*e.Success }

// ErrorMessage is the most specific error text of the envelope.
func (e *Envelope) ErrorMessage() string {
	switch {
	case e.Message != "":
		return e.Message
	case e.ErrorInfo != nil && e.ErrorInfo.Message != "":
		return e.ErrorInfo.Message
	case e.ErrorInfo != nil && e.ErrorInfo.Code != "":
		return e.ErrorInfo.Code
	}
	var list []any
	if json.Unmarshal(e.Errors, &list) == nil && len(list) > 0 {
		var parts []string
		for _, x := range list {
			switch v := x.(type) {
			case string:
				parts = append(parts, v)
			case map[string]any:
				if m, ok := v["message"].(string); ok {
					parts = append(parts, m)
				}
			}
		}
		return strings.Join(parts, "; ")
	}
	return ""
}

// CheckBaseURL validates a partner base URL: absolute https (http only
// when private addresses are allowed, for local development, since the
// partner's key travels in every request), with no query, fragment or
// credentials.
func CheckBaseURL(raw string, allowInsecure bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("must be an absolute URL")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowInsecure:
	case u.Scheme == "http":
		return errors.New("must be https: the partner's key is sent with every request (http is accepted only with --partner-allow-private, for local development)")
	default:
		return errors.New("must be an https URL")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("must not contain credentials, a query or a fragment")
	}
	return nil
}
