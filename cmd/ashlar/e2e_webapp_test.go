package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

// webClient is a browser without JavaScript: a cookie jar, no automatic
// redirects, and the last form token seen.
type webClient struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

func newWebClient(t *testing.T, base string) *webClient {
	jar, _ := cookiejar.New(nil)
	// A sign-in hashes with argon2id, which the race detector slows
	// several times over: a loaded machine needs more than a few seconds.
	return &webClient{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var formToken = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (w *webClient) do(method, path string, form url.Values) (*http.Response, string) {
	w.t.Helper()
	var body io.Reader
	if form != nil {
		form.Set("csrf", w.csrf)
		body = strings.NewReader(form.Encode())
	}
	u := path
	if !strings.HasPrefix(u, "http") {
		u = w.base + path
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := w.hc.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := formToken.FindSubmatch(b); m != nil {
		w.csrf = string(m[1])
	}
	return resp, string(b)
}

func (w *webClient) signIn(email, password string) *http.Response {
	w.t.Helper()
	w.do("GET", "/app/signin", nil)
	r, _ := w.do("POST", "/app/signin", url.Values{"email": {email}, "password": {password}})
	return r
}

// The web app in the real binary: users created and deactivated with the
// command line sign in (or no longer can) over HTTP, and candidates'
// profileUrl opens their page.
func TestE2EWebApp(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{})
		slug, key := srv.NewOrg()
		c := srv.Client(key)
		email := "ada@" + slug + ".example"
		out := srv.CLIInput("correct horse battery\n", "user", "create", "--org", slug, "--email", email, "--name", "Ada Lovelace", "--role", "Organization Admin", "--password-stdin")
		if !strings.Contains(out, "created "+email) {
			t.Fatalf("user create: %s", out)
		}
		// Weak passwords and unknown roles are refused, with exit status 1 and 2.
		if _, errOut, err := srv.TryCLI("user", "create", "--org", slug, "--email", "x@"+slug+".example", "--name", "X Y", "--role", "root"); err == nil || !strings.Contains(errOut, "unknown role") {
			t.Fatalf("unknown role: %v %s", err, errOut)
		}
		var u struct {
			Email       string `json:"email"`
			GlobalRole  string `json:"globalRole"`
			HasPassword bool   `json:"hasPassword"`
			IsEnabled   bool   `json:"isEnabled"`
		}
		found := false
		for _, line := range strings.Split(strings.TrimSpace(srv.CLI("user", "list", "--org", slug, "--json")), "\n") {
			if json.Unmarshal([]byte(line), &u) == nil && u.Email == email {
				found = true
				break
			}
		}
		if !found || !u.HasPassword || u.GlobalRole != "Organization Admin" || !u.IsEnabled {
			t.Fatalf("user list --json: %+v", u)
		}

		w := newWebClient(t, srv.URL)
		if r, _ := w.do("GET", "/", nil); r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/app/" {
			t.Fatalf("GET /: %d %s", r.StatusCode, r.Header.Get("Location"))
		}
		if r := w.signIn(email, "wrong password here"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", r.StatusCode)
		}
		if r := w.signIn(email, "correct horse battery"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/app/" {
			t.Fatalf("sign in: %d %s", r.StatusCode, r.Header.Get("Location"))
		}
		// profileUrl opens the candidate's page.
		var cand ashby.Candidate
		must(t, c, "candidate.create", map[string]any{"name": "Grace Hopper", "email": "grace@example.com"}, &cand)
		if cand.ProfileURL != srv.URL+"/app/candidates/"+cand.ID {
			t.Fatalf("profileUrl %q", cand.ProfileURL)
		}
		if r, body := w.do("GET", cand.ProfileURL, nil); r.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>Grace Hopper</h1>") {
			t.Fatalf("GET profileUrl: %d\n%s", r.StatusCode, body)
		}
		if r, _ := w.do("GET", "/candidates/"+cand.ID, nil); r.StatusCode != http.StatusMovedPermanently || r.Header.Get("Location") != "/app/candidates/"+cand.ID {
			t.Fatalf("old profile URL: %d %s", r.StatusCode, r.Header.Get("Location"))
		}
		// A key created in the console works against the API.
		w.do("GET", "/app/settings/api-keys", nil)
		if r, _ := w.do("POST", "/app/settings/api-keys", url.Values{"title": {"From the console"}, "permissions": {"candidatesRead"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("create key: %d", r.StatusCode)
		}
		_, page := w.do("GET", "/app/settings/api-keys", nil)
		m := regexp.MustCompile(`id="secret-value" value="(ashlar_[^"]+)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no secret on the page:\n%s", page)
		}
		var list []ashby.Candidate
		if _, err := srv.Client(m[1]).Call(t.Context(), "candidate.list", nil, &list); err != nil || len(list) != 1 {
			t.Fatalf("the console's key: %v (%d candidates)", err, len(list))
		}

		// Deactivated on the command line, the user's session ends.
		if out := srv.CLI("user", "deactivate", "--org", slug, "--email", email); !strings.Contains(out, "deactivated") {
			t.Fatalf("user deactivate: %s", out)
		}
		if r, _ := w.do("GET", "/app/", nil); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/app/signin") {
			t.Fatalf("a deactivated user's session: %d", r.StatusCode)
		}
		if r := newWebClient(t, srv.URL).signIn(email, "correct horse battery"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a deactivated user signs in: %d", r.StatusCode)
		}

		// Without --password-stdin, a one-time link.
		out = srv.CLI("user", "create", "--org", slug, "--email", "lin@"+slug+".example", "--name", "Lin Limited", "--role", "limited")
		link := regexp.MustCompile(`http://\S+/app/signin/link/\S+`).FindString(out)
		if link == "" {
			t.Fatalf("user create printed no link:\n%s", out)
		}
		link = srv.URL + link[strings.Index(link, "/app/"):]
		l := newWebClient(t, srv.URL)
		if r, _ := l.do("GET", link, nil); r.StatusCode != http.StatusOK {
			t.Fatalf("GET link: %d", r.StatusCode)
		}
		if r, _ := l.do("POST", link, url.Values{"password": {"lin has a long password"}, "confirm": {"lin has a long password"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("use link: %d", r.StatusCode)
		}
		if r, _ := l.do("GET", "/app/settings/api-keys", nil); r.StatusCode != http.StatusForbidden {
			t.Fatalf("Limited Access opens settings: %d", r.StatusCode)
		}
		if r, _ := newWebClient(t, srv.URL).do("GET", link, nil); r.StatusCode != http.StatusNotFound {
			t.Fatalf("a used link: %d", r.StatusCode)
		}
		// set-password works, and ends the sessions.
		srv.CLIInput("another long password\n", "user", "set-password", "--org", slug, "--email", "lin@"+slug+".example", "--password-stdin")
		if r, _ := l.do("GET", "/app/", nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("session after set-password: %d", r.StatusCode)
		}
		if r := newWebClient(t, srv.URL).signIn("lin@"+slug+".example", "another long password"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in with the new password: %d", r.StatusCode)
		}
	})
}

// serve --demo prints how to sign in as the demo admin, with the same
// password after a restart.
func TestE2EDemoSignIn(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, store.SQLite, testserver.Options{Args: []string{"--demo", "--demo-candidates", "20"}})
	re := regexp.MustCompile(`sign in at (\S+)/app/signin as (\S+) \(Organization Admin\)\s+with the password (\S+) `)
	m := re.FindStringSubmatch(srv.WaitStdout(re, 2*time.Minute))
	if r := newWebClient(t, srv.URL).signIn(m[2], m[3]); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("demo admin sign-in: %d", r.StatusCode)
	}
	srv.Restart()
	// The listening line (stderr) can come before the demo text (stdout)
	// has been read: wait for the second sign-in line.
	var again [][]string
	for deadline := time.Now().Add(30 * time.Second); len(again) < 2 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		again = re.FindAllStringSubmatch(srv.Stdout(), -1)
	}
	if len(again) < 2 || again[len(again)-1][3] != m[3] {
		t.Fatalf("after a restart the demo admin's password changed: %v", again)
	}
	if r := newWebClient(t, srv.URL).signIn(m[2], m[3]); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("demo admin sign-in after a restart: %d", r.StatusCode)
	}
}
