package rpc

import (
	"errors"
	"testing"

	"github.com/ashlarhq/ashlar/ashby"
)

// A type error names the field as the client sent it, whatever structs
// the request type embeds.
func TestTypeErrorsNameTheClientsField(t *testing.T) {
	type syncReq struct {
		SyncParams
		Job struct {
			Title string `json:"title"`
			Meta  struct {
				Count int `json:"count"`
			} `json:"meta"`
		} `json:"job"`
	}
	for body, want := range map[string]string{
		`{"limit":"x"}`:                     "limit",
		`{"syncToken":5}`:                   "syncToken",
		`{"job":{"title":7}}`:               "job.title",
		`{"job":{"meta":{"count":"many"}}}`: "job.meta.count",
	} {
		_, err := decode[syncReq]([]byte(body), &Endpoint{})
		var ae *ashby.Error
		if !errors.As(err, &ae) || ae.Code != ashby.CodeInvalidInput {
			t.Fatalf("%s: %v", body, err)
		}
		if got, _ := ae.Meta["field"].(string); got != want {
			t.Errorf("%s: field %q, want %q (%s)", body, got, want, ae.Message)
		}
	}
}
