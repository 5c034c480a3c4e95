-- Job board public names are global: /posting-api/job-board/{name} and
-- /jobs/{name} carry no organization, so a name maps to exactly one board.
CREATE TABLE job_board_names (
    name     TEXT PRIMARY KEY,
    org_id   TEXT NOT NULL,
    board_id TEXT NOT NULL UNIQUE
);
