-- Domain verification files (MP_verify_*.txt, WW_verify_*.txt), served at the root of the
-- external domain exactly as uploaded.

CREATE TABLE domain_files (
    tenant_id   INTEGER NOT NULL REFERENCES tenants (id),
    name        TEXT NOT NULL,
    content     TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    PRIMARY KEY (name)
);
