package ashby

import "slices"

// WebhookSetting is a webhook subscription (https://developers.ashbyhq.com/docs/setting-up-webhooks): every event of
// WebhookType in the organization is POSTed to RequestURL.
//
// SecretToken is returned only by webhook.create and by a webhook.update
// that sets it (docs/webhooks.md); webhook.info, as Ashby's, and Ashlar's
// webhook.list omit it.
type WebhookSetting struct {
	ID          string `json:"id"`
	Enabled     bool   `json:"enabled"`
	RequestURL  string `json:"requestUrl"`
	SecretToken string `json:"secretToken,omitempty"`
	WebhookType string `json:"webhookType"`
	// StandardWebhooks (an Ashlar extension) adds the Standard Webhooks
	// headers (webhook-id, webhook-timestamp, webhook-signature) to every
	// delivery, besides Ashby-Signature.
	StandardWebhooks bool `json:"standardWebhooks,omitempty"`
	// StandardWebhooksSecret is the secret a Standard Webhooks library
	// verifies with ("whsec_" + base64 of the secret token). Like the
	// token, it is returned only by create and an update that sets it.
	StandardWebhooksSecret string `json:"standardWebhooksSecret,omitempty"`
}

// WebhookTypesEnum lists the event types a webhook setting can subscribe
// to, comma-separated for `enum` struct tags. It is every event
// Ashby documents a payload for (https://developers.ashbyhq.com/reference/applicationsubmitwebhook and the pages after it), a superset of the 17 values of the spec's webhookType
// enum: Ashby sends payloads for the others too (jobCreate, jobUpdate,
// openingCreate, signatureRequestUpdate, jobPostingDelete, the take-home
// events), so integrations may subscribe to them.
const WebhookTypesEnum = "applicationSubmit,applicationUpdate,candidateHire,candidateStageChange,candidateDelete,candidateMerge," +
	"interviewPlanTransition,interviewScheduleCreate,interviewScheduleUpdate,jobCreate,jobUpdate," +
	"jobPostingUpdate,jobPostingPublish,jobPostingUnpublish,jobPostingDelete,offerCreate,offerUpdate,offerDelete," +
	"openingCreate,pushToHRIS,surveySubmit,signatureRequestUpdate," +
	"takeHomeAssignmentAssigned,takeHomeAssignmentSubmitted,takeHomeAssignmentCompleted,takeHomeAssignmentCancelled,ping"

// WebhookTypes is WebhookTypesEnum as a list.
var WebhookTypes = splitComma(WebhookTypesEnum)

// ValidWebhookType reports whether t is an event type settings can subscribe to.
func ValidWebhookType(t string) bool { return slices.Contains(WebhookTypes, t) }

// CodeWebhookNotFound is webhook.info/update/delete's error for an unknown id.
const CodeWebhookNotFound = "webhook_not_found"

// CodeDuplicateWebhook is webhook.create's error for a (requestUrl,
// webhookType) pair that already exists. Ashby's message for it is
// "Duplicate webhook"; integrations match on that text, so the message
// starts with it.
const CodeDuplicateWebhook = "duplicate_webhook"

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
