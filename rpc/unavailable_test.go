package rpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ashlarhq/ashlar/ashby"
)

// A handler failing because the database cannot serve (here PostgreSQL
// shutting down) answers 503 with Retry-After and Ashby's envelope, and
// the log line names the cause; any other failure stays a 500.
func TestDatabaseUnavailableAnswers503(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("load: %w", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}), 503, ashby.CodeUnavailable},
		{errors.New("something else broke"), 500, ashby.CodeInternal},
	} {
		api := NewAPI()
		api.Add(Object(Spec{Name: "thing.info", Permission: ashby.JobsRead},
			func(ctx context.Context, c *Call, req *thingRequest) (Result[thing], error) {
				return Result[thing]{}, tc.err
			}))
		var logs bytes.Buffer
		s := NewServer(api, fakeAuth{"good": {OrgID: "o", KeyID: "k", Permissions: []ashby.Permission{ashby.JobsRead}}},
			Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		r := do(t, s, "good", "/thing.info", `{"thingId":"`+ashby.NewID()+`"}`)
		retry := r.header.Get("Retry-After")
		if r.status != tc.status || errCode(r) != tc.code || (tc.status == 503) != (retry != "") || r.body["success"] != false {
			t.Errorf("%v: %d %v Retry-After %q", tc.err, r.status, r.body, retry)
		}
		if tc.status == 503 && !strings.Contains(logs.String(), "database unavailable (PostgreSQL is shutting down)") {
			t.Errorf("the log does not name the cause:\n%s", logs.String())
		}
	}
}
