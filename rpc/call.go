package rpc

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
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

// ClientIP is the caller's address (see ClientIP).
func (c *Call) ClientIP() string { return ClientIP(c.HTTP) }

// ClientIP returns the request's client address: the one WithClientIP
// resolved (which honours X-Forwarded-For from trusted proxies only), or
// else the connection's peer. Everything that keys on or records a client
// address (rate limits, per-IP form limits, the audit log, applications'
// submitter address) calls it.
func ClientIP(r *http.Request) string {
	if r == nil {
		return ""
	}
	if ip, ok := r.Context().Value(clientIPKey{}).(string); ok {
		return ip
	}
	return peer(r)
}

// peer is the connection's remote address without its port.
func peer(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type clientIPKey struct{}

// Proxies are the reverse proxies (addresses or ranges) whose
// X-Forwarded-For entries are believed.
type Proxies []netip.Prefix

// ParseProxies reads a comma-separated list of CIDR ranges or addresses.
func ParseProxies(s string) (Proxies, error) {
	var out Proxies
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR range", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func (ps Proxies) trusts(s string) bool {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Resolve finds the client's address. A request from a trusted proxy
// carries X-Forwarded-For, to which each proxy appends the address it
// received the request from; the client writes whatever it likes into
// the header before that. So the entries are read from the right: the
// first that is not a trusted proxy is the client. The leftmost entry is
// never believed for its own sake, since the client chose it. When every
// entry is a trusted proxy, the leftmost is the best there is; an entry
// that is not an address ends the walk at the proxy that reported it.
func (ps Proxies) Resolve(r *http.Request) string {
	ip := peer(r)
	if len(ps) == 0 || !ps.trusts(ip) {
		return ip
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		hop := hopAddr(strings.TrimSpace(hops[i]))
		if hop == "" {
			return ip
		}
		ip = hop
		if !ps.trusts(hop) {
			return hop
		}
	}
	return ip
}

// hopAddr is an X-Forwarded-For entry's address ("" if it is none); some
// proxies add the port.
func hopAddr(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("").String()
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("").String()
	}
	return ""
}

// WithClientIP resolves each request's client address once, for
// ClientIP; ps are the trusted proxies (none: the peer is the client).
func WithClientIP(ps Proxies, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(ContextWithClientIP(r.Context(), ps, r)))
	})
}

// ContextWithClientIP returns ctx carrying r's client address as ps
// resolve it, for ClientIP (what WithClientIP does, for a middleware
// that sets up the request's context in one step).
func ContextWithClientIP(ctx context.Context, ps Proxies, r *http.Request) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ps.Resolve(r))
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
