//! The reply_rules table's queries.

use crate::store::{Store, StoreError, TenantId, Tx};
use crate::{on_db, on_tx};

use super::validate::ValidRule;
use super::{MatchMode, ReplyAction, ReplyRule};

const COLUMNS: &str = "id, channel_id, name, action, match_mode, keyword, reply, priority, \
                       enabled, created_ms, updated_ms";

type RawRow = (
    i64,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i32,
    bool,
    i64,
    i64,
);

fn decode(row: RawRow) -> Result<ReplyRule, StoreError> {
    let (
        id,
        channel_id,
        name,
        action,
        match_mode,
        keyword,
        reply,
        priority,
        enabled,
        created_ms,
        updated_ms,
    ) = row;
    let action = ReplyAction::parse(&action).ok_or_else(|| StoreError::Corrupt {
        column: "reply_rules.action",
        why: format!("unknown action {action}"),
    })?;
    let match_mode = match match_mode {
        None => None,
        Some(mode) => Some(MatchMode::parse(&mode).ok_or_else(|| StoreError::Corrupt {
            column: "reply_rules.match_mode",
            why: format!("unknown match mode {mode}"),
        })?),
    };
    Ok(ReplyRule {
        id,
        channel_id,
        name,
        action,
        match_mode,
        keyword,
        reply,
        priority,
        enabled,
        created_ms,
        updated_ms,
    })
}

pub async fn insert(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    channel_id: i64,
    rule: &ValidRule,
    now: i64,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = on_tx!(tx, conn => {
        sqlx::query_as(
            "INSERT INTO reply_rules (tenant_id, channel_id, name, action, match_mode, keyword, \
             reply, priority, enabled, created_ms, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
        )
        .bind(tenant.0)
        .bind(channel_id)
        .bind(&rule.name)
        .bind(rule.action.as_str())
        .bind(rule.match_mode.map(MatchMode::as_str))
        .bind(&rule.keyword)
        .bind(&rule.reply)
        .bind(rule.priority)
        .bind(rule.enabled)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
    })?;
    Ok(id)
}

pub async fn update(
    tx: &mut Tx<'_>,
    id: i64,
    rule: &ValidRule,
    now: i64,
) -> Result<(), StoreError> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE reply_rules SET name = $1, action = $2, match_mode = $3, keyword = $4, \
             reply = $5, priority = $6, enabled = $7, updated_ms = $8 WHERE id = $9",
        )
        .bind(&rule.name)
        .bind(rule.action.as_str())
        .bind(rule.match_mode.map(MatchMode::as_str))
        .bind(&rule.keyword)
        .bind(&rule.reply)
        .bind(rule.priority)
        .bind(rule.enabled)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

/// How many rules a channel has (inside the transaction that adds one).
pub async fn count(tx: &mut Tx<'_>, channel_id: i64) -> Result<i64, StoreError> {
    let (n,): (i64,) = on_tx!(tx, conn => {
        sqlx::query_as("SELECT COUNT(*) FROM reply_rules WHERE channel_id = $1")
            .bind(channel_id)
            .fetch_one(&mut *conn)
            .await
    })?;
    Ok(n)
}

pub async fn delete(tx: &mut Tx<'_>, tenant: TenantId, id: i64) -> Result<(), StoreError> {
    on_tx!(tx, conn => {
        sqlx::query("DELETE FROM reply_rules WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
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
) -> Result<Option<ReplyRule>, StoreError> {
    let row: Option<RawRow> = on_db!(&store.db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM reply_rules WHERE tenant_id = $1 AND id = $2"
        )))
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(pool)
        .await
    })?;
    row.map(decode).transpose()
}

/// A channel's rules, in the order they win in.
pub async fn list(
    store: &Store,
    tenant: TenantId,
    channel_id: i64,
) -> Result<Vec<ReplyRule>, StoreError> {
    let rows: Vec<RawRow> = on_db!(&store.db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM reply_rules WHERE tenant_id = $1 AND channel_id = $2 \
             ORDER BY priority, id"
        )))
        .bind(tenant.0)
        .bind(channel_id)
        .fetch_all(pool)
        .await
    })?;
    rows.into_iter().map(decode).collect()
}

/// A channel's enabled rules, for the matcher.
pub async fn enabled(
    store: &Store,
    tenant: TenantId,
    channel_id: i64,
) -> Result<Vec<ReplyRule>, StoreError> {
    let rows: Vec<RawRow> = on_db!(&store.db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM reply_rules WHERE tenant_id = $1 AND channel_id = $2 \
             AND enabled ORDER BY priority, id"
        )))
        .bind(tenant.0)
        .bind(channel_id)
        .fetch_all(pool)
        .await
    })?;
    rows.into_iter().map(decode).collect()
}
