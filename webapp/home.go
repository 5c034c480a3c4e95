package webapp

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/ashlarhq/ashlar/accounts"
	"github.com/ashlarhq/ashlar/ashby"
)

type homeData struct {
	Query            string
	Searched         bool
	Results          []ashby.Candidate
	CanSeeCandidates bool
	Recruiter        bool
	Jobs             []ashby.Job
	Review           int
	Interviews       *interviewsData
}

func (a *App) home(q *Request) {
	d := homeData{CanSeeCandidates: slices.Contains(candidateViewers, q.Role()), Recruiter: slices.Contains(recruiters, q.Role())}
	if d.CanSeeCandidates {
		// The old home search (?q=) now lives at /app/search.
		if s := strings.TrimSpace(q.R.URL.Query().Get("q")); s != "" {
			http.Redirect(q.W, q.R, "/app/search?q="+url.QueryEscape(s), http.StatusSeeOther)
			return
		}
		if _, err := q.List("job.list", map[string]any{"status": []string{"Open"}, "limit": 50}, &d.Jobs); err != nil {
			q.fail(err)
			return
		}
	}
	if d.Recruiter {
		var err error
		if _, d.Review, err = a.svc.ReviewQueue(q.R.Context(), q.Session.OrgID, "", nil); err != nil {
			q.fail(err)
			return
		}
	}
	var err error
	if d.Interviews, err = a.myInterviews(q); err != nil {
		q.fail(err)
		return
	}
	if len(d.Interviews.Upcoming) > 5 {
		d.Interviews.Upcoming = d.Interviews.Upcoming[:5]
	}
	q.Render(http.StatusOK, "home", q.newView("Home", "home", d))
}

// creditedTo reports whether a candidate was added by (credited to) a
// user: the candidates an External Recruiter may see.
func creditedTo(c *ashby.Candidate, userID string) bool {
	return c.CreditedToUser != nil && c.CreditedToUser.ID == userID
}

func (a *App) account(q *Request) {
	acc, err := a.acc.Get(q.R.Context(), q.Session.OrgID, q.Session.User.ID)
	if err != nil && !errors.Is(err, accounts.ErrNoAccount) {
		q.fail(err)
		return
	}
	q.Render(http.StatusOK, "account", q.newView("Your account", "account", acc))
}

func (a *App) changePassword(q *Request) {
	cur, pw, confirm := q.Form.Get("current"), q.Form.Get("password"), q.Form.Get("confirm")
	acc, _ := a.acc.Get(q.R.Context(), q.Session.OrgID, q.Session.User.ID)
	v := q.newView("Your account", "account", acc)
	if acc != nil && acc.HasPassword {
		if _, err := a.acc.CheckPassword(q.R.Context(), q.Session.User.Email, cur); err != nil {
			v.fieldError("current", "Your current password is not correct.")
		}
	}
	if pw != confirm {
		v.fieldError("confirm", "The two new passwords are not the same.")
	}
	if len(v.Errors) == 0 {
		err := a.acc.SetPassword(q.R.Context(), q.Session.OrgID, q.Session.User, pw)
		if errors.Is(err, accounts.ErrWeakPassword) {
			v.fieldError("password", sentenceOf(err))
		} else if err != nil {
			q.fail(err)
			return
		} else {
			// Setting a password ended every session, this one included:
			// start a fresh one for this browser.
			a.setFlash(q.W, flash{Message: "Your password has been changed. You have been signed out everywhere else."})
			a.startSession(q, &q.Session.Identity, "/app/account")
			return
		}
	}
	q.Render(http.StatusUnprocessableEntity, "account", v)
}
