package main

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

// prefixProxy serves Ashlar under /ashlar, as a reverse proxy that strips
// the prefix does, and records every request outside it (a link the
// server got wrong).
type prefixProxy struct {
	public string // http://127.0.0.1:PORT/ashlar
	mu     sync.Mutex
	target *url.URL
	stray  []string
}

func startPrefixProxy(t *testing.T) *prefixProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &prefixProxy{public: "http://" + ln.Addr().String() + "/ashlar"}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		p.mu.Lock()
		r.SetURL(p.target)
		p.mu.Unlock()
		r.Out.URL.Path = strings.TrimPrefix(r.In.URL.Path, "/ashlar")
		r.Out.URL.RawPath = ""
		r.SetXForwarded()
	}}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/ashlar/") {
			p.mu.Lock()
			p.stray = append(p.stray, r.Method+" "+r.URL.String())
			p.mu.Unlock()
			http.Error(w, "outside /ashlar/", http.StatusNotFound)
			return
		}
		rp.ServeHTTP(w, r)
	})}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return p
}

var linkRE = regexp.MustCompile(`(?i)\s(href|src|action)="([^"]*)"`)

// crawler fetches pages through the proxy and checks that every link,
// asset and form action on them stays under the prefix and resolves.
type crawler struct {
	t       *testing.T
	hc      *http.Client
	public  *url.URL
	visited map[string]bool
	// follow says which pages' links to check in turn.
	follow func(path string) bool
}

func (c *crawler) page(raw string) []byte {
	c.t.Helper()
	resp, err := c.hc.Get(raw)
	if err != nil {
		c.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s: %d\n%s", raw, resp.StatusCode, body)
	}
	c.visited[raw] = true
	if !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		return body
	}
	base, _ := url.Parse(raw)
	for _, m := range linkRE.FindAllSubmatch(body, -1) {
		attr, ref := string(m[1]), html.UnescapeString(string(m[2]))
		if strings.HasPrefix(ref, "#") {
			continue
		}
		u, err := base.Parse(ref)
		if err != nil {
			c.t.Errorf("%s: %s=%q does not parse: %v", raw, attr, ref, err)
			continue
		}
		if u.Host != c.public.Host {
			continue // the theme's logo, say
		}
		if !strings.HasPrefix(u.Path, c.public.Path+"/") {
			c.t.Errorf("%s: %s=%q leaves %s", raw, attr, ref, c.public.Path)
			continue
		}
		u.Fragment = ""
		if attr == "action" && strings.Contains(strings.ToLower(string(formTag(body, m[0]))), `method="post"`) {
			continue // posted by the test itself
		}
		if c.visited[u.String()] {
			continue
		}
		if c.follow(u.Path) {
			c.page(u.String())
			continue
		}
		c.visited[u.String()] = true
		resp, err := c.hc.Get(u.String())
		if err != nil {
			c.t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			c.t.Errorf("%s: %s=%q: GET %d", raw, attr, ref, resp.StatusCode)
		}
	}
	return body
}

// formTag returns the start tag that contains attr.
func formTag(page, attr []byte) []byte {
	i := bytes.Index(page, attr)
	start := bytes.LastIndexByte(page[:i], '<')
	end := i + bytes.IndexByte(page[i:], '>')
	return page[start : end+1]
}

// postForm posts fields (and parts) to a page's form and returns the
// response, without following a redirect.
func postForm(t *testing.T, hc *http.Client, action string, fields map[string]string, parts ...filePart) *http.Response {
	t.Helper()
	body, ct := multipartBody(t, fields, parts...)
	return post(t, hc, action, ct, body)
}

// postURLEncoded posts a form without enctype, as a browser does.
func postURLEncoded(t *testing.T, hc *http.Client, action string, fields map[string]string) *http.Response {
	t.Helper()
	v := url.Values{}
	for k, x := range fields {
		v.Set(k, x)
	}
	return post(t, hc, action, "application/x-www-form-urlencoded", []byte(v.Encode()))
}

func post(t *testing.T, hc *http.Client, action, ct string, body []byte) *http.Response {
	t.Helper()
	noFollow := &http.Client{Jar: hc.Jar, Transport: hc.Transport, Timeout: hc.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Post(action, ct, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

var actionRE = regexp.MustCompile(`<form[^>]*method="post"[^>]*action="([^"]+)"`)

// A server whose --base-url has a path prefix, behind a proxy that strips
// it: every link, stylesheet and form action of the careers site, the
// take-home page and the survey page, the posting API's links, file
// links and the API itself work through the proxy, and no request ever
// leaves the prefix.
func TestE2EBaseURLPathPrefix(t *testing.T) {
	t.Parallel()
	proxy := startPrefixProxy(t)
	srv := testserver.Start(t, store.SQLite, testserver.Options{Args: []string{"--demo", "--demo-candidates", "60", "--base-url", proxy.public + "/", "--files-dir", t.TempDir()}})
	proxy.mu.Lock()
	proxy.target, _ = url.Parse(srv.URL)
	proxy.mu.Unlock()
	key := srv.WaitStdout(regexp.MustCompile(`ashlar_[A-Za-z0-9_-]+`), time.Minute)
	for _, label := range []string{"Careers site", "Posting API", "Web app", "Survey page", "API reference"} {
		m := regexp.MustCompile(label + `:\s+(\S+)`).FindStringSubmatch(srv.Stdout())
		if m == nil || !strings.HasPrefix(m[1], proxy.public+"/") {
			t.Errorf("serve --demo prints %s outside the base URL: %v\n%s", label, m, srv.Stdout())
		}
	}
	if !strings.Contains(srv.Logs(), "(base URL "+proxy.public+")") {
		t.Errorf("the listening line does not name the base URL:\n%s", srv.Logs())
	}

	public, _ := url.Parse(proxy.public)
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Transport: &http.Transport{}, Timeout: time.Minute}
	cr := &crawler{t: t, hc: hc, public: public, visited: map[string]bool{},
		follow: func(p string) bool {
			// Every page of the demo board: listing, postings, apply forms.
			return strings.HasPrefix(p, "/ashlar/jobs/demo") && !strings.HasSuffix(p, ".css")
		}}
	cr.page(proxy.public + "/jobs/demo")
	pages := 0
	for u := range cr.visited {
		if strings.HasSuffix(u, "/application") {
			pages++
		}
	}
	if pages < 3 {
		t.Fatalf("the crawl reached %d apply forms:\n%v", pages, cr.visited)
	}

	// An application through the proxy: the form's CSRF cookie must come
	// back (its path includes the prefix) and the redirect stay under it.
	f := newPostingFixture(t, srv)
	apply := proxy.public + "/jobs/" + f.slug + "/" + f.posting.ID + "/application"
	form := cr.page(apply)
	action := actionRE.FindSubmatch(form)
	csrf, idem := csrfRE.FindSubmatch(form), keyRE.FindSubmatch(form)
	if action == nil || csrf == nil || idem == nil {
		t.Fatalf("apply form:\n%s", form)
	}
	resp := postForm(t, hc, resolve(t, apply, string(action[1])), map[string]string{"csrf": html.UnescapeString(string(csrf[1])), "idempotency_key": string(idem[1]),
		"_systemfield_name": "Grace Hopper", "_systemfield_email": "grace@example.com", "q_why": "COBOL"}, filePart{"_systemfield_resume", "cv.pdf", pdfBytes})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/ashlar/jobs/"+f.slug+"/") {
		t.Fatalf("application through the proxy: %d, Location %q", resp.StatusCode, loc)
	}
	if b := cr.page(resolve(t, apply, loc)); !bytes.Contains(b, []byte("Application received")) {
		t.Fatalf("confirmation page:\n%s", b)
	}

	// The API through the proxy; its links (file downloads, upload
	// targets, posting URLs, the OpenAPI server) carry the prefix.
	c := client.New(proxy.public, key)
	fc := client.New(proxy.public, f.c.APIKey)
	var apps []ashby.Application
	must(t, fc, "application.list", nil, &apps)
	if len(apps) != 1 {
		t.Fatalf("applications: %+v", apps)
	}
	var cand ashby.Candidate
	must(t, fc, "candidate.info", map[string]any{"id": apps[0].Candidate.ID}, &cand)
	var fu ashby.FileURL
	must(t, fc, "file.info", map[string]any{"fileHandle": cand.ResumeFileHandle.Handle}, &fu)
	checkGet(t, hc, public, fu.URL, "a resume's download link")
	var h ashby.FileUploadHandle
	must(t, fc, "file.createFileUploadHandle", map[string]any{"fileUploadContext": "CandidateResume", "filename": "cv.pdf", "contentType": "application/pdf", "contentLength": len(pdfBytes)}, &h)
	if !strings.HasPrefix(h.URL, proxy.public+"/") {
		t.Errorf("upload handle URL %s", h.URL)
	}
	var board ashby.PublicBoard
	if err := json.Unmarshal(checkGet(t, hc, public, proxy.public+"/posting-api/job-board/demo", "the posting API"), &board); err != nil || len(board.Jobs) == 0 {
		t.Fatalf("posting API: %v %+v", err, board)
	}
	for _, j := range board.Jobs[:2] {
		checkGet(t, hc, public, j.JobURL, "a posting's jobUrl")
		checkGet(t, hc, public, j.ApplyURL, "a posting's applyUrl")
	}
	var spec struct {
		Servers []struct{ URL string } `json:"servers"`
	}
	if err := json.Unmarshal(checkGet(t, hc, public, proxy.public+"/openapi.json", "/openapi.json"), &spec); err != nil || len(spec.Servers) != 1 || spec.Servers[0].URL != proxy.public {
		t.Errorf("openapi.json servers: %+v %v", spec.Servers, err)
	}

	// The survey page the demo printed: its stylesheets resolve and its
	// form posts through the proxy (a 403 would be a CSRF cookie the
	// browser never sent back).
	survey := regexp.MustCompile(`Survey page:\s+(\S+)`).FindStringSubmatch(srv.Stdout())[1]
	form = cr.page(survey)
	action, csrf = actionRE.FindSubmatch(form), csrfRE.FindSubmatch(form)
	if action == nil || csrf == nil {
		t.Fatalf("survey form:\n%s", form)
	}
	resp = postURLEncoded(t, hc, resolve(t, survey, string(action[1])), map[string]string{"csrf": html.UnescapeString(string(csrf[1]))})
	switch resp.StatusCode {
	case http.StatusSeeOther:
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/ashlar/surveys/") {
			t.Errorf("survey answered: redirect to %q", loc)
		}
	case http.StatusUnprocessableEntity: // required questions unanswered: the form again
	default:
		t.Errorf("survey POST through the proxy: %d", resp.StatusCode)
	}

	// A take-home page: its URL, assets, and a submission whose redirect
	// lands on the confirmation.
	ths, _, err := client.All[ashby.TakeHomeAssignment](context.Background(), c, "takeHomeAssignment.list", nil)
	if err != nil {
		t.Fatal(err)
	}
	var th ashby.TakeHomeAssignment
	for _, x := range ths {
		if x.Status == ashby.TakeHomeWaitingOnSubmission {
			must(t, c, "takeHomeAssignment.regenerateSubmissionUrl", map[string]any{"takeHomeAssignmentId": x.ID}, &th)
			break
		}
	}
	if !strings.HasPrefix(th.SubmissionURL, proxy.public+"/take-home/") {
		t.Fatalf("take-home submission URL %q", th.SubmissionURL)
	}
	form = cr.page(th.SubmissionURL)
	action, csrf = actionRE.FindSubmatch(form), csrfRE.FindSubmatch(form)
	if action == nil || csrf == nil {
		t.Fatalf("take-home form:\n%s", form)
	}
	resp = postForm(t, hc, resolve(t, th.SubmissionURL, string(action[1])), map[string]string{"csrf": html.UnescapeString(string(csrf[1])), "text": "My answer."})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/ashlar/take-home/") {
		t.Fatalf("take-home submission: %d, Location %q", resp.StatusCode, loc)
	}
	if b := cr.page(resolve(t, th.SubmissionURL, resp.Header.Get("Location"))); !bytes.Contains(b, []byte("Submission received")) {
		t.Fatalf("take-home confirmation:\n%s", b)
	}

	proxy.mu.Lock()
	defer proxy.mu.Unlock()
	if len(proxy.stray) > 0 {
		t.Errorf("requests outside the prefix: %v", proxy.stray)
	}
	t.Logf("checked %d URLs through the proxy", len(cr.visited))
}

func resolve(t *testing.T, base, ref string) string {
	t.Helper()
	b, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u, err := b.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	return u.String()
}

// checkGet fetches u, which must be under the public URL, and returns
// the body of its 200 response.
func checkGet(t *testing.T, hc *http.Client, public *url.URL, u, what string) []byte {
	t.Helper()
	if !strings.HasPrefix(u, public.String()+"/") {
		t.Fatalf("%s %s is not under %s", what, u, public)
	}
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s", what, u, resp.StatusCode, b)
	}
	return b
}
