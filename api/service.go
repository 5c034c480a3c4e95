// Package api implements Ashby's API endpoints on Ashlar's store: one file
// per category, each declaring its endpoints in Register's table.
package api

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/email"
	"github.com/ashlarhq/ashlar/files"
	"github.com/ashlarhq/ashlar/partner"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/webhook"
)

// Service is the hiring system behind the API.
type Service struct {
	DB *store.DB
	// BaseURL is the server's public URL, used in links it hands out
	// (profile URLs, file downloads, apply links).
	BaseURL string
	Log     *slog.Logger
	// WebhookAllowPrivate lets webhook settings name private and
	// special-purpose addresses (--webhook-allow-private, --demo); the
	// dispatcher's guard is configured alike.
	WebhookAllowPrivate bool
	// Resolver resolves the hosts of configured URLs when they are saved
	// (nil: the system's resolver).
	Resolver webhook.Resolver
	// Mail records the emails the API sends and hands them to the job
	// queue; it sends nothing until serve configures SMTP (--smtp-url).
	Mail *email.Outbox
	// Files keeps uploaded files (the serve command configures it from
	// its flags); nil: file endpoints answer 503, and anonymizing or
	// deleting has no files to remove.
	Files *files.Store
	// Partners is the client Ashlar calls partners with: by default one
	// with the SSRF guard on (the serve command configures it).
	Partners *partner.Client

	listenMu         sync.Mutex
	postingListeners []func(org string)
	admins           sync.Map // org id → the user id orgAdmin chose
	// keyUsed is when this process last recorded each key's use.
	keyUsed sync.Map
	keys    keyCache
}

// New returns a Service on db.
func New(db *store.DB, baseURL string, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	s := &Service{DB: db, BaseURL: strings.TrimRight(baseURL, "/"), Log: log, Mail: email.NewOutbox(db), Partners: partner.NewClient(partner.ClientConfig{})}
	for _, f := range serviceHooks {
		f(s)
	}
	return s
}

// serviceHooks run on every new Service: features that act on all of its
// writes (the audit log) attach to its database here, so that the server,
// the command line and seeding are covered alike.
var serviceHooks []func(s *Service)

// registrars add endpoints to the table; each category file appends its
// own from an init function, so adding a category touches one file.
var registrars []func(s *Service) []*rpc.Endpoint

func register(f func(s *Service) []*rpc.Endpoint) { registrars = append(registrars, f) }

// API returns the endpoint table of every category.
func (s *Service) API() *rpc.API {
	a := rpc.NewAPI()
	for _, r := range registrars {
		a.Add(r(s)...)
	}
	return a
}

// Authenticate resolves an API key (rpc.Authenticator). Keys found are
// kept in memory, valid while the database's API keys version has not
// moved: every request reads the version afresh (one read shared by
// concurrent requests, see store.DB.APIKeysVersion), and a revocation
// in any process moves it, so a revoked key is refused from the next
// request on.
func (s *Service) Authenticate(ctx context.Context, secret string) (*rpc.Principal, error) {
	ver, err := s.DB.APIKeysVersion(ctx)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(secret))
	p := s.keys.get(sum, ver)
	if p == nil {
		k, err := s.DB.APIKeyBySecret(ctx, secret)
		if errors.Is(err, store.ErrNotFound) || (err == nil && k.RevokedAt != nil) {
			return nil, rpc.ErrUnknownKey
		}
		if err != nil {
			return nil, err
		}
		p = &cachedKey{key: k, principal: rpc.Principal{OrgID: k.OrgID, KeyID: k.ID, KeyTitle: k.Title, KeyCreated: k.CreatedAt, UserID: k.UserID, Permissions: k.Permissions}}
		// Looked up after ver was read: a revocation since then either
		// showed in the lookup or has moved the version.
		s.keys.put(sum, ver, p)
	}
	if err := s.touchKey(ctx, p.key); err != nil {
		s.Log.Warn("record API key use", "key", p.key.ID, "error", err)
	}
	principal := p.principal // each call gets its own copy
	return &principal, nil
}

// keyCache holds the keys found at one API keys version.
type keyCache struct {
	mu   sync.Mutex
	ver  int64
	keys map[[sha256.Size]byte]*cachedKey
}

type cachedKey struct {
	key       *store.APIKey
	principal rpc.Principal
}

// maxCachedKeys bounds the key cache; past it, it starts over.
const maxCachedKeys = 10000

func (c *keyCache) get(sum [sha256.Size]byte, ver int64) *cachedKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ver != ver {
		c.keys, c.ver = nil, ver
	}
	return c.keys[sum]
}

func (c *keyCache) put(sum [sha256.Size]byte, ver int64, k *cachedKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ver != ver {
		return // the version moved while the key was looked up
	}
	if c.keys == nil || len(c.keys) >= maxCachedKeys {
		c.keys = map[[sha256.Size]byte]*cachedKey{}
	}
	c.keys[sum] = k
}

// notFound turns store.ErrNotFound into Ashby's "<what>_not_found".
func notFound(err error, what, message string) error {
	if errors.Is(err, store.ErrNotFound) {
		return ashby.NotFound(what, message)
	}
	return err
}

// mustExist checks that a referenced record exists in the organization.
func mustExist[T any](ctx context.Context, q store.Q, k store.Kind[T], org, id, what, field string) (*T, error) {
	v, err := k.Get(ctx, q, org, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ashby.Errorf(what+"_not_found", "%s %s does not exist (field %s)", strings.ReplaceAll(what, "_", " "), id, field)
	}
	return v, err
}

// mustShare is mustExist for a record whose summary the caller copies
// into the document it writes (an application embeds its job's title):
// the record is read with a share lock, so that its own writer, which
// rewrites the embedding documents, cannot miss this one (see
// store.Kind.GetShared).
func mustShare[T any](ctx context.Context, tx *store.Tx, k store.Kind[T], org, id, what, field string) (*T, error) {
	v, err := k.GetShared(ctx, tx, org, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ashby.Errorf(what+"_not_found", "%s %s does not exist (field %s)", strings.ReplaceAll(what, "_", " "), id, field)
	}
	return v, err
}

// page turns a store page into an RPC page.
func page(p *store.Page) *rpc.Page {
	return &rpc.Page{Raw: p.Docs, JSON: p.JSON, MoreDataAvailable: p.MoreDataAvailable, NextCursor: p.NextCursor, SyncToken: p.SyncToken}
}

// listPage answers a list request with its stored documents as they are
// (nothing expanded or rewritten): the page's JSON is shared with other
// requests for the same page rather than copied per request.
func (s *Service) listPage(ctx context.Context, spec store.ListSpec) (*rpc.Page, error) {
	spec.ReadOnly = true
	p, err := s.DB.List(ctx, spec)
	if err != nil {
		return nil, err
	}
	return page(p), nil
}

// listSpec starts a list request for kind from the paging fields.
func listSpec(c *rpc.Call, kind string, p rpc.SyncParams) store.ListSpec {
	return store.ListSpec{Kind: kind, Endpoint: c.Endpoint.Name, Org: c.Org(), Limit: p.PageLimit(), Cursor: p.Cursor, SyncToken: p.SyncToken}
}

// items wraps values as an unpaged result.
func items[T any](vs []T) *rpc.Page {
	if vs == nil {
		vs = []T{}
	}
	return &rpc.Page{Items: vs}
}

// splice adds "key": value to a JSON object document. Expansions use it
// to extend stored documents without decoding them.
func splice(doc []byte, key string, value []byte) []byte {
	i := len(doc) - 1
	for i > 0 && doc[i] != '}' {
		i--
	}
	out := make([]byte, 0, len(doc)+len(key)+len(value)+4)
	out = append(out, doc[:i]...)
	if i > 1 {
		out = append(out, ',')
	}
	out = append(out, '"')
	out = append(out, key...)
	out = append(out, '"', ':')
	out = append(out, value...)
	return append(out, doc[i:]...)
}

// expander computes one expansion for a batch of documents: the value to
// splice into each (nil to leave a document as is).
type expander func(ctx context.Context, s *Service, org string, docs [][]byte) ([][]byte, error)

// expand applies the requested expansions of an object type to docs in place.
func (s *Service) expand(ctx context.Context, org string, docs [][]byte, requested []string, objectType string) error {
	for _, name := range requested {
		x, ok := expansions[objectType][name]
		if !ok {
			continue
		}
		vals, err := x(ctx, s, org, docs)
		if err != nil {
			return fmt.Errorf("expand %s: %w", name, err)
		}
		for i, v := range vals {
			if v != nil {
				docs[i] = splice(docs[i], name, v)
			}
		}
	}
	return nil
}

// field extracts one top-level string field from each document.
func field(docs [][]byte, name string) []string {
	out := make([]string, len(docs))
	for i, d := range docs {
		var m map[string]json.RawMessage
		if json.Unmarshal(d, &m) != nil {
			continue
		}
		json.Unmarshal(m[name], &out[i])
	}
	return out
}

// now is the service clock at wire precision.
func (s *Service) now() ashby.Time { return ashby.NewTime(s.DB.Now()) }

// write runs fn in a write transaction.
func (s *Service) write(ctx context.Context, fn func(tx *store.Tx) error) error {
	return s.DB.Write(ctx, fn)
}

// emit records a webhook event in tx (see store.Tx.Emit).
func emit(ctx context.Context, tx *store.Tx, org, action string, data any) error {
	_, err := tx.Emit(ctx, org, action, data)
	return err
}

// actingUser is the user a call acts as: the key's user, else the
// organization's first admin. Notes and history record it.
func (s *Service) actingUser(ctx context.Context, q store.Q, c *rpc.Call) (*ashby.User, error) {
	if c.UserID != "" {
		if u, err := Users.Get(ctx, q, c.Org(), c.UserID); err == nil {
			return u, nil
		}
	}
	return s.orgAdmin(ctx, q, c.Org())
}

// orgAdmin is the user that writes by a key without a user are credited
// to: the first Organization Admin, else the first user. The choice is
// remembered per organization and checked on each use (one read by id),
// so that a write does not decode every user of the organization.
func (s *Service) orgAdmin(ctx context.Context, q store.Q, org string) (*ashby.User, error) {
	if id, ok := s.admins.Load(org); ok {
		u, err := Users.Get(ctx, q, org, id.(string))
		if err == nil && u.IsEnabled && u.GlobalRole == "Organization Admin" {
			return u, nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	users, err := Users.Find(ctx, q, org, store.Filter{})
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		if u.GlobalRole == "Organization Admin" {
			s.admins.Store(org, u.ID)
			return u, nil
		}
	}
	if len(users) > 0 {
		return users[0], nil
	}
	return nil, fmt.Errorf("organization %s has no users", org)
}

func contains(s, sub string) bool { return strings.Contains(lc(s), lc(sub)) }

// mustJSON encodes values that always encode (the wire model).
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode %T: %v", v, err))
	}
	return b
}
