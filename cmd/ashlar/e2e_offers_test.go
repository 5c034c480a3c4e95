package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/compat"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

var ofrValidator = sync.OnceValues(func() (*compat.Validator, error) {
	raw, err := os.ReadFile("../../compat/testdata/openapi.json")
	if err != nil {
		return nil, err
	}
	return compat.NewValidator(raw)
})

// ofrClient is a client whose every successful response is checked
// against Ashby's response schema for its endpoint.
func ofrClient(t *testing.T, srv *testserver.Server, key string) *client.Client {
	t.Helper()
	v, err := ofrValidator()
	if err != nil {
		t.Fatal(err)
	}
	c := srv.Client(key)
	c.HTTP = &http.Client{Timeout: c.HTTP.Timeout, Transport: schemaCheck{t: t, v: v, next: http.DefaultTransport}}
	return c
}

type schemaCheck struct {
	t    *testing.T
	v    *compat.Validator
	next http.RoundTripper
}

func (s schemaCheck) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := s.next.RoundTrip(r)
	if err != nil || res.StatusCode != http.StatusOK {
		return res, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	endpoint := strings.TrimPrefix(r.URL.Path, "/")
	var env struct {
		Success bool `json:"success"`
	}
	if json.Unmarshal(body, &env) == nil && env.Success && s.v.HasResponseSchema(endpoint) {
		if err := s.v.Validate(endpoint, body); err != nil {
			s.t.Errorf("%s response does not match Ashby's schema: %v\n%.600s", endpoint, err, body)
		}
	}
	return res, nil
}

// End-to-end tests of offers, approvals, openings, hiring teams, job
// compensation, templates, brands and the application transfer, history and
// delete endpoints, on both engines.

// ofrEvent is one recorded webhook event.
type ofrEvent struct {
	Action  string
	Payload json.RawMessage
}

// ofrEvents reads an organization's event outbox straight from the
// server's database, in order.
func ofrEvents(t *testing.T, srv *testserver.Server, slug string) []ofrEvent {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, srv.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	org, err := db.OrgBySlug(ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, `SELECT action, payload FROM events WHERE org_id = $1 ORDER BY seq`, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []ofrEvent
	for rows.Next() {
		var e ofrEvent
		var p string
		if err := rows.Scan(&e.Action, &p); err != nil {
			t.Fatal(err)
		}
		e.Payload = json.RawMessage(p)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// ofrLastEvent is the payload of the last event with this action, or nil.
func ofrLastEvent(evs []ofrEvent, action string) json.RawMessage {
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Action == action {
			return evs[i].Payload
		}
	}
	return nil
}

// ofrZero clears *p before a response is decoded into it, so that fields
// the response omits do not keep values from an earlier response.
func ofrZero[T any](p *T) *T {
	var zero T
	*p = zero
	return p
}

// ofrStart starts the server for a test and fails the test if the server
// reports a data race (under go test -race the binary is built with the
// race detector, which prints its reports to the server's stderr).
func ofrStart(t *testing.T, engine store.Engine) *testserver.Server {
	t.Helper()
	srv := testserver.Start(t, engine, testserver.Options{})
	t.Cleanup(func() {
		if logs := srv.Logs(); strings.Contains(logs, "DATA RACE") {
			t.Errorf("the server reported a data race:\n%s", logs)
		}
	})
	return srv
}

// ofrSyncUntil runs incremental syncs from token, each from the token the
// last returned, until one reports want (as key renders a record), and
// returns what they reported. The sync contract promises a change to the
// next sync or, when a concurrent transaction holds PostgreSQL's horizon
// back, the one after; a few rounds cover that.
func ofrSyncUntil(t *testing.T, c *client.Client, endpoint string, params map[string]any, token, want string, key func(json.RawMessage) string) []string {
	t.Helper()
	var seen []string
	for round := 0; round < 50; round++ {
		next, err := c.Sync(context.Background(), endpoint, params, token, func(r json.RawMessage) error {
			seen = append(seen, key(r))
			return nil
		})
		if err != nil {
			t.Fatalf("%s incremental sync: %v", endpoint, err)
		}
		if slices.Contains(seen, want) {
			return seen
		}
		token = next
		time.Sleep(100 * time.Millisecond)
	}
	return seen
}

func ofrUser(t *testing.T, c *client.Client, first string) ashby.User {
	t.Helper()
	var u ashby.User
	must(t, c, "user.create", map[string]any{"firstName": first, "lastName": "Approver", "email": strings.ToLower(first) + "@example.com", "globalRole": "Elevated Access"}, ofrZero(&u))
	return u
}

func ofrApplication(t *testing.T, f *fixture, name string, stage string) ashby.Application {
	t.Helper()
	var cand ashby.Candidate
	must(t, f.c, "candidate.create", map[string]any{"name": name, "email": strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.com"}, ofrZero(&cand))
	var app ashby.Application
	must(t, f.c, "application.create", map[string]any{"candidateId": cand.ID, "jobId": f.job.ID}, ofrZero(&app))
	if stage != "" {
		must(t, f.c, "application.changeStage", map[string]any{"applicationId": app.ID, "interviewStageId": f.stageByTyp[stage].ID}, ofrZero(&app))
	}
	return app
}

func ofrSubs(pairs ...any) map[string]any {
	subs := []map[string]any{}
	for i := 0; i < len(pairs); i += 2 {
		subs = append(subs, map[string]any{"path": pairs[i], "value": pairs[i+1]})
	}
	return map[string]any{"fieldSubmissions": subs}
}

func ofrFieldErrors(err error) []string {
	e, ok := err.(*client.Error)
	if !ok {
		return nil
	}
	var paths []string
	fes, _ := e.Meta["fieldErrors"].([]any)
	for _, fe := range fes {
		m, _ := fe.(map[string]any)
		p, _ := m["path"].(string)
		paths = append(paths, p)
	}
	return paths
}

func TestE2EOfferLifecycle(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := ofrStart(t, engine)
		slug, key := srv.NewOrg()
		c := ofrClient(t, srv, key)
		ctx := context.Background()
		f := newFixture(t, c)
		alice, bob := ofrUser(t, c, "Alice"), ofrUser(t, c, "Bob")

		var open, draft ashby.Opening
		must(t, c, "opening.create", map[string]any{"identifier": "ENG-1", "jobIds": []string{f.job.ID}, "openingState": "Open"}, ofrZero(&open))
		must(t, c, "opening.create", map[string]any{"identifier": "ENG-2", "jobIds": []string{f.job.ID}}, ofrZero(&draft))
		app := ofrApplication(t, f, "Ada Lovelace", "Offer")

		// The offer process, started twice, is one process.
		var proc, again ashby.OfferProcess
		must(t, c, "offerProcess.start", map[string]any{"applicationId": app.ID}, ofrZero(&proc))
		must(t, c, "offerProcess.start", map[string]any{"applicationId": app.ID}, ofrZero(&again))
		if proc.Status != "WaitingOnOfferCreation" || proc.ApplicationID != app.ID || again.ID != proc.ID {
			t.Fatalf("offer process: %+v then %+v", proc, again)
		}
		wantCode(t, c, "offerProcess.start", map[string]any{"applicationId": ashby.NewID()}, "application_not_found")

		// The offer form: start date, salary and the job's openings.
		var form ashby.OfferForm
		must(t, c, "offer.start", map[string]any{"offerProcessId": proc.ID}, ofrZero(&form))
		paths := map[string]ashby.FormField{}
		for _, s := range form.FormDefinition.Sections {
			for _, e := range s.Fields {
				paths[e.Field.Path] = e.Field
			}
		}
		opField := paths["_systemfield_opening"]
		if paths["_systemfield_start_date"].Type != "Date" || paths["_systemfield_salary"].Type != "Currency" || len(opField.SelectableValues) != 2 {
			t.Fatalf("offer form: %+v", form.FormDefinition)
		}
		wantCode(t, c, "offer.start", map[string]any{"offerProcessId": ashby.NewID()}, "offer_process_not_found")

		// Validation failures.
		create := func(subs map[string]any) map[string]any {
			return map[string]any{"offerProcessId": proc.ID, "offerFormId": form.ID, "offerForm": subs}
		}
		_, err := c.Call(ctx, "offer.create", create(ofrSubs("_systemfield_salary", map[string]any{"currencyCode": "EUR", "value": 90000})), nil)
		if client.Code(err) != "invalid_input" || !slices.Equal(ofrFieldErrors(err), []string{"_systemfield_start_date"}) {
			t.Fatalf("missing start date: %v %v", err, ofrFieldErrors(err))
		}
		_, err = c.Call(ctx, "offer.create", create(ofrSubs("_systemfield_start_date", "2026-13-01", "_systemfield_salary", map[string]any{"currencyCode": "EUR", "value": 90000.5}, "bogus", 1)), nil)
		if fe := ofrFieldErrors(err); client.Code(err) != "invalid_input" || len(fe) != 2 || !slices.Contains(fe, "bogus") || !slices.Contains(fe, "_systemfield_start_date") {
			t.Fatalf("bad date and unknown path: %v %v", err, fe)
		}
		_, err = c.Call(ctx, "offer.create", create(ofrSubs("_systemfield_start_date", "2026-10-01", "_systemfield_salary", map[string]any{"currencyCode": "EUR", "value": 90000.5})), nil)
		if client.Code(err) != "invalid_input" || !slices.Equal(ofrFieldErrors(err), []string{"_systemfield_salary"}) {
			t.Fatalf("fractional salary: %v", err)
		}
		good := ofrSubs("_systemfield_start_date", "2026-10-01T09:00:00Z", "_systemfield_salary", map[string]any{"currencyCode": "eur", "value": 90000}, "_systemfield_opening", draft.ID)
		wantCode(t, c, "offer.create", create(good), "opening_state_invalid")
		wantCode(t, c, "offer.create", map[string]any{"offerProcessId": proc.ID, "offerFormId": ashby.NewID(), "offerForm": good}, "offer_form_not_found")
		wantCode(t, c, "offer.create", map[string]any{"offerProcessId": proc.ID, "offerFormId": form.ID}, "invalid_input")

		// Create.
		good = ofrSubs("_systemfield_start_date", "2026-10-01T09:00:00Z", "_systemfield_salary", map[string]any{"currencyCode": "eur", "value": 90000}, "_systemfield_opening", open.ID)
		var offer ashby.Offer
		must(t, c, "offer.create", create(good), ofrZero(&offer))
		v1 := offer.LatestVersion
		if offer.OfferStatus != "WaitingOnApprovalDefinition" || offer.AcceptanceStatus != "Created" || offer.ApplicationID != app.ID ||
			v1.Salary == nil || v1.Salary.Value != 90000 || v1.Salary.CurrencyCode != "EUR" || v1.StartDate == nil || v1.StartDate.Format("2006-01-02") != "2026-10-01" ||
			v1.OpeningID != open.ID || v1.ApprovalStatus != nil || len(offer.Versions) != 1 || offer.FormDefinition == nil {
			t.Fatalf("new offer: %+v / %+v", offer, v1)
		}
		wantCode(t, c, "offer.create", create(good), "offer_already_exists")
		var raw map[string]any
		must(t, c, "offer.info", map[string]any{"offerId": offer.ID, "excludeFormDefinition": true}, ofrZero(&raw))
		if _, ok := raw["formDefinition"]; ok {
			t.Fatal("excludeFormDefinition still returns the form")
		}
		wantCode(t, c, "offer.setStatus", map[string]any{"offerId": offer.ID, "acceptanceStatus": "Accepted"}, "offer_state_invalid")
		wantCode(t, c, "offer.startApprovalProcess", map[string]any{"offerVersionId": v1.ID}, "offer_state_invalid")

		// Another application cannot take the promised opening.
		other := ofrApplication(t, f, "Grace Hopper", "Offer")
		var proc2 ashby.OfferProcess
		must(t, c, "offerProcess.start", map[string]any{"applicationId": other.ID}, ofrZero(&proc2))
		wantCode(t, c, "offer.create", map[string]any{"offerProcessId": proc2.ID, "offerFormId": form.ID, "offerForm": good}, "opening_in_use")

		// An approval definition of two steps, submitted later.
		steps := []map[string]any{
			{"approvalsRequired": 1, "approvers": []map[string]any{{"userId": alice.ID, "type": "user"}, {"userId": bob.ID, "type": "user"}}},
			{"approvalsRequired": 1, "approvers": []map[string]any{{"userId": bob.ID, "type": "user"}}},
		}
		defReq := map[string]any{"entityType": "offer", "entityId": v1.ID, "approvalStepDefinitions": steps}
		wantCode(t, c, "approvalDefinition.update", map[string]any{"entityType": "offer", "entityId": v1.ID, "approvalStepDefinitions": []map[string]any{
			{"approvalsRequired": 2, "approvers": []map[string]any{{"userId": alice.ID, "type": "user"}}}}}, "invalid_input")
		wantCode(t, c, "approvalDefinition.update", map[string]any{"entityType": "offer", "entityId": v1.ID, "approvalStepDefinitions": []map[string]any{
			{"approvalsRequired": 1, "approvers": []map[string]any{{"userId": ashby.NewID(), "type": "user"}}}}}, "user_not_found")
		wantCode(t, c, "approvalDefinition.update", map[string]any{"entityType": "offer", "entityId": ashby.NewID(), "approvalStepDefinitions": steps}, "offer_version_not_found")
		var def ashby.ApprovalDefinition
		must(t, c, "approvalDefinition.update", defReq, ofrZero(&def))
		if def.EntityType != "Offer" || def.EntityID != v1.ID || len(def.ApprovalStepDefinitions) != 2 {
			t.Fatalf("definition: %+v", def)
		}
		must(t, c, "offer.info", map[string]any{"offerId": offer.ID}, ofrZero(&offer))
		var approvals []ashby.Approval
		must(t, c, "approval.list", map[string]any{"entityId": v1.ID}, ofrZero(&approvals))
		if offer.OfferStatus != "WaitingOnApprovalStart" || len(approvals) != 1 || approvals[0].SubmittedAt != nil || approvals[0].ApprovalDefinitionID != def.ID {
			t.Fatalf("defined, not submitted: %s %+v", offer.OfferStatus, approvals)
		}
		must(t, c, "offer.startApprovalProcess", map[string]any{"offerVersionId": v1.ID, "note": "Please review"}, ofrZero(&offer))
		must(t, c, "approval.list", map[string]any{"entityType": "offer", "entityId": v1.ID}, ofrZero(&approvals))
		a := approvals[0]
		if offer.OfferStatus != "WaitingOnOfferApproval" || offer.AcceptanceStatus != "Pending" || *offer.LatestVersion.ApprovalStatus != "WaitingOnApprovals" ||
			a.SubmittedAt == nil || a.Steps[0].Approvers[0].RequestedAt == nil || a.Steps[1].Approvers[0].RequestedAt != nil {
			t.Fatalf("submitted: %+v %+v", offer, a)
		}

		// Approving one step: only the current step, only its approvers,
		// step and user together.
		wantCode(t, c, "offer.approve", map[string]any{"offerVersionId": v1.ID, "approvalStepId": a.Steps[0].ID}, "invalid_input")
		wantCode(t, c, "offer.approve", map[string]any{"offerVersionId": v1.ID, "approvalStepId": a.Steps[1].ID, "userId": bob.ID}, "invalid_input")
		wantCode(t, c, "offer.approve", map[string]any{"offerVersionId": v1.ID, "approvalStepId": a.Steps[0].ID, "userId": f.job.Author.ID}, "invalid_input")
		must(t, c, "offer.approve", map[string]any{"offerVersionId": v1.ID, "approvalStepId": a.Steps[0].ID, "userId": alice.ID}, ofrZero(&offer))
		must(t, c, "approval.list", map[string]any{"entityId": v1.ID}, ofrZero(&approvals))
		a = approvals[0]
		if offer.OfferStatus != "WaitingOnOfferApproval" || a.Steps[0].CompletedAt == nil || a.Steps[0].Approvers[0].Decision != "approve" ||
			a.Steps[0].Approvers[1].Decision != "pending" || a.Steps[1].Approvers[0].RequestedAt == nil || a.CompletedAt != nil {
			t.Fatalf("after step 1: %s %+v", offer.OfferStatus, a)
		}

		// Revising the offer makes version 2 and re-triggers its approval.
		must(t, c, "offer.update", map[string]any{"offerId": offer.ID, "offerForm": ofrSubs("_systemfield_salary", map[string]any{"currencyCode": "EUR", "value": 95000})}, ofrZero(&offer))
		v2 := offer.LatestVersion
		if v2.ID == v1.ID || len(offer.Versions) != 2 || offer.Versions[0].ID != v1.ID || offer.Versions[1].ID != v2.ID || v2.Salary.Value != 95000 ||
			v2.StartDate == nil || !v2.StartDate.Equal(v1.StartDate.Time) || v2.OpeningID != open.ID || offer.OfferStatus != "WaitingOnOfferApproval" {
			t.Fatalf("revised offer: %+v", offer)
		}
		must(t, c, "approval.list", map[string]any{"entityId": v2.ID}, ofrZero(&approvals))
		if len(approvals) != 1 || approvals[0].SubmittedAt == nil || approvals[0].Steps[0].Approvers[0].Decision != "pending" {
			t.Fatalf("re-triggered approval: %+v", approvals)
		}
		wantCode(t, c, "offer.approve", map[string]any{"offerVersionId": v1.ID}, "invalid_input")

		// Force-approve, then the candidate accepts.
		must(t, c, "offer.approve", map[string]any{"offerVersionId": v2.ID}, ofrZero(&offer))
		if offer.OfferStatus != "WaitingOnCandidateResponse" || offer.AcceptanceStatus != "WaitingOnResponse" || *offer.LatestVersion.ApprovalStatus != "Approved" {
			t.Fatalf("force-approved: %+v", offer)
		}
		wantCode(t, c, "offer.setDecidedAt", map[string]any{"offerId": offer.ID, "decidedAt": "2026-01-02T03:04:05Z"}, "offer_state_invalid")
		must(t, c, "offer.setStatus", map[string]any{"offerId": offer.ID, "acceptanceStatus": "Accepted"}, ofrZero(&offer))
		if offer.OfferStatus != "CandidateAccepted" || offer.DecidedAt == nil {
			t.Fatalf("accepted: %+v", offer)
		}
		wantCode(t, c, "approvalDefinition.update", defReq, "invalid_input") // v1 is superseded
		wantCode(t, c, "offer.approve", map[string]any{"offerVersionId": v2.ID}, "offer_state_invalid")
		wantCode(t, c, "offer.setDecidedAt", map[string]any{"offerId": offer.ID, "decidedAt": "2999-01-01T00:00:00Z"}, "invalid_input")
		must(t, c, "offer.setDecidedAt", map[string]any{"offerId": offer.ID, "decidedAt": "2026-01-02T03:04:05Z"}, ofrZero(&offer))
		if offer.DecidedAt.UTC().Format("2006-01-02T15:04:05") != "2026-01-02T03:04:05" {
			t.Fatalf("decidedAt: %v", offer.DecidedAt)
		}
		must(t, c, "offerProcess.start", map[string]any{"applicationId": app.ID}, ofrZero(&again))
		if again.ID != proc.ID || again.Status != "CandidateAccepted" {
			t.Fatalf("process after acceptance: %+v", again)
		}
		// Versions embed their author; renaming the user rewrites them.
		author := offer.LatestVersion.Author
		if author == nil || offer.Versions[0].Author == nil {
			t.Fatalf("versions without an author: %+v", offer)
		}
		must(t, c, "user.update", map[string]any{"userId": author.ID, "lastName": "Renamed"}, nil)
		must(t, c, "offer.info", map[string]any{"offerId": offer.ID}, ofrZero(&offer))
		if offer.LatestVersion.Author.LastName != "Renamed" || offer.Versions[0].Author.LastName != "Renamed" {
			t.Fatalf("renamed author: %+v / %+v", offer.LatestVersion.Author, offer.Versions[0].Author)
		}

		// Lists and their filters.
		var offers []ashby.Offer
		must(t, c, "offer.list", map[string]any{"acceptanceStatus": []string{"Accepted"}}, ofrZero(&offers))
		if len(offers) != 1 || offers[0].ID != offer.ID || offers[0].LatestVersion.ID != v2.ID || offers[0].Versions != nil {
			t.Fatalf("offer.list accepted: %+v", offers)
		}
		for _, q := range []map[string]any{{"offerStatus": []string{"WaitingOnOfferApproval"}}, {"approvalStatus": []string{"WaitingOnApprovals"}},
			{"applicationId": other.ID}, {"acceptanceStatus": "Declined"}} {
			must(t, c, "offer.list", q, ofrZero(&offers))
			if len(offers) != 0 {
				t.Fatalf("offer.list %v: %d offers", q, len(offers))
			}
		}
		must(t, c, "offer.list", map[string]any{"approvalStatus": []string{"Approved"}, "applicationId": app.ID}, ofrZero(&offers))
		if len(offers) != 1 {
			t.Fatalf("offer.list approved: %d", len(offers))
		}
		wantCode(t, c, "offer.list", map[string]any{"offerStatus": []string{"Nope"}}, "invalid_input")

		// Hire: candidateHire carries the accepted offer; its opening is filled.
		must(t, c, "application.changeStage", map[string]any{"applicationId": app.ID, "interviewStageId": f.stageByTyp["Hired"].ID}, ofrZero(&app))
		must(t, c, "opening.info", map[string]any{"openingId": open.ID}, ofrZero(&open))
		if open.OpeningState != "Filled" || open.ClosedAt == nil {
			t.Fatalf("opening after hire: %+v", open)
		}
		evs := ofrEvents(t, srv, slug)
		var hire struct {
			Application ashby.Application `json:"application"`
			Offer       *ashby.Offer      `json:"offer"`
		}
		if err := json.Unmarshal(ofrLastEvent(evs, "candidateHire"), &hire); err != nil {
			t.Fatal(err)
		}
		if hire.Application.ID != app.ID || hire.Offer == nil || hire.Offer.ID != offer.ID || hire.Offer.AcceptanceStatus != "Accepted" || len(hire.Offer.Versions) != 2 {
			t.Fatalf("candidateHire: %+v", hire)
		}
		var created struct {
			Offer ashby.Offer `json:"offer"`
		}
		if err := json.Unmarshal(ofrLastEvent(evs, "offerCreate"), &created); err != nil || created.Offer.ID != offer.ID || len(created.Offer.Versions) != 1 {
			t.Fatalf("offerCreate: %v %+v", err, created)
		}
		updates := 0
		for _, e := range evs {
			if e.Action == "offerUpdate" {
				updates++
			}
		}
		if updates < 6 {
			t.Fatalf("%d offerUpdate events, want one per change", updates)
		}

		// A second offer: an empty definition skips approval; declining and
		// cancelling follow; a declined offer frees its opening.
		var open2 ashby.Opening
		must(t, c, "opening.create", map[string]any{"identifier": "ENG-3", "jobIds": []string{f.job.ID}, "openingState": "Open"}, ofrZero(&open2))
		var offer2 ashby.Offer
		must(t, c, "offer.create", map[string]any{"offerProcessId": proc2.ID, "offerFormId": form.ID, "offerForm": ofrSubs(
			"_systemfield_start_date", "2026-11-01", "_systemfield_salary", map[string]any{"currencyCode": "USD", "value": 100000}, "_systemfield_opening", open2.ID)}, &offer2)
		must(t, c, "approvalDefinition.update", map[string]any{"entityType": "offer", "entityId": offer2.LatestVersion.ID, "approvalStepDefinitions": []any{}}, nil)
		must(t, c, "offer.info", map[string]any{"offerId": offer2.ID}, ofrZero(&offer2))
		if offer2.OfferStatus != "WaitingOnCandidateResponse" || offer2.LatestVersion.ApprovalStatus != nil {
			t.Fatalf("no approval needed: %+v", offer2)
		}
		must(t, c, "approval.list", map[string]any{"entityId": offer2.LatestVersion.ID}, ofrZero(&approvals))
		if len(approvals) != 0 {
			t.Fatalf("an empty definition should leave no approval: %+v", approvals)
		}

		// Sync: a full walk, then a change shows up incrementally.
		_, token, err := client.All[ashby.Offer](ctx, c, "offer.list", map[string]any{"limit": 1})
		if err != nil || token == "" {
			t.Fatalf("offer.list walk: %v %q", err, token)
		}
		must(t, c, "offer.setStatus", map[string]any{"offerId": offer2.ID, "acceptanceStatus": "Declined"}, ofrZero(&offer2))
		changed := ofrSyncUntil(t, c, "offer.list", map[string]any{"acceptanceStatus": []string{"Accepted"}}, token, offer2.ID+"/CandidateRejected", func(r json.RawMessage) string {
			var o ashby.Offer
			json.Unmarshal(r, &o)
			return o.ID + "/" + o.OfferStatus
		})
		// State filters do not apply to incremental syncs, so the declined
		// offer is reported although the request asks for accepted ones. (A
		// record may come twice across syncs, so only its presence is checked.)
		if !slices.Contains(changed, offer2.ID+"/CandidateRejected") {
			t.Fatalf("incremental offer.list: %v", changed)
		}
		// The declined offer no longer holds its opening.
		third := ofrApplication(t, f, "Katherine Johnson", "Offer")
		var proc3 ashby.OfferProcess
		must(t, c, "offerProcess.start", map[string]any{"applicationId": third.ID}, ofrZero(&proc3))
		var offer3 ashby.Offer
		must(t, c, "offer.create", map[string]any{"offerProcessId": proc3.ID, "offerFormId": form.ID, "offerForm": ofrSubs(
			"_systemfield_start_date", "2026-11-01", "_systemfield_salary", map[string]any{"currencyCode": "USD", "value": 100000}, "_systemfield_opening", open2.ID)}, &offer3)
		must(t, c, "offer.setStatus", map[string]any{"offerId": offer3.ID, "acceptanceStatus": "Cancelled"}, ofrZero(&offer3))
		if offer3.OfferStatus != "OfferCancelled" {
			t.Fatalf("cancelled: %+v", offer3)
		}
		wantCode(t, c, "offer.update", map[string]any{"offerId": offer3.ID, "offerForm": ofrSubs()}, "offer_state_invalid")
		var proc4 ashby.OfferProcess
		must(t, c, "offerProcess.start", map[string]any{"applicationId": third.ID}, ofrZero(&proc4))
		if proc4.ID == proc3.ID || proc4.Status != "WaitingOnOfferCreation" {
			t.Fatalf("a cancelled offer's application gets a new process: %+v", proc4)
		}

		// Another organization sees and changes none of it.
		_, key2 := srv.NewOrg()
		c2 := ofrClient(t, srv, key2)
		wantCode(t, c2, "offer.info", map[string]any{"offerId": offer.ID}, "offer_not_found")
		wantCode(t, c2, "offer.update", map[string]any{"offerId": offer2.ID, "offerForm": ofrSubs()}, "offer_not_found")
		wantCode(t, c2, "offer.setStatus", map[string]any{"offerId": offer2.ID, "acceptanceStatus": "Cancelled"}, "offer_not_found")
		wantCode(t, c2, "offer.approve", map[string]any{"offerVersionId": offer2.LatestVersion.ID}, "offer_version_not_found")
		wantCode(t, c2, "approvalDefinition.update", map[string]any{"entityType": "offer", "entityId": offer2.LatestVersion.ID, "approvalStepDefinitions": []any{}}, "offer_version_not_found")
		wantCode(t, c2, "offer.start", map[string]any{"offerProcessId": proc4.ID}, "offer_process_not_found")
		wantCode(t, c2, "offer.create", map[string]any{"offerProcessId": proc4.ID, "offerFormId": form.ID, "offerForm": good}, "offer_process_not_found")
		wantCode(t, c2, "offerProcess.start", map[string]any{"applicationId": third.ID}, "application_not_found")
		for _, ep := range []string{"offer.list", "approval.list"} {
			var got []json.RawMessage
			must(t, c2, ep, nil, ofrZero(&got))
			if len(got) != 0 {
				t.Fatalf("%s leaks %d records to another organization", ep, len(got))
			}
		}
		must(t, c, "offer.info", map[string]any{"offerId": offer2.ID}, ofrZero(&offer2))
		if offer2.OfferStatus != "CandidateRejected" {
			t.Fatalf("another organization changed an offer: %+v", offer2)
		}
	})
}

func TestE2EOpeningsTeamsAndJobSetup(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := ofrStart(t, engine)
		slug, key := srv.NewOrg()
		c := ofrClient(t, srv, key)
		ctx := context.Background()
		f := newFixture(t, c)

		// Close reasons: defaults, create, archive.
		var reasons []ashby.CloseReason
		must(t, c, "closeReason.list", nil, ofrZero(&reasons))
		if len(reasons) < 5 {
			t.Fatalf("default close reasons: %+v", reasons)
		}
		var budget ashby.CloseReason
		must(t, c, "closeReason.create", map[string]any{"reasonText": "Reorganisation"}, ofrZero(&budget))
		wantCode(t, c, "closeReason.create", map[string]any{"reasonText": " reorganisation"}, "close_reason_already_exists")
		must(t, c, "closeReason.setArchived", map[string]any{"closeReasonId": budget.ID, "isArchived": true}, nil)
		var all []ashby.CloseReason
		must(t, c, "closeReason.list", nil, ofrZero(&reasons))
		must(t, c, "closeReason.list", map[string]any{"includeArchived": true}, ofrZero(&all))
		if len(all) != len(reasons)+1 {
			t.Fatalf("includeArchived: %d vs %d", len(all), len(reasons))
		}

		// Openings: defaults, validation, states, versions.
		var o1, o2 ashby.Opening
		must(t, c, "opening.create", map[string]any{"jobIds": []string{f.job.ID}, "locationIds": []string{f.loc}, "teamId": f.dept, "targetHireDate": "2026-12-31"}, ofrZero(&o1))
		must(t, c, "opening.create", map[string]any{"jobIds": []string{f.job.ID}, "employmentType": "Contract", "isBackfill": true}, ofrZero(&o2))
		v := o1.LatestVersion
		if o1.OpeningState != "Draft" || o1.OpenedAt != nil || v.Identifier != "1" || o2.LatestVersion.Identifier != "2" || v.EmploymentType != "FullTime" ||
			v.TeamID != f.dept || !slices.Equal(v.JobIDs, []string{f.job.ID}) || v.AuthorID == "" || v.TargetHireDate != "2026-12-31" ||
			o2.LatestVersion.EmploymentType != "Contract" || !o2.LatestVersion.IsBackfill {
			t.Fatalf("new openings: %+v %+v", o1, o2)
		}
		wantCode(t, c, "opening.create", map[string]any{"targetStartDate": "next week"}, "invalid_input")
		wantCode(t, c, "opening.create", map[string]any{"jobIds": []string{ashby.NewID()}}, "job_not_found")
		wantCode(t, c, "opening.create", map[string]any{"openingState": "Filled"}, "invalid_input")
		must(t, c, "opening.setOpeningState", map[string]any{"openingId": o1.ID, "openingState": "Open"}, ofrZero(&o1))
		if o1.OpeningState != "Open" || o1.OpenedAt == nil || o1.LatestVersion.ID != v.ID {
			t.Fatalf("opened: %+v", o1)
		}
		wantCode(t, c, "opening.setOpeningState", map[string]any{"openingId": o1.ID, "openingState": "Draft"}, "opening_state_invalid")
		wantCode(t, c, "opening.setOpeningState", map[string]any{"openingId": o1.ID, "openingState": "Closed"}, "invalid_input")
		wantCode(t, c, "opening.setOpeningState", map[string]any{"openingId": o1.ID, "openingState": "Open", "closeReasonId": reasons[0].ID}, "invalid_input")
		wantCode(t, c, "opening.setOpeningState", map[string]any{"openingId": o1.ID, "openingState": "Closed", "closeReasonId": budget.ID}, "invalid_input")
		wantCode(t, c, "opening.setOpeningState", map[string]any{"openingId": o1.ID, "openingState": "Closed", "closeReasonId": ashby.NewID()}, "close_reason_not_found")
		must(t, c, "opening.setOpeningState", map[string]any{"openingId": o1.ID, "openingState": "Closed", "closeReasonId": reasons[1].ID}, ofrZero(&o1))
		if o1.OpeningState != "Closed" || o1.ClosedAt == nil || o1.CloseReasonID != reasons[1].ID {
			t.Fatalf("closed: %+v", o1)
		}
		must(t, c, "opening.setOpeningState", map[string]any{"openingId": o1.ID, "openingState": "Open"}, ofrZero(&o1))
		if o1.ClosedAt != nil || o1.CloseReasonID != "" {
			t.Fatalf("reopened: %+v", o1)
		}
		must(t, c, "opening.update", map[string]any{"openingId": o1.ID, "identifier": "ENG-7", "description": "Platform team", "targetHireDate": ""}, ofrZero(&o1))
		if o1.LatestVersion.ID == v.ID || o1.LatestVersion.Identifier != "ENG-7" || o1.LatestVersion.TargetHireDate != "" || o1.LatestVersion.Description != "Platform team" {
			t.Fatalf("updated: %+v", o1.LatestVersion)
		}
		vid := o1.LatestVersion.ID
		must(t, c, "opening.addJob", map[string]any{"openingId": o1.ID, "jobId": f.job.ID}, ofrZero(&o1))
		if o1.LatestVersion.ID != vid {
			t.Fatal("adding a job the opening has made a new version")
		}
		must(t, c, "opening.addLocation", map[string]any{"openingId": o2.ID, "locationId": f.loc}, ofrZero(&o2))
		must(t, c, "opening.removeJob", map[string]any{"openingId": o2.ID, "jobId": f.job.ID}, ofrZero(&o2))
		if !slices.Equal(o2.LatestVersion.LocationIDs, []string{f.loc}) || len(o2.LatestVersion.JobIDs) != 0 {
			t.Fatalf("jobs and locations: %+v", o2.LatestVersion)
		}
		must(t, c, "opening.setArchived", map[string]any{"openingId": o2.ID, "archive": true}, ofrZero(&o2))
		if !o2.IsArchived || o2.ArchivedAt == nil {
			t.Fatalf("archived: %+v", o2)
		}
		var found []ashby.Opening
		must(t, c, "opening.search", map[string]any{"identifier": "eng-7"}, ofrZero(&found))
		if len(found) != 1 || found[0].ID != o1.ID {
			t.Fatalf("search: %+v", found)
		}
		var openings []ashby.Opening
		must(t, c, "opening.list", nil, ofrZero(&openings))
		if len(openings) != 2 {
			t.Fatalf("opening.list (archived included): %d", len(openings))
		}

		// The openings expansion of jobs and applications.
		app := ofrApplication(t, f, "Ada Lovelace", "Active")
		var jobDoc struct {
			Openings []ashby.Opening `json:"openings"`
		}
		must(t, c, "job.info", map[string]any{"id": f.job.ID, "expand": []string{"openings"}}, ofrZero(&jobDoc))
		if len(jobDoc.Openings) != 1 || jobDoc.Openings[0].ID != o1.ID {
			t.Fatalf("job openings: %+v", jobDoc.Openings)
		}
		var jobs []map[string]json.RawMessage
		must(t, c, "job.list", map[string]any{"expand": []string{"openings"}}, ofrZero(&jobs))
		if len(jobs) != 1 || !strings.Contains(string(jobs[0]["openings"]), o1.ID) {
			t.Fatalf("job.list openings: %v", jobs)
		}
		var appDoc struct {
			Openings []ashby.Opening `json:"openings"`
		}
		must(t, c, "application.info", map[string]any{"applicationId": app.ID, "expand": []string{"openings"}}, ofrZero(&appDoc))
		if len(appDoc.Openings) != 1 {
			t.Fatalf("application openings: %+v", appDoc.Openings)
		}
		var apps []map[string]json.RawMessage
		must(t, c, "application.list", map[string]any{"expand": []string{"openings"}}, ofrZero(&apps))
		if len(apps) != 1 || !strings.Contains(string(apps[0]["openings"]), o1.ID) {
			t.Fatalf("application.list openings: %v", apps)
		}

		// opening.list syncs.
		_, token, err := client.All[ashby.Opening](ctx, c, "opening.list", map[string]any{"limit": 1})
		if err != nil || token == "" {
			t.Fatalf("opening.list walk: %v", err)
		}
		must(t, c, "opening.setOpeningState", map[string]any{"openingId": o1.ID, "openingState": "Closed", "closeReasonId": reasons[0].ID}, nil)
		changed := ofrSyncUntil(t, c, "opening.list", nil, token, o1.ID+"/Closed", func(r json.RawMessage) string {
			var o ashby.Opening
			json.Unmarshal(r, &o)
			return o.ID + "/" + o.OpeningState
		})
		if !slices.Contains(changed, o1.ID+"/Closed") {
			t.Fatalf("incremental opening.list: %v", changed)
		}
		var opened struct {
			Opening ashby.Opening `json:"opening"`
		}
		if err := json.Unmarshal(ofrLastEvent(ofrEvents(t, srv, slug), "openingCreate"), &opened); err != nil || opened.Opening.ID != o2.ID {
			t.Fatalf("openingCreate: %v %+v", err, opened)
		}

		// Compensation, with Ashby's summaries, on job.info.
		tiers := []map[string]any{{"title": "Zone A", "components": []map[string]any{
			{"compensationType": "Salary", "interval": "1 YEAR", "currencyCode": "EUR", "minValue": 72023.45, "maxValue": 100000},
			{"compensationType": "EquityPercentage", "interval": "NONE", "minValue": 1, "maxValue": 2.5},
			{"compensationType": "Bonus", "interval": "1 YEAR", "minValue": nil, "maxValue": nil},
		}}}
		var withTiers map[string]json.RawMessage
		must(t, c, "job.updateCompensation", map[string]any{"jobId": f.job.ID, "compensationTiers": tiers}, ofrZero(&withTiers))
		if _, ok := withTiers["compensationTiers"]; !ok || !strings.Contains(string(withTiers["title"]), "Backend Engineer") {
			t.Fatalf("job.updateCompensation result: %v", withTiers)
		}
		var job ashby.Job
		must(t, c, "job.info", map[string]any{"id": f.job.ID}, ofrZero(&job))
		if job.Compensation == nil || len(job.Compensation.CompensationTiers) != 1 ||
			job.Compensation.CompensationTiers[0].TierSummary != "€72K – €100K • 1% – 2.5% • Offers Bonus" ||
			job.Compensation.CompensationTiers[0].Components[0].Summary != "€72K – €100K" {
			t.Fatalf("job compensation: %+v", job.Compensation)
		}
		var jobUpdate struct {
			Job ashby.Job `json:"job"`
		}
		if err := json.Unmarshal(ofrLastEvent(ofrEvents(t, srv, slug), "jobUpdate"), &jobUpdate); err != nil || jobUpdate.Job.Compensation == nil {
			t.Fatalf("jobUpdate with compensation: %v %+v", err, jobUpdate.Job)
		}
		wantCode(t, c, "job.updateCompensation", map[string]any{"jobId": f.job.ID, "compensationTiers": []map[string]any{{"components": []map[string]any{
			{"compensationType": "Salary", "interval": "1 YEAR", "minValue": 2, "maxValue": 1, "currencyCode": "USD"}}}}}, "invalid_input")
		wantCode(t, c, "job.updateCompensation", map[string]any{"jobId": f.job.ID}, "invalid_input")
		must(t, c, "job.updateCompensation", map[string]any{"jobId": f.job.ID, "compensationTiers": []any{}}, nil)
		must(t, c, "job.info", map[string]any{"id": f.job.ID}, ofrZero(&job))
		if job.Compensation != nil {
			t.Fatalf("[] should clear compensation: %+v", job.Compensation)
		}

		// Hiring team roles and members.
		var names []string
		must(t, c, "hiringTeamRole.list", nil, ofrZero(&names))
		if !slices.Equal(names, []string{"Recruiter", "Hiring Manager", "Coordinator", "Sourcer"}) {
			t.Fatalf("roles: %v", names)
		}
		var roles []ashby.HiringTeamRole
		must(t, c, "hiringTeamRole.list", map[string]any{"namesOnly": false}, ofrZero(&roles))
		var appRoles []ashby.HiringTeamRole
		must(t, c, "applicationHiringTeamRole.list", nil, ofrZero(&appRoles))
		if len(roles) != 4 || roles[0].ID == "" || len(appRoles) != 4 {
			t.Fatalf("role objects: %+v %+v", roles, appRoles)
		}
		recruiter, manager := roles[0], roles[1]
		alice := ofrUser(t, c, "Alice")
		archivedApp := ofrApplication(t, f, "Grace Hopper", "")
		must(t, c, "application.changeStage", map[string]any{"applicationId": archivedApp.ID, "interviewStageId": f.stageByTyp["Archived"].ID, "archiveReasonId": f.reasons[0].ID}, nil)
		var member ashby.HiringTeamMember
		must(t, c, "hiringTeam.addMember", map[string]any{"jobId": f.job.ID, "teamMemberId": alice.ID, "roleId": recruiter.ID}, ofrZero(&member))
		if member.UserID != alice.ID || member.Role != "Recruiter" || member.FirstName != "Alice" || member.Email != "alice@example.com" {
			t.Fatalf("member: %+v", member)
		}
		must(t, c, "hiringTeam.addMember", map[string]any{"jobId": f.job.ID, "teamMemberId": alice.ID, "roleId": recruiter.ID}, nil) // no duplicate
		must(t, c, "job.info", map[string]any{"id": f.job.ID}, ofrZero(&job))
		var gotApp, gotArchived ashby.Application
		must(t, c, "application.info", map[string]any{"applicationId": app.ID}, ofrZero(&gotApp))
		must(t, c, "application.info", map[string]any{"applicationId": archivedApp.ID}, ofrZero(&gotArchived))
		if len(job.HiringTeam) != 1 || len(gotApp.HiringTeam) != 1 || gotApp.HiringTeam[0].Role != "Recruiter" || len(gotArchived.HiringTeam) != 0 {
			t.Fatalf("job team %+v, active application %+v, archived %+v", job.HiringTeam, gotApp.HiringTeam, gotArchived.HiringTeam)
		}
		newApp := ofrApplication(t, f, "Katherine Johnson", "")
		if len(newApp.HiringTeam) != 1 {
			t.Fatalf("a new application copies its job's team: %+v", newApp.HiringTeam)
		}
		must(t, c, "application.addHiringTeamMember", map[string]any{"applicationId": app.ID, "teamMemberId": alice.ID, "roleId": manager.ID}, nil)
		must(t, c, "application.info", map[string]any{"applicationId": app.ID}, ofrZero(&gotApp))
		must(t, c, "job.info", map[string]any{"id": f.job.ID}, ofrZero(&job))
		if len(gotApp.HiringTeam) != 2 || len(job.HiringTeam) != 1 {
			t.Fatalf("application-only member: app %+v job %+v", gotApp.HiringTeam, job.HiringTeam)
		}
		must(t, c, "hiringTeam.removeMember", map[string]any{"jobId": f.job.ID, "teamMemberId": alice.ID, "roleId": recruiter.ID}, nil)
		must(t, c, "application.info", map[string]any{"applicationId": app.ID}, ofrZero(&gotApp))
		must(t, c, "job.info", map[string]any{"id": f.job.ID}, ofrZero(&job))
		if len(job.HiringTeam) != 0 || len(gotApp.HiringTeam) != 1 || gotApp.HiringTeam[0].Role != "Hiring Manager" {
			t.Fatalf("after removal: job %+v app %+v", job.HiringTeam, gotApp.HiringTeam)
		}
		must(t, c, "application.removeHiringTeamMember", map[string]any{"applicationId": app.ID, "teamMemberId": alice.ID, "roleId": manager.ID}, nil)
		wantCode(t, c, "application.removeHiringTeamMember", map[string]any{"applicationId": app.ID, "teamMemberId": alice.ID, "roleId": manager.ID}, "hiring_team_member_not_found")
		wantCode(t, c, "hiringTeam.addMember", map[string]any{"jobId": f.job.ID, "applicationId": app.ID, "teamMemberId": alice.ID, "roleId": recruiter.ID}, "invalid_input")
		wantCode(t, c, "hiringTeam.addMember", map[string]any{"teamMemberId": alice.ID, "roleId": recruiter.ID}, "invalid_input")
		wantCode(t, c, "hiringTeam.addMember", map[string]any{"jobId": f.job.ID, "teamMemberId": alice.ID, "roleId": ashby.NewID()}, "hiring_team_role_not_found")
		wantCode(t, c, "hiringTeam.addMember", map[string]any{"jobId": f.job.ID, "teamMemberId": ashby.NewID(), "roleId": recruiter.ID}, "user_not_found")
		vid = o1.LatestVersion.ID
		must(t, c, "hiringTeam.addMember", map[string]any{"openingId": o1.ID, "teamMemberId": alice.ID, "roleId": manager.ID}, nil)
		must(t, c, "opening.info", map[string]any{"openingId": o1.ID}, ofrZero(&o1))
		if len(o1.LatestVersion.HiringTeam) != 1 || o1.LatestVersion.ID == vid {
			t.Fatalf("opening team: %+v", o1.LatestVersion)
		}
		// Renaming a user rewrites the teams that embed them.
		must(t, c, "user.update", map[string]any{"userId": alice.ID, "firstName": "Alicia"}, nil)
		must(t, c, "opening.info", map[string]any{"openingId": o1.ID}, ofrZero(&o1))
		if len(o1.LatestVersion.HiringTeam) != 1 || o1.LatestVersion.HiringTeam[0].FirstName != "Alicia" {
			t.Fatalf("renamed member: opening %+v", o1.LatestVersion.HiringTeam)
		}
		// Only organizationWrite keys manage teams through hiringTeam.*.
		narrow := ofrClient(t, srv, srv.Key(slug, "candidatesRead,candidatesWrite,organizationRead"))
		_, err = narrow.Call(ctx, "hiringTeam.addMember", map[string]any{"jobId": f.job.ID, "teamMemberId": alice.ID, "roleId": recruiter.ID}, nil)
		if e, ok := err.(*client.Error); !ok || e.Status != http.StatusForbidden {
			t.Fatalf("hiringTeam.addMember without organizationWrite: %v", err)
		}
		must(t, narrow, "application.addHiringTeamMember", map[string]any{"applicationId": app.ID, "teamMemberId": alice.ID, "roleId": recruiter.ID}, nil)

		// Job templates.
		var tmpl, inactive ashby.JobTemplate
		must(t, c, "jobTemplate.create", map[string]any{"title": "Engineer", "departmentId": f.dept, "locationId": f.loc, "defaultInterviewPlanId": f.job.DefaultInterviewPlanID}, ofrZero(&tmpl))
		must(t, c, "jobTemplate.create", map[string]any{"title": "Old", "status": "Inactive"}, ofrZero(&inactive))
		wantCode(t, c, "jobTemplate.create", map[string]any{"title": "x", "locationId": ashby.NewID()}, "location_not_found")
		if tmpl.Status != "Active" || !slices.Equal(tmpl.InterviewPlanIDs, []string{f.job.DefaultInterviewPlanID}) {
			t.Fatalf("template: %+v", tmpl)
		}
		var templates []ashby.JobTemplate
		must(t, c, "jobTemplate.list", map[string]any{"expand": []string{"location"}}, ofrZero(&templates))
		if len(templates) != 2 || templates[0].Location == nil || templates[0].Location.ID != f.loc {
			t.Fatalf("jobTemplate.list: %+v", templates)
		}
		var fromTmpl ashby.Job
		must(t, c, "job.create", map[string]any{"title": "Platform Engineer", "teamId": f.dept, "locationId": f.loc, "jobTemplateId": tmpl.ID}, ofrZero(&fromTmpl))
		if fromTmpl.DefaultInterviewPlanID != f.job.DefaultInterviewPlanID {
			t.Fatalf("job from template: %+v", fromTmpl)
		}
		wantCode(t, c, "job.create", map[string]any{"title": "x", "teamId": f.dept, "locationId": f.loc, "jobTemplateId": inactive.ID}, "invalid_input")
		wantCode(t, c, "job.create", map[string]any{"title": "x", "teamId": f.dept, "locationId": f.loc, "jobTemplateId": ashby.NewID()}, "job_template_not_found")
		must(t, c, "jobTemplate.update", map[string]any{"jobTemplateId": inactive.ID, "status": "Active"}, ofrZero(&inactive))
		if inactive.Status != "Active" {
			t.Fatalf("template update: %+v", inactive)
		}

		// Brands.
		var brands []ashby.Brand
		must(t, c, "brand.list", nil, ofrZero(&brands))
		if len(brands) != 1 || brands[0].HostedJobsPageSlug != slug {
			t.Fatalf("default brand: %+v", brands)
		}
		var labs ashby.Brand
		must(t, c, "brand.create", map[string]any{"name": "Labs", "hostedJobsPageSlug": "labs"}, ofrZero(&labs))
		wantCode(t, c, "brand.create", map[string]any{"name": "Labs 2", "hostedJobsPageSlug": "labs"}, "brand_already_exists")
		wantCode(t, c, "brand.create", map[string]any{"name": "Bad", "hostedJobsPageSlug": "Not A Slug"}, "invalid_input")
		var branded ashby.Job
		must(t, c, "job.create", map[string]any{"title": "Branded", "teamId": f.dept, "locationId": f.loc, "brandId": labs.ID}, ofrZero(&branded))
		if branded.BrandID != labs.ID {
			t.Fatalf("brandId: %+v", branded)
		}
		wantCode(t, c, "job.create", map[string]any{"title": "x", "teamId": f.dept, "locationId": f.loc, "brandId": ashby.NewID()}, "brand_not_found")

		// Another organization sees and changes none of it.
		_, key2 := srv.NewOrg()
		c2 := ofrClient(t, srv, key2)
		wantCode(t, c2, "opening.info", map[string]any{"openingId": o1.ID}, "opening_not_found")
		wantCode(t, c2, "opening.update", map[string]any{"openingId": o1.ID, "description": "x"}, "opening_not_found")
		wantCode(t, c2, "opening.setOpeningState", map[string]any{"openingId": o1.ID, "openingState": "Open"}, "opening_not_found")
		wantCode(t, c2, "opening.addJob", map[string]any{"openingId": o1.ID, "jobId": f.job.ID}, "opening_not_found")
		wantCode(t, c2, "hiringTeam.addMember", map[string]any{"jobId": f.job.ID, "teamMemberId": alice.ID, "roleId": recruiter.ID}, "job_not_found")
		wantCode(t, c2, "job.updateCompensation", map[string]any{"jobId": f.job.ID, "compensationTiers": []any{}}, "job_not_found")
		wantCode(t, c2, "jobTemplate.update", map[string]any{"jobTemplateId": tmpl.ID, "status": "Inactive"}, "job_template_not_found")
		wantCode(t, c2, "closeReason.setArchived", map[string]any{"closeReasonId": reasons[0].ID, "isArchived": true}, "close_reason_not_found")
		var none []json.RawMessage
		for _, ep := range []string{"opening.list", "jobTemplate.list"} {
			must(t, c2, ep, nil, ofrZero(&none))
			if len(none) != 0 {
				t.Fatalf("%s leaks to another organization", ep)
			}
		}
		must(t, c2, "opening.search", map[string]any{"identifier": "ENG-7"}, ofrZero(&none))
		must(t, c2, "brand.list", nil, ofrZero(&brands))
		if len(none) != 0 || len(brands) != 1 || brands[0].ID == labs.ID {
			t.Fatalf("another organization's search %d, brands %+v", len(none), brands)
		}
	})
}

func TestE2EApplicationTransferHistoryDelete(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := ofrStart(t, engine)
		slug, key := srv.NewOrg()
		c := ofrClient(t, srv, key)
		ctx := context.Background()
		f := newFixture(t, c)
		var roles []ashby.HiringTeamRole
		must(t, c, "hiringTeamRole.list", map[string]any{"namesOnly": false}, ofrZero(&roles))
		alice, bob := ofrUser(t, c, "Alice"), ofrUser(t, c, "Bob")
		must(t, c, "hiringTeam.addMember", map[string]any{"jobId": f.job.ID, "teamMemberId": alice.ID, "roleId": roles[0].ID}, nil)

		var job2 ashby.Job
		must(t, c, "job.create", map[string]any{"title": "Frontend Engineer", "teamId": f.dept, "locationId": f.loc, "defaultInterviewPlanId": f.job.DefaultInterviewPlanID}, ofrZero(&job2))
		must(t, c, "job.setStatus", map[string]any{"jobId": job2.ID, "status": "Open"}, ofrZero(&job2))
		must(t, c, "hiringTeam.addMember", map[string]any{"jobId": job2.ID, "teamMemberId": bob.ID, "roleId": roles[1].ID}, nil)

		app := ofrApplication(t, f, "Ada Lovelace", "Active")
		must(t, c, "application.addHiringTeamMember", map[string]any{"applicationId": app.ID, "teamMemberId": bob.ID, "roleId": roles[2].ID}, &ashby.HiringTeamMember{})
		var cand ashby.Candidate
		must(t, c, "candidate.info", map[string]any{"id": app.Candidate.ID}, ofrZero(&cand))

		// Transfer: validation.
		plan := f.job.DefaultInterviewPlanID
		var plans []ashby.InterviewPlan
		must(t, c, "interviewPlan.create", map[string]any{"title": "Other plan", "stages": []map[string]string{{"title": "Screen", "type": "Active"}, {"title": "Hired", "type": "Hired"}, {"title": "Archived", "type": "Archived"}}}, nil)
		must(t, c, "interviewPlan.list", nil, ofrZero(&plans))
		var otherPlan string
		for _, p := range plans {
			if p.ID != plan {
				otherPlan = p.ID
			}
		}
		transfer := func(jobID, planID, stageID string) map[string]any {
			return map[string]any{"applicationId": app.ID, "jobId": jobID, "interviewPlanId": planID, "interviewStageId": stageID}
		}
		wantCode(t, c, "application.transfer", transfer(job2.ID, otherPlan, f.stageByTyp["Active"].ID), "interview_plan_not_found")
		wantCode(t, c, "application.transfer", transfer(job2.ID, plan, ashby.NewID()), "interview_stage_not_found")
		wantCode(t, c, "application.transfer", transfer(job2.ID, plan, f.stageByTyp["Archived"].ID), "invalid_input")
		wantCode(t, c, "application.transfer", transfer(ashby.NewID(), plan, f.stageByTyp["Active"].ID), "job_not_found")

		// Transfer.
		var moved ashby.Application
		must(t, c, "application.transfer", transfer(job2.ID, plan, f.stageByTyp["PreInterviewScreen"].ID), ofrZero(&moved))
		roleOf := func(team []ashby.HiringTeamMember) []string {
			var out []string
			for _, m := range team {
				out = append(out, m.FirstName+":"+m.Role)
			}
			slices.Sort(out)
			return out
		}
		if moved.Job.ID != job2.ID || moved.Job.Title != "Frontend Engineer" || moved.CurrentInterviewStage.ID != f.stageByTyp["PreInterviewScreen"].ID ||
			moved.Status != "Active" || !slices.Equal(roleOf(moved.HiringTeam), []string{"Bob:Coordinator", "Bob:Hiring Manager"}) {
			t.Fatalf("transferred: %+v team %v", moved, roleOf(moved.HiringTeam))
		}
		var hist []ashby.ApplicationHistoryItem
		must(t, c, "application.listHistory", map[string]any{"applicationId": app.ID}, ofrZero(&hist))
		if len(hist) != 3 || hist[2].StageID != f.stageByTyp["PreInterviewScreen"].ID || hist[1].LeftStageAt == nil || hist[2].LeftStageAt != nil {
			t.Fatalf("history after transfer: %+v", hist)
		}
		var candAfter ashby.Candidate
		must(t, c, "candidate.info", map[string]any{"id": app.Candidate.ID}, ofrZero(&candAfter))
		if !candAfter.UpdatedAt.After(cand.UpdatedAt.Time) {
			t.Fatalf("candidate not touched by the transfer: %v vs %v", candAfter.UpdatedAt, cand.UpdatedAt)
		}
		var onJob2 []ashby.Application
		must(t, c, "application.list", map[string]any{"jobId": job2.ID}, ofrZero(&onJob2))
		if len(onJob2) != 1 || onJob2[0].ID != app.ID {
			t.Fatalf("application.list by new job: %+v", onJob2)
		}
		evs := ofrEvents(t, srv, slug)
		var upd struct {
			Application ashby.Application `json:"application"`
		}
		if err := json.Unmarshal(ofrLastEvent(evs, "applicationUpdate"), &upd); err != nil || upd.Application.Job.ID != job2.ID {
			t.Fatalf("applicationUpdate after transfer: %v %+v", err, upd.Application.Job)
		}
		// Back to the first job, where the candidate has applied again since.
		must(t, c, "application.create", map[string]any{"candidateId": app.Candidate.ID, "jobId": f.job.ID}, nil)
		wantCode(t, c, "application.transfer", transfer(f.job.ID, plan, f.stageByTyp["Active"].ID), "application_already_exists")

		// updateHistory: retime entries, drop one, add a past one.
		entry := func(h ashby.ApplicationHistoryItem, n int, at string) map[string]any {
			return map[string]any{"applicationHistoryId": h.ID, "stageId": h.StageID, "stageNumber": n, "enteredStageAt": at}
		}
		upReq := func(entries ...map[string]any) map[string]any {
			return map[string]any{"applicationId": app.ID, "applicationHistory": entries}
		}
		wantCode(t, c, "application.updateHistory", upReq(entry(hist[0], 0, "2026-01-01T00:00:00Z")), "invalid_input") // current entry missing
		wantCode(t, c, "application.updateHistory", upReq(entry(hist[2], 0, "2026-01-01T00:00:00Z"), entry(hist[0], 1, "2026-01-02T00:00:00Z")), "invalid_input")
		wantCode(t, c, "application.updateHistory", upReq(map[string]any{"applicationHistoryId": ashby.NewID(), "stageId": hist[0].StageID, "stageNumber": 0, "enteredStageAt": "2026-01-01T00:00:00Z"},
			entry(hist[2], 1, "2026-01-02T00:00:00Z")), "invalid_input")
		wantCode(t, c, "application.updateHistory", upReq(entry(hist[0], 0, "2026-01-05T00:00:00Z"), entry(hist[2], 1, "2026-01-02T00:00:00Z")), "invalid_input") // backwards
		var updated struct {
			ashby.Application
			ApplicationHistory []ashby.ApplicationHistoryItem `json:"applicationHistory"`
		}
		must(t, c, "application.updateHistory", upReq(
			entry(hist[0], 0, "2026-01-01T00:00:00Z"),
			map[string]any{"stageId": f.stageByTyp["PreInterviewScreen"].ID, "stageNumber": 1, "enteredStageAt": "2026-01-03T00:00:00Z"},
			entry(hist[2], 2, "2026-01-10T00:00:00Z")), &updated)
		uh := updated.ApplicationHistory
		if len(uh) != 3 || uh[0].ID != hist[0].ID || uh[2].ID != hist[2].ID || uh[1].ID == hist[1].ID ||
			uh[0].EnteredStageAt.Format("2006-01-02") != "2026-01-01" || uh[0].LeftStageAt == nil || uh[0].LeftStageAt.Format("2006-01-02") != "2026-01-03" ||
			uh[2].EnteredStageAt.Format("2006-01-02") != "2026-01-10" || uh[2].StageNumber != 2 || updated.CurrentInterviewStage.ID != hist[2].StageID {
			t.Fatalf("updated history: %+v", uh)
		}
		must(t, c, "application.listHistory", map[string]any{"applicationId": app.ID}, ofrZero(&hist))
		if len(hist) != 3 || hist[1].ID != uh[1].ID {
			t.Fatalf("stored history: %+v", hist)
		}

		// An offer to delete along with the application, with the
		// organization's Offer custom fields on its form.
		var level, signing, candidateField ashby.CustomField
		must(t, c, "customField.create", map[string]any{"title": "Level", "fieldType": "ValueSelect", "objectType": "Offer_Version",
			"selectableValues": []map[string]any{{"label": "Senior", "value": "l5"}, {"label": "Staff", "value": "l6"}}}, ofrZero(&level))
		must(t, c, "customField.create", map[string]any{"title": "Signing date", "fieldType": "Date", "objectType": "Offer_Version"}, ofrZero(&signing))
		must(t, c, "customField.create", map[string]any{"title": "Notes", "fieldType": "String", "objectType": "Candidate"}, ofrZero(&candidateField))
		var proc ashby.OfferProcess
		must(t, c, "offerProcess.start", map[string]any{"applicationId": app.ID}, ofrZero(&proc))
		var form ashby.OfferForm
		must(t, c, "offer.start", map[string]any{"offerProcessId": proc.ID}, ofrZero(&form))
		var custom []string
		for _, sec := range form.FormDefinition.Sections {
			for _, e := range sec.Fields {
				if e.Field.Path == level.ID && len(e.Field.SelectableValues) == 2 || e.Field.Path == signing.ID && e.Field.Type == "Date" {
					custom = append(custom, e.Field.Title)
				}
				if e.Field.Path == candidateField.ID || e.Field.Path == "_systemfield_opening" {
					t.Fatalf("offer form has %s (a candidate field, or openings the job lacks)", e.Field.Path)
				}
			}
		}
		if len(custom) != 2 {
			t.Fatalf("offer form custom fields: %+v", form.FormDefinition)
		}
		wantCode(t, c, "offer.create", map[string]any{"offerProcessId": proc.ID, "offerFormId": form.ID, "offerForm": ofrSubs(
			"_systemfield_start_date", "2026-10-01", "_systemfield_salary", map[string]any{"currencyCode": "USD", "value": 100000}, level.ID, "Staff")}, "invalid_input")
		var offer ashby.Offer
		must(t, c, "offer.create", map[string]any{"offerProcessId": proc.ID, "offerFormId": form.ID, "offerForm": ofrSubs(
			"_systemfield_start_date", "2026-10-01", "_systemfield_salary", map[string]any{"currencyCode": "USD", "value": 100000},
			level.ID, "l6", signing.ID, "2026-09-15")}, &offer)
		cf := offer.LatestVersion.CustomFields
		if len(cf) != 2 || cf[0].ID != level.ID || cf[0].Value != "l6" || cf[0].ValueLabel != "Staff" || cf[1].Title != "Signing date" || cf[1].Value != "2026-09-15T00:00:00.000Z" {
			t.Fatalf("offer custom fields: %+v", cf)
		}
		must(t, c, "approvalDefinition.update", map[string]any{"entityType": "offer", "entityId": offer.LatestVersion.ID, "submitApprovalRequest": true,
			"approvalStepDefinitions": []map[string]any{{"approvalsRequired": 1, "approvers": []map[string]any{{"userId": alice.ID, "type": "user"}}}}}, nil)

		// Delete needs candidatesDelete.
		writer := ofrClient(t, srv, srv.Key(slug, "candidatesRead,candidatesWrite"))
		_, err := writer.Call(ctx, "application.delete", map[string]any{"applicationId": app.ID}, nil)
		if e, ok := err.(*client.Error); !ok || e.Status != http.StatusForbidden || e.Code != "missing_endpoint_permission" {
			t.Fatalf("application.delete without candidatesDelete: %v", err)
		}
		// Another organization cannot delete it either.
		_, key2 := srv.NewOrg()
		c2 := ofrClient(t, srv, key2)
		wantCode(t, c2, "application.delete", map[string]any{"applicationId": app.ID}, "application_not_found")
		wantCode(t, c2, "application.transfer", transfer(job2.ID, plan, f.stageByTyp["Active"].ID), "application_not_found")
		wantCode(t, c2, "application.updateHistory", upReq(entry(hist[2], 0, "2026-01-10T00:00:00Z")), "application_not_found")
		wantCode(t, c2, "application.addHiringTeamMember", map[string]any{"applicationId": app.ID, "teamMemberId": alice.ID, "roleId": roles[0].ID}, "application_not_found")

		deleter := ofrClient(t, srv, srv.Key(slug, "candidatesRead,candidatesDelete"))
		var deleted ashby.Application
		must(t, deleter, "application.delete", map[string]any{"applicationId": app.ID}, ofrZero(&deleted))
		if deleted.ID != app.ID {
			t.Fatalf("deleted: %+v", deleted)
		}
		wantCode(t, c, "application.info", map[string]any{"applicationId": app.ID}, "application_not_found")
		wantCode(t, c, "application.listHistory", map[string]any{"applicationId": app.ID}, "application_not_found")
		wantCode(t, c, "offer.info", map[string]any{"offerId": offer.ID}, "offer_not_found")
		wantCode(t, c, "application.delete", map[string]any{"applicationId": app.ID}, "application_not_found")
		var approvals []ashby.Approval
		must(t, c, "approval.list", map[string]any{"entityId": offer.LatestVersion.ID}, ofrZero(&approvals))
		if len(approvals) != 0 {
			t.Fatalf("the deleted offer's approval remains: %+v", approvals)
		}
		must(t, c, "candidate.info", map[string]any{"id": app.Candidate.ID}, ofrZero(&candAfter))
		if slices.Contains(candAfter.ApplicationIDs, app.ID) || len(candAfter.ApplicationIDs) != 1 {
			t.Fatalf("candidate still lists the deleted application: %v", candAfter.ApplicationIDs)
		}
		var del struct {
			Offer struct {
				ID            string `json:"id"`
				ApplicationID string `json:"applicationId"`
			} `json:"offer"`
		}
		if err := json.Unmarshal(ofrLastEvent(ofrEvents(t, srv, slug), "offerDelete"), &del); err != nil || del.Offer.ID != offer.ID || del.Offer.ApplicationID != app.ID {
			t.Fatalf("offerDelete: %v %+v", err, del)
		}
	})
}
