package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ashlarhq/ashlar/ashby"
)

// Event is a webhook-worthy change recorded in the outbox.
type Event struct {
	Seq       int64
	ID        string // the webhookActionId
	OrgID     string
	Action    string
	Payload   json.RawMessage // the event's data object
	CreatedAt int64
}

// Emit records an event in the same transaction as the change that causes
// it, so a committed change always has its event and a rolled-back change
// never does.
func (tx *Tx) Emit(ctx context.Context, org, action string, data any) (string, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return "", fmt.Errorf("encode %s event: %w", action, err)
	}
	id := ashby.NewID()
	if _, err := tx.ExecContext(ctx, `INSERT INTO events (id, org_id, action, payload, created_at) VALUES ($1, $2, $3, $4, $5)`,
		id, org, action, string(b), Millis(tx.db.Now())); err != nil {
		return "", fmt.Errorf("record %s event: %w", action, err)
	}
	if !tx.emitted {
		tx.emitted = true
		for _, fn := range tx.db.emitHooks {
			tx.AfterCommit(fn)
		}
	}
	return id, nil
}

// OnEmit registers fn to run after any transaction that emitted events
// commits; the webhook dispatcher uses it to wake up without polling.
func (db *DB) OnEmit(fn func()) { db.emitHooks = append(db.emitHooks, fn) }
