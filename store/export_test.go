package store

import "time"

// SetGroupAge keeps SQLite's write batches open for d (tests that build
// a batch of known members).
func SetGroupAge(db *DB, d time.Duration) { db.group.maxAge = d }
