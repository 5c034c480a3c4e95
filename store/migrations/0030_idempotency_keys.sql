-- idempotency_keys records the Idempotency-Key of each mutating API
-- request (docs/idempotency.md): who sent it, a fingerprint of the
-- request, and once it finished the response to replay. While a request
-- runs, owner names it and lease_until (the database's clock, epoch ms)
-- bounds how long another process waits for it; applied is set in the
-- same transaction as each write the request commits, so a crash can
-- never leave a write without its key or a key claiming a write that was
-- rolled back.
CREATE TABLE idempotency_keys (
    org_id      TEXT NOT NULL,
    principal   TEXT NOT NULL,
    idem_key    TEXT NOT NULL,
    endpoint    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    owner       TEXT,
    lease_until BIGINT NOT NULL,
    applied     INTEGER NOT NULL DEFAULT 0,
    status      INTEGER,
    response    TEXT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (org_id, principal, idem_key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
