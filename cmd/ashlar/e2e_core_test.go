package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

// fixture is an organization with a job ready to take applications.
type fixture struct {
	c          *client.Client
	dept, loc  string
	job        ashby.Job
	stages     []ashby.InterviewStage
	reasons    []ashby.ArchiveReason
	sources    []ashby.Source
	stageByTyp map[string]ashby.InterviewStage
}

func must(t *testing.T, c *client.Client, endpoint string, req, out any) *client.Response {
	t.Helper()
	res, err := c.Call(context.Background(), endpoint, req, out)
	if err != nil {
		t.Fatalf("%s: %v", endpoint, err)
	}
	return res
}

func wantCode(t *testing.T, c *client.Client, endpoint string, req any, code string) {
	t.Helper()
	_, err := c.Call(context.Background(), endpoint, req, nil)
	if got := client.Code(err); got != code {
		t.Fatalf("%s %v: got error %v, want %s", endpoint, req, err, code)
	}
}

func newFixture(t *testing.T, c *client.Client) *fixture {
	f := &fixture{c: c, stageByTyp: map[string]ashby.InterviewStage{}}
	var d ashby.Department
	must(t, c, "department.create", map[string]any{"name": "Engineering"}, &d)
	var l ashby.Location
	must(t, c, "location.create", map[string]any{"name": "Berlin", "type": "Location"}, &l)
	f.dept, f.loc = d.ID, l.ID
	var plans []ashby.InterviewPlan
	must(t, c, "interviewPlan.list", nil, &plans)
	must(t, c, "job.create", map[string]any{"title": "Backend Engineer", "teamId": d.ID, "locationId": l.ID, "defaultInterviewPlanId": plans[0].ID}, &f.job)
	must(t, c, "job.setStatus", map[string]any{"jobId": f.job.ID, "status": "Open"}, &f.job)
	must(t, c, "interviewStage.list", map[string]any{"interviewPlanId": plans[0].ID}, &f.stages)
	for _, st := range f.stages {
		if _, ok := f.stageByTyp[st.Type]; !ok {
			f.stageByTyp[st.Type] = st
		}
	}
	must(t, c, "archiveReason.list", nil, &f.reasons)
	must(t, c, "source.list", nil, &f.sources)
	return f
}

func TestE2EHiringWorkflow(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{})
		_, key := srv.NewOrg()
		c := srv.Client(key)
		f := newFixture(t, c)

		// A new organization has Ashby's defaults.
		var groups []ashby.InterviewStageGroup
		must(t, c, "interviewStageGroup.list", nil, &groups)
		if len(groups) != 6 || groups[0].StageType != "Lead" || groups[5].StageType != "Archived" {
			t.Fatalf("stage groups: %+v", groups)
		}
		for _, typ := range ashby.StageTypes {
			if _, ok := f.stageByTyp[typ]; !ok {
				t.Fatalf("default plan lacks a %s stage", typ)
			}
		}
		if len(f.sources) < 5 || len(f.reasons) < 5 {
			t.Fatalf("defaults: %d sources, %d archive reasons", len(f.sources), len(f.reasons))
		}

		// Job status transitions follow Ashby's rules.
		wantCode(t, c, "job.setStatus", map[string]any{"jobId": f.job.ID, "status": "Draft"}, "invalid_job_status_transition")
		var draft ashby.Job
		must(t, c, "job.create", map[string]any{"title": "Planless", "teamId": f.dept, "locationId": f.loc}, &draft)
		if draft.Status != "Draft" {
			t.Fatalf("new job status %s", draft.Status)
		}
		wantCode(t, c, "job.setStatus", map[string]any{"jobId": draft.ID, "status": "Open"}, "job_missing_interview_plan")
		wantCode(t, c, "job.create", map[string]any{"title": "x", "teamId": ashby.NewID(), "locationId": f.loc}, "department_not_found")
		var jobs []ashby.Job
		must(t, c, "job.list", nil, &jobs)
		if len(jobs) != 1 || jobs[0].ID != f.job.ID {
			t.Fatalf("job.list should hide drafts by default: %d jobs", len(jobs))
		}
		must(t, c, "job.list", map[string]any{"status": []string{"Draft", "Open"}}, &jobs)
		if len(jobs) != 2 {
			t.Fatalf("job.list with Draft: %d", len(jobs))
		}
		var withLoc json.RawMessage
		must(t, c, "job.info", map[string]any{"id": f.job.ID, "expand": []string{"location"}}, &withLoc)
		if !strings.Contains(string(withLoc), `"location":{"id":"`+f.loc) {
			t.Fatalf("expand location: %s", withLoc)
		}
		wantCode(t, c, "job.info", map[string]any{"id": f.job.ID, "expand": []string{"nonsense"}}, "invalid_input")

		// Candidate with tags and notes.
		var cand ashby.Candidate
		must(t, c, "candidate.create", map[string]any{"name": "Ada Lovelace", "email": "ada@example.com", "phoneNumber": "+44 20 7946 0000",
			"linkedInUrl": "https://linkedin.com/in/ada", "alternateEmailAddresses": []string{"countess@example.com"}}, &cand)
		if cand.PrimaryEmailAddress == nil || cand.PrimaryEmailAddress.Value != "ada@example.com" || len(cand.EmailAddresses) != 2 || len(cand.SocialLinks) != 1 {
			t.Fatalf("candidate: %+v", cand)
		}
		wantCode(t, c, "candidate.create", map[string]any{"name": "Bad", "email": "not-an-email"}, "invalid_input")
		var found []ashby.Candidate
		must(t, c, "candidate.search", map[string]any{"email": "COUNTESS@example.com"}, &found)
		if len(found) != 1 || found[0].ID != cand.ID {
			t.Fatalf("search by alternate email: %v", found)
		}
		must(t, c, "candidate.search", map[string]any{"email": "ada@example.com", "name": "Grace"}, &found)
		if len(found) != 0 {
			t.Fatalf("search ANDs email and name: %v", found)
		}
		var tag, tag2 ashby.CandidateTag
		must(t, c, "candidateTag.create", map[string]any{"title": "Referral"}, &tag)
		must(t, c, "candidateTag.create", map[string]any{"title": " referral "}, &tag2)
		if tag.ID != tag2.ID {
			t.Fatalf("candidateTag.create is idempotent by title: %s vs %s", tag.ID, tag2.ID)
		}
		must(t, c, "candidate.addTag", map[string]any{"candidateId": cand.ID, "tagId": tag.ID}, &cand)
		if len(cand.Tags) != 1 {
			t.Fatalf("addTag: %+v", cand.Tags)
		}
		var note ashby.Note
		must(t, c, "candidate.createNote", map[string]any{"candidateId": cand.ID, "note": map[string]string{"type": "text/html", "value": "<b>Great</b><script>x()</script>"}}, &note)
		if note.Content != "<b>Great</b>" || note.Author.ID == "" {
			t.Fatalf("note: %+v", note)
		}
		must(t, c, "candidate.createNote", map[string]any{"candidateId": cand.ID, "note": "plain"}, nil)
		var notes []ashby.Note
		must(t, c, "candidate.listNotes", map[string]any{"candidateId": cand.ID}, &notes)
		if len(notes) != 2 {
			t.Fatalf("notes: %d", len(notes))
		}

		// Application through the pipeline.
		var app ashby.Application
		must(t, c, "application.create", map[string]any{"candidateId": cand.ID, "jobId": f.job.ID, "sourceId": f.sources[0].ID}, &app)
		if app.Status != "Lead" || app.CurrentInterviewStage.Type != "Lead" || app.Candidate.Name != "Ada Lovelace" || app.Job.Title != "Backend Engineer" {
			t.Fatalf("new application: %+v", app)
		}
		wantCode(t, c, "application.create", map[string]any{"candidateId": cand.ID, "jobId": f.job.ID}, "application_already_exists")
		active := f.stageByTyp["Active"]
		must(t, c, "application.changeStage", map[string]any{"applicationId": app.ID, "interviewStageId": active.ID}, &app)
		if app.Status != "Active" {
			t.Fatalf("status after Active stage: %s", app.Status)
		}
		archived := f.stageByTyp["Archived"]
		wantCode(t, c, "application.changeStage", map[string]any{"applicationId": app.ID, "interviewStageId": archived.ID}, "invalid_input")
		wantCode(t, c, "application.changeStage", map[string]any{"applicationId": app.ID, "interviewStageId": active.ID, "archiveReasonId": f.reasons[0].ID}, "invalid_input")
		wantCode(t, c, "application.changeStage", map[string]any{"applicationId": app.ID, "interviewStageId": archived.ID, "archiveReasonId": ashby.NewID()}, "archive_reason_not_found")
		wantCode(t, c, "application.changeStage", map[string]any{"applicationId": app.ID, "interviewStageId": ashby.NewID()}, "interview_stage_not_found")
		// The legacy snake_case alias still works.
		must(t, c, "application.change_stage", map[string]any{"applicationId": app.ID, "interviewStageId": archived.ID, "archiveReasonId": f.reasons[0].ID}, &app)
		if app.Status != "Archived" || app.ArchiveReason == nil || app.ArchivedAt == nil {
			t.Fatalf("archived application: %+v", app)
		}
		must(t, c, "application.change_source", map[string]any{"applicationId": app.ID, "sourceId": f.sources[1].ID}, &app)
		if app.Source.ID != f.sources[1].ID {
			t.Fatalf("change_source: %+v", app.Source)
		}
		var hist []ashby.ApplicationHistoryItem
		must(t, c, "application.listHistory", map[string]any{"applicationId": app.ID}, &hist)
		if len(hist) != 3 || hist[0].StageNumber != 0 || hist[2].Title != "Archived" || hist[0].LeftStageAt == nil || hist[2].LeftStageAt != nil {
			t.Fatalf("history: %+v", hist)
		}
		var info map[string]any
		must(t, c, "application.info", map[string]any{"applicationId": app.ID}, &info)
		if h, _ := info["applicationHistory"].([]any); len(h) != 3 {
			t.Fatalf("application.info history: %v", info["applicationHistory"])
		}

		// Renaming the candidate rewrites the applications that embed them.
		must(t, c, "candidate.update", map[string]any{"candidateId": cand.ID, "name": "Augusta Ada King"}, &cand)
		var apps []ashby.Application
		must(t, c, "application.list", map[string]any{"jobId": f.job.ID}, &apps)
		if len(apps) != 1 || apps[0].Candidate.Name != "Augusta Ada King" {
			t.Fatalf("application after candidate rename: %+v", apps)
		}
		must(t, c, "application.list", map[string]any{"status": "Active"}, &apps)
		if len(apps) != 0 {
			t.Fatalf("status filter: %d", len(apps))
		}

		// Anonymize: refused while an application is active, then strips PII.
		var grace ashby.Candidate
		must(t, c, "candidate.create", map[string]any{"name": "Grace Hopper", "email": "grace@example.com"}, &grace)
		var gapp ashby.Application
		must(t, c, "application.create", map[string]any{"candidateId": grace.ID, "jobId": f.job.ID, "interviewStageId": "FirstPreInterviewScreen"}, &gapp)
		if gapp.CurrentInterviewStage.Type != "PreInterviewScreen" || gapp.Status != "Active" {
			t.Fatalf("FirstPreInterviewScreen: %+v", gapp.CurrentInterviewStage)
		}
		wantCode(t, c, "candidate.anonymize", map[string]any{"candidateId": grace.ID}, "candidate_has_active_applications")
		must(t, c, "application.changeStage", map[string]any{"applicationId": gapp.ID, "interviewStageId": f.stageByTyp["Hired"].ID}, &gapp)
		if gapp.Status != "Hired" {
			t.Fatalf("hired: %s", gapp.Status)
		}
		var anon ashby.Candidate
		must(t, c, "canidate.anonymize", map[string]any{"candidateId": grace.ID}, &anon)
		if anon.Name != "Anonymized Candidate" || anon.PrimaryEmailAddress != nil || len(anon.EmailAddresses) != 0 {
			t.Fatalf("anonymized: %+v", anon)
		}
		must(t, c, "candidate.search", map[string]any{"email": "grace@example.com"}, &found)
		if len(found) != 0 {
			t.Fatalf("anonymized candidate still found by email")
		}
	})
}

func TestE2ECommandLine(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, store.SQLite, testserver.Options{})
	slug, key := srv.NewOrg()
	c := srv.Client(key)
	var info ashby.APIKeyInfo
	must(t, c, "apiKey.info", nil, &info)
	if !strings.HasPrefix(info.Title, "test key") || len(info.Scopes) != len(ashby.AllPermissions) {
		t.Fatalf("apiKey.info: %+v", info)
	}

	// A narrow key sees only its modules.
	narrow := srv.Key(slug, "candidatesRead,jobs:read")
	nc := srv.Client(narrow)
	must(t, nc, "candidate.list", nil, nil)
	_, err := nc.Call(context.Background(), "candidate.create", map[string]any{"name": "x"}, nil)
	var apiErr *client.Error
	if !asError(err, &apiErr) || apiErr.Status != http.StatusForbidden || apiErr.Code != "missing_endpoint_permission" {
		t.Fatalf("narrow key writing: %v", err)
	}

	// Revocation takes effect on the next request, from another process.
	list := srv.CLI("apikey", "list", "--org", slug)
	var keyID string
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, "candidatesRead,jobsRead") {
			keyID = strings.Fields(line)[0]
		}
	}
	if keyID == "" {
		t.Fatalf("apikey list does not show the narrow key:\n%s", list)
	}
	srv.CLI("apikey", "revoke", "--org", slug, keyID)
	_, err = nc.Call(context.Background(), "candidate.list", nil, nil)
	if !asError(err, &apiErr) || apiErr.Status != http.StatusForbidden {
		t.Fatalf("revoked key: %v", err)
	}
	if _, _, err := srv.TryCLI("org", "create", slug); err == nil {
		t.Fatal("creating an existing organization should fail")
	}
	if _, _, err := srv.TryCLI("apikey", "create", "--org", slug, "--name", "x", "--scopes", "candidatesReed"); err == nil {
		t.Fatal("an unknown permission should be refused")
	}
	for _, cmd := range [][]string{{"serve", "--help"}, {"migrate", "--help"}, {"org", "--help"}, {"apikey", "--help"}, {"apikey", "create", "--help"}} {
		out, errOut, err := srv.TryCLI(cmd...)
		if !strings.Contains(out+errOut, "Usage") {
			t.Errorf("ashlar %s: no usage (%v)\n%s%s", strings.Join(cmd, " "), err, out, errOut)
		}
	}
	out := srv.CLI("migrate")
	if !strings.Contains(out, "up to date") {
		t.Fatalf("migrate on a running server's database: %s", out)
	}
}

func asError(err error, target **client.Error) bool {
	e, ok := err.(*client.Error)
	if ok {
		*target = e
	}
	return ok
}

func TestE2EWalkAndIncrementalSync(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{})
		_, key := srv.NewOrg()
		c := srv.Client(key)
		ctx := context.Background()
		ids := make([]string, 0, 1050)
		for i := 0; i < 1050; i++ {
			var cand ashby.Candidate
			must(t, c, "candidate.create", map[string]any{"name": fmt.Sprint("Candidate ", i), "email": fmt.Sprintf("c%d@example.com", i)}, &cand)
			ids = append(ids, cand.ID)
		}
		seen := map[string]int{}
		cursor, pages, token := "", 0, ""
		for {
			p, err := c.ListPage(ctx, "candidate.list", map[string]any{"limit": 100}, cursor, "")
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, r := range p.Results {
				var cand ashby.Candidate
				json.Unmarshal(r, &cand)
				seen[cand.ID]++
			}
			if p.MoreDataAvailable && p.SyncToken != "" {
				t.Fatalf("page %d carries a syncToken before the last page", pages)
			}
			if !p.MoreDataAvailable {
				token = p.SyncToken
				break
			}
			cursor = p.NextCursor
		}
		if pages != 11 || len(seen) != 1050 || token == "" {
			t.Fatalf("walk: %d pages, %d candidates, token %q", pages, len(seen), token)
		}
		for _, id := range ids {
			if seen[id] != 1 {
				t.Fatalf("candidate %s seen %d times", id, seen[id])
			}
		}
		want := map[string]bool{}
		for i := 0; i < 7; i++ {
			id := ids[i*150]
			must(t, c, "candidate.update", map[string]any{"candidateId": id, "name": fmt.Sprint("Renamed ", i)}, nil)
			want[id] = true
		}
		for i := 0; i < 3; i++ {
			var cand ashby.Candidate
			must(t, c, "candidate.create", map[string]any{"name": fmt.Sprint("New ", i)}, &cand)
			want[cand.ID] = true
		}
		got, next := syncUntil(t, engine, c, "candidate.list", map[string]any{"limit": 4}, token, want)
		if len(got) != 10 {
			t.Fatalf("incremental sync returned %d changed records, want 10", len(got))
		}
		if next == "" || next == token {
			t.Fatalf("incremental sync should end with a new token")
		}
		// One character changed in the middle, where every bit is data
		// (a token's last character carries unused bits, and may already
		// be what a fixed replacement would write).
		edited := []byte(token)
		if i := len(edited) / 2; edited[i] == 'A' {
			edited[i] = 'B'
		} else {
			edited[i] = 'A'
		}
		wantCode(t, c, "candidate.list", map[string]any{"syncToken": string(edited)}, "sync_token_invalid")
		wantCode(t, c, "candidate.list", map[string]any{"cursor": "Rl"}, "invalid_next_cursor")
		wantCode(t, c, "application.list", map[string]any{"syncToken": token}, "sync_token_invalid")
	})
}

// syncUntil runs incremental syncs from token until every id in want has
// come; it returns what came and the last token. On SQLite one pass must
// return exactly want. On PostgreSQL a transaction of another test on the
// shared server can hold the horizon back, deferring a change to a later
// pass (never losing it) and re-delivering records written above the
// previous horizon; those repeats are tolerated there.
func syncUntil(t *testing.T, engine store.Engine, c *client.Client, endpoint string, params map[string]any, token string, want map[string]bool) (map[string]bool, string) {
	t.Helper()
	got := map[string]bool{}
	for deadline := time.Now().Add(30 * time.Second); ; {
		seen := map[string]bool{}
		next, err := c.Sync(context.Background(), endpoint, params, token, func(r json.RawMessage) error {
			var x struct{ ID string }
			json.Unmarshal(r, &x)
			if seen[x.ID] {
				return fmt.Errorf("%s twice in one incremental pass", x.ID)
			}
			seen[x.ID] = true
			if !want[x.ID] && engine == store.SQLite {
				return fmt.Errorf("incremental sync returned unchanged record %s", x.ID)
			}
			if want[x.ID] {
				got[x.ID] = true
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", endpoint, err)
		}
		if len(got) == len(want) {
			return got, next
		}
		if engine == store.SQLite || time.Now().After(deadline) {
			t.Fatalf("%s: incremental sync missed %d of %d changes", endpoint, len(want)-len(got), len(want))
		}
		token = next
		time.Sleep(20 * time.Millisecond)
	}
}
