package email_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ashlarhq/ashlar/email"
)

func TestRender(t *testing.T) {
	v := email.Values{"candidate.firstName": `Zoë <script>`, "job.title": "Robot & Rocket Whisperer", "organization.name": "Northwind",
		"survey.link": "https://ats.example.com/surveys/1?a=b&c=d"}
	r, err := email.Render("{{job.title}} at {{ organization.name }}",
		`<p>Hi {{candidate.firstName}},</p><p>Thanks for applying to <b>{{job.title}}</b>. <a href="{{survey.link}}">Tell us how it went</a>.</p><script>alert(1)</script>`, v)
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "Robot & Rocket Whisperer at Northwind" {
		t.Errorf("subject %q", r.Subject)
	}
	if !strings.Contains(r.HTML, "Hi Zoë &lt;script&gt;,") || !strings.Contains(r.HTML, "<b>Robot &amp; Rocket Whisperer</b>") ||
		!strings.Contains(r.HTML, `href="https://ats.example.com/surveys/1?a=b&amp;c=d"`) || strings.Contains(r.HTML, "alert") {
		t.Errorf("html %s", r.HTML)
	}
	if !strings.Contains(r.Text, "Hi Zoë <script>,") || !strings.Contains(r.Text, "Robot & Rocket Whisperer") {
		t.Errorf("text %q", r.Text)
	}
	// A token without a value in this email, or unknown, refuses the whole.
	_, err = email.Render("Hello {{candidate.firstName}}", "<p>{{sender.name}} and {{favourite.colour}}, {{sender.name}}</p>", v)
	var ue *email.UnresolvedError
	if !errors.As(err, &ue) || strings.Join(ue.Tokens, ",") != "sender.name,favourite.colour" {
		t.Fatalf("unresolved: %v", err)
	}
	if err := email.Check("{{job.title}}", "<p>{{candidate.name}}</p>", []string{"job.title", "candidate.name"}); err != nil {
		t.Fatal(err)
	}
	// A subject stays one line, whatever a value holds.
	r, _ = email.Render("{{candidate.firstName}}", "", email.Values{"candidate.firstName": "Zoë\r\nBcc: x@example.com"})
	if strings.ContainsAny(r.Subject, "\r\n") {
		t.Fatalf("subject %q", r.Subject)
	}
}
