package sanitize

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ashlarhq/ashlar/sanitize/sanitizetest"
)

func TestNoteHTMLKeepsAshbysTagsOnly(t *testing.T) {
	in := `<b>bold</b><script>alert(1)</script><h1>head</h1><a href="javascript:alert(1)">x</a><a href="https://e.com" onclick="y">ok</a><img src=x onerror=alert(1)>`
	got := NoteHTML(in)
	want := `<b>bold</b>headx<a href="https://e.com">ok</a>`
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if got := DescriptionHTML(`<h2>Role</h2><p>Build <i>things</i></p><iframe src=x></iframe>`); got != `<h2>Role</h2><p>Build <i>things</i></p>` {
		t.Fatalf("description: %q", got)
	}
}

func TestPlainText(t *testing.T) {
	got := PlainText(`<h2>About</h2><p>We build &amp; ship.</p><ul><li>Go</li><li>SQL</li></ul>`)
	want := "About\nWe build & ship.\nGo\nSQL"
	if got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}

// Stored HTML reaches pages only through DescriptionPage and NotePage:
// no other code in the module converts a string to template.HTML (or to
// another type html/template trusts), so nothing a client stored can be
// rendered unsanitised, whichever endpoint stored it.
func TestPagesRenderHTMLOnlyThroughTheSanitiser(t *testing.T) {
	trusted := regexp.MustCompile(`template\.(HTML|HTMLAttr|JS|JSStr|URL|CSS|Srcset)\(`)
	// JSON-LD: json.Marshal escapes <, > and & so the data cannot leave
	// its script element.
	allowed := map[string]string{"careers/careers.go": "template.JS(ld)"}
	root := ".."
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		if filepath.Dir(rel) == "sanitize" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range trusted.FindAllIndex(b, -1) {
			line := string(b[m[0]:min(len(b), m[1]+40)])
			if ok := allowed[filepath.ToSlash(rel)]; ok != "" && strings.HasPrefix(line, ok) {
				continue
			}
			t.Errorf("%s: %q: render stored HTML with sanitize.DescriptionPage or sanitize.NotePage", rel, strings.SplitN(line, "\n", 2)[0])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// What a hostile description keeps, whichever function renders it.
func TestHostileHTMLIsDisarmed(t *testing.T) {
	for _, in := range sanitizetest.Corpus {
		for name, out := range map[string]string{"DescriptionPage": string(DescriptionPage(in)), "NotePage": string(NotePage(in)),
			"DescriptionHTML": DescriptionHTML(in), "NoteHTML": NoteHTML(in)} {
			if bad := sanitizetest.Found(out); bad != "" {
				t.Errorf("%s(%q) = %q keeps %s", name, in, out, bad)
			}
		}
	}
}

// Every block element ends a line, and table cells are apart, so that no
// two blocks' words run together ("remote.About the role").
func TestPlainTextSeparatesBlocks(t *testing.T) {
	got := PlainText(`<section>One.</section><blockquote>Two.</blockquote><table><tr><td>a</td><td>b</td></tr><tr><th>c</th></tr></table><dl><dt>d</dt><dd>e</dd></dl>x<hr>y`)
	want := "One.\nTwo.\na b\nc\n\nd\ne\n\nx\ny"
	if got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}
