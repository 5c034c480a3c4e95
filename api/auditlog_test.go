package api

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ashlarhq/ashlar/audit"
)

// Every record kind is in the audit log's vocabulary, so that clients can
// filter auditLog.list by its target type and categories: a kind added
// without a vocabulary entry is audited but unfilterable.
func TestEveryKindIsInTheAuditVocabulary(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	kindDecl := regexp.MustCompile(`store\.Kind\[[^\]]+\]\{\s*Name:\s*"([a-z_]+)"`)
	found := 0
	for _, f := range append(files, "../webhook/webhook.go") {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range kindDecl.FindAllStringSubmatch(string(b), -1) {
			found++
			if !audit.KnownKind(m[1]) {
				t.Errorf("%s declares record kind %q, which is missing from audit.knownKinds (audit/vocabulary.go)", f, m[1])
			}
		}
	}
	if found < 50 {
		t.Fatalf("found only %d kind declarations; has the declaration syntax changed?", found)
	}
}
