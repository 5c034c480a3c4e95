package rpc

import (
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
)

// Principal is who is calling: an API key of one organization.
type Principal struct {
	OrgID       string
	KeyID       string
	KeyTitle    string
	KeyCreated  time.Time
	UserID      string // the user the key acts as, if any
	Permissions []ashby.Permission
	// SessionID is set instead of KeyID when a person signed in to the
	// web app is calling: UserID and UserName are theirs, and the audit
	// log names them as the actor.
	SessionID string
	UserName  string
}

// Has reports whether the key holds p.
func (p *Principal) Has(perm ashby.Permission) bool {
	for _, q := range p.Permissions {
		if q == perm {
			return true
		}
	}
	return false
}

// Call is one RPC invocation, as handlers see it.
type Call struct {
	*Principal
	RequestID string
	Endpoint  *Endpoint
	HTTP      *http.Request
	warnings  []string
}

// Org is the calling organization's id: every query a handler makes is
// scoped by it.
func (c *Call) Org() string { return c.OrgID }

// Warn adds a warning code to a successful response (partial success).
func (c *Call) Warn(code string) {
	for _, w := range c.warnings {
		if w == code {
			return
		}
	}
	c.warnings = append(c.warnings, code)
}

// ClientIP is the caller's address: the first X-Forwarded-For hop when the
// server is configured to trust a proxy, else the connection's peer.
func (c *Call) ClientIP() string { return ClientIP(c.HTTP) }

// TrustProxy makes ClientIP honour X-Forwarded-For; set it only behind a
// reverse proxy that overwrites the header.
var TrustProxy bool

// ClientIP returns the request's client address (see Call.ClientIP).
func ClientIP(r *http.Request) string {
	if r == nil {
		return ""
	}
	if TrustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			return strings.TrimSpace(first)
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type callKey struct{}

// WithCall returns a context carrying the call, for code deep in a
// handler that needs the request id or principal.
func WithCall(ctx context.Context, c *Call) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

// CallFrom returns the call carried by ctx, if any.
func CallFrom(ctx context.Context) (*Call, bool) {
	c, ok := ctx.Value(callKey{}).(*Call)
	return c, ok
}
