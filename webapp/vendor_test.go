package webapp

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// Vendored scripts are npm packages' files as published
// (static/vendor/README.md): a change to one must be deliberate.
func TestVendoredScripts(t *testing.T) {
	for file, want := range map[string]string{
		// @github/clipboard-copy-element 1.3.2, dist/bundle.js
		"static/vendor/clipboard-copy-element.js": "373ef6fe2c592e24440ce8f3176456a54297d10bc64bbf8ca49cd90db2e2d982",
	} {
		b, err := assets.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("%s has SHA-256 %s, not the published file's %s", file, got, want)
		}
	}
}
