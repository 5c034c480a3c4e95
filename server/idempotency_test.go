package server

import (
	"strings"
	"testing"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
)

// TestIdempotencyKeyOnEveryWrite: the endpoints that take an
// Idempotency-Key are exactly those needing a write or delete
// permission, none of them a read by name, and /openapi.json documents
// the header on exactly those.
func TestIdempotencyKeyOnEveryWrite(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	table := api.New(db, "http://localhost", nil).API()
	spec := table.OpenAPI("http://localhost")
	paths := spec["paths"].(map[string]any)
	writes := 0
	for _, e := range table.Endpoints() {
		_, method, _ := strings.Cut(e.Name, ".")
		read := strings.HasPrefix(method, "list") || strings.HasPrefix(method, "info") || strings.HasPrefix(method, "search") || strings.HasSuffix(method, "Info")
		if e.Mutating() && read {
			t.Errorf("%s is a read by name but takes an Idempotency-Key (permission %s)", e.Name, e.Permission)
		}
		p := string(e.Permission)
		if want := strings.HasSuffix(p, "Write") || strings.HasSuffix(p, "Delete"); e.Mutating() != want {
			t.Errorf("%s (permission %s): mutating %v", e.Name, p, e.Mutating())
		}
		op := paths["/"+e.Name].(map[string]any)["post"].(map[string]any)
		params, _ := op["parameters"].([]any)
		documented := false
		for _, prm := range params {
			if prm.(map[string]any)["name"] == rpc.IdempotencyHeader {
				documented = true
			}
		}
		if documented != e.Mutating() {
			t.Errorf("%s: Idempotency-Key documented %v, mutating %v", e.Name, documented, e.Mutating())
		}
		if e.Mutating() {
			writes++
		}
	}
	if writes < 150 {
		t.Fatalf("only %d mutating endpoints", writes)
	}
	t.Logf("%d mutating endpoints take an Idempotency-Key", writes)
}
