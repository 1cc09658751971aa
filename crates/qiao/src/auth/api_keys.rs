//! API keys for business systems and scripts.
//!
//! A key is `qiao_` + 43 characters (256 random bits). Only its SHA-256 digest is stored, so
//! checking one is a single indexed lookup (microseconds, not an argon2 run: the key is
//! already high-entropy) and a database dump reveals no usable key. The key is shown once.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::store::{Store, StoreError, TenantId, Tx};
use crate::{on_db, on_tx};

pub const KEY_PREFIX: &str = "qiao_";
/// Characters of the key kept in clear for listings, so an admin can tell keys apart.
const SHOWN_PREFIX_LEN: usize = 12;

/// What a key may do. Capabilities add scopes as they arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Everything an admin may do through the API.
    Admin,
    /// Read-only access to configuration and the audit log.
    Read,
    /// The token broker: the current access token of a channel.
    Tokens,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Admin, Scope::Read, Scope::Tokens];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Admin => "admin",
            Scope::Read => "read",
            Scope::Tokens => "tokens",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether holding `self` grants `wanted`.
    pub fn grants(self, wanted: Scope) -> bool {
        self == wanted || self == Scope::Admin
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    /// The first characters of the key, e.g. `qiao_Ab3dEf…`.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub created_ms: i64,
    pub created_by: String,
    pub expires_ms: Option<i64>,
    pub last_used_ms: Option<i64>,
    pub revoked_ms: Option<i64>,
    /// The business system the key belongs to: the key acts as that system.
    pub business_system_id: Option<i64>,
}

/// The caller an API key identifies.
#[derive(Debug, Clone)]
pub struct ApiPrincipal {
    pub tenant: TenantId,
    pub key_id: i64,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// The business system a bound key acts as; it sees only that system's resources.
    pub business_system_id: Option<i64>,
}

impl ApiPrincipal {
    pub fn has(&self, wanted: Scope) -> bool {
        self.scopes.iter().any(|s| s.grants(wanted))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    #[error("name must be 1 to 64 characters")]
    BadName,
    #[error("at least one scope is required")]
    NoScope,
    #[error("unknown scope `{0}`")]
    UnknownScope(String),
    #[error("no such API key")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ApiKeyError {
    fn from(e: sqlx::Error) -> Self {
        ApiKeyError::Store(e.into())
    }
}

pub fn parse_scopes<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Scope>, ApiKeyError> {
    let mut scopes = Vec::new();
    for name in names {
        let scope = Scope::parse(name.trim())
            .ok_or_else(|| ApiKeyError::UnknownScope(name.trim().to_string()))?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    if scopes.is_empty() {
        return Err(ApiKeyError::NoScope);
    }
    Ok(scopes)
}

fn digest(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

fn scopes_to_text(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn scopes_from_text(text: &str) -> Vec<Scope> {
    text.split_whitespace().filter_map(Scope::parse).collect()
}

/// Creates a key and returns its record and the key itself (shown once, never stored).
pub async fn create_key(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    name: &str,
    scopes: &[Scope],
    created_by: &str,
    expires_ms: Option<i64>,
    now: i64,
) -> Result<(ApiKey, String), ApiKeyError> {
    create_bound_key(tx, tenant, None, name, scopes, created_by, expires_ms, now).await
}

/// Creates a key bound to a business system (or to none), like [`create_key`].
#[allow(clippy::too_many_arguments)]
pub async fn create_bound_key(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    business_system_id: Option<i64>,
    name: &str,
    scopes: &[Scope],
    created_by: &str,
    expires_ms: Option<i64>,
    now: i64,
) -> Result<(ApiKey, String), ApiKeyError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(ApiKeyError::BadName);
    }
    if scopes.is_empty() {
        return Err(ApiKeyError::NoScope);
    }
    let mut random = [0u8; 32];
    rand::rng().fill_bytes(&mut random);
    let key = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(random));
    let prefix = key[..SHOWN_PREFIX_LEN].to_string();
    let (id,): (i64,) = on_tx!(tx, conn => {
        sqlx::query_as(
            "INSERT INTO api_keys (tenant_id, name, prefix, digest, scopes, created_ms, \
             created_by, expires_ms, business_system_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(tenant.0)
        .bind(name)
        .bind(&prefix)
        .bind(digest(&key))
        .bind(scopes_to_text(scopes))
        .bind(now)
        .bind(created_by)
        .bind(expires_ms)
        .bind(business_system_id)
        .fetch_one(&mut *conn)
        .await?
    });
    let record = ApiKey {
        id,
        name: name.to_string(),
        prefix,
        scopes: scopes.to_vec(),
        created_ms: now,
        created_by: created_by.to_string(),
        expires_ms,
        last_used_ms: None,
        revoked_ms: None,
        business_system_id,
    };
    Ok((record, key))
}

/// id, tenant, name, scopes, expires, revoked, last used, business system.
type PrincipalRow = (
    i64,
    i64,
    String,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

type KeyRow = (
    i64,
    String,
    String,
    String,
    i64,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

fn key_from_row(row: KeyRow) -> ApiKey {
    let (
        id,
        name,
        prefix,
        scopes,
        created_ms,
        created_by,
        expires_ms,
        last_used_ms,
        revoked_ms,
        business_system_id,
    ) = row;
    ApiKey {
        id,
        name,
        prefix,
        scopes: scopes_from_text(&scopes),
        created_ms,
        created_by,
        expires_ms,
        last_used_ms,
        revoked_ms,
        business_system_id,
    }
}

pub async fn list_keys(store: &Store, tenant: TenantId) -> Result<Vec<ApiKey>, StoreError> {
    let rows: Vec<KeyRow> = on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT id, name, prefix, scopes, created_ms, created_by, expires_ms, last_used_ms, \
             revoked_ms, business_system_id FROM api_keys WHERE tenant_id = $1 ORDER BY id DESC",
        )
        .bind(tenant.0)
        .fetch_all(pool)
        .await
    })?;
    Ok(rows.into_iter().map(key_from_row).collect())
}

/// The keys bound to a business system, newest first.
pub async fn list_bound_keys(
    store: &Store,
    tenant: TenantId,
    business_system_id: i64,
) -> Result<Vec<ApiKey>, StoreError> {
    let rows: Vec<KeyRow> = on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT id, name, prefix, scopes, created_ms, created_by, expires_ms, last_used_ms, \
             revoked_ms, business_system_id FROM api_keys \
             WHERE tenant_id = $1 AND business_system_id = $2 ORDER BY id DESC",
        )
        .bind(tenant.0)
        .bind(business_system_id)
        .fetch_all(pool)
        .await
    })?;
    Ok(rows.into_iter().map(key_from_row).collect())
}

pub async fn get_key(
    store: &Store,
    tenant: TenantId,
    id: i64,
) -> Result<Option<ApiKey>, StoreError> {
    let row: Option<KeyRow> = on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT id, name, prefix, scopes, created_ms, created_by, expires_ms, last_used_ms, \
             revoked_ms, business_system_id FROM api_keys WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(pool)
        .await
    })?;
    Ok(row.map(key_from_row))
}

/// Revokes a key; revoking a revoked key is not an error (it stays revoked at its first time).
pub async fn revoke_key(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    id: i64,
    now: i64,
) -> Result<(), ApiKeyError> {
    let affected = on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE api_keys SET revoked_ms = COALESCE(revoked_ms, $1) \
             WHERE tenant_id = $2 AND id = $3",
        )
        .bind(now)
        .bind(tenant.0)
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    if affected == 0 {
        return Err(ApiKeyError::NotFound);
    }
    Ok(())
}

/// Revokes every active key bound to a business system; returns how many.
pub async fn revoke_bound_keys(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    business_system_id: i64,
    now: i64,
) -> Result<u64, StoreError> {
    let affected = on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE api_keys SET revoked_ms = $1 \
             WHERE tenant_id = $2 AND business_system_id = $3 AND revoked_ms IS NULL",
        )
        .bind(now)
        .bind(tenant.0)
        .bind(business_system_id)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    Ok(affected)
}

/// Looks a presented key up. `None` for unknown, revoked or expired keys.
pub async fn authenticate_key(
    store: &Store,
    presented: &str,
    now: i64,
) -> Result<Option<ApiPrincipal>, StoreError> {
    if !presented.starts_with(KEY_PREFIX) || presented.len() > 128 {
        return Ok(None);
    }
    let row: Option<PrincipalRow> = on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT id, tenant_id, name, scopes, expires_ms, revoked_ms, last_used_ms, \
             business_system_id FROM api_keys WHERE digest = $1",
        )
        .bind(digest(presented))
        .fetch_optional(pool)
        .await
    })?;
    // The lookup is by digest of a 256-bit secret: equality of digests is not a timing oracle.
    let Some((id, tenant, name, scopes, expires, revoked, last_used, business_system_id)) = row
    else {
        return Ok(None);
    };
    if revoked.is_some() || expires.is_some_and(|t| t <= now) {
        return Ok(None);
    }
    // Record use at most once a minute: a write per request would cost more than the check.
    if last_used.is_none_or(|t| now - t > 60_000) {
        on_db!(&store.db, pool => {
            sqlx::query("UPDATE api_keys SET last_used_ms = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
    }
    Ok(Some(ApiPrincipal {
        tenant: TenantId(tenant),
        key_id: id,
        name,
        scopes: scopes_from_text(&scopes),
        business_system_id,
    }))
}
