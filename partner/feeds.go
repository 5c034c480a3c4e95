package partner

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
)

// Feed is a job-distribution partner's dedicated feed (https://developers.ashbyhq.com/docs/dedicated-partner-job-feeds).
// The server's operator sets feeds up (`ashlar partner feed create`);
// organizations opt in and out. The token that reads the feed is shown
// once: only its SHA-256 is stored.
type Feed struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Title     string    `json:"title"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

var feedNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ErrFeedExists is returned when a feed name is taken.
var ErrFeedExists = errors.New("a feed with this name exists")

// HashToken is how feed tokens are stored and looked up.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "feed_" + base64.RawURLEncoding.EncodeToString(b)
}

// CreateFeed sets up a feed and returns it with its token.
func CreateFeed(ctx context.Context, db *store.DB, name, title string) (*Feed, string, error) {
	name = strings.TrimSpace(name)
	if !feedNameRE.MatchString(name) {
		return nil, "", fmt.Errorf("invalid feed name %q: use lower-case letters, digits and dashes", name)
	}
	if strings.TrimSpace(title) == "" {
		title = name
	}
	token := newToken()
	now := db.Now().UTC().Truncate(time.Millisecond)
	f := &Feed{ID: ashby.NewID(), Name: name, Title: strings.TrimSpace(title), CreatedAt: now, UpdatedAt: now}
	err := db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO partner_feeds (id, name, title, token_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)`,
			f.ID, f.Name, f.Title, HashToken(token), store.Millis(now))
		if store.IsUniqueViolation(err) {
			return fmt.Errorf("%w: %s", ErrFeedExists, name)
		}
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("create feed: %w", err)
	}
	return f, token, nil
}

const feedColumns = `id, name, title, version, created_at, updated_at`

func scanFeed(scan func(...any) error) (*Feed, error) {
	var f Feed
	var c, u int64
	if err := scan(&f.ID, &f.Name, &f.Title, &f.Version, &c, &u); err != nil {
		return nil, err
	}
	f.CreatedAt, f.UpdatedAt = time.UnixMilli(c).UTC(), time.UnixMilli(u).UTC()
	return &f, nil
}

// Feeds lists every feed, by name.
func Feeds(ctx context.Context, q store.Q) ([]*Feed, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+feedColumns+` FROM partner_feeds ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list feeds: %w", err)
	}
	defer rows.Close()
	var out []*Feed
	for rows.Next() {
		f, err := scanFeed(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("list feeds: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

func feedBy(ctx context.Context, q store.Q, col, v string) (*Feed, error) {
	f, err := scanFeed(q.QueryRowContext(ctx, `SELECT `+feedColumns+` FROM partner_feeds WHERE `+col+` = $1`, v).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get feed: %w", err)
	}
	return f, nil
}

// FeedByID returns a feed by id.
func FeedByID(ctx context.Context, q store.Q, id string) (*Feed, error) {
	return feedBy(ctx, q, "id", id)
}

// FeedByName returns a feed by name.
func FeedByName(ctx context.Context, q store.Q, name string) (*Feed, error) {
	return feedBy(ctx, q, "name", name)
}

// FeedByToken returns the feed a token reads.
func FeedByToken(ctx context.Context, q store.Q, token string) (*Feed, error) {
	if token == "" {
		return nil, store.ErrNotFound
	}
	return feedBy(ctx, q, "token_hash", HashToken(token))
}

// RotateFeedToken gives a feed a new token; the old one stops working at once.
func RotateFeedToken(ctx context.Context, db *store.DB, id string) (string, error) {
	token := newToken()
	err := db.Write(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE partner_feeds SET token_hash = $2, updated_at = $3 WHERE id = $1`, id, HashToken(token), store.Millis(db.Now()))
		if err != nil {
			return fmt.Errorf("rotate feed token: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	return token, err
}

// DeleteFeed removes a feed and every opt-in to it.
func DeleteFeed(ctx context.Context, db *store.DB, id string) error {
	return db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM partner_feed_optins WHERE feed_id = $1`, id); err != nil {
			return fmt.Errorf("delete feed opt-ins: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM partner_feeds WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("delete feed: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
}

// OptIn shares an organization's published postings with a feed. It
// reports whether anything changed (false: it was opted in already).
func OptIn(ctx context.Context, tx *store.Tx, feedID, org string) (bool, error) {
	now := store.Millis(tx.DB().Now())
	res, err := tx.ExecContext(ctx, `INSERT INTO partner_feed_optins (feed_id, org_id, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (feed_id, org_id) DO NOTHING`, feedID, org, now)
	if err != nil {
		return false, fmt.Errorf("opt in to feed: %w", err)
	}
	n, _ := res.RowsAffected()
	if n == 0 {
		return false, nil
	}
	return true, bumpFeed(ctx, tx, feedID, now)
}

// OptOut stops sharing an organization's postings with a feed. It
// reports whether anything changed.
func OptOut(ctx context.Context, tx *store.Tx, feedID, org string) (bool, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM partner_feed_optins WHERE feed_id = $1 AND org_id = $2`, feedID, org)
	if err != nil {
		return false, fmt.Errorf("opt out of feed: %w", err)
	}
	n, _ := res.RowsAffected()
	if n == 0 {
		return false, nil
	}
	return true, bumpFeed(ctx, tx, feedID, store.Millis(tx.DB().Now()))
}

// bumpFeed moves a feed's version, which servers compare to rebuild it.
func bumpFeed(ctx context.Context, tx *store.Tx, feedID string, now int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE partner_feeds SET version = version + 1, updated_at = $2 WHERE id = $1`, feedID, now); err != nil {
		return fmt.Errorf("update feed version: %w", err)
	}
	return nil
}

// OptIns returns an organization's opt-ins: feed id → when.
func OptIns(ctx context.Context, q store.Q, org string) (map[string]time.Time, error) {
	rows, err := q.QueryContext(ctx, `SELECT feed_id, created_at FROM partner_feed_optins WHERE org_id = $1`, org)
	if err != nil {
		return nil, fmt.Errorf("list feed opt-ins: %w", err)
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

// FeedOrgs returns the organizations opted in to a feed, in opt-in order.
func FeedOrgs(ctx context.Context, q store.Q, feedID string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT org_id FROM partner_feed_optins WHERE feed_id = $1 ORDER BY created_at, org_id`, feedID)
	if err != nil {
		return nil, fmt.Errorf("list feed organizations: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
