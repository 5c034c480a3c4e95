package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
)

// LinkPath is where sign-in links point, under the server's base URL.
const LinkPath = "/app/signin/link/"

// CreateLink makes a one-time sign-in link for a user: following it lets
// them choose a password and signs them in. It returns the link's secret
// (the last part of its path) and when it expires.
func (a *Accounts) CreateLink(ctx context.Context, org string, u *ashby.User) (string, time.Time, error) {
	secret, hash := token()
	now := a.now()
	exp := now.Add(a.o.LinkTTL)
	err := a.db.Write(ctx, func(tx *store.Tx) error {
		if err := a.Ensure(ctx, tx, u, org); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO signin_links (token_hash, org_id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			hash, org, u.ID, store.Millis(now), store.Millis(exp))
		return err
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("create sign-in link: %w", err)
	}
	return secret, exp, nil
}

// ErrLinkInvalid means a sign-in link is unknown, used or expired, or
// its user was deactivated.
var ErrLinkInvalid = errors.New("this sign-in link has expired or has already been used")

// Link returns the user a live sign-in link is for, without using it.
func (a *Accounts) Link(ctx context.Context, secret string) (*Identity, error) {
	return a.link(ctx, a.db, secret, "")
}

func (a *Accounts) link(ctx context.Context, q store.Q, secret, lock string) (*Identity, error) {
	if secret == "" || len(secret) > 100 {
		return nil, ErrLinkInvalid
	}
	var org, user string
	var exp int64
	var used sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT org_id, user_id, expires_at, used_at FROM signin_links WHERE token_hash = $1`+lock, hashToken(secret)).Scan(&org, &user, &exp, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrLinkInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("read sign-in link: %w", err)
	}
	if used.Valid || !a.now().Before(time.UnixMilli(exp)) {
		return nil, ErrLinkInvalid
	}
	u, ok, err := a.activeUser(ctx, org, user, "")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrLinkInvalid
	}
	return &Identity{OrgID: org, User: u}, nil
}

// UseLink sets the password of a live link's user and marks the link
// used, in one transaction: a link works once.
func (a *Accounts) UseLink(ctx context.Context, secret, password string) (*Identity, error) {
	id, err := a.Link(ctx, secret)
	if err != nil {
		return nil, err
	}
	if err := CheckStrength(password, id.User.Email); err != nil {
		return nil, err
	}
	hash := HashPassword(password)
	err = a.db.Write(ctx, func(tx *store.Tx) error {
		lock := ""
		if a.db.Engine() == store.Postgres {
			lock = " FOR UPDATE"
		}
		if _, err := a.link(ctx, tx, secret, lock); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE signin_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL`, hashToken(secret), store.Millis(a.now()))
		if err != nil {
			return fmt.Errorf("use sign-in link: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrLinkInvalid
		}
		return a.setPassword(ctx, tx, id.OrgID, id.User, hash)
	})
	if err != nil {
		return nil, err
	}
	return id, nil
}
