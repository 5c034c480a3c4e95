-- Uploaded files (the file endpoints and the careers site): metadata here, bytes in
-- the blob store (local disk or S3-compatible) under blob_key, which is
-- derived from the ids and never from the client's file name.
CREATE TABLE files (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL,
    -- what the file may be used for: CandidateResume, CandidateFiles or
    -- ApplicationForm (file.createFileUploadHandle's fileUploadContext)
    context       TEXT NOT NULL,
    -- the client's file name, for display and downloads only
    name          TEXT NOT NULL,
    declared_type TEXT NOT NULL,
    declared_size BIGINT NOT NULL,
    -- pending: an upload handle waiting for its bytes; stored: uploaded,
    -- sniffed and scanned
    state         TEXT NOT NULL,
    content_type  TEXT,
    size          BIGINT,
    sha256        TEXT,
    blob_key      TEXT,
    -- the candidate the file belongs to once used (anonymizing them
    -- deletes it); unowned stored files are swept after a day
    candidate_id  TEXT,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    stored_at     BIGINT
);
CREATE INDEX files_candidate ON files (org_id, candidate_id) WHERE candidate_id IS NOT NULL;
CREATE INDEX files_unowned ON files (created_at) WHERE candidate_id IS NULL;
