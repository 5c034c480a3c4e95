package forms

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ashlarhq/ashlar/ashby"
)

func def() ashby.FormDefinition {
	return ashby.FormDefinition{Sections: []ashby.FormSection{{Title: "You", Fields: []ashby.FormEntry{
		Field(ashby.FieldString, "_systemfield_name", "Name", true),
		Field(ashby.FieldEmail, "_systemfield_email", "Email", true),
		Field(ashby.FieldPhone, "phone", "Phone", false),
		Field(ashby.FieldBoolean, "auth", "Authorized to work?", true),
		Field(ashby.FieldDate, "start", "Start date", false),
		Field(ashby.FieldNumber, "years", "Years", false),
		Field(ashby.FieldValueSelect, "level", "Level", false, Choices("Junior", "Senior Staff")...),
		Field(ashby.FieldMultiValueSelect, "langs", "Languages", false, Choices("Go", "Rust")...),
		Field(ashby.FieldScore, "score", "Score", false),
		Field(ashby.FieldLocation, "_systemfield_location", "Location", false),
		Field(ashby.FieldURL, "site", "Website", false),
		Field(ashby.FieldRichText, "cover", "Cover letter", false),
		Field(ashby.FieldEducationHistory, "edu", "Education", false),
		Field(ashby.FieldFile, "_systemfield_resume", "Resume", false),
	}}}}
}

func subs(js string) []ashby.FieldSubmission {
	var s []ashby.FieldSubmission
	if err := json.Unmarshal([]byte(js), &s); err != nil {
		panic(err)
	}
	return s
}

func TestValidAnswersAreNormalised(t *testing.T) {
	vals, err := Validate(def(), subs(`[
		{"path":"_systemfield_name","value":" Ada "},{"path":"_systemfield_email","value":"ada@example.com"},
		{"path":"auth","value":true},{"path":"start","value":"2027-01-04"},{"path":"years","value":7},
		{"path":"level","value":"senior_staff"},{"path":"langs","value":["go","rust","go"]},{"path":"score","value":{"score":3}},
		{"path":"_systemfield_location","value":{"city":"Berlin","country":"Germany"}},{"path":"cover","value":"Hi"},
		{"path":"edu","value":[{"schoolName":"ETH","isCurrent":true}]},{"path":"phone","value":""},
		{"path":"_systemfield_resume","value":"resume_1"}]`),
		Options{File: func(f ashby.FormField, v any) (any, error) {
			return ashby.FileHandle{ID: "f1", Name: "cv.pdf", Handle: v.(string)}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if vals["_systemfield_name"] != "Ada" || vals["level"] != "senior_staff" || len(vals["langs"].([]string)) != 2 {
		t.Fatalf("values: %v", vals)
	}
	if _, ok := vals["phone"]; ok {
		t.Fatal("an empty optional answer should be absent")
	}
	if vals["cover"].(map[string]any)["type"] != "PlainText" {
		t.Fatalf("rich text: %v", vals["cover"])
	}
}

func TestEveryProblemIsReported(t *testing.T) {
	_, err := Validate(def(), subs(`[
		{"path":"_systemfield_email","value":"nope"},{"path":"auth","value":"yes"},{"path":"start","value":"04/01/2027"},
		{"path":"years","value":"seven"},{"path":"level","value":"Senior Staff"},{"path":"langs","value":["cobol"]},
		{"path":"score","value":{"score":5}},{"path":"site","value":"javascript:alert(1)"},{"path":"phone","value":"call me"},
		{"path":"bogus","value":1},{"path":"_systemfield_resume","value":"x"}]`), Options{})
	var fe Errors
	if !errors.As(err, &fe) {
		t.Fatalf("want Errors, got %v", err)
	}
	want := map[string]bool{"_systemfield_name": true, "_systemfield_email": true, "auth": true, "start": true, "years": true,
		"level": true, "langs": true, "score": true, "site": true, "phone": true, "bogus": true, "_systemfield_resume": true}
	for _, e := range fe {
		delete(want, e.Path)
	}
	if len(want) != 0 {
		t.Fatalf("not reported: %v (got %v)", want, fe)
	}
	api := fe.APIError()
	if api.Code != ashby.CodeInvalidInput || len(api.Meta["fieldErrors"].([]FieldError)) != len(fe) {
		t.Fatalf("api error: %+v", api)
	}
}

func TestFromText(t *testing.T) {
	f := Field(ashby.FieldBoolean, "b", "B", false).Field
	if FromText(f, []string{"on"}) != true {
		t.Fatal("checkbox on")
	}
	loc := FromText(Field(ashby.FieldLocation, "l", "L", false).Field, []string{"Berlin, Germany"}).(map[string]any)
	if loc["city"] != "Berlin" || loc["country"] != "Germany" {
		t.Fatalf("location: %v", loc)
	}
	if Slug("Senior Staff!") != "senior_staff" {
		t.Fatal(Slug("Senior Staff!"))
	}
}

// Every field type refuses a NUL character and an over-long value with a
// field error (never an error the caller cannot show beside the field).
func TestNULAndOverLongAnswersAreFieldErrors(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n+1) }
	bad := map[string]any{
		"_systemfield_name":     "Ada\x00",
		"_systemfield_email":    long(64) + "@example.com",
		"phone":                 "+44 20 " + strings.Repeat(" ", MaxShort),
		"start":                 "2027-01-04\x00",
		"level":                 "junior\x00",
		"langs":                 []any{"go", "\x00"},
		"_systemfield_location": map[string]any{"city": long(MaxShort)},
		"site":                  "https://example.com/" + long(MaxURL),
		"cover":                 map[string]any{"type": "PlainText", "value": long(MaxLongText)},
		"edu":                   []any{map[string]any{"schoolName": "ETH", "degree": long(MaxShort)}},
		"_systemfield_resume":   "resume\x00",
		"years":                 map[string]any{"\x00": 1},
	}
	var subs []ashby.FieldSubmission
	for p, v := range bad {
		subs = append(subs, ashby.FieldSubmission{Path: p, Value: v})
	}
	_, err := Validate(def(), subs, Options{File: func(ashby.FormField, any) (any, error) { return "stored", nil }})
	var fe Errors
	if !errors.As(err, &fe) {
		t.Fatalf("want Errors, got %v", err)
	}
	got := map[string]string{}
	for _, e := range fe {
		got[e.Path] = e.Message
	}
	for p := range bad {
		if got[p] == "" {
			t.Errorf("%s: accepted", p)
		}
	}
	if !strings.Contains(got["_systemfield_name"], "NUL") || !strings.Contains(got["cover"], "100000") {
		t.Errorf("messages: %v", got)
	}
	// At the limits, answers are accepted.
	ok := []ashby.FieldSubmission{{Path: "_systemfield_name", Value: strings.Repeat("é", MaxString)}, {Path: "auth", Value: true},
		{Path: "_systemfield_email", Value: strings.Repeat("a", 64) + "@example.com"}, {Path: "cover", Value: strings.Repeat("a", MaxLongText)}}
	if _, err := Validate(def(), ok, Options{}); err != nil {
		t.Fatalf("answers at their limits: %v", err)
	}
}
