//! Group commit of inbox rows: concurrent callbacks share one transaction, and each learns
//! the outcome of its row only after that transaction committed.
//!
//! Why: WeChat must get the reply only once the push is stored (so nothing answered is lost),
//! but one fsync per callback caps SQLite at a few hundred per second. A single writer task
//! takes whatever callbacks are waiting (up to [`MAX_BATCH`]), writes them in one
//! transaction, commits, and then answers them all.

use tokio::sync::{mpsc, oneshot};

use crate::store::{Store, StoreError};

use super::store::{NewInboxRow, insert_inbox};

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
    pub fn start(store: Store) -> Self {
        let (jobs, rx) = mpsc::channel(MAX_BATCH * 8);
        tokio::spawn(run(store, rx));
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

async fn run(store: Store, mut rx: mpsc::Receiver<Job>) {
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

async fn commit(store: &Store, batch: &[Job]) -> Result<Vec<WriteOutcome>, StoreError> {
    let mut tx = store.begin_write().await?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch {
        outcomes.push(match insert_inbox(&mut tx, &job.row).await? {
            None => WriteOutcome::Stored,
            Some(reply) => WriteOutcome::Duplicate { reply },
        });
    }
    tx.commit().await?;
    Ok(outcomes)
}
