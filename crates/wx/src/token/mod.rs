//! Access tokens shared by every node of a deployment, with single-flight refresh, refresh
//! ahead of expiry and the retry policy of [`crate::errcode`].
//!
//! Reference §2.1 (OA `cgi-bin/token` rotates, `stable_token` does not; forced refresh 20 a
//! day), §3.1 (Mini Programs: same), §4.1–4.2 (WeCom: one token per secret, frequency
//! limits), §5.2 (suite, provider and corp tokens), §7 rows 1–4 and 17–19; peers survey
//! P1–P3 (token stomping, refresh loops burning the daily quota, nobody detecting a foreign
//! refresher).
//!
//! - [`TokenStore`]: where tokens live, shared by all nodes (Qiao: its database;
//!   [`MemoryTokenStore`] in-process). Its `refresh` is the deployment-wide single flight.
//! - [`TokenSource`]: one credential (OA/MP appid + secret, WeCom corp + secret, suite,
//!   provider, corp of a suite): its store key, its fetcher ([`TokenFetcher`]), refresh
//!   ahead of expiry, an in-process single flight in front of the store, the stable-token
//!   `force_refresh` rule and foreign-refresher detection.
//! - [`Caller`]: runs one API call with the retry policy (see its docs), a [`QuotaGuard`]
//!   for daily quotas, injectable [`Clock`] and [`Sleeper`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use wx::api::{Endpoints, HttpClient, Idempotency, OaClient};
//! use wx::token::{AppTokenMode, Caller, MemoryTokenStore, TokenSource, keys};
//!
//! let oa = OaClient::with_endpoints(HttpClient::new()?, &Endpoints::default());
//! let store = Arc::new(MemoryTokenStore::new());
//! let source = TokenSource::official_account(
//!     keys::oa("wx3f9c2a7b1e5d8046"), &oa, "wx3f9c2a7b1e5d8046", "SECRET",
//!     AppTokenMode::Stable, store,
//! );
//! let caller = Caller::new(Arc::new(source));
//! let oa_ref = &oa;
//! let page = caller
//!     .call("/cgi-bin/user/get", Idempotency::Idempotent, move |token| async move {
//!         oa_ref.user_get(&token, None).await
//!     })
//!     .await?;
//! # let _ = page; Ok(()) }
//! ```

mod caller;
mod memory;
mod quota;
mod source;

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::api::ApiError;

pub use caller::{CallError, CallReport, Caller, RetryPolicy};
pub use memory::MemoryTokenStore;
pub use quota::{QuotaGuard, beijing_day, next_beijing_midnight_ms};
pub use source::{
    AppTokenFetcher, AppTokenMode, CorpTokenFetcher, EventSink, ProviderTokenFetcher,
    SuiteTicketCell, SuiteTicketSource, SuiteTokenFetcher, TokenConfig, TokenEvent, TokenFetcher,
    TokenSource, WorkTokenFetcher, keys,
};

/// A token as stored: its value, when it expires and when it was fetched (Unix ms).
#[derive(Clone, PartialEq, Eq)]
pub struct CachedToken {
    /// The token.
    pub value: String,
    /// Expiry (Unix ms).
    pub expires_at_ms: i64,
    /// When it was fetched from the platform (Unix ms).
    pub fetched_at_ms: i64,
}

impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedToken")
            .field("value", &"***")
            .field("expires_at_ms", &self.expires_at_ms)
            .field("fetched_at_ms", &self.fetched_at_ms)
            .finish()
    }
}

/// Lifetime assumed when the platform answers a non-positive `expires_in`.
pub const DEFAULT_EXPIRES_IN_SECS: i64 = 7200;

impl CachedToken {
    /// A token fetched at `now_ms` that lives `expires_in_secs` (a non-positive value is
    /// taken as 7200 s).
    pub fn from_expires_in(value: impl Into<String>, expires_in_secs: i64, now_ms: i64) -> Self {
        let secs = if expires_in_secs > 0 {
            expires_in_secs
        } else {
            DEFAULT_EXPIRES_IN_SECS
        };
        Self {
            value: value.into(),
            expires_at_ms: now_ms.saturating_add(secs.saturating_mul(1000)),
            fetched_at_ms: now_ms,
        }
    }

    /// Not yet expired at `now_ms`.
    pub fn is_valid_at(&self, now_ms: i64) -> bool {
        self.expires_at_ms > now_ms
    }

    /// Milliseconds left at `now_ms` (negative once expired).
    pub fn remaining_ms(&self, now_ms: i64) -> i64 {
        self.expires_at_ms.saturating_sub(now_ms)
    }
}

/// A boxed `Send` future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The fetch a [`TokenStore`] runs when it must replace a token.
pub type FetchFn<'a> =
    Box<dyn FnOnce() -> BoxFuture<'a, Result<CachedToken, ApiError>> + Send + 'a>;

/// Why a [`TokenStore`] could not provide a token.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store itself failed (message without secrets).
    #[error("token store failed: {0}")]
    Backend(String),
    /// The fetch from the platform failed.
    #[error("token fetch failed: {0}")]
    Fetch(#[source] ApiError),
    /// Waited too long for another fetcher.
    #[error("timed out waiting for another node to fetch the token")]
    Timeout,
}

/// Where tokens are kept, shared by every node of a deployment (Qiao: the database).
pub trait TokenStore: Send + Sync {
    /// The stored token for `key`, if any (possibly expired).
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<CachedToken>, StoreError>>;

    /// Makes sure `key` holds a token other than `stale` (None = any valid one): if the stored
    /// token is already different from `stale` and valid, return it; otherwise exactly one
    /// caller across the deployment runs `fetch` and stores its result, while the others wait
    /// for that result. Returns the token now stored.
    fn refresh<'a>(
        &'a self,
        key: &'a str,
        stale: Option<&'a str>,
        fetch: FetchFn<'a>,
    ) -> BoxFuture<'a, Result<CachedToken, StoreError>>;
}

/// Current time in Unix milliseconds. Any `Fn() -> i64` is a clock.
pub trait Clock: Send + Sync {
    /// Now, Unix ms.
    fn now_ms(&self) -> i64;
}

impl<F: Fn() -> i64 + Send + Sync> Clock for F {
    fn now_ms(&self) -> i64 {
        self()
    }
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// Waits between retries (injectable so tests need not sleep).
pub trait Sleeper: Send + Sync {
    /// A future completing after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}
