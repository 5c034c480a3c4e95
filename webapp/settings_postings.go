package webapp

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/webform"
)

type boardPostings struct {
	Board    ashby.JobBoardSettings
	Postings []ashby.JobPostingListItem
}

func (a *App) postings(q *Request) {
	var boards []ashby.JobBoard
	if _, err := q.List("jobBoard.list", map[string]any{}, &boards); err != nil {
		q.fail(err)
		return
	}
	var d []boardPostings
	for _, b := range boards {
		bp := boardPostings{}
		if err := q.Invoke("jobBoard.info", map[string]string{"jobBoardId": b.ID}, &bp.Board); err != nil {
			q.fail(err)
			return
		}
		req := map[string]any{"jobBoardId": b.ID, "includeUnpublishedJobPostings": true, "limit": 100}
		for {
			var page []ashby.JobPostingListItem
			next, err := q.List("jobPosting.list", req, &page)
			if err != nil {
				q.fail(err)
				return
			}
			bp.Postings = append(bp.Postings, page...)
			if next == "" || len(bp.Postings) >= 1000 {
				break
			}
			req["cursor"] = next
		}
		d = append(d, bp)
	}
	q.Render(http.StatusOK, "postings", q.newView("Job postings", "/app/settings/postings", d))
}

func (q *Request) postingInfo(id string) (*ashby.JobPostingInfo, bool) {
	var p ashby.JobPostingInfo
	if err := q.Invoke("jobPosting.info", map[string]any{"jobPostingId": id, "includeUnpublishedJobPostings": true}, &p); err != nil {
		q.fail(err)
		return nil, false
	}
	return &p, true
}

func (a *App) postingView(q *Request, id string) (*view, bool) {
	p, ok := q.postingInfo(id)
	if !ok {
		return nil, false
	}
	v := q.newView("Posting: "+p.Title, "/app/settings/postings", p)
	v.values = url.Values{"title": {p.Title}, "description": {p.DescriptionHTML}}
	return v, true
}

func (a *App) posting(q *Request) {
	id, ok := q.id("id")
	if !ok {
		return
	}
	if v, ok := a.postingView(q, id); ok {
		q.Render(http.StatusOK, "posting", v)
	}
}

func (a *App) postingUpdate(q *Request) {
	id, ok := q.id("id")
	if !ok {
		return
	}
	req := map[string]any{"jobPostingId": id, "includeUnpublishedJobPostings": true,
		"description": map[string]string{"type": "text/html", "content": q.Form.Get("description")}}
	if t := strings.TrimSpace(q.Form.Get("title")); t != "" {
		req["title"] = t
	}
	if err := q.Invoke("jobPosting.update", req, nil); err != nil {
		if !correctable(err) {
			q.fail(err)
			return
		}
		if v, ok := a.postingView(q, id); ok {
			q.Render(http.StatusUnprocessableEntity, "posting", v.withForm(q.Form, err, map[string]string{"title": "title", "description": "description", "description.content": "description"}))
		}
		return
	}
	q.Redirect("/app/settings/postings/"+id, "Posting saved. Its description keeps only the formatting the careers site allows.")
}

func (a *App) postingStatus(q *Request) {
	id, ok := q.id("id")
	if !ok {
		return
	}
	status := q.Form.Get("status")
	if err := q.Invoke("jobPosting.setStatus", map[string]string{"jobPostingId": id, "status": status}, nil); err != nil {
		q.fail(err)
		return
	}
	msg := "Posting published: it is on the careers site."
	if status != ashby.PostingPublished {
		msg = "Posting unpublished: it is no longer on the careers site."
	}
	q.Redirect("/app/settings/postings/"+id, msg)
}

func (a *App) postingListed(q *Request) {
	id, ok := q.id("id")
	if !ok {
		return
	}
	listed := q.Form.Get("listed") == "true"
	if err := q.Invoke("jobPosting.updateSettings", map[string]any{"jobPostingId": id, "isListed": listed}, nil); err != nil {
		q.fail(err)
		return
	}
	msg := "Posting listed: it appears in the careers site's list of positions."
	if !listed {
		msg = "Posting unlisted: only people with its link can find it."
	}
	q.Redirect("/app/settings/postings/"+id, msg)
}

// The application form builder.

// fieldTypes are every Ashby form field type, with a label for people.
var fieldTypes = []webform.Option{
	{Label: "Short text", Value: ashby.FieldString}, {Label: "Long text", Value: ashby.FieldLongText},
	{Label: "Rich text", Value: ashby.FieldRichText}, {Label: "Email address", Value: ashby.FieldEmail},
	{Label: "Phone number", Value: ashby.FieldPhone}, {Label: "Web address", Value: ashby.FieldURL},
	{Label: "Social profile link", Value: ashby.FieldSocialLink}, {Label: "Number", Value: ashby.FieldNumber},
	{Label: "Date", Value: ashby.FieldDate}, {Label: "Yes or no", Value: ashby.FieldBoolean},
	{Label: "Choose one", Value: ashby.FieldValueSelect}, {Label: "Choose several", Value: ashby.FieldMultiValueSelect},
	{Label: "Score (1 to 4)", Value: ashby.FieldScore}, {Label: "File upload", Value: ashby.FieldFile},
	{Label: "Location", Value: ashby.FieldLocation}, {Label: "Amount of money", Value: ashby.FieldCurrency},
	{Label: "Number range", Value: ashby.FieldNumberRange}, {Label: "Compensation range", Value: ashby.FieldCompensationRange},
	{Label: "Date range", Value: ashby.FieldDateRange}, {Label: "Education history", Value: ashby.FieldEducationHistory},
	{Label: "Identifier (UUID)", Value: ashby.FieldUUID},
}

func typeLabel(t string) string {
	for _, o := range fieldTypes {
		if o.Value == t {
			return o.Label
		}
	}
	return t
}

type builderRow struct {
	Section, Index int
	Entry          ashby.FormEntry
	TypeLabel      string
	First, Last    bool
	// System: the candidate's name and email, which identify them; the
	// builder neither removes them nor makes them optional.
	System bool
}

// systemField reports whether a form field is one of the system fields
// every application form must ask, and require.
func systemField(path string) bool { return path == api.SystemName || path == api.SystemEmail }

type builderData struct {
	P        *ashby.JobPostingInfo
	Sections []builderSection
	Types    []webform.Option
}

type builderSection struct {
	Title string
	Rows  []builderRow
}

func (a *App) builderView(q *Request, p *ashby.JobPostingInfo) *view {
	d := &builderData{P: p, Types: fieldTypes}
	for si, s := range p.ApplicationFormDefinition.Sections {
		bs := builderSection{Title: s.Title}
		if bs.Title == "" {
			bs.Title = "Section " + strconv.Itoa(si+1)
		}
		for fi, e := range s.Fields {
			bs.Rows = append(bs.Rows, builderRow{Section: si, Index: fi, Entry: e, TypeLabel: typeLabel(e.Field.Type), First: fi == 0, Last: fi == len(s.Fields)-1,
				System: systemField(e.Field.Path)})
		}
		d.Sections = append(d.Sections, bs)
	}
	return q.newView("Application form: "+p.Title, "/app/settings/postings", d)
}

func (a *App) formBuilder(q *Request) {
	id, ok := q.id("id")
	if !ok {
		return
	}
	p, ok := q.postingInfo(id)
	if !ok {
		return
	}
	v := a.builderView(q, p)
	v.values = url.Values{"required": {"on"}, "section": {"0"}}
	q.Render(http.StatusOK, "form", v)
}

// formChange applies one change to the posting's form and saves the whole
// definition with jobPosting.updateSettings, which validates it.
func (a *App) formChange(q *Request) {
	id, ok := q.id("id")
	if !ok {
		return
	}
	p, ok := q.postingInfo(id)
	if !ok {
		return
	}
	def := p.ApplicationFormDefinition
	action := q.Form.Get("action")
	si, _ := strconv.Atoi(q.Form.Get("section"))
	fi, _ := strconv.Atoi(q.Form.Get("index"))
	valid := si >= 0 && si < len(def.Sections) && fi >= 0 && fi < len(def.Sections[si].Fields)
	var msg string
	if action != "add" && !valid {
		q.Redirect("/app/settings/postings/"+id+"/form", "That question is no longer on the form; nothing was changed.")
		return
	}
	v := a.builderView(q, p)
	switch action {
	case "add":
		title := strings.TrimSpace(q.Form.Get("title"))
		typ := q.Form.Get("type")
		if title == "" {
			v.fieldError("title", "Enter the question.")
		}
		if !slices.ContainsFunc(fieldTypes, func(o webform.Option) bool { return o.Value == typ }) {
			v.fieldError("type", "Choose the kind of answer.")
		}
		var options []ashby.FormSelectableValue
		if typ == ashby.FieldValueSelect || typ == ashby.FieldMultiValueSelect {
			for _, line := range strings.Split(q.Form.Get("options"), "\n") {
				if l := strings.TrimSpace(line); l != "" {
					options = append(options, ashby.FormSelectableValue{Label: l, Value: l})
				}
			}
			if len(options) < 2 {
				v.fieldError("options", "Give at least two choices, one per line.")
			}
		}
		if len(v.Errors) > 0 {
			v.values = q.Form
			q.Render(http.StatusUnprocessableEntity, "form", v)
			return
		}
		fid := ashby.NewID()
		e := ashby.FormEntry{IsRequired: q.Form.Get("required") == "on", DescriptionHTML: htmlParagraph(q.Form.Get("hint")),
			Field: ashby.FormField{ID: fid, Type: typ, Path: fid, HumanReadablePath: title, Title: title, SelectableValues: options}}
		if len(def.Sections) == 0 {
			def.Sections = append(def.Sections, ashby.FormSection{Title: "Questions"})
		}
		if si < 0 || si >= len(def.Sections) {
			si = len(def.Sections) - 1
		}
		def.Sections[si].Fields = append(def.Sections[si].Fields, e)
		msg = "Question “" + title + "” added."
	case "up", "down":
		fs := def.Sections[si].Fields
		to := fi - 1
		if action == "down" {
			to = fi + 1
		}
		if to < 0 || to >= len(fs) {
			q.Redirect("/app/settings/postings/"+id+"/form", "")
			return
		}
		fs[fi], fs[to] = fs[to], fs[fi]
		msg = "Question “" + fs[to].Field.Title + "” moved " + action + "."
	case "require", "optional", "remove":
		if f := def.Sections[si].Fields[fi]; action != "require" && systemField(f.Field.Path) {
			q.app.setFlash(q.W, flash{Message: "“" + f.Field.Title + "” identifies the candidate: every application form asks for it, and requires it.", Kind: "error"})
			http.Redirect(q.W, q.R, "/app/settings/postings/"+id+"/form", http.StatusSeeOther)
			return
		}
		if action == "remove" {
			title := def.Sections[si].Fields[fi].Field.Title
			def.Sections[si].Fields = slices.Delete(def.Sections[si].Fields, fi, fi+1)
			msg = "Question “" + title + "” removed."
			break
		}
		def.Sections[si].Fields[fi].IsRequired = action == "require"
		msg = "Question “" + def.Sections[si].Fields[fi].Field.Title + "” is now " + map[bool]string{true: "required", false: "optional"}[action == "require"] + "."
	default:
		q.notFound()
		return
	}
	if err := q.Invoke("jobPosting.updateSettings", map[string]any{"jobPostingId": id, "applicationFormDefinition": def}, nil); err != nil {
		if !correctable(err) {
			q.fail(err)
			return
		}
		q.Render(http.StatusUnprocessableEntity, "form", v.withForm(q.Form, err, map[string]string{}))
		return
	}
	q.Redirect("/app/settings/postings/"+id+"/form", msg)
}

// htmlParagraph turns a plain-text hint into the HTML a form description
// holds.
func htmlParagraph(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	return "<p>" + templateEscape(s) + "</p>"
}

func templateEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

type previewData struct {
	P        *ashby.JobPostingInfo
	Sections []webform.Section
}

func (a *App) formPreview(q *Request) {
	id, ok := q.id("id")
	if !ok {
		return
	}
	p, ok := q.postingInfo(id)
	if !ok {
		return
	}
	d := previewData{P: p, Sections: webform.Sections(p.ApplicationFormDefinition, webform.Values{}, nil, webform.Options{})}
	q.Render(http.StatusOK, "preview", q.newView("Preview: apply for "+p.Title, "/app/settings/postings", d))
}
