// Package inbox receives Ashby webhooks durably and processes them
// asynchronously: the "verify, dedupe, enqueue, process" pattern of
// Ashby's integration guide, as `ashlar listen` runs it.
//
// A delivery is verified (client/webhooks), then inserted into the
// inbox table keyed by its webhookActionId in one committed transaction,
// and only then acknowledged with 2xx. A delivery whose webhookActionId
// is already there is acknowledged and counted, not queued again: an
// event is processed once however often Ashby retries or redelivers it.
// Workers claim queued events under a lease and run the action; a worker
// that dies mid-action leaves the lease to expire, and the event is
// claimed again. So a crash between the acknowledgement and the
// processing loses nothing; the action may run twice only if the process
// dies while it runs (actions get the webhookActionId to deduplicate;
// JetStream does so by Nats-Msg-Id).
package inbox

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver

	"github.com/ashlarhq/ashlar/client/webhooks"
)

// Store is the inbox table on SQLite or PostgreSQL.
type Store struct {
	db       *sql.DB
	postgres bool
}

// Open opens (and creates) the inbox: "sqlite:PATH" or a path for SQLite,
// "postgres://…" for PostgreSQL.
func Open(ctx context.Context, dsn string) (*Store, error) {
	s := &Store{}
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres inbox: %w", err)
		}
		db.SetMaxOpenConns(16)
		s.db, s.postgres = db, true
	default:
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
		if path == "" {
			return nil, errors.New("empty inbox path")
		}
		q := url.Values{}
		// synchronous=FULL: an acknowledged delivery is on disk, not only
		// in the WAL's page cache, so even a power cut loses nothing.
		for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "synchronous(FULL)"} {
			q.Add("_pragma", p)
		}
		db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode()+"&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("open sqlite inbox %s: %w", path, err)
		}
		db.SetMaxOpenConns(1)
		s.db = db
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("connect to the inbox: %w", err)
	}
	ts := "TEXT"
	if s.postgres {
		ts = "TIMESTAMPTZ"
	}
	for _, stmt := range []string{
		`CREATE TABLE IF NOT EXISTS inbox_events (
			webhook_action_id TEXT PRIMARY KEY,
			action TEXT NOT NULL,
			body TEXT NOT NULL,
			received_at ` + ts + ` NOT NULL,
			status TEXT NOT NULL,
			attempts INTEGER NOT NULL DEFAULT 0,
			next_attempt_at ` + ts + ` NOT NULL,
			lease_until ` + ts + `,
			lease_owner TEXT,
			last_error TEXT,
			done_at ` + ts + `,
			duplicates INTEGER NOT NULL DEFAULT 0)`,
		`CREATE INDEX IF NOT EXISTS inbox_events_due ON inbox_events (status, next_attempt_at)`,
	} {
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			s.db.Close()
			return nil, fmt.Errorf("create the inbox table: %w", err)
		}
	}
	return s, nil
}

// Engine names the database engine.
func (s *Store) Engine() string {
	if s.postgres {
		return "postgres"
	}
	return "sqlite"
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) rebind(q string) string {
	if !s.postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// t formats a time for the engine: TIMESTAMPTZ values on PostgreSQL,
// fixed-width RFC 3339 text (which sorts as time) on SQLite.
func (s *Store) t(v time.Time) any {
	if s.postgres {
		return v
	}
	return v.UTC().Format("2006-01-02T15:04:05.000000Z")
}

// Add stores a verified delivery for processing. It reports false when
// the event was already there (a retry or a redelivery); the duplicate is
// counted.
func (s *Store) Add(ctx context.Context, ev *webhooks.Event, body []byte, now time.Time) (added bool, err error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO inbox_events (webhook_action_id, action, body, received_at, status, next_attempt_at)
		VALUES (?, ?, ?, ?, 'pending', ?) ON CONFLICT (webhook_action_id) DO NOTHING`),
		ev.WebhookActionID, ev.Action, string(body), s.t(now), s.t(now))
	if err != nil {
		return false, fmt.Errorf("store event %s: %w", ev.WebhookActionID, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	if _, err := s.db.ExecContext(ctx, s.rebind(`UPDATE inbox_events SET duplicates = duplicates + 1 WHERE webhook_action_id = ?`), ev.WebhookActionID); err != nil {
		return false, fmt.Errorf("count duplicate of %s: %w", ev.WebhookActionID, err)
	}
	return false, nil
}

// Claimed is an event a worker holds.
type Claimed struct {
	WebhookActionID string
	Action          string
	Body            []byte
	Attempts        int // including this one
}

// Claim takes the oldest due event — queued and due, or claimed by a
// worker whose lease has expired — under a lease for owner. It returns
// nil when nothing is due.
func (s *Store) Claim(ctx context.Context, owner string, now time.Time, lease time.Duration) (*Claimed, error) {
	pick := `SELECT webhook_action_id FROM inbox_events
		WHERE (status = 'pending' AND next_attempt_at <= ?) OR (status = 'processing' AND lease_until < ?)
		ORDER BY received_at LIMIT 1`
	if s.postgres {
		pick += ` FOR UPDATE SKIP LOCKED`
	}
	q := `UPDATE inbox_events SET status = 'processing', attempts = attempts + 1, lease_until = ?, lease_owner = ?
		WHERE webhook_action_id = (` + pick + `) RETURNING webhook_action_id, action, body, attempts`
	var c Claimed
	var body string
	err := s.db.QueryRowContext(ctx, s.rebind(q), s.t(now.Add(lease)), owner, s.t(now), s.t(now)).Scan(&c.WebhookActionID, &c.Action, &body, &c.Attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("claim an event: %w", err)
	}
	c.Body = []byte(body)
	return &c, nil
}

// Done records a processed event, if owner still holds it.
func (s *Store) Done(ctx context.Context, id, owner string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`UPDATE inbox_events SET status = 'done', done_at = ?, lease_until = NULL, last_error = NULL
		WHERE webhook_action_id = ? AND lease_owner = ? AND status = 'processing'`), s.t(now), id, owner)
	return err
}

// Fail records a failed attempt: the event is queued again at retryAt,
// or marked failed when retryAt is nil.
func (s *Store) Fail(ctx context.Context, id, owner string, cause error, now time.Time, retryAt *time.Time) error {
	status, next := "failed", now
	if retryAt != nil {
		status, next = "pending", *retryAt
	}
	msg := cause.Error()
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	var done any
	if retryAt == nil {
		done = s.t(now)
	}
	_, err := s.db.ExecContext(ctx, s.rebind(`UPDATE inbox_events SET status = ?, next_attempt_at = ?, lease_until = NULL, last_error = ?, done_at = ?
		WHERE webhook_action_id = ? AND lease_owner = ? AND status = 'processing'`), status, s.t(next), msg, done, id, owner)
	return err
}

// Purge deletes finished events older than before; their ids no longer
// deduplicate after that.
func (s *Store) Purge(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM inbox_events WHERE status IN ('done', 'failed') AND done_at < ?`), s.t(before))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// EventState is an event's row, for status commands and tests.
type EventState struct {
	WebhookActionID string
	Action          string
	Status          string
	Attempts        int
	Duplicates      int
	LastError       string
}

// Events lists the inbox, oldest first.
func (s *Store) Events(ctx context.Context) ([]EventState, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT webhook_action_id, action, status, attempts, duplicates, COALESCE(last_error, '') FROM inbox_events ORDER BY received_at`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []EventState
	for rows.Next() {
		var e EventState
		if err := rows.Scan(&e.WebhookActionID, &e.Action, &e.Status, &e.Attempts, &e.Duplicates, &e.LastError); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// NewOwner names a worker process: host, pid and a random suffix.
func NewOwner() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}
