package accounts_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/accounts"
	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
)

func TestPasswordHash(t *testing.T) {
	h := accounts.HashPassword("correct horse battery")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not an argon2id PHC string with the expected cost", h)
	}
	if !accounts.VerifyPassword(h, "correct horse battery") {
		t.Fatal("the password does not verify against its own hash")
	}
	if accounts.VerifyPassword(h, "correct horse batterY") || accounts.VerifyPassword(h, "") {
		t.Fatal("a wrong password verifies")
	}
	if h2 := accounts.HashPassword("correct horse battery"); h2 == h {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	for _, bad := range []string{"", "$argon2id$", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", strings.Replace(h, "t=2", "t=0", 1)} {
		if accounts.VerifyPassword(bad, "correct horse battery") {
			t.Errorf("malformed hash %q verifies", bad)
		}
	}
}

func TestPasswordStrength(t *testing.T) {
	for pw, ok := range map[string]bool{
		"short":                   false,
		"123456789":               false,
		"password123":             false, // common
		"QWERTYUIOP":              false, // common, whatever the case
		"ada@example.com":         false, // the email address
		"correct horse battery":   true,
		"çà et là, vingt-six ans": true,
		strings.Repeat("a", 257):  false,
	} {
		err := accounts.CheckStrength(pw, "ada@example.com")
		if (err == nil) != ok {
			t.Errorf("CheckStrength(%q) = %v, want ok=%v", pw, err, ok)
		}
		if err != nil && !errors.Is(err, accounts.ErrWeakPassword) {
			t.Errorf("CheckStrength(%q) error %v is not ErrWeakPassword", pw, err)
		}
	}
}

func TestParseRole(t *testing.T) {
	for in, want := range map[string]accounts.Role{"admin": accounts.Admin, "Organization Admin": accounts.Admin, "ELEVATED": accounts.Elevated,
		"limited access": accounts.Limited, "external": accounts.External} {
		if got, err := accounts.ParseRole(in); err != nil || got != want {
			t.Errorf("ParseRole(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := accounts.ParseRole("root"); err == nil {
		t.Error("ParseRole accepts an unknown role")
	}
	if p := accounts.Limited.Permissions(); len(p) == 0 || containsPerm(p, ashby.APIKeysRead) || containsPerm(p, ashby.CandidatesRead) {
		t.Errorf("Limited Access permissions %v", p)
	}
	if p := accounts.Admin.Permissions(); len(p) != len(ashby.AllPermissions) {
		t.Errorf("Organization Admins hold %d of %d permissions", len(p), len(ashby.AllPermissions))
	}
}

func containsPerm(ps []ashby.Permission, p ashby.Permission) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// env is an organization with a user, and the service to change them
// through, as the web app and the command line do.
type env struct {
	db    *store.DB
	svc   *api.Service
	table *rpc.API
	acc   *accounts.Accounts
	org   *store.Org
	call  *rpc.Call
	now   time.Time
}

func newEnv(t *testing.T, db *store.DB) *env {
	ctx := context.Background()
	e := &env{db: db, svc: api.New(db, "http://ashlar.test", nil), now: time.Now().UTC()}
	db.Now = func() time.Time { return e.now }
	e.table = e.svc.API()
	e.acc = accounts.New(db, accounts.Options{IdleTimeout: time.Hour, MaxAge: 24 * time.Hour, LinkTTL: 2 * time.Hour})
	var err error
	if e.org, err = e.svc.CreateOrg(ctx, storetest.Name("acme"), "Acme"); err != nil {
		t.Fatal(err)
	}
	e.call = &rpc.Call{Principal: &rpc.Principal{OrgID: e.org.ID, Permissions: ashby.AllPermissions}}
	return e
}

func (e *env) user(t *testing.T, email, role string) *ashby.User {
	var u ashby.User
	raw, err := e.table.Invoke(context.Background(), e.call, "user.create", map[string]any{"firstName": "Ada", "lastName": "Lovelace", "email": email, "globalRole": role})
	if err != nil {
		t.Fatal(err)
	}
	if err := jsonUnmarshal(raw, &u); err != nil {
		t.Fatal(err)
	}
	return &u
}

func TestSignInAndSessions(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		u := e.user(t, "Ada@Example.com", "Organization Admin")
		if err := e.acc.SetPassword(ctx, e.org.ID, u, "password123"); !errors.Is(err, accounts.ErrWeakPassword) {
			t.Fatalf("a common password was accepted: %v", err)
		}
		if err := e.acc.SetPassword(ctx, e.org.ID, u, "correct horse battery"); err != nil {
			t.Fatal(err)
		}
		// One answer for a wrong password and an unknown address.
		for _, c := range [][2]string{{"ada@example.com", "wrong password!"}, {"nobody@example.com", "correct horse battery"}} {
			if _, err := e.acc.CheckPassword(ctx, c[0], c[1]); !errors.Is(err, accounts.ErrBadCredentials) {
				t.Fatalf("CheckPassword(%s) = %v", c[0], err)
			}
		}
		id, err := e.acc.CheckPassword(ctx, " ADA@example.com ", "correct horse battery")
		if err != nil || id.User.ID != u.ID || id.OrgID != e.org.ID {
			t.Fatalf("sign in: %+v, %v", id, err)
		}
		secret, err := e.acc.StartSession(ctx, id, "203.0.113.7", "test")
		if err != nil {
			t.Fatal(err)
		}
		s, err := e.acc.Session(ctx, secret)
		if err != nil || s.User.ID != u.ID || s.Role() != accounts.Admin {
			t.Fatalf("session: %+v, %v", s, err)
		}
		if _, err := e.acc.Session(ctx, secret+"x"); !errors.Is(err, accounts.ErrNoSession) {
			t.Fatalf("a wrong secret finds a session: %v", err)
		}
		// Used within the idle timeout, a session lives on …
		e.now = e.now.Add(50 * time.Minute)
		if _, err := e.acc.Session(ctx, secret); err != nil {
			t.Fatalf("session used within the idle timeout: %v", err)
		}
		e.now = e.now.Add(50 * time.Minute)
		if _, err := e.acc.Session(ctx, secret); err != nil {
			t.Fatalf("session used within the idle timeout again: %v", err)
		}
		// … idle longer, it ends.
		e.now = e.now.Add(61 * time.Minute)
		if _, err := e.acc.Session(ctx, secret); !errors.Is(err, accounts.ErrNoSession) {
			t.Fatalf("an idle session lives on: %v", err)
		}
		// However active, a session ends at its maximum age.
		secret, _ = e.acc.StartSession(ctx, id, "203.0.113.7", "test")
		started := e.now
		for i := 0; i < 26; i++ {
			e.now = e.now.Add(59 * time.Minute)
			if _, err := e.acc.Session(ctx, secret); err != nil {
				break
			}
		}
		if lived := e.now.Sub(started); lived < 24*time.Hour || lived > 25*time.Hour {
			t.Fatalf("an active session ended after %s; its maximum age is 24h", lived)
		}
		if _, err := e.acc.Session(ctx, secret); !errors.Is(err, accounts.ErrNoSession) {
			t.Fatalf("a session outlived its maximum age: %v", err)
		}
		// Signing out ends the session on the server.
		secret, _ = e.acc.StartSession(ctx, id, "203.0.113.7", "test")
		if err := e.acc.EndSession(ctx, secret); err != nil {
			t.Fatal(err)
		}
		if _, err := e.acc.Session(ctx, secret); !errors.Is(err, accounts.ErrNoSession) {
			t.Fatalf("a signed-out session lives on: %v", err)
		}
	})
}

func TestDeactivationEndsSessions(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		u := e.user(t, "grace@example.com", "Elevated Access")
		if err := e.acc.SetPassword(ctx, e.org.ID, u, "correct horse battery"); err != nil {
			t.Fatal(err)
		}
		id, _ := e.acc.CheckPassword(ctx, "grace@example.com", "correct horse battery")
		secret, err := e.acc.StartSession(ctx, id, "203.0.113.7", "test")
		if err != nil {
			t.Fatal(err)
		}
		link, _, err := e.acc.CreateLink(ctx, e.org.ID, u)
		if err != nil {
			t.Fatal(err)
		}
		// Through the API, as any client would.
		if _, err := e.table.Invoke(ctx, e.call, "user.update", map[string]any{"userId": u.ID, "isEnabled": false}); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE user_id = $1`, u.ID).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d sessions left after deactivation (%v)", n, err)
		}
		if _, err := e.acc.Session(ctx, secret); !errors.Is(err, accounts.ErrNoSession) {
			t.Fatalf("a deactivated user's session lives on: %v", err)
		}
		if _, err := e.acc.CheckPassword(ctx, "grace@example.com", "correct horse battery"); !errors.Is(err, accounts.ErrBadCredentials) {
			t.Fatalf("a deactivated user signs in: %v", err)
		}
		if _, err := e.acc.Link(ctx, link); !errors.Is(err, accounts.ErrLinkInvalid) {
			t.Fatalf("a deactivated user's link works: %v", err)
		}
		// Reactivated, they sign in again; an email change follows them.
		if _, err := e.table.Invoke(ctx, e.call, "user.update", map[string]any{"userId": u.ID, "isEnabled": true, "email": "grace.hopper@example.com"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.acc.CheckPassword(ctx, "grace@example.com", "correct horse battery"); !errors.Is(err, accounts.ErrBadCredentials) {
			t.Fatalf("the old address still signs in: %v", err)
		}
		if _, err := e.acc.CheckPassword(ctx, "grace.hopper@example.com", "correct horse battery"); err != nil {
			t.Fatalf("the new address does not sign in: %v", err)
		}
	})
}

func TestSignInLink(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		u := e.user(t, "linus@example.com", "Limited Access")
		link, exp, err := e.acc.CreateLink(ctx, e.org.ID, u)
		if err != nil || exp.Sub(e.now) != 2*time.Hour {
			t.Fatalf("link expires %v (%v)", exp, err)
		}
		if _, err := e.acc.UseLink(ctx, link, "short"); !errors.Is(err, accounts.ErrWeakPassword) {
			t.Fatalf("a link set a weak password: %v", err)
		}
		id, err := e.acc.UseLink(ctx, link, "a penguin named tux")
		if err != nil || id.User.ID != u.ID {
			t.Fatalf("use link: %+v %v", id, err)
		}
		if _, err := e.acc.UseLink(ctx, link, "another good password"); !errors.Is(err, accounts.ErrLinkInvalid) {
			t.Fatalf("a link worked twice: %v", err)
		}
		if _, err := e.acc.CheckPassword(ctx, "linus@example.com", "a penguin named tux"); err != nil {
			t.Fatalf("the password a link set does not sign in: %v", err)
		}
		late, _, _ := e.acc.CreateLink(ctx, e.org.ID, u)
		e.now = e.now.Add(3 * time.Hour)
		if _, err := e.acc.Link(ctx, late); !errors.Is(err, accounts.ErrLinkInvalid) {
			t.Fatalf("an expired link works: %v", err)
		}
	})
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// BenchmarkHashPassword measures one argon2id hash at Ashlar's cost: what
// every sign-in and password change spends.
func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		accounts.HashPassword("correct horse battery")
	}
}
