-- Callback receivers (one URL per Official Account / WeCom app, and per WeCom corp for its
-- contact-change and customer-contact pushes) and the inbox of what they received.

CREATE TABLE callback_receivers (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       BIGINT NOT NULL REFERENCES tenants (id),
    channel_id      BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    purpose         TEXT NOT NULL CHECK (purpose IN ('messages', 'contacts', 'customers')),
    public_id       TEXT NOT NULL UNIQUE,
    mode            TEXT NOT NULL CHECK (mode IN ('plain', 'compatible', 'safe')),
    enabled         BOOLEAN NOT NULL DEFAULT FALSE,
    token_sealed    BYTEA NOT NULL,
    aes_key_sealed  BYTEA NOT NULL,
    created_ms      BIGINT NOT NULL,
    updated_ms      BIGINT NOT NULL,
    UNIQUE (channel_id, purpose)
);

CREATE TABLE inbox (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    BIGINT NOT NULL REFERENCES tenants (id),
    receiver_id  BIGINT NOT NULL REFERENCES callback_receivers (id) ON DELETE CASCADE,
    channel_id   BIGINT NOT NULL,
    dedup_key    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    from_user    TEXT NOT NULL,
    create_time  BIGINT NOT NULL,
    received_ms  BIGINT NOT NULL,
    payload      TEXT NOT NULL,
    raw          TEXT NOT NULL,
    reply        TEXT,
    UNIQUE (receiver_id, dedup_key)
);
CREATE INDEX inbox_channel_received ON inbox (channel_id, id);
