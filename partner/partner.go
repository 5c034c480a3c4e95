// Package partner is Ashlar's side of the partner frameworks that call
// out (https://developers.ashbyhq.com/docs/dedicated-partner-job-feeds, https://developers.ashbyhq.com/docs/creating-an-assessments-integration): the HTTP client that calls the endpoints
// assessment and workflow partners host, the outbox of those calls with
// its workers, and the job-distribution partners' feeds.
//
// Calls to partners are jobs of the job queue (package jobqueue, kind
// Kind), as webhook deliveries are:
//
//  1. A call is recorded in the transaction that decides it (Enqueue): an
//     application entering a stage records its assessment.start in the
//     same transaction, so a committed stage change always has its call
//     and a rolled-back one never has. A dedupe key makes "one start per
//     stage entry" a unique constraint.
//  2. The queue's workers in every `ashlar serve` process claim due calls
//     under a lease, make the HTTP request through the webhook package's
//     SSRF-guarded dialer, and record the attempt and the call's next
//     state, fenced by (lease owner, attempt number). The domain
//     consequence of a result (an assessment created, a start marked
//     rejected) is applied by the call's Handler in that same recording
//     transaction, so it happens exactly once.
//  3. A worker that dies mid-call leaves its lease to expire; another
//     process then retries the call. The partner may therefore receive a
//     call twice, always with the same Idempotency-Key header.
//
// Partner configuration (base URL, credentials, opt-in) is an Ashby-like
// object in the document store owned by package api; this package reads
// it through a Resolver so that it does not depend on api.
package partner

import (
	"embed"

	"github.com/ashlarhq/ashlar/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() { store.RegisterMigrations(migrations, "migrations") }

// Call states.
const (
	StatePending   = "pending"
	StateSucceeded = "succeeded"
	StateFailed    = "failed"
	StateCancelled = "cancelled"
)

// Attempt outcomes.
const (
	OutcomeSuccess   = "success"    // 2xx
	OutcomeHTTPError = "http_error" // a status the call's handler retries
	OutcomeRejected  = "rejected"   // a status that ends the call
	OutcomeTimeout   = "timeout"
	OutcomeNetwork   = "network_error"
	OutcomeBlocked   = "blocked"   // refused by the SSRF guard
	OutcomeAbandoned = "abandoned" // the worker died mid-attempt
)

// UserAgent identifies Ashlar's requests to partners.
const UserAgent = "Ashlar-Partners/1"
