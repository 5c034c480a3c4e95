package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

func init() {
	register((*Service).customFieldValueEndpoints)
	RegisterCustomFieldTarget("Candidate", func(ctx context.Context, s *Service, org, id string, fn CustomFieldEdit) error {
		_, err := s.UpdateCandidate(ctx, org, id, func(tx *store.Tx, c *ashby.Candidate) error { return fn(tx, &c.CustomFields) })
		return err
	})
	RegisterCustomFieldTarget("Application", func(ctx context.Context, s *Service, org, id string, fn CustomFieldEdit) error {
		_, err := s.UpdateApplication(ctx, org, id, func(tx *store.Tx, a *ashby.Application) error { return fn(tx, &a.CustomFields) })
		return err
	})
	RegisterCustomFieldTarget("Job", func(ctx context.Context, s *Service, org, id string, fn CustomFieldEdit) error {
		_, err := s.UpdateJob(ctx, org, id, func(tx *store.Tx, j *ashby.Job) error { return fn(tx, &j.CustomFields) })
		return err
	})
	RegisterCustomFieldTarget("Employee", func(ctx context.Context, s *Service, org, id string, fn CustomFieldEdit) error {
		return s.updateUserCustomFields(ctx, org, id, fn)
	})
}

func (s *Service) customFieldValueEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "customField.setValue", Permission: ashby.CandidatesWrite, Summary: "Set (or, with null, clear) one custom field value of an application, candidate, job or opening."}, s.customFieldSetValue),
		rpc.Array[ashby.CustomFieldValue](rpc.Spec{Name: "customField.setValues", Permission: ashby.CandidatesWrite, Summary: "Set several custom field values of one object atomically: all are applied or none."}, s.customFieldSetValues),
		rpc.Object(rpc.Spec{Name: "customField.updateSelectableValues", Permission: ashby.HiringProcessMetadataWrite, Summary: "Merge a select field's options by value: new ones are added, existing ones relabelled, omitted ones archived."}, s.customFieldUpdateSelectableValues),
		rpc.Object(rpc.Spec{Name: "user.setCustomFieldValue", Permission: ashby.OrganizationWrite, Summary: "Set (or clear) one custom field value of a user (Employee fields)."}, s.userSetCustomFieldValue),
		rpc.Array[ashby.CustomFieldValue](rpc.Spec{Name: "user.setCustomFieldValues", Permission: ashby.OrganizationWrite, Summary: "Set several custom field values of a user atomically."}, s.userSetCustomFieldValues),
	}
}

// CustomFieldEdit changes an object's customFields inside the object's
// write transaction.
type CustomFieldEdit func(tx *store.Tx, values *[]ashby.CustomFieldValue) error

// CustomFieldUpdater loads the object of a type for update, applies fn to
// its customFields and stores it, rewriting documents that embed it and
// emitting its update event. A missing object is "<type>_not_found".
type CustomFieldUpdater func(ctx context.Context, s *Service, org, id string, fn CustomFieldEdit) error

var customFieldTargets = map[string]CustomFieldUpdater{}

// RegisterCustomFieldTarget makes objects of a custom field objectType
// ("Candidate", "Opening" …) settable through customField.setValue(s).
// The category owning the object registers it from init.
func RegisterCustomFieldTarget(objectType string, u CustomFieldUpdater) {
	customFieldTargets[objectType] = u
}

type customFieldValueInput struct {
	FieldID    ashby.ID        `json:"fieldId" required:"true"`
	FieldValue json.RawMessage `json:"fieldValue"`
}

type customFieldSetValueRequest struct {
	ObjectID   ashby.ID        `json:"objectId" required:"true"`
	ObjectType string          `json:"objectType" required:"true" enum:"Application,Candidate,Job,Opening"`
	FieldID    ashby.ID        `json:"fieldId" required:"true"`
	FieldValue json.RawMessage `json:"fieldValue" doc:"The value in the field type's format (see customField.setValue in Ashby's API reference); null clears it."`
}

type customFieldSetValuesRequest struct {
	ObjectID   ashby.ID                `json:"objectId" required:"true"`
	ObjectType string                  `json:"objectType" required:"true" enum:"Application,Candidate,Job,Opening"`
	Values     []customFieldValueInput `json:"values" required:"true"`
}

func (s *Service) customFieldSetValue(ctx context.Context, c *rpc.Call, req *customFieldSetValueRequest) (rpc.Result[ashby.CustomFieldValue], error) {
	out, err := s.setCustomFieldValues(ctx, c.Org(), req.ObjectType, string(req.ObjectID), "", []customFieldValueInput{{FieldID: req.FieldID, FieldValue: req.FieldValue}})
	if err != nil {
		return rpc.Result[ashby.CustomFieldValue]{}, err
	}
	return rpc.Value(&out[0]), nil
}

func (s *Service) customFieldSetValues(ctx context.Context, c *rpc.Call, req *customFieldSetValuesRequest) (*rpc.Page, error) {
	out, err := s.setCustomFieldValues(ctx, c.Org(), req.ObjectType, string(req.ObjectID), "values", req.Values)
	if err != nil {
		return nil, err
	}
	return items(out), nil
}

type userSetCustomFieldValueRequest struct {
	UserID     ashby.ID        `json:"userId" required:"true"`
	FieldID    ashby.ID        `json:"fieldId" required:"true"`
	FieldValue json.RawMessage `json:"fieldValue"`
}

type userSetCustomFieldValuesRequest struct {
	UserID ashby.ID                `json:"userId" required:"true"`
	Values []customFieldValueInput `json:"values" required:"true"`
}

func (s *Service) userSetCustomFieldValue(ctx context.Context, c *rpc.Call, req *userSetCustomFieldValueRequest) (rpc.Result[ashby.CustomFieldValue], error) {
	out, err := s.setCustomFieldValues(ctx, c.Org(), "Employee", string(req.UserID), "", []customFieldValueInput{{FieldID: req.FieldID, FieldValue: req.FieldValue}})
	if err != nil {
		return rpc.Result[ashby.CustomFieldValue]{}, err
	}
	return rpc.Value(&out[0]), nil
}

func (s *Service) userSetCustomFieldValues(ctx context.Context, c *rpc.Call, req *userSetCustomFieldValuesRequest) (*rpc.Page, error) {
	out, err := s.setCustomFieldValues(ctx, c.Org(), "Employee", string(req.UserID), "values", req.Values)
	if err != nil {
		return nil, err
	}
	return items(out), nil
}

// setCustomFieldValues validates values against their field definitions
// and writes them into the object in one transaction: if any value is
// invalid nothing is written. It returns the value entries as stored (a
// cleared field comes back with a null value).
func (s *Service) setCustomFieldValues(ctx context.Context, org, objectType, objectID, listField string, in []customFieldValueInput) ([]ashby.CustomFieldValue, error) {
	update, ok := customFieldTargets[objectType]
	if !ok {
		return nil, ashby.InvalidInput("objectType", "Custom field values of %s objects cannot be set yet", objectType)
	}
	if len(in) == 0 {
		return nil, ashby.InvalidInput(listField, "Give at least one value")
	}
	out := make([]ashby.CustomFieldValue, len(in))
	err := update(ctx, s, org, objectID, func(tx *store.Tx, values *[]ashby.CustomFieldValue) error {
		seen := map[string]bool{}
		for i, v := range in {
			at, idAt := "fieldValue", "fieldId"
			if listField != "" {
				at, idAt = fmt.Sprintf("%s[%d].fieldValue", listField, i), fmt.Sprintf("%s[%d].fieldId", listField, i)
			}
			if seen[string(v.FieldID)] {
				return ashby.InvalidInput(idAt, "Field %s is given twice", v.FieldID)
			}
			seen[string(v.FieldID)] = true
			f, err := CustomFields.Get(ctx, tx, org, string(v.FieldID))
			if err != nil {
				return notFound(err, "custom_field", fmt.Sprintf("Custom field %s not found", v.FieldID))
			}
			if f.ObjectType != objectType {
				return ashby.InvalidInput(idAt, "Custom field %q is a field of %s objects, not %s", f.Title, f.ObjectType, objectType)
			}
			if f.IsArchived {
				return ashby.InvalidInput(idAt, "Custom field %q is archived", f.Title)
			}
			entry, err := CustomFieldValueFor(f, v.FieldValue, at)
			if err != nil {
				return err
			}
			*values = putCustomFieldValue(*values, entry)
			out[i] = entry
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// putCustomFieldValue replaces (or, with a nil value, removes) the entry
// of one field, keeping the others in order.
func putCustomFieldValue(values []ashby.CustomFieldValue, v ashby.CustomFieldValue) []ashby.CustomFieldValue {
	if values == nil {
		values = []ashby.CustomFieldValue{}
	}
	i := slices.IndexFunc(values, func(x ashby.CustomFieldValue) bool { return x.ID == v.ID })
	switch {
	case v.Value == nil && i >= 0:
		return slices.Delete(values, i, i+1)
	case v.Value == nil:
		return values
	case i >= 0:
		values[i] = v
		return values
	}
	return append(values, v)
}

// compensationIntervals are the intervals of CompensationRange values.
var compensationIntervals = []string{"NONE", "1 TIME", "1 HOUR", "1 DAY", "1 WEEK", "2 WEEK", "1 MONTH", "2 MONTH", "1 YEAR", "6 MONTH", "0.5 MONTH", "3 MONTH"}

// CustomFieldValueFor validates a raw value against field f's type and
// returns the entry to store (https://developers.ashbyhq.com/reference/customfieldsetvalue). JSON null clears the
// field: the entry's Value is nil. field names the request field in
// errors.
func CustomFieldValueFor(f *ashby.CustomField, raw json.RawMessage, field string) (ashby.CustomFieldValue, error) {
	entry := ashby.CustomFieldValue{ID: f.ID, Title: f.Title, IsPrivate: f.IsPrivate}
	var v any
	if len(raw) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return entry, ashby.InvalidInput(field, "fieldValue is not valid JSON")
		}
	}
	if v == nil {
		return entry, nil
	}
	bad := func(want string) error {
		return ashby.InvalidInput(field, "Custom field %q is a %s field: its value must be %s", f.Title, f.FieldType, want)
	}
	switch f.FieldType {
	case "Boolean":
		b, ok := v.(bool)
		if !ok {
			return entry, bad("true or false")
		}
		entry.Value = b
	case "String", "LongText":
		str, ok := v.(string)
		if !ok {
			return entry, bad("a string")
		}
		if f.FieldType == "String" && len(str) > 1000 || len(str) > 100000 {
			return entry, ashby.InvalidInput(field, "The value of %q is too long", f.Title)
		}
		entry.Value = str
	case "Date":
		str, ok := v.(string)
		if !ok {
			return entry, bad("an ISO-8601 date or datetime string")
		}
		t, err := ashby.ParseTime(str)
		if err != nil {
			return entry, bad("an ISO-8601 date or datetime string")
		}
		entry.Value = t.String()
	case "Url":
		str, ok := v.(string)
		u, err := url.Parse(strings.TrimSpace(str))
		if !ok || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return entry, bad("an http or https URL")
		}
		entry.Value = strings.TrimSpace(str)
	case "UUID":
		str, ok := v.(string)
		if !ok || !ashby.IsUUID(str) {
			return entry, bad("a UUID")
		}
		entry.Value = strings.ToLower(str)
	case "Number":
		n, ok := jsonNumber(v)
		if !ok {
			return entry, bad("a number")
		}
		entry.Value = n
	case "ValueSelect":
		str, ok := v.(string)
		if !ok {
			return entry, bad("one of its option values")
		}
		opt, err := selectOption(f, str, field)
		if err != nil {
			return entry, err
		}
		entry.Value, entry.ValueLabel = opt.Value, opt.Label
	case "MultiValueSelect":
		arr, ok := v.([]any)
		if !ok {
			return entry, bad("an array of option values")
		}
		vals, labels := []string{}, []string{}
		for _, x := range arr {
			str, ok := x.(string)
			if !ok {
				return entry, bad("an array of option values")
			}
			opt, err := selectOption(f, str, field)
			if err != nil {
				return entry, err
			}
			if !slices.Contains(vals, opt.Value) {
				vals, labels = append(vals, opt.Value), append(labels, opt.Label)
			}
		}
		entry.Value, entry.ValueLabel = vals, labels
	case "Currency":
		m, ok := v.(map[string]any)
		if !ok {
			return entry, bad(`{"value": number, "currencyCode": "USD"}`)
		}
		n, ok := jsonNumber(m["value"])
		code, _ := m["currencyCode"].(string)
		if !ok || !currencyCode(code) {
			return entry, bad(`{"value": number, "currencyCode": a three-letter ISO 4217 code}`)
		}
		entry.Value = map[string]any{"value": n, "currencyCode": strings.ToUpper(code)}
	case "NumberRange", "CompensationRange":
		m, ok := v.(map[string]any)
		if !ok {
			return entry, bad("{minValue, maxValue}")
		}
		lo, ok1 := jsonNumber(m["minValue"])
		hi, ok2 := jsonNumber(m["maxValue"])
		if !ok1 || !ok2 || lo > hi {
			return entry, bad("{minValue, maxValue} with minValue ≤ maxValue")
		}
		if f.FieldType == "NumberRange" {
			entry.Value = map[string]any{"type": "number-range", "minValue": lo, "maxValue": hi}
			break
		}
		code, _ := m["currencyCode"].(string)
		interval, _ := m["interval"].(string)
		if !currencyCode(code) || !slices.Contains(compensationIntervals, interval) {
			return entry, bad(fmt.Sprintf("{minValue, maxValue, currencyCode, interval} with interval one of %s", strings.Join(compensationIntervals, ", ")))
		}
		entry.Value = map[string]any{"type": "compensation-range", "minValue": lo, "maxValue": hi, "currencyCode": strings.ToUpper(code), "interval": interval}
	case "Location":
		m, ok := v.(map[string]any)
		if !ok {
			return entry, bad("{country, region, city}")
		}
		loc := map[string]any{}
		for _, k := range []string{"country", "region", "city"} {
			if x, ok := m[k]; ok && x != nil {
				str, ok := x.(string)
				if !ok {
					return entry, bad("{country, region, city} with string parts")
				}
				if str = strings.TrimSpace(str); str != "" {
					loc[k] = str
				}
			}
		}
		if len(loc) == 0 {
			return entry, bad("{country, region, city} with at least one part")
		}
		entry.Value = loc
	default:
		return entry, ashby.InvalidInput(field, "Custom field %q has type %s, whose values cannot be set through the API", f.Title, f.FieldType)
	}
	return entry, nil
}

func selectOption(f *ashby.CustomField, value, field string) (ashby.SelectableValue, error) {
	for _, o := range f.SelectableValues {
		if o.Value == value {
			if o.IsArchived {
				return o, ashby.InvalidInput(field, "Option %q of custom field %q is archived", value, f.Title)
			}
			return o, nil
		}
	}
	var open []string
	for _, o := range f.SelectableValues {
		if !o.IsArchived {
			open = append(open, o.Value)
		}
	}
	return ashby.SelectableValue{}, ashby.InvalidInput(field, "%q is not an option of custom field %q (options: %s)", value, f.Title, strings.Join(open, ", "))
}

func jsonNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		n, err := x.Float64()
		return n, err == nil && !math.IsInf(n, 0) && !math.IsNaN(n)
	case float64:
		return x, !math.IsInf(x, 0) && !math.IsNaN(x)
	}
	return 0, false
}

func currencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return false
		}
	}
	return true
}

// updateUserCustomFields is the Employee target: users embed their
// custom fields, and documents that embed the user are rewritten.
func (s *Service) updateUserCustomFields(ctx context.Context, org, id string, fn CustomFieldEdit) error {
	return s.write(ctx, func(tx *store.Tx) error {
		u, err := Users.GetForUpdate(ctx, tx, org, id)
		if err != nil {
			return notFound(err, "user", "User not found")
		}
		before := string(mustJSON(u))
		if err := fn(tx, &u.CustomFields); err != nil {
			return err
		}
		if string(mustJSON(u)) == before {
			return nil
		}
		u.UpdatedAt = s.now()
		if err := Users.Put(ctx, tx, org, u); err != nil {
			return err
		}
		return s.refreshUser(ctx, tx, org, u)
	})
}

// customField.updateSelectableValues

type selectableValueInput struct {
	Label      string `json:"label" required:"true"`
	Value      string `json:"value" required:"true"`
	IsArchived *bool  `json:"isArchived,omitempty"`
}

type customFieldUpdateSelectableValuesRequest struct {
	CustomFieldID    ashby.ID               `json:"customFieldId" required:"true"`
	SelectableValues []selectableValueInput `json:"selectableValues" required:"true"`
}

func (s *Service) customFieldUpdateSelectableValues(ctx context.Context, c *rpc.Call, req *customFieldUpdateSelectableValuesRequest) (rpc.Result[ashby.CustomField], error) {
	seen := map[string]bool{}
	for i, v := range req.SelectableValues {
		if seen[v.Value] {
			return rpc.Result[ashby.CustomField]{}, ashby.InvalidInput(fmt.Sprintf("selectableValues[%d].value", i), "Value %q is given twice", v.Value)
		}
		seen[v.Value] = true
	}
	var f *ashby.CustomField
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		f, err = CustomFields.Update(ctx, tx, c.Org(), string(req.CustomFieldID), func(f *ashby.CustomField) error {
			if f.FieldType != "ValueSelect" && f.FieldType != "MultiValueSelect" {
				return ashby.InvalidInput("customFieldId", "Custom field %q is a %s field; only ValueSelect and MultiValueSelect fields have selectable values", f.Title, f.FieldType)
			}
			f.SelectableValues = mergeSelectableValues(f.SelectableValues, req.SelectableValues)
			if !slices.ContainsFunc(f.SelectableValues, func(v ashby.SelectableValue) bool { return !v.IsArchived }) {
				return ashby.InvalidInput("selectableValues", "A select field needs at least one option that is not archived")
			}
			return nil
		})
		return notFound(err, "custom_field", "Custom field not found")
	})
	if err != nil {
		return rpc.Result[ashby.CustomField]{}, err
	}
	return rpc.Value(f), nil
}

// mergeSelectableValues merges options by value: existing options keep
// their place and take the new label, new ones are appended, and options
// the request omits are archived (never deleted, since stored values
// still refer to them).
func mergeSelectableValues(have []ashby.SelectableValue, in []selectableValueInput) []ashby.SelectableValue {
	given := map[string]selectableValueInput{}
	for _, v := range in {
		given[v.Value] = v
	}
	out := make([]ashby.SelectableValue, 0, len(have)+len(in))
	for _, o := range have {
		if v, ok := given[o.Value]; ok {
			o.Label = strings.TrimSpace(v.Label)
			o.IsArchived = v.IsArchived != nil && *v.IsArchived
			delete(given, o.Value)
		} else {
			o.IsArchived = true
		}
		out = append(out, o)
	}
	for _, v := range in {
		if _, ok := given[v.Value]; ok {
			out = append(out, ashby.SelectableValue{Label: strings.TrimSpace(v.Label), Value: v.Value, IsArchived: v.IsArchived != nil && *v.IsArchived})
		}
	}
	return out
}
