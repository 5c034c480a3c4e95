-- A survey request's URL (/surveys/{requestId}) carries no organization,
-- so the candidate-facing page finds the request here. submission_id is
-- set when the request is answered through its link, which it can be
-- once: the update that sets it is the guard against a second answer.
CREATE TABLE survey_request_links (
    request_id    TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL,
    submission_id TEXT,
    answered_at   BIGINT
);
CREATE INDEX survey_request_links_org ON survey_request_links (org_id, submission_id);

-- Requests made before the page existed get their links too.
INSERT INTO survey_request_links (request_id, org_id)
    SELECT id, org_id FROM docs WHERE kind = 'survey_request';
