//! Domain verification files: uploaded through the API or the console, served at the root.

use qiao::auth::api_keys::Scope;
use reqwest::Method;
use serde_json::json;

use crate::harness::TestApp;
use crate::store_test;

store_test!(verification_files_are_served_as_uploaded, |db| async move {
    let app = TestApp::start(&db).await;
    let key = app.api_key(&[Scope::Admin]).await;
    let content = "aB3dE5fG7hJ9kL1m";
    let (status, _) = app
        .api(
            Method::PUT,
            "/domain-files/MP_verify_aB3dE5fG7hJ9kL1m.txt",
            Some(&key),
            Some(json!({ "content": content })),
        )
        .await;
    assert_eq!(status, 204);
    let (status, served) = app.get("/MP_verify_aB3dE5fG7hJ9kL1m.txt").await;
    assert_eq!((status, served.as_str()), (200, content), "byte for byte");

    let (status, body) = app
        .api(
            Method::PUT,
            "/domain-files/index.html",
            Some(&key),
            Some(json!({ "content": "x" })),
        )
        .await;
    assert_eq!(
        (status, body["details"]["field"].as_str()),
        (422, Some("name"))
    );
    let (status, _) = app
        .api(
            Method::PUT,
            "/domain-files/WW_verify_x.txt",
            Some(&key),
            Some(json!({ "content": "" })),
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = app.get("/WW_verify_unknown.txt").await;
    assert_eq!(status, 404);
    let (status, _) = app.get("/anything-else").await;
    assert_eq!(status, 404);

    let (_, listed) = app
        .api(Method::GET, "/domain-files", Some(&key), None)
        .await;
    assert_eq!(listed[0]["name"], "MP_verify_aB3dE5fG7hJ9kL1m.txt");
    let (status, _) = app
        .api(
            Method::DELETE,
            "/domain-files/MP_verify_aB3dE5fG7hJ9kL1m.txt",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = app.get("/MP_verify_aB3dE5fG7hJ9kL1m.txt").await;
    assert_eq!(status, 404, "removed");
    app.stop().await;
});
