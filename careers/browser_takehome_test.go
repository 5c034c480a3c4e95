package careers_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/browsertest"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

// The candidate's take-home page in a real browser: accessible, a file
// attached through the file input, a double submission recorded once.
func TestBrowserTakeHome(t *testing.T) {
	axe := browsertest.AxeSource(t)
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		ctx := browsertest.Browser(t)
		s := newSite(t, engine)
		assign := func(name, email string) (ashby.TakeHomeAssignment, string) {
			var cand ashby.Candidate
			must(t, s.c, "candidate.create", map[string]any{"name": name, "email": email}, &cand)
			var app ashby.Application
			var job ashby.Job
			must(t, s.c, "job.info", map[string]any{"id": s.posting.JobID}, &job)
			must(t, s.c, "application.create", map[string]any{"candidateId": cand.ID, "jobId": job.ID}, &app)
			var ivs []ashby.Interview
			must(t, s.c, "interview.list", nil, &ivs)
			var users []ashby.User
			must(t, s.c, "user.list", nil, &users)
			var th ashby.TakeHomeAssignment
			must(t, s.c, "takeHomeAssignment.create", map[string]any{"applicationId": app.ID, "interviewId": ivs[0].ID, "reviewerUserIds": []string{users[0].ID},
				"dueAt": ashby.NewTime(time.Now().Add(72 * time.Hour)), "instructionsHtml": "<p>Write a <b>tokenizer</b>.</p><ul><li>Tests</li><li>README</li></ul>"}, &th)
			return th, th.SubmissionURL
		}
		info := func(id string) ashby.TakeHomeAssignment {
			var th ashby.TakeHomeAssignment
			must(t, s.c, "takeHomeAssignment.info", map[string]any{"takeHomeAssignmentId": id}, &th)
			return th
		}

		th, url := assign("Ada Lovelace", "ada@example.com")
		browsertest.Do(t, ctx, chromedp.Navigate(url), browsertest.WaitFor(`form.apply`))
		if h1 := browsertest.Text(t, ctx, "h1"); h1 != "Interview" {
			t.Fatalf("page h1 %q", h1)
		}
		browsertest.AxeCheck(t, ctx, axe, "take-home form")
		// A bad link first: the error is shown, the answer kept.
		notes := filepath.Join(t.TempDir(), "notes.txt")
		os.WriteFile(notes, []byte("Design notes: a hand-written lexer.\n"), 0o600)
		browsertest.Do(t, ctx,
			chromedp.SendKeys(chromedp.CSS(`textarea[name="text"]`), "A table-driven tokenizer."),
			chromedp.SendKeys(chromedp.CSS(`#th-link-1`), "git.example.com/ada"),
			browsertest.Click(`form.apply button[type="submit"]`),
			browsertest.WaitFor(`.error-summary`),
		)
		if v := browsertest.Value(t, ctx, `textarea[name="text"]`); v != "A table-driven tokenizer." {
			t.Fatalf("the answer after an error: %q", v)
		}
		browsertest.AxeCheck(t, ctx, axe, "take-home form with an error")
		browsertest.Do(t, ctx,
			chromedp.SetValue(chromedp.CSS(`#th-link-1`), "https://git.example.com/ada/tokenizer"),
			chromedp.SetUploadFiles(chromedp.CSS(`input[name="files"]`), []string{s.resume, notes}),
			browsertest.Click(`form.apply button[type="submit"]`),
			browsertest.WaitFor(`.message`),
		)
		if h1 := browsertest.Text(t, ctx, "h1"); h1 != "Submission received" {
			t.Fatalf("after submitting: h1 %q", h1)
		}
		browsertest.AxeCheck(t, ctx, axe, "take-home confirmation")
		got := info(th.ID)
		if got.Status != ashby.TakeHomeWaitingOnFeedback || got.Submission == nil || len(got.Submission.Files) != 2 ||
			got.Submission.Files[1].ContentType != "text/plain" || len(got.Submission.Links) != 1 || *got.Submission.Text != "A table-driven tokenizer." {
			t.Fatalf("submission: %+v", got.Submission)
		}

		// Two identical posts at once: one submission.
		th2, url2 := assign("Alan Turing", "alan@example.com")
		browsertest.Do(t, ctx,
			// The test posts with fetch from the page; the page's CSP
			// (rightly) forbids that, so it is bypassed for this tab only.
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := cdp.Call(ctx, tg, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true})
				return err
			}),
			chromedp.Navigate(url2), browsertest.WaitFor(`form.apply`),
			chromedp.SendKeys(chromedp.CSS(`textarea[name="text"]`), "Twice."),
		)
		statuses, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`(async () => {
			const f = document.querySelector("form.apply");
			const fd = new FormData(f);
			const rs = await Promise.all([1, 2].map(() => fetch(f.action, {method: "POST", body: fd, redirect: "manual", credentials: "same-origin"})));
			return rs.map(r => r.status);
		})()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		ok := 0
		for _, st := range statuses {
			switch st {
			case 0: // fetch reports a manual redirect as an opaque response
				ok++
			case 409:
			default:
				t.Fatalf("concurrent posts: statuses %v", statuses)
			}
		}
		if ok != 1 {
			t.Fatalf("concurrent posts: statuses %v, want one submission", statuses)
		}
		if got := info(th2.ID); got.Status != ashby.TakeHomeWaitingOnFeedback || *got.Submission.Text != "Twice." {
			t.Fatalf("after the double post: %+v", got)
		}
		browsertest.Do(t, ctx, chromedp.Navigate(url2), browsertest.WaitFor(`.message`))
		if body := browsertest.Text(t, ctx, ".message"); !strings.Contains(body, "we received your work") {
			t.Fatalf("the page after the double post: %q", body)
		}
		browsertest.Do(t, ctx, chromedp.Navigate(url2+"x"), browsertest.WaitFor(`.message`))
		browsertest.AxeCheck(t, ctx, axe, "take-home link not valid")
	})
}
