package webapp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/browsertest"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

// Browser tests: real headless Chromium against the real ashlar binary,
// with axe-core on every page (package browsertest). Every page visited is
// saved as a screenshot under webapp/screenshots/ (git-ignored), at
// desktop width and at 375 px, for people to look at.

// site is a running server with an organization whose admin can sign in.
type site struct {
	t      *testing.T
	srv    *testserver.Server
	engine store.Engine
	slug   string
	c      *client.Client
	admin  string
	axe    string
	// pages visited, for the phone-width pass.
	mu    sync.Mutex
	pages map[string]string
}

func newSite(t *testing.T, engine store.Engine, args ...string) *site {
	srv := testserver.Start(t, engine, testserver.Options{Args: args})
	slug, key := srv.NewOrg()
	s := &site{t: t, srv: srv, engine: engine, slug: slug, c: srv.Client(key), admin: "ada@" + slug + ".example", axe: browsertest.AxeSource(t), pages: map[string]string{}}
	s.srv.CLIInput(password+"\n", "user", "create", "--org", slug, "--email", s.admin, "--name", "Ada Admin", "--role", "admin", "--password-stdin")
	return s
}

func (s *site) call(endpoint string, req, out any) {
	s.t.Helper()
	if _, err := s.c.Call(context.Background(), endpoint, req, out); err != nil {
		s.t.Fatalf("%s: %v", endpoint, err)
	}
}

var shotDir = sync.OnceValue(func() string {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "screenshots")
	os.MkdirAll(dir, 0o755)
	return dir
})

// check waits for the page's h1, runs axe-core on it, saves a screenshot,
// and remembers the page for the phone-width pass.
func (s *site) check(ctx context.Context, name string) {
	s.t.Helper()
	browsertest.Do(s.t, ctx, browsertest.WaitFor("h1"))
	browsertest.AxeCheck(s.t, ctx, s.axe, name)
	s.shot(ctx, name)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err == nil {
		s.mu.Lock()
		s.pages[name] = loc
		s.mu.Unlock()
	}
}

func (s *site) shot(ctx context.Context, name string) {
	s.t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(shotDir(), name+".png"), png, 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// phonePass revisits every page checked at 375 px wide: nothing may
// overflow sideways, and axe-core runs again.
func (s *site) phonePass(ctx context.Context) {
	s.t.Helper()
	browsertest.Do(s.t, ctx, chromedp.EmulateViewport(375, 800, chromedp.EmulateScale(1)))
	s.mu.Lock()
	pages := make(map[string]string, len(s.pages))
	for k, v := range s.pages {
		pages[k] = v
	}
	s.mu.Unlock()
	for name, u := range pages {
		if strings.Contains(name, "-error") || strings.Contains(name, "created") {
			continue // pages a POST rendered, or flashes shown once
		}
		browsertest.Do(s.t, ctx, chromedp.Navigate(u), browsertest.WaitFor("h1"))
		overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
		if err != nil || overflow {
			wide, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest(".table, pre")).slice(0, 5).map(e => e.tagName + "." + e.className).join(", ")`))
			s.t.Errorf("%s overflows a 375px-wide screen (%v): %s", name, err, wide)
		}
		browsertest.AxeCheck(s.t, ctx, s.axe, name+" at 375px")
		s.shot(ctx, name+"-375")
	}
	browsertest.Do(s.t, ctx, chromedp.EmulateViewport(1200, 900))
}

// signIn signs in with the keyboard only: type, Tab, type, Enter.
func (s *site) signIn(ctx context.Context, email string) {
	s.t.Helper()
	browsertest.Do(s.t, ctx,
		chromedp.Navigate(s.srv.URL+"/app/signin"), browsertest.WaitFor(`#f-email`),
		chromedp.Focus(chromedp.CSS(`#f-email`)), chromedp.KeyEvent(email), chromedp.KeyEvent("\t"), chromedp.KeyEvent(password), chromedp.KeyEvent("\r"),
		browsertest.WaitFor(`nav.top`))
}

// waitText reloads the page until sel's text matches re.
func waitText(t *testing.T, ctx context.Context, sel string, re *regexp.Regexp, what string) string {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		browsertest.Do(t, ctx, browsertest.WaitFor(sel))
		text := browsertest.Text(t, ctx, sel)
		if re.MatchString(text) {
			return text
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s never matched %s; last:\n%s", what, sel, re, text)
		}
		time.Sleep(300 * time.Millisecond)
		browsertest.Do(t, ctx, chromedp.Reload())
	}
}

// submit clicks what sel selects and waits until the browser has loaded
// the page that answers: a new document, not the one clicked on.
func submit(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Evaluate[chromedp.Void](`window.__stale = 1; 0`),
		browsertest.Click(sel),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				stale, err := chromedp.Evaluate[bool](`window.__stale === 1 || document.readyState !== "complete"`)(ctx, t)
				if err == nil && !stale {
					return nil
				}
			}
			return fmt.Errorf("clicking %s loaded no new page", sel)
		}),
	)
}

func shotName(engine store.Engine, name string) string { return engine.String() + "-" + name }

func TestBrowserSignInAndAPIKeys(t *testing.T) {
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		s := newSite(t, engine)
		ctx := browsertest.Browser(t)
		n := func(name string) string { return shotName(engine, name) }
		// Signed out, the app sends people to sign in.
		browsertest.Do(t, ctx, chromedp.Navigate(s.srv.URL+"/"), browsertest.WaitFor(`#f-email`))
		if h1 := browsertest.Text(t, ctx, "h1"); h1 != "Sign in to Ashlar" {
			t.Fatalf("GET / shows %q", h1)
		}
		s.check(ctx, n("signin"))
		browsertest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#f-email`), s.admin), chromedp.SendKeys(chromedp.CSS(`#f-password`), "not my password"),
			submit(`main form button[type=submit]`), browsertest.WaitFor(`.error-summary`))
		if msg := browsertest.Text(t, ctx, ".error-summary"); !strings.Contains(msg, "The email address or password is incorrect.") {
			t.Fatalf("wrong password: %q", msg)
		}
		s.check(ctx, n("signin-error"))
		s.signIn(ctx, s.admin)
		if h1 := browsertest.Text(t, ctx, "h1"); h1 != "Welcome, Ada" {
			t.Fatalf("home h1 %q", h1)
		}
		s.check(ctx, n("home"))

		// Create a key with one permission.
		browsertest.Do(t, ctx, submit(`nav.top a[href="/app/settings/"]`), browsertest.WaitFor(`#f-title`))
		if h1 := browsertest.Text(t, ctx, "h1"); h1 != "API keys" {
			t.Fatalf("settings opens on %q", h1)
		}
		s.check(ctx, n("api-keys"))
		// Submitting without a title shows the error beside the field.
		browsertest.Do(t, ctx, browsertest.Click(`#p-candidatesRead`), submit(`form[action="/app/settings/api-keys"] button[type=submit]`), browsertest.WaitFor(`.error-summary a[href="#f-title"]`))
		s.check(ctx, n("api-keys-error"))
		browsertest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#f-title`), "Warehouse sync"),
			submit(`form[action="/app/settings/api-keys"] button[type=submit]`), browsertest.WaitFor(`#secret-value`))
		secret := browsertest.Value(t, ctx, `#secret-value`)
		if !strings.HasPrefix(secret, "ashlar_") {
			t.Fatalf("secret shown: %q", secret)
		}
		// The copy button is enhanced by the vendored script.
		defined, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`customElements.get("clipboard-copy") !== undefined`))
		if err != nil || !defined {
			t.Errorf("clipboard-copy is not defined (%v)", err)
		}
		s.check(ctx, n("api-key-created"))

		// The key works against the API, with exactly its permission.
		kc := s.srv.Client(secret)
		var cands []ashby.Candidate
		if _, err := kc.Call(context.Background(), "candidate.list", nil, &cands); err != nil {
			t.Fatalf("candidate.list with the new key: %v", err)
		}
		if _, err := kc.Call(context.Background(), "job.list", nil, nil); err == nil || !strings.Contains(err.Error(), "missing_endpoint_permission") {
			t.Fatalf("job.list with a candidatesRead key: %v", err)
		}
		browsertest.Do(t, ctx, chromedp.Reload(), browsertest.WaitFor("table"))
		if row := browsertest.Text(t, ctx, "main table tbody tr"); !strings.Contains(row, "Warehouse sync") || strings.Contains(row, "Never") {
			t.Fatalf("the key's row after use: %q", row)
		}

		// Revoke it: the API refuses it from then on.
		browsertest.Do(t, ctx, submit(`main table tbody tr button.warning`), browsertest.WaitFor(`.flash`))
		if msg := browsertest.Text(t, ctx, ".flash"); !strings.Contains(msg, "revoked") {
			t.Fatalf("revoke: %q", msg)
		}
		if _, err := kc.Call(context.Background(), "candidate.list", nil, nil); err == nil || !strings.Contains(err.Error(), "invalid_api_key") {
			t.Fatalf("a revoked key: %v", err)
		}

		// The rest of the admin console and the app's own pages.
		var c ashby.Candidate
		s.call("candidate.create", map[string]any{"name": "Grace Hopper", "email": "grace@example.com"}, &c)
		browsertest.Do(t, ctx, chromedp.Navigate(s.srv.URL+"/app/?q=Grace"), browsertest.WaitFor(`.results a`), submit(`.results a`), browsertest.WaitFor(`dl.facts`))
		if h1 := browsertest.Text(t, ctx, "h1"); h1 != "Grace Hopper" {
			t.Fatalf("candidate page h1 %q", h1)
		}
		s.check(ctx, n("candidate"))
		for _, p := range []struct{ path, name, h1 string }{
			{"/app/account", "account", "Your account"},
			{"/app/settings/partners", "partners", "Partners"},
			{"/app/settings/organization", "organization", "Organization"},
			{"/app/settings/audit-log", "audit-log", "Audit log"},
			{"/app/settings/users", "users", "Users"},
			{"/app/candidates/00000000-0000-4000-8000-000000000000", "not-found", "Page not found"},
			{"/app/signout", "signout", "Sign out"},
		} {
			browsertest.Do(t, ctx, chromedp.Navigate(s.srv.URL+p.path))
			if h1 := browsertest.Text(t, ctx, "h1"); h1 != p.h1 {
				t.Errorf("%s: h1 %q, want %q", p.path, h1, p.h1)
			}
			s.check(ctx, n(p.name))
		}
		// The audit log names the person who created and revoked the key.
		browsertest.Do(t, ctx, chromedp.Navigate(s.srv.URL+"/app/settings/audit-log?type=ApiKey"), browsertest.WaitFor("main table"))
		if log := browsertest.Text(t, ctx, "main table"); !strings.Contains(log, `User "Ada Admin" created api key "Warehouse sync"`) || !strings.Contains(log, `User "Ada Admin" updated api key "Warehouse sync"`) {
			t.Fatalf("audit log:\n%s", log)
		}
		// Organization settings: the time zone changes how dates read.
		browsertest.Do(t, ctx, chromedp.Navigate(s.srv.URL+"/app/settings/organization"), browsertest.WaitFor(`#f-timezone`),
			chromedp.SetValue(chromedp.CSS(`#f-timezone`), "Mars/Olympus"), submit(`form[action="/app/settings/organization"] button`), browsertest.WaitFor(`.error-summary`))
		s.check(ctx, n("organization-error"))
		browsertest.Do(t, ctx, chromedp.SetValue(chromedp.CSS(`#f-timezone`), "Asia/Tokyo"), submit(`form[action="/app/settings/organization"] button`), browsertest.WaitFor(`.flash`))
		if foot := browsertest.Text(t, ctx, "footer"); !strings.Contains(foot, "Asia/Tokyo") {
			t.Fatalf("footer after setting the time zone: %q", foot)
		}
		s.phonePass(ctx)
		// Sign out from the menu.
		browsertest.Do(t, ctx, chromedp.Navigate(s.srv.URL+"/app/"), browsertest.WaitFor(`form.signout button`), submit(`form.signout button`), browsertest.WaitFor(`#f-email`))
		browsertest.Do(t, ctx, chromedp.Navigate(s.srv.URL+"/app/settings/api-keys"), browsertest.WaitFor(`#f-email`))
	})
}

// receiver is a webhook receiver: a real HTTP server that answers 200, or
// 500 while failing.
type receiver struct {
	*httptest.Server
	failing atomic.Bool
	got     atomic.Int32
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.got.Add(1)
		if r.failing.Load() {
			http.Error(w, "receiver is down for maintenance", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "thanks")
	}))
	t.Cleanup(r.Close)
	return r
}

func TestBrowserWebhooks(t *testing.T) {
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		s := newSite(t, engine, "--webhook-allow-private", "--webhook-retry-base", "100ms", "--webhook-max-attempts", "2", "--webhook-poll", "100ms")
		rcv := newReceiver(t)
		ctx := browsertest.Browser(t)
		n := func(name string) string { return shotName(engine, name) }
		s.signIn(ctx, s.admin)
		browsertest.Do(t, ctx, chromedp.Navigate(s.srv.URL+"/app/settings/webhooks"), browsertest.WaitFor(`#f-url`))
		s.check(ctx, n("webhooks-empty"))
		browsertest.Do(t, ctx, chromedp.SetValue(chromedp.CSS(`#f-type`), "applicationSubmit"), chromedp.SendKeys(chromedp.CSS(`#f-url`), rcv.URL+"/hook"),
			submit(`form[action="/app/settings/webhooks"] button[type=submit]`), browsertest.WaitFor(`.flash`))
		if h1 := browsertest.Text(t, ctx, "h1"); h1 != "Webhook: applicationSubmit" {
			t.Fatalf("after creating a webhook: %q", h1)
		}
		s.check(ctx, n("webhook"))
		// Its ping appears in the delivery log, delivered.
		browsertest.Do(t, ctx, submit(`a[href^="/app/settings/webhooks/deliveries?webhook="]`))
		waitText(t, ctx, "main", regexp.MustCompile(`ping[\s\S]*succeeded`), "the ping in the delivery log")
		s.check(ctx, n("deliveries"))
		browsertest.Do(t, ctx, submit(`main table tbody tr a`), browsertest.WaitFor(`.attempt`))
		if detail := browsertest.Text(t, ctx, "main"); !strings.Contains(detail, `"action": "ping"`) || !strings.Contains(detail, "HTTP 200") || !strings.Contains(detail, "thanks") {
			t.Fatalf("delivery page:\n%s", detail)
		}
		s.check(ctx, n("delivery"))

		// The receiver fails; redelivering the ping records the failure.
		rcv.failing.Store(true)
		browsertest.Do(t, ctx, submit(`form[action$="/redeliver"] button`), browsertest.WaitFor(`.flash`))
		waitText(t, ctx, "main table tbody", regexp.MustCompile(`failed[\s\S]*HTTP 500`), "the failed redelivery")
		s.check(ctx, n("deliveries-failed"))
		// Filters: only failed deliveries.
		browsertest.Do(t, ctx, chromedp.SetValue(chromedp.CSS(`#f-outcome`), "failed"), submit(`form.filters button`), browsertest.WaitFor(`main table`))
		rows := browsertest.Text(t, ctx, "main table tbody")
		if !strings.Contains(rows, "failed") || strings.Contains(rows, "succeeded") {
			t.Fatalf("failed deliveries only:\n%s", rows)
		}
		// The failed delivery, redelivered once the receiver is back.
		browsertest.Do(t, ctx, submit(`main table tbody tr a`), browsertest.WaitFor(`.attempt`))
		if detail := browsertest.Text(t, ctx, "main"); !strings.Contains(detail, "HTTP 500") || !strings.Contains(detail, "receiver is down") {
			t.Fatalf("failed delivery page:\n%s", detail)
		}
		s.check(ctx, n("delivery-failed"))
		rcv.failing.Store(false)
		browsertest.Do(t, ctx, submit(`form[action$="/redeliver"] button`), browsertest.WaitFor(`.flash`))
		// The newest delivery (first row) is the redelivery; the ping's own
		// success further down must not satisfy the wait.
		waitText(t, ctx, "main table tbody tr:first-child", regexp.MustCompile(`succeeded`), "the redelivery after recovery")
		// The list shows the recent success rate and the last error.
		browsertest.Do(t, ctx, chromedp.Navigate(s.srv.URL+"/app/settings/webhooks"), browsertest.WaitFor(`main table`))
		row := browsertest.Text(t, ctx, "main table tbody tr")
		if !strings.Contains(row, "66%") || !strings.Contains(row, "500") {
			t.Fatalf("webhook row: %q", row)
		}
		s.check(ctx, n("webhooks"))
		// Disable, then enable it again.
		browsertest.Do(t, ctx, submit(`main table tbody tr a`), browsertest.WaitFor(`form[action$="/disable"]`), submit(`form[action$="/disable"] button`),
			browsertest.WaitFor(`form[action$="/enable"]`), submit(`form[action$="/enable"] button`), browsertest.WaitFor(`form[action$="/ping"]`))
		s.phonePass(ctx)
	})
}

func TestBrowserPostingForm(t *testing.T) {
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		s := newSite(t, engine)
		ctx := browsertest.Browser(t)
		n := func(name string) string { return shotName(engine, name) }
		var d ashby.Department
		s.call("department.create", map[string]any{"name": "Engineering"}, &d)
		var l ashby.Location
		s.call("location.create", map[string]any{"name": "Berlin", "type": "Location"}, &l)
		var plans []ashby.InterviewPlan
		s.call("interviewPlan.list", nil, &plans)
		var job ashby.Job
		s.call("job.create", map[string]any{"title": "Robot Whisperer", "teamId": d.ID, "locationId": l.ID, "defaultInterviewPlanId": plans[0].ID}, &job)
		s.call("job.setStatus", map[string]any{"jobId": job.ID, "status": "Open"}, nil)
		var p ashby.JobPostingInfo
		s.call("jobPosting.create", map[string]any{"jobId": job.ID, "title": "Robot Whisperer", "status": "Published", "descriptionHtml": "<p>Talk to robots.</p>",
			"applicationFormDefinition": map[string]any{"sections": []any{map[string]any{"title": "About you", "fields": []any{
				map[string]any{"isRequired": true, "field": map[string]any{"type": "String", "path": "_systemfield_name", "title": "Name"}},
				map[string]any{"isRequired": true, "field": map[string]any{"type": "Email", "path": "_systemfield_email", "title": "Email"}}}}}}}, &p)
		apply := s.srv.URL + "/jobs/" + s.slug + "/" + p.ID + "/application"

		s.signIn(ctx, s.admin)
		browsertest.Do(t, ctx, chromedp.Navigate(s.srv.URL+"/app/settings/postings"), browsertest.WaitFor(`main table`))
		s.check(ctx, n("postings"))
		browsertest.Do(t, ctx, submit(`main table a[href="/app/settings/postings/`+p.ID+`"]`), browsertest.WaitFor(`#f-description`))
		s.check(ctx, n("posting"))
		// Descriptions are sanitised exactly as the API sanitises them.
		browsertest.Do(t, ctx, chromedp.SetValue(chromedp.CSS(`#f-description`), `<p>Talk to <b>robots</b>.</p><script>alert(1)</script><p onclick="x()">Nicely.</p>`),
			submit(`form[action="/app/settings/postings/`+p.ID+`"] button`), browsertest.WaitFor(`.flash`))
		var info ashby.JobPostingInfo
		s.call("jobPosting.info", map[string]any{"jobPostingId": p.ID}, &info)
		if info.DescriptionHTML != "<p>Talk to <b>robots</b>.</p><p>Nicely.</p>" {
			t.Fatalf("description saved as %q", info.DescriptionHTML)
		}
		// The form builder: add a required question, move it up.
		browsertest.Do(t, ctx, submit(`a[href$="/form"]`), browsertest.WaitFor(`#f-title`))
		s.check(ctx, n("form"))
		browsertest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#f-title`), "Favourite robot"), chromedp.SetValue(chromedp.CSS(`#f-type`), "ValueSelect"),
			chromedp.SendKeys(chromedp.CSS(`#f-options`), "R2-D2\nWALL-E\nMarvin"),
			submit(`form:has(input[name=action][value=add]) button[type=submit]`), browsertest.WaitFor(`.flash`))
		if msg := browsertest.Text(t, ctx, ".flash"); !strings.Contains(msg, "Favourite robot") {
			t.Fatalf("add question: %q", msg)
		}
		browsertest.Do(t, ctx, submit(`.question:last-child button[value=up]`), browsertest.WaitFor(`.flash`))
		qs := browsertest.Text(t, ctx, "ol.questions")
		if i, j := strings.Index(qs, "Favourite robot"), strings.Index(qs, "Email"); i < 0 || j < 0 || i > j {
			t.Fatalf("after moving up:\n%s", qs)
		}
		s.check(ctx, n("form-changed"))
		browsertest.Do(t, ctx, submit(`a[href$="/form/preview"]`), browsertest.WaitFor(`form.apply`))
		if form := browsertest.Text(t, ctx, "form.apply"); !strings.Contains(form, "Favourite robot") || !strings.Contains(form, "WALL-E") {
			t.Fatalf("preview:\n%s", form)
		}
		s.check(ctx, n("form-preview"))
		// The careers page changed with it.
		browsertest.Do(t, ctx, chromedp.Navigate(apply), browsertest.WaitFor(`form.apply`))
		if form := browsertest.Text(t, ctx, "form.apply"); !strings.Contains(form, "Favourite robot") || !strings.Contains(form, "Marvin") {
			t.Fatalf("careers apply page:\n%s", form)
		}
		// Make it optional, then remove it: gone from the careers page.
		browsertest.Do(t, ctx, chromedp.Navigate(s.srv.URL+"/app/settings/postings/"+p.ID+"/form"), browsertest.WaitFor(`ol.questions`),
			submit(`.question:nth-child(2) button[value=optional]`), browsertest.WaitFor(`.flash`),
			submit(`.question:nth-child(2) button[value=remove]`), browsertest.WaitFor(`.flash`))
		browsertest.Do(t, ctx, chromedp.Navigate(apply), browsertest.WaitFor(`form.apply`))
		if form := browsertest.Text(t, ctx, "form.apply"); strings.Contains(form, "Favourite robot") {
			t.Fatalf("removed question still on the careers page:\n%s", form)
		}
		// Unpublish: the careers page no longer has it; publish again.
		browsertest.Do(t, ctx, chromedp.Navigate(s.srv.URL+"/app/settings/postings/"+p.ID), browsertest.WaitFor(`form[action$="/status"] button`),
			submit(`form[action$="/status"] button`), browsertest.WaitFor(`.flash`))
		browsertest.Do(t, ctx, chromedp.Navigate(apply), browsertest.WaitFor(`h1`))
		if h1 := browsertest.Text(t, ctx, "h1"); h1 != "Position not found" {
			t.Fatalf("unpublished posting's apply page: %q", h1)
		}
		browsertest.Do(t, ctx, chromedp.Navigate(s.srv.URL+"/app/settings/postings/"+p.ID), browsertest.WaitFor(`form[action$="/status"] button`),
			submit(`form[action$="/status"] button`), browsertest.WaitFor(`.flash`),
			submit(`form[action$="/listed"] button`), browsertest.WaitFor(`.flash`))
		s.call("jobPosting.info", map[string]any{"jobPostingId": p.ID}, &info)
		if info.Status != "Published" || info.IsListed {
			t.Fatalf("after publishing and unlisting: %s listed=%v", info.Status, info.IsListed)
		}
		s.phonePass(ctx)
	})
}

func TestBrowserRoleChange(t *testing.T) {
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		s := newSite(t, engine)
		n := func(name string) string { return shotName(engine, name) }
		lim := "lee@" + s.slug + ".example"
		s.srv.CLIInput(password+"\n", "user", "create", "--org", s.slug, "--email", lim, "--name", "Lee Limited", "--role", "limited", "--password-stdin")
		admin, other := browsertest.Browser(t), browsertest.Browser(t)
		s.signIn(other, lim)
		s.check(other, n("home-limited"))
		browsertest.Do(t, other, chromedp.Navigate(s.srv.URL+"/app/settings/api-keys"))
		if h1 := browsertest.Text(t, other, "h1"); h1 != "You do not have access" {
			t.Fatalf("Limited Access opens settings: %q", h1)
		}
		s.check(other, n("forbidden"))

		// The admin makes Lee an Organization Admin …
		s.signIn(admin, s.admin)
		browsertest.Do(t, admin, chromedp.Navigate(s.srv.URL+"/app/settings/users"), browsertest.WaitFor(`main table`))
		href, err := chromedp.Run(admin, chromedp.Evaluate[string](`[...document.querySelectorAll("main table tr")].find(r => r.textContent.includes("`+lim+`")).querySelector("a").getAttribute("href")`))
		if err != nil {
			t.Fatal(err)
		}
		browsertest.Do(t, admin, chromedp.Navigate(s.srv.URL+href), browsertest.WaitFor(`#f-role`))
		s.check(admin, n("user"))
		browsertest.Do(t, admin, chromedp.SetValue(chromedp.CSS(`#f-role`), "Organization Admin"), submit(`form[action$="/role"] button`), browsertest.WaitFor(`.flash`))
		// … and Lee's very next page has it.
		browsertest.Do(t, other, chromedp.Reload(), browsertest.WaitFor(`h1`))
		if h1 := browsertest.Text(t, other, "h1"); h1 != "API keys" {
			t.Fatalf("after the role change: %q", h1)
		}
		// Back to Limited Access: settings close again at once.
		browsertest.Do(t, admin, chromedp.SetValue(chromedp.CSS(`#f-role`), "Limited Access"), submit(`form[action$="/role"] button`), browsertest.WaitFor(`.flash`))
		browsertest.Do(t, other, chromedp.Reload(), browsertest.WaitFor(`h1`))
		if h1 := browsertest.Text(t, other, "h1"); h1 != "You do not have access" {
			t.Fatalf("after the role change back: %q", h1)
		}

		// Inviting a user: the sign-in link lets them choose a password.
		browsertest.Do(t, admin, chromedp.Navigate(s.srv.URL+"/app/settings/users"), browsertest.WaitFor(`#f-firstName`),
			chromedp.SendKeys(chromedp.CSS(`#f-firstName`), "Nia"), chromedp.SendKeys(chromedp.CSS(`#f-lastName`), "New"),
			chromedp.SendKeys(chromedp.CSS(`#f-email`), "nia@"+s.slug+".example"), chromedp.SetValue(chromedp.CSS(`#f-role`), "Elevated Access"),
			submit(`form[action="/app/settings/users"] button`), browsertest.WaitFor(`#secret-value`))
		link := browsertest.Value(t, admin, `#secret-value`)
		s.check(admin, n("user-created"))
		invited := browsertest.Browser(t)
		browsertest.Do(t, invited, chromedp.Navigate(link), browsertest.WaitFor(`#f-password`))
		s.check(invited, n("link"))
		browsertest.Do(t, invited, chromedp.SendKeys(chromedp.CSS(`#f-password`), "password123"), chromedp.SendKeys(chromedp.CSS(`#f-confirm`), "password123"),
			submit(`main form button`), browsertest.WaitFor(`.error-summary`))
		if msg := browsertest.Text(t, invited, ".field-error"); !strings.Contains(msg, "most common") {
			t.Fatalf("a common password: %q", msg)
		}
		s.check(invited, n("link-error"))
		browsertest.Do(t, invited, chromedp.SendKeys(chromedp.CSS(`#f-password`), "a robot named nia"), chromedp.SendKeys(chromedp.CSS(`#f-confirm`), "a robot named nia"),
			submit(`main form button`), browsertest.WaitFor(`nav.top`))
		if h1 := browsertest.Text(t, invited, "h1"); h1 != "Welcome, Nia" {
			t.Fatalf("after choosing a password: %q", h1)
		}
		// Deactivated, Lee's session ends at once.
		browsertest.Do(t, admin, chromedp.Navigate(s.srv.URL+href), browsertest.WaitFor(`form[action$="/enabled"] button`),
			submit(`form[action$="/enabled"] button`), browsertest.WaitFor(`.flash`))
		browsertest.Do(t, other, chromedp.Reload(), browsertest.WaitFor(`#f-email`))
		s.phonePass(admin)
	})
}
