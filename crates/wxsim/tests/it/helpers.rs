//! A started simulator plus a client and shortcuts for the demo seed's credentials.

use serde_json::Value;
use wxsim::{Role, Seed, SimConfig, Simulator};

pub struct Env {
    pub sim: Simulator,
    pub http: reqwest::Client,
    pub seed: Seed,
}

impl Env {
    /// The demo seed with realistic limits.
    pub async fn demo() -> Env {
        Self::with_seed(Seed::demo()).await
    }

    pub async fn with_seed(seed: Seed) -> Env {
        Self::with_config(SimConfig {
            seed,
            ..SimConfig::default()
        })
        .await
    }

    /// The demo seed with a 300 ms callback timeout and no background scheduler.
    pub async fn fast() -> Env {
        Self::with_config(SimConfig {
            options: fast_options(),
            ..SimConfig::default()
        })
        .await
    }

    pub async fn with_config(config: SimConfig) -> Env {
        let seed = config.seed.clone();
        let sim = Simulator::start(config).await.expect("simulator starts");
        Env {
            sim,
            http: reqwest::Client::new(),
            seed,
        }
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}{path}", self.sim.role_url(Role::Api))
    }

    pub fn qy(&self, path: &str) -> String {
        format!("{}{path}", self.sim.role_url(Role::Qyapi))
    }

    pub fn ctl(&self, path: &str) -> String {
        format!("{}{path}", self.sim.url())
    }

    pub async fn get(&self, url: &str) -> Value {
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn post(&self, url: &str, body: &Value) -> Value {
        self.http
            .post(url)
            .json(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn delete(&self, url: &str) -> Value {
        self.http
            .delete(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub fn appid(&self) -> &str {
        &self.seed.official_accounts[0].appid
    }

    pub fn oa_secret(&self) -> &str {
        &self.seed.official_accounts[0].secret
    }

    pub fn corpid(&self) -> &str {
        &self.seed.corps[0].corpid
    }

    pub fn contacts_secret(&self) -> &str {
        &self.seed.corps[0].contacts.as_ref().unwrap().secret
    }

    pub fn app_secret(&self, agentid: u32) -> &str {
        &self.seed.corps[0]
            .apps
            .iter()
            .find(|a| a.agentid == agentid)
            .unwrap()
            .secret
    }

    /// A fresh OA token via `cgi-bin/token`.
    pub async fn oa_token(&self) -> String {
        let url = format!(
            "{}?grant_type=client_credential&appid={}&secret={}",
            self.api("/cgi-bin/token"),
            self.appid(),
            self.oa_secret()
        );
        let v = self.get(&url).await;
        v["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("token: {v}"))
            .to_owned()
    }

    /// A WeCom token for one of the demo corp's secrets.
    pub async fn corp_token(&self, secret: &str) -> String {
        let v = self.get(&self.gettoken_url(self.corpid(), secret)).await;
        assert_eq!(v["errcode"], 0, "{v}");
        v["access_token"].as_str().unwrap().to_owned()
    }

    pub fn gettoken_url(&self, corpid: &str, secret: &str) -> String {
        format!(
            "{}?corpid={corpid}&corpsecret={secret}",
            self.qy("/cgi-bin/gettoken")
        )
    }

    pub async fn contacts_token(&self) -> String {
        let s = self.contacts_secret().to_owned();
        self.corp_token(&s).await
    }

    pub async fn app_token(&self, agentid: u32) -> String {
        let s = self.app_secret(agentid).to_owned();
        self.corp_token(&s).await
    }

    pub async fn advance(&self, secs: i64) {
        let v = self
            .post(
                &self.ctl("/sim/clock"),
                &serde_json::json!({"advance_secs": secs}),
            )
            .await;
        assert_eq!(v["errcode"], 0, "{v}");
    }
}

pub fn fast_options() -> wxsim::SimOptions {
    wxsim::SimOptions {
        callback_timeout_ms: 300,
        scheduler_tick_ms: 0,
        ..wxsim::SimOptions::default()
    }
}

/// A client that does not follow redirects.
pub fn no_redirect() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A query parameter of a URL.
pub fn query_param(url: &str, key: &str) -> Option<String> {
    let q = url.split_once('?')?.1.split('#').next()?;
    form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

pub fn errcode(v: &Value) -> i64 {
    v["errcode"].as_i64().unwrap_or(0)
}
