package webapp

import (
	"errors"
	"net/http"
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
	Jobs             []ashby.Job
}

func (a *App) home(q *Request) {
	d := homeData{CanSeeCandidates: slices.Contains(candidateViewers, q.Role())}
	if d.CanSeeCandidates {
		d.Query = strings.TrimSpace(q.R.URL.Query().Get("q"))
		if d.Query != "" {
			d.Searched = true
			req := map[string]string{"name": d.Query}
			if strings.Contains(d.Query, "@") {
				req = map[string]string{"email": d.Query}
			}
			if err := q.Invoke("candidate.search", req, &d.Results); err != nil {
				q.fail(err)
				return
			}
			if q.Role() == accounts.External {
				d.Results = slices.DeleteFunc(d.Results, func(c ashby.Candidate) bool { return !creditedTo(&c, q.Session.User.ID) })
			}
		}
		if _, err := q.List("job.list", map[string]any{"status": []string{"Open"}, "limit": 50}, &d.Jobs); err != nil {
			q.fail(err)
			return
		}
	}
	q.Render(http.StatusOK, "home", q.newView("Home", "home", d))
}

// creditedTo reports whether a candidate was added by (credited to) a
// user: the candidates an External Recruiter may see.
func creditedTo(c *ashby.Candidate, userID string) bool {
	return c.CreditedToUser != nil && c.CreditedToUser.ID == userID
}

type candidateData struct {
	C    *ashby.Candidate
	Apps []ashby.Application
}

func (a *App) candidate(q *Request) {
	id, ok := q.id("candidateId")
	if !ok {
		return
	}
	var c ashby.Candidate
	if err := q.Invoke("candidate.info", map[string]string{"id": id}, &c); err != nil {
		q.fail(err)
		return
	}
	if q.Role() == accounts.External && !creditedTo(&c, q.Session.User.ID) {
		q.notFound()
		return
	}
	d := candidateData{C: &c}
	for i, appID := range c.ApplicationIDs {
		if i == 50 {
			break
		}
		var app ashby.Application
		if err := q.Invoke("application.info", map[string]string{"applicationId": appID}, &app); err != nil {
			if ae, ok := ashby.AsError(err); ok && strings.HasSuffix(ae.Code, "_not_found") {
				continue
			}
			q.fail(err)
			return
		}
		d.Apps = append(d.Apps, app)
	}
	q.Render(http.StatusOK, "candidate", q.newView(c.Name, "candidates", d))
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
