package webapp_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
	"github.com/ashlarhq/ashlar/webapp"
	"github.com/ashlarhq/ashlar/webhook"
)

// objects are one organization's records of every kind the admin console
// shows.
type objects struct {
	key, hook, delivery, posting, board, user, candidate, partner string
	job, application, event, tag, stage, email                    string
}

func (g *org) objects(t *testing.T) objects {
	var o objects
	var k ashby.APIKey
	g.invoke("apiKey.create", map[string]any{"title": "Org two's key", "permissions": []string{"candidatesRead"}}, &k)
	o.key = k.ID
	var h ashby.WebhookSetting
	g.invoke("webhook.create", map[string]any{"webhookType": "applicationSubmit", "requestUrl": "https://hooks.example.com/two", "secretToken": "0123456789abcdef0123456789abcdef"}, &h)
	o.hook = h.ID
	var ds []webhook.Delivery
	g.invoke("webhook.listDeliveries", map[string]any{"webhookId": h.ID}, &ds)
	if len(ds) == 0 {
		t.Fatal("webhook.create queued no ping")
	}
	o.delivery = ds[0].ID
	var plans []ashby.InterviewPlan
	g.invoke("interviewPlan.list", nil, &plans)
	var d ashby.Department
	g.invoke("department.create", map[string]any{"name": "Org two's team"}, &d)
	var l ashby.Location
	g.invoke("location.create", map[string]any{"name": "Org two's office", "type": "Location"}, &l)
	var job ashby.Job
	g.invoke("job.create", map[string]any{"title": "Org two's job", "teamId": d.ID, "locationId": l.ID, "defaultInterviewPlanId": plans[0].ID}, &job)
	var p ashby.JobPostingInfo
	g.invoke("jobPosting.create", map[string]any{"jobId": job.ID, "title": "Org two's posting", "descriptionHtml": "<p>Secret plans</p>",
		"applicationFormDefinition": map[string]any{"sections": []any{map[string]any{"fields": []any{
			map[string]any{"isRequired": true, "field": map[string]any{"type": "String", "path": "_systemfield_name", "title": "Name"}},
			map[string]any{"isRequired": true, "field": map[string]any{"type": "Email", "path": "_systemfield_email", "title": "Email"}}}}}}}, &p)
	o.posting = p.ID
	var boards []ashby.JobBoard
	g.invoke("jobBoard.list", nil, &boards)
	o.board = boards[0].ID
	o.user = g.admin.ID
	var c ashby.Candidate
	g.invoke("candidate.create", map[string]any{"name": "Org Two Candidate", "email": "two@example.com"}, &c)
	o.candidate = c.ID
	o.job = job.ID
	var app ashby.Application
	g.invoke("application.create", map[string]any{"candidateId": c.ID, "jobId": job.ID}, &app)
	o.application, o.stage = app.ID, app.CurrentInterviewStage.ID
	sched, _ := g.scheduleFor(app, g.admin)
	o.event = sched.InterviewEvents[0].ID
	var tag ashby.CandidateTag
	g.invoke("candidateTag.create", map[string]any{"title": "Org two's tag"}, &tag)
	g.invoke("candidate.addTag", map[string]any{"candidateId": c.ID, "tagId": tag.ID}, nil)
	o.tag = tag.ID
	var e struct {
		ID string `json:"id"`
	}
	g.invoke("candidate.sendEmail", map[string]any{"candidateId": c.ID, "subject": "Org two's secret email", "bodyHtml": "<p>Secret plans</p>"}, &e)
	o.email = e.ID
	var pi ashby.PartnerIntegration
	g.invoke("partnerIntegration.create", map[string]any{"title": "Org two's partner", "baseUrl": "https://partner.example.com/api"}, &pi)
	o.partner = pi.ID
	return o
}

// TestOtherOrganizationsObjectsAreNotFound: a user of one organization gets
// 404 for another's keys, webhooks, deliveries, postings, users,
// candidates and partners, whatever the URL, and changes none of them.
func TestOtherOrganizationsObjectsAreNotFound(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webapp.Options{})
		one, two := f.newOrg("One"), f.newOrg("Two")
		o := two.objects(t)
		b := f.browser()
		b.signIn(one.email)
		b.get("/app/")
		for _, p := range []string{
			"/app/settings/webhooks/" + o.hook, "/app/settings/webhooks/deliveries/" + o.delivery,
			"/app/settings/webhooks/deliveries?webhook=" + o.hook,
			"/app/settings/postings/" + o.posting, "/app/settings/postings/" + o.posting + "/form", "/app/settings/postings/" + o.posting + "/form/preview",
			"/app/settings/users/" + o.user, "/app/candidates/" + o.candidate,
			"/app/candidates/" + o.candidate + "/edit", "/app/candidates/" + o.candidate + "/anonymize", "/app/candidates/" + o.candidate + "/files/" + ashby.NewID(),
			"/app/jobs/" + o.job, "/app/applications/" + o.application + "/archive", "/app/review?job=" + o.job,
			"/app/interviews/" + o.event + "/feedback", "/app/interviews/" + o.event + "/resume",
			"/app/emails/" + o.email, "/app/candidates/" + o.candidate + "/email",
			"/app/settings/webhooks/not-a-uuid", "/app/candidates/..%2f..%2fetc",
		} {
			r := b.get(p)
			if r.status != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", p, r.status)
			}
			for _, secret := range []string{"Org two", "Org Two", "hooks.example.com", "Secret plans", "two-admin@example.com"} {
				if strings.Contains(r.body, secret) {
					t.Errorf("GET %s shows %q", p, secret)
				}
			}
		}
		for path, form := range map[string]url.Values{
			"/app/settings/api-keys/" + o.key + "/revoke":                    nil,
			"/app/settings/webhooks/" + o.hook:                               {"url": {"https://evil.example.com/"}},
			"/app/settings/webhooks/" + o.hook + "/disable":                  nil,
			"/app/settings/webhooks/" + o.hook + "/enable":                   nil,
			"/app/settings/webhooks/" + o.hook + "/ping":                     nil,
			"/app/settings/webhooks/" + o.hook + "/delete":                   nil,
			"/app/settings/webhooks/deliveries/" + o.delivery + "/redeliver": nil,
			"/app/settings/postings/" + o.posting:                            {"title": {"Pwned"}, "description": {"<p>pwned</p>"}},
			"/app/settings/postings/" + o.posting + "/status":                {"status": {"Published"}},
			"/app/settings/postings/" + o.posting + "/listed":                {"listed": {"false"}},
			"/app/settings/postings/" + o.posting + "/form":                  {"action": {"remove"}, "section": {"0"}, "index": {"0"}},
			"/app/settings/users/" + o.user + "/role":                        {"role": {"Limited Access"}},
			"/app/settings/users/" + o.user + "/enabled":                     {"enabled": {"false"}},
			"/app/settings/users/" + o.user + "/link":                        nil,
			"/app/settings/partners/" + o.partner + "/enabled":               {"enabled": {"false"}},
			"/app/settings/partners/" + o.partner + "/delete":                nil,
			"/app/settings/organization/boards/" + o.board:                   {"color": {"#ff0000"}},
			"/app/candidates/" + o.candidate + "/notes":                      {"note": {"pwned"}},
			"/app/candidates/" + o.candidate + "/tags":                       {"newTag": {"pwned"}},
			"/app/candidates/" + o.candidate + "/tags/" + o.tag + "/remove":  nil,
			"/app/candidates/" + o.candidate + "/edit":                       {"name": {"Pwned"}},
			"/app/candidates/" + o.candidate + "/anonymize":                  {"confirm": {"Org Two Candidate"}},
			"/app/jobs/" + o.job + "/move":                                   {"application": {o.application}, "stage": {o.stage}},
			"/app/applications/" + o.application + "/archive":                {"reason": {ashby.NewID()}},
			"/app/applications/" + o.application + "/stage":                  {"stage": {o.stage}},
			"/app/review/" + o.application:                                   {"action": {"advance"}, "stage": {o.stage}},
			"/app/interviews/" + o.event + "/feedback":                       {"overall_recommendation": {"4"}},
			"/app/candidates/" + o.candidate + "/email":                      {"subject": {"Pwned"}, "body": {"pwned"}},
			"/app/applications/" + o.application + "/survey":                 {"survey": {ashby.NewID()}},
		} {
			if r := b.post(path, form); r.status != http.StatusNotFound {
				t.Errorf("POST %s: %d, want 404\n%s", path, r.status, r.body)
			}
		}
		// Nothing of organization two changed.
		var keys []ashby.APIKey
		two.invoke("apiKey.list", map[string]any{}, &keys)
		var h ashby.WebhookSetting
		two.invoke("webhook.info", map[string]any{"webhookId": o.hook}, &h)
		var p ashby.JobPostingInfo
		two.invoke("jobPosting.info", map[string]any{"jobPostingId": o.posting, "includeUnpublishedJobPostings": true}, &p)
		var u ashby.User
		two.invoke("user.info", map[string]any{"userId": o.user}, &u)
		var pi ashby.PartnerIntegration
		two.invoke("partnerIntegration.info", map[string]any{"partnerIntegrationId": o.partner}, &pi)
		var ds []webhook.Delivery
		two.invoke("webhook.listDeliveries", map[string]any{"webhookId": o.hook}, &ds)
		var c ashby.Candidate
		two.invoke("candidate.info", map[string]any{"id": o.candidate}, &c)
		var notes []ashby.Note
		two.invoke("candidate.listNotes", map[string]any{"candidateId": o.candidate}, &notes)
		var fbs []ashby.ApplicationFeedback
		two.invoke("applicationFeedback.list", map[string]any{"applicationId": o.application}, &fbs)
		if app := two.app(o.application); c.Name != "Org Two Candidate" || len(c.Tags) != 1 || len(notes) != 0 || len(fbs) != 0 || app.Status != ashby.ApplicationLead {
			t.Fatalf("organization two's candidate changed: %+v, notes %d, feedback %d, application %s", c, len(notes), len(fbs), app.Status)
		}
		if len(keys) != 1 || !h.Enabled || h.RequestURL != "https://hooks.example.com/two" || p.Title != "Org two's posting" || p.Status != "Draft" ||
			!p.IsListed || len(p.ApplicationFormDefinition.Sections[0].Fields) != 2 || u.GlobalRole != "Organization Admin" || !u.IsEnabled || !pi.Enabled || len(ds) != 1 {
			t.Fatalf("organization two changed: keys %d, hook %+v, posting %q %s listed=%v, user %s %v, partner %v, deliveries %d",
				len(keys), h, p.Title, p.Status, p.IsListed, u.GlobalRole, u.IsEnabled, pi.Enabled, len(ds))
		}
		// Audit records: filtering by another organization's object or
		// user finds nothing, and no page lists them.
		for _, q := range []string{"?object=" + o.key, "?object=" + o.posting, "?actor=" + o.user, "?from=2000-01-01", ""} {
			r := b.get("/app/settings/audit-log" + q)
			if r.status != http.StatusOK {
				t.Errorf("audit log %s: %d", q, r.status)
			}
			if strings.Contains(r.body, "Org two") || strings.Contains(r.body, "Org Two") {
				t.Errorf("audit log %s shows organization two's records", q)
			}
		}
		for _, p := range []string{"/app/settings/api-keys", "/app/settings/webhooks", "/app/settings/webhooks/deliveries", "/app/settings/postings", "/app/settings/users", "/app/settings/partners", "/app/settings/organization", "/app/outbox", "/app/jobs", "/app/review"} {
			r := b.get(p)
			if r.status != http.StatusOK || strings.Contains(r.body, "Org two") || strings.Contains(r.body, "hooks.example.com") || strings.Contains(r.body, "two-admin@") {
				t.Errorf("%s (%d) lists organization two's objects", p, r.status)
			}
		}
	})
}
