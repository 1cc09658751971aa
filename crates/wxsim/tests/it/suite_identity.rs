//! Third-party identity: suite in-app OAuth and ServiceApp web login redeemed by
//! `service/auth/getuserinfo3rd` (+ `getuserdetail3rd`), and the provider website login
//! redeemed by `service/get_login_info`.

use serde_json::{Value, json};
use wxsim::{PushEvent, PushRequest};

use crate::helpers::{Env, errcode, query_param};

const SUITE: &str = "wwsuite5e7a9c1b3d4f6a80";
const SUITE_SECRET: &str = "suite-secret-2f4a6c8e0b1d3f5a7c9e1b3d5f7a9c0e2b4d6f8";
const PROVIDER: &str = "wwprov1a3c5e7b9d0f2a4c";
const PROVIDER_SECRET: &str = "provider-secret-8e0a2c4e6b8d0f1a3c5e7b9d1f3a5c7e9b0d2f4";
const CORP: &str = "ww8f3a21c5d9e07b46";
const REDIRECT: &str = "http%3A%2F%2F127.0.0.1%3A7000%2Fcb";

/// The demo corp installs the suite (marketplace, no command URL needed); returns the
/// suite token and the admin who installed.
async fn installed(env: &Env) -> (String, String) {
    let install = PushEvent::CreateAuth {
        corpid: CORP.into(),
        state: String::new(),
    };
    env.sim
        .push(PushRequest::new(SUITE, "", install))
        .await
        .unwrap();
    let out = env.sim.push_suite_ticket(SUITE).await.unwrap();
    let ticket = out.extra["suite_ticket"].clone();
    let v = env
        .post(
            &env.qy("/cgi-bin/service/get_suite_token"),
            &json!({"suite_id": SUITE, "suite_secret": SUITE_SECRET, "suite_ticket": ticket}),
        )
        .await;
    let token = v["suite_access_token"]
        .as_str()
        .expect("suite token")
        .to_owned();
    let installer = env
        .sim
        .state()
        .with_world(|w| w.suites[SUITE].auths[CORP].installer.clone());
    (token, installer)
}

/// The `code` of a login through `url` as `user`.
async fn code_of(env: &Env, url: &str, user: &str) -> String {
    let location = env.sim.oauth_login(url, user).await.unwrap();
    query_param(&location, "code").unwrap_or_else(|| panic!("no code in {location}"))
}

async fn userinfo3rd(env: &Env, path: &str, token: &str, code: &str) -> Value {
    env.get(&format!(
        "{}?suite_access_token={token}&code={code}",
        env.qy(path)
    ))
    .await
}

#[tokio::test]
async fn suite_oauth_and_service_app_login_name_the_member() {
    let env = Env::fast().await;
    let (st, _) = installed(&env).await;
    let oauth = format!(
        "https://open.weixin.qq.com/connect/oauth2/authorize?appid={SUITE}&redirect_uri={REDIRECT}&response_type=code&scope=snsapi_privateinfo&state=s1#wechat_redirect"
    );
    let code = code_of(&env, &oauth, "lisi").await;
    let v = userinfo3rd(&env, "/cgi-bin/service/auth/getuserinfo3rd", &st, &code).await;
    assert_eq!(errcode(&v), 0, "{v}");
    assert_eq!(v["corpid"], CORP);
    assert_eq!(v["userid"], "lisi");
    assert!(v["open_userid"].as_str().is_some_and(|o| !o.is_empty()));
    let ticket = v["user_ticket"].as_str().expect("consent gives a ticket");
    assert_eq!(
        errcode(&userinfo3rd(&env, "/cgi-bin/service/auth/getuserinfo3rd", &st, &code).await),
        40029,
        "codes are single use"
    );
    // The ticket reads the member back, without mobile or e-mail for a third party.
    let detail = env
        .post(
            &format!(
                "{}?suite_access_token={st}",
                env.qy("/cgi-bin/service/auth/getuserdetail3rd")
            ),
            &json!({"user_ticket": ticket}),
        )
        .await;
    assert_eq!(errcode(&detail), 0, "{detail}");
    assert_eq!(detail["corpid"], CORP);
    assert_eq!(detail["userid"], "lisi");
    assert!(detail.get("mobile").is_none() && detail.get("email").is_none());
    // A suite code is not the corp app's, and the corp app's code is not the suite's.
    let code = code_of(&env, &oauth, "lisi").await;
    let app = env.app_token(1_000_002).await;
    let v = env
        .get(&format!(
            "{}?access_token={app}&code={code}",
            env.qy("/cgi-bin/auth/getuserinfo")
        ))
        .await;
    assert_eq!(errcode(&v), 40029);
    let corp_oauth = format!(
        "https://open.weixin.qq.com/connect/oauth2/authorize?appid={CORP}&agentid=1000002&redirect_uri={REDIRECT}&response_type=code&scope=snsapi_base&state=s2"
    );
    let corp_code = code_of(&env, &corp_oauth, "lisi").await;
    assert_eq!(
        errcode(
            &userinfo3rd(
                &env,
                "/cgi-bin/service/auth/getuserinfo3rd",
                &st,
                &corp_code
            )
            .await
        ),
        40029
    );
    // Legacy path: capitalised fields.
    let code = code_of(&env, &oauth, "zhangsan").await;
    let v = userinfo3rd(&env, "/cgi-bin/service/getuserinfo3rd", &st, &code).await;
    assert_eq!(v["UserId"], "zhangsan", "{v}");
    assert_eq!(v["CorpId"], CORP);
    // ServiceApp web login: a code for the same exchange, without a ticket.
    let web = format!(
        "https://login.work.weixin.qq.com/wwlogin/sso/login?login_type=ServiceApp&appid={SUITE}&redirect_uri={REDIRECT}&state=w1"
    );
    let code = code_of(&env, &web, "zhangsan").await;
    let v = userinfo3rd(&env, "/cgi-bin/service/auth/getuserinfo3rd", &st, &code).await;
    assert_eq!(v["userid"], "zhangsan", "{v}");
    assert!(v.get("user_ticket").is_none());
    // Once uninstalled, nobody logs in through the suite.
    let cancel = PushEvent::CancelAuth {
        corpid: CORP.into(),
    };
    env.sim
        .push(PushRequest::new(SUITE, "", cancel))
        .await
        .unwrap();
    let err = env.sim.oauth_login(&web, "zhangsan").await.unwrap_err();
    assert!(err.to_string().contains("48004"), "{err}");
}

async fn login_info(env: &Env, token: &str, auth_code: &str) -> Value {
    env.post(
        &format!(
            "{}?access_token={token}",
            env.qy("/cgi-bin/service/get_login_info")
        ),
        &json!({"auth_code": auth_code}),
    )
    .await
}

#[tokio::test]
async fn provider_website_login_reads_back_with_get_login_info() {
    let env = Env::fast().await;
    let (st, installer) = installed(&env).await;
    let v = env
        .post(
            &env.qy("/cgi-bin/service/get_provider_token"),
            &json!({"corpid": PROVIDER, "provider_secret": PROVIDER_SECRET}),
        )
        .await;
    let pt = v["provider_access_token"].as_str().unwrap().to_owned();
    let page = |usertype: &str| {
        format!(
            "https://open.work.weixin.qq.com/wwopen/sso/3rd_qrConnect?appid={PROVIDER}&redirect_uri={REDIRECT}&state=p1&usertype={usertype}"
        )
    };
    let location = env
        .sim
        .oauth_login(&page("admin"), &installer)
        .await
        .unwrap();
    assert_eq!(query_param(&location, "state").as_deref(), Some("p1"));
    let auth_code = query_param(&location, "auth_code").unwrap();
    let v = login_info(&env, &pt, &auth_code).await;
    assert_eq!(errcode(&v), 0, "{v}");
    assert_eq!(v["usertype"], 2, "the installer is an admin");
    assert_eq!(v["user_info"]["userid"], installer.as_str());
    assert_eq!(v["corp_info"]["corpid"], CORP);
    let agentid = env
        .sim
        .state()
        .with_world(|w| w.suites[SUITE].auths[CORP].agentid);
    assert_eq!(v["agent"], json!([{"agentid": agentid, "auth_type": 1}]));
    assert_eq!(v["auth_info"]["department"][0]["writable"], true);
    assert_eq!(errcode(&login_info(&env, &pt, &auth_code).await), 40029);
    // Members log in with usertype=member only.
    let member = if installer == "lisi" {
        "zhangsan"
    } else {
        "lisi"
    };
    let err = env
        .sim
        .oauth_login(&page("admin"), member)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("60011"), "{err}");
    let location = env.sim.oauth_login(&page("member"), member).await.unwrap();
    let v = login_info(&env, &pt, &query_param(&location, "auth_code").unwrap()).await;
    assert_eq!(v["usertype"], 5, "{v}");
    assert_eq!(v["agent"][0]["auth_type"], 0);
    assert!(v.get("auth_info").is_none());
    // Only a provider token is accepted.
    let location = env.sim.oauth_login(&page("member"), member).await.unwrap();
    let code = query_param(&location, "auth_code").unwrap();
    assert_eq!(errcode(&login_info(&env, &st, &code).await), 40014);
    assert_eq!(errcode(&login_info(&env, &pt, &code).await), 0);
}
