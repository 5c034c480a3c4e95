package sanitizetest

import (
	"strings"
	"testing"
)

// The check finds the marker of every hostile entry left unsanitised (a
// check that found nothing would prove nothing), but not escaped text.
// Some entries are inert as they are and only dangerous if a sanitiser
// mangles them into markup (a naive strip of <script> from <scr<script>ipt>,
// or CDATA read as markup).
func TestFoundCatchesTheRawCorpus(t *testing.T) {
	for _, in := range Corpus {
		harmless := strings.HasPrefix(in, "&lt;") || strings.Contains(in, "xssmark-free template") ||
			strings.HasPrefix(in, "<scr<script>") || strings.HasPrefix(in, "<![CDATA[")
		if got := Found("<main>" + in + "</main>"); (got == "") != harmless {
			t.Errorf("Found(%q) = %q", in, got)
		}
	}
	if got := Found(`<p>xssmark &lt;img src=xssmark&gt;</p><title>xssmark</title>`); got != "" {
		t.Errorf("text: %q", got)
	}
}
