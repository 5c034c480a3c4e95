package webhook

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/jobqueue"
	"github.com/ashlarhq/ashlar/store"
)

// fanOutBatch is how many events one fan-out transaction reads.
const fanOutBatch = 500

// behindMaxWait bounds the pause between fan-outs while events wait
// behind an open transaction: the horizon is the whole PostgreSQL
// server's, so any session's transaction can hold events back, and a wait
// that doubled up to the poll interval added up to a second to their
// latency after it ended.
const behindMaxWait = 20 * time.Millisecond

func (d *Dispatcher) fanOutLoop(ctx context.Context) {
	defer d.loops.Done()
	poll := time.NewTicker(d.cfg.Poll)
	defer poll.Stop()
	// retry re-runs the fan-out soon while events wait behind the
	// PostgreSQL horizon (a transaction that started earlier is still
	// running); it backs off to behindMaxWait.
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
			_, read, behind, err := d.fanOut(ctx)
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
			if behind {
				retry.Reset(wait)
				wait = min(2*wait, d.cfg.Poll, behindMaxWait)
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

// fanOut turns the next batch of events into delivery jobs, one per
// enabled setting of the event's organization subscribed to its action
// and created no later than the event, and advances the cursor, all in
// one transaction: an event is fanned out exactly once, however many
// processes run this and wherever one of them dies.
//
// Events are read in commit order. On SQLite, the single writer makes
// sequence order commit order. On PostgreSQL, sequence numbers are taken
// before commit, so a reader that went past a number could miss an event
// whose transaction commits later; events are therefore read in
// (transaction id, seq) order and only below the snapshot horizon, the
// oldest transaction still running: everything below it has finished, and
// no later event can sort below the cursor. It returns the deliveries
// queued and the events read; behind reports events that wait for the
// horizon to move.
//
// The cursor row is locked for the transaction, so fan-outs of several
// processes take turns rather than racing; each event delivery's unique
// key (event, setting) would turn a race into nothing inserted anyway.
func (d *Dispatcher) fanOut(ctx context.Context) (n, read int, behind bool, err error) {
	horizon := int64(math.MaxInt64)
	if d.db.Engine() == store.Postgres {
		if horizon, err = d.db.Horizon(ctx); err != nil {
			return 0, 0, false, err
		}
	}
	var claim *jobqueue.TxClaim
	// Losing this transaction to a database crash only means doing the
	// work again, which at-least-once delivery allows.
	err = d.db.WriteRelaxed(ctx, func(tx *store.Tx) error {
		claim.Abandon() // a retried transaction starts over
		claim = nil
		n, read, behind = 0, 0, false
		lock := ""
		if d.db.Engine() == store.Postgres {
			lock = " FOR UPDATE"
		}
		var cx, cs int64
		if err := tx.QueryRowContext(ctx, `SELECT xid, seq FROM webhook_cursor WHERE name = 'fanout'`+lock).Scan(&cx, &cs); err != nil {
			return fmt.Errorf("read fan-out cursor: %w", err)
		}
		// On SQLite xid is always 0 and seq order is commit order. Its
		// planner bounds an index range by the first column of a row value
		// only, so (xid, seq) > (0, n) read every event ever recorded: the
		// fan-out asks for seq > n there.
		q := `SELECT seq, xid, id, org_id, action, created_at FROM events WHERE (xid, seq) > ($1, $2) ORDER BY xid, seq LIMIT $3`
		if d.db.Engine() == store.SQLite {
			q = `SELECT seq, xid, id, org_id, action, created_at FROM events WHERE xid = $1 AND seq > $2 ORDER BY xid, seq LIMIT $3`
		}
		rows, err := tx.QueryContext(ctx, q, cx, cs, fanOutBatch)
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
		var jobs []jobqueue.NewJob
		for _, e := range evs {
			for _, s := range subs[e.org] {
				if s.typ != e.action || s.createdAt > e.createdAt {
					continue
				}
				jobs = append(jobs, jobqueue.NewJob{Kind: Kind, OrgID: e.org, Key: s.id, Subject: e.id, Action: e.action,
					UniqueKey: "webhook:" + e.id + ":" + s.id, Args: deliveryArgs{Trigger: TriggerEvent, EventAt: e.createdAt}})
			}
		}
		n = len(jobs)
		if n > 0 {
			if _, err := jobqueue.Insert(ctx, tx, jobs...); err != nil {
				return fmt.Errorf("queue webhook deliveries: %w", err)
			}
		}
		last := evs[len(evs)-1]
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_cursor SET xid = $1, seq = $2 WHERE name = 'fanout'`, last.xid, last.seq); err != nil {
			return fmt.Errorf("advance fan-out cursor: %w", err)
		}
		if n == 0 {
			return nil
		}
		// Start the new deliveries this process has workers for, in the
		// same transaction: no claim transaction stands between an event
		// and its first attempt.
		claim, err = d.jobs.ClaimIn(ctx, tx, Kind)
		return err
	})
	if err != nil {
		claim.Abandon()
		return 0, 0, false, err
	}
	claim.Launch()
	d.cfg.Metrics.fannedOut.Add(float64(read))
	return n, read, behind, nil
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
