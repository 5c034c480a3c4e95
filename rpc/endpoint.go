// Package rpc is Ashby's RPC transport: POST /{category.method} with a JSON
// body, HTTP Basic auth with the API key as user name, and the
// success/results/errors envelope.
//
// Each endpoint is declared once, with its name, permission, request and
// result types and handler. That declaration is the only source for
// routing, the permission check, request validation, GET /openapi.json and
// the tests that sweep every endpoint.
package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"

	"github.com/ashlarhq/ashlar/ashby"
)

// Endpoint is one declared RPC method.
type Endpoint struct {
	Name       string
	Permission ashby.Permission
	Summary    string
	// Extension marks endpoints Ashby does not have (Ashby configures those
	// things in its web app); they are flagged in /openapi.json.
	Extension bool
	// AliasOf names the canonical endpoint of a deprecated alias
	// (application.change_stage → application.changeStage).
	AliasOf string
	// Expand lists the accepted values of the request's expand field.
	Expand []string
	// Paged results are lists: they carry moreDataAvailable (and take
	// cursor/limit when the request embeds ListParams). Sync lists take
	// syncToken too.
	Paged, Sync bool
	// Multipart endpoints also accept multipart/form-data bodies.
	Multipart bool
	// Unpaged array results (searches) have no moreDataAvailable.
	Array bool
	// MaxBody overrides the request body limit.
	MaxBody int64
	// SecretResult marks results holding a secret shown once (a new API
	// key): an Idempotency-Key retry is not given it again, since that
	// would mean keeping the secret.
	SecretResult bool

	Request reflect.Type // request body struct
	Result  reflect.Type // results type (the element type for lists)

	call func(ctx context.Context, c *Call, body []byte) (any, error)
	// multipart, when set, handles multipart/form-data requests.
	multipart func(ctx context.Context, c *Call, r *http.Request) (any, error)
}

// Spec is the declaration part of an endpoint, shared by the constructors.
type Spec struct {
	Name       string
	Permission ashby.Permission
	Summary    string
	Extension  bool
	Expand     []string
	MaxBody    int64
	// SecretResult: see Endpoint.SecretResult.
	SecretResult bool
}

func (s Spec) endpoint(req, res reflect.Type) *Endpoint {
	return &Endpoint{Name: s.Name, Permission: s.Permission, Summary: s.Summary, Extension: s.Extension,
		Expand: s.Expand, MaxBody: s.MaxBody, SecretResult: s.SecretResult, Request: req, Result: res}
}

// Result is a handler's single-object result: either a value or stored
// JSON. Its type parameter documents the shape.
type Result[T any] struct {
	v   *T
	raw json.RawMessage
}

// Value wraps a result value.
func Value[T any](v *T) Result[T] { return Result[T]{v: v} }

// Raw wraps stored JSON that has T's shape.
func Raw[T any](b []byte) Result[T] { return Result[T]{raw: b} }

func (r Result[T]) payload() any {
	if r.raw != nil {
		return r.raw
	}
	return r.v
}

// Object declares an endpoint whose results is one object.
func Object[Req, Res any](s Spec, h func(context.Context, *Call, *Req) (Result[Res], error)) *Endpoint {
	e := s.endpoint(reflect.TypeFor[Req](), reflect.TypeFor[Res]())
	e.call = func(ctx context.Context, c *Call, body []byte) (any, error) {
		req, err := decode[Req](body, e)
		if err != nil {
			return nil, err
		}
		res, err := h(ctx, c, req)
		if err != nil {
			return nil, err
		}
		return res.payload(), nil
	}
	return e
}

// Page is a list handler's result.
type Page struct {
	// Raw holds stored JSON documents, JSON the same as one JSON array
	// (written as is, never modified), Items holds values. One is set.
	Raw               [][]byte
	JSON              []byte
	Items             any
	MoreDataAvailable bool
	NextCursor        string
	SyncToken         string
}

// ListParams are the paging fields of list requests; embed them.
type ListParams struct {
	Cursor string `json:"cursor,omitempty" doc:"Opaque cursor from a previous page's nextCursor."`
	Limit  *int   `json:"limit,omitempty" doc:"Page size, 1–100 (default 100)."`
}

// SyncParams are the paging and sync fields of sync-capable lists.
type SyncParams struct {
	ListParams
	SyncToken string `json:"syncToken,omitempty" doc:"Token from the last page of a previous sync; returns only records changed since."`
}

// PageLimit is the requested page size, defaulting to and capped at 100.
func (p ListParams) PageLimit() int {
	if p.Limit == nil || *p.Limit <= 0 || *p.Limit > 100 {
		return 100
	}
	return *p.Limit
}

var syncParamsType = reflect.TypeFor[SyncParams]()

// List declares a list endpoint: its results carry moreDataAvailable.
// It takes cursor/limit when Req embeds ListParams, and is sync-capable
// when Req embeds SyncParams.
func List[Item, Req any](s Spec, h func(context.Context, *Call, *Req) (*Page, error)) *Endpoint {
	e := Array[Item, Req](s, h)
	e.Array = false
	e.Paged = true
	e.Sync = embeds(e.Request, syncParamsType)
	return e
}

// Array declares an endpoint whose results is an unpaged array.
func Array[Item, Req any](s Spec, h func(context.Context, *Call, *Req) (*Page, error)) *Endpoint {
	e := s.endpoint(reflect.TypeFor[Req](), reflect.TypeFor[Item]())
	e.Array = true
	e.call = func(ctx context.Context, c *Call, body []byte) (any, error) {
		req, err := decode[Req](body, e)
		if err != nil {
			return nil, err
		}
		return h(ctx, c, req)
	}
	return e
}

// WithMultipart adds a multipart/form-data handler to e.
func (e *Endpoint) WithMultipart(h func(ctx context.Context, c *Call, r *http.Request) (any, error)) *Endpoint {
	e.Multipart = true
	e.multipart = h
	return e
}

// Alias returns a deprecated alias of e under another name.
func (e *Endpoint) Alias(name string) *Endpoint {
	a := *e
	a.Name = name
	a.AliasOf = e.Name
	return &a
}

func embeds(t, want reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return false
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && (f.Type == want || embeds(f.Type, want)) {
			return true
		}
	}
	return false
}

// API is the endpoint table.
type API struct {
	byName map[string]*Endpoint
	// Paths are extra, non-RPC operations documented in /openapi.json
	// (the public posting API, file downloads …): path → method → operation.
	Paths map[string]map[string]any
}

// NewAPI returns an empty table.
func NewAPI() *API {
	return &API{byName: map[string]*Endpoint{}, Paths: map[string]map[string]any{}}
}

// Add registers endpoints. A name declared twice is a programming error.
func (a *API) Add(es ...*Endpoint) {
	for _, e := range es {
		if _, dup := a.byName[e.Name]; dup {
			panic(fmt.Sprintf("rpc: endpoint %s declared twice", e.Name))
		}
		if e.Permission != "" && !e.Permission.Valid() {
			panic(fmt.Sprintf("rpc: endpoint %s has unknown permission %q", e.Name, e.Permission))
		}
		if e.call == nil {
			panic(fmt.Sprintf("rpc: endpoint %s has no handler", e.Name))
		}
		a.byName[e.Name] = e
	}
}

// Endpoint looks an endpoint up by name.
func (a *API) Endpoint(name string) (*Endpoint, bool) {
	e, ok := a.byName[name]
	return e, ok
}

// Endpoints returns every endpoint sorted by name.
func (a *API) Endpoints() []*Endpoint {
	out := make([]*Endpoint, 0, len(a.byName))
	for _, e := range a.byName {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Invoke calls an endpoint in-process, as the principal in c, skipping
// HTTP but not validation. Seeding, the careers site and the web app use
// it so that they go through exactly the code API clients do.
func (a *API) Invoke(ctx context.Context, c *Call, name string, req any) (json.RawMessage, error) {
	raw, _, err := a.InvokeWithWarnings(ctx, c, name, req)
	return raw, err
}

// InvokeWithWarnings is Invoke that also returns the response's warnings
// (a partial success: an email recorded but not sent …). c itself is not
// written to, so one Call may serve concurrent invocations.
func (a *API) InvokeWithWarnings(ctx context.Context, c *Call, name string, req any) (json.RawMessage, []string, error) {
	res, warnings, err := a.invoke(ctx, c, name, req)
	if err != nil {
		return nil, nil, err
	}
	if p, ok := res.(*Page); ok {
		var buf bytes.Buffer
		if err := writePage(&buf, p, true); err != nil {
			return nil, nil, err
		}
		return buf.Bytes(), warnings, nil
	}
	if raw, ok := res.(json.RawMessage); ok {
		return raw, warnings, nil
	}
	raw, err := json.Marshal(res)
	return raw, warnings, err
}

// InvokeList is Invoke for a list endpoint: it returns the page's items
// (a JSON array) and the cursor of the next page ("" on the last), for
// callers that page (the web app's tables).
func (a *API) InvokeList(ctx context.Context, c *Call, name string, req any) (json.RawMessage, string, error) {
	res, _, err := a.invoke(ctx, c, name, req)
	if err != nil {
		return nil, "", err
	}
	p, ok := res.(*Page)
	if !ok {
		return nil, "", fmt.Errorf("rpc: %s is not a list", name)
	}
	var buf bytes.Buffer
	if err := writePage(&buf, p, true); err != nil {
		return nil, "", err
	}
	next := ""
	if p.MoreDataAvailable {
		next = p.NextCursor
	}
	return buf.Bytes(), next, nil
}

func (a *API) invoke(ctx context.Context, c *Call, name string, req any) (any, []string, error) {
	e, ok := a.byName[name]
	if !ok {
		return nil, nil, fmt.Errorf("rpc: no endpoint %s", name)
	}
	if e.Permission != "" && !c.Has(e.Permission) {
		return nil, nil, &ashby.Error{Code: ashby.CodeMissingEndpointPermission, Status: http.StatusForbidden, Message: "missing " + string(e.Permission)}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, nil, fmt.Errorf("encode %s request: %w", name, err)
	}
	c2 := *c
	c2.Endpoint = e
	c2.warnings = nil
	res, err := e.call(WithCall(ctx, &c2), &c2, body)
	return res, c2.warnings, err
}
