//! Queries of the callback tables.

use std::collections::HashSet;

use serde::Serialize;
use utoipa::ToSchema;
use wx::message::Message;

use crate::store::{Store, StoreError, TenantId, Tx};
use crate::{on_db, on_tx};

use super::{Mode, Purpose};

pub struct ReceiverRow {
    pub id: i64,
    pub tenant: TenantId,
    pub channel_id: i64,
    pub purpose: Purpose,
    pub public_id: String,
    pub mode: Mode,
    pub enabled: bool,
    pub token_sealed: Vec<u8>,
    pub aes_key_sealed: Vec<u8>,
    pub updated_ms: i64,
}

type RawReceiver = (
    i64,
    i64,
    i64,
    String,
    String,
    String,
    bool,
    Vec<u8>,
    Vec<u8>,
    i64,
);

const RECEIVER_COLUMNS: &str = "id, tenant_id, channel_id, purpose, public_id, mode, enabled, \
                                token_sealed, aes_key_sealed, updated_ms";

fn decode(raw: RawReceiver) -> Result<ReceiverRow, StoreError> {
    let (
        id,
        tenant,
        channel_id,
        purpose,
        public_id,
        mode,
        enabled,
        token_sealed,
        aes_key_sealed,
        updated_ms,
    ) = raw;
    Ok(ReceiverRow {
        id,
        tenant: TenantId(tenant),
        channel_id,
        purpose: Purpose::parse(&purpose).ok_or_else(|| StoreError::Corrupt {
            column: "callback_receivers.purpose",
            why: purpose.clone(),
        })?,
        public_id,
        mode: Mode::parse(&mode).ok_or_else(|| StoreError::Corrupt {
            column: "callback_receivers.mode",
            why: mode.clone(),
        })?,
        enabled,
        token_sealed,
        aes_key_sealed,
        updated_ms,
    })
}

pub async fn receivers_of_channel(
    store: &Store,
    tenant: TenantId,
    channel_id: i64,
) -> Result<Vec<ReceiverRow>, StoreError> {
    let rows: Vec<RawReceiver> = on_db!(&store.db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {RECEIVER_COLUMNS} FROM callback_receivers WHERE tenant_id = $1 AND channel_id = $2 ORDER BY id"
        )))
        .bind(tenant.0)
        .bind(channel_id)
        .fetch_all(pool)
        .await
    })?;
    rows.into_iter().map(decode).collect()
}

pub async fn receiver(
    store: &Store,
    tenant: TenantId,
    id: i64,
) -> Result<Option<ReceiverRow>, StoreError> {
    let row: Option<RawReceiver> = on_db!(&store.db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {RECEIVER_COLUMNS} FROM callback_receivers WHERE tenant_id = $1 AND id = $2"
        )))
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(pool)
        .await
    })?;
    row.map(decode).transpose()
}

pub async fn receiver_by_public_id(
    store: &Store,
    public_id: &str,
) -> Result<Option<ReceiverRow>, StoreError> {
    let row: Option<RawReceiver> = on_db!(&store.db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {RECEIVER_COLUMNS} FROM callback_receivers WHERE public_id = $1"
        )))
        .bind(public_id)
        .fetch_optional(pool)
        .await
    })?;
    row.map(decode).transpose()
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_receiver(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    channel_id: i64,
    purpose: Purpose,
    public_id: &str,
    mode: Mode,
    token_sealed: &[u8],
    aes_key_sealed: &[u8],
    now: i64,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = on_tx!(tx, conn => {
        sqlx::query_as(
            "INSERT INTO callback_receivers (tenant_id, channel_id, purpose, public_id, mode, enabled, \
             token_sealed, aes_key_sealed, created_ms, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, FALSE, $6, $7, $8, $8) RETURNING id",
        )
        .bind(tenant.0)
        .bind(channel_id)
        .bind(purpose.as_str())
        .bind(public_id)
        .bind(mode.as_str())
        .bind(token_sealed)
        .bind(aes_key_sealed)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
    })?;
    Ok(id)
}

pub async fn update_receiver(
    tx: &mut Tx<'_>,
    id: i64,
    mode: Mode,
    enabled: bool,
    token_sealed: &[u8],
    aes_key_sealed: &[u8],
    now: i64,
) -> Result<(), StoreError> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE callback_receivers SET mode = $1, enabled = $2, token_sealed = $3, \
             aes_key_sealed = $4, updated_ms = $5 WHERE id = $6",
        )
        .bind(mode.as_str())
        .bind(enabled)
        .bind(token_sealed)
        .bind(aes_key_sealed)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

pub async fn delete_receiver(tx: &mut Tx<'_>, id: i64) -> Result<(), StoreError> {
    on_tx!(tx, conn => {
        sqlx::query("DELETE FROM inbox WHERE receiver_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM callback_receivers WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// A row for the inbox, as the callback path builds it.
#[derive(Debug, Clone)]
pub struct NewInboxRow {
    pub tenant: TenantId,
    pub receiver_id: i64,
    pub channel_id: i64,
    pub dedup_key: String,
    pub kind: String,
    pub from_user: String,
    pub create_time: i64,
    pub received_ms: i64,
    /// The decrypted push as WeChat sent it; its JSON form is derived on read
    /// ([`payload_of`]), so the hot path stores the push once.
    pub raw: String,
    pub reply: Option<String>,
}

/// Inserts a batch of rows in one statement, skipping those whose de-duplication key is
/// already stored (or appears earlier in the batch). Returns, per row, whether it was new.
pub async fn insert_inbox_batch(
    tx: &mut Tx<'_>,
    rows: &[&NewInboxRow],
) -> Result<Vec<bool>, StoreError> {
    // The first row of a key in the batch is the one inserted; a later one is its retry.
    let mut keys = HashSet::new();
    let first: Vec<bool> = rows
        .iter()
        .map(|row| keys.insert((row.receiver_id, row.dedup_key.as_str())))
        .collect();
    if rows.is_empty() {
        return Ok(first);
    }
    let inserted: Vec<(i64, String)> = match tx {
        // Each row of a RETURNING clause crosses from sqlx's SQLite thread on its own (15 %
        // of the callback rate under load), so SQLite counts instead: when every key of the
        // batch went in, nothing was stored before, which is how it almost always is.
        Tx::Sqlite(conn) => {
            let added = inbox_insert(rows).build().execute(&mut **conn).await?;
            if added.rows_affected() as usize == keys.len() {
                return Ok(first);
            }
            // Some were stored before (WeChat's retries). Under the write lock, SQLite gave
            // the rows just added the largest ids there are, so they are the newest `added`
            // rows among the batch's keys.
            let mut stored: Vec<(i64, i64, String)> = inbox_with_keys(rows)
                .build_query_as()
                .fetch_all(&mut **conn)
                .await?;
            stored.retain(|(_, receiver, key)| keys.contains(&(*receiver, key.as_str())));
            stored.sort_unstable_by_key(|(id, _, _)| std::cmp::Reverse(*id));
            stored.truncate(added.rows_affected() as usize);
            stored.into_iter().map(|(_, r, k)| (r, k)).collect()
        }
        Tx::Postgres(conn) => {
            let mut query = inbox_insert(rows);
            query.push(" RETURNING receiver_id, dedup_key");
            query.build_query_as().fetch_all(&mut **conn).await?
        }
    };
    let inserted: HashSet<(i64, &str)> = inserted.iter().map(|(r, k)| (*r, k.as_str())).collect();
    Ok(rows
        .iter()
        .zip(first)
        .map(|(row, first)| first && inserted.contains(&(row.receiver_id, row.dedup_key.as_str())))
        .collect())
}

/// `INSERT … ON CONFLICT DO NOTHING` of a batch of inbox rows, on either backend.
fn inbox_insert<'a, DB>(rows: &'a [&NewInboxRow]) -> sqlx::QueryBuilder<DB>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Option<&'a str>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut query = sqlx::QueryBuilder::new(
        "INSERT INTO inbox (tenant_id, receiver_id, channel_id, dedup_key, kind, from_user, \
         create_time, received_ms, raw, reply) ",
    );
    query.push_values(rows.iter(), |mut b, row| {
        b.push_bind(row.tenant.0)
            .push_bind(row.receiver_id)
            .push_bind(row.channel_id)
            .push_bind(row.dedup_key.as_str())
            .push_bind(row.kind.as_str())
            .push_bind(row.from_user.as_str())
            .push_bind(row.create_time)
            .push_bind(row.received_ms)
            .push_bind(row.raw.as_str())
            .push_bind(row.reply.as_deref());
    });
    query.push(" ON CONFLICT (receiver_id, dedup_key) DO NOTHING");
    query
}

/// The stored rows whose de-duplication key is one of the batch's (and a few more that
/// share a receiver or a key: the caller filters).
fn inbox_with_keys(rows: &[&NewInboxRow]) -> sqlx::QueryBuilder<sqlx::Sqlite> {
    let mut query = sqlx::QueryBuilder::new(
        "SELECT id, receiver_id, dedup_key FROM inbox WHERE dedup_key IN (",
    );
    let mut keys = query.separated(", ");
    for row in rows {
        keys.push_bind(row.dedup_key.as_str());
    }
    query.push(")");
    query
}

/// Every field of a stored push as JSON (`null` if the stored text is not a push, which the
/// callback path never stores).
pub fn payload_of(raw: &str) -> serde_json::Value {
    Message::parse_bytes(raw.as_bytes())
        .map(|message| message.to_json())
        .unwrap_or(serde_json::Value::Null)
}

/// The reply stored with an earlier copy of a push.
pub async fn stored_reply(
    tx: &mut Tx<'_>,
    receiver_id: i64,
    dedup_key: &str,
) -> Result<Option<String>, StoreError> {
    let row: Option<(Option<String>,)> = on_tx!(tx, conn => {
        sqlx::query_as("SELECT reply FROM inbox WHERE receiver_id = $1 AND dedup_key = $2")
            .bind(receiver_id)
            .bind(dedup_key)
            .fetch_optional(&mut *conn)
            .await
    })?;
    Ok(row.and_then(|(reply,)| reply))
}

/// An inbox entry for the console and the API.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboxEntry {
    pub id: i64,
    pub channel_id: i64,
    pub receiver_id: i64,
    /// `msg:text`, `event:CLICK`, `event:change_contact`…
    pub kind: String,
    pub from_user: String,
    pub create_time: i64,
    pub received_ms: i64,
    /// Every field of the push, as JSON.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// The passive reply that was sent (plaintext XML), if any.
    pub reply: Option<String>,
}

type RawInbox = (
    i64,
    i64,
    i64,
    String,
    String,
    i64,
    i64,
    String,
    Option<String>,
);

pub async fn inbox(
    store: &Store,
    tenant: TenantId,
    channel_id: Option<i64>,
    kind_prefix: Option<&str>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<InboxEntry>, StoreError> {
    let like = kind_prefix.map(|k| format!("{}%", k.replace(['%', '_'], "")));
    let rows: Vec<RawInbox> = on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT id, channel_id, receiver_id, kind, from_user, create_time, received_ms, raw, reply \
             FROM inbox WHERE tenant_id = $1 AND ($2 IS NULL OR channel_id = $2) \
             AND ($3 IS NULL OR kind LIKE $3) AND id < $4 ORDER BY id DESC LIMIT $5",
        )
        .bind(tenant.0)
        .bind(channel_id)
        .bind(&like)
        .bind(before_id.unwrap_or(i64::MAX))
        .bind(limit.clamp(1, 500))
        .fetch_all(pool)
        .await
    })?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                channel_id,
                receiver_id,
                kind,
                from_user,
                create_time,
                received_ms,
                raw,
                reply,
            )| InboxEntry {
                id,
                channel_id,
                receiver_id,
                kind,
                from_user,
                create_time,
                received_ms,
                payload: payload_of(&raw),
                reply,
            },
        )
        .collect())
}
