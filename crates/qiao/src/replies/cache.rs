//! The compiled rules of each channel, kept in memory for the callback path.
//!
//! A change made through this module's service functions drops the channel's entry at once
//! (same node); an entry is also reloaded once it is older than the TTL, so that a change made
//! on another node sharing the database shows within [`RULE_CACHE_TTL`] (the reload does not
//! stall the callback path: see [`crate::cache`]).

use std::sync::Arc;
use std::time::Duration;

use crate::cache::Refreshing;
use crate::store::{Store, StoreError, TenantId};

use super::Matcher;

/// How long a channel's compiled rules are used before they are read again.
pub const RULE_CACHE_TTL: Duration = Duration::from_secs(2);

/// Compiled reply rules per channel. Share one per process (e.g. `Arc<RuleCache>` in the
/// application state) and pass it to every service function that changes rules.
pub struct RuleCache {
    ttl: Duration,
    matchers: Refreshing<(TenantId, i64), Matcher>,
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
            matchers: Refreshing::new(ttl),
        }
    }

    /// The compiled enabled rules of a channel (an empty matcher when it has none, or when
    /// the channel does not exist in `tenant`). Answers from memory when it can.
    pub async fn matcher(
        &self,
        store: &Store,
        tenant: TenantId,
        channel_id: i64,
    ) -> Result<Arc<Matcher>, StoreError> {
        let matcher = self
            .matchers
            .get(&(tenant, channel_id), || async {
                let rules = super::store::enabled(store, tenant, channel_id).await?;
                Ok::<_, StoreError>(Some(Matcher::new(&rules)))
            })
            .await?;
        Ok(matcher.unwrap_or_else(|| Arc::new(Matcher::new(&[]))))
    }

    /// Forgets a channel's compiled rules: the next [`RuleCache::matcher`] reads them again.
    pub fn invalidate(&self, channel_id: i64) {
        self.matchers
            .invalidate(|&(_, channel)| channel == channel_id);
    }
}
