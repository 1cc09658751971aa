//! Token endpoints: OA rotation with grace, stable_token, WeCom per-secret tokens, expiry via
//! the clock, errors, control-side rotation.

use serde_json::json;

use crate::helpers::{Env, errcode};

#[tokio::test]
async fn oa_token_rotates_with_grace_window_and_expires() {
    let env = Env::demo().await;
    let t1 = env.oa_token().await;
    let users = |t: &str| format!("{}?access_token={t}", env.api("/cgi-bin/user/get"));
    assert_eq!(errcode(&env.get(&users(&t1)).await), 0);
    let t2 = env.oa_token().await;
    assert_ne!(t1, t2, "every cgi-bin/token call issues a new token");
    assert_eq!(
        errcode(&env.get(&users(&t1)).await),
        0,
        "old token valid inside the grace window"
    );
    env.advance(301).await;
    let v = env.get(&users(&t1)).await;
    assert_eq!(errcode(&v), 40001, "{v}");
    let msg = v["errmsg"].as_str().unwrap();
    assert!(
        msg.starts_with("invalid credential, access_token is invalid or not latest rid: "),
        "{msg}"
    );
    assert_eq!(errcode(&env.get(&users(&t2)).await), 0);
    env.advance(7200).await;
    let v = env.get(&users(&t2)).await;
    assert_eq!(errcode(&v), 42001, "{v}");
    let v = env.get(&users("made-up-token")).await;
    assert_eq!(errcode(&v), 40001);
    let v = env.get(&env.api("/cgi-bin/user/get")).await;
    assert_eq!(errcode(&v), 41001);
}

#[tokio::test]
async fn oa_token_success_shape_and_errors() {
    let env = Env::demo().await;
    let base = env.api("/cgi-bin/token");
    let ok = env
        .get(&format!(
            "{base}?grant_type=client_credential&appid={}&secret={}",
            env.appid(),
            env.oa_secret()
        ))
        .await;
    assert!(
        ok.get("errcode").is_none(),
        "cgi-bin/token omits errcode on success: {ok}"
    );
    assert_eq!(ok["expires_in"], 7200);
    let wrong_secret = env
        .get(&format!(
            "{base}?grant_type=client_credential&appid={}&secret=nope",
            env.appid()
        ))
        .await;
    assert_eq!(errcode(&wrong_secret), 40125);
    let wrong_appid = env
        .get(&format!(
            "{base}?grant_type=client_credential&appid=wx000&secret=nope"
        ))
        .await;
    assert_eq!(errcode(&wrong_appid), 40013);
    let bad_grant = env
        .get(&format!(
            "{base}?grant_type=x&appid={}&secret={}",
            env.appid(),
            env.oa_secret()
        ))
        .await;
    assert_eq!(errcode(&bad_grant), 40002);
    let no_appid = env
        .get(&format!("{base}?grant_type=client_credential&secret=x"))
        .await;
    assert_eq!(errcode(&no_appid), 41002);
    // Mini Programs use the same endpoint.
    let mp = &env.seed.mini_programs[0];
    let v = env
        .get(&format!(
            "{base}?grant_type=client_credential&appid={}&secret={}",
            mp.appid, mp.secret
        ))
        .await;
    assert!(v["access_token"].is_string(), "{v}");
    // ... but an MP token cannot read OA followers.
    let t = v["access_token"].as_str().unwrap();
    let v = env
        .get(&format!(
            "{}?access_token={t}",
            env.api("/cgi-bin/user/get")
        ))
        .await;
    assert_eq!(errcode(&v), 48001);
}

#[tokio::test]
async fn stable_token_semantics() {
    let env = Env::demo().await;
    let url = env.api("/cgi-bin/stable_token");
    let body = |force: bool| json!({"grant_type": "client_credential", "appid": env.appid(), "secret": env.oa_secret(), "force_refresh": force});
    let oa = env.oa_token().await;
    let a = env.post(&url, &body(false)).await;
    let b = env.post(&url, &body(false)).await;
    assert!(a.get("errcode").is_none(), "{a}");
    assert_eq!(
        a["access_token"], b["access_token"],
        "same token while valid"
    );
    let users = |t: &str| format!("{}?access_token={t}", env.api("/cgi-bin/user/get"));
    let sa = a["access_token"].as_str().unwrap().to_owned();
    assert_eq!(errcode(&env.get(&users(&sa)).await), 0);
    // forced within 30 s of issue: no refresh
    let f0 = env.post(&url, &body(true)).await;
    assert_eq!(f0["access_token"], a["access_token"]);
    env.advance(31).await;
    let f1 = env.post(&url, &body(true)).await;
    assert_ne!(f1["access_token"], a["access_token"]);
    assert_eq!(
        errcode(&env.get(&users(&sa)).await),
        40001,
        "forced refresh invalidates the old stable token"
    );
    assert_eq!(
        errcode(&env.get(&users(&oa)).await),
        0,
        "cgi-bin/token namespace untouched"
    );
    // last five minutes: rotates, old one still valid
    env.advance(7200 - 31 - 100).await;
    let late = env.post(&url, &body(false)).await;
    assert_ne!(late["access_token"], f1["access_token"]);
    let f1t = f1["access_token"].as_str().unwrap();
    assert_eq!(errcode(&env.get(&users(f1t)).await), 0);
    // errors
    let get = env.get(&url).await;
    assert_eq!(errcode(&get), 43002, "POST only");
    let wrong = env
        .post(
            &url,
            &json!({"grant_type": "client_credential", "appid": env.appid(), "secret": "x"}),
        )
        .await;
    assert_eq!(errcode(&wrong), 40125);
}

#[tokio::test]
async fn wecom_tokens_are_stable_per_secret_and_expire() {
    let mut seed = wxsim::Seed::demo();
    let mut other = seed.corps[0].clone();
    other.corpid = "ww0000000000000002".into();
    other.contacts.as_mut().unwrap().secret = "other-contacts".into();
    for a in &mut other.apps {
        a.secret = format!("other-{}", a.agentid);
    }
    seed.corps.push(other);
    let env = Env::with_seed(seed).await;
    let a = env.app_token(1_000_002).await;
    assert_eq!(
        env.app_token(1_000_002).await,
        a,
        "re-fetch returns the same token"
    );
    let c = env.contacts_token().await;
    assert_ne!(a, c, "one token per secret");
    let v = env.get(&env.gettoken_url("wwnope", "x")).await;
    assert_eq!(errcode(&v), 40013);
    let v = env
        .get(&env.gettoken_url(env.corpid(), "not-a-secret"))
        .await;
    assert_eq!(errcode(&v), 40001);
    let v = env
        .get(&env.gettoken_url(env.corpid(), "other-contacts"))
        .await;
    assert_eq!(errcode(&v), 40091, "another corp's secret");
    let v = env
        .get(&format!("{}?corpsecret=x", env.qy("/cgi-bin/gettoken")))
        .await;
    assert_eq!(errcode(&v), 41002);
    let dept = |t: &str| format!("{}?access_token={t}", env.qy("/cgi-bin/department/list"));
    assert_eq!(errcode(&env.get(&dept(&c)).await), 0);
    let v = env.get(&dept("bogus")).await;
    assert_eq!(errcode(&v), 40014, "{v}");
    let msg = v["errmsg"].as_str().unwrap();
    assert!(
        msg.contains(", hint: [")
            && msg.contains("from ip: 127.0.0.1")
            && msg.ends_with("query?e=40014"),
        "{msg}"
    );
    env.advance(7200).await;
    assert_eq!(errcode(&env.get(&dept(&c)).await), 42001);
    let c2 = env.contacts_token().await;
    assert_ne!(c, c2, "a new token after expiry");
    // An OA token is unknown on qyapi.
    let oa = env.oa_token().await;
    assert_eq!(errcode(&env.get(&dept(&oa)).await), 40014);
}

#[tokio::test]
async fn control_rotation_and_token_listing() {
    let env = Env::demo().await;
    let t = env.app_token(1_000_002).await;
    let cred = format!("{}/1000002", env.corpid());
    let v = env
        .post(&env.ctl("/sim/tokens/rotate"), &json!({"credential": cred}))
        .await;
    assert_eq!(v["errcode"], 0, "{v}");
    let new = v["tokens"][0]["token"].as_str().unwrap().to_owned();
    let list = |tok: &str| format!("{}?access_token={tok}", env.qy("/cgi-bin/department/list"));
    assert_eq!(
        errcode(&env.get(&list(&t)).await),
        40014,
        "WeCom rotation revokes at once by default"
    );
    assert_eq!(env.app_token(1_000_002).await, new);
    // OA: rotation keeps the grace window unless told otherwise.
    let oa = env.oa_token().await;
    let v = env
        .post(
            &env.ctl("/sim/tokens/rotate"),
            &json!({"credential": env.appid()}),
        )
        .await;
    let fresh = v["tokens"][0]["token"].as_str().unwrap().to_owned();
    let users = |tok: &str| format!("{}?access_token={tok}", env.api("/cgi-bin/user/get"));
    assert_eq!(errcode(&env.get(&users(&oa)).await), 0);
    env.post(
        &env.ctl("/sim/tokens/rotate"),
        &json!({"credential": env.appid(), "grace_secs": 0}),
    )
    .await;
    assert_eq!(errcode(&env.get(&users(&fresh)).await), 40001);
    let v = env
        .get(&format!(
            "{}?credential={}",
            env.ctl("/sim/tokens"),
            env.corpid()
        ))
        .await;
    assert_eq!(v["tokens"].as_array().unwrap().len(), 2);
    let v = env
        .post(
            &env.ctl("/sim/tokens/rotate"),
            &json!({"credential": "wx-nobody"}),
        )
        .await;
    assert_eq!(v["errcode"], 40035);
}
