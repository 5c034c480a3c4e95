package webhook

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
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
	now := store.Millis(tx.DB().Now())
	id, action := ashby.NewID(), ashby.NewID()
	if err := insertDeliveries(ctx, tx, []any{id, org, settingID, action, "ping", PingData, TriggerPing, StatePending, now, now, now}); err != nil {
		return nil, err
	}
	tx.AfterCommit(wakeLocal)
	return GetDelivery(ctx, tx, org, id)
}

// Redeliver queues an event again, inside tx. id is a delivery id (the
// event is sent again to that delivery's setting) or a webhookActionId
// (it is sent again to every setting that had a delivery of it). The new
// deliveries carry the same webhookActionId and start a fresh schedule.
func Redeliver(ctx context.Context, tx *store.Tx, org, id string) ([]*Delivery, error) {
	rows, err := tx.QueryContext(ctx, `SELECT setting_id, event_id, action, payload, event_at, seq FROM webhook_deliveries
		WHERE org_id = $1 AND (id = $2 OR event_id = $2) ORDER BY seq`, org, id)
	if err != nil {
		return nil, fmt.Errorf("find delivery %s: %w", id, err)
	}
	type src struct {
		setting, event, action string
		payload                sql.NullString
		eventAt, seq           int64
	}
	var srcs []src
	seen := map[string]bool{}
	for rows.Next() {
		var s src
		if err := rows.Scan(&s.setting, &s.event, &s.action, &s.payload, &s.eventAt, &s.seq); err != nil {
			rows.Close()
			return nil, fmt.Errorf("find delivery %s: %w", id, err)
		}
		if !seen[s.setting] {
			seen[s.setting] = true
			srcs = append(srcs, s)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(srcs) == 0 {
		return nil, ErrDeliveryNotFound
	}
	now := store.Millis(tx.DB().Now())
	var out []*Delivery
	for _, s := range srcs {
		nid := ashby.NewID()
		var payload any
		if s.payload.Valid {
			payload = s.payload.String
		}
		if err := insertDeliveries(ctx, tx, []any{nid, org, s.setting, s.event, s.action, payload, TriggerRedelivery, StatePending, now, s.eventAt, now}); err != nil {
			return nil, err
		}
		d, err := GetDelivery(ctx, tx, org, nid)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	tx.AfterCommit(wakeLocal)
	return out, nil
}

// CancelSetting cancels a setting's pending deliveries inside tx (the
// setting is being deleted). An attempt in flight still completes.
func CancelSetting(ctx context.Context, tx *store.Tx, org, settingID, reason string) error {
	_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = $1, done_at = $2, last_error = $3, lease_owner = NULL, lease_until = NULL
		WHERE org_id = $4 AND setting_id = $5 AND state = 'pending'`,
		StateCancelled, store.Millis(tx.DB().Now()), reason, org, settingID)
	if err != nil {
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
	conds := []string{"org_id = $1"}
	args := []any{org}
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args))))
	}
	if f.WebhookID != "" {
		add("setting_id = ?", f.WebhookID)
	}
	if f.WebhookActionID != "" {
		add("event_id = ?", f.WebhookActionID)
	}
	if f.Status != "" {
		add("state = ?", f.Status)
	}
	if f.Cursor != "" {
		seq, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		add("seq < ?", seq)
	}
	args = append(args, limit+1)
	ds, seqs, err := queryDeliveries(ctx, q, `WHERE `+strings.Join(conds, " AND ")+fmt.Sprintf(` ORDER BY seq DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(ds) > limit {
		ds, next = ds[:limit], encodeCursor(seqs[limit-1])
	}
	return ds, next, nil
}

// GetDelivery returns one delivery with its attempts.
func GetDelivery(ctx context.Context, q store.Q, org, id string) (*Delivery, error) {
	ds, _, err := queryDeliveries(ctx, q, `WHERE org_id = $1 AND id = $2`, org, id)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, ErrDeliveryNotFound
	}
	return ds[0], nil
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

func queryDeliveries(ctx context.Context, q store.Q, where string, args ...any) ([]*Delivery, []int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT seq, id, org_id, setting_id, event_id, action, trigger, state, attempts, next_at, created_at, done_at, last_error
		FROM webhook_deliveries `+where, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	var out []*Delivery
	var seqs []int64
	byID := map[string]*Delivery{}
	var org string
	for rows.Next() {
		var d Delivery
		var seq, nextAt, created int64
		var doneAt sql.NullInt64
		var lastErr sql.NullString
		if err := rows.Scan(&seq, &d.ID, &org, &d.WebhookID, &d.WebhookActionID, &d.Action, &d.Trigger, &d.Status, &d.AttemptCount,
			&nextAt, &created, &doneAt, &lastErr); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("list webhook deliveries: %w", err)
		}
		d.CreatedAt = ashby.TimeFromMillis(created)
		if d.Status == StatePending {
			d.NextAttemptAt = ashby.TimeFromMillis(nextAt).Ptr()
		}
		if doneAt.Valid {
			d.CompletedAt = ashby.TimeFromMillis(doneAt.Int64).Ptr()
		}
		d.LastError = lastErr.String
		d.Attempts = []Attempt{}
		out = append(out, &d)
		seqs = append(seqs, seq)
		byID[d.ID] = &d
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if len(out) == 0 {
		return out, seqs, nil
	}
	aargs := []any{org}
	var ph []string
	for _, d := range out {
		aargs = append(aargs, d.ID)
		ph = append(ph, fmt.Sprintf("$%d", len(aargs)))
	}
	arows, err := q.QueryContext(ctx, `SELECT delivery_id, attempt, worker, url, started_at, latency_ms, status_code, outcome, response, error
		FROM webhook_attempts WHERE org_id = $1 AND delivery_id IN (`+strings.Join(ph, ",")+`) ORDER BY delivery_id, attempt`, aargs...)
	if err != nil {
		return nil, nil, fmt.Errorf("list webhook attempts: %w", err)
	}
	defer arows.Close()
	for arows.Next() {
		var a Attempt
		var did string
		var started int64
		var resp, errText sql.NullString
		if err := arows.Scan(&did, &a.Attempt, &a.Worker, &a.URL, &started, &a.LatencyMs, &a.StatusCode, &a.Outcome, &resp, &errText); err != nil {
			return nil, nil, fmt.Errorf("list webhook attempts: %w", err)
		}
		a.StartedAt = ashby.TimeFromMillis(started)
		a.Response, a.Error = resp.String, errText.String
		if d := byID[did]; d != nil {
			d.Attempts = append(d.Attempts, a)
		}
	}
	return out, seqs, arows.Err()
}

// maintenanceLoop deletes finished deliveries past the retention period.
func (d *Dispatcher) maintenanceLoop(ctx context.Context) {
	defer d.loops.Done()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := Prune(ctx, d.db, d.db.Now().Add(-d.cfg.Retention)); err != nil && ctx.Err() == nil {
			d.log.Error("prune webhook deliveries", "err", err)
		}
	}
}

// Prune deletes deliveries finished before cutoff, and their attempts, in
// batches. Several processes may prune at once.
func Prune(ctx context.Context, db *store.DB, cutoff time.Time) (int, error) {
	total := 0
	for {
		var n int64
		err := db.Write(ctx, func(tx *store.Tx) error {
			sub := `SELECT id FROM webhook_deliveries WHERE done_at IS NOT NULL AND done_at < $1 ORDER BY done_at LIMIT 500`
			if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_attempts WHERE delivery_id IN (`+sub+`)`, store.Millis(cutoff)); err != nil {
				return fmt.Errorf("prune webhook attempts: %w", err)
			}
			res, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE id IN (`+sub+`)`, store.Millis(cutoff))
			if err != nil {
				return fmt.Errorf("prune webhook deliveries: %w", err)
			}
			n, _ = res.RowsAffected()
			return nil
		})
		total += int(n)
		if err != nil || n < 500 {
			return total, err
		}
	}
}
