package api

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/webhook"
)

// Webhook settings (https://developers.ashbyhq.com/docs/setting-up-webhooks). Ashby has create, info, update and
// delete; Ashlar adds list (Ashby has none, so integrators cannot find
// their orphaned settings), ping, listDeliveries and redeliver.

func init() { register((*Service).webhookEndpoints) }

func (s *Service) webhookEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "webhook.create", Permission: ashby.APIKeysWrite, Summary: "Create a webhook setting; a ping is sent to its URL."}, s.webhookCreate),
		rpc.Object(rpc.Spec{Name: "webhook.info", Permission: ashby.APIKeysRead, Summary: "Fetch a webhook setting (without its secret token)."}, s.webhookInfo),
		rpc.Object(rpc.Spec{Name: "webhook.update", Permission: ashby.APIKeysWrite, Summary: "Enable or disable a webhook setting, or change its URL or secret token."}, s.webhookUpdate),
		rpc.Object(rpc.Spec{Name: "webhook.delete", Permission: ashby.APIKeysWrite, Summary: "Delete a webhook setting; its pending deliveries are cancelled."}, s.webhookDelete),
		rpc.List[ashby.WebhookSetting](rpc.Spec{Name: "webhook.list", Permission: ashby.APIKeysRead, Extension: true,
			Summary: "List the organization's webhook settings, enabled or not (without secret tokens)."}, s.webhookList),
		rpc.Object(rpc.Spec{Name: "webhook.ping", Permission: ashby.APIKeysWrite, Extension: true,
			Summary: "Send a ping event to a webhook setting's URL now; returns the queued delivery."}, s.webhookPing),
		rpc.List[webhook.Delivery](rpc.Spec{Name: "webhook.listDeliveries", Permission: ashby.APIKeysRead, Extension: true,
			Summary: "List recent webhook deliveries, newest first, with every attempt (time, status code, latency, start of the response, error)."}, s.webhookListDeliveries),
		rpc.Array[webhook.Delivery](rpc.Spec{Name: "webhook.redeliver", Permission: ashby.APIKeysWrite, Extension: true,
			Summary: "Send an event again: to one delivery's setting (deliveryId) or to every setting that received it (webhookActionId)."}, s.webhookRedeliver),
	}
}

// The enum tag must equal ashby.WebhookTypesEnum (a test checks it).
type webhookCreateRequest struct {
	WebhookType      string `json:"webhookType" required:"true" enum:"applicationSubmit,applicationUpdate,candidateHire,candidateStageChange,candidateDelete,candidateMerge,interviewPlanTransition,interviewScheduleCreate,interviewScheduleUpdate,jobCreate,jobUpdate,jobPostingUpdate,jobPostingPublish,jobPostingUnpublish,jobPostingDelete,offerCreate,offerUpdate,offerDelete,openingCreate,pushToHRIS,surveySubmit,signatureRequestUpdate,takeHomeAssignmentAssigned,takeHomeAssignmentSubmitted,takeHomeAssignmentCompleted,takeHomeAssignmentCancelled,ping" doc:"The event type to send: any event Ashby documents a webhook payload for (https://developers.ashbyhq.com/reference/applicationsubmitwebhook and the pages after it), not only the 17 of the webhookType enum in Ashby's OpenAPI description."`
	RequestURL       string `json:"requestUrl" required:"true" doc:"The http or https URL events are POSTed to." maxLength:"url"`
	SecretToken      string `json:"secretToken" required:"true" doc:"Key of the Ashby-Signature HMAC-SHA256 of each request body." maxLength:"1024"`
	StandardWebhooks bool   `json:"standardWebhooks,omitempty" doc:"Ashlar extension: also send Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature)."`
}

func (s *Service) webhookCreate(ctx context.Context, c *rpc.Call, req *webhookCreateRequest) (rpc.Result[ashby.WebhookSetting], error) {
	u, err := checkWebhookURL(req.RequestURL)
	if err == nil {
		err = s.checkTarget(ctx, "requestUrl", u, s.WebhookAllowPrivate, "--webhook-allow-private")
	}
	if err != nil {
		return rpc.Result[ashby.WebhookSetting]{}, err
	}
	if err := checkSecretToken(req.SecretToken); err != nil {
		return rpc.Result[ashby.WebhookSetting]{}, err
	}
	set := &ashby.WebhookSetting{ID: ashby.NewID(), Enabled: true, RequestURL: u, WebhookType: req.WebhookType, StandardWebhooks: req.StandardWebhooks}
	org := c.Org()
	err = s.write(ctx, func(tx *store.Tx) error {
		if err := webhook.Settings.Put(ctx, tx, org, set); err != nil {
			if errors.Is(err, store.ErrDuplicate) {
				return duplicateWebhook(set)
			}
			return err
		}
		if err := tx.SetMeta(ctx, org, webhook.Settings.Name, set.ID, webhook.SettingMeta{SecretToken: req.SecretToken}); err != nil {
			return err
		}
		// Ashby pings a URL when a webhook is set up, to check it is live.
		_, err := webhook.EnqueuePing(ctx, tx, org, set.ID)
		return err
	})
	if err != nil {
		return rpc.Result[ashby.WebhookSetting]{}, err
	}
	return rpc.Value(withSecret(set, req.SecretToken)), nil
}

type webhookIDRequest struct {
	WebhookID ashby.ID `json:"webhookId" required:"true"`
}

func (s *Service) webhookInfo(ctx context.Context, c *rpc.Call, req *webhookIDRequest) (rpc.Result[ashby.WebhookSetting], error) {
	doc, err := webhook.Settings.GetRaw(ctx, s.DB, c.Org(), string(req.WebhookID))
	if err != nil {
		return rpc.Result[ashby.WebhookSetting]{}, webhookNotFound(err)
	}
	return rpc.Raw[ashby.WebhookSetting](doc), nil
}

type webhookUpdateRequest struct {
	WebhookID        ashby.ID `json:"webhookId" required:"true"`
	Enabled          *bool    `json:"enabled,omitempty"`
	RequestURL       *string  `json:"requestUrl,omitempty" maxLength:"url"`
	SecretToken      *string  `json:"secretToken,omitempty" maxLength:"1024"`
	StandardWebhooks *bool    `json:"standardWebhooks,omitempty" doc:"Ashlar extension: turn the Standard Webhooks headers on or off."`
}

func (s *Service) webhookUpdate(ctx context.Context, c *rpc.Call, req *webhookUpdateRequest) (rpc.Result[ashby.WebhookSetting], error) {
	if req.Enabled == nil && req.RequestURL == nil && req.SecretToken == nil && req.StandardWebhooks == nil {
		return rpc.Result[ashby.WebhookSetting]{}, ashby.InvalidInput("", "Provide at least one of enabled, requestUrl or secretToken to update")
	}
	var u string
	if req.RequestURL != nil {
		var err error
		if u, err = checkWebhookURL(*req.RequestURL); err != nil {
			return rpc.Result[ashby.WebhookSetting]{}, err
		}
		if err = s.checkTarget(ctx, "requestUrl", u, s.WebhookAllowPrivate, "--webhook-allow-private"); err != nil {
			return rpc.Result[ashby.WebhookSetting]{}, err
		}
	}
	if req.SecretToken != nil {
		if err := checkSecretToken(*req.SecretToken); err != nil {
			return rpc.Result[ashby.WebhookSetting]{}, err
		}
	}
	org, id := c.Org(), string(req.WebhookID)
	var set *ashby.WebhookSetting
	err := s.write(ctx, func(tx *store.Tx) error {
		var changed ashby.WebhookSetting
		var err error
		set, err = webhook.Settings.Update(ctx, tx, org, id, func(w *ashby.WebhookSetting) error {
			if req.Enabled != nil {
				w.Enabled = *req.Enabled
			}
			if req.RequestURL != nil {
				w.RequestURL = u
			}
			if req.StandardWebhooks != nil {
				w.StandardWebhooks = *req.StandardWebhooks
			}
			changed = *w
			return nil
		})
		if errors.Is(err, store.ErrDuplicate) {
			return duplicateWebhook(&changed)
		}
		if err != nil {
			return webhookNotFound(err)
		}
		if req.SecretToken != nil {
			var meta webhook.SettingMeta
			if _, err := store.GetMeta(ctx, tx, org, webhook.Settings.Name, id, &meta); err != nil {
				return err
			}
			meta.SecretToken = *req.SecretToken
			if err := tx.SetMeta(ctx, org, webhook.Settings.Name, id, meta); err != nil {
				return err
			}
		}
		if !set.Enabled {
			// A disabled webhook sends nothing more, retries included.
			return webhook.CancelSetting(ctx, tx, org, id, "the webhook was disabled")
		}
		return nil
	})
	if err != nil {
		return rpc.Result[ashby.WebhookSetting]{}, err
	}
	// The secret is echoed only when this call set it: a key that may
	// update a setting must not be able to read its secret, which
	// webhook.info never shows (docs/webhooks.md).
	secret := ""
	if req.SecretToken != nil {
		secret = *req.SecretToken
	}
	return rpc.Value(withSecret(set, secret)), nil
}

type webhookDeleteResult struct {
	WebhookID string `json:"webhookId"`
}

func (s *Service) webhookDelete(ctx context.Context, c *rpc.Call, req *webhookIDRequest) (rpc.Result[webhookDeleteResult], error) {
	org, id := c.Org(), string(req.WebhookID)
	err := s.write(ctx, func(tx *store.Tx) error {
		if err := webhook.Settings.Delete(ctx, tx, org, id); err != nil {
			return webhookNotFound(err)
		}
		return webhook.CancelSetting(ctx, tx, org, id, "the webhook was deleted")
	})
	if err != nil {
		return rpc.Result[webhookDeleteResult]{}, err
	}
	return rpc.Value(&webhookDeleteResult{WebhookID: id}), nil
}

type webhookListRequest struct {
	rpc.SyncParams
}

func (s *Service) webhookList(ctx context.Context, c *rpc.Call, req *webhookListRequest) (*rpc.Page, error) {
	spec := listSpec(c, webhook.Settings.Name, req.SyncParams)
	spec.Filter.IncludeArchived = true // disabled settings are listed too
	return s.listPage(ctx, spec)
}

func (s *Service) webhookPing(ctx context.Context, c *rpc.Call, req *webhookIDRequest) (rpc.Result[webhook.Delivery], error) {
	org, id := c.Org(), string(req.WebhookID)
	var d *webhook.Delivery
	err := s.write(ctx, func(tx *store.Tx) error {
		set, err := webhook.Settings.Get(ctx, tx, org, id)
		if err != nil {
			return webhookNotFound(err)
		}
		if !set.Enabled {
			return ashby.InvalidInput("webhookId", "Webhook %s is disabled; enable it with webhook.update to ping it", id)
		}
		d, err = webhook.EnqueuePing(ctx, tx, org, id)
		return err
	})
	if err != nil {
		return rpc.Result[webhook.Delivery]{}, err
	}
	return rpc.Value(d), nil
}

type webhookListDeliveriesRequest struct {
	rpc.ListParams
	WebhookID       ashby.ID `json:"webhookId,omitempty" doc:"Only deliveries to this webhook setting."`
	WebhookActionID ashby.ID `json:"webhookActionId,omitempty" doc:"Only deliveries of this event."`
	Status          string   `json:"status,omitempty" enum:"pending,succeeded,failed,cancelled"`
}

func (s *Service) webhookListDeliveries(ctx context.Context, c *rpc.Call, req *webhookListDeliveriesRequest) (*rpc.Page, error) {
	if req.WebhookID != "" {
		if _, err := webhook.Settings.Get(ctx, s.DB, c.Org(), string(req.WebhookID)); err != nil {
			return nil, webhookNotFound(err)
		}
	}
	ds, next, err := webhook.ListDeliveries(ctx, s.DB, c.Org(), webhook.DeliveryFilter{
		WebhookID: string(req.WebhookID), WebhookActionID: string(req.WebhookActionID), Status: req.Status,
		Limit: req.PageLimit(), Cursor: req.Cursor,
	})
	if errors.Is(err, webhook.ErrBadCursor) {
		return nil, ashby.Errorf(ashby.CodeInvalidNextCursor, "The cursor is not one webhook.listDeliveries returned")
	}
	if err != nil {
		return nil, err
	}
	return &rpc.Page{Items: ds, MoreDataAvailable: next != "", NextCursor: next}, nil
}

type webhookRedeliverRequest struct {
	DeliveryID      ashby.ID `json:"deliveryId,omitempty" doc:"Send this delivery's event again, to the same setting."`
	WebhookActionID ashby.ID `json:"webhookActionId,omitempty" doc:"Send this event again, to every setting that received it."`
}

func (s *Service) webhookRedeliver(ctx context.Context, c *rpc.Call, req *webhookRedeliverRequest) (*rpc.Page, error) {
	id := string(req.DeliveryID)
	switch {
	case req.DeliveryID == "" && req.WebhookActionID == "":
		return nil, ashby.InvalidInput("deliveryId", "Give deliveryId or webhookActionId")
	case req.DeliveryID != "" && req.WebhookActionID != "":
		return nil, ashby.InvalidInput("webhookActionId", "Give deliveryId or webhookActionId, not both")
	case req.DeliveryID == "":
		id = string(req.WebhookActionID)
	}
	var ds []*webhook.Delivery
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		ds, err = webhook.Redeliver(ctx, tx, c.Org(), id)
		return err
	})
	if errors.Is(err, webhook.ErrDeliveryNotFound) {
		return nil, ashby.NotFound("webhook_delivery", "Webhook delivery not found")
	}
	if err != nil {
		return nil, err
	}
	return items(ds), nil
}

func webhookNotFound(err error) error {
	return notFound(err, "webhook", "Webhook not found")
}

func duplicateWebhook(set *ashby.WebhookSetting) error {
	e := ashby.Errorf(ashby.CodeDuplicateWebhook, "Duplicate webhook: a %s webhook already sends to %s", set.WebhookType, set.RequestURL)
	e.Meta = map[string]any{"field": "requestUrl"}
	return e
}

// withSecret is the setting as create and update return it: with the
// secret token the call sent (and, with Standard Webhooks on, the secret
// in that form), or none.
func withSecret(set *ashby.WebhookSetting, secret string) *ashby.WebhookSetting {
	out := *set
	out.SecretToken = secret
	if out.StandardWebhooks && secret != "" {
		out.StandardWebhooksSecret = webhook.StandardSecret(secret)
	}
	return &out
}

// checkWebhookURL validates a request URL: absolute http or https with a
// host. Whether its address is public is checked by checkTarget when it
// is saved, and again by the dispatcher's SSRF guard each time a delivery
// connects, since DNS answers can change after the setting is saved.
func checkWebhookURL(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if len(s) > 2048 {
		return "", ashby.InvalidInput("requestUrl", "requestUrl is longer than 2048 characters")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return "", ashby.InvalidInput("requestUrl", "requestUrl must be an absolute http or https URL, got %q", raw)
	}
	return s, nil
}

// checkTarget refuses a configured URL (a webhook's requestUrl, a
// partner's baseUrl) whose host is a private or special-purpose address,
// or a name that resolves to one (webhook.CheckURL), unless the server
// allows private targets (flag names the setting that does).
func (s *Service) checkTarget(ctx context.Context, field, u string, allowPrivate bool, flag string) error {
	if allowPrivate {
		return nil
	}
	var be *webhook.BlockedError
	if err := webhook.CheckURL(ctx, s.Resolver, u); errors.As(err, &be) {
		return ashby.InvalidInput(field, "%s must reach a public address: %s is a %s address, which this server does not call (see %s)", field, be.Addr, be.Reason, flag)
	}
	return nil
}

func checkSecretToken(t string) error {
	if strings.TrimSpace(t) == "" {
		return ashby.InvalidInput("secretToken", "secretToken must not be empty")
	}
	if len(t) > 1024 {
		return ashby.InvalidInput("secretToken", "secretToken is longer than 1024 characters")
	}
	return nil
}
