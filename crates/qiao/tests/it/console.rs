//! The console over HTTP: login, CSRF, throttling, roles, and a settings change end to end.
//! (The browser test in e2e/ drives the same pages through headless Chromium.)

use qiao::auth::Role;
use qiao::store::TenantId;

use crate::harness::{PASSWORD, TestApp, add_user, csrf_of, login, post_form};
use crate::store_test;

store_test!(login_logout_and_generic_errors, |db| async move {
    let app = TestApp::start(&db).await;
    add_user(&app, "alice", Role::SuperAdmin).await;

    let (status, _) = app.get("/console").await;
    assert_eq!(status, 303, "anonymous visitors are sent to the login page");

    let (status, wrong_password) = login(&app, "alice", "wrong password!!").await;
    assert_eq!(status, 401);
    let (_, unknown_user) = login(&app, "mallory", "wrong password!!").await;
    assert!(wrong_password.contains("用户名或密码错误"));
    assert!(
        unknown_user.contains("用户名或密码错误"),
        "the same message for unknown users"
    );

    let (status, _) = login(&app, "alice", PASSWORD).await;
    assert_eq!(status, 303);
    let (status, home) = app.get("/console").await;
    assert_eq!(status, 200);
    for href in [
        "/console/settings",
        "/console/users",
        "/console/api-keys",
        "/console/audit",
    ] {
        assert!(
            home.contains(&format!("href=\"{href}\"")),
            "navigation links {href}"
        );
        let (status, _) = app.get(href).await;
        assert_eq!(status, 200, "{href}");
    }

    let (status, _) = post_form(&app, "/console/logout", &[("_csrf", &csrf_of(&home))]).await;
    assert_eq!(status, 303);
    let (status, _) = app.get("/console").await;
    assert_eq!(status, 303, "the session ended");
    app.stop().await;
});

store_test!(forms_need_the_session_csrf_token, |db| async move {
    let app = TestApp::start(&db).await;
    add_user(&app, "alice", Role::Admin).await;
    // The login form itself needs its token.
    let response = app
        .client
        .post(format!("{}/console/login", app.url))
        .form(&[("username", "alice"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);

    login(&app, "alice", PASSWORD).await;
    let change = [
        ("external_url", "https://evil.example.com"),
        ("public_egress_ip", ""),
    ];
    let (status, body) = post_form(&app, "/console/settings", &change).await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = post_form(
        &app,
        "/console/settings",
        &[("_csrf", "forged"), change[0], change[1]],
    )
    .await;
    assert_eq!(status, 403);

    // A cross-site Origin is refused even with the token.
    let (_, page) = app.get("/console/settings").await;
    let token = csrf_of(&page);
    let response = app
        .client
        .post(format!("{}/console/settings", app.url))
        .header("origin", "https://evil.example.com")
        .form(&[("_csrf", token.as_str()), change[0], change[1]])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);

    let settings = qiao::settings::get_basic(&app.state().store, TenantId::DEFAULT)
        .await
        .unwrap();
    assert_eq!(settings.external_url, None, "nothing changed");

    let (status, _) = post_form(
        &app,
        "/console/settings",
        &[
            ("_csrf", &token),
            ("external_url", "https://qiao.example.com"),
            ("public_egress_ip", ""),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let settings = qiao::settings::get_basic(&app.state().store, TenantId::DEFAULT)
        .await
        .unwrap();
    assert_eq!(
        settings.external_url.as_deref(),
        Some("https://qiao.example.com")
    );

    let (status, body) = post_form(
        &app,
        "/console/settings",
        &[
            ("_csrf", &token),
            ("external_url", "not a url"),
            ("public_egress_ip", ""),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("external_url"), "the error names the field");
    app.stop().await;
});

store_test!(roles_limit_what_a_user_may_change, |db| async move {
    let app = TestApp::start(&db).await;
    add_user(&app, "root", Role::SuperAdmin).await;
    add_user(&app, "eve", Role::Auditor).await;
    login(&app, "eve", PASSWORD).await;
    let (status, page) = app.get("/console/settings").await;
    assert_eq!(status, 200);
    assert!(page.contains("只读"), "the page says it is read-only");
    let token = csrf_of(&page);
    let (status, _) = post_form(
        &app,
        "/console/settings",
        &[
            ("_csrf", &token),
            ("external_url", "https://x.example.com"),
            ("public_egress_ip", ""),
        ],
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = post_form(
        &app,
        "/console/api-keys",
        &[("_csrf", &token), ("name", "k"), ("scope", "admin")],
    )
    .await;
    assert_eq!(status, 403, "an auditor cannot reveal a new API key");
    let (status, _) = post_form(
        &app,
        "/console/users",
        &[
            ("_csrf", &token),
            ("username", "x2"),
            ("role", "super_admin"),
            ("password", "long enough password"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    app.stop().await;
});

store_test!(super_admin_creates_a_key_shown_once, |db| async move {
    let app = TestApp::start(&db).await;
    add_user(&app, "root", Role::SuperAdmin).await;
    login(&app, "root", PASSWORD).await;
    let (_, page) = app.get("/console/api-keys").await;
    let token = csrf_of(&page);
    let response = app
        .client
        .post(format!("{}/console/api-keys", app.url))
        .form(&[
            ("_csrf", token.as_str()),
            ("name", "erp"),
            ("scope", "read"),
            ("expires_in_days", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // The reveal-once page is deliberately not recorded for the leak check.
    let html = response.text().await.unwrap();
    let marker = "data-testid=\"new-key\">";
    let start = html.find(marker).unwrap() + marker.len();
    let key = html[start..start + html[start..].find('<').unwrap()].to_string();
    app.leaks.secret(key.clone());
    assert!(key.starts_with("qiao_"));
    let (status, _) = app
        .api(reqwest::Method::GET, "/settings", Some(&key), None)
        .await;
    assert_eq!(status, 200, "the key shown works");
    let (_, again) = app.get("/console/api-keys").await;
    assert!(
        again.contains("erp") && !again.contains(&key),
        "listed, never shown again"
    );
    app.stop().await;
});

store_test!(logins_are_throttled_per_ip, |db| async move {
    let app = TestApp::start(&db).await;
    add_user(&app, "alice", Role::Admin).await;
    for i in 0..qiao::console::throttle::MAX_FAILURES {
        // Different unknown users: the per-account lockout does not apply.
        let (status, _) = login(&app, &format!("nobody{i}"), "wrong password!!").await;
        assert_eq!(status, 401);
    }
    let (status, body) = login(&app, "alice", PASSWORD).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("过多"));
    app.stop().await;
});

store_test!(channels_through_the_console, |db| async move {
    let app = TestApp::start(&db).await;
    add_user(&app, "root", Role::SuperAdmin).await;
    login(&app, "root", PASSWORD).await;
    let secret = "0123456789abcdef0123456789abcdef";
    app.leaks.secret(secret);
    let (_, page) = app.get("/console/official-accounts").await;
    let token = csrf_of(&page);
    let form = [
        ("_csrf", token.as_str()),
        ("kind", "official_account"),
        ("name", "人事服务号"),
        ("app_id", "wx1234567890abcdef"),
        ("app_secret", secret),
        ("original_id", "gh_7f083739789a"),
        ("account_type", "subscription"),
    ];
    let (status, body) = post_form(&app, "/console/channels", &form).await;
    assert_eq!(status, 303, "{body}");
    let (status, list) = app.get("/console/official-accounts").await;
    assert_eq!(status, 200);
    assert!(
        list.contains("人事服务号") && list.contains("******cdef"),
        "listed with the secret masked"
    );
    assert!(
        list.contains("订阅号没有网页授权"),
        "the limitation is said"
    );

    // A bad AppID is refused with the field named, and the secret is not echoed back.
    let mut bad = form;
    bad[3] = ("app_id", "wx12");
    let (status, body) = post_form(&app, "/console/channels", &bad).await;
    assert_eq!(status, 422);
    assert!(body.contains("app_id"));

    let id = qiao::channels::list(
        &app.state().store,
        &app.state().sealer,
        TenantId::DEFAULT,
        None,
    )
    .await
    .unwrap()[0]
        .id;
    let (status, detail) = app.get(&format!("/console/channels/{id}")).await;
    assert_eq!(status, 200);
    let edit = [
        ("_csrf", token.as_str()),
        ("kind", "official_account"),
        ("name", "人事服务号（新）"),
        ("original_id", "gh_7f083739789a"),
        ("account_type", "service"),
        ("verified", "1"),
        ("app_secret", ""),
    ];
    assert!(detail.contains("channel-edit"));
    let (status, _) = post_form(&app, &format!("/console/channels/{id}"), &edit).await;
    assert_eq!(status, 303);
    let channel = qiao::channels::get(
        &app.state().store,
        &app.state().sealer,
        TenantId::DEFAULT,
        id,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(channel.name, "人事服务号（新）");
    assert!(channel.limitations.is_empty());
    let kept = qiao::channels::secret(&app.state().store, &app.state().sealer, id, "app_secret")
        .await
        .unwrap();
    assert_eq!(
        kept.as_deref(),
        Some(secret),
        "an empty secret field keeps the secret"
    );

    let (status, _) = post_form(
        &app,
        &format!("/console/channels/{id}/delete"),
        &[("_csrf", &token)],
    )
    .await;
    assert_eq!(status, 303);
    let (_, list) = app.get("/console/official-accounts").await;
    assert!(!list.contains("人事服务号"));
    app.stop().await;
});

store_test!(callback_settings_and_inbox_pages, |db| async move {
    let app = TestApp::start(&db).await;
    add_user(&app, "root", Role::SuperAdmin).await;
    add_user(&app, "eve", Role::Auditor).await;
    let key = app.api_key(&[qiao::auth::api_keys::Scope::Admin]).await;
    let (channel, pusher) = crate::callbacks::official_account(&app, &key).await;
    login(&app, "root", PASSWORD).await;
    let (status, page) = app
        .client
        .get(format!("{}/console/channels/{channel}/callbacks", app.url))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(status, 200);
    // The page that shows the values to paste is the listed reveal: not recorded.
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&pusher.token),
        "an admin sees the Token to paste"
    );
    let token = csrf_of(&html);
    let receiver = html
        .split("/callbacks/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let (status, _) = post_form(
        &app,
        &format!("/console/channels/{channel}/callbacks/{receiver}"),
        &[("_csrf", &token), ("mode", "compatible")],
    )
    .await;
    assert_eq!(status, 303);
    let listed = qiao::callback::Callbacks::new(app.state(), app.url.clone())
        .list(TenantId::DEFAULT, channel)
        .await
        .unwrap();
    assert_eq!(listed[0].mode, qiao::callback::Mode::Compatible);
    assert!(
        !listed[0].enabled,
        "the unchecked switch turned callbacks off"
    );

    // A push shows in the inbox page.
    let app_url = app.url.clone();
    let (query, body) = pusher.encrypted(
        &crate::callbacks::text_message("oFan", "查询工资", 9001),
        &crate::callbacks::now_secs(),
        "n",
    );
    let on = [
        ("_csrf", token.as_str()),
        ("mode", "safe"),
        ("enabled", "1"),
    ];
    post_form(
        &app,
        &format!("/console/channels/{channel}/callbacks/{receiver}"),
        &on,
    )
    .await;
    let pusher = crate::callbacks::Pusher {
        url: pusher.url.replace(&app_url, &app.url),
        ..pusher
    };
    assert_eq!(pusher.post(&app.client, &query, body).await.0, 200);
    let (status, inbox) = app.get("/console/inbox").await;
    assert_eq!(status, 200);
    assert!(inbox.contains("查询工资") && inbox.contains("msg:text"));

    // An auditor sees the receiver masked and cannot change it.
    post_form(&app, "/console/logout", &[("_csrf", &token)]).await;
    login(&app, "eve", PASSWORD).await;
    let (_, page) = app
        .get(&format!("/console/channels/{channel}/callbacks"))
        .await;
    assert!(!page.contains(&pusher.token) && page.contains("******"));
    let eve_token = csrf_of(&page);
    let (status, _) = post_form(
        &app,
        &format!("/console/channels/{channel}/callbacks/{receiver}"),
        &[("_csrf", &eve_token)],
    )
    .await;
    assert_eq!(status, 403);
    app.stop().await;
});
