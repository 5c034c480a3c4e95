package webhooks

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
)

// DefaultMaxBodyBytes bounds a delivery's body. Ashby's largest payloads
// (an application with its custom fields, an offer with its form) are a
// few hundred kilobytes.
const DefaultMaxBodyBytes = 5 << 20

// Handler verifies and parses each delivery, then calls Next with the
// request (its body restored, the Event in its context: FromContext).
// It answers, without calling Next:
//
//   - 405 to anything but POST;
//   - 413 to a body over MaxBodyBytes;
//   - 401 to a missing or wrong signature (Ashby does not retry a 401),
//     logging the attempt without the body;
//   - 400 to a signed body that is not a webhook payload.
type Handler struct {
	// Secrets are the webhook's secret tokens: one, or the old and the
	// new while rotating.
	Secrets []string
	// MaxBodyBytes bounds the body (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// Next handles verified deliveries.
	Next http.Handler
	// Logger receives refused deliveries (default slog.Default()).
	Logger *slog.Logger
}

// Middleware returns a Handler verifying with secret in front of next.
func Middleware(secret string, next http.Handler) *Handler {
	return &Handler{Secrets: []string{secret}, Next: next}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "webhook deliveries are POSTed", http.StatusMethodNotAllowed)
		return
	}
	limit := h.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	if r.ContentLength > limit {
		log.Warn("webhook refused: body too large", "remote", remoteIP(r), "content_length", r.ContentLength, "limit", limit)
		http.Error(w, "body larger than "+strconv.FormatInt(limit, 10)+" bytes", http.StatusRequestEntityTooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			log.Warn("webhook refused: body too large", "remote", remoteIP(r), "limit", limit)
			http.Error(w, "body larger than "+strconv.FormatInt(limit, 10)+" bytes", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "could not read the body", http.StatusBadRequest)
		return
	}
	if err := Verify(body, r.Header.Get(SignatureHeader), h.Secrets...); err != nil {
		// Never the body: it is unauthenticated and may hold personal data.
		log.Warn("webhook refused: bad signature", "remote", remoteIP(r), "reason", err.Error(),
			"signature_present", r.Header.Get(SignatureHeader) != "", "bytes", len(body))
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	ev, err := Parse(body)
	if err != nil {
		log.Warn("webhook refused: not a webhook payload", "remote", remoteIP(r), "error", err.Error())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h.Next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), ev)))
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
