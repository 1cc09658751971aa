//! [`MemoryTokenStore`]: an in-process [`TokenStore`] with a per-key async mutex as single
//! flight. Suits one-process deployments and tests; several processes need a shared store.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::{BoxFuture, CachedToken, Clock, FetchFn, StoreError, SystemClock, TokenStore};
use crate::api::ApiError;

#[derive(Default)]
struct Slot {
    token: Mutex<Option<CachedToken>>,
    flight: tokio::sync::Mutex<()>,
    /// Completed fetches (success or failure).
    generation: AtomicU64,
    /// The last fetch failure and its generation: callers that queued behind it get it too
    /// instead of fetching again (no storm against a failing upstream).
    failure: Mutex<Option<(u64, ApiError)>>,
}

impl Slot {
    fn current(&self) -> Option<CachedToken> {
        self.token
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// In-process token store.
pub struct MemoryTokenStore {
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    clock: Arc<dyn Clock>,
    wait_timeout: Duration,
    fetches: AtomicU64,
}

impl std::fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryTokenStore")
            .field("wait_timeout", &self.wait_timeout)
            .field("fetches", &self.fetch_count())
            .finish_non_exhaustive()
    }
}

impl Default for MemoryTokenStore {
    fn default() -> Self {
        Self::new()
    }
}

fn usable(t: &CachedToken, stale: Option<&str>, now_ms: i64) -> bool {
    t.is_valid_at(now_ms) && stale.is_none_or(|s| s != t.value)
}

impl MemoryTokenStore {
    /// An empty store on the system clock; waiters give up after 30 s.
    pub fn new() -> Self {
        Self {
            slots: Mutex::default(),
            clock: Arc::new(SystemClock),
            wait_timeout: Duration::from_secs(30),
            fetches: AtomicU64::new(0),
        }
    }

    /// Uses another clock (to judge validity).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How long a caller waits for another fetcher before [`StoreError::Timeout`].
    #[must_use]
    pub fn with_wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }

    /// How many fetches this store has run (failed ones included).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::SeqCst)
    }

    /// Replaces the token of `key` (seeding, tests).
    pub fn insert(&self, key: &str, token: CachedToken) {
        *self
            .slot(key)
            .token
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(token);
    }

    /// Forgets the token of `key`.
    pub fn remove(&self, key: &str) {
        *self
            .slot(key)
            .token
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn slot(&self, key: &str) -> Arc<Slot> {
        Arc::clone(
            self.slots
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(key.to_owned())
                .or_default(),
        )
    }
}

impl TokenStore for MemoryTokenStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<CachedToken>, StoreError>> {
        let current = self.slot(key).current();
        Box::pin(async move { Ok(current) })
    }

    fn refresh<'a>(
        &'a self,
        key: &'a str,
        stale: Option<&'a str>,
        fetch: FetchFn<'a>,
    ) -> BoxFuture<'a, Result<CachedToken, StoreError>> {
        Box::pin(async move {
            let slot = self.slot(key);
            if let Some(t) = slot.current()
                && usable(&t, stale, self.clock.now_ms())
            {
                return Ok(t);
            }
            let seen = slot.generation.load(Ordering::SeqCst);
            let _flight = tokio::time::timeout(self.wait_timeout, slot.flight.lock())
                .await
                .map_err(|_| StoreError::Timeout)?;
            if let Some(t) = slot.current()
                && usable(&t, stale, self.clock.now_ms())
            {
                return Ok(t);
            }
            let generation = slot.generation.load(Ordering::SeqCst);
            if generation != seen
                && let Some((failed_gen, error)) = slot
                    .failure
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone()
                && failed_gen == generation
            {
                return Err(StoreError::Fetch(error));
            }
            let result = fetch().await;
            let generation = slot.generation.fetch_add(1, Ordering::SeqCst) + 1;
            self.fetches.fetch_add(1, Ordering::SeqCst);
            match result {
                Ok(fresh) => {
                    *slot.token.lock().unwrap_or_else(PoisonError::into_inner) =
                        Some(fresh.clone());
                    Ok(fresh)
                }
                Err(e) => {
                    *slot.failure.lock().unwrap_or_else(PoisonError::into_inner) =
                        Some((generation, e.clone()));
                    Err(StoreError::Fetch(e))
                }
            }
        })
    }
}
