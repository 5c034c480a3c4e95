package rpc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
)

// Idempotency keys: an Ashlar extension (docs/idempotency.md), after the
// IETF draft "The Idempotency-Key HTTP Header Field"
// (https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/).
// A mutating request sent with an Idempotency-Key header runs once per
// key: a retry with the same key and request gets the first response
// again, with Idempotent-Replayed: true, and changes nothing.

// IdempotencyHeader is the request header; ReplayedHeader marks a
// replayed response.
const (
	IdempotencyHeader = "Idempotency-Key"
	ReplayedHeader    = "Idempotent-Replayed"
	// MaxIdempotencyKey bounds a key's length (a UUID is 36).
	MaxIdempotencyKey = 255
)

// Error codes of idempotent requests.
const (
	CodeIdempotencyKeyReused      = "idempotency_key_reused"
	CodeIdempotencyKeyInProgress  = "idempotency_key_in_progress"
	CodeIdempotencyKeyInterrupted = "idempotency_key_interrupted"
	CodeIdempotencyKeyNoReplay    = "idempotency_key_secret_not_replayed"
)

// Default lifetimes of keys; see docs/idempotency.md.
const (
	DefaultIdempotencyTTL   = 24 * time.Hour
	DefaultIdempotencyLease = time.Minute
)

// Mutating reports whether the endpoint changes anything: it requires a
// write or delete permission. Only these take an Idempotency-Key; reads
// are idempotent already.
func (e *Endpoint) Mutating() bool {
	p := string(e.Permission)
	return strings.HasSuffix(p, "Write") || strings.HasSuffix(p, "Delete")
}

// IdempotencyKey names a key and the request sent with it.
type IdempotencyKey struct {
	Org, Principal, Key, Endpoint string
	// Fingerprint is a hash of the request's endpoint and content.
	Fingerprint string
}

// IdempotencyOutcome is what the store found for a key.
type IdempotencyOutcome int

const (
	IdempotentRun         IdempotencyOutcome = iota // new (or expired): run the request
	IdempotentReplay                                // finished: replay Status and Response
	IdempotentMismatch                              // used for a different request
	IdempotentInProgress                            // running now
	IdempotentInterrupted                           // committed, but its response was never recorded
)

// IdempotencyClaim is a key claimed for a request.
type IdempotencyClaim struct {
	Outcome  IdempotencyOutcome
	Status   int
	Response []byte
	// Context wraps the request's context so that its writes are tied to
	// the key (IdempotentRun).
	Context func(context.Context) context.Context
	// Finish records the response; keep false releases the key instead
	// when the request committed nothing.
	Finish func(ctx context.Context, status int, response []byte, keep bool) error
	// Lost tells an error meaning a retry took the key over.
	Lost func(error) bool
}

// Idempotency stores the keys (store.DB in production).
type Idempotency interface {
	BeginIdempotent(ctx context.Context, k IdempotencyKey) (*IdempotencyClaim, error)
}

var idempotencyKeyParameter = map[string]any{
	"name": IdempotencyHeader, "in": "header", "required": false,
	"x-ashlar-extension": true,
	"description": "Ashlar extension: a unique string (a UUID, up to 255 printable ASCII characters) that makes this request safe to retry. " +
		"A retry with the same key and body returns the first response, with Idempotent-Replayed: true, and changes nothing; " +
		"the same key with another body is refused (422 idempotency_key_reused); a retry while the first is running gets 409 idempotency_key_in_progress. " +
		"Keys are per API key and kept for 24 hours.",
	"schema": map[string]any{"type": "string", "maxLength": MaxIdempotencyKey},
}

// validIdempotencyKey accepts 1–255 printable ASCII characters.
func validIdempotencyKey(k string) bool {
	if k == "" || len(k) > MaxIdempotencyKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// fingerprint identifies a request's content: its endpoint and body, as
// JSON in canonical form (object keys sorted, insignificant space gone),
// so that a client that encodes the same request again matches; for
// multipart bodies, each part's name, file name and content, since the
// boundary differs between retries.
func fingerprint(endpoint string, body []byte, contentType string) string {
	h := sha256.New()
	h.Write([]byte(endpoint))
	h.Write([]byte{0})
	mt, params, _ := mime.ParseMediaType(contentType)
	if mt == "multipart/form-data" && params["boundary"] != "" {
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		ok := true
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				ok = false
				break
			}
			for _, s := range []string{p.FormName(), p.FileName()} {
				h.Write([]byte(strconv.Itoa(len(s)) + ":" + s))
			}
			c := sha256.New()
			if _, err := io.Copy(c, p); err != nil {
				ok = false
				break
			}
			h.Write(c.Sum(nil))
		}
		if ok {
			return "m:" + hex.EncodeToString(h.Sum(nil))
		}
		h.Reset()
		h.Write([]byte(endpoint))
		h.Write([]byte{0})
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err == nil {
		if canon, err := json.Marshal(v); err == nil {
			body = canon
		}
	}
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// recorder holds a response until its key has recorded it.
type recorder struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.buf.Write(b)
}

// idempotent runs a mutating request under its Idempotency-Key.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, c *Call, e *Endpoint, ctx context.Context, body []byte, key string) outcome {
	claim, err := s.idem.BeginIdempotent(ctx, IdempotencyKey{Org: c.OrgID, Principal: c.KeyID, Key: key, Endpoint: e.Name,
		Fingerprint: fingerprint(e.Name, body, r.Header.Get("Content-Type"))})
	if err != nil {
		return s.internal(w, c, err)
	}
	switch claim.Outcome {
	case IdempotentReplay:
		h := w.Header()
		h.Set(ReplayedHeader, "true")
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(claim.Response)))
		w.WriteHeader(claim.Status)
		w.Write(claim.Response)
		return outcome{status: claim.Status, code: "idempotent_replay"}
	case IdempotentMismatch:
		return s.fail(w, c, &ashby.Error{Code: CodeIdempotencyKeyReused, Status: http.StatusUnprocessableEntity,
			Message: "This Idempotency-Key was already used with a different request (another endpoint or body); use a new key for a new request.",
			Meta:    map[string]any{"header": IdempotencyHeader}})
	case IdempotentInProgress:
		w.Header().Set("Retry-After", "1")
		return s.fail(w, c, &ashby.Error{Code: CodeIdempotencyKeyInProgress, Status: http.StatusConflict,
			Message: "A request with this Idempotency-Key is still being processed; retry it after it finished to get its response.",
			Meta:    map[string]any{"header": IdempotencyHeader}})
	case IdempotentInterrupted:
		return s.fail(w, c, &ashby.Error{Code: CodeIdempotencyKeyInterrupted, Status: http.StatusConflict,
			Message: "A request with this Idempotency-Key committed its changes, but the server stopped before recording its response; it is not run again. Read the records it changed to see their state.",
			Meta:    map[string]any{"header": IdempotencyHeader}})
	}
	// The request runs to the end even if its client goes away, so that
	// the retry finds its response.
	rec := &recorder{h: w.Header()}
	out := s.execute(rec, r, c, e, claim.Context(context.WithoutCancel(ctx)), body)
	if out.err != nil && claim.Lost(out.err) {
		// Not run: a retry took the key over after this request's lease.
		rec = &recorder{h: w.Header()}
		out = s.fail(rec, c, &ashby.Error{Code: CodeIdempotencyKeyInProgress, Status: http.StatusConflict,
			Message: "This request ran past its time and a retry with the same Idempotency-Key took over; nothing of this request was applied."})
	} else {
		keep := out.status == http.StatusOK && out.code == "" && rec.status != 0
		status, stored := rec.status, rec.buf.Bytes()
		if e.SecretResult && keep {
			// What a retry gets instead of the secret, which is not kept.
			b, _ := json.Marshal(ErrorBody{Errors: []string{CodeIdempotencyKeyNoReplay}, ErrorInfo: ErrorInfo{Code: CodeIdempotencyKeyNoReplay, RequestID: c.RequestID,
				Message: "The request with this Idempotency-Key succeeded; its response held a secret that is shown once and not kept, so it cannot be replayed."}})
			status, stored = http.StatusConflict, b
		}
		if err := claim.Finish(context.WithoutCancel(r.Context()), status, stored, keep); err != nil {
			s.log.Error("record idempotent response", "request_id", c.RequestID, "endpoint", e.Name, "error", err)
		}
	}
	if rec.status == 0 {
		return out
	}
	w.WriteHeader(rec.status)
	w.Write(rec.buf.Bytes())
	return out
}
