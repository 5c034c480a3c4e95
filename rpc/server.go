package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/ratelimit"
	"github.com/ashlarhq/ashlar/store"
)

// Authenticator resolves an API key secret to its principal. It returns
// ErrUnknownKey for keys that do not exist or were revoked.
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (*Principal, error)
}

// ErrUnknownKey means the key is not (or no longer) valid.
var ErrUnknownKey = errors.New("unknown or revoked API key")

// API version headers (https://developers.ashbyhq.com/reference/versioning): Ashby has one active dated version.
const (
	APIVersion       = "2026-01-01"
	APIVersionStatus = "active"
)

// DefaultMaxBody bounds JSON request bodies.
const DefaultMaxBody = 10 << 20

// Options configure a Server.
type Options struct {
	// RateLimit is the sustained requests per second allowed per API key
	// (0 disables limiting); Burst is the bucket size.
	RateLimit float64
	Burst     int
	// Limits keeps the rate limit's counts (nil: this process's memory;
	// ratelimit.Redis shares them between processes).
	Limits  ratelimit.Backend
	MaxBody int64
	Logger  *slog.Logger
	// Idempotency stores Idempotency-Key claims (nil: the header is
	// ignored); see idempotency.go.
	Idempotency Idempotency
}

// Server serves the endpoint table over HTTP.
type Server struct {
	api     *API
	auth    Authenticator
	log     *slog.Logger
	maxBody int64
	limiter *ratelimit.Limiter
	idem    Idempotency
}

// NewServer returns the HTTP handler for api.
func NewServer(api *API, auth Authenticator, o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	return &Server{api: api, auth: auth, log: o.Logger, maxBody: o.MaxBody, limiter: ratelimit.New(o.Limits, "api", ratelimit.Rate{PerSecond: o.RateLimit, Burst: o.Burst}), idem: o.Idempotency}
}

// API returns the endpoint table the server serves.
func (s *Server) API() *API { return s.api }

type outcome struct {
	status int
	code   string
	err    error // logged at ERROR
	warn   error // logged at WARN
}

// unstorableText reports PostgreSQL's refusal of text it cannot store:
// character_not_in_repertoire (a NUL in text, invalid UTF-8) and
// untranslatable_character (\u0000 in jsonb).
func unstorableText(err error) bool {
	var st interface{ SQLState() string }
	return errors.As(err, &st) && (st.SQLState() == "22021" || st.SQLState() == "22P05")
}

// Header values every API response carries, shared (never modified).
var (
	versionHeader       = []string{APIVersion}
	versionStatusHeader = []string{APIVersionStatus}
	jsonContentType     = []string{"application/json; charset=utf-8"}
)

// ServeHTTP serves POST /{category.method}. It routes by path only, so a
// request line in absolute form with any Host header is served too.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rid, ok := RequestIDFrom(r.Context())
	if !ok {
		rid = NewRequestID()
	}
	c := &Call{RequestID: rid, HTTP: r}
	h := w.Header()
	if !ok {
		SetRequestIDHeader(h, c.RequestID) // else whoever assigned the id did
	}
	// The values are shared by every response: net/http only reads them.
	h["Ashby-Version"] = versionHeader
	h["Ashby-Version-Status"] = versionStatusHeader
	name := strings.TrimPrefix(r.URL.Path, "/")
	var out outcome
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic serving request", "request_id", c.RequestID, "endpoint", name, "panic", p, "stack", string(debug.Stack()))
			out = s.fail(w, c, &ashby.Error{Code: ashby.CodeInternal, Message: "Internal error; quote the request id when reporting it.", Status: http.StatusInternalServerError})
		}
		level := slog.LevelInfo
		switch {
		case out.err != nil:
			level = slog.LevelError
		case out.warn != nil:
			level = slog.LevelWarn
		}
		if !s.log.Enabled(r.Context(), level) {
			return
		}
		// Attrs in an array on the stack: one line per request is on
		// every request's path.
		var buf [8]slog.Attr
		attrs := append(buf[:0], slog.String("request_id", c.RequestID), slog.String("endpoint", name), slog.Int("status", out.status),
			slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000))
		if c.Principal != nil {
			attrs = append(attrs, slog.String("org", c.OrgID), slog.String("key", c.KeyTitle))
		}
		if out.code != "" {
			attrs = append(attrs, slog.String("code", out.code))
		}
		switch {
		case out.err != nil:
			attrs = append(attrs, slog.String("error", out.err.Error()))
		case out.warn != nil:
			attrs = append(attrs, slog.String("error", out.warn.Error()))
		}
		s.log.LogAttrs(r.Context(), level, "rpc", attrs...)
	}()
	out = s.serve(w, r, c, name)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, c *Call, name string) outcome {
	e, ok := s.api.Endpoint(name)
	if !ok {
		return s.fail(w, c, &ashby.Error{Code: ashby.CodeEndpointNotFound, Status: http.StatusNotFound,
			Message: fmt.Sprintf("No endpoint %q. Endpoints are POST /category.method, e.g. POST /candidate.list; GET /openapi.json lists them all.", "/"+name)})
	}
	c.Endpoint = e
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return s.fail(w, c, &ashby.Error{Code: "method_not_allowed", Status: http.StatusMethodNotAllowed, Message: "Use POST with a JSON body."})
	}
	if v := r.Header.Get("Ashby-Version"); v != "" && v != APIVersion {
		return s.fail(w, c, ashby.Errorf("unsupported_api_version", "API version %q is not available; the supported version is %s.", v, APIVersion))
	}
	secret, _, hasAuth := r.BasicAuth()
	if !hasAuth || secret == "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="Ashlar API"`)
		return s.fail(w, c, &ashby.Error{Code: ashby.CodeMissingAPIKey, Status: http.StatusUnauthorized,
			Message: "Missing API key: send it as the user name of HTTP Basic auth (curl -u KEY: …)."})
	}
	p, err := s.auth.Authenticate(r.Context(), secret)
	if errors.Is(err, ErrUnknownKey) {
		return s.fail(w, c, &ashby.Error{Code: ashby.CodeInvalidAPIKey, Status: http.StatusForbidden, Message: "The API key is not valid or has been revoked."})
	}
	if err != nil {
		return s.internal(w, c, fmt.Errorf("authenticate: %w", err))
	}
	c.Principal = p
	if e.Permission != "" && !p.Has(e.Permission) {
		return s.fail(w, c, &ashby.Error{Code: ashby.CodeMissingEndpointPermission, Status: http.StatusForbidden,
			Message: fmt.Sprintf("The API key lacks the %s permission that %s requires.", e.Permission, e.Name),
			Meta:    map[string]any{"permission": string(e.Permission)}})
	}
	if ok, wait := s.limiter.Allow(r.Context(), p.KeyID); !ok {
		secs := int(wait/time.Second) + 1
		return s.fail(w, c, &ashby.Error{Code: ashby.CodeRateLimitExceeded, Status: http.StatusTooManyRequests, RetryAfter: secs,
			Message: fmt.Sprintf("Rate limit exceeded for this API key; retry after %d second(s).", secs)})
	}
	ctx := WithCall(r.Context(), c)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	isMultipart := ct == "multipart/form-data"
	if isMultipart && !e.Multipart {
		return s.fail(w, c, ashby.InvalidInput("", "%s accepts application/json only.", e.Name))
	}
	key := r.Header.Get(IdempotencyHeader)
	idem := key != "" && s.idem != nil && e.Mutating()
	if idem && !validIdempotencyKey(key) {
		return s.fail(w, c, &ashby.Error{Code: ashby.CodeInvalidInput, Status: http.StatusBadRequest,
			Message: fmt.Sprintf("The %s header must be 1 to %d printable ASCII characters (a UUID is a good choice).", IdempotencyHeader, MaxIdempotencyKey),
			Meta:    map[string]any{"header": IdempotencyHeader}})
	}
	var body []byte
	if !isMultipart || idem {
		// An idempotent multipart request is read whole first: its
		// fingerprint covers the files too.
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, s.limit(e)))
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return s.fail(w, c, &ashby.Error{Code: ashby.CodeRequestTooLarge, Status: http.StatusRequestEntityTooLarge,
				Message: fmt.Sprintf("Request body exceeds %d bytes.", tooBig.Limit)})
		}
		if err != nil {
			return s.fail(w, c, ashby.InvalidInput("", "Could not read the request body: %v", err))
		}
	}
	if idem {
		return s.idempotent(w, r, c, e, ctx, body, key)
	}
	return s.execute(w, r, c, e, ctx, body)
}

// execute runs the endpoint and writes its response. A multipart body
// not read yet (body nil) is read by the endpoint.
func (s *Server) execute(w http.ResponseWriter, r *http.Request, c *Call, e *Endpoint, ctx context.Context, body []byte) outcome {
	var res any
	var err error
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
		} else {
			r.Body = http.MaxBytesReader(w, r.Body, s.limit(e))
		}
		res, err = e.multipart(ctx, c, r)
	} else {
		res, err = e.call(ctx, c, body)
	}
	if err != nil {
		if ae, ok := ashby.AsError(err); ok {
			return s.fail(w, c, ae)
		}
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return s.fail(w, c, &ashby.Error{Code: ashby.CodeRequestTooLarge, Status: http.StatusRequestEntityTooLarge,
				Message: fmt.Sprintf("Request body exceeds %d bytes.", tooBig.Limit)})
		}
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			return outcome{status: 499, code: "client_closed_request"}
		}
		if unstorableText(err) {
			// Validation refuses NUL characters and invalid UTF-8 in every
			// field it knows; text that still reaches the database is the
			// client's input all the same, not a server fault.
			out := s.fail(w, c, ashby.InvalidInput("", "The request holds text the database cannot store (a NUL character or invalid UTF-8)."))
			out.warn = err
			return out
		}
		return s.internal(w, c, err)
	}
	return s.succeed(w, c, e, res)
}

func (s *Server) limit(e *Endpoint) int64 {
	if e.MaxBody > 0 {
		return e.MaxBody
	}
	return s.maxBody
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (s *Server) succeed(w http.ResponseWriter, c *Call, e *Endpoint, res any) outcome {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 4<<20 {
			bufPool.Put(buf)
		}
	}()
	buf.WriteString(`{"success":true,"results":`)
	if p, ok := res.(*Page); ok {
		if err := writePage(buf, p, e.Array); err != nil {
			return s.internal(w, c, err)
		}
	} else {
		if raw, ok := res.(json.RawMessage); ok {
			buf.Write(raw)
		} else if err := writeJSON(buf, res); err != nil {
			return s.internal(w, c, err)
		}
	}
	if len(c.warnings) > 0 {
		buf.WriteString(`,"warnings":`)
		writeJSON(buf, c.warnings)
	}
	buf.WriteByte('}')
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(buf.Len())}
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
	return outcome{status: http.StatusOK}
}

func writePage(buf *bytes.Buffer, p *Page, array bool) error {
	if p.JSON != nil {
		buf.Write(p.JSON)
	} else if p.Raw != nil || p.Items == nil {
		buf.WriteByte('[')
		for i, d := range p.Raw {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.Write(d)
		}
		buf.WriteByte(']')
	} else if err := writeJSON(buf, p.Items); err != nil {
		return err
	}
	if array {
		return nil
	}
	if p.MoreDataAvailable {
		buf.WriteString(`,"moreDataAvailable":true`)
	} else {
		buf.WriteString(`,"moreDataAvailable":false`)
	}
	if p.NextCursor != "" {
		buf.WriteString(`,"nextCursor":`)
		writeJSON(buf, p.NextCursor)
	}
	if p.SyncToken != "" {
		buf.WriteString(`,"syncToken":`)
		writeJSON(buf, p.SyncToken)
	}
	return nil
}

// writeJSON encodes v without a trailing newline.
func writeJSON(buf *bytes.Buffer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	buf.Write(b)
	return nil
}

// retryAfterUnavailable is the Retry-After, in seconds, of a 503 for a
// database that cannot serve right now: long enough for PostgreSQL to
// restart, short enough that clients notice its return soon.
const retryAfterUnavailable = 5

func (s *Server) internal(w http.ResponseWriter, c *Call, err error) outcome {
	e, logged := Failure(err)
	out := s.fail(w, c, e)
	out.err = logged
	return out
}

// Failure is the answer to an unexpected failure err, and the error to
// log. A database that cannot serve right now (store.Unavailable: down,
// restarting, full, read-only) is not the request's fault and not a bug:
// 503 service_unavailable with Retry-After, and the log line names the
// cause. Anything else is a 500 internal_error. The client sees neither
// err nor the cause. Non-RPC handlers (the posting API) answer with it too.
func Failure(err error) (*ashby.Error, error) {
	if reason, ok := store.Unavailable(err); ok {
		return &ashby.Error{Code: ashby.CodeUnavailable, Status: http.StatusServiceUnavailable, RetryAfter: retryAfterUnavailable,
			Message: fmt.Sprintf("The service is temporarily unavailable; retry after %d seconds.", retryAfterUnavailable)}, fmt.Errorf("database unavailable (%s): %w", reason, err)
	}
	return &ashby.Error{Code: ashby.CodeInternal, Status: http.StatusInternalServerError,
		Message: "Internal error; quote the request id when reporting it."}, err
}

// ErrorBody is Ashby's error envelope: errorInfo plus the legacy errors
// array of codes.
type ErrorBody struct {
	Success   bool      `json:"success"`
	Errors    []string  `json:"errors"`
	ErrorInfo ErrorInfo `json:"errorInfo"`
}

// ErrorInfo describes a failure.
type ErrorInfo struct {
	Code      string         `json:"code"`
	Message   string         `json:"message,omitempty"`
	RequestID string         `json:"requestId,omitempty"`
	Meta      map[string]any `json:"meta,omitempty"`
}

// WriteError writes e in Ashby's error shape; non-RPC handlers (the
// posting API, file downloads) use it to answer alike.
func WriteError(w http.ResponseWriter, requestID string, e *ashby.Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusOK
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	b, _ := json.Marshal(ErrorBody{Errors: []string{e.Code}, ErrorInfo: ErrorInfo{Code: e.Code, Message: e.Message, RequestID: requestID, Meta: e.Meta}})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func (s *Server) fail(w http.ResponseWriter, c *Call, e *ashby.Error) outcome {
	WriteError(w, c.RequestID, e)
	status := e.Status
	if status == 0 {
		status = http.StatusOK
	}
	return outcome{status: status, code: e.Code}
}
