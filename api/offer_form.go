package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/forms"
	"github.com/ashlarhq/ashlar/store"
)

// The offer form. An organization has one (created with it); what
// offer.start returns is that form completed for the application: the
// opening field lists the openings of the application's job, and a
// section holds the organization's active Offer custom fields. Answers are
// validated with the shared form rules plus the offer formats Ashby
// documents (Number and Currency values are integers; Date is a date).

// System field paths of the offer form.
const (
	offerPathStartDate = "_systemfield_start_date"
	offerPathSalary    = "_systemfield_salary"
	offerPathOpening   = "_systemfield_opening"
)

// OfferForms: Unique = "default"; an organization has one offer form.
var OfferForms = store.Kind[ashby.OfferForm]{Name: "offer_form", Index: func(f *ashby.OfferForm) store.Index {
	return store.Index{ID: f.ID, Unique: "default"}
}}

func defaultOfferForm() *ashby.OfferForm {
	return &ashby.OfferForm{ID: ashby.NewID(), FormDefinition: ashby.FormDefinition{Sections: []ashby.FormSection{{
		Title: "Offer details",
		Fields: []ashby.FormEntry{
			forms.Field(ashby.FieldDate, offerPathStartDate, "Start Date", true),
			forms.Field(ashby.FieldCurrency, offerPathSalary, "Salary", true),
			forms.Field(ashby.FieldValueSelect, offerPathOpening, "Opening", false),
		},
	}}}}
}

// offerForm is the organization's offer form completed for one
// application, with the custom fields its paths stand for.
type offerForm struct {
	form   *ashby.OfferForm
	custom map[string]*ashby.CustomField // by path
}

// composeOfferForm builds the offer form for an application.
func (s *Service) composeOfferForm(ctx context.Context, q store.Q, org string, app *ashby.Application) (*offerForm, error) {
	base, err := OfferForms.FindOne(ctx, q, org, store.Filter{Unique: "default"})
	if err != nil {
		return nil, fmt.Errorf("load offer form: %w", err)
	}
	var def ashby.FormDefinition
	if err := json.Unmarshal(mustJSON(base.FormDefinition), &def); err != nil {
		return nil, fmt.Errorf("copy offer form: %w", err)
	}
	openings, err := Openings.ByKey(ctx, q, org, "job", app.Job.ID, 0)
	if err != nil {
		return nil, err
	}
	var options []ashby.FormSelectableValue
	for _, o := range openings {
		if !o.IsArchived && o.LatestVersion != nil {
			options = append(options, ashby.FormSelectableValue{Label: o.LatestVersion.Identifier, Value: o.ID})
		}
	}
	for i := range def.Sections {
		sec := &def.Sections[i]
		sec.Fields = slices.DeleteFunc(sec.Fields, func(e ashby.FormEntry) bool {
			// The opening question only makes sense when there are openings to pick.
			return e.Field.Path == offerPathOpening && len(options) == 0
		})
		for j := range sec.Fields {
			if sec.Fields[j].Field.Path == offerPathOpening {
				sec.Fields[j].Field.SelectableValues = options
			}
		}
	}
	f := &offerForm{form: &ashby.OfferForm{ID: base.ID}, custom: map[string]*ashby.CustomField{}}
	fields, err := CustomFields.Find(ctx, q, org, store.Filter{State: []string{"Offer"}})
	if err != nil {
		return nil, err
	}
	var custom []ashby.FormEntry
	for _, cf := range fields {
		e := ashby.FormEntry{IsRequired: cf.IsRequired, DescriptionPlain: cf.Description, Field: ashby.FormField{ID: cf.ID, Type: cf.FieldType,
			Path: cf.ID, HumanReadablePath: cf.Title, Title: cf.Title, IsNullable: !cf.IsRequired}}
		for _, v := range cf.SelectableValues {
			if !v.IsArchived {
				e.Field.SelectableValues = append(e.Field.SelectableValues, ashby.FormSelectableValue{Label: v.Label, Value: v.Value})
			}
		}
		custom = append(custom, e)
		f.custom[cf.ID] = cf
	}
	if len(custom) > 0 {
		def.Sections = append(def.Sections, ashby.FormSection{Title: "Additional offer fields", Fields: custom})
	}
	f.form.FormDefinition = def
	return f, nil
}

// validate checks answers against the form and returns the values to
// store, keyed by path. carried are the previous version's values: a
// path not answered keeps its carried value, and answering null clears it.
func (f *offerForm) validate(subs []ashby.FieldSubmission, carried map[string]any) (map[string]any, error) {
	types := map[string]string{}
	for _, e := range forms.Fields(f.form.FormDefinition) {
		types[e.Field.Path] = e.Field.Type
	}
	answered := map[string]bool{}
	all := make([]ashby.FieldSubmission, 0, len(subs)+len(carried))
	for _, sub := range subs {
		answered[sub.Path] = true
		if types[sub.Path] == ashby.FieldDate {
			sub.Value = offerDate(sub.Value)
		}
		all = append(all, sub)
	}
	for path, v := range carried {
		// Values of fields the form no longer has (an archived custom
		// field) are dropped rather than refused: the client did not send them.
		if _, ok := types[path]; ok && !answered[path] {
			all = append(all, ashby.FieldSubmission{Path: path, Value: v})
		}
	}
	values, err := forms.Validate(f.form.FormDefinition, all, forms.Options{})
	if errs, ok := err.(forms.Errors); ok {
		return nil, errs.APIError()
	}
	if err != nil {
		return nil, err
	}
	var errs forms.Errors
	for path, v := range values {
		var n float64
		switch types[path] {
		case ashby.FieldNumber:
			n, _ = v.(float64)
		case ashby.FieldCurrency:
			m, _ := v.(map[string]any)
			n, _ = m["value"].(float64)
		default:
			continue
		}
		if n != math.Trunc(n) {
			errs = append(errs, forms.FieldError{Path: path, Message: "must be a whole number on an offer"})
		}
	}
	if len(errs) > 0 {
		return nil, errs.APIError()
	}
	return values, nil
}

// offerDate accepts a full ISO datetime where a Date is asked for, as
// Ashby documents "a valid ISO Date string", and keeps its date.
func offerDate(v any) any {
	s, ok := v.(string)
	if !ok || ashby.Date(strings.TrimSpace(s)).Valid() {
		return v
	}
	if t, err := ashby.ParseTime(s); err == nil {
		return t.UTC().Format("2006-01-02")
	}
	return v
}

// applyValues fills an offer version's fields from validated answers.
func (f *offerForm) applyValues(v *ashby.OfferVersion, values map[string]any) {
	v.StartDate, v.Salary, v.OpeningID = nil, nil, ""
	v.CustomFields = []ashby.CustomFieldValue{}
	if d, ok := values[offerPathStartDate].(string); ok {
		if t, err := time.Parse("2006-01-02", d); err == nil {
			v.StartDate = ashby.NewTime(t).Ptr()
		}
	}
	if m, ok := values[offerPathSalary].(map[string]any); ok {
		code, _ := m["currencyCode"].(string)
		n, _ := m["value"].(float64)
		v.Salary = &ashby.Salary{CurrencyCode: code, Value: n}
	}
	if id, ok := values[offerPathOpening].(string); ok {
		v.OpeningID = id
	}
	// Custom fields in the form's order, so versions read consistently.
	for _, e := range forms.Fields(f.form.FormDefinition) {
		cf, ok := f.custom[e.Field.Path]
		val, answered := values[e.Field.Path]
		if !ok || !answered {
			continue
		}
		cv := ashby.CustomFieldValue{ID: cf.ID, Title: cf.Title, IsPrivate: cf.IsPrivate, Value: val}
		switch cf.FieldType {
		case ashby.FieldDate:
			// Custom field dates are datetimes on the wire.
			if t, err := time.Parse("2006-01-02", fmt.Sprint(val)); err == nil {
				cv.Value = ashby.NewTime(t).String()
			}
		case ashby.FieldValueSelect:
			cv.ValueLabel = offerOptionLabel(e.Field, fmt.Sprint(val))
		case ashby.FieldMultiValueSelect:
			var labels []string
			if vs, ok := val.([]string); ok {
				for _, x := range vs {
					labels = append(labels, offerOptionLabel(e.Field, x))
				}
			}
			cv.ValueLabel = labels
		}
		v.CustomFields = append(v.CustomFields, cv)
	}
}

func offerOptionLabel(f ashby.FormField, value string) string {
	for _, o := range f.SelectableValues {
		if o.Value == value {
			return o.Label
		}
	}
	return value
}
