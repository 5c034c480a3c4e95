// Package surveypage is the candidate-facing survey page: the surveyUrl
// that surveyRequest.create hands out, /surveys/{requestId}. A candidate
// who opens the link sees the survey's questions as a plain HTML form
// (no script), answers them, and gets a thank-you page; the answers
// become a survey submission exactly as if surveySubmission.create had
// been called (same validation, same stored record, same surveySubmit
// event), because the page calls the same service code in-process.
//
// The link is the only credential: the request id is a random version 4
// UUID (122 bits), so the URL carries no other token (docs/surveys.md).
// A request takes one submission through its link.
package surveypage

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/forms"
	"github.com/ashlarhq/ashlar/ratelimit"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/webform"
)

//go:embed templates/*.html
var templates embed.FS

// MaxBody limits a posted survey: the longest answer a LongText field
// takes (100,000 characters) several times over, URL-encoded.
const MaxBody = 2 << 20

// scoreLabels label Score questions. The hiring scale ("Strong no" …)
// reads wrongly to a candidate rating their experience.
var scoreLabels = []string{"1 – Poor", "2 – Fair", "3 – Good", "4 – Excellent"}

// Options configure the page.
type Options struct {
	// PostsPerMinute and Burst limit survey POSTs per client IP (default
	// 10 a minute with bursts of 10; a negative Burst disables the limit).
	PostsPerMinute, Burst int
	Log                   *slog.Logger
	// Limits keeps the rate limits' counts (nil: this process's memory).
	Limits ratelimit.Backend
	// BodyTimeout is the base time a posted survey's body has to arrive
	// (webform.BodyDeadline; 0: its default).
	BodyTimeout time.Duration
}

// Page serves the survey pages.
type Page struct {
	svc *api.Service
	// base is the path prefix of the public base URL, put before every
	// link, form action, redirect and cookie path.
	base  string
	csrf  webform.CSRF
	limit *ratelimit.Limiter
	pages map[string]*template.Template
	css   []byte
	log   *slog.Logger
	// bodyTimeout is Options.BodyTimeout.
	bodyTimeout time.Duration
}

// New returns the survey page for svc.
func New(svc *api.Service, o Options) (*Page, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.PostsPerMinute == 0 && o.Burst == 0 {
		o.PostsPerMinute, o.Burst = 10, 10
	}
	if o.Burst < 0 {
		o.PostsPerMinute = 0
	}
	prefix := webform.BasePath(svc.BaseURL)
	p := &Page{svc: svc, base: prefix, csrf: webform.NewCSRF(svc.DB.Secret(), "ashlar survey csrf v1", "ashlar_survey_csrf", prefix+"/surveys/"),
		limit: ratelimit.New(o.Limits, "survey", ratelimit.PerMinute(o.PostsPerMinute, o.Burst)), pages: map[string]*template.Template{}, log: o.Log, bodyTimeout: o.BodyTimeout}
	base, err := template.New("layout.html").ParseFS(templates, "templates/layout.html")
	if err == nil {
		base, err = webform.ParseFields(base)
	}
	if err != nil {
		return nil, fmt.Errorf("survey templates: %w", err)
	}
	for _, name := range []string{"survey", "message", "thanks"} {
		t, err := template.Must(base.Clone()).ParseFS(templates, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("survey template %s: %w", name, err)
		}
		p.pages[name] = t
	}
	if p.css, err = webform.Stylesheet(); err != nil {
		return nil, fmt.Errorf("survey stylesheet: %w", err)
	}
	return p, nil
}

// Routes mounts the page on mux under /surveys/.
func (p *Page) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /surveys/_assets/survey.css", p.serveCSS)
	mux.HandleFunc("GET /surveys/{id}", p.serveForm)
	mux.HandleFunc("POST /surveys/{id}", p.serveSubmit)
	mux.HandleFunc("GET /surveys/{id}/submitted", p.serveThanks)
	mux.HandleFunc("GET /surveys/{id}/theme.css", p.serveTheme)
	// Anything else under /surveys/ is this page's 404, not the RPC
	// fallback's, which would log the path and the request id in it.
	mux.HandleFunc("/surveys/", func(w http.ResponseWriter, r *http.Request) { p.notFound(w) })
}

func (p *Page) serveCSS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(p.css)
}

// survey is what one request's pages need.
type survey struct {
	base  string
	link  *api.SurveyLink
	form  *ashby.SurveyFormDefinition
	brand brand
}

// brand is how the page presents the organization: the job's brand name
// (else the organization's), and the logo and colour of its careers site.
type brand struct {
	Name, LogoURL, Color string
}

// load finds the survey of the request in the URL, answering with an
// error page itself when it cannot.
func (p *Page) load(w http.ResponseWriter, r *http.Request) (*survey, bool) {
	ctx := r.Context()
	id := strings.ToLower(r.PathValue("id"))
	if !ashby.IsUUID(id) {
		p.notFound(w)
		return nil, false
	}
	link, err := api.SurveyRequestByLink(ctx, p.svc.DB, id)
	if errors.Is(err, store.ErrNotFound) {
		p.notFound(w)
		return nil, false
	}
	if err != nil {
		p.internalError(w, "load survey request", err)
		return nil, false
	}
	org, err := p.svc.DB.OrgByID(ctx, link.OrgID)
	if err != nil {
		p.internalError(w, "load survey organization", err)
		return nil, false
	}
	sv := &survey{base: p.base, link: link, brand: p.brandOf(ctx, org, link.Request.ApplicationID)}
	sv.form, err = api.SurveyForms.Get(ctx, p.svc.DB, org.ID, link.Request.SurveyFormDefinitionID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		p.internalError(w, "load survey form", err)
		return nil, false
	}
	// An answered request keeps saying so even if its form is archived
	// later; an open one whose form went away can no longer be answered.
	if link.SubmissionID == "" && (sv.form == nil || sv.form.IsArchived) {
		p.message(w, http.StatusGone, sv, "This survey is closed", "This survey is no longer accepting answers. Thank you for your time.")
		return nil, false
	}
	if sv.form == nil {
		sv.form = &ashby.SurveyFormDefinition{Title: "Survey"}
	}
	return sv, true
}

// brandOf is best effort: a page without the brand is better than none.
func (p *Page) brandOf(ctx context.Context, org *store.Org, applicationID string) brand {
	db := p.svc.DB
	b := brand{Name: org.Name}
	app, err := api.Applications.Get(ctx, db, org.ID, applicationID)
	if err == nil {
		var job *ashby.Job
		if job, err = api.Jobs.Get(ctx, db, org.ID, app.Job.ID); err == nil && job.BrandID != "" {
			var br *ashby.Brand
			if br, err = api.Brands.Get(ctx, db, org.ID, job.BrandID); err == nil && strings.TrimSpace(br.Name) != "" {
				b.Name = br.Name
			}
		}
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		p.log.Warn("survey page: brand", "error", err)
	}
	board, err := api.PrimaryBoard(ctx, db, org.ID)
	if err == nil {
		b.LogoURL, b.Color = board.Theme.LogoURL, board.Theme.PrimaryColor
	} else if _, isAPI := ashby.AsError(err); !isAPI {
		p.log.Warn("survey page: careers theme", "error", err)
	}
	return b
}

func (p *Page) serveTheme(w http.ResponseWriter, r *http.Request) {
	sv, ok := p.load(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	fmt.Fprintf(w, ":root { --brand: %s; }\n", webform.AccessibleColor(sv.brand.Color))
}

// page is what the layout needs; Base is the path prefix of the
// server's public URL.
type page struct {
	Title, Brand, LogoURL, ThemeURL, Base string
}

func (sv *survey) page(title string) page {
	pg := page{Title: title, Brand: sv.brand.Name, LogoURL: sv.brand.LogoURL, Base: sv.base}
	if sv.brand.Color != "" {
		pg.ThemeURL = sv.base + "/surveys/" + sv.link.Request.ID + "/theme.css"
	}
	if pg.Brand != "" {
		pg.Title += " – " + pg.Brand
	}
	return pg
}

type formData struct {
	page
	FormTitle, Action, CSRF string
	Sections                []webform.Section
	Errors                  []webform.ErrorLink
	FormError               string
	AnyRequired             bool
}

func (p *Page) formData(w http.ResponseWriter, r *http.Request, sv *survey, vals webform.Values, errs map[string]string) formData {
	d := formData{page: sv.page(sv.form.Title), FormTitle: sv.form.Title, Action: sv.base + "/surveys/" + sv.link.Request.ID, CSRF: p.csrf.Token(w, r),
		Sections: webform.Sections(sv.form.FormDefinition, vals, errs, webform.Options{ScoreLabels: scoreLabels, NoFiles: true})}
	d.Errors = webform.Errors(d.Sections)
	for _, f := range forms.Fields(sv.form.FormDefinition) {
		d.AnyRequired = d.AnyRequired || f.IsRequired
	}
	return d
}

func (p *Page) serveForm(w http.ResponseWriter, r *http.Request) {
	sv, ok := p.load(w, r)
	if !ok {
		return
	}
	if sv.link.SubmissionID != "" {
		p.answered(w, http.StatusOK, sv)
		return
	}
	p.render(w, http.StatusOK, "survey", p.formData(w, r, sv, webform.Values{}, nil))
}

func (p *Page) serveSubmit(w http.ResponseWriter, r *http.Request) {
	sv, ok := p.load(w, r)
	if !ok {
		return
	}
	if sv.link.SubmissionID != "" {
		p.answered(w, http.StatusConflict, sv)
		return
	}
	if ok, wait := p.limit.Allow(r.Context(), rpc.ClientIP(r)); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		p.message(w, http.StatusTooManyRequests, sv, "Too many submissions", "Too many forms were sent from your network just now. Your answers were not submitted; please wait a minute and try again.")
		return
	}
	webform.BodyDeadline(w, r, p.bodyTimeout, MaxBody)
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			p.message(w, http.StatusRequestEntityTooLarge, sv, "Answers too long", "Your answers were not submitted because they are too long. Please shorten them and try again.")
			return
		}
		p.log.Warn("survey page: unreadable form", "error", err)
		p.message(w, http.StatusBadRequest, sv, "Answers not submitted", "Your answers could not be read. Please go back and try again.")
		return
	}
	vals := webform.Posted(r.PostForm)
	if !p.csrf.Valid(r, vals.Get("csrf")) {
		p.message(w, http.StatusForbidden, sv, "Answers not submitted", "Your session expired or the form came from another site. Your answers were not submitted: please open the survey link again and resubmit.")
		return
	}
	answers := webform.Answers(sv.form.FormDefinition, vals, nil)
	_, err := p.svc.AnswerSurveyRequest(r.Context(), sv.link.OrgID, sv.link.Request.ID, answers)
	if errors.Is(err, api.ErrSurveyAnswered) {
		p.answered(w, http.StatusConflict, sv)
		return
	}
	if err != nil {
		p.submitFailed(w, r, sv, vals, err)
		return
	}
	// Post/redirect/get: reloading the thank-you page sends nothing again.
	http.Redirect(w, r, sv.base+"/surveys/"+sv.link.Request.ID+"/submitted", http.StatusSeeOther)
}

func (p *Page) submitFailed(w http.ResponseWriter, r *http.Request, sv *survey, vals webform.Values, err error) {
	ae, ok := ashby.AsError(err)
	if !ok || ae.Status >= 500 {
		p.internalError(w, "submit survey", err)
		return
	}
	errs := webform.FieldErrors(ae)
	if len(errs) == 0 {
		// Not the answers but the request: its candidate, application or
		// form is gone. Nothing the candidate can fix, nor should see.
		p.log.Info("survey page: request cannot be answered", "request", sv.link.Request.ID, "error", err)
		p.message(w, http.StatusGone, sv, "This survey is closed", "This survey can no longer be answered. Thank you for your time.")
		return
	}
	p.render(w, http.StatusUnprocessableEntity, "survey", p.formData(w, r, sv, vals, errs))
}

type thanksData struct {
	page
	FormTitle string
}

func (p *Page) serveThanks(w http.ResponseWriter, r *http.Request) {
	sv, ok := p.load(w, r)
	if !ok {
		return
	}
	if sv.link.SubmissionID == "" {
		http.Redirect(w, r, sv.base+"/surveys/"+sv.link.Request.ID, http.StatusSeeOther)
		return
	}
	p.render(w, http.StatusOK, "thanks", thanksData{page: sv.page("Thank you"), FormTitle: sv.form.Title})
}

type messageData struct {
	page
	Heading, Message string
}

func (p *Page) answered(w http.ResponseWriter, status int, sv *survey) {
	p.message(w, status, sv, "Already submitted", "This survey has already been answered, so there is nothing more to do. Thank you for your time.")
}

func (p *Page) notFound(w http.ResponseWriter) {
	// Nothing about any organization: the address matched no survey.
	p.message(w, http.StatusNotFound, nil, "Survey not found", "There is no survey at this address. Please check that you opened the whole link you were sent.")
}

func (p *Page) internalError(w http.ResponseWriter, what string, err error) {
	p.log.Error("survey page: "+what, "error", err)
	p.message(w, webform.FailureStatus(w, err), nil, "Something went wrong", "This page could not be loaded because of a problem on our side. Nothing was submitted; please try again in a few minutes.")
}

// message renders a page with just a heading and a message, branded when
// the survey (which may be nil) is known.
func (p *Page) message(w http.ResponseWriter, status int, sv *survey, heading, msg string) {
	pg := page{Title: heading, Base: p.base}
	if sv != nil {
		pg = sv.page(heading)
	}
	p.render(w, status, "message", messageData{page: pg, Heading: heading, Message: msg})
}

func (p *Page) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := p.pages[name].ExecuteTemplate(&buf, "layout.html", data); err != nil {
		p.log.Error("render survey page", "page", name, "error", err)
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	webform.SecurityHeaders(h)
	// The URL is the survey's only credential: no referrer carries it to
	// the logo's host, no cache or search engine keeps the page, and the
	// answered state is always current.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(buf.Bytes())))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
