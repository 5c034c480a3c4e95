package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/accounts"
	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/demo"
	"github.com/ashlarhq/ashlar/jobqueue"
	"github.com/ashlarhq/ashlar/server"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/webapp"
)

// webAppConfig configures the web app (/app/): sessions, sign-in limits
// and optional OpenID Connect sign-in.
type webAppConfig struct {
	IdleTimeout, MaxAge               time.Duration
	OIDCIssuer, OIDCClientID          string
	OIDCClientSecret, OIDCName        string
	SignInPerMinute, AccountPerMinute int
}

func (c *webAppConfig) define(fs *flagSet) {
	fs.DurationVar(&c.IdleTimeout, "session-idle-timeout", accounts.DefaultIdleTimeout, "web app sessions unused this long end")
	fs.DurationVar(&c.MaxAge, "session-max-age", accounts.DefaultMaxAge, "web app sessions end this long after sign-in")
	fs.StringVar(&c.OIDCIssuer, "oidc-issuer", "", "OpenID Connect issuer URL: people may sign in with it (off when empty)")
	fs.StringVar(&c.OIDCClientID, "oidc-client-id", "", "OpenID Connect client id")
	fs.StringVar(&c.OIDCClientSecret, "oidc-client-secret", "", "OpenID Connect client secret (prefer the environment variable: flags show in process lists)")
	fs.StringVar(&c.OIDCName, "oidc-name", "", "what the single sign-on button calls the provider")
	fs.IntVar(&c.SignInPerMinute, "signin-rate-limit", 10, "sign-in attempts a minute allowed from one IP address (bursts of 20; -1: no limit)")
	fs.IntVar(&c.AccountPerMinute, "signin-account-rate-limit", 1, "sign-in attempts a minute allowed for one email address (bursts of 5; -1: no limit)")
}

func (c *webAppConfig) check() error {
	if c.OIDCIssuer != "" && c.OIDCClientID == "" {
		return usageError{"--oidc-issuer needs --oidc-client-id"}
	}
	return nil
}

// startWebApp mounts the web app (/app/, and / redirecting to it).
func startWebApp(ctx context.Context, srv *server.Server, c webAppConfig, baseURL string, bodyTimeout time.Duration) error {
	acc := accounts.New(srv.DB, accounts.Options{IdleTimeout: c.IdleTimeout, MaxAge: c.MaxAge})
	opts := webapp.Options{Service: srv.Service, API: srv.API, Accounts: acc, BaseURL: baseURL, Log: srv.Log,
		SignInPerMinute: c.SignInPerMinute, AccountPerMinute: c.AccountPerMinute, BodyTimeout: bodyTimeout}
	if c.OIDCIssuer != "" {
		opts.OIDC = &webapp.OIDCConfig{Issuer: c.OIDCIssuer, ClientID: c.OIDCClientID, ClientSecret: c.OIDCClientSecret, Name: c.OIDCName}
	}
	app, err := webapp.New(ctx, opts)
	if err != nil {
		return err
	}
	app.Routes(srv.Mux)
	// Ended sessions and sign-in links are pruned hourly, by one process
	// for all of them: a periodic job of the server's queue.
	return srv.Jobs.Register(jobqueue.Kind{
		Name: "accounts.prune", Every: time.Hour, Timeout: 10 * time.Minute, MaxAttempts: 1,
		Handler: jobqueue.Handler{Work: func(ctx context.Context, j *jobqueue.Job) jobqueue.Result {
			if err := acc.Prune(ctx); err != nil {
				srv.Log.Warn("prune sessions", "error", err)
				return jobqueue.Result{State: jobqueue.Failed, Outcome: "error", Err: err.Error()}
			}
			return jobqueue.Result{State: jobqueue.Succeeded, Outcome: "success"}
		}},
	})
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
