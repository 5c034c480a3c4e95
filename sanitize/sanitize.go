// Package sanitize cleans user-supplied HTML down to the tags Ashby keeps:
// notes allow b, i, u, a, ul, ol, li, code and pre; job descriptions also
// allow headings (h1–h6) and paragraphs. Everything else is stripped, and
// links keep only safe URL schemes.
package sanitize

import (
	"html"
	"html/template"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
)

var (
	notePolicy        = policy("b", "i", "u", "ul", "ol", "li", "code", "pre", "br", "p")
	descriptionPolicy = policy("b", "i", "u", "ul", "ol", "li", "code", "pre", "br", "p", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em")
	textPolicy        = bluemonday.StrictPolicy()
)

func policy(tags ...string) *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements(tags...)
	p.AllowAttrs("href").OnElements("a")
	p.AllowStandardURLs() // http, https, mailto; no javascript:
	p.RequireNoFollowOnLinks(false)
	p.AddTargetBlankToFullyQualifiedLinks(false)
	return p
}

// NoteHTML sanitizes note HTML.
func NoteHTML(s string) string { return notePolicy.Sanitize(s) }

// DescriptionHTML sanitizes job posting description HTML.
func DescriptionHTML(s string) string { return descriptionPolicy.Sanitize(s) }

// Pages render stored HTML only through these two functions, the only
// conversions to template.HTML in Ashlar (a test checks it): the HTML is
// sanitised again as it is rendered, so that a page is safe whatever was
// stored, including anything stored before a field was sanitised on
// write or by a version with a laxer policy.

// DescriptionPage is description HTML (job postings, job board openings
// and closings, form section and field descriptions) ready for a page.
func DescriptionPage(s string) template.HTML {
	return template.HTML(descriptionPolicy.Sanitize(s))
}

// NotePage is note-policy HTML (take-home instructions) ready for a page.
func NotePage(s string) template.HTML { return template.HTML(notePolicy.Sanitize(s)) }

var (
	blockEnd = regexp.MustCompile(`(?i)</(p|h[1-6]|li|ul|ol|pre|div|section|article|header|footer|aside|blockquote|table|thead|tbody|tfoot|tr|dl|dt|dd|figure|figcaption)>|<(br|hr)\s*/?>`)
	cellEnd  = regexp.MustCompile(`(?i)</t[dh]>`)
	manyNL   = regexp.MustCompile(`\n{3,}`)
	spaces   = regexp.MustCompile(`[ \t]+`)
)

// PlainText renders HTML as plain text, keeping paragraph breaks.
func PlainText(s string) string {
	s = blockEnd.ReplaceAllString(s, "$0\n")
	s = cellEnd.ReplaceAllString(s, "$0 ")
	s = html.UnescapeString(textPolicy.Sanitize(s))
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(spaces.ReplaceAllString(l, " "))
	}
	return strings.TrimSpace(manyNL.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
}
