package rpc

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"

	"github.com/ashlarhq/ashlar/ashby"
)

// OpenAPI generates this server's API description (OpenAPI 3.1) from the
// endpoint table: every endpoint's request and result schema, permission
// (x-permission, as in Ashby's own description) and whether it is an
// Ashlar extension (x-ashlar-extension).
func (a *API) OpenAPI(serverURL string) map[string]any {
	g := &schemaGen{defs: map[string]any{}, names: map[reflect.Type]string{}}
	paths := map[string]any{}
	for _, e := range a.Endpoints() {
		paths["/"+e.Name] = map[string]any{"post": g.operation(e)}
	}
	for p, ops := range a.Paths {
		paths[p] = ops
	}
	g.defs["ErrorResponse"] = map[string]any{
		"type":     "object",
		"required": []string{"success", "errors", "errorInfo"},
		"properties": map[string]any{
			"success": map[string]any{"type": "boolean", "const": false},
			"errors":  map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "deprecated": true},
			"errorInfo": map[string]any{
				"type":     "object",
				"required": []string{"code"},
				"properties": map[string]any{
					"code":      map[string]any{"type": "string"},
					"message":   map[string]any{"type": "string"},
					"requestId": map[string]any{"type": "string"},
					"meta":      map[string]any{"type": "object"},
				},
			},
		},
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "Ashlar API",
			"version":     APIVersion,
			"description": "Ashlar speaks Ashby's API wire protocol: POST /category.method with a JSON body and HTTP Basic auth (API key as user name). Operations marked x-ashlar-extension are Ashlar's own additions.",
		},
		"servers":  []any{map[string]any{"url": serverURL}},
		"security": []any{map[string]any{"basicAuth": []string{}}},
		"components": map[string]any{
			"securitySchemes": map[string]any{"basicAuth": map[string]any{"type": "http", "scheme": "basic"}},
			"schemas":         g.defs,
		},
		"paths": paths,
	}
}

var (
	openapiOnce sync.Map // *API → []byte
)

// OpenAPIJSON is OpenAPI rendered once per server URL.
func (a *API) OpenAPIJSON(serverURL string) []byte {
	key := struct {
		a *API
		u string
	}{a, serverURL}
	if b, ok := openapiOnce.Load(key); ok {
		return b.([]byte)
	}
	b, _ := json.MarshalIndent(a.OpenAPI(serverURL), "", "  ")
	openapiOnce.Store(key, b)
	return b
}

func (g *schemaGen) operation(e *Endpoint) map[string]any {
	tag, _, _ := strings.Cut(e.Name, ".")
	var result any = g.schema(e.Result, false)
	if e.Array || e.Paged {
		result = map[string]any{"type": "array", "items": result}
	}
	success := map[string]any{
		"success": map[string]any{"type": "boolean", "const": true},
		"results": result,
		"warnings": map[string]any{"type": "array", "items": map[string]any{"type": "string"},
			"description": "Present when the call succeeded with minor problems."},
	}
	if e.Paged {
		success["moreDataAvailable"] = map[string]any{"type": "boolean"}
		success["nextCursor"] = map[string]any{"type": "string"}
		if e.Sync {
			success["syncToken"] = map[string]any{"type": "string", "description": "Only on the last page."}
		}
	}
	required := []string{"success", "results"}
	if e.Paged {
		required = append(required, "moreDataAvailable")
	}
	errRef := map[string]any{"$ref": "#/components/schemas/ErrorResponse"}
	jsonError := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{"schema": errRef}}}
	}
	reqSchema := g.schema(e.Request, true)
	content := map[string]any{"application/json": map[string]any{"schema": reqSchema}}
	if e.Multipart {
		content["multipart/form-data"] = map[string]any{"schema": map[string]any{"type": "object",
			"description": "The same fields as form parts (objects as JSON strings), plus one part per uploaded file."}}
	}
	op := map[string]any{
		"operationId": strings.ReplaceAll(e.Name, ".", "_"),
		"tags":        []string{tag},
		"summary":     e.Summary,
		"requestBody": map[string]any{"required": false, "content": content},
		"responses": map[string]any{
			"200": map[string]any{
				"description": "Ashby answers HTTP 200 for success and for validation or not-found errors (success:false).",
				"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{
					"oneOf": []any{
						map[string]any{"type": "object", "required": required, "properties": success},
						errRef,
					},
				}}},
			},
			"401": jsonError("No API key."),
			"403": jsonError("Unknown or revoked key, or missing_endpoint_permission."),
			"429": jsonError("Rate limited; see Retry-After."),
		},
	}
	if e.Permission != "" {
		op["x-permission"] = []string{string(e.Permission)}
	}
	if e.Extension {
		op["x-ashlar-extension"] = true
	}
	if e.AliasOf != "" {
		op["deprecated"] = true
		op["description"] = "Deprecated alias of /" + e.AliasOf + "."
	}
	if len(e.Expand) > 0 {
		op["x-expand"] = e.Expand
	}
	return op
}

type schemaGen struct {
	defs  map[string]any
	names map[reflect.Type]string
}

var (
	timeType = reflect.TypeFor[ashby.Time]()
	idType   = reflect.TypeFor[ashby.ID]()
	dateType = reflect.TypeFor[ashby.Date]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

func (g *schemaGen) schema(t reflect.Type, req bool) any {
	switch t {
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case idType:
		return map[string]any{"type": "string", "format": "uuid"}
	case dateType:
		return map[string]any{"type": "string", "format": "date"}
	case rawType:
		return map[string]any{}
	}
	if t.Kind() == reflect.Slice && t.Name() != "" && strings.HasPrefix(t.Name(), "OneOrMany[") {
		item := g.schema(t.Elem(), req)
		return map[string]any{"oneOf": []any{item, map[string]any{"type": "array", "items": item}}}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.schema(t.Elem(), req)
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.schema(t.Elem(), req)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem(), req)}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		return g.object(t, req)
	}
	return map[string]any{}
}

// object returns a $ref to a named component for named structs from the
// wire model, and an inline schema for request structs.
func (g *schemaGen) object(t reflect.Type, req bool) any {
	named := !req && t.Name() != ""
	if named {
		if name, ok := g.names[t]; ok {
			return map[string]any{"$ref": "#/components/schemas/" + name}
		}
		name := t.Name()
		if _, taken := g.defs[name]; taken {
			name = strings.ReplaceAll(t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:]+"_"+name, "[", "_")
		}
		g.names[t] = name
		g.defs[name] = map[string]any{} // placeholder breaks recursion
	}
	props := map[string]any{}
	var required []string
	g.fields(t, props, &required, req)
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	if !named {
		return s
	}
	name := g.names[t]
	g.defs[name] = s
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]string, req bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() && !embedsStruct(f) {
			continue
		}
		if f.Anonymous && f.Tag.Get("json") == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			g.fields(ft, props, required, req)
			continue
		}
		name := jsonName(f)
		if name == "-" {
			continue
		}
		s, _ := g.schema(f.Type, req).(map[string]any)
		if s == nil {
			s = map[string]any{}
		}
		if enum := f.Tag.Get("enum"); enum != "" {
			vals := strings.Split(enum, ",")
			if f.Type.Kind() == reflect.Slice {
				s = map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": vals}}
			} else {
				s = copyMap(s)
				s["enum"] = vals
			}
		}
		if doc := f.Tag.Get("doc"); doc != "" {
			s = copyMap(s)
			s["description"] = doc
		}
		if req {
			s = withLimits(s, fieldLimit(f))
		}
		props[name] = s
		tag := f.Tag.Get("json")
		if f.Tag.Get("required") == "true" || (!req && !strings.Contains(tag, "omitempty") && f.Type.Kind() != reflect.Pointer) {
			*required = append(*required, name)
		}
	}
}

// withLimits publishes a request field's limits (limits.go): maxLength on
// its strings, maxItems on its arrays.
func withLimits(s map[string]any, l limit) map[string]any {
	if one, ok := s["oneOf"].([]any); ok {
		out := copyMap(s)
		alts := make([]any, len(one))
		for i, a := range one {
			if m, ok := a.(map[string]any); ok {
				alts[i] = withLimits(m, l)
			} else {
				alts[i] = a
			}
		}
		out["oneOf"] = alts
		return out
	}
	switch s["type"] {
	case "string":
		if _, ok := s["enum"]; ok {
			return s
		}
		out := copyMap(s)
		if out["format"] != "uuid" && out["format"] != "date-time" && out["format"] != "date" {
			out["maxLength"] = l.chars
		}
		return out
	case "array":
		out := copyMap(s)
		out["maxItems"] = l.items
		if items, ok := s["items"].(map[string]any); ok {
			out["items"] = withLimits(items, l)
		}
		return out
	case "object":
		if ap, ok := s["additionalProperties"].(map[string]any); ok {
			out := copyMap(s)
			out["additionalProperties"] = withLimits(ap, l)
			out["maxProperties"] = l.items
			return out
		}
	}
	return s
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}
