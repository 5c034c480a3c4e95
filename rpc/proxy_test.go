package rpc

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestClientIPBehindTrustedProxies(t *testing.T) {
	ps, err := ParseProxies("10.0.0.0/8, 192.0.2.1 ,2001:db8::/32")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no header", "10.1.1.1:5", nil, "10.1.1.1"},
		{"a direct client's header is ignored", "203.0.113.9:5", []string{"198.51.100.1"}, "203.0.113.9"},
		{"one proxy", "10.1.1.1:5", []string{"203.0.113.9"}, "203.0.113.9"},
		{"spoofed leftmost entries", "10.1.1.1:5", []string{"1.1.1.1, 8.8.8.8, 203.0.113.9"}, "203.0.113.9"},
		{"a chain of proxies", "10.1.1.1:5", []string{"1.1.1.1, 203.0.113.9, 192.0.2.1, 10.2.2.2"}, "203.0.113.9"},
		{"several headers read as one list", "10.1.1.1:5", []string{"1.1.1.1, 203.0.113.9", "10.2.2.2"}, "203.0.113.9"},
		{"a spoofed trusted address on the left", "10.1.1.1:5", []string{"10.9.9.9, 203.0.113.9"}, "203.0.113.9"},
		{"every hop a proxy", "10.1.1.1:5", []string{"10.3.3.3, 10.2.2.2"}, "10.3.3.3"},
		{"garbage ends the walk at the proxy that reported it", "10.1.1.1:5", []string{"203.0.113.9, not-an-ip, 10.2.2.2"}, "10.2.2.2"},
		{"ports and IPv6", "[2001:db8::1]:5", []string{"[2001:db8::7]:443, 203.0.113.9:1234"}, "203.0.113.9"},
		{"an IPv6 client", "10.1.1.1:5", []string{"2606:4700::1"}, "2606:4700::1"},
		{"a mapped IPv4 proxy", "[::ffff:10.1.1.1]:5", []string{"203.0.113.9"}, "203.0.113.9"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = c.peer
		for _, h := range c.xff {
			r.Header.Add("X-Forwarded-For", h)
		}
		var got string
		WithClientIP(ps, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = ClientIP(r) })).ServeHTTP(httptest.NewRecorder(), r)
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	// Without trusted proxies the header means nothing.
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.1.1.1:5"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	if got := Proxies(nil).Resolve(r); got != "10.1.1.1" {
		t.Errorf("no proxies: %q", got)
	}
	if ClientIP(r) != "10.1.1.1" {
		t.Error("ClientIP without WithClientIP is the peer")
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example", "1.2.3.4/x"} {
		if _, err := ParseProxies(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
