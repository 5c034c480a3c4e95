package compat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Validator checks responses against the response schemas of Ashby's
// OpenAPI description.
//
// The description inlines its schemas and points $refs into "paths" (and
// "webhooks"), so the whole document is added as one resource and each
// endpoint's schema is compiled by JSON pointer into it.
type Validator struct {
	// mu guards the compiler and the cache: tests running in parallel
	// share one Validator. Compiled schemas validate concurrently.
	mu      sync.Mutex
	c       *jsonschema.Compiler
	doc     map[string]any
	schemas map[string]*jsonschema.Schema
}

// docURL names the description inside the compiler; it is never fetched.
const docURL = "https://ashby.invalid/openapi.json"

// Exception is a known, deliberate difference between Ashlar and Ashby's
// description. It patches the description's schemas before compiling, so
// that it admits exactly the difference and nothing more. Doc is the
// heading id of the section of docs/compatibility.md that explains it.
type Exception struct {
	ID    string
	Doc   string
	Patch func(node map[string]any)
	// PatchRoot, for an exception about one endpoint, patches the
	// document itself (before the node patches run).
	PatchRoot func(root map[string]any) error
}

// customFieldTypes are the values of the description's custom field
// fieldType response enum (with its duplicate NumberRange).
var customFieldTypes = []any{"MultiValueSelect", "NumberRange", "String", "Date", "ValueSelect", "Number", "Currency", "Boolean", "LongText", "CompensationRange"}

// Exceptions are the differences the validator accepts; each is
// explained in docs/compatibility.md under its Doc id.
var Exceptions = []Exception{
	{
		// webhook.update's results are webhook.create's, which require
		// secretToken; Ashlar returns the secret only when the call set
		// it, never the stored one.
		ID: "webhook-update-secret", Doc: "webhook-update-secret",
		PatchRoot: func(root map[string]any) error {
			path := func(endpoint string) []any {
				return []any{"paths", endpoint, "post", "responses", "200", "content", "application/json", "schema", "oneOf", 0, "allOf", 1, "properties"}
			}
			create, ok := at(root, path("/webhook.create")...).(map[string]any)
			update, ok2 := at(root, path("/webhook.update")...).(map[string]any)
			results, ok3 := create["results"].(map[string]any)
			if !ok || !ok2 || !ok3 {
				return fmt.Errorf("webhook.create or webhook.update has no results schema where expected")
			}
			relaxed := deepCopy(results).(map[string]any)
			req, _ := relaxed["required"].([]any)
			relaxed["required"] = slices.DeleteFunc(slices.Clone(req), func(v any) bool { return v == "secretToken" })
			update["results"] = relaxed
			return nil
		},
	},
	{
		// Ashby's create request accepts Url, UUID and Location fields
		// (and its changelog added Location), but its response enum
		// lists neither: a field created with them reads back with them.
		ID: "custom-field-types", Doc: "custom-field-types",
		Patch: func(n map[string]any) {
			enum, ok := n["enum"].([]any)
			if !ok || !sameSet(enum, customFieldTypes) {
				return
			}
			n["enum"] = append(enum, "Url", "UUID", "Location")
		},
	},
	{
		// Some fields are typed ["string", "null"] with an enum that
		// lists only strings (an event interviewer's trainingRole, which
		// is required and null for anyone not in training). Under JSON
		// Schema the enum refuses null, so the null the type allows (and
		// Ashby sends) could never pass; the enum is read as allowing it.
		ID: "nullable-enum", Doc: "nullable-enum",
		Patch: func(n map[string]any) {
			types, ok := n["type"].([]any)
			enum, hasEnum := n["enum"].([]any)
			if ok && hasEnum && slices.Contains(types, any("null")) && !slices.Contains(enum, nil) {
				n["enum"] = append(enum, nil)
			}
		},
	},
	{
		// The description writes alternatives that overlap (a string is
		// both "String" and "LongText" and "ValueSelect") under oneOf,
		// which JSON Schema fails when more than one matches. Ashby's own
		// responses could never satisfy it, so oneOf is read as anyOf.
		ID: "one-of-overlap", Doc: "one-of-overlap",
		Patch: func(n map[string]any) {
			if v, ok := n["oneOf"]; ok {
				if _, both := n["anyOf"]; both {
					panic("compat: a schema with both oneOf and anyOf")
				}
				delete(n, "oneOf")
				n["anyOf"] = v
			}
			// $refs point into the description by path, through oneOf.
			if ref, ok := n["$ref"].(string); ok {
				n["$ref"] = strings.ReplaceAll(ref, "/oneOf/", "/anyOf/")
			}
		},
	},
}

func sameSet(a, b []any) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			return false
		}
	}
	return true
}

// NewValidator parses an OpenAPI document and applies the exceptions.
func NewValidator(openapi []byte) (*Validator, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(openapi))
	if err != nil {
		return nil, fmt.Errorf("parse OpenAPI document: %w", err)
	}
	root, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("OpenAPI document is not an object")
	}
	for _, ex := range Exceptions {
		if ex.PatchRoot != nil {
			if err := ex.PatchRoot(root); err != nil {
				return nil, fmt.Errorf("exception %s: %w", ex.ID, err)
			}
		}
	}
	for _, ex := range Exceptions {
		if ex.Patch != nil {
			walk(root, ex.Patch)
		}
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(docURL, root); err != nil {
		return nil, fmt.Errorf("load OpenAPI document: %w", err)
	}
	return &Validator{c: c, doc: root, schemas: map[string]*jsonschema.Schema{}}, nil
}

// at follows keys (strings for objects, ints for arrays) from v.
func at(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// walk calls fn on every object in the document.
func walk(v any, fn func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		fn(x)
		for _, c := range x {
			walk(c, fn)
		}
	case []any:
		for _, c := range x {
			walk(c, fn)
		}
	}
}

// HasResponseSchema reports whether the description gives endpoint a
// JSON response schema (assessment.update's, for one, is empty).
func (v *Validator) HasResponseSchema(endpoint string) bool {
	_, ok := v.pointer(endpoint)
	return ok
}

func (v *Validator) pointer(endpoint string) (string, bool) {
	paths, _ := v.doc["paths"].(map[string]any)
	op, _ := paths["/"+endpoint].(map[string]any)
	post, _ := op["post"].(map[string]any)
	res, _ := post["responses"].(map[string]any)
	ok200, _ := res["200"].(map[string]any)
	content, _ := ok200["content"].(map[string]any)
	js, _ := content["application/json"].(map[string]any)
	if _, ok := js["schema"]; !ok {
		return "", false
	}
	return "#/paths/" + escape("/"+endpoint) + "/post/responses/200/content/application~1json/schema", true
}

func escape(s string) string { return strings.NewReplacer("~", "~0", "/", "~1").Replace(s) }

// Validate checks a response body (the whole envelope) of endpoint.
func (v *Validator) Validate(endpoint string, body []byte) error {
	s, err := v.schema(endpoint)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("response is not JSON: %w", err)
	}
	if err := s.Validate(inst); err != nil {
		return &SchemaError{Endpoint: endpoint, Err: err}
	}
	return nil
}

func (v *Validator) schema(endpoint string) (*jsonschema.Schema, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if s, ok := v.schemas[endpoint]; ok {
		return s, nil
	}
	ptr, ok := v.pointer(endpoint)
	if !ok {
		return nil, fmt.Errorf("%s: the description has no JSON response schema", endpoint)
	}
	s, err := v.c.Compile(docURL + ptr)
	if err != nil {
		return nil, fmt.Errorf("compile %s response schema: %w", endpoint, err)
	}
	v.schemas[endpoint] = s
	return s, nil
}

// SchemaError is a response that breaks the description.
type SchemaError struct {
	Endpoint string
	Err      error
}

func (e *SchemaError) Error() string {
	var ve *jsonschema.ValidationError
	if ok := asValidation(e.Err, &ve); ok {
		return fmt.Sprintf("%s response does not match Ashby's schema:\n%s", e.Endpoint, summarize(ve.BasicOutput()))
	}
	return fmt.Sprintf("%s response does not match Ashby's schema: %v", e.Endpoint, e.Err)
}

func asValidation(err error, out **jsonschema.ValidationError) bool {
	ve, ok := err.(*jsonschema.ValidationError)
	if ok {
		*out = ve
	}
	return ok
}

// summarize lists the leaf errors of a basic output, one per line,
// shortest schema path first, which is usually the real cause.
func summarize(o *jsonschema.OutputUnit) string {
	var lines []string
	seen := map[string]bool{}
	for _, u := range o.Errors {
		if u.Error == nil {
			continue
		}
		b, _ := json.Marshal(u.Error)
		msg := strings.Trim(string(b), `"`)
		line := fmt.Sprintf("  at %s: %s (schema %s)", orRoot(u.InstanceLocation), msg, u.KeywordLocation)
		if !seen[line] {
			seen[line] = true
			lines = append(lines, line)
		}
	}
	if len(lines) > 20 {
		lines = append(lines[:20], fmt.Sprintf("  … and %d more", len(lines)-20))
	}
	return strings.Join(lines, "\n")
}

func orRoot(s string) string {
	if s == "" {
		return "/"
	}
	return s
}
