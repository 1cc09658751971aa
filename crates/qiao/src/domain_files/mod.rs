//! Domain verification files (Official Account doc 1.5 网页授权域名设置, WeCom doc 2.2
//! 可信域名校验; reference §6): the admin uploads `MP_verify_*.txt` / `WW_verify_*.txt` and
//! Qiao serves each at the root of the external domain, byte for byte as uploaded.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::audit::{self, Actor};
use crate::http::ApiError;
use crate::store::{Store, StoreError, TenantId};
use crate::{on_db, on_tx};

/// The largest file accepted: the platforms' files hold a short token.
pub const MAX_CONTENT_BYTES: usize = 1024;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DomainFile {
    pub name: String,
    pub content: String,
    pub created_ms: i64,
    pub created_by: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DomainFileError {
    #[error(
        "name: expected MP_verify_<letters or digits>.txt or WW_verify_<letters or digits>.txt"
    )]
    BadName,
    #[error("content: must be 1 to {MAX_CONTENT_BYTES} bytes of text")]
    BadContent,
    #[error("no such file")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for DomainFileError {
    fn from(e: sqlx::Error) -> Self {
        DomainFileError::Store(e.into())
    }
}

impl From<DomainFileError> for ApiError {
    fn from(e: DomainFileError) -> Self {
        match e {
            DomainFileError::BadName => ApiError::invalid_field("name", e.to_string()),
            DomainFileError::BadContent => ApiError::invalid_field("content", e.to_string()),
            DomainFileError::NotFound => ApiError::not_found(e.to_string()),
            DomainFileError::Store(e) => e.into(),
        }
    }
}

/// Whether `name` is a verification file name the platforms issue.
pub fn valid_name(name: &str) -> bool {
    let Some(stem) = name
        .strip_prefix("MP_verify_")
        .or_else(|| name.strip_prefix("WW_verify_"))
        .and_then(|rest| rest.strip_suffix(".txt"))
    else {
        return false;
    };
    (1..=64).contains(&stem.len()) && stem.bytes().all(|b| b.is_ascii_alphanumeric())
}

pub async fn list(store: &Store, tenant: TenantId) -> Result<Vec<DomainFile>, StoreError> {
    let rows: Vec<(String, String, i64, String)> = on_db!(&store.db, pool => {
        sqlx::query_as("SELECT name, content, created_ms, created_by FROM domain_files WHERE tenant_id = $1 ORDER BY name")
            .bind(tenant.0)
            .fetch_all(pool)
            .await
    })?;
    Ok(rows
        .into_iter()
        .map(|(name, content, created_ms, created_by)| DomainFile {
            name,
            content,
            created_ms,
            created_by,
        })
        .collect())
}

/// Stores (or replaces) a file.
pub async fn put(
    store: &Store,
    tenant: TenantId,
    name: &str,
    content: &str,
    actor: &Actor,
    now: i64,
) -> Result<(), DomainFileError> {
    if !valid_name(name) {
        return Err(DomainFileError::BadName);
    }
    if content.is_empty() || content.len() > MAX_CONTENT_BYTES {
        return Err(DomainFileError::BadContent);
    }
    let mut tx = store.begin_write().await?;
    on_tx!(&mut tx, conn => {
        sqlx::query(
            "INSERT INTO domain_files (tenant_id, name, content, created_ms, created_by) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (name) DO UPDATE SET content = excluded.content, created_ms = excluded.created_ms, \
             created_by = excluded.created_by",
        )
        .bind(tenant.0)
        .bind(name)
        .bind(content)
        .bind(now)
        .bind(&actor.name)
        .execute(&mut *conn)
        .await
        .map(|_| ())
    })?;
    audit::record(
        &mut tx,
        tenant,
        actor,
        "domain_file.put",
        name,
        None,
        Some(&json!({ "content": content })),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn delete(
    store: &Store,
    tenant: TenantId,
    name: &str,
    actor: &Actor,
    now: i64,
) -> Result<(), DomainFileError> {
    let mut tx = store.begin_write().await?;
    let deleted = on_tx!(&mut tx, conn => {
        sqlx::query("DELETE FROM domain_files WHERE tenant_id = $1 AND name = $2")
            .bind(tenant.0)
            .bind(name)
            .execute(&mut *conn)
            .await?
            .rows_affected()
    });
    if deleted == 0 {
        return Err(DomainFileError::NotFound);
    }
    audit::record(
        &mut tx,
        tenant,
        actor,
        "domain_file.delete",
        name,
        None,
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// `GET /{name}` at the domain root: the file exactly as uploaded, or 404.
pub async fn serve(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    if !valid_name(&name) {
        return ApiError::not_found("no such page or endpoint").into_response();
    }
    let row: Result<Option<(String,)>, sqlx::Error> = on_db!(&state.store.db, pool => {
        sqlx::query_as("SELECT content FROM domain_files WHERE name = $1")
            .bind(&name)
            .fetch_optional(pool)
            .await
    });
    match row {
        Ok(Some((content,))) => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            content,
        )
            .into_response(),
        Ok(None) => ApiError::not_found("no such verification file").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "domain file lookup failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names() {
        assert!(super::valid_name("MP_verify_abc123XYZ.txt"));
        assert!(super::valid_name("WW_verify_Q1w2E3.txt"));
        assert!(!super::valid_name("MP_verify_.txt"));
        assert!(!super::valid_name("MP_verify_../../etc.txt"));
        assert!(!super::valid_name("verify_abc.txt"));
        assert!(!super::valid_name("MP_verify_abc.html"));
    }
}
