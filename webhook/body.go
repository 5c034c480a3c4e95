package webhook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ashlarhq/ashlar/store"
)

// RequestBody is the JSON body a delivery sends (and sent on each of its
// attempts), for people inspecting it. It returns nil, without error, when
// the event's payload is no longer kept.
func RequestBody(ctx context.Context, q store.Q, org, deliveryID string) ([]byte, error) {
	var event, action string
	var payload sql.NullString
	err := q.QueryRowContext(ctx, `SELECT event_id, action, payload FROM webhook_deliveries WHERE org_id = $1 AND id = $2`, org, deliveryID).Scan(&event, &action, &payload)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrDeliveryNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read delivery: %w", err)
	}
	if !payload.Valid {
		err := q.QueryRowContext(ctx, `SELECT payload FROM events WHERE id = $1`, event).Scan(&payload)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read event payload: %w", err)
		}
	}
	return Body(event, action, []byte(payload.String)), nil
}
