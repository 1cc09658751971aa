//! The retry policy against the simulator: single flight, token errors, back-off, daily
//! quotas, configuration errors, refresh ahead.

use std::sync::Arc;

use wx::api::Idempotency;
use wx::errcode::Reaction;
use wx::token::{
    AppTokenMode, CallError, Caller, TokenEvent, TokenSource, keys, next_beijing_midnight_ms,
};
use wxsim::{FaultSpec, Times};

use crate::support::*;

async fn dept_list(caller: &Caller, client: &wx::api::WorkClient) -> Result<usize, CallError> {
    caller
        .call(
            "/cgi-bin/department/list",
            Idempotency::Idempotent,
            |t| async move { client.department_list(&t, None).await.map(|l| l.len()) },
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_200_concurrent_calls_one_fetch() {
    let sim = sim().await;
    let client = work_client(&sim);
    let ev = events();
    let shared = store(&sim);
    // Two "nodes" sharing one store.
    let node_a = caller(work_source(
        &sim,
        &client,
        APP_SECRET,
        "1000002",
        shared.clone(),
        &ev,
    ));
    let node_b = caller(work_source(
        &sim,
        &client,
        APP_SECRET,
        "1000002",
        shared.clone(),
        &ev,
    ));
    dept_list(&node_a, &client).await.unwrap();
    dept_list(&node_b, &client).await.unwrap();
    assert_eq!(count(&sim, "/cgi-bin/gettoken", APP_CRED), 1);

    sim.state().advance_clock(7200); // every token expires
    let mut tasks = Vec::new();
    for i in 0..200 {
        let caller = if i % 2 == 0 {
            node_a.clone()
        } else {
            node_b.clone()
        };
        let client = client.clone();
        tasks.push(tokio::spawn(
            async move { dept_list(&caller, &client).await },
        ));
    }
    for t in tasks {
        assert!(t.await.unwrap().unwrap() > 0);
    }
    assert_eq!(
        count(&sim, "/cgi-bin/gettoken", APP_CRED),
        2,
        "one fetch for 200 calls"
    );
    assert_eq!(shared.fetch_count(), 2);
    assert_eq!(
        sim.state()
            .count_requests("/cgi-bin/department/list", Some(APP_CRED)),
        202,
        "no call was rejected and retried"
    );

    // The same for an Official Account on stable_token.
    let (oa, oa_caller, _) = oa_caller(&sim, AppTokenMode::Stable);
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let (oa, oa_caller) = (oa.clone(), oa_caller.clone());
        tasks.push(tokio::spawn(async move {
            let oa = &oa;
            oa_caller
                .call(
                    "/cgi-bin/getcallbackip",
                    Idempotency::Idempotent,
                    |t| async move { oa.getcallbackip(&t).await },
                )
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(count(&sim, "/cgi-bin/stable_token", OA_APPID), 1);
}

#[tokio::test]
async fn token_rotated_behind_our_back_one_transparent_retry() {
    let sim = sim().await;
    // WeCom: the token is revoked (rotation with no grace): 40014, refresh, retry.
    let (client, caller, _) = work_caller(&sim, APP_SECRET, "1000002");
    dept_list(&caller, &client).await.unwrap();
    sim.state().rotate_token(APP_CRED, None);
    let c = &client;
    let (res, report) = caller
        .call_traced(
            "/cgi-bin/department/list",
            Idempotency::Idempotent,
            |t| async move { c.department_list(&t, None).await },
        )
        .await;
    res.unwrap();
    assert_eq!((report.attempts, report.token_refreshes), (2, 1));
    assert_eq!(count(&sim, "/cgi-bin/gettoken", APP_CRED), 2);
    let rejected = sim.state().request_summary(
        &wxsim::RequestFilter::path("/cgi-bin/department/list").credential(APP_CRED),
    );
    assert_eq!(rejected.by_errcode.get("40014"), Some(&1));

    // OA stable_token: another system forced a refresh seconds after we fetched ours.
    let (oa, stable_caller, ev) = oa_caller(&sim, AppTokenMode::Stable);
    let oa = &oa;
    let ip = |caller: &Caller| {
        let caller = caller.clone();
        async move {
            caller
                .call_traced(
                    "/cgi-bin/getcallbackip",
                    Idempotency::Idempotent,
                    |t| async move { oa.getcallbackip(&t).await },
                )
                .await
        }
    };
    ip(&stable_caller).await.0.unwrap();
    sim.state().rotate_token(OA_APPID, Some(0));
    let (res, report) = ip(&stable_caller).await;
    res.unwrap();
    assert_eq!((report.attempts, report.token_refreshes), (2, 1));
    assert!(
        report.foreign_refresh,
        "40001 on a token fetched seconds ago"
    );
    assert_eq!(
        report.forced_refreshes, 0,
        "the plain refresh found the new token"
    );
    assert_eq!(count(&sim, "/cgi-bin/stable_token", OA_APPID), 2);
    assert!(
        ev.lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, TokenEvent::ForeignRefresh { errcode: 40001, .. }))
    );

    // OA plain token (account shared with a legacy system): same, through cgi-bin/token.
    let (oa2, plain_caller, _) = oa_caller(&sim, AppTokenMode::Plain);
    let oa2 = &oa2;
    let call = || {
        plain_caller.call_traced(
            "/cgi-bin/get_api_domain_ip",
            Idempotency::Idempotent,
            |t| async move { oa2.get_api_domain_ip(&t).await },
        )
    };
    call().await.0.unwrap();
    sim.state().rotate_token(OA_APPID, Some(0));
    let (res, report) = call().await;
    res.unwrap();
    assert_eq!(report.attempts, 2);
    assert_eq!(count(&sim, "/cgi-bin/token", OA_APPID), 2);
}

#[tokio::test]
async fn token_error_forever_fails_after_one_retry_without_burning_quota() {
    let sim = sim().await;
    let (oa, caller, ev) = oa_caller(&sim, AppTokenMode::Stable);
    let oa = &oa;
    let info = || {
        caller.call_traced(
            "/cgi-bin/user/info",
            Idempotency::Idempotent,
            |t| async move { oa.user_info(&t, &fan(0), None).await },
        )
    };
    info().await.0.unwrap();
    sim.state().advance_clock(60); // past the 30 s no-op window of force_refresh
    sim.state()
        .add_fault(FaultSpec::errcode("/cgi-bin/user/info", 40001).for_credential(OA_APPID))
        .unwrap();

    let (res, report) = info().await;
    let err = res.unwrap_err();
    assert_eq!(err.errcode(), Some(40001));
    assert_eq!(err.reaction(), Reaction::RefreshTokenAndRetryOnce);
    assert_eq!(report.attempts, 2, "one retry");
    assert_eq!(report.token_refreshes, 1);
    assert_eq!(
        report.forced_refreshes, 1,
        "stable_token kept the failing token: forced once"
    );
    // warm-up + plain refresh + forced refresh
    assert_eq!(count(&sim, "/cgi-bin/stable_token", OA_APPID), 3);
    assert_eq!(count(&sim, "/cgi-bin/user/info", OA_APPID), 3);
    assert_eq!(caller.source().forced_refreshes_today(), 1);
    assert!(ev.lock().unwrap().iter().any(|e| matches!(
        e,
        TokenEvent::ForcedRefresh {
            used_today: 1,
            limit: 20,
            ..
        }
    )));

    // With the day's forced refreshes used up: a clear error, no forced call.
    caller.source().set_forced_refreshes_today(20);
    sim.state().advance_clock(60);
    let (res, report) = info().await;
    let err = res.unwrap_err();
    assert!(
        matches!(
            err,
            CallError::ForceRefreshLimit {
                used: 20,
                limit: 20,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("20 of 20"));
    assert_eq!(report.attempts, 1);
    assert_eq!(
        count(&sim, "/cgi-bin/stable_token", OA_APPID),
        4,
        "plain refresh only"
    );

    // WeCom 40014 forever: one gettoken more, two calls, then the error.
    let (client, wcaller, _) = work_caller(&sim, APP_SECRET, "1000002");
    dept_list(&wcaller, &client).await.unwrap();
    sim.state()
        .add_fault(FaultSpec::errcode("/cgi-bin/department/list", 40014).for_credential(APP_CRED))
        .unwrap();
    let err = dept_list(&wcaller, &client).await.unwrap_err();
    assert_eq!(err.errcode(), Some(40014));
    assert_eq!(count(&sim, "/cgi-bin/gettoken", APP_CRED), 2);
    assert_eq!(count(&sim, "/cgi-bin/department/list", APP_CRED), 3);
}

#[tokio::test]
async fn frequency_limits_back_off_and_succeed_bounded() {
    let sim = sim().await;
    let (client, caller, ev) = work_caller(&sim, CONTACTS_SECRET, "contacts");
    dept_list(&caller, &client).await.unwrap();
    sim.state()
        .add_fault(
            FaultSpec::errcode("/cgi-bin/department/list", 45009)
                .for_credential(CONTACTS_CRED)
                .times(2),
        )
        .unwrap();
    let c = &client;
    let (res, report) = caller
        .call_traced(
            "/cgi-bin/department/list",
            Idempotency::Idempotent,
            |t| async move { c.department_list(&t, None).await },
        )
        .await;
    res.unwrap();
    assert_eq!(report.attempts, 3);
    assert_eq!(report.backoff_delays.len(), 2);
    assert!(report.backoff_delays.iter().all(|d| d.as_millis() <= 4));
    let retries = ev
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, TokenEvent::Retry { reason, .. } if reason == "45009"))
        .count();
    assert_eq!(retries, 2);

    // Forever: gives up after max_attempts, never loops.
    sim.state()
        .add_fault(
            FaultSpec::errcode("/cgi-bin/department/list", 45033).for_credential(CONTACTS_CRED),
        )
        .unwrap();
    let before = count(&sim, "/cgi-bin/department/list", CONTACTS_CRED);
    let (res, report) = caller
        .call_traced(
            "/cgi-bin/department/list",
            Idempotency::Idempotent,
            |t| async move { c.department_list(&t, None).await },
        )
        .await;
    assert_eq!(res.unwrap_err().reaction(), Reaction::BackOff);
    assert_eq!(report.attempts, 4);
    assert_eq!(
        count(&sim, "/cgi-bin/department/list", CONTACTS_CRED) - before,
        4
    );

    // With attempts to spare, the time budget ends it: delays are cut to what is left.
    let budget = std::time::Duration::from_millis(150);
    let patient = caller.clone().with_policy(wx::token::RetryPolicy {
        max_attempts: 10_000,
        max_elapsed: budget,
        ..fast_policy()
    });
    let started = std::time::Instant::now();
    let (res, report) = patient
        .call_traced(
            "/cgi-bin/department/list",
            Idempotency::Idempotent,
            |t| async move { c.department_list(&t, None).await },
        )
        .await;
    assert_eq!(res.unwrap_err().errcode(), Some(45033));
    // (The source's clock counts whole milliseconds.)
    assert!(
        started.elapsed() + std::time::Duration::from_millis(5) >= budget,
        "it kept trying until the budget was spent"
    );
    assert!(
        report.attempts < 10_000,
        "the budget, not the attempts, stopped it"
    );
    assert!(report.backoff_delays.iter().sum::<std::time::Duration>() <= budget);
}

#[tokio::test]
async fn ambiguous_failures_do_not_repeat_non_idempotent_sends() {
    let sim = sim().await;
    let (client, caller, _) = work_caller(&sim, APP_SECRET, "1000002");
    let c = &client;
    let send = |idem: Idempotency, text: &'static str| {
        let caller = caller.clone();
        async move {
            let msg = wx::api::work::AppMessage::new(AGENT, wx::api::work::MessageBody::text(text))
                .to_users(["zhaoliu"]);
            let m = &msg;
            caller
                .call_traced("/cgi-bin/message/send", idem, |t| async move {
                    c.message_send(&t, m).await
                })
                .await
        }
    };
    let http503 = |n: u64| FaultSpec {
        path: "/cgi-bin/message/send".into(),
        http_status: Some(503),
        times: Some(Times::Count(n)),
        ..FaultSpec::default()
    };
    // 5xx: a non-idempotent call is not repeated.
    sim.state().add_fault(http503(1)).unwrap();
    let (res, report) = send(Idempotency::NotIdempotent, "一").await;
    assert!(matches!(
        res.unwrap_err().api_error(),
        Some(wx::api::ApiError::HttpStatus { status: 503, .. })
    ));
    assert_eq!(report.attempts, 1);
    // -1 (outcome unknown): not repeated either.
    sim.state()
        .add_fault(FaultSpec::errcode("/cgi-bin/message/send", -1).times(1))
        .unwrap();
    let (res, report) = send(Idempotency::NotIdempotent, "二").await;
    assert_eq!(res.unwrap_err().errcode(), Some(-1));
    assert_eq!(report.attempts, 1);
    // A frequency limit proves nothing was done: repeated.
    sim.state()
        .add_fault(FaultSpec::errcode("/cgi-bin/message/send", 45033).times(1))
        .unwrap();
    let (res, report) = send(Idempotency::NotIdempotent, "三").await;
    res.unwrap();
    assert_eq!(report.attempts, 2);
    // message/send with duplicate check is idempotent: repeated after a 5xx.
    sim.state().add_fault(http503(1)).unwrap();
    let (res, report) = send(Idempotency::of("/cgi-bin/message/send"), "四").await;
    res.unwrap();
    assert_eq!(report.attempts, 2);
    assert_eq!(sim.state().inbox("zhaoliu").len(), 2);
}

#[tokio::test]
async fn oa_daily_quota_blocks_the_api_until_beijing_midnight() {
    let sim = sim().await;
    let (oa, caller, ev) = oa_caller(&sim, AppTokenMode::Stable);
    let oa = &oa;
    let get = || {
        caller.call(
            "/cgi-bin/user/get",
            Idempotency::Idempotent,
            |t| async move { oa.user_get(&t, None).await },
        )
    };
    sim.state()
        .add_fault(FaultSpec::errcode("/cgi-bin/user/get", 45009).for_credential(OA_APPID))
        .unwrap();
    let err = get().await.unwrap_err();
    let midnight = next_beijing_midnight_ms(sim.state().clock().now_ms());
    match &err {
        CallError::QuotaExhausted { api, until_ms, .. } => {
            assert_eq!(api, "/cgi-bin/user/get");
            assert_eq!(*until_ms, midnight);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(count(&sim, "/cgi-bin/user/get", OA_APPID), 1);
    // Blocked: no further request.
    assert!(matches!(get().await, Err(CallError::QuotaExhausted { .. })));
    assert!(matches!(get().await, Err(CallError::QuotaExhausted { .. })));
    assert_eq!(count(&sim, "/cgi-bin/user/get", OA_APPID), 1);
    assert!(ev.lock().unwrap().iter().any(|e| matches!(
        e,
        TokenEvent::QuotaExhausted { api, .. } if api == "/cgi-bin/user/get"
    )));
    // Other APIs still work.
    caller
        .call(
            "/cgi-bin/getcallbackip",
            Idempotency::Idempotent,
            |t| async move { oa.getcallbackip(&t).await },
        )
        .await
        .unwrap();
    // After midnight (or clear_quota) the API is called again.
    sim.state().clear_faults();
    let now = sim.state().clock().now_ms();
    sim.state().advance_clock((midnight - now) / 1000 + 1);
    get().await.unwrap();
    assert_eq!(count(&sim, "/cgi-bin/user/get", OA_APPID), 2);
}

#[tokio::test]
async fn config_errors_fail_at_once_with_the_ip() {
    let sim = sim().await;
    let (oa, caller, ev) = oa_caller(&sim, AppTokenMode::Stable);
    let oa = &oa;
    sim.state()
        .add_fault(FaultSpec {
            path: "/cgi-bin/stable_token".into(),
            errcode: Some(40164),
            errmsg: Some("invalid ip 47.100.1.2 ipv6 ::ffff:47.100.1.2, not in whitelist".into()),
            ..FaultSpec::default()
        })
        .unwrap();
    let err = caller
        .call(
            "/cgi-bin/user/get",
            Idempotency::Idempotent,
            |t| async move { oa.user_get(&t, None).await },
        )
        .await
        .unwrap_err();
    assert!(err.is_config_error(), "{err}");
    assert_eq!(err.ip(), Some("47.100.1.2".parse().unwrap()));
    let text = err.to_string();
    assert!(
        text.contains("not in whitelist") && text.contains("47.100.1.2"),
        "{text}"
    );
    assert_eq!(
        count(&sim, "/cgi-bin/stable_token", OA_APPID),
        1,
        "no retry"
    );
    assert_eq!(count(&sim, "/cgi-bin/user/get", OA_APPID), 0);
    assert!(ev.lock().unwrap().iter().any(|e| matches!(
        e,
        TokenEvent::ConfigError {
            errcode: Some(40164),
            ip: Some(_),
            ..
        }
    )));

    // WeCom 60020 on a business API: the IP comes from the errmsg tail ("from ip: ...").
    let (client, wcaller, _) = work_caller(&sim, APP_SECRET, "1000002");
    sim.state()
        .add_fault(FaultSpec::errcode("/cgi-bin/agent/get", 60020))
        .unwrap();
    let c = &client;
    let (res, report) = wcaller
        .call_traced(
            "/cgi-bin/agent/get",
            Idempotency::Idempotent,
            |t| async move { c.agent_get(&t, AGENT).await },
        )
        .await;
    let err = res.unwrap_err();
    assert!(err.is_config_error());
    assert_eq!(err.ip(), Some("127.0.0.1".parse().unwrap()));
    assert!(err.wx().unwrap().hint.is_some());
    assert_eq!(report.attempts, 1);

    // Wrong WeCom secret: 40001 at gettoken is configuration, not a token error.
    let (client, bad, _) = work_caller(&sim, "not-a-secret", "bad");
    let err = dept_list(&bad, &client).await.unwrap_err();
    assert!(err.is_config_error(), "{err}");
    assert_eq!(err.errcode(), Some(40001));
}

#[tokio::test]
async fn refresh_ahead_of_expiry() {
    let sim = sim().await;
    let (oa, caller, _) = oa_caller(&sim, AppTokenMode::Stable);
    let oa = &oa;
    let ips = || {
        caller.call(
            "/cgi-bin/getcallbackip",
            Idempotency::Idempotent,
            |t| async move { oa.getcallbackip(&t).await },
        )
    };
    ips().await.unwrap();
    let first = caller.source().token().await.unwrap();
    // 200 s left: inside the 300 s margin; stable_token hands out the next token now.
    sim.state().advance_clock(7000);
    ips().await.unwrap();
    let second = caller.source().token().await.unwrap();
    assert_ne!(first.value, second.value);
    for _ in 0..5 {
        ips().await.unwrap();
    }
    assert_eq!(count(&sim, "/cgi-bin/stable_token", OA_APPID), 2);

    // WeCom hands out the same token until it expires: one refresh attempt, then the
    // refreshed copy is used without a fetch per call.
    let (client, wcaller, _) = work_caller(&sim, APP_SECRET, "1000002");
    dept_list(&wcaller, &client).await.unwrap();
    sim.state().advance_clock(7000);
    for _ in 0..5 {
        dept_list(&wcaller, &client).await.unwrap();
    }
    assert_eq!(count(&sim, "/cgi-bin/gettoken", APP_CRED), 2);
    // And when it really expires, a new one.
    sim.state().advance_clock(300);
    dept_list(&wcaller, &client).await.unwrap();
    assert_eq!(count(&sim, "/cgi-bin/gettoken", APP_CRED), 3);
}

#[tokio::test]
async fn refresh_ahead_failure_keeps_using_the_valid_token() {
    let sim = sim().await;
    let client = work_client(&sim);
    let ev = events();
    let source = Arc::new(
        TokenSource::work(
            keys::work(CORP, "contacts"),
            &client,
            CORP,
            CONTACTS_SECRET,
            store(&sim),
        )
        .with_clock(sim_clock(&sim))
        .with_events(sink(&ev)),
    );
    let caller = caller(source);
    dept_list(&caller, &client).await.unwrap();
    sim.state().advance_clock(7000);
    sim.state()
        .add_fault(FaultSpec {
            path: "/cgi-bin/gettoken".into(),
            http_status: Some(502),
            ..FaultSpec::default()
        })
        .unwrap();
    dept_list(&caller, &client).await.unwrap();
    dept_list(&caller, &client).await.unwrap();
    assert_eq!(
        count(&sim, "/cgi-bin/gettoken", CONTACTS_CRED),
        2,
        "one failed refresh ahead (HTTP 502), then back off"
    );
    assert!(
        ev.lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, TokenEvent::RefreshAheadFailed { .. }))
    );
}

#[tokio::test]
async fn transient_failure_while_refreshing_after_a_token_error_backs_off() {
    let sim = sim().await;
    let (client, caller, _) = work_caller(&sim, APP_SECRET, "1000002");
    dept_list(&caller, &client).await.unwrap();
    sim.state().rotate_token(APP_CRED, None);
    sim.state()
        .add_fault(FaultSpec {
            path: "/cgi-bin/gettoken".into(),
            http_status: Some(502),
            times: Some(Times::Count(1)),
            ..FaultSpec::default()
        })
        .unwrap();
    let c = &client;
    let (res, report) = caller
        .call_traced(
            "/cgi-bin/department/list",
            Idempotency::Idempotent,
            |t| async move { c.department_list(&t, None).await },
        )
        .await;
    res.unwrap();
    assert_eq!(
        report.attempts, 2,
        "rejected once, then the refreshed token"
    );
    assert_eq!(report.token_refreshes, 1);
    assert_eq!(
        report.backoff_delays.len(),
        1,
        "the failed refresh was retried"
    );
    assert_eq!(count(&sim, "/cgi-bin/gettoken", APP_CRED), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_callers_share_a_failed_fetch() {
    let sim = sim().await;
    let (client, caller, _) = work_caller(&sim, APP_SECRET, "1000002");
    let caller = caller.with_policy(wx::token::RetryPolicy {
        max_attempts: 1,
        ..fast_policy()
    });
    sim.state()
        .add_fault(FaultSpec {
            path: "/cgi-bin/gettoken".into(),
            http_status: Some(503),
            delay_ms: Some(150),
            ..FaultSpec::default()
        })
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (caller, client) = (caller.clone(), client.clone());
        tasks.push(tokio::spawn(
            async move { dept_list(&caller, &client).await },
        ));
    }
    for t in tasks {
        let err = t.await.unwrap().unwrap_err();
        assert!(matches!(err, CallError::Token { .. }), "{err}");
    }
    assert_eq!(
        count(&sim, "/cgi-bin/gettoken", APP_CRED),
        1,
        "one failing fetch, shared with the 49 callers queued behind it"
    );
}
