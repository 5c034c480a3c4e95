-- Partner integrations (docs/partners.md): the calls Ashlar makes to
-- assessment and workflow partners, every attempt of them, and the
-- dedicated job feeds of job-distribution partners with the
-- organizations that opted in to each.

-- partner_calls is an outbox of calls to partners, claimed under a lease
-- as webhook deliveries are (webhook/deliver.go). A call is recorded in
-- the transaction that decides it (a stage entry records its
-- assessment.start), so a committed decision always has its call. state
-- is pending, succeeded, failed or cancelled; a pending row whose
-- lease_until is in the future is being attempted by lease_owner, and
-- (lease_owner, attempts) fences the recording of the result. dedupe
-- makes "one call per X" (one start per stage entry and trigger) a
-- database constraint rather than a hope.
CREATE TABLE partner_calls (
    seq             ${AUTOID},
    id              TEXT NOT NULL UNIQUE,
    org_id          TEXT NOT NULL,
    integration_id  TEXT NOT NULL,
    method          TEXT NOT NULL,
    subject_id      TEXT,
    dedupe          TEXT,
    idempotency_key TEXT NOT NULL,
    request         TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    created_at      BIGINT NOT NULL,
    done_at         BIGINT,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT
);
CREATE UNIQUE INDEX partner_calls_dedupe ON partner_calls (org_id, dedupe) WHERE dedupe IS NOT NULL;
CREATE INDEX partner_calls_due ON partner_calls (next_at, seq) WHERE state = 'pending';
CREATE INDEX partner_calls_org ON partner_calls (org_id, seq);
CREATE INDEX partner_calls_subject ON partner_calls (org_id, subject_id, seq);
CREATE INDEX partner_calls_integration ON partner_calls (org_id, integration_id, seq);
CREATE INDEX partner_calls_done ON partner_calls (done_at) WHERE done_at IS NOT NULL;

-- partner_call_attempts keeps every HTTP attempt of a call, with the
-- start of the partner's response.
CREATE TABLE partner_call_attempts (
    call_id     TEXT NOT NULL,
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
    PRIMARY KEY (call_id, attempt)
);

-- partner_feeds are the job-distribution partners the operator set up.
-- Only the SHA-256 of a feed's token is kept. version moves on every
-- opt-in and opt-out, so that servers rebuild the feed at once.
CREATE TABLE partner_feeds (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    title      TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    version    BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- partner_feed_optins: the organizations sharing their postings with a feed.
CREATE TABLE partner_feed_optins (
    feed_id    TEXT NOT NULL,
    org_id     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (feed_id, org_id)
);
CREATE INDEX partner_feed_optins_org ON partner_feed_optins (org_id);
