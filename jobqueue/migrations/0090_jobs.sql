-- The job queue (docs/jobs.md): one table for every kind of background
-- work (webhook deliveries, calls to partners, periodic jobs …) and one
-- for the attempts made at each job.

-- jobs: state is pending, succeeded, failed or cancelled. A pending job
-- is due once run_at has passed; one whose lease_until lies ahead is being
-- worked on by lease_owner, and (lease_owner, attempts) fences the
-- recording of its result. Every time here (run_at, lease_until,
-- created_at, done_at) is read from the database's clock, never from a
-- server's, so that servers whose clocks disagree agree on leases.
--
-- limit_key is what the per-key concurrency limit counts (a webhook
-- setting, a partner integration); subject and action are what listings
-- filter on (a delivery's event and action, a call's subject and
-- method). unique_key, when set, makes a job unique: inserting another
-- with the same key inserts nothing.
CREATE TABLE jobs (
    seq         ${AUTOID},
    id          TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    org_id      TEXT NOT NULL DEFAULT '',
    limit_key   TEXT NOT NULL DEFAULT '',
    subject     TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL DEFAULT '',
    unique_key  TEXT,
    args        TEXT NOT NULL,
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_at      BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    created_at  BIGINT NOT NULL,
    done_at     BIGINT,
    last_error  TEXT
);
CREATE UNIQUE INDEX jobs_unique ON jobs (unique_key) WHERE unique_key IS NOT NULL;
-- Claims: the due pending jobs of a kind, oldest first …
CREATE INDEX jobs_due ON jobs (kind, run_at, seq) WHERE state = 'pending';
-- … and per limit key, when some keys are at their limit.
CREATE INDEX jobs_due_key ON jobs (kind, limit_key, run_at, seq) WHERE state = 'pending';
-- Listings, newest first: all of an organization's jobs of a kind, by
-- limit key, by subject.
CREATE INDEX jobs_org ON jobs (org_id, kind, seq);
CREATE INDEX jobs_org_key ON jobs (org_id, kind, limit_key, seq);
CREATE INDEX jobs_org_subject ON jobs (org_id, kind, subject, seq);
-- Retention.
CREATE INDEX jobs_done ON jobs (kind, done_at) WHERE done_at IS NOT NULL;

-- job_attempts keeps every attempt at a job: who made it, when, how long
-- it took, its outcome and error, and what the job's kind records about
-- it (detail, JSON: a webhook delivery's URL, status and response).
CREATE TABLE job_attempts (
    job_id      TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    worker      TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    outcome     TEXT NOT NULL,
    error       TEXT,
    detail      TEXT,
    PRIMARY KEY (job_id, attempt)
);
