// Package accounts lets an organization's users sign in to the web app:
// their passwords (argon2id), one-time sign-in links, and server-side
// sessions that can be revoked. The users themselves are Ashby's user
// records (api.Users); a user's globalRole decides what they may do, and a
// deactivated user (isEnabled false) can neither sign in nor keep a
// session.
package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

func init() { store.RegisterMigrations(migrationFS, "migrations") }

// Options configure session lifetimes.
type Options struct {
	// IdleTimeout ends a session unused for this long (default 12 hours).
	IdleTimeout time.Duration
	// MaxAge ends a session this long after sign-in, however active
	// (default 7 days).
	MaxAge time.Duration
	// LinkTTL is how long a sign-in link stays usable (default 72 hours).
	LinkTTL time.Duration
}

// Defaults for Options.
const (
	DefaultIdleTimeout = 12 * time.Hour
	DefaultMaxAge      = 7 * 24 * time.Hour
	DefaultLinkTTL     = 72 * time.Hour
)

// Accounts manages credentials and sessions on one database.
type Accounts struct {
	db *store.DB
	o  Options
}

// New returns the accounts of db, and attaches the hook that keeps them in
// step with user records (Attach).
func New(db *store.DB, o Options) *Accounts {
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.LinkTTL <= 0 {
		o.LinkTTL = DefaultLinkTTL
	}
	Attach(db)
	return &Accounts{db: db, o: o}
}

// Options returns the lifetimes in force.
func (a *Accounts) Options() Options { return a.o }

var attached sync.Map // *store.DB → struct{}

// Attach makes every change to a user record, whoever makes it (the API,
// the command line, the web app), update that user's account in the same
// transaction: the account follows the user's email address, and
// deactivating a user ends their sessions and unused sign-in links at
// once. Attaching twice attaches once.
func Attach(db *store.DB) {
	if _, dup := attached.LoadOrStore(db, struct{}{}); dup {
		return
	}
	db.CaptureChanges()
	db.BeforeCommit(syncUsers)
}

func syncUsers(ctx context.Context, tx *store.Tx) error {
	for _, w := range tx.Written() {
		if w.Kind != api.Users.Name || w.After == nil {
			continue
		}
		var u struct {
			Email     string `json:"email"`
			IsEnabled bool   `json:"isEnabled"`
		}
		if err := json.Unmarshal(w.After, &u); err != nil {
			return fmt.Errorf("accounts: decode user %s: %w", w.ID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET email = $3 WHERE org_id = $1 AND user_id = $2 AND email <> $3`,
			w.Org, w.ID, normEmail(u.Email)); err != nil {
			return fmt.Errorf("accounts: follow user %s's email: %w", w.ID, err)
		}
		if !u.IsEnabled {
			if err := endUser(ctx, tx, w.Org, w.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// endUser ends every session and unused link of a user.
func endUser(ctx context.Context, tx *store.Tx, org, user string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE org_id = $1 AND user_id = $2`, org, user); err != nil {
		return fmt.Errorf("accounts: end sessions: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM signin_links WHERE org_id = $1 AND user_id = $2 AND used_at IS NULL`, org, user); err != nil {
		return fmt.Errorf("accounts: cancel sign-in links: %w", err)
	}
	return nil
}

func normEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

// token is a random secret for a cookie or link, and the hash stored.
func token() (secret, hash string) {
	b := make([]byte, 32)
	rand.Read(b)
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, hashToken(secret)
}

func hashToken(secret string) string {
	sum := sha256.Sum256([]byte("ashlar session v1\x00" + secret))
	return hex.EncodeToString(sum[:])
}

// Account is a user's sign-in record.
type Account struct {
	OrgID, UserID, Email string
	HasPassword          bool
	CreatedAt            time.Time
	SignedInAt           *time.Time
}

// ErrNoAccount means the user has no sign-in record.
var ErrNoAccount = errors.New("no account")

func (a *Accounts) now() time.Time { return a.db.Now().UTC() }

// Ensure creates the user's account (without a password) if it has none.
func (a *Accounts) Ensure(ctx context.Context, tx *store.Tx, u *ashby.User, org string) error {
	now := store.Millis(a.now())
	_, err := tx.ExecContext(ctx, `INSERT INTO accounts (user_id, org_id, email, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT (user_id) DO NOTHING`, u.ID, org, normEmail(u.Email), now)
	if err != nil {
		return fmt.Errorf("create account: %w", err)
	}
	return nil
}

// EmailInOtherOrg reports whether email already signs in to another
// organization: an address signs in to one organization only, so that a
// sign-in needs no organization to be chosen.
func (a *Accounts) EmailInOtherOrg(ctx context.Context, org, email string) (bool, error) {
	var n int
	err := a.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts WHERE email = $1 AND org_id <> $2`, normEmail(email), org).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up account: %w", err)
	}
	return n > 0, nil
}

// SetPassword sets a user's password (creating their account if needed)
// after checking its strength, and ends their sessions: a changed
// password signs out every browser. u must be the current user record.
func (a *Accounts) SetPassword(ctx context.Context, org string, u *ashby.User, password string) error {
	if err := CheckStrength(password, u.Email); err != nil {
		return err
	}
	hash := HashPassword(password)
	return a.db.Write(ctx, func(tx *store.Tx) error { return a.setPassword(ctx, tx, org, u, hash) })
}

func (a *Accounts) setPassword(ctx context.Context, tx *store.Tx, org string, u *ashby.User, hash string) error {
	if err := a.Ensure(ctx, tx, u, org); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE accounts SET password_hash = $3, updated_at = $4 WHERE org_id = $1 AND user_id = $2`,
		org, u.ID, hash, store.Millis(a.now())); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE org_id = $1 AND user_id = $2`, org, u.ID); err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	return nil
}

// Get returns a user's account.
func (a *Accounts) Get(ctx context.Context, org, userID string) (*Account, error) {
	rows, err := a.db.QueryContext(ctx, `SELECT org_id, user_id, email, password_hash IS NOT NULL, created_at, signed_in_at FROM accounts WHERE org_id = $1 AND user_id = $2`, org, userID)
	if err != nil {
		return nil, fmt.Errorf("read account: %w", err)
	}
	accs, err := scanAccounts(rows)
	if err != nil {
		return nil, err
	}
	if len(accs) == 0 {
		return nil, ErrNoAccount
	}
	return accs[0], nil
}

// List returns the organization's accounts by user id.
func (a *Accounts) List(ctx context.Context, org string) (map[string]*Account, error) {
	rows, err := a.db.QueryContext(ctx, `SELECT org_id, user_id, email, password_hash IS NOT NULL, created_at, signed_in_at FROM accounts WHERE org_id = $1`, org)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	accs, err := scanAccounts(rows)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*Account, len(accs))
	for _, acc := range accs {
		out[acc.UserID] = acc
	}
	return out, nil
}

func scanAccounts(rows *sql.Rows) ([]*Account, error) {
	defer rows.Close()
	var out []*Account
	for rows.Next() {
		var acc Account
		var created int64
		var signed sql.NullInt64
		if err := rows.Scan(&acc.OrgID, &acc.UserID, &acc.Email, &acc.HasPassword, &created, &signed); err != nil {
			return nil, fmt.Errorf("read account: %w", err)
		}
		acc.CreatedAt = time.UnixMilli(created).UTC()
		if signed.Valid {
			t := time.UnixMilli(signed.Int64).UTC()
			acc.SignedInAt = &t
		}
		out = append(out, &acc)
	}
	return out, rows.Err()
}

// ErrBadCredentials is the one answer to a failed sign-in, whichever of
// the email address or password was wrong.
var ErrBadCredentials = errors.New("the email address or password is incorrect")

// Identity is a signed-in person: their organization and user record.
type Identity struct {
	OrgID string
	User  *ashby.User
}

// Role is the user's global role.
func (id *Identity) Role() Role { return Role(id.User.GlobalRole) }

// activeUser loads a user who may sign in: enabled, with the email the
// account has.
func (a *Accounts) activeUser(ctx context.Context, org, userID, email string) (*ashby.User, bool, error) {
	u, err := api.Users.Get(ctx, a.db, org, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if !u.IsEnabled || (email != "" && normEmail(u.Email) != email) {
		return nil, false, nil
	}
	return u, true, nil
}

// CheckPassword signs a person in by email and password. It answers
// ErrBadCredentials for an unknown address, a wrong password, a user
// without a password and a deactivated user alike, and takes as long in
// each case.
func (a *Accounts) CheckPassword(ctx context.Context, email, password string) (*Identity, error) {
	email = normEmail(email)
	rows, err := a.db.QueryContext(ctx, `SELECT org_id, user_id, COALESCE(password_hash, '') FROM accounts WHERE email = $1 ORDER BY created_at LIMIT 5`, email)
	if err != nil {
		return nil, fmt.Errorf("look up account: %w", err)
	}
	type cand struct{ org, user, hash string }
	var cands []cand
	for rows.Next() {
		var c cand
		if err := rows.Scan(&c.org, &c.user, &c.hash); err != nil {
			rows.Close()
			return nil, err
		}
		cands = append(cands, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	matched := false
	for _, c := range cands {
		if c.hash == "" || !VerifyPassword(c.hash, password) {
			continue
		}
		matched = true
		u, ok, err := a.activeUser(ctx, c.org, c.user, email)
		if err != nil {
			return nil, err
		}
		if ok {
			return &Identity{OrgID: c.org, User: u}, nil
		}
	}
	if !matched && len(cands) == 0 {
		VerifyPassword(dummyHash(), password)
	}
	return nil, ErrBadCredentials
}

// ByVerifiedEmail finds the enabled user whose email an identity provider
// has verified (OpenID Connect sign-in): by their account, else among
// every organization's users (users created through the API have no
// account until they first sign in), creating the account.
func (a *Accounts) ByVerifiedEmail(ctx context.Context, email string) (*Identity, error) {
	email = normEmail(email)
	rows, err := a.db.QueryContext(ctx, `SELECT org_id, user_id FROM accounts WHERE email = $1 ORDER BY created_at LIMIT 5`, email)
	if err != nil {
		return nil, fmt.Errorf("look up account: %w", err)
	}
	var pairs [][2]string
	for rows.Next() {
		var p [2]string
		if err := rows.Scan(&p[0], &p[1]); err != nil {
			rows.Close()
			return nil, err
		}
		pairs = append(pairs, p)
	}
	rows.Close()
	for _, p := range pairs {
		u, ok, err := a.activeUser(ctx, p[0], p[1], email)
		if err != nil {
			return nil, err
		}
		if ok {
			return &Identity{OrgID: p[0], User: u}, nil
		}
	}
	orgs, err := a.db.Orgs(ctx)
	if err != nil {
		return nil, err
	}
	for _, o := range orgs {
		us, err := api.Users.Find(ctx, a.db, o.ID, store.Filter{Search: email, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(us) == 0 {
			continue
		}
		err = a.db.Write(ctx, func(tx *store.Tx) error { return a.Ensure(ctx, tx, us[0], o.ID) })
		if err != nil {
			return nil, err
		}
		return &Identity{OrgID: o.ID, User: us[0]}, nil
	}
	return nil, ErrBadCredentials
}
