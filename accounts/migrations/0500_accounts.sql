-- Sign-in credentials of an organization's users (package accounts).
-- The users themselves are Ashby records (kind user in docs); these tables
-- hold what lets a person sign in as one, which the API never returns.

-- accounts: one row per user who may sign in. email is the user's email,
-- lower-cased, kept in step with the user record by the accounts hook
-- (accounts.Attach). password_hash is an argon2id PHC string, NULL for a
-- user who signs in only through a link or OpenID Connect.
CREATE TABLE accounts (
    user_id       TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL,
    email         TEXT NOT NULL,
    password_hash TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    signed_in_at  BIGINT
);
CREATE INDEX accounts_email ON accounts (email);
CREATE INDEX accounts_org ON accounts (org_id);

-- sessions: signed-in browsers. The cookie holds a random token; only its
-- SHA-256 is stored, so a copy of the database signs no one in. A session
-- ends when its row is deleted (sign-out, deactivation, password change)
-- or when it has been idle too long or reached its maximum age.
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ip           TEXT NOT NULL,
    user_agent   TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (org_id, user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- signin_links: one-time links that let a new user choose a password
-- (ashlar user create without --password-stdin, or an invitation from the
-- admin console). Stored hashed like sessions; used_at marks a used one.
CREATE TABLE signin_links (
    token_hash TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX signin_links_user ON signin_links (org_id, user_id);
