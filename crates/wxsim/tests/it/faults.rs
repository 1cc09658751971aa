//! Fault injection, the request log, and frequency limits.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{Env, errcode};

#[tokio::test]
async fn injected_errcodes_are_counted_in_the_request_log() {
    let env = Env::demo().await;
    let corpid = env.corpid().to_owned();
    let v = env
        .post(&env.ctl("/sim/faults"), &json!({"path": "/cgi-bin/gettoken", "credential": corpid, "errcode": 45009, "times": 2}))
        .await;
    assert_eq!(v["errcode"], 0, "{v}");
    let url = env.gettoken_url(&corpid, env.app_secret(1_000_002));
    assert_eq!(errcode(&env.get(&url).await), 45009);
    assert_eq!(errcode(&env.get(&url).await), 45009);
    let ok = env.get(&url).await;
    assert_eq!(errcode(&ok), 0);
    // a call by another secret of the same corp, and a wrong one
    env.get(&env.gettoken_url(&corpid, env.contacts_secret()))
        .await;
    env.get(&env.gettoken_url(&corpid, "wrong")).await;
    let q = format!(
        "{}?path=/cgi-bin/gettoken&credential={corpid}/1000002",
        env.ctl("/sim/requests")
    );
    let v = env.get(&q).await;
    assert_eq!(v["total"], 3);
    assert_eq!(v["by_errcode"], json!({"0": 1, "45009": 2}));
    assert_eq!(v["requests"][0]["injected"], true);
    let v = env
        .get(&format!(
            "{}?path=/cgi-bin/gettoken&credential={corpid}",
            env.ctl("/sim/requests")
        ))
        .await;
    assert_eq!(v["total"], 5, "corpid matches all its secrets");
    assert_eq!(v["by_errcode"]["40001"], 1);
    assert_eq!(
        env.sim
            .state()
            .count_requests("/cgi-bin/gettoken", Some(&format!("{corpid}/contacts"))),
        1
    );
    // token-authenticated calls are attributed to the token's owner
    let t = ok["access_token"].as_str().unwrap();
    env.get(&format!(
        "{}?access_token={t}",
        env.qy("/cgi-bin/department/list")
    ))
    .await;
    let v = env
        .get(&format!(
            "{}?credential={corpid}/1000002&path=/cgi-bin/department/list",
            env.ctl("/sim/requests")
        ))
        .await;
    assert_eq!(v["total"], 1);
    assert_eq!(env.delete(&env.ctl("/sim/requests")).await["errcode"], 0);
    assert_eq!(env.get(&env.ctl("/sim/requests")).await["total"], 0);
}

#[tokio::test]
async fn http_status_latency_and_credential_wide_faults() {
    let env = Env::demo().await;
    let token = env.oa_token().await;
    let users = format!("{}?access_token={token}", env.api("/cgi-bin/user/get"));
    env.post(
        &env.ctl("/sim/faults"),
        &json!({"path": "/cgi-bin/user/get", "http_status": 503, "times": 1}),
    )
    .await;
    let resp = env.http.get(&users).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(errcode(&env.get(&users).await), 0, "times: 1");
    env.post(
        &env.ctl("/sim/faults"),
        &json!({"path": "/cgi-bin/user/get", "delay_ms": 300, "times": 1}),
    )
    .await;
    let start = Instant::now();
    assert_eq!(errcode(&env.get(&users).await), 0);
    assert!(start.elapsed() >= Duration::from_millis(300));
    // "this credential always answers -1"
    let v = env
        .post(
            &env.ctl("/sim/faults"),
            &json!({"credential": env.appid(), "errcode": -1, "times": "forever"}),
        )
        .await;
    let id = v["id"].as_u64().unwrap();
    assert_eq!(errcode(&env.get(&users).await), -1);
    let menu = format!("{}?access_token={token}", env.api("/cgi-bin/menu/get"));
    assert_eq!(errcode(&env.get(&menu).await), -1);
    let wecom = env.contacts_token().await;
    assert!(!wecom.is_empty(), "other credentials unaffected");
    let v = env
        .get(&format!("{}?errcode=-1", env.ctl("/sim/requests")))
        .await;
    assert_eq!(v["total"], 2);
    let v = env
        .get(&format!(
            "{}?path=/cgi-bin/user/get",
            env.ctl("/sim/requests")
        ))
        .await;
    assert_eq!(v["by_errcode"]["http_503"], 1);
    assert_eq!(
        env.delete(&env.ctl(&format!("/sim/faults/{id}"))).await["errcode"],
        0
    );
    assert_eq!(errcode(&env.get(&users).await), 0);
    // for_secs uses the simulator clock
    env.post(
        &env.ctl("/sim/faults"),
        &json!({"path": "*", "errcode": 40001, "for_secs": 60}),
    )
    .await;
    assert_eq!(errcode(&env.get(&users).await), 40001);
    env.advance(60).await;
    assert_eq!(errcode(&env.get(&users).await), 0);
    let v = env
        .post(&env.ctl("/sim/faults"), &json!({"path": "*"}))
        .await;
    assert_eq!(v["errcode"], 40035, "a fault needs an effect");
    assert_eq!(env.delete(&env.ctl("/sim/faults")).await["errcode"], 0);
    assert_eq!(env.get(&env.ctl("/sim/faults")).await["faults"], json!([]));
}

#[tokio::test]
async fn frequency_limits_are_configurable_and_switchable() {
    let env = Env::demo().await;
    let v = env
        .post(
            &env.ctl("/sim/limits"),
            &json!({"rules": [{"role": "qyapi", "path": "/cgi-bin/gettoken", "scope": "credential", "max": 3, "window_secs": 60, "errcode": 45009}]}),
        )
        .await;
    assert_eq!(v["limits"]["enabled"], true, "{v}");
    let url = env.gettoken_url(env.corpid(), env.contacts_secret());
    for _ in 0..3 {
        assert_eq!(errcode(&env.get(&url).await), 0);
    }
    let v = env.get(&url).await;
    assert_eq!(errcode(&v), 45009);
    assert!(
        v["errmsg"]
            .as_str()
            .unwrap()
            .starts_with("api freq out of limit")
    );
    let other = env.gettoken_url(env.corpid(), env.app_secret(1_000_002));
    assert_eq!(errcode(&env.get(&other).await), 0, "per credential");
    env.advance(60).await;
    assert_eq!(errcode(&env.get(&url).await), 0, "next window");
    env.post(&env.ctl("/sim/limits"), &json!({"enabled": false}))
        .await;
    for _ in 0..10 {
        assert_eq!(errcode(&env.get(&url).await), 0);
    }
    let v = env
        .post(&env.ctl("/sim/limits"), &json!({"preset": "realistic"}))
        .await;
    assert!(v["limits"]["rules"].as_array().unwrap().len() > 5);
}

#[tokio::test]
async fn oa_token_daily_quota_by_default() {
    let env = Env::demo().await;
    env.sim.state().with_limits(|l| {
        for r in &mut l.config.rules {
            if r.path == "/cgi-bin/token" {
                r.max = 5;
            }
        }
    });
    for _ in 0..5 {
        env.oa_token().await;
    }
    let url = format!(
        "{}?grant_type=client_credential&appid={}&secret={}",
        env.api("/cgi-bin/token"),
        env.appid(),
        env.oa_secret()
    );
    let v = env.get(&url).await;
    assert_eq!(errcode(&v), 45009);
    assert!(
        v["errmsg"]
            .as_str()
            .unwrap()
            .starts_with("reach max api daily quota limit rid: ")
    );
    env.sim.state().set_limits_enabled(false);
    assert_eq!(errcode(&env.get(&url).await), 0);
}
