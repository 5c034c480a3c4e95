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

// Malformed bodies get a message that says what is wrong with them.
func TestMalformedBodies(t *testing.T) {
	type req struct {
		Name string `json:"name"`
	}
	for body, want := range map[string]string{
		`{"name":"a"} {"name":"b"}`: "Request payload is malformed: unexpected data after the JSON object",
		`{"name":"a"}x`:             "Request payload is malformed: unexpected data after the JSON object",
		`{"name":"a"`:               "Request payload is malformed: unexpected end of JSON input",
		`{"name":}`:                 "Request payload is malformed: invalid character '}' looking for beginning of value (at byte 9)",
		`[1]`:                       "Request payload is malformed: the body must be a JSON object",
	} {
		_, err := decode[req]([]byte(body), &Endpoint{})
		var ae *ashby.Error
		if !errors.As(err, &ae) || ae.Code != ashby.CodeInvalidInput || ae.Message != want {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
	for _, body := range []string{``, `null`, ` {"name":"a"} `, "{}\n"} {
		if _, err := decode[req]([]byte(body), &Endpoint{}); err != nil {
			t.Errorf("%q: %v", body, err)
		}
	}
}

// Required fields and enums are checked at every depth, through embedded
// structs, pointers and slices, and the error names the field as the
// client sent it; a valid body passes (the checks come from tags read
// once per type).
func TestValidationNamesTheField(t *testing.T) {
	type item struct {
		Kind string `json:"kind" enum:"a,b"`
		Name string `json:"name" required:"true"`
	}
	type embedded struct {
		Mode string `json:"mode,omitempty" enum:"x,y"`
	}
	type req struct {
		embedded
		ID    string   `json:"id" required:"true"`
		Tags  []string `json:"tags,omitempty" enum:"t1,t2"`
		Items []item   `json:"items,omitempty"`
		One   *item    `json:"one,omitempty"`
		Skip  string   `json:"-" required:"true"`
	}
	for body, want := range map[string]string{
		`{}`:                            "id",
		`{"id":"1","mode":"z"}`:         "mode",
		`{"id":"1","tags":["t1","t3"]}`: "tags[1]",
		`{"id":"1","items":[{"kind":"a","name":"n"},{"kind":"c","name":"n"}]}`: "items[1].kind",
		`{"id":"1","items":[{"kind":"a"}]}`:                                    "items[0].name",
		`{"id":"1","one":{"kind":"b"}}`:                                        "one.name",
	} {
		for range 2 { // the second time from the cached field list
			_, err := decode[req]([]byte(body), &Endpoint{})
			var ae *ashby.Error
			if !errors.As(err, &ae) || ae.Code != ashby.CodeInvalidInput {
				t.Fatalf("%s: %v", body, err)
			}
			if got, _ := ae.Meta["field"].(string); got != want {
				t.Errorf("%s: field %q, want %q (%s)", body, got, want, ae.Message)
			}
		}
	}
	if _, err := decode[req]([]byte(`{"id":"1","mode":"x","tags":["t2"],"items":[{"kind":"b","name":"n"}],"one":{"name":"m"}}`), &Endpoint{}); err != nil {
		t.Errorf("valid body: %v", err)
	}
}
