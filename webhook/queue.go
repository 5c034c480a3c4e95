package webhook

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/jobqueue"
	"github.com/ashlarhq/ashlar/store"
)

// PingData is the data of a ping event (https://developers.ashbyhq.com/docs/setting-up-webhooks).
const PingData = `{"webhookActionType":"ping"}`

// ErrDeliveryNotFound is returned for an unknown delivery or event id.
var ErrDeliveryNotFound = errors.New("webhook delivery not found")

// EnqueuePing queues a ping to one setting inside tx (webhook.create
// sends one; webhook.ping and `ashlar webhook ping` on demand). It is a
// delivery like any other, retried on failure, with a fresh
// webhookActionId.
func EnqueuePing(ctx context.Context, tx *store.Tx, org, settingID string) (*Delivery, error) {
	p := PingData
	in, err := jobqueue.Insert(ctx, tx, jobqueue.NewJob{Kind: Kind, OrgID: org, Key: settingID, Subject: ashby.NewID(), Action: "ping",
		Args: deliveryArgs{Trigger: TriggerPing, EventAt: store.Millis(tx.DB().Now()), Payload: &p}})
	if err != nil {
		return nil, fmt.Errorf("queue webhook ping: %w", err)
	}
	return GetDelivery(ctx, tx, org, in[0].ID)
}

// Redeliver queues an event again, inside tx. id is a delivery id (the
// event is sent again to that delivery's setting) or a webhookActionId
// (it is sent again to every setting that had a delivery of it). The new
// deliveries carry the same webhookActionId and start a fresh schedule.
func Redeliver(ctx context.Context, tx *store.Tx, org, id string) ([]*Delivery, error) {
	js, err := jobqueue.List(ctx, tx, jobqueue.Filter{Kind: Kind, OrgID: org, IDOrSubject: id})
	if err != nil {
		return nil, fmt.Errorf("find delivery %s: %w", id, err)
	}
	// One redelivery per setting, copied from its first delivery.
	var news []jobqueue.NewJob
	seen := map[string]bool{}
	for i := len(js) - 1; i >= 0; i-- {
		j := js[i]
		if seen[j.Key] {
			continue
		}
		seen[j.Key] = true
		var a deliveryArgs
		if err := json.Unmarshal(j.Args, &a); err != nil {
			return nil, fmt.Errorf("read delivery %s: %w", j.ID, err)
		}
		a.Trigger = TriggerRedelivery
		news = append(news, jobqueue.NewJob{Kind: Kind, OrgID: org, Key: j.Key, Subject: j.Subject, Action: j.Action, Args: a})
	}
	if len(news) == 0 {
		return nil, ErrDeliveryNotFound
	}
	in, err := jobqueue.Insert(ctx, tx, news...)
	if err != nil {
		return nil, fmt.Errorf("queue redelivery: %w", err)
	}
	out := make([]*Delivery, 0, len(in))
	for _, n := range in {
		d, err := GetDelivery(ctx, tx, org, n.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// CancelSetting cancels a setting's pending deliveries inside tx (the
// setting is being disabled or deleted). An attempt in flight still
// completes; its result only joins the delivery's history.
func CancelSetting(ctx context.Context, tx *store.Tx, org, settingID, reason string) error {
	if _, err := jobqueue.Cancel(ctx, tx, jobqueue.Filter{Kind: Kind, OrgID: org, Key: settingID}, reason); err != nil {
		return fmt.Errorf("cancel deliveries of webhook %s: %w", settingID, err)
	}
	return nil
}

// DeliveryFilter selects deliveries for ListDeliveries.
type DeliveryFilter struct {
	WebhookID       string
	WebhookActionID string
	Status          string
	Limit           int    // default 50, at most 100
	Cursor          string // from a previous page
}

// ListDeliveries returns an organization's deliveries, newest first, with
// their attempts, and the cursor of the next page ("" on the last).
func ListDeliveries(ctx context.Context, q store.Q, org string, f DeliveryFilter) ([]*Delivery, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 100)
	jf := jobqueue.Filter{Kind: Kind, OrgID: org, Key: f.WebhookID, Subject: f.WebhookActionID, State: f.Status, Limit: limit + 1}
	if f.Cursor != "" {
		seq, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		jf.Before = seq
	}
	js, err := jobqueue.List(ctx, q, jf)
	if err != nil {
		return nil, "", fmt.Errorf("list webhook deliveries: %w", err)
	}
	next := ""
	if len(js) > limit {
		js, next = js[:limit], encodeCursor(js[limit-1].Seq)
	}
	ds, err := deliveries(ctx, q, js)
	return ds, next, err
}

// GetDelivery returns one delivery with its attempts.
func GetDelivery(ctx context.Context, q store.Q, org, id string) (*Delivery, error) {
	j, err := jobqueue.Get(ctx, q, jobqueue.Filter{Kind: Kind, OrgID: org, ID: id})
	if errors.Is(err, jobqueue.ErrNotFound) {
		return nil, ErrDeliveryNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read webhook delivery: %w", err)
	}
	ds, err := deliveries(ctx, q, []*jobqueue.Job{j})
	if err != nil {
		return nil, err
	}
	return ds[0], nil
}

// deliveries turns delivery jobs into Deliveries, with their attempts.
func deliveries(ctx context.Context, q store.Q, js []*jobqueue.Job) ([]*Delivery, error) {
	if err := jobqueue.LoadAttempts(ctx, q, js); err != nil {
		return nil, err
	}
	out := make([]*Delivery, 0, len(js))
	for _, j := range js {
		var a deliveryArgs
		json.Unmarshal(j.Args, &a) // a record that does not decode still lists
		d := &Delivery{ID: j.ID, WebhookID: j.Key, WebhookActionID: j.Subject, Action: j.Action, Trigger: a.Trigger, Status: j.State,
			AttemptCount: j.Attempt, CreatedAt: ashby.NewTime(j.CreatedAt), LastError: j.LastError, Attempts: make([]Attempt, 0, len(j.History))}
		if j.State == jobqueue.Pending {
			d.NextAttemptAt = ashby.NewTime(j.RunAt).Ptr()
		}
		if !j.DoneAt.IsZero() {
			d.CompletedAt = ashby.NewTime(j.DoneAt).Ptr()
		}
		for _, h := range j.History {
			var det attemptDetail
			if h.Detail != nil {
				json.Unmarshal(h.Detail, &det)
			}
			d.Attempts = append(d.Attempts, Attempt{Attempt: h.Attempt, StartedAt: ashby.NewTime(h.StartedAt), URL: det.URL, StatusCode: det.StatusCode,
				LatencyMs: h.Duration.Milliseconds(), Outcome: h.Outcome, Response: det.Response, Error: h.Error, Worker: h.Worker})
		}
		out = append(out, d)
	}
	return out, nil
}

// ErrBadCursor is returned for a delivery list cursor that does not decode.
var ErrBadCursor = errors.New("invalid cursor")

func encodeCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("d" + strconv.FormatInt(seq, 10)))
}

func decodeCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 2 || b[0] != 'd' {
		return 0, ErrBadCursor
	}
	n, err := strconv.ParseInt(string(b[1:]), 10, 64)
	if err != nil {
		return 0, ErrBadCursor
	}
	return n, nil
}

// Prune deletes deliveries finished before cutoff, and their attempts.
// The job queue prunes past the retention by itself; this is for tools
// and tests.
func Prune(ctx context.Context, db *store.DB, cutoff time.Time) (int, error) {
	return jobqueue.Prune(ctx, db, Kind, cutoff)
}
