//! [`QuotaGuard`]: daily quotas that are used up (OA/MP 45009, reference §2.1.3, §2.14):
//! the API is not called again for that account until the quota resets at the next Beijing
//! midnight (UTC+8, no daylight saving).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

const DAY_MS: i64 = 86_400_000;
const BEIJING_OFFSET_MS: i64 = 8 * 3_600_000;

/// The Beijing calendar day number of `now_ms` (days since 1970-01-01 in UTC+8).
pub fn beijing_day(now_ms: i64) -> i64 {
    (now_ms + BEIJING_OFFSET_MS).div_euclid(DAY_MS)
}

/// The next Beijing midnight after `now_ms`, Unix ms.
pub fn next_beijing_midnight_ms(now_ms: i64) -> i64 {
    (beijing_day(now_ms) + 1) * DAY_MS - BEIJING_OFFSET_MS
}

/// Exhausted `(credential key, API path)` pairs and when they reset. Shared in memory by the
/// callers of one process; checked before every call.
#[derive(Debug, Default)]
pub struct QuotaGuard {
    exhausted: Mutex<HashMap<(String, String), i64>>,
}

impl QuotaGuard {
    /// An empty guard.
    pub fn new() -> Self {
        Self::default()
    }

    /// `Some(until_ms)` while `api` is exhausted for `key` at `now_ms`.
    pub fn check(&self, key: &str, api: &str, now_ms: i64) -> Option<i64> {
        let mut map = self
            .exhausted
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let k = (key.to_owned(), api.to_owned());
        match map.get(&k) {
            Some(&until) if until > now_ms => Some(until),
            Some(_) => {
                map.remove(&k);
                None
            }
            None => None,
        }
    }

    /// Marks `api` exhausted for `key` until `until_ms`.
    pub fn mark(&self, key: &str, api: &str, until_ms: i64) {
        self.exhausted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((key.to_owned(), api.to_owned()), until_ms);
    }

    /// Lifts the block (after `cgi-bin/clear_quota`); `api` None = every API of `key`.
    pub fn clear(&self, key: &str, api: Option<&str>) {
        self.exhausted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(k, a), _| !(k == key && api.is_none_or(|x| x == a)));
    }

    /// Every block in force at `now_ms`: `(key, api, until_ms)`.
    pub fn list(&self, now_ms: i64) -> Vec<(String, String, i64)> {
        let mut v: Vec<_> = self
            .exhausted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(_, until)| **until > now_ms)
            .map(|((k, a), until)| (k.clone(), a.clone(), *until))
            .collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midnight() {
        // 2024-01-01 00:00 Beijing = 2023-12-31 16:00 UTC = 1704038400000.
        let midnight = 1_704_038_400_000;
        assert_eq!(next_beijing_midnight_ms(midnight - 1), midnight);
        assert_eq!(next_beijing_midnight_ms(midnight), midnight + DAY_MS);
        assert_eq!(beijing_day(midnight) - beijing_day(midnight - 1), 1);
    }

    #[test]
    fn guard() {
        let g = QuotaGuard::new();
        g.mark("oa:wx1", "/a", 100);
        assert_eq!(g.check("oa:wx1", "/a", 50), Some(100));
        assert_eq!(g.check("oa:wx1", "/b", 50), None);
        assert_eq!(g.check("oa:wx2", "/a", 50), None);
        assert_eq!(g.list(50).len(), 1);
        assert_eq!(g.check("oa:wx1", "/a", 100), None);
        g.mark("oa:wx1", "/a", 100);
        g.clear("oa:wx1", None);
        assert!(g.list(0).is_empty());
    }
}
