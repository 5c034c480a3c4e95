package webapp

import (
	"net/http"

	"github.com/ashlarhq/ashlar/accounts"
)

// Who may open what (docs/web-app.md has the table).
var (
	admins            = []accounts.Role{accounts.Admin}
	adminsAndElevated = []accounts.Role{accounts.Admin, accounts.Elevated}
	candidateViewers  = []accounts.Role{accounts.Admin, accounts.Elevated, accounts.External}
	// recruiters work the pipeline: jobs, stages, the review queue and
	// the actions on a candidate's page.
	recruiters = adminsAndElevated
)

// settingsSections are the admin console's sections, in menu order.
var settingsSections = []struct {
	label, url string
	roles      []accounts.Role
}{
	{"API keys", "/app/settings/api-keys", admins},
	{"Webhooks", "/app/settings/webhooks", admins},
	{"Job postings", "/app/settings/postings", adminsAndElevated},
	{"Partners", "/app/settings/partners", admins},
	{"Users", "/app/settings/users", admins},
	{"Organization", "/app/settings/organization", admins},
	{"Audit log", "/app/settings/audit-log", admins},
}

// pages is the app's route table: adding a page is adding a line here
// and a handler with its template.
func (a *App) pages() []page {
	return []page{
		{pattern: "GET /app/signin", public: true, handle: a.signinForm},
		{pattern: "POST /app/signin", public: true, handle: a.signin},
		{pattern: "GET /app/signin/link/{token}", public: true, handle: a.linkForm},
		{pattern: "POST /app/signin/link/{token}", public: true, handle: a.useLink},
		{pattern: "GET /app/signin/oidc", public: true, handle: a.oidcStart},
		{pattern: "GET /app/signin/oidc/callback", public: true, handle: a.oidcCallback},
		{pattern: "GET /app/signout", public: true, handle: a.signoutForm},
		{pattern: "POST /app/signout", public: true, handle: a.signout},

		{pattern: "GET /app/{$}", handle: a.home},
		{pattern: "GET /app/account", handle: a.account},
		{pattern: "POST /app/account/password", handle: a.changePassword},
		{pattern: "GET /app/search", roles: candidateViewers, handle: a.search},
		{pattern: "GET /app/candidates/{candidateId}", roles: candidateViewers, handle: a.candidate},
		{pattern: "GET /app/candidates/{candidateId}/files/{fileId}", roles: candidateViewers, handle: a.candidateFile},
		{pattern: "POST /app/candidates/{candidateId}/notes", roles: recruiters, handle: a.candidateNote},
		{pattern: "POST /app/candidates/{candidateId}/tags", roles: recruiters, handle: a.candidateTagAdd},
		{pattern: "POST /app/candidates/{candidateId}/tags/{tagId}/remove", roles: recruiters, handle: a.candidateTagRemove},
		{pattern: "GET /app/candidates/{candidateId}/edit", roles: recruiters, handle: a.candidateEditForm},
		{pattern: "POST /app/candidates/{candidateId}/edit", roles: recruiters, handle: a.candidateEdit},
		{pattern: "POST /app/candidates/{candidateId}/applications", roles: recruiters, handle: a.candidateAddToJob},
		{pattern: "GET /app/candidates/{candidateId}/email", roles: recruiters, handle: a.composeForm},
		{pattern: "POST /app/candidates/{candidateId}/email", roles: recruiters, handle: a.compose},
		{pattern: "GET /app/emails/{emailId}", roles: candidateViewers, handle: a.emailDetail},
		{pattern: "GET /app/outbox", roles: admins, handle: a.outbox},
		{pattern: "POST /app/applications/{applicationId}/survey", roles: recruiters, handle: a.sendSurvey},
		{pattern: "GET /app/candidates/{candidateId}/anonymize", roles: admins, handle: a.anonymizeForm},
		{pattern: "POST /app/candidates/{candidateId}/anonymize", roles: admins, handle: a.anonymize},

		{pattern: "GET /app/jobs", roles: recruiters, handle: a.jobs},
		{pattern: "GET /app/jobs/{jobId}", roles: recruiters, handle: a.pipeline},
		{pattern: "POST /app/jobs/{jobId}/move", roles: recruiters, handle: a.pipelineMove},
		{pattern: "POST /app/jobs/{jobId}/bulk", roles: recruiters, handle: a.pipelineBulk},
		{pattern: "POST /app/applications/{applicationId}/stage", roles: recruiters, handle: a.applicationStage},
		{pattern: "GET /app/applications/{applicationId}/archive", roles: recruiters, handle: a.archiveForm},
		{pattern: "POST /app/applications/{applicationId}/archive", roles: recruiters, handle: a.archive},
		{pattern: "GET /app/review", roles: recruiters, handle: a.review},
		{pattern: "POST /app/review/{applicationId}", roles: recruiters, handle: a.reviewAct},

		{pattern: "GET /app/interviews", handle: a.interviews},
		{pattern: "GET /app/interviews/{eventId}/feedback", handle: a.feedbackForm},
		{pattern: "POST /app/interviews/{eventId}/feedback", handle: a.feedbackSubmit},
		{pattern: "GET /app/interviews/{eventId}/resume", handle: a.interviewResume},

		{pattern: "GET /app/settings/{$}", handle: a.settingsIndex},

		{pattern: "GET /app/settings/api-keys", roles: admins, handle: a.apiKeys},
		{pattern: "POST /app/settings/api-keys", roles: admins, handle: a.apiKeyCreate},
		{pattern: "POST /app/settings/api-keys/{id}/revoke", roles: admins, handle: a.apiKeyRevoke},

		{pattern: "GET /app/settings/webhooks", roles: admins, handle: a.webhooks},
		{pattern: "POST /app/settings/webhooks", roles: admins, handle: a.webhookCreate},
		{pattern: "GET /app/settings/webhooks/deliveries", roles: admins, handle: a.deliveries},
		{pattern: "GET /app/settings/webhooks/deliveries/{id}", roles: admins, handle: a.delivery},
		{pattern: "POST /app/settings/webhooks/deliveries/{id}/redeliver", roles: admins, handle: a.redeliver},
		{pattern: "GET /app/settings/webhooks/{id}", roles: admins, handle: a.webhook},
		{pattern: "POST /app/settings/webhooks/{id}", roles: admins, handle: a.webhookUpdate},
		{pattern: "POST /app/settings/webhooks/{id}/enable", roles: admins, handle: a.webhookEnable(true)},
		{pattern: "POST /app/settings/webhooks/{id}/disable", roles: admins, handle: a.webhookEnable(false)},
		{pattern: "POST /app/settings/webhooks/{id}/ping", roles: admins, handle: a.webhookPing},
		{pattern: "POST /app/settings/webhooks/{id}/delete", roles: admins, handle: a.webhookDelete},

		{pattern: "GET /app/settings/postings", roles: adminsAndElevated, handle: a.postings},
		{pattern: "GET /app/settings/postings/{id}", roles: adminsAndElevated, handle: a.posting},
		{pattern: "POST /app/settings/postings/{id}", roles: adminsAndElevated, handle: a.postingUpdate},
		{pattern: "POST /app/settings/postings/{id}/status", roles: adminsAndElevated, handle: a.postingStatus},
		{pattern: "POST /app/settings/postings/{id}/listed", roles: adminsAndElevated, handle: a.postingListed},
		{pattern: "GET /app/settings/postings/{id}/form", roles: adminsAndElevated, handle: a.formBuilder},
		{pattern: "POST /app/settings/postings/{id}/form", roles: adminsAndElevated, handle: a.formChange},
		{pattern: "GET /app/settings/postings/{id}/form/preview", roles: adminsAndElevated, handle: a.formPreview},

		{pattern: "GET /app/settings/partners", roles: admins, handle: a.partners},
		{pattern: "POST /app/settings/partners", roles: admins, handle: a.partnerCreate},
		{pattern: "POST /app/settings/partners/{id}/enabled", roles: admins, handle: a.partnerEnabled},
		{pattern: "POST /app/settings/partners/{id}/delete", roles: admins, handle: a.partnerDelete},
		{pattern: "POST /app/settings/feeds/{id}", roles: admins, handle: a.feedOpt},

		{pattern: "GET /app/settings/users", roles: admins, handle: a.users},
		{pattern: "POST /app/settings/users", roles: admins, handle: a.userCreate},
		{pattern: "GET /app/settings/users/{id}", roles: admins, handle: a.user},
		{pattern: "POST /app/settings/users/{id}/role", roles: admins, handle: a.userRole},
		{pattern: "POST /app/settings/users/{id}/enabled", roles: admins, handle: a.userEnabled},
		{pattern: "POST /app/settings/users/{id}/link", roles: admins, handle: a.userLink},

		{pattern: "GET /app/settings/organization", roles: admins, handle: a.organization},
		{pattern: "POST /app/settings/organization", roles: admins, handle: a.organizationUpdate},
		{pattern: "POST /app/settings/organization/boards/{id}", roles: admins, handle: a.boardTheme},

		{pattern: "GET /app/settings/audit-log", roles: admins, handle: a.auditLog},
	}
}

func (a *App) settingsIndex(q *Request) {
	nav := settingsNav(q.Role(), "")
	if len(nav) == 0 {
		q.forbidden()
		return
	}
	http.Redirect(q.W, q.R, nav[0].URL, http.StatusSeeOther)
}
