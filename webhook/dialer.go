package webhook

import (
	"fmt"
	"net"
	"net/netip"
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

// blockedPrefixes are non-public ranges that netip's predicates do not
// cover.
var blockedPrefixes = []struct {
	p      netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\""},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
}

// CheckAddr returns a *BlockedError when a is not a public unicast
// address: loopback, private, link-local, multicast, unspecified or one
// of the special-purpose ranges. IPv4 addresses embedded in IPv6 (mapped,
// NAT64, 6to4) are judged by their IPv4 part.
func CheckAddr(a netip.Addr) error {
	a = a.WithZone("").Unmap()
	if a.Is6() {
		b := a.As16()
		switch {
		case netip.MustParsePrefix("64:ff9b::/96").Contains(a):
			return CheckAddr(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case netip.MustParsePrefix("2002::/16").Contains(a):
			return CheckAddr(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
	}
	reason := ""
	switch {
	case !a.IsValid():
		reason = "invalid"
	case a.IsUnspecified():
		reason = "unspecified"
	case a.IsLoopback():
		reason = "loopback"
	case a.IsPrivate():
		reason = "private"
	case a.IsLinkLocalUnicast():
		reason = "link-local"
	case a.IsMulticast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		reason = "multicast"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		reason = "broadcast"
	}
	for _, bp := range blockedPrefixes {
		if reason == "" && bp.p.Contains(a) {
			reason = bp.reason
		}
	}
	if reason != "" {
		return &BlockedError{Addr: a, Reason: reason}
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
// when a setting is saved could not give that guarantee.
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
