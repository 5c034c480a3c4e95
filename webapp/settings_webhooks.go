package webapp

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/webform"
	"github.com/ashlarhq/ashlar/webhook"
)

// webhookTypes are the event types webhook.create accepts, read from its
// declaration so that the form offers exactly what the API validates.
func (a *App) webhookTypes() []string {
	e, ok := a.api.Endpoint("webhook.create")
	if !ok {
		return nil
	}
	t := e.Request
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name == "webhookType" {
			return strings.Split(f.Tag.Get("enum"), ",")
		}
	}
	return nil
}

// hookStats is a setting's recent record: of its last deliveries, how
// many succeeded and failed, and the last error.
type hookStats struct {
	Setting             ashby.WebhookSetting
	Succeeded, Failed   int
	Pending             int
	LastError           string
	LastErrorAt, LastAt *ashby.Time
}

type webhooksData struct {
	Hooks  []hookStats
	Types  []string
	Secret string
}

func (a *App) webhooksView(q *Request) (*view, bool) {
	d := &webhooksData{Types: a.webhookTypes(), Secret: webform.RandomToken() + webform.RandomToken()}
	var settings []ashby.WebhookSetting
	if _, err := q.List("webhook.list", map[string]any{"limit": 100}, &settings); err != nil {
		q.fail(err)
		return nil, false
	}
	for _, s := range settings {
		st := hookStats{Setting: s}
		var ds []webhook.Delivery
		if _, err := q.List("webhook.listDeliveries", map[string]any{"webhookId": s.ID, "limit": 100}, &ds); err != nil {
			q.fail(err)
			return nil, false
		}
		for i := range ds {
			dl := &ds[i]
			if st.LastAt == nil {
				st.LastAt = &dl.CreatedAt
			}
			switch dl.Status {
			case webhook.StateSucceeded:
				st.Succeeded++
			case webhook.StateFailed:
				st.Failed++
			case webhook.StatePending:
				st.Pending++
			}
			if st.LastError == "" && dl.LastError != "" {
				st.LastError = dl.LastError
				if n := len(dl.Attempts); n > 0 {
					st.LastErrorAt = &dl.Attempts[n-1].StartedAt
				}
			}
		}
		d.Hooks = append(d.Hooks, st)
	}
	return q.newView("Webhooks", "/app/settings/webhooks", d), true
}

func (a *App) webhooks(q *Request) {
	if v, ok := a.webhooksView(q); ok {
		q.Render(http.StatusOK, "webhooks", v)
	}
}

var webhookFields = map[string]string{"webhookType": "type", "requestUrl": "url", "secretToken": "secret"}

func (a *App) webhookCreate(q *Request) {
	var s ashby.WebhookSetting
	err := q.Invoke("webhook.create", map[string]any{"webhookType": q.Form.Get("type"), "requestUrl": strings.TrimSpace(q.Form.Get("url")),
		"secretToken": q.Form.Get("secret"), "standardWebhooks": q.Form.Get("standard") == "on"}, &s)
	if err != nil {
		if !correctable(err) {
			q.fail(err)
			return
		}
		v, ok := a.webhooksView(q)
		if ok {
			q.Render(http.StatusUnprocessableEntity, "webhooks", v.withForm(q.Form, err, webhookFields))
		}
		return
	}
	q.Redirect("/app/settings/webhooks/"+s.ID, "Webhook created: "+s.WebhookType+" events go to "+s.RequestURL+". A ping is on its way.")
}

type webhookData struct {
	S          ashby.WebhookSetting
	Deliveries []webhook.Delivery
}

func (a *App) webhookView(q *Request, id string) (*view, bool) {
	d := &webhookData{}
	if err := q.Invoke("webhook.info", map[string]string{"webhookId": id}, &d.S); err != nil {
		q.fail(err)
		return nil, false
	}
	if _, err := q.List("webhook.listDeliveries", map[string]any{"webhookId": id, "limit": 10}, &d.Deliveries); err != nil {
		q.fail(err)
		return nil, false
	}
	v := q.newView("Webhook: "+d.S.WebhookType, "/app/settings/webhooks", d)
	v.values = url.Values{"url": {d.S.RequestURL}}
	if d.S.StandardWebhooks {
		v.values.Set("standard", "on")
	}
	return v, true
}

func (a *App) webhook(q *Request) {
	id, ok := q.id("id")
	if !ok {
		return
	}
	if v, ok := a.webhookView(q, id); ok {
		q.Render(http.StatusOK, "webhook", v)
	}
}

func (a *App) webhookUpdate(q *Request) {
	id, ok := q.id("id")
	if !ok {
		return
	}
	req := map[string]any{"webhookId": id, "requestUrl": strings.TrimSpace(q.Form.Get("url")), "standardWebhooks": q.Form.Get("standard") == "on"}
	if s := q.Form.Get("secret"); s != "" {
		req["secretToken"] = s
	}
	if err := q.Invoke("webhook.update", req, nil); err != nil {
		if !correctable(err) {
			q.fail(err)
			return
		}
		if v, ok := a.webhookView(q, id); ok {
			q.Render(http.StatusUnprocessableEntity, "webhook", v.withForm(q.Form, err, webhookFields))
		}
		return
	}
	q.Redirect("/app/settings/webhooks/"+id, "Webhook saved.")
}

func (a *App) webhookEnable(on bool) func(*Request) {
	return func(q *Request) {
		id, ok := q.id("id")
		if !ok {
			return
		}
		if err := q.Invoke("webhook.update", map[string]any{"webhookId": id, "enabled": on}, nil); err != nil {
			q.fail(err)
			return
		}
		msg := "Webhook enabled: events are sent again."
		if !on {
			msg = "Webhook disabled: no events are sent until you enable it."
		}
		q.Redirect("/app/settings/webhooks/"+id, msg)
	}
}

func (a *App) webhookPing(q *Request) {
	id, ok := q.id("id")
	if !ok {
		return
	}
	var d webhook.Delivery
	if err := q.Invoke("webhook.ping", map[string]string{"webhookId": id}, &d); err != nil {
		q.fail(err)
		return
	}
	q.Redirect("/app/settings/webhooks/deliveries?webhook="+id, "Ping sent. It appears below when the receiver has answered.")
}

func (a *App) webhookDelete(q *Request) {
	id, ok := q.id("id")
	if !ok {
		return
	}
	if err := q.Invoke("webhook.delete", map[string]string{"webhookId": id}, nil); err != nil {
		q.fail(err)
		return
	}
	q.Redirect("/app/settings/webhooks", "Webhook deleted.")
}

// Delivery log.

type deliveriesData struct {
	Settings                      []ashby.WebhookSetting
	Types                         []string
	Rows                          []webhook.Delivery
	URLs                          map[string]string
	Webhook, Type, Outcome, Since string
	Next                          string
}

var sinceOptions = map[string]time.Duration{"1h": time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour}

func (a *App) deliveries(q *Request) {
	qs := q.R.URL.Query()
	d := deliveriesData{Types: append(a.webhookTypes(), "ping"), URLs: map[string]string{},
		Webhook: qs.Get("webhook"), Type: qs.Get("type"), Outcome: qs.Get("outcome"), Since: qs.Get("since")}
	if _, err := q.List("webhook.list", map[string]any{"limit": 100}, &d.Settings); err != nil {
		q.fail(err)
		return
	}
	for _, s := range d.Settings {
		d.URLs[s.ID] = s.RequestURL
	}
	req := map[string]any{"limit": 100}
	if d.Webhook != "" {
		if !ashby.IsUUID(d.Webhook) {
			q.notFound()
			return
		}
		req["webhookId"] = d.Webhook
	}
	switch d.Outcome {
	case webhook.StatePending, webhook.StateSucceeded, webhook.StateFailed, webhook.StateCancelled:
		req["status"] = d.Outcome
	default:
		d.Outcome = ""
	}
	var cutoff time.Time
	if dur, ok := sinceOptions[d.Since]; ok {
		cutoff = time.Now().Add(-dur)
	} else {
		d.Since = ""
	}
	cursor := qs.Get("cursor")
	// The endpoint filters by setting and outcome; type and time are
	// filtered here, a whole page at a time, until a screenful is found.
	for pages := 0; pages < 10; pages++ {
		if cursor != "" {
			req["cursor"] = cursor
		}
		var ds []webhook.Delivery
		next, err := q.List("webhook.listDeliveries", req, &ds)
		if err != nil {
			q.fail(err)
			return
		}
		old := false
		for _, dl := range ds {
			if !cutoff.IsZero() && dl.CreatedAt.Before(cutoff) {
				old = true // newest first: the rest are older still
				break
			}
			if d.Type == "" || dl.Action == d.Type {
				d.Rows = append(d.Rows, dl)
			}
		}
		cursor = next
		if old {
			cursor = ""
		}
		if cursor == "" || len(d.Rows) >= 50 {
			break
		}
	}
	if cursor != "" {
		nq := url.Values{}
		for _, k := range []string{"webhook", "type", "outcome", "since"} {
			if v := qs.Get(k); v != "" {
				nq.Set(k, v)
			}
		}
		nq.Set("cursor", cursor)
		d.Next = "/app/settings/webhooks/deliveries?" + nq.Encode()
	}
	q.Render(http.StatusOK, "deliveries", q.newView("Webhook deliveries", "/app/settings/webhooks", d))
}

type deliveryData struct {
	D   api.DeliveryInfo
	URL string
}

func (a *App) delivery(q *Request) {
	id, ok := q.id("id")
	if !ok {
		return
	}
	var d deliveryData
	if err := q.Invoke("webhook.deliveryInfo", map[string]string{"deliveryId": id}, &d.D); err != nil {
		q.fail(err)
		return
	}
	var s ashby.WebhookSetting
	if err := q.Invoke("webhook.info", map[string]string{"webhookId": d.D.WebhookID}, &s); err == nil {
		d.URL = s.RequestURL
	}
	q.Render(http.StatusOK, "delivery", q.newView("Delivery of "+d.D.Action, "/app/settings/webhooks", d))
}

func (a *App) redeliver(q *Request) {
	id, ok := q.id("id")
	if !ok {
		return
	}
	var ds []webhook.Delivery
	if err := q.Invoke("webhook.redeliver", map[string]string{"deliveryId": id}, &ds); err != nil {
		q.fail(err)
		return
	}
	u := "/app/settings/webhooks/deliveries"
	if len(ds) > 0 {
		u += "?webhook=" + ds[0].WebhookID
	}
	q.Redirect(u, "Event queued to be sent again.")
}
