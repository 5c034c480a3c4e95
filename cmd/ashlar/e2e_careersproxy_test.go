package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/browsertest"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

// careersProxy is a running `ashlar careers` process.
type careersProxy struct {
	URL  string
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs bytes.Buffer
	done chan struct{}
}

var proxyListening = regexp.MustCompile(`ashlar: listening on (http://\S+)`)

// startCareersProxy runs ashlar careers in front of upstream, the key in
// the environment as an operator would pass it. It is stopped when the
// test ends.
func startCareersProxy(t *testing.T, upstream, key, board, cacheDir string, extra ...string) *careersProxy {
	t.Helper()
	args := append([]string{"careers", "--upstream", upstream, "--board", board, "--addr", "127.0.0.1:0", "--cache-dir", cacheDir, "--log-level", "debug"}, extra...)
	cmd := exec.Command(testserver.Binary(t), args...)
	cmd.Env = append(os.Environ(), "ASHBY_API_KEY="+key)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	p := &careersProxy{cmd: cmd, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urlc := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.mu.Lock()
			p.logs.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := proxyListening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urlc <- m[1]:
				default:
				}
			}
		}
	}()
	go func() {
		cmd.Wait()
		pw.Close()
		<-scanned
		close(p.done)
	}()
	t.Cleanup(p.stop)
	t.Cleanup(func() {
		if strings.Contains(p.Logs(), "DATA RACE") {
			t.Errorf("ashlar careers reported a data race:\n%s", p.Logs())
		}
	})
	select {
	case p.URL = <-urlc:
	case <-p.done:
		t.Fatalf("ashlar careers exited before listening:\n%s", p.Logs())
	case <-time.After(time.Minute):
		t.Fatalf("ashlar careers did not start:\n%s", p.Logs())
	}
	return p
}

func (p *careersProxy) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

func (p *careersProxy) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// waitLog waits until the proxy logged a line containing s.
func (p *careersProxy) waitLog(t *testing.T, s string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if strings.Contains(p.Logs(), s) {
			return
		}
	}
	t.Fatalf("ashlar careers never logged %q:\n%s", s, p.Logs())
}

func getPage(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var proxyShotDir = sync.OnceValue(func() string {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "careers", "screenshots")
	os.MkdirAll(dir, 0o755)
	return dir
})

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(proxyShotDir(), name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// seedProxyBoard gives the upstream organization an open job with a
// listed posting (and an unlisted one), its form asking for a resume.
func seedProxyBoard(t *testing.T, c *client.Client) (listed, unlisted ashby.JobPostingInfo) {
	var d ashby.Department
	must(t, c, "department.create", map[string]any{"name": "Engineering"}, &d)
	var l ashby.Location
	must(t, c, "location.create", map[string]any{"name": "Lisbon", "type": "Location", "workplaceType": "Remote"}, &l)
	var plans []ashby.InterviewPlan
	must(t, c, "interviewPlan.list", nil, &plans)
	var job ashby.Job
	must(t, c, "job.create", map[string]any{"title": "Site Reliability Engineer", "teamId": d.ID, "locationId": l.ID, "defaultInterviewPlanId": plans[0].ID}, &job)
	must(t, c, "job.setStatus", map[string]any{"jobId": job.ID, "status": "Open"}, nil)
	field := func(typ, path, title string, required bool) map[string]any {
		return map[string]any{"isRequired": required, "field": map[string]any{"type": typ, "path": path, "title": title}}
	}
	level := field("ValueSelect", "level", "Level", false)
	level["field"].(map[string]any)["selectableValues"] = []map[string]string{{"label": "Mid", "value": "mid"}, {"label": "Senior", "value": "senior"}}
	form := map[string]any{"sections": []any{
		map[string]any{"title": "About you", "fields": []any{field("String", "_systemfield_name", "Name", true), field("Email", "_systemfield_email", "Email", true),
			field("File", "_systemfield_resume", "Resume", true)}},
		map[string]any{"title": "Questions", "fields": []any{field("LongText", "why", "Why us", true), level}},
	}}
	must(t, c, "jobPosting.create", map[string]any{"jobId": job.ID, "title": "Site Reliability Engineer (Remote)", "status": "Published",
		"descriptionHtml": "<p>Keep the <b>lights</b> on.</p>", "applicationFormDefinition": form}, &listed)
	must(t, c, "jobPosting.create", map[string]any{"jobId": job.ID, "title": "SRE (referrals only)", "status": "Published", "isListed": false,
		"descriptionHtml": "<p>By invitation.</p>", "applicationFormDefinition": form}, &unlisted)
	return listed, unlisted
}

// ashlar careers in front of a second Ashlar process (a real ashlar
// serve) on each engine: applying in Chromium files the application
// upstream; the upstream's validation errors appear beside their
// fields; a webhook refreshes the cached board; with the upstream
// stopped, pages render from the cache (memory, then the cache file
// after a restart), and a cold start with nothing cached says 503.
func TestE2ECareersProxy(t *testing.T) {
	axe := browsertest.AxeSource(t)
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		ctx := browsertest.Browser(t)
		upstream := startServer(t, engine, testserver.Options{Args: webhookServerArgs})
		slug, admin := upstream.NewOrg()
		c := upstream.Client(admin)
		listed, unlisted := seedProxyBoard(t, c)
		// The proxy's key may read postings and submit applications, no more.
		key := upstream.Key(slug, "jobsRead,candidatesWrite")
		cacheDir := t.TempDir()
		proxy := startCareersProxy(t, upstream.URL, key, slug, cacheDir, "--refresh", "1h", "--webhook-secret", "whsec-careers", "--org-name", "Proxied Inc.")
		proxy.waitLog(t, "board refreshed from the upstream")
		base := proxy.URL + "/jobs/" + slug

		// List (with UTM parameters) → posting → apply, in the browser.
		browsertest.Do(t, ctx, chromedp.Navigate(base+"?utm_source=LinkedIn"), browsertest.WaitFor("h1"))
		if h1 := browsertest.Text(t, ctx, "h1"); h1 != "Open positions at Proxied Inc." {
			t.Fatalf("listing h1 %q", h1)
		}
		browsertest.AxeCheck(t, ctx, axe, "proxy listing")
		screenshot(t, ctx, "proxy-"+engine.String()+"-listing")
		browsertest.Do(t, ctx, browsertest.Click(`a[href*="`+listed.ID+`"]`), browsertest.WaitFor(`a.button`))
		if title := browsertest.Text(t, ctx, "h1"); title != listed.Title {
			t.Fatalf("posting page h1 %q", title)
		}
		browsertest.AxeCheck(t, ctx, axe, "proxy posting")
		browsertest.Do(t, ctx, browsertest.Click(`a.button`), browsertest.WaitFor(`form.apply`))
		browsertest.AxeCheck(t, ctx, axe, "proxy apply form")
		html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		if err != nil || strings.Contains(html, key) || strings.Contains(html, upstream.URL) {
			t.Fatalf("the apply page shows the API key or the upstream's address (%v)", err)
		}
		resume := filepath.Join(t.TempDir(), "cv.pdf")
		os.WriteFile(resume, []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"), 0o600)
		fill := func(name, email string) chromedp.Action[chromedp.Void] {
			return chromedp.Steps(
				chromedp.SetValue(chromedp.CSS(`input[name="_systemfield_name"]`), name),
				chromedp.SetValue(chromedp.CSS(`input[name="_systemfield_email"]`), email),
				chromedp.SetUploadFiles(chromedp.CSS(`input[name="_systemfield_resume"]`), []string{resume}),
				chromedp.SetValue(chromedp.CSS(`textarea[name="why"]`), "I like pagers."),
				chromedp.SetValue(chromedp.CSS(`select[name="level"]`), "senior"),
			)
		}
		browsertest.Do(t, ctx, fill("Margaret Hamilton", "margaret@example.com"), browsertest.Click(`form.apply button[type="submit"]`), browsertest.WaitFor(`.confirmation`))
		browsertest.AxeCheck(t, ctx, axe, "proxy confirmation")
		screenshot(t, ctx, "proxy-"+engine.String()+"-confirmation")
		ref := browsertest.Text(t, ctx, ".ref code")

		// The application exists upstream, with its answers, file and source.
		var apps []ashby.Application
		must(t, c, "application.list", nil, &apps)
		if len(apps) != 1 || apps[0].Candidate.Name != "Margaret Hamilton" || apps[0].AppliedViaJobPostingID != listed.ID {
			t.Fatalf("upstream applications after applying: %+v", apps)
		}
		if apps[0].Source == nil || apps[0].Source.Title != "LinkedIn" {
			t.Errorf("the landing URL's utm_source should reach the upstream: source %+v", apps[0].Source)
		}
		var info map[string]any
		must(t, c, "application.info", map[string]any{"submittedFormInstanceId": ref}, &info)
		if info["id"] != apps[0].ID {
			t.Fatalf("the confirmation's reference %s is not the upstream's form instance: %v", ref, info["id"])
		}
		var cand ashby.Candidate
		must(t, c, "candidate.info", map[string]any{"id": apps[0].Candidate.ID}, &cand)
		if cand.ResumeFileHandle == nil || cand.ResumeFileHandle.Name != "cv.pdf" {
			t.Fatalf("resume upstream: %+v", cand.ResumeFileHandle)
		}

		// The upstream refuses what the form engine here accepts (Ashby's
		// test address): its error is shown beside the email field.
		browsertest.Do(t, ctx, chromedp.Navigate(base+"/"+listed.ID+"/application"), browsertest.WaitFor(`form.apply`),
			fill("Test Person", "testing-fail-validation@example.com"), browsertest.Click(`form.apply button[type="submit"]`), browsertest.WaitFor(`.error-summary`))
		beside, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('input[name="_systemfield_email"]').closest('.field').querySelector('.field-error').textContent`))
		if err != nil || !strings.Contains(beside, "Failed validation on purpose") {
			t.Fatalf("the upstream's error beside the email field: %q (%v)", beside, err)
		}
		if v := browsertest.Value(t, ctx, `textarea[name="why"]`); v != "I like pagers." {
			t.Errorf("the answers were not kept after the upstream's refusal: why = %q", v)
		}
		browsertest.AxeCheck(t, ctx, axe, "proxy apply form with the upstream's errors")
		screenshot(t, ctx, "proxy-"+engine.String()+"-upstream-error")
		// And the local form engine's own errors, before any upstream call.
		browsertest.Do(t, ctx, chromedp.Navigate(base+"/"+listed.ID+"/application"), browsertest.WaitFor(`form.apply`),
			chromedp.SetValue(chromedp.CSS(`input[name="_systemfield_email"]`), "not-an-address"),
			browsertest.Click(`form.apply button[type="submit"]`), browsertest.WaitFor(`.error-summary`))
		if summary := browsertest.Text(t, ctx, ".error-summary"); !strings.Contains(summary, "Resume") || !strings.Contains(summary, "Email") || !strings.Contains(summary, "Why us") {
			t.Fatalf("local validation summary: %q", summary)
		}
		must(t, c, "application.list", nil, &apps)
		if len(apps) != 1 {
			t.Fatalf("refused forms created applications upstream: %d", len(apps))
		}

		// The unlisted posting is reachable by its link, not listed.
		if code, page := getPage(t, base+"/"+unlisted.ID); code != 200 || !strings.Contains(page, "SRE (referrals only)") {
			t.Errorf("unlisted posting page: %d", code)
		}
		if _, page := getPage(t, base); strings.Contains(page, "referrals only") {
			t.Error("the unlisted posting is listed")
		}

		// A webhook from the upstream refreshes the board at once.
		must(t, c, "webhook.create", map[string]any{"webhookType": "jobPostingUpdate", "requestUrl": proxy.URL + "/webhooks/ashby", "secretToken": "whsec-careers"}, nil)
		must(t, c, "jobPosting.update", map[string]any{"jobPostingId": listed.ID, "title": "Staff Site Reliability Engineer"}, nil)
		proxy.waitLog(t, "webhook; refreshing the board")
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
			if _, page := getPage(t, base); strings.Contains(page, "Staff Site Reliability Engineer") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the webhook did not refresh the listing:\n%s", proxy.Logs())
			}
		}
		if code, _ := getPage(t, proxy.URL+"/webhooks/ashby"); code != http.StatusMethodNotAllowed {
			t.Errorf("GET of the webhook endpoint: %d", code)
		}
		resp, err := http.Post(proxy.URL+"/webhooks/ashby", "application/json", strings.NewReader(`{"action":"jobPostingUpdate","webhookActionId":"x","data":{}}`))
		if err != nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("an unsigned webhook: %v %v", resp, err)
		}
		resp.Body.Close()

		// The upstream stops: the pages render from the cache.
		upstream.Stop()
		browsertest.Do(t, ctx, chromedp.Navigate(base), browsertest.WaitFor("h1"))
		if jobs := browsertest.Text(t, ctx, "ul.jobs"); !strings.Contains(jobs, "Staff Site Reliability Engineer") {
			t.Fatalf("listing with the upstream stopped: %q", jobs)
		}
		browsertest.AxeCheck(t, ctx, axe, "proxy listing, upstream down")
		screenshot(t, ctx, "proxy-"+engine.String()+"-upstream-down")
		if code, page := getPage(t, base+"/"+listed.ID); code != 200 || !strings.Contains(page, "Keep the <b>lights</b> on.") {
			t.Fatalf("posting page with the upstream stopped: %d", code)
		}
		// Applying now says so, and nothing is lost silently.
		browsertest.Do(t, ctx, chromedp.Navigate(base+"/"+listed.ID+"/application"), browsertest.WaitFor(`form.apply`),
			fill("Late Applicant", "late@example.com"), browsertest.Click(`form.apply button[type="submit"]`), browsertest.WaitFor(`.message`))
		if msg := browsertest.Text(t, ctx, ".message"); !strings.Contains(msg, "not submitted") {
			t.Fatalf("applying with the upstream stopped: %q", msg)
		}

		// Restarted with the upstream still down: the cache file serves.
		proxy.stop()
		// (Behind a proxy that serves it under /careers this time: every
		// link carries the prefix, as serve's careers site does.)
		again := startCareersProxy(t, upstream.URL, key, slug, cacheDir, "--refresh", "1h", "--org-name", "Proxied Inc.", "--base-url", "https://jobs.example.com/careers/")
		again.waitLog(t, "serving the cached board")
		code, page := getPage(t, again.URL+"/jobs/"+slug)
		if code != 200 || !strings.Contains(page, "Staff Site Reliability Engineer") || !strings.Contains(page, "Proxied Inc.") {
			t.Fatalf("listing after a restart with the upstream down: %d", code)
		}
		if !strings.Contains(page, `href="/careers/jobs/`+slug+`/`+listed.ID+`"`) || !strings.Contains(page, `href="/careers/jobs/_assets/careers.css"`) {
			t.Errorf("links without the --base-url prefix:\n%s", page)
		}
		// A cold start with nothing cached: a clear 503 page.
		cold := startCareersProxy(t, upstream.URL, key, slug, t.TempDir(), "--refresh", "1h")
		if code, page := getPage(t, cold.URL+"/jobs/"+slug); code != http.StatusServiceUnavailable || !strings.Contains(page, "Careers page unavailable") {
			t.Fatalf("cold start with the upstream down: %d\n%s", code, page)
		}
		browsertest.Do(t, ctx, chromedp.Navigate(cold.URL+"/jobs/"+slug), browsertest.WaitFor("h1"))
		browsertest.AxeCheck(t, ctx, axe, "proxy 503 page")
		screenshot(t, ctx, "proxy-"+engine.String()+"-cold-503")
	})
}
