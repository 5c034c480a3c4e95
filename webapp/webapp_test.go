package webapp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ashlarhq/ashlar/accounts"
	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/server"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
	"github.com/ashlarhq/ashlar/webapp"
)

// fixture is a server with the web app mounted, in-process.
type fixture struct {
	t   *testing.T
	db  *store.DB
	srv *server.Server
	acc *accounts.Accounts
	url string
}

func newFixture(t *testing.T, db *store.DB, o webapp.Options) *fixture {
	t.Helper()
	var handler http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)
	f := &fixture{t: t, db: db, url: ts.URL}
	if o.BaseURL == "" {
		o.BaseURL = ts.URL
	}
	f.srv = server.New(db, server.Config{BaseURL: o.BaseURL})
	f.acc = accounts.New(db, accounts.Options{})
	o.Service, o.API, o.Accounts = f.srv.Service, f.srv.API, f.acc
	app, err := webapp.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	app.Routes(f.srv.Mux)
	handler = f.srv.Handler()
	return f
}

// org is an organization with an admin who can sign in.
type org struct {
	f     *fixture
	o     *store.Org
	call  *rpc.Call
	admin *ashby.User
	email string
}

const password = "correct horse battery"

func (f *fixture) newOrg(name string) *org {
	f.t.Helper()
	o, err := f.srv.Service.CreateOrg(context.Background(), storetest.Name("org"), name)
	if err != nil {
		f.t.Fatal(err)
	}
	g := &org{f: f, o: o, call: &rpc.Call{Principal: &rpc.Principal{OrgID: o.ID, Permissions: ashby.AllPermissions}}}
	g.email = strings.ToLower(strings.ReplaceAll(name, " ", "")) + "-admin@example.com"
	g.admin = g.user(g.email, accounts.Admin)
	return g
}

func (g *org) invoke(endpoint string, req, out any) {
	g.f.t.Helper()
	raw, err := g.f.srv.API.Invoke(context.Background(), g.call, endpoint, req)
	if err != nil {
		g.f.t.Fatalf("%s: %v", endpoint, err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			g.f.t.Fatal(err)
		}
	}
}

// user creates a user with the password.
func (g *org) user(email string, role accounts.Role) *ashby.User {
	g.f.t.Helper()
	var u ashby.User
	g.invoke("user.create", map[string]any{"firstName": "Pat", "lastName": string(role.Short()), "email": email, "globalRole": string(role)}, &u)
	if err := g.f.acc.SetPassword(context.Background(), g.o.ID, &u, password); err != nil {
		g.f.t.Fatal(err)
	}
	return &u
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, and remembers the last form token it saw.
type browser struct {
	t    *testing.T
	f    *fixture
	hc   *http.Client
	csrf string
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: f.t, f: f, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

type response struct {
	status int
	body   string
	header http.Header
}

func (b *browser) do(req *http.Request) response {
	b.t.Helper()
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return response{status: resp.StatusCode, body: string(body), header: resp.Header}
}

func (b *browser) get(path string) response {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.f.url+path, nil)
	return b.do(req)
}

// post sends a form with the last token seen (unless form sets csrf).
func (b *browser) post(path string, form url.Values) response {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, b.f.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) signIn(email string) {
	b.t.Helper()
	b.get("/app/signin")
	r := b.post("/app/signin", url.Values{"email": {email}, "password": {password}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/app/" {
		b.t.Fatalf("sign in as %s: %d %s\n%s", email, r.status, r.header.Get("Location"), r.body)
	}
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.f.url + "/app/")
	for _, c := range b.hc.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestSignIn(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webapp.Options{})
		g := f.newOrg("Acme")
		b := f.browser()
		// Signed out, every page sends you to sign in, and / to the app.
		if r := b.get("/"); r.status != http.StatusFound || r.header.Get("Location") != "/app/" {
			t.Fatalf("GET /: %d %s", r.status, r.header.Get("Location"))
		}
		if r := b.get("/app/settings/api-keys"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/app/signin?next=") {
			t.Fatalf("signed out: %d %s", r.status, r.header.Get("Location"))
		}
		r := b.get("/app/signin")
		if r.status != http.StatusOK || !strings.Contains(r.body, `name="email"`) || !strings.Contains(r.body, `name="password"`) || b.csrf == "" {
			t.Fatalf("sign-in page: %d\n%s", r.status, r.body)
		}
		for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"} {
			if r.header.Get(h) == "" {
				t.Errorf("sign-in page lacks %s", h)
			}
		}
		// A wrong password and an unknown address get the same answer.
		wrong := b.post("/app/signin", url.Values{"email": {g.email}, "password": {"not the password"}})
		unknown := b.post("/app/signin", url.Values{"email": {"nobody@example.com"}, "password": {password}})
		if wrong.status != http.StatusUnauthorized || unknown.status != http.StatusUnauthorized {
			t.Fatalf("bad sign-ins: %d, %d", wrong.status, unknown.status)
		}
		for _, body := range []string{wrong.body, unknown.body} {
			if !strings.Contains(body, "The email address or password is incorrect.") {
				t.Fatalf("bad sign-in message:\n%s", body)
			}
		}
		if b.cookie("ashlar_session") != nil {
			t.Fatal("a failed sign-in set a session cookie")
		}
		resp := b.post("/app/signin", url.Values{"email": {g.email}, "password": {password}})
		if resp.status != http.StatusSeeOther || resp.header.Get("Location") != "/app/" {
			t.Fatalf("sign in: %d %s", resp.status, resp.header.Get("Location"))
		}
		set := strings.Join(resp.header.Values("Set-Cookie"), "\n")
		if !regexp.MustCompile(`ashlar_session=[^;]+; Path=/app/; Max-Age=\d+; HttpOnly; SameSite=Lax`).MatchString(set) || strings.Contains(set, "Secure") {
			t.Fatalf("session cookie on http: %s", set)
		}
		if r := b.get("/app/"); r.status != http.StatusOK || !strings.Contains(r.body, "Welcome, Pat") {
			t.Fatalf("home: %d\n%s", r.status, r.body)
		}
		// Signing out ends the session on the server: the old cookie,
		// sent again, is refused.
		old := b.cookie("ashlar_session").Value
		if r := b.post("/app/signout", nil); r.status != http.StatusSeeOther {
			t.Fatalf("sign out: %d", r.status)
		}
		b2 := f.browser()
		u, _ := url.Parse(f.url + "/app/")
		b2.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "ashlar_session", Value: old, Path: "/app/"}})
		if r := b2.get("/app/"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/app/signin") {
			t.Fatalf("a signed-out session is accepted: %d", r.status)
		}
	})
}

func TestSecureCookiesOnHTTPS(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webapp.Options{BaseURL: "https://ashlar.example.com"})
		g := f.newOrg("Acme")
		b := f.browser()
		b.get("/app/signin")
		r := b.post("/app/signin", url.Values{"email": {g.email}, "password": {password}})
		set := strings.Join(r.header.Values("Set-Cookie"), "\n")
		if r.status != http.StatusSeeOther || !regexp.MustCompile(`ashlar_session=[^;]+; Path=/app/; Max-Age=\d+; HttpOnly; Secure; SameSite=Lax`).MatchString(set) {
			t.Fatalf("session cookie with an https base URL: %d %s", r.status, set)
		}
	})
}

func TestCSRF(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webapp.Options{})
		g := f.newOrg("Acme")
		b := f.browser()
		b.signIn(g.email)
		b.get("/app/settings/api-keys")
		for name, token := range map[string]string{"missing": "-", "empty": "", "forged": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
			body := "title=sneaky&permissions=candidatesRead"
			if token != "-" {
				body += "&csrf=" + url.QueryEscape(token)
			}
			req, _ := http.NewRequest(http.MethodPost, f.url+"/app/settings/api-keys", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if r := b.do(req); r.status != http.StatusForbidden {
				t.Errorf("POST with a %s csrf: %d", name, r.status)
			}
		}
		var keys []ashby.APIKey
		g.invoke("apiKey.list", map[string]any{}, &keys)
		if len(keys) != 0 {
			t.Fatalf("POSTs without a valid csrf created keys: %+v", keys)
		}
		// Another browser's token is no good either.
		other := f.browser()
		other.get("/app/signin")
		r := b.post("/app/settings/api-keys", url.Values{"csrf": {other.csrf}, "title": {"sneaky"}, "permissions": {"candidatesRead"}})
		if r.status != http.StatusForbidden {
			t.Fatalf("POST with another browser's token: %d", r.status)
		}
		// Sign-in itself needs the token.
		c := f.browser()
		if r := c.post("/app/signin", url.Values{"csrf": {""}, "email": {g.email}, "password": {password}}); r.status != http.StatusForbidden {
			t.Fatalf("sign-in without csrf: %d", r.status)
		}
	})
}

func TestSignInRateLimits(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		// One token a minute per IP after the burst of 20: the bucket
		// cannot refill while this test runs, however slow the machine
		// (argon2id under the race detector takes seconds an attempt on
		// a loaded one).
		f := newFixture(t, db, webapp.Options{SignInPerMinute: 1})
		g := f.newOrg("Acme")
		b := f.browser()
		b.get("/app/signin")
		// Per account: five tries, then even the right password waits.
		for i := 0; i < 5; i++ {
			if r := b.post("/app/signin", url.Values{"email": {g.email}, "password": {"guess number " + string(rune('a'+i))}}); r.status != http.StatusUnauthorized {
				t.Fatalf("attempt %d: %d", i+1, r.status)
			}
		}
		r := b.post("/app/signin", url.Values{"email": {g.email}, "password": {password}})
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "Too many sign-in attempts") {
			t.Fatalf("sixth attempt on one account: %d %q", r.status, r.header.Get("Retry-After"))
		}
		// Per IP: twenty tries across accounts, then no more.
		limited := 0
		for i := 0; i < 20; i++ {
			r := b.post("/app/signin", url.Values{"email": {"user" + string(rune('a'+i)) + "@example.com"}, "password": {"whatever it is"}})
			if r.status == http.StatusTooManyRequests {
				limited++
			}
		}
		if limited == 0 {
			t.Fatal("26 sign-in attempts from one address were all let through")
		}
	})
}

func TestLimitedAccessAndRoleChange(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webapp.Options{})
		g := f.newOrg("Acme")
		lim := g.user("lim@example.com", accounts.Limited)
		b := f.browser()
		b.signIn("lim@example.com")
		for _, p := range []string{"/app/settings/", "/app/settings/api-keys", "/app/settings/webhooks", "/app/settings/postings", "/app/settings/users", "/app/settings/audit-log", "/app/settings/organization", "/app/settings/partners"} {
			if r := b.get(p); r.status != http.StatusForbidden {
				t.Errorf("Limited Access GET %s: %d", p, r.status)
			}
		}
		if r := b.get("/app/"); strings.Contains(r.body, `href="/app/settings/"`) {
			t.Error("the menu offers Settings to Limited Access")
		}
		if r := b.post("/app/settings/api-keys", url.Values{"title": {"mine"}, "permissions": {"candidatesRead"}}); r.status != http.StatusForbidden {
			t.Errorf("Limited Access POST to settings: %d", r.status)
		}
		// The admin makes them an admin: the next request can.
		a := f.browser()
		a.signIn(g.email)
		a.get("/app/settings/users/" + lim.ID)
		if r := a.post("/app/settings/users/"+lim.ID+"/role", url.Values{"role": {"Organization Admin"}}); r.status != http.StatusSeeOther {
			t.Fatalf("change role: %d\n%s", r.status, r.body)
		}
		if r := b.get("/app/settings/api-keys"); r.status != http.StatusOK {
			t.Fatalf("after the role change: %d", r.status)
		}
		// An admin cannot change their own role.
		a.get("/app/settings/users/" + g.admin.ID)
		if r := a.post("/app/settings/users/"+g.admin.ID+"/role", url.Values{"role": {"Limited Access"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "cannot change your own role") {
			t.Fatalf("changing one's own role: %d", r.status)
		}
	})
}

func TestDeactivatedUserRefused(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webapp.Options{})
		g := f.newOrg("Acme")
		u := g.user("el@example.com", accounts.Elevated)
		b := f.browser()
		b.signIn("el@example.com")
		if r := b.get("/app/settings/postings"); r.status != http.StatusOK {
			t.Fatalf("Elevated Access opens postings: %d", r.status)
		}
		a := f.browser()
		a.signIn(g.email)
		a.get("/app/settings/users/" + u.ID)
		if r := a.post("/app/settings/users/"+u.ID+"/enabled", url.Values{"enabled": {"false"}}); r.status != http.StatusSeeOther {
			t.Fatalf("deactivate: %d\n%s", r.status, r.body)
		}
		if r := b.get("/app/"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/app/signin") {
			t.Fatalf("a deactivated user's session: %d", r.status)
		}
		c := f.browser()
		c.get("/app/signin")
		if r := c.post("/app/signin", url.Values{"email": {"el@example.com"}, "password": {password}}); r.status != http.StatusUnauthorized {
			t.Fatalf("a deactivated user signs in: %d", r.status)
		}
	})
}

func TestAuditNamesTheUser(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webapp.Options{})
		g := f.newOrg("Acme")
		b := f.browser()
		b.signIn(g.email)
		b.get("/app/settings/api-keys")
		r := b.post("/app/settings/api-keys", url.Values{"title": {"Warehouse sync"}, "permissions": {"candidatesRead", "jobsRead"}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("create key: %d\n%s", r.status, r.body)
		}
		// The key's secret is shown once, on the page the POST led to.
		page := b.get("/app/settings/api-keys")
		m := regexp.MustCompile(`id="secret-value" value="(ashlar_[^"]+)"`).FindStringSubmatch(page.body)
		if m == nil {
			t.Fatalf("no secret shown:\n%s", page.body)
		}
		if again := b.get("/app/settings/api-keys"); strings.Contains(again.body, m[1]) {
			t.Fatal("the secret is shown twice")
		}
		var entries []ashby.AuditLogEntry
		g.invoke("auditLog.list", map[string]any{"categories": []string{"apiKey.created"}}, &entries)
		if len(entries) != 1 {
			t.Fatalf("audit entries: %+v", entries)
		}
		e := entries[0]
		if e.Actor.Type != ashby.ActorUser || e.Actor.ID == nil || *e.Actor.ID != g.admin.ID || e.Actor.Name != "Pat admin" ||
			e.Request == nil || e.Request.IPAddress != "127.0.0.1" || e.Request.Endpoint != "apiKey.create" || e.Target.Name != "Warehouse sync" {
			t.Fatalf("audit entry: %+v actor %+v request %+v", e, e.Actor, e.Request)
		}
		// The log page shows it.
		if r := b.get("/app/settings/audit-log?actor=" + g.admin.ID); !strings.Contains(r.body, `User &#34;Pat admin&#34; created api key &#34;Warehouse sync&#34;`) {
			t.Fatalf("audit log page:\n%s", r.body)
		}
	})
}

// Renaming the organization in the console reaches the careers site: the
// boards' version moves, so their snapshots are rebuilt.
func TestRenameMovesBoardVersion(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webapp.Options{})
		g := f.newOrg("Acme")
		before, err := api.BoardVersion(context.Background(), db, g.o.ID)
		if err != nil {
			t.Fatal(err)
		}
		b := f.browser()
		b.signIn(g.email)
		b.get("/app/settings/organization")
		if r := b.post("/app/settings/organization", url.Values{"name": {"Acme Robotics"}, "timezone": {"Europe/Berlin"}}); r.status != http.StatusSeeOther {
			t.Fatalf("save organization: %d\n%s", r.status, r.body)
		}
		after, _ := api.BoardVersion(context.Background(), db, g.o.ID)
		o, _ := db.OrgByID(context.Background(), g.o.ID)
		if after == before || o.Name != "Acme Robotics" {
			t.Fatalf("after renaming to %q the board version stayed %s", o.Name, after)
		}
		var entries []ashby.AuditLogEntry
		g.invoke("auditLog.list", map[string]any{"categories": []string{"organization.updated", "jobBoard.updated"}}, &entries)
		if len(entries) != 1 || entries[0].ChangedFields["name"].From == nil || entries[0].ChangedFields["timezone"].To == nil {
			t.Fatalf("audit entries of the rename: %+v", entries)
		}
	})
}

// The form builder adds a question of every Ashby field type, and the
// API accepts each.
func TestFormBuilderEveryFieldType(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webapp.Options{})
		g := f.newOrg("Acme")
		o := g.objects(t)
		b := f.browser()
		b.signIn(g.email)
		page := b.get("/app/settings/postings/" + o.posting + "/form")
		types := regexp.MustCompile(`<option value="([A-Za-z]+)"`).FindAllStringSubmatch(page.body, -1)
		if len(types) != 21 {
			t.Fatalf("the builder offers %d field types, Ashby has 21", len(types))
		}
		for _, m := range types {
			r := b.post("/app/settings/postings/"+o.posting+"/form", url.Values{"action": {"add"}, "title": {"A " + m[1] + " question"}, "type": {m[1]},
				"options": {"One\nTwo"}, "section": {"0"}, "required": {"on"}, "hint": {"Say <more>"}})
			if r.status != http.StatusSeeOther {
				t.Errorf("add a %s question: %d\n%s", m[1], r.status, r.body)
			}
		}
		var p ashby.JobPostingInfo
		g.invoke("jobPosting.info", map[string]any{"jobPostingId": o.posting, "includeUnpublishedJobPostings": true}, &p)
		fields := p.ApplicationFormDefinition.Sections[0].Fields
		if len(fields) != 2+len(types) {
			t.Fatalf("%d fields after adding %d", len(fields), len(types))
		}
		last := fields[len(fields)-1]
		if !last.IsRequired || last.DescriptionHTML != "<p>Say &lt;more&gt;</p>" {
			t.Fatalf("last question: %+v", last)
		}
		// Reorder, require, remove.
		b.post("/app/settings/postings/"+o.posting+"/form", url.Values{"action": {"up"}, "section": {"0"}, "index": {"2"}})
		b.post("/app/settings/postings/"+o.posting+"/form", url.Values{"action": {"optional"}, "section": {"0"}, "index": {"1"}})
		b.post("/app/settings/postings/"+o.posting+"/form", url.Values{"action": {"remove"}, "section": {"0"}, "index": {"3"}})
		var p2 ashby.JobPostingInfo
		g.invoke("jobPosting.info", map[string]any{"jobPostingId": o.posting, "includeUnpublishedJobPostings": true}, &p2)
		got := p2.ApplicationFormDefinition.Sections[0].Fields
		if len(got) != len(fields)-1 || got[1].Field.Title != "A "+types[0][1]+" question" || got[1].IsRequired || got[2].Field.Title != "Email" || got[3].Field.Title != fields[4].Field.Title {
			t.Fatalf("after reordering: %v, %v (required %v), %v, %v; %d fields of %d", got[0].Field.Title, got[1].Field.Title, got[1].IsRequired, got[2].Field.Title, got[3].Field.Title, len(got), len(fields))
		}
		// The preview renders every type.
		if r := b.get("/app/settings/postings/" + o.posting + "/form/preview"); r.status != http.StatusOK || strings.Count(r.body, `class="field`) < len(got) {
			t.Fatalf("preview: %d", r.status)
		}
	})
}
