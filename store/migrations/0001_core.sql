-- Core schema: organizations, API keys, the document store, the change
-- counter and the event outbox.

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- counters.chg orders changes on SQLite (see Tx.ChangeTx). PostgreSQL
-- uses transaction ids instead but keeps the row for uniformity.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('chg', 0);

CREATE TABLE orgs (
    id         TEXT PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    settings   TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id),
    title       TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    scopes      TEXT NOT NULL,
    user_id     TEXT,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX api_keys_org ON api_keys (org_id, created_at);

-- docs holds every Ashby object as the JSON the API returns (doc), plus
-- the columns queries filter and order on. Kinds give the generic columns
-- their meaning (store/kind.go).
CREATE TABLE docs (
    org_id     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    chg_tx     BIGINT NOT NULL,
    archived   INTEGER NOT NULL DEFAULT 0,
    parent_id  TEXT,
    ref_id     TEXT,
    state      TEXT,
    skey       TEXT,
    uniq       TEXT,
    t1         BIGINT,
    t2         BIGINT,
    doc        TEXT NOT NULL,
    meta       TEXT,
    PRIMARY KEY (org_id, kind, id)
);
CREATE INDEX docs_created ON docs (org_id, kind, created_at, id);
CREATE INDEX docs_changed ON docs (org_id, kind, chg_tx, id);
CREATE INDEX docs_parent ON docs (org_id, kind, parent_id, created_at, id) WHERE parent_id IS NOT NULL;
CREATE INDEX docs_ref ON docs (org_id, kind, ref_id) WHERE ref_id IS NOT NULL;
CREATE INDEX docs_skey ON docs (org_id, kind, skey) WHERE skey IS NOT NULL;
CREATE UNIQUE INDEX docs_uniq ON docs (org_id, kind, uniq) WHERE uniq IS NOT NULL;

-- doc_keys indexes multi-valued lookups (a candidate's email addresses, a
-- tag's candidates) that one column cannot hold.
CREATE TABLE doc_keys (
    org_id TEXT NOT NULL,
    kind   TEXT NOT NULL,
    name   TEXT NOT NULL,
    value  TEXT NOT NULL,
    id     TEXT NOT NULL,
    PRIMARY KEY (org_id, kind, name, value, id)
);
CREATE INDEX doc_keys_id ON doc_keys (org_id, kind, id);

-- events is the transactional outbox: an event is inserted in the same
-- transaction as the change that causes it (Tx.Emit).
CREATE TABLE events (
    seq        ${AUTOID},
    id         TEXT NOT NULL UNIQUE,
    org_id     TEXT NOT NULL,
    action     TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_org ON events (org_id, seq);
