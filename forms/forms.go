// Package forms validates answers against Ashby form definitions. The same
// rules serve application forms, interview feedback, offer forms, surveys
// and referrals: each field type accepts the value format Ashby documents
// (https://developers.ashbyhq.com/docs/creating-a-custom-careers-page), required fields must be answered, select answers must be
// one of the field's option values (which are what gets stored, never the
// labels), and unknown paths are refused.
package forms

import (
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/sanitize"
)

// FieldError is a problem with one answer.
type FieldError struct {
	Path    string `json:"path"`
	Title   string `json:"title,omitempty"`
	Message string `json:"message"`
}

// Errors are all the problems of one submission.
type Errors []FieldError

func (e Errors) Error() string {
	msgs := make([]string, len(e))
	for i, fe := range e {
		msgs[i] = fe.Path + ": " + fe.Message
	}
	return strings.Join(msgs, "; ")
}

// APIError renders the problems as Ashby's invalid_input error, with each
// field's problem in errorInfo.meta.fieldErrors so that a form can show
// errors beside their fields.
func (e Errors) APIError() *ashby.Error {
	msg := "The form submission is invalid: " + e.Error()
	err := ashby.InvalidInput("", "%s", msg)
	err.Meta = map[string]any{"fieldErrors": []FieldError(e)}
	return err
}

// Options adjust validation.
type Options struct {
	// File stores or resolves a File field's submitted value (a multipart
	// part name or an upload handle) and returns the value to keep, usually
	// an ashby.FileHandle. Without it File answers are refused.
	File func(field ashby.FormField, value any) (any, error)
	// IgnoreUnknown drops answers to paths the form does not have instead
	// of refusing them.
	IgnoreUnknown bool
}

// Fields returns the definition's fields in order.
func Fields(def ashby.FormDefinition) []ashby.FormEntry {
	var out []ashby.FormEntry
	for _, s := range def.Sections {
		out = append(out, s.Fields...)
	}
	return out
}

// Validate checks submissions against def and returns the values to store,
// keyed by path. Its error is Errors (every problem, not just the first)
// or an error from Options.File.
func Validate(def ashby.FormDefinition, subs []ashby.FieldSubmission, o Options) (map[string]any, error) {
	fields := map[string]ashby.FormEntry{}
	for _, f := range Fields(def) {
		fields[f.Field.Path] = f
	}
	values := map[string]any{}
	var errs Errors
	seen := map[string]bool{}
	for i, s := range subs {
		entry, ok := fields[s.Path]
		if !ok {
			if !o.IgnoreUnknown {
				errs = append(errs, FieldError{Path: s.Path, Message: fmt.Sprintf("fieldSubmissions[%d]: the form has no field with this path", i)})
			}
			continue
		}
		if seen[s.Path] {
			errs = append(errs, FieldError{Path: s.Path, Title: entry.Field.Title, Message: "answered twice"})
			continue
		}
		seen[s.Path] = true
		if empty(s.Value) {
			continue
		}
		if msg := checkText(s.Value); msg != "" {
			errs = append(errs, FieldError{Path: s.Path, Title: entry.Field.Title, Message: msg})
			continue
		}
		v, err := value(entry.Field, s.Value, o)
		if err != nil {
			if fe, ok := err.(fieldErr); ok {
				errs = append(errs, FieldError{Path: s.Path, Title: entry.Field.Title, Message: string(fe)})
				continue
			}
			return nil, err
		}
		values[s.Path] = v
	}
	for _, f := range Fields(def) {
		if f.IsRequired {
			if _, ok := values[f.Field.Path]; !ok && !seenError(errs, f.Field.Path) {
				errs = append(errs, FieldError{Path: f.Field.Path, Title: f.Field.Title, Message: "is required"})
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return values, nil
}

// Limits on answers (docs/limits.md), in characters.
const (
	MaxString   = 1000    // a String answer
	MaxLongText = 100_000 // a LongText or RichText answer, and any string in an answer
	MaxEmail    = 254     // RFC 5321
	MaxURL      = 2048
	MaxShort    = 255 // a phone number, a location part, a school or degree
	MaxEntries  = 50  // education entries
)

// checkText refuses an answer holding a NUL character (which PostgreSQL
// cannot store and SQLite compares wrongly), a string longer than any
// field takes, or a value nested too deep, whatever the field's type.
func checkText(v any) string {
	var walk func(v any, depth int) string
	walk = func(v any, depth int) string {
		if depth > 8 {
			return "is nested too deeply"
		}
		switch x := v.(type) {
		case string:
			if strings.IndexByte(x, 0) >= 0 {
				return "contains a NUL character, which is not allowed"
			}
			if tooLong(x, MaxLongText) {
				return fmt.Sprintf("is too long (at most %d characters)", MaxLongText)
			}
		case []any:
			if len(x) > 1000 {
				return "has too many values"
			}
			for _, e := range x {
				if msg := walk(e, depth+1); msg != "" {
					return msg
				}
			}
		case map[string]any:
			if len(x) > 100 {
				return "has too many keys"
			}
			for k, e := range x {
				if msg := walk(k, depth+1); msg != "" {
					return msg
				}
				if msg := walk(e, depth+1); msg != "" {
					return msg
				}
			}
		}
		return ""
	}
	return walk(v, 0)
}

// tooLong reports whether s has more than n characters.
func tooLong(s string, n int) bool {
	return len(s) > n && utf8.RuneCountInString(s) > n
}

func seenError(errs Errors, path string) bool {
	return slices.ContainsFunc(errs, func(e FieldError) bool { return e.Path == path })
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case []any:
		return len(x) == 0
	}
	return false
}

// fieldErr is a validation message about the field's value.
type fieldErr string

func bad(format string, args ...any) error { return fieldErr(fmt.Sprintf(format, args...)) }

func (e fieldErr) Error() string { return string(e) }

func value(f ashby.FormField, v any, o Options) (any, error) {
	switch f.Type {
	case ashby.FieldString, ashby.FieldLongText:
		s, ok := v.(string)
		if !ok {
			return nil, bad("must be a string")
		}
		if f.Type == ashby.FieldString && tooLong(s, MaxString) {
			return nil, bad("is too long (at most %d characters)", MaxString)
		}
		return strings.TrimSpace(s), nil
	case ashby.FieldPhone:
		s, ok := v.(string)
		if !ok {
			return nil, bad("must be a string")
		}
		s = strings.TrimSpace(s)
		if tooLong(s, MaxShort) {
			return nil, bad("is not a phone number")
		}
		digits := 0
		for _, r := range s {
			switch {
			case r >= '0' && r <= '9':
				digits++
			case strings.ContainsRune(" +-().x/", r):
			default:
				return nil, bad("is not a phone number")
			}
		}
		if digits < 5 || digits > 20 {
			return nil, bad("is not a phone number")
		}
		return s, nil
	case ashby.FieldEmail:
		s, ok := v.(string)
		if !ok {
			return nil, bad("must be a string")
		}
		s = strings.TrimSpace(s)
		if len(s) > MaxEmail || strings.LastIndexByte(s, '@') > 64 {
			return nil, bad("is not a valid email address (at most 254 characters, 64 before the @)")
		}
		if a, err := mail.ParseAddress(s); err != nil || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@'):], ".") {
			return nil, bad("is not a valid email address")
		}
		return s, nil
	case ashby.FieldURL, ashby.FieldSocialLink:
		s, ok := v.(string)
		if !ok {
			return nil, bad("must be a string")
		}
		s = strings.TrimSpace(s)
		if len(s) > MaxURL {
			return nil, bad("must be an http or https URL of at most %d characters", MaxURL)
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, bad("must be an http or https URL")
		}
		return s, nil
	case ashby.FieldUUID:
		s, ok := v.(string)
		if !ok || !ashby.IsUUID(s) {
			return nil, bad("must be a UUID")
		}
		return strings.ToLower(s), nil
	case ashby.FieldRichText:
		switch x := v.(type) {
		case string:
			return map[string]any{"type": "PlainText", "value": x}, nil
		case map[string]any:
			if t, _ := x["type"].(string); t != "PlainText" {
				return nil, bad(`must be {"type": "PlainText", "value": "…"}`)
			}
			if _, ok := x["value"].(string); !ok {
				return nil, bad("value must be a string")
			}
			return map[string]any{"type": "PlainText", "value": x["value"]}, nil
		}
		return nil, bad(`must be {"type": "PlainText", "value": "…"}`)
	case ashby.FieldBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, bad("must be true or false")
		}
		return b, nil
	case ashby.FieldDate:
		s, ok := v.(string)
		if !ok || !ashby.Date(s).Valid() {
			return nil, bad("must be a date as YYYY-MM-DD")
		}
		return s, nil
	case ashby.FieldDateRange:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, bad("must be {startDate, endDate}")
		}
		start, _ := m["startDate"].(string)
		end, _ := m["endDate"].(string)
		if !ashby.Date(start).Valid() || !ashby.Date(end).Valid() || end < start {
			return nil, bad("must be {startDate, endDate} with YYYY-MM-DD dates, start before end")
		}
		return map[string]any{"startDate": start, "endDate": end}, nil
	case ashby.FieldNumber:
		n, ok := number(v)
		if !ok {
			return nil, bad("must be a number")
		}
		return n, nil
	case ashby.FieldScore:
		m, ok := v.(map[string]any)
		var n float64
		if ok {
			n, ok = number(m["score"])
		}
		if !ok || n != math.Trunc(n) || n < 1 || n > 4 {
			return nil, bad("must be {score: 1 to 4}")
		}
		return map[string]any{"score": int(n)}, nil
	case ashby.FieldValueSelect:
		s, ok := v.(string)
		if !ok {
			return nil, bad("must be one of the option values")
		}
		if !isOption(f, s) {
			return nil, bad("%q is not one of the options (%s)", s, optionValues(f))
		}
		return s, nil
	case ashby.FieldMultiValueSelect:
		arr, ok := v.([]any)
		if !ok {
			return nil, bad("must be an array of option values")
		}
		out := make([]string, 0, len(arr))
		for _, x := range arr {
			s, ok := x.(string)
			if !ok || !isOption(f, s) {
				return nil, bad("%v is not one of the options (%s)", x, optionValues(f))
			}
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		return out, nil
	case ashby.FieldLocation:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, bad("must be {country, region, city}")
		}
		out := map[string]any{}
		for _, k := range []string{"country", "region", "city"} {
			if x, ok := m[k]; ok && x != nil {
				s, ok := x.(string)
				if !ok {
					return nil, bad("%s must be a string", k)
				}
				if s = strings.TrimSpace(s); tooLong(s, MaxShort) {
					return nil, bad("%s is too long (at most %d characters)", k, MaxShort)
				} else if s != "" {
					out[k] = s
				}
			}
		}
		if len(out) == 0 {
			return nil, bad("needs a country, region or city")
		}
		return out, nil
	case ashby.FieldCurrency:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, bad("must be {currencyCode, value}")
		}
		code, _ := m["currencyCode"].(string)
		n, ok := number(m["value"])
		if !ok || len(code) != 3 {
			return nil, bad("must be {currencyCode: an ISO 4217 code, value: a number}")
		}
		return map[string]any{"currencyCode": strings.ToUpper(code), "value": n}, nil
	case ashby.FieldNumberRange, ashby.FieldCompensationRange:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, bad("must be {minValue, maxValue}")
		}
		lo, ok1 := number(m["minValue"])
		hi, ok2 := number(m["maxValue"])
		if !ok1 || !ok2 || lo > hi {
			return nil, bad("must be {minValue, maxValue} with minValue ≤ maxValue")
		}
		if f.Type == ashby.FieldNumberRange {
			return map[string]any{"type": "number-range", "minValue": lo, "maxValue": hi}, nil
		}
		code, _ := m["currencyCode"].(string)
		interval, _ := m["interval"].(string)
		if len(code) != 3 || interval == "" || len(interval) > MaxShort {
			return nil, bad("needs currencyCode and interval")
		}
		return map[string]any{"type": "compensation-range", "minValue": lo, "maxValue": hi, "currencyCode": strings.ToUpper(code), "interval": interval}, nil
	case ashby.FieldEducationHistory:
		arr, ok := v.([]any)
		if !ok {
			return nil, bad("must be an array of {schoolName, degree, major, startDate, endDate, isCurrent}")
		}
		if len(arr) > MaxEntries {
			return nil, bad("has more than %d entries", MaxEntries)
		}
		out := make([]map[string]any, 0, len(arr))
		for i, x := range arr {
			m, ok := x.(map[string]any)
			school, _ := m["schoolName"].(string)
			if !ok || strings.TrimSpace(school) == "" {
				return nil, bad("entry %d needs a schoolName", i)
			}
			e := map[string]any{"schoolName": strings.TrimSpace(school)}
			for _, k := range []string{"degree", "major", "startDate", "endDate"} {
				if s, ok := m[k].(string); ok && s != "" {
					e[k] = s
				}
			}
			for k, v := range e {
				if s, _ := v.(string); tooLong(s, MaxShort) {
					return nil, bad("entry %d: %s is too long (at most %d characters)", i, k, MaxShort)
				}
			}
			cur, _ := m["isCurrent"].(bool)
			e["isCurrent"] = cur
			if cur && e["endDate"] != nil {
				return nil, bad("entry %d is current and so has no endDate", i)
			}
			out = append(out, e)
		}
		return out, nil
	case ashby.FieldFile:
		if o.File == nil {
			return nil, bad("file answers are not accepted here")
		}
		return o.File(f, v)
	}
	return nil, bad("has an unsupported field type %s", f.Type)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case int:
		return float64(x), true
	}
	return 0, false
}

func isOption(f ashby.FormField, v string) bool {
	return slices.ContainsFunc(f.SelectableValues, func(o ashby.FormSelectableValue) bool { return o.Value == v })
}

func optionValues(f ashby.FormField) string {
	vals := make([]string, len(f.SelectableValues))
	for i, o := range f.SelectableValues {
		vals[i] = o.Value
	}
	return strings.Join(vals, ", ")
}

// FileError reports a problem with an uploaded file as a field error.
func FileError(format string, args ...any) error { return bad(format, args...) }

// FromText converts what an HTML form posts for a field (strings) into
// the JSON value Validate expects. Multi-valued fields take every posted
// value; Location takes "city, region, country" parts.
func FromText(f ashby.FormField, vals []string) any {
	first := ""
	if len(vals) > 0 {
		first = strings.TrimSpace(vals[0])
	}
	switch f.Type {
	case ashby.FieldMultiValueSelect:
		out := []any{}
		for _, v := range vals {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
		return out
	case ashby.FieldBoolean:
		switch strings.ToLower(first) {
		case "true", "on", "yes", "1":
			return true
		case "false", "off", "no", "0":
			return false
		case "":
			return nil
		}
		return first
	case ashby.FieldNumber:
		if first == "" {
			return nil
		}
		if n, err := strconv.ParseFloat(first, 64); err == nil {
			return n
		}
		return first
	case ashby.FieldScore:
		if n, err := strconv.Atoi(first); err == nil {
			return map[string]any{"score": float64(n)}
		}
		if first == "" {
			return nil
		}
		return first
	case ashby.FieldLocation:
		if first == "" {
			return nil
		}
		parts := strings.Split(first, ",")
		m := map[string]any{}
		keys := []string{"city", "region", "country"}
		if len(parts) == 2 {
			keys = []string{"city", "country"}
		} else if len(parts) == 1 {
			keys = []string{"country"}
		}
		for i, p := range parts {
			if i < len(keys) {
				m[keys[i]] = strings.TrimSpace(p)
			}
		}
		return m
	case ashby.FieldRichText:
		if first == "" {
			return nil
		}
		return map[string]any{"type": "PlainText", "value": first}
	}
	if first == "" {
		return nil
	}
	return first
}

// Field builds a form entry with a fresh id.
func Field(typ, path, title string, required bool, options ...ashby.FormSelectableValue) ashby.FormEntry {
	return ashby.FormEntry{IsRequired: required, Field: ashby.FormField{ID: ashby.NewID(), Type: typ, Path: path,
		HumanReadablePath: title, Title: title, IsNullable: !required, SelectableValues: options}}
}

// Choices builds select options whose value is a slug of the label.
func Choices(labels ...string) []ashby.FormSelectableValue {
	out := make([]ashby.FormSelectableValue, len(labels))
	for i, l := range labels {
		out[i] = ashby.FormSelectableValue{Label: l, Value: Slug(l)}
	}
	return out
}

// Slug makes a stable machine value from a label.
func Slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('_')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "_")
}

// CheckDefinition validates a form definition a client supplies (known
// field types, unique paths, titles, options only on selects) and
// sanitises its HTML in place: section and field descriptions are shown
// on public pages (careers apply forms, candidate surveys), so they keep
// only the tags sanitize.DescriptionHTML allows, and their plain-text
// versions are derived from what is kept. Every endpoint that stores a
// form definition calls it.
func CheckDefinition(field string, def *ashby.FormDefinition) error {
	paths := map[string]bool{}
	for i := range def.Sections {
		s := &def.Sections[i]
		s.DescriptionHTML, s.DescriptionPlain = description(s.DescriptionHTML, s.DescriptionPlain)
		for j := range s.Fields {
			e := &s.Fields[j]
			e.DescriptionHTML, e.DescriptionPlain = description(e.DescriptionHTML, e.DescriptionPlain)
			at := fmt.Sprintf("%s.sections[%d].fields[%d].field", field, i, j)
			f := e.Field
			if !slices.Contains(ashby.FieldTypes, f.Type) {
				return ashby.InvalidInput(at+".type", "Unknown field type %q", f.Type)
			}
			if strings.TrimSpace(f.Path) == "" || paths[f.Path] {
				return ashby.InvalidInput(at+".path", "Field paths must be present and unique (%q)", f.Path)
			}
			paths[f.Path] = true
			if strings.TrimSpace(f.Title) == "" {
				return ashby.InvalidInput(at+".title", "A field needs a title")
			}
			isSelect := f.Type == ashby.FieldValueSelect || f.Type == ashby.FieldMultiValueSelect
			if isSelect != (len(f.SelectableValues) > 0) {
				return ashby.InvalidInput(at+".selectableValues", "Select fields, and only they, have selectableValues")
			}
		}
	}
	return nil
}

// description sanitises a description's HTML; its plain text is derived
// from the result (or kept as sent when there is no HTML).
func description(html, plain string) (string, string) {
	if html == "" {
		return "", plain
	}
	html = strings.TrimSpace(sanitize.DescriptionHTML(html))
	return html, sanitize.PlainText(html)
}

// Today is the date in UTC, for Date defaults.
func Today() string { return time.Now().UTC().Format("2006-01-02") }
