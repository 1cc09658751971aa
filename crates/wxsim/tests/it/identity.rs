//! OAuth and login pages, `sns/*`, WeCom `auth/getuserinfo` + `getuserdetail`, web login,
//! the 2022 sensitive-field rules.

use serde_json::json;

use crate::helpers::{Env, errcode, no_redirect, query_param};

const CORP: &str = "ww8f3a21c5d9e07b46";
const FAN: &str = "oJqBd60000000000000000001000";

fn authorize(env: &Env, appid: &str, redirect: &str, scope: &str, extra: &str) -> String {
    format!(
        "{}/connect/oauth2/authorize?appid={appid}&redirect_uri={}&response_type=code&scope={scope}&state=abc123{extra}#wechat_redirect",
        env.sim.role_url(wxsim::Role::Open),
        form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
    )
}

#[tokio::test]
async fn oa_oauth_page_non_interactive_login_and_code_rules() {
    let env = Env::fast().await;
    let http = no_redirect();
    let redirect = "http://127.0.0.1:8080/wx/callback?from=menu";
    // the page lists the fans
    let page = http
        .get(authorize(
            &env,
            env.appid(),
            redirect,
            "snsapi_userinfo",
            "",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("小明") && html.contains("sim_user=oJqBd6"),
        "{html}"
    );
    // non-interactive: sim_user redirects at once
    let resp = http
        .get(authorize(
            &env,
            env.appid(),
            redirect,
            "snsapi_userinfo",
            &format!("&sim_user={FAN}"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("http://127.0.0.1:8080/wx/callback?from=menu&code="),
        "{location}"
    );
    assert_eq!(query_param(&location, "state").as_deref(), Some("abc123"));
    let code = query_param(&location, "code").unwrap();
    let exchange = |code: &str| {
        format!(
            "{}?appid={}&secret={}&code={code}&grant_type=authorization_code",
            env.api("/sns/oauth2/access_token"),
            env.appid(),
            env.oa_secret()
        )
    };
    let v = env.get(&exchange(&code)).await;
    assert!(v.get("errcode").is_none(), "no errcode on success: {v}");
    assert_eq!(v["openid"], FAN);
    assert_eq!(v["scope"], "snsapi_userinfo");
    assert_eq!(v["unionid"], "oU7xK20000000000000000005000");
    let user_token = v["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        errcode(&env.get(&exchange(&code)).await),
        40163,
        "single use"
    );
    let info = env
        .get(&format!(
            "{}?access_token={user_token}&openid={FAN}&lang=zh_CN",
            env.api("/sns/userinfo")
        ))
        .await;
    assert_eq!(info["nickname"], "小明");
    assert_eq!(info["sex"], 0, "gender blank since 2021-10");
    assert_eq!(errcode(&env.get(&exchange("bogus")).await), 40029);
    // 5-minute expiry on the simulator clock
    let loc = env
        .sim
        .oauth_login(
            &authorize(&env, env.appid(), redirect, "snsapi_base", ""),
            FAN,
        )
        .await
        .unwrap();
    let code = query_param(&loc, "code").unwrap();
    env.advance(301).await;
    assert_eq!(errcode(&env.get(&exchange(&code)).await), 42003);
    // snsapi_base tokens cannot read userinfo
    let loc = env
        .sim
        .oauth_login(
            &authorize(&env, env.appid(), redirect, "snsapi_base", ""),
            FAN,
        )
        .await
        .unwrap();
    let v = env
        .get(&exchange(&query_param(&loc, "code").unwrap()))
        .await;
    let t = v["access_token"].as_str().unwrap();
    let info = env
        .get(&format!(
            "{}?access_token={t}&openid={FAN}",
            env.api("/sns/userinfo")
        ))
        .await;
    assert_eq!(errcode(&info), 48001);
    // the user refuses: no code
    let resp = http
        .get(authorize(
            &env,
            env.appid(),
            redirect,
            "snsapi_userinfo",
            "&sim_user=x&sim_deny=1",
        ))
        .send()
        .await
        .unwrap();
    let location = resp.headers()["location"].to_str().unwrap();
    assert!(query_param(location, "code").is_none());
}

#[tokio::test]
async fn redirect_domains_exact_host_port_and_strict_switch() {
    let env = Env::fast().await;
    let http = no_redirect();
    let v = env
        .post(
            &env.ctl("/sim/settings"),
            &json!({"account": env.appid(), "redirect_domains": ["127.0.0.1:8080"]}),
        )
        .await;
    assert_eq!(errcode(&v), 0, "{v}");
    let ok = authorize(
        &env,
        env.appid(),
        "http://127.0.0.1:8080/cb",
        "snsapi_base",
        &format!("&sim_user={FAN}"),
    );
    assert_eq!(http.get(ok).send().await.unwrap().status(), 302);
    for bad in [
        "http://127.0.0.1:8081/cb",
        "http://127.0.0.1/cb",
        "http://evil.example:8080/cb",
    ] {
        let resp = http
            .get(authorize(
                &env,
                env.appid(),
                bad,
                "snsapi_base",
                &format!("&sim_user={FAN}"),
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "error page");
        assert_eq!(resp.headers()["x-sim-error"], "10003", "{bad}");
    }
    let e = env
        .sim
        .oauth_login(
            &authorize(
                &env,
                env.appid(),
                "http://127.0.0.1:9/cb",
                "snsapi_base",
                "",
            ),
            FAN,
        )
        .await
        .unwrap_err();
    assert!(e.to_string().starts_with("10003"), "{e}");
    // Tencent's strict rules: no IP, no port
    let strict = Env::with_config(wxsim::SimConfig {
        options: wxsim::SimOptions {
            strict_redirect_domains: true,
            ..crate::helpers::fast_options()
        },
        ..wxsim::SimConfig::default()
    })
    .await;
    let e = strict
        .sim
        .oauth_login(
            &authorize(
                &strict,
                strict.appid(),
                "http://127.0.0.1:8080/cb",
                "snsapi_base",
                "",
            ),
            FAN,
        )
        .await
        .unwrap_err();
    assert!(e.to_string().starts_with("10003"));
    assert!(
        strict
            .sim
            .oauth_login(
                &authorize(
                    &strict,
                    strict.appid(),
                    "https://bridge.example.com/cb",
                    "snsapi_base",
                    ""
                ),
                FAN
            )
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn wecom_oauth_getuserinfo_and_privateinfo_detail() {
    let env = Env::fast().await;
    let t = env.app_token(1_000_002).await;
    // apps created after 2022-06-20: no mobile/email/avatar from user/get
    let v = env
        .get(&format!(
            "{}?access_token={t}&userid=lisi",
            env.qy("/cgi-bin/user/get")
        ))
        .await;
    assert!(v.get("mobile").is_none() && v.get("email").is_none(), "{v}");
    // in-app OAuth, snsapi_privateinfo with consent → user_ticket → getuserdetail
    let url = authorize(
        &env,
        CORP,
        "http://127.0.0.1:7000/auth",
        "snsapi_privateinfo",
        "&agentid=1000002",
    );
    let loc = env.sim.oauth_login(&url, "lisi").await.unwrap();
    let code = query_param(&loc, "code").unwrap();
    let info_url = |code: &str| {
        format!(
            "{}?access_token={t}&code={code}",
            env.qy("/cgi-bin/auth/getuserinfo")
        )
    };
    let v = env.get(&info_url(&code)).await;
    assert_eq!(errcode(&v), 0, "{v}");
    assert_eq!(v["userid"], "lisi");
    let ticket = v["user_ticket"].as_str().unwrap().to_owned();
    assert_eq!(
        errcode(&env.get(&info_url(&code)).await),
        40029,
        "single use"
    );
    let detail_url = format!("{}?access_token={t}", env.qy("/cgi-bin/auth/getuserdetail"));
    let d = env.post(&detail_url, &json!({"user_ticket": ticket})).await;
    assert_eq!(errcode(&d), 0, "{d}");
    assert_eq!(d["mobile"], "+86 13800138001");
    assert_eq!(d["email"], "lisi@jiangnan-bridge.example");
    // another app's token cannot use the ticket
    let t3 = env.app_token(1_000_003).await;
    let d = env
        .post(
            &format!(
                "{}?access_token={t3}",
                env.qy("/cgi-bin/auth/getuserdetail")
            ),
            &json!({"user_ticket": ticket}),
        )
        .await;
    assert_eq!(errcode(&d), 84015);
    // 1800 s later the ticket has expired
    env.advance(1801).await;
    let t = env.app_token(1_000_002).await;
    let d = env
        .post(
            &format!("{}?access_token={t}", env.qy("/cgi-bin/auth/getuserdetail")),
            &json!({"user_ticket": ticket}),
        )
        .await;
    assert_eq!(errcode(&d), 84014);
    // snsapi_base: no ticket; refusing consent: no ticket
    for extra in ["", "&sim_consent=0"] {
        let scope = if extra.is_empty() {
            "snsapi_base"
        } else {
            "snsapi_privateinfo"
        };
        let loc = env
            .sim
            .oauth_login(
                &authorize(
                    &env,
                    CORP,
                    "http://127.0.0.1:7000/a",
                    scope,
                    &format!("&agentid=1000002{extra}"),
                ),
                "lisi",
            )
            .await
            .unwrap();
        let v = env
            .get(&format!(
                "{}?access_token={t}&code={}",
                env.qy("/cgi-bin/auth/getuserinfo"),
                query_param(&loc, "code").unwrap()
            ))
            .await;
        assert_eq!(v["userid"], "lisi");
        assert!(v.get("user_ticket").is_none(), "{v}");
    }
    // legacy casing
    let code = env
        .sim
        .state()
        .oauth_code(CORP, "wangwu", None, None)
        .unwrap();
    let v = env
        .get(&format!(
            "{}?access_token={t}&code={code}",
            env.qy("/cgi-bin/user/getuserinfo")
        ))
        .await;
    assert_eq!(v["UserId"], "wangwu");
}

#[tokio::test]
async fn wecom_web_login_pages() {
    let env = Env::fast().await;
    let http = no_redirect();
    let login = env.sim.role_url(wxsim::Role::Login);
    let redirect = "http%3A%2F%2F127.0.0.1%3A7000%2Flogin";
    let page = http
        .get(format!("{login}/wwlogin/sso/login?login_type=CorpApp&appid={CORP}&agentid=1000003&redirect_uri={redirect}&state=s1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("孙七") && page.contains("不在应用可见范围"),
        "scope shown"
    );
    let resp = http
        .get(format!("{login}/wwlogin/sso/login?login_type=CorpApp&appid={CORP}&agentid=1000003&redirect_uri={redirect}&state=s1&sim_user=sunqi"))
        .send()
        .await
        .unwrap();
    let loc = resp.headers()["location"].to_str().unwrap().to_owned();
    let t = env.app_token(1_000_003).await;
    let v = env
        .get(&format!(
            "{}?access_token={t}&code={}",
            env.qy("/cgi-bin/auth/getuserinfo"),
            query_param(&loc, "code").unwrap()
        ))
        .await;
    assert_eq!(v["userid"], "sunqi");
    // outside the visible scope: refused
    let resp = http
        .get(format!("{login}/wwlogin/sso/login?login_type=CorpApp&appid={CORP}&agentid=1000003&redirect_uri={redirect}&state=s1&sim_user=wujiu"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-sim-error"], "50002");
    // legacy qrConnect, with Tencent's host in the Host header
    let resp = http
        .get(format!("{}/wwopen/sso/qrConnect?appid={CORP}&agentid=1000002&redirect_uri={redirect}&state=s2&sim_user=lisi", env.sim.url()))
        .header("Host", "open.work.weixin.qq.com")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    // bad state characters: 84025
    let resp = http
        .get(format!("{login}/wwlogin/sso/login?login_type=CorpApp&appid={CORP}&agentid=1000002&redirect_uri={redirect}&state=a-b&sim_user=lisi"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-sim-error"], "84025");
}
