//! Webhooks: the outbox in the producer's transaction, signed deliveries checked by an
//! independent HMAC, retries driven by passing the time, dead deliveries, re-sends, 410 Gone,
//! leases between dispatchers, sealed secrets and key rotation, the background loop.

use std::collections::HashSet;

use qiao::app::{AppState, open_state};
use qiao::audit::{self, Actor};
use qiao::auth::api_keys::Scope;
use qiao::business_systems::{self, NewBusinessSystem};
use qiao::on_db;
use qiao::secrets::{KeySource, MasterKey, rotate_master_key};
use qiao::store::TenantId;
use qiao::webhooks::{
    self, Delivery, DeliveryFilter, DeliveryState, MAX_ATTEMPTS, NewSubscription, Subscription,
    SubscriptionPatch, WebhookEvent, dispatch_due, dispatch_until_idle, signing,
};
use reqwest::Method;
use serde_json::json;

use crate::harness::{Receiver, TestApp, raw_database};
use crate::store_test;

const T: TenantId = TenantId::DEFAULT;
const SECRET: &str = "whsec_test_0123456789abcdefghij";
const HOUR: i64 = 3_600_000;

fn actor() -> Actor {
    Actor::cli()
}

async fn system(app: &TestApp, name: &str) -> i64 {
    let new = NewBusinessSystem {
        name: name.into(),
        allowed_origins: vec![],
        remark: String::new(),
    };
    business_systems::create(&app.state().store, T, new, &actor(), 1)
        .await
        .unwrap()
        .id
}

async fn subscribe(app: &TestApp, system: i64, url: &str, types: &[&str]) -> Subscription {
    app.leaks.secret(SECRET);
    let new = NewSubscription {
        url: url.into(),
        event_types: types.iter().map(|t| t.to_string()).collect(),
        secret: Some(SECRET.into()),
        enabled: true,
    };
    let state = app.state();
    webhooks::create_subscription(&state.store, &state.sealer, T, system, new, &actor(), 1)
        .await
        .unwrap()
        .0
}

fn event(id: &str, event_type: &str, at: i64) -> WebhookEvent {
    WebhookEvent {
        id: id.into(),
        event_type: event_type.into(),
        occurred_ms: at,
        channel_id: Some(7),
        payload: json!({ "MsgType": "text", "Content": "你好，桥" }),
    }
}

async fn enqueue(state: &AppState, event: &WebhookEvent) -> usize {
    let mut tx = state.store.begin_write().await.unwrap();
    let added = webhooks::enqueue(&mut tx, T, event).await.unwrap();
    tx.commit().await.unwrap();
    added
}

async fn deliveries(state: &AppState) -> Vec<Delivery> {
    let filter = DeliveryFilter {
        limit: 500,
        ..Default::default()
    };
    webhooks::list_deliveries(&state.store, T, &filter)
        .await
        .unwrap()
}

async fn delivery(state: &AppState, id: i64) -> Delivery {
    webhooks::get_delivery(&state.store, T, id)
        .await
        .unwrap()
        .unwrap()
}

store_test!(
    enqueue_takes_part_in_the_callers_transaction,
    |db| async move {
        let app = TestApp::start(&db).await;
        let state = app.state();
        let oa = system(&app, "OA").await;
        let callbacks = subscribe(&app, oa, "https://oa.example.com/a", &["callback.*"]).await;
        let contacts = subscribe(&app, oa, "https://oa.example.com/b", &["contact.changed"]).await;
        let off = subscribe(&app, oa, "https://oa.example.com/c", &["*"]).await;
        let patch = SubscriptionPatch {
            enabled: Some(false),
            ..Default::default()
        };
        webhooks::update_subscription(&state.store, &state.sealer, T, off.id, patch, &actor(), 2)
            .await
            .unwrap();

        let message = event("cb-1", "callback.message", 10);
        let mut tx = state.store.begin_write().await.unwrap();
        assert_eq!(webhooks::enqueue(&mut tx, T, &message).await.unwrap(), 1);
        drop(tx);
        assert!(
            deliveries(state).await.is_empty(),
            "a rolled-back transaction enqueues nothing"
        );

        assert_eq!(enqueue(state, &message).await, 1);
        assert_eq!(
            enqueue(state, &message).await,
            0,
            "the same event id is enqueued once per subscription"
        );
        assert_eq!(
            enqueue(state, &event("ct-1", "contact.changed", 11)).await,
            1
        );
        let all = deliveries(state).await;
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].subscription_id, contacts.id);
        assert_eq!(all[1].subscription_id, callbacks.id);
        assert_eq!(all[1].state, DeliveryState::Pending);
        assert_eq!(all[1].next_attempt_ms, 10, "due when the event occurred");
        assert!(all[1].body.is_none(), "lists leave bodies out");
        let one = delivery(state, all[1].id).await;
        let body: serde_json::Value = serde_json::from_str(one.body.as_deref().unwrap()).unwrap();
        assert_eq!(
            body,
            json!({ "id": "cb-1", "type": "callback.message", "occurred_ms": 10, "channel_id": 7,
                    "data": { "MsgType": "text", "Content": "你好，桥" } })
        );
        app.stop().await;
    }
);

store_test!(deliveries_are_signed_and_verifiable, |db| async move {
    let app = TestApp::start(&db).await;
    let state = app.state();
    let receiver = Receiver::start().await;
    let oa = system(&app, "OA").await;
    subscribe(&app, oa, &receiver.url, &["callback.message"]).await;
    let now = 1_795_598_121_500;
    assert_eq!(
        enqueue(state, &event("cb-1", "callback.message", now)).await,
        1
    );
    let report = dispatch_due(state, now).await.unwrap();
    assert_eq!((report.claimed, report.delivered), (1, 1));

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    let id = deliveries(state).await[0].id;
    assert_eq!(request.header("x-qiao-event"), "callback.message");
    assert_eq!(request.header("x-qiao-delivery"), id.to_string());
    assert_eq!(request.header("x-qiao-timestamp"), "1795598121");
    assert_eq!(request.header("content-type"), "application/json");
    assert!(request.signed_with(SECRET), "{:?}", request.headers);
    assert_eq!(
        signing::verify(
            SECRET,
            request.header("x-qiao-timestamp"),
            request.body.as_bytes(),
            request.header("x-qiao-signature"),
            1_795_598_130,
            300,
        ),
        Ok(())
    );
    let body: serde_json::Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(body["data"]["Content"], "你好，桥");

    let sent = delivery(state, id).await;
    assert_eq!(sent.state, DeliveryState::Delivered);
    assert_eq!(
        (sent.attempts, sent.last_status, sent.delivered_ms),
        (1, Some(200), Some(now))
    );
    assert_eq!(dispatch_due(state, now + HOUR).await.unwrap().claimed, 0);
    app.stop().await;
});

store_test!(
    a_failed_attempt_is_retried_with_backoff_and_logged,
    |db| async move {
        let app = TestApp::start(&db).await;
        let state = app.state();
        let receiver = Receiver::start().await;
        receiver.answer(&[500]);
        let oa = system(&app, "OA").await;
        let sub = subscribe(&app, oa, &receiver.url, &["*"]).await;
        let now = 1_800_000_000_000;
        enqueue(state, &event("cb-1", "callback.event", now)).await;

        let report = dispatch_due(state, now).await.unwrap();
        assert_eq!((report.claimed, report.retrying), (1, 1));
        let id = deliveries(state).await[0].id;
        let first = delivery(state, id).await;
        assert_eq!(first.state, DeliveryState::Pending);
        assert_eq!((first.attempts, first.last_status), (1, Some(500)));
        assert!(first.last_error.as_deref().unwrap().contains("HTTP 500"));
        let wait = first.next_attempt_ms - now;
        assert!(
            (8_000..=12_000).contains(&wait),
            "10 s with jitter, got {wait}"
        );

        assert_eq!(
            dispatch_due(state, now + 5_000).await.unwrap().claimed,
            0,
            "not due yet"
        );
        let report = dispatch_due(state, now + 12_001).await.unwrap();
        assert_eq!(report.delivered, 1);
        let second = delivery(state, id).await;
        assert_eq!(second.state, DeliveryState::Delivered);
        assert_eq!(
            (second.attempts, second.last_status, second.last_error),
            (2, Some(200), None)
        );
        let requests = receiver.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(
            requests[0].header("x-qiao-delivery"),
            requests[1].header("x-qiao-delivery"),
            "a retry is the same delivery"
        );
        assert_ne!(
            requests[0].header("x-qiao-timestamp"),
            requests[1].header("x-qiao-timestamp")
        );

        // The log through the API.
        let key = app.api_key(&[Scope::Read]).await;
        let (status, log) = app
            .api(
                Method::GET,
                &format!(
                    "/webhook-deliveries?subscription_id={}&state=delivered",
                    sub.id
                ),
                Some(&key),
                None,
            )
            .await;
        assert_eq!(status, 200, "{log}");
        assert_eq!(log[0]["attempts"], 2);
        assert_eq!(log[0]["last_status"], 200);
        let (status, _) = app
            .api(
                Method::GET,
                "/webhook-deliveries?state=bogus",
                Some(&key),
                None,
            )
            .await;
        assert_eq!(status, 422);

        // A receiver that does not listen: no status, the error says why.
        let closed = {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            format!("http://{}/hook", listener.local_addr().unwrap())
        };
        let down = subscribe(&app, oa, &closed, &["contact.changed"]).await;
        enqueue(state, &event("ct-1", "contact.changed", now)).await;
        let report = dispatch_due(state, now + 20_000).await.unwrap();
        assert_eq!(report.retrying, 1);
        let filter = DeliveryFilter {
            subscription_id: Some(down.id),
            limit: 10,
            ..Default::default()
        };
        let failed = &webhooks::list_deliveries(&state.store, T, &filter)
            .await
            .unwrap()[0];
        assert_eq!(failed.last_status, None);
        assert!(
            failed.last_error.as_deref().unwrap().contains("connect"),
            "{:?}",
            failed.last_error
        );
        app.stop().await;
    }
);

store_test!(
    a_delivery_dies_after_the_last_attempt_and_can_be_resent,
    |db| async move {
        let app = TestApp::start(&db).await;
        let state = app.state();
        let receiver = Receiver::start().await;
        receiver.answer_always(503);
        let oa = system(&app, "OA").await;
        subscribe(&app, oa, &receiver.url, &["*"]).await;
        let mut now = 1_800_000_000_000;
        enqueue(state, &event("cb-1", "callback.message", now)).await;
        let id = deliveries(state).await[0].id;
        for attempt in 1..=MAX_ATTEMPTS {
            let report = dispatch_due(state, now).await.unwrap();
            assert_eq!(report.claimed, 1, "attempt {attempt}");
            let d = delivery(state, id).await;
            assert_eq!(d.attempts, attempt);
            if attempt < MAX_ATTEMPTS {
                assert_eq!(d.state, DeliveryState::Pending);
                // Never sooner than the schedule, never later than its cap (6 h + 20 %).
                let wait = d.next_attempt_ms - now;
                assert!(wait >= webhooks::backoff_ms(attempt) * 4 / 5, "{wait}");
                assert!(wait <= 6 * HOUR * 6 / 5, "{wait}");
                now = d.next_attempt_ms;
            } else {
                assert_eq!(report.failed, 1);
                assert_eq!(d.state, DeliveryState::Failed);
                assert_eq!(d.last_status, Some(503));
            }
        }
        assert_eq!(receiver.requests().len() as i64, MAX_ATTEMPTS);
        assert_eq!(
            dispatch_due(state, now + 30 * 24 * HOUR)
                .await
                .unwrap()
                .claimed,
            0,
            "a failed delivery stays failed"
        );

        let admin = app.api_key(&[Scope::Admin]).await;
        let read = app.api_key(&[Scope::Read]).await;
        let path = format!("/webhook-deliveries/{id}/resend");
        let (status, _) = app.api(Method::POST, &path, Some(&read), None).await;
        assert_eq!(status, 403, "re-sending needs the admin scope");
        let (status, body) = app.api(Method::POST, &path, Some(&admin), None).await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["state"], "pending");
        assert_eq!(body["attempts"], 0);
        let (status, body) = app.api(Method::POST, &path, Some(&admin), None).await;
        assert_eq!(status, 409, "{body}");
        let (status, _) = app
            .api(
                Method::POST,
                "/webhook-deliveries/999999/resend",
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(status, 404);

        receiver.answer_always(200);
        let report = dispatch_until_idle(state, qiao::clock::now_ms())
            .await
            .unwrap();
        assert_eq!(report.delivered, 1);
        let d = delivery(state, id).await;
        assert_eq!((d.state, d.attempts), (DeliveryState::Delivered, 1));
        let log = audit::list(&state.store, T, None, 50).await.unwrap();
        assert!(log.iter().any(|e| e.action == "webhook_delivery.resend"
            && e.target == format!("webhook_delivery:{id}")));
        app.stop().await;
    }
);

store_test!(
    gone_disables_the_subscription_and_disabled_ones_wait,
    |db| async move {
        let app = TestApp::start(&db).await;
        let state = app.state();
        let receiver = Receiver::start().await;
        receiver.answer(&[410]);
        let oa = system(&app, "OA").await;
        let sub = subscribe(&app, oa, &receiver.url, &["*"]).await;
        let now = 1_800_000_000_000;
        enqueue(state, &event("cb-1", "callback.message", now)).await;
        let report = dispatch_due(state, now).await.unwrap();
        assert_eq!((report.failed, report.disabled_subscriptions), (1, 1));
        let d = &deliveries(state).await[0];
        assert_eq!((d.state, d.last_status), (DeliveryState::Failed, Some(410)));

        let admin = app.api_key(&[Scope::Admin]).await;
        let path = format!("/webhook-subscriptions/{}", sub.id);
        let (_, shown) = app.api(Method::GET, &path, Some(&admin), None).await;
        assert_eq!(shown["enabled"], false);
        assert!(shown["disabled_reason"].as_str().unwrap().contains("410"));
        let log = audit::list(&state.store, T, None, 50).await.unwrap();
        assert!(
            log.iter()
                .any(|e| e.action == "webhook_subscription.disable" && e.actor == "system")
        );
        assert_eq!(
            enqueue(state, &event("cb-2", "callback.message", now)).await,
            0,
            "a disabled subscription takes no events"
        );
        let (status, body) = app
            .api(
                Method::POST,
                &format!("/webhook-deliveries/{}/resend", d.id),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(status, 409, "enable it first: {body}");

        let (status, shown) = app
            .api(
                Method::PATCH,
                &path,
                Some(&admin),
                Some(json!({ "enabled": true })),
            )
            .await;
        assert_eq!(status, 200, "{shown}");
        assert_eq!(shown["disabled_reason"], serde_json::Value::Null);
        assert_eq!(
            enqueue(state, &event("cb-3", "callback.message", now)).await,
            1
        );
        // Disabled again by hand: its pending delivery waits instead of being sent.
        app.api(
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({ "enabled": false })),
        )
        .await;
        assert_eq!(dispatch_due(state, now + HOUR).await.unwrap().claimed, 0);
        app.api(
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({ "enabled": true })),
        )
        .await;
        assert_eq!(dispatch_due(state, now + HOUR).await.unwrap().delivered, 1);
        app.stop().await;
    }
);

store_test!(
    two_dispatchers_never_send_the_same_delivery,
    |db| async move {
        let app = TestApp::start(&db).await;
        let receiver = Receiver::start().await;
        receiver.delay(15);
        let oa = system(&app, "OA").await;
        subscribe(&app, oa, &receiver.url, &["*"]).await;
        let now = 1_800_000_000_000;
        const EVENTS: usize = 90;
        for i in 0..EVENTS {
            enqueue(
                app.state(),
                &event(&format!("e-{i}"), "callback.message", now),
            )
            .await;
        }
        // A second node on the same database, with the same master key.
        let key = app.state().sealer.key().clone();
        let (other, _) = open_state(db.config(&key)).await.unwrap();
        assert_ne!(app.state().webhooks.owner(), other.webhooks.owner());

        let (a, b, c) = tokio::join!(
            dispatch_until_idle(app.state(), now),
            dispatch_until_idle(&other, now),
            dispatch_until_idle(app.state(), now),
        );
        let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
        assert_eq!(a.claimed + b.claimed + c.claimed, EVENTS);
        assert_eq!(a.delivered + b.delivered + c.delivered, EVENTS);

        let requests = receiver.requests();
        let ids: HashSet<&str> = requests
            .iter()
            .map(|r| r.header("x-qiao-delivery"))
            .collect();
        assert_eq!(requests.len(), EVENTS, "no delivery was sent twice");
        assert_eq!(ids.len(), EVENTS);
        assert!(
            deliveries(app.state())
                .await
                .iter()
                .all(|d| d.state == DeliveryState::Delivered && d.attempts == 1)
        );
        other.store.close().await;
        app.stop().await;
    }
);

store_test!(
    a_dead_nodes_lease_expires_and_is_taken_over,
    |db| async move {
        let app = TestApp::start(&db).await;
        let state = app.state();
        let receiver = Receiver::start().await;
        let oa = system(&app, "OA").await;
        subscribe(&app, oa, &receiver.url, &["*"]).await;
        let now = 1_800_000_000_000;
        enqueue(state, &event("cb-1", "callback.message", now)).await;
        let id = deliveries(state).await[0].id;
        // Another node claimed it and died mid-send.
        on_db!(&state.store.db, pool => {
            sqlx::query(
                "UPDATE webhook_deliveries SET state = 'in_flight', lease_owner = 'dead-node', \
                 lease_until_ms = $1, attempts = 1 WHERE id = $2",
            )
            .bind(now + webhooks::LEASE_MS)
            .bind(id)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .unwrap();
        assert_eq!(
            dispatch_due(state, now + 1_000).await.unwrap().claimed,
            0,
            "a live lease is respected"
        );
        let report = dispatch_due(state, now + webhooks::LEASE_MS).await.unwrap();
        assert_eq!(report.delivered, 1, "an expired lease is taken over");
        let d = delivery(state, id).await;
        assert_eq!((d.state, d.attempts), (DeliveryState::Delivered, 2));
        app.stop().await;
    }
);

store_test!(
    webhook_secrets_are_sealed_revealed_once_and_survive_rotation,
    |db| async move {
        let app = TestApp::start(&db).await;
        let receiver = Receiver::start().await;
        let admin = app.api_key(&[Scope::Admin]).await;
        let (status, oa) = app
            .api(
                Method::POST,
                "/business-systems",
                Some(&admin),
                Some(json!({ "name": "OA" })),
            )
            .await;
        assert_eq!(status, 201, "{oa}");
        let oa = oa["id"].as_i64().unwrap();
        let path = format!("/business-systems/{oa}/webhook-subscriptions");
        let read = app.api_key(&[Scope::Read]).await;
        let (status, types) = app
            .api(Method::GET, "/webhook-event-types", Some(&read), None)
            .await;
        assert_eq!(status, 200);
        assert!(
            types
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["name"] == "callback.message")
        );
        // Bad input is refused with the field named; a rejected secret is not echoed.
        for (body, field) in [
            (
                json!({ "url": "ftp://oa.example.com/hook", "event_types": ["*"] }),
                "url",
            ),
            (json!({ "url": "not a url", "event_types": ["*"] }), "url"),
            (
                json!({ "url": receiver.url, "event_types": ["callback.nope"] }),
                "event_types",
            ),
            (
                json!({ "url": receiver.url, "event_types": [] }),
                "event_types",
            ),
            (
                json!({ "url": receiver.url, "event_types": ["*"], "secret": "too short!" }),
                "secret",
            ),
        ] {
            let (status, error) = app.api(Method::POST, &path, Some(&admin), Some(body)).await;
            assert_eq!(
                (status, error["details"]["field"].as_str()),
                (422, Some(field)),
                "{error}"
            );
            assert!(!error.to_string().contains("too short!"));
        }
        let (status, _) = app
            .api(
                Method::POST,
                "/business-systems/999999/webhook-subscriptions",
                Some(&admin),
                Some(json!({ "url": receiver.url, "event_types": ["*"] })),
            )
            .await;
        assert_eq!(status, 404);
        let request = json!({ "url": receiver.url, "event_types": ["callback.message"] });
        let (status, _) = app
            .api(Method::POST, &path, Some(&read), Some(request.clone()))
            .await;
        assert_eq!(status, 403);
        let response = app
            .client
            .post(format!("{}/api/v1{path}", app.url))
            .bearer_auth(&admin)
            .json(&request)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        // The reveal-once response is deliberately not recorded for the leak check.
        let created: serde_json::Value = response.json().await.unwrap();
        let secret = created["secret"].as_str().unwrap().to_string();
        app.leaks.secret(secret.clone());
        assert!(secret.starts_with("whsec_") && secret.len() == 49);
        let masked = format!("******{}", &secret[secret.len() - 4..]);
        assert_eq!(created["subscription"]["secret"], masked.as_str());
        let id = created["subscription"]["id"].as_i64().unwrap();

        let (_, one) = app
            .api(
                Method::GET,
                &format!("/webhook-subscriptions/{id}"),
                Some(&read),
                None,
            )
            .await;
        assert_eq!(one["secret"], masked.as_str(), "masked afterwards");
        let (_, all) = app.api(Method::GET, &path, Some(&read), None).await;
        assert_eq!(all[0]["secret"], masked.as_str());
        let (_, log) = app.api(Method::GET, "/audit-log", Some(&admin), None).await;
        assert!(log.to_string().contains("webhook_subscription.create"));
        let raw = raw_database(&db).await;
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the secret is sealed at rest"
        );

        // Rotation re-seals it; deliveries are signed with the same secret afterwards.
        let state = app.state();
        let key_file = db.data_dir().join("master.key");
        std::fs::write(&key_file, state.sealer.key().to_base64()).unwrap();
        let report = rotate_master_key(
            &state.store,
            &state.sealer,
            &KeySource::File(key_file.clone()),
            None,
        )
        .await
        .unwrap();
        assert_eq!(report.resealed, 1);
        let rotated_key =
            MasterKey::from_base64(&std::fs::read_to_string(&key_file).unwrap()).unwrap();
        app.leaks.secret(rotated_key.to_base64());
        // A node started with the new key.
        let mut config = app.config.clone();
        config.master_key = Some(rotated_key.to_base64());
        let (rotated, _) = open_state(config).await.unwrap();
        let shown = webhooks::get_subscription(&state.store, &rotated.sealer, T, id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(shown.secret, masked);
        let now = qiao::clock::now_ms();
        enqueue(&rotated, &event("cb-1", "callback.message", now)).await;
        assert_eq!(dispatch_due(&rotated, now).await.unwrap().delivered, 1);
        let request = &receiver.requests()[0];
        assert_eq!(
            signing::verify(
                &secret,
                request.header("x-qiao-timestamp"),
                request.body.as_bytes(),
                request.header("x-qiao-signature"),
                now / 1000,
                300,
            ),
            Ok(())
        );
        app.stop().await;
    }
);

store_test!(
    the_background_dispatcher_sends_after_commit,
    |db| async move {
        let app = TestApp::start_with_jobs(&db).await;
        let state = app.state();
        let receiver = Receiver::start().await;
        let oa = system(&app, "OA").await;
        subscribe(&app, oa, &receiver.url, &["callback.*"]).await;
        enqueue(
            state,
            &event("cb-1", "callback.message", qiao::clock::now_ms()),
        )
        .await;
        state.webhooks.wake();
        let mut delivered = false;
        for _ in 0..200 {
            let all = deliveries(state).await;
            if all[0].state == DeliveryState::Delivered {
                delivered = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(delivered, "the background loop delivered it");
        assert_eq!(receiver.requests().len(), 1);
        app.stop().await;
    }
);
