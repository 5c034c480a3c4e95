package main

import (
	"bytes"
	"regexp"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

// serve mounts the survey page, and serve --demo prints the URL of a
// survey the demo organization's candidate can still answer there.
func TestE2EDemoSurveyPage(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, store.SQLite, testserver.Options{Args: []string{"--demo", "--demo-candidates", "60"}})
	url := srv.WaitStdout(regexp.MustCompile(`http://\S+/surveys/[0-9a-f-]{36}`), 60*time.Second)
	r, b := get(t, url, nil)
	if r.StatusCode != 200 || !bytes.Contains(b, []byte(`<form class="survey" method="post"`)) || !bytes.Contains(b, []byte("Northwind Robotics")) {
		t.Fatalf("GET %s: %d\n%s", url, r.StatusCode, b)
	}
	if r, _ := get(t, srv.URL+"/surveys/_assets/survey.css", nil); r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/css; charset=utf-8" {
		t.Fatalf("survey stylesheet: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
}
