//! Webhooks to the business systems: subscriptions (URL, secret, event types), an outbox of
//! deliveries, and the dispatcher that sends them signed and retries them.
//!
//! **Producing events.** A capability that has something to tell the business systems calls
//! [`enqueue`] inside its own write transaction (the callback path together with its inbox
//! row), then, after the commit, [`Dispatcher::wake`] on `state.webhooks`. `enqueue` costs one
//! SELECT of the tenant's enabled subscriptions and one INSERT per matching subscription; it
//! never does network I/O, so it never delays a callback's answer. A rolled-back transaction
//! enqueues nothing. Event ids are the producer's: the same event enqueued twice is delivered
//! once per subscription. Event types are listed in [`EVENT_TYPES`].
//!
//! **Delivery.** `POST <url>` with the JSON body
//! `{"id", "type", "occurred_ms", "channel_id", "data"}` and the headers of [`signing`]
//! (`X-Qiao-Event`, `X-Qiao-Delivery`, `X-Qiao-Timestamp`, `X-Qiao-Signature: v1=<hex>`). A 2xx
//! answer within 10 s delivers it; `410 Gone` disables the subscription; anything else (another
//! status, a timeout, a refused connection) is retried after 10 s, 30 s, 2 min, 10 min, 30 min,
//! 1 h, 2 h, 4 h, then every 6 h (±20 % jitter), and after [`MAX_ATTEMPTS`] attempts the
//! delivery is `failed`. Each attempt's HTTP status and error are kept; failed and delivered
//! deliveries can be re-sent from the console or the API. Delivery is at least once: receivers
//! de-duplicate by `X-Qiao-Delivery` (or the event `id`).
//!
//! **Several nodes.** Deliveries are claimed in batches with a lease (PostgreSQL:
//! `FOR UPDATE SKIP LOCKED`; SQLite: one `BEGIN IMMEDIATE` writer), so two dispatchers never
//! send the same delivery; a node that dies mid-send leaves a lease that expires after
//! [`LEASE_MS`] and the delivery is claimed again.

mod dispatcher;
pub mod signing;
mod store;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::audit::{self, Actor};
use crate::business_systems;
use crate::secrets::{Sealer, mask};
use crate::store::{Store, StoreError, TenantId, Tx};

pub use dispatcher::{
    DispatchReport, Dispatcher, LEASE_MS, MAX_ATTEMPTS, backoff_ms, dispatch_due,
    dispatch_until_idle, spawn,
};

/// The column whose values are sealed (the associated data of every webhook secret).
pub const SECRET_COLUMN: &str = "webhook_subscriptions.secret";

/// The prefix of secrets Qiao generates.
pub const SECRET_PREFIX: &str = "whsec_";

/// An event type a business system can subscribe to.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct EventType {
    pub name: &'static str,
    pub description: &'static str,
}

/// Every event type, with what it means and who produces it. A subscription lists names from
/// here, `*` for all, or `family.*` (e.g. `callback.*`).
pub const EVENT_TYPES: &[EventType] = &[
    EventType {
        name: "callback.message",
        description: "A message a user sent to an Official Account or a WeCom app (text, image, \
                      voice, video, location, link). `data` holds the decoded message.",
    },
    EventType {
        name: "callback.event",
        description: "An event pushed by WeChat or WeCom: subscribe and unsubscribe, menu \
                      clicks, QR-code scans, template-card button clicks, entering an app, \
                      location reports. `data` holds the decoded event.",
    },
    EventType {
        name: "contact.changed",
        description: "A WeCom member, department or tag was created, changed or deleted \
                      (通讯录变更).",
    },
    EventType {
        name: "external_contact.changed",
        description: "A WeCom external contact (customer) was added, edited or removed \
                      (客户联系变更).",
    },
    EventType {
        name: "webhook.test",
        description: "A test event sent on demand from the console or the API to check a \
                      subscription's URL and signature verification.",
    },
];

/// What a producer hands to [`enqueue`].
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    /// The producer's id of the event, unique per event (the callback's de-duplication key,
    /// say): enqueueing the same id again adds nothing.
    pub id: String,
    /// One of [`EVENT_TYPES`].
    pub event_type: String,
    pub occurred_ms: i64,
    /// The channel (account or app) the event came from, if any.
    pub channel_id: Option<i64>,
    /// The event itself; delivered as `data`.
    pub payload: serde_json::Value,
}

/// The JSON body of a delivery (field order is the wire order).
#[derive(Serialize)]
struct Envelope<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    event_type: &'a str,
    occurred_ms: i64,
    channel_id: Option<i64>,
    data: &'a serde_json::Value,
}

impl WebhookEvent {
    /// The body every subscription receives.
    pub fn body(&self) -> String {
        let envelope = Envelope {
            id: &self.id,
            event_type: &self.event_type,
            occurred_ms: self.occurred_ms,
            channel_id: self.channel_id,
            data: &self.payload,
        };
        // A struct of strings, numbers and a JSON value always serialises.
        serde_json::to_string(&envelope).unwrap_or_default()
    }
}

/// A subscription as shown to admins and the API: the secret masked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Subscription {
    pub id: i64,
    pub business_system_id: i64,
    pub url: String,
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why Qiao disabled it (the receiver answered 410 Gone), if it did.
    pub disabled_reason: Option<String>,
    /// The signing secret, masked (`******ab12`).
    pub secret: String,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    /// `http://` or `https://` URL that receives the POSTs.
    pub url: String,
    /// Event type names, `*` for all, or `family.*`.
    pub event_types: Vec<String>,
    /// The signing secret (16 to 256 printable characters). Generated when absent.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// A partial update: absent fields stay. Enabling clears the reason Qiao disabled it for.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionPatch {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    /// A new signing secret (not shown again).
    pub secret: Option<String>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its (next) attempt.
    Pending,
    /// Claimed by a dispatcher and being sent.
    InFlight,
    Delivered,
    /// Given up after the last attempt, or the receiver answered 410 Gone.
    Failed,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 4] = [
        DeliveryState::Pending,
        DeliveryState::InFlight,
        DeliveryState::Delivered,
        DeliveryState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::InFlight => "in_flight",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// One delivery of one event to one subscription, with the outcome of its last attempt.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Delivery {
    /// Sent as `X-Qiao-Delivery`.
    pub id: i64,
    pub subscription_id: i64,
    pub business_system_id: i64,
    /// The subscription's URL.
    pub url: String,
    pub event_id: String,
    pub event_type: String,
    pub state: DeliveryState,
    pub attempts: i64,
    /// When a pending delivery is due.
    pub next_attempt_ms: i64,
    /// The HTTP status of the last attempt, if the receiver answered.
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_ms: i64,
    pub delivered_ms: Option<i64>,
    /// The JSON body (in single-delivery responses only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// Which deliveries to list (newest first).
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub business_system_id: Option<i64>,
    pub subscription_id: Option<i64>,
    pub state: Option<DeliveryState>,
    /// Only deliveries older than this id (paging).
    pub before_id: Option<i64>,
    pub limit: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("{field}: {why}")]
    Invalid { field: &'static str, why: String },
    #[error("no such business system")]
    SystemNotFound,
    #[error("no such webhook subscription")]
    NotFound,
    #[error("no such webhook delivery")]
    DeliveryNotFound,
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for WebhookError {
    fn from(e: sqlx::Error) -> Self {
        WebhookError::Store(e.into())
    }
}

fn invalid(field: &'static str, why: impl Into<String>) -> WebhookError {
    WebhookError::Invalid {
        field,
        why: why.into(),
    }
}

/// Validates a receiver URL: http(s), a host, no credentials, no fragment.
pub fn valid_url(value: &str) -> Result<String, WebhookError> {
    let value = value.trim();
    let parsed =
        url::Url::parse(value).map_err(|_| invalid("url", format!("`{value}` is not a URL")))?;
    if parsed.scheme() != "http" && parsed.scheme() != "https" {
        return Err(invalid(
            "url",
            format!("`{value}` must start with http:// or https://"),
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("url", format!("`{value}` has no host")));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid(
            "url",
            "must not contain a user name or password: the signature authenticates Qiao",
        ));
    }
    if parsed.fragment().is_some() {
        return Err(invalid(
            "url",
            format!("`{value}` must not have a #fragment"),
        ));
    }
    if parsed.as_str().len() > 2048 {
        return Err(invalid("url", "must be at most 2048 characters"));
    }
    Ok(parsed.to_string())
}

/// Validates event type patterns: known names, `*`, or `family.*` of a known family.
pub fn valid_event_types(values: &[String]) -> Result<Vec<String>, WebhookError> {
    let mut out: Vec<String> = Vec::new();
    for value in values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
        let known = value == "*"
            || EVENT_TYPES.iter().any(|t| t.name == value)
            || value.strip_suffix('*').is_some_and(|family| {
                family.ends_with('.') && EVENT_TYPES.iter().any(|t| t.name.starts_with(family))
            });
        if !known {
            let names: Vec<&str> = EVENT_TYPES.iter().map(|t| t.name).collect();
            return Err(invalid(
                "event_types",
                format!(
                    "unknown event type `{value}`; known: {}, or * for all",
                    names.join(", ")
                ),
            ));
        }
        if !out.iter().any(|v| v == value) {
            out.push(value.to_string());
        }
    }
    if out.is_empty() {
        return Err(invalid(
            "event_types",
            "choose at least one event type (or * for all)",
        ));
    }
    if out.iter().any(|v| v == "*") {
        out = vec!["*".to_string()];
    }
    Ok(out)
}

/// Whether a subscription's patterns take an event of `event_type`.
pub fn matches(patterns: &[String], event_type: &str) -> bool {
    patterns.iter().any(|p| {
        p == "*"
            || p == event_type
            || p.strip_suffix('*')
                .is_some_and(|family| family.ends_with('.') && event_type.starts_with(family))
    })
}

fn valid_secret(value: &str) -> Result<String, WebhookError> {
    let len = value.chars().count();
    if !(16..=256).contains(&len) || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        // Never echo the value: it is a secret.
        return Err(invalid(
            "secret",
            "must be 16 to 256 characters without spaces",
        ));
    }
    Ok(value.to_string())
}

/// A new random secret: `whsec_` + 43 characters (256 bits).
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn snapshot(s: &Subscription) -> serde_json::Value {
    json!({ "business_system_id": s.business_system_id, "url": s.url,
            "event_types": s.event_types, "enabled": s.enabled })
}

/// Creates a subscription; returns it (secret masked) and the secret in clear, to be shown
/// once. Audited.
pub async fn create_subscription(
    store: &Store,
    sealer: &Sealer,
    tenant: TenantId,
    business_system_id: i64,
    new: NewSubscription,
    actor: &Actor,
    now: i64,
) -> Result<(Subscription, String), WebhookError> {
    business_systems::get(store, tenant, business_system_id)
        .await?
        .ok_or(WebhookError::SystemNotFound)?;
    let url = valid_url(&new.url)?;
    let event_types = valid_event_types(&new.event_types)?;
    let secret = match new.secret.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => valid_secret(s)?,
        _ => generate_secret(),
    };
    let mut tx = store.begin_write().await?;
    let id = store::insert_subscription(
        &mut tx,
        tenant,
        business_system_id,
        &url,
        &sealer.seal_str(SECRET_COLUMN, &secret),
        &event_types,
        new.enabled,
        now,
    )
    .await?;
    let subscription = Subscription {
        id,
        business_system_id,
        url,
        event_types,
        enabled: new.enabled,
        disabled_reason: None,
        secret: mask(&secret),
        created_ms: now,
        updated_ms: now,
    };
    audit::record(
        &mut tx,
        tenant,
        actor,
        "webhook_subscription.create",
        &format!("webhook_subscription:{id}"),
        None,
        Some(&snapshot(&subscription)),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((subscription, secret))
}

pub async fn get_subscription(
    store: &Store,
    sealer: &Sealer,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Subscription>, StoreError> {
    Ok(store::get_subscription(store, tenant, id)
        .await?
        .map(|row| row.shown(sealer)))
}

/// The subscriptions of one business system, or of all.
pub async fn list_subscriptions(
    store: &Store,
    sealer: &Sealer,
    tenant: TenantId,
    business_system_id: Option<i64>,
) -> Result<Vec<Subscription>, StoreError> {
    Ok(store::list_subscriptions(store, tenant, business_system_id)
        .await?
        .into_iter()
        .map(|row| row.shown(sealer))
        .collect())
}

/// Applies a partial update with an audited before/after (the secret only as "changed").
pub async fn update_subscription(
    store: &Store,
    sealer: &Sealer,
    tenant: TenantId,
    id: i64,
    patch: SubscriptionPatch,
    actor: &Actor,
    now: i64,
) -> Result<Subscription, WebhookError> {
    let before = get_subscription(store, sealer, tenant, id)
        .await?
        .ok_or(WebhookError::NotFound)?;
    let url = match &patch.url {
        Some(u) => valid_url(u)?,
        None => before.url.clone(),
    };
    let event_types = match &patch.event_types {
        Some(t) => valid_event_types(t)?,
        None => before.event_types.clone(),
    };
    let secret = match patch.secret.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Some(valid_secret(s)?),
        _ => None,
    };
    let enabled = patch.enabled.unwrap_or(before.enabled);
    let disabled_reason = if enabled {
        None
    } else {
        before.disabled_reason.clone()
    };
    let mut tx = store.begin_write().await?;
    store::update_subscription(
        &mut tx,
        id,
        &url,
        &event_types,
        enabled,
        disabled_reason.as_deref(),
        now,
    )
    .await?;
    if let Some(secret) = &secret {
        store::put_secret(&mut tx, id, &sealer.seal_str(SECRET_COLUMN, secret), now).await?;
    }
    let after = Subscription {
        url,
        event_types,
        enabled,
        disabled_reason,
        secret: secret.as_deref().map(mask).unwrap_or(before.secret.clone()),
        updated_ms: now,
        ..before.clone()
    };
    let mut change = snapshot(&after);
    change["secret_changed"] = json!(secret.is_some());
    audit::record(
        &mut tx,
        tenant,
        actor,
        "webhook_subscription.update",
        &format!("webhook_subscription:{id}"),
        Some(&snapshot(&before)),
        Some(&change),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Deletes a subscription and its delivery log. Audited.
pub async fn delete_subscription(
    store: &Store,
    sealer: &Sealer,
    tenant: TenantId,
    id: i64,
    actor: &Actor,
    now: i64,
) -> Result<(), WebhookError> {
    let before = get_subscription(store, sealer, tenant, id)
        .await?
        .ok_or(WebhookError::NotFound)?;
    let mut tx = store.begin_write().await?;
    store::delete_subscription(&mut tx, id).await?;
    audit::record(
        &mut tx,
        tenant,
        actor,
        "webhook_subscription.delete",
        &format!("webhook_subscription:{id}"),
        Some(&snapshot(&before)),
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Enqueues one delivery of `event` per enabled subscription of `tenant` whose event types
/// match, in the caller's transaction; returns how many were added (an event id already
/// enqueued for a subscription adds nothing). Wake the dispatcher after the commit.
pub async fn enqueue(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    event: &WebhookEvent,
) -> Result<usize, StoreError> {
    Subscribers::load(tx, tenant)
        .await?
        .enqueue(tx, event)
        .await
}

/// The enabled subscriptions of one tenant, read once in the caller's transaction: the
/// callback path enqueues a whole group commit at a time, and builds an event only when
/// someone wants it.
pub struct Subscribers {
    tenant: TenantId,
    subscriptions: Vec<(i64, Vec<String>)>,
}

impl Subscribers {
    pub async fn load(tx: &mut Tx<'_>, tenant: TenantId) -> Result<Self, StoreError> {
        Ok(Self {
            tenant,
            subscriptions: store::enabled_subscriptions(tx, tenant).await?,
        })
    }

    /// Whether any subscription takes events of `event_type`.
    pub fn want(&self, event_type: &str) -> bool {
        self.subscriptions
            .iter()
            .any(|(_, patterns)| matches(patterns, event_type))
    }

    /// One delivery of `event` per subscription that takes it; returns how many were added.
    pub async fn enqueue(
        &self,
        tx: &mut Tx<'_>,
        event: &WebhookEvent,
    ) -> Result<usize, StoreError> {
        let mut body = None;
        let mut added = 0;
        for (id, patterns) in &self.subscriptions {
            if !matches(patterns, &event.event_type) {
                continue;
            }
            let body = body.get_or_insert_with(|| event.body());
            if store::insert_delivery(tx, self.tenant, *id, event, body)
                .await?
                .is_some()
            {
                added += 1;
            }
        }
        Ok(added)
    }
}

/// Enqueues a `webhook.test` event for one subscription (even a disabled one, which then
/// waits until it is enabled). Audited.
pub async fn send_test(
    store: &Store,
    sealer: &Sealer,
    tenant: TenantId,
    id: i64,
    actor: &Actor,
    now: i64,
) -> Result<Delivery, WebhookError> {
    let subscription = get_subscription(store, sealer, tenant, id)
        .await?
        .ok_or(WebhookError::NotFound)?;
    let event = WebhookEvent {
        id: format!("test-{}", uuid::Uuid::new_v4().simple()),
        event_type: "webhook.test".into(),
        occurred_ms: now,
        channel_id: None,
        payload: json!({ "message": "Qiao webhook test / 桥 webhook 测试",
                         "subscription_id": id, "business_system_id": subscription.business_system_id }),
    };
    let mut tx = store.begin_write().await?;
    let delivery = store::insert_delivery(&mut tx, tenant, id, &event, &event.body())
        .await?
        .ok_or(WebhookError::DeliveryNotFound)?;
    audit::record(
        &mut tx,
        tenant,
        actor,
        "webhook_subscription.test",
        &format!("webhook_subscription:{id}"),
        None,
        Some(&json!({ "event_id": event.id })),
        now,
    )
    .await?;
    tx.commit().await?;
    get_delivery(store, tenant, delivery)
        .await?
        .ok_or(WebhookError::DeliveryNotFound)
}

pub async fn list_deliveries(
    store: &Store,
    tenant: TenantId,
    filter: &DeliveryFilter,
) -> Result<Vec<Delivery>, StoreError> {
    store::list_deliveries(store, tenant, filter).await
}

/// One delivery, with its body.
pub async fn get_delivery(
    store: &Store,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Delivery>, StoreError> {
    store::get_delivery(store, tenant, id).await
}

/// Makes a delivered or failed delivery pending again, due now, with a fresh count of
/// attempts. Audited. Wake the dispatcher afterwards.
pub async fn resend(
    store: &Store,
    sealer: &Sealer,
    tenant: TenantId,
    id: i64,
    actor: &Actor,
    now: i64,
) -> Result<Delivery, WebhookError> {
    let before = get_delivery(store, tenant, id)
        .await?
        .ok_or(WebhookError::DeliveryNotFound)?;
    if !matches!(
        before.state,
        DeliveryState::Delivered | DeliveryState::Failed
    ) {
        return Err(WebhookError::Conflict(format!(
            "only delivered or failed deliveries can be re-sent; this one is {}",
            before.state.as_str()
        )));
    }
    let subscription = get_subscription(store, sealer, tenant, before.subscription_id)
        .await?
        .ok_or(WebhookError::NotFound)?;
    if !subscription.enabled {
        return Err(WebhookError::Conflict(
            "the subscription is disabled: enable it first".into(),
        ));
    }
    let mut tx = store.begin_write().await?;
    if !store::reset_delivery(&mut tx, tenant, id, now).await? {
        return Err(WebhookError::Conflict(
            "the delivery changed meanwhile; reload and try again".into(),
        ));
    }
    audit::record(
        &mut tx,
        tenant,
        actor,
        "webhook_delivery.resend",
        &format!("webhook_delivery:{id}"),
        Some(&json!({ "state": before.state, "attempts": before.attempts,
                      "last_status": before.last_status })),
        Some(&json!({ "state": DeliveryState::Pending })),
        now,
    )
    .await?;
    tx.commit().await?;
    get_delivery(store, tenant, id)
        .await?
        .ok_or(WebhookError::DeliveryNotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn event_types_are_validated_and_matched() {
        assert_eq!(
            valid_event_types(&strings(&[
                "callback.message",
                " callback.message",
                "contact.changed"
            ]))
            .unwrap(),
            strings(&["callback.message", "contact.changed"])
        );
        assert_eq!(
            valid_event_types(&strings(&["callback.event", "*"])).unwrap(),
            strings(&["*"])
        );
        assert!(valid_event_types(&strings(&["callback.*"])).is_ok());
        for bad in [&["nope"][..], &[], &[" "], &["callback*"], &["zzz.*"]] {
            assert!(valid_event_types(&strings(bad)).is_err(), "{bad:?}");
        }
        assert!(matches(&strings(&["*"]), "contact.changed"));
        assert!(matches(&strings(&["callback.*"]), "callback.event"));
        assert!(!matches(&strings(&["callback.*"]), "contact.changed"));
        assert!(matches(&strings(&["contact.changed"]), "contact.changed"));
        assert!(!matches(
            &strings(&["contact.changed"]),
            "contact.changed.x"
        ));
    }

    #[test]
    fn every_event_type_is_named_in_the_family_style() {
        for t in EVENT_TYPES {
            assert!(
                t.name.contains('.')
                    && t.name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_'),
                "{}",
                t.name
            );
            assert!(!t.description.is_empty());
        }
    }

    #[test]
    fn urls_and_secrets_are_checked() {
        assert_eq!(
            valid_url(" https://oa.example.com/hooks/qiao?x=1 ").unwrap(),
            "https://oa.example.com/hooks/qiao?x=1"
        );
        for bad in [
            "ftp://x.example",
            "oa.example.com/hook",
            "https://u:p@x.example/h",
            "https://x.example/h#frag",
        ] {
            assert!(valid_url(bad).is_err(), "{bad}");
        }
        assert!(valid_secret("short").is_err());
        assert!(valid_secret("has spaces in the middle").is_err());
        assert!(valid_secret("0123456789abcdef").is_ok());
        let generated = generate_secret();
        assert!(generated.starts_with(SECRET_PREFIX) && generated.len() == 49);
        assert!(valid_secret(&generated).is_ok());
    }

    #[test]
    fn the_body_is_the_documented_envelope() {
        let event = WebhookEvent {
            id: "e1".into(),
            event_type: "callback.message".into(),
            occurred_ms: 5,
            channel_id: Some(3),
            payload: json!({ "text": "你好" }),
        };
        assert_eq!(
            event.body(),
            r#"{"id":"e1","type":"callback.message","occurred_ms":5,"channel_id":3,"data":{"text":"你好"}}"#
        );
    }
}
