-- emails: every email Ashlar sends or would send, with its status
-- (docs/email.md). Delivery is a job of the job queue (kind email.send);
-- this table is what people and the API see of it.
--
-- status: queued (waiting for send_at, or being delivered and retried),
-- sent, failed (given up, reason says why) or not_sent (no SMTP server
-- was configured when it was made, reason says so). Times are epoch
-- milliseconds.
CREATE TABLE emails (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL,
    candidate_id   TEXT,
    application_id TEXT,
    kind           TEXT NOT NULL,
    template_id    TEXT,
    sender_user_id TEXT,
    from_addr      TEXT NOT NULL,
    to_addr        TEXT NOT NULL,
    reply_to       TEXT,
    subject        TEXT NOT NULL,
    body_html      TEXT NOT NULL,
    body_text      TEXT NOT NULL,
    message_id     TEXT NOT NULL,
    status         TEXT NOT NULL,
    reason         TEXT,
    attempts       INTEGER NOT NULL DEFAULT 0,
    send_at        BIGINT NOT NULL,
    sent_at        BIGINT,
    created_at     BIGINT NOT NULL
);
CREATE INDEX emails_candidate ON emails (org_id, candidate_id, created_at);
CREATE INDEX emails_org ON emails (org_id, created_at);
