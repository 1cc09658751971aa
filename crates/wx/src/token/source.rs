//! [`TokenSource`]: one credential's token — how to fetch it ([`TokenFetcher`]), where it is
//! kept ([`TokenStore`]), when to refresh it, and the stable-token `force_refresh` rule.

use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use super::caller::{CallError, Caller};
use super::quota::{QuotaGuard, beijing_day, next_beijing_midnight_ms};
use super::{BoxFuture, CachedToken, Clock, FetchFn, StoreError, SystemClock, TokenStore};
use crate::api::{
    AccessToken, ApiError, HttpClient, Idempotency, MpClient, OaClient, Secret, SuiteClient,
    WorkClient,
};
use crate::errcode::{Product, Reaction};

/// Conventional store keys. Any string works; keep one key per credential (per secret for
/// WeCom, reference §7 row 2).
pub mod keys {
    /// `oa:<appid>`.
    pub fn oa(appid: &str) -> String {
        format!("oa:{appid}")
    }

    /// `mp:<appid>`.
    pub fn mp(appid: &str) -> String {
        format!("mp:{appid}")
    }

    /// `work:<corpid>:<agentid or secret name>` (`contacts`, `checkin`, `1000002`…).
    pub fn work(corpid: &str, secret_name: &str) -> String {
        format!("work:{corpid}:{secret_name}")
    }

    /// `suite:<suite_id>`.
    pub fn suite(suite_id: &str) -> String {
        format!("suite:{suite_id}")
    }

    /// `provider:<corpid>`.
    pub fn provider(corpid: &str) -> String {
        format!("provider:{corpid}")
    }

    /// `suite:<suite_id>:corp:<auth_corpid>`.
    pub fn suite_corp(suite_id: &str, auth_corpid: &str) -> String {
        format!("suite:{suite_id}:corp:{auth_corpid}")
    }
}

/// Fetches tokens of one credential from the platform.
pub trait TokenFetcher: Send + Sync {
    /// The product whose error table applies to calls made with the token.
    fn product(&self) -> Product;

    /// The endpoint a fetch calls (for logs and the quota guard); `force` names the forced
    /// variant.
    fn api(&self, force: bool) -> &'static str;

    /// True when a forced refresh exists (`stable_token` with `force_refresh: true`).
    fn supports_force(&self) -> bool {
        false
    }

    /// Fetches a token (`force` only when [`TokenFetcher::supports_force`]).
    fn fetch(&self, force: bool) -> BoxFuture<'_, Result<AccessToken, ApiError>>;
}

/// Which OA / Mini Program token endpoint to use (reference §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AppTokenMode {
    /// `POST cgi-bin/stable_token` (default): isolated from other systems' tokens, not
    /// rotated by a refetch.
    #[default]
    Stable,
    /// `GET cgi-bin/token`: for accounts shared with a legacy system that uses it (each fetch
    /// supersedes the previous token after ~5 minutes).
    Plain,
}

/// Official Account / Mini Program token fetcher.
#[derive(Debug, Clone)]
pub struct AppTokenFetcher {
    http: HttpClient,
    base: url::Url,
    appid: String,
    secret: Secret,
    mode: AppTokenMode,
    product: Product,
}

impl AppTokenFetcher {
    /// For an Official Account.
    pub fn official_account(
        client: &OaClient,
        appid: impl Into<String>,
        secret: impl Into<Secret>,
        mode: AppTokenMode,
    ) -> Self {
        Self {
            http: client.http().clone(),
            base: client.base().clone(),
            appid: appid.into(),
            secret: secret.into(),
            mode,
            product: Product::OfficialAccount,
        }
    }

    /// For a Mini Program.
    pub fn mini_program(
        client: &MpClient,
        appid: impl Into<String>,
        secret: impl Into<Secret>,
        mode: AppTokenMode,
    ) -> Self {
        Self {
            http: client.http().clone(),
            base: client.base().clone(),
            appid: appid.into(),
            secret: secret.into(),
            mode,
            product: Product::MiniProgram,
        }
    }
}

impl TokenFetcher for AppTokenFetcher {
    fn product(&self) -> Product {
        self.product
    }

    fn api(&self, force: bool) -> &'static str {
        match (self.mode, force) {
            (AppTokenMode::Plain, _) => "/cgi-bin/token",
            (AppTokenMode::Stable, false) => "/cgi-bin/stable_token",
            (AppTokenMode::Stable, true) => "/cgi-bin/stable_token (force_refresh)",
        }
    }

    fn supports_force(&self) -> bool {
        self.mode == AppTokenMode::Stable
    }

    fn fetch(&self, force: bool) -> BoxFuture<'_, Result<AccessToken, ApiError>> {
        Box::pin(async move {
            match self.mode {
                AppTokenMode::Plain => {
                    crate::api::oa::fetch_token(
                        &self.http,
                        &self.base,
                        &self.appid,
                        self.secret.expose(),
                    )
                    .await
                }
                AppTokenMode::Stable => {
                    crate::api::oa::fetch_stable_token(
                        &self.http,
                        &self.base,
                        &self.appid,
                        self.secret.expose(),
                        force,
                    )
                    .await
                }
            }
        })
    }
}

/// WeCom `gettoken` fetcher (self-built app, contacts-sync or other secret; 代开发 with the
/// permanent code as secret).
#[derive(Debug, Clone)]
pub struct WorkTokenFetcher {
    client: WorkClient,
    corpid: String,
    secret: Secret,
}

impl WorkTokenFetcher {
    /// For `corpid` + `secret` on `client`'s base URL.
    pub fn new(client: &WorkClient, corpid: impl Into<String>, secret: impl Into<Secret>) -> Self {
        Self {
            client: client.clone(),
            corpid: corpid.into(),
            secret: secret.into(),
        }
    }
}

impl TokenFetcher for WorkTokenFetcher {
    fn product(&self) -> Product {
        Product::WeCom
    }

    fn api(&self, _force: bool) -> &'static str {
        "/cgi-bin/gettoken"
    }

    fn fetch(&self, _force: bool) -> BoxFuture<'_, Result<AccessToken, ApiError>> {
        Box::pin(async move {
            self.client
                .gettoken(&self.corpid, self.secret.expose())
                .await
        })
    }
}

/// Supplies the latest `suite_ticket` pushed to the command URL (reference §5.3).
pub trait SuiteTicketSource: Send + Sync {
    /// The latest ticket, if one has been received.
    fn suite_ticket(&self) -> BoxFuture<'_, Option<Secret>>;
}

/// A [`SuiteTicketSource`] holding the last ticket in memory (set it from the callback
/// handler).
#[derive(Debug, Default)]
pub struct SuiteTicketCell(RwLock<Option<Secret>>);

impl SuiteTicketCell {
    /// An empty cell.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores a newly pushed ticket.
    pub fn set(&self, ticket: impl Into<Secret>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Some(ticket.into());
    }

    /// The current ticket.
    pub fn get(&self) -> Option<Secret> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl SuiteTicketSource for SuiteTicketCell {
    fn suite_ticket(&self) -> BoxFuture<'_, Option<Secret>> {
        let t = self.get();
        Box::pin(async move { t })
    }
}

/// `service/get_suite_token` fetcher.
pub struct SuiteTokenFetcher {
    client: SuiteClient,
    suite_id: String,
    suite_secret: Secret,
    tickets: Arc<dyn SuiteTicketSource>,
}

impl std::fmt::Debug for SuiteTokenFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SuiteTokenFetcher")
            .field("suite_id", &self.suite_id)
            .finish_non_exhaustive()
    }
}

impl SuiteTokenFetcher {
    /// For a suite; the ticket comes from `tickets` at each fetch.
    pub fn new(
        client: &SuiteClient,
        suite_id: impl Into<String>,
        suite_secret: impl Into<Secret>,
        tickets: Arc<dyn SuiteTicketSource>,
    ) -> Self {
        Self {
            client: client.clone(),
            suite_id: suite_id.into(),
            suite_secret: suite_secret.into(),
            tickets,
        }
    }
}

impl TokenFetcher for SuiteTokenFetcher {
    fn product(&self) -> Product {
        Product::WeComSuite
    }

    fn api(&self, _force: bool) -> &'static str {
        "/cgi-bin/service/get_suite_token"
    }

    fn fetch(&self, _force: bool) -> BoxFuture<'_, Result<AccessToken, ApiError>> {
        Box::pin(async move {
            let Some(ticket) = self.tickets.suite_ticket().await else {
                return Err(ApiError::Unavailable {
                    api: self.api(false).to_owned(),
                    message: "no suite_ticket received yet (pushed every 10 minutes, or \
                              use \"刷新ticket\" in the console)"
                        .to_owned(),
                });
            };
            let t = self
                .client
                .get_suite_token(&self.suite_id, self.suite_secret.expose(), ticket.expose())
                .await?;
            Ok(AccessToken {
                access_token: t.suite_access_token,
                expires_in: t.expires_in,
            })
        })
    }
}

/// `service/get_provider_token` fetcher.
#[derive(Debug, Clone)]
pub struct ProviderTokenFetcher {
    client: SuiteClient,
    corpid: String,
    provider_secret: Secret,
}

impl ProviderTokenFetcher {
    /// For the provider's corpid and secret.
    pub fn new(
        client: &SuiteClient,
        corpid: impl Into<String>,
        provider_secret: impl Into<Secret>,
    ) -> Self {
        Self {
            client: client.clone(),
            corpid: corpid.into(),
            provider_secret: provider_secret.into(),
        }
    }
}

impl TokenFetcher for ProviderTokenFetcher {
    fn product(&self) -> Product {
        Product::WeComSuite
    }

    fn api(&self, _force: bool) -> &'static str {
        "/cgi-bin/service/get_provider_token"
    }

    fn fetch(&self, _force: bool) -> BoxFuture<'_, Result<AccessToken, ApiError>> {
        Box::pin(async move {
            let t = self
                .client
                .get_provider_token(&self.corpid, self.provider_secret.expose())
                .await?;
            Ok(AccessToken {
                access_token: t.provider_access_token,
                expires_in: t.expires_in,
            })
        })
    }
}

/// Corp token of an authorising corp from its permanent code (`service/get_corp_token`),
/// with the suite token obtained through a suite [`Caller`] (so a stale suite token is
/// refreshed once, reference §5.2).
pub struct CorpTokenFetcher {
    client: SuiteClient,
    suite: Caller,
    auth_corpid: String,
    permanent_code: Secret,
}

impl std::fmt::Debug for CorpTokenFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CorpTokenFetcher")
            .field("auth_corpid", &self.auth_corpid)
            .finish_non_exhaustive()
    }
}

impl CorpTokenFetcher {
    /// For `auth_corpid` with its `permanent_code`.
    pub fn new(
        client: &SuiteClient,
        suite: Caller,
        auth_corpid: impl Into<String>,
        permanent_code: impl Into<Secret>,
    ) -> Self {
        Self {
            client: client.clone(),
            suite,
            auth_corpid: auth_corpid.into(),
            permanent_code: permanent_code.into(),
        }
    }
}

const GET_CORP_TOKEN: &str = "/cgi-bin/service/get_corp_token";

impl TokenFetcher for CorpTokenFetcher {
    fn product(&self) -> Product {
        Product::WeCom
    }

    fn api(&self, _force: bool) -> &'static str {
        GET_CORP_TOKEN
    }

    fn fetch(&self, _force: bool) -> BoxFuture<'_, Result<AccessToken, ApiError>> {
        Box::pin(async move {
            let client = &self.client;
            let corpid = self.auth_corpid.as_str();
            let code = self.permanent_code.expose();
            self.suite
                .call(
                    GET_CORP_TOKEN,
                    Idempotency::Idempotent,
                    move |suite_token| async move {
                        client.get_corp_token(&suite_token, corpid, code).await
                    },
                )
                .await
                .map_err(|e| match e {
                    CallError::Api { error, .. } => error,
                    other => ApiError::Unavailable {
                        api: GET_CORP_TOKEN.to_owned(),
                        message: format!("no suite token: {other}"),
                    },
                })
        })
    }
}

/// Timing of a [`TokenSource`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenConfig {
    /// Refresh when less than this remains (default 5 minutes; tokens live 7200 s).
    pub refresh_ahead: Duration,
    /// Never refresh ahead a token fetched less than this ago (default 30 s): `stable_token`
    /// keeps answering the same token until its last 300 s, so a margin at the edge must not
    /// turn into a fetch per call.
    pub min_refresh_interval: Duration,
    /// After a failed refresh ahead, keep using the still-valid token this long before trying
    /// again (default 10 s).
    pub refresh_ahead_retry: Duration,
    /// A 40001 on a token fetched less than this ago means another system refreshes the
    /// token of this AppID (default 60 s).
    pub foreign_refresh_window: Duration,
    /// Forced `stable_token` refreshes allowed per Beijing day (platform limit 20).
    pub force_refresh_daily_limit: u32,
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            refresh_ahead: Duration::from_secs(300),
            min_refresh_interval: Duration::from_secs(30),
            refresh_ahead_retry: Duration::from_secs(10),
            foreign_refresh_window: Duration::from_secs(60),
            force_refresh_daily_limit: 20,
        }
    }
}

/// Something an operator may want to see (Qiao shows these in its console).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenEvent {
    /// A token was fetched from the platform.
    Fetched {
        /// Store key.
        key: String,
        /// Endpoint.
        api: String,
        /// With `force_refresh`.
        forced: bool,
    },
    /// A token error (40001) on a token fetched moments ago: most likely another system
    /// refreshes the token for this AppID with `cgi-bin/token` or a forced `stable_token`.
    ForeignRefresh {
        /// Store key.
        key: String,
        /// The code.
        errcode: i64,
        /// Age of the rejected token.
        token_age_ms: i64,
    },
    /// A forced `stable_token` refresh was spent.
    ForcedRefresh {
        /// Store key.
        key: String,
        /// Used today, this one included.
        used_today: u32,
        /// Daily limit.
        limit: u32,
    },
    /// Refresh ahead of expiry failed; the current token is still used.
    RefreshAheadFailed {
        /// Store key.
        key: String,
        /// Redacted error.
        error: String,
    },
    /// A call is retried after a back-off.
    Retry {
        /// Store key.
        key: String,
        /// Endpoint.
        api: String,
        /// Attempt about to be made (2, 3…).
        attempt: u32,
        /// Delay before it.
        delay_ms: u64,
        /// Errcode, HTTP status or transport kind that caused it.
        reason: String,
    },
    /// A call is retried once with a refreshed token.
    TokenRetry {
        /// Store key.
        key: String,
        /// Endpoint.
        api: String,
        /// The token error.
        errcode: i64,
    },
    /// A daily quota is used up: the API is blocked until `until_ms` (alert).
    QuotaExhausted {
        /// Store key.
        key: String,
        /// Endpoint.
        api: String,
        /// Next Beijing midnight, Unix ms.
        until_ms: i64,
    },
    /// A configuration error (alert): IP whitelist, secret, permission…
    ConfigError {
        /// Store key.
        key: String,
        /// Endpoint.
        api: String,
        /// Errcode, when the platform answered one.
        errcode: Option<i64>,
        /// The platform's message.
        errmsg: String,
        /// The caller IP the platform saw (40164, 60020).
        ip: Option<IpAddr>,
    },
}

/// Receives [`TokenEvent`]s.
pub type EventSink = Arc<dyn Fn(&TokenEvent) + Send + Sync>;

/// One credential's token: fetcher + shared store + in-process cache and single flight.
pub struct TokenSource {
    key: String,
    fetcher: Arc<dyn TokenFetcher>,
    store: Arc<dyn TokenStore>,
    clock: Arc<dyn Clock>,
    config: TokenConfig,
    quota: Arc<QuotaGuard>,
    events: Option<EventSink>,
    local: Mutex<Option<CachedToken>>,
    flight: tokio::sync::Mutex<()>,
    ahead_failed_at_ms: AtomicI64,
    forced: Mutex<(i64, u32)>,
    /// Completed refresh attempts through the flight, and the last failure with its
    /// generation, shared with the callers queued behind it.
    generation: AtomicU64,
    failure: Mutex<Option<(u64, CallError)>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("key", &self.key)
            .field("product", &self.fetcher.product())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// A source for `key`, fetched by `fetcher`, kept in `store`.
    pub fn new(
        key: impl Into<String>,
        fetcher: Arc<dyn TokenFetcher>,
        store: Arc<dyn TokenStore>,
    ) -> Self {
        Self {
            key: key.into(),
            fetcher,
            store,
            clock: Arc::new(SystemClock),
            config: TokenConfig::default(),
            quota: Arc::new(QuotaGuard::new()),
            events: None,
            local: Mutex::new(None),
            flight: tokio::sync::Mutex::new(()),
            ahead_failed_at_ms: AtomicI64::new(i64::MIN / 2),
            forced: Mutex::new((0, 0)),
            generation: AtomicU64::new(0),
            failure: Mutex::new(None),
        }
    }

    /// Official Account token (`stable_token` by default, see [`AppTokenMode`]).
    pub fn official_account(
        key: impl Into<String>,
        client: &OaClient,
        appid: impl Into<String>,
        secret: impl Into<Secret>,
        mode: AppTokenMode,
        store: Arc<dyn TokenStore>,
    ) -> Self {
        let fetcher = AppTokenFetcher::official_account(client, appid, secret, mode);
        Self::new(key, Arc::new(fetcher), store)
    }

    /// Mini Program token.
    pub fn mini_program(
        key: impl Into<String>,
        client: &MpClient,
        appid: impl Into<String>,
        secret: impl Into<Secret>,
        mode: AppTokenMode,
        store: Arc<dyn TokenStore>,
    ) -> Self {
        let fetcher = AppTokenFetcher::mini_program(client, appid, secret, mode);
        Self::new(key, Arc::new(fetcher), store)
    }

    /// WeCom token of `corpid` + `secret` (any base URL of `client`).
    pub fn work(
        key: impl Into<String>,
        client: &WorkClient,
        corpid: impl Into<String>,
        secret: impl Into<Secret>,
        store: Arc<dyn TokenStore>,
    ) -> Self {
        Self::new(
            key,
            Arc::new(WorkTokenFetcher::new(client, corpid, secret)),
            store,
        )
    }

    /// Suite token from the suite secret and the latest ticket.
    pub fn suite(
        key: impl Into<String>,
        client: &SuiteClient,
        suite_id: impl Into<String>,
        suite_secret: impl Into<Secret>,
        tickets: Arc<dyn SuiteTicketSource>,
        store: Arc<dyn TokenStore>,
    ) -> Self {
        let fetcher = SuiteTokenFetcher::new(client, suite_id, suite_secret, tickets);
        Self::new(key, Arc::new(fetcher), store)
    }

    /// Provider token.
    pub fn provider(
        key: impl Into<String>,
        client: &SuiteClient,
        corpid: impl Into<String>,
        provider_secret: impl Into<Secret>,
        store: Arc<dyn TokenStore>,
    ) -> Self {
        let fetcher = ProviderTokenFetcher::new(client, corpid, provider_secret);
        Self::new(key, Arc::new(fetcher), store)
    }

    /// Corp token of an authorising corp, from its permanent code through `suite`.
    pub fn suite_corp(
        key: impl Into<String>,
        client: &SuiteClient,
        suite: Caller,
        auth_corpid: impl Into<String>,
        permanent_code: impl Into<Secret>,
        store: Arc<dyn TokenStore>,
    ) -> Self {
        let fetcher = CorpTokenFetcher::new(client, suite, auth_corpid, permanent_code);
        Self::new(key, Arc::new(fetcher), store)
    }

    /// Uses another clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses other timings.
    #[must_use]
    pub fn with_config(mut self, config: TokenConfig) -> Self {
        self.config = config;
        self
    }

    /// Shares a quota guard (e.g. one per process, to list every blocked API).
    #[must_use]
    pub fn with_quota_guard(mut self, quota: Arc<QuotaGuard>) -> Self {
        self.quota = quota;
        self
    }

    /// Sends [`TokenEvent`]s to `sink`.
    #[must_use]
    pub fn with_events(mut self, sink: EventSink) -> Self {
        self.events = Some(sink);
        self
    }

    /// The store key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The product of the credential.
    pub fn product(&self) -> Product {
        self.fetcher.product()
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The timings.
    pub fn config(&self) -> &TokenConfig {
        &self.config
    }

    /// The quota guard.
    pub fn quota_guard(&self) -> &Arc<QuotaGuard> {
        &self.quota
    }

    /// Now, per the source's clock.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub(crate) fn emit(&self, event: TokenEvent) {
        if let Some(sink) = &self.events {
            sink(&event);
        }
    }

    /// Forced refreshes spent today (Beijing day) by this process.
    pub fn forced_refreshes_today(&self) -> u32 {
        let today = beijing_day(self.now_ms());
        let f = self.forced.lock().unwrap_or_else(PoisonError::into_inner);
        if f.0 == today { f.1 } else { 0 }
    }

    /// Restores today's count of forced refreshes (e.g. from the database at start-up).
    pub fn set_forced_refreshes_today(&self, used: u32) {
        let today = beijing_day(self.now_ms());
        *self.forced.lock().unwrap_or_else(PoisonError::into_inner) = (today, used);
    }

    fn ms(d: Duration) -> i64 {
        i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
    }

    /// True when `t` may be used without refreshing ahead.
    fn good_enough(&self, t: &CachedToken, now: i64) -> bool {
        if !t.is_valid_at(now) {
            return false;
        }
        t.remaining_ms(now) > Self::ms(self.config.refresh_ahead)
            || now.saturating_sub(t.fetched_at_ms) < Self::ms(self.config.min_refresh_interval)
            || now
                < self
                    .ahead_failed_at_ms
                    .load(Ordering::SeqCst)
                    .saturating_add(Self::ms(self.config.refresh_ahead_retry))
    }

    fn local(&self) -> Option<CachedToken> {
        self.local
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_local(&self, t: &CachedToken) {
        *self.local.lock().unwrap_or_else(PoisonError::into_inner) = Some(t.clone());
    }

    fn store_error(&self, error: StoreError) -> CallError {
        let reaction = match &error {
            StoreError::Fetch(e) => e.reaction(self.product()).for_token_fetch(),
            StoreError::Backend(_) | StoreError::Timeout => Reaction::BackOff,
        };
        CallError::Token {
            key: self.key.clone(),
            reaction,
            error,
        }
    }

    fn quota_blocked(&self, force: bool, now: i64) -> Option<CallError> {
        let api = self.fetcher.api(force);
        self.quota
            .check(&self.key, api, now)
            .map(|until_ms| CallError::QuotaExhausted {
                key: self.key.clone(),
                api: api.to_owned(),
                until_ms,
            })
    }

    /// Fetches from the platform (run by the store, at most once per refresh).
    async fn fetch_now(&self, force: bool) -> Result<CachedToken, ApiError> {
        let api = self.fetcher.api(force);
        if force {
            let today = beijing_day(self.now_ms());
            let used = {
                let mut f = self.forced.lock().unwrap_or_else(PoisonError::into_inner);
                if f.0 != today {
                    *f = (today, 0);
                }
                f.1 = f.1.saturating_add(1);
                f.1
            };
            let limit = self.config.force_refresh_daily_limit;
            tracing::warn!(key = %self.key, used_today = used, limit, "forcing a stable_token refresh");
            self.emit(TokenEvent::ForcedRefresh {
                key: self.key.clone(),
                used_today: used,
                limit,
            });
        }
        match self.fetcher.fetch(force).await {
            Ok(t) => {
                let now = self.now_ms();
                tracing::info!(key = %self.key, api, forced = force, expires_in = t.expires_in, "token fetched");
                self.emit(TokenEvent::Fetched {
                    key: self.key.clone(),
                    api: api.to_owned(),
                    forced: force,
                });
                Ok(CachedToken::from_expires_in(
                    t.access_token.into_inner(),
                    t.expires_in,
                    now,
                ))
            }
            Err(e) => {
                let reaction = e.reaction(self.product()).for_token_fetch();
                if reaction == Reaction::QuotaExhausted {
                    let until_ms = next_beijing_midnight_ms(self.now_ms());
                    self.quota.mark(&self.key, api, until_ms);
                    tracing::error!(target: "wx::alert", key = %self.key, api, until_ms, "daily token quota exhausted");
                    self.emit(TokenEvent::QuotaExhausted {
                        key: self.key.clone(),
                        api: api.to_owned(),
                        until_ms,
                    });
                } else if reaction == Reaction::ConfigError {
                    let wx = e.wx();
                    tracing::error!(
                        target: "wx::alert",
                        key = %self.key,
                        api,
                        errcode = wx.map(|w| w.errcode),
                        ip = ?wx.and_then(|w| w.ip),
                        error = %e,
                        "token fetch failed: configuration error"
                    );
                    self.emit(TokenEvent::ConfigError {
                        key: self.key.clone(),
                        api: api.to_owned(),
                        errcode: wx.map(|w| w.errcode),
                        errmsg: wx.map_or_else(|| e.to_string(), |w| w.errmsg.clone()),
                        ip: wx.and_then(|w| w.ip),
                    });
                }
                Err(e)
            }
        }
    }

    /// The failure of the refresh that completed while this caller queued, if any.
    fn shared_failure(&self, seen: u64) -> Option<CallError> {
        let generation = self.generation.load(Ordering::SeqCst);
        if generation == seen {
            return None;
        }
        match &*self.failure.lock().unwrap_or_else(PoisonError::into_inner) {
            Some((g, e)) if *g == generation => Some(e.clone()),
            _ => None,
        }
    }

    /// Records the outcome of a refresh attempt made under the flight lock.
    fn settle(&self, result: Result<CachedToken, CallError>) -> Result<CachedToken, CallError> {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let mut failure = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        match result {
            Ok(t) => {
                *failure = None;
                drop(failure);
                self.set_local(&t);
                Ok(t)
            }
            Err(e) => {
                *failure = Some((generation, e.clone()));
                Err(e)
            }
        }
    }

    fn fetch_fn(&self, force: bool) -> FetchFn<'_> {
        Box::new(move || Box::pin(self.fetch_now(force)))
    }

    /// A valid token: the cached one, or one refreshed through the store (single flight in
    /// this process and, through [`TokenStore::refresh`], in the deployment). Refreshes
    /// ahead of expiry; if that fails while the token is still valid, the token is returned.
    pub async fn token(&self) -> Result<CachedToken, CallError> {
        if let Some(t) = self.local()
            && self.good_enough(&t, self.now_ms())
        {
            return Ok(t);
        }
        let seen = self.generation.load(Ordering::SeqCst);
        let _flight = self.flight.lock().await;
        if let Some(t) = self.local()
            && self.good_enough(&t, self.now_ms())
        {
            return Ok(t);
        }
        if let Some(e) = self.shared_failure(seen) {
            return Err(e);
        }
        let stored = self
            .store
            .get(&self.key)
            .await
            .map_err(|e| self.store_error(e))?;
        let now = self.now_ms();
        let mut stale = None;
        if let Some(t) = stored {
            if self.good_enough(&t, now) {
                self.set_local(&t);
                return Ok(t);
            }
            if t.is_valid_at(now) {
                if self.quota_blocked(false, now).is_some() {
                    self.set_local(&t);
                    return Ok(t);
                }
                return match self
                    .store
                    .refresh(&self.key, Some(&t.value), self.fetch_fn(false))
                    .await
                {
                    Ok(fresh) => {
                        self.set_local(&fresh);
                        Ok(fresh)
                    }
                    Err(e) => {
                        let error = crate::api::redact_text(&e.to_string()).into_owned();
                        tracing::warn!(key = %self.key, %error, "refresh ahead of expiry failed; using the current token");
                        self.ahead_failed_at_ms.store(now, Ordering::SeqCst);
                        self.emit(TokenEvent::RefreshAheadFailed {
                            key: self.key.clone(),
                            error,
                        });
                        self.set_local(&t);
                        Ok(t)
                    }
                };
            }
            stale = Some(t.value);
        }
        if let Some(blocked) = self.quota_blocked(false, now) {
            return Err(blocked);
        }
        let result = self
            .store
            .refresh(&self.key, stale.as_deref(), self.fetch_fn(false))
            .await
            .map_err(|e| self.store_error(e));
        self.settle(result)
    }

    /// After the platform rejected `failing` with a token error (40001/40014/42001…): a
    /// token other than `failing`. First asks the store without forcing (another node or
    /// task may already hold the new token, or `stable_token` may hand out a new one); only
    /// when that yields the failing token again and the fetcher supports it, forces one
    /// refresh (`stable_token` `force_refresh: true`), counted against the daily limit
    /// ([`CallError::ForceRefreshLimit`] past it). May return the same token when the
    /// platform keeps handing it out.
    pub async fn refresh_after_failure(
        &self,
        failing: &CachedToken,
    ) -> Result<CachedToken, CallError> {
        let seen = self.generation.load(Ordering::SeqCst);
        let _flight = self.flight.lock().await;
        if let Some(t) = self.local()
            && t.value != failing.value
            && t.is_valid_at(self.now_ms())
        {
            return Ok(t);
        }
        if let Some(e) = self.shared_failure(seen) {
            return Err(e);
        }
        if let Some(blocked) = self.quota_blocked(false, self.now_ms()) {
            return Err(blocked);
        }
        let fresh = match self
            .store
            .refresh(&self.key, Some(&failing.value), self.fetch_fn(false))
            .await
        {
            Ok(t) => t,
            Err(e) => return self.settle(Err(self.store_error(e))),
        };
        if fresh.value != failing.value || !self.fetcher.supports_force() {
            return self.settle(Ok(fresh));
        }
        let used = self.forced_refreshes_today();
        let limit = self.config.force_refresh_daily_limit;
        if used >= limit {
            tracing::error!(target: "wx::alert", key = %self.key, used, limit, "stable_token force_refresh limit reached; not forcing");
            return Err(CallError::ForceRefreshLimit {
                key: self.key.clone(),
                used,
                limit,
            });
        }
        if let Some(blocked) = self.quota_blocked(true, self.now_ms()) {
            return Err(blocked);
        }
        let forced = self
            .store
            .refresh(&self.key, Some(&failing.value), self.fetch_fn(true))
            .await
            .map_err(|e| self.store_error(e));
        self.settle(forced)
    }

    /// Drops the in-process copy (the store is untouched).
    pub fn forget_local(&self) {
        *self.local.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}
