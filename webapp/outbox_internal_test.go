package webapp

import "testing"

// The outbox shows recipients as people read them, not as the header
// that carried an accented name.
func TestDisplayHeader(t *testing.T) {
	for in, want := range map[string]string{
		`=?utf-8?q?Franklin_Chang-D=C3=ADaz?= <franklin.chang-diaz@example.net>`: "Franklin Chang-Díaz <franklin.chang-diaz@example.net>",
		`"Sally Ride" <sally.ride@example.com>`:                                  `"Sally Ride" <sally.ride@example.com>`,
		`=?bogus`:                                                                `=?bogus`,
	} {
		if got := displayHeader(in); got != want {
			t.Errorf("displayHeader(%q) = %q, want %q", in, got, want)
		}
	}
}
