package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

// One or more addresses for every entry of the IANA special-purpose
// registries (and the ranges added to them), with the verdict expected,
// written out independently of the table: its first and last addresses
// where a range is blocked, and the neighbours outside it.
var addrCases = []struct {
	addr    string
	blocked bool
}{
	// 0.0.0.0/8 "This network", 0.0.0.0/32.
	{"0.0.0.0", true}, {"0.1.2.3", true}, {"0.255.255.255", true}, {"1.0.0.1", false},
	// 10.0.0.0/8.
	{"10.0.0.0", true}, {"10.255.255.255", true}, {"9.255.255.255", false}, {"11.0.0.0", false},
	// 100.64.0.0/10 shared.
	{"100.64.0.0", true}, {"100.127.255.255", true}, {"100.63.255.255", false}, {"100.128.0.0", false},
	// 127.0.0.0/8.
	{"127.0.0.1", true}, {"127.255.255.255", true}, {"128.0.0.0", false},
	// 169.254.0.0/16.
	{"169.254.169.254", true}, {"169.254.0.0", true}, {"169.255.0.0", false},
	// 172.16.0.0/12.
	{"172.16.0.0", true}, {"172.31.255.255", true}, {"172.15.255.255", false}, {"172.32.0.0", false},
	// 192.0.0.0/24 and its entries: /29, .8, .9 (PCP), .10 (TURN), .170, .171.
	{"192.0.0.0", true}, {"192.0.0.7", true}, {"192.0.0.8", true}, {"192.0.0.9", true}, {"192.0.0.10", true},
	{"192.0.0.170", true}, {"192.0.0.171", true}, {"192.0.0.255", true}, {"192.0.1.0", false},
	// 192.0.2.0/24 TEST-NET-1 (the range the attack reached).
	{"192.0.2.0", true}, {"192.0.2.1", true}, {"192.0.2.255", true}, {"192.0.3.0", false},
	// 192.31.196.0/24 AS112-v4, 192.52.193.0/24 AMT: globally reachable.
	{"192.31.196.1", false}, {"192.52.193.1", false},
	// 192.88.99.0/24 deprecated 6to4 relay anycast, 192.88.99.2 6a44.
	{"192.88.99.1", true}, {"192.88.99.2", true},
	// 192.168.0.0/16.
	{"192.168.0.0", true}, {"192.168.255.255", true}, {"192.169.0.0", false},
	// 192.175.48.0/24 AS112 direct delegation: globally reachable.
	{"192.175.48.1", false},
	// 198.18.0.0/15 benchmarking.
	{"198.18.0.0", true}, {"198.19.255.255", true}, {"198.17.255.255", false}, {"198.20.0.0", false},
	// 198.51.100.0/24, 203.0.113.0/24 documentation.
	{"198.51.100.7", true}, {"203.0.113.200", true}, {"203.0.114.0", false},
	// 224.0.0.0/4 multicast, 240.0.0.0/4 reserved, 255.255.255.255.
	{"224.0.0.1", true}, {"239.255.255.255", true}, {"240.0.0.1", true}, {"255.255.255.254", true}, {"255.255.255.255", true},
	{"223.255.255.255", false},
	// Ordinary public addresses.
	{"93.184.216.34", false}, {"8.8.8.8", false},

	// IPv6: ::, ::1, IPv4-compatible ::/96.
	{"::", true}, {"::1", true}, {"::7f00:1", true}, {"::808:808", true},
	// ::ffff:0:0/96 mapped: judged by the embedded address.
	{"::ffff:127.0.0.1", true}, {"::ffff:10.0.0.1", true}, {"::ffff:192.0.2.1", true}, {"::ffff:8.8.8.8", false},
	// 64:ff9b::/96 NAT64: embedded; 64:ff9b:1::/48 local use: blocked.
	{"64:ff9b::a9fe:a9fe", true}, {"64:ff9b::c000:201", true}, {"64:ff9b::808:808", false},
	{"64:ff9b:1::808:808", true}, {"64:ff9b:1:ffff:ffff:ffff:ffff:ffff", true},
	// 100::/64 discard-only, 100:0:0:1::/64 dummy.
	{"100::1", true}, {"100::ffff:ffff:ffff:ffff", true}, {"100:0:0:1::1", true},
	// 2001::/23 IETF assignments and its entries.
	{"2001:0:4136:e378:8000:63bf:f7f7:f7f7", false}, // Teredo: server 65.54.227.120, client 8.8.8.8 (inverted)
	{"2001:0:a00:1:8000:63bf:f7f7:f7f7", true},      // Teredo with server 10.0.0.1
	{"2001:0:4136:e378:8000:63bf:3fff:fdd2", true},  // Teredo with client 192.0.2.45 (RFC 4380's example)
	{"2001:0:4136:e378:8000:63bf:80ff:fffe", true},  // Teredo with client 127.0.0.1
	{"2001:1::1", true}, {"2001:1::2", true}, {"2001:1::3", true}, {"2001:1::4", true},
	{"2001:2::1", true}, {"2001:2:0:ffff::1", true},
	{"2001:3::1", false},       // AMT
	{"2001:4:112::1", false},   // AS112-v6
	{"2001:10::1", true},       // deprecated ORCHID
	{"2001:20::1", true},       // ORCHIDv2
	{"2001:30::1", true},       // DETs
	{"2001:1ff:ffff::1", true}, // the rest of 2001::/23
	{"2001:200::1", false},     // just past it: allocated to an RIR
	// 2001:db8::/32 documentation, 3fff::/20 documentation.
	{"2001:db8::1", true}, {"2001:db8:ffff:ffff::1", true}, {"3fff::1", true}, {"3fff:fff::1", true}, {"3fff:1000::1", false},
	// 2002::/16 6to4: embedded.
	{"2002:7f00:1::1", true}, {"2002:a00:1::1", true}, {"2002:c000:201::1", true}, {"2002:808:808::1", false},
	// 2620:4f:8000::/48 AS112: globally reachable.
	{"2620:4f:8000::1", false},
	// 5f00::/16 SRv6 SIDs.
	{"5f00::1", true},
	// fc00::/7 unique local, fe80::/10 link local, fec0::/10 site local, ff00::/8 multicast.
	{"fc00::1", true}, {"fd12:3456::1", true}, {"fe80::1", true}, {"fe80::1%eth0", true}, {"febf::1", true},
	{"fec0::1", true}, {"ff02::1", true}, {"ff0e::1", true},
	// Outside 2000::/3, and ordinary global unicast.
	{"4000::1", true}, {"1::1", true}, {"2606:4700:4700::1111", false}, {"2a00:1450::1", false},
}

func TestCheckAddr(t *testing.T) {
	for _, c := range addrCases {
		err := CheckAddr(netip.MustParseAddr(c.addr))
		var be *BlockedError
		if c.blocked && !errors.As(err, &be) {
			t.Errorf("%s: not blocked (%v)", c.addr, err)
		}
		if !c.blocked && err != nil {
			t.Errorf("%s: blocked: %v", c.addr, err)
		}
	}
}

// Every entry of the table is the most specific range of at least one
// tested address, so every entry is tested.
func TestEverySpecialRangeIsTested(t *testing.T) {
	covered := map[netip.Prefix]bool{}
	for _, c := range addrCases {
		if r, ok := rangeOf(netip.MustParseAddr(c.addr).WithZone("")); ok {
			covered[r.Prefix] = true
		}
	}
	for _, r := range SpecialRanges {
		if !covered[r.Prefix] {
			t.Errorf("%s (%s) has no test address", r.Prefix, r.Name)
		}
	}
}

// The ranges the outside test reached are among the blocked ones.
func TestTheAttackRangesAreBlocked(t *testing.T) {
	for _, p := range []string{"192.0.2.0/24", "198.18.0.0/15", "240.0.0.0/4", "224.0.0.0/4", "0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24",
		"2001:db8::/32", "100::/64", "64:ff9b:1::/48", "fc00::/7", "fe80::/10", "fec0::/10", "2001:10::/28", "2001:20::/28"} {
		pr := netip.MustParsePrefix(p)
		for _, a := range []netip.Addr{pr.Addr(), lastAddr(pr)} {
			if CheckAddr(a) == nil {
				t.Errorf("%s (in %s) is allowed", a, p)
			}
		}
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func TestCheckURL(t *testing.T) {
	r := fakeResolver{
		"hooks.example.com":  {netip.MustParseAddr("93.184.216.34")},
		"internal.example":   {netip.MustParseAddr("10.0.0.5")},
		"mixed.example":      {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("192.0.2.10")},
		"mapped.example":     {netip.MustParseAddr("::ffff:127.0.0.1")},
		"v6.example":         {netip.MustParseAddr("2606:4700:4700::1111")},
		"documentation.test": {netip.MustParseAddr("2001:db8::5")},
	}
	for raw, blocked := range map[string]bool{
		"https://hooks.example.com/ashby": false, "https://v6.example/x": false, "https://unresolvable.example/x": false,
		"https://93.184.216.34:8443/x": false, "https://[2606:4700:4700::1111]/x": false,
		"http://127.0.0.1:8080/x": true, "https://192.0.2.1/x": true, "https://[::1]/x": true, "https://[fe80::1%25eth0]/x": true,
		"https://internal.example/x": true, "https://mixed.example/x": true, "https://mapped.example/x": true,
		"https://documentation.test/x": true, "https://[::ffff:169.254.169.254]/x": true, "https://0.0.0.0/x": true,
	} {
		err := CheckURL(context.Background(), r, raw)
		var be *BlockedError
		if blocked != errors.As(err, &be) {
			t.Errorf("%s: %v", raw, err)
		}
	}
}

// The guard runs at dial time on the resolved address: "localhost" is
// refused although no literal IP appears in the URL.
func TestGuardedDialerRefusesResolvedLoopback(t *testing.T) {
	hit := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit = true }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, allow := range []bool{false, true} {
		tr := &http.Transport{DialContext: guardedDialer(allow, time.Second).DialContext}
		c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		resp, err := c.Post("http://localhost:"+port+"/hook", "application/json", nil)
		var be *BlockedError
		if !allow {
			if !errors.As(err, &be) || !be.Addr.IsLoopback() {
				t.Fatalf("guard on: got %v, want a BlockedError for loopback", err)
			}
			if hit {
				t.Fatal("guard on: the receiver was reached")
			}
			continue
		}
		if err != nil {
			t.Fatalf("guard off: %v", err)
		}
		resp.Body.Close()
		if !hit {
			t.Fatal("guard off: the receiver was not reached")
		}
	}
}

// docs/security.md lists the guard's table; run the test with
// ASHLAR_UPDATE_DOCS=1 to rewrite the list after changing the table.
func TestSecurityDocListsEveryRange(t *testing.T) {
	const begin, end = "<!-- begin generated special ranges -->\n", "<!-- end generated special ranges -->\n"
	var b strings.Builder
	b.WriteString("| range | name | source | verdict |\n| --- | --- | --- | --- |\n")
	for _, r := range SpecialRanges {
		verdict := "allowed (globally reachable)"
		switch {
		case r.Blocked():
			verdict = "**blocked**"
		case r.Embeds():
			verdict = "judged by the embedded IPv4 address"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", r.Prefix, r.Name, r.Source, verdict)
	}
	b.WriteString("| IPv6 outside `2000::/3` | not global unicast | IANA IPv6 Address Space Registry | **blocked** |\n")
	path := "../docs/security.md"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i, j := strings.Index(string(doc), begin), strings.Index(string(doc), end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the generated section markers", path)
	}
	want := string(doc[:i+len(begin)]) + b.String() + string(doc[j:])
	if want == string(doc) {
		return
	}
	if os.Getenv("ASHLAR_UPDATE_DOCS") != "" {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("%s is out of date with webhook.SpecialRanges: run go test ./webhook -run TestSecurityDocListsEveryRange with ASHLAR_UPDATE_DOCS=1", path)
}
