//! Tokens against the simulator: the broker, one fetch for many concurrent callers (also
//! across three `qiao serve` processes on one database), transparent retry after a token
//! is replaced behind Qiao's back, no retry loop on 40001 forever, quota and IP errors
//! explained.

use std::time::Duration;

use qiao::auth::api_keys::Scope;
use reqwest::Method;
use serde_json::json;
use wxsim::{Role, Seed, SimConfig, Simulator};

use crate::harness::{TestApp, TestDb, spawn_serve, wait_ready};
use crate::store_test;

const STABLE_TOKEN: &str = "/cgi-bin/stable_token";

pub async fn simulator() -> Simulator {
    Simulator::start(SimConfig {
        limits: wxsim::LimitsConfig::off(),
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// Registers the simulator's first Official Account as a channel; returns its id and AppID.
pub async fn register_oa(app: &TestApp, key: &str, sim: &Simulator) -> (i64, String) {
    let account = Seed::demo().official_accounts[0].clone();
    app.leaks.secret(account.secret.clone());
    let body = json!({ "kind": "official_account", "name": account.name, "app_id": account.appid,
        "app_secret": account.secret, "original_id": account.original_id, "account_type": "service",
        "verified": true, "endpoints": { "api_base_url": sim.role_url(Role::Api),
        "oauth_base_url": sim.role_url(Role::Open), "web_login_base_url": sim.role_url(Role::Login) } });
    let (status, channel) = app
        .api(Method::POST, "/channels", Some(key), Some(body))
        .await;
    assert_eq!(status, 201, "{channel}");
    (channel["id"].as_i64().unwrap(), account.appid)
}

/// Registers the simulator's demo corp (without its contact-sync secret) and its app 1000002,
/// both calling WeCom at `api_base_url`; returns the app's channel id and its credential as
/// the simulator names it (`corpid/agentid`).
async fn register_wecom_app(
    app: &TestApp,
    key: &str,
    sim: &Simulator,
    api_base_url: &str,
) -> (i64, String) {
    let corp = Seed::demo().corps[0].clone();
    let wecom_app = corp.apps[0].clone();
    app.leaks.secret(wecom_app.secret.clone());
    let body = json!({ "kind": "wecom_corp", "name": corp.name, "corp_id": corp.corpid,
        "endpoints": { "api_base_url": api_base_url, "oauth_base_url": sim.role_url(Role::Open),
        "web_login_base_url": sim.role_url(Role::Login) } });
    let (status, created) = app
        .api(Method::POST, "/channels", Some(key), Some(body))
        .await;
    assert_eq!(status, 201, "{created}");
    let body = json!({ "kind": "wecom_app", "corp": created["id"], "name": wecom_app.name,
        "agent_id": wecom_app.agentid, "secret": wecom_app.secret });
    let (status, created) = app
        .api(Method::POST, "/channels", Some(key), Some(body))
        .await;
    assert_eq!(status, 201, "{created}");
    (
        created["id"].as_i64().unwrap(),
        format!("{}/{}", corp.corpid, wecom_app.agentid),
    )
}

store_test!(broker_and_reads_share_one_token, |db| async move {
    let sim = simulator().await;
    let app = TestApp::start(&db).await;
    let admin = app.api_key(&[Scope::Admin]).await;
    let broker = app.api_key(&[Scope::Tokens]).await;
    let (channel, appid) = register_oa(&app, &admin, &sim).await;

    // 200 concurrent requests (broker and follower reads) on a cold store: one fetch.
    let mut calls = Vec::new();
    for i in 0..200 {
        let (client, url, key) = (
            app.client.clone(),
            app.url.clone(),
            if i % 2 == 0 {
                broker.clone()
            } else {
                admin.clone()
            },
        );
        let path = if i % 2 == 0 {
            format!("/api/v1/tokens/{channel}")
        } else {
            format!("/api/v1/channels/{channel}/followers")
        };
        calls.push(tokio::spawn(async move {
            client
                .get(format!("{url}{path}"))
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for call in calls {
        assert_eq!(call.await.unwrap(), 200);
    }
    assert_eq!(
        sim.state().count_requests(STABLE_TOKEN, Some(&appid)),
        1,
        "exactly one token fetch"
    );

    // The broker reveals the token to the tokens scope only.
    let read = app.api_key(&[Scope::Read]).await;
    let (status, _) = app
        .api(
            Method::GET,
            &format!("/tokens/{channel}"),
            Some(&read),
            None,
        )
        .await;
    assert_eq!(status, 403);
    let (status, token) = app.reveal(&format!("/tokens/{channel}"), &broker).await;
    assert_eq!(status, 200);
    app.leaks.secret(token["access_token"].as_str().unwrap());
    let (_, followers) = app
        .api(
            Method::GET,
            &format!("/channels/{channel}/followers"),
            Some(&admin),
            None,
        )
        .await;
    assert!(followers["total"].as_i64().unwrap() > 0, "{followers}");

    let (status, state) = app
        .api(
            Method::GET,
            &format!("/channels/{channel}/token-state"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(state["fetches_today"], 1);
    assert!(state["valid_until_ms"].as_i64().unwrap() > qiao::clock::now_ms());
    app.stop().await;
});

store_test!(
    a_token_replaced_behind_qiaos_back_costs_one_retry,
    |db| async move {
        let sim = simulator().await;
        let app = TestApp::start(&db).await;
        let admin = app.api_key(&[Scope::Admin]).await;
        let (channel, appid) = register_oa(&app, &admin, &sim).await;
        let (status, first) = app
            .api(
                Method::GET,
                &format!("/channels/{channel}/followers"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(status, 200, "{first}");
        // "Another system" forces a new token: Qiao's is invalid from now on.
        sim.state().rotate_token(&appid, Some(0));
        let (status, body) = app
            .api(
                Method::GET,
                &format!("/channels/{channel}/followers"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(status, 200, "one transparent retry: {body}");
        assert_eq!(sim.state().count_requests(STABLE_TOKEN, Some(&appid)), 2);
        app.stop().await;
    }
);

store_test!(token_errors_forever_fail_after_one_retry, |db| async move {
    let sim = simulator().await;
    let app = TestApp::start(&db).await;
    let admin = app.api_key(&[Scope::Admin]).await;
    let (channel, appid) = register_oa(&app, &admin, &sim).await;
    sim.state()
        .add_fault(wxsim::FaultSpec::errcode("/cgi-bin/user/get", 40001))
        .unwrap();
    let (status, body) = app
        .api(
            Method::GET,
            &format!("/channels/{channel}/followers"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["details"]["errcode"], 40001);
    assert_eq!(
        sim.state()
            .count_requests("/cgi-bin/user/get", Some(&appid)),
        2,
        "the call and one retry"
    );
    let fetches = sim.state().count_requests(STABLE_TOKEN, Some(&appid));
    assert!(
        fetches <= 3,
        "no loop burning the daily token quota: {fetches} fetches"
    );
    app.stop().await;
});

store_test!(quota_and_whitelist_errors_are_explained, |db| async move {
    let sim = simulator().await;
    let app = TestApp::start(&db).await;
    let admin = app.api_key(&[Scope::Admin]).await;
    let (channel, appid) = register_oa(&app, &admin, &sim).await;

    sim.state()
        .add_fault(wxsim::FaultSpec::errcode("/cgi-bin/user/get", 45009))
        .unwrap();
    let (status, body) = app
        .api(
            Method::GET,
            &format!("/channels/{channel}/followers"),
            Some(&admin),
            None,
        )
        .await;
    assert!(status >= 400, "{body}");
    let (status, _) = app
        .api(
            Method::GET,
            &format!("/channels/{channel}/followers"),
            Some(&admin),
            None,
        )
        .await;
    assert!(status >= 400);
    assert_eq!(
        sim.state()
            .count_requests("/cgi-bin/user/get", Some(&appid)),
        1,
        "the daily quota is used up: no more calls to that API"
    );
    app.stop().await;
});

store_test!(
    test_connection_explains_a_whitelist_refusal,
    |db| async move {
        let sim = simulator().await;
        let app = TestApp::start(&db).await;
        let admin = app.api_key(&[Scope::Admin]).await;
        let (channel, _) = register_oa(&app, &admin, &sim).await;
        let whitelist = wxsim::FaultSpec {
            errmsg: Some(
                "invalid ip 203.0.113.9 ipv6 ::ffff:203.0.113.9, not in whitelist rid: 1".into(),
            ),
            ..wxsim::FaultSpec::errcode(STABLE_TOKEN, 40164)
        };
        sim.state().add_fault(whitelist).unwrap();
        let (status, test) = app
            .api(
                Method::POST,
                &format!("/channels/{channel}/test-connection"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(test["ok"], false, "{test}");
        assert_eq!(test["ip"], "203.0.113.9", "{test}");
        assert!(
            test["fix"].as_str().unwrap().contains("whitelist"),
            "{test}"
        );
        app.stop().await;
    }
);

/// Three `qiao serve` processes on one database, all with a cold then an expired token:
/// 200 concurrent requests spread over them cause exactly one token fetch each time.
async fn three_nodes(db: &TestDb) {
    let sim = simulator().await;
    let master = qiao::secrets::MasterKey::generate().to_base64();
    // Set up the channel and an API key on the shared database.
    let app = TestApp::start_with(db, |c| c.master_key = Some(master.clone())).await;
    let admin = app.api_key(&[Scope::Admin]).await;
    let broker = app.api_key(&[Scope::Tokens]).await;
    let (channel, appid) = register_oa(&app, &admin, &sim).await;
    app.stop().await;

    let mut nodes = Vec::new();
    let mut urls = Vec::new();
    for i in 0..3 {
        let port = free_port();
        let dir = db.data_dir().join(format!("node{i}"));
        nodes.push(spawn_serve(db, &dir, &master, port));
        urls.push(format!("http://127.0.0.1:{port}"));
    }
    let client = reqwest::Client::new();
    for url in &urls {
        wait_ready(&client, url).await;
    }
    let burst = |round: usize| {
        let mut calls = Vec::new();
        for i in 0..200 {
            let url = urls[(i + round) % 3].clone();
            let (key, path) = if i % 2 == 0 {
                (broker.clone(), format!("/api/v1/tokens/{channel}"))
            } else {
                (
                    admin.clone(),
                    format!("/api/v1/channels/{channel}/followers"),
                )
            };
            let client = client.clone();
            calls.push(tokio::spawn(async move {
                client
                    .get(format!("{url}{path}"))
                    .bearer_auth(key)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }));
        }
        calls
    };
    for call in burst(0) {
        assert_eq!(call.await.unwrap(), 200);
    }
    assert_eq!(
        sim.state().count_requests(STABLE_TOKEN, Some(&appid)),
        1,
        "cold: one fetch for three nodes"
    );

    // The token expires on WeChat's side (two hours later): every node finds it rejected.
    sim.state().advance_clock(7300);
    for call in burst(1) {
        assert_eq!(call.await.unwrap(), 200);
    }
    assert_eq!(
        sim.state().count_requests(STABLE_TOKEN, Some(&appid)),
        2,
        "expired: one more fetch for three nodes"
    );
    for mut node in nodes {
        let _ = node.start_kill();
        let _ = node.wait().await;
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_fetch_once_sqlite() {
    let Some(db) = TestDb::new(crate::harness::Backend::Sqlite).await else {
        return;
    };
    three_nodes(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_fetch_once_postgres() {
    crate::harness::with_db(crate::harness::Backend::Postgres, |db| async move {
        three_nodes(&db).await;
    })
    .await;
}

store_test!(
    console_shows_token_state_and_tests_the_connection,
    |db| async move {
        use crate::harness::{PASSWORD, add_user, csrf_of, login, post_form};
        let sim = simulator().await;
        let app = TestApp::start(&db).await;
        let admin = app.api_key(&[Scope::Admin]).await;
        let (channel, _) = register_oa(&app, &admin, &sim).await;
        add_user(&app, "root", qiao::auth::Role::SuperAdmin).await;
        login(&app, "root", PASSWORD).await;
        let (_, page) = app.get(&format!("/console/channels/{channel}")).await;
        assert!(
            page.contains("token-state"),
            "the channel page shows its token state"
        );
        let (status, page) = post_form(
            &app,
            &format!("/console/channels/{channel}/test-connection"),
            &[("_csrf", &csrf_of(&page))],
        )
        .await;
        assert_eq!(status, 200);
        assert!(page.contains("连接正常"), "test connection succeeded");
        assert!(
            page.contains("1 / 2000"),
            "one token fetched today, of the daily quota"
        );

        sim.state()
            .add_fault(wxsim::FaultSpec {
                errmsg: Some(
                    "invalid ip 198.51.100.4 ipv6 ::ffff:198.51.100.4, not in whitelist rid: 2"
                        .into(),
                ),
                ..wxsim::FaultSpec::errcode(STABLE_TOKEN, 40164)
            })
            .unwrap();
        // Force a fetch: the stored token is dropped as if it had expired.
        qiao::on_db!(&app.state().store.db, pool => {
        sqlx::query("UPDATE access_tokens SET expires_at_ms = 0").execute(pool).await.map(|_| ())
    })
    .unwrap();
        // A restarted node has no token in memory and must fetch: WeChat refuses its IP.
        let app = app.restart().await;
        let (_, page) = app.get(&format!("/console/channels/{channel}")).await;
        let (_, page) = post_form(
            &app,
            &format!("/console/channels/{channel}/test-connection"),
            &[("_csrf", &csrf_of(&page))],
        )
        .await;
        assert!(
            page.contains("198.51.100.4") && page.contains("whitelist"),
            "the refusal is explained with the IP"
        );
        app.stop().await;
    }
);

store_test!(
    wecom_frequency_limit_backs_off_and_nothing_is_lost,
    |db| async move {
        const USER_GET: &str = "/cgi-bin/user/get";
        let sim = simulator().await;
        // A short window and a cap to match, so the test is quick; scripts/wecom-45009.sh
        // runs the 30 s window with the defaults.
        let app = TestApp::start_with(&db, |c| {
            c.wechat_retry_max_delay_ms = 300;
            c.wechat_retry_budget_ms = 10_000;
        })
        .await;
        let admin = app.api_key(&[Scope::Admin]).await;
        let (channel, credential) =
            register_wecom_app(&app, &admin, &sim, &sim.role_url(Role::Qyapi)).await;
        let read = |userid: &'static str| {
            let (client, url, key) = (app.client.clone(), app.url.clone(), admin.clone());
            async move {
                let response = client
                    .get(format!("{url}/api/v1/channels/{channel}/members/{userid}"))
                    .bearer_auth(key)
                    .send()
                    .await
                    .unwrap();
                (response.status().as_u16(), response.text().await.unwrap())
            }
        };
        assert_eq!(read("zhangsan").await.0, 200, "warm: the token is fetched");
        let retries =
            format!("qiao_wechat_api_retries_total{{api=\"{USER_GET}\",reason=\"45009\"}}");
        let delays = format!("qiao_wechat_retry_delay_seconds_count{{api=\"{USER_GET}\"}}");
        let delay_sum = format!("qiao_wechat_retry_delay_seconds_sum{{api=\"{USER_GET}\"}}");
        let (retries_before, delays_before, sum_before) = (
            app.metric(&retries).await,
            app.metric(&delays).await,
            app.metric(&delay_sum).await,
        );

        sim.state()
            .add_fault(wxsim::FaultSpec {
                role: Some(Role::Qyapi),
                for_secs: Some(2),
                ..wxsim::FaultSpec::errcode(USER_GET, 45009)
            })
            .unwrap();
        let started = std::time::Instant::now();
        let calls: Vec<_> = (0..50)
            .map(|i| tokio::spawn(read(if i % 2 == 0 { "zhangsan" } else { "lisi" })))
            .collect();
        for call in calls {
            let (status, body) = call.await.unwrap();
            assert_eq!(
                status, 200,
                "every call succeeds once the limit lifts: {body}"
            );
            assert!(body.contains("userid"), "{body}");
        }
        // The simulator counts whole seconds: the window was between 1 and 2 s long.
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "the calls waited for the limit to lift: {:?}",
            started.elapsed()
        );

        let log = sim.state().request_summary(&wxsim::RequestFilter {
            role: Some(Role::Qyapi),
            ..wxsim::RequestFilter::path(USER_GET).credential(&credential)
        });
        let refused = log.by_errcode.get("45009").copied().unwrap_or(0);
        let answered = log.by_errcode.get("0").copied().unwrap_or(0);
        assert!(refused > 0, "the limit was hit: {log:?}");
        assert_eq!(answered, 51, "each call answered once, none lost: {log:?}");
        assert_eq!(
            sim.state()
                .count_requests("/cgi-bin/gettoken", Some(&credential)),
            1,
            "a frequency limit is not a token problem"
        );
        // Every refusal was followed by a retry, each with its delay (the recorder is
        // process-wide: other tests may add to it, never take away).
        let refused = refused as f64;
        assert!(app.metric(&retries).await - retries_before >= refused);
        assert!(app.metric(&delays).await - delays_before >= refused);
        assert!(app.metric(&delay_sum).await > sum_before);
        app.stop().await;
    }
);

store_test!(
    a_frequency_limit_outlasting_the_retry_budget_is_a_clear_503,
    |db| async move {
        let sim = simulator().await;
        let app = TestApp::start_with(&db, |c| {
            c.wechat_retry_max_delay_ms = 100;
            c.wechat_retry_budget_ms = 500;
        })
        .await;
        let admin = app.api_key(&[Scope::Admin]).await;
        let (channel, _) = register_wecom_app(&app, &admin, &sim, &sim.role_url(Role::Qyapi)).await;
        sim.state()
            .add_fault(wxsim::FaultSpec::errcode("/cgi-bin/user/get", 45009))
            .unwrap();
        let response = app
            .client
            .get(format!(
                "{}/api/v1/channels/{channel}/members/zhangsan",
                app.url
            ))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "1");
        let (_, body) = app.record("member read", response).await;
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["code"], "wechat_busy", "{body}");
        assert_eq!(body["details"]["errcode"], 45009, "{body}");
        app.stop().await;
    }
);

store_test!(
    a_private_deployment_base_url_works_end_to_end,
    |db| async move {
        let sim = simulator().await;
        let app = TestApp::start(&db).await;
        let admin = app.api_key(&[Scope::Admin]).await;
        let broker = app.api_key(&[Scope::Tokens]).await;
        // A private deployment (or 政务微信) is another host, possibly under a path: here
        // `localhost` (not Tencent's host, not the address the simulator was started on)
        // with the WeCom role's path prefix.
        let base = format!("http://localhost:{}/qyapi", sim.addr().port());
        let (channel, credential) = register_wecom_app(&app, &admin, &sim, &base).await;

        let (status, token) = app.reveal(&format!("/tokens/{channel}"), &broker).await;
        assert_eq!(status, 200, "{token}");
        app.leaks.secret(token["access_token"].as_str().unwrap());
        let (status, member) = app
            .api(
                Method::GET,
                &format!("/channels/{channel}/members/zhangsan"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(
            (status, member["name"].as_str()),
            (200, Some("张三")),
            "{member}"
        );
        let (status, state) = app
            .api(
                Method::GET,
                &format!("/channels/{channel}/token-state"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(status, 200, "{state}");
        assert_eq!(state["fetches_today"], 1, "{state}");
        assert!(state["valid_until_ms"].as_i64().unwrap() > qiao::clock::now_ms());

        // Both requests reached the configured base URL, as WeCom calls.
        for path in ["/cgi-bin/gettoken", "/cgi-bin/user/get"] {
            let log = sim.state().request_summary(&wxsim::RequestFilter {
                role: Some(Role::Qyapi),
                ..wxsim::RequestFilter::path(path).credential(&credential)
            });
            assert_eq!(log.total, 1, "{path}: {log:?}");
        }
        app.stop().await;
    }
);

store_test!(
    every_channels_token_state_in_the_console_and_the_api,
    |db| async move {
        use crate::harness::{PASSWORD, add_user, login};
        let sim = simulator().await;
        let app = TestApp::start(&db).await;
        let admin = app.api_key(&[Scope::Admin]).await;
        let broker = app.api_key(&[Scope::Tokens]).await;
        let (oa, _) = register_oa(&app, &admin, &sim).await;
        // The corp has no contact-sync secret, so no token of its own; its app has one.
        let (wecom_app, _) =
            register_wecom_app(&app, &admin, &sim, &sim.role_url(Role::Qyapi)).await;
        for channel in [oa, wecom_app] {
            let (status, token) = app.reveal(&format!("/tokens/{channel}"), &broker).await;
            assert_eq!(status, 200, "{token}");
            // Every page and answer below is checked for it.
            app.leaks.secret(token["access_token"].as_str().unwrap());
        }
        // Something refreshed the Official Account's token 1 700 times today: 85 % of 2 000.
        qiao::on_db!(&app.state().store.db, pool => {
            sqlx::query("UPDATE token_fetches SET fetches = 1700 WHERE key LIKE 'oa:%'")
                .execute(pool)
                .await
                .map(|_| ())
        })
        .unwrap();

        let read = app.api_key(&[Scope::Read]).await;
        let (status, states) = app
            .api(Method::GET, "/token-states", Some(&read), None)
            .await;
        assert_eq!(status, 200, "{states}");
        let states = states.as_array().unwrap();
        assert_eq!(states.len(), 3, "{states:?}");
        let of = |id: i64| states.iter().find(|s| s["channel_id"] == id).unwrap();
        assert_eq!(of(oa)["token"]["fetches_today"], 1700);
        assert_eq!(of(oa)["token"]["daily_quota"], 2000);
        assert!(of(oa)["token"]["warning"].is_string(), "{states:?}");
        assert_eq!(of(wecom_app)["token"]["fetches_today"], 1);
        assert!(of(wecom_app)["token"]["warning"].is_null());
        assert!(of(wecom_app)["token"]["valid_until_ms"].as_i64().unwrap() > qiao::clock::now_ms());
        let corp = states.iter().find(|s| s["kind"] == "wecom_corp").unwrap();
        assert_eq!(corp["missing_secret"], "contacts_secret");
        assert!(corp["token"].is_null());

        add_user(&app, "auditor", qiao::auth::Role::Auditor).await;
        login(&app, "auditor", PASSWORD).await;
        let (_, home) = app.get("/console").await;
        assert!(
            home.contains("href=\"/console/tokens\""),
            "linked from the nav"
        );
        let (status, page) = app.get("/console/tokens").await;
        assert_eq!(status, 200);
        assert!(page.contains("data-testid=\"token-overview\""), "{page}");
        for id in [oa, wecom_app, corp["channel_id"].as_i64().unwrap()] {
            assert!(
                page.contains(&format!("id=\"token-{id}\"")),
                "a row per channel"
            );
        }
        assert!(page.contains("1700 / 2000"), "fetches against the quota");
        assert_eq!(
            page.matches("data-testid=\"token-warning\"").count(),
            1,
            "the warning is on the Official Account only"
        );
        assert!(
            page.contains("contacts_secret"),
            "the corp says why it has no token"
        );
        app.stop().await;
    }
);
