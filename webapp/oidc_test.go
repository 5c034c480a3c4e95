package webapp_test

import (
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
	"github.com/ashlarhq/ashlar/webapp"
)

// TestOIDCSignIn signs in through a real OpenID Connect provider running
// in the test (mockoidc): discovery, the authorization code flow with PKCE
// and a nonce, and the ID token's signature are all checked for real.
func TestOIDCSignIn(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		m, err := mockoidc.Run()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Shutdown() })
		cfg := m.Config()
		f := newFixture(t, db, webapp.Options{OIDC: &webapp.OIDCConfig{Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret}})
		g := f.newOrg("Acme")
		// A user created through the API, who never had a password.
		var u struct{ ID string }
		g.invoke("user.create", map[string]any{"firstName": "Olive", "lastName": "Idc", "email": "olive@example.com", "globalRole": "Elevated Access"}, &u)
		signIn := func(email string, verified bool) *http.Response {
			t.Helper()
			m.QueueUser(&mockoidc.MockUser{Subject: email, Email: email, EmailVerified: verified, PreferredUsername: email})
			jar, _ := cookiejar.New(nil)
			// Follows redirects through the provider and back, but not
			// the app's final one.
			hc := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if strings.HasPrefix(req.URL.String(), f.url) && !strings.Contains(req.URL.Path, "/oidc/") {
					return http.ErrUseLastResponse
				}
				return nil
			}}
			r, err := hc.Get(f.url + "/app/signin/oidc")
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			return r
		}
		r := signIn("olive@example.com", true)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/app/" || !strings.Contains(strings.Join(r.Header.Values("Set-Cookie"), ";"), "ashlar_session=") {
			t.Fatalf("OIDC sign-in: %d %s %v", r.StatusCode, r.Header.Get("Location"), r.Header.Values("Set-Cookie"))
		}
		if acc, err := f.acc.Get(t.Context(), g.o.ID, u.ID); err != nil || acc.SignedInAt == nil {
			t.Fatalf("account after OIDC sign-in: %+v %v", acc, err)
		}
		// An address the provider has not verified, or no user has, is refused.
		if r := signIn("olive@example.com", false); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("unverified email: %d", r.StatusCode)
		}
		if r := signIn("stranger@example.com", true); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("unknown email: %d", r.StatusCode)
		}
		// A deactivated user is refused too.
		g.invoke("user.update", map[string]any{"userId": u.ID, "isEnabled": false}, nil)
		if r := signIn("olive@example.com", true); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("deactivated user: %d", r.StatusCode)
		}
	})
}
