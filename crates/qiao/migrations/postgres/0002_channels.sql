-- Channels: Official Accounts, WeCom corps and their apps, Mini Programs. Kind-specific,
-- non-secret attributes are JSON in `attrs`; secrets are sealed in `channel_secrets`.

CREATE TABLE channels (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    BIGINT NOT NULL REFERENCES tenants (id),
    kind         TEXT NOT NULL CHECK (kind IN ('official_account', 'wecom_corp', 'wecom_app', 'mini_program')),
    parent_id    BIGINT REFERENCES channels (id),
    name         TEXT NOT NULL,
    remark       TEXT NOT NULL DEFAULT '',
    external_id  TEXT NOT NULL,
    attrs        TEXT NOT NULL,
    created_ms   BIGINT NOT NULL,
    updated_ms   BIGINT NOT NULL
);
-- One AppID / CorpID per tenant and kind; one AgentID per corp.
CREATE UNIQUE INDEX channels_identity ON channels (tenant_id, kind, COALESCE(parent_id, 0), external_id);
CREATE INDEX channels_parent ON channels (parent_id);

CREATE TABLE channel_secrets (
    channel_id  BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    sealed      BYTEA NOT NULL,
    updated_ms  BIGINT NOT NULL,
    PRIMARY KEY (channel_id, name)
);
