package main

import (
	"flag"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

// TestMain runs the suite, then the secrets check: no log that the
// binary printed during any end-to-end test (servers' stdout and stderr,
// commands' stderr) may hold any secret a test used: API keys, user
// passwords, webhook secrets, the OIDC client secret, session cookies and
// a database password (testserver.RegisterSecret). On a full run (no
// -run) every one of those kinds must have been registered, so that the
// check cannot pass by having nothing to look for.
func TestMain(m *testing.M) {
	code := m.Run()
	r := testserver.CheckSecrets()
	for _, l := range r.Leaks {
		fmt.Fprintf(os.Stderr, "SECRET IN LOG: %s\n", l)
	}
	if len(r.Leaks) > 0 {
		code = 1
	}
	full := flag.Lookup("test.run").Value.String() == "" && flag.Lookup("test.skip").Value.String() == "" && !testing.Short()
	if full && code == 0 {
		kinds := []string{"api-key", "password", "webhook", "session-cookie", "oidc-client-secret"}
		if os.Getenv("ASHLAR_REQUIRE_POSTGRES") == "1" {
			kinds = append(kinds, "db-password") // TestE2EPostgresRestart's private cluster
		}
		if missing := r.MissingKinds(kinds...); len(missing) > 0 || r.Logs == 0 {
			fmt.Fprintf(os.Stderr, "secrets check: no secret of kind %v was registered (%d logs): it would pass vacuously\n", missing, r.Logs)
			code = 1
		}
	}
	if testing.Verbose() || len(r.Leaks) > 0 {
		fmt.Fprintf(os.Stderr, "secrets check: %v secrets searched for in %d logs (%d bytes): %d found\n", r.Secrets, r.Logs, r.Bytes, len(r.Leaks))
	}
	os.Exit(code)
}

// The check itself finds a secret, anywhere in a line, and reports the
// line without it.
func TestSecretsScan(t *testing.T) {
	leaks := testserver.ScanSecrets(map[string]string{"sx-key-0123456789": "api-key"},
		[]string{"clean\nlevel=INFO msg=x\n", "level=ERROR auth=Basic sx-key-0123456789 more\nnext"})
	if len(leaks) != 1 || !strings.Contains(leaks[0], "auth=Basic <api-key> more") || strings.Contains(leaks[0], "0123456789") {
		t.Fatalf("leaks %q", leaks)
	}
}

// Signing in through OpenID Connect, with a client secret and debug
// logging: the client secret and the session cookie are registered for
// the secrets check, and the sign-in must work end to end.
func TestE2EOIDCSignInSecrets(t *testing.T) {
	t.Parallel()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	cfg := m.Config()
	testserver.RegisterSecret(t, "oidc-client-secret", cfg.ClientSecret)
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{
			Args: []string{"--oidc-issuer", cfg.Issuer, "--oidc-client-id", cfg.ClientID, "--log-level", "debug"},
			Env:  []string{"ASHLAR_OIDC_CLIENT_SECRET=" + cfg.ClientSecret}})
		slug, key := srv.NewOrg()
		email := "olive@" + slug + ".example"
		must(t, srv.Client(key), "user.create", map[string]any{"firstName": "Olive", "lastName": "Idc", "email": email, "globalRole": "Elevated Access"}, nil)
		m.QueueUser(&mockoidc.MockUser{Subject: email, Email: email, EmailVerified: true, PreferredUsername: email})
		jar, _ := cookiejar.New(nil)
		hc := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), srv.URL) && !strings.Contains(req.URL.Path, "/oidc/") {
				return http.ErrUseLastResponse
			}
			return nil
		}}
		r, err := hc.Get(srv.URL + "/app/signin/oidc")
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		var session string
		for _, c := range r.Cookies() {
			if c.Name == "ashlar_session" {
				session = c.Value
			}
		}
		if r.StatusCode != http.StatusSeeOther || session == "" {
			t.Fatalf("OIDC sign-in: %d %s, cookies %v\n%s", r.StatusCode, r.Header.Get("Location"), r.Header.Values("Set-Cookie"), srv.Logs())
		}
		testserver.RegisterSecret(t, "session-cookie", session)
		// The session works.
		req, _ := http.NewRequest("GET", srv.URL+"/app/", nil)
		req.AddCookie(&http.Cookie{Name: "ashlar_session", Value: session})
		r, err = hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusOK {
			t.Fatalf("/app/ with the OIDC session: %d", r.StatusCode)
		}
		if !slices.ContainsFunc(strings.Split(srv.Logs(), "\n"), func(l string) bool { return strings.Contains(l, "level=DEBUG") || strings.Contains(l, "level=INFO") }) {
			t.Fatalf("no debug or info lines were logged to search:\n%s", srv.Logs())
		}
	})
}
