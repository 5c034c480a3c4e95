// Package webapp is Ashlar for people: the signed-in web app under /app/
// (sign-in, the home page, candidate pages, and the admin console under
// /app/settings/). Pages are server-rendered html/template embedded in the
// binary; every action is a plain form POST that works without JavaScript,
// answered by a redirect to a page that shows what happened (POST →
// redirect → GET with a flash message).
//
// Every change a person makes goes through the API's own endpoint
// declarations (rpc.API.Invoke) as a principal for the signed-in user, so
// the web app validates, checks permissions, audits and emits webhook
// events exactly as the API does; the audit log names the user, with
// their IP address, as the actor. Pages are declared in a table (see
// pages.go): a route, the roles that may open it, and a handler.
package webapp

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/accounts"
	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/ratelimit"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/sanitize"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/webform"
)

//go:embed templates/*.html static/*.css static/vendor/*.js
var assets embed.FS

// Options configure the app.
type Options struct {
	Service  *api.Service
	API      *rpc.API
	Accounts *accounts.Accounts
	// BaseURL is the server's public URL; cookies are Secure when it is
	// https.
	BaseURL string
	Log     *slog.Logger
	// Limits keeps the rate limits' counts (nil: this process's memory).
	Limits ratelimit.Backend
	// OIDC turns on sign-in with an OpenID Connect provider (nil: off).
	OIDC *OIDCConfig
	// SignInPerMinute limits sign-in attempts per client IP (default 10 a
	// minute, in bursts of 20); AccountPerMinute per email address
	// (default 1 a minute, in bursts of 5). Negative: no limit.
	SignInPerMinute, AccountPerMinute int
	// BodyTimeout is the base time a posted form's body has to arrive
	// (webform.BodyDeadline; 0: its default): the sign-in form is public.
	BodyTimeout time.Duration
}

// App serves the web app.
type App struct {
	// bodyTimeout is Options.BodyTimeout.
	bodyTimeout time.Duration
	svc         *api.Service
	api         *rpc.API
	acc         *accounts.Accounts
	log         *slog.Logger
	baseURL     string
	secure      bool
	csrf        webform.CSRF
	flashKey    cipher.AEAD
	tmpl        map[string]*template.Template
	css         []byte
	ipLimit     *ratelimit.Limiter
	accLimit    *ratelimit.Limiter
	oidc        *oidcClient
}

// Cookie names. Both are scoped to /app/.
const (
	sessionCookie = "ashlar_session"
	flashCookie   = "ashlar_flash"
	csrfCookie    = "ashlar_app_csrf"
	cookiePath    = "/app/"
)

// New returns the app.
func New(ctx context.Context, o Options) (*App, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	a := &App{svc: o.Service, api: o.API, acc: o.Accounts, log: o.Log, baseURL: strings.TrimRight(o.BaseURL, "/"), bodyTimeout: o.BodyTimeout,
		secure: strings.HasPrefix(o.BaseURL, "https://"), tmpl: map[string]*template.Template{}}
	secret := o.Service.DB.Secret()
	a.csrf = webform.NewCSRF(secret, "ashlar app csrf v1", csrfCookie, cookiePath)
	key := sha256.Sum256(append(append([]byte{}, secret...), "ashlar app flash v1"...))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	if a.flashKey, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	ipRate, ipBurst := o.SignInPerMinute, 20
	if ipRate == 0 {
		ipRate = 10
	}
	accRate, accBurst := o.AccountPerMinute, 5
	if accRate == 0 {
		accRate = 1
	}
	a.ipLimit = ratelimit.New(o.Limits, "signin-ip", ratelimit.PerMinute(ipRate, ipBurst))
	a.accLimit = ratelimit.New(o.Limits, "signin-account", ratelimit.PerMinute(accRate, accBurst))
	if err := a.parseTemplates(); err != nil {
		return nil, err
	}
	shared, err := webform.Stylesheet()
	if err != nil {
		return nil, err
	}
	own, err := assets.ReadFile("static/app.css")
	if err != nil {
		return nil, err
	}
	a.css = append(append(shared, '\n'), own...)
	if o.OIDC != nil {
		if a.oidc, err = newOIDC(ctx, *o.OIDC, a.baseURL); err != nil {
			return nil, err
		}
	}
	return a, nil
}

var funcs = template.FuncMap{
	"join":  strings.Join,
	"lower": strings.ToLower,
	"field": newField,
	"add":   func(a, b int) int { return a + b },
	"json": func(v any) string {
		b, _ := json.MarshalIndent(v, "", "  ")
		return string(b)
	},
	"pretty": prettyJSON,
	"percent": func(n, of int) string {
		if of == 0 {
			return "–"
		}
		return strconv.Itoa(n*100/of) + "%"
	},
	"roleShort":   func(r string) string { return accounts.Role(r).Short() },
	"customValue": customValue,
	"datum":       func(d *ashby.Datum) string { return fmt.Sprint(d.Value) },
	// An HTML note is sanitised again as it is rendered; a plain-text one
	// is text (its line breaks kept by CSS).
	"htmlNote": func(content string) bool { return noteTag.MatchString(content) },
	"notePage": sanitize.NotePage,
	"bytes": func(n int64) string {
		switch {
		case n >= 1<<20:
			return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
		case n >= 1<<10:
			return fmt.Sprintf("%d KB", n>>10)
		}
		return fmt.Sprintf("%d bytes", n)
	},
	// dict makes a map of its string arguments, in pairs (a select's
	// options); templates range over it in key order.
	"dict": func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	},
	"with2": func(v *view, x any) viewAnd { return viewAnd{V: v, X: x} },
	"archiveFields": func(v *view, reasons []ashby.ArchiveReason, emails []ashby.CommunicationTemplate, prefix string) archiveFieldsData {
		return archiveFieldsData{V: v, Reasons: reasons, Emails: emails, Prefix: prefix}
	},
	// description renders stored description HTML (postings), sanitised
	// again as it is rendered (sanitize.DescriptionPage).
	"description": sanitize.DescriptionPage,
}

// customValue is a custom field's value as text: its label when it has
// one (a choice), else the value.
func customValue(f ashby.CustomFieldValue) string {
	v := f.ValueLabel
	if v == nil {
		v = f.Value
	}
	switch x := v.(type) {
	case nil:
		return ""
	case bool:
		if x {
			return "Yes"
		}
		return "No"
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmt.Sprint(e)
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprint(v)
}

// noteTag finds the tags an HTML note keeps (sanitize.NoteHTML); a note
// without any is plain text, whatever angle brackets it holds.
var noteTag = regexp.MustCompile(`(?i)</?(b|i|u|a|ul|ol|li|code|pre|p|br)(\s[^>]*)?/?>`)

// viewAnd passes a partial template the page's view and a value.
type viewAnd struct {
	V *view
	X any
}

type archiveFieldsData struct {
	V       *view
	Reasons []ashby.ArchiveReason
	Emails  []ashby.CommunicationTemplate
	Prefix  string
}

// prettyJSON indents JSON for reading, keeping its keys in the order sent.
func prettyJSON(s string) string {
	var buf bytes.Buffer
	if json.Indent(&buf, []byte(s), "", "  ") != nil {
		return s
	}
	return buf.String()
}

func (a *App) parseTemplates() error {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/parts.html")
	if err == nil {
		base, err = webform.ParseFields(base)
	}
	if err != nil {
		return fmt.Errorf("webapp templates: %w", err)
	}
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return err
	}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || name == "parts" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(assets, n)
		if err != nil {
			return fmt.Errorf("webapp template %s: %w", name, err)
		}
		a.tmpl[name] = t
	}
	return nil
}

// Routes mounts the app on mux.
func (a *App) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/app/", http.StatusFound)
	})
	mux.HandleFunc("GET /app", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/app/", http.StatusMovedPermanently)
	})
	// Candidates' profileUrl pointed here before the web app existed.
	mux.HandleFunc("GET /candidates/{id}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/app/candidates/"+url.PathEscape(r.PathValue("id")), http.StatusMovedPermanently)
	})
	// Interview events' feedbackLink pointed here before the feedback page.
	mux.HandleFunc("GET /interview-briefings/{id}/feedback", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/app/interviews/"+url.PathEscape(r.PathValue("id"))+"/feedback", http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /app/_assets/app.css", a.serveAsset("text/css; charset=utf-8", a.css))
	js, _ := assets.ReadFile("static/vendor/clipboard-copy-element.js")
	mux.HandleFunc("GET /app/_assets/clipboard-copy-element.js", a.serveAsset("text/javascript; charset=utf-8", js))
	for _, p := range a.pages() {
		mux.Handle(p.pattern, a.wrap(p))
	}
	// Everything else under /app/ is the app's own 404 page.
	mux.HandleFunc("/app/", func(w http.ResponseWriter, r *http.Request) {
		q := a.request(w, r, nil)
		q.notFound()
	})
}

func (a *App) serveAsset(ctype string, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Write(body)
	}
}

// page is one route of the app.
type page struct {
	pattern string
	// roles may open the page; nil: any signed-in user; public pages
	// need no session.
	roles  []accounts.Role
	public bool
	handle func(q *Request)
}

// Request is one request to a page, as handlers see it.
type Request struct {
	W       http.ResponseWriter
	R       *http.Request
	app     *App
	Session *accounts.Session
	Call    *rpc.Call
	CSRF    string
	Form    url.Values
	flash   *flash
	loc     *time.Location
	org     *store.Org
}

func (a *App) request(w http.ResponseWriter, r *http.Request, s *accounts.Session) *Request {
	q := &Request{W: w, R: r, app: a, Session: s, loc: time.UTC}
	q.flash = a.takeFlash(w, r)
	if s != nil {
		rid, ok := rpc.RequestIDFrom(r.Context())
		if !ok {
			rid = rpc.NewRequestID()
		}
		q.Call = &rpc.Call{RequestID: rid, HTTP: r, Principal: &rpc.Principal{OrgID: s.OrgID, UserID: s.User.ID,
			UserName: strings.TrimSpace(s.User.FirstName + " " + s.User.LastName), SessionID: s.ID(),
			KeyCreated: s.CreatedAt, Permissions: s.Role().Permissions()}}
		q.loc = a.svc.OrgTimezone(r.Context(), s.OrgID)
		q.org, _ = a.svc.DB.OrgByID(r.Context(), s.OrgID)
	}
	return q
}

// Role is the signed-in user's role ("" when signed out).
func (q *Request) Role() accounts.Role {
	if q.Session == nil {
		return ""
	}
	return q.Session.Role()
}

func (a *App) wrap(p page) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		securityHeaders(h)
		h.Set("Cache-Control", "no-store")
		var s *accounts.Session
		if !p.public {
			ck, err := r.Cookie(sessionCookie)
			if err == nil {
				s, err = a.acc.Session(r.Context(), ck.Value)
			}
			if err != nil && !errors.Is(err, accounts.ErrNoSession) && !errors.Is(err, http.ErrNoCookie) {
				a.log.Error("webapp: read session", "error", err)
				a.request(w, r, nil).fail(err)
				return
			}
			if s == nil {
				a.clearCookie(w, sessionCookie)
				next := r.URL.Path
				if r.Method == http.MethodGet && r.URL.RawQuery != "" {
					next += "?" + r.URL.RawQuery
				}
				if r.Method != http.MethodGet {
					next = "/app/"
					w.Header().Set("Location", "/app/signin?next="+url.QueryEscape(next))
					w.WriteHeader(http.StatusSeeOther)
					return
				}
				http.Redirect(w, r, "/app/signin?next="+url.QueryEscape(next), http.StatusSeeOther)
				return
			}
		}
		q := a.request(w, r, s)
		if s != nil && p.roles != nil && !slices.Contains(p.roles, s.Role()) {
			q.forbidden()
			return
		}
		if r.Method == http.MethodPost {
			webform.BodyDeadline(w, r, a.bodyTimeout, 1<<20)
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			if err := r.ParseForm(); err != nil {
				q.message(http.StatusBadRequest, "Form not sent", "The form could not be read. Go back and try again.")
				return
			}
			q.Form = r.PostForm
			if !a.csrf.Valid(r, q.Form.Get("csrf")) {
				q.message(http.StatusForbidden, "Form expired", "This form has expired or came from another site, so nothing was changed. Go back, reload the page and try again.")
				return
			}
		}
		q.CSRF = a.csrf.Token(w, r)
		p.handle(q)
	})
}

// securityHeaders are the careers site's (webform.SecurityHeaders), with
// scripts allowed from this server only: the few vendored scripts that
// enhance pages, never inline ones.
func securityHeaders(h http.Header) {
	webform.SecurityHeaders(h)
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: http: data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
}

func (a *App) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: cookiePath, HttpOnly: true, Secure: a.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: maxAge})
}

func (a *App) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: cookiePath, HttpOnly: true, Secure: a.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// flash is a message shown once on the page a POST redirects to. Secret,
// when set, is shown once as well (a new API key): the cookie is
// encrypted, so it is neither readable nor forgeable in the browser.
type flash struct {
	Message string `json:"m"`
	Secret  string `json:"s,omitempty"`
	Kind    string `json:"k,omitempty"` // "" success, "error"
}

func (a *App) setFlash(w http.ResponseWriter, f flash) {
	b, _ := json.Marshal(f)
	nonce := make([]byte, a.flashKey.NonceSize())
	rand.Read(nonce)
	sealed := a.flashKey.Seal(nonce, nonce, b, []byte(flashCookie))
	a.setCookie(w, flashCookie, base64.RawURLEncoding.EncodeToString(sealed), 300)
}

func (a *App) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	ck, err := r.Cookie(flashCookie)
	if err != nil || ck.Value == "" {
		return nil
	}
	a.clearCookie(w, flashCookie)
	raw, err := base64.RawURLEncoding.DecodeString(ck.Value)
	ns := a.flashKey.NonceSize()
	if err != nil || len(raw) < ns {
		return nil
	}
	b, err := a.flashKey.Open(nil, raw[:ns], raw[ns:], []byte(flashCookie))
	if err != nil {
		return nil
	}
	var f flash
	if json.Unmarshal(b, &f) != nil {
		return nil
	}
	return &f
}

// Redirect ends a POST: it sets a flash message and answers 303 to u.
func (q *Request) Redirect(u, message string) {
	if message != "" {
		q.app.setFlash(q.W, flash{Message: message})
	}
	http.Redirect(q.W, q.R, u, http.StatusSeeOther)
}

// RedirectSecret is Redirect with a secret to show once.
func (q *Request) RedirectSecret(u, message, secret string) {
	q.app.setFlash(q.W, flash{Message: message, Secret: secret})
	http.Redirect(q.W, q.R, u, http.StatusSeeOther)
}

// Invoke calls an endpoint as the signed-in user and decodes its results
// into out (when not nil).
func (q *Request) Invoke(endpoint string, req, out any) error {
	raw, err := q.app.api.Invoke(q.R.Context(), q.Call, endpoint, req)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode %s results: %w", endpoint, err)
	}
	return nil
}

// List calls a list endpoint and returns the next page's cursor.
func (q *Request) List(endpoint string, req, out any) (string, error) {
	raw, next, err := q.app.api.InvokeList(q.R.Context(), q.Call, endpoint, req)
	if err != nil {
		return "", err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return "", fmt.Errorf("decode %s results: %w", endpoint, err)
	}
	return next, nil
}

// view is what every page's template gets: the layout's data, the page's
// own (D), and a form's values and errors.
type view struct {
	Title     string
	Section   string // the active navigation entry
	User      *ashby.User
	Role      accounts.Role
	OrgName   string
	CSRF      string
	Flash     *flash
	Nav       []navItem
	Settings  []navItem
	CanSearch bool // the header's candidate search
	Search    string
	D         any
	Errors    []errorLink
	FormError string
	fieldErrs map[string]string
	values    url.Values
	loc       *time.Location
}

type navItem struct {
	Label, URL string
	Current    bool
}

// errorLink is an entry of a form's error summary.
type errorLink struct{ ID, Message string }

// Value is what the form posted under name (to refill it after an error).
func (v *view) Value(name string) string { return v.values.Get(name) }

// Has reports whether the form posted value under name (checkboxes).
func (v *view) Has(name, value string) bool { return slices.Contains(v.values[name], value) }

// FieldError is the error of the input named name.
func (v *view) FieldError(name string) string { return v.fieldErrs[name] }

// Date formats a time in the organization's time zone.
func (v *view) Date(t any) string {
	var tt time.Time
	switch x := t.(type) {
	case time.Time:
		tt = x
	case *time.Time:
		if x == nil {
			return ""
		}
		tt = *x
	case ashby.Time:
		tt = x.Time
	case *ashby.Time:
		if x == nil {
			return ""
		}
		tt = x.Time
	default:
		return ""
	}
	if tt.IsZero() {
		return ""
	}
	return tt.In(v.loc).Format("2 Jan 2006 15:04 MST")
}

// Time is Date with seconds, for logs.
func (v *view) Time(t any) string {
	d := v.Date(t)
	if d == "" {
		return d
	}
	var tt time.Time
	switch x := t.(type) {
	case ashby.Time:
		tt = x.Time
	case *ashby.Time:
		tt = x.Time
	case time.Time:
		tt = x
	case *time.Time:
		tt = *x
	}
	return tt.In(v.loc).Format("2 Jan 2006 15:04:05 MST")
}

// DateISO is a time as the datetime attribute of <time>.
func (v *view) DateISO(t any) string {
	switch x := t.(type) {
	case ashby.Time:
		return x.UTC().Format(time.RFC3339)
	case *ashby.Time:
		if x != nil {
			return x.UTC().Format(time.RFC3339)
		}
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case *time.Time:
		if x != nil {
			return x.UTC().Format(time.RFC3339)
		}
	}
	return ""
}

// Zone is the organization's time zone name.
func (v *view) Zone() string { return v.loc.String() }

// formField is one input of a form, for the "input" templates.
type formField struct {
	ID, Name, Label, Type, Hint, Value, Error string
	Options                                   []webform.Option
	Required                                  bool
	Autocomplete                              string
}

// Described is the input's aria-describedby.
func (f formField) Described() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if f.Error != "" {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// newField builds a form field from the view: {{template "input" (field $ "email" "Email address" "email" "hint")}}.
func newField(v *view, name, label, typ, hint string) formField {
	return formField{ID: "f-" + name, Name: name, Label: label, Type: typ, Hint: hint, Value: v.Value(name), Error: v.FieldError(name)}
}

// settingsNav lists the admin console's sections a role may open.
func settingsNav(role accounts.Role, current string) []navItem {
	var out []navItem
	for _, s := range settingsSections {
		if slices.Contains(s.roles, role) {
			out = append(out, navItem{Label: s.label, URL: s.url, Current: s.url == current})
		}
	}
	return out
}

// newView starts a page's view.
func (q *Request) newView(title, section string, d any) *view {
	v := &view{Title: title, Section: section, CSRF: q.CSRF, Flash: q.flash, D: d, fieldErrs: map[string]string{}, values: url.Values{}, loc: q.loc}
	if q.Session != nil {
		v.User, v.Role = q.Session.User, q.Session.Role()
		if q.org != nil {
			v.OrgName = q.org.Name
		}
		v.Nav = append(v.Nav, navItem{Label: "Home", URL: "/app/", Current: section == "home"})
		if slices.Contains(recruiters, v.Role) {
			v.Nav = append(v.Nav, navItem{Label: "Jobs", URL: "/app/jobs", Current: section == "jobs"},
				navItem{Label: "Review", URL: "/app/review", Current: section == "review"})
		}
		v.Nav = append(v.Nav, navItem{Label: "Interviews", URL: "/app/interviews", Current: section == "interviews"})
		if slices.Contains(admins, v.Role) {
			v.Nav = append(v.Nav, navItem{Label: "Outbox", URL: "/app/outbox", Current: section == "outbox"})
		}
		v.CanSearch = slices.Contains(candidateViewers, v.Role)
		if len(settingsNav(v.Role, "")) > 0 {
			v.Nav = append(v.Nav, navItem{Label: "Settings", URL: "/app/settings/", Current: strings.HasPrefix(section, "/app/settings/")})
		}
		v.Nav = append(v.Nav, navItem{Label: "Your account", URL: "/app/account", Current: section == "account"})
		if strings.HasPrefix(section, "/app/settings/") {
			v.Settings = settingsNav(v.Role, section)
		}
	}
	return v
}

// withForm fills v with a refused form's values and errors. fields maps
// the API's field names to the form's inputs (nil: same names).
func (v *view) withForm(form url.Values, err error, fields map[string]string) *view {
	v.values = form
	ae, ok := ashby.AsError(err)
	if !ok {
		v.FormError = "Something went wrong on our side; nothing was changed. Try again in a moment."
		return v
	}
	field, _ := ae.Meta["field"].(string)
	if in, ok := fields[field]; ok {
		field = in
	} else if fields != nil {
		field = ""
	}
	msg := webform.Sentence(ae.Message)
	if field != "" {
		v.fieldErrs[field] = msg
		v.Errors = append(v.Errors, errorLink{ID: "f-" + field, Message: msg})
	} else {
		v.FormError = msg
	}
	return v
}

// fieldError adds a form error found before calling the API.
func (v *view) fieldError(name, msg string) *view {
	v.fieldErrs[name] = msg
	v.Errors = append(v.Errors, errorLink{ID: "f-" + name, Message: msg})
	return v
}

// Render writes a page.
func (q *Request) Render(status int, name string, v *view) {
	var buf bytes.Buffer
	t, ok := q.app.tmpl[name]
	if !ok {
		q.fail(fmt.Errorf("no template %s", name))
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		q.app.log.Error("webapp: render", "page", name, "error", err)
		http.Error(q.W, "Internal error", http.StatusInternalServerError)
		return
	}
	h := q.W.Header()
	securityHeaders(h)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	q.W.WriteHeader(status)
	q.W.Write(buf.Bytes())
}

type messageData struct{ Heading, Message, Link, LinkText string }

func (q *Request) message(status int, heading, msg string) {
	d := messageData{Heading: heading, Message: msg}
	if q.Session != nil {
		d.Link, d.LinkText = "/app/", "Go to the home page"
	} else {
		d.Link, d.LinkText = "/app/signin", "Sign in"
	}
	q.Render(status, "message", q.newView(heading, "", d))
}

// notFound answers 404: also for another organization's objects, which
// the app never distinguishes from ones that do not exist.
func (q *Request) notFound() {
	q.message(http.StatusNotFound, "Page not found", "There is nothing at this address, or it does not belong to your organization.")
}

func (q *Request) forbidden() {
	q.message(http.StatusForbidden, "You do not have access", "Your role ("+string(q.Role())+") does not let you open this page. An Organization Admin can change your role.")
}

// fail answers an error: not-found errors are 404s, validation errors
// shown as a message; anything else is logged and a 500.
func (q *Request) fail(err error) {
	if ae, ok := ashby.AsError(err); ok {
		switch {
		case strings.HasSuffix(ae.Code, "_not_found"):
			q.notFound()
			return
		case ae.Code == ashby.CodeMissingEndpointPermission:
			q.forbidden()
			return
		case ae.Status < 500:
			q.message(http.StatusUnprocessableEntity, "That did not work", webform.Sentence(ae.Message))
			return
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		q.notFound()
		return
	}
	q.app.log.Error("webapp", "path", q.R.URL.Path, "error", err)
	if status := webform.FailureStatus(q.W, err); status == http.StatusServiceUnavailable {
		q.message(status, "Temporarily unavailable", "Ashlar cannot reach its database right now. Try again in a few seconds.")
		return
	}
	q.message(http.StatusInternalServerError, "Something went wrong", "The page could not be loaded because of a problem on our side. Try again in a moment.")
}

// correctable reports whether err is a refusal the person can correct in
// the form (invalid input and the like); other errors (not found, no
// permission, failures) are answered by fail instead of the form.
func correctable(err error) bool {
	ae, ok := ashby.AsError(err)
	return ok && ae.Status < 500 && !strings.HasSuffix(ae.Code, "_not_found") && ae.Code != ashby.CodeMissingEndpointPermission
}

// id is the object id named in the URL; anything but a UUID is a 404.
func (q *Request) id(name string) (string, bool) {
	id := strings.ToLower(q.R.PathValue(name))
	if !ashby.IsUUID(id) {
		q.notFound()
		return "", false
	}
	return id, true
}
