package webapp

import (
	"net/http"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
)

// module is a row of the API key permission grid, laid out as Ashby's
// admin lays it out: one row per module, with its Read and Write (and,
// for candidates, Delete) permissions.
type module struct {
	Label               string
	Read, Write, Delete ashby.Permission
}

var moduleLabels = map[string]string{
	"apiKeys": "API keys and webhooks", "approvals": "Approvals", "candidates": "Candidates",
	"hiringProcessMetadata": "Hiring process", "interviews": "Interviews", "jobs": "Jobs", "offers": "Offers",
	"organization": "Organization", "reports": "Reports", "notetaker": "Notetaker", "auditLogs": "Audit logs", "sourcing": "Sourcing",
}

// modules groups every permission by module, in AllPermissions' order.
func modules() []module {
	var out []module
	at := map[string]int{}
	for _, p := range ashby.AllPermissions {
		s := string(p)
		var name, access string
		for _, suffix := range []string{"Read", "Write", "Delete"} {
			if m, ok := strings.CutSuffix(s, suffix); ok {
				name, access = m, suffix
				break
			}
		}
		i, ok := at[name]
		if !ok {
			i = len(out)
			at[name] = i
			label := moduleLabels[name]
			if label == "" {
				label = name
			}
			out = append(out, module{Label: label})
		}
		switch access {
		case "Read":
			out[i].Read = p
		case "Write":
			out[i].Write = p
		case "Delete":
			out[i].Delete = p
		}
	}
	return out
}

type keysData struct {
	Keys    []ashby.APIKey
	Modules []module
	Active  int
}

func (a *App) keysView(q *Request) (*view, bool) {
	d := &keysData{Modules: modules()}
	if err := q.Invoke("apiKey.list", map[string]bool{"includeRevoked": true}, &d.Keys); err != nil {
		q.fail(err)
		return nil, false
	}
	for _, k := range d.Keys {
		if k.RevokedAt == nil {
			d.Active++
		}
	}
	return q.newView("API keys", "/app/settings/api-keys", d), true
}

func (a *App) apiKeys(q *Request) {
	if v, ok := a.keysView(q); ok {
		q.Render(http.StatusOK, "apikeys", v)
	}
}

func (a *App) apiKeyCreate(q *Request) {
	var k ashby.APIKey
	err := q.Invoke("apiKey.create", map[string]any{"title": q.Form.Get("title"), "permissions": q.Form["permissions"]}, &k)
	if err != nil {
		if !correctable(err) {
			q.fail(err)
			return
		}
		v, ok := a.keysView(q)
		if !ok {
			return
		}
		q.Render(http.StatusUnprocessableEntity, "apikeys", v.withForm(q.Form, err, map[string]string{"title": "title", "permissions": "permissions"}))
		return
	}
	q.RedirectSecret("/app/settings/api-keys", "API key “"+k.Title+"” created. Copy it now: it will not be shown again.", k.Secret)
}

func (a *App) apiKeyRevoke(q *Request) {
	id, ok := q.id("id")
	if !ok {
		return
	}
	var k ashby.APIKey
	if err := q.Invoke("apiKey.revoke", map[string]string{"apiKeyId": id}, &k); err != nil {
		q.fail(err)
		return
	}
	q.Redirect("/app/settings/api-keys", "API key “"+k.Title+"” revoked. Requests made with it are refused from now on.")
}
