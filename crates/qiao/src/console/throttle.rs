//! Throttling of console logins per client IP (the per-account lockout lives with the users).
//!
//! In memory on each node: an attacker spreading attempts over nodes still meets the
//! per-account lockout, which is in the database.

use std::collections::HashMap;
use std::sync::Mutex;

/// Failures from one IP within [`WINDOW_MS`] after which its logins are refused.
pub const MAX_FAILURES: u32 = 10;
pub const WINDOW_MS: i64 = 15 * 60 * 1000;

#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, i64)>>,
}

impl LoginThrottle {
    /// Whether `ip` may try to log in now.
    pub fn allowed(&self, ip: &str, now: i64) -> bool {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(ip) {
            Some(&(count, since)) => count < MAX_FAILURES || now - since > WINDOW_MS,
            None => true,
        }
    }

    pub fn record_failure(&self, ip: &str, now: i64) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        // Forget old windows so the map cannot grow without bound.
        if map.len() > 10_000 {
            map.retain(|_, (_, since)| now - *since <= WINDOW_MS);
        }
        let entry = map.entry(ip.to_string()).or_insert((0, now));
        if now - entry.1 > WINDOW_MS {
            *entry = (0, now);
        }
        entry.0 += 1;
    }

    pub fn record_success(&self, ip: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_repeated_failures_then_forgets() {
        let throttle = LoginThrottle::default();
        for _ in 0..MAX_FAILURES {
            assert!(throttle.allowed("10.0.0.1", 0));
            throttle.record_failure("10.0.0.1", 0);
        }
        assert!(!throttle.allowed("10.0.0.1", 1));
        assert!(
            throttle.allowed("10.0.0.2", 1),
            "other IPs are not affected"
        );
        assert!(throttle.allowed("10.0.0.1", WINDOW_MS + 1));
        throttle.record_success("10.0.0.1");
        assert!(throttle.allowed("10.0.0.1", 2));
    }
}
