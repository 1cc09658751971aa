//! Shared fixtures: the demo world's credentials, a simulator, clients and callers wired to
//! the simulator clock.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use url::Url;
use wx::api::{HttpClient, OaClient, WorkClient};
use wx::token::{
    AppTokenMode, Caller, Clock, MemoryTokenStore, RetryPolicy, TokenConfig, TokenEvent,
    TokenSource, TokenStore, keys,
};
use wxsim::{Role, SimConfig, Simulator};

pub const OA_APPID: &str = "wx3f9c2a7b1e5d8046";
pub const OA_SECRET: &str = "6d1f8a3c5e7b9d2f4a6c8e0b1d3f5a7c";
pub const MP_APPID: &str = "wx7b2e4d6f8a0c1e39";
pub const MP_SECRET: &str = "a1c3e5f7b9d0f2a4c6e8b0d2f4a6c8e0";
pub const CORP: &str = "ww8f3a21c5d9e07b46";
pub const CONTACTS_SECRET: &str = "contacts-9b1e5c7a3d2f40e8b6a1c3d5e7f90a2b4c6d8e0f1a";
pub const APP_SECRET: &str = "app-notify-3c5e7a9b1d2f4068a0c2e4f6b8d0a1c3e5f7a9b";
pub const AGENT: i64 = 1_000_002;
pub const APP_CRED: &str = "ww8f3a21c5d9e07b46/1000002";
pub const CONTACTS_CRED: &str = "ww8f3a21c5d9e07b46/contacts";
pub const TEMPLATE: &str = "tmpl-order-status-0001";

/// The n-th demo follower (0..=8 follow, 9 does not).
pub fn fan(n: usize) -> String {
    format!("oJqBd6{:022}", 1_000 + n)
}

pub async fn sim() -> Simulator {
    Simulator::start(SimConfig::default())
        .await
        .expect("simulator starts")
}

pub fn http() -> HttpClient {
    HttpClient::new().expect("http client")
}

pub fn url(s: &str) -> Url {
    Url::parse(s).expect("url")
}

pub fn oa_client(sim: &Simulator) -> OaClient {
    OaClient::new(http(), url(&sim.role_url(Role::Api)))
}

pub fn work_client(sim: &Simulator) -> WorkClient {
    WorkClient::new(http(), url(&sim.role_url(Role::Qyapi)))
}

/// The simulator's clock as a token clock (advancing it expires our tokens too).
pub fn sim_clock(sim: &Simulator) -> Arc<dyn Clock> {
    let state = Arc::clone(sim.state());
    Arc::new(move || state.clock().now_ms())
}

pub fn store(sim: &Simulator) -> Arc<MemoryTokenStore> {
    Arc::new(MemoryTokenStore::new().with_clock(sim_clock(sim)))
}

/// Millisecond back-offs so policy tests take no time.
pub fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(4),
        max_elapsed: Duration::from_secs(30),
    }
}

pub type Events = Arc<Mutex<Vec<TokenEvent>>>;

pub fn events() -> Events {
    Arc::new(Mutex::new(Vec::new()))
}

pub fn sink(events: &Events) -> wx::token::EventSink {
    let e = Arc::clone(events);
    Arc::new(move |ev: &TokenEvent| e.lock().unwrap().push(ev.clone()))
}

pub fn oa_source(
    sim: &Simulator,
    oa: &OaClient,
    mode: AppTokenMode,
    store: Arc<dyn TokenStore>,
    events: &Events,
) -> Arc<TokenSource> {
    Arc::new(
        TokenSource::official_account(keys::oa(OA_APPID), oa, OA_APPID, OA_SECRET, mode, store)
            .with_clock(sim_clock(sim))
            .with_events(sink(events)),
    )
}

pub fn work_source(
    sim: &Simulator,
    client: &WorkClient,
    secret: &str,
    name: &str,
    store: Arc<dyn TokenStore>,
    events: &Events,
) -> Arc<TokenSource> {
    Arc::new(
        TokenSource::work(keys::work(CORP, name), client, CORP, secret, store)
            .with_clock(sim_clock(sim))
            .with_events(sink(events))
            .with_config(TokenConfig::default()),
    )
}

pub fn caller(source: Arc<TokenSource>) -> Caller {
    Caller::new(source).with_policy(fast_policy())
}

/// A caller for the demo OA (stable_token) and its client.
pub fn oa_caller(sim: &Simulator, mode: AppTokenMode) -> (OaClient, Caller, Events) {
    let oa = oa_client(sim);
    let ev = events();
    let source = oa_source(sim, &oa, mode, store(sim), &ev);
    (oa, caller(source), ev)
}

/// A caller for a demo WeCom secret and its client.
pub fn work_caller(sim: &Simulator, secret: &str, name: &str) -> (WorkClient, Caller, Events) {
    let client = work_client(sim);
    let ev = events();
    let source = work_source(sim, &client, secret, name, store(sim), &ev);
    (client, caller(source), ev)
}

pub fn count(sim: &Simulator, path: &str, credential: &str) -> usize {
    sim.state().count_requests(path, Some(credential))
}
