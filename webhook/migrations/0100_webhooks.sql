-- Webhook delivery: the fan-out cursor over the events outbox, one
-- delivery per (event, setting), and every attempt made.

-- events.xid is the id of the transaction that recorded the event
-- (PostgreSQL; 0 on SQLite). The fan-out reads events below the snapshot
-- horizon in (xid, seq) order, so an event whose transaction commits late
-- is never skipped (see Dispatcher.fanOut). Emit's INSERT names its
-- columns, so the default stamps every event without code in the store.
ALTER TABLE events ADD COLUMN xid BIGINT NOT NULL DEFAULT ${XACT_ID};
CREATE INDEX events_xid ON events (xid, seq);

-- webhook_cursor holds the position of the last event fanned out. Its
-- row is locked by the fan-out transaction, so processes take turns.
CREATE TABLE webhook_cursor (
    name TEXT PRIMARY KEY,
    xid  BIGINT NOT NULL,
    seq  BIGINT NOT NULL
);
INSERT INTO webhook_cursor (name, xid, seq) VALUES ('fanout', 0, 0);

-- webhook_deliveries: one event (or ping) to one setting. state is
-- pending, succeeded, failed or cancelled. A pending row whose lease_until
-- is in the future is being attempted by lease_owner; attempts counts the
-- attempts started, and (lease_owner, attempts) fences the result.
CREATE TABLE webhook_deliveries (
    seq         ${AUTOID},
    id          TEXT NOT NULL UNIQUE,
    org_id      TEXT NOT NULL,
    setting_id  TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    action      TEXT NOT NULL,
    payload     TEXT,
    trigger     TEXT NOT NULL,
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    event_at    BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    done_at     BIGINT,
    last_error  TEXT
);
CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries (event_id, setting_id) WHERE trigger = 'event';
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at, seq) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_org ON webhook_deliveries (org_id, seq);
CREATE INDEX webhook_deliveries_setting ON webhook_deliveries (org_id, setting_id, seq);
CREATE INDEX webhook_deliveries_action ON webhook_deliveries (org_id, event_id);
CREATE INDEX webhook_deliveries_done ON webhook_deliveries (done_at) WHERE done_at IS NOT NULL;

-- webhook_attempts keeps every HTTP attempt of a delivery.
CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    org_id      TEXT NOT NULL,
    worker      TEXT NOT NULL,
    url         TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    latency_ms  BIGINT NOT NULL,
    status_code INTEGER NOT NULL DEFAULT 0,
    outcome     TEXT NOT NULL,
    response    TEXT,
    error       TEXT,
    PRIMARY KEY (delivery_id, attempt)
);
