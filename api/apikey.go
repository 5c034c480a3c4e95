package api

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // organization.update checks time zones on any host

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/audit"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// API keys and the organization's own settings: Ashby manages both in its
// web app, so these endpoints are Ashlar extensions. The admin console
// calls them like any client, so that its changes are validated,
// permission-checked and audited exactly as API calls are.

//go:embed apikey_migrations/*.sql
var apiKeyMigrations embed.FS

func init() {
	store.RegisterMigrations(apiKeyMigrations, "apikey_migrations")
	register((*Service).apiKeyEndpoints)
}

func (s *Service) apiKeyEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "apiKey.create", Permission: ashby.APIKeysWrite, Extension: true, SecretResult: true,
			Summary: "Create an API key; its secret is in this response only (Ashby does this in its web app). A key cannot be given permissions its creator lacks."}, s.apiKeyCreate),
		rpc.Array[ashby.APIKey](rpc.Spec{Name: "apiKey.list", Permission: ashby.APIKeysRead, Extension: true,
			Summary: "List the organization's API keys with their creation and last use (Ashby does this in its web app)."}, s.apiKeyList),
		rpc.Object(rpc.Spec{Name: "apiKey.revoke", Permission: ashby.APIKeysWrite, Extension: true,
			Summary: "Revoke an API key; requests made with it are refused from then on (Ashby does this in its web app)."}, s.apiKeyRevoke),
		rpc.Object(rpc.Spec{Name: "organization.info", Permission: ashby.OrganizationRead, Extension: true,
			Summary: "The organization's name and settings."}, s.organizationInfo),
		rpc.Object(rpc.Spec{Name: "organization.update", Permission: ashby.OrganizationWrite, Extension: true,
			Summary: "Rename the organization or set its time zone (Ashby does this in its web app)."}, s.organizationUpdate),
	}
}

func keyView(k *store.APIKey, lastUsed *time.Time) *ashby.APIKey {
	v := &ashby.APIKey{ID: k.ID, Title: k.Title, UserID: k.UserID, CreatedAt: ashby.NewTime(k.CreatedAt),
		Permissions: make([]string, len(k.Permissions)), Scopes: make([]string, len(k.Permissions))}
	for i, p := range k.Permissions {
		v.Permissions[i], v.Scopes[i] = string(p), p.Scope()
	}
	if k.RevokedAt != nil {
		t := ashby.NewTime(*k.RevokedAt)
		v.RevokedAt = &t
	}
	if lastUsed != nil {
		t := ashby.NewTime(*lastUsed)
		v.LastUsedAt = &t
	}
	return v
}

type apiKeyCreateRequest struct {
	Title       string   `json:"title" required:"true" doc:"What the key is for, shown by apiKey.info."`
	Permissions []string `json:"permissions" required:"true" doc:"Permission names (candidatesRead) or scopes (candidates:read)."`
	UserID      ashby.ID `json:"userId,omitempty" doc:"The user the key acts as (notes it writes are theirs); default the organization's first admin."`
}

func (s *Service) apiKeyCreate(ctx context.Context, c *rpc.Call, req *apiKeyCreateRequest) (rpc.Result[ashby.APIKey], error) {
	title := strings.TrimSpace(req.Title)
	if title == "" || len(title) > 200 {
		return rpc.Result[ashby.APIKey]{}, ashby.InvalidInput("title", "Give the key a title of 1 to 200 characters")
	}
	if len(req.Permissions) == 0 {
		return rpc.Result[ashby.APIKey]{}, ashby.InvalidInput("permissions", "Choose at least one permission")
	}
	perms, err := ashby.ParsePermissions(strings.Join(req.Permissions, ","))
	if err != nil {
		return rpc.Result[ashby.APIKey]{}, ashby.InvalidInput("permissions", "%s", err.Error())
	}
	for _, p := range perms {
		if !c.Has(p) {
			return rpc.Result[ashby.APIKey]{}, ashby.InvalidInput("permissions", "A key cannot be given the %s permission, which its creator does not hold", p)
		}
	}
	slices.SortFunc(perms, func(a, b ashby.Permission) int {
		return slices.Index(ashby.AllPermissions, a) - slices.Index(ashby.AllPermissions, b)
	})
	var k *store.APIKey
	var secret string
	err = s.write(ctx, func(tx *store.Tx) error {
		if req.UserID != "" {
			if _, err := mustExist(ctx, tx, Users, c.Org(), string(req.UserID), "user", "userId"); err != nil {
				return err
			}
		}
		var err error
		if k, secret, err = tx.CreateAPIKey(ctx, c.Org(), title, perms, string(req.UserID)); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Change{Org: c.Org(), Kind: "api_key", ID: k.ID, Name: k.Title, Action: audit.ActionCreated})
	})
	if err != nil {
		return rpc.Result[ashby.APIKey]{}, err
	}
	v := keyView(k, nil)
	v.Secret = secret
	return rpc.Value(v), nil
}

type apiKeyListRequest struct {
	IncludeRevoked bool `json:"includeRevoked,omitempty"`
}

func (s *Service) apiKeyList(ctx context.Context, c *rpc.Call, req *apiKeyListRequest) (*rpc.Page, error) {
	keys, err := s.DB.APIKeys(ctx, c.Org())
	if err != nil {
		return nil, err
	}
	used, err := s.keyUse(ctx, c.Org())
	if err != nil {
		return nil, err
	}
	out := []*ashby.APIKey{}
	for i := len(keys) - 1; i >= 0; i-- { // newest first
		if k := keys[i]; k.RevokedAt == nil || req.IncludeRevoked {
			var last *time.Time
			if t, ok := used[k.ID]; ok {
				last = &t
			}
			out = append(out, keyView(k, last))
		}
	}
	return items(out), nil
}

type apiKeyRevokeRequest struct {
	APIKeyID ashby.ID `json:"apiKeyId" required:"true"`
}

func (s *Service) apiKeyRevoke(ctx context.Context, c *rpc.Call, req *apiKeyRevokeRequest) (rpc.Result[ashby.APIKey], error) {
	var view *ashby.APIKey
	err := s.write(ctx, func(tx *store.Tx) error {
		if err := tx.RevokeAPIKey(ctx, c.Org(), string(req.APIKeyID)); err != nil {
			return notFound(err, "api_key", "No active API key with this id")
		}
		keys, err := tx.DB().APIKeys(ctx, c.Org())
		if err != nil {
			return err
		}
		var k *store.APIKey
		for _, kk := range keys {
			if kk.ID == string(req.APIKeyID) {
				k = kk
			}
		}
		if k == nil {
			return errors.New("revoked key vanished")
		}
		now := ashby.NewTime(s.DB.Now())
		k.RevokedAt = &now.Time
		view = keyView(k, nil)
		to, _ := now.MarshalJSON()
		return audit.Record(ctx, tx, audit.Change{Org: c.Org(), Kind: "api_key", ID: k.ID, Name: k.Title, Action: audit.ActionUpdated,
			Changed: map[string]ashby.AuditChange{"revokedAt": {From: []byte("null"), To: to}}})
	})
	if err != nil {
		return rpc.Result[ashby.APIKey]{}, err
	}
	return rpc.Value(view), nil
}

// keyUse reads when each of the organization's keys was last used.
func (s *Service) keyUse(ctx context.Context, org string) (map[string]time.Time, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT key_id, last_used_at FROM api_key_use WHERE org_id = $1`, org)
	if err != nil {
		return nil, fmt.Errorf("read API key use: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var at int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, err
		}
		out[id] = time.UnixMilli(at).UTC()
	}
	return out, rows.Err()
}

// keyUseEvery bounds how often a key's last use is written.
const keyUseEvery = time.Minute

// touchKey records that a key authenticated a request, at most once a
// minute per key in this process.
func (s *Service) touchKey(ctx context.Context, k *store.APIKey) error {
	now := s.DB.Now()
	if last, ok := s.keyUsed.Load(k.ID); ok && now.Sub(last.(time.Time)) < keyUseEvery {
		return nil
	}
	s.keyUsed.Store(k.ID, now)
	return s.DB.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO api_key_use (key_id, org_id, last_used_at) VALUES ($1, $2, $3)
			ON CONFLICT (key_id) DO UPDATE SET last_used_at = excluded.last_used_at`, k.ID, k.OrgID, store.Millis(now))
		return err
	})
}

// The organization's settings kept in orgs.settings.
type orgSettings struct {
	Timezone string `json:"timezone,omitempty"`
	// ConfirmationTemplateID is the organization's default application
	// confirmation (docs/email.md).
	ConfirmationTemplateID string `json:"applicationConfirmationEmailTemplateId,omitempty"`
}

// OrgTimezone is the organization's time zone (UTC when unset).
func (s *Service) OrgTimezone(ctx context.Context, org string) *time.Location {
	var st orgSettings
	if err := s.DB.OrgSettings(ctx, s.DB, org, &st); err == nil && st.Timezone != "" {
		if loc, err := time.LoadLocation(st.Timezone); err == nil {
			return loc
		}
	}
	return time.UTC
}

func (s *Service) organizationInfo(ctx context.Context, c *rpc.Call, _ *emptyRequest) (rpc.Result[ashby.Organization], error) {
	o, err := s.DB.OrgByID(ctx, c.Org())
	if err != nil {
		return rpc.Result[ashby.Organization]{}, err
	}
	var st orgSettings
	if err := s.DB.OrgSettings(ctx, s.DB, c.Org(), &st); err != nil {
		return rpc.Result[ashby.Organization]{}, err
	}
	if st.Timezone == "" {
		st.Timezone = "UTC"
	}
	return rpc.Value(&ashby.Organization{ID: o.ID, Slug: o.Slug, Name: o.Name, Timezone: st.Timezone, CreatedAt: ashby.NewTime(o.CreatedAt),
		ApplicationConfirmationEmailTemplateID: st.ConfirmationTemplateID}), nil
}

type organizationUpdateRequest struct {
	Name     *string `json:"name,omitempty"`
	Timezone *string `json:"timezone,omitempty" doc:"An IANA time zone name, e.g. Europe/Berlin."`
	// ApplicationConfirmationEmailTemplateID sets the default confirmation.
	ApplicationConfirmationEmailTemplateID *string `json:"applicationConfirmationEmailTemplateId,omitempty" doc:"The communication template confirming applications whose posting names none (\"\": Ashlar's own text)."`
}

func (s *Service) organizationUpdate(ctx context.Context, c *rpc.Call, req *organizationUpdateRequest) (rpc.Result[ashby.Organization], error) {
	if req.Name != nil {
		if n := strings.TrimSpace(*req.Name); n == "" || len(n) > 200 {
			return rpc.Result[ashby.Organization]{}, ashby.InvalidInput("name", "Give the organization a name of 1 to 200 characters")
		}
	}
	if req.Timezone != nil {
		if _, err := time.LoadLocation(*req.Timezone); err != nil || *req.Timezone == "" || *req.Timezone == "Local" {
			return rpc.Result[ashby.Organization]{}, ashby.InvalidInput("timezone", "Unknown time zone %q: use an IANA name such as Europe/Berlin or America/New_York", *req.Timezone)
		}
	}
	err := s.write(ctx, func(tx *store.Tx) error {
		changed := map[string]ashby.AuditChange{}
		var name string
		err := tx.UpdateOrg(ctx, c.Org(), func(n *string, settings map[string]json.RawMessage) error {
			if req.Name != nil && strings.TrimSpace(*req.Name) != *n {
				from, _ := json.Marshal(*n)
				*n = strings.TrimSpace(*req.Name)
				to, _ := json.Marshal(*n)
				changed["name"] = ashby.AuditChange{From: from, To: to}
			}
			if req.Timezone != nil {
				to, _ := json.Marshal(*req.Timezone)
				from := settings["timezone"]
				if string(from) != string(to) {
					if from == nil {
						from = json.RawMessage("null")
					}
					settings["timezone"] = to
					changed["timezone"] = ashby.AuditChange{From: from, To: to}
				}
			}
			if req.ApplicationConfirmationEmailTemplateID != nil {
				id := strings.ToLower(strings.TrimSpace(*req.ApplicationConfirmationEmailTemplateID))
				if id != "" {
					if err := checkConfirmationTemplate(ctx, tx, c.Org(), id); err != nil {
						return err
					}
				}
				to, _ := json.Marshal(id)
				from := settings["applicationConfirmationEmailTemplateId"]
				if from == nil {
					from = json.RawMessage(`""`)
				}
				if string(from) != string(to) {
					if id == "" {
						delete(settings, "applicationConfirmationEmailTemplateId")
					} else {
						settings["applicationConfirmationEmailTemplateId"] = to
					}
					changed["applicationConfirmationEmailTemplateId"] = ashby.AuditChange{From: from, To: to}
				}
			}
			name = *n
			return nil
		})
		if err != nil || len(changed) == 0 {
			return err
		}
		if _, renamed := changed["name"]; renamed {
			// The careers site shows the name from board snapshots, rebuilt
			// when a board's version moves: rewriting each board (unchanged,
			// so unaudited) moves it.
			boards, err := JobBoards.Find(ctx, tx, c.Org(), store.Filter{IncludeArchived: true})
			if err != nil {
				return err
			}
			for _, b := range boards {
				if _, err := JobBoards.Update(ctx, tx, c.Org(), b.ID, func(*ashby.JobBoardSettings) error { return nil }); err != nil {
					return err
				}
			}
		}
		return audit.Record(ctx, tx, audit.Change{Org: c.Org(), Kind: "organization", ID: c.Org(), Name: name, Action: audit.ActionUpdated, Changed: changed})
	})
	if err != nil {
		return rpc.Result[ashby.Organization]{}, err
	}
	return s.organizationInfo(ctx, c, nil)
}
