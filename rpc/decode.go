package rpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
)

// decode parses a request body into Req and validates it: JSON syntax,
// types, the length of every string and array and the absence of NUL
// characters (limits.go), required fields (tag required:"true"), enums (tag enum:"A,B"),
// UUIDs (type ashby.ID) and the endpoint's expand values. Every failure is
// an invalid_input error naming the field.
func decode[Req any](body []byte, e *Endpoint) (*Req, error) {
	req := new(Req)
	body = bytes.TrimSpace(body)
	if len(body) == 0 || bytes.Equal(body, []byte("null")) {
		body = []byte("{}") // an empty body means {}
	}
	if body[0] != '{' {
		return nil, ashby.InvalidInput("", "Request payload is malformed: the body must be a JSON object")
	}
	// Unmarshal rather than a Decoder: it checks the whole body (data
	// after the object included) without a Decoder's buffer per request.
	if err := json.Unmarshal(body, req); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			switch {
			case strings.HasSuffix(syn.Error(), "after top-level value"):
				return nil, ashby.InvalidInput("", "Request payload is malformed: unexpected data after the JSON object")
			case syn.Error() == "unexpected end of JSON input":
				err = io.ErrUnexpectedEOF
			}
		}
		return nil, decodeError(err, reflect.TypeFor[Req]())
	}
	if err := checkLimits(reflect.ValueOf(req).Elem(), "", defaultLimit); err != nil {
		return nil, err
	}
	if err := validate(reflect.ValueOf(req).Elem(), ""); err != nil {
		return nil, err
	}
	if err := checkExpand(req, e.Expand); err != nil {
		return nil, err
	}
	return req, nil
}

// Decode parses and validates body into v, for handlers that decode nested
// JSON themselves (multipart form parts).
func Decode[T any](body []byte) (*T, error) {
	return decode[T](body, &Endpoint{})
}

func decodeError(err error, root reflect.Type) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return ashby.InvalidInput("", "Request payload is malformed: %s (at byte %d)", syn.Error(), syn.Offset)
	case errors.As(err, &typ):
		field := jsonPath(root, typ.Field)
		if field == "" {
			field = "body"
		}
		got := typ.Value
		return ashby.InvalidInput(field, "Invalid value for %s: expected %s, got %s", field, describe(typ.Type), got)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return ashby.InvalidInput("", "Request payload is malformed: unexpected end of JSON input")
	}
	return ashby.InvalidInput("", "Request payload is malformed: %v", err)
}

// jsonPath turns encoding/json's error path, which names embedded structs
// by their Go type ("SyncParams.ListParams.limit"), into the path a client
// sent ("limit").
func jsonPath(root reflect.Type, path string) string {
	if path == "" {
		return ""
	}
	t := root
	var out []string
	for _, seg := range strings.Split(path, ".") {
		for t != nil && (t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map) {
			t = t.Elem()
		}
		if t == nil || t.Kind() != reflect.Struct {
			t = nil
			out = append(out, seg)
			continue
		}
		if f, ok := t.FieldByName(seg); ok && f.Anonymous && f.Tag.Get("json") == "" {
			t = f.Type
			continue
		}
		out = append(out, seg)
		t = jsonField(t, seg)
	}
	return strings.Join(out, ".")
}

// jsonField is the type of t's field that JSON calls name, or nil.
func jsonField(t reflect.Type, name string) reflect.Type {
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == name || (tag == "" && strings.EqualFold(f.Name, name)) {
			return f.Type
		}
	}
	return nil
}

// describe names a Go type the way an API user thinks of it.
func describe(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[ashby.ID]():
		return "a UUID string"
	case reflect.TypeFor[ashby.Time]():
		return "an ISO-8601 datetime string"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return describe(t.Elem())
	}
	return "a " + t.Kind().String()
}

// validate walks a decoded request checking struct tags.
func validate(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return validate(v.Elem(), path)
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if err := validate(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Struct:
	default:
		return nil
	}
	t := v.Type()
	if t == reflect.TypeFor[ashby.Time]() {
		return nil
	}
	for _, f := range fieldsOf(t) {
		if f.skip {
			continue
		}
		fv := v.Field(f.index)
		if f.embedded {
			if err := validate(fv, path); err != nil {
				return err
			}
			continue
		}
		if !f.required && f.enum == nil && !mayHoldStruct(fv.Kind()) {
			continue // nothing to check, nothing inside: no path to build
		}
		p := f.name
		if path != "" {
			p = path + "." + f.name
		}
		if f.required && isEmpty(fv) {
			return ashby.InvalidInput(p, "Missing required field: %s", p)
		}
		if f.enum != nil {
			if err := checkEnum(fv, p, f.enum, false); err != nil {
				return err
			}
		}
		if err := validate(fv, p); err != nil {
			return err
		}
	}
	return nil
}

// mayHoldStruct reports whether a value of kind k can contain a struct
// that validate must walk.
func mayHoldStruct(k reflect.Kind) bool {
	return k == reflect.Pointer || k == reflect.Slice || k == reflect.Array || k == reflect.Struct
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map:
		return v.IsNil()
	case reflect.Slice:
		return v.IsNil()
	case reflect.String:
		return strings.TrimSpace(v.String()) == ""
	}
	return v.IsZero()
}

// checkEnum checks a value against its allowed values. An empty optional
// string means absent; inside an array every element must be allowed.
func checkEnum(v reflect.Value, path string, allowed []string, elem bool) error {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return checkEnum(v.Elem(), path, allowed, true)
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			if err := checkEnum(v.Index(i), fmt.Sprintf("%s[%d]", path, i), allowed, true); err != nil {
				return err
			}
		}
	case reflect.String:
		s := v.String()
		if (s != "" || elem) && !slices.Contains(allowed, s) {
			return ashby.InvalidInput(path, "Invalid value for %s: %q is not one of %s", path, s, strings.Join(allowed, ", "))
		}
	}
	return nil
}

func jsonName(f reflect.StructField) string {
	tag := f.Tag.Get("json")
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		return f.Name
	}
	return name
}

// Expander is implemented by requests with an expand field.
type expander interface{ ExpandValues() []string }

// ExpandParam is the expand field; embed it in requests of endpoints that
// declare Spec.Expand.
type ExpandParam struct {
	Expand ashby.OneOrMany[string] `json:"expand,omitempty" doc:"Related objects to include in the response."`
}

// ExpandValues returns the requested expansions.
func (p ExpandParam) ExpandValues() []string { return p.Expand }

// Expands reports whether the request asked for expansion name.
func (p ExpandParam) Expands(name string) bool { return slices.Contains(p.Expand, name) }

func checkExpand(req any, allowed []string) error {
	x, ok := req.(expander)
	if !ok {
		return nil
	}
	for i, v := range x.ExpandValues() {
		if !slices.Contains(allowed, v) {
			if len(allowed) == 0 {
				return ashby.InvalidInput("expand", "This endpoint has no expansions; got %q", v)
			}
			return ashby.InvalidInput(fmt.Sprintf("expand[%d]", i), "Invalid expand value %q: expected one of %s", v, strings.Join(allowed, ", "))
		}
	}
	return nil
}
