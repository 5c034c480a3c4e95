package sanitize

import "testing"

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

// Every block element ends a line, and table cells are apart, so that no
// two blocks' words run together ("remote.About the role").
func TestPlainTextSeparatesBlocks(t *testing.T) {
	got := PlainText(`<section>One.</section><blockquote>Two.</blockquote><table><tr><td>a</td><td>b</td></tr><tr><th>c</th></tr></table><dl><dt>d</dt><dd>e</dd></dl>x<hr>y`)
	want := "One.\nTwo.\na b\nc\n\nd\ne\n\nx\ny"
	if got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}
