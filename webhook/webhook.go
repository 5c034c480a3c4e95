// Package webhook delivers Ashby webhook events (https://developers.ashbyhq.com/docs/setting-up-webhooks): durable,
// signed, retried POSTs of every event the API records, to the webhook
// settings of the organization.
//
// The pipeline has three steps, each a short database transaction, so
// that any number of `ashlar serve` processes on one database can run it
// and a process killed at any point loses nothing:
//
//  1. Events are recorded by tx.Emit in the events table, in the same
//     transaction as the change (store/event.go): a rolled-back change
//     has no event, a committed one always has.
//  2. The fan-out (fanout.go) reads events in commit order behind a cursor
//     and inserts one delivery per (event, subscribed setting).
//  3. The deliveries are jobs of the job queue (package jobqueue, kind
//     Kind): its workers claim due deliveries under a lease, POST them
//     (deliver.go), and record the attempt and the delivery's next state.
//
// Settings are Ashby objects of kind "webhook" in the document store
// (Settings); their secret tokens live in the record's meta, never in the
// document the API returns.
package webhook

import (
	"embed"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() { store.RegisterMigrations(migrations, "migrations") }

// Settings is the webhook setting kind. State = webhookType; Archived =
// disabled (so the fan-out's subscriber query reads only enabled ones);
// Unique = type and URL, which makes a duplicate (requestUrl, webhookType)
// pair a store.ErrDuplicate; Search = URL.
var Settings = store.Kind[ashby.WebhookSetting]{Name: "webhook", Index: func(s *ashby.WebhookSetting) store.Index {
	return store.Index{ID: s.ID, State: s.WebhookType, Archived: !s.Enabled, Unique: s.WebhookType + " " + s.RequestURL, Search: s.RequestURL}
}}

// SettingMeta is a setting's internal data (store meta column).
type SettingMeta struct {
	SecretToken string `json:"secretToken"`
}

// Delivery states.
const (
	StatePending   = "pending"
	StateSucceeded = "succeeded"
	StateFailed    = "failed"
	StateCancelled = "cancelled"
)

// Delivery triggers: what created a delivery.
const (
	TriggerEvent      = "event"
	TriggerPing       = "ping"
	TriggerRedelivery = "redelivery"
)

// Attempt outcomes, also the values of the attempts metric's label.
const (
	OutcomeSuccess   = "success"    // 2xx
	OutcomeHTTPError = "http_error" // other status, retried
	OutcomeRejected  = "rejected"   // 401, 403, 404, 405, 410: not retried
	OutcomeTimeout   = "timeout"
	OutcomeNetwork   = "network_error" // refused, reset, closed, DNS …
	OutcomeBlocked   = "blocked"       // refused by the SSRF guard
	OutcomeAbandoned = "abandoned"     // the worker died mid-attempt
	// OutcomeUnsigned: not sent, as the setting's secret token cannot be
	// read; retried (an update of the secret applies to the retry).
	OutcomeUnsigned = "unsigned"
)

// Delivery is one event (or ping) sent to one setting, as the API and the
// CLI show it.
type Delivery struct {
	ID              string      `json:"id"`
	WebhookID       string      `json:"webhookId"`
	WebhookActionID string      `json:"webhookActionId"`
	Action          string      `json:"action"`
	Trigger         string      `json:"trigger" enum:"event,ping,redelivery"`
	Status          string      `json:"status" enum:"pending,succeeded,failed,cancelled"`
	AttemptCount    int         `json:"attemptCount"`
	NextAttemptAt   *ashby.Time `json:"nextAttemptAt,omitempty"`
	CreatedAt       ashby.Time  `json:"createdAt"`
	CompletedAt     *ashby.Time `json:"completedAt,omitempty"`
	LastError       string      `json:"lastError,omitempty"`
	Attempts        []Attempt   `json:"attempts"`
}

// Attempt is one HTTP attempt of a delivery.
type Attempt struct {
	Attempt    int        `json:"attempt"`
	StartedAt  ashby.Time `json:"startedAt"`
	URL        string     `json:"url"`
	StatusCode int        `json:"statusCode,omitempty"`
	LatencyMs  int64      `json:"latencyMs"`
	Outcome    string     `json:"outcome"`
	Response   string     `json:"response,omitempty"`
	Error      string     `json:"error,omitempty"`
	Worker     string     `json:"worker"`
}
