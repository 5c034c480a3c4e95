package store

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// ErrBackupPostgres is returned by Backup on PostgreSQL, whose own tool
// makes consistent online dumps.
var ErrBackupPostgres = errors.New("PostgreSQL databases are backed up with pg_dump (pg_dump --format=custom --file=FILE DSN), which takes a consistent snapshot while the server runs; restore with pg_restore")

// Backup writes a consistent snapshot of a SQLite database to path, which
// must not exist. It runs while other processes write: VACUUM INTO reads
// one snapshot in a read transaction, and in WAL mode that blocks no
// writer. The copy is compact and self-contained (no -wal file).
func (db *DB) Backup(ctx context.Context, path string) error {
	if db.engine != SQLite {
		return ErrBackupPostgres
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("backup: %s already exists; choose a new file name", path)
	}
	// On the write connection: the read pool's query_only forbids VACUUM
	// INTO. It still takes only a read transaction, so the server's writer
	// carries on.
	if _, err := db.w.ExecContext(ctx, `VACUUM INTO $1`, path); err != nil {
		os.Remove(path)
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	return nil
}
