package webapp

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/accounts"
	"github.com/ashlarhq/ashlar/rpc"
)

type signinData struct {
	Next string
	OIDC bool
}

// safeNext keeps a post-sign-in destination inside the app (no open
// redirect to another site).
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/app/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") || strings.HasPrefix(next, "/app/signin") {
		return "/app/"
	}
	return next
}

func (a *App) signinForm(q *Request) {
	if ck, err := q.R.Cookie(sessionCookie); err == nil {
		if s, err := a.acc.Session(q.R.Context(), ck.Value); err == nil && s != nil {
			http.Redirect(q.W, q.R, safeNext(q.R.URL.Query().Get("next")), http.StatusSeeOther)
			return
		}
	}
	v := q.newView("Sign in", "signin", signinData{Next: safeNext(q.R.URL.Query().Get("next")), OIDC: a.oidc != nil})
	q.Render(http.StatusOK, "signin", v)
}

func (a *App) signin(q *Request) {
	email := strings.TrimSpace(q.Form.Get("email"))
	password := q.Form.Get("password")
	next := safeNext(q.Form.Get("next"))
	v := q.newView("Sign in", "signin", signinData{Next: next, OIDC: a.oidc != nil})
	v.values = url.Values{"email": {email}}
	if email == "" {
		v.fieldError("email", "Enter your email address.")
	}
	if password == "" {
		v.fieldError("password", "Enter your password.")
	}
	if len(v.Errors) > 0 {
		q.Render(http.StatusUnprocessableEntity, "signin", v)
		return
	}
	ok1, wait1 := a.ipLimit.Allow(q.R.Context(), rpc.ClientIP(q.R))
	ok2, wait2 := a.accLimit.Allow(q.R.Context(), strings.ToLower(email))
	if !ok1 || !ok2 {
		wait := max(wait1, wait2)
		q.W.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		v.FormError = "Too many sign-in attempts. Wait a minute, then try again."
		q.Render(http.StatusTooManyRequests, "signin", v)
		return
	}
	id, err := a.acc.CheckPassword(q.R.Context(), email, password)
	if errors.Is(err, accounts.ErrBadCredentials) {
		// One message whatever was wrong: it must not tell whether an
		// account exists.
		v.FormError = "The email address or password is incorrect."
		q.Render(http.StatusUnauthorized, "signin", v)
		return
	}
	if err != nil {
		q.fail(err)
		return
	}
	a.startSession(q, id, next)
}

// startSession signs id in and redirects to next.
func (a *App) startSession(q *Request, id *accounts.Identity, next string) {
	// A new session token at every sign-in: a token planted before
	// sign-in (session fixation) is never promoted.
	if ck, err := q.R.Cookie(sessionCookie); err == nil {
		a.acc.EndSession(q.R.Context(), ck.Value)
	}
	secret, err := a.acc.StartSession(q.R.Context(), id, rpc.ClientIP(q.R), q.R.UserAgent())
	if err != nil {
		q.fail(err)
		return
	}
	a.setCookie(q.W, sessionCookie, secret, int(a.acc.Options().MaxAge/time.Second))
	http.Redirect(q.W, q.R, next, http.StatusSeeOther)
}

func (a *App) signoutForm(q *Request) {
	q.Render(http.StatusOK, "signout", q.newView("Sign out", "", nil))
}

func (a *App) signout(q *Request) {
	if ck, err := q.R.Cookie(sessionCookie); err == nil {
		if err := a.acc.EndSession(q.R.Context(), ck.Value); err != nil {
			q.fail(err)
			return
		}
	}
	a.clearCookie(q.W, sessionCookie)
	q.Redirect("/app/signin", "You have signed out.")
}

type linkData struct {
	Email, Action string
}

func (a *App) linkForm(q *Request) {
	id, err := a.acc.Link(q.R.Context(), q.R.PathValue("token"))
	if errors.Is(err, accounts.ErrLinkInvalid) {
		q.message(http.StatusNotFound, "Link expired", "This sign-in link has expired or has already been used. Ask an Organization Admin for a new one.")
		return
	}
	if err != nil {
		q.fail(err)
		return
	}
	q.W.Header().Set("Referrer-Policy", "no-referrer")
	q.Render(http.StatusOK, "link", q.newView("Choose a password", "", linkData{Email: id.User.Email, Action: q.R.URL.Path}))
}

func (a *App) useLink(q *Request) {
	q.W.Header().Set("Referrer-Policy", "no-referrer")
	secret := q.R.PathValue("token")
	pw, confirm := q.Form.Get("password"), q.Form.Get("confirm")
	id, err := a.acc.Link(q.R.Context(), secret)
	if errors.Is(err, accounts.ErrLinkInvalid) {
		q.message(http.StatusNotFound, "Link expired", "This sign-in link has expired or has already been used. Ask an Organization Admin for a new one.")
		return
	}
	if err != nil {
		q.fail(err)
		return
	}
	v := q.newView("Choose a password", "", linkData{Email: id.User.Email, Action: q.R.URL.Path})
	if pw != confirm {
		q.Render(http.StatusUnprocessableEntity, "link", v.fieldError("confirm", "The two passwords are not the same."))
		return
	}
	id, err = a.acc.UseLink(q.R.Context(), secret, pw)
	if errors.Is(err, accounts.ErrWeakPassword) {
		q.Render(http.StatusUnprocessableEntity, "link", v.fieldError("password", sentenceOf(err)))
		return
	}
	if errors.Is(err, accounts.ErrLinkInvalid) {
		q.message(http.StatusNotFound, "Link expired", "This sign-in link has expired or has already been used. Ask an Organization Admin for a new one.")
		return
	}
	if err != nil {
		q.fail(err)
		return
	}
	a.setFlash(q.W, flash{Message: "Your password is set. Welcome to Ashlar."})
	a.startSession(q, id, "/app/")
}

// sentenceOf turns a wrapped ErrWeakPassword into the sentence after it.
func sentenceOf(err error) string {
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, ": "); ok {
		msg = after
	}
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}
