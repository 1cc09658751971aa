//! Admin users: creation, password changes, and login with per-account lockout.

use serde::Serialize;
use sqlx::Row;

use crate::store::{Store, StoreError, TenantId, Tx};
use crate::{on_db, on_tx};

use super::Role;
use super::password::{self, PasswordError};

/// Failed logins in a row after which an account is locked for [`LOCKOUT_MS`].
pub const MAX_FAILED_LOGINS: i64 = 5;
pub const LOCKOUT_MS: i64 = 15 * 60 * 1000;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AdminUser {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_ms: i64,
    pub last_login_ms: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("user name: use 2 to 64 letters, digits, `.`, `_`, `-` or `@`")]
    BadUsername,
    #[error("display name must be 1 to 64 characters")]
    BadDisplayName,
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("a user named `{0}` already exists")]
    Exists(String),
    #[error("no such user")]
    NotFound,
    #[error("the last active super admin cannot be demoted or disabled")]
    LastSuperAdmin,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for UserError {
    fn from(e: sqlx::Error) -> Self {
        UserError::Store(e.into())
    }
}

/// Why a login failed. Callers show one generic message for all of them, so that nobody
/// learns which user names exist; the variants are for logs and metrics.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("wrong user name or password")]
    WrongCredentials,
    #[error("account locked after repeated failures")]
    Locked,
    #[error("account disabled")]
    Disabled,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for LoginError {
    fn from(e: sqlx::Error) -> Self {
        LoginError::Store(e.into())
    }
}

pub fn validate_username(username: &str) -> Result<(), UserError> {
    let ok_len = (2..=64).contains(&username.chars().count());
    let ok_chars = username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok_len && ok_chars {
        Ok(())
    } else {
        Err(UserError::BadUsername)
    }
}

const USER_COLUMNS: &str = "id, username, display_name, role, disabled, created_ms, last_login_ms";

fn user_from_row<R: Row>(row: &R) -> Result<AdminUser, StoreError>
where
    usize: sqlx::ColumnIndex<R>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    bool: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let role: String = row.try_get(3)?;
    Ok(AdminUser {
        id: row.try_get(0)?,
        username: row.try_get(1)?,
        display_name: row.try_get(2)?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt {
            column: "admin_users.role",
            why: format!("unknown role {role}"),
        })?,
        disabled: row.try_get(4)?,
        created_ms: row.try_get(5)?,
        last_login_ms: row.try_get(6)?,
    })
}

/// Creates a user; the password must meet the policy.
pub async fn create_user(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    username: &str,
    display_name: &str,
    role: Role,
    password: &str,
    now: i64,
) -> Result<i64, UserError> {
    validate_username(username)?;
    let display_name = display_name.trim();
    if display_name.is_empty() || display_name.chars().count() > 64 {
        return Err(UserError::BadDisplayName);
    }
    password::check_policy(password)?;
    let hash = password::hash(password)?;
    let inserted: Result<(i64,), sqlx::Error> = on_tx!(tx, conn => {
        sqlx::query_as(
            "INSERT INTO admin_users (tenant_id, username, display_name, role, password_hash, \
             created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(tenant.0)
        .bind(username)
        .bind(display_name)
        .bind(role.as_str())
        .bind(&hash)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
    });
    match inserted {
        Ok((id,)) => Ok(id),
        Err(e) => {
            let e = StoreError::from(e);
            if e.is_unique_violation() {
                Err(UserError::Exists(username.to_string()))
            } else {
                Err(e.into())
            }
        }
    }
}

/// Sets a new password, unlocks the account and ends its sessions.
pub async fn set_password(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    user_id: i64,
    password: &str,
    now: i64,
) -> Result<(), UserError> {
    password::check_policy(password)?;
    let hash = password::hash(password)?;
    let updated = on_tx!(tx, conn => {
        let done = sqlx::query(
            "UPDATE admin_users SET password_hash = $1, failed_logins = 0, locked_until_ms = 0, \
             updated_ms = $2 WHERE tenant_id = $3 AND id = $4",
        )
        .bind(&hash)
        .bind(now)
        .bind(tenant.0)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
        sqlx::query("DELETE FROM console_sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
        done.rows_affected()
    });
    if updated == 0 {
        return Err(UserError::NotFound);
    }
    Ok(())
}

pub async fn find_by_username(
    store: &Store,
    tenant: TenantId,
    username: &str,
) -> Result<Option<AdminUser>, StoreError> {
    let row = on_db!(&store.db, pool => {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM admin_users WHERE tenant_id = $1 AND username = $2"
        )))
        .bind(tenant.0)
        .bind(username)
        .fetch_optional(pool)
        .await?
        .map(|row| user_from_row(&row))
        .transpose()
    })?;
    Ok(row)
}

pub async fn get_user(
    store: &Store,
    tenant: TenantId,
    id: i64,
) -> Result<Option<AdminUser>, StoreError> {
    on_db!(&store.db, pool => {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM admin_users WHERE tenant_id = $1 AND id = $2"
        )))
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(pool)
        .await?
        .map(|row| user_from_row(&row))
        .transpose()
    })
}

pub async fn list_users(store: &Store, tenant: TenantId) -> Result<Vec<AdminUser>, StoreError> {
    on_db!(&store.db, pool => {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM admin_users WHERE tenant_id = $1 ORDER BY username"
        )))
        .bind(tenant.0)
        .fetch_all(pool)
        .await?
        .iter()
        .map(user_from_row)
        .collect()
    })
}

/// Changes a user's role or disabled flag, keeping at least one active super admin.
pub async fn update_access(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    user_id: i64,
    role: Role,
    disabled: bool,
    now: i64,
) -> Result<(), UserError> {
    on_tx!(tx, conn => {
        let updated = sqlx::query(
            "UPDATE admin_users SET role = $1, disabled = $2, updated_ms = $3 \
             WHERE tenant_id = $4 AND id = $5",
        )
        .bind(role.as_str())
        .bind(disabled)
        .bind(now)
        .bind(tenant.0)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(UserError::NotFound);
        }
        let (supers,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM admin_users WHERE tenant_id = $1 AND role = 'super_admin' \
             AND disabled = FALSE",
        )
        .bind(tenant.0)
        .fetch_one(&mut *conn)
        .await?;
        if supers == 0 {
            // The caller drops the transaction, which rolls the change back.
            return Err(UserError::LastSuperAdmin);
        }
        if disabled {
            sqlx::query("DELETE FROM console_sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *conn)
                .await?;
        }
    });
    Ok(())
}

/// Checks a user name and password. Repeated failures lock the account for a while; the
/// check costs the same whether or not the user exists.
pub async fn authenticate(
    store: &Store,
    tenant: TenantId,
    username: &str,
    password: &str,
    now: i64,
) -> Result<AdminUser, LoginError> {
    let row: Option<(i64, String, bool, i64)> = on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT id, password_hash, disabled, locked_until_ms FROM admin_users \
             WHERE tenant_id = $1 AND username = $2",
        )
        .bind(tenant.0)
        .bind(username)
        .fetch_optional(pool)
        .await
    })?;
    let Some((id, hash, disabled, locked_until)) = row else {
        // Spend the time a real check takes, so timing does not reveal unknown names.
        password::verify(password, DUMMY_HASH);
        return Err(LoginError::WrongCredentials);
    };
    if locked_until > now {
        return Err(LoginError::Locked);
    }
    if !password::verify(password, &hash) {
        record_failure(store, id, now).await?;
        return Err(LoginError::WrongCredentials);
    }
    if disabled {
        return Err(LoginError::Disabled);
    }
    on_db!(&store.db, pool => {
        sqlx::query(
            "UPDATE admin_users SET failed_logins = 0, locked_until_ms = 0, last_login_ms = $1 \
             WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ())
    })?;
    get_user(store, tenant, id)
        .await?
        .ok_or(LoginError::WrongCredentials)
}

async fn record_failure(store: &Store, id: i64, now: i64) -> Result<(), StoreError> {
    on_db!(&store.db, pool => {
        sqlx::query(
            "UPDATE admin_users SET failed_logins = failed_logins + 1, \
             locked_until_ms = CASE WHEN failed_logins + 1 >= $1 THEN $2 ELSE locked_until_ms END \
             WHERE id = $3",
        )
        .bind(MAX_FAILED_LOGINS)
        .bind(now + LOCKOUT_MS)
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

/// An argon2id hash of a random string, verified against when the user does not exist.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Xq0R9hHK7nqVVyrNr8ZOJ6Ey4tgF1vLHa/AxoXPVAjs";
