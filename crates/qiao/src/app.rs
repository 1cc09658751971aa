//! Assembling and running the application: storage, secrets, state and the HTTP server.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::callback::ReceiverCache;
use crate::callback::writer::InboxWriter;
use crate::config::{Config, redact_url};
use crate::console::throttle::LoginThrottle;
use crate::gateway::Gateway;
use crate::replies::RuleCache;
use crate::secrets::{KeySource, Sealer, load_or_create_master_key, verify_master_key};
use crate::store::Store;
use crate::webhooks::{self, Dispatcher};
use crate::{http, telemetry};

/// Everything a request handler may need. One shared allocation: axum clones the state for
/// every request, and a clone is then one atomic increment instead of one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub config: Arc<Config>,
    pub store: Store,
    pub sealer: Sealer,
    pub metrics: PrometheusHandle,
    pub login_throttle: Arc<LoginThrottle>,
    /// Callback receivers ready for the hot path.
    pub receivers: Arc<ReceiverCache>,
    /// The group-commit writer of the callback inbox.
    pub inbox: InboxWriter,
    /// Every channel's connection to WeChat: clients and shared tokens.
    pub gateway: Arc<Gateway>,
    /// The webhook dispatcher's HTTP client and wake-up signal.
    pub webhooks: Dispatcher,
    /// The compiled auto-reply rules per channel (callback path), invalidated by every change.
    pub reply_rules: Arc<RuleCache>,
}

/// Opens the database (creating the data directory for SQLite), migrates it, and loads and
/// checks the master key.
pub async fn open_state(config: Config) -> anyhow::Result<(AppState, KeySource)> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    let store = Store::open(&config.database_url).await.with_context(|| {
        format!(
            "cannot open the database {}",
            redact_url(&config.database_url)
        )
    })?;
    let (key, source) = load_or_create_master_key(&config)?;
    let key = verify_master_key(&store, key, &source).await?;
    let webhooks = Dispatcher::new().context("cannot build the webhook HTTP client")?;
    let inbox = InboxWriter::start(&store, webhooks.clone())
        .await
        .context("cannot open the inbox writer's database connection")?;
    let gateway = Gateway::new(
        store.clone(),
        Sealer::new(key.clone()),
        crate::gateway::retry_policy(&config),
    )
    .context("cannot build the WeChat HTTP client")?;
    let state = AppState(Arc::new(Shared {
        config: Arc::new(config),
        sealer: Sealer::new(key),
        metrics: telemetry::metrics_handle(),
        login_throttle: Arc::default(),
        receivers: Arc::default(),
        inbox,
        store,
        webhooks,
        gateway: Arc::new(gateway),
        reply_rules: Arc::default(),
    }));
    Ok((state, source))
}

/// A server running in the background (used by `serve`, `demo` and the tests).
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
    jobs: Vec<JoinHandle<()>>,
}

impl RunningServer {
    /// Binds `state.config.listen`, starts serving, and starts the background jobs.
    ///
    /// Jobs: the webhook dispatcher ([`webhooks::spawn`]). Each is a task that stops with the
    /// shutdown token; [`RunningServer::stop`] waits for them before closing the database.
    pub async fn start(state: AppState) -> anyhow::Result<Self> {
        let mut server = Self::start_without_jobs(state).await?;
        server.jobs.push(webhooks::spawn(
            server.state.clone(),
            server.shutdown.clone(),
        ));
        Ok(server)
    }

    /// Serves without the background jobs (tests drive them step by step instead).
    pub async fn start_without_jobs(state: AppState) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(state.config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", state.config.listen))?;
        let addr = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        let app = http::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let token = shutdown.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { token.cancelled().await })
                .await
        });
        Ok(Self {
            addr,
            state,
            shutdown,
            task,
            jobs: Vec::new(),
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets in-flight requests finish, and closes the database.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.task.await??;
        for job in self.jobs {
            let _ = job.await;
        }
        self.state.store.close().await;
        Ok(())
    }

    /// Serves until Ctrl-C or SIGTERM, then shuts down gracefully.
    pub async fn run_until_signal(self) -> anyhow::Result<()> {
        shutdown_signal().await;
        tracing::info!("shutting down");
        self.stop().await
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
