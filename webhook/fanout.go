package webhook

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
)

// fanOutBatch is how many events one fan-out transaction reads.
const fanOutBatch = 500

func (d *Dispatcher) fanOutLoop(ctx context.Context) {
	defer d.loops.Done()
	poll := time.NewTicker(d.cfg.Poll)
	defer poll.Stop()
	// retry re-runs the fan-out soon while events wait behind the
	// PostgreSQL horizon (a transaction that started earlier is still
	// running); it backs off to the poll interval.
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	wait, failures := 2*time.Millisecond, 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wakeFan:
		case <-poll.C:
		case <-retry.C:
		}
		for {
			n, read, behind, err := d.fanOut(ctx)
			if err != nil {
				if isCanceled(err) || ctx.Err() != nil {
					return
				}
				failures++
				d.log.Error("webhook fan-out failed", "err", err)
				if !sleep(ctx, backoffAfterError(failures)) {
					return
				}
				continue
			}
			failures = 0
			if n > 0 {
				signal(d.wakeClaim)
			}
			if behind {
				retry.Reset(wait)
				wait = min(2*wait, d.cfg.Poll)
				break
			}
			wait = 2 * time.Millisecond
			if read < fanOutBatch {
				break
			}
		}
	}
}

type outboxEvent struct {
	seq, xid  int64
	id, org   string
	action    string
	createdAt int64
}

type subscriber struct {
	id, typ   string
	createdAt int64
}

// fanOut turns the next batch of events into deliveries, one per enabled
// setting of the event's organization subscribed to its action and created
// no later than the event, and advances the cursor, all in one
// transaction: an event is fanned out exactly once, however many
// processes run this and wherever one of them dies.
//
// Events are read in commit order. On SQLite, the single writer makes
// sequence order commit order. On PostgreSQL, sequence numbers are taken
// before commit, so a reader that went past a number could miss an event
// whose transaction commits later; events are therefore read in
// (transaction id, seq) order and only below the snapshot horizon, the
// oldest transaction still running: everything below it has finished, and
// no later event can sort below the cursor. It returns the deliveries
// queued that it could not start itself and the events read; behind
// reports events that wait for the horizon to move.
//
// The cursor row is locked for the transaction, so fan-outs of several
// processes take turns rather than racing; the unique (event, setting)
// index would turn a race into a conflict anyway.
func (d *Dispatcher) fanOut(ctx context.Context) (n, read int, behind bool, err error) {
	horizon := int64(math.MaxInt64)
	if d.db.Engine() == store.Postgres {
		if horizon, err = d.db.Horizon(ctx); err != nil {
			return 0, 0, false, err
		}
	}
	var cl claimed
	err = d.db.Write(ctx, func(tx *store.Tx) error {
		// Losing this transaction to a database crash only means doing the
		// work again, which at-least-once delivery allows.
		if err := tx.RelaxDurability(ctx); err != nil {
			return err
		}
		n, read, behind = 0, 0, false
		cl.reset(d)
		lock := ""
		if d.db.Engine() == store.Postgres {
			lock = " FOR UPDATE"
		}
		var cx, cs int64
		if err := tx.QueryRowContext(ctx, `SELECT xid, seq FROM webhook_cursor WHERE name = 'fanout'`+lock).Scan(&cx, &cs); err != nil {
			return fmt.Errorf("read fan-out cursor: %w", err)
		}
		rows, err := tx.QueryContext(ctx, `SELECT seq, xid, id, org_id, action, created_at FROM events
			WHERE (xid, seq) > ($1, $2) ORDER BY xid, seq LIMIT $3`, cx, cs, fanOutBatch)
		if err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		var evs []outboxEvent
		for rows.Next() {
			var e outboxEvent
			if err := rows.Scan(&e.seq, &e.xid, &e.id, &e.org, &e.action, &e.createdAt); err != nil {
				rows.Close()
				return fmt.Errorf("read events: %w", err)
			}
			if e.xid >= horizon {
				behind = true
				break
			}
			evs = append(evs, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		read = len(evs)
		if len(evs) == 0 {
			return nil
		}
		subs, err := subscribers(ctx, tx, evs)
		if err != nil {
			return err
		}
		now := store.Millis(d.db.Now())
		var batch []any
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			if err := insertDeliveries(ctx, tx, batch); err != nil {
				return err
			}
			batch = batch[:0]
			return nil
		}
		for _, e := range evs {
			for _, s := range subs[e.org] {
				if s.typ != e.action || s.createdAt > e.createdAt {
					continue
				}
				batch = append(batch, ashby.NewID(), e.org, s.id, e.id, e.action, nil, TriggerEvent, StatePending, now, e.createdAt, now)
				n++
				if len(batch) >= 50*deliveryCols { // few parameters per statement: SQLite looks $n up linearly
					if err := flush(); err != nil {
						return err
					}
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
		last := evs[len(evs)-1]
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_cursor SET xid = $1, seq = $2 WHERE name = 'fanout'`, last.xid, last.seq); err != nil {
			return fmt.Errorf("advance fan-out cursor: %w", err)
		}
		if n == 0 {
			return nil
		}
		// Start the new deliveries this process has workers for, in the
		// same transaction: no separate claim is needed for them.
		free, full := d.free()
		return d.claimTx(ctx, tx, free, full, &cl)
	})
	if err != nil {
		cl.reset(d)
		return 0, 0, false, err
	}
	d.cfg.Metrics.fannedOut.Add(float64(read))
	// n becomes the deliveries left for the claim loop.
	n -= d.launch(&cl)
	return max(n, 0), read, behind, nil
}

// subscribers loads the enabled settings of the events' organizations.
func subscribers(ctx context.Context, tx *store.Tx, evs []outboxEvent) (map[string][]subscriber, error) {
	orgs := map[string]bool{}
	args := []any{Settings.Name}
	var ph []string
	for _, e := range evs {
		if !orgs[e.org] {
			orgs[e.org] = true
			args = append(args, e.org)
			ph = append(ph, fmt.Sprintf("$%d", len(args)))
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT org_id, id, state, created_at FROM docs
		WHERE kind = $1 AND archived = 0 AND org_id IN (`+strings.Join(ph, ",")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("read webhook subscribers: %w", err)
	}
	defer rows.Close()
	out := map[string][]subscriber{}
	for rows.Next() {
		var org string
		var s subscriber
		var typ sql.NullString
		if err := rows.Scan(&org, &s.id, &typ, &s.createdAt); err != nil {
			return nil, fmt.Errorf("read webhook subscribers: %w", err)
		}
		s.typ = typ.String
		out[org] = append(out[org], s)
	}
	return out, rows.Err()
}

// deliveryCols is the number of values insertDeliveries takes per row.
const deliveryCols = 11

// insertDeliveries inserts pending deliveries; vals holds deliveryCols
// values per row: id, org, setting, event id, action, payload, trigger,
// state, next_at, event_at, created_at.
func insertDeliveries(ctx context.Context, tx *store.Tx, vals []any) error {
	var b strings.Builder
	b.WriteString(`INSERT INTO webhook_deliveries (id, org_id, setting_id, event_id, action, payload, trigger, state, next_at, event_at, created_at) VALUES `)
	for i := 0; i < len(vals); i += deliveryCols {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := range deliveryCols {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "$%d", i+j+1)
		}
		b.WriteByte(')')
	}
	b.WriteString(` ON CONFLICT DO NOTHING`)
	if _, err := tx.ExecContext(ctx, b.String(), vals...); err != nil {
		return fmt.Errorf("queue webhook deliveries: %w", err)
	}
	return nil
}
