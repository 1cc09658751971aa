//! 操作日志: who changed what, when, from where, with the before and after of configuration.
//!
//! Entries are written in the same transaction as the change they describe, so the log can
//! neither miss a change nor record one that was rolled back.

use serde::Serialize;
use serde_json::Value;

use crate::store::{Store, StoreError, TenantId, Tx};
use crate::{on_db, on_tx};

/// Who acted: `admin:<username>`, `api_key:<name>#<id>`, `cli`, or `system`.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn cli() -> Self {
        Self {
            name: "cli".into(),
            ip: None,
            request_id: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditRecord {
    pub id: i64,
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub ip: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
    pub request_id: Option<String>,
}

/// Records an action. `before`/`after` must already have secrets masked.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    actor: &Actor,
    action: &str,
    target: &str,
    before: Option<&Value>,
    after: Option<&Value>,
    now: i64,
) -> Result<(), StoreError> {
    let before = before.map(Value::to_string);
    let after = after.map(Value::to_string);
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO audit_log (tenant_id, at_ms, actor, action, target, ip, before, after, \
             request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(tenant.0)
        .bind(now)
        .bind(&actor.name)
        .bind(action)
        .bind(target)
        .bind(&actor.ip)
        .bind(&before)
        .bind(&after)
        .bind(&actor.request_id)
        .execute(&mut *conn)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

/// A page of the log, newest first: entries older than `before_id` when given.
pub async fn list(
    store: &Store,
    tenant: TenantId,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditRecord>, StoreError> {
    type Row = (
        i64,
        i64,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT id, at_ms, actor, action, target, ip, before, after, request_id \
             FROM audit_log WHERE tenant_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(tenant.0)
        .bind(before_id.unwrap_or(i64::MAX))
        .bind(limit.clamp(1, 500))
        .fetch_all(pool)
        .await
    })?;
    Ok(rows
        .into_iter()
        .map(
            |(id, at_ms, actor, action, target, ip, before, after, request_id)| AuditRecord {
                id,
                at_ms,
                actor,
                action,
                target,
                ip,
                before: before.and_then(|s| serde_json::from_str(&s).ok()),
                after: after.and_then(|s| serde_json::from_str(&s).ok()),
                request_id,
            },
        )
        .collect())
}
