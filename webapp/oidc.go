package webapp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/ashlarhq/ashlar/accounts"
)

// OIDCConfig is an OpenID Connect provider people may sign in with. It
// signs in the user whose email address the provider has verified.
type OIDCConfig struct {
	Issuer, ClientID, ClientSecret string
	// Name is shown on the button ("Sign in with NAME"; default "single
	// sign-on").
	Name string
}

type oidcClient struct {
	name     string
	verifier *oidc.IDTokenVerifier
	conf     oauth2.Config
}

const oidcCookie = "ashlar_oidc"

func newOIDC(ctx context.Context, c OIDCConfig, baseURL string) (*oidcClient, error) {
	if c.Issuer == "" || c.ClientID == "" {
		return nil, errors.New("OpenID Connect needs an issuer and a client id")
	}
	p, err := oidc.NewProvider(ctx, c.Issuer)
	if err != nil {
		return nil, fmt.Errorf("OpenID Connect provider %s: %w", c.Issuer, err)
	}
	if c.Name == "" {
		c.Name = "single sign-on"
	}
	return &oidcClient{name: c.Name, verifier: p.Verifier(&oidc.Config{ClientID: c.ClientID}),
		conf: oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: p.Endpoint(),
			RedirectURL: baseURL + "/app/signin/oidc/callback", Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}}, nil
}

// oidcState is what a sign-in remembers between leaving for the provider
// and coming back, in an encrypted cookie.
type oidcState struct {
	State, Nonce, Verifier, Next string
}

func random() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (a *App) oidcStart(q *Request) {
	if a.oidc == nil {
		q.notFound()
		return
	}
	st := oidcState{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier(), Next: safeNext(q.R.URL.Query().Get("next"))}
	b, _ := json.Marshal(st)
	nonce := make([]byte, a.flashKey.NonceSize())
	rand.Read(nonce)
	sealed := a.flashKey.Seal(nonce, nonce, b, []byte(oidcCookie))
	http.SetCookie(q.W, &http.Cookie{Name: oidcCookie, Value: base64.RawURLEncoding.EncodeToString(sealed), Path: "/app/signin/oidc",
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode, MaxAge: 600})
	http.Redirect(q.W, q.R, a.oidc.conf.AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)), http.StatusFound)
}

func (a *App) oidcFailed(q *Request, why string, err error) {
	if err != nil {
		a.log.Warn("webapp: OpenID Connect sign-in", "reason", why, "error", err)
	}
	q.message(http.StatusUnauthorized, "Sign-in failed", why+" Try again, or sign in with your email address and password.")
}

func (a *App) oidcCallback(q *Request) {
	if a.oidc == nil {
		q.notFound()
		return
	}
	ck, err := q.R.Cookie(oidcCookie)
	http.SetCookie(q.W, &http.Cookie{Name: oidcCookie, Path: "/app/signin/oidc", MaxAge: -1, HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
	var st oidcState
	if err == nil {
		raw, derr := base64.RawURLEncoding.DecodeString(ck.Value)
		ns := a.flashKey.NonceSize()
		if derr != nil || len(raw) < ns {
			err = errors.New("bad state cookie")
		} else if b, oerr := a.flashKey.Open(nil, raw[:ns], raw[ns:], []byte(oidcCookie)); oerr != nil {
			err = oerr
		} else {
			err = json.Unmarshal(b, &st)
		}
	}
	query := q.R.URL.Query()
	if err != nil || st.State == "" || query.Get("state") != st.State {
		a.oidcFailed(q, "The sign-in took too long or did not start here.", err)
		return
	}
	if e := query.Get("error"); e != "" {
		a.oidcFailed(q, "The identity provider did not sign you in ("+e+").", nil)
		return
	}
	ctx, cancel := context.WithTimeout(q.R.Context(), 15*time.Second)
	defer cancel()
	tok, err := a.oidc.conf.Exchange(ctx, query.Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		a.oidcFailed(q, "The identity provider's answer could not be checked.", err)
		return
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		a.oidcFailed(q, "The identity provider sent no identity.", nil)
		return
	}
	idt, err := a.oidc.verifier.Verify(ctx, raw)
	if err != nil || idt.Nonce != st.Nonce {
		a.oidcFailed(q, "The identity provider's answer could not be checked.", err)
		return
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified *bool  `json:"email_verified"`
	}
	if err := idt.Claims(&claims); err != nil || claims.Email == "" || claims.EmailVerified == nil || !*claims.EmailVerified {
		a.oidcFailed(q, "The identity provider has not verified your email address.", err)
		return
	}
	id, err := a.acc.ByVerifiedEmail(ctx, claims.Email)
	if errors.Is(err, accounts.ErrBadCredentials) {
		a.oidcFailed(q, "No active Ashlar user has the email address "+claims.Email+".", nil)
		return
	}
	if err != nil {
		q.fail(err)
		return
	}
	a.startSession(q, id, st.Next)
}
