-- Webhook deliveries move to the job queue (jobqueue/migrations/
-- 0090_jobs.sql): every delivery, pending or finished, becomes a job of
-- kind webhook.delivery, and its attempts job attempts, so an upgrade
-- loses no queued delivery (a lease in flight keeps its owner and expiry
-- and is taken over as before) and keeps the delivery log. The key is the
-- setting, the subject the webhookActionId; an event delivery keeps its
-- one-per-(event, setting) rule as a unique key.

-- engine: sqlite
INSERT INTO jobs (id, kind, org_id, limit_key, subject, action, unique_key, args, state, attempts, run_at,
    lease_owner, lease_until, created_at, done_at, last_error)
SELECT id, 'webhook.delivery', org_id, setting_id, event_id, action,
    CASE WHEN trigger = 'event' THEN 'webhook:' || event_id || ':' || setting_id END,
    json_object('trigger', trigger, 'eventAt', event_at, 'payload', payload),
    state, attempts, next_at, lease_owner, lease_until, created_at, done_at, last_error
FROM webhook_deliveries ORDER BY seq;
INSERT INTO job_attempts (job_id, attempt, worker, started_at, duration_ms, outcome, error, detail)
SELECT delivery_id, attempt, worker, started_at, latency_ms, outcome, error,
    json_object('url', url, 'statusCode', status_code, 'response', response)
FROM webhook_attempts;

-- engine: postgres
INSERT INTO jobs (id, kind, org_id, limit_key, subject, action, unique_key, args, state, attempts, run_at,
    lease_owner, lease_until, created_at, done_at, last_error)
SELECT id, 'webhook.delivery', org_id, setting_id, event_id, action,
    CASE WHEN trigger = 'event' THEN 'webhook:' || event_id || ':' || setting_id END,
    json_build_object('trigger', trigger, 'eventAt', event_at, 'payload', payload)::text,
    state, attempts, next_at, lease_owner, lease_until, created_at, done_at, last_error
FROM webhook_deliveries ORDER BY seq;
INSERT INTO job_attempts (job_id, attempt, worker, started_at, duration_ms, outcome, error, detail)
SELECT delivery_id, attempt, worker, started_at, latency_ms, outcome, error,
    json_build_object('url', url, 'statusCode', status_code, 'response', response)::text
FROM webhook_attempts;

-- engine: all
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
