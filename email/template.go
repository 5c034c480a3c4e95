package email

import (
	"fmt"
	"html"
	"regexp"
	"slices"
	"strings"

	"github.com/ashlarhq/ashlar/sanitize"
)

// Token is a substitution token of Ashby's communication templates, as
// Ashlar writes them: {{candidate.firstName}}. The same markers are the
// sequence templates' (docs/sequences.md).
type Token struct {
	Name, Meaning string
	// When says in which emails it has a value.
	When string
}

// Tokens lists every token Ashlar resolves (docs/email.md).
var Tokens = []Token{
	{"candidate.firstName", "the candidate's first name", "every email"},
	{"candidate.lastName", "the candidate's last name (empty for a one-word name)", "every email"},
	{"candidate.name", "the candidate's full name", "every email"},
	{"candidate.email", "the address the email is sent to", "every email"},
	{"organization.name", "the organization's name", "every email"},
	{"job.title", "the job's title", "emails about an application"},
	{"sender.firstName", "the first name of the user who sends it", "archive emails and emails written by a user"},
	{"sender.lastName", "the last name of the user who sends it", "archive emails and emails written by a user"},
	{"sender.name", "the full name of the user who sends it", "archive emails and emails written by a user"},
	{"sender.email", "the email address of the user who sends it", "archive emails and emails written by a user"},
	{"survey.link", "the link to the survey the email asks the candidate to answer", "survey requests"},
}

// Values are the tokens' values for one email. A token absent from Values
// cannot be resolved in that email.
type Values map[string]string

var tokenRE = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// UnresolvedError names the tokens a template uses that have no value in
// the email it would make (or that Ashlar does not know).
type UnresolvedError struct{ Tokens []string }

func (e *UnresolvedError) Error() string {
	return fmt.Sprintf("the template uses %s, which cannot be resolved in this email", "{{"+strings.Join(e.Tokens, "}}, {{")+"}}")
}

// Rendered is a template filled in for one email.
type Rendered struct {
	Subject, HTML, Text string
}

// Render fills a template's subject (plain text) and HTML body. Values go
// into the body HTML-escaped, then the body is sanitised to the tags
// Ashby allows in rich text; the plain-text alternative is made from it.
// Every token must resolve, or nothing is rendered.
func Render(subject, bodyHTML string, v Values) (*Rendered, error) {
	var missing []string
	for _, s := range []string{subject, bodyHTML} {
		for _, m := range tokenRE.FindAllStringSubmatch(s, -1) {
			if _, ok := v[m[1]]; !ok && !slices.Contains(missing, m[1]) {
				missing = append(missing, m[1])
			}
		}
	}
	if len(missing) > 0 {
		return nil, &UnresolvedError{Tokens: missing}
	}
	subj := tokenRE.ReplaceAllStringFunc(subject, func(m string) string { return v[tokenRE.FindStringSubmatch(m)[1]] })
	body := tokenRE.ReplaceAllStringFunc(bodyHTML, func(m string) string { return html.EscapeString(v[tokenRE.FindStringSubmatch(m)[1]]) })
	body = strings.TrimSpace(sanitize.DescriptionHTML(body))
	return &Rendered{Subject: oneLine(subj), HTML: body, Text: sanitize.PlainText(body)}, nil
}

// Check reports the tokens of a template that cannot resolve in an email
// with the given tokens available (nil: none missing).
func Check(subject, bodyHTML string, available []string) error {
	v := Values{}
	for _, t := range available {
		v[t] = ""
	}
	_, err := Render(subject, bodyHTML, v)
	return err
}
