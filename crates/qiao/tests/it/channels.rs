//! Channels through the REST API: validation, masking, sealing at rest, rotation, deletion.

use qiao::auth::api_keys::Scope;
use qiao::secrets::{KeySource, MasterKey, Sealer, rotate_master_key};
use reqwest::Method;
use serde_json::json;

use crate::harness::{TestApp, raw_database};
use crate::store_test;

const OA_SECRET: &str = "0123456789abcdef0123456789abcdef";
const APP_SECRET: &str = "Xk3rT8pLmN2vQ9wYz5aB7cD1eF4gH6jK0iU8oP2sR4t";

fn new_oa(app_id: &str) -> serde_json::Value {
    json!({ "kind": "official_account", "name": "人事服务号", "app_id": app_id,
            "app_secret": OA_SECRET, "original_id": "gh_7f083739789a",
            "account_type": "service", "verified": true })
}

store_test!(channels_are_validated_masked_and_sealed, |db| async move {
    let app = TestApp::start(&db).await;
    app.leaks.secret(OA_SECRET);
    app.leaks.secret(APP_SECRET);
    let admin = app.api_key(&[Scope::Admin]).await;

    let (status, oa) = app
        .api(
            Method::POST,
            "/channels",
            Some(&admin),
            Some(new_oa("wx1234567890abcdef")),
        )
        .await;
    assert_eq!(status, 201, "{oa}");
    assert_eq!(oa["secrets"]["app_secret"], "******cdef", "masked");
    assert_eq!(
        oa["attrs"]["endpoints"]["api_base_url"],
        "https://api.weixin.qq.com"
    );
    assert_eq!(oa["limitations"].as_array().unwrap().len(), 0);

    let (status, body) = app
        .api(
            Method::POST,
            "/channels",
            Some(&admin),
            Some(new_oa("wx1234567890abcdef")),
        )
        .await;
    assert_eq!(status, 409, "one AppID once: {body}");
    let (status, body) = app
        .api(
            Method::POST,
            "/channels",
            Some(&admin),
            Some(new_oa("wx12")),
        )
        .await;
    assert_eq!(
        (status, body["details"]["field"].as_str()),
        (422, Some("app_id"))
    );
    let mut bad_secret = new_oa("wx1234567890abcdee");
    bad_secret["app_secret"] = json!("short secret!");
    let (status, body) = app
        .api(Method::POST, "/channels", Some(&admin), Some(bad_secret))
        .await;
    assert_eq!(status, 422);
    assert!(
        !body.to_string().contains("short secret!"),
        "a rejected secret is not echoed"
    );

    // A subscription account says what it cannot do.
    let id = oa["id"].as_i64().unwrap();
    let (status, patched) = app
        .api(
            Method::PATCH,
            &format!("/channels/{id}"),
            Some(&admin),
            Some(json!({ "account_type": "subscription" })),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["limitations"].as_array().unwrap().len(), 2);
    let (status, body) = app
        .api(
            Method::PATCH,
            &format!("/channels/{id}"),
            Some(&admin),
            Some(json!({ "homepage_url": "https://x.example" })),
        )
        .await;
    assert_eq!(
        (status, body["details"]["field"].as_str()),
        (422, Some("homepage_url"))
    );

    // The secret is not readable at rest.
    assert!(
        !raw_database(&db)
            .await
            .windows(OA_SECRET.len())
            .any(|w| w == OA_SECRET.as_bytes())
    );
    let secret = qiao::channels::secret(&app.state().store, &app.state().sealer, id, "app_secret")
        .await
        .unwrap();
    assert_eq!(secret.as_deref(), Some(OA_SECRET));

    // A corp with an app: the corp cannot go while the app uses it.
    let corp = json!({ "kind": "wecom_corp", "name": "示例集团", "corp_id": "ww1436e0e65a779aee",
                       "contacts_secret": APP_SECRET, "contacts_permission": "read_write" });
    let (status, corp) = app
        .api(Method::POST, "/channels", Some(&admin), Some(corp))
        .await;
    assert_eq!(status, 201, "{corp}");
    let corp_id = corp["id"].as_i64().unwrap();
    let wecom_app = json!({ "kind": "wecom_app", "corp": corp_id, "name": "审批", "agent_id": 1000002, "secret": APP_SECRET });
    let (status, wecom_app) = app
        .api(Method::POST, "/channels", Some(&admin), Some(wecom_app))
        .await;
    assert_eq!(status, 201, "{wecom_app}");
    assert_eq!(wecom_app["external_id"], "1000002");
    let bad_parent = json!({ "kind": "wecom_app", "corp": id, "name": "x", "agent_id": 1000003, "secret": APP_SECRET });
    let (status, body) = app
        .api(Method::POST, "/channels", Some(&admin), Some(bad_parent))
        .await;
    assert_eq!(
        (status, body["details"]["field"].as_str()),
        (422, Some("corp"))
    );

    let (status, body) = app
        .api(
            Method::DELETE,
            &format!("/channels/{corp_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 409);
    assert!(
        body["details"]["used_by"][0]
            .as_str()
            .unwrap()
            .contains("审批"),
        "{body}"
    );
    let (status, _) = app
        .api(
            Method::DELETE,
            &format!("/channels/{}", wecom_app["id"]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .api(
            Method::DELETE,
            &format!("/channels/{corp_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 204);

    let (status, list) = app
        .api(
            Method::GET,
            "/channels?kind=official_account",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (status, _) = app
        .api(Method::GET, "/channels?kind=nope", Some(&admin), None)
        .await;
    assert_eq!(status, 422);

    // The audit log records changes, never secret values.
    let (_, log) = app.api(Method::GET, "/audit-log", Some(&admin), None).await;
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "channel.create")
    );
    app.stop().await;
});

store_test!(
    a_private_deployment_keeps_its_own_endpoints,
    |db| async move {
        let app = TestApp::start(&db).await;
        app.leaks.secret(APP_SECRET);
        let admin = app.api_key(&[Scope::Admin]).await;
        let endpoints = json!({ "api_base_url": "https://wecom.corp.example/", "oauth_base_url": "https://wecom.corp.example",
                            "web_login_base_url": "https://wecom.corp.example" });
        let corp = json!({ "kind": "wecom_corp", "name": "私有化企业微信", "corp_id": "corp-0042", "endpoints": endpoints });
        let (status, corp) = app
            .api(Method::POST, "/channels", Some(&admin), Some(corp))
            .await;
        assert_eq!(status, 201, "{corp}");
        assert_eq!(
            corp["attrs"]["endpoints"]["api_base_url"],
            "https://wecom.corp.example"
        );
        let cloud = json!({ "kind": "wecom_corp", "name": "x", "corp_id": "corp-0042" });
        let (status, body) = app
            .api(Method::POST, "/channels", Some(&admin), Some(cloud))
            .await;
        assert_eq!(
            (status, body["details"]["field"].as_str()),
            (422, Some("corp_id")),
            "cloud CorpIDs have a shape"
        );
        app.stop().await;
    }
);

store_test!(
    channel_secrets_survive_master_key_rotation,
    |db| async move {
        let key = MasterKey::generate();
        let (state, _) = qiao::app::open_state(db.config(&key)).await.unwrap();
        let actor = qiao::audit::Actor::cli();
        let new: qiao::channels::NewChannel =
            serde_json::from_value(new_oa("wx1234567890abcdef")).unwrap();
        let oa = qiao::channels::create(
            &state.store,
            &state.sealer,
            qiao::store::TenantId::DEFAULT,
            new,
            &actor,
            1,
        )
        .await
        .unwrap();
        let key_file = db.data_dir().join("master.key");
        std::fs::write(&key_file, key.to_base64()).unwrap();
        let report = rotate_master_key(
            &state.store,
            &Sealer::new(key),
            &KeySource::File(key_file.clone()),
            None,
        )
        .await
        .unwrap();
        assert_eq!(report.resealed, 1);
        let rotated = Sealer::new(
            MasterKey::from_base64(&std::fs::read_to_string(&key_file).unwrap()).unwrap(),
        );
        let secret = qiao::channels::secret(&state.store, &rotated, oa.id, "app_secret")
            .await
            .unwrap();
        assert_eq!(secret.as_deref(), Some(OA_SECRET));
        state.store.close().await;
    }
);
