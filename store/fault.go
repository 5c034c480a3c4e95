package store

import (
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Unavailable reports whether err means that the database cannot serve
// right now, through no fault of the request: PostgreSQL unreachable,
// restarting or out of connections or disk, or SQLite's disk full or file
// read-only. The API answers such a request 503 with Retry-After rather
// than 500 (docs/operations.md, "When the database fails"). reason names
// the cause in a few words, for the log and the operator; it never holds
// the DSN.
func Unavailable(err error) (reason string, ok bool) {
	if err == nil {
		return "", false
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() & 0xff {
		case sqlite3.SQLITE_FULL:
			return "SQLite: the disk is full", true
		case sqlite3.SQLITE_READONLY:
			return "SQLite: the database file is read-only", true
		case sqlite3.SQLITE_IOERR:
			return "SQLite: disk I/O error", true
		case sqlite3.SQLITE_CANTOPEN:
			return "SQLite: cannot open the database file", true
		}
		return "", false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"):
			return "PostgreSQL connection failed", true
		case pgErr.Code == "57P01" || pgErr.Code == "57P02":
			return "PostgreSQL is shutting down", true
		case pgErr.Code == "57P03":
			return "PostgreSQL is starting up", true
		case pgErr.Code == "53300":
			return "PostgreSQL has no free connection slots", true
		case pgErr.Code == "53100":
			return "PostgreSQL: the disk is full", true
		case pgErr.Code == "25006":
			return "PostgreSQL is read-only (a standby?)", true
		}
		return "", false
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return "PostgreSQL unreachable", true
	}
	var netErr net.Error
	switch {
	case errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "the database connection was lost", true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "the database connection was lost", true
	case errors.As(err, &netErr):
		return "the database connection failed", true
	}
	return "", false
}
