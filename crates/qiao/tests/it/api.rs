//! The REST API over a real server: authentication, scopes, errors, and each endpoint.

use qiao::auth::api_keys::Scope;
use reqwest::Method;
use serde_json::json;

use crate::harness::TestApp;
use crate::store_test;

store_test!(authentication_and_scopes, |db| async move {
    let app = TestApp::start(&db).await;
    let read = app.api_key(&[Scope::Read]).await;
    let admin = app.api_key(&[Scope::Admin]).await;

    let (status, body) = app.api(Method::GET, "/settings", None, None).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "unauthorized");
    let (status, body) = app
        .api(Method::GET, "/settings", Some("qiao_not_a_key"), None)
        .await;
    assert_eq!(status, 401, "{body}");

    let (status, body) = app.api(Method::GET, "/settings", Some(&read), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["external_url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1")
    );

    let change =
        json!({ "external_url": "https://qiao.example.com", "public_egress_ip": "203.0.113.7" });
    let (status, body) = app
        .api(Method::PUT, "/settings", Some(&read), Some(change.clone()))
        .await;
    assert_eq!(status, 403);
    assert_eq!(body["details"]["required_scope"], "admin");

    let (status, body) = app
        .api(Method::PUT, "/settings", Some(&admin), Some(change))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["external_url"], "https://qiao.example.com");
    assert_eq!(body["public_egress_ip"], "203.0.113.7");

    let (status, log) = app
        .api(Method::GET, "/audit-log?limit=10", Some(&read), None)
        .await;
    assert_eq!(status, 200);
    let entry = &log.as_array().unwrap()[0];
    assert_eq!(entry["action"], "settings.update");
    assert!(
        entry["actor"]
            .as_str()
            .unwrap()
            .starts_with("api_key:test#")
    );
    assert_eq!(entry["ip"], "127.0.0.1");
    assert_eq!(entry["after"]["public_egress_ip"], "203.0.113.7");
    assert!(
        entry["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    app.stop().await;
});

store_test!(bad_input_is_refused_and_changes_nothing, |db| async move {
    let app = TestApp::start(&db).await;
    let admin = app.api_key(&[Scope::Admin]).await;
    let before = app
        .api(Method::GET, "/settings", Some(&admin), None)
        .await
        .1;

    let (status, body) = app
        .api(
            Method::PUT,
            "/settings",
            Some(&admin),
            Some(json!({ "external_url": "ftp://x" })),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["code"], "invalid_input");
    assert_eq!(body["details"]["field"], "external_url");

    let (status, body) = app
        .api(
            Method::PUT,
            "/settings",
            Some(&admin),
            Some(json!({ "external_urll": "https://x.y" })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "invalid_json");

    let response = app
        .client
        .put(format!("{}/api/v1/settings", app.url))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, text) = app.record("malformed", response).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("invalid_json"));

    let huge = format!(
        "{{\"external_url\": \"https://{}.example.com\"}}",
        "a".repeat(3 * 1024 * 1024)
    );
    // Its own connection: the server may close it before reading the whole body, and a
    // pooled connection closed that way would fail the next request of the shared client.
    let response = reqwest::Client::new()
        .put(format!("{}/api/v1/settings", app.url))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    let (status, text) = app.record("oversized", response).await;
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("body_too_large"), "{text}");

    let (status, body) = app
        .api(Method::GET, "/audit-log?limit=abc", Some(&admin), None)
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "invalid_query");

    let after = app
        .api(Method::GET, "/settings", Some(&admin), None)
        .await
        .1;
    assert_eq!(before, after, "bad input changed nothing");
    let (_, log) = app.api(Method::GET, "/audit-log", Some(&admin), None).await;
    assert_eq!(log.as_array().unwrap().len(), 0);
    app.stop().await;
});

store_test!(admin_users_and_api_keys, |db| async move {
    let app = TestApp::start(&db).await;
    let admin = app.api_key(&[Scope::Admin]).await;
    let read = app.api_key(&[Scope::Read]).await;
    app.leaks.secret("a very good password");

    let new_user =
        json!({ "username": "ops", "role": "super_admin", "password": "a very good password" });
    let (status, body) = app
        .api(
            Method::POST,
            "/admin-users",
            Some(&admin),
            Some(new_user.clone()),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().unwrap();
    assert!(body.get("password_hash").is_none());
    let (status, body) = app
        .api(Method::POST, "/admin-users", Some(&admin), Some(new_user))
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = app
        .api(
            Method::POST,
            "/admin-users",
            Some(&admin),
            Some(json!({ "username": "x y", "role": "admin", "password": "a very good password" })),
        )
        .await;
    assert_eq!(
        (status, body["details"]["field"].as_str()),
        (422, Some("username"))
    );

    let (status, body) = app
        .api(
            Method::PATCH,
            &format!("/admin-users/{id}"),
            Some(&admin),
            Some(json!({ "role": "auditor" })),
        )
        .await;
    assert_eq!(status, 409, "the only super admin stays: {body}");
    let (status, _) = app
        .api(
            Method::PATCH,
            "/admin-users/9999",
            Some(&admin),
            Some(json!({ "disabled": true })),
        )
        .await;
    assert_eq!(status, 404);
    let (status, users) = app
        .api(Method::GET, "/admin-users", Some(&read), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(users[0]["role"], "super_admin");

    // Creating a key reveals it once, and only to an admin-scoped caller.
    let request = json!({ "name": "erp", "scopes": ["read"], "expires_in_days": 30 });
    let (status, _) = app
        .api(
            Method::POST,
            "/api-keys",
            Some(&read),
            Some(request.clone()),
        )
        .await;
    assert_eq!(status, 403);
    let response = app
        .client
        .post(format!("{}/api/v1/api-keys", app.url))
        .bearer_auth(&admin)
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    // The reveal-once response is deliberately not recorded for the leak check.
    let created: serde_json::Value = response.json().await.unwrap();
    let key = created["key"].as_str().unwrap().to_string();
    app.leaks.secret(key.clone());
    let key_id = created["api_key"]["id"].as_i64().unwrap();
    let (status, _) = app.api(Method::GET, "/settings", Some(&key), None).await;
    assert_eq!(status, 200, "the new key works");

    let (status, keys) = app.api(Method::GET, "/api-keys", Some(&admin), None).await;
    assert_eq!(status, 200);
    assert!(
        keys.as_array()
            .unwrap()
            .iter()
            .any(|k| k["name"] == "erp" && k["expires_ms"].is_i64())
    );

    let (status, _) = app
        .api(
            Method::DELETE,
            &format!("/api-keys/{key_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = app.api(Method::GET, "/settings", Some(&key), None).await;
    assert_eq!(status, 401, "a revoked key stops working");
    let (status, body) = app
        .api(Method::DELETE, "/api-keys/abc", Some(&admin), None)
        .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_path")));
    app.stop().await;
});

store_test!(openapi_document_describes_the_api, |db| async move {
    let app = TestApp::start(&db).await;
    let (status, body) = app.get("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/settings",
        "/admin-users",
        "/admin-users/{id}",
        "/api-keys",
        "/api-keys/{id}",
        "/audit-log",
    ] {
        assert!(doc["paths"].get(path).is_some(), "missing {path}");
    }
    assert!(doc["components"]["schemas"].get("ErrorBody").is_some());
    assert!(
        doc["components"]["securitySchemes"]
            .get("api_key")
            .is_some()
    );
    app.stop().await;
});
