package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/ashlarhq/ashlar/ashby"
)

type limitsRequest struct {
	SyncParams
	ID      ashby.ID          `json:"id" required:"true"`
	Name    string            `json:"name,omitempty"`
	Email   string            `json:"email,omitempty" maxLength:"email"`
	Site    *string           `json:"site,omitempty" maxLength:"url"`
	Body    string            `json:"body,omitempty" maxLength:"long"`
	Code    string            `json:"code,omitempty" maxLength:"3"`
	Tags    []string          `json:"tags,omitempty" maxItems:"2"`
	Emails  []string          `json:"emails,omitempty" maxLength:"email"`
	Status  string            `json:"status,omitempty" enum:"Open,Closed"`
	Labels  map[string]string `json:"labels,omitempty"`
	Extra   map[string]any    `json:"extra,omitempty"`
	Answer  any               `json:"answer,omitempty"`
	Raw     json.RawMessage   `json:"raw,omitempty"`
	Entries []struct {
		Title string `json:"title" required:"true"`
		Notes []struct {
			Text string `json:"text" maxLength:"text"`
		} `json:"notes"`
	} `json:"entries,omitempty"`
}

const okID = `"6f1c0d4e-8f7a-4a3b-9c2d-1e2f3a4b5c6d"`

func limitErr(t *testing.T, body string) (field, msg string) {
	t.Helper()
	_, err := decode[limitsRequest]([]byte(body), &Endpoint{})
	var ae *ashby.Error
	if !errors.As(err, &ae) || ae.Code != ashby.CodeInvalidInput || ae.Status != 200 {
		t.Fatalf("%.120s: got %v, want invalid_input", body, err)
	}
	field, _ = ae.Meta["field"].(string)
	return field, ae.Message
}

func TestEveryStringHasALimit(t *testing.T) {
	long := func(n int) string { return `"` + strings.Repeat("é", n) + `"` }
	for _, c := range []struct {
		body, field, limit string
	}{
		{`{"name":` + long(MaxString+1) + `}`, "name", "255"},
		{`{"email":"` + strings.Repeat("a", 250) + `@x.io"}`, "email", "254"},
		{`{"email":"` + strings.Repeat("a", 65) + `@example.com"}`, "email", "64"},
		{`{"site":` + long(MaxURL+1) + `}`, "site", "2048"},
		{`{"body":` + long(MaxLongText+1) + `}`, "body", "100000"},
		{`{"code":"abcd"}`, "code", "3"},
		{`{"tags":["a","b","c"]}`, "tags", "2"},
		{`{"emails":["a@b.co","` + strings.Repeat("a", 65) + `@b.co"]}`, "emails[1]", "64"},
		{`{"status":` + long(MaxString+1) + `}`, "status", "255"},
		{`{"cursor":` + long(MaxString+1) + `}`, "cursor", "255"},
		{`{"labels":{"k":` + long(MaxString+1) + `}}`, "labels.k", "255"},
		{`{"labels":{` + long(MaxString+1) + `:"v"}}`, "labels", "255"},
		{`{"extra":{"a":[{"b":` + long(MaxLongText+1) + `}]}}`, "extra.a[0].b", "100000"},
		{`{"answer":[` + strings.Repeat(`1,`, MaxItems) + `1]}`, "answer", "1000"},
		{`{"raw":{"x":` + long(MaxLongText+1) + `}}`, "raw.x", "100000"},
		{`{"entries":[{"title":"a","notes":[{"text":"ok"},{"text":` + long(MaxText+1) + `}]}]}`, "entries[0].notes[1].text", "10000"},
		// The limit is checked before required fields, so the error names
		// the oversized field whatever else is missing.
		{`{"entries":[{"notes":[{"text":` + long(MaxText+1) + `}]}]}`, "entries[0].notes[0].text", "10000"},
	} {
		field, msg := limitErr(t, c.body)
		if field != c.field || !strings.Contains(msg, c.limit) {
			t.Errorf("%.60s…: field %q message %q; want field %q and the limit %s", c.body, field, msg, c.field, c.limit)
		}
	}
	// At the limit is fine, counted in characters, not bytes.
	ok := `{"id":` + okID + `,"name":` + long(MaxString) + `,"email":"` + strings.Repeat("a", 64) + `@example.com","code":"éé","tags":["a","b"]}`
	if _, err := decode[limitsRequest]([]byte(ok), &Endpoint{}); err != nil {
		t.Fatalf("values at their limits: %v", err)
	}
}

func TestNULIsRefusedEverywhere(t *testing.T) {
	for body, want := range map[string]string{
		`{"name":"a\u0000b"}`:                            "name",
		`{"status":"\u0000"}`:                            "status",
		`{"tags":["ok","\u0000"]}`:                       "tags[1]",
		`{"labels":{"a\u0000":"v"}}`:                     "labels",
		`{"extra":{"a":{"b":["\u0000"]}}}`:               "extra.a.b[0]",
		`{"answer":"\u0000"}`:                            "answer",
		`{"raw":["x","\u0000"]}`:                         "raw[1]",
		`{"entries":[{"title":"t\u0000","notes":[]}]}`:   "entries[0].title",
		`{"syncToken":"\u0000"}`:                         "syncToken",
		`{"site":"https://example.com/\u0000"}`:          "site",
		`{"entries":[{"notes":[{"text":"\u0000"}]}]}`:    "entries[0].notes[0].text",
		`{"id":` + okID + `,"extra":{"k":{"\u0000":1}}}`: "extra.k",
	} {
		field, msg := limitErr(t, body)
		if field != want || !strings.Contains(msg, "NUL") {
			t.Errorf("%s: field %q message %q; want field %q about NUL", body, field, msg, want)
		}
	}
	// An escaped backslash followed by u0000 is not a NUL.
	if _, err := decode[limitsRequest]([]byte(`{"id":`+okID+`,"name":"\\u0000"}`), &Endpoint{}); err != nil {
		t.Fatalf("a literal backslash-u0000: %v", err)
	}
}

func TestOpenAPIPublishesLimits(t *testing.T) {
	a := NewAPI()
	a.Add(Object(Spec{Name: "thing.create"}, func(_ context.Context, _ *Call, _ *limitsRequest) (Result[struct{}], error) {
		return Result[struct{}]{}, nil
	}))
	var doc map[string]any
	if err := json.Unmarshal(a.OpenAPIJSON("http://x"), &doc); err != nil {
		t.Fatal(err)
	}
	props := doc["paths"].(map[string]any)["/thing.create"].(map[string]any)["post"].(map[string]any)["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)["properties"].(map[string]any)
	get := func(p map[string]any, k string) map[string]any { return p[k].(map[string]any) }
	for name, want := range map[string]float64{"name": MaxString, "email": MaxEmail, "site": MaxURL, "body": MaxLongText, "code": 3, "cursor": MaxString} {
		if got := get(props, name)["maxLength"]; got != want {
			t.Errorf("%s: maxLength %v, want %v", name, got, want)
		}
	}
	if get(props, "tags")["maxItems"] != 2.0 || get(get(props, "tags"), "items")["maxLength"] != float64(MaxString) {
		t.Errorf("tags: %v", get(props, "tags"))
	}
	if get(get(props, "emails"), "items")["maxLength"] != float64(MaxEmail) {
		t.Errorf("emails: %v", get(props, "emails"))
	}
	if _, ok := get(props, "id")["maxLength"]; ok {
		t.Errorf("a UUID needs no maxLength: %v", get(props, "id"))
	}
	if _, ok := get(props, "status")["maxLength"]; ok {
		t.Errorf("an enum needs no maxLength: %v", get(props, "status"))
	}
	notes := get(get(get(get(props, "entries"), "items")["properties"].(map[string]any), "notes"), "items")["properties"].(map[string]any)
	if get(notes, "text")["maxLength"] != float64(MaxText) {
		t.Errorf("nested text: %v", notes)
	}
	if get(get(props, "labels"), "additionalProperties")["maxLength"] != float64(MaxString) {
		t.Errorf("labels: %v", get(props, "labels"))
	}
}

type embeddedSettings struct {
	Mode  string `json:"mode,omitempty" enum:"A,B"`
	Label string `json:"label,omitempty"`
}

// encoding/json fills the fields of an unexported embedded struct, so
// they are checked like the request's own.
func TestUnexportedEmbeddedFieldsAreChecked(t *testing.T) {
	type req struct {
		embeddedSettings
		Name string `json:"name,omitempty"`
	}
	for body, want := range map[string]string{
		`{"label":"` + strings.Repeat("x", MaxString+1) + `"}`: "label",
		`{"label":"\u0000"}`: "label",
		`{"mode":"C"}`:       "mode",
	} {
		_, err := decode[req]([]byte(body), &Endpoint{})
		ae, ok := ashby.AsError(err)
		if !ok || ae.Meta["field"] != want {
			t.Errorf("%.40s: %v, want invalid_input on %s", body, err, want)
		}
	}
}

type sqlStateError string

func (e sqlStateError) Error() string {
	return "ERROR: invalid byte sequence (SQLSTATE " + string(e) + ")"
}
func (e sqlStateError) SQLState() string { return string(e) }

// Text the database refuses is the client's input: invalid_input, logged
// as a warning, never a 500 logged as an error.
func TestUnstorableTextIsInvalidInput(t *testing.T) {
	a := NewAPI()
	a.Add(Object(Spec{Name: "thing.create"}, func(_ context.Context, _ *Call, req *struct {
		Code string `json:"code"`
	}) (Result[struct{}], error) {
		return Result[struct{}]{}, fmt.Errorf("insert: %w", sqlStateError(req.Code))
	}))
	var logs strings.Builder
	s := NewServer(a, fakeAuth{"good": {OrgID: "o", KeyID: "k"}}, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for code, want := range map[string]int{"22021": 200, "22P05": 200, "23505": 500} {
		logs.Reset()
		r := do(t, s, "good", "/thing.create", `{"code":"`+code+`"}`)
		if r.status != want || (want == 200) != (errCode(r) == ashby.CodeInvalidInput) {
			t.Errorf("SQLSTATE %s: %d %v", code, r.status, r.body)
		}
		if (want == 200) != strings.Contains(logs.String(), "level=WARN") {
			t.Errorf("SQLSTATE %s logged as %s", code, logs.String())
		}
	}
}
