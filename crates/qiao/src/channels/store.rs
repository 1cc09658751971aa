//! The channel tables' queries.

use std::collections::BTreeMap;

use crate::store::{Store, StoreError, TenantId, Tx};
use crate::{on_db, on_tx};

use super::validate::ValidChannel;
use super::{Attrs, Channel, ChannelKind, limitations};

pub struct ChannelRow {
    pub id: i64,
    pub kind: ChannelKind,
    pub parent_id: Option<i64>,
    pub name: String,
    pub remark: String,
    pub external_id: String,
    pub attrs: Attrs,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl ChannelRow {
    pub fn into_channel(self, secrets: BTreeMap<String, String>) -> Channel {
        Channel {
            limitations: limitations(&self.attrs),
            id: self.id,
            kind: self.kind,
            parent_id: self.parent_id,
            name: self.name,
            remark: self.remark,
            external_id: self.external_id,
            attrs: self.attrs,
            secrets,
            created_ms: self.created_ms,
            updated_ms: self.updated_ms,
        }
    }
}

type RawRow = (
    i64,
    String,
    Option<i64>,
    String,
    String,
    String,
    String,
    i64,
    i64,
);

fn decode(row: RawRow) -> Result<ChannelRow, StoreError> {
    let (id, kind, parent_id, name, remark, external_id, attrs, created_ms, updated_ms) = row;
    let kind = ChannelKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
        column: "channels.kind",
        why: format!("unknown kind {kind}"),
    })?;
    let attrs: Attrs = serde_json::from_str(&attrs).map_err(|e| StoreError::Corrupt {
        column: "channels.attrs",
        why: e.to_string(),
    })?;
    Ok(ChannelRow {
        id,
        kind,
        parent_id,
        name,
        remark,
        external_id,
        attrs,
        created_ms,
        updated_ms,
    })
}

fn attrs_json(attrs: &Attrs) -> String {
    // Serialising a plain enum of strings and bools cannot fail.
    serde_json::to_string(attrs).unwrap_or_else(|_| "{}".into())
}

pub async fn insert(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    valid: &ValidChannel,
    now: i64,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = on_tx!(tx, conn => {
        sqlx::query_as(
            "INSERT INTO channels (tenant_id, kind, parent_id, name, remark, external_id, attrs, \
             created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        )
        .bind(tenant.0)
        .bind(valid.attrs.kind().as_str())
        .bind(valid.parent_id)
        .bind(&valid.name)
        .bind(&valid.remark)
        .bind(&valid.external_id)
        .bind(attrs_json(&valid.attrs))
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
    remark: &str,
    attrs: &Attrs,
    now: i64,
) -> Result<(), StoreError> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE channels SET name = $1, remark = $2, attrs = $3, updated_ms = $4 WHERE id = $5")
            .bind(name)
            .bind(remark)
            .bind(attrs_json(attrs))
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
) -> Result<Option<ChannelRow>, StoreError> {
    let row: Option<RawRow> = on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT id, kind, parent_id, name, remark, external_id, attrs, created_ms, updated_ms \
             FROM channels WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(pool)
        .await
    })?;
    row.map(decode).transpose()
}

pub async fn list(
    store: &Store,
    tenant: TenantId,
    kind: Option<ChannelKind>,
) -> Result<Vec<ChannelRow>, StoreError> {
    let rows: Vec<RawRow> = on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT id, kind, parent_id, name, remark, external_id, attrs, created_ms, updated_ms \
             FROM channels WHERE tenant_id = $1 AND ($2 IS NULL OR kind = $2) \
             ORDER BY COALESCE(parent_id, id), parent_id IS NOT NULL, id",
        )
        .bind(tenant.0)
        .bind(kind.map(ChannelKind::as_str))
        .fetch_all(pool)
        .await
    })?;
    rows.into_iter().map(decode).collect()
}

/// Apps of a corp: (id, name).
pub async fn children(
    store: &Store,
    tenant: TenantId,
    id: i64,
) -> Result<Vec<(i64, String)>, StoreError> {
    let rows = on_db!(&store.db, pool => {
        sqlx::query_as("SELECT id, name FROM channels WHERE tenant_id = $1 AND parent_id = $2 ORDER BY id")
            .bind(tenant.0)
            .bind(id)
            .fetch_all(pool)
            .await
    })?;
    Ok(rows)
}

pub async fn delete(tx: &mut Tx<'_>, id: i64) -> Result<(), StoreError> {
    on_tx!(tx, conn => {
        sqlx::query("DELETE FROM channel_secrets WHERE channel_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM channels WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

pub async fn put_secret(
    tx: &mut Tx<'_>,
    id: i64,
    name: &str,
    sealed: &[u8],
    now: i64,
) -> Result<(), StoreError> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO channel_secrets (channel_id, name, sealed, updated_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (channel_id, name) DO UPDATE SET sealed = excluded.sealed, \
             updated_ms = excluded.updated_ms",
        )
        .bind(id)
        .bind(name)
        .bind(sealed)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

pub async fn delete_secret(tx: &mut Tx<'_>, id: i64, name: &str) -> Result<(), StoreError> {
    on_tx!(tx, conn => {
        sqlx::query("DELETE FROM channel_secrets WHERE channel_id = $1 AND name = $2")
            .bind(id)
            .bind(name)
            .execute(&mut *conn)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// The sealed secrets of a channel: (name, sealed value).
pub async fn secrets(store: &Store, id: i64) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    let rows = on_db!(&store.db, pool => {
        sqlx::query_as("SELECT name, sealed FROM channel_secrets WHERE channel_id = $1 ORDER BY name")
            .bind(id)
            .fetch_all(pool)
            .await
    })?;
    Ok(rows)
}
