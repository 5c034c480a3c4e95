package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

// Sourcing sequences, email senders, HRIS pushes and version.list
// against the real binary (docs/sequences.md, docs/compatibility.md).

func seqTemplate(t *testing.T, c *client.Client, title string, delays ...int) ashby.SequenceTemplate {
	t.Helper()
	var stages []map[string]any
	for i, d := range delays {
		stages = append(stages, map[string]any{"delayDays": d, "subject": "Step {{candidate.firstName}}",
			"bodyHtml": "<p>Hello {{candidate.firstName}}, step " + string(rune('1'+i)) + ".</p><script>alert(1)</script>"})
	}
	var tmpl ashby.SequenceTemplate
	must(t, c, "sequenceTemplate.create", map[string]any{"title": title, "stages": stages}, &tmpl)
	return tmpl
}

func seqCandidate(t *testing.T, c *client.Client, name, email string) ashby.Candidate {
	t.Helper()
	req := map[string]any{"name": name}
	if email != "" {
		req["email"] = email
	}
	var cand ashby.Candidate
	must(t, c, "candidate.create", req, &cand)
	return cand
}

func TestE2ESequences(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := ofrStart(t, engine) // fails the test if the server reports a data race
		slug, key := srv.NewOrg()
		c := srv.Client(key)
		other := srv.Client(srv.Key(slug, "all"))
		reader := srv.Client(srv.Key(slug, "sourcingRead"))
		ctx := context.Background()

		// Templates: cadence only, validated tokens, archive, sync.
		tmpl := seqTemplate(t, c, "Outreach", 0, 2, 5)
		if len(tmpl.Stages) != 3 || tmpl.Stages[1].DelayDays != 2 || tmpl.Stages[2].StageNumber != 3 || !tmpl.UnsubscribeLinkActive {
			t.Fatalf("template: %+v", tmpl)
		}
		var raw json.RawMessage
		must(t, reader, "sequenceTemplate.info", map[string]any{"sequenceTemplateId": tmpl.ID}, &raw)
		if strings.Contains(string(raw), "subject") || strings.Contains(string(raw), "Hello") {
			t.Fatalf("a template exposes its messages: %s", raw)
		}
		wantCode(t, c, "sequenceTemplate.info", map[string]any{"sequenceTemplateId": ashby.NewID()}, api.CodeSequenceTemplateNotFound)
		wantCode(t, c, "sequenceTemplate.create", map[string]any{"title": "x", "stages": []any{}}, ashby.CodeInvalidInput)
		wantCode(t, c, "sequenceTemplate.create", map[string]any{"title": "x", "stages": []any{map[string]any{"subject": "Hi {{candidate.age}}", "bodyHtml": "<p>x</p>"}}}, ashby.CodeInvalidInput)
		wantCode(t, c, "sequenceTemplate.create", map[string]any{"title": "x", "stages": []any{map[string]any{"subject": "Hi", "bodyHtml": "<p>{{job.title</p>"}}}, ashby.CodeInvalidInput)
		wantCode(t, c, "sequenceTemplate.create", map[string]any{"title": "x", "stages": []any{map[string]any{"subject": "Hi", "bodyHtml": "<p>x</p>", "delayDays": -1}}}, ashby.CodeInvalidInput)
		instant := seqTemplate(t, c, "Instant", 0, 0)
		retired := seqTemplate(t, c, "Retired", 1)
		_, token, err := client.All[ashby.SequenceTemplate](ctx, reader, "sequenceTemplate.list", nil)
		if err != nil || token == "" {
			t.Fatalf("sequenceTemplate.list: %v (token %q)", err, token)
		}
		must(t, c, "sequenceTemplate.archive", map[string]any{"sequenceTemplateId": retired.ID}, nil)
		active, _, _ := client.All[ashby.SequenceTemplate](ctx, reader, "sequenceTemplate.list", nil)
		all, _, _ := client.All[ashby.SequenceTemplate](ctx, reader, "sequenceTemplate.list", map[string]any{"includeArchived": true})
		if len(active) != 2 || len(all) != 3 {
			t.Fatalf("templates: %d active, %d with archived", len(active), len(all))
		}
		changed := ofrSyncUntil(t, reader, "sequenceTemplate.list", nil, token, retired.ID, func(r json.RawMessage) string {
			var x ashby.SequenceTemplate
			json.Unmarshal(r, &x)
			return x.ID
		})
		if len(changed) == 0 || changed[len(changed)-1] != retired.ID {
			t.Fatalf("incremental sync after archiving: %v", changed)
		}

		// Senders: the acting user's own address.
		var senders []ashby.EmailSender
		must(t, reader, "emailSender.list", nil, &senders)
		if len(senders) != 1 || senders[0].Type != ashby.SenderPrimary || !strings.Contains(senders[0].Email, "@") {
			t.Fatalf("senders: %+v", senders)
		}

		// A draft.
		ada := seqCandidate(t, c, "Ada Lovelace", "ada@example.com")
		var app ashby.Application
		f := newFixture(t, c)
		must(t, c, "application.create", map[string]any{"candidateId": ada.ID, "jobId": f.job.ID}, &app)
		var draft ashby.Sequence
		must(t, c, "sequence.add", map[string]any{"sequenceTemplateId": tmpl.ID, "candidateId": ada.ID, "applicationId": app.ID, "start": false}, &draft)
		if draft.Status != ashby.SequenceNotStarted || draft.StartResult != nil || len(draft.Stages) != 3 || draft.Stages[0].Status != ashby.StageNotStarted ||
			draft.Stages[0].ScheduledAt != nil || *draft.ApplicationID != app.ID || draft.From.Email != senders[0].Email ||
			!strings.Contains(draft.Stages[0].BodyHTML, "Hello {{candidate.firstName}}") || strings.Contains(draft.Stages[0].BodyHTML, "script") {
			t.Fatalf("draft: %+v", draft)
		}
		_, err = c.Call(ctx, "sequence.add", map[string]any{"sequenceTemplateId": tmpl.ID, "candidateId": ada.ID, "start": false}, nil)
		var ce *client.Error
		if client.Code(err) != api.CodeSequenceDraftAlreadyExists || !errorAs(err, &ce) || ce.Meta["existingSequenceId"] != draft.ID {
			t.Fatalf("second draft: %v", err)
		}
		wantCode(t, c, "sequence.add", map[string]any{"sequenceTemplateId": tmpl.ID, "candidateId": ada.ID, "start": false, "from": map[string]any{"email": "noreply@example.com"}}, api.CodeSequenceSenderNotAllowed)
		wantCode(t, c, "sequence.add", map[string]any{"sequenceTemplateId": ashby.NewID(), "candidateId": ada.ID, "start": false}, api.CodeSequenceTemplateNotFound)
		wantCode(t, c, "sequence.add", map[string]any{"sequenceTemplateId": retired.ID, "candidateId": ada.ID, "start": false}, ashby.CodeInvalidInput)
		wantCode(t, c, "sequence.add", map[string]any{"sequenceTemplateId": tmpl.ID, "candidateId": ashby.NewID(), "start": false}, "candidate_not_found")
		wantCode(t, c, "sequence.add", map[string]any{"sequenceTemplateId": tmpl.ID, "candidateId": ada.ID}, ashby.CodeInvalidInput) // start is required

		// Another key has its own draft of it, and cannot touch this one.
		var theirs ashby.Sequence
		must(t, other, "sequence.add", map[string]any{"sequenceTemplateId": tmpl.ID, "candidateId": ada.ID, "start": false}, &theirs)
		for _, ep := range []string{"sequence.start", "sequence.discard"} {
			wantCode(t, other, ep, map[string]any{"sequenceId": draft.ID}, api.CodeSequenceNotFound)
		}
		wantCode(t, other, "sequence.updateStage", map[string]any{"sequenceId": draft.ID, "stageId": draft.Stages[0].ID, "subject": "x"}, api.CodeSequenceNotFound)

		// Personalising a draft's stage: bodyHtml or body, tokens checked.
		var edited ashby.Sequence
		must(t, c, "sequence.updateStage", map[string]any{"sequenceId": draft.ID, "stageId": draft.Stages[1].ID, "subject": "Following up, {{candidate.firstName}}",
			"body": map[string]any{"type": "text/html", "value": "<p>Any thoughts on the {{job.title}} role?</p>"}}, &edited)
		if edited.Stages[1].Subject != "Following up, {{candidate.firstName}}" || edited.Stages[1].BodyHTML != "<p>Any thoughts on the {{job.title}} role?</p>" || edited.Stages[0].Subject != draft.Stages[0].Subject {
			t.Fatalf("updated stage: %+v", edited.Stages)
		}
		for _, bad := range []map[string]any{
			{"sequenceId": draft.ID, "stageId": draft.Stages[1].ID},
			{"sequenceId": draft.ID, "stageId": draft.Stages[1].ID, "bodyHtml": "<p>{{candidate.salary}}</p>"},
			{"sequenceId": draft.ID, "stageId": draft.Stages[1].ID, "subject": "two\nlines"},
			{"sequenceId": draft.ID, "stageId": ashby.NewID(), "subject": "x"},
			{"sequenceId": draft.ID, "stageId": draft.Stages[1].ID, "bodyHtml": "<p>a</p>", "body": map[string]any{"type": "text/html", "value": "<p>b</p>"}},
		} {
			wantCode(t, c, "sequence.updateStage", bad, ashby.CodeInvalidInput)
		}
		must(t, c, "sequence.updateStage", map[string]any{"sequenceId": draft.ID, "stageId": draft.Stages[2].ID, "bodyHtml": "<p>Last note.</p>"}, &edited)

		// Starting: stage 1 is due at once, the rest scheduled by their delays.
		var started ashby.Sequence
		must(t, c, "sequence.start", map[string]any{"sequenceId": draft.ID}, &started)
		if started.Status != ashby.SequenceActive || started.StartResult == nil || started.StartResult.Status != ashby.StartStarted || started.StartedAt == nil {
			t.Fatalf("started: %+v", started)
		}
		st := started.Stages
		if st[0].Status != ashby.StageDue || st[1].Status != ashby.StageScheduled || st[2].Status != ashby.StageScheduled ||
			st[1].ScheduledAt.Sub(st[0].ScheduledAt.Time).Hours() != 48 || st[2].ScheduledAt.Sub(st[1].ScheduledAt.Time).Hours() != 120 {
			t.Fatalf("schedule: %+v", st)
		}
		wantCode(t, c, "sequence.start", map[string]any{"sequenceId": draft.ID}, api.CodeSequenceNotFound)
		wantCode(t, c, "sequence.discard", map[string]any{"sequenceId": draft.ID}, ashby.CodeInvalidInput)
		wantCode(t, c, "sequence.updateStage", map[string]any{"sequenceId": draft.ID, "stageId": st[1].ID, "subject": "x"}, ashby.CodeInvalidInput)
		// A running sequence of the template blocks enrolling the candidate again.
		must(t, other, "sequence.discard", map[string]any{"sequenceId": theirs.ID}, nil)
		wantCode(t, c, "sequence.add", map[string]any{"sequenceTemplateId": tmpl.ID, "candidateId": ada.ID, "start": true}, ashby.CodeInvalidInput)

		// Cancelling: stages not yet due are cancelled.
		var cancelled ashby.Sequence
		wantCode(t, other, "sequence.cancel", map[string]any{"sequenceId": draft.ID, "reason": "Not A Code"}, ashby.CodeInvalidInput)
		must(t, other, "sequence.cancel", map[string]any{"sequenceId": draft.ID}, &cancelled)
		if cancelled.Status != ashby.SequenceCancelled || cancelled.CancelReason == nil || *cancelled.CancelReason != "booked_meeting" || cancelled.CancelledAt == nil ||
			cancelled.Stages[0].Status != ashby.StageDue || cancelled.Stages[1].Status != ashby.StageCancelled || cancelled.Stages[2].Status != ashby.StageCancelled {
			t.Fatalf("cancelled: %+v", cancelled)
		}
		wantCode(t, c, "sequence.cancel", map[string]any{"sequenceId": draft.ID}, ashby.CodeInvalidInput)
		wantCode(t, c, "sequence.cancel", map[string]any{"sequenceId": ashby.NewID()}, api.CodeSequenceNotFound)

		// Started with start: true; all stages at once: Completed.
		grace := seqCandidate(t, c, "Grace Hopper", "grace@example.com")
		var done ashby.Sequence
		must(t, c, "sequence.add", map[string]any{"sequenceTemplateId": instant.ID, "candidateId": grace.ID, "start": true}, &done)
		if done.Status != ashby.SequenceCompleted || done.CompletedAt == nil || done.StartResult.Status != ashby.StartStarted {
			t.Fatalf("instant sequence: %+v", done)
		}
		wantCode(t, c, "sequence.cancel", map[string]any{"sequenceId": done.ID}, ashby.CodeInvalidInput)

		// A candidate without an email address: blocked, left a draft.
		nomail := seqCandidate(t, c, "No Mail", "")
		var blocked ashby.Sequence
		must(t, c, "sequence.add", map[string]any{"sequenceTemplateId": tmpl.ID, "candidateId": nomail.ID, "start": true}, &blocked)
		if blocked.Status != ashby.SequenceNotStarted || blocked.StartResult == nil || blocked.StartResult.Status != ashby.StartBlocked ||
			len(blocked.StartResult.Errors) != 1 || blocked.StartResult.Errors[0].Code != "candidate_email_missing" {
			t.Fatalf("blocked start: %+v", blocked)
		}
		must(t, c, "sequence.start", map[string]any{"sequenceId": blocked.ID}, &blocked)
		if blocked.StartResult.Status != ashby.StartBlocked {
			t.Fatalf("blocked again: %+v", blocked.StartResult)
		}

		// Reading: info, list by candidate, and discarding drafts (safely twice).
		var info ashby.Sequence
		must(t, reader, "sequence.info", map[string]any{"sequenceId": done.ID}, &info)
		if info.Status != ashby.SequenceCompleted || info.StartResult != nil {
			t.Fatalf("info: %+v", info)
		}
		wantCode(t, reader, "sequence.info", map[string]any{"sequenceId": ashby.NewID()}, api.CodeSequenceNotFound)
		adas, _, err := client.All[ashby.Sequence](ctx, reader, "sequence.list", map[string]any{"candidateId": ada.ID})
		if err != nil || len(adas) != 1 || adas[0].ID != draft.ID {
			t.Fatalf("sequence.list for Ada: %v %+v", err, adas)
		}
		everyone, _, _ := client.All[ashby.Sequence](ctx, reader, "sequence.list", map[string]any{"limit": 1})
		if len(everyone) != 3 {
			t.Fatalf("sequence.list: %d sequences", len(everyone))
		}
		wantCode(t, reader, "sequence.list", map[string]any{"candidateId": ashby.NewID()}, "candidate_not_found")
		for range 2 {
			must(t, c, "sequence.discard", map[string]any{"sequenceId": blocked.ID}, nil)
		}
		must(t, c, "sequence.discard", map[string]any{"sequenceId": ashby.NewID()}, nil)
		wantCode(t, reader, "sequence.info", map[string]any{"sequenceId": blocked.ID}, api.CodeSequenceNotFound)

		// Without sourcing permissions.
		noSourcing := srv.Client(srv.Key(slug, "candidatesRead,candidatesWrite"))
		if _, err := noSourcing.Call(ctx, "sequence.list", nil, nil); client.Code(err) != ashby.CodeMissingEndpointPermission {
			t.Errorf("sequence.list without sourcingRead: %v", err)
		}
		if _, err := reader.Call(ctx, "sequence.cancel", map[string]any{"sequenceId": done.ID}, nil); client.Code(err) != ashby.CodeMissingEndpointPermission {
			t.Errorf("sequence.cancel without sourcingWrite: %v", err)
		}

		// The audit log saw every change.
		entries := auditEntries(t, c, map[string]any{"targetIds": []string{draft.ID}})
		var cats []string
		for _, e := range entries {
			cats = append(cats, e.Category)
		}
		if len(cats) != 5 || cats[0] != "sequence.updated" || cats[4] != "sequence.created" {
			t.Fatalf("audit entries of the sequence (newest first): %v", cats)
		}
		if _, ok := entries[0].ChangedFields["status"]; !ok {
			t.Fatalf("the cancellation's changed fields: %s", mustMarshal(entries[0].ChangedFields))
		}
	})
}

func TestE2EPushToHrisAndVersions(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := ofrStart(t, engine) // fails the test if the server reports a data race
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
	resultKinds["sequence.discard"] = ""
	for name, f := range map[string]func(h *schemaHarness) any{
		"sequenceTemplate.info": func(h *schemaHarness) any { return map[string]any{"sequenceTemplateId": h.sequenceTemplate()} },
		"sequence.add": func(h *schemaHarness) any {
			return map[string]any{"sequenceTemplateId": h.sequenceTemplate(), "candidateId": h.mailableCandidate(), "start": false}
		},
		"sequence.info":  func(h *schemaHarness) any { return map[string]any{"sequenceId": h.draftSequence()["id"]} },
		"sequence.start": func(h *schemaHarness) any { return map[string]any{"sequenceId": h.draftSequence()["id"]} },
		"sequence.updateStage": func(h *schemaHarness) any {
			d := h.draftSequence()
			stage := asList(d["stages"])[0].(map[string]any)
			return map[string]any{"sequenceId": d["id"], "stageId": stage["id"], "subject": "Hello {{candidate.firstName}}"}
		},
		"sequence.discard": func(h *schemaHarness) any { return map[string]any{"sequenceId": h.draftSequence()["id"]} },
		"sequence.cancel": func(h *schemaHarness) any {
			res := h.call("sequence.add", map[string]any{"sequenceTemplateId": h.sequenceTemplate(), "candidateId": h.mailableCandidate(), "start": true})
			return map[string]any{"sequenceId": res["id"]}
		},
		"candidate.pushToHris": func(h *schemaHarness) any {
			return map[string]any{"applicationId": h.freshApplication(), "externalSystem": "Workday"}
		},
	} {
		requests[name] = f
	}
}

func (h *schemaHarness) sequenceTemplate() string {
	return h.once("sequenceTemplate", func() string {
		return h.call("sequenceTemplate.create", map[string]any{"title": "Schema outreach", "stages": []any{
			map[string]any{"delayDays": 0, "subject": "Hi {{candidate.firstName}}", "bodyHtml": "<p>Hello</p>"},
			map[string]any{"delayDays": 3, "subject": "Again", "bodyHtml": "<p>Hello again</p>"}}})["id"].(string)
	})
}

func (h *schemaHarness) mailableCandidate() string {
	return h.call("candidate.create", map[string]any{"name": "Sourced Person", "email": "sourced." + ashby.NewID()[:8] + "@example.com"})["id"].(string)
}

// draftSequence enrolls a new candidate in a draft sequence.
func (h *schemaHarness) draftSequence() map[string]any {
	return h.call("sequence.add", map[string]any{"sequenceTemplateId": h.sequenceTemplate(), "candidateId": h.mailableCandidate(), "start": false})
}
