package webhook

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestCheckAddr(t *testing.T) {
	blocked := []string{"127.0.0.1", "127.8.9.10", "::1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
		"169.254.169.254", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1", "0.0.0.0", "::", "100.64.0.1", "224.0.0.1",
		"ff02::1", "255.255.255.255", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1",
		"198.18.0.1", "240.0.0.1", "0.1.2.3"}
	allowed := []string{"93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "192.169.0.1"}
	for _, s := range blocked {
		var be *BlockedError
		if err := CheckAddr(netip.MustParseAddr(s)); !errors.As(err, &be) {
			t.Errorf("%s: not blocked (%v)", s, err)
		}
	}
	for _, s := range allowed {
		if err := CheckAddr(netip.MustParseAddr(s)); err != nil {
			t.Errorf("%s: blocked: %v", s, err)
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
