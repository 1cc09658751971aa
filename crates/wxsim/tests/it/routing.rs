//! Host-header routing vs path-prefix routing, the control API, the inbox page, shutdown.

use serde_json::json;
use wxsim::{Role, Seed, SimConfig, Simulator};

use crate::helpers::{Env, errcode};

#[tokio::test]
async fn host_header_selects_the_role() {
    let env = Env::demo().await;
    let q = format!(
        "corpid={}&corpsecret={}",
        env.corpid(),
        env.contacts_secret()
    );
    // no prefix, Tencent host
    let url = format!("{}/cgi-bin/gettoken?{q}", env.sim.url());
    let v: serde_json::Value = env
        .http
        .get(&url)
        .header("Host", "qyapi.weixin.qq.com")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(errcode(&v), 0, "{v}");
    let via_host = v["access_token"].as_str().unwrap().to_owned();
    // same path, OA host: not an OA endpoint
    let resp = env
        .http
        .get(&url)
        .header("Host", "api.weixin.qq.com")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(errcode(&v), 48001);
    // prefix routing reaches the same world
    let v = env
        .get(&format!(
            "{}/cgi-bin/gettoken?{q}",
            env.sim.role_url(Role::Qyapi)
        ))
        .await;
    assert_eq!(v["access_token"], via_host.as_str());
    // neither prefix nor Tencent host
    let resp = env.http.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    // OA via Host header, WeCom-style content types differ
    let oa = format!(
        "{}/cgi-bin/token?grant_type=client_credential&appid={}&secret={}",
        env.sim.url(),
        env.appid(),
        env.oa_secret()
    );
    let resp = env
        .http
        .get(&oa)
        .header("Host", "api.weixin.qq.com:443")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["content-type"],
        "application/json; encoding=utf-8"
    );
    let v: serde_json::Value = resp.json().await.unwrap();
    assert!(v["access_token"].is_string());
    // control API is reachable whatever the Host
    let resp = env
        .http
        .get(format!("{}/sim/state", env.sim.url()))
        .header("Host", "qyapi.weixin.qq.com")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // unknown endpoint under a prefix
    let resp = env.http.get(env.qy("/cgi-bin/nope")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(errcode(&v), 48002);
    assert_eq!(env.sim.state().count_requests("/cgi-bin/nope", None), 1);
}

#[tokio::test]
async fn control_state_seed_clock_and_inbox_page() {
    let env = Env::demo().await;
    let v = env.get(&env.ctl("/sim")).await;
    assert_eq!(v["roles"]["qyapi"], env.sim.role_url(Role::Qyapi));
    let v = env.get(&env.ctl("/sim/state")).await;
    assert_eq!(v["corps"][0]["members"], 10);
    assert_eq!(v["official_accounts"][0]["followers"], 9);
    // deliver something and look at the page
    let t = env.app_token(1_000_002).await;
    let body = json!({"touser": "lisi", "msgtype": "text", "agentid": 1_000_002, "text": {"content": "<script>x</script>你好"}});
    env.post(
        &format!("{}?access_token={t}", env.qy("/cgi-bin/message/send")),
        &body,
    )
    .await;
    let html = env
        .http
        .get(env.ctl("/sim/inbox.html?user=lisi"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("你好") && html.contains("&lt;script&gt;"),
        "{html}"
    );
    let index = env
        .http
        .get(env.ctl("/sim/inbox.html"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(index.contains("inbox.html?user=lisi"));
    assert_eq!(env.get(&env.ctl("/sim/inbox")).await["users"]["lisi"], 1);
    // clock
    let before = env.get(&env.ctl("/sim/clock")).await["now"]
        .as_i64()
        .unwrap();
    env.advance(3600).await;
    let after = env.get(&env.ctl("/sim/clock")).await["now"]
        .as_i64()
        .unwrap();
    assert!((3599..=3601).contains(&(after - before)));
    // reseed: generated, then a TOML body
    let v = env
        .post(
            &env.ctl("/sim/seed?generate=members=50,departments=5,fans=7,seed=3"),
            &json!({}),
        )
        .await;
    assert_eq!(v["state"]["corps"][0]["members"], 50, "{v}");
    assert_eq!(v["state"]["official_accounts"][0]["fans"], 7);
    assert_eq!(
        env.get(&env.ctl("/sim/inbox")).await["users"],
        json!({}),
        "reseeding empties inboxes"
    );
    let toml = Seed::demo().to_toml().unwrap();
    let v: serde_json::Value = env
        .http
        .post(env.ctl("/sim/seed"))
        .header("Content-Type", "application/toml")
        .body(toml)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["state"]["corps"][0]["members"], 10, "{v}");
    let v = env
        .post(
            &env.ctl("/sim/seed"),
            &json!({"corps": [{"corpid": "ww1", "departments": [{"id": 2, "parentid": 9}]}]}),
        )
        .await;
    assert_eq!(v["errcode"], 40035, "inconsistent seed refused: {v}");
}

#[tokio::test]
async fn start_and_shutdown() {
    let sim = Simulator::start(SimConfig {
        seed: Seed::default(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let url = sim.url();
    assert!(url.starts_with("http://127.0.0.1:"));
    assert_eq!(sim.role_url(Role::Open), format!("{url}/open"));
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(format!("{url}/sim/state"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    sim.shutdown().await.unwrap();
    assert!(client.get(format!("{url}/sim/state")).send().await.is_err());
}
