package client

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// idempotentWrites are the write methods whose repetition leaves the same
// state as one call: they set a value rather than add or move something.
// Ashby's writes have no idempotency keys, so everything else (create,
// changeStage, submit, addNote …) is sent once and its ambiguous failures
// are returned to the caller.
var idempotentWrites = map[string]bool{
	"update": true, "setStatus": true, "setArchived": true, "archive": true, "restore": true,
	"addTag": true, "removeTag": true, "setValue": true, "setValues": true,
}

// IsIdempotent reports whether the client retries endpoint after a failure
// that leaves its outcome unknown: reads (.list*, .info*, .search*, and
// report.synchronous) and the writes that set a state (.update,
// .setStatus, .archive, .restore, .addTag, .removeTag, .setValue …).
func IsIdempotent(endpoint string) bool {
	_, method, ok := strings.Cut(endpoint, ".")
	if !ok {
		return false
	}
	if i := strings.LastIndexByte(method, '.'); i >= 0 { // assessment.customField.list
		method = method[i+1:]
	}
	for _, p := range []string{"list", "info", "search"} {
		if method == p || strings.HasPrefix(method, p) && len(method) > len(p) && method[len(p)] >= 'A' && method[len(p)] <= 'Z' {
			return true
		}
	}
	return endpoint == "report.synchronous" || idempotentWrites[method]
}

// backoff is the wait before retry attempt+1: MinBackoff×2^attempt capped
// at MaxBackoff, jittered over its upper half so that clients failing
// together do not retry together.
func (c *Client) backoff(attempt int) time.Duration {
	lo, hi := c.MinBackoff, c.MaxBackoff
	if lo <= 0 {
		lo = 250 * time.Millisecond
	}
	if hi <= 0 {
		hi = 30 * time.Second
	}
	d := lo << min(attempt, 20)
	if d > hi || d <= 0 {
		d = hi
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// notSent reports whether a transport error certainly happened before the
// request was sent: the connection was never made.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns) || errors.Is(err, syscall.ECONNREFUSED)
}
