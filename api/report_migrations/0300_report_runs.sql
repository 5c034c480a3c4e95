-- report_runs records every report.generate / report.synchronous run: it
-- holds the result for polling, and its rows are the counters behind
-- Ashby's per-organization report limits (15 starts a minute, 3 at once),
-- kept in the database so that they hold across server processes.
CREATE TABLE report_runs (
    org_id          TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    report_id       TEXT NOT NULL,
    status          TEXT NOT NULL,
    include_headers INTEGER NOT NULL,
    started_at      BIGINT NOT NULL,
    finished_at     BIGINT,
    result          TEXT,
    failure         TEXT,
    PRIMARY KEY (org_id, request_id)
);
CREATE INDEX report_runs_started ON report_runs (org_id, started_at);
