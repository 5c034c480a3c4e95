package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
)

// Org is a tenant: every record belongs to exactly one.
type Org struct {
	ID        string
	Slug      string
	Name      string
	CreatedAt time.Time
}

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidSlug reports whether s can name an organization (and its job board).
func ValidSlug(s string) bool { return slugRE.MatchString(s) }

// ErrOrgExists is returned when an organization slug is taken.
var ErrOrgExists = errors.New("organization already exists")

// CreateOrg inserts an organization inside tx.
func (tx *Tx) CreateOrg(ctx context.Context, slug, name string) (*Org, error) {
	if !ValidSlug(slug) {
		return nil, fmt.Errorf("invalid organization slug %q: use lower-case letters, digits and dashes", slug)
	}
	if name == "" {
		name = slug
	}
	o := &Org{ID: ashby.NewID(), Slug: slug, Name: name, CreatedAt: tx.db.Now().UTC().Truncate(time.Millisecond)}
	_, err := tx.ExecContext(ctx, `INSERT INTO orgs (id, slug, name, created_at) VALUES ($1, $2, $3, $4)`, o.ID, o.Slug, o.Name, Millis(o.CreatedAt))
	if IsUniqueViolation(err) {
		return nil, fmt.Errorf("%w: %s", ErrOrgExists, slug)
	}
	if err != nil {
		return nil, fmt.Errorf("create organization: %w", err)
	}
	return o, nil
}

// OrgBySlug finds an organization by slug.
func (db *DB) OrgBySlug(ctx context.Context, slug string) (*Org, error) {
	return db.scanOrg(db.r.QueryRowContext(ctx, `SELECT id, slug, name, created_at FROM orgs WHERE slug = $1`, slug))
}

// OrgByID finds an organization by id.
func (db *DB) OrgByID(ctx context.Context, id string) (*Org, error) {
	return db.scanOrg(db.r.QueryRowContext(ctx, `SELECT id, slug, name, created_at FROM orgs WHERE id = $1`, id))
}

func (db *DB) scanOrg(row *sql.Row) (*Org, error) {
	var o Org
	var created int64
	err := row.Scan(&o.ID, &o.Slug, &o.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read organization: %w", err)
	}
	o.CreatedAt = time.UnixMilli(created).UTC()
	return &o, nil
}

// Orgs lists every organization, oldest first.
func (db *DB) Orgs(ctx context.Context) ([]Org, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, slug, name, created_at FROM orgs ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list organizations: %w", err)
	}
	defer rows.Close()
	var out []Org
	for rows.Next() {
		var o Org
		var created int64
		if err := rows.Scan(&o.ID, &o.Slug, &o.Name, &created); err != nil {
			return nil, err
		}
		o.CreatedAt = time.UnixMilli(created).UTC()
		out = append(out, o)
	}
	return out, rows.Err()
}

// OrgSettings reads an organization's settings (a JSON object) into v.
func (db *DB) OrgSettings(ctx context.Context, q Q, orgID string, v any) error {
	var s string
	if err := q.QueryRowContext(ctx, `SELECT settings FROM orgs WHERE id = $1`, orgID).Scan(&s); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return fmt.Errorf("read organization settings: %w", err)
	}
	return json.Unmarshal([]byte(s), v)
}

// SetOrgSettings replaces an organization's settings.
func (tx *Tx) SetOrgSettings(ctx context.Context, orgID string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE orgs SET settings = $2 WHERE id = $1`, orgID, string(b))
	return err
}

// APIKey is an organization's API key. The secret itself is never stored:
// only its SHA-256, which is enough to recognise it.
type APIKey struct {
	ID          string
	OrgID       string
	Title       string
	Permissions []ashby.Permission
	UserID      string
	CreatedAt   time.Time
	RevokedAt   *time.Time
}

// Has reports whether the key holds permission p.
func (k *APIKey) Has(p ashby.Permission) bool {
	for _, q := range k.Permissions {
		if q == p {
			return true
		}
	}
	return false
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateAPIKey creates a key and returns it with its secret, which is
// shown once and cannot be recovered later.
func (tx *Tx) CreateAPIKey(ctx context.Context, orgID, title string, perms []ashby.Permission, userID string) (*APIKey, string, error) {
	if strings.TrimSpace(title) == "" {
		return nil, "", errors.New("an API key needs a title")
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	secret := "ashlar_" + base64.RawURLEncoding.EncodeToString(raw)
	k := &APIKey{ID: ashby.NewID(), OrgID: orgID, Title: title, Permissions: perms, UserID: userID, CreatedAt: tx.db.Now().UTC().Truncate(time.Millisecond)}
	scopes, _ := json.Marshal(perms)
	_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (id, org_id, title, secret_hash, scopes, user_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		k.ID, orgID, title, hashSecret(secret), string(scopes), nullStr(userID), Millis(k.CreatedAt))
	if err != nil {
		return nil, "", fmt.Errorf("create API key: %w", err)
	}
	return k, secret, nil
}

const apiKeyColumns = `id, org_id, title, scopes, COALESCE(user_id, ''), created_at, revoked_at`

func scanAPIKey(scan func(...any) error) (*APIKey, error) {
	var k APIKey
	var scopes string
	var created int64
	var revoked sql.NullInt64
	if err := scan(&k.ID, &k.OrgID, &k.Title, &scopes, &k.UserID, &created, &revoked); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scopes), &k.Permissions); err != nil {
		return nil, fmt.Errorf("decode key scopes: %w", err)
	}
	k.CreatedAt = time.UnixMilli(created).UTC()
	if revoked.Valid {
		t := time.UnixMilli(revoked.Int64).UTC()
		k.RevokedAt = &t
	}
	return &k, nil
}

// APIKeyBySecret finds the key whose secret this is, revoked or not.
func (db *DB) APIKeyBySecret(ctx context.Context, secret string) (*APIKey, error) {
	k, err := scanAPIKey(db.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE secret_hash = $1`, hashSecret(secret)).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("look up API key: %w", err)
	}
	return k, nil
}

// APIKeys lists an organization's keys, oldest first.
func (db *DB) APIKeys(ctx context.Context, orgID string) ([]*APIKey, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE org_id = $1 ORDER BY created_at, id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	defer rows.Close()
	var out []*APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAPIKey revokes a key of the organization. It takes effect on the
// next request, in every process: it moves APIKeysVersion, which a cache
// of keys checks on every request.
func (tx *Tx) RevokeAPIKey(ctx context.Context, orgID, keyID string) error {
	res, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = $3 WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL`, orgID, keyID, Millis(tx.db.Now()))
	if err != nil {
		return fmt.Errorf("revoke API key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	// Caches of keys (the API's) check this counter on every request.
	if _, err := tx.ExecContext(ctx, `INSERT INTO counters (name, value) VALUES ($1, 1)
		ON CONFLICT (name) DO UPDATE SET value = counters.value + 1`, apiKeysCounter); err != nil {
		return fmt.Errorf("revoke API key: %w", err)
	}
	return nil
}

// UpdateOrg changes an organization's name and settings in tx: fn gets
// them as stored, locked until tx ends, and edits them in place.
func (tx *Tx) UpdateOrg(ctx context.Context, orgID string, fn func(name *string, settings map[string]json.RawMessage) error) error {
	var name, raw string
	err := tx.QueryRowContext(ctx, `SELECT name, settings FROM orgs WHERE id = $1`+tx.lockSuffix(), orgID).Scan(&name, &raw)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("read organization: %w", err)
	}
	settings := map[string]json.RawMessage{}
	if err := json.Unmarshal([]byte(raw), &settings); err != nil {
		return fmt.Errorf("decode organization settings: %w", err)
	}
	if err := fn(&name, settings); err != nil {
		return err
	}
	b, err := json.Marshal(settings)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE orgs SET name = $2, settings = $3 WHERE id = $1`, orgID, name, string(b)); err != nil {
		return fmt.Errorf("update organization: %w", err)
	}
	return nil
}
