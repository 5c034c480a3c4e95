package webhook

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// BlockedError is the error of a delivery refused by the SSRF guard.
type BlockedError struct {
	Addr   netip.Addr
	Reason string
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("refused to connect to %s: %s address (webhooks to private networks are off; see --webhook-allow-private)", e.Addr, e.Reason)
}

// verdict is what the guard does with an address in a special range.
type verdict int

const (
	block verdict = iota
	allow
	// embedded ranges carry an IPv4 address (translation and tunnelling
	// forms): the address is judged by the IPv4 address it reaches.
	embedded
)

// SpecialRange is an entry of the guard's table.
type SpecialRange struct {
	Prefix  netip.Prefix
	Name    string // as the registry names it
	Source  string // the registry, or why an entry not in it is here
	verdict verdict
	// ipv4 extracts the embedded IPv4 address(es) of an embedded range.
	ipv4 func(a [16]byte) []netip.Addr
}

// Blocked reports whether the guard refuses the range outright.
func (r SpecialRange) Blocked() bool { return r.verdict == block }

// Embeds reports whether the range is judged by an embedded IPv4 address.
func (r SpecialRange) Embeds() bool { return r.verdict == embedded }

const (
	v4Registry = "IANA IPv4 Special-Purpose Address Registry"
	v6Registry = "IANA IPv6 Special-Purpose Address Registry"
)

func v4At(i int) func([16]byte) []netip.Addr {
	return func(b [16]byte) []netip.Addr { return []netip.Addr{netip.AddrFrom4([4]byte(b[i : i+4]))} }
}

// teredo holds the Teredo server's address in bits 32–63 and the
// client's, inverted, in the last 32 (RFC 4380 §4).
func teredo(b [16]byte) []netip.Addr {
	return []netip.Addr{netip.AddrFrom4([4]byte(b[4:8])), netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]})}
}

// SpecialRanges is the guard's table: every entry of IANA's IPv4 and
// IPv6 special-purpose address registries
// (https://www.iana.org/assignments/iana-ipv4-special-registry/,
// https://www.iana.org/assignments/iana-ipv6-special-registry/), plus the
// multicast, deprecated site-local and IPv4-compatible ranges. An address
// gets the verdict of the most specific range that holds it. Entries the
// registries mark not globally reachable are blocked; those they mark
// globally reachable are allowed, except anycast addresses that reach
// nearby infrastructure (PCP, TURN, DNS-SD) and ORCHIDv2/DET identifiers,
// which are not addresses of hosts. Translation and tunnelling forms are
// judged by the IPv4 address they embed. IPv6 outside global unicast
// (2000::/3) is blocked too (CheckAddr).
var SpecialRanges = []SpecialRange{
	// IPv4.
	{netip.MustParsePrefix("0.0.0.0/8"), `"This network"`, v4Registry + " (RFC 791)", block, nil},
	{netip.MustParsePrefix("0.0.0.0/32"), `"This host on this network"`, v4Registry + " (RFC 1122)", block, nil},
	{netip.MustParsePrefix("10.0.0.0/8"), "Private-Use", v4Registry + " (RFC 1918)", block, nil},
	{netip.MustParsePrefix("100.64.0.0/10"), "Shared Address Space", v4Registry + " (RFC 6598)", block, nil},
	{netip.MustParsePrefix("127.0.0.0/8"), "Loopback", v4Registry + " (RFC 1122)", block, nil},
	{netip.MustParsePrefix("169.254.0.0/16"), "Link Local", v4Registry + " (RFC 3927)", block, nil},
	{netip.MustParsePrefix("172.16.0.0/12"), "Private-Use", v4Registry + " (RFC 1918)", block, nil},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF Protocol Assignments", v4Registry + " (RFC 6890)", block, nil},
	{netip.MustParsePrefix("192.0.0.0/29"), "IPv4 Service Continuity Prefix", v4Registry + " (RFC 7335)", block, nil},
	{netip.MustParsePrefix("192.0.0.8/32"), "IPv4 dummy address", v4Registry + " (RFC 7600)", block, nil},
	{netip.MustParsePrefix("192.0.0.9/32"), "Port Control Protocol Anycast (reaches the local gateway)", v4Registry + " (RFC 7723)", block, nil},
	{netip.MustParsePrefix("192.0.0.10/32"), "Traversal Using Relays around NAT Anycast (nearby infrastructure)", v4Registry + " (RFC 8155)", block, nil},
	{netip.MustParsePrefix("192.0.0.170/32"), "NAT64/DNS64 Discovery", v4Registry + " (RFC 8880)", block, nil},
	{netip.MustParsePrefix("192.0.0.171/32"), "NAT64/DNS64 Discovery", v4Registry + " (RFC 8880)", block, nil},
	{netip.MustParsePrefix("192.0.2.0/24"), "Documentation (TEST-NET-1)", v4Registry + " (RFC 5737)", block, nil},
	{netip.MustParsePrefix("192.31.196.0/24"), "AS112-v4", v4Registry + " (RFC 7535)", allow, nil},
	{netip.MustParsePrefix("192.52.193.0/24"), "AMT", v4Registry + " (RFC 7450)", allow, nil},
	{netip.MustParsePrefix("192.88.99.0/24"), "Deprecated (6to4 Relay Anycast)", v4Registry + " (RFC 7526)", block, nil},
	{netip.MustParsePrefix("192.88.99.2/32"), "6a44-relay anycast address", v4Registry + " (RFC 6751)", block, nil},
	{netip.MustParsePrefix("192.168.0.0/16"), "Private-Use", v4Registry + " (RFC 1918)", block, nil},
	{netip.MustParsePrefix("192.175.48.0/24"), "Direct Delegation AS112 Service", v4Registry + " (RFC 7534)", allow, nil},
	{netip.MustParsePrefix("198.18.0.0/15"), "Benchmarking", v4Registry + " (RFC 2544)", block, nil},
	{netip.MustParsePrefix("198.51.100.0/24"), "Documentation (TEST-NET-2)", v4Registry + " (RFC 5737)", block, nil},
	{netip.MustParsePrefix("203.0.113.0/24"), "Documentation (TEST-NET-3)", v4Registry + " (RFC 5737)", block, nil},
	{netip.MustParsePrefix("224.0.0.0/4"), "Multicast", "IANA IPv4 Multicast Address Space Registry (RFC 5771)", block, nil},
	{netip.MustParsePrefix("240.0.0.0/4"), "Reserved", v4Registry + " (RFC 1112)", block, nil},
	{netip.MustParsePrefix("255.255.255.255/32"), "Limited Broadcast", v4Registry + " (RFC 919)", block, nil},

	// IPv6.
	{netip.MustParsePrefix("::/96"), "IPv4-compatible (deprecated)", "RFC 4291 §2.5.5.1, not in the registry", block, nil},
	{netip.MustParsePrefix("::/128"), "Unspecified Address", v6Registry + " (RFC 4291)", block, nil},
	{netip.MustParsePrefix("::1/128"), "Loopback Address", v6Registry + " (RFC 4291)", block, nil},
	{netip.MustParsePrefix("::ffff:0:0/96"), "IPv4-mapped Address", v6Registry + " (RFC 4291)", embedded, v4At(12)},
	{netip.MustParsePrefix("64:ff9b::/96"), "IPv4-IPv6 Translat.", v6Registry + " (RFC 6052)", embedded, v4At(12)},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "IPv4-IPv6 Translat. (local use)", v6Registry + " (RFC 8215)", block, nil},
	{netip.MustParsePrefix("100::/64"), "Discard-Only Address Block", v6Registry + " (RFC 6666)", block, nil},
	{netip.MustParsePrefix("100:0:0:1::/64"), "Dummy IPv6 Prefix", v6Registry + " (RFC 9780)", block, nil},
	{netip.MustParsePrefix("2001::/23"), "IETF Protocol Assignments", v6Registry + " (RFC 2928)", block, nil},
	{netip.MustParsePrefix("2001::/32"), "TEREDO", v6Registry + " (RFC 4380)", embedded, teredo},
	{netip.MustParsePrefix("2001:1::1/128"), "Port Control Protocol Anycast (reaches the local gateway)", v6Registry + " (RFC 7723)", block, nil},
	{netip.MustParsePrefix("2001:1::2/128"), "Traversal Using Relays around NAT Anycast (nearby infrastructure)", v6Registry + " (RFC 8155)", block, nil},
	{netip.MustParsePrefix("2001:1::3/128"), "DNS-SD Service Registration Protocol Anycast (nearby infrastructure)", v6Registry + " (RFC 9665)", block, nil},
	{netip.MustParsePrefix("2001:2::/48"), "Benchmarking", v6Registry + " (RFC 5180)", block, nil},
	{netip.MustParsePrefix("2001:3::/32"), "AMT", v6Registry + " (RFC 7450)", allow, nil},
	{netip.MustParsePrefix("2001:4:112::/48"), "AS112-v6", v6Registry + " (RFC 7535)", allow, nil},
	{netip.MustParsePrefix("2001:10::/28"), "Deprecated (previously ORCHID)", v6Registry + " (RFC 4843)", block, nil},
	{netip.MustParsePrefix("2001:20::/28"), "ORCHIDv2 (identifiers, not routable)", v6Registry + " (RFC 7343)", block, nil},
	{netip.MustParsePrefix("2001:30::/28"), "Drone Remote ID Protocol Entity Tags (identifiers, not routable)", v6Registry + " (RFC 9374)", block, nil},
	{netip.MustParsePrefix("2001:db8::/32"), "Documentation", v6Registry + " (RFC 3849)", block, nil},
	{netip.MustParsePrefix("2002::/16"), "6to4", v6Registry + " (RFC 3056)", embedded, v4At(2)},
	{netip.MustParsePrefix("2620:4f:8000::/48"), "Direct Delegation AS112 Service", v6Registry + " (RFC 7534)", allow, nil},
	{netip.MustParsePrefix("3fff::/20"), "Documentation", v6Registry + " (RFC 9637)", block, nil},
	{netip.MustParsePrefix("5f00::/16"), "Segment Routing (SRv6) SIDs", v6Registry + " (RFC 9602)", block, nil},
	{netip.MustParsePrefix("fc00::/7"), "Unique-Local", v6Registry + " (RFC 4193)", block, nil},
	{netip.MustParsePrefix("fe80::/10"), "Link-Local Unicast", v6Registry + " (RFC 4291)", block, nil},
	{netip.MustParsePrefix("fec0::/10"), "Site-Local (deprecated)", "RFC 3879, not in the registry", block, nil},
	{netip.MustParsePrefix("ff00::/8"), "Multicast", "IANA IPv6 Multicast Address Space Registry (RFC 4291)", block, nil},
}

var globalUnicast = netip.MustParsePrefix("2000::/3")

// reason is the range's name as BlockedError says it ("… loopback
// address").
func (r SpecialRange) reason() string {
	return strings.TrimSuffix(strings.ToLower(r.Name), " address")
}

// rangeOf is the most specific table entry holding a, if any.
func rangeOf(a netip.Addr) (SpecialRange, bool) {
	best, found := SpecialRange{}, false
	for _, r := range SpecialRanges {
		if r.Prefix.Contains(a) && (!found || r.Prefix.Bits() > best.Prefix.Bits()) {
			best, found = r, true
		}
	}
	return best, found
}

// CheckAddr returns a *BlockedError unless a may be connected to: a
// public unicast address, judged by SpecialRanges (an IPv4 address
// embedded in IPv6 by the ranges that embed one).
func CheckAddr(a netip.Addr) error {
	if !a.IsValid() {
		return &BlockedError{Addr: a, Reason: "invalid"}
	}
	a = a.WithZone("")
	r, ok := rangeOf(a)
	switch {
	case ok && r.verdict == embedded:
		for _, v4 := range r.ipv4(a.As16()) {
			if err := CheckAddr(v4); err != nil {
				be := err.(*BlockedError)
				return &BlockedError{Addr: a, Reason: fmt.Sprintf("%s form of %s, a %s", r.reason(), v4, be.Reason)}
			}
		}
		return nil
	case ok && r.verdict == block:
		return &BlockedError{Addr: a, Reason: r.reason()}
	case ok:
		return nil
	case a.Is6() && !globalUnicast.Contains(a):
		return &BlockedError{Addr: a, Reason: "IPv6 outside global unicast (2000::/3)"}
	}
	return nil
}

// GuardedDialer returns the SSRF-guarded dialer deliveries use, for the
// other features that call URLs an organization configures (assessment,
// workflow and feed partners), so that one guard protects every outgoing
// request. With allowPrivate it is an ordinary dialer.
func GuardedDialer(allowPrivate bool, timeout time.Duration) *net.Dialer {
	return guardedDialer(allowPrivate, timeout)
}

// guardedDialer returns the dialer deliveries connect with. The check runs
// in Control, after name resolution and before connecting, on the address
// actually dialled: a host name that resolves (or re-resolves, as in DNS
// rebinding) to a private address is refused, and a name with several
// addresses falls through to the public ones. Checking the URL's host
// when a setting is saved (CheckURL) cannot give that guarantee alone.
// A refused connection is never made, so no response, and no part of a
// response body, from a blocked address can be recorded.
func guardedDialer(allowPrivate bool, timeout time.Duration) *net.Dialer {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return fmt.Errorf("webhook dial %s: %w", address, err)
			}
			a, err := netip.ParseAddr(host)
			if err != nil {
				return fmt.Errorf("webhook dial %s: %w", address, err)
			}
			return CheckAddr(a)
		}
	}
	return d
}

// Resolver looks host names up (*net.Resolver is one).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// CheckURL is the guard applied when a URL is configured (a webhook's
// requestUrl, a partner's baseUrl): a *BlockedError when its host is a
// blocked address or a name that resolves to one. A name that does not
// resolve now is left to the dialer, which checks every connection; so is
// a name that resolves elsewhere later (DNS rebinding). r nil means the
// system's resolver.
func CheckURL(ctx context.Context, r Resolver, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		return CheckAddr(a)
	}
	if r == nil {
		r = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if err := CheckAddr(a.Unmap()); err != nil {
			be := err.(*BlockedError)
			be.Reason = fmt.Sprintf("%s resolves to a %s", host, be.Reason)
			return be
		}
	}
	return nil
}
