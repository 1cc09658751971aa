//! The business_systems table's queries.

use crate::store::{Store, StoreError, TenantId, Tx};
use crate::{on_db, on_tx};

use super::BusinessSystem;

/// id, name, allowed_origins (JSON), remark, created, updated.
type Row = (i64, String, String, String, i64, i64);

fn decode(row: Row) -> Result<BusinessSystem, StoreError> {
    let (id, name, origins, remark, created_ms, updated_ms) = row;
    let allowed_origins: Vec<String> =
        serde_json::from_str(&origins).map_err(|e| StoreError::Corrupt {
            column: "business_systems.allowed_origins",
            why: e.to_string(),
        })?;
    Ok(BusinessSystem {
        id,
        name,
        allowed_origins,
        remark,
        created_ms,
        updated_ms,
    })
}

fn origins_json(origins: &[String]) -> String {
    // A list of strings always serialises.
    serde_json::to_string(origins).unwrap_or_else(|_| "[]".into())
}

pub async fn insert(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    name: &str,
    origins: &[String],
    remark: &str,
    now: i64,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = on_tx!(tx, conn => {
        sqlx::query_as(
            "INSERT INTO business_systems (tenant_id, name, allowed_origins, remark, created_ms, \
             updated_ms) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(tenant.0)
        .bind(name)
        .bind(origins_json(origins))
        .bind(remark)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
    })?;
    Ok(id)
}

pub async fn update(
    tx: &mut Tx<'_>,
    id: i64,
    name: &str,
    origins: &[String],
    remark: &str,
    now: i64,
) -> Result<(), StoreError> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE business_systems SET name = $1, allowed_origins = $2, remark = $3, \
             updated_ms = $4 WHERE id = $5",
        )
        .bind(name)
        .bind(origins_json(origins))
        .bind(remark)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

pub async fn get(
    store: &Store,
    tenant: TenantId,
    id: i64,
) -> Result<Option<BusinessSystem>, StoreError> {
    let row: Option<Row> = on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT id, name, allowed_origins, remark, created_ms, updated_ms \
             FROM business_systems WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(pool)
        .await
    })?;
    row.map(decode).transpose()
}

pub async fn list(store: &Store, tenant: TenantId) -> Result<Vec<BusinessSystem>, StoreError> {
    let rows: Vec<Row> = on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT id, name, allowed_origins, remark, created_ms, updated_ms \
             FROM business_systems WHERE tenant_id = $1 ORDER BY id",
        )
        .bind(tenant.0)
        .fetch_all(pool)
        .await
    })?;
    rows.into_iter().map(decode).collect()
}

/// Deletes a system; its webhook subscriptions and their deliveries go with it (cascade).
pub async fn delete(tx: &mut Tx<'_>, id: i64) -> Result<(), StoreError> {
    on_tx!(tx, conn => {
        sqlx::query("DELETE FROM business_systems WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await
            .map(|_| ())
    })?;
    Ok(())
}
