package warehouse

import (
	"strings"
	"testing"
)

// Airbyte's Ashby source connector syncs these streams
// (https://docs.airbyte.com/integrations/sources/ashby).
var airbyteStreams = []string{"applications", "archive_reasons", "candidate_tags", "candidates", "custom_fields", "departments",
	"feedback_form_definitions", "interview_schedules", "job_postings", "jobs", "locations", "offers", "sources", "users"}

func TestCatalogHasAirbytesStreams(t *testing.T) {
	for _, n := range airbyteStreams {
		s, ok := Catalog[n]
		if !ok || !s.Airbyte {
			t.Errorf("stream %s missing or not marked as Airbyte's", n)
		}
	}
	n := 0
	for _, s := range Catalog {
		if s.Airbyte {
			n++
		}
	}
	if n != len(airbyteStreams) {
		t.Errorf("%d streams marked Airbyte's, want %d", n, len(airbyteStreams))
	}
}

func TestCatalogColumns(t *testing.T) {
	for name, s := range Catalog {
		seen := map[string]bool{"id": true, "doc": true, "last_seen_at": true, "sync_token": true, "run_id": true}
		for _, c := range s.Columns {
			if seen[c.Name] {
				t.Errorf("%s: column %s twice or reserved", name, c.Name)
			}
			seen[c.Name] = true
			if !c.FromVariant && c.Path == "" {
				t.Errorf("%s.%s has no path", name, c.Name)
			}
		}
		if s.VariantParam != "" && variantColumn(s) == "" {
			t.Errorf("%s: variants without a variant column, so a full pass could not delete per variant", name)
		}
		if !strings.Contains(s.Endpoint, ".") {
			t.Errorf("%s: endpoint %q", name, s.Endpoint)
		}
	}
}

func TestSelect(t *testing.T) {
	got, err := Select([]string{"users", " candidates", "users"})
	if err != nil || len(got) != 2 || got[0].Name != "candidates" || got[1].Name != "users" {
		t.Fatalf("Select = %v, %v", got, err)
	}
	if _, err := Select([]string{"candidates", "nope"}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("unknown stream: %v", err)
	}
	all, _ := Select(nil)
	if len(all) != len(Catalog) {
		t.Fatalf("Select(nil) = %d streams", len(all))
	}
}

func TestLookup(t *testing.T) {
	doc := map[string]any{"a": map[string]any{"b": "c"}, "n": nil}
	if lookup(doc, "a.b") != "c" || lookup(doc, "a.x") != nil || lookup(doc, "n.b") != nil || lookup(doc, "zz") != nil {
		t.Fatal("lookup")
	}
}
