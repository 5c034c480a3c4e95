package main

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
	"github.com/ashlarhq/ashlar/webhook"
)

// Take-home assignments against the real binary (docs/interviews.md):
// assigned through the API, handed in by the candidate on the HTML page,
// reviewed, complete; with the webhooks delivered to a receiver, sync and
// permissions.

func TestE2ETakeHomes(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{Args: append([]string{"--files-dir", t.TempDir()}, webhookServerArgs...)})
		slug, key := srv.NewOrg()
		h := newIVClient(t, srv.Client(key))
		c := h.c
		ctx := context.Background()
		rc := newHookReceiver(t)
		for _, ev := range []string{"takeHomeAssignmentAssigned", "takeHomeAssignmentSubmitted", "takeHomeAssignmentCompleted", "takeHomeAssignmentCancelled"} {
			must(t, c, "webhook.create", map[string]any{"webhookType": ev, "requestUrl": rc.URL + "/" + ev, "secretToken": "th-secret"}, nil)
		}
		f := newFixture(t, c)
		ada := newUser(h, "Ada", "ada@takehome.example")
		bob := newUser(h, "Bob", "bob@takehome.example")
		var cand ashby.Candidate
		must(t, c, "candidate.create", map[string]any{"name": "Grace Hopper", "email": "grace@takehome.example"}, &cand)
		var app ashby.Application
		must(t, c, "application.create", map[string]any{"candidateId": cand.ID, "jobId": f.job.ID}, &app)
		var iv ashby.Interview
		must(t, c, "interview.create", map[string]any{"title": "Take-home", "externalTitle": "Compiler exercise"}, &iv)
		_, token, err := client.All[ashby.TakeHomeAssignment](ctx, c, "takeHomeAssignment.list", nil)
		if err != nil || token == "" {
			t.Fatalf("takeHomeAssignment.list: %v (token %q)", err, token)
		}

		// Assign.
		var th ashby.TakeHomeAssignment
		must(t, c, "takeHomeAssignment.create", map[string]any{"applicationId": app.ID, "interviewId": iv.ID, "reviewerUserIds": []string{ada.ID, bob.ID},
			"dueAt": ashby.NewTime(time.Now().Add(48 * time.Hour)), "instructionsHtml": "<p>Write a <b>parser</b> for the grammar attached.</p>"}, &th)
		if th.Status != ashby.TakeHomeWaitingOnSubmission || !strings.HasPrefix(th.SubmissionURL, srv.URL+"/take-home/") {
			t.Fatalf("created: %+v", th)
		}
		reader := srv.Client(srv.Key(slug, "interviewsRead"))
		if _, err := reader.Call(ctx, "takeHomeAssignment.create", map[string]any{"applicationId": app.ID, "interviewId": iv.ID, "reviewerUserIds": []string{ada.ID}}, nil); client.Code(err) != ashby.CodeMissingEndpointPermission {
			t.Fatalf("create with interviewsRead only: %v", err)
		}
		var viaReader ashby.TakeHomeAssignment
		must(t, reader, "takeHomeAssignment.info", map[string]any{"takeHomeAssignmentId": th.ID}, &viaReader)
		if viaReader.SubmissionURL != "" {
			t.Fatal("info returns the submission URL")
		}

		// The candidate hands it in on the page.
		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := browser.Get(th.SubmissionURL)
		if err != nil {
			t.Fatal(err)
		}
		pageBody, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(pageBody)
		if resp.StatusCode != 200 || m == nil || !bytes.Contains(pageBody, []byte("Compiler exercise")) || !bytes.Contains(pageBody, []byte("<b>parser</b>")) {
			t.Fatalf("the candidate's page: %d\n%s", resp.StatusCode, pageBody)
		}
		body, ct := multipartBody(t, map[string]string{"csrf": html.UnescapeString(string(m[1])), "text": "Recursive descent, with tests.", "link": "https://git.example.com/grace/parser"},
			filePart{"files", "parser.pdf", pdfBytes})
		resp, err = browser.Post(th.SubmissionURL, ct, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("posting the form: %d", resp.StatusCode)
		}
		if resp, body := get(t, srv.URL+resp.Header.Get("Location"), nil); resp.StatusCode != 200 || !bytes.Contains(body, []byte("Submission received")) {
			t.Fatalf("after posting: %d", resp.StatusCode)
		}
		must(t, c, "takeHomeAssignment.info", map[string]any{"takeHomeAssignmentId": th.ID}, &th)
		if th.Status != ashby.TakeHomeWaitingOnFeedback || th.Submission == nil || *th.Submission.Text != "Recursive descent, with tests." ||
			!slices.Equal(th.Submission.Links, []string{"https://git.example.com/grace/parser"}) || len(th.Submission.Files) != 1 {
			t.Fatalf("submitted: %+v", th.Submission)
		}
		if got, _ := download(t, c, th.Submission.Files[0].Handle); !bytes.Equal(got, pdfBytes) {
			t.Fatal("the downloaded file differs from the one submitted")
		}

		// Reviewers give feedback; the last one completes the assignment.
		review := func(u ashby.User) {
			h.call("applicationFeedback.submit", map[string]any{"applicationId": app.ID, "formDefinitionId": th.FeedbackFormDefinitionID, "userId": u.ID,
				"takeHomeAssignmentId": th.ID, "feedbackForm": map[string]any{"fieldSubmissions": []any{
					map[string]any{"path": "overall_recommendation", "value": map[string]any{"score": 4}},
					map[string]any{"path": "feedback", "value": "Thorough."}}}}, nil)
		}
		review(ada)
		must(t, c, "takeHomeAssignment.info", map[string]any{"takeHomeAssignmentId": th.ID}, &th)
		if th.Status != ashby.TakeHomeWaitingOnFeedback || !th.Reviewers[0].HasSubmittedFeedback || th.Reviewers[1].HasSubmittedFeedback {
			t.Fatalf("after one review: %+v", th)
		}
		review(bob)
		var listed []ashby.TakeHomeAssignment
		must(t, c, "takeHomeAssignment.list", map[string]any{"applicationId": app.ID, "expand": []string{"interview"}}, &listed)
		if len(listed) != 1 || listed[0].Status != ashby.TakeHomeComplete || listed[0].Interview == nil || listed[0].Interview.ExternalTitle != "Compiler exercise" {
			t.Fatalf("list after the reviews: %+v", listed)
		}
		changed, _ := syncUntil(t, engine, c, "takeHomeAssignment.list", nil, token, map[string]bool{th.ID: true})
		if !changed[th.ID] {
			t.Fatal("incremental sync did not report the assignment")
		}

		// A second assignment, cancelled.
		var iv2 ashby.Interview
		must(t, c, "interview.create", map[string]any{"title": "Design write-up"}, &iv2)
		var other ashby.TakeHomeAssignment
		must(t, c, "takeHomeAssignment.create", map[string]any{"applicationId": app.ID, "interviewId": iv2.ID, "reviewerUserIds": []string{ada.ID}}, &other)
		must(t, c, "takeHomeAssignment.cancel", map[string]any{"takeHomeAssignmentId": other.ID}, nil)
		if resp, _ := get(t, other.SubmissionURL, nil); resp.StatusCode != http.StatusGone {
			t.Fatalf("a cancelled assignment's page: %d", resp.StatusCode)
		}
		wantCode(t, c, "takeHomeAssignment.info", map[string]any{"takeHomeAssignmentId": ashby.NewID()}, ashby.CodeTakeHomeNotFound)

		// The webhooks, signed, each with the assignment as it then was.
		want := map[string]string{"takeHomeAssignmentAssigned": th.ID, "takeHomeAssignmentSubmitted": th.ID, "takeHomeAssignmentCompleted": th.ID, "takeHomeAssignmentCancelled": other.ID}
		waitUntil(t, "take-home webhooks", 20*time.Second, func() bool {
			for action := range want {
				if len(rc.hits(action)) == 0 {
					return false
				}
			}
			return len(rc.hits("takeHomeAssignmentAssigned")) == 2
		})
		for action, id := range want {
			var found bool
			for _, hit := range rc.hits(action) {
				var data struct {
					TakeHomeAssignment ashby.TakeHomeAssignment `json:"takeHomeAssignment"`
				}
				if err := json.Unmarshal(hit.env.Data, &data); err != nil || !webhook.Verify("th-secret", hit.Body, hit.Signature) || hit.Path != "/"+action {
					t.Fatalf("%s delivery: %s (%v)", action, hit.Body, err)
				}
				if strings.Contains(string(hit.Body), "/take-home/") {
					t.Fatalf("%s carries the submission URL: %s", action, hit.Body)
				}
				if data.TakeHomeAssignment.ID == id {
					found = true
					switch action {
					case "takeHomeAssignmentSubmitted":
						found = data.TakeHomeAssignment.Status == ashby.TakeHomeWaitingOnFeedback && data.TakeHomeAssignment.Submission != nil
					case "takeHomeAssignmentCompleted":
						found = data.TakeHomeAssignment.Status == ashby.TakeHomeComplete
					}
				}
			}
			if !found {
				t.Errorf("no %s for %s with the expected status", action, id)
			}
		}
	})
}

// The demo organization has take-home assignments in every status.
func TestE2EDemoTakeHomes(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, store.SQLite, testserver.Options{Args: []string{"--demo", "--demo-candidates", "60", "--files-dir", t.TempDir()}})
	key := srv.WaitStdout(regexp.MustCompile(`ashlar_[A-Za-z0-9_-]+`), 60*time.Second)
	ths, _, err := client.All[ashby.TakeHomeAssignment](context.Background(), srv.Client(key), "takeHomeAssignment.list", nil)
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[string]int{}
	for _, th := range ths {
		statuses[th.Status]++
		if th.Status == ashby.TakeHomeComplete && (th.Submission == nil || !th.Reviewers[0].HasSubmittedFeedback || !th.Reviewers[1].HasSubmittedFeedback) {
			t.Errorf("a complete demo assignment without its submission or reviews: %+v", th)
		}
	}
	for _, s := range []string{ashby.TakeHomeWaitingOnSubmission, ashby.TakeHomeWaitingOnFeedback, ashby.TakeHomeComplete, ashby.TakeHomeCancelled} {
		if statuses[s] == 0 {
			t.Errorf("no demo take-home assignment is %s (%v)", s, statuses)
		}
	}
}

// The schema sweep reads an assignment made with the create extension.
func init() {
	requests["takeHomeAssignment.info"] = func(h *schemaHarness) any {
		id := h.once("takeHome", func() string {
			_, env, err := h.post("interview.list", map[string]any{})
			if err != nil || len(asList(env["results"])) == 0 {
				h.t.Fatalf("interview.list: %v", err)
			}
			iv := asList(env["results"])[0].(map[string]any)["id"]
			return h.call("takeHomeAssignment.create", map[string]any{"applicationId": h.freshApplication(), "interviewId": iv, "reviewerUserIds": []string{h.fx["user"]}})["id"].(string)
		})
		return map[string]any{"takeHomeAssignmentId": id, "expand": []string{"interview"}}
	}
}
