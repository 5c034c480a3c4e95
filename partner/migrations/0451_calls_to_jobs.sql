-- Calls to partners move to the job queue (jobqueue/migrations/
-- 0090_jobs.sql): every call, pending or finished, becomes a job of kind
-- partner.call, and its attempts job attempts, so an upgrade loses no
-- queued call (a lease in flight keeps its owner and expiry and is taken
-- over as before) and keeps the call log. The key is the integration, the
-- subject the call's subject, the action its method; a dedupe key
-- becomes a unique key within the organization.

-- engine: sqlite
INSERT INTO jobs (id, kind, org_id, limit_key, subject, action, unique_key, args, state, attempts, run_at,
    lease_owner, lease_until, created_at, done_at, last_error)
SELECT id, 'partner.call', org_id, integration_id, COALESCE(subject_id, ''), method,
    CASE WHEN dedupe IS NOT NULL THEN 'partner:' || org_id || ':' || dedupe END,
    json_object('idempotencyKey', idempotency_key, 'request', request),
    state, attempts, next_at, lease_owner, lease_until, created_at, done_at, last_error
FROM partner_calls ORDER BY seq;
INSERT INTO job_attempts (job_id, attempt, worker, started_at, duration_ms, outcome, error, detail)
SELECT call_id, attempt, worker, started_at, latency_ms, outcome, error,
    json_object('url', url, 'statusCode', status_code, 'response', response)
FROM partner_call_attempts;

-- engine: postgres
INSERT INTO jobs (id, kind, org_id, limit_key, subject, action, unique_key, args, state, attempts, run_at,
    lease_owner, lease_until, created_at, done_at, last_error)
SELECT id, 'partner.call', org_id, integration_id, COALESCE(subject_id, ''), method,
    CASE WHEN dedupe IS NOT NULL THEN 'partner:' || org_id || ':' || dedupe END,
    json_build_object('idempotencyKey', idempotency_key, 'request', request)::text,
    state, attempts, next_at, lease_owner, lease_until, created_at, done_at, last_error
FROM partner_calls ORDER BY seq;
INSERT INTO job_attempts (job_id, attempt, worker, started_at, duration_ms, outcome, error, detail)
SELECT call_id, attempt, worker, started_at, latency_ms, outcome, error,
    json_build_object('url', url, 'statusCode', status_code, 'response', response)::text
FROM partner_call_attempts;

-- engine: all
DROP TABLE partner_call_attempts;
DROP TABLE partner_calls;
