package webform

import (
	"net/http"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
)

// unavailableRetryAfter is the Retry-After, in seconds, of a page that
// failed because the database is unavailable, as the API answers.
const unavailableRetryAfter = "5"

// FailureStatus is the status of a page that failed on the server's side:
// 503 with Retry-After while the database is unavailable (restarting, its
// disk full, read-only), so that browsers' users, proxies and monitors
// know to try again; 500 for anything else.
func FailureStatus(w http.ResponseWriter, err error) int {
	_, down := store.Unavailable(err)
	if ae, ok := ashby.AsError(err); ok && ae.Code == ashby.CodeUnavailable {
		down = true
	}
	if !down {
		return http.StatusInternalServerError
	}
	w.Header().Set("Retry-After", unavailableRetryAfter)
	return http.StatusServiceUnavailable
}
