// Package careers is the server-rendered careers site: each public job
// board's listing, posting pages and apply forms, themed with the
// organization's name, logo and colour, and the pages on which
// candidates hand in take-home assignments. Pages work without
// JavaScript (the site sends none) and are built to WCAG AA.
//
// One site, two sources (Source): in ashlar serve the site calls the
// hiring service in-process (Local: api.Service, never the RPC API with a
// key, so no API key exists for a browser to see), and listing and
// posting pages render from the posting API's board snapshots
// (jobboard.Handler), so both show the same postings and share one
// invalidation scheme. In ashlar careers the same site runs in front of
// an upstream Ashby-compatible API (Upstream): cached listings, and
// applications forwarded with applicationForm.submit.
package careers

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/files"
	"github.com/ashlarhq/ashlar/forms"
	"github.com/ashlarhq/ashlar/jobboard"
	"github.com/ashlarhq/ashlar/ratelimit"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/sanitize"
	"github.com/ashlarhq/ashlar/webform"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Options configure the site.
type Options struct {
	// PostsPerMinute and Burst limit application POSTs per client IP
	// (default 10 a minute with bursts of 10; 0 disables the limit when
	// Burst is negative).
	PostsPerMinute, Burst int
	Log                   *slog.Logger
	// Limits keeps the rate limits' counts (nil: this process's memory).
	Limits ratelimit.Backend
	// BodyTimeout is the base time a posted form's body has to arrive
	// (webform.BodyDeadline; 0: its default).
	BodyTimeout time.Duration
	// Secret keys the CSRF tokens (NewWith; New uses the database's
	// server secret).
	Secret []byte
	// BaseURL is the site's public URL; its path is the prefix of every
	// link (NewWith; New uses the service's).
	BaseURL string
}

// Site serves the careers pages.
type Site struct {
	src Source
	// svc is the local hiring service, for the take-home pages; nil in
	// front of an upstream, where they are not served.
	svc *api.Service
	// base is the path prefix of the public base URL, put before every
	// link, form action, redirect and cookie path.
	base  string
	csrf  webform.CSRF
	limit *ratelimit.Limiter
	pages map[string]*template.Template
	lists listCache
	css   []byte
	log   *slog.Logger
	// bodyTimeout is Options.BodyTimeout.
	bodyTimeout time.Duration
	// The take-home submission pages (takehome.go) have their own CSRF
	// cookie and rate limit.
	takeHomeCSRF  webform.CSRF
	takeHomeLimit *ratelimit.Limiter
}

// New returns the site for svc, rendering boards from the posting API's
// snapshots, with the take-home pages.
func New(svc *api.Service, boards *jobboard.Handler, o Options) (*Site, error) {
	o.Secret, o.BaseURL = svc.DB.Secret(), svc.BaseURL
	s, err := NewWith(Local(svc, boards), o)
	if err != nil {
		return nil, err
	}
	s.svc = svc
	return s, nil
}

// NewWith returns the site for any Source (the careers pages only; no
// take-home pages).
func NewWith(src Source, o Options) (*Site, error) {
	if len(o.Secret) == 0 {
		return nil, errors.New("careers: no secret for CSRF tokens")
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.PostsPerMinute == 0 && o.Burst == 0 {
		o.PostsPerMinute, o.Burst = 10, 10
	}
	if o.Burst < 0 {
		o.PostsPerMinute = 0
	}
	prefix := webform.BasePath(o.BaseURL)
	s := &Site{src: src, base: prefix, csrf: webform.NewCSRF(o.Secret, "ashlar careers csrf v1", "ashlar_csrf", prefix+"/jobs/"),
		limit: ratelimit.New(o.Limits, "careers", ratelimit.PerMinute(o.PostsPerMinute, o.Burst)), pages: map[string]*template.Template{}, log: o.Log, bodyTimeout: o.BodyTimeout,
		takeHomeCSRF:  webform.NewCSRF(o.Secret, "ashlar take-home csrf v1", "ashlar_takehome_csrf", prefix+"/take-home/"),
		takeHomeLimit: ratelimit.New(o.Limits, "take-home", ratelimit.PerMinute(o.PostsPerMinute, o.Burst))}
	funcs := template.FuncMap{"join": strings.Join, "lower": strings.ToLower, "hasSuffix": strings.HasSuffix}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html")
	if err == nil {
		base, err = webform.ParseFields(base)
	}
	if err != nil {
		return nil, fmt.Errorf("careers templates: %w", err)
	}
	for _, p := range []string{"list", "posting", "apply", "submitted", "message", "takehome"} {
		t, err := template.Must(base.Clone()).ParseFS(assets, "templates/"+p+".html")
		if err != nil {
			return nil, fmt.Errorf("careers template %s: %w", p, err)
		}
		s.pages[p] = t
	}
	// One stylesheet: the shared base, then the site's own rules.
	shared, err := webform.Stylesheet()
	if err != nil {
		return nil, fmt.Errorf("careers stylesheet: %w", err)
	}
	own, err := assets.ReadFile("static/careers.css")
	if err != nil {
		return nil, fmt.Errorf("careers stylesheet: %w", err)
	}
	s.css = append(append(shared, '\n'), own...)
	return s, nil
}

// Routes mounts the site on mux under /jobs/ (and /take-home/ for the
// local site).
func (s *Site) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /jobs/_assets/careers.css", s.serveCSS)
	mux.HandleFunc("GET /jobs/{board}/theme.css", s.serveTheme)
	mux.HandleFunc("GET /jobs/{board}", s.serveList)
	mux.HandleFunc("GET /jobs/{board}/{$}", func(w http.ResponseWriter, r *http.Request) {
		u := s.base + "/jobs/" + url.PathEscape(r.PathValue("board"))
		if r.URL.RawQuery != "" {
			u += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, u, http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /jobs/{board}/{posting}", s.servePosting)
	mux.HandleFunc("GET /jobs/{board}/{posting}/application", s.serveApply)
	mux.HandleFunc("POST /jobs/{board}/{posting}/application", s.serveSubmit)
	mux.HandleFunc("GET /jobs/{board}/{posting}/application/submitted", s.serveSubmitted)
	if s.svc != nil {
		mux.HandleFunc("GET /take-home/{token}", s.serveTakeHome)
		mux.HandleFunc("POST /take-home/{token}", s.serveTakeHomeSubmit)
	}
}

func (s *Site) serveCSS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(s.css)
}

func (s *Site) serveTheme(w http.ResponseWriter, r *http.Request) {
	snap, ok := s.board(w, r)
	if !ok {
		return
	}
	color := webform.AccessibleColor(snap.Board.Theme.PrimaryColor)
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	fmt.Fprintf(w, ":root { --brand: %s; }\n", color)
}

// page is what every page's layout needs. Base is the path prefix of
// the server's public URL.
type page struct {
	Title, OrgName, BoardTitle, BoardURL, LogoURL, ThemeURL, Lang string
	Description, Base                                             string
}

func (s *Site) pageFor(snap *api.BoardSnapshot, title string) page {
	b := snap.Board
	return page{Title: title, OrgName: snap.Org.Name, BoardTitle: b.Title, BoardURL: s.base + "/jobs/" + b.Name, LogoURL: b.Theme.LogoURL,
		ThemeURL: s.base + "/jobs/" + b.Name + "/theme.css", Lang: "en", Base: s.base}
}

func (s *Site) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout.html", data); err != nil {
		s.log.Error("render careers page", "page", name, "error", err)
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	s.write(w, status, buf.Bytes())
}

func (s *Site) write(w http.ResponseWriter, status int, page []byte) {
	h := w.Header()
	webform.SecurityHeaders(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(page)))
	w.WriteHeader(status)
	w.Write(page)
}

// Listing pages hold no per-visitor data, so each (board snapshot, query)
// is rendered once: a board's landing page is most of the site's traffic.
type listCache struct {
	mu    sync.Mutex
	pages map[string]cachedList
}

type cachedList struct {
	snap *api.BoardSnapshot
	page []byte
}

const maxCachedLists = 2000

func (c *listCache) get(key string, snap *api.BoardSnapshot) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.pages[key]; ok && e.snap == snap {
		return e.page
	}
	return nil
}

func (c *listCache) put(key string, snap *api.BoardSnapshot, page []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pages == nil || len(c.pages) >= maxCachedLists {
		// Searches make queries unbounded; starting over keeps memory bounded.
		c.pages = map[string]cachedList{}
	}
	c.pages[key] = cachedList{snap: snap, page: page}
}

type messageData struct {
	page
	Heading, Message string
	Link, LinkText   string
}

func (s *Site) message(w http.ResponseWriter, status int, snap *api.BoardSnapshot, heading, msg string) {
	var p page
	if snap != nil {
		p = s.pageFor(snap, heading)
	} else {
		p = page{Title: heading, Lang: "en", Base: s.base}
	}
	d := messageData{page: p, Heading: heading, Message: msg}
	if snap != nil {
		d.Link, d.LinkText = p.BoardURL, "See all open positions"
	}
	s.render(w, status, "message", d)
}

// board loads the board named in the URL, answering 404 itself.
func (s *Site) board(w http.ResponseWriter, r *http.Request) (*api.BoardSnapshot, bool) {
	snap, err := s.src.Board(r.Context(), r.PathValue("board"))
	if errors.Is(err, ErrUnavailable) {
		w.Header().Set("Retry-After", "60")
		s.message(w, http.StatusServiceUnavailable, nil, "Careers page unavailable", "The open positions cannot be loaded right now. Please try again in a few minutes.")
		return nil, false
	}
	if err != nil {
		s.log.Error("careers board", "error", err)
		s.message(w, webform.FailureStatus(w, err), nil, "Something went wrong", "This page could not be loaded. Please try again in a moment.")
		return nil, false
	}
	if snap == nil {
		s.message(w, http.StatusNotFound, nil, "Page not found", "There is no careers page at this address.")
		return nil, false
	}
	return snap, true
}

// posting finds a posting of the board: a listed one in the snapshot,
// or an unlisted one (published, its job open), which is reachable by
// its link but not listed, as in Ashby.
func (s *Site) posting(w http.ResponseWriter, r *http.Request) (*api.BoardSnapshot, *ashby.JobPostingInfo, bool) {
	snap, ok := s.board(w, r)
	if !ok {
		return nil, nil, false
	}
	id := strings.ToLower(r.PathValue("posting"))
	for i := range snap.Info {
		if snap.Info[i].ID == id {
			return snap, &snap.Info[i], true
		}
	}
	info, err := s.src.Unlisted(r.Context(), snap, id)
	if err != nil {
		s.log.Error("careers posting", "error", err)
	}
	if info != nil {
		return snap, info, true
	}
	s.message(w, http.StatusNotFound, snap, "Position not found", "This position is no longer open, or the link is wrong.")
	return nil, nil, false
}

// Listing.

type jobCard struct {
	Title, URL, Location, Workplace, Employment, Team, Compensation string
}

type group struct {
	Department string
	Jobs       []jobCard
}

type listData struct {
	page
	Groups                            []group
	Departments, Locations, Workplace []webform.Option
	Q, CountText                      string
	Count, Total                      int
	Filtered                          bool
}

// openPositions says how many positions are open, in English.
func openPositions(n int) string {
	if n == 1 {
		return "1 open position"
	}
	return fmt.Sprintf("%d open positions", n)
}

// countText is the listing's count: of all positions, or how many of
// them the filters show.
func countText(shown, total int, filtered bool) string {
	if !filtered {
		return openPositions(total)
	}
	noun := "positions"
	if total == 1 {
		noun = "position"
	}
	return fmt.Sprintf("%d of %d %s", shown, total, noun)
}

var workplaceLabels = map[string]string{"OnSite": "On-site", "Hybrid": "Hybrid", "Remote": "Remote"}
var employmentLabels = map[string]string{"FullTime": "Full time", "PartTime": "Part time", "Intern": "Internship", "Contract": "Contract", "Temporary": "Temporary"}

// utmQuery keeps the landing URL's UTM parameters on the site's links,
// so that they reach the apply form and the application's source.
func utmQuery(r *http.Request) string {
	q := url.Values{}
	for _, k := range utmKeys {
		if v := r.URL.Query().Get(k); v != "" {
			q.Set(k, v)
		}
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

var utmKeys = []string{"utm_source", "utm_campaign", "utm_medium", "utm_term", "utm_content"}

func (s *Site) serveList(w http.ResponseWriter, r *http.Request) {
	snap, ok := s.board(w, r)
	if !ok {
		return
	}
	// Listing and posting pages are the same for every visitor; shared
	// caches may keep them briefly (the posting API's own max-age).
	w.Header().Set("Cache-Control", "public, max-age=60")
	key := snap.Board.ID + "?" + r.URL.RawQuery
	if page := s.lists.get(key, snap); page != nil {
		s.write(w, http.StatusOK, page)
		return
	}
	q := r.URL.Query()
	dept, loc, wp, search := q.Get("department"), q.Get("location"), q.Get("workplaceType"), strings.TrimSpace(q.Get("q"))
	utm := utmQuery(r)
	d := listData{page: s.pageFor(snap, "Jobs at "+snap.Org.Name), Q: search, Total: len(snap.Info), Filtered: dept != "" || loc != "" || wp != "" || search != ""}
	d.Description = openPositions(len(snap.Info)) + " at " + snap.Org.Name
	depts, locs, wps := map[string]bool{}, map[string]bool{}, map[string]bool{}
	byDept := map[string][]jobCard{}
	needle := strings.ToLower(search)
	for i, info := range snap.Info {
		pub := snap.Public[i]
		locNames := []string{pub.Location}
		for _, sl := range pub.SecondaryLocations {
			locNames = append(locNames, sl.Location)
		}
		depts[info.DepartmentName] = true
		for _, l := range locNames {
			if l != "" {
				locs[l] = true
			}
		}
		if info.WorkplaceType != "" {
			wps[info.WorkplaceType] = true
		}
		if dept != "" && info.DepartmentName != dept || loc != "" && !slices.Contains(locNames, loc) || wp != "" && info.WorkplaceType != wp {
			continue
		}
		if needle != "" && !strings.Contains(strings.ToLower(info.Title+" "+info.DepartmentName+" "+info.TeamName+" "+strings.Join(locNames, " ")+" "+info.DescriptionPlain), needle) {
			continue
		}
		card := jobCard{Title: info.Title, URL: s.base + "/jobs/" + snap.Board.Name + "/" + info.ID + utm, Location: strings.Join(locNames, " · "),
			Workplace: workplaceLabels[info.WorkplaceType], Employment: employmentLabels[info.EmploymentType]}
		if info.TeamName != info.DepartmentName {
			card.Team = info.TeamName
		}
		if info.ShouldDisplayCompensationOnJobBoard && info.CompensationTierSummary != nil {
			card.Compensation = *info.CompensationTierSummary
		}
		byDept[info.DepartmentName] = append(byDept[info.DepartmentName], card)
		d.Count++
	}
	names := make([]string, 0, len(byDept))
	for n := range byDept {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		label := n
		if label == "" {
			label = "Other"
		}
		d.Groups = append(d.Groups, group{Department: label, Jobs: byDept[n]})
	}
	d.CountText = countText(d.Count, d.Total, d.Filtered)
	d.Departments = options(depts, dept, nil)
	d.Locations = options(locs, loc, nil)
	d.Workplace = options(wps, wp, workplaceLabels)
	var buf bytes.Buffer
	if err := s.pages["list"].ExecuteTemplate(&buf, "layout.html", d); err != nil {
		s.log.Error("render careers listing", "error", err)
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	s.lists.put(key, snap, buf.Bytes())
	s.write(w, http.StatusOK, buf.Bytes())
}

func options(set map[string]bool, selected string, labels map[string]string) []webform.Option {
	var out []webform.Option
	for v := range set {
		if v == "" {
			continue
		}
		l := v
		if labels != nil && labels[v] != "" {
			l = labels[v]
		}
		out = append(out, webform.Option{Label: l, Value: v, Checked: v == selected})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return out
}

// Posting page.

type postingData struct {
	page
	P *ashby.JobPostingInfo
	// Body is the description. (Named Description, it would hide the
	// page's, which the layout puts in the meta description.)
	Body                                template.HTML
	Department, Team                    string
	Locations                           []string
	Workplace, Employment, Compensation string
	Tiers                               []ashby.CompensationTier
	JSONLD                              template.JS
	ApplyURL                            string
}

func (s *Site) servePosting(w http.ResponseWriter, r *http.Request) {
	snap, info, ok := s.posting(w, r)
	if !ok {
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	ld, _ := json.Marshal(info.LinkedData) // json.Marshal escapes <, > and &: safe inside <script>
	d := postingData{page: s.pageFor(snap, info.Title+" – "+snap.Org.Name), P: info, Body: sanitize.DescriptionPage(info.DescriptionHTML),
		Department: info.DepartmentName,
		Workplace:  workplaceLabels[info.WorkplaceType], Employment: employmentLabels[info.EmploymentType], JSONLD: template.JS(ld),
		ApplyURL: s.base + "/jobs/" + snap.Board.Name + "/" + info.ID + "/application" + utmQuery(r)}
	d.page.Description = info.DescriptionSocial
	// Ashby's teamName is the team the job belongs to and departmentName
	// the top of that team's hierarchy; they are equal for a job of a
	// top-level team.
	if info.TeamName != info.DepartmentName {
		d.Team = info.TeamName
	}
	d.Locations = s.locationNames(snap, info)
	if info.ShouldDisplayCompensationOnJobBoard && info.Compensation.CompensationTierSummary != nil {
		d.Compensation = *info.Compensation.CompensationTierSummary
		if len(info.Compensation.CompensationTiers) > 1 {
			d.Tiers = info.Compensation.CompensationTiers
		}
	}
	s.render(w, http.StatusOK, "posting", d)
}

func (s *Site) locationNames(snap *api.BoardSnapshot, info *ashby.JobPostingInfo) []string {
	for i := range snap.Info {
		if snap.Info[i].ID == info.ID {
			out := []string{snap.Public[i].Location}
			for _, sl := range snap.Public[i].SecondaryLocations {
				out = append(out, sl.Location)
			}
			return out
		}
	}
	return []string{info.LocationName}
}

// Apply form.

type applyData struct {
	page
	P                 *ashby.JobPostingInfo
	Action, CSRF, Key string
	Sections          []webform.Section
	Errors            []webform.ErrorLink
	FormError         string
	UTM               []webform.Option
	MaxSize           string
}

func (s *Site) applyData(w http.ResponseWriter, r *http.Request, snap *api.BoardSnapshot, info *ashby.JobPostingInfo, vals webform.Values, errs map[string]string) applyData {
	d := applyData{page: s.pageFor(snap, "Apply: "+info.Title+" – "+snap.Org.Name), P: info,
		Action: s.base + "/jobs/" + snap.Board.Name + "/" + info.ID + "/application", CSRF: s.csrf.Token(w, r),
		Sections: webform.Sections(info.ApplicationFormDefinition, vals, errs, webform.Options{})}
	d.Key = vals.Get("idempotency_key")
	if d.Key == "" {
		d.Key = webform.RandomToken()
	}
	for _, k := range utmKeys {
		v := vals.Hidden(k)
		if v == "" {
			v = webform.Posted(r.URL.Query()).Hidden(k)
		}
		if v != "" {
			d.UTM = append(d.UTM, webform.Option{Label: k, Value: v})
		}
	}
	if fs := s.src.Uploads(); fs != nil {
		d.MaxSize = fmt.Sprintf("%d MB", fs.MaxSize()>>20)
	}
	d.Errors = webform.Errors(d.Sections)
	return d
}

func (s *Site) serveApply(w http.ResponseWriter, r *http.Request) {
	snap, info, ok := s.posting(w, r)
	if !ok {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, http.StatusOK, "apply", s.applyData(w, r, snap, info, webform.Values{}, nil))
}

// validKey reports whether an idempotency key is one the form could have
// carried (webform.RandomToken's alphabet and a sensible length).
func validKey(k string) bool {
	if len(k) < 16 || len(k) > 64 {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// honeypot is a field people never see (hidden from view and from
// assistive technology); bots that fill every input fill it.
const honeypot = "fax_number"

func (s *Site) serveSubmit(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	snap, info, ok := s.posting(w, r)
	if !ok {
		return
	}
	ip := rpc.ClientIP(r)
	if ok, wait := s.limit.Allow(r.Context(), ip); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		s.message(w, http.StatusTooManyRequests, snap, "Too many submissions", "Too many applications were sent from your network just now. Your application was not submitted; please wait a minute and try again.")
		return
	}
	fs := s.src.Uploads()
	fileFields := 0
	for _, e := range forms.Fields(info.ApplicationFormDefinition) {
		if e.Field.Type == ashby.FieldFile {
			fileFields++
		}
	}
	maxBody := int64(4 << 20)
	if fs != nil {
		maxBody += int64(fileFields) * fs.MaxSize()
	}
	webform.BodyDeadline(w, r, s.bodyTimeout, maxBody)
	form, err := readForm(r.Context(), fs, r, maxBody)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.message(w, http.StatusRequestEntityTooLarge, snap, "Files too large", "Your application was not submitted: the files you attached are too large. Please attach smaller files and try again.")
			return
		}
		s.log.Warn("careers: unreadable application", "error", err)
		s.message(w, http.StatusBadRequest, snap, "Application not submitted", "Your application could not be read. Please go back and try again.")
		return
	}
	vals, staged, rejected := form.vals, form.staged, form.rejected
	defer func() {
		for _, st := range staged {
			st.Remove()
		}
	}()
	if !s.csrf.Valid(r, vals.Get("csrf")) {
		s.message(w, http.StatusForbidden, snap, "Application not submitted", "Your session expired or the form came from another site. Your application was not submitted: please open the form again and resubmit it.")
		return
	}
	if vals.Get(honeypot) != "" {
		s.log.Warn("careers: honeypot filled", "ip", ip)
		s.message(w, http.StatusBadRequest, snap, "Application not submitted", "Your application was not submitted because a field meant to be left empty was filled in. Please open the form again and resubmit it.")
		return
	}
	key := vals.Get("idempotency_key")
	if !validKey(key) {
		key = webform.RandomToken()
		vals["idempotency_key"] = []string{key}
	}
	if len(form.tooLong) > 0 {
		errs := map[string]string{}
		for name := range form.tooLong {
			path, _, _ := strings.Cut(name, "[") // a composite field's input
			errs[path] = fmt.Sprintf("Is too long (at most %d characters).", forms.MaxLongText)
		}
		d := s.applyData(w, r, snap, info, vals, errs)
		d.FormError = "Your application was not submitted: an answer is too long."
		if len(staged) > 0 {
			d.FormError += " Browsers do not keep attached files after an error: please attach your files again."
		}
		s.render(w, http.StatusUnprocessableEntity, "apply", d)
		return
	}
	hasFile := func(path string) bool { return staged[path] != nil || rejected[path] != nil }
	app := Application{Posting: info, Answers: webform.Answers(info.ApplicationFormDefinition, vals, hasFile),
		Files: staged, Rejected: rejected, ClientIP: ip, UserAgent: r.UserAgent(), Key: key}
	utm := ashby.UTMData{Source: vals.Hidden("utm_source"), Campaign: vals.Hidden("utm_campaign"), Medium: vals.Hidden("utm_medium"), Term: vals.Hidden("utm_term"), Content: vals.Hidden("utm_content")}
	if utm != (ashby.UTMData{}) {
		app.UTM = &utm
	}
	ref, err := s.src.Submit(r.Context(), snap, app)
	if err != nil {
		s.submitFailed(w, r, snap, info, vals, staged, err)
		return
	}
	http.Redirect(w, r, s.base+"/jobs/"+snap.Board.Name+"/"+info.ID+"/application/submitted?ref="+url.QueryEscape(ref), http.StatusSeeOther)
}

func (s *Site) submitFailed(w http.ResponseWriter, r *http.Request, snap *api.BoardSnapshot, info *ashby.JobPostingInfo, vals webform.Values, staged map[string]*files.Staged, err error) {
	if errors.Is(err, ErrUnavailable) {
		s.log.Error("careers: submit application", "error", err)
		w.Header().Set("Retry-After", "60")
		s.message(w, http.StatusServiceUnavailable, snap, "Application not submitted", "We could not reach our hiring system, so your application was not submitted. Please try again in a few minutes.")
		return
	}
	if errors.Is(err, ErrUncertain) {
		s.log.Error("careers: submit application", "error", err)
		s.message(w, http.StatusBadGateway, snap, "Application not confirmed", "Our hiring system did not confirm that it received your application. It may have arrived: please wait a few minutes before applying again.")
		return
	}
	ae, ok := ashby.AsError(err)
	if !ok || ae.Status >= 500 {
		s.log.Error("careers: submit application", "error", err)
		s.message(w, webform.FailureStatus(w, err), snap, "Application not submitted", "We could not save your application because of a problem on our side. Nothing was submitted; please try again in a few minutes.")
		return
	}
	errs := webform.FieldErrors(ae)
	d := s.applyData(w, r, snap, info, vals, errs)
	// A problem the form has no field for (or none named) is said above
	// the form, so that it is never lost.
	shown := 0
	for _, sec := range d.Sections {
		for _, f := range sec.Fields {
			if errs[f.Path] != "" {
				shown++
			}
		}
	}
	if shown < len(errs) || len(errs) == 0 {
		d.FormError = ae.Message
	}
	if len(staged) > 0 {
		d.FormError = strings.TrimSpace(d.FormError + " Browsers do not keep attached files after an error: please attach your files again.")
	}
	s.render(w, http.StatusUnprocessableEntity, "apply", d)
}

type submittedData struct {
	page
	P   *ashby.JobPostingInfo
	Ref string
}

func (s *Site) serveSubmitted(w http.ResponseWriter, r *http.Request) {
	snap, info, ok := s.posting(w, r)
	if !ok {
		return
	}
	ref, found := s.src.Confirmation(r.Context(), snap, info.ID, r.URL.Query().Get("ref"))
	if !found {
		s.message(w, http.StatusNotFound, snap, "Application not found", "We could not find this application confirmation.")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, http.StatusOK, "submitted", submittedData{page: s.pageFor(snap, "Application received – "+snap.Org.Name), P: info, Ref: ref})
}
