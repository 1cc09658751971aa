//! Console sessions, kept in the database so that every node sees them.
//!
//! The cookie holds 32 random bytes; the table holds only their SHA-256 digest, so a database
//! dump does not hand out sessions. Each session has its own CSRF token, checked on every
//! state-changing request.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::auth::users::{self, AdminUser};
use crate::on_db;
use crate::store::{Store, StoreError, TenantId};

pub const COOKIE: &str = "qiao_session";
/// A session ends this long after login, whatever the activity.
pub const LIFETIME_MS: i64 = 12 * 60 * 60 * 1000;

/// A logged-in console user.
#[derive(Debug, Clone)]
pub struct Session {
    pub tenant: TenantId,
    pub user: AdminUser,
    pub csrf_token: String,
}

pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Starts a session and returns the cookie value.
pub async fn create(
    store: &Store,
    tenant: TenantId,
    user_id: i64,
    ip: &str,
    user_agent: &str,
    now: i64,
) -> Result<String, StoreError> {
    let token = random_token();
    let agent: String = user_agent.chars().take(200).collect();
    on_db!(&store.db, pool => {
        sqlx::query(
            "INSERT INTO console_sessions (id_digest, tenant_id, user_id, csrf_token, created_ms, \
             expires_ms, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(digest(&token))
        .bind(tenant.0)
        .bind(user_id)
        .bind(random_token())
        .bind(now)
        .bind(now + LIFETIME_MS)
        .bind(ip)
        .bind(&agent)
        .execute(pool)
        .await
        .map(|_| ())
    })?;
    Ok(token)
}

/// The session of a cookie value, if it is current and its user is active.
pub async fn lookup(store: &Store, token: &str, now: i64) -> Result<Option<Session>, StoreError> {
    if token.len() != 43 {
        return Ok(None);
    }
    let row: Option<(i64, i64, String)> = on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT tenant_id, user_id, csrf_token FROM console_sessions \
             WHERE id_digest = $1 AND expires_ms > $2",
        )
        .bind(digest(token))
        .bind(now)
        .fetch_optional(pool)
        .await
    })?;
    let Some((tenant, user_id, csrf_token)) = row else {
        return Ok(None);
    };
    let tenant = TenantId(tenant);
    match users::get_user(store, tenant, user_id).await? {
        Some(user) if !user.disabled => Ok(Some(Session {
            tenant,
            user,
            csrf_token,
        })),
        _ => Ok(None),
    }
}

/// Ends a session (logout). Also drops expired sessions, so the table stays small.
pub async fn end(store: &Store, token: &str, now: i64) -> Result<(), StoreError> {
    on_db!(&store.db, pool => {
        sqlx::query("DELETE FROM console_sessions WHERE id_digest = $1 OR expires_ms <= $2")
            .bind(digest(token))
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ())
    })?;
    Ok(())
}
