package surveypage_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/server"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
	"github.com/ashlarhq/ashlar/surveypage"
)

// fixture is a server with the survey page mounted, in-process, and an
// organization with a candidate, an application and a survey form that
// asks one question of every field type a browser can answer.
type fixture struct {
	t    *testing.T
	db   *store.DB
	srv  *server.Server
	url  string
	org  *store.Org
	call *rpc.Call
	app  ashby.Application
	form ashby.SurveyFormDefinition
}

func newFixture(t *testing.T, db *store.DB, o surveypage.Options) *fixture {
	t.Helper()
	var handler http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)
	f := &fixture{t: t, db: db, url: ts.URL}
	f.srv = server.New(db, server.Config{BaseURL: ts.URL})
	page, err := surveypage.New(f.srv.Service, o)
	if err != nil {
		t.Fatal(err)
	}
	page.Routes(f.srv.Mux)
	handler = f.srv.Handler()
	f.org, f.call = f.newOrg("Acme Robotics")
	f.app = f.newApplication(f.call, "Ada Lovelace", "Acme Careers")
	f.invoke(f.call, "surveyFormDefinition.create", map[string]any{"title": "Tell us about you", "surveyType": "Questionnaire",
		"formDefinition": map[string]any{"sections": []any{
			map[string]any{"title": "About you", "fields": []any{
				entry("String", "nickname", "What should we call you?", true),
				entry("LongText", "story", "Tell us a story", false),
				entry("Email", "email", "Email", false),
				entry("Phone", "phone", "Phone", false),
				entry("Url", "site", "Website", false),
				entry("Number", "years", "Years of experience", false),
				entry("Date", "start", "Earliest start date", false),
				entry("Boolean", "relocate", "Would you relocate?", true),
			}},
			map[string]any{"title": "Preferences", "fields": []any{
				entry("ValueSelect", "team", "Preferred team", false, "Platform", "Robots"),
				entry("MultiValueSelect", "langs", "Languages", false, "Go", "Rust", "C"),
				entry("Score", "rating", "How was your interview?", false),
				entry("RichText", "note", "Anything else?", false),
				entry("Location", "where", "Where do you live?", false),
				entry("Currency", "salary", "Expected salary", false),
				entry("NumberRange", "hours", "Hours a week", false),
				entry("DateRange", "trip", "Holidays planned", false),
				entry("File", "portfolio", "Portfolio", false),
			}},
		}}}, &f.form)
	return f
}

func entry(typ, path, title string, required bool, options ...string) map[string]any {
	fd := map[string]any{"type": typ, "path": path, "title": title}
	if len(options) > 0 {
		var vals []map[string]string
		for _, o := range options {
			vals = append(vals, map[string]string{"label": o, "value": strings.ToLower(o)})
		}
		fd["selectableValues"] = vals
	}
	return map[string]any{"isRequired": required, "field": fd, "descriptionHtml": "<p>About " + strings.ToLower(title) + "</p>"}
}

func (f *fixture) newOrg(name string) (*store.Org, *rpc.Call) {
	f.t.Helper()
	org, err := f.srv.Service.CreateOrg(context.Background(), storetest.Name("org"), name)
	if err != nil {
		f.t.Fatal(err)
	}
	return org, &rpc.Call{Principal: &rpc.Principal{OrgID: org.ID, KeyTitle: "test", KeyCreated: time.Now(), Permissions: ashby.AllPermissions}}
}

// newApplication makes a candidate's application to a job of brand.
func (f *fixture) newApplication(c *rpc.Call, candidate, brand string) ashby.Application {
	f.t.Helper()
	var d ashby.Department
	f.invoke(c, "department.create", map[string]any{"name": "Engineering"}, &d)
	var l ashby.Location
	f.invoke(c, "location.create", map[string]any{"name": "Berlin", "type": "Location"}, &l)
	var b ashby.Brand
	f.invoke(c, "brand.create", map[string]any{"name": brand, "hostedJobsPageSlug": storetest.Name("brand")}, &b)
	var plans []ashby.InterviewPlan
	f.invoke(c, "interviewPlan.list", nil, &plans)
	var job ashby.Job
	f.invoke(c, "job.create", map[string]any{"title": "Robot Whisperer", "teamId": d.ID, "locationId": l.ID, "brandId": b.ID, "defaultInterviewPlanId": plans[0].ID}, &job)
	var cand ashby.Candidate
	f.invoke(c, "candidate.create", map[string]any{"name": candidate}, &cand)
	var app ashby.Application
	f.invoke(c, "application.create", map[string]any{"candidateId": cand.ID, "jobId": job.ID}, &app)
	return app
}

func (f *fixture) invoke(c *rpc.Call, endpoint string, req, out any) {
	f.t.Helper()
	if err := f.tryInvoke(c, endpoint, req, out); err != nil {
		f.t.Fatalf("%s: %v", endpoint, err)
	}
}

func (f *fixture) tryInvoke(c *rpc.Call, endpoint string, req, out any) error {
	if req == nil {
		req = map[string]any{}
	}
	raw, err := f.srv.API.Invoke(context.Background(), c, endpoint, req)
	if err != nil {
		return err
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// request asks the application's candidate to answer the form.
func (f *fixture) request(c *rpc.Call, app ashby.Application, formID string) ashby.SurveyRequest {
	f.t.Helper()
	var sr ashby.SurveyRequest
	f.invoke(c, "surveyRequest.create", map[string]any{"candidateId": app.Candidate.ID, "applicationId": app.ID, "surveyFormDefinitionId": formID}, &sr)
	return sr
}

func (f *fixture) submissions(surveyType string) []ashby.SurveySubmission {
	f.t.Helper()
	var subs []ashby.SurveySubmission
	f.invoke(f.call, "surveySubmission.list", map[string]any{"surveyType": surveyType}, &subs)
	return subs
}

func (f *fixture) events(action string) []string {
	f.t.Helper()
	rows, err := f.db.QueryContext(context.Background(), `SELECT payload FROM events WHERE org_id = $1 AND action = $2 ORDER BY seq`, f.org.ID, action)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// browser is a client with cookies that does not follow redirects.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(u string) (*http.Response, string) {
	b.t.Helper()
	res, err := b.c.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	return res, body(b.t, res)
}

func (b *browser) post(u string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	res, err := b.c.PostForm(u, form)
	if err != nil {
		b.t.Fatal(err)
	}
	return res, body(b.t, res)
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf opens the survey and returns the form's CSRF token.
func (b *browser) csrf(u string) string {
	b.t.Helper()
	res, page := b.get(u)
	m := csrfRE.FindStringSubmatch(page)
	if res.StatusCode != 200 || m == nil {
		b.t.Fatalf("GET %s: %d, no CSRF token:\n%s", u, res.StatusCode, page)
	}
	return m[1]
}

func TestSurveyPage(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, surveypage.Options{})
		sr := f.request(f.call, f.app, f.form.ID)
		if sr.SurveyURL != f.url+"/surveys/"+sr.ID {
			t.Fatalf("surveyUrl %q", sr.SurveyURL)
		}
		b := newBrowser(t)
		var boards []ashby.JobBoard
		f.invoke(f.call, "jobBoard.list", nil, &boards)
		f.invoke(f.call, "jobBoard.update", map[string]any{"jobBoardId": boards[0].ID, "theme": map[string]any{"primaryColor": "#ffcc00", "logoUrl": "https://acme.example/logo.png"}}, nil)

		// GET renders every question with an accessible label, the
		// job's brand and the careers site's theme, and no script.
		res, page := b.get(sr.SurveyURL)
		if res.StatusCode != 200 {
			t.Fatalf("GET: %d\n%s", res.StatusCode, page)
		}
		for _, want := range []string{"<h1>Tell us about you</h1>", "Acme Careers", `<form class="survey" method="post" action="/surveys/` + sr.ID + `"`,
			`<label for="field-1">What should we call you? <span class="req" aria-hidden="true">*</span><span class="sr-only">(required)</span></label>`,
			`<input type="text" id="field-1" name="nickname" value="" aria-required="true" aria-describedby="field-1-help">`,
			`<textarea id="field-2" name="story"`, `<input type="email" id="field-3" name="email"`, `<input type="tel" id="field-4" name="phone"`,
			`<input type="url" id="field-5" name="site"`, `<input type="number" id="field-6" name="years"`, `<input type="date" id="field-7" name="start"`,
			`<fieldset id="field-8" class="choices" tabindex="-1" role="radiogroup" aria-required="true" aria-describedby="field-8-help">`,
			`<legend>Would you relocate? <span class="req"`, `<input type="radio" name="relocate" value="true">`,
			`<select id="field-9" name="team"`, `<option value="robots">Robots</option>`,
			`<input type="checkbox" name="langs" value="rust">`, `<input type="radio" name="rating" value="4"> 4 – Excellent`,
			`<textarea id="field-12" name="note"`, `name="where[city]"`, `name="salary[value]"`, `name="hours[min]"`, `name="trip[start]"`,
			"Files cannot be uploaded on this page.", `<img src="https://acme.example/logo.png" alt=""`,
			`<link rel="stylesheet" href="/surveys/` + sr.ID + `/theme.css">`} {
			if !strings.Contains(page, want) {
				t.Errorf("the survey page lacks %s", want)
			}
		}
		if strings.Contains(page, "<script") || strings.Contains(page, "Ada Lovelace") {
			t.Error("the page has a script, or shows the candidate's name")
		}
		h := res.Header
		if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") || h.Get("Referrer-Policy") != "no-referrer" ||
			h.Get("Cache-Control") != "no-store" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("headers: %v", h)
		}
		token := csrfRE.FindStringSubmatch(page)[1]
		if res, css := b.get(f.url + "/surveys/" + sr.ID + "/theme.css"); res.StatusCode != 200 || !strings.Contains(css, "--brand: #") || strings.Contains(css, "#ffcc00") {
			t.Errorf("theme: %d %s (the colour is darkened for contrast)", res.StatusCode, css)
		}

		// CSRF: without the cookie's token, nothing is stored.
		res, page = newBrowser(t).post(sr.SurveyURL, url.Values{"csrf": {token}, "nickname": {"Ada"}, "relocate": {"true"}})
		if res.StatusCode != http.StatusForbidden || !strings.Contains(page, "Answers not submitted") {
			t.Fatalf("POST without the CSRF cookie: %d\n%s", res.StatusCode, page)
		}
		res, _ = b.post(sr.SurveyURL, url.Values{"csrf": {"forged"}, "nickname": {"Ada"}, "relocate": {"true"}})
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("POST with a forged token: %d", res.StatusCode)
		}

		// Invalid answers: the page comes back with each problem beside
		// its field and in the summary, and what was entered is kept.
		res, page = b.post(sr.SurveyURL, url.Values{"csrf": {token}, "nickname": {""}, "story": {"Once <upon> a time"}, "email": {"ada-at-example"},
			"years": {"seven"}, "team": {"robots"}, "langs": {"go", "c"}, "rating": {"3"}, "where[city]": {"London"}})
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("invalid POST: %d\n%s", res.StatusCode, page)
		}
		for _, want := range []string{`<div class="error-summary" role="alert"`, `<a href="#field-1">What should we call you?: Is required.</a>`,
			`<a href="#field-3">Email: Is not a valid email address.</a>`, `<a href="#field-6">Years of experience: Must be a number.</a>`,
			`<a href="#field-8">Would you relocate?: Is required.</a>`,
			`<p class="field-error" id="field-3-error">Is not a valid email address.</p>`,
			`name="email" value="ada-at-example" aria-invalid="true" aria-describedby="field-3-help field-3-error"`,
			`>Once &lt;upon&gt; a time</textarea>`, `<option value="robots" selected>Robots</option>`,
			`<input type="checkbox" name="langs" value="go" checked>`, `<input type="checkbox" name="langs" value="c" checked>`,
			`<input type="checkbox" name="langs" value="rust">`, `<input type="radio" name="rating" value="3" checked>`, `name="where[city]" value="London"`} {
			if !strings.Contains(page, want) {
				t.Errorf("the refused form lacks %s", want)
			}
		}
		if subs := f.submissions("Questionnaire"); len(subs) != 0 {
			t.Fatalf("a refused form stored %d submissions", len(subs))
		}
		// The API refuses the same answer with the same message: one
		// validation for both.
		err := f.tryInvoke(f.call, "surveySubmission.create", map[string]any{"candidateId": f.app.Candidate.ID, "applicationId": f.app.ID,
			"surveyFormDefinitionId": f.form.ID, "submittedValues": map[string]any{"nickname": "Ada", "relocate": true, "email": "ada-at-example"}}, nil)
		if ae, ok := ashby.AsError(err); !ok || !strings.Contains(ae.Message, "email: is not a valid email address") {
			t.Fatalf("surveySubmission.create with a bad email: %v", err)
		}

		// Valid answers are stored, announced and thanked for.
		res, page = b.post(sr.SurveyURL, url.Values{"csrf": {token}, "nickname": {" Ada "}, "story": {"Engines."}, "email": {"ada@example.com"},
			"phone": {"+44 20 7946 0000"}, "site": {"https://ada.example"}, "years": {"7.5"}, "start": {"2027-03-01"}, "relocate": {"false"},
			"team": {"platform"}, "langs": {"go", "rust"}, "rating": {"4"}, "note": {"Thanks"}, "where[city]": {"London"}, "where[country]": {"UK"},
			"salary[value]": {"90000"}, "salary[currency]": {"gbp"}, "hours[min]": {"30"}, "hours[max]": {"40"},
			"trip[start]": {"2027-08-01"}, "trip[end]": {"2027-08-14"}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/surveys/"+sr.ID+"/submitted" {
			t.Fatalf("valid POST: %d %s\n%s", res.StatusCode, res.Header.Get("Location"), page)
		}
		res, page = b.get(f.url + res.Header.Get("Location"))
		if res.StatusCode != 200 || !strings.Contains(page, "<h1 id=\"done-h\">Thank you</h1>") || !strings.Contains(page, "Tell us about you") {
			t.Fatalf("thank-you page: %d\n%s", res.StatusCode, page)
		}
		subs := f.submissions("Questionnaire")
		if len(subs) != 1 {
			t.Fatalf("surveySubmission.list: %d submissions", len(subs))
		}
		s := subs[0]
		got, _ := json.Marshal(s.SubmittedValues)
		want := `{"email":"ada@example.com","hours":{"maxValue":40,"minValue":30,"type":"number-range"},"langs":["go","rust"],"nickname":"Ada",` +
			`"note":{"type":"PlainText","value":"Thanks"},"phone":"+44 20 7946 0000","rating":{"score":4},"relocate":false,` +
			`"salary":{"currencyCode":"GBP","value":90000},"site":"https://ada.example","start":"2027-03-01","story":"Engines.",` +
			`"team":"platform","trip":{"endDate":"2027-08-14","startDate":"2027-08-01"},"where":{"city":"London","country":"UK"},"years":7.5}`
		if string(got) != want || s.CandidateID != f.app.Candidate.ID || s.ApplicationID != f.app.ID || s.SurveyType != "Questionnaire" ||
			s.SurveyFormDefinitionID == nil || *s.SurveyFormDefinitionID != f.form.ID {
			t.Fatalf("stored submission %+v\n got %s\nwant %s", s, got, want)
		}
		events := f.events("surveySubmit")
		if len(events) != 1 || !strings.Contains(events[0], `"id":"`+s.ID+`"`) || !strings.Contains(events[0], `"nickname":"Ada"`) {
			t.Fatalf("surveySubmit events: %v", events)
		}

		// Answered: the link says so, and a second POST (another tab, the
		// back button) stores nothing.
		res, page = b.get(sr.SurveyURL)
		if res.StatusCode != 200 || !strings.Contains(page, "Already submitted") || strings.Contains(page, "<form") {
			t.Fatalf("GET after answering: %d\n%s", res.StatusCode, page)
		}
		res, page = b.post(sr.SurveyURL, url.Values{"csrf": {token}, "nickname": {"Ada again"}, "relocate": {"true"}})
		if res.StatusCode != http.StatusConflict || !strings.Contains(page, "Already submitted") {
			t.Fatalf("second POST: %d\n%s", res.StatusCode, page)
		}
		if n, e := len(f.submissions("Questionnaire")), len(f.events("surveySubmit")); n != 1 || e != 1 {
			t.Fatalf("after a second POST: %d submissions, %d events", n, e)
		}

		// The API, which names no request, still takes further
		// submissions, as before.
		f.invoke(f.call, "surveySubmission.create", map[string]any{"candidateId": f.app.Candidate.ID, "applicationId": f.app.ID,
			"surveyFormDefinitionId": f.form.ID, "submittedValues": map[string]any{"nickname": "Ada", "relocate": true}}, nil)
		if n := len(f.submissions("Questionnaire")); n != 2 {
			t.Fatalf("after an API submission: %d submissions", n)
		}
	})
}

func TestSurveyPageNotFoundAndClosed(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, surveypage.Options{})
		b := newBrowser(t)
		for _, path := range []string{"/surveys/" + ashby.NewID(), "/surveys/not-a-uuid", "/surveys/" + f.app.ID, "/surveys/" + f.form.ID + "/submitted", "/surveys/" + ashby.NewID() + "/other", "/surveys/"} {
			res, page := b.get(f.url + path)
			if res.StatusCode != http.StatusNotFound || !strings.Contains(page, "Survey not found") || strings.Contains(page, "Acme") {
				t.Errorf("GET %s: %d\n%s", path, res.StatusCode, page)
			}
			res, _ = b.post(f.url+path, url.Values{"nickname": {"x"}})
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("POST %s: %d", path, res.StatusCode)
			}
		}

		// Each organization's link shows that organization only.
		_, call2 := f.newOrg("Globex")
		app2 := f.newApplication(call2, "Hank Scorpio", "Globex Jobs")
		var forms2 []ashby.SurveyFormDefinition
		f.invoke(call2, "surveyFormDefinition.list", nil, &forms2)
		sr2 := f.request(call2, app2, forms2[0].ID)
		res, page := b.get(sr2.SurveyURL)
		if res.StatusCode != 200 || !strings.Contains(page, "Globex Jobs") || strings.Contains(page, "Acme") || !strings.Contains(page, forms2[0].Title) {
			t.Fatalf("the other organization's survey: %d\n%s", res.StatusCode, page)
		}
		// A request id opens its own organization only.
		if _, err := f.srv.Service.AnswerSurveyRequest(context.Background(), f.org.ID, sr2.ID, nil); err == nil {
			t.Fatal("answered another organization's request")
		} else if ae, ok := ashby.AsError(err); !ok || ae.Code != "survey_request_not_found" {
			t.Fatalf("another organization's request: %v", err)
		}

		// A request whose form was archived is closed.
		sr := f.request(f.call, f.app, f.form.ID)
		err := db.Write(context.Background(), func(tx *store.Tx) error {
			_, err := api.SurveyForms.Update(context.Background(), tx, f.org.ID, f.form.ID, func(d *ashby.SurveyFormDefinition) error {
				d.IsArchived = true
				return nil
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		res, page = b.get(sr.SurveyURL)
		if res.StatusCode != http.StatusGone || !strings.Contains(page, "This survey is closed") || !strings.Contains(page, "Acme Careers") {
			t.Fatalf("archived form: %d\n%s", res.StatusCode, page)
		}
	})
}

// Two answers at once (a double click, two tabs): one is stored, the
// other is told the survey was answered, on both engines.
func TestSurveyAnsweredOnce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, surveypage.Options{})
		sr := f.request(f.call, f.app, f.form.ID)
		answers := []ashby.FieldSubmission{{Path: "nickname", Value: "Ada"}, {Path: "relocate", Value: true}}
		const n = 6
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = f.srv.Service.AnswerSurveyRequest(context.Background(), f.org.ID, sr.ID, answers)
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, api.ErrSurveyAnswered):
				t.Fatalf("concurrent answer: %v", err)
			}
		}
		if subs, events := f.submissions("Questionnaire"), f.events("surveySubmit"); ok != 1 || len(subs) != 1 || len(events) != 1 {
			t.Fatalf("%d answers accepted, %d submissions, %d events; want one of each", ok, len(subs), len(events))
		}
		link, err := api.SurveyRequestByLink(context.Background(), db, sr.ID)
		if err != nil || link.SubmissionID != f.submissions("Questionnaire")[0].ID || link.OrgID != f.org.ID {
			t.Fatalf("link after answering: %+v %v", link, err)
		}
	})
}

func TestSurveyPageLimits(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, surveypage.Options{PostsPerMinute: 1, Burst: 2})
		sr := f.request(f.call, f.app, f.form.ID)
		b := newBrowser(t)
		token := b.csrf(sr.SurveyURL)

		// Over the size limit: refused before anything is read into answers.
		res, page := b.post(sr.SurveyURL, url.Values{"csrf": {token}, "story": {strings.Repeat("x", surveypage.MaxBody)}})
		if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(page, "too long") {
			t.Fatalf("oversized POST: %d\n%s", res.StatusCode, page)
		}
		// The burst's second POST is taken; the third waits.
		res, _ = b.post(sr.SurveyURL, url.Values{"csrf": {token}})
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("second POST: %d", res.StatusCode)
		}
		res, page = b.post(sr.SurveyURL, url.Values{"csrf": {token}, "nickname": {"Ada"}, "relocate": {"true"}})
		if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" || !strings.Contains(page, "Too many submissions") {
			t.Fatalf("POST over the rate limit: %d %q\n%s", res.StatusCode, res.Header.Get("Retry-After"), page)
		}
		if n := len(f.submissions("Questionnaire")); n != 0 {
			t.Fatalf("%d submissions stored", n)
		}
	})
}

// The demo's open request URL, and every request made before the page
// existed, resolve through the link table.
func TestOpenSurveyRequest(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, surveypage.Options{})
		ctx := context.Background()
		if _, err := api.OpenSurveyRequest(ctx, db, f.org.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no requests yet: %v", err)
		}
		a, b := f.request(f.call, f.app, f.form.ID), f.request(f.call, f.app, f.form.ID)
		first := min(a.ID, b.ID)
		open, err := api.OpenSurveyRequest(ctx, db, f.org.ID)
		if err != nil || open.ID != first || open.SurveyURL != f.url+"/surveys/"+first {
			t.Fatalf("open request: %+v %v", open, err)
		}
		if _, err := f.srv.Service.AnswerSurveyRequest(ctx, f.org.ID, first, []ashby.FieldSubmission{{Path: "nickname", Value: "Ada"}, {Path: "relocate", Value: true}}); err != nil {
			t.Fatal(err)
		}
		open, err = api.OpenSurveyRequest(ctx, db, f.org.ID)
		if err != nil || open.ID != max(a.ID, b.ID) {
			t.Fatalf("open request after answering %s: %+v %v", first, open, err)
		}
	})
}
