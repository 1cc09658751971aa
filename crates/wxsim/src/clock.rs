//! Simulator time: real time plus an offset that the control API can move forward
//! (`POST /sim/clock`), so tests expire tokens and rate-limit windows without waiting.
//! Every expiry in the simulator reads this clock.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Real time + offset, in Unix seconds / milliseconds.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    /// A clock in step with real time.
    pub fn new() -> Self {
        Self::default()
    }

    fn real_now_ms() -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }

    /// Simulator time in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        Self::real_now_ms().saturating_add(self.offset_ms.load(Ordering::SeqCst))
    }

    /// Simulator time in Unix seconds.
    pub fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Moves simulator time forward (or back, with a negative value) by `secs`.
    pub fn advance_secs(&self, secs: i64) {
        self.offset_ms
            .fetch_add(secs.saturating_mul(1000), Ordering::SeqCst);
    }

    /// Sets the offset from real time.
    pub fn set_offset_secs(&self, secs: i64) {
        self.offset_ms
            .store(secs.saturating_mul(1000), Ordering::SeqCst);
    }

    /// Current offset from real time, in seconds.
    pub fn offset_secs(&self) -> i64 {
        self.offset_ms.load(Ordering::SeqCst).div_euclid(1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_now() {
        let c = Clock::new();
        let before = c.now();
        c.advance_secs(7200);
        let after = c.now();
        assert!((7199..=7201).contains(&(after - before)));
        assert_eq!(c.offset_secs(), 7200);
        c.set_offset_secs(0);
        assert_eq!(c.offset_secs(), 0);
    }
}
