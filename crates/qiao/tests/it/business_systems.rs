//! Business systems through the API and the console: validation, bound API keys that act as
//! their system, webhook subscriptions and the delivery log through forms with CSRF.

use qiao::auth::Role;
use qiao::auth::api_keys::Scope;
use qiao::store::TenantId;
use qiao::webhooks::{self, DeliveryFilter, DeliveryState, dispatch_until_idle};
use reqwest::Method;
use serde_json::json;

use crate::harness::{
    PASSWORD, Receiver, TestApp, add_user, csrf_of, login, post_form, testid_text,
};
use crate::store_test;

const T: TenantId = TenantId::DEFAULT;

/// Posts a form whose response reveals a secret once: deliberately not recorded for the
/// leak check (the caller registers the revealed value).
async fn post_revealing(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let response = app
        .client
        .post(format!("{}{path}", app.url))
        .form(fields)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

store_test!(business_systems_through_the_api, |db| async move {
    let app = TestApp::start(&db).await;
    let admin = app.api_key(&[Scope::Admin]).await;
    let read = app.api_key(&[Scope::Read]).await;

    let new = json!({ "name": "OA 办公", "allowed_origins": ["https://OA.example.com/", "http://10.0.0.5:8080"],
                      "remark": "致远 OA" });
    let (status, _) = app
        .api(
            Method::POST,
            "/business-systems",
            Some(&read),
            Some(new.clone()),
        )
        .await;
    assert_eq!(status, 403);
    let (status, oa) = app
        .api(
            Method::POST,
            "/business-systems",
            Some(&admin),
            Some(new.clone()),
        )
        .await;
    assert_eq!(status, 201, "{oa}");
    assert_eq!(
        oa["allowed_origins"],
        json!(["https://oa.example.com", "http://10.0.0.5:8080"]),
        "origins are normalised"
    );
    let id = oa["id"].as_i64().unwrap();
    let (status, _) = app
        .api(Method::POST, "/business-systems", Some(&admin), Some(new))
        .await;
    assert_eq!(status, 409, "names are unique");
    for (body, field) in [
        (
            json!({ "name": "x", "allowed_origins": ["https://oa.example.com/login"] }),
            "allowed_origins",
        ),
        (
            json!({ "name": "x", "allowed_origins": ["oa.example.com"] }),
            "allowed_origins",
        ),
        (json!({ "name": " " }), "name"),
    ] {
        let (status, error) = app
            .api(Method::POST, "/business-systems", Some(&admin), Some(body))
            .await;
        assert_eq!(
            (status, error["details"]["field"].as_str()),
            (422, Some(field)),
            "{error}"
        );
    }
    let (status, body) = app
        .api(
            Method::POST,
            "/business-systems",
            Some(&admin),
            Some(json!({ "name": "x", "unknown": 1 })),
        )
        .await;
    assert_eq!(status, 422, "{body}");

    let path = format!("/business-systems/{id}");
    let (status, patched) = app
        .api(
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({ "allowed_origins": ["https://oa2.example.com"] })),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["name"], "OA 办公");
    assert_eq!(
        patched["allowed_origins"],
        json!(["https://oa2.example.com"])
    );
    let (status, list) = app
        .api(Method::GET, "/business-systems", Some(&read), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, log) = app.api(Method::GET, "/audit-log", Some(&admin), None).await;
    for action in ["business_system.create", "business_system.update"] {
        assert!(log.to_string().contains(action), "{action} audited");
    }

    let (status, _) = app.api(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(status, 204);
    let (status, _) = app.api(Method::GET, &path, Some(&read), None).await;
    assert_eq!(status, 404);
    app.stop().await;
});

/// Creates a key bound to `system` through the API; returns (key id, key).
async fn bound_key(app: &TestApp, admin: &str, system: i64, scopes: &[&str]) -> (i64, String) {
    let response = app
        .client
        .post(format!(
            "{}/api/v1/business-systems/{system}/api-keys",
            app.url
        ))
        .bearer_auth(admin)
        .json(&json!({ "name": "erp-sync", "scopes": scopes }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    // The reveal-once response is deliberately not recorded for the leak check.
    let created: serde_json::Value = response.json().await.unwrap();
    let key = created["key"].as_str().unwrap().to_string();
    app.leaks.secret(key.clone());
    assert_eq!(created["api_key"]["business_system_id"], system);
    (created["api_key"]["id"].as_i64().unwrap(), key)
}

store_test!(keys_bound_to_a_system_act_as_it, |db| async move {
    let app = TestApp::start(&db).await;
    let admin = app.api_key(&[Scope::Admin]).await;
    let mut ids = Vec::new();
    for name in ["OA", "ERP"] {
        let (_, system) = app
            .api(
                Method::POST,
                "/business-systems",
                Some(&admin),
                Some(json!({ "name": name })),
            )
            .await;
        ids.push(system["id"].as_i64().unwrap());
    }
    let (oa, erp) = (ids[0], ids[1]);
    let (key_id, oa_key) = bound_key(&app, &admin, oa, &["admin"]).await;
    let (status, _) = app
        .api(
            Method::POST,
            "/business-systems/999999/api-keys",
            Some(&admin),
            Some(json!({ "name": "x", "scopes": ["read"] })),
        )
        .await;
    assert_eq!(status, 404);

    let (status, keys) = app
        .api(
            Method::GET,
            &format!("/business-systems/{oa}/api-keys"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert_eq!(keys[0]["id"], key_id);
    let (_, all_keys) = app.api(Method::GET, "/api-keys", Some(&admin), None).await;
    assert!(
        all_keys
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == key_id && k["business_system_id"] == oa)
    );

    // The bound key sees its own system only.
    let (status, list) = app
        .api(Method::GET, "/business-systems", Some(&oa_key), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], oa);
    let (status, _) = app
        .api(
            Method::GET,
            &format!("/business-systems/{erp}"),
            Some(&oa_key),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .api(
            Method::POST,
            "/business-systems",
            Some(&oa_key),
            Some(json!({ "name": "mine" })),
        )
        .await;
    assert_eq!(status, 403);
    let hook = json!({ "url": "https://oa.example.com/hook", "event_types": ["*"],
                       "secret": "0123456789abcdef-own" });
    app.leaks.secret("0123456789abcdef-own");
    let (status, _) = app
        .api(
            Method::POST,
            &format!("/business-systems/{erp}/webhook-subscriptions"),
            Some(&oa_key),
            Some(hook.clone()),
        )
        .await;
    assert_eq!(status, 404, "not another system's");
    let response = app
        .client
        .post(format!(
            "{}/api/v1/business-systems/{oa}/webhook-subscriptions",
            app.url
        ))
        .bearer_auth(&oa_key)
        .json(&hook)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "its own");
    // The ERP system's subscription and deliveries are invisible to the OA key.
    let (_, erp_hook) = {
        let response = app
            .client
            .post(format!(
                "{}/api/v1/business-systems/{erp}/webhook-subscriptions",
                app.url
            ))
            .bearer_auth(&admin)
            .json(&json!({ "url": "https://erp.example.com/hook", "event_types": ["*"] }))
            .send()
            .await
            .unwrap();
        let created: serde_json::Value = response.json().await.unwrap();
        app.leaks.secret(created["secret"].as_str().unwrap());
        ((), created["subscription"].clone())
    };
    let (status, _) = app
        .api(
            Method::GET,
            &format!("/webhook-subscriptions/{}", erp_hook["id"]),
            Some(&oa_key),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let state = app.state();
    let mut tx = state.store.begin_write().await.unwrap();
    let event = webhooks::WebhookEvent {
        id: "e1".into(),
        event_type: "callback.message".into(),
        occurred_ms: 1,
        channel_id: None,
        payload: json!({}),
    };
    assert_eq!(webhooks::enqueue(&mut tx, T, &event).await.unwrap(), 2);
    tx.commit().await.unwrap();
    let (_, mine) = app
        .api(Method::GET, "/webhook-deliveries", Some(&oa_key), None)
        .await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["business_system_id"], oa);
    let (_, theirs) = app
        .api(
            Method::GET,
            &format!("/webhook-deliveries?business_system_id={erp}"),
            Some(&oa_key),
            None,
        )
        .await;
    assert_eq!(theirs, json!([]));
    let (_, everything) = app
        .api(Method::GET, "/webhook-deliveries", Some(&admin), None)
        .await;
    assert_eq!(everything.as_array().unwrap().len(), 2);

    // Revoking goes through the system the key belongs to.
    let (status, _) = app
        .api(
            Method::DELETE,
            &format!("/business-systems/{erp}/api-keys/{key_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .api(
            Method::DELETE,
            &format!("/business-systems/{oa}/api-keys/{key_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .api(Method::GET, "/business-systems", Some(&oa_key), None)
        .await;
    assert_eq!(status, 401, "a revoked key stops working");

    // Deleting a system revokes its keys and removes its subscriptions and deliveries.
    let (_, erp_key) = bound_key(&app, &admin, erp, &["read"]).await;
    let (status, _) = app
        .api(
            Method::DELETE,
            &format!("/business-systems/{erp}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .api(Method::GET, "/business-systems", Some(&erp_key), None)
        .await;
    assert_eq!(status, 401);
    let (_, everything) = app
        .api(Method::GET, "/webhook-deliveries", Some(&admin), None)
        .await;
    assert_eq!(everything.as_array().unwrap().len(), 1);
    app.stop().await;
});

store_test!(business_systems_through_the_console, |db| async move {
    let app = TestApp::start(&db).await;
    let state = app.state();
    let receiver = Receiver::start().await;
    add_user(&app, "root", Role::SuperAdmin).await;
    add_user(&app, "ann", Role::Admin).await;
    add_user(&app, "eve", Role::Auditor).await;
    login(&app, "root", PASSWORD).await;
    let (_, home) = app.get("/console").await;
    assert!(
        home.contains("href=\"/console/business-systems\""),
        "in the navigation"
    );
    let (status, page) = app.get("/console/business-systems").await;
    assert_eq!(status, 200);
    assert!(page.contains("业务系统"));
    let token = csrf_of(&page);

    let (status, _) = post_form(
        &app,
        "/console/business-systems",
        &[("name", "OA"), ("allowed_origins", "")],
    )
    .await;
    assert_eq!(status, 403, "no CSRF token, no change");
    let (status, body) = post_form(
        &app,
        "/console/business-systems",
        &[
            ("_csrf", &token),
            ("name", "OA"),
            ("allowed_origins", "https://oa.example.com/path"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        body.contains("allowed_origins"),
        "the error names the field"
    );
    let (status, _) = post_form(
        &app,
        "/console/business-systems",
        &[
            ("_csrf", &token),
            ("name", "OA"),
            (
                "allowed_origins",
                "https://oa.example.com\r\nhttp://10.0.0.5:8080",
            ),
            ("remark", "致远"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let id = qiao::business_systems::list(&state.store, T).await.unwrap()[0].id;
    let detail = format!("/console/business-systems/{id}");
    let (status, page) = app.get(&detail).await;
    assert_eq!(status, 200);
    assert!(page.contains("http://10.0.0.5:8080"));

    // A key bound to the system, shown once.
    let (status, html) = post_revealing(
        &app,
        &format!("{detail}/api-keys"),
        &[
            ("_csrf", &token),
            ("name", "oa-key"),
            ("scope", "read"),
            ("expires_in_days", ""),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let key = testid_text(&html, "new-key").unwrap();
    app.leaks.secret(key.clone());
    let (status, _) = app
        .api(Method::GET, "/business-systems", Some(&key), None)
        .await;
    assert_eq!(status, 200, "the key shown works");

    // A subscription: the secret is generated and shown once, masked afterwards.
    let (status, html) = post_revealing(
        &app,
        &format!("{detail}/webhook-subscriptions"),
        &[
            ("_csrf", &token),
            ("url", &receiver.url),
            ("event_types", "callback.message"),
            ("event_types", "contact.changed"),
            ("secret", ""),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let secret = testid_text(&html, "new-secret").unwrap();
    app.leaks.secret(secret.clone());
    assert!(secret.starts_with("whsec_"));
    let (_, page) = app.get(&detail).await;
    assert!(page.contains("oa-key") && page.contains(&format!("******{}", &secret[45..])));
    let sub = webhooks::list_subscriptions(&state.store, &state.sealer, T, Some(id))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(sub.event_types, ["callback.message", "contact.changed"]);
    let (status, body) = post_form(
        &app,
        &format!("{detail}/webhook-subscriptions"),
        &[("_csrf", &token), ("url", "ftp://x"), ("event_types", "*")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("url"));

    // Edit, disable and enable it.
    let sub_path = format!("/console/webhook-subscriptions/{}", sub.id);
    let (status, _) = post_form(
        &app,
        &sub_path,
        &[
            ("_csrf", &token),
            ("url", &receiver.url),
            ("event_types", "*"),
            ("secret", ""),
            ("enabled", "1"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let shown = webhooks::get_subscription(&state.store, &state.sealer, T, sub.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(shown.event_types, ["*"]);
    assert_eq!(shown.secret, sub.secret, "an empty secret field keeps it");
    for (value, enabled) in [("0", false), ("1", true)] {
        let (status, _) = post_form(
            &app,
            &format!("{sub_path}/enabled"),
            &[("_csrf", &token), ("enabled", value)],
        )
        .await;
        assert_eq!(status, 303);
        let shown = webhooks::get_subscription(&state.store, &state.sealer, T, sub.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(shown.enabled, enabled);
    }

    // A test event, its delivery in the log, and a re-send from the console.
    let (status, _) = post_form(&app, &format!("{sub_path}/test"), &[("_csrf", &token)]).await;
    assert_eq!(status, 303);
    let report = dispatch_until_idle(state, qiao::clock::now_ms())
        .await
        .unwrap();
    assert_eq!(report.delivered, 1);
    assert_eq!(
        receiver.requests()[0].header("x-qiao-event"),
        "webhook.test"
    );
    let (_, page) = app.get(&detail).await;
    assert!(page.contains("webhook.test") && page.contains("已送达"));
    let filter = DeliveryFilter {
        limit: 10,
        ..Default::default()
    };
    let delivery = webhooks::list_deliveries(&state.store, T, &filter)
        .await
        .unwrap()
        .remove(0);
    assert!(page.contains(&format!(
        "/console/webhook-deliveries/{}/resend",
        delivery.id
    )));
    let (status, _) = app.get(&format!("{detail}?state=failed")).await;
    assert_eq!(status, 200);
    let (status, _) = post_form(
        &app,
        &format!("/console/webhook-deliveries/{}/resend", delivery.id),
        &[("_csrf", &token)],
    )
    .await;
    assert_eq!(status, 303);
    let again = webhooks::get_delivery(&state.store, T, delivery.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.state, DeliveryState::Pending);
    dispatch_until_idle(state, qiao::clock::now_ms())
        .await
        .unwrap();
    assert_eq!(receiver.requests().len(), 2);

    // Roles: an admin configures webhooks but cannot reveal API keys; an auditor neither.
    for (user, key_status, hook_status) in [("ann", 403, 200), ("eve", 403, 403)] {
        login(&app, user, PASSWORD).await;
        let (_, page) = app.get(&detail).await;
        let token = csrf_of(&page);
        let (status, _) = post_revealing(
            &app,
            &format!("{detail}/api-keys"),
            &[("_csrf", &token), ("name", "k"), ("scope", "admin")],
        )
        .await;
        assert_eq!(status, key_status, "{user} creating a key");
        let (status, html) = post_revealing(
            &app,
            &format!("{detail}/webhook-subscriptions"),
            &[
                ("_csrf", &token),
                ("url", "https://oa.example.com/other"),
                ("event_types", "contact.changed"),
            ],
        )
        .await;
        assert_eq!(status, hook_status, "{user} creating a subscription");
        if let Some(secret) = testid_text(&html, "new-secret") {
            app.leaks.secret(secret);
        }
    }
    login(&app, "root", PASSWORD).await;
    let (_, page) = app.get(&detail).await;
    let token = csrf_of(&page);

    // Revoke the key, delete the subscription, delete the system.
    let key_id = qiao::auth::api_keys::list_bound_keys(&state.store, T, id)
        .await
        .unwrap()[0]
        .id;
    let (status, _) = post_form(
        &app,
        &format!("{detail}/api-keys/{key_id}/revoke"),
        &[("_csrf", &token)],
    )
    .await;
    assert_eq!(status, 303);
    let (status, _) = app
        .api(Method::GET, "/business-systems", Some(&key), None)
        .await;
    assert_eq!(status, 401);
    let (status, _) = post_form(&app, &format!("{sub_path}/delete"), &[("_csrf", &token)]).await;
    assert_eq!(status, 303);
    let (status, _) = post_form(&app, &format!("{detail}/delete"), &[("_csrf", &token)]).await;
    assert_eq!(status, 303);
    let (_, page) = app.get("/console/business-systems").await;
    assert!(!page.contains(&detail));
    let (status, _) = app.get(&detail).await;
    assert_eq!(status, 404);
    app.stop().await;
});
