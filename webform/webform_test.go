package webform

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/forms"
)

func TestCSRF(t *testing.T) {
	c := NewCSRF([]byte("secret"), "site a", "a_csrf", "/a/")
	w := httptest.NewRecorder()
	token := c.Token(w, httptest.NewRequest("GET", "/a/form", nil))
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != "a_csrf" || cookies[0].Path != "/a/" || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookie: %+v", cookies)
	}
	post := func(ck *http.Cookie) *http.Request {
		r := httptest.NewRequest("POST", "/a/form", nil)
		if ck != nil {
			r.AddCookie(ck)
		}
		return r
	}
	if !c.Valid(post(cookies[0]), token) {
		t.Fatal("the token of the cookie is refused")
	}
	// A second page view with the cookie reuses it.
	if again := c.Token(httptest.NewRecorder(), post(cookies[0])); again != token {
		t.Fatal("a new token for the same cookie")
	}
	other := NewCSRF([]byte("secret"), "site b", "a_csrf", "/a/")
	for name, ok := range map[string]bool{
		"no cookie":       c.Valid(post(nil), token),
		"no token":        c.Valid(post(cookies[0]), ""),
		"another cookie":  c.Valid(post(&http.Cookie{Name: "a_csrf", Value: RandomToken()}), token),
		"another purpose": other.Valid(post(cookies[0]), token),
	} {
		if ok {
			t.Errorf("%s: accepted", name)
		}
	}
}

// What the rendered inputs post comes back as answers the form's
// validation accepts, and a view of the form keeps them.
func TestSectionsAndAnswers(t *testing.T) {
	def := ashby.FormDefinition{Sections: []ashby.FormSection{{Title: "S", Fields: []ashby.FormEntry{
		forms.Field(ashby.FieldString, "name", "Name", true),
		forms.Field(ashby.FieldBoolean, "ok", "OK?", false),
		forms.Field(ashby.FieldMultiValueSelect, "langs", "Languages", false, forms.Choices("Go", "Rust")...),
		forms.Field(ashby.FieldScore, "score", "Score", false),
		forms.Field(ashby.FieldLocation, "where", "Where", false),
		forms.Field(ashby.FieldEducationHistory, "edu", "Education", false),
		forms.Field(ashby.FieldFile, "cv", "CV", false),
	}}}}
	vals := Values{"name": {" Ada "}, "ok": {"false"}, "langs": {"go", "rust"}, "score": {"2"}, "where[city]": {"London"}, "where[country]": {"UK"},
		"edu[school]": {"UCL"}, "edu[current]": {"1"}}
	subs := Answers(def, vals, func(path string) bool { return path == "cv" })
	got, err := forms.Validate(def, subs, forms.Options{File: func(f ashby.FormField, v any) (any, error) { return "file:" + v.(string), nil }})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"name": "Ada", "ok": false, "langs": []string{"go", "rust"}, "score": map[string]any{"score": 2},
		"where": map[string]any{"city": "London", "country": "UK"}, "edu": []map[string]any{{"schoolName": "UCL", "isCurrent": true}}, "cv": "file:cv"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("answers\n got %#v\nwant %#v", got, want)
	}
	// An empty form answers nothing: only the required field is missed.
	_, err = forms.Validate(def, Answers(def, Values{}, nil), forms.Options{})
	if fe, ok := err.(forms.Errors); !ok || len(fe) != 1 || fe[0].Path != "name" {
		t.Fatalf("an empty form: %v", err)
	}

	secs := Sections(def, vals, map[string]string{"name": "Is required."}, Options{ScoreLabels: []string{"a", "b", "c", "d"}, NoFiles: true})
	fs := secs[0].Fields
	if fs[0].Value != "Ada" || fs[0].Error != "Is required." || fs[0].Described() != "field-1-error" || fs[1].Value != "false" {
		t.Errorf("text fields: %+v %+v", fs[0], fs[1])
	}
	if !fs[2].Options[0].Checked || !fs[2].Options[1].Checked || fs[3].Options[1].Label != "b" || !fs[3].Options[1].Checked || fs[3].Options[0].Checked {
		t.Errorf("choices: %+v %+v", fs[2].Options, fs[3].Options)
	}
	if fs[4].Sub["city"] != "London" || fs[5].Sub["current"] != "1" || fs[6].Input != "nofile" {
		t.Errorf("composite and file fields: %+v %+v %+v", fs[4], fs[5], fs[6])
	}
	if errs := Errors(secs); len(errs) != 1 || errs[0].ID != "field-1" {
		t.Errorf("error summary: %+v", errs)
	}
}
