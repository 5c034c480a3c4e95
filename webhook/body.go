package webhook

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ashlarhq/ashlar/jobqueue"
	"github.com/ashlarhq/ashlar/store"
)

// RequestBody is the JSON body a delivery sends (and sent on each of its
// attempts), for people inspecting it. It returns nil, without error, when
// the event's payload is no longer kept.
func RequestBody(ctx context.Context, q store.Q, org, deliveryID string) ([]byte, error) {
	j, err := jobqueue.Get(ctx, q, jobqueue.Filter{Kind: Kind, OrgID: org, ID: deliveryID})
	if errors.Is(err, jobqueue.ErrNotFound) {
		return nil, ErrDeliveryNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read delivery: %w", err)
	}
	var a deliveryArgs
	if err := json.Unmarshal(j.Args, &a); err != nil {
		return nil, fmt.Errorf("read delivery %s: %w", deliveryID, err)
	}
	if a.Payload != nil {
		return Body(j.Subject, j.Action, []byte(*a.Payload)), nil
	}
	var p string
	err = q.QueryRowContext(ctx, `SELECT payload FROM events WHERE id = $1`, j.Subject).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read event payload: %w", err)
	}
	return Body(j.Subject, j.Action, []byte(p)), nil
}
