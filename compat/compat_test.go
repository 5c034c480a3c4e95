package compat

import (
	"os"
	"strings"
	"testing"
)

func loadValidator(t *testing.T) *Validator {
	t.Helper()
	b, err := os.ReadFile("testdata/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewValidator(b)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestReferenceLists(t *testing.T) {
	ref := Reference()
	names := map[string]Endpoint{}
	for _, e := range ref {
		if _, dup := names[e.Name]; dup {
			t.Errorf("%s listed twice", e.Name)
		}
		names[e.Name] = e
	}
	spec := 0
	for _, e := range ref {
		if e.Source == SourceSpec {
			spec++
		}
	}
	if spec != 164 {
		t.Errorf("the August 2026 description has 164 paths; read %d", spec)
	}
	for name, want := range map[string]Endpoint{
		"candidate.list":                  {Permission: "candidatesRead", Paged: true, Sync: true},
		"application.addHiringTeamMember": {Permission: "candidatesWrite"},
		"assessment.start":                {Role: RolePartner},
		"application.change_stage":        {Role: RoleAlias, Source: SourceLater},
		"workflow.update":                 {Role: RoleAshby, Source: SourceLater},
	} {
		got := names[name]
		if want.Permission != "" && got.Permission != want.Permission || got.Paged != want.Paged || got.Sync != want.Sync ||
			want.Role != "" && got.Role != want.Role || want.Source != "" && got.Source != want.Source {
			t.Errorf("%s: %+v", name, got)
		}
	}
}

// Every response schema of the description compiles.
func TestEveryResponseSchemaCompiles(t *testing.T) {
	v := loadValidator(t)
	n := 0
	for _, e := range Reference() {
		if e.Source != SourceSpec || !v.HasResponseSchema(e.Name) {
			continue
		}
		if _, err := v.schema(e.Name); err != nil {
			t.Errorf("%s: %v", e.Name, err)
		}
		n++
	}
	if n < 150 {
		t.Fatalf("only %d response schemas found", n)
	}
}

func TestValidate(t *testing.T) {
	v := loadValidator(t)
	good := `{"success":true,"results":{"id":"3ae2b801-19f6-41ef-ad28-214bd731948f","title":"Years","isPrivate":false,"objectType":"Candidate","isArchived":false,"fieldType":"Url","isRequired":false}}`
	if err := v.Validate("customField.info", []byte(good)); err != nil {
		t.Errorf("a Url custom field is a documented exception: %v", err)
	}
	bad := strings.Replace(good, `"fieldType":"Url"`, `"fieldType":"Nonsense"`, 1)
	if err := v.Validate("customField.info", []byte(bad)); err == nil {
		t.Error("an unknown fieldType passed")
	}
	missing := `{"success":true,"results":{"id":"3ae2b801-19f6-41ef-ad28-214bd731948f","isPrivate":false}}`
	err := v.Validate("customField.info", []byte(missing))
	if err == nil || !strings.Contains(err.Error(), "title") {
		t.Errorf("missing required fields: %v", err)
	}
	badTime := `{"success":true,"results":[{"id":"3ae2b801-19f6-41ef-ad28-214bd731948f","createdAt":"yesterday","updatedAt":"2024-01-01T00:00:00.000Z","title":"x","intendedTypes":["email"]}]}`
	if err := v.Validate("communicationTemplate.list", []byte(badTime)); err == nil {
		t.Error("a malformed date-time passed")
	}
	errBody := `{"success":false,"errors":["invalid_input"],"errorInfo":{"code":"invalid_input","message":"x","requestId":"r"}}`
	if err := v.Validate("candidate.info", []byte(errBody)); err != nil {
		t.Errorf("error envelope: %v", err)
	}
}

// Every exception is explained in docs/compatibility.md, and every
// endpoint it says is missing is a reference endpoint.
func TestExceptionsAreDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/compatibility.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range Exceptions {
		if !strings.Contains(string(doc), `id="`+ex.Doc+`"`) {
			t.Errorf("exception %s cites docs/compatibility.md#%s, which does not exist", ex.ID, ex.Doc)
		}
	}
	ref := map[string]bool{}
	for _, e := range Reference() {
		ref[e.Name] = true
	}
	for name := range ParseGaps(doc) {
		if !ref[name] {
			t.Errorf("docs/compatibility.md explains %s, which is not a reference endpoint", name)
		}
	}
}
