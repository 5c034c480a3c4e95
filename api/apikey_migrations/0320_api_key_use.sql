-- When each API key last authenticated a request (apiKey.list's
-- lastUsedAt), written at most once a minute per key and process.
CREATE TABLE api_key_use (
    key_id       TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL,
    last_used_at BIGINT NOT NULL
);
