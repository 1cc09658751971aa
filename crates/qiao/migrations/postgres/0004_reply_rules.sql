-- Auto-reply rules (回调设置) of Official Accounts and WeCom apps: what a message or event
-- gets as an immediate reply. Among the enabled rules that match, the smallest priority
-- wins; among equal priorities, the rule created first (smallest id).

CREATE TABLE reply_rules (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   BIGINT NOT NULL REFERENCES tenants (id),
    channel_id  BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('text', 'image', 'subscribe')),
    -- Text rules only.
    match_mode  TEXT CHECK (match_mode IN ('contains', 'prefix', 'suffix', 'exact', 'hosting')),
    -- Text rules that compare (every mode but hosting) only; at most 50 characters.
    keyword     TEXT,
    reply       TEXT NOT NULL,
    priority    INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 100),
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    created_ms  BIGINT NOT NULL,
    updated_ms  BIGINT NOT NULL,
    CHECK ((action = 'text') = (match_mode IS NOT NULL)),
    CHECK ((keyword IS NOT NULL) = (match_mode IS NOT NULL AND match_mode <> 'hosting'))
);
CREATE INDEX reply_rules_channel ON reply_rules (channel_id, priority, id);
