//! The gateway to WeChat: for each channel, its API client and its token source, sharing one
//! HTTP client, one token store (the database, so every node sees the same token) and one
//! quota guard. Everything that calls WeChat on behalf of a channel goes through here, so
//! tokens are fetched by exactly one node at a time and never by anything else (Official
//! Account doc 1 集成配置, WeCom doc 1 and 2.3; reference §2.1, §4.1, §5.2, §7 rows 1–4).

mod token_store;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use url::Url;
use utoipa::ToSchema;
use wx::api::{HttpClient, MpClient, OaClient, WorkClient};
use wx::token::{
    AppTokenMode, CallError, Caller, EventSink, QuotaGuard, RetryPolicy, TokenEvent, TokenSource,
    keys,
};

use crate::callback::reachability::CallbackCheck;
use crate::channels::{self, Attrs, Channel, ChannelKind};
use crate::clock;
use crate::config::Config;
use crate::secrets::Sealer;
use crate::store::{Store, StoreError, TenantId};

pub use token_store::DbTokenStore;

/// The Official Account / Mini Program token daily quota (`cgi-bin/token`, reference §2.1).
pub const APP_TOKEN_DAILY_QUOTA: i64 = 2000;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("no such channel")]
    NotFound,
    #[error("{0}")]
    Unsupported(String),
    #[error("the channel has no {0} set")]
    MissingSecret(&'static str),
    #[error("invalid endpoint URL: {0}")]
    BadEndpoint(String),
    #[error(transparent)]
    Call(#[from] CallError),
    /// Still rate-limited, busy or unreachable when the retry budget ran out: nothing was
    /// done, and trying again after `retry_after_secs` may succeed.
    #[error("{error}")]
    Busy {
        retry_after_secs: u64,
        #[source]
        error: CallError,
    },
    #[error(transparent)]
    Tokens(#[from] wx::token::StoreError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an operator should know about a credential's token, beyond the stored row.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct TokenHealth {
    /// The last notable event, in plain words (foreign refresher, configuration error…).
    pub last_event: Option<String>,
    pub last_event_ms: Option<i64>,
    /// Set when a 40001 hit a token fetched moments ago: another system refreshes it.
    pub foreign_refresh_ms: Option<i64>,
}

/// A channel's connection: which credential, its token source and its client.
struct Connection {
    fingerprint: i64,
    source: Arc<TokenSource>,
}

/// The retry policy of every WeChat call, from the configuration: the time budget, not a
/// count of attempts, bounds a call (a frequency limit lasts as long as it lasts), so the
/// attempt bound is only a guard against a run of near-zero jittered delays.
pub fn retry_policy(config: &Config) -> RetryPolicy {
    let max_delay = Duration::from_millis(config.wechat_retry_max_delay_ms);
    RetryPolicy {
        max_attempts: 64,
        base_delay: RetryPolicy::default().base_delay.min(max_delay),
        max_delay,
        max_elapsed: Duration::from_millis(config.wechat_retry_budget_ms),
    }
}

pub struct Gateway {
    store: Store,
    sealer: Sealer,
    http: HttpClient,
    policy: RetryPolicy,
    tokens: Arc<DbTokenStore>,
    quota: Arc<QuotaGuard>,
    connections: Mutex<HashMap<(i64, &'static str), Arc<Connection>>>,
    health: Arc<Mutex<HashMap<String, TokenHealth>>>,
}

/// The secret a channel's token is made from: the app secret, or for a corp its
/// contact-sync secret.
fn token_secret(kind: ChannelKind) -> Option<&'static str> {
    match kind {
        ChannelKind::OfficialAccount | ChannelKind::MiniProgram => Some("app_secret"),
        ChannelKind::WecomApp => Some("secret"),
        ChannelKind::WecomCorp => Some("contacts_secret"),
    }
}

/// The store key of a channel's token; `corp` is the WeCom app's corp, else the channel.
fn token_key(channel: &Channel, corp: &Channel) -> String {
    match channel.kind {
        ChannelKind::OfficialAccount => keys::oa(&channel.external_id),
        ChannelKind::MiniProgram => keys::mp(&channel.external_id),
        ChannelKind::WecomApp => {
            keys::work(&corp.external_id, &format!("agent{}", channel.external_id))
        }
        ChannelKind::WecomCorp => keys::work(&corp.external_id, "contacts"),
    }
}

/// The name of the secret a channel's token is made from, when it is not set.
fn missing_token_secret(channel: &Channel) -> Option<&'static str> {
    token_secret(channel.kind).filter(|name| !channel.secrets.contains_key(*name))
}

fn endpoints_of(attrs: &Attrs) -> Option<&channels::Endpoints> {
    match attrs {
        Attrs::OfficialAccount { endpoints, .. }
        | Attrs::WecomCorp { endpoints, .. }
        | Attrs::MiniProgram { endpoints } => Some(endpoints),
        Attrs::WecomApp { .. } => None,
    }
}

impl Gateway {
    pub fn new(store: Store, sealer: Sealer, policy: RetryPolicy) -> Result<Self, reqwest::Error> {
        let http = HttpClient::new()?.with_observer(Arc::new(|call: &wx::api::CallRecord<'_>| {
            let errcode = call.errcode.map(|c| c.to_string()).unwrap_or_else(|| "none".into());
            metrics::counter!("qiao_wechat_api_calls_total", "api" => call.api.to_string(), "errcode" => errcode)
                .increment(1);
        }));
        Ok(Self {
            tokens: Arc::new(DbTokenStore::new(store.clone(), sealer.clone())),
            store,
            sealer,
            http,
            policy,
            quota: Arc::new(QuotaGuard::new()),
            connections: Mutex::default(),
            health: Arc::default(),
        })
    }

    pub fn token_store(&self) -> &DbTokenStore {
        &self.tokens
    }

    /// A failed call as the gateway reports it: one that may heal (back-off reaction) is
    /// [`GatewayError::Busy`], to be tried again after the back-off cap.
    fn failed(&self, error: CallError) -> GatewayError {
        if error.reaction() == wx::errcode::Reaction::BackOff {
            GatewayError::Busy {
                retry_after_secs: self.policy.max_delay.as_secs().max(1),
                error,
            }
        } else {
            GatewayError::Call(error)
        }
    }

    fn events(&self) -> EventSink {
        let health = self.health.clone();
        let tokens = self.tokens.clone();
        Arc::new(move |event: &TokenEvent| {
            let now = clock::now_ms();
            let (key, words, foreign) = match event {
                TokenEvent::Fetched { key, .. } => {
                    metrics::counter!("qiao_token_fetches_total").increment(1);
                    (key.clone(), None, false)
                }
                TokenEvent::ForeignRefresh {
                    key, token_age_ms, ..
                } => (
                    key.clone(),
                    Some(format!(
                        "a token fetched {} s ago was already invalid: another system is most likely \
                         refreshing the token of this AppID (cgi-bin/token or a forced stable_token); \
                         let it use Qiao's token broker instead",
                        token_age_ms / 1000
                    )),
                    true,
                ),
                TokenEvent::ForcedRefresh {
                    key,
                    used_today,
                    limit,
                } => {
                    let (tokens, key2) = (tokens.clone(), key.clone());
                    tokio::spawn(async move {
                        if let Err(e) = tokens.count_forced(&key2).await {
                            tracing::warn!(error = %e, "cannot count a forced token refresh");
                        }
                    });
                    (
                        key.clone(),
                        Some(format!(
                            "forced stable_token refresh {used_today} of {limit} today"
                        )),
                        false,
                    )
                }
                TokenEvent::Retry {
                    key,
                    api,
                    reason,
                    delay_ms,
                    ..
                } => {
                    // `reason` is an errcode, `http_<status>`, a transport kind or `token`.
                    metrics::counter!("qiao_wechat_api_retries_total", "api" => api.clone(), "reason" => reason.clone())
                        .increment(1);
                    metrics::histogram!("qiao_wechat_retry_delay_seconds", "api" => api.clone())
                        .record(Duration::from_millis(*delay_ms).as_secs_f64());
                    (key.clone(), None, false)
                }
                TokenEvent::QuotaExhausted { key, api, until_ms } => (
                    key.clone(),
                    Some(format!(
                        "the daily quota of {api} is used up; calls stop until {until_ms} (Beijing midnight)"
                    )),
                    false,
                ),
                TokenEvent::ConfigError {
                    key,
                    api,
                    errmsg,
                    ip,
                    ..
                } => (
                    key.clone(),
                    Some(match ip {
                        Some(ip) => format!("{api}: {errmsg} (WeChat saw the IP {ip})"),
                        None => format!("{api}: {errmsg}"),
                    }),
                    false,
                ),
                other => {
                    tracing::debug!(?other, "token event");
                    return;
                }
            };
            if let Some(words) = words {
                tracing::warn!(%key, event = %words, "token");
                let mut health = health.lock().unwrap_or_else(|e| e.into_inner());
                let entry = health.entry(key).or_default();
                entry.last_event = Some(words);
                entry.last_event_ms = Some(now);
                if foreign {
                    entry.foreign_refresh_ms = Some(now);
                }
            }
        })
    }

    /// The token source of a channel, built once and rebuilt when the channel changes.
    async fn connection(
        &self,
        tenant: TenantId,
        channel: &Channel,
    ) -> Result<Arc<Connection>, GatewayError> {
        let secret_name = token_secret(channel.kind)
            .ok_or_else(|| GatewayError::Unsupported("no token".into()))?;
        let cache_key = (channel.id, secret_name);
        if let Some(conn) = self
            .connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&cache_key)
            && conn.fingerprint == channel.updated_ms
        {
            return Ok(conn.clone());
        }
        let secret = channels::secret(&self.store, &self.sealer, channel.id, secret_name)
            .await?
            .ok_or(GatewayError::MissingSecret(secret_name))?;
        let tokens: Arc<dyn wx::token::TokenStore> = self.tokens.clone();
        let corp = self.corp_of(tenant, channel).await?;
        let key = token_key(channel, &corp);
        let source = match channel.kind {
            ChannelKind::OfficialAccount | ChannelKind::MiniProgram => {
                let endpoints = endpoints_of(&channel.attrs).ok_or(GatewayError::NotFound)?;
                let base = parse(&endpoints.api_base_url)?;
                if channel.kind == ChannelKind::OfficialAccount {
                    let client = OaClient::new(self.http.clone(), base);
                    TokenSource::official_account(
                        key,
                        &client,
                        channel.external_id.clone(),
                        secret,
                        AppTokenMode::Stable,
                        tokens,
                    )
                } else {
                    let client = MpClient::new(self.http.clone(), base);
                    TokenSource::mini_program(
                        key,
                        &client,
                        channel.external_id.clone(),
                        secret,
                        AppTokenMode::Stable,
                        tokens,
                    )
                }
            }
            ChannelKind::WecomApp | ChannelKind::WecomCorp => {
                let endpoints = endpoints_of(&corp.attrs).ok_or(GatewayError::NotFound)?;
                let client = WorkClient::new(self.http.clone(), parse(&endpoints.api_base_url)?);
                TokenSource::work(key, &client, corp.external_id.clone(), secret, tokens)
            }
        };
        let source = source
            .with_quota_guard(self.quota.clone())
            .with_events(self.events());
        let (_, forced) = self.tokens.fetches_today(source.key()).await?;
        source.set_forced_refreshes_today(u32::try_from(forced).unwrap_or(u32::MAX));
        let conn = Arc::new(Connection {
            fingerprint: channel.updated_ms,
            source: Arc::new(source),
        });
        // Concurrent first calls may each build one: the first stored wins, so that one
        // source (and its single flight) serves the channel.
        let mut connections = self.connections.lock().unwrap_or_else(|e| e.into_inner());
        match connections.get(&cache_key) {
            Some(existing) if existing.fingerprint == conn.fingerprint => Ok(existing.clone()),
            _ => {
                connections.insert(cache_key, conn.clone());
                Ok(conn)
            }
        }
    }
}

impl Gateway {
    async fn channel(&self, tenant: TenantId, id: i64) -> Result<Channel, GatewayError> {
        channels::get(&self.store, &self.sealer, tenant, id)
            .await?
            .ok_or(GatewayError::NotFound)
    }

    /// The corp of a WeCom app; any other channel is its own.
    async fn corp_of(&self, tenant: TenantId, channel: &Channel) -> Result<Channel, GatewayError> {
        match channel.parent_id {
            Some(parent) => self.channel(tenant, parent).await,
            None => Ok(channel.clone()),
        }
    }

    /// The current access token of a channel (for the token broker), fetched if needed by
    /// exactly one node.
    pub async fn token(
        &self,
        tenant: TenantId,
        channel_id: i64,
    ) -> Result<wx::token::CachedToken, GatewayError> {
        let channel = self.channel(tenant, channel_id).await?;
        let conn = self.connection(tenant, &channel).await?;
        conn.source.token().await.map_err(|e| self.failed(e))
    }

    /// One page of an Official Account's followers (OpenIDs), through the retry policy.
    pub async fn followers(
        &self,
        tenant: TenantId,
        channel_id: i64,
        next_openid: Option<String>,
    ) -> Result<wx::api::oa::FollowerPage, GatewayError> {
        let channel = self.channel(tenant, channel_id).await?;
        if channel.kind != ChannelKind::OfficialAccount {
            return Err(GatewayError::Unsupported(
                "followers are read from an Official Account".into(),
            ));
        }
        let endpoints = endpoints_of(&channel.attrs).ok_or(GatewayError::NotFound)?;
        let client = OaClient::new(self.http.clone(), parse(&endpoints.api_base_url)?);
        let conn = self.connection(tenant, &channel).await?;
        let caller = Caller::new(conn.source.clone()).with_policy(self.policy);
        let (client, next) = (&client, next_openid.as_deref());
        caller
            .call(
                "/cgi-bin/user/get",
                wx::api::Idempotency::Idempotent,
                move |token| async move { client.user_get(&token, next).await },
            )
            .await
            .map_err(|e| self.failed(e))
    }

    /// A WeCom member, read with a WeCom app's (or the corp's contact-sync) token.
    pub async fn member(
        &self,
        tenant: TenantId,
        channel_id: i64,
        userid: &str,
    ) -> Result<wx::api::work::User, GatewayError> {
        let channel = self.channel(tenant, channel_id).await?;
        let corp = match (channel.kind, channel.parent_id) {
            (ChannelKind::WecomApp, Some(parent)) => self.channel(tenant, parent).await?,
            (ChannelKind::WecomCorp, _) => channel.clone(),
            _ => {
                return Err(GatewayError::Unsupported(
                    "members are read through a WeCom app or corp".into(),
                ));
            }
        };
        let endpoints = endpoints_of(&corp.attrs).ok_or(GatewayError::NotFound)?;
        let client = WorkClient::new(self.http.clone(), parse(&endpoints.api_base_url)?);
        let conn = self.connection(tenant, &channel).await?;
        let caller = Caller::new(conn.source.clone()).with_policy(self.policy);
        let client = &client;
        caller
            .call(
                "/cgi-bin/user/get",
                wx::api::Idempotency::Idempotent,
                move |token| async move { client.user_get(&token, userid).await },
            )
            .await
            .map_err(|e| self.failed(e))
    }

    /// The token state of a channel for the console: validity, last refresh, last error,
    /// today's fetches against the daily quota, and notable events.
    pub async fn state(
        &self,
        tenant: TenantId,
        channel_id: i64,
    ) -> Result<TokenState, GatewayError> {
        let channel = self.channel(tenant, channel_id).await?;
        if let Some(name) = missing_token_secret(&channel) {
            return Err(GatewayError::MissingSecret(name));
        }
        let corp = self.corp_of(tenant, &channel).await?;
        self.state_of(&channel, token_key(&channel, &corp)).await
    }

    /// The token state of every channel of a tenant, in the registry's order; a channel
    /// without the secret its token is made from has none.
    pub async fn states(&self, tenant: TenantId) -> Result<Vec<ChannelTokenState>, GatewayError> {
        let all = channels::list(&self.store, &self.sealer, tenant, None).await?;
        let mut states = Vec::with_capacity(all.len());
        for channel in &all {
            let missing = missing_token_secret(channel);
            let corp = match channel.parent_id {
                Some(parent) => all.iter().find(|c| c.id == parent),
                None => Some(channel),
            };
            let token = match (missing, corp) {
                (None, Some(corp)) => Some(self.state_of(channel, token_key(channel, corp)).await?),
                _ => None,
            };
            states.push(ChannelTokenState {
                channel_id: channel.id,
                name: channel.name.clone(),
                kind: channel.kind,
                missing_secret: missing,
                token,
            });
        }
        Ok(states)
    }

    async fn state_of(&self, channel: &Channel, key: String) -> Result<TokenState, GatewayError> {
        let (expires, fetched, error) = self.tokens.state(&key).await?.unwrap_or((0, 0, None));
        let (fetches, forced) = self.tokens.fetches_today(&key).await?;
        let quota = matches!(
            channel.kind,
            ChannelKind::OfficialAccount | ChannelKind::MiniProgram
        )
        .then_some(APP_TOKEN_DAILY_QUOTA);
        let health = self
            .health
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned()
            .unwrap_or_default();
        Ok(TokenState {
            warning: quota.filter(|q| fetches * 5 >= q * 4).map(|q| {
                format!("{fetches} tokens fetched today, near the daily quota of {q}: something is refreshing too often")
            }),
            key,
            valid_until_ms: (expires > clock::now_ms()).then_some(expires),
            fetched_at_ms: (fetched > 0).then_some(fetched),
            last_error: error.map(|(e, _)| e),
            fetches_today: fetches,
            forced_refreshes_today: forced,
            daily_quota: quota,
            health,
        })
    }

    /// Test connection, token step: fetches a token and says what is wrong in plain words,
    /// with the fix (the callback step is `callback::reachability::test_connection`).
    pub async fn test_connection(
        &self,
        tenant: TenantId,
        channel_id: i64,
    ) -> Result<ConnectionTest, GatewayError> {
        let channel = self.channel(tenant, channel_id).await?;
        let conn = match self.connection(tenant, &channel).await {
            Ok(conn) => conn,
            Err(GatewayError::MissingSecret(name)) => {
                return Ok(ConnectionTest::failed(
                    format!("the channel has no {name}"),
                    format!("enter the {name} from the back office"),
                    None,
                ));
            }
            Err(e) => return Err(e),
        };
        Ok(match conn.source.token().await {
            Ok(token) => ConnectionTest {
                ok: true,
                problem: None,
                fix: None,
                ip: None,
                valid_until_ms: Some(token.expires_at_ms),
                callbacks: Vec::new(),
            },
            Err(e) => explain(&e),
        })
    }
}

/// A channel's token state (the token itself is never part of it).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenState {
    pub key: String,
    pub valid_until_ms: Option<i64>,
    pub fetched_at_ms: Option<i64>,
    pub last_error: Option<String>,
    pub fetches_today: i64,
    pub forced_refreshes_today: i64,
    pub daily_quota: Option<i64>,
    /// Set when today's fetches approach the daily quota.
    pub warning: Option<String>,
    pub health: TokenHealth,
}

/// One row of the token overview: a channel and its token state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChannelTokenState {
    pub channel_id: i64,
    pub name: String,
    pub kind: ChannelKind,
    /// The secret to set before this channel has a token (its token state is then absent).
    pub missing_secret: Option<&'static str>,
    pub token: Option<TokenState>,
}

/// The outcome of "test connection".
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConnectionTest {
    /// The token step succeeded.
    pub ok: bool,
    pub problem: Option<String>,
    pub fix: Option<String>,
    /// The IP WeChat saw, when it refused it (40164, 60020).
    #[schema(value_type = Option<String>)]
    pub ip: Option<IpAddr>,
    pub valid_until_ms: Option<i64>,
    /// The callback step: each receiver's URL verified at the external base URL as WeChat
    /// would (`ok` above is the token step alone).
    pub callbacks: Vec<CallbackCheck>,
}

impl ConnectionTest {
    fn failed(problem: String, fix: String, ip: Option<IpAddr>) -> Self {
        Self {
            ok: false,
            problem: Some(problem),
            fix: Some(fix),
            ip,
            valid_until_ms: None,
            callbacks: Vec::new(),
        }
    }
}

/// Plain words for a failed token fetch, with the fix.
fn explain(e: &CallError) -> ConnectionTest {
    let ip = e.ip();
    let (problem, fix) = match e.errcode() {
        Some(40164) | Some(60020) => (
            format!("WeChat refused the call from IP {}", ip.map(|i| i.to_string()).unwrap_or_else(|| "?".into())),
            "add this IP to the IP whitelist (公众号: 基本配置 → IP白名单; 企业微信: 应用 → 企业可信IP), then test again".to_string(),
        ),
        Some(40001) | Some(40125) | Some(40091) => (
            "the secret is wrong".to_string(),
            "copy the AppSecret / Secret again from the back office (it changes when reset there)".to_string(),
        ),
        Some(40013) => ("the AppID or CorpID is not valid".to_string(), "check the AppID / CorpID of this channel".to_string()),
        Some(50003) => ("the app is disabled in WeCom".to_string(), "enable the app in the WeCom admin console".to_string()),
        Some(code) => (format!("WeChat answered {code}: {e}"), "see the error code in the reference and the channel's settings".to_string()),
        None => (
            format!("WeChat could not be reached: {e}"),
            "check that this server can reach the channel's API base URL (firewall, proxy, DNS)".to_string(),
        ),
    };
    ConnectionTest::failed(problem, fix, ip)
}

fn parse(url: &str) -> Result<Url, GatewayError> {
    Url::parse(url).map_err(|e| GatewayError::BadEndpoint(format!("{url}: {e}")))
}
