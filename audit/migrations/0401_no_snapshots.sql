-- The store now hands the audit log each record as it was before a change
-- (store.DB.CaptureChanges), so the log no longer keeps a copy of every
-- record after every change: it had grown to five times the records
-- themselves. Baseline rows existed only to hold such copies.
DELETE FROM audit_log WHERE listed = 0;
UPDATE audit_log SET snapshot = NULL WHERE snapshot IS NOT NULL;
