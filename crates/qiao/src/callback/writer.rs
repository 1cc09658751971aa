//! Group commit of inbox rows: concurrent callbacks share one transaction, and each learns
//! the outcome of its row only after that transaction committed.
//!
//! Why: WeChat must get the reply only once the push is stored (so nothing answered is lost),
//! but one fsync per callback caps SQLite at a few hundred per second. A single writer task
//! takes whatever callbacks are waiting (up to [`MAX_BATCH`]), writes them in one
//! transaction, commits, and then answers them all.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{mpsc, oneshot};

use crate::store::{OwnConnection, Store, StoreError, TenantId, Tx};
use crate::webhooks::{Dispatcher, Subscribers, WebhookEvent};

use super::store::{NewInboxRow, insert_inbox_batch, payload_of, stored_reply};

/// The most rows one commit takes.
pub const MAX_BATCH: usize = 512;

/// How many rows the writer commits between two requests for a background WAL checkpoint.
/// Each ends with an fsync whose cost grows with the database file (it walks the file's
/// cached pages), so fewer, larger ones cost less: 2 000 → 10 000 took the callback rate at
/// 128 connections from 30 400/s to 32 800/s and p99 from 10.4 to 8.8 ms.
const CHECKPOINT_EVERY_ROWS: usize = 10_000;

/// About how many rows the WAL takes before the writer lets it start over. The file is kept
/// and reused; under the 30 000 pushes/s benchmark it peaked at about 380 MB (a restart
/// also needs every other connection out of the WAL, so some are put off).
const RESTART_EVERY_ROWS: usize = 50_000;

/// What happened to a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// A new push, now stored.
    Stored,
    /// A retry of a push already stored; `reply` is what was answered then.
    Duplicate { reply: Option<String> },
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the inbox writer has stopped")]
    Stopped,
    #[error("the inbox commit failed: {0}")]
    Commit(String),
}

struct Job {
    row: NewInboxRow,
    done: oneshot::Sender<Result<WriteOutcome, WriteError>>,
}

/// The handle the callback path writes through.
#[derive(Clone)]
pub struct InboxWriter {
    jobs: mpsc::Sender<Job>,
}

impl InboxWriter {
    /// Starts the writer task on the current runtime, on a connection of its own; it stops
    /// when every handle is dropped. New pushes are queued for the business systems' webhooks
    /// in the same transaction, and `webhooks` is woken after each commit that queued some.
    pub async fn start(store: &Store, webhooks: Dispatcher) -> Result<Self, StoreError> {
        let connection = store.own_connection().await?;
        let (jobs, rx) = mpsc::channel(MAX_BATCH * 8);
        let checkpoints = Checkpoints::start(store.clone());
        tokio::spawn(run(connection, webhooks, checkpoints, rx));
        Ok(Self { jobs })
    }

    /// Stores `row` (or finds its earlier copy) and returns once the outcome is durable.
    pub async fn write(&self, row: NewInboxRow) -> Result<WriteOutcome, WriteError> {
        let (done, outcome) = oneshot::channel();
        self.jobs
            .send(Job { row, done })
            .await
            .map_err(|_| WriteError::Stopped)?;
        outcome.await.map_err(|_| WriteError::Stopped)?
    }
}

/// WAL checkpoints for the writer's connection, which never checkpoints by itself.
///
/// A checkpoint copies the WAL into the database file and ends with an fsync, so it runs on
/// the shared pool while the writer goes on. But SQLite starts the WAL over (reusing its
/// file) only when a write begins with every frame copied, which never happens while the
/// writer keeps committing: the WAL would grow for as long as the load lasts. So once the
/// WAL holds about [`RESTART_EVERY_ROWS`], right after a background checkpoint, the writer
/// copies the frames it added meanwhile itself, between two batches. That pause (15–100 ms
/// measured under 25 000 pushes/s, growing with the database file, whose fsync walks its
/// cached pages) comes once per restart instead of once per checkpoint; the WAL file keeps
/// its size and is reused.
struct Checkpoints {
    /// Rows committed since the last background checkpoint was asked for.
    rows: usize,
    /// Rows committed since the WAL last started over.
    since_restart: usize,
    requests: mpsc::Sender<()>,
    /// Set when the background checkpoint asked for last has finished.
    finished: Arc<AtomicBool>,
}

impl Checkpoints {
    fn start(store: Store) -> Self {
        // One pending request is enough: a checkpoint copies everything committed before it.
        let (requests, mut pending) = mpsc::channel::<()>(1);
        // Nothing asked for yet, so nothing to wait for.
        let finished = Arc::new(AtomicBool::new(true));
        let done = finished.clone();
        tokio::spawn(async move {
            while pending.recv().await.is_some() {
                if let Err(e) = store.checkpoint().await {
                    tracing::warn!(error = %e, "inbox WAL checkpoint failed");
                }
                // Finished either way: after a failure the writer's own checkpoint copies
                // everything, rather than waiting for one that never comes.
                done.store(true, Ordering::Release);
            }
        });
        Self {
            rows: 0,
            since_restart: 0,
            requests,
            finished,
        }
    }

    /// Called by the writer after it answered a batch of `rows`.
    async fn after_commit(&mut self, connection: &mut OwnConnection, rows: usize) {
        self.rows += rows;
        self.since_restart += rows;
        if self.since_restart >= RESTART_EVERY_ROWS {
            // No new background checkpoint now: the one asked for last must finish, then the
            // writer copies the rest while nobody else checkpoints.
            if self.finished.load(Ordering::Acquire) {
                match connection.checkpoint().await {
                    Ok(true) => {
                        // The writer's next transaction starts the WAL over, unless a
                        // background checkpoint holds it then: the next one comes later.
                        self.since_restart = 0;
                        self.rows = 0;
                    }
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "inbox WAL checkpoint failed"),
                }
            }
            return;
        }
        if self.rows >= CHECKPOINT_EVERY_ROWS {
            // Cleared before asking, so that a checkpoint finishing at once is not missed;
            // when one is already pending, its end sets the flag again.
            self.finished.store(false, Ordering::Release);
            if self.requests.try_send(()).is_ok() {
                self.rows = 0;
            }
        }
    }
}

async fn run(
    mut connection: OwnConnection,
    webhooks: Dispatcher,
    mut checkpoints: Checkpoints,
    mut rx: mpsc::Receiver<Job>,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let rows = batch.len();
        metrics::histogram!("qiao_inbox_commit_batch_rows").record(rows as f64);
        let started = std::time::Instant::now();
        let committed = commit(&mut connection, &batch).await;
        metrics::histogram!("qiao_inbox_commit_seconds").record(started.elapsed().as_secs_f64());
        match committed {
            Ok((outcomes, enqueued)) => {
                if enqueued > 0 {
                    webhooks.wake();
                }
                for (job, outcome) in batch.drain(..).zip(outcomes) {
                    let _ = job.done.send(Ok(outcome));
                }
                checkpoints.after_commit(&mut connection, rows).await;
            }
            Err(e) => {
                tracing::error!(error = %e, rows = batch.len(), "inbox commit failed");
                // The connection may be broken (a restarted PostgreSQL): the next batch
                // opens a new one.
                connection.reset();
                let why = e.to_string();
                for job in batch.drain(..) {
                    let _ = job.done.send(Err(WriteError::Commit(why.clone())));
                }
            }
        }
    }
}

/// The webhook event type of a push: `callback.event` for events, `callback.message` for
/// messages.
fn event_type(row: &NewInboxRow) -> &'static str {
    if row.kind.starts_with("event:") {
        "callback.event"
    } else {
        "callback.message"
    }
}

/// The webhook event of a new push, with every field of the push.
fn webhook_event(row: &NewInboxRow, event_type: &str) -> WebhookEvent {
    WebhookEvent {
        id: format!("{}:{}", row.receiver_id, row.dedup_key),
        event_type: event_type.to_string(),
        occurred_ms: row.received_ms,
        channel_id: Some(row.channel_id),
        payload: serde_json::json!({
            "kind": row.kind,
            "from_user": row.from_user,
            "create_time": row.create_time,
            "message": payload_of(&row.raw),
        }),
    }
}

async fn commit(
    connection: &mut OwnConnection,
    batch: &[Job],
) -> Result<(Vec<WriteOutcome>, usize), StoreError> {
    let mut tx = connection.begin_write().await?;
    let rows: Vec<&NewInboxRow> = batch.iter().map(|job| &job.row).collect();
    let fresh = insert_inbox_batch(&mut tx, &rows).await?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for (row, &fresh) in rows.iter().zip(&fresh) {
        outcomes.push(if fresh {
            WriteOutcome::Stored
        } else {
            // A retry: the reply given to the first copy (in this batch, or stored before).
            let reply = match rows
                .iter()
                .find(|r| r.receiver_id == row.receiver_id && r.dedup_key == row.dedup_key)
            {
                Some(first) if !std::ptr::eq(*first, *row) => first.reply.clone(),
                _ => stored_reply(&mut tx, row.receiver_id, &row.dedup_key).await?,
            };
            WriteOutcome::Duplicate { reply }
        });
    }
    let enqueued = enqueue_webhooks(&mut tx, &rows, &fresh).await?;
    tx.commit().await?;
    Ok((outcomes, enqueued))
}

/// Queues the new pushes for the business systems' webhooks, in the inbox's transaction.
/// An event is built only for a tenant whose subscriptions take it, so a tenant without
/// webhooks costs one read per commit. Returns how many deliveries were queued.
async fn enqueue_webhooks(
    tx: &mut Tx<'_>,
    rows: &[&NewInboxRow],
    fresh: &[bool],
) -> Result<usize, StoreError> {
    let mut tenants: Vec<TenantId> = rows
        .iter()
        .zip(fresh)
        .filter(|(_, fresh)| **fresh)
        .map(|(row, _)| row.tenant)
        .collect();
    tenants.sort_unstable_by_key(|t| t.0);
    tenants.dedup();
    let mut enqueued = 0;
    for tenant in tenants {
        let subscribers = Subscribers::load(tx, tenant).await?;
        for (row, _) in rows
            .iter()
            .zip(fresh)
            .filter(|(row, fresh)| **fresh && row.tenant == tenant)
        {
            let event_type = event_type(row);
            if subscribers.want(event_type) {
                enqueued += subscribers
                    .enqueue(tx, &webhook_event(row, event_type))
                    .await?;
            }
        }
    }
    Ok(enqueued)
}
