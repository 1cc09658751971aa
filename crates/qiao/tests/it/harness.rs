//! The test harness: a fresh database per test on SQLite or PostgreSQL, Qiao started on a
//! random port, the `qiao` binary run as a process, and the leak check over everything seen.
//!
//! PostgreSQL is at `QIAO_TEST_PG` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! each test creates its own database and drops it afterwards (`QIAO_TEST_KEEP_DB=1` keeps
//! it). When PostgreSQL is unreachable, PG tests fail under `CI=true` and are skipped with a
//! message otherwise.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};

use qiao::app::{AppState, RunningServer, open_state};
use qiao::config::{Config, LogFormat};
use qiao::secrets::MasterKey;
use sqlx::Connection;
use tempfile::TempDir;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database that lives as long as the test.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    pub dir: TempDir,
    pg_name: Option<String>,
}

fn pg_admin_url() -> String {
    std::env::var("QIAO_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

impl TestDb {
    /// `None` when PostgreSQL is wanted but unreachable outside CI.
    pub async fn new(backend: Backend) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", dir.path().join("qiao.db").display());
                Some(Self {
                    backend,
                    url,
                    dir,
                    pg_name: None,
                })
            }
            Backend::Postgres => {
                let admin = pg_admin_url();
                let mut conn = match sqlx::PgConnection::connect(&admin).await {
                    Ok(conn) => conn,
                    Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
                        eprintln!("skipping a PostgreSQL test: {admin} is unreachable ({e})");
                        return None;
                    }
                    Err(e) => panic!("PostgreSQL at {admin} is unreachable: {e}"),
                };
                let name = format!("qiao_t_{}", uuid::Uuid::new_v4().simple());
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let mut url = url::Url::parse(&admin).expect("QIAO_TEST_PG is a URL");
                url.set_path(&name);
                Some(Self {
                    backend,
                    url: url.to_string(),
                    dir,
                    pg_name: Some(name),
                })
            }
        }
    }

    async fn destroy(&self) {
        let Some(name) = &self.pg_name else { return };
        if std::env::var("QIAO_TEST_KEEP_DB").as_deref() == Ok("1") {
            eprintln!("keeping test database {name}");
            return;
        }
        if let Ok(mut conn) = sqlx::PgConnection::connect(&pg_admin_url()).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
        }
    }

    /// A configuration for a node on this database, listening on a random port.
    pub fn config(&self, master_key: &MasterKey) -> Config {
        Config {
            data_dir: self.dir.path().to_path_buf(),
            database_url: self.url.clone(),
            listen: "127.0.0.1:0".parse().expect("addr"),
            external_url: None,
            public_egress_ip: None,
            master_key: Some(master_key.to_base64()),
            log_format: LogFormat::Pretty,
            log_level: "warn".into(),
            callback_freshness_secs: 300,
            wechat_retry_max_delay_ms: 5_000,
            wechat_retry_budget_ms: 15_000,
        }
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }
}

/// Runs `body` on a fresh database of `backend`, then drops the database even if the body
/// panicked (the panic is then re-raised).
pub async fn with_db<F, Fut>(backend: Backend, body: F)
where
    F: FnOnce(Arc<TestDb>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let db = Arc::new(db);
    let outcome = tokio::spawn(body(db.clone())).await;
    db.destroy().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Declares one test per backend from one body: `store_test!(name, |db| async move { … })`.
#[macro_export]
macro_rules! store_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::harness::with_db($crate::harness::Backend::Sqlite, $body).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::harness::with_db($crate::harness::Backend::Postgres, $body).await;
            }
        }
    };
}

/// Collects every secret a test configured and everything the system under test said, and
/// fails when a secret shows up where it should not.
#[derive(Clone, Default)]
pub struct LeakCheck {
    inner: Arc<Mutex<LeakState>>,
}

#[derive(Default)]
struct LeakState {
    secrets: Vec<String>,
    seen: Vec<(String, String)>,
}

impl LeakCheck {
    pub fn secret(&self, value: impl Into<String>) {
        let value = value.into();
        if !value.is_empty() {
            self.inner.lock().unwrap().secrets.push(value);
        }
    }

    /// Records text the system produced (`what` says where it came from).
    pub fn saw(&self, what: impl Into<String>, text: impl Into<String>) {
        self.inner
            .lock()
            .unwrap()
            .seen
            .push((what.into(), text.into()));
    }

    /// The places where a secret appeared.
    pub fn leaks(&self) -> Vec<String> {
        let state = self.inner.lock().unwrap();
        let mut found = Vec::new();
        for (what, text) in &state.seen {
            for secret in &state.secrets {
                if text.contains(secret.as_str()) {
                    found.push(format!("{what} contains a secret"));
                }
            }
        }
        found
    }

    pub fn assert_clean(&self) {
        let leaks = self.leaks();
        assert!(leaks.is_empty(), "secrets leaked: {leaks:#?}");
    }
}

/// Qiao running in-process on a random port, with an HTTP client that records what it gets.
pub struct TestApp {
    pub server: RunningServer,
    pub config: Config,
    pub url: String,
    pub client: reqwest::Client,
    pub leaks: LeakCheck,
}

impl TestApp {
    pub async fn start(db: &TestDb) -> Self {
        Self::start_with(db, |_| {}).await
    }

    /// With the background jobs running (the webhook dispatcher), as `qiao serve` runs.
    pub async fn start_with_jobs(db: &TestDb) -> Self {
        Self::launch(db, |_| {}, true).await
    }

    /// Without background jobs: tests drive them step by step (`webhooks::dispatch_due`).
    pub async fn start_with(db: &TestDb, adjust: impl FnOnce(&mut Config)) -> Self {
        Self::launch(db, adjust, false).await
    }

    async fn launch(db: &TestDb, adjust: impl FnOnce(&mut Config), jobs: bool) -> Self {
        let master_key = MasterKey::generate();
        let mut config = db.config(&master_key);
        adjust(&mut config);
        let leaks = LeakCheck::default();
        leaks.secret(master_key.to_base64());
        let (state, _) = open_state(config.clone()).await.expect("open state");
        let state_config = config;
        let server = if jobs {
            RunningServer::start(state).await
        } else {
            RunningServer::start_without_jobs(state).await
        }
        .expect("start server");
        let url = server.url();
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            server,
            config: state_config,
            url,
            client,
            leaks,
        }
    }

    pub fn state(&self) -> &AppState {
        &self.server.state
    }

    /// GET `path`, recording the body for the leak check.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("GET");
        self.record(&format!("GET {path}"), response).await
    }

    pub async fn record(&self, what: &str, response: reqwest::Response) -> (u16, String) {
        let status = response.status().as_u16();
        let body = response.text().await.expect("body");
        self.leaks.saw(what, body.clone());
        (status, body)
    }

    /// Creates an API key with `scopes` directly in the store (registered with the leak check).
    pub async fn api_key(&self, scopes: &[qiao::auth::api_keys::Scope]) -> String {
        let store = &self.state().store;
        let mut tx = store.begin_write().await.expect("tx");
        let (_, key) = qiao::auth::api_keys::create_key(
            &mut tx,
            qiao::store::TenantId::DEFAULT,
            "test",
            scopes,
            "test",
            None,
            qiao::clock::now_ms(),
        )
        .await
        .expect("create key");
        tx.commit().await.expect("commit");
        self.leaks.secret(key.clone());
        key
    }

    /// Sends an API request with `key`, recording the response for the leak check.
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self
            .client
            .request(method.clone(), format!("{}/api/v1{path}", self.url));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("API request");
        let (status, text) = self.record(&format!("{method} {path}"), response).await;
        let json = if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
        };
        (status, json)
    }

    /// Stops this node and starts a new one on the same database, data directory and key
    /// (a restart).
    pub async fn restart(self) -> Self {
        let config = self.config.clone();
        let leaks = self.leaks.clone();
        leaks.assert_clean();
        self.server.stop().await.expect("stop");
        let (state, _) = open_state(config.clone()).await.expect("reopen");
        let server = RunningServer::start(state).await.expect("restart server");
        Self {
            url: server.url(),
            server,
            config,
            client: self.client,
            leaks,
        }
    }

    /// A GET of an endpoint whose purpose is to reveal a secret to an allowed caller: the
    /// response is not recorded for the leak check (the secrets in it are registered by the
    /// caller instead).
    pub async fn reveal(&self, path: &str, key: &str) -> (u16, serde_json::Value) {
        let response = self
            .client
            .get(format!("{}/api/v1{path}", self.url))
            .bearer_auth(key)
            .send()
            .await
            .expect("reveal request");
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// The current value of one metric series (`name{labels}` exactly as rendered), 0 when
    /// absent. The recorder is process-wide, so tests compare before and after.
    pub async fn metric(&self, series: &str) -> f64 {
        let (_, text) = self.get("/metrics").await;
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or(0.0)
    }

    pub async fn stop(self) {
        self.leaks.assert_clean();
        self.server.stop().await.expect("stop");
    }
}

/// The password of the console users tests add.
pub const PASSWORD: &str = "console test password";

/// Adds a console user with [`PASSWORD`] (registered with the leak check).
pub async fn add_user(app: &TestApp, name: &str, role: qiao::auth::Role) {
    let mut tx = app.state().store.begin_write().await.unwrap();
    qiao::auth::users::create_user(
        &mut tx,
        qiao::store::TenantId::DEFAULT,
        name,
        name,
        role,
        PASSWORD,
        qiao::clock::now_ms(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    app.leaks.secret(PASSWORD);
}

/// The value of the first hidden `_csrf` field of a page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

/// Logs in to the console through its form.
pub async fn login(app: &TestApp, user: &str, password: &str) -> (u16, String) {
    let (_, page) = app.get("/console/login").await;
    let response = app
        .client
        .post(format!("{}/console/login", app.url))
        .form(&[
            ("_csrf", csrf_of(&page).as_str()),
            ("username", user),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    app.record("POST /console/login", response).await
}

/// Posts a console form, recording the response for the leak check.
pub async fn post_form(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let response = app
        .client
        .post(format!("{}{path}", app.url))
        .form(fields)
        .send()
        .await
        .unwrap();
    app.record(&format!("POST {path}"), response).await
}

/// The text of the element carrying `data-testid="<id>"` (a reveal-once value, say).
pub fn testid_text(html: &str, id: &str) -> Option<String> {
    let marker = format!("data-testid=\"{id}\">");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..start + html[start..].find('<')?].to_string())
}

/// One request a [`Receiver`] got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Whether `X-Qiao-Signature` is right for `secret`, checked as a business system would,
    /// independently of Qiao's own code: `v1=` + hex HMAC-SHA256 over `"<timestamp>.<body>"`.
    pub fn signed_with(&self, secret: &str) -> bool {
        use hmac::{Hmac, KeyInit, Mac};
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
            .expect("HMAC takes any key length");
        mac.update(format!("{}.{}", self.header("x-qiao-timestamp"), self.body).as_bytes());
        self.header("x-qiao-signature")
            == format!("v1={}", hex::encode(mac.finalize().into_bytes()))
    }
}

/// Polls `check` until it gives a value, failing after `timeout` with `what`.
pub async fn eventually<T, F: Future<Output = Option<T>>>(
    what: &str,
    timeout: std::time::Duration,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[derive(Default)]
struct ReceiverState {
    requests: Vec<Received>,
    script: std::collections::VecDeque<u16>,
    always: Option<u16>,
    delay_ms: u64,
}

/// A business system's webhook endpoint on 127.0.0.1: records every request and answers
/// 200, or the statuses it is told to.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    state: Arc<Mutex<ReceiverState>>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Receiver {
    pub async fn start() -> Self {
        use axum::extract::State;
        async fn hook(
            State(state): State<Arc<Mutex<ReceiverState>>>,
            headers: axum::http::HeaderMap,
            body: axum::body::Bytes,
        ) -> axum::http::StatusCode {
            let (status, delay) = {
                let mut s = state.lock().unwrap();
                s.requests.push(Received {
                    headers,
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
                let status = s.script.pop_front().or(s.always).unwrap_or(200);
                (status, s.delay_ms)
            };
            if delay > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
            }
            axum::http::StatusCode::from_u16(status).unwrap()
        }
        let state = Arc::new(Mutex::new(ReceiverState::default()));
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url,
            state,
            task: Arc::new(task),
        }
    }

    /// The next requests get these statuses, in order; then the default.
    pub fn answer(&self, statuses: &[u16]) {
        self.state.lock().unwrap().script.extend(statuses);
    }

    /// Every request (after the scripted ones) gets `status`.
    pub fn answer_always(&self, status: u16) {
        self.state.lock().unwrap().always = Some(status);
    }

    /// Each answer waits this long.
    pub fn delay(&self, ms: u64) {
        self.state.lock().unwrap().delay_ms = ms;
    }

    pub fn requests(&self) -> Vec<Received> {
        self.state.lock().unwrap().requests.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

/// The `qiao` binary, run as its own process.
pub fn qiao_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_qiao"))
}

/// `qiao serve` as its own OS process on `db`'s database with `master_key`, listening on
/// 127.0.0.1:`port` with its own `data_dir`; killed (SIGKILL) when dropped.
pub fn spawn_serve(
    db: &TestDb,
    data_dir: &Path,
    master_key: &str,
    port: u16,
) -> tokio::process::Child {
    tokio::process::Command::new(qiao_bin())
        .args([
            "serve",
            "--data-dir",
            data_dir.to_str().expect("UTF-8 path"),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("QIAO_DATABASE_URL", &db.url)
        .env("QIAO_MASTER_KEY", master_key)
        .env("QIAO_LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn qiao serve")
}

/// Waits until the node at `url` answers `/readyz` (10 s at most).
pub async fn wait_ready(client: &reqwest::Client, url: &str) {
    eventually(
        &format!("{url} to be ready"),
        std::time::Duration::from_secs(10),
        || async {
            let response = client.get(format!("{url}/readyz")).send().await;
            response.is_ok_and(|r| r.status() == 200).then_some(())
        },
    )
    .await;
}

/// Runs `qiao args…` with a clean `QIAO_*` environment plus `env`, feeding `stdin`.
pub async fn run_qiao(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut cmd = tokio::process::Command::new(qiao_bin());
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, _) in std::env::vars() {
        if key.starts_with("QIAO_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("QIAO_LOG_FORMAT", "json");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn qiao");
    if let Some(input) = stdin {
        use tokio::io::AsyncWriteExt;
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(input.as_bytes()).await.expect("write stdin");
        drop(pipe);
    }
    child.wait_with_output().await.expect("qiao output")
}

/// Both output streams of a process, as text.
pub fn output_text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Every byte of the database as the backend stores it: the SQLite files, or a pg_dump.
pub async fn raw_database(db: &TestDb) -> Vec<u8> {
    match db.backend {
        Backend::Sqlite => {
            let mut bytes = Vec::new();
            for entry in std::fs::read_dir(db.data_dir()).unwrap() {
                let path = entry.unwrap().path();
                if path.to_string_lossy().contains("qiao.db") {
                    bytes.extend(std::fs::read(path).unwrap());
                }
            }
            bytes
        }
        Backend::Postgres => {
            let output = tokio::process::Command::new("pg_dump")
                .arg("--dbname")
                .arg(&db.url)
                .output()
                .await
                .expect("pg_dump runs");
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            output.stdout
        }
    }
}

// The console over HTTP: users, login, forms with their CSRF token.
