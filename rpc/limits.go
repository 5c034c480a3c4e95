package rpc

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/ashlarhq/ashlar/ashby"
)

// Limits on what one request may hold (docs/limits.md). Every string of
// every request has one: MaxString unless its field's maxLength tag names
// a class below or a number of characters. Arrays hold at most MaxItems
// elements unless a maxItems tag says otherwise. Lengths count Unicode
// characters, as JSON Schema's maxLength does.
const (
	// MaxString is the default: names, titles, labels, codes, ids, enum
	// values, search terms, cursors.
	MaxString = 255
	// MaxEmail is the longest email address (RFC 5321 §4.5.3.1 limits a
	// path to 256 octets including the angle brackets); MaxEmailLocal its
	// local part (§4.5.3.1.1).
	MaxEmail      = 254
	MaxEmailLocal = 64
	// MaxURL is the longest URL, the limit browsers and proxies commonly
	// share.
	MaxURL = 2048
	// MaxText is a plain-text paragraph: reasons, comments, short
	// descriptions.
	MaxText = 10_000
	// MaxLongText is long text and HTML: job descriptions, notes, email
	// bodies, instructions, and any string inside a free-form value (form
	// answers, custom field values, extra data).
	MaxLongText = 100_000
	// MaxItems is the default length of an array.
	MaxItems = 1000
)

// lengthClasses are the names a maxLength tag may use instead of a number.
var lengthClasses = map[string]int{"email": MaxEmail, "url": MaxURL, "text": MaxText, "long": MaxLongText}

// limit is what applies to one value: its string length and, for arrays,
// element count. email adds the local-part check.
type limit struct {
	chars, items int
	email        bool
}

var defaultLimit = limit{chars: MaxString, items: MaxItems}

// fieldLimit reads a field's maxLength and maxItems tags.
func fieldLimit(f reflect.StructField) limit {
	l := defaultLimit
	if isFree(f.Type) {
		l.chars = MaxLongText
	}
	if tag := f.Tag.Get("maxLength"); tag != "" {
		if n, ok := lengthClasses[tag]; ok {
			l.chars = n
		} else if n, err := strconv.Atoi(tag); err == nil && n > 0 {
			l.chars = n
		} else {
			panic(fmt.Sprintf("rpc: field %s has a bad maxLength tag %q", f.Name, tag))
		}
		l.email = tag == "email"
	}
	if tag := f.Tag.Get("maxItems"); tag != "" {
		n, err := strconv.Atoi(tag)
		if err != nil || n <= 0 {
			panic(fmt.Sprintf("rpc: field %s has a bad maxItems tag %q", f.Name, tag))
		}
		l.items = n
	}
	return l
}

// isFree reports whether values of t are free-form JSON.
func isFree(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice && t != rawType || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	return t == rawType || t.Kind() == reflect.Interface
}

// embedsStruct reports whether f is an embedded struct whose exported
// fields encoding/json promotes, even when its type is unexported.
func embedsStruct(f reflect.StructField) bool {
	t := f.Type
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return f.Anonymous && t.Kind() == reflect.Struct
}

// structFields caches each request struct's exported fields with what
// the checks of a decoded request read from their tags (checkLimits,
// validate), so that no request parses them again.
var structFields sync.Map // reflect.Type → []requestField

type requestField struct {
	index    int
	name     string // "" for an embedded struct, whose fields are the parent's
	limit    limit
	skip     bool
	embedded bool
	required bool     // tag required:"true"
	enum     []string // tag enum:"A,B"
}

func fieldsOf(t reflect.Type) []requestField {
	if v, ok := structFields.Load(t); ok {
		return v.([]requestField)
	}
	var out []requestField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() && !embedsStruct(f) {
			continue
		}
		rf := requestField{index: i, limit: fieldLimit(f), required: f.Tag.Get("required") == "true"}
		if enum := f.Tag.Get("enum"); enum != "" {
			rf.enum = strings.Split(enum, ",")
		}
		if f.Anonymous && f.Tag.Get("json") == "" {
			rf.embedded = true
		} else {
			rf.name = jsonName(f)
			rf.skip = rf.name == "-"
		}
		out = append(out, rf)
	}
	structFields.Store(t, out)
	return out
}

// checkLimits walks a decoded request and refuses any string that is too
// long or holds a NUL character, and any array that is too long, naming
// the field. It runs before the other validation, so that the error an
// oversized or hostile value gets does not depend on what else the
// request lacks. It reads values without Interface, which fields promoted
// from unexported embedded structs do not allow.
func checkLimits(v reflect.Value, path string, l limit) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return checkLimits(v.Elem(), path, l)
	case reflect.String:
		return checkString(v.String(), path, l)
	case reflect.Slice, reflect.Array:
		if v.Type() == rawType {
			return checkRaw(v.Bytes(), path, l)
		}
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return nil // bytes, not text
		}
		if v.Len() > l.items {
			return ashby.InvalidInput(path, "%s has %d elements; at most %d are allowed", field(path), v.Len(), l.items)
		}
		for i := 0; i < v.Len(); i++ {
			if err := checkLimits(v.Index(i), fmt.Sprintf("%s[%d]", path, i), l); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if v.Len() > l.items {
			return ashby.InvalidInput(path, "%s has %d entries; at most %d are allowed", field(path), v.Len(), l.items)
		}
		iter := v.MapRange()
		for iter.Next() {
			k := iter.Key()
			var p string
			if k.Kind() == reflect.String {
				if err := checkString(k.String(), path, limit{chars: MaxString}); err != nil {
					return keyError(err, path)
				}
				p = k.String()
			} else {
				p = fmt.Sprint(k)
			}
			if path != "" {
				p = path + "." + p
			}
			if err := checkLimits(iter.Value(), p, l); err != nil {
				return err
			}
		}
		return nil
	case reflect.Struct:
	default:
		return nil
	}
	if v.Type() == timeType {
		return nil
	}
	for _, f := range fieldsOf(v.Type()) {
		if f.skip {
			continue
		}
		p := path
		if !f.embedded {
			p = f.name
			if path != "" {
				p = path + "." + f.name
			}
		}
		if err := checkLimits(v.Field(f.index), p, f.limit); err != nil {
			return err
		}
	}
	return nil
}

// checkRaw checks the strings of raw JSON a request keeps as is.
func checkRaw(b []byte, path string, l limit) error {
	if len(b) == 0 {
		return nil
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		return nil // not JSON: the handler reports it with its own message
	}
	return checkLimits(reflect.ValueOf(&x).Elem(), path, l)
}

func checkString(s, path string, l limit) error {
	if strings.IndexByte(s, 0) >= 0 {
		return ashby.InvalidInput(path, "%s contains a NUL character (\\u0000), which is not allowed in any text", field(path))
	}
	if len(s) <= l.chars {
		// Fewer bytes than the limit in characters: no need to count.
	} else if n := utf8.RuneCountInString(s); n > l.chars {
		return ashby.InvalidInput(path, "%s is %d characters long; the limit is %d", field(path), n, l.chars)
	}
	if l.email {
		if at := strings.LastIndexByte(s, '@'); at > MaxEmailLocal {
			return ashby.InvalidInput(path, "%s has a local part (before the @) of %d octets; RFC 5321 allows at most %d", field(path), at, MaxEmailLocal)
		}
	}
	return nil
}

// keyError renames an error about a map key: the key is the problem, so
// the field is the map.
func keyError(err error, mapPath string) error {
	ae, ok := ashby.AsError(err)
	if !ok {
		return err
	}
	msg := ae.Message
	if mapPath == "" {
		mapPath = "body"
	}
	return ashby.InvalidInput(mapPath, "A key of %s is invalid: %s", mapPath, msg)
}

func field(path string) string {
	if path == "" {
		return "The value"
	}
	return path
}

// LengthLimit is the maxLength of a request struct field, for
// /openapi.json and the sweep tests.
func LengthLimit(f reflect.StructField) int { return fieldLimit(f).chars }
