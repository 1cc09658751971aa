//! The compiled rules of each channel, kept in memory for the callback path.
//!
//! A change made through this module's service functions drops the channel's entry at once
//! (same node); an entry is also reloaded once it is older than the TTL, so that a change made
//! on another node sharing the database shows within [`RULE_CACHE_TTL`]. Concurrent misses
//! of one channel load it once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::store::{Store, StoreError, TenantId};

use super::Matcher;

/// How long a channel's compiled rules are used before they are read again.
pub const RULE_CACHE_TTL: Duration = Duration::from_secs(2);

/// Compiled reply rules per channel. Share one per process (e.g. `Arc<RuleCache>` in the
/// application state) and pass it to every service function that changes rules.
pub struct RuleCache {
    ttl: Duration,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Bumped by every invalidation; a load that started before one is not kept.
    epoch: u64,
    slots: HashMap<i64, Slot>,
}

#[derive(Default)]
struct Slot {
    /// Held while the channel's rules are loaded, so that one caller loads them.
    loading: Arc<tokio::sync::Mutex<()>>,
    cached: Option<Cached>,
}

struct Cached {
    tenant: TenantId,
    matcher: Arc<Matcher>,
    loaded: Instant,
}

impl Default for RuleCache {
    fn default() -> Self {
        Self::with_ttl(RULE_CACHE_TTL)
    }
}

impl std::fmt::Debug for RuleCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleCache")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl RuleCache {
    /// A cache whose entries are reloaded after `ttl`.
    pub fn with_ttl(ttl: Duration) -> Self {
        Self {
            ttl,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The guarded data stays consistent even if a holder panicked: every update is a
        // single insert or remove.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn fresh(&self, tenant: TenantId, channel_id: i64) -> Option<Arc<Matcher>> {
        let inner = self.lock();
        let cached = inner.slots.get(&channel_id)?.cached.as_ref()?;
        (cached.tenant == tenant && cached.loaded.elapsed() < self.ttl)
            .then(|| cached.matcher.clone())
    }

    /// The compiled enabled rules of a channel (an empty matcher when it has none, or when
    /// the channel does not exist in `tenant`). Answers from memory when it can.
    pub async fn matcher(
        &self,
        store: &Store,
        tenant: TenantId,
        channel_id: i64,
    ) -> Result<Arc<Matcher>, StoreError> {
        if let Some(matcher) = self.fresh(tenant, channel_id) {
            return Ok(matcher);
        }
        let gate = self
            .lock()
            .slots
            .entry(channel_id)
            .or_default()
            .loading
            .clone();
        let _loading = gate.lock().await;
        if let Some(matcher) = self.fresh(tenant, channel_id) {
            return Ok(matcher);
        }
        let epoch = self.lock().epoch;
        let rules = super::store::enabled(store, tenant, channel_id).await?;
        let matcher = Arc::new(Matcher::new(&rules));
        let mut inner = self.lock();
        if inner.epoch == epoch {
            inner.slots.entry(channel_id).or_default().cached = Some(Cached {
                tenant,
                matcher: matcher.clone(),
                loaded: Instant::now(),
            });
        }
        Ok(matcher)
    }

    /// Forgets a channel's compiled rules: the next [`RuleCache::matcher`] reads them again.
    pub fn invalidate(&self, channel_id: i64) {
        let mut inner = self.lock();
        inner.epoch = inner.epoch.wrapping_add(1);
        if let Some(slot) = inner.slots.get_mut(&channel_id) {
            slot.cached = None;
        }
    }

    /// Forgets every channel's compiled rules.
    pub fn invalidate_all(&self) {
        let mut inner = self.lock();
        inner.epoch = inner.epoch.wrapping_add(1);
        for slot in inner.slots.values_mut() {
            slot.cached = None;
        }
    }
}
