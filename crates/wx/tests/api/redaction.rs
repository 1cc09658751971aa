//! Tokens and secrets never show in errors, logs or observer records.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use wx::api::{
    ApiError, CallRecord, HttpClient, HttpConfig, Idempotency, MpClient, OaClient, Secret,
    SuiteClient, TransportKind, WorkClient, redact_url,
};
use wx::token::{AppTokenMode, CachedToken, Caller, MemoryTokenStore, TokenSource};

use crate::canned;
use crate::support::url;

const SECRETS: &[&str] = &[
    "TOPSECRET",
    "TOKEN123",
    "CORPSECRET",
    "JSCODE",
    "OAUTHCODE",
    "SUITETOKEN",
    "PERMCODE",
    "PROVSECRET",
    "SUITESECRET",
];

fn assert_clean(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what} leaks {s}: {text}");
    }
}

fn check(e: &ApiError) {
    assert_clean("Display", &e.to_string());
    assert_clean("Debug", &format!("{e:?}"));
}

/// A base URL where nothing listens (connection refused).
async fn dead_base() -> url::Url {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    url(&format!("http://{addr}/prefix"))
}

#[tokio::test]
async fn connection_refused_errors_are_redacted() {
    let base = dead_base().await;
    let http = HttpClient::with_config(&HttpConfig {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(3),
        ..HttpConfig::default()
    })
    .unwrap();
    let oa = OaClient::new(http.clone(), base.clone());
    let e = oa.token("wx1", "TOPSECRET").await.unwrap_err();
    check(&e);
    match &e {
        ApiError::Transport { kind, url, api, .. } => {
            assert_eq!(*kind, TransportKind::Connect);
            assert_eq!(api, "/cgi-bin/token");
            assert!(
                url.contains("secret=***") && url.contains("appid=wx1"),
                "{url}"
            );
            assert!(url.contains("/prefix/cgi-bin/token"), "{url}");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.proves_nothing_done(wx::errcode::Product::OfficialAccount));
    check(&oa.user_get("TOKEN123", None).await.unwrap_err());
    check(
        &oa.oauth2_access_token("wx1", "TOPSECRET", "OAUTHCODE")
            .await
            .unwrap_err(),
    );
    check(&oa.sns_userinfo("TOKEN123", "o1", None).await.unwrap_err());
    let work = WorkClient::new(http.clone(), base.clone());
    let e = work.gettoken("ww1", "CORPSECRET").await.unwrap_err();
    check(&e);
    assert!(e.to_string().contains("corpsecret=***"), "{e}");
    check(
        &work
            .auth_getuserinfo("TOKEN123", "OAUTHCODE")
            .await
            .unwrap_err(),
    );
    let mp = MpClient::new(http.clone(), base.clone());
    check(
        &mp.jscode2session("wx2", "TOPSECRET", "JSCODE")
            .await
            .unwrap_err(),
    );
    let suite = SuiteClient::new(http.clone(), base.clone());
    check(&suite.get_pre_auth_code("SUITETOKEN").await.unwrap_err());
    check(
        &suite
            .get_auth_info("SUITETOKEN", "ww1", "PERMCODE")
            .await
            .unwrap_err(),
    );
    check(
        &suite
            .get_suite_token("s1", "SUITESECRET", "t")
            .await
            .unwrap_err(),
    );
    check(
        &suite
            .get_provider_token("ww1", "PROVSECRET")
            .await
            .unwrap_err(),
    );

    // Through the token layer: the call error and its chain stay clean.
    let source = Arc::new(TokenSource::official_account(
        "oa:wx1",
        &oa,
        "wx1",
        "TOPSECRET",
        AppTokenMode::Plain,
        Arc::new(MemoryTokenStore::new()),
    ));
    let caller = Caller::new(source).with_policy(crate::support::fast_policy());
    let oa_ref = &oa;
    let (res, report) = caller
        .call_traced(
            "/cgi-bin/user/get",
            Idempotency::Idempotent,
            |t| async move { oa_ref.user_get(&t, None).await },
        )
        .await;
    let err = res.unwrap_err();
    assert_clean("CallError", &err.to_string());
    assert_clean("CallError Debug", &format!("{err:?}"));
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&err);
    while let Some(s) = source {
        assert_clean("source", &s.to_string());
        source = s.source();
    }
    assert_eq!(report.attempts, 0, "no token, no API request");
    assert_eq!(
        report.backoff_delays.len(),
        3,
        "the token fetch was retried with back-off"
    );
}

#[test]
fn debug_of_credentials_is_redacted() {
    let s = Secret::new("TOPSECRET");
    assert_eq!(format!("{s:?}"), "Secret(***)");
    let t = CachedToken::from_expires_in("TOKEN123", 7200, 0);
    assert_clean("CachedToken", &format!("{t:?}"));
    let tok: wx::api::AccessToken =
        serde_json::from_str(r#"{"access_token":"TOKEN123","expires_in":"7200"}"#).unwrap();
    assert_eq!(tok.expires_in, 7200);
    assert_clean("AccessToken", &format!("{tok:?}"));
    let u = url(
        "https://api.weixin.qq.com/sns/jscode2session?appid=a&secret=TOPSECRET&js_code=JSCODE&grant_type=authorization_code",
    );
    let r = redact_url(&u);
    assert_clean("redact_url", &r);
    assert!(r.ends_with("appid=a&secret=***&js_code=***&grant_type=authorization_code"));
}

#[tokio::test]
async fn status_decode_and_observer() {
    let server = canned::start(&[
        ("/cgi-bin/getcallbackip", 502, "<html>Bad Gateway</html>"),
        (
            "/cgi-bin/get_api_domain_ip",
            200,
            "<html>captive portal</html>",
        ),
        (
            "/cgi-bin/menu/get",
            200,
            r#"{"errcode":"46003","errmsg":"menu no exist"}"#,
        ),
    ])
    .await;
    let records: Arc<Mutex<Vec<String>>> = Arc::default();
    let r = Arc::clone(&records);
    let http = HttpClient::new()
        .unwrap()
        .with_observer(Arc::new(move |rec: &CallRecord<'_>| {
            r.lock().unwrap().push(format!(
                "{} {} {:?} {:?}",
                rec.method, rec.api, rec.status, rec.errcode
            ));
        }));
    let oa = OaClient::new(http, server.base.clone());
    let e = oa.getcallbackip("TOKEN123").await.unwrap_err();
    assert!(
        matches!(e, ApiError::HttpStatus { status: 502, .. }),
        "{e:?}"
    );
    check(&e);
    let e = oa.get_api_domain_ip("TOKEN123").await.unwrap_err();
    assert!(matches!(e, ApiError::Decode { .. }), "{e:?}");
    check(&e);
    // errcode as a string is still an errcode; 46003 means "no menu".
    assert!(oa.menu_get("TOKEN123").await.unwrap().is_none());
    let records = records.lock().unwrap().clone();
    assert_eq!(
        records,
        vec![
            "GET /cgi-bin/getcallbackip Some(502) None",
            "GET /cgi-bin/get_api_domain_ip Some(200) None",
            "GET /cgi-bin/menu/get Some(200) Some(46003)",
        ]
    );
    for r in &records {
        assert_clean("observer", r);
    }
}
