//! `wxsim`: plays the WeChat and WeCom servers so that every flow of Qiao runs on one machine.
//!
//! A library (embedded by Qiao's tests and `qiao demo`, on a random port) and a binary. One
//! listener serves every role: a request whose `Host` header names a Tencent host
//! (`api.weixin.qq.com`, `qyapi.weixin.qq.com`, `open.weixin.qq.com`,
//! `login.work.weixin.qq.com`) is routed by it; otherwise the first path segment selects the
//! role (`/api`, `/qyapi`, `/open`, `/login`), so each role has a plain base URL. Paths below
//! that are Tencent's own (`/cgi-bin/...`). The control API lives under `/sim/`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use wxsim::{Role, Seed, SimConfig, Simulator};
//! let sim = Simulator::start(SimConfig { seed: Seed::demo(), ..SimConfig::default() }).await?;
//! let qyapi = sim.role_url(Role::Qyapi); // http://127.0.0.1:PORT/qyapi
//! sim.state().advance_clock(7200);        // expire every token
//! sim.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! Module map: [`role`] (routing), `api` (Tencent endpoints: `mp` + `sns` + `media` =
//! api.weixin.qq.com; `work` + `message` + `identity` + `suite` + `crm` = qyapi), `pages`
//! (OAuth, web-login and install pages of the `open` / `login` roles), [`callback`] (the
//! callback sender and the actions that push), `control` (`/sim`), [`state`] (world:
//! accounts, corps with their directory, tokens, identity codes, suites), [`seed`],
//! [`clock`], [`faults`], [`limits`], [`reqlog`], [`inbox`], [`net`] (listener able to drop
//! connections).

mod api;
pub mod callback;
pub mod clock;
pub mod config;
mod control;
pub mod error;
pub mod faults;
pub mod inbox;
pub mod limits;
pub mod net;
mod pages;
pub mod reqlog;
pub mod role;
pub mod seed;
pub mod state;
mod util;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use callback::{
    ActionError, CallbackConfig, CallbackMode, PassiveReply, PushError, PushEvent, PushOutcome,
    PushRequest, PushStatus, SelectedItem, SubscribeChoice, UrlVerification,
};
pub use config::{SimConfig, SimOptions};
pub use error::{SimError, WxError};
pub use faults::{FaultSpec, Times};
pub use inbox::InboxEntry;
pub use limits::{LimitRule, LimitScope, LimitsConfig};
pub use reqlog::{RequestFilter, RequestRecord, RequestSummary};
pub use role::Role;
pub use seed::{GenerateSpec, Seed, SeedError};
pub use state::{SimState, World};

/// The simulator's HTTP application over a shared state, for embedding in another server.
/// Caller IPs come from `ConnectInfo<SocketAddr>` when the server provides it.
pub fn router(state: Arc<SimState>) -> Router {
    control::routes().fallback(api::tencent).with_state(state)
}

/// A running simulator. Dropping it stops the server (without waiting).
#[derive(Debug)]
pub struct Simulator {
    addr: SocketAddr,
    state: Arc<SimState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    scheduler: Option<JoinHandle<()>>,
}

impl Simulator {
    /// Builds the world from `config.seed` and starts serving on `config.listen`.
    pub async fn start(config: SimConfig) -> Result<Simulator, SimError> {
        let SimConfig {
            listen,
            seed,
            limits,
            options,
        } = config;
        let state = tokio::task::spawn_blocking(move || SimState::new(seed, limits, options))
            .await
            .map_err(|e| SimError::Server(e.to_string()))??;
        Self::start_with_state(listen, Arc::new(state)).await
    }

    /// Starts serving an existing state (e.g. one shared with another listener).
    pub async fn start_with_state(
        listen: SocketAddr,
        state: Arc<SimState>,
    ) -> Result<Simulator, SimError> {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| SimError::Bind {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: listen,
            source,
        })?;
        let app = router(Arc::clone(&state));
        let (stop, stopped) = oneshot::channel::<()>();
        let listener = net::SimListener(listener);
        let task = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<net::SimConn>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
        });
        tracing::info!(%addr, "wxsim listening");
        let tick = state.options().scheduler_tick_ms;
        let scheduler = (tick > 0).then(|| {
            let state = Arc::clone(&state);
            tokio::spawn(async move {
                let mut interval = tokio::time::interval(Duration::from_millis(tick));
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    interval.tick().await;
                    state.run_schedules().await;
                }
            })
        });
        Ok(Simulator {
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
            scheduler,
        })
    }

    /// Registers a callback URL (see [`CallbackConfig`]).
    pub fn register_callback(&self, cfg: CallbackConfig) -> Result<CallbackConfig, ActionError> {
        self.state.register_callback(cfg)
    }

    /// Performs an action and pushes it to the registered callback URL.
    pub async fn push(&self, req: PushRequest) -> Result<PushOutcome, ActionError> {
        self.state.push(req).await
    }

    /// "User `user` sends text `content` to `account`" (appid or `corpid/agentid`).
    pub async fn push_text(
        &self,
        account: &str,
        user: &str,
        content: &str,
    ) -> Result<PushOutcome, ActionError> {
        self.state.push_text(account, user, content).await
    }

    /// An event from a user (click, follow, card press...).
    pub async fn push_event(
        &self,
        account: &str,
        user: &str,
        event: PushEvent,
    ) -> Result<PushOutcome, ActionError> {
        self.state.push_event(account, user, event).await
    }

    /// Pushes a fresh suite_ticket to the suite's command URL now.
    pub async fn push_suite_ticket(&self, suite_id: &str) -> Result<PushOutcome, ActionError> {
        self.state.push_suite_ticket(suite_id).await
    }

    /// The back-office "save" step: URL verification GET.
    pub async fn verify_url(&self, account: &str) -> Result<UrlVerification, ActionError> {
        self.state.verify_url(account).await
    }

    /// Non-interactive OAuth / web login: the code a browser would carry back after `user`
    /// (openid or userid) logged in through `authorize_url` (an `open.weixin.qq.com`
    /// authorize URL or a WeCom login URL, on this simulator or with Tencent's host).
    /// Returns the full redirect target (`redirect_uri?code=...&state=...`).
    pub async fn oauth_login(&self, authorize_url: &str, user: &str) -> Result<String, SimError> {
        let (path_and_query, host_role) = split_tencent_url(authorize_url);
        let base = match host_role {
            Some(role) => self.role_url(role),
            None => self.url(),
        };
        let sep = if path_and_query.contains('?') {
            '&'
        } else {
            '?'
        };
        let url = format!(
            "{base}{path_and_query}{sep}sim_user={}",
            form_urlencoded::byte_serialize(user.as_bytes()).collect::<String>()
        );
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| SimError::Server(e.to_string()))?;
        let resp = client
            .get(&url)
            .send()
            .await
            .map_err(|e| SimError::Server(e.to_string()))?;
        let page_error = resp
            .headers()
            .get("X-Sim-Error")
            .map(|v| v.to_str().unwrap_or("?").to_owned());
        if let Some(code) = page_error {
            let body = resp.text().await.unwrap_or_default();
            return Err(SimError::Page(format!(
                "{code}: {}",
                body.split("<p>")
                    .nth(1)
                    .unwrap_or("")
                    .split("</p>")
                    .next()
                    .unwrap_or("")
            )));
        }
        resp.headers()
            .get(http::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| SimError::Page(format!("no redirect from {url}")))
    }

    /// "User `openid` logs in to Mini Program `appid`": a `wx.login` code for
    /// `sns/jscode2session` (5 minutes, single use). Unknown users are created.
    pub fn mp_login(&self, appid: &str, openid: &str) -> Result<String, SimError> {
        api::sns::mp_code(&self.state, appid, openid, false).map_err(SimError::Page)
    }

    /// A `getPhoneNumber` code for `wxa/business/getuserphonenumber`.
    pub fn mp_phone_code(&self, appid: &str, openid: &str) -> Result<String, SimError> {
        api::sns::mp_code(&self.state, appid, openid, true).map_err(SimError::Page)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL, e.g. `http://127.0.0.1:41234` (control API under `/sim`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Base URL of one role, e.g. `http://127.0.0.1:41234/qyapi`; append Tencent paths
    /// (`/cgi-bin/gettoken`) to it.
    pub fn role_url(&self, role: Role) -> String {
        format!("{}{}", self.url(), role.prefix())
    }

    /// The shared state, to inspect or change the world directly.
    pub fn state(&self) -> &Arc<SimState> {
        &self.state
    }

    /// Stops accepting connections and waits (up to 5 s) for open ones to finish.
    pub async fn shutdown(mut self) -> Result<(), SimError> {
        if let Some(s) = self.scheduler.take() {
            s.abort();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(Duration::from_secs(5), &mut task).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(SimError::Server(e.to_string())),
            Ok(Err(e)) => Err(SimError::Server(e.to_string())),
            Err(_) => {
                task.abort();
                Ok(())
            }
        }
    }
}

/// Splits `https://open.weixin.qq.com/connect/...` into the path+query and its role; other
/// URLs (already on the simulator) keep their path with prefix.
fn split_tencent_url(url: &str) -> (String, Option<Role>) {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let path = path.split('#').next().unwrap_or(path).to_owned();
    match Role::from_host(host) {
        Some(role) => (path, Some(role)),
        None => (path, None),
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(s) = self.scheduler.take() {
            s.abort();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
