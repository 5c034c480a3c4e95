// Package webform is what the public, server-rendered sites (the careers
// site, the candidate survey page) share: Ashby form definitions rendered
// as plain, accessible HTML inputs (no script), posted inputs read back
// into the field submissions an API client would send, and the
// protection of public forms (CSRF tokens, a per-IP rate limit, security
// headers, readable theme colours).
//
// Validation is not here: the sites hand the submissions to the same
// api.Service code the API runs, so a browser and an API client get the
// same answers accepted and the same errors.
package webform

import (
	"embed"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/forms"
	"github.com/ashlarhq/ashlar/sanitize"
)

//go:embed templates/fields.html static/webform.css
var assets embed.FS

// ParseFields adds the "field" template (one form field: label, help,
// error and inputs) to t.
func ParseFields(t *template.Template) (*template.Template, error) {
	return t.ParseFS(assets, "templates/fields.html")
}

// Stylesheet is the shared base stylesheet: page layout, typography and
// form inputs, themed by a --brand colour.
func Stylesheet() ([]byte, error) { return assets.ReadFile("static/webform.css") }

// Option is one choice of a select, radio group or checkbox group.
type Option struct {
	Label, Value string
	Checked      bool
}

// Field is one form field's view.
type Field struct {
	Path, ID, Title, Type string
	Input                 string // which input the "field" template renders
	Required              bool
	HelpHTML              template.HTML
	Error                 string
	Value                 string
	Sub                   map[string]string
	Options               []Option
	Accept                string
	Autocomplete          string
}

// Described is the aria-describedby of the field's input.
func (f Field) Described() string {
	var ids []string
	if f.HelpHTML != "" {
		ids = append(ids, f.ID+"-help")
	}
	if f.Error != "" {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// Section is one section of the form with its fields.
type Section struct {
	Title    string
	DescHTML template.HTML
	Fields   []Field
}

// ErrorLink is an entry of the error summary, linking to its field.
type ErrorLink struct{ ID, Title, Message string }

// Errors lists the sections' field errors in form order.
func Errors(sections []Section) []ErrorLink {
	var out []ErrorLink
	for _, sec := range sections {
		for _, f := range sec.Fields {
			if f.Error != "" {
				out = append(out, ErrorLink{ID: f.ID, Title: f.Title, Message: f.Error})
			}
		}
	}
	return out
}

// Options adjust how a form renders.
type Options struct {
	// ScoreLabels label the 1–4 choices of Score fields (default: the
	// hiring scale, "1 – Strong no" … "4 – Strong yes").
	ScoreLabels []string
	// NoFiles renders File fields as a notice instead of an upload input,
	// for pages that cannot take files.
	NoFiles bool
}

// DefaultScoreLabels is Ashby's hiring scale.
var DefaultScoreLabels = []string{"1 – Strong no", "2 – No", "3 – Yes", "4 – Strong yes"}

// AcceptFiles is the accept attribute of file inputs: the types uploads allow.
const AcceptFiles = ".pdf,.doc,.docx,.odt,.rtf,.txt,.png,.jpg,.jpeg,.gif,.webp,application/pdf,application/msword,application/vnd.openxmlformats-officedocument.wordprocessingml.document"

var autocomplete = map[string]string{"_systemfield_name": "name", "_systemfield_email": "email", "_systemfield_phone": "tel",
	"_systemfield_linkedin": "url", "_systemfield_website": "url", "_systemfield_github": "url"}

func inputFor(t string) string {
	switch t {
	case ashby.FieldEmail:
		return "email"
	case ashby.FieldPhone:
		return "tel"
	case ashby.FieldURL, ashby.FieldSocialLink:
		return "url"
	case ashby.FieldNumber:
		return "number"
	case ashby.FieldDate:
		return "date"
	case ashby.FieldLongText, ashby.FieldRichText:
		return "textarea"
	case ashby.FieldValueSelect:
		return "select"
	case ashby.FieldMultiValueSelect:
		return "checkboxes"
	case ashby.FieldBoolean:
		return "boolean"
	case ashby.FieldScore:
		return "score"
	case ashby.FieldFile:
		return "file"
	case ashby.FieldLocation:
		return "location"
	case ashby.FieldCurrency:
		return "currency"
	case ashby.FieldNumberRange:
		return "numberrange"
	case ashby.FieldCompensationRange:
		return "comprange"
	case ashby.FieldDateRange:
		return "daterange"
	case ashby.FieldEducationHistory:
		return "education"
	}
	return "text"
}

// Values is what the browser posted, by input name.
type Values map[string][]string

// Posted makes Values of what a form posted: text as valid UTF-8, as the
// JSON API decodes it (an invalid byte becomes U+FFFD), so that the same
// validation applies. A NUL character is kept for validation to refuse
// beside its field.
func Posted(m map[string][]string) Values {
	v := Values{}
	for k, vs := range m {
		k = strings.ToValidUTF8(k, "\uFFFD")
		for _, s := range vs {
			v[k] = append(v[k], strings.ToValidUTF8(s, "\uFFFD"))
		}
	}
	return v
}

// MaxHidden is the longest value kept of an input the person does not
// type (tracking parameters, keys): 255 characters, the API's default.
const MaxHidden = 255

// Hidden is the value of an input the person does not type, or "" when
// it is too long or holds a NUL character: such values come from a
// mangled link or a script, and an application must not be refused (nor
// its form show an error no one can fix) because of them.
func (v Values) Hidden(name string) string {
	s := v.Get(name)
	if strings.IndexByte(s, 0) >= 0 || utf8.RuneCountInString(s) > MaxHidden {
		return ""
	}
	return s
}

// Get is the first value posted under name, trimmed.
func (v Values) Get(name string) string {
	if vs := v[name]; len(vs) > 0 {
		return strings.TrimSpace(vs[0])
	}
	return ""
}

// subKeys are the inputs of composite fields, posted as PATH[key].
var subKeys = []string{"city", "region", "country", "value", "currency", "min", "max", "interval", "start", "end", "school", "degree", "major", "current"}

// Sections makes the form's view, filled with posted values and field
// errors (by path) after a failed submission.
func Sections(def ashby.FormDefinition, vals Values, errs map[string]string, o Options) []Section {
	scores := o.ScoreLabels
	if len(scores) != 4 {
		scores = DefaultScoreLabels
	}
	var out []Section
	n := 0
	for _, s := range def.Sections {
		sv := Section{Title: s.Title, DescHTML: sanitize.DescriptionPage(s.DescriptionHTML)}
		for _, e := range s.Fields {
			f := e.Field
			n++
			fv := Field{Path: f.Path, ID: fmt.Sprintf("field-%d", n), Title: f.Title, Type: f.Type, Input: inputFor(f.Type),
				Required: e.IsRequired, HelpHTML: sanitize.DescriptionPage(e.DescriptionHTML), Error: errs[f.Path], Value: vals.Get(f.Path),
				Sub: map[string]string{}, Autocomplete: autocomplete[f.Path]}
			for _, k := range subKeys {
				if v := vals.Get(f.Path + "[" + k + "]"); v != "" {
					fv.Sub[k] = v
				}
			}
			chosen := map[string]bool{}
			for _, v := range vals[f.Path] {
				chosen[v] = true
			}
			for _, opt := range f.SelectableValues {
				fv.Options = append(fv.Options, Option{Label: opt.Label, Value: opt.Value, Checked: chosen[opt.Value]})
			}
			if f.Type == ashby.FieldScore {
				for i, l := range scores {
					v := strconv.Itoa(i + 1)
					fv.Options = append(fv.Options, Option{Label: l, Value: v, Checked: chosen[v]})
				}
			}
			if f.Type == ashby.FieldFile {
				fv.Accept = AcceptFiles
				if o.NoFiles {
					fv.Input = "nofile"
				}
			}
			sv.Fields = append(sv.Fields, fv)
		}
		out = append(out, sv)
	}
	return out
}

// Answers turns posted values into field submissions for the form, in
// form order, leaving out unanswered fields. hasFile reports whether a
// file was posted for a File field's path (nil: none ever is); a File
// answer is the path, the part name Ashby's multipart API uses.
func Answers(def ashby.FormDefinition, vals Values, hasFile func(path string) bool) []ashby.FieldSubmission {
	var out []ashby.FieldSubmission
	for _, e := range forms.Fields(def) {
		f := e.Field
		p := f.Path
		sub := func(k string) string { return vals.Get(p + "[" + k + "]") }
		num := func(s string) any {
			if n, err := strconv.ParseFloat(s, 64); err == nil {
				return n
			}
			return s
		}
		var v any
		switch f.Type {
		case ashby.FieldFile:
			if hasFile != nil && hasFile(p) {
				v = p
			}
		case ashby.FieldLocation:
			m := map[string]any{}
			for _, k := range []string{"city", "region", "country"} {
				if s := sub(k); s != "" {
					m[k] = s
				}
			}
			if len(m) > 0 {
				v = m
			}
		case ashby.FieldCurrency:
			if s := sub("value"); s != "" {
				v = map[string]any{"value": num(s), "currencyCode": strings.ToUpper(sub("currency"))}
			}
		case ashby.FieldNumberRange, ashby.FieldCompensationRange:
			if sub("min") != "" || sub("max") != "" {
				m := map[string]any{"minValue": num(sub("min")), "maxValue": num(sub("max"))}
				if f.Type == ashby.FieldCompensationRange {
					m["currencyCode"], m["interval"] = strings.ToUpper(sub("currency")), sub("interval")
				}
				v = m
			}
		case ashby.FieldDateRange:
			if sub("start") != "" || sub("end") != "" {
				v = map[string]any{"startDate": sub("start"), "endDate": sub("end")}
			}
		case ashby.FieldEducationHistory:
			if sub("school") != "" {
				entry := map[string]any{"schoolName": sub("school"), "isCurrent": sub("current") != ""}
				for k, in := range map[string]string{"degree": "degree", "major": "major", "startDate": "start", "endDate": "end"} {
					if s := sub(in); s != "" {
						entry[k] = s
					}
				}
				v = []any{entry}
			}
		default:
			v = forms.FromText(f, vals[p])
		}
		if v != nil {
			out = append(out, ashby.FieldSubmission{Path: p, Value: v})
		}
	}
	return out
}

// FieldErrors are the field problems of a refused submission (Ashby's
// invalid_input with errorInfo.meta.fieldErrors), as sentences by path.
func FieldErrors(e *ashby.Error) map[string]string {
	errs := map[string]string{}
	if fe, ok := e.Meta["fieldErrors"].([]forms.FieldError); ok {
		for _, x := range fe {
			errs[x.Path] = Sentence(x.Message)
		}
	}
	return errs
}

// Sentence capitalises a validation message for display beside its field.
func Sentence(msg string) string {
	if msg == "" {
		return msg
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}
