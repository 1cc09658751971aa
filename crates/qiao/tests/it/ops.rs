//! The operational endpoints on a real server.

use crate::harness::TestApp;
use crate::store_test;

store_test!(health_readiness_and_metrics, |db| async move {
    let app = TestApp::start(&db).await;
    let (status, body) = app.get("/healthz").await;
    assert_eq!(status, 200);
    assert!(body.contains("\"ok\""));

    let (status, body) = app.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    let backend = if db.url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    };
    assert!(body.contains(backend), "{body}");

    let (status, body) = app.get("/no/such/thing").await;
    assert_eq!(status, 404);
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["code"], "not_found");

    let (status, body) = app.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("qiao_http_requests_total") && body.contains("route=\"/healthz\""),
        "{body}"
    );
    app.stop().await;
});

store_test!(
    readiness_fails_when_the_database_goes_away,
    |db| async move {
        let app = TestApp::start(&db).await;
        app.state().store.close().await;
        let (status, body) = app.get("/readyz").await;
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("unavailable"));
        let response = app
            .client
            .get(format!("{}/healthz", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            200,
            "liveness does not depend on the database"
        );
        assert!(response.headers().contains_key("x-request-id"));
        app.stop().await;
    }
);
