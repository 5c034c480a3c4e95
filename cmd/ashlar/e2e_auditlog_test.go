package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

func auditEntries(t *testing.T, c *client.Client, params map[string]any) []ashby.AuditLogEntry {
	t.Helper()
	out, _, err := client.All[ashby.AuditLogEntry](context.Background(), c, "auditLog.list", params)
	if err != nil {
		t.Fatalf("auditLog.list %v: %v", params, err)
	}
	return out
}

func TestE2EAuditLog(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := ofrStart(t, engine) // fails the test if the server reports a data race
		slug, key := srv.NewOrg()
		c := srv.Client(key)
		f := newFixture(t, c)

		// The organization's defaults were created by the command line:
		// the system's, outside any request.
		boot := auditEntries(t, c, map[string]any{"categories": []string{"interviewPlan.created"}})
		if len(boot) != 1 || boot[0].Actor.Type != ashby.ActorSystem || boot[0].Actor.ID != nil || boot[0].Request != nil {
			t.Fatalf("bootstrap entries: %+v", boot)
		}

		var cand ashby.Candidate
		res := must(t, c, "candidate.create", map[string]any{"name": "Grace Hopper", "email": "grace@example.com"}, &cand)
		var app ashby.Application
		must(t, c, "application.create", map[string]any{"candidateId": cand.ID, "jobId": f.job.ID}, &app)
		must(t, c, "application.changeStage", map[string]any{"applicationId": app.ID, "interviewStageId": f.stageByTyp["Archived"].ID,
			"archiveReasonId": f.reasons[0].ID}, &app)

		// Creating the candidate: one entry by the API key, with the request.
		got := auditEntries(t, c, map[string]any{"targetIds": []string{cand.ID}, "categories": []string{"candidate.created"}})
		if len(got) != 1 {
			t.Fatalf("candidate.created entries: %+v", got)
		}
		e := got[0]
		if e.Actor.Type != ashby.ActorAPIUser || e.Actor.ID == nil || e.Actor.Name == "" || e.Target.Type != "Candidate" || e.Target.Name != "Grace Hopper" ||
			e.Request == nil || e.Request.ID != res.RequestID || e.Request.Endpoint != "candidate.create" || e.Request.IPAddress != "127.0.0.1" || e.ChangedFields != nil {
			t.Fatalf("candidate.created entry: %+v (request %+v)", e, e.Request)
		}
		keyID := *e.Actor.ID

		// The stage change: the application's entry has the changed fields,
		// and the entries it wrote besides point at it.
		upd := auditEntries(t, c, map[string]any{"targetIds": []string{app.ID}, "categories": []string{"application.updated"}})
		if len(upd) != 1 {
			t.Fatalf("application.updated entries: %+v", upd)
		}
		cf := upd[0].ChangedFields
		if string(cf["status"].From) != `"Active"` && string(cf["status"].From) != `"Lead"` || string(cf["status"].To) != `"Archived"` || cf["currentInterviewStage"].To == nil {
			t.Fatalf("changedFields of a stage change: %s", mustMarshal(cf))
		}
		if _, ok := cf["updatedAt"]; ok {
			t.Error("updatedAt is reported as changed")
		}
		sameRequest := 0
		for _, e := range auditEntries(t, c, nil) {
			if e.Request != nil && e.Request.ID == upd[0].Request.ID {
				sameRequest++
				if e.ID != upd[0].ID && e.ParentAction == nil {
					t.Errorf("entry %s of the stage change has no parent action", e.Category)
				}
			}
		}
		if sameRequest < 2 {
			t.Errorf("the stage change wrote %d entries; expected the application and its history", sameRequest)
		}

		// Filters: actorIds AND targetIds; targetTypes OR categories.
		if got := auditEntries(t, c, map[string]any{"actorIds": []string{keyID}, "targetIds": []string{cand.ID}}); len(got) == 0 {
			t.Error("actorIds with targetIds found nothing")
		}
		if got := auditEntries(t, c, map[string]any{"actorIds": []string{ashby.NewID()}}); len(got) != 0 {
			t.Errorf("an unknown actor has %d entries", len(got))
		}
		both := auditEntries(t, c, map[string]any{"targetTypes": []string{"Candidate"}, "categories": []string{"application.created"}})
		types := map[string]bool{}
		for _, e := range both {
			types[e.Target.Type] = true
		}
		if !types["Candidate"] || !types["Application"] || len(types) != 2 {
			t.Errorf("targetTypes OR categories: %v", types)
		}
		// Newest first, across pages.
		all := auditEntries(t, c, map[string]any{"limit": 7})
		for i := 1; i < len(all); i++ {
			if all[i].Timestamp.After(all[i-1].Timestamp.Time) {
				t.Fatalf("entry %d is newer than the one before it", i)
			}
		}
		if len(all) < 30 {
			t.Fatalf("only %d entries in the last 24 hours", len(all))
		}

		// Dates: a window in the past is empty; dates are validated.
		if got := auditEntries(t, c, map[string]any{"startDate": "2026-01-01", "endDate": "2026-01-31"}); len(got) != 0 {
			t.Errorf("January has %d entries", len(got))
		}
		// endDate as a date includes its day (unless the test straddles midnight).
		today := time.Now().UTC().Format("2006-01-02")
		if got := auditEntries(t, c, map[string]any{"startDate": today, "endDate": today}); len(got) != len(all) && all[len(all)-1].Timestamp.Format("2006-01-02") == today {
			t.Errorf("today (endDate includes its day): %d entries, want %d", len(got), len(all))
		}
		for _, bad := range []map[string]any{
			{"startDate": "yesterday"},
			{"startDate": "2024-01-01", "endDate": "2025-08-01"},
			{"startDate": "2026-02-01", "endDate": "2026-01-01"},
			{"targetTypes": []string{"Widget"}},
			{"categories": []string{"candidate.archived"}},
			{"actorIds": []string{""}},
		} {
			wantCode(t, c, "auditLog.list", bad, ashby.CodeInvalidInput)
		}
		if got := auditEntries(t, c, map[string]any{"startDate": "2024-01-01", "endDate": "2025-07-01"}); len(got) != 0 {
			t.Errorf("an 18-month window: %d entries", len(got))
		}

		// A cursor is valid only for the request it came from.
		p, err := c.ListPage(context.Background(), "auditLog.list", map[string]any{"limit": 2}, "", "")
		if err != nil || !p.MoreDataAvailable {
			t.Fatalf("first page: %v", err)
		}
		wantCode(t, c, "auditLog.list", map[string]any{"limit": 2, "cursor": p.NextCursor, "targetTypes": []string{"Candidate"}}, "cursor_invalid")
		wantCode(t, c, "auditLog.list", map[string]any{"cursor": "garbage"}, "cursor_invalid")

		// Another organization sees none of it; a key without auditLogsRead
		// gets nothing either.
		_, otherKey := srv.NewOrg()
		for _, e := range auditEntries(t, srv.Client(otherKey), nil) {
			if e.Target.ID == cand.ID || e.Target.ID == app.ID || (e.Actor.ID != nil && *e.Actor.ID == keyID) {
				t.Fatalf("another organization sees %+v", e)
			}
		}
		noAudit := srv.Client(srv.Key(slug, "candidatesRead,candidatesWrite"))
		if _, err := noAudit.Call(context.Background(), "auditLog.list", nil, nil); client.Code(err) != ashby.CodeMissingEndpointPermission {
			t.Errorf("without auditLogsRead: %v", err)
		}

		// A failed call records nothing.
		before := len(auditEntries(t, c, nil))
		wantCode(t, c, "application.changeStage", map[string]any{"applicationId": app.ID, "interviewStageId": f.stageByTyp["Active"].ID,
			"archiveReasonId": f.reasons[0].ID}, ashby.CodeInvalidInput)
		if after := len(auditEntries(t, c, nil)); after != before {
			t.Errorf("a failed call wrote %d entries", after-before)
		}
	})
}

func mustMarshal(v any) string {
	b, _ := json.Marshal(v)
	return strings.TrimSpace(string(b))
}
