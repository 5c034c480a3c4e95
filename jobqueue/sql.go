package jobqueue

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ashlarhq/ashlar/store"
)

// SQL that differs between the engines is written once with these
// placeholders and expanded per engine (expand):
//
//	{now}         the database clock, epoch milliseconds
//	{skiplocked}  " FOR UPDATE SKIP LOCKED" on PostgreSQL
//	{forupdate}   " FOR UPDATE" on PostgreSQL
//	{in col $n}   col is one of the strings of the JSON array parameter $n
//	{inseq col $n}  col is one of its numbers
//	{rows $n a:T b:T …}  the objects of a JSON array parameter as rows
//	              with columns a, b … of SQL type T (BIGINT or TEXT)
//	{rowseq col $n}  col is the seq of one of those rows (PostgreSQL;
//	              true on SQLite, which joins the rows by rowid anyway)
//	{max}         GREATEST (PostgreSQL) or MAX (SQLite) of two values
//
// Lists travel as one JSON parameter rather than one parameter per
// value: the statement's text is then the same for every batch size, so
// SQLite prepares it once, and no statement nears a parameter limit. On
// PostgreSQL a list becomes an array (= ANY(ARRAY(…))), which the
// planner matches against an index whatever its statistics say: joined
// as a set-returning function, a fresh table without statistics (no
// autovacuum yet) was read whole for every batch, 11 ms at 20,000 jobs.

// nowSQL is the database's clock in epoch milliseconds. Lease and
// schedule decisions compare against it, never against a server's clock
// (docs/jobs.md, "Clocks"). On SQLite, whose processes share one
// machine, it is that machine's clock.
var nowSQL = map[store.Engine]string{
	store.Postgres: `CAST(EXTRACT(EPOCH FROM statement_timestamp()) * 1000 AS BIGINT)`,
	store.SQLite:   `CAST(unixepoch('subsec') * 1000 AS INTEGER)`,
}

var expanded sync.Map // engine + "\x00" + template → SQL

// expand returns the template's SQL for the engine, cached.
func expand(e store.Engine, tmpl string) string {
	k := e.String() + "\x00" + tmpl
	if s, ok := expanded.Load(k); ok {
		return s.(string)
	}
	s := expandNow(e, tmpl)
	expanded.Store(k, s)
	return s
}

func expandNow(e store.Engine, tmpl string) string {
	pg := e == store.Postgres
	var b strings.Builder
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			panic("jobqueue: unclosed placeholder in " + tmpl)
		}
		b.WriteString(tmpl[:i])
		f := strings.Fields(tmpl[i+1 : i+j])
		tmpl = tmpl[i+j+1:]
		switch f[0] {
		case "now":
			b.WriteString(nowSQL[e])
		case "skiplocked":
			if pg {
				b.WriteString(" FOR UPDATE SKIP LOCKED")
			}
		case "forupdate":
			if pg {
				b.WriteString(" FOR UPDATE")
			}
		case "max":
			if pg {
				b.WriteString("GREATEST")
			} else {
				b.WriteString("MAX")
			}
		case "in", "inseq":
			cast := "value"
			if f[0] == "inseq" {
				cast = "CAST(value AS BIGINT)"
			}
			if pg {
				fmt.Fprintf(&b, "%s = ANY(ARRAY(SELECT %s FROM jsonb_array_elements_text(CAST(%s AS jsonb))))", f[1], cast, f[2])
			} else {
				fmt.Fprintf(&b, "%s IN (SELECT value FROM json_each(%s))", f[1], f[2])
			}
		case "rowseq":
			if pg {
				fmt.Fprintf(&b, "%s = ANY(ARRAY(SELECT CAST(x->>'seq' AS BIGINT) FROM jsonb_array_elements(CAST(%s AS jsonb)) x))", f[1], f[2])
			} else {
				b.WriteString("1 = 1")
			}
		case "rows":
			var cols []string
			for _, c := range f[2:] {
				name, typ, _ := strings.Cut(c, ":")
				if pg {
					cols = append(cols, name+" "+typ)
				} else {
					cols = append(cols, fmt.Sprintf("json_extract(value, '$.%s') AS %s", name, name))
				}
			}
			if pg {
				fmt.Fprintf(&b, "jsonb_to_recordset(CAST(%s AS jsonb)) AS v(%s)", f[1], strings.Join(cols, ", "))
			} else {
				fmt.Fprintf(&b, "(SELECT %s FROM json_each(%s)) AS v", strings.Join(cols, ", "), f[1])
			}
		default:
			panic("jobqueue: unknown placeholder {" + f[0] + "}")
		}
	}
}

// jsonParam encodes a list or rows for an {in}/{rows} placeholder.
func jsonParam(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only strings and numbers are passed
	}
	return string(b)
}

// DBNow reads the database's clock: the time every lease and schedule
// decision of the queue is made against.
func DBNow(ctx context.Context, q store.Q) (time.Time, error) {
	var ms int64
	if err := q.QueryRowContext(ctx, `SELECT `+nowSQL[store.EngineOf(q)]).Scan(&ms); err != nil {
		return time.Time{}, fmt.Errorf("read the database clock: %w", err)
	}
	return time.UnixMilli(ms), nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
