//! [`Caller`]: one API call under the retry policy of the error model
//! ([`crate::errcode::classify`], reference §2.14, §4.2, §4.17, §7 rows 1, 3 and 19).

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::quota::next_beijing_midnight_ms;
use super::source::{TokenEvent, TokenSource};
use super::{Sleeper, StoreError, TokioSleeper};
use crate::api::{ApiError, Idempotency, TransportKind};
use crate::errcode::{Reaction, WxApiError};

/// Back-off settings: exponential with full jitter, capped, bounded attempts and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts including the first, for back-off reactions (default 4). The single
    /// refresh-and-retry of a token error comes on top, so a call makes at most
    /// `max_attempts + 1` requests.
    pub max_attempts: u32,
    /// First delay bound (default 200 ms); the n-th retry waits a random time in
    /// `[0, min(max_delay, base_delay × 2ⁿ⁻¹)]`.
    pub base_delay: Duration,
    /// Delay cap (default 5 s).
    pub max_delay: Duration,
    /// The longest a call keeps backing off, from its start (default 30 s). A frequency
    /// limit can last a minute or more, longer than whoever waits for the call is willing
    /// to: the delay before a retry is cut to what is left, and once it is spent the call
    /// fails with the last error instead of outliving its caller.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_elapsed: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The (random) delay before retry number `retry` (1-based).
    pub fn delay(&self, retry: u32) -> Duration {
        use rand::RngExt as _;
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        let bound = self
            .base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        let micros = u64::try_from(bound.as_micros()).unwrap_or(u64::MAX);
        if micros == 0 {
            return Duration::ZERO;
        }
        Duration::from_micros(rand::rng().random_range(0..=micros))
    }
}

/// Why a call through a [`Caller`] failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The API answered an error the policy does not (or no longer) retry.
    #[error("{}", describe_api(key, *reaction, *attempts, error))]
    Api {
        /// Store key of the credential.
        key: String,
        /// What the error model says about it.
        reaction: Reaction,
        /// Requests made.
        attempts: u32,
        /// The last error.
        #[source]
        error: ApiError,
    },
    /// No token could be obtained.
    #[error("{}", describe_token(key, *reaction, error))]
    Token {
        /// Store key.
        key: String,
        /// Reaction to the failure (a token-fetch error is classified with
        /// [`Reaction::for_token_fetch`]; store failures back off).
        reaction: Reaction,
        /// The failure.
        #[source]
        error: StoreError,
    },
    /// The daily quota of `api` is used up for this credential; not called until `until_ms`
    /// (the next Beijing midnight, or `cgi-bin/clear_quota`).
    #[error("daily quota of {api} exhausted for {key} until {until_ms} (Unix ms); not calling it")]
    QuotaExhausted {
        /// Store key.
        key: String,
        /// Endpoint.
        api: String,
        /// Unix ms.
        until_ms: i64,
    },
    /// The token was still rejected and `stable_token` `force_refresh` is used up for today.
    #[error(
        "{key}: token rejected and {used} of {limit} forced stable_token refreshes used today; not forcing another (check for another system refreshing this AppID)"
    )]
    ForceRefreshLimit {
        /// Store key.
        key: String,
        /// Used today.
        used: u32,
        /// Daily limit.
        limit: u32,
    },
}

fn ip_suffix(wx: Option<&WxApiError>) -> String {
    wx.and_then(|w| w.ip)
        .map(|ip| format!(" [caller IP seen by WeChat: {ip}]"))
        .unwrap_or_default()
}

fn describe_api(key: &str, reaction: Reaction, attempts: u32, error: &ApiError) -> String {
    let what = match reaction {
        Reaction::ConfigError => "configuration error",
        Reaction::RecipientFailure => "recipient cannot receive it",
        Reaction::RefreshTokenAndRetryOnce => "token still rejected after one refresh",
        Reaction::BackOff => "still failing after retries",
        Reaction::QuotaExhausted => "daily quota exhausted",
        Reaction::Permanent | Reaction::Ok => "request failed",
    };
    format!(
        "{key}: {what} ({attempts} attempt{}): {error}{}",
        if attempts == 1 { "" } else { "s" },
        ip_suffix(error.wx())
    )
}

fn describe_token(key: &str, reaction: Reaction, error: &StoreError) -> String {
    let wx = match error {
        StoreError::Fetch(e) => e.wx(),
        _ => None,
    };
    let what = if reaction == Reaction::ConfigError {
        "cannot get a token (configuration error)"
    } else {
        "cannot get a token"
    };
    format!("{key}: {what}: {error}{}", ip_suffix(wx))
}

impl CallError {
    /// What the error model says about it.
    pub fn reaction(&self) -> Reaction {
        match self {
            CallError::Api { reaction, .. } | CallError::Token { reaction, .. } => *reaction,
            CallError::QuotaExhausted { .. } => Reaction::QuotaExhausted,
            CallError::ForceRefreshLimit { .. } => Reaction::ConfigError,
        }
    }

    /// The underlying API error (of the call or of the token fetch).
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            CallError::Api { error, .. } => Some(error),
            CallError::Token {
                error: StoreError::Fetch(e),
                ..
            } => Some(e),
            _ => None,
        }
    }

    /// The platform error, if any.
    pub fn wx(&self) -> Option<&WxApiError> {
        self.api_error().and_then(ApiError::wx)
    }

    /// The errcode, if any.
    pub fn errcode(&self) -> Option<i64> {
        self.wx().map(|w| w.errcode)
    }

    /// The caller IP the platform saw (IP whitelist errors 40164 / 60020): show it to the
    /// administrator who must whitelist it.
    pub fn ip(&self) -> Option<IpAddr> {
        self.wx().and_then(|w| w.ip)
    }

    /// True for configuration problems (alert an administrator, do not retry).
    pub fn is_config_error(&self) -> bool {
        self.reaction() == Reaction::ConfigError
    }
}

/// What happened during one call (for metrics and tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallReport {
    /// API requests made (token fetches not included).
    pub attempts: u32,
    /// Refreshes after a token error (0 or 1).
    pub token_refreshes: u32,
    /// Forced `stable_token` refreshes spent by this call.
    pub forced_refreshes: u32,
    /// Back-off delays slept.
    pub backoff_delays: Vec<Duration>,
    /// A 40001 hit a token fetched moments ago (see [`TokenEvent::ForeignRefresh`]).
    pub foreign_refresh: bool,
}

/// Runs API calls for one [`TokenSource`] with the retry policy.
///
/// Per [`crate::errcode::classify`] of the failure (product of the source):
///
/// - **Token errors** (40001 on OA/MP, 40014, 42001, suite 40082/42009): refresh once with
///   the failing token as `stale` ([`TokenSource::refresh_after_failure`]: no force first,
///   `stable_token` `force_refresh` only if the store hands back the failing token, at most
///   once, counted against 20 a day) and retry once. A second token error fails. A 40001 on
///   a token fetched less than [`super::TokenConfig::foreign_refresh_window`] ago logs a
///   warning and emits [`TokenEvent::ForeignRefresh`].
/// - **Back-off** (frequency limits 45009 WeCom / 45011 / 45033, -1, HTTP 429 and 5xx,
///   network errors, a failed token fetch that may heal): exponential back-off with full
///   jitter per [`RetryPolicy`], up to `max_attempts` and within `max_elapsed` from the
///   start of the call. [`Idempotency::NotIdempotent`] calls
///   are retried only when the error proves nothing was done
///   ([`ApiError::proves_nothing_done`]).
/// - **Daily quota** (OA/MP 45009): the API is blocked for this credential in the
///   [`super::QuotaGuard`] until the next Beijing midnight, an alert is logged
///   (`target: "wx::alert"`), and [`CallError::QuotaExhausted`] is returned, now and on every
///   later call without a request.
/// - **Configuration** (40164, 60020, 40125, 48001…): fail at once with the errmsg and the
///   IP the platform saw; alert.
/// - **Recipient / permanent**: fail at once.
#[derive(Clone)]
pub struct Caller {
    source: Arc<TokenSource>,
    policy: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("source", &self.source)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

fn reason(e: &ApiError) -> String {
    match e {
        ApiError::Wx { error, .. } => error.errcode.to_string(),
        ApiError::HttpStatus { status, .. } => format!("http_{status}"),
        ApiError::Transport { kind, .. } => match kind {
            TransportKind::Connect => "connect".into(),
            TransportKind::Timeout => "timeout".into(),
            TransportKind::Other => "transport".into(),
        },
        ApiError::Decode { .. } => "decode".into(),
        ApiError::Unavailable { .. } => "unavailable".into(),
    }
}

impl Caller {
    /// A caller with the default [`RetryPolicy`] and tokio sleeps.
    pub fn new(source: Arc<TokenSource>) -> Self {
        Self {
            source,
            policy: RetryPolicy::default(),
            sleeper: Arc::new(TokioSleeper),
        }
    }

    /// Uses another retry policy.
    #[must_use]
    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Uses another sleeper.
    #[must_use]
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// The token source.
    pub fn source(&self) -> &Arc<TokenSource> {
        &self.source
    }

    /// The retry policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Calls `f(token)` for the endpoint `api` (its path, e.g. `/cgi-bin/message/send`,
    /// which keys the quota guard) under the retry policy. `f` may be called several times,
    /// each time with the token to use.
    pub async fn call<T, F, Fut>(
        &self,
        api: &str,
        idempotency: Idempotency,
        f: F,
    ) -> Result<T, CallError>
    where
        F: FnMut(String) -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        self.call_traced(api, idempotency, f).await.0
    }

    /// Like [`Caller::call`], also returning what happened.
    pub async fn call_traced<T, F, Fut>(
        &self,
        api: &str,
        idempotency: Idempotency,
        mut f: F,
    ) -> (Result<T, CallError>, CallReport)
    where
        F: FnMut(String) -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let mut report = CallReport::default();
        let result = self.run(api, idempotency, &mut f, &mut report).await;
        (result, report)
    }

    /// Sleeps before retry number `retries + 1`, within the policy's time budget. False
    /// when the budget is spent (nothing slept): the caller gives up.
    async fn backoff(
        &self,
        api: &str,
        started_ms: i64,
        retries: &mut u32,
        why: String,
        report: &mut CallReport,
    ) -> bool {
        let source = &self.source;
        let elapsed = u64::try_from(source.now_ms().saturating_sub(started_ms)).unwrap_or(0);
        let left = self
            .policy
            .max_elapsed
            .saturating_sub(Duration::from_millis(elapsed));
        if left.is_zero() {
            tracing::info!(key = %source.key(), api, retries = *retries, reason = %why, "retry budget spent; giving up");
            return false;
        }
        *retries += 1;
        let delay = self.policy.delay(*retries).min(left);
        tracing::info!(key = %source.key(), api, attempt = *retries + 1, delay_ms = delay.as_millis() as u64, reason = %why, "retrying after back-off");
        source.emit(TokenEvent::Retry {
            key: source.key().to_owned(),
            api: api.to_owned(),
            attempt: *retries + 1,
            delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            reason: why,
        });
        report.backoff_delays.push(delay);
        self.sleeper.sleep(delay).await;
        true
    }

    async fn run<T, F, Fut>(
        &self,
        api: &str,
        idempotency: Idempotency,
        f: &mut F,
        report: &mut CallReport,
    ) -> Result<T, CallError>
    where
        F: FnMut(String) -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let source = &self.source;
        let key = source.key();
        let product = source.product();
        let max = self.policy.max_attempts.max(1);
        let mut retries = 0u32;
        let started_ms = source.now_ms();
        let mut token_retry_used = false;
        let forced_before = source.forced_refreshes_today();
        // The token the platform rejected, while a replacement is still to be obtained.
        let mut rejected: Option<super::CachedToken> = None;
        let result = loop {
            if let Some(until_ms) = source.quota_guard().check(key, api, source.now_ms()) {
                break Err(CallError::QuotaExhausted {
                    key: key.to_owned(),
                    api: api.to_owned(),
                    until_ms,
                });
            }
            let obtained = match &rejected {
                Some(failing) => source.refresh_after_failure(failing).await,
                None => source.token().await,
            };
            let token = match obtained {
                Ok(t) => {
                    rejected = None;
                    t
                }
                Err(e) => {
                    if e.reaction() == Reaction::BackOff
                        && retries + 1 < max
                        && self
                            .backoff(api, started_ms, &mut retries, "token".into(), report)
                            .await
                    {
                        continue;
                    }
                    break Err(e);
                }
            };
            report.attempts += 1;
            let error = match f(token.value.clone()).await {
                Ok(v) => break Ok(v),
                Err(e) => e,
            };
            let reaction = error.reaction(product);
            match reaction {
                Reaction::RefreshTokenAndRetryOnce => {
                    let errcode = error.errcode().unwrap_or_default();
                    let age = source.now_ms().saturating_sub(token.fetched_at_ms);
                    let window = i64::try_from(source.config().foreign_refresh_window.as_millis())
                        .unwrap_or(i64::MAX);
                    if errcode == 40001 && age < window {
                        report.foreign_refresh = true;
                        tracing::warn!(
                            key,
                            api,
                            errcode,
                            token_age_ms = age,
                            "token rejected moments after it was fetched: another system probably refreshes the token for this AppID (cgi-bin/token or a forced stable_token); make this the only token authority"
                        );
                        source.emit(TokenEvent::ForeignRefresh {
                            key: key.to_owned(),
                            errcode,
                            token_age_ms: age,
                        });
                    }
                    if token_retry_used {
                        break Err(CallError::Api {
                            key: key.to_owned(),
                            reaction,
                            attempts: report.attempts,
                            error,
                        });
                    }
                    token_retry_used = true;
                    report.token_refreshes += 1;
                    tracing::info!(
                        key,
                        api,
                        errcode,
                        "token rejected; refreshing once and retrying once"
                    );
                    source.emit(TokenEvent::TokenRetry {
                        key: key.to_owned(),
                        api: api.to_owned(),
                        errcode,
                    });
                    rejected = Some(token);
                }
                Reaction::BackOff => {
                    let allowed = idempotency == Idempotency::Idempotent
                        || error.proves_nothing_done(product);
                    if !allowed
                        || retries + 1 >= max
                        || !self
                            .backoff(api, started_ms, &mut retries, reason(&error), report)
                            .await
                    {
                        break Err(CallError::Api {
                            key: key.to_owned(),
                            reaction,
                            attempts: report.attempts,
                            error,
                        });
                    }
                }
                Reaction::QuotaExhausted => {
                    let until_ms = next_beijing_midnight_ms(source.now_ms());
                    source.quota_guard().mark(key, api, until_ms);
                    tracing::error!(target: "wx::alert", key, api, until_ms, error = %error, "daily API quota exhausted; not calling this API until the quota resets");
                    source.emit(TokenEvent::QuotaExhausted {
                        key: key.to_owned(),
                        api: api.to_owned(),
                        until_ms,
                    });
                    break Err(CallError::QuotaExhausted {
                        key: key.to_owned(),
                        api: api.to_owned(),
                        until_ms,
                    });
                }
                Reaction::ConfigError => {
                    let wx = error.wx();
                    tracing::error!(
                        target: "wx::alert",
                        key,
                        api,
                        errcode = wx.map(|w| w.errcode),
                        ip = ?wx.and_then(|w| w.ip),
                        error = %error,
                        "configuration error; not retrying"
                    );
                    source.emit(TokenEvent::ConfigError {
                        key: key.to_owned(),
                        api: api.to_owned(),
                        errcode: wx.map(|w| w.errcode),
                        errmsg: wx.map_or_else(|| error.to_string(), |w| w.errmsg.clone()),
                        ip: wx.and_then(|w| w.ip),
                    });
                    break Err(CallError::Api {
                        key: key.to_owned(),
                        reaction,
                        attempts: report.attempts,
                        error,
                    });
                }
                Reaction::RecipientFailure | Reaction::Permanent | Reaction::Ok => {
                    break Err(CallError::Api {
                        key: key.to_owned(),
                        reaction,
                        attempts: report.attempts,
                        error,
                    });
                }
            }
        };
        report.forced_refreshes = source
            .forced_refreshes_today()
            .saturating_sub(forced_before);
        result
    }
}
