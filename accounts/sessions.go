package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ashlarhq/ashlar/store"
)

// Session is a signed-in browser.
type Session struct {
	Identity
	hash                         string
	CreatedAt, LastSeen, Expires time.Time
	IP, UserAgent                string
}

// ID is a stable, non-secret name of the session (for logs and the audit
// log's request): a prefix of the stored hash, not of the cookie.
func (s *Session) ID() string { return s.hash[:16] }

// ErrNoSession means the cookie names no live session.
var ErrNoSession = errors.New("no session")

// touchEvery bounds how often a session's last use is written: once a
// minute is precise enough for an idle timeout counted in hours.
const touchEvery = time.Minute

// StartSession signs id in: it records a session and returns the secret
// for the cookie.
func (a *Accounts) StartSession(ctx context.Context, id *Identity, ip, userAgent string) (string, error) {
	secret, hash := token()
	now := a.now()
	if len(userAgent) > 512 {
		userAgent = userAgent[:512]
	}
	err := a.db.Write(ctx, func(tx *store.Tx) error {
		if err := a.Ensure(ctx, tx, id.User, id.OrgID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, org_id, user_id, created_at, last_seen_at, expires_at, ip, user_agent) VALUES ($1, $2, $3, $4, $4, $5, $6, $7)`,
			hash, id.OrgID, id.User.ID, store.Millis(now), store.Millis(now.Add(a.o.MaxAge)), ip, userAgent); err != nil {
			return fmt.Errorf("start session: %w", err)
		}
		_, err := tx.ExecContext(ctx, `UPDATE accounts SET signed_in_at = $3 WHERE org_id = $1 AND user_id = $2`, id.OrgID, id.User.ID, store.Millis(now))
		return err
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// Session returns the live session of a cookie's secret, with its user as
// the user record stands now: a session whose user was deactivated, or
// whose time is up, is ended and refused (ErrNoSession).
func (a *Accounts) Session(ctx context.Context, secret string) (*Session, error) {
	if secret == "" || len(secret) > 100 {
		return nil, ErrNoSession
	}
	hash := hashToken(secret)
	var s Session
	var created, seen, expires int64
	var userID string
	err := a.db.QueryRowContext(ctx, `SELECT org_id, user_id, created_at, last_seen_at, expires_at, ip, user_agent FROM sessions WHERE id_hash = $1`, hash).
		Scan(&s.OrgID, &userID, &created, &seen, &expires, &s.IP, &s.UserAgent)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	s.hash = hash
	s.CreatedAt, s.LastSeen, s.Expires = time.UnixMilli(created).UTC(), time.UnixMilli(seen).UTC(), time.UnixMilli(expires).UTC()
	now := a.now()
	if !now.Before(s.Expires) || now.Sub(s.LastSeen) >= a.o.IdleTimeout {
		a.end(ctx, hash)
		return nil, ErrNoSession
	}
	u, ok, err := a.activeUser(ctx, s.OrgID, userID, "")
	if err != nil {
		return nil, err
	}
	if !ok {
		a.end(ctx, hash)
		return nil, ErrNoSession
	}
	s.User = u
	if now.Sub(s.LastSeen) >= touchEvery {
		err := a.db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1`, hash, store.Millis(now))
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("touch session: %w", err)
		}
		s.LastSeen = now
	}
	return &s, nil
}

func (a *Accounts) end(ctx context.Context, hash string) error {
	return a.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, hash)
		return err
	})
}

// EndSession signs a cookie's session out on the server.
func (a *Accounts) EndSession(ctx context.Context, secret string) error {
	if secret == "" {
		return nil
	}
	if err := a.end(ctx, hashToken(secret)); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// EndSessions signs a user out everywhere.
func (a *Accounts) EndSessions(ctx context.Context, org, userID string) error {
	return a.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE org_id = $1 AND user_id = $2`, org, userID)
		return err
	})
}

// Prune deletes sessions and links whose time is up.
func (a *Accounts) Prune(ctx context.Context) error {
	now := a.now()
	return a.db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2`, store.Millis(now), store.Millis(now.Add(-a.o.IdleTimeout))); err != nil {
			return fmt.Errorf("prune sessions: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM signin_links WHERE expires_at <= $1`, store.Millis(now.Add(-24*time.Hour))); err != nil {
			return fmt.Errorf("prune sign-in links: %w", err)
		}
		return nil
	})
}
