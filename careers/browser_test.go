package careers_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/browsertest"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

// Browser tests: real headless Chromium against the real ashlar binary,
// with axe-core accessibility checks (package browsertest). Without
// Chromium and axe-core they are skipped, unless ASHLAR_REQUIRE_BROWSER=1
// (CI), which makes that a failure.

func must(t *testing.T, c *client.Client, endpoint string, req, out any) {
	t.Helper()
	if _, err := c.Call(context.Background(), endpoint, req, out); err != nil {
		t.Fatalf("%s: %v", endpoint, err)
	}
}

type site struct {
	srv     *testserver.Server
	c       *client.Client
	slug    string
	posting ashby.JobPostingInfo
	resume  string
}

func field(typ, path, title string, required bool) map[string]any {
	f := map[string]any{"type": typ, "path": path, "title": title}
	return map[string]any{"isRequired": required, "field": f, "descriptionHtml": "<p>About " + strings.ToLower(title) + "</p>"}
}

func newSite(t *testing.T, engine store.Engine) *site {
	srv := testserver.Start(t, engine, testserver.Options{Args: []string{"--files-dir", t.TempDir()}})
	slug, key := srv.NewOrg()
	c := srv.Client(key)
	var d ashby.Department
	must(t, c, "department.create", map[string]any{"name": "Engineering"}, &d)
	var l ashby.Location
	must(t, c, "location.create", map[string]any{"name": "Berlin", "type": "Location", "workplaceType": "Hybrid",
		"address": map[string]any{"postalAddress": map[string]any{"addressLocality": "Berlin", "addressCountry": "Germany"}}}, &l)
	var plans []ashby.InterviewPlan
	must(t, c, "interviewPlan.list", nil, &plans)
	var job ashby.Job
	must(t, c, "job.create", map[string]any{"title": "Backend Engineer", "teamId": d.ID, "locationId": l.ID, "defaultInterviewPlanId": plans[0].ID}, &job)
	must(t, c, "job.setStatus", map[string]any{"jobId": job.ID, "status": "Open"}, nil)
	var boards []ashby.JobBoard
	must(t, c, "jobBoard.list", nil, &boards)
	must(t, c, "jobBoard.update", map[string]any{"jobBoardId": boards[0].ID, "theme": map[string]any{"primaryColor": "#ffcc00"}}, nil)
	levels := field("ValueSelect", "level", "Level", false)
	levels["field"].(map[string]any)["selectableValues"] = []map[string]string{{"label": "Junior", "value": "junior"}, {"label": "Senior", "value": "senior"}}
	langs := field("MultiValueSelect", "langs", "Languages", false)
	langs["field"].(map[string]any)["selectableValues"] = []map[string]string{{"label": "Go", "value": "go"}, {"label": "Rust", "value": "rust"}}
	form := map[string]any{"sections": []any{
		map[string]any{"title": "About you", "fields": []any{
			field("String", "_systemfield_name", "Name", true), field("Email", "_systemfield_email", "Email", true),
			field("Phone", "_systemfield_phone", "Phone", false), field("Location", "_systemfield_location", "Location", false),
			field("File", "_systemfield_resume", "Resume", true), field("SocialLink", "_systemfield_linkedin", "LinkedIn", false)}},
		map[string]any{"title": "Questions", "fields": []any{
			field("LongText", "why", "Why us", true), field("Boolean", "remote", "Remote OK", false), field("Date", "start", "Start date", false),
			field("Number", "years", "Years", false), levels, langs, field("Url", "site", "Website", false), field("RichText", "note", "Note", false),
			field("Score", "self", "Self rating", false), field("Currency", "salary", "Salary", false), field("NumberRange", "range", "Team size", false),
			field("DateRange", "avail", "Availability", false), field("EducationHistory", "edu", "Education", false), field("File", "cover", "Cover letter", false)}},
	}}
	s := &site{srv: srv, c: c, slug: slug}
	must(t, c, "jobPosting.create", map[string]any{"jobId": job.ID, "title": "Backend Engineer (Go)", "status": "Published",
		"descriptionHtml": "<h2>About the role</h2><p>Build the <b>platform</b>.</p><ul><li>Go</li><li>PostgreSQL</li></ul>", "applicationFormDefinition": form}, &s.posting)
	must(t, c, "jobPosting.updateCompensation", map[string]any{"jobPostingId": s.posting.ID, "compensationTiers": []any{map[string]any{"components": []any{
		map[string]any{"compensationType": "Salary", "interval": "1 YEAR", "currencyCode": "EUR", "minValue": 70000, "maxValue": 90000}}}}}, nil)
	s.resume = filepath.Join(t.TempDir(), "resume.pdf")
	os.WriteFile(s.resume, []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"), 0o600)
	return s
}

func (s *site) applications(t *testing.T) []ashby.Application {
	var apps []ashby.Application
	must(t, s.c, "application.list", nil, &apps)
	return apps
}

// fillRequired fills the apply form's required fields.
func fillRequired(s *site, name, email string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.SendKeys(chromedp.CSS(`input[name="_systemfield_name"]`), name),
		chromedp.SendKeys(chromedp.CSS(`input[name="_systemfield_email"]`), email),
		chromedp.SetUploadFiles(chromedp.CSS(`input[name="_systemfield_resume"]`), []string{s.resume}),
		chromedp.SendKeys(chromedp.CSS(`textarea[name="why"]`), "I like robots."),
	)
}

func TestBrowserApplyFlow(t *testing.T) {
	axe := browsertest.AxeSource(t)
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		ctx := browsertest.Browser(t)
		s := newSite(t, engine)
		base := s.srv.URL + "/jobs/" + s.slug
		// List (landing with UTM parameters) → posting → apply.
		browsertest.Do(t, ctx, chromedp.Navigate(base+"?utm_source=LinkedIn&utm_campaign=spring"), browsertest.WaitFor("h1"))
		if h1 := browsertest.Text(t, ctx, "h1"); !strings.Contains(h1, "Test "+s.slug) {
			t.Fatalf("listing h1 %q does not name the organization", h1)
		}
		browsertest.AxeCheck(t, ctx, axe, "listing")
		browsertest.Do(t, ctx, browsertest.Click(`a[href*="`+s.posting.ID+`"]`), browsertest.WaitFor(`a.button`))
		title := browsertest.Text(t, ctx, "h1")
		ld, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`script[type="application/ld+json"]`)))
		var linked map[string]any
		if err != nil || title != s.posting.Title || json.Unmarshal([]byte(ld), &linked) != nil || linked["@type"] != "JobPosting" {
			t.Fatalf("posting page: title %q, JSON-LD %s (%v)", title, ld, err)
		}
		if comp := browsertest.Text(t, ctx, ".facts .comp"); !strings.Contains(comp, "€70K") {
			t.Fatalf("posting page shows compensation: %q", comp)
		}
		browsertest.AxeCheck(t, ctx, axe, "posting")
		browsertest.Do(t, ctx, browsertest.Click(`a.button`), browsertest.WaitFor(`form.apply`))
		browsertest.AxeCheck(t, ctx, axe, "apply form")
		// Fill every kind of input, attach a resume, submit.
		browsertest.Do(t, ctx,
			fillRequired(s, "Ada Lovelace", "ada@example.com"),
			chromedp.SendKeys(chromedp.CSS(`input[name="_systemfield_location[city]"]`), "London"),
			browsertest.Click(`input[name="remote"][value="true"]`),
			chromedp.SetValue(chromedp.CSS(`input[name="start"]`), "2027-02-01"),
			chromedp.SendKeys(chromedp.CSS(`input[name="years"]`), "7"),
			chromedp.SetValue(chromedp.CSS(`select[name="level"]`), "senior"),
			browsertest.Click(`input[name="langs"][value="go"]`),
			browsertest.Click(`input[name="self"][value="4"]`),
			chromedp.SendKeys(chromedp.CSS(`input[name="edu[school]"]`), "University of London"),
			browsertest.Click(`form.apply button[type="submit"]`),
			browsertest.WaitFor(`.confirmation`),
		)
		if h1 := browsertest.Text(t, ctx, "h1"); h1 != "Application received" {
			t.Fatalf("confirmation page h1 %q", h1)
		}
		browsertest.AxeCheck(t, ctx, axe, "confirmation")
		apps := s.applications(t)
		if len(apps) != 1 || apps[0].Candidate.Name != "Ada Lovelace" || apps[0].AppliedViaJobPostingID != s.posting.ID {
			t.Fatalf("application.list after applying: %+v", apps)
		}
		if apps[0].Source == nil || apps[0].Source.Title != "LinkedIn" {
			t.Fatalf("the landing URL's utm_source should be the source: %+v", apps[0].Source)
		}
		var cand ashby.Candidate
		must(t, s.c, "candidate.info", map[string]any{"id": apps[0].Candidate.ID}, &cand)
		if cand.ResumeFileHandle == nil || cand.ResumeFileHandle.Name != "resume.pdf" {
			t.Fatalf("resume: %+v", cand.ResumeFileHandle)
		}
		var info map[string]any
		must(t, s.c, "application.info", map[string]any{"applicationId": apps[0].ID, "expand": []string{"applicationFormSubmissions"}}, &info)
		subs := info["applicationFormSubmissions"].([]any)
		vals := subs[0].(map[string]any)["submittedValues"].(map[string]any)
		if vals["level"] != "senior" || vals["remote"] != true || vals["years"] != 7.0 || vals["start"] != "2027-02-01" || vals["self"] == nil || vals["edu"] == nil {
			t.Fatalf("submitted values: %v", vals)
		}

		// A small screen: nothing overflows sideways.
		browsertest.Do(t, ctx, chromedp.EmulateViewport(375, 740, chromedp.EmulateScale(2), chromedp.EmulateMobile), chromedp.Navigate(base), browsertest.WaitFor("h1"))
		overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
		if err != nil || overflow {
			t.Errorf("the listing overflows a 375px-wide screen (%v)", err)
		}
		browsertest.AxeCheck(t, ctx, axe, "listing on a phone")
	})
}

func TestBrowserValidationKeepsValues(t *testing.T) {
	axe := browsertest.AxeSource(t)
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		ctx := browsertest.Browser(t)
		s := newSite(t, engine)
		browsertest.Do(t, ctx,
			chromedp.Navigate(s.srv.URL+"/jobs/"+s.slug+"/"+s.posting.ID+"/application"),
			browsertest.WaitFor(`form.apply`),
			chromedp.SendKeys(chromedp.CSS(`input[name="_systemfield_name"]`), "Grace Hopper"),
			chromedp.SendKeys(chromedp.CSS(`input[name="_systemfield_email"]`), "grace-at-example"),
			chromedp.SendKeys(chromedp.CSS(`textarea[name="why"]`), "Compilers."),
			chromedp.SetValue(chromedp.CSS(`select[name="level"]`), "junior"),
			browsertest.Click(`form.apply button[type="submit"]`),
			browsertest.WaitFor(`.error-summary`),
		)
		name, why, level, email := browsertest.Value(t, ctx, `input[name="_systemfield_name"]`), browsertest.Value(t, ctx, `textarea[name="why"]`), browsertest.Value(t, ctx, `select[name="level"]`), browsertest.Value(t, ctx, `input[name="_systemfield_email"]`)
		if name != "Grace Hopper" || why != "Compilers." || level != "junior" || email != "grace-at-example" {
			t.Fatalf("entered values lost: name %q why %q level %q email %q", name, why, level, email)
		}
		summary := browsertest.Text(t, ctx, ".error-summary")
		invalid, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`input[name="_systemfield_email"]`), "aria-invalid"))
		if err != nil || !strings.Contains(summary, "Email") || !strings.Contains(summary, "Resume") || invalid.Value != "true" {
			t.Fatalf("errors: summary %q, email aria-invalid %+v (%v)", summary, invalid, err)
		}
		beside, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('input[name="_systemfield_email"]').closest('.field').querySelector('.field-error').textContent`))
		if err != nil || !strings.Contains(beside, "valid email") {
			t.Fatalf("the email error beside its field: %q (%v)", beside, err)
		}
		browsertest.AxeCheck(t, ctx, axe, "apply form with errors")
		if n := len(s.applications(t)); n != 0 {
			t.Fatalf("a refused form created %d applications", n)
		}
		// Correct it: the form goes through.
		browsertest.Do(t, ctx,
			chromedp.SetValue(chromedp.CSS(`input[name="_systemfield_email"]`), "grace@example.com"),
			chromedp.SetUploadFiles(chromedp.CSS(`input[name="_systemfield_resume"]`), []string{s.resume}),
			browsertest.Click(`form.apply button[type="submit"]`),
			browsertest.WaitFor(`.confirmation`),
		)
		if apps := s.applications(t); len(apps) != 1 || apps[0].Candidate.Name != "Grace Hopper" {
			t.Fatalf("after correcting: %+v", apps)
		}
	})
}

func TestBrowserDoubleSubmit(t *testing.T) {
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		ctx := browsertest.Browser(t)
		s := newSite(t, engine)
		browsertest.Do(t, ctx,
			// The test posts with fetch from the page; the site's CSP
			// (rightly) forbids that, so it is bypassed for this tab only.
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := cdp.Call(ctx, tg, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true})
				return err
			}),
			chromedp.Navigate(s.srv.URL+"/jobs/"+s.slug+"/"+s.posting.ID+"/application"),
			browsertest.WaitFor(`form.apply`),
			fillRequired(s, "Linus T", "linus@example.com"),
		)
		// Two identical POSTs at once, as a double click or a retried
		// request sends them: same cookie, same form, same key.
		statuses, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`(async () => {
			const f = document.querySelector("form.apply");
			const fd = new FormData(f);
			const rs = await Promise.all([1, 2].map(() => fetch(f.action, {method: "POST", body: fd, redirect: "manual", credentials: "same-origin"})));
			return rs.map(r => r.status);
		})()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range statuses {
			// fetch reports a manual redirect as an opaque response (0).
			if st != 0 && st != 303 {
				t.Fatalf("concurrent POSTs: statuses %v", statuses)
			}
		}
		// And the person clicks once more.
		browsertest.Do(t, ctx, browsertest.Click(`form.apply button[type="submit"]`), browsertest.WaitFor(`.confirmation`))
		apps := s.applications(t)
		if len(apps) != 1 {
			t.Fatalf("three submissions of one form created %d applications", len(apps))
		}
		var info map[string]any
		must(t, s.c, "application.info", map[string]any{"applicationId": apps[0].ID, "expand": []string{"applicationFormSubmissions"}}, &info)
		if n := len(info["applicationFormSubmissions"].([]any)); n != 1 {
			t.Fatalf("one form, %d submissions kept", n)
		}
	})
}
