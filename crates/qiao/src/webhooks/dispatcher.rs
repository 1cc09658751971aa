//! The dispatcher: claims due deliveries with a lease, sends them signed, records each
//! attempt, and schedules retries.
//!
//! [`dispatch_due`] is one step (claim a batch, send it, record it) with the time passed in,
//! so tests drive retries by moving `now` instead of sleeping. [`spawn`] runs it in the
//! background: every second, and at once when [`Dispatcher::wake`] is called after an enqueue
//! commits; it stops with the server's shutdown token.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rand::RngExt;
use serde_json::json;
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::app::AppState;
use crate::audit::{self, Actor};
use crate::clock;
use crate::store::{StoreError, Tx};

use super::signing::{HEADER_DELIVERY, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP, sign};
use super::store::{self, Claimed, Finish};
use super::{DeliveryState, SECRET_COLUMN};

/// Attempts before a delivery is `failed`.
pub const MAX_ATTEMPTS: i64 = 12;
/// Deliveries claimed at once (and sent concurrently).
pub const BATCH: i64 = 32;
/// How long a claim holds. Longer than a send can take (10 s timeout), so a live node never
/// loses its claim; a dead node's claims are taken over after it.
pub const LEASE_MS: i64 = 60_000;
/// The time a receiver has to answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the background loop looks for due deliveries without being woken.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Waits after the 1st, 2nd, … failed attempt (seconds); the last repeats.
const BACKOFF_SECS: [i64; 9] = [10, 30, 120, 600, 1_800, 3_600, 7_200, 14_400, 21_600];

/// The wait after `attempts` failed attempts, without jitter (milliseconds).
pub fn backoff_ms(attempts: i64) -> i64 {
    let index = usize::try_from(attempts.max(1) - 1)
        .unwrap_or(0)
        .min(BACKOFF_SECS.len() - 1);
    BACKOFF_SECS[index] * 1000
}

/// The wait with ±20 % jitter, so that deliveries failed together do not retry together.
fn jittered(ms: i64) -> i64 {
    let spread = ms / 5;
    ms + rand::rng().random_range(-spread..=spread)
}

/// The dispatcher's handle in [`AppState`]: the HTTP client, the wake-up signal and this
/// node's lease owner name. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Dispatcher {
    client: reqwest::Client,
    wake: Arc<Notify>,
    owner: Arc<str>,
}

impl Dispatcher {
    pub fn new() -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            // A redirect is an answer like any other non-2xx: it is not followed.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Qiao-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            wake: Arc::new(Notify::new()),
            owner: format!("node-{}", uuid::Uuid::new_v4().simple()).into(),
        })
    }

    /// Asks the background loop to look for due deliveries now (call after an enqueue has
    /// committed). Without it, the loop finds them within a second anyway.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The name this node's claims carry.
    pub fn owner(&self) -> &str {
        &self.owner
    }
}

/// What one dispatch step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchReport {
    pub claimed: usize,
    pub delivered: usize,
    /// Failed attempts that will be retried.
    pub retrying: usize,
    /// Deliveries given up (attempts exhausted, or 410 Gone).
    pub failed: usize,
    /// Subscriptions disabled because the receiver answered 410 Gone.
    pub disabled_subscriptions: usize,
}

impl DispatchReport {
    fn add(&mut self, other: DispatchReport) {
        self.claimed += other.claimed;
        self.delivered += other.delivered;
        self.retrying += other.retrying;
        self.failed += other.failed;
        self.disabled_subscriptions += other.disabled_subscriptions;
    }
}

/// How an attempt ended.
enum Outcome {
    Delivered(i64),
    Gone,
    Failed { status: Option<i64>, error: String },
}

/// One step: claims up to [`BATCH`] deliveries due at `now`, sends them concurrently, and
/// records each result.
pub async fn dispatch_due(state: &AppState, now: i64) -> Result<DispatchReport, StoreError> {
    let owner = state.webhooks.owner();
    let mut tx = state.store.begin_write().await?;
    let claimed = store::claim(&mut tx, owner, now, now + LEASE_MS, BATCH).await?;
    tx.commit().await?;
    let mut report = DispatchReport {
        claimed: claimed.len(),
        ..Default::default()
    };
    if claimed.is_empty() {
        return Ok(report);
    }

    let mut targets: HashMap<i64, Option<(String, String)>> = HashMap::new();
    let mut sends = JoinSet::new();
    for job in claimed {
        let target = match targets.get(&job.subscription_id) {
            Some(known) => known.clone(),
            None => {
                let loaded = target(state, job.subscription_id).await?;
                targets.insert(job.subscription_id, loaded.clone());
                loaded
            }
        };
        let client = state.webhooks.client.clone();
        sends.spawn(async move {
            let outcome = match target {
                Some((url, secret)) => send(&client, &job, &url, &secret, now).await,
                None => Outcome::Failed {
                    status: None,
                    error: "the subscription's secret cannot be read".into(),
                },
            };
            (job, outcome)
        });
    }
    while let Some(joined) = sends.join_next().await {
        let Ok((job, outcome)) = joined else {
            // A panicking send leaves its claim to expire and be retried.
            tracing::error!("a webhook send task failed");
            continue;
        };
        record(state, &job, outcome, now, &mut report).await?;
    }
    Ok(report)
}

/// A subscription's URL and secret in clear; `None` when it is gone or its secret unreadable.
async fn target(state: &AppState, id: i64) -> Result<Option<(String, String)>, StoreError> {
    let Some((url, sealed)) = store::target(&state.store, id).await? else {
        return Ok(None);
    };
    match state.sealer.open_string(SECRET_COLUMN, &sealed) {
        Ok(secret) => Ok(Some((url, secret))),
        Err(e) => {
            tracing::error!(subscription = id, error = %e, "webhook secret unreadable");
            Ok(None)
        }
    }
}

/// Repeats [`dispatch_due`] until nothing is due at `now`.
pub async fn dispatch_until_idle(state: &AppState, now: i64) -> Result<DispatchReport, StoreError> {
    let mut total = DispatchReport::default();
    loop {
        let step = dispatch_due(state, now).await?;
        if step.claimed == 0 {
            return Ok(total);
        }
        total.add(step);
    }
}

async fn send(
    client: &reqwest::Client,
    job: &Claimed,
    url: &str,
    secret: &str,
    now: i64,
) -> Outcome {
    let timestamp = now.div_euclid(1000);
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(HEADER_EVENT, &job.event_type)
        .header(HEADER_DELIVERY, job.id.to_string())
        .header(HEADER_TIMESTAMP, timestamp.to_string())
        .header(
            HEADER_SIGNATURE,
            sign(secret, timestamp, job.body.as_bytes()),
        )
        .body(job.body.clone())
        .send()
        .await;
    match response {
        Ok(mut response) => {
            let status = i64::from(response.status().as_u16());
            if response.status().is_success() {
                return Outcome::Delivered(status);
            }
            if response.status() == reqwest::StatusCode::GONE {
                return Outcome::Gone;
            }
            let snippet = body_snippet(&mut response).await;
            Outcome::Failed {
                status: Some(status),
                error: if snippet.is_empty() {
                    format!("HTTP {status}")
                } else {
                    format!("HTTP {status}: {snippet}")
                },
            }
        }
        Err(e) => Outcome::Failed {
            status: None,
            error: describe(e),
        },
    }
}

/// The start of an error response's body, for the delivery log (at most 300 characters).
async fn body_snippet(response: &mut reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < 1024 {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    String::from_utf8_lossy(&bytes)
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect::<String>()
        .trim()
        .to_string()
}

/// A transport error in words, without the URL (it may carry a token in its query).
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = if e.is_timeout() {
        format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(500).collect()
}

async fn record(
    state: &AppState,
    job: &Claimed,
    outcome: Outcome,
    now: i64,
    report: &mut DispatchReport,
) -> Result<(), StoreError> {
    let owner = state.webhooks.owner();
    let mut tx = state.store.begin_write().await?;
    let (kept, label) = match &outcome {
        Outcome::Delivered(status) => {
            let finish = Finish {
                state: DeliveryState::Delivered,
                status: Some(*status),
                error: None,
                next_attempt_ms: now,
                delivered_ms: Some(now),
            };
            report.delivered += 1;
            (
                store::finish(&mut tx, job, owner, &finish).await?,
                "delivered",
            )
        }
        Outcome::Gone => {
            let finish = Finish {
                state: DeliveryState::Failed,
                status: Some(410),
                error: Some("HTTP 410 Gone: the receiver asked to stop; subscription disabled"),
                next_attempt_ms: now,
                delivered_ms: None,
            };
            let kept = store::finish(&mut tx, job, owner, &finish).await?;
            if kept && disable_gone(&mut tx, job, now).await? {
                report.disabled_subscriptions += 1;
            }
            report.failed += 1;
            (kept, "gone")
        }
        Outcome::Failed { status, error } => {
            let dead = job.attempt >= MAX_ATTEMPTS;
            let finish = Finish {
                state: if dead {
                    DeliveryState::Failed
                } else {
                    DeliveryState::Pending
                },
                status: *status,
                error: Some(error),
                next_attempt_ms: if dead {
                    now
                } else {
                    now + jittered(backoff_ms(job.attempt))
                },
                delivered_ms: None,
            };
            if dead {
                report.failed += 1;
            } else {
                report.retrying += 1;
            }
            let label = if dead { "failed" } else { "retrying" };
            (store::finish(&mut tx, job, owner, &finish).await?, label)
        }
    };
    tx.commit().await?;
    metrics::counter!("qiao_webhook_attempts_total", "outcome" => label).increment(1);
    if kept {
        tracing::info!(delivery = job.id, subscription = job.subscription_id,
            event_type = %job.event_type, attempt = job.attempt, outcome = label, "webhook attempt");
    } else {
        tracing::warn!(
            delivery = job.id,
            "webhook claim lost before its result was recorded; another node retries it"
        );
    }
    Ok(())
}

/// The receiver answered 410 Gone: disable the subscription, audited as the system.
async fn disable_gone(tx: &mut Tx<'_>, job: &Claimed, now: i64) -> Result<bool, StoreError> {
    let reason = "the receiver answered 410 Gone";
    if !store::disable_subscription(tx, job.subscription_id, reason, now).await? {
        // Already disabled (another delivery of the same batch got the 410 first).
        return Ok(false);
    }
    let actor = Actor {
        name: "system".into(),
        ip: None,
        request_id: None,
    };
    audit::record(
        tx,
        job.tenant,
        &actor,
        "webhook_subscription.disable",
        &format!("webhook_subscription:{}", job.subscription_id),
        Some(&json!({ "enabled": true })),
        Some(&json!({ "enabled": false, "disabled_reason": reason, "delivery_id": job.id })),
        now,
    )
    .await?;
    Ok(true)
}

/// Starts the background dispatcher: a step every [`POLL_INTERVAL`] and on every wake-up,
/// until `shutdown` is cancelled (a step in progress finishes first).
pub fn spawn(state: AppState, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let wake = state.webhooks.wake.clone();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = tick.tick() => {}
                () = wake.notified() => {}
            }
            if let Err(e) = dispatch_until_idle(&state, clock::now_ms()).await {
                tracing::warn!(error = %e, "webhook dispatch failed; retrying shortly");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_then_caps() {
        assert_eq!(backoff_ms(1), 10_000);
        assert_eq!(backoff_ms(2), 30_000);
        assert_eq!(backoff_ms(3), 120_000);
        assert_eq!(backoff_ms(4), 600_000);
        assert_eq!(backoff_ms(9), 21_600_000);
        assert_eq!(backoff_ms(40), 21_600_000);
        assert_eq!(backoff_ms(0), 10_000);
        for _ in 0..100 {
            let j = jittered(10_000);
            assert!((8_000..=12_000).contains(&j), "{j}");
        }
    }
}
