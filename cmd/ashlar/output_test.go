package main

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAttemptDetail(t *testing.T) {
	t.Parallel()
	if got := attemptDetail("", "  <html>\n  oops \t</html> "); got != "<html> oops </html>" {
		t.Errorf("response on one line: %q", got)
	}
	if got := attemptDetail("dial tcp: refused", "ignored"); got != "dial tcp: refused" {
		t.Errorf("error first: %q", got)
	}
	// 99 ASCII bytes then multi-byte characters: the cut at 100 bytes
	// would fall inside "é".
	long := strings.Repeat("a", 99) + strings.Repeat("é", 10)
	got := attemptDetail("", long)
	if !utf8.ValidString(got) || got != strings.Repeat("a", 99)+"…" {
		t.Errorf("long detail %q", got)
	}
	if attemptStatus(0) != "-" || attemptStatus(503) != "503" {
		t.Error("attemptStatus")
	}
}
