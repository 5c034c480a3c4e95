package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

// HRIS pushes and version.list against the real binary
// (docs/compatibility.md).

func TestE2EPushToHrisAndVersions(t *testing.T) {
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{})
		slug, key := srv.NewOrg()
		c := srv.Client(key)
		f := newFixture(t, c)

		var versions []api.VersionInfo
		must(t, srv.Client(srv.Key(slug, "apiKeysRead")), "version.list", nil, &versions)
		if len(versions) != 1 || versions[0].Version != "2026-01-01" || versions[0].Status != "active" || !versions[0].IsDefault {
			t.Fatalf("versions: %+v", versions)
		}

		// No offer: the push is recorded and announced; a repeat counts.
		hired := ofrApplication(t, f, "Ada Lovelace", "Hired")
		var push, again api.HRISPush
		must(t, c, "candidate.pushToHris", map[string]any{"applicationId": hired.ID, "externalSystem": "Workday"}, &push)
		must(t, c, "candidate.pushToHris", map[string]any{"applicationId": hired.ID, "externalSystem": "workday", "integrationPartnerId": ashby.NewID()}, &again)
		if push.PushCount != 1 || again.ID != push.ID || again.PushCount != 2 || again.IntegrationPartnerID == "" || push.CandidateID != hired.Candidate.ID {
			t.Fatalf("pushes: %+v then %+v", push, again)
		}
		var pushed int
		for _, e := range ofrEvents(t, srv, slug) {
			if e.Action == "pushToHRIS" {
				var p struct{ Application ashby.Application }
				json.Unmarshal(e.Payload, &p)
				if p.Application.ID != hired.ID {
					t.Fatalf("pushToHRIS payload: %s", e.Payload)
				}
				pushed++
			}
		}
		if pushed != 2 {
			t.Fatalf("%d pushToHRIS events, want 2", pushed)
		}
		wantCode(t, c, "candidate.pushToHris", map[string]any{"applicationId": ashby.NewID(), "externalSystem": "Workday"}, "application_not_found")
		wantCode(t, c, "candidate.pushToHris", map[string]any{"applicationId": hired.ID, "externalSystem": "Work day!"}, ashby.CodeInvalidInput)
		wantCode(t, c, "candidate.pushToHris", map[string]any{"applicationId": hired.ID}, ashby.CodeInvalidInput)

		// An offer not (yet) accepted blocks the push; accepted, it goes.
		app := ofrApplication(t, f, "Grace Hopper", "Offer")
		var proc ashby.OfferProcess
		must(t, c, "offerProcess.start", map[string]any{"applicationId": app.ID}, &proc)
		var form ashby.OfferForm
		must(t, c, "offer.start", map[string]any{"offerProcessId": proc.ID}, &form)
		var offer ashby.Offer
		must(t, c, "offer.create", map[string]any{"offerProcessId": proc.ID, "offerFormId": form.ID,
			"offerForm": ofrSubs("_systemfield_start_date", "2026-10-01", "_systemfield_salary", map[string]any{"currencyCode": "EUR", "value": 90000})}, &offer)
		_, err := c.Call(context.Background(), "candidate.pushToHris", map[string]any{"applicationId": app.ID, "externalSystem": "bob"}, nil)
		var ce *client.Error
		if client.Code(err) != api.CodeHRISPushBlockedByOfferStatus || !errorAs(err, &ce) || ce.Meta["offerId"] != offer.ID {
			t.Fatalf("push with a pending offer: %v", err)
		}
		must(t, c, "approvalDefinition.update", map[string]any{"entityType": "offer", "entityId": offer.LatestVersion.ID, "approvalStepDefinitions": []any{}}, nil)
		must(t, c, "offer.setStatus", map[string]any{"offerId": offer.ID, "acceptanceStatus": "Accepted"}, nil)
		must(t, c, "candidate.pushToHris", map[string]any{"applicationId": app.ID, "externalSystem": "bob"}, &push)
		if push.PushCount != 1 || push.ApplicationID != app.ID || push.ExternalSystem != "bob" {
			t.Fatalf("push after acceptance: %+v", push)
		}
		if got := auditEntries(t, c, map[string]any{"targetTypes": []string{"HrisPush"}}); len(got) != 3 {
			t.Fatalf("audit entries of pushes: %d", len(got))
		}
	})
}

// Requests for the schema conformance test (e2e_schema_test.go): these
// endpoints were documented after Ashby's August 2026 description, so it
// has no request schema to build them from.
func init() {
	resultKinds["candidate.pushToHris"] = "hrisPush"
	requests["candidate.pushToHris"] = func(h *schemaHarness) any {
		return map[string]any{"applicationId": h.freshApplication(), "externalSystem": "Workday"}
	}
}
