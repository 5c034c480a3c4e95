package webform

import (
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
