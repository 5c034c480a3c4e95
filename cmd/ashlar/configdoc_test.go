package main

import (
	"context"
	"os"
	"strings"
	"testing"
)

// docs/configuration.md is generated from the flag definitions; this
// fails when a flag changed and the file was not regenerated.
func TestConfigDocIsCurrent(t *testing.T) {
	t.Parallel()
	want, err := configDoc(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatal("docs/configuration.md is stale: run go generate ./cmd/ashlar")
	}
	// Every serve flag has its environment variable.
	for _, line := range strings.Split(string(want), "\n## ashlar serve\n")[1:2] {
		for _, row := range strings.Split(strings.Split(line, "\n## ")[0], "\n") {
			if strings.HasPrefix(row, "| `--") && !strings.Contains(row, "| `ASHLAR_") {
				t.Errorf("a serve flag without an environment variable: %s", row)
			}
		}
	}
}
