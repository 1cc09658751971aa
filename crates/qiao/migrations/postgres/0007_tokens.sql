-- Access tokens shared by every node: one row per credential, sealed, with the lease that
-- makes exactly one node fetch at a time; and a daily count of fetches per credential.

CREATE TABLE access_tokens (
    key             TEXT PRIMARY KEY,
    sealed          BYTEA,
    expires_at_ms   BIGINT NOT NULL DEFAULT 0,
    fetched_at_ms   BIGINT NOT NULL DEFAULT 0,
    version         BIGINT NOT NULL DEFAULT 0,
    lease_owner     TEXT,
    lease_until_ms  BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT,
    last_error_ms   BIGINT
);

CREATE TABLE token_fetches (
    key      TEXT NOT NULL,
    day      TEXT NOT NULL,
    fetches  BIGINT NOT NULL DEFAULT 0,
    forced   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (key, day)
);
