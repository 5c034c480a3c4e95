package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Idempotency keys (docs/idempotency.md): a mutating API request sent
// with an Idempotency-Key runs at most once per key. BeginIdempotent
// claims the key in its own transaction before the request runs; every
// write transaction the request then commits marks the key applied in
// the same transaction (Write does it for a context from
// IdemClaim.Context), and is refused if the key is no longer the
// request's; Finish records the response to replay. So a write never
// commits without its key, a key never claims a write that rolled back,
// and a request whose lease another took over cannot commit anything.

// IdemRequest names a key and the request sent with it.
type IdemRequest struct {
	Org, Principal, Key string
	Endpoint            string
	// Fingerprint identifies the request's content: the same key with
	// another fingerprint is a different request.
	Fingerprint string
}

// IdemOutcome is what BeginIdempotent found.
type IdemOutcome int

const (
	// IdemRun: the key is this request's; run it under Context, then Finish.
	IdemRun IdemOutcome = iota
	// IdemReplay: a request with this key and content finished; Status
	// and Response are its answer.
	IdemReplay
	// IdemMismatch: the key was used for a different request.
	IdemMismatch
	// IdemInProgress: a request with this key is running now.
	IdemInProgress
	// IdemInterrupted: a request with this key committed changes, and its
	// server stopped before recording the response.
	IdemInterrupted
)

// IdemClaim is the result of BeginIdempotent.
type IdemClaim struct {
	Outcome  IdemOutcome
	Status   int
	Response []byte

	db      *DB
	req     IdemRequest
	owner   string
	applied atomic.Bool
}

// ErrIdempotencyLost means a request's key was taken over by a retry
// after its lease ran out: the request's write was refused.
var ErrIdempotencyLost = errors.New("idempotency key taken over by a retry after its lease expired")

type idemCtxKey struct{}

// dbNowSQL is the database's clock in epoch milliseconds: leases are
// compared against it, never against a server's clock (as the job
// queue's, docs/jobs.md).
func dbNowSQL(e Engine) string {
	if e == Postgres {
		return `CAST(EXTRACT(EPOCH FROM statement_timestamp()) * 1000 AS BIGINT)`
	}
	return `CAST(unixepoch('subsec') * 1000 AS INTEGER)`
}

// BeginIdempotent claims req's key for a request. A key is kept for ttl
// after its first use (on this server's clock, db.Now); lease bounds how
// long the request may run before a retry may take the key over, if the
// request committed nothing (on the database's clock).
func (db *DB) BeginIdempotent(ctx context.Context, req IdemRequest, ttl, lease time.Duration) (*IdemClaim, error) {
	c := &IdemClaim{db: db, req: req}
	b := make([]byte, 16)
	rand.Read(b)
	c.owner = hex.EncodeToString(b)
	now := Millis(db.Now())
	dbNow := dbNowSQL(db.engine)
	ctx = context.WithValue(ctx, idemCtxKey{}, (*IdemClaim)(nil))
	err := db.Write(ctx, func(tx *Tx) error {
		c.Outcome, c.Status, c.Response = IdemRun, 0, nil
		res, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (org_id, principal, idem_key, endpoint, fingerprint, owner, lease_until, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, `+dbNow+` + $7, $8, $9) ON CONFLICT (org_id, principal, idem_key) DO NOTHING`,
			req.Org, req.Principal, req.Key, req.Endpoint, req.Fingerprint, c.owner, lease.Milliseconds(), now, now+ttl.Milliseconds())
		if err != nil {
			return fmt.Errorf("claim idempotency key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var fp string
		var owner sql.NullString
		var leaseOver, applied int
		var status sql.NullInt64
		var response sql.NullString
		var expires int64
		err = tx.QueryRowContext(ctx, `SELECT fingerprint, owner, CASE WHEN lease_until <= `+dbNow+` THEN 1 ELSE 0 END, applied, status, response, expires_at
			FROM idempotency_keys WHERE org_id = $1 AND principal = $2 AND idem_key = $3`+tx.lockSuffix(), req.Org, req.Principal, req.Key).
			Scan(&fp, &owner, &leaseOver, &applied, &status, &response, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return errInsertRace // deleted meanwhile: Write runs the claim again
		}
		if err != nil {
			return fmt.Errorf("read idempotency key: %w", err)
		}
		takeOver := false
		switch {
		case expires <= now:
			takeOver = true // an expired key is a new key
		case fp != req.Fingerprint:
			c.Outcome = IdemMismatch
		case status.Valid:
			c.Outcome, c.Status, c.Response = IdemReplay, int(status.Int64), []byte(response.String)
		case leaseOver == 0:
			c.Outcome = IdemInProgress
		case applied != 0:
			c.Outcome = IdemInterrupted
		default:
			takeOver = true // its request died before committing anything
		}
		if !takeOver {
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE idempotency_keys SET endpoint = $4, fingerprint = $5, owner = $6, lease_until = `+dbNow+` + $7,
			applied = 0, status = NULL, response = NULL, created_at = $8, expires_at = $9 WHERE org_id = $1 AND principal = $2 AND idem_key = $3`,
			req.Org, req.Principal, req.Key, req.Endpoint, req.Fingerprint, c.owner, lease.Milliseconds(), now, now+ttl.Milliseconds())
		if err != nil {
			return fmt.Errorf("take over idempotency key: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Context returns ctx for running the claimed request: every Write under
// it marks the key applied, in its own transaction.
func (c *IdemClaim) Context(ctx context.Context) context.Context {
	return context.WithValue(ctx, idemCtxKey{}, c)
}

// Applied reports whether a write of the request has committed.
func (c *IdemClaim) Applied() bool { return c.applied.Load() }

// mark runs in each write transaction of a claimed request, before it
// commits.
func (c *IdemClaim) mark(ctx context.Context, tx *Tx) error {
	res, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET applied = 1 WHERE org_id = $1 AND principal = $2 AND idem_key = $3 AND owner = $4`,
		c.req.Org, c.req.Principal, c.req.Key, c.owner)
	if err != nil {
		return fmt.Errorf("mark idempotency key applied: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrIdempotencyLost
	}
	tx.AfterCommit(func() { c.applied.Store(true) })
	return nil
}

// markIdempotent marks the key of the request ctx belongs to, if any.
func markIdempotent(ctx context.Context, tx *Tx) error {
	if c, ok := ctx.Value(idemCtxKey{}).(*IdemClaim); ok && c != nil {
		return c.mark(ctx, tx)
	}
	return nil
}

// Finish records the request's response for replay. A request that
// failed without committing anything (keep false and nothing applied)
// releases the key instead, so that a retry runs afresh.
func (c *IdemClaim) Finish(ctx context.Context, status int, response []byte, keep bool) error {
	ctx = context.WithValue(ctx, idemCtxKey{}, (*IdemClaim)(nil))
	return c.db.Write(ctx, func(tx *Tx) error {
		var err error
		if keep || c.applied.Load() {
			_, err = tx.ExecContext(ctx, `UPDATE idempotency_keys SET owner = NULL, status = $5, response = $6 WHERE org_id = $1 AND principal = $2 AND idem_key = $3 AND owner = $4`,
				c.req.Org, c.req.Principal, c.req.Key, c.owner, status, string(response))
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE org_id = $1 AND principal = $2 AND idem_key = $3 AND owner = $4`,
				c.req.Org, c.req.Principal, c.req.Key, c.owner)
		}
		if err != nil {
			return fmt.Errorf("record idempotent response: %w", err)
		}
		return nil
	})
}

// SweepIdempotencyKeys deletes expired keys.
func (db *DB) SweepIdempotencyKeys(ctx context.Context) (int64, error) {
	var n int64
	err := db.Write(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE expires_at <= $1`, Millis(db.Now()))
		if err != nil {
			return fmt.Errorf("sweep idempotency keys: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}
