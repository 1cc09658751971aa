//! Values read from the database and kept in memory for the hot paths (callback receivers,
//! compiled reply rules).
//!
//! A change made on this node invalidates its entry at once; an entry older than the TTL is
//! read again, so that a change made on another node sharing the database shows within the
//! TTL. The reload never stalls the hot path: while one caller reads a stale entry again,
//! the others go on with the stale value (under load, every in-flight request waiting for
//! the reload would show as a latency spike every TTL). Only a missing entry makes callers
//! wait, and then one of them loads it for all.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

pub struct Refreshing<K, V> {
    ttl: Duration,
    inner: Mutex<Inner<K, V>>,
}

struct Inner<K, V> {
    /// Bumped by every invalidation; a load that started before one is not kept.
    epoch: u64,
    slots: HashMap<K, Slot<V>>,
}

struct Slot<V> {
    /// Held while the value is loaded, so that one caller loads it.
    loading: Arc<tokio::sync::Mutex<()>>,
    value: Option<(Arc<V>, Instant)>,
}

impl<V> Default for Slot<V> {
    fn default() -> Self {
        Self {
            loading: Arc::default(),
            value: None,
        }
    }
}

impl<K: Hash + Eq, V> Refreshing<K, V> {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            inner: Mutex::new(Inner {
                epoch: 0,
                slots: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        // The guarded data stays consistent even if a holder panicked: every update is a
        // single insert or remove.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value of `key` (`None` when `load` finds none): from memory while fresh; once
    /// stale, one caller runs `load` while the others get the stale value; when absent, one
    /// caller runs `load` and the others wait for its result.
    pub async fn get<Q, F, Fut, E>(&self, key: &Q, load: F) -> Result<Option<Arc<V>>, E>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<V>, E>>,
    {
        let (loading, current) = {
            let mut inner = self.lock();
            let slot = match inner.slots.get_mut(key) {
                Some(slot) => slot,
                None => inner.slots.entry(key.to_owned()).or_default(),
            };
            // The hot path: a fresh value, nothing else touched.
            if let Some((value, loaded)) = &slot.value
                && loaded.elapsed() < self.ttl
            {
                return Ok(Some(value.clone()));
            }
            (slot.loading.clone(), slot.value.clone())
        };
        let _loading = match current {
            Some((stale, _)) => match loading.try_lock_owned() {
                Ok(guard) => guard,
                Err(_) => return Ok(Some(stale)),
            },
            None => loading.lock_owned().await,
        };
        let epoch = {
            let inner = self.lock();
            if let Some((value, loaded)) = inner.slots.get(key).and_then(|s| s.value.clone())
                && loaded.elapsed() < self.ttl
            {
                // Loaded by the caller this one waited for.
                return Ok(Some(value));
            }
            inner.epoch
        };
        let value = load().await?.map(Arc::new);
        let mut inner = self.lock();
        match &value {
            // Keys that name nothing are not remembered: the map must not grow with every
            // unknown key a client tries.
            None => {
                inner.slots.remove(key);
            }
            Some(value) if inner.epoch == epoch => {
                if let Some(slot) = inner.slots.get_mut(key) {
                    slot.value = Some((value.clone(), Instant::now()));
                }
            }
            Some(_) => {}
        }
        Ok(value)
    }

    /// Forgets the entries whose key matches: the next [`Refreshing::get`] loads them again.
    pub fn invalidate(&self, matches: impl Fn(&K) -> bool) {
        let mut inner = self.lock();
        inner.epoch = inner.epoch.wrapping_add(1);
        for (key, slot) in inner.slots.iter_mut() {
            if matches(key) {
                slot.value = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    async fn counted(loads: &AtomicUsize, value: u32) -> Result<Option<u32>, ()> {
        loads.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(Some(value))
    }

    #[tokio::test]
    async fn concurrent_misses_load_once() {
        let cache = Refreshing::<String, u32>::new(Duration::from_secs(60));
        let loads = AtomicUsize::new(0);
        let get = || cache.get("a", || counted(&loads, 1));
        let (a, b, c) = tokio::join!(get(), get(), get());
        for got in [a, b, c] {
            assert_eq!(got.unwrap().as_deref(), Some(&1));
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_stale_value_is_served_while_one_caller_reloads() {
        let cache = Refreshing::<String, u32>::new(Duration::from_millis(10));
        let loads = AtomicUsize::new(0);
        cache.get("a", || counted(&loads, 1)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(15)).await;
        let other = || async {
            tokio::task::yield_now().await;
            cache.get("a", || counted(&loads, 3)).await
        };
        let (reloaded, b, c) =
            tokio::join!(cache.get("a", || counted(&loads, 2)), other(), other());
        assert_eq!(reloaded.unwrap().as_deref(), Some(&2));
        for other in [b, c] {
            assert_eq!(other.unwrap().as_deref(), Some(&1), "stale, not waiting");
        }
        assert_eq!(loads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn invalidation_wins_over_a_load_in_flight() {
        let cache = Refreshing::<String, u32>::new(Duration::from_secs(60));
        let loads = AtomicUsize::new(0);
        let value = cache
            .get("a", || async {
                cache.invalidate(|_| true);
                counted(&loads, 1).await
            })
            .await
            .unwrap();
        assert_eq!(value.as_deref(), Some(&1), "the caller gets what it loaded");
        let again = cache.get("a", || counted(&loads, 2)).await.unwrap();
        assert_eq!(again.as_deref(), Some(&2), "but it was not kept");
    }

    #[tokio::test]
    async fn nothing_found_is_not_kept() {
        let cache = Refreshing::<String, u32>::new(Duration::from_secs(60));
        let none = cache
            .get("a", || async { Ok::<_, ()>(None) })
            .await
            .unwrap();
        assert!(none.is_none());
        assert!(cache.lock().slots.is_empty(), "unknown keys leave no trace");
        let loads = AtomicUsize::new(0);
        let found = cache.get("a", || counted(&loads, 1)).await.unwrap();
        assert_eq!(found.as_deref(), Some(&1));
    }
}
