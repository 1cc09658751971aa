-- Business systems (业务系统): the programs that use Qiao through the API. Each has allowed
-- origins, API keys bound to it, and webhook subscriptions with their delivery outbox.
-- Timestamps are unix milliseconds.

CREATE TABLE business_systems (
    id               INTEGER PRIMARY KEY,
    tenant_id        INTEGER NOT NULL REFERENCES tenants (id),
    name             TEXT NOT NULL,
    -- JSON array of origins, `scheme://host[:port]`.
    allowed_origins  TEXT NOT NULL DEFAULT '[]',
    remark           TEXT NOT NULL DEFAULT '',
    created_ms       INTEGER NOT NULL,
    updated_ms       INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
);

-- A key bound to a business system acts as that system (and only sees its resources).
ALTER TABLE api_keys ADD COLUMN business_system_id INTEGER REFERENCES business_systems (id) ON DELETE SET NULL;
CREATE INDEX api_keys_business_system ON api_keys (business_system_id);

CREATE TABLE webhook_subscriptions (
    id                  INTEGER PRIMARY KEY,
    tenant_id           INTEGER NOT NULL REFERENCES tenants (id),
    business_system_id  INTEGER NOT NULL REFERENCES business_systems (id) ON DELETE CASCADE,
    url                 TEXT NOT NULL,
    -- The signing secret, sealed with the master key (associated data `webhook_subscriptions.secret`).
    secret              BLOB NOT NULL,
    -- JSON array of event types; `*` matches every type, `prefix.*` every type of a family.
    event_types         TEXT NOT NULL,
    enabled             BOOLEAN NOT NULL DEFAULT TRUE,
    -- Why the subscription was disabled by Qiao (a 410 Gone from the receiver), if it was.
    disabled_reason     TEXT,
    created_ms          INTEGER NOT NULL,
    updated_ms          INTEGER NOT NULL
);
CREATE INDEX webhook_subscriptions_tenant ON webhook_subscriptions (tenant_id, enabled);
CREATE INDEX webhook_subscriptions_system ON webhook_subscriptions (business_system_id);

-- The outbox: one row per event and subscription, written in the producer's transaction.
CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY,
    tenant_id        INTEGER NOT NULL REFERENCES tenants (id),
    subscription_id  INTEGER NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    -- Given by the producer; one delivery per event and subscription.
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    -- The exact JSON text that is POSTed and signed.
    body             TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms  INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_until_ms   INTEGER,
    last_status      INTEGER,
    last_error       TEXT,
    created_ms       INTEGER NOT NULL,
    delivered_ms     INTEGER,
    UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_ms);
CREATE INDEX webhook_deliveries_tenant ON webhook_deliveries (tenant_id, id);
