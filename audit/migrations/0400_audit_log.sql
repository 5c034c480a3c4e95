-- audit_log records every change to a record of the docs table, written in
-- the same transaction as the change (audit.Attach). One row per record a
-- transaction stored or deleted.
--
-- entry is the JSON auditLog.list returns. snapshot is the record as
-- stored after the change (NULL after a deletion): the next change to the
-- record is compared with it to compute changedFields, and it keeps the
-- record's history. The columns beside them are what auditLog.list
-- filters and orders on.
--
-- listed = 0 marks baseline rows: the snapshot of every record that
-- existed when the audit log was installed, so that the first change to
-- such a record is still reported as an update with its changed fields.
-- They are never returned.
CREATE TABLE audit_log (
    seq         ${AUTOID},
    id          TEXT NOT NULL,
    org_id      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    listed      INTEGER NOT NULL,
    actor_type  TEXT NOT NULL,
    actor_id    TEXT,
    category    TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    entry       TEXT NOT NULL,
    snapshot    TEXT
);
-- Listing: newest first within an organization and a time window.
CREATE INDEX audit_log_time ON audit_log (org_id, created_at, seq) WHERE listed = 1;
-- The latest row of a record, for changedFields; and targetIds filters.
CREATE INDEX audit_log_target ON audit_log (org_id, target_id, target_kind, seq);

INSERT INTO audit_log (id, org_id, created_at, listed, actor_type, category, target_type, target_kind, target_id, entry, snapshot)
SELECT 'baseline/' || kind || '/' || id, org_id, updated_at, 0, 'System', '', '', kind, id, '', doc FROM docs;
