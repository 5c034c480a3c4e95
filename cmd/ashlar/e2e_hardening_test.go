package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
	"github.com/ashlarhq/ashlar/webhook"
)

// postBody sends a JSON body as is (the client would encode it).
func postBody(t *testing.T, base, key, endpoint string, body []byte) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/"+endpoint, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(key, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func errorField(m map[string]any) (code, field, msg string) {
	info, _ := m["errorInfo"].(map[string]any)
	code, _ = info["code"].(string)
	msg, _ = info["message"].(string)
	meta, _ := info["meta"].(map[string]any)
	field, _ = meta["field"].(string)
	return
}

// NUL characters and over-long strings, on both engines: the API refuses
// them with invalid_input naming the field, public pages answer 404 for
// addresses holding one, and a candidate whose form holds one keeps the
// application (a hidden value is dropped) or sees the field's error.
// Nothing answers 500 or logs an error.
func TestE2EHostileTextOnBothEngines(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{Args: []string{"--files-dir", t.TempDir()}})
		f := newPostingFixture(t, srv)
		c := f.c
		key := srv.Key(f.slug, "all")
		must(t, c, "project.create", map[string]any{"title": "Platform"}, nil)

		// The decode path.
		for _, tc := range []struct{ endpoint, body, field string }{
			{"candidate.create", `{"name":"Ada\u0000","email":"ada@example.com"}`, "name"},
			{"project.search", `{"title":"\u0000"}`, "title"},
			{"candidate.search", `{"email":"\u0000"}`, "email"},
			{"candidate.create", `{"name":"Ada","email":"ada@example.com","location":{"city":"\u0000"}}`, "location.city"},
			{"jobPosting.update", `{"jobPostingId":"` + f.posting.ID + `","description":{"type":"text/html","content":"<p>\u0000</p>"}}`, "description.content"},
			{"surveySubmission.create", `{"candidateId":"` + ashby.NewID() + `","submittedValues":{"q":"\u0000"}}`, "submittedValues.q"},
		} {
			status, m := postBody(t, srv.URL, key, tc.endpoint, []byte(tc.body))
			if code, field, msg := errorField(m); status != 200 || code != ashby.CodeInvalidInput || field != tc.field || !strings.Contains(msg, "NUL") {
				t.Errorf("%s %s: %d %s %q %s", tc.endpoint, tc.body, status, code, field, msg)
			}
		}
		// The attack that filled a page with megabytes: a 9 MB name.
		huge := []byte(`{"name":"` + strings.Repeat("x", 9<<20) + `","email":"big@example.com"}`)
		status, m := postBody(t, srv.URL, key, "candidate.create", huge)
		if code, field, msg := errorField(m); status != 200 || code != ashby.CodeInvalidInput || field != "name" || !strings.Contains(msg, "255") {
			t.Errorf("a 9 MB name: %d %s %q %s", status, code, field, msg)
		}
		status, m = postBody(t, srv.URL, key, "candidate.create", []byte(`{"name":"Ada","email":"`+strings.Repeat("a", 65)+`@example.com"}`))
		if code, field, msg := errorField(m); code != ashby.CodeInvalidInput || field != "email" || !strings.Contains(msg, "64") {
			t.Errorf("a 65-octet local part: %d %s %q %s", status, code, field, msg)
		}

		// Public addresses.
		for _, path := range []string{
			"/posting-api/job-board/" + f.slug + "%00", "/jobs/" + f.slug + "%00", "/jobs/" + f.slug + "/" + f.posting.ID + "%00",
			"/jobs/" + f.slug + "/" + f.posting.ID + "/application%00", "/jobs/" + f.slug + "?q=%00", "/jobs/%00/theme.css",
			"/jobs/" + f.slug + "/" + f.posting.ID + "/application/submitted?ref=%00", "/surveys/%00", "/take-home/%00",
			"/files/%00?expires=1&signature=00", "/posting-api/job-board/%FF", "/jobs/" + f.slug + "?q=%C3",
		} {
			if r, b := get(t, srv.URL+path, nil); r.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: %d %s", path, r.StatusCode, b)
			}
		}
		if r, _ := get(t, srv.URL+"/jobs/"+f.slug+"/"+f.posting.ID+"/application/submitted?ref=nope", nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("a confirmation that is no UUID: %d", r.StatusCode)
		}

		// The careers form: a NUL in the name is the name's error, shown
		// beside it with everything typed kept; a NUL in a hidden value
		// is dropped and the application goes through.
		jar, _ := cookiejar.New(nil)
		hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		formURL := srv.URL + "/jobs/" + f.slug + "/" + f.posting.ID + "/application"
		csrf, idem := careersForm(t, hc, formURL)
		post := func(fields map[string]string) (*http.Response, string) {
			body, ct := multipartBody(t, fields, filePart{"_systemfield_resume", "cv.pdf", pdfBytes})
			resp, err := hc.Post(formURL, ct, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp, string(b)
		}
		fields := map[string]string{"csrf": csrf, "idempotency_key": idem, "_systemfield_name": "Ken\x00 Thompson", "_systemfield_email": "ken@example.com",
			"q_why": "Unix", "utm_source": "Indeed\x00", "utm_campaign": strings.Repeat("c", 300)}
		r, page := post(fields)
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "NUL character") || !strings.Contains(page, "ken@example.com") {
			t.Fatalf("a NUL in the name: %d\n%s", r.StatusCode, page)
		}
		fields["_systemfield_name"] = "Ken Thompson"
		fields["idempotency_key"] = "bad\x00key-bad\x00key-bad\x00key"
		if r, page := post(fields); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("a NUL in hidden values only: %d\n%s", r.StatusCode, page)
		}
		apps, _, err := client.All[ashby.Application](context.Background(), c, "application.list", nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(apps) != 1 || apps[0].Candidate.Name != "Ken Thompson" || apps[0].Source == nil || apps[0].Source.Title != "Careers Page" {
			t.Fatalf("the application (its UTM dropped): %+v", apps)
		}

		// The survey page and the take-home page.
		var survey ashby.SurveyFormDefinition
		must(t, c, "surveyFormDefinition.create", map[string]any{"title": "S", "surveyType": "Questionnaire", "formDefinition": map[string]any{"sections": []any{
			map[string]any{"fields": []any{map[string]any{"isRequired": true, "field": map[string]any{"type": "String", "path": "q", "title": "Q"}}}}}}}, &survey)
		var req ashby.SurveyRequest
		must(t, c, "surveyRequest.create", map[string]any{"candidateId": apps[0].Candidate.ID, "applicationId": apps[0].ID, "surveyFormDefinitionId": survey.ID}, &req)
		surveyURL := srv.URL + "/surveys/" + req.ID
		scsrf := publicFormToken(t, hc, surveyURL)
		resp, err := hc.PostForm(surveyURL, url.Values{"csrf": {scsrf}, "q": {"a\x00b"}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(b), "NUL character") {
			t.Fatalf("a NUL in a survey answer: %d\n%s", resp.StatusCode, b)
		}
		var iv ashby.Interview
		must(t, c, "interview.create", map[string]any{"title": "Take-home"}, &iv)
		var users []ashby.User
		must(t, c, "user.list", nil, &users)
		var th ashby.TakeHomeAssignment
		must(t, c, "takeHomeAssignment.create", map[string]any{"applicationId": apps[0].ID, "interviewId": iv.ID, "reviewerUserIds": []string{users[0].ID}}, &th)
		tcsrf := publicFormToken(t, hc, th.SubmissionURL)
		body, ct := multipartBody(t, map[string]string{"csrf": tcsrf, "text": "my\x00answer"})
		resp, err = hc.Post(th.SubmissionURL, ct, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(b), "NUL character") {
			t.Fatalf("a NUL in a take-home answer: %d\n%s", resp.StatusCode, b)
		}
		if logs := srv.Logs(); strings.Contains(logs, "level=ERROR") {
			t.Fatalf("errors logged:\n%s", logs)
		}
	})
}

// publicFormToken opens a public form and returns its CSRF token.
func publicFormToken(t *testing.T, hc *http.Client, u string) string {
	t.Helper()
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRE.FindSubmatch(b)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	return strings.ReplaceAll(string(m[1]), "&#43;", "+")
}

// Behind a reverse proxy (--trusted-proxies), each applicant has a rate
// limit bucket of their own, keyed on the rightmost X-Forwarded-For entry
// that is not a trusted proxy: entries a client adds on the left change
// nothing. The applications and the audit log record that address.
func TestE2ETrustedProxies(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, store.SQLite, testserver.Options{Args: []string{"--files-dir", t.TempDir(), "--careers-rate-limit", "1", "--careers-rate-burst", "1"},
		Env: []string{"ASHLAR_TRUSTED_PROXIES=127.0.0.1/32, 10.0.0.0/8"}})
	f := newPostingFixture(t, srv)
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	formURL := srv.URL + "/jobs/" + f.slug + "/" + f.posting.ID + "/application"
	apply := func(xff, email string) int {
		csrf, idem := careersForm(t, hc, formURL)
		body, ct := multipartBody(t, map[string]string{"csrf": csrf, "idempotency_key": idem, "_systemfield_name": "Applicant",
			"_systemfield_email": email, "q_why": "Because"}, filePart{"_systemfield_resume", "cv.pdf", pdfBytes})
		req, _ := http.NewRequest(http.MethodPost, formURL, bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("X-Forwarded-For", xff)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := apply("198.51.100.1, 203.0.113.5, 10.1.2.3", "a@example.com"); got != http.StatusSeeOther {
		t.Fatalf("first application from 203.0.113.5: %d", got)
	}
	if got := apply("8.8.8.8, 203.0.113.5, 10.1.2.3", "b@example.com"); got != http.StatusTooManyRequests {
		t.Fatalf("the same client with another spoofed leftmost entry: %d, want 429", got)
	}
	if got := apply("203.0.113.5", "c@example.com"); got != http.StatusTooManyRequests {
		t.Fatalf("the same client through one proxy: %d, want 429", got)
	}
	if got := apply("203.0.113.5, 203.0.113.6", "d@example.com"); got != http.StatusSeeOther {
		t.Fatalf("another client (a spoofed leftmost entry naming the first): %d, want a bucket of its own", got)
	}
	apps, _, err := client.All[ashby.Application](context.Background(), f.c, "application.list", nil)
	if err != nil {
		t.Fatal(err)
	}
	ips := map[string]bool{}
	for _, a := range apps {
		ips[a.SubmitterClientIP] = true
	}
	if len(apps) != 2 || !ips["203.0.113.5"] || !ips["203.0.113.6"] {
		t.Fatalf("recorded addresses: %+v", ips)
	}
	// The audit log records API calls from the same resolved address.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/candidate.create", strings.NewReader(`{"name":"Via Proxy","email":"via@example.com"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", "192.0.2.99, 198.51.100.77")
	req.SetBasicAuth(srv.Key(f.slug, "all"), "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ Results ashby.Candidate }
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	entries := auditEntries(t, f.c, map[string]any{"targetIds": []string{created.Results.ID}})
	if len(entries) == 0 || entries[0].Request == nil || entries[0].Request.IPAddress != "198.51.100.77" {
		t.Fatalf("audit entries: %+v", entries)
	}
}

// Every response says nosniff, API answers and errors included. (HSTS,
// sent when the public URL is https, is tested in package server: the
// test server is reached over http.)
func TestE2ESecurityHeaders(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, store.SQLite, testserver.Options{})
	_, key := srv.NewOrg()
	for _, req := range []*http.Request{
		func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, srv.URL+"/candidate.list", strings.NewReader(`{}`))
			r.SetBasicAuth(key, "")
			return r
		}(),
		func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, srv.URL+"/candidate.list", nil)
			return r
		}(), // 401
		func() *http.Request { r, _ := http.NewRequest(http.MethodGet, srv.URL+"/openapi.json", nil); return r }(),
		func() *http.Request { r, _ := http.NewRequest(http.MethodGet, srv.URL+"/healthz", nil); return r }(),
		func() *http.Request { r, _ := http.NewRequest(http.MethodGet, srv.URL+"/no-such-thing", nil); return r }(),
	} {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s %s: %d %v", req.Method, req.URL.Path, resp.StatusCode, resp.Header)
		}
	}
}

// The SSRF guard: without --webhook-allow-private, webhook.create and
// webhook.update refuse a requestUrl that is, or resolves to, a private or
// special-purpose address; a setting stored before that points at one is
// never connected to, and its attempts record no response.
func TestE2EWebhookSSRFGuard(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, store.SQLite, testserver.Options{Args: []string{"--webhook-retry-base", "50ms", "--webhook-poll", "200ms",
		"--webhook-timeout", "2s", "--webhook-lease", "4s", "--webhook-max-attempts", "1"}})
	slug, key := srv.NewOrg()
	c := srv.Client(key)
	rc := newHookReceiver(t)
	_, port, _ := strings.Cut(strings.TrimPrefix(rc.URL, "http://"), ":")
	for _, u := range []string{rc.URL + "/x", "http://localhost:" + port + "/x", "http://192.0.2.1/x", "http://[::1]:" + port + "/x",
		"http://[::ffff:127.0.0.1]:" + port + "/x", "https://198.18.0.1/x", "https://240.0.0.1/x", "https://100.64.0.1/x", "https://[fd00::1]/x",
		"https://[64:ff9b::7f00:1]/x", "https://[2002:c0a8:101::1]/x", "https://0.0.0.0/x"} {
		_, err := c.Call(context.Background(), "webhook.create", map[string]any{"webhookType": "jobCreate", "requestUrl": u, "secretToken": "s"}, nil)
		var ae *client.Error
		if client.Code(err) != ashby.CodeInvalidInput || !errors.As(err, &ae) || ae.Meta["field"] != "requestUrl" {
			t.Errorf("webhook.create to %s: %v", u, err)
		}
	}
	var w ashby.WebhookSetting
	must(t, c, "webhook.create", map[string]any{"webhookType": "jobCreate", "requestUrl": "https://hooks.invalid/ashby", "secretToken": "s",
		"standardWebhooks": true}, &w)
	wantCode(t, c, "webhook.update", map[string]any{"webhookId": w.ID, "requestUrl": rc.URL + "/x"}, ashby.CodeInvalidInput)

	// webhook.update echoes a secret only when it sets one.
	var raw map[string]any
	must(t, c, "webhook.update", map[string]any{"webhookId": w.ID, "enabled": true}, &raw)
	if _, ok := raw["secretToken"]; ok || raw["standardWebhooksSecret"] != nil || raw["id"] != w.ID {
		t.Fatalf("an update that did not set the secret: %v", raw)
	}
	raw = nil
	must(t, c, "webhook.update", map[string]any{"webhookId": w.ID, "secretToken": "s2"}, &raw)
	if raw["secretToken"] != "s2" || raw["standardWebhooksSecret"] == nil {
		t.Fatalf("an update that set the secret: %v", raw)
	}

	// A setting stored before the guard checked URLs on save.
	db, err := store.Open(context.Background(), srv.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	org, err := db.OrgBySlug(ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Write(ctx, func(tx *store.Tx) error {
		_, err := webhook.Settings.Update(ctx, tx, org.ID, w.ID, func(s *ashby.WebhookSetting) error {
			s.RequestURL = rc.URL + "/legacy"
			return nil
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	must(t, c, "webhook.ping", map[string]any{"webhookId": w.ID}, nil)
	var attempts []webhook.Attempt
	waitUntil(t, "the ping's attempt", 20*time.Second, func() bool {
		ds, _, err := client.All[webhook.Delivery](ctx, c, "webhook.listDeliveries", map[string]any{"webhookId": w.ID})
		if err != nil {
			t.Fatal(err)
		}
		attempts = nil
		for _, d := range ds {
			for _, a := range d.Attempts {
				if strings.HasSuffix(a.URL, "/legacy") { // not the creation's ping
					attempts = append(attempts, a)
				}
			}
		}
		return len(attempts) > 0
	})
	for _, a := range attempts {
		if a.Outcome != webhook.OutcomeBlocked || a.Response != "" || a.StatusCode != 0 || !strings.Contains(a.Error, "loopback address") {
			t.Errorf("an attempt to a loopback receiver: %+v", a)
		}
	}
	if hits := rc.hits(""); len(hits) != 0 {
		t.Fatalf("the receiver was reached: %d requests", len(hits))
	}
}
