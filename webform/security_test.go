package webform

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestAccessibleColor(t *testing.T) {
	for _, c := range []string{"#ffcc00", "#ffffff", "#3b4fd8", "#0b6e4f", "#00ff00", "not a colour", ""} {
		got := AccessibleColor(c)
		r, g, b, ok := parseHex(got)
		if !ok {
			t.Fatalf("%q → %q is not a colour", c, got)
		}
		if ratio := contrast(1, luminance(r, g, b)); ratio < 4.5 {
			t.Errorf("%q → %q has contrast %.2f on white, below WCAG AA", c, got, ratio)
		}
	}
	if got := AccessibleColor("#0b6e4f"); got != "#0b6e4f" {
		t.Errorf("a colour with enough contrast is kept: %s", got)
	}
}

func TestLimiter(t *testing.T) {
	l := NewLimiter(60, 2) // one a second, bursts of two
	now := time.Unix(1000, 0)
	for i := 0; i < 2; i++ {
		if ok, _ := l.Allow("1.2.3.4", now); !ok {
			t.Fatalf("request %d refused within the burst", i)
		}
	}
	ok, wait := l.Allow("1.2.3.4", now)
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("third request: %v, wait %v", ok, wait)
	}
	if ok, _ := l.Allow("5.6.7.8", now); !ok {
		t.Fatal("another address shares the bucket")
	}
	if ok, _ := l.Allow("1.2.3.4", now.Add(time.Second)); !ok {
		t.Fatal("the bucket does not refill")
	}
}

// A public body that trickles in is cut off at its deadline.
func TestBodyDeadline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		BodyDeadline(w, r, 100*time.Millisecond, 1<<20)
		if _, err := io.ReadAll(r.Body); err != nil {
			w.WriteHeader(http.StatusRequestTimeout)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly a little")
	c.SetReadDeadline(time.Now().Add(30 * time.Second)) // a guard against hanging
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("a stalled body: %v %v", resp, err)
	}
}
