package careers

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/files"
	"github.com/ashlarhq/ashlar/forms"
)

// The apply form: every field of the posting's form definition becomes
// plain HTML inputs (no script), and a posted form becomes the same
// fieldSubmissions an API client would send.

type option struct {
	Label, Value string
	Checked      bool
}

type fieldView struct {
	Path, ID, Title, Type string
	Input                 string // which input template renders it
	Required              bool
	HelpHTML              template.HTML
	Error                 string
	Value                 string
	Sub                   map[string]string
	Options               []option
	Accept                string
	Autocomplete          string
}

// Described is the aria-describedby of the field's input.
func (f fieldView) Described() string {
	var ids []string
	if f.HelpHTML != "" {
		ids = append(ids, f.ID+"-help")
	}
	if f.Error != "" {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

type sectionView struct {
	Title    string
	DescHTML template.HTML
	Fields   []fieldView
}

var acceptFiles = ".pdf,.doc,.docx,.odt,.rtf,.txt,.png,.jpg,.jpeg,.gif,.webp,application/pdf,application/msword,application/vnd.openxmlformats-officedocument.wordprocessingml.document"

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

// posted is what the browser sent, by input name.
type posted map[string][]string

func (p posted) get(name string) string {
	if v := p[name]; len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return ""
}

// buildSections makes the form's view, filled with posted values and
// field errors after a failed submission.
func buildSections(def ashby.FormDefinition, vals posted, errs map[string]string) []sectionView {
	var out []sectionView
	n := 0
	for _, s := range def.Sections {
		sv := sectionView{Title: s.Title, DescHTML: template.HTML(s.DescriptionHTML)}
		for _, e := range s.Fields {
			f := e.Field
			n++
			fv := fieldView{Path: f.Path, ID: fmt.Sprintf("field-%d", n), Title: f.Title, Type: f.Type, Input: inputFor(f.Type),
				Required: e.IsRequired, HelpHTML: template.HTML(e.DescriptionHTML), Error: errs[f.Path], Value: vals.get(f.Path),
				Sub: map[string]string{}, Autocomplete: autocomplete[f.Path]}
			for _, k := range []string{"city", "region", "country", "value", "currency", "min", "max", "interval", "start", "end", "school", "degree", "major", "current"} {
				if v := vals.get(f.Path + "[" + k + "]"); v != "" {
					fv.Sub[k] = v
				}
			}
			chosen := map[string]bool{}
			for _, v := range vals[f.Path] {
				chosen[v] = true
			}
			for _, o := range f.SelectableValues {
				fv.Options = append(fv.Options, option{Label: o.Label, Value: o.Value, Checked: chosen[o.Value]})
			}
			if f.Type == ashby.FieldScore {
				for i, l := range []string{"1 – Strong no", "2 – No", "3 – Yes", "4 – Strong yes"} {
					v := strconv.Itoa(i + 1)
					fv.Options = append(fv.Options, option{Label: l, Value: v, Checked: chosen[v]})
				}
			}
			if f.Type == ashby.FieldFile {
				fv.Accept = acceptFiles
			}
			sv.Fields = append(sv.Fields, fv)
		}
		out = append(out, sv)
	}
	return out
}

// answers turns posted values into field submissions for the form.
// Files are referred to by their part name (the field's path), as in
// Ashby's multipart API.
func answers(def ashby.FormDefinition, vals posted, staged map[string]*files.Staged, rejected map[string]*files.Rejected) []ashby.FieldSubmission {
	var out []ashby.FieldSubmission
	for _, e := range forms.Fields(def) {
		f := e.Field
		p := f.Path
		sub := func(k string) string { return vals.get(p + "[" + k + "]") }
		num := func(s string) any {
			if n, err := strconv.ParseFloat(s, 64); err == nil {
				return n
			}
			return s
		}
		var v any
		switch f.Type {
		case ashby.FieldFile:
			if staged[p] != nil || rejected[p] != nil {
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

// readForm reads a posted apply form: text fields into memory, files
// staged (sized, typed and scanned) under their field's path.
func readForm(ctx context.Context, fs *files.Store, r *http.Request, maxBody int64) (posted, map[string]*files.Staged, map[string]*files.Rejected, error) {
	vals := posted{}
	staged := map[string]*files.Staged{}
	rejected := map[string]*files.Rejected{}
	cleanup := func() {
		for _, st := range staged {
			st.Remove()
		}
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxBody)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, nil, err
	}
	for i := 0; ; i++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			return vals, staged, rejected, nil
		}
		if err != nil {
			cleanup()
			return nil, nil, nil, err
		}
		if i > 500 {
			cleanup()
			return nil, nil, nil, errors.New("too many form fields")
		}
		name := part.FormName()
		if part.FileName() == "" && !isFilePart(part) {
			b, err := io.ReadAll(io.LimitReader(part, 200<<10))
			if err != nil {
				cleanup()
				return nil, nil, nil, err
			}
			vals[name] = append(vals[name], string(b))
			continue
		}
		if part.FileName() == "" || staged[name] != nil || rejected[name] != nil {
			io.Copy(io.Discard, part) // an empty file input, or a duplicate
			continue
		}
		if fs == nil {
			cleanup()
			return nil, nil, nil, errors.New("file storage is not configured")
		}
		st, err := fs.Stage(ctx, part, part.FileName(), 0)
		var rej *files.Rejected
		switch {
		case errors.As(err, &rej):
			rejected[name] = rej
			io.Copy(io.Discard, part)
		case err != nil:
			cleanup()
			return nil, nil, nil, err
		default:
			staged[name] = st
		}
	}
}

// isFilePart reports whether a part came from a file input left empty
// (browsers send those with filename="" and a content type).
func isFilePart(p *multipart.Part) bool {
	cd := p.Header.Get("Content-Disposition")
	return strings.Contains(cd, "filename=")
}
