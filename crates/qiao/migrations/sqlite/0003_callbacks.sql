-- Callback receivers (one URL per Official Account / WeCom app, and per WeCom corp for its
-- contact-change and customer-contact pushes) and the inbox of what they received.

CREATE TABLE callback_receivers (
    id              INTEGER PRIMARY KEY,
    tenant_id       INTEGER NOT NULL REFERENCES tenants (id),
    channel_id      INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    purpose         TEXT NOT NULL CHECK (purpose IN ('messages', 'contacts', 'customers')),
    public_id       TEXT NOT NULL UNIQUE,
    mode            TEXT NOT NULL CHECK (mode IN ('plain', 'compatible', 'safe')),
    enabled         BOOLEAN NOT NULL DEFAULT FALSE,
    token_sealed    BLOB NOT NULL,
    aes_key_sealed  BLOB NOT NULL,
    created_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL,
    UNIQUE (channel_id, purpose)
);

CREATE TABLE inbox (
    id           INTEGER PRIMARY KEY,
    tenant_id    INTEGER NOT NULL REFERENCES tenants (id),
    receiver_id  INTEGER NOT NULL REFERENCES callback_receivers (id) ON DELETE CASCADE,
    channel_id   INTEGER NOT NULL,
    dedup_key    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    from_user    TEXT NOT NULL,
    create_time  INTEGER NOT NULL,
    received_ms  INTEGER NOT NULL,
    payload      TEXT NOT NULL,
    raw          TEXT NOT NULL,
    reply        TEXT,
    UNIQUE (receiver_id, dedup_key)
);
CREATE INDEX inbox_channel_received ON inbox (channel_id, id);
