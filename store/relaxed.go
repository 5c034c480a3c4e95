package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"
)

// WriteRelaxed is Write for bookkeeping that is safe to redo — the job
// queue's claims and attempt records, under at-least-once delivery: its
// commit returns before the log reaches the disk, so a crash of the
// machine may lose the transaction (never corrupt or half-apply it), and
// the work it recorded is simply done again.
//
// On PostgreSQL the transaction sets synchronous_commit = off. On SQLite
// with synchronous=FULL (the default, Options.SQLiteSynchronous), the
// write connection runs the transaction with synchronous=NORMAL: in WAL
// mode the log is then synced at checkpoints rather than at each commit,
// about four times cheaper a commit. SQLite changes the setting only
// between transactions, so the connection is held from before BEGIN until
// FULL is restored after COMMIT; no other transaction uses it meanwhile,
// and one that cannot be restored is discarded rather than reused.
func (db *DB) WriteRelaxed(ctx context.Context, fn func(tx *Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := db.writeOnce(ctx, fn, true)
		if err == nil || attempt >= 8 || !retryable(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(1<<attempt) * 5 * time.Millisecond)
	}
}

// beginRelaxedSQLite takes the write connection, relaxes it and begins.
func (db *DB) beginRelaxedSQLite(ctx context.Context) (*sql.Conn, *sql.Tx, error) {
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("begin: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = NORMAL`); err != nil {
		db.endRelaxedSQLite(conn)
		return nil, nil, fmt.Errorf("relax durability: %w", err)
	}
	stx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		db.endRelaxedSQLite(conn)
		return nil, nil, fmt.Errorf("begin: %w", err)
	}
	return conn, stx, nil
}

// endRelaxedSQLite restores the connection's setting and releases it;
// the transaction has ended. A connection left relaxed would weaken every
// later write, so one that cannot be restored is discarded (the pool
// opens a new one with the DSN's settings).
func (db *DB) endRelaxedSQLite(conn *sql.Conn) {
	if _, err := conn.ExecContext(context.Background(), `PRAGMA synchronous = `+db.sqliteSync); err != nil {
		conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	conn.Close()
}
