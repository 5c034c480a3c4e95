package api

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
)

// leaf is one string a request can carry: its path as an error names it,
// its limit, and how to build a request holding a value there.
type leaf struct {
	path   string
	limit  int
	custom bool // its type decodes itself (errors come from its decoder)
	free   bool // inside a free-form value (any, raw JSON)
	build  func(v any) any
}

var (
	idType     = reflect.TypeFor[ashby.ID]()
	timeType   = reflect.TypeFor[ashby.Time]()
	rawMsgType = reflect.TypeFor[json.RawMessage]()
	unmarsh    = reflect.TypeFor[json.Unmarshaler]()
)

// leaves lists every string path of a request type.
func leaves(t reflect.Type, path string, limit int, seen map[reflect.Type]bool) []leaf {
	custom := reflect.PointerTo(t).Implements(unmarsh) && t != rawMsgType
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	self := func(v any) any { return v }
	switch {
	case t == idType || t == timeType:
		return nil // UUIDs and times are checked by their own format
	case t == rawMsgType || t.Kind() == reflect.Interface:
		return []leaf{{path: path, limit: rpc.MaxLongText, free: true, build: self}}
	}
	switch t.Kind() {
	case reflect.String:
		return []leaf{{path: path, limit: limit, custom: custom, build: self}}
	case reflect.Slice, reflect.Array:
		var out []leaf
		for _, l := range leaves(t.Elem(), path+"[0]", limit, seen) {
			b := l.build
			l.build = func(v any) any { return []any{b(v)} }
			out = append(out, l)
		}
		return out
	case reflect.Map:
		var out []leaf
		for _, l := range leaves(t.Elem(), path+".k", limit, seen) {
			b := l.build
			l.build = func(v any) any { return map[string]any{"k": b(v)} }
			out = append(out, l)
		}
		return out
	case reflect.Struct:
	default:
		return nil
	}
	if seen[t] {
		return nil
	}
	seen[t] = true
	defer delete(seen, t)
	var out []leaf
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() && !f.Anonymous {
			continue // an unexported embedded struct's fields are promoted
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			out = append(out, leaves(f.Type, path, limit, seen)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		p := name
		if path != "" {
			p = path + "." + name
		}
		for _, l := range leaves(f.Type, p, rpc.LengthLimit(f), seen) {
			b, key := l.build, name
			l.build = func(v any) any { return map[string]any{key: b(v)} }
			out = append(out, l)
		}
	}
	return out
}

// Every string of every endpoint's request, however deeply nested, is
// refused with invalid_input naming it when it is one character over its
// limit or holds a NUL; and the limit is what /openapi.json publishes.
func TestEveryRequestStringIsLimited(t *testing.T) {
	svc := New(nil, "http://ashlar.test", nil)
	table := svc.API()
	call := &rpc.Call{Principal: &rpc.Principal{OrgID: ashby.NewID(), Permissions: ashby.AllPermissions}, RequestID: "test"}
	var doc map[string]any
	if err := json.Unmarshal(table.OpenAPIJSON("http://x"), &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range table.Endpoints() {
		props := doc["paths"].(map[string]any)["/"+e.Name].(map[string]any)["post"].(map[string]any)["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"]
		for _, l := range leaves(e.Request, "", rpc.MaxString, map[reflect.Type]bool{}) {
			n++
			for _, v := range []string{strings.Repeat("x", l.limit+1), "a\x00b"} {
				what := "over-long"
				if len(v) == 3 {
					what = "NUL"
				}
				body := l.build(v)
				ae := invokeError(t, table, call, e.Name, body)
				if ae == nil {
					t.Errorf("%s: a %s %s was accepted", e.Name, what, l.path)
					continue
				}
				field, _ := ae.Meta["field"].(string)
				if ae.Code != ashby.CodeInvalidInput || field != l.path {
					t.Errorf("%s: a %s %s: %s (field %q): %s", e.Name, what, l.path, ae.Code, field, ae.Message)
					continue
				}
				if !l.custom && !strings.Contains(ae.Message, map[string]string{"NUL": "NUL", "over-long": fmt.Sprint(l.limit)}[what]) {
					t.Errorf("%s: a %s %s: the message does not say why: %s", e.Name, what, l.path, ae.Message)
				}
			}
			if l.limit != rpc.MaxLongText { // free-form values have no schema to carry it
				if got := schemaAt(props, l.path); got != float64(l.limit) && got != "enum" {
					t.Errorf("%s: /openapi.json gives %s maxLength %v, want %d", e.Name, l.path, got, l.limit)
				}
			}
		}
	}
	t.Logf("%d request strings checked", n)
	if n < 400 {
		t.Fatalf("only %d request strings found: the walk is broken", n)
	}
}

// invokeError calls an endpoint in-process with body and returns its
// error; the handler never runs (it would need a database) when decoding
// refuses the request.
func invokeError(t *testing.T, table *rpc.API, call *rpc.Call, name string, body any) (ae *ashby.Error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			ae = nil // the handler ran: decoding accepted the request
		}
	}()
	_, err := table.Invoke(context.Background(), call, name, body)
	if err == nil {
		return nil
	}
	got, ok := ashby.AsError(err)
	if !ok {
		return &ashby.Error{Code: "not an API error", Message: err.Error()}
	}
	return got
}

// schemaAt finds the maxLength /openapi.json gives the string at path
// ("enum" for an enum).
func schemaAt(schema any, path string) any {
	s, _ := schema.(map[string]any)
	for _, seg := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(seg, "[")
		if name == "k" && s["additionalProperties"] != nil {
			s, _ = s["additionalProperties"].(map[string]any)
		} else {
			props, _ := s["properties"].(map[string]any)
			s, _ = props[name].(map[string]any)
		}
		for ; rest != ""; rest = strings.TrimPrefix(rest, "0]") {
			if alts, ok := s["oneOf"].([]any); ok {
				s, _ = alts[len(alts)-1].(map[string]any) // the array form
			}
			s, _ = s["items"].(map[string]any)
			if strings.HasPrefix(rest, "0][") {
				rest = rest[2:]
			}
		}
	}
	if alts, ok := s["oneOf"].([]any); ok {
		s, _ = alts[0].(map[string]any)
	}
	if s["enum"] != nil {
		return "enum" // the allowed values bound it
	}
	return s["maxLength"]
}

// docs/limits.md lists every request field whose limit is not the
// default, generated from the endpoint table; run the test with
// ASHLAR_UPDATE_DOCS=1 to rewrite the list after changing a limit.
func TestLimitsDocIsCurrent(t *testing.T) {
	const begin, end = "<!-- begin generated field limits -->\n", "<!-- end generated field limits -->\n"
	var b strings.Builder
	b.WriteString("| endpoint | field | limit (characters) |\n| --- | --- | --- |\n")
	table := New(nil, "http://ashlar.test", nil).API()
	for _, e := range table.Endpoints() {
		if e.AliasOf != "" {
			continue
		}
		for _, l := range leaves(e.Request, "", rpc.MaxString, map[reflect.Type]bool{}) {
			if l.limit == rpc.MaxString {
				continue
			}
			limit := fmt.Sprint(l.limit)
			switch {
			case l.limit == rpc.MaxEmail:
				limit += " (email: 64 before the @)"
			case l.limit == rpc.MaxLongText && l.free:
				limit += " per string (free-form value)"
			}
			fmt.Fprintf(&b, "| `%s` | `%s` | %s |\n", e.Name, strings.ReplaceAll(l.path, "[0]", "[]"), limit)
		}
	}
	path := "../docs/limits.md"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i, j := strings.Index(string(doc), begin), strings.Index(string(doc), end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the generated section markers", path)
	}
	want := string(doc[:i+len(begin)]) + b.String() + string(doc[j:])
	if want == string(doc) {
		return
	}
	if os.Getenv("ASHLAR_UPDATE_DOCS") != "" {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("%s is out of date with the request structs: run go test ./api -run TestLimitsDocIsCurrent with ASHLAR_UPDATE_DOCS=1", path)
}
