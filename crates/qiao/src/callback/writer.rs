//! Group commit of inbox rows: concurrent callbacks share one transaction, and each learns
//! the outcome of its row only after that transaction committed.
//!
//! Why: WeChat must get the reply only once the push is stored (so nothing answered is lost),
//! but one fsync per callback caps SQLite at a few hundred per second. A single writer task
//! takes whatever callbacks are waiting (up to [`MAX_BATCH`]), writes them in one
//! transaction, commits, and then answers them all.

use std::collections::HashMap;

use tokio::sync::{mpsc, oneshot};

use crate::store::{Store, StoreError, TenantId};
use crate::webhooks::{self, Dispatcher, WebhookEvent};

use super::store::{NewInboxRow, insert_inbox_batch, stored_reply};

/// The most rows one commit takes.
pub const MAX_BATCH: usize = 512;

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
    /// Starts the writer task on the current runtime; it stops when every handle is dropped.
    /// New pushes are queued for the business systems' webhooks in the same transaction, and
    /// `webhooks` is woken after each commit.
    pub fn start(store: Store, webhooks: Dispatcher) -> Self {
        let (jobs, rx) = mpsc::channel(MAX_BATCH * 8);
        tokio::spawn(run(store, webhooks, rx));
        Self { jobs }
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

async fn run(store: Store, webhooks: Dispatcher, mut rx: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        metrics::histogram!("qiao_inbox_commit_batch_rows").record(batch.len() as f64);
        match commit(&store, &batch).await {
            Ok(outcomes) => {
                if outcomes.contains(&WriteOutcome::Stored) {
                    webhooks.wake();
                }
                for (job, outcome) in batch.drain(..).zip(outcomes) {
                    let _ = job.done.send(Ok(outcome));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, rows = batch.len(), "inbox commit failed");
                let why = e.to_string();
                for job in batch.drain(..) {
                    let _ = job.done.send(Err(WriteError::Commit(why.clone())));
                }
            }
        }
    }
}

/// The webhook event of a new push: `callback.event` for events, `callback.message` for
/// messages, with every field of the push.
fn webhook_event(row: &NewInboxRow) -> WebhookEvent {
    let event_type = if row.kind.starts_with("event:") {
        "callback.event"
    } else {
        "callback.message"
    };
    WebhookEvent {
        id: format!("{}:{}", row.receiver_id, row.dedup_key),
        event_type: event_type.to_string(),
        occurred_ms: row.received_ms,
        channel_id: Some(row.channel_id),
        payload: serde_json::json!({
            "kind": row.kind,
            "from_user": row.from_user,
            "create_time": row.create_time,
            "message": row.payload,
        }),
    }
}

async fn commit(store: &Store, batch: &[Job]) -> Result<Vec<WriteOutcome>, StoreError> {
    let mut tx = store.begin_write().await?;
    let rows: Vec<&NewInboxRow> = batch.iter().map(|job| &job.row).collect();
    let fresh = insert_inbox_batch(&mut tx, &rows).await?;
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut events: HashMap<TenantId, Vec<WebhookEvent>> = HashMap::new();
    for (row, fresh) in rows.iter().zip(fresh) {
        outcomes.push(if fresh {
            events
                .entry(row.tenant)
                .or_default()
                .push(webhook_event(row));
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
    for (tenant, events) in &events {
        webhooks::enqueue_all(&mut tx, *tenant, events).await?;
    }
    tx.commit().await?;
    Ok(outcomes)
}
