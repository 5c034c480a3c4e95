package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Maintain keeps the query planner's statistics current until ctx ends.
//
// List queries rely on the planner choosing the (org, kind, created_at, id)
// index. Without statistics (a freshly loaded PostgreSQL table that
// autovacuum does not analyze) it estimated one row and sorted the whole
// kind instead: 600 ms instead of 0.7 ms for a first page of 100,000
// candidates. So: on PostgreSQL, tables that autovacuum leaves alone (off
// for the server, or for the table) and that changed by more than a tenth
// since their last analysis are analyzed; on SQLite, PRAGMA optimize does
// the equivalent, including for tables never analyzed before.
func (db *DB) Maintain(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := db.RefreshStatistics(ctx); err != nil && ctx.Err() == nil {
			log.Warn("maintaining planner statistics", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RefreshStatistics brings the planner's statistics up to date once, as
// Maintain does periodically; bulk loads call it between batches.
func (db *DB) RefreshStatistics(ctx context.Context) error {
	if db.engine == SQLite {
		// 0x10002: analyze what would benefit, tables never analyzed
		// included (the default mask skips those).
		// analysis_limit makes ANALYZE sample about 1,000 rows of each
		// index rather than read it whole: on 100,000 candidates a full
		// pass held the only write connection for over half a second of
		// CPU each time the statistics were found stale (every minute
		// under a write load); SQLite recommends it with optimize.
		if _, err := db.w.ExecContext(ctx, `PRAGMA analysis_limit = 1000; PRAGMA optimize(0x10002)`); err != nil {
			return fmt.Errorf("pragma optimize: %w", err)
		}
		return db.dropSamples(ctx)
	}
	rows, err := db.r.QueryContext(ctx, `
		SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
		WHERE s.schemaname = current_schema() AND s.n_mod_since_analyze > 50 + s.n_live_tup / 10
		AND (current_setting('autovacuum') = 'off' OR 'autovacuum_enabled=false' = ANY (coalesce(c.reloptions, '{}')))`)
	if err != nil {
		return fmt.Errorf("find tables to analyze: %w", err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find tables to analyze: %w", err)
	}
	for _, t := range tables {
		// Table names come from the catalog of our own schema.
		if _, err := db.w.ExecContext(ctx, `ANALYZE "`+t+`"`); err != nil {
			return fmt.Errorf("analyze %s: %w", t, err)
		}
	}
	return nil
}

// dropSamples deletes the samples ANALYZE keeps in sqlite_stat4 (the
// driver's SQLite is built with STAT4), keeping sqlite_stat1's averages.
// With samples present, every statement whose WHERE compares an indexed
// column with a parameter (org_id = $1 AND kind = $2: nearly all of
// ours) is compiled again at every execution, so that the plan can
// follow the bound values; that was a tenth of the server's time in list
// profiles. The averages choose the same plans for our queries.
func (db *DB) dropSamples(ctx context.Context) error {
	var n int
	if err := db.w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat4'`).Scan(&n); err != nil {
		return fmt.Errorf("look for sqlite_stat4: %w", err)
	}
	if n == 0 {
		return nil
	}
	var samples int
	if err := db.w.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM sqlite_stat4 LIMIT 1)`).Scan(&samples); err != nil {
		return fmt.Errorf("count sqlite_stat4: %w", err)
	}
	if samples == 0 {
		return nil
	}
	// ANALYZE sqlite_schema makes every connection load the statistics
	// again, now without samples.
	if _, err := db.w.ExecContext(ctx, `DELETE FROM sqlite_stat4; ANALYZE sqlite_schema`); err != nil {
		return fmt.Errorf("drop sqlite_stat4 samples: %w", err)
	}
	return nil
}
