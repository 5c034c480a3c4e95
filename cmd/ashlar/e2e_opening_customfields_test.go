package main

import (
	"testing"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

func TestE2EOpeningCustomFieldValues(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, store.SQLite, testserver.Options{})
	_, key := srv.NewOrg()
	c := srv.Client(key)
	var field ashby.CustomField
	must(t, c, "customField.create", map[string]any{"title": "Budget code", "fieldType": "String", "objectType": "Opening_Version"}, &field)
	if field.ObjectType != "Opening" {
		t.Fatalf("object type: %s", field.ObjectType)
	}
	var opening struct {
		ID            string `json:"id"`
		LatestVersion struct {
			ID           string                   `json:"id"`
			CustomFields []ashby.CustomFieldValue `json:"customFields"`
		} `json:"latestVersion"`
	}
	must(t, c, "opening.create", map[string]any{"identifier": "OPN-CF-1"}, &opening)
	before := opening.LatestVersion.ID
	must(t, c, "customField.setValue", map[string]any{"objectId": opening.ID, "objectType": "Opening", "fieldId": field.ID, "fieldValue": "CC-42"}, nil)
	must(t, c, "opening.info", map[string]any{"openingId": opening.ID}, &opening)
	if len(opening.LatestVersion.CustomFields) != 1 || opening.LatestVersion.CustomFields[0].Value != "CC-42" {
		t.Fatalf("opening custom fields: %+v", opening.LatestVersion.CustomFields)
	}
	if opening.LatestVersion.ID == before {
		t.Fatal("setting a value should make a new opening version")
	}
	wantCode(t, c, "customField.setValue", map[string]any{"objectId": ashby.NewID(), "objectType": "Opening", "fieldId": field.ID, "fieldValue": "x"}, "opening_not_found")
}
