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
//! Module map: [`role`] (routing), [`api`] (Tencent endpoints: `mp` = api.weixin.qq.com,
//! `work` + `message` = qyapi), [`control`] (`/sim`), [`state`] (world: accounts, corps with
//! their directory, tokens), [`seed`], [`clock`], [`faults`], [`limits`], [`reqlog`],
//! [`inbox`].

mod api;
pub mod clock;
pub mod config;
mod control;
pub mod error;
pub mod faults;
pub mod inbox;
pub mod limits;
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
        let task = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
        });
        tracing::info!(%addr, "wxsim listening");
        Ok(Simulator {
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
        })
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

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
