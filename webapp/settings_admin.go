package webapp

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/ashlarhq/ashlar/accounts"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/audit"
)

// Partners and job feeds.

type partnersData struct {
	Partners []ashby.PartnerIntegration
	Feeds    []ashby.JobFeed
}

func (a *App) partnersView(q *Request) (*view, bool) {
	d := &partnersData{}
	if _, err := q.List("partnerIntegration.list", map[string]any{"limit": 100}, &d.Partners); err != nil {
		q.fail(err)
		return nil, false
	}
	if err := q.Invoke("jobFeed.list", map[string]any{}, &d.Feeds); err != nil {
		q.fail(err)
		return nil, false
	}
	v := q.newView("Partners", "/app/settings/partners", d)
	v.values = url.Values{"assessments": {"on"}}
	return v, true
}

func (a *App) partners(q *Request) {
	if v, ok := a.partnersView(q); ok {
		q.Render(http.StatusOK, "partners", v)
	}
}

func (a *App) partnerCreate(q *Request) {
	assess := q.Form.Get("assessments") == "on"
	req := map[string]any{"title": q.Form.Get("title"), "baseUrl": strings.TrimSpace(q.Form.Get("url")), "partnerKey": q.Form.Get("key"),
		"assessments": assess, "workflows": q.Form.Get("workflows") == "on", "createApiKey": q.Form.Get("createKey") == "on"}
	var p ashby.PartnerIntegration
	if err := q.Invoke("partnerIntegration.create", req, &p); err != nil {
		if !correctable(err) {
			q.fail(err)
			return
		}
		if v, ok := a.partnersView(q); ok {
			q.Render(http.StatusUnprocessableEntity, "partners", v.withForm(q.Form, err, map[string]string{"title": "title", "baseUrl": "url", "assessments": "assessments"}))
		}
		return
	}
	if p.APIKey != "" {
		q.RedirectSecret("/app/settings/partners", "Partner “"+p.Title+"” added, with an API key for its callbacks. Give the partner this key now: it will not be shown again.", p.APIKey)
		return
	}
	q.Redirect("/app/settings/partners", "Partner “"+p.Title+"” added.")
}

func (a *App) partnerEnabled(q *Request) {
	id, ok := q.id("id")
	if !ok {
		return
	}
	on := q.Form.Get("enabled") == "true"
	var p ashby.PartnerIntegration
	if err := q.Invoke("partnerIntegration.update", map[string]any{"partnerIntegrationId": id, "enabled": on}, &p); err != nil {
		q.fail(err)
		return
	}
	msg := "Partner “" + p.Title + "” turned on."
	if !on {
		msg = "Partner “" + p.Title + "” turned off: it is no longer called."
	}
	q.Redirect("/app/settings/partners", msg)
}

func (a *App) partnerDelete(q *Request) {
	id, ok := q.id("id")
	if !ok {
		return
	}
	if err := q.Invoke("partnerIntegration.delete", map[string]any{"partnerIntegrationId": id}, nil); err != nil {
		q.fail(err)
		return
	}
	q.Redirect("/app/settings/partners", "Partner removed.")
}

func (a *App) feedOpt(q *Request) {
	id, ok := q.id("id")
	if !ok {
		return
	}
	endpoint := "jobFeed.optOut"
	if q.Form.Get("optIn") == "true" {
		endpoint = "jobFeed.optIn"
	}
	var f ashby.JobFeed
	if err := q.Invoke(endpoint, map[string]string{"jobFeedId": id}, &f); err != nil {
		q.fail(err)
		return
	}
	msg := "Your published postings are now in the " + f.Title + " feed."
	if !f.OptedIn {
		msg = "Your postings are no longer in the " + f.Title + " feed."
	}
	q.Redirect("/app/settings/partners", msg)
}

// Users.

type userRow struct {
	U       ashby.User
	Account *accounts.Account
}

type usersData struct {
	Users []userRow
	Roles []accounts.Role
}

func (a *App) usersView(q *Request) (*view, bool) {
	d := &usersData{Roles: accounts.Roles}
	var us []ashby.User
	req := map[string]any{"includeDeactivated": true, "limit": 100}
	for {
		var page []ashby.User
		next, err := q.List("user.list", req, &page)
		if err != nil {
			q.fail(err)
			return nil, false
		}
		us = append(us, page...)
		if next == "" || len(us) >= 2000 {
			break
		}
		req["cursor"] = next
	}
	accs, err := a.acc.List(q.R.Context(), q.Session.OrgID)
	if err != nil {
		q.fail(err)
		return nil, false
	}
	for _, u := range us {
		d.Users = append(d.Users, userRow{U: u, Account: accs[u.ID]})
	}
	v := q.newView("Users", "/app/settings/users", d)
	v.values = url.Values{"role": {string(accounts.Limited)}}
	return v, true
}

func (a *App) users(q *Request) {
	if v, ok := a.usersView(q); ok {
		q.Render(http.StatusOK, "users", v)
	}
}

var userFields = map[string]string{"firstName": "firstName", "lastName": "lastName", "email": "email", "globalRole": "role"}

func (a *App) userCreate(q *Request) {
	email := strings.TrimSpace(q.Form.Get("email"))
	if email != "" {
		other, err := a.acc.EmailInOtherOrg(q.R.Context(), q.Session.OrgID, email)
		if err != nil {
			q.fail(err)
			return
		}
		if other {
			if v, ok := a.usersView(q); ok {
				v.values = q.Form
				q.Render(http.StatusUnprocessableEntity, "users", v.fieldError("email", "This email address already signs in to another organization. An address signs in to one organization only."))
			}
			return
		}
	}
	var u ashby.User
	err := q.Invoke("user.create", map[string]any{"firstName": strings.TrimSpace(q.Form.Get("firstName")), "lastName": strings.TrimSpace(q.Form.Get("lastName")),
		"email": email, "globalRole": q.Form.Get("role")}, &u)
	if err != nil {
		if !correctable(err) {
			q.fail(err)
			return
		}
		if v, ok := a.usersView(q); ok {
			q.Render(http.StatusUnprocessableEntity, "users", v.withForm(q.Form, err, userFields))
		}
		return
	}
	link, exp, err := a.link(q, &u)
	if err != nil {
		q.fail(err)
		return
	}
	q.RedirectSecret("/app/settings/users/"+u.ID, "User "+u.Email+" created. Send them this sign-in link, which works once and expires "+exp+"; it lets them choose a password.", link)
}

func (a *App) link(q *Request, u *ashby.User) (string, string, error) {
	secret, exp, err := a.acc.CreateLink(q.R.Context(), q.Session.OrgID, u)
	if err != nil {
		return "", "", err
	}
	return a.baseURL + accounts.LinkPath + secret, exp.In(q.loc).Format("2 Jan 2006 15:04 MST"), nil
}

type userData struct {
	U       ashby.User
	Account *accounts.Account
	Roles   []accounts.Role
	Self    bool
}

func (a *App) userView(q *Request, id string) (*view, bool) {
	d := &userData{Roles: accounts.Roles, Self: id == q.Session.User.ID}
	if err := q.Invoke("user.info", map[string]string{"userId": id}, &d.U); err != nil {
		q.fail(err)
		return nil, false
	}
	acc, err := a.acc.Get(q.R.Context(), q.Session.OrgID, id)
	if err != nil && !errors.Is(err, accounts.ErrNoAccount) {
		q.fail(err)
		return nil, false
	}
	d.Account = acc
	v := q.newView(d.U.FirstName+" "+d.U.LastName, "/app/settings/users", d)
	v.values = url.Values{"role": {d.U.GlobalRole}}
	return v, true
}

func (a *App) user(q *Request) {
	id, ok := q.id("id")
	if !ok {
		return
	}
	if v, ok := a.userView(q, id); ok {
		q.Render(http.StatusOK, "user", v)
	}
}

func (a *App) userRole(q *Request) {
	id, ok := q.id("id")
	if !ok {
		return
	}
	var u ashby.User
	if err := q.Invoke("user.update", map[string]any{"userId": id, "globalRole": q.Form.Get("role")}, &u); err != nil {
		if !correctable(err) {
			q.fail(err)
			return
		}
		if v, ok := a.userView(q, id); ok {
			q.Render(http.StatusUnprocessableEntity, "user", v.withForm(q.Form, err, map[string]string{"globalRole": "role", "userId": "role"}))
		}
		return
	}
	q.Redirect("/app/settings/users/"+id, u.FirstName+" "+u.LastName+" is now "+u.GlobalRole+". This applies to their next page.")
}

func (a *App) userEnabled(q *Request) {
	id, ok := q.id("id")
	if !ok {
		return
	}
	on := q.Form.Get("enabled") == "true"
	var u ashby.User
	if err := q.Invoke("user.update", map[string]any{"userId": id, "isEnabled": on}, &u); err != nil {
		q.fail(err)
		return
	}
	msg := u.Email + " is active again and can sign in."
	if !on {
		msg = u.Email + " is deactivated: they cannot sign in, and their sessions have ended."
	}
	q.Redirect("/app/settings/users/"+id, msg)
}

func (a *App) userLink(q *Request) {
	id, ok := q.id("id")
	if !ok {
		return
	}
	var u ashby.User
	if err := q.Invoke("user.info", map[string]string{"userId": id}, &u); err != nil {
		q.fail(err)
		return
	}
	if !u.IsEnabled {
		q.message(http.StatusUnprocessableEntity, "User is deactivated", "A deactivated user cannot sign in. Reactivate them first.")
		return
	}
	link, exp, err := a.link(q, &u)
	if err != nil {
		q.fail(err)
		return
	}
	q.RedirectSecret("/app/settings/users/"+id, "New sign-in link for "+u.Email+": it works once and expires "+exp+".", link)
}

// Organization.

type orgData struct {
	O      ashby.Organization
	Boards []ashby.JobBoardSettings
	Emails []ashby.CommunicationTemplate
}

func (a *App) orgView(q *Request) (*view, bool) {
	d := &orgData{}
	if err := q.Invoke("organization.info", map[string]any{}, &d.O); err != nil {
		q.fail(err)
		return nil, false
	}
	var boards []ashby.JobBoard
	if _, err := q.List("jobBoard.list", map[string]any{}, &boards); err != nil {
		q.fail(err)
		return nil, false
	}
	for _, b := range boards {
		var s ashby.JobBoardSettings
		if err := q.Invoke("jobBoard.info", map[string]string{"jobBoardId": b.ID}, &s); err != nil {
			q.fail(err)
			return nil, false
		}
		d.Boards = append(d.Boards, s)
	}
	var err error
	if _, d.Emails, err = q.archiveChoices(); err != nil {
		q.fail(err)
		return nil, false
	}
	v := q.newView("Organization", "/app/settings/organization", d)
	v.values = url.Values{"name": {d.O.Name}, "timezone": {d.O.Timezone}, "confirmation": {d.O.ApplicationConfirmationEmailTemplateID}}
	return v, true
}

func (a *App) organization(q *Request) {
	if v, ok := a.orgView(q); ok {
		q.Render(http.StatusOK, "organization", v)
	}
}

func (a *App) organizationUpdate(q *Request) {
	req := map[string]any{"name": q.Form.Get("name"), "timezone": strings.TrimSpace(q.Form.Get("timezone"))}
	if _, ok := q.Form["confirmation"]; ok {
		req["applicationConfirmationEmailTemplateId"] = idParam(q.Form.Get("confirmation"))
	}
	if err := q.Invoke("organization.update", req, nil); err != nil {
		if !correctable(err) {
			q.fail(err)
			return
		}
		if v, ok := a.orgView(q); ok {
			q.Render(http.StatusUnprocessableEntity, "organization", v.withForm(q.Form, err, map[string]string{"name": "name", "timezone": "timezone",
				"applicationConfirmationEmailTemplateId": "confirmation"}))
		}
		return
	}
	q.Redirect("/app/settings/organization", "Organization saved.")
}

func (a *App) boardTheme(q *Request) {
	id, ok := q.id("id")
	if !ok {
		return
	}
	theme := map[string]string{"primaryColor": q.Form.Get("color"), "logoUrl": strings.TrimSpace(q.Form.Get("logo"))}
	if err := q.Invoke("jobBoard.update", map[string]any{"jobBoardId": id, "theme": theme}, nil); err != nil {
		if !correctable(err) {
			q.fail(err)
			return
		}
		if v, ok := a.orgView(q); ok {
			// The organization's own fields keep their values.
			form := url.Values{"name": v.values["name"], "timezone": v.values["timezone"]}
			q.Render(http.StatusUnprocessableEntity, "organization", v.withForm(form, err, map[string]string{}))
		}
		return
	}
	q.Redirect("/app/settings/organization", "Careers site appearance saved.")
}

// Audit log.

type auditData struct {
	Entries                               []ashby.AuditLogEntry
	Actors                                []actorOption
	Types                                 []string
	Actor, Action, Type, Object, From, To string
	Next                                  string
}

type actorOption struct{ ID, Label string }

// lowerFirst is a target type as categories spell it (Job → job).
func lowerFirst(s string) string {
	r := []rune(s)
	if len(r) > 0 {
		r[0] = unicode.ToLower(r[0])
	}
	return string(r)
}

func (a *App) auditLog(q *Request) {
	qs := q.R.URL.Query()
	d := auditData{Types: audit.TargetTypes(), Actor: qs.Get("actor"), Action: qs.Get("action"), Type: qs.Get("type"),
		Object: strings.TrimSpace(qs.Get("object")), From: qs.Get("from"), To: qs.Get("to")}
	// Actors to filter by: the organization's users and API keys.
	var us []ashby.User
	if _, err := q.List("user.list", map[string]any{"includeDeactivated": true, "limit": 100}, &us); err != nil {
		q.fail(err)
		return
	}
	for _, u := range us {
		d.Actors = append(d.Actors, actorOption{ID: u.ID, Label: u.FirstName + " " + u.LastName + " (user)"})
	}
	var keys []ashby.APIKey
	if err := q.Invoke("apiKey.list", map[string]bool{"includeRevoked": true}, &keys); err != nil {
		q.fail(err)
		return
	}
	for _, k := range keys {
		d.Actors = append(d.Actors, actorOption{ID: k.ID, Label: k.Title + " (API key)"})
	}
	if d.From == "" && d.To == "" {
		d.From = time.Now().In(q.loc).AddDate(0, 0, -7).Format(time.DateOnly)
	}
	req := map[string]any{"limit": 50}
	if d.From != "" {
		req["startDate"] = d.From
	}
	if d.To != "" {
		req["endDate"] = d.To
	}
	if d.Actor != "" {
		req["actorIds"] = []string{d.Actor}
	}
	if d.Object != "" {
		req["targetIds"] = []string{d.Object}
	}
	actions := []string{audit.ActionCreated, audit.ActionUpdated, audit.ActionDeleted}
	if d.Action != "" && !slices.Contains(actions, d.Action) {
		d.Action = ""
	}
	switch {
	case d.Type != "" && d.Action != "":
		req["categories"] = []string{lowerFirst(d.Type) + "." + d.Action}
	case d.Type != "":
		req["targetTypes"] = []string{d.Type}
	case d.Action != "":
		var cats []string
		for _, t := range d.Types {
			cats = append(cats, lowerFirst(t)+"."+d.Action)
		}
		req["categories"] = cats
	}
	if c := qs.Get("cursor"); c != "" {
		req["cursor"] = c
	}
	v := q.newView("Audit log", "/app/settings/audit-log", &d)
	v.values = qs
	next, err := q.List("auditLog.list", req, &d.Entries)
	if err != nil {
		if correctable(err) {
			v.withForm(qs, err, map[string]string{"startDate": "from", "endDate": "to", "targetIds": "object", "actorIds": "actor"})
			q.Render(http.StatusUnprocessableEntity, "auditlog", v)
			return
		}
		q.fail(err)
		return
	}
	if next != "" {
		nq := url.Values{}
		for _, k := range []string{"actor", "action", "type", "object", "from", "to"} {
			if x := qs.Get(k); x != "" {
				nq.Set(k, x)
			}
		}
		if nq.Get("from") == "" && d.From != "" {
			nq.Set("from", d.From)
		}
		nq.Set("cursor", next)
		d.Next = "/app/settings/audit-log?" + nq.Encode()
	}
	q.Render(http.StatusOK, "auditlog", v)
}
