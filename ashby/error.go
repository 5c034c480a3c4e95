package ashby

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes Ashby's API reference documents (https://developers.ashbyhq.com/reference) plus the few Ashlar adds.
const (
	CodeInvalidInput              = "invalid_input"
	CodeMissingEndpointPermission = "missing_endpoint_permission"
	CodeMissingAPIKey             = "missing_api_key"
	CodeInvalidAPIKey             = "invalid_api_key"
	CodeEndpointNotFound          = "endpoint_not_found"
	CodeRequestTooLarge           = "request_too_large"
	CodeInternal                  = "internal_error"
	CodeInvalidNextCursor         = "invalid_next_cursor"
	CodeNextCursorExpired         = "next_cursor_expired"
	CodeSyncTokenInvalid          = "sync_token_invalid"
	CodeSyncTokenExpired          = "sync_token_expired"
	CodeIncrementalSyncTooLarge   = "incremental_sync_too_large"
	CodeRateLimitExceeded         = "rate_limit_exceeded"
	CodeConcurrentLimitExceeded   = "concurrent_limit_exceeded"
	CodeUnavailable               = "service_unavailable"
)

// Error is the one error type the API layer understands. Handlers return it
// (or wrap it) and the RPC layer turns it into Ashby's error envelope.
//
// Status is the HTTP status: 200 for validation and not-found errors, as
// Ashby does; 401/403/429/5xx only where Ashby uses real statuses.
type Error struct {
	Code    string
	Message string
	Status  int
	Meta    map[string]any
	// RetryAfter, when set (on a 429 or 503), becomes a Retry-After header (seconds).
	RetryAfter int
}

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Code
	}
	return e.Code + ": " + e.Message
}

// Errorf returns an HTTP-200 API error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Status: http.StatusOK}
}

// InvalidInput is the error for malformed or semantically invalid requests.
// field names the offending request field, as a JSON path ("interviewEvents[0].startTime").
func InvalidInput(field, format string, args ...any) *Error {
	e := Errorf(CodeInvalidInput, format, args...)
	if field != "" {
		e.Meta = map[string]any{"field": field}
	}
	return e
}

// NotFound returns "<what>_not_found" with a readable message.
func NotFound(what, message string) *Error {
	return Errorf(what+"_not_found", "%s", message)
}

// AsError extracts an *Error from err's chain.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}
