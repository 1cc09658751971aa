//! The webhook tables' queries: subscriptions and the delivery outbox.

use crate::secrets::{Sealer, mask};
use crate::store::{Store, StoreError, TenantId, Tx};
use crate::{on_db, on_tx};

use super::{Delivery, DeliveryFilter, DeliveryState, SECRET_COLUMN, Subscription, WebhookEvent};

/// A subscription row with its sealed secret.
pub struct SubscriptionRow {
    pub id: i64,
    pub business_system_id: i64,
    pub url: String,
    pub sealed: Vec<u8>,
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl SubscriptionRow {
    /// The row as shown: the secret masked.
    pub fn shown(self, sealer: &Sealer) -> Subscription {
        let secret = match sealer.open_string(SECRET_COLUMN, &self.sealed) {
            Ok(secret) => mask(&secret),
            Err(_) => "(unreadable)".to_string(),
        };
        Subscription {
            id: self.id,
            business_system_id: self.business_system_id,
            url: self.url,
            event_types: self.event_types,
            enabled: self.enabled,
            disabled_reason: self.disabled_reason,
            secret,
            created_ms: self.created_ms,
            updated_ms: self.updated_ms,
        }
    }
}

type RawSubscription = (
    i64,
    i64,
    String,
    Vec<u8>,
    String,
    bool,
    Option<String>,
    i64,
    i64,
);

fn types_from_json(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        column: "webhook_subscriptions.event_types",
        why: e.to_string(),
    })
}

fn types_json(types: &[String]) -> String {
    // A list of strings always serialises.
    serde_json::to_string(types).unwrap_or_else(|_| "[]".into())
}

fn decode_subscription(row: RawSubscription) -> Result<SubscriptionRow, StoreError> {
    let (id, business_system_id, url, sealed, types, enabled, disabled_reason, created, updated) =
        row;
    Ok(SubscriptionRow {
        id,
        business_system_id,
        url,
        sealed,
        event_types: types_from_json(&types)?,
        enabled,
        disabled_reason,
        created_ms: created,
        updated_ms: updated,
    })
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_subscription(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    business_system_id: i64,
    url: &str,
    sealed: &[u8],
    event_types: &[String],
    enabled: bool,
    now: i64,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = on_tx!(tx, conn => {
        sqlx::query_as(
            "INSERT INTO webhook_subscriptions (tenant_id, business_system_id, url, secret, \
             event_types, enabled, created_ms, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        )
        .bind(tenant.0)
        .bind(business_system_id)
        .bind(url)
        .bind(sealed)
        .bind(types_json(event_types))
        .bind(enabled)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
    })?;
    Ok(id)
}

pub async fn update_subscription(
    tx: &mut Tx<'_>,
    id: i64,
    url: &str,
    event_types: &[String],
    enabled: bool,
    disabled_reason: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE webhook_subscriptions SET url = $1, event_types = $2, enabled = $3, \
             disabled_reason = $4, updated_ms = $5 WHERE id = $6",
        )
        .bind(url)
        .bind(types_json(event_types))
        .bind(enabled)
        .bind(disabled_reason)
        .bind(now)
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
    sealed: &[u8],
    now: i64,
) -> Result<(), StoreError> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE webhook_subscriptions SET secret = $1, updated_ms = $2 WHERE id = $3")
            .bind(sealed)
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// Disables an enabled subscription on the receiver's behalf (410 Gone), saying why; false
/// when it was already disabled.
pub async fn disable_subscription(
    tx: &mut Tx<'_>,
    id: i64,
    reason: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let affected = on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE webhook_subscriptions SET enabled = FALSE, disabled_reason = $1, \
             updated_ms = $2 WHERE id = $3 AND enabled",
        )
        .bind(reason)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    Ok(affected == 1)
}

pub async fn get_subscription(
    store: &Store,
    tenant: TenantId,
    id: i64,
) -> Result<Option<SubscriptionRow>, StoreError> {
    let row: Option<RawSubscription> = on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT id, business_system_id, url, secret, event_types, enabled, disabled_reason, \
             created_ms, updated_ms FROM webhook_subscriptions WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(pool)
        .await
    })?;
    row.map(decode_subscription).transpose()
}

pub async fn list_subscriptions(
    store: &Store,
    tenant: TenantId,
    business_system_id: Option<i64>,
) -> Result<Vec<SubscriptionRow>, StoreError> {
    let rows: Vec<RawSubscription> = on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT id, business_system_id, url, secret, event_types, enabled, disabled_reason, \
             created_ms, updated_ms FROM webhook_subscriptions \
             WHERE tenant_id = $1 AND ($2 IS NULL OR business_system_id = $2) ORDER BY id",
        )
        .bind(tenant.0)
        .bind(business_system_id)
        .fetch_all(pool)
        .await
    })?;
    rows.into_iter().map(decode_subscription).collect()
}

/// The URL and sealed secret of a subscription, for sending.
pub async fn target(store: &Store, id: i64) -> Result<Option<(String, Vec<u8>)>, StoreError> {
    let row = on_db!(&store.db, pool => {
        sqlx::query_as("SELECT url, secret FROM webhook_subscriptions WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await
    })?;
    Ok(row)
}

pub async fn delete_subscription(tx: &mut Tx<'_>, id: i64) -> Result<(), StoreError> {
    on_tx!(tx, conn => {
        sqlx::query("DELETE FROM webhook_subscriptions WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// The tenant's enabled subscriptions: (id, event type patterns).
pub async fn enabled_subscriptions(
    tx: &mut Tx<'_>,
    tenant: TenantId,
) -> Result<Vec<(i64, Vec<String>)>, StoreError> {
    let rows: Vec<(i64, String)> = on_tx!(tx, conn => {
        sqlx::query_as(
            "SELECT id, event_types FROM webhook_subscriptions WHERE tenant_id = $1 AND enabled",
        )
        .bind(tenant.0)
        .fetch_all(&mut *conn)
        .await
    })?;
    rows.into_iter()
        .map(|(id, types)| Ok((id, types_from_json(&types)?)))
        .collect()
}

/// Adds a pending delivery, due now; `None` when this event was already enqueued for the
/// subscription.
pub async fn insert_delivery(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    subscription_id: i64,
    event: &WebhookEvent,
    body: &str,
) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> = on_tx!(tx, conn => {
        sqlx::query_as(
            "INSERT INTO webhook_deliveries (tenant_id, subscription_id, event_id, event_type, \
             body, state, attempts, next_attempt_ms, created_ms) \
             VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) \
             ON CONFLICT (subscription_id, event_id) DO NOTHING RETURNING id",
        )
        .bind(tenant.0)
        .bind(subscription_id)
        .bind(&event.id)
        .bind(&event.event_type)
        .bind(body)
        .bind(event.occurred_ms)
        .fetch_optional(&mut *conn)
        .await
    })?;
    Ok(row.map(|(id,)| id))
}

type RawDelivery = (
    i64,
    i64,
    i64,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
    i64,
    Option<i64>,
    Option<String>,
);

fn decode_delivery(row: RawDelivery) -> Result<Delivery, StoreError> {
    let (
        id,
        subscription_id,
        business_system_id,
        url,
        event_id,
        event_type,
        state,
        attempts,
        next_attempt_ms,
        last_status,
        last_error,
        created_ms,
        delivered_ms,
        body,
    ) = row;
    let state = DeliveryState::parse(&state).ok_or_else(|| StoreError::Corrupt {
        column: "webhook_deliveries.state",
        why: format!("unknown state {state}"),
    })?;
    Ok(Delivery {
        id,
        subscription_id,
        business_system_id,
        url,
        event_id,
        event_type,
        state,
        attempts,
        next_attempt_ms,
        last_status,
        last_error,
        created_ms,
        delivered_ms,
        body,
    })
}

pub async fn list_deliveries(
    store: &Store,
    tenant: TenantId,
    filter: &DeliveryFilter,
) -> Result<Vec<Delivery>, StoreError> {
    let rows: Vec<RawDelivery> = on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT d.id, d.subscription_id, s.business_system_id, s.url, d.event_id, \
             d.event_type, d.state, d.attempts, d.next_attempt_ms, d.last_status, d.last_error, \
             d.created_ms, d.delivered_ms, CAST(NULL AS TEXT) FROM webhook_deliveries d \
             JOIN webhook_subscriptions s ON s.id = d.subscription_id \
             WHERE d.tenant_id = $1 AND ($2 IS NULL OR s.business_system_id = $2) \
             AND ($3 IS NULL OR d.subscription_id = $3) AND ($4 IS NULL OR d.state = $4) \
             AND d.id < $5 ORDER BY d.id DESC LIMIT $6",
        )
        .bind(tenant.0)
        .bind(filter.business_system_id)
        .bind(filter.subscription_id)
        .bind(filter.state.map(DeliveryState::as_str))
        .bind(filter.before_id.unwrap_or(i64::MAX))
        .bind(filter.limit.clamp(1, 500))
        .fetch_all(pool)
        .await
    })?;
    rows.into_iter().map(decode_delivery).collect()
}

pub async fn get_delivery(
    store: &Store,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Delivery>, StoreError> {
    let row: Option<RawDelivery> = on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT d.id, d.subscription_id, s.business_system_id, s.url, d.event_id, \
             d.event_type, d.state, d.attempts, d.next_attempt_ms, d.last_status, d.last_error, \
             d.created_ms, d.delivered_ms, d.body FROM webhook_deliveries d \
             JOIN webhook_subscriptions s ON s.id = d.subscription_id \
             WHERE d.tenant_id = $1 AND d.id = $2",
        )
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(pool)
        .await
    })?;
    row.map(decode_delivery).transpose()
}

/// Makes a delivered or failed delivery pending and due at `now`; false when it is neither.
pub async fn reset_delivery(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    id: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let affected = on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_ms = $1, \
             delivered_ms = NULL, lease_owner = NULL, lease_until_ms = NULL \
             WHERE tenant_id = $2 AND id = $3 AND state IN ('delivered', 'failed')",
        )
        .bind(now)
        .bind(tenant.0)
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    Ok(affected == 1)
}

/// A delivery claimed for sending.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub tenant: TenantId,
    pub subscription_id: i64,
    pub event_type: String,
    pub body: String,
    /// The attempt this claim makes (1 for the first); with the owner, it fences the result.
    pub attempt: i64,
}

// Due: pending and due, or in flight with an expired lease (its node died mid-send). Only
// deliveries of enabled subscriptions are claimed; the others wait.
const CLAIM_SQLITE: &str = "UPDATE webhook_deliveries SET state = 'in_flight', lease_owner = $1, \
     lease_until_ms = $2, attempts = attempts + 1 WHERE id IN (\
     SELECT d.id FROM webhook_deliveries d \
     WHERE ((d.state = 'pending' AND d.next_attempt_ms <= $3) \
     OR (d.state = 'in_flight' AND d.lease_until_ms <= $3)) \
     AND EXISTS (SELECT 1 FROM webhook_subscriptions s WHERE s.id = d.subscription_id AND s.enabled) \
     ORDER BY d.next_attempt_ms, d.id LIMIT $4) \
     RETURNING id, tenant_id, subscription_id, event_type, body, attempts";

// The same, skipping rows another node has locked (PostgreSQL).
const CLAIM_POSTGRES: &str = "UPDATE webhook_deliveries SET state = 'in_flight', lease_owner = $1, \
     lease_until_ms = $2, attempts = attempts + 1 WHERE id IN (\
     SELECT d.id FROM webhook_deliveries d \
     WHERE ((d.state = 'pending' AND d.next_attempt_ms <= $3) \
     OR (d.state = 'in_flight' AND d.lease_until_ms <= $3)) \
     AND EXISTS (SELECT 1 FROM webhook_subscriptions s WHERE s.id = d.subscription_id AND s.enabled) \
     ORDER BY d.next_attempt_ms, d.id LIMIT $4 FOR UPDATE SKIP LOCKED) \
     RETURNING id, tenant_id, subscription_id, event_type, body, attempts";

/// Claims up to `limit` due deliveries for `owner` until `lease_until`. Run it in its own
/// write transaction and commit before sending.
pub async fn claim(
    tx: &mut Tx<'_>,
    owner: &str,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<Claimed>, StoreError> {
    let sql = match tx {
        Tx::Sqlite(_) => CLAIM_SQLITE,
        Tx::Postgres(_) => CLAIM_POSTGRES,
    };
    let rows: Vec<(i64, i64, i64, String, String, i64)> = on_tx!(tx, conn => {
        sqlx::query_as(sql)
            .bind(owner)
            .bind(lease_until)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await
    })?;
    Ok(rows
        .into_iter()
        .map(
            |(id, tenant, subscription_id, event_type, body, attempt)| Claimed {
                id,
                tenant: TenantId(tenant),
                subscription_id,
                event_type,
                body,
                attempt,
            },
        )
        .collect())
}

/// The result of one attempt, to record.
pub struct Finish<'a> {
    pub state: DeliveryState,
    pub status: Option<i64>,
    pub error: Option<&'a str>,
    pub next_attempt_ms: i64,
    pub delivered_ms: Option<i64>,
}

/// Records an attempt's result, if the claim still holds (same owner and attempt); false when
/// another dispatcher has taken the delivery over meanwhile.
pub async fn finish(
    tx: &mut Tx<'_>,
    claimed: &Claimed,
    owner: &str,
    result: &Finish<'_>,
) -> Result<bool, StoreError> {
    let affected = on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE webhook_deliveries SET state = $1, last_status = $2, last_error = $3, \
             next_attempt_ms = $4, delivered_ms = $5, lease_owner = NULL, lease_until_ms = NULL \
             WHERE id = $6 AND state = 'in_flight' AND lease_owner = $7 AND attempts = $8",
        )
        .bind(result.state.as_str())
        .bind(result.status)
        .bind(result.error)
        .bind(result.next_attempt_ms)
        .bind(result.delivered_ms)
        .bind(claimed.id)
        .bind(owner)
        .bind(claimed.attempt)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    Ok(affected == 1)
}
