package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/accounts"
	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/demo"
	"github.com/ashlarhq/ashlar/server"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/webapp"
)

func init() {
	var (
		idle, maxAge                *time.Duration
		issuer, clientID, secret    *string
		oidcName                    *string
		signinPerMin, accountPerMin *int
	)
	serveHooks = append(serveHooks, serveHook{
		name: "web app",
		flags: func(fs *flag.FlagSet) {
			e := &env{getenv: os.Getenv}
			idle = fs.Duration("session-idle-timeout", envDuration(e, "ASHLAR_SESSION_IDLE_TIMEOUT", accounts.DefaultIdleTimeout), "web app sessions unused this long end; env ASHLAR_SESSION_IDLE_TIMEOUT")
			maxAge = fs.Duration("session-max-age", envDuration(e, "ASHLAR_SESSION_MAX_AGE", accounts.DefaultMaxAge), "web app sessions end this long after sign-in; env ASHLAR_SESSION_MAX_AGE")
			issuer = fs.String("oidc-issuer", e.getenv("ASHLAR_OIDC_ISSUER"), "OpenID Connect issuer URL: people may sign in with it (off when empty); env ASHLAR_OIDC_ISSUER")
			clientID = fs.String("oidc-client-id", e.getenv("ASHLAR_OIDC_CLIENT_ID"), "OpenID Connect client id; env ASHLAR_OIDC_CLIENT_ID")
			secret = fs.String("oidc-client-secret", e.getenv("ASHLAR_OIDC_CLIENT_SECRET"), "OpenID Connect client secret (prefer the environment variable); env ASHLAR_OIDC_CLIENT_SECRET")
			oidcName = fs.String("oidc-name", e.getenv("ASHLAR_OIDC_NAME"), "what the single sign-on button calls the provider; env ASHLAR_OIDC_NAME")
			signinPerMin = fs.Int("signin-rate-limit", 10, "sign-in attempts a minute allowed from one IP address (bursts of 20; -1: no limit)")
			accountPerMin = fs.Int("signin-account-rate-limit", 1, "sign-in attempts a minute allowed for one email address (bursts of 5; -1: no limit)")
		},
		start: func(ctx context.Context, srv *server.Server, o *serveOptions) error {
			acc := accounts.New(srv.DB, accounts.Options{IdleTimeout: *idle, MaxAge: *maxAge})
			opts := webapp.Options{Service: srv.Service, API: srv.API, Accounts: acc, BaseURL: o.BaseURL, Log: srv.Log,
				SignInPerMinute: *signinPerMin, AccountPerMinute: *accountPerMin}
			if *issuer != "" {
				if *clientID == "" {
					return usageError{"--oidc-issuer needs --oidc-client-id"}
				}
				opts.OIDC = &webapp.OIDCConfig{Issuer: *issuer, ClientID: *clientID, ClientSecret: *secret, Name: *oidcName}
			}
			app, err := webapp.New(ctx, opts)
			if err != nil {
				return fmt.Errorf("web app: %w", err)
			}
			app.Routes(srv.Mux)
			pctx, stop := context.WithCancel(context.Background())
			go func() {
				t := time.NewTicker(time.Hour)
				defer t.Stop()
				for {
					if err := acc.Prune(pctx); err != nil && pctx.Err() == nil {
						srv.Log.Warn("prune sessions", "error", err)
					}
					select {
					case <-pctx.Done():
						return
					case <-t.C:
					}
				}
			}()
			srv.OnShutdown(func(context.Context) error { stop(); return nil })
			return nil
		},
	})
}

func envDuration(e *env, name string, def time.Duration) time.Duration {
	if v := e.getenv(name); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

// demoAdminEmail is the demo organization's Organization Admin (seeded by
// package demo), who signs in to the demo's web app.
const demoAdminEmail = "riley.chen@northwind.example"

// printDemoSignIn gives the demo admin a password the first time, and
// prints how to sign in. The password is derived from the database's
// secret, so it stays the same across restarts without being stored.
func printDemoSignIn(ctx context.Context, e *env, srv *server.Server, url string) error {
	org, err := srv.DB.OrgBySlug(ctx, demo.Slug)
	if err != nil {
		return err
	}
	us, err := api.Users.Find(ctx, srv.DB, org.ID, store.Filter{Search: demoAdminEmail, Limit: 1})
	if err != nil {
		return err
	}
	if len(us) == 0 {
		return fmt.Errorf("the demo organization has no user %s", demoAdminEmail)
	}
	acc := accounts.New(srv.DB, accounts.Options{})
	m := hmac.New(sha256.New, srv.DB.Secret())
	m.Write([]byte("ashlar demo admin password v1"))
	raw := strings.ToLower(base32.StdEncoding.EncodeToString(m.Sum(nil)[:10]))
	password := raw[:4] + "-" + raw[4:8] + "-" + raw[8:12] + "-" + raw[12:16]
	a, err := acc.Get(ctx, org.ID, us[0].ID)
	if errors.Is(err, accounts.ErrNoAccount) || (err == nil && !a.HasPassword) {
		err = acc.SetPassword(ctx, org.ID, us[0], password)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Web app: sign in at %s/app/signin as %s (Organization Admin)\nwith the password %s (unless you have changed it).\n\n", url, demoAdminEmail, password)
	return nil
}
