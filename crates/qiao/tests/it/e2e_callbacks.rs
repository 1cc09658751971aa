//! Callbacks end to end with the simulator playing WeChat and WeCom: everything an admin
//! does goes through Qiao's REST API, everything a platform does comes from wxsim's own
//! callback sender, which verifies the URL, encrypts each push and decrypts and validates
//! Qiao's passive reply as WeChat would.

use std::collections::BTreeSet;
use std::time::Duration;

use qiao::auth::api_keys::Scope;
use reqwest::Method;
use serde_json::{Value, json};
use wxsim::{CallbackConfig, CallbackMode, PushEvent, PushOutcome, PushStatus, Seed, Simulator};

use crate::callbacks::receiver_values;
use crate::harness::{Receiver, TestApp, eventually};
use crate::store_test;
use crate::tokens::{register_oa, simulator};

const WEBHOOK_SECRET: &str = "whsec-e2e-0123456789abcdefghij";

/// One channel with its message receiver, as the simulator knows it.
struct Hooked {
    channel: i64,
    receiver: i64,
    /// The simulator's registration key: the AppID, or `corpid/agentid`.
    account: String,
    /// The receive id inside every encrypted message and reply (AppID or CorpID).
    receive_id: String,
}

/// Qiao, the simulator, an admin key, and an Official Account and a WeCom app whose receivers
/// are pasted into the simulator's back office and verified there, switch still off.
struct World {
    sim: Simulator,
    app: TestApp,
    key: String,
    oa: Hooked,
    wecom: Hooked,
}

impl World {
    async fn new(db: &crate::harness::TestDb) -> Self {
        let sim = simulator().await;
        let app = TestApp::start_with_jobs(db).await;
        let key = app.api_key(&[Scope::Admin]).await;
        // The external base URL is where the simulator reaches Qiao (as in the demo).
        let (status, settings) = app
            .api(
                Method::PUT,
                "/settings",
                Some(&key),
                Some(json!({ "external_url": app.url })),
            )
            .await;
        assert_eq!(status, 200, "{settings}");

        let (oa_channel, appid) = register_oa(&app, &key, &sim).await;
        let oa = hook(&app, &key, &sim, oa_channel, appid.clone(), appid).await;
        let (app_channel, corpid, agentid) = register_wecom_app(&app, &key, &sim).await;
        let wecom = hook(
            &app,
            &key,
            &sim,
            app_channel,
            format!("{corpid}/{agentid}"),
            corpid,
        )
        .await;
        Self {
            sim,
            app,
            key,
            oa,
            wecom,
        }
    }

    async fn api(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.app.api(method, path, Some(&self.key), body).await
    }

    /// 是否开启应用回调: on.
    async fn switch_on(&self, hooked: &Hooked) {
        let (status, receiver) = self
            .api(
                Method::PATCH,
                &format!("/callbacks/{}", hooked.receiver),
                Some(json!({ "enabled": true })),
            )
            .await;
        assert_eq!((status, &receiver["enabled"]), (200, &json!(true)));
    }

    async fn rule(&self, hooked: &Hooked, rule: Value) {
        let (status, body) = self
            .api(
                Method::POST,
                &format!("/channels/{}/reply-rules", hooked.channel),
                Some(rule),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }

    async fn inbox_len(&self, hooked: &Hooked) -> usize {
        let (status, entries) = self
            .api(
                Method::GET,
                &format!("/inbox?channel={}", hooked.channel),
                None,
            )
            .await;
        assert_eq!(status, 200, "{entries}");
        entries.as_array().unwrap().len()
    }

    async fn stop(self) {
        self.app.stop().await;
        self.sim.shutdown().await.unwrap();
    }
}

/// Registers the simulator's WeCom corp and its first app as channels; returns the app's
/// channel id, the CorpID and the AgentID.
async fn register_wecom_app(app: &TestApp, key: &str, sim: &Simulator) -> (i64, String, u32) {
    let corp = Seed::demo().corps[0].clone();
    let wecom_app = corp.apps[0].clone();
    app.leaks.secret(wecom_app.secret.clone());
    let create = async |body: Value| {
        let (status, channel) = app
            .api(Method::POST, "/channels", Some(key), Some(body))
            .await;
        assert_eq!(status, 201, "{channel}");
        channel["id"].as_i64().unwrap()
    };
    let corp_channel = create(json!({ "kind": "wecom_corp", "name": corp.name,
        "corp_id": corp.corpid, "endpoints": { "api_base_url": sim.role_url(wxsim::Role::Qyapi),
        "oauth_base_url": sim.role_url(wxsim::Role::Open),
        "web_login_base_url": sim.role_url(wxsim::Role::Login) } }))
    .await;
    let app_channel = create(json!({ "kind": "wecom_app", "corp": corp_channel,
        "name": wecom_app.name, "agent_id": wecom_app.agentid, "secret": wecom_app.secret }))
    .await;
    (app_channel, corp.corpid, wecom_app.agentid)
}

/// Creates the channel's safe-mode receiver through the API, pastes its values into the
/// simulator's back office and has the simulator verify the URL at once, as the back office
/// does on "save" (the switch is still off then).
async fn hook(
    app: &TestApp,
    key: &str,
    sim: &Simulator,
    channel: i64,
    account: String,
    receive_id: String,
) -> Hooked {
    let (status, receiver) = app
        .api(
            Method::POST,
            &format!("/channels/{channel}/callbacks"),
            Some(key),
            Some(json!({ "mode": "safe" })),
        )
        .await;
    assert_eq!(status, 201, "{receiver}");
    assert_eq!(receiver["enabled"], false);
    let id = receiver["id"].as_i64().unwrap();
    let values = receiver_values(app, key, id).await;
    let text = |field: &str| values[field].as_str().unwrap().to_string();
    sim.register_callback(CallbackConfig::new(
        account.clone(),
        text("url"),
        text("token"),
        text("encoding_aes_key"),
        CallbackMode::Safe,
    ))
    .unwrap();
    let check = sim.verify_url(&account).await.unwrap();
    assert!(check.ok, "URL verification of {account}: {check:?}");
    assert_eq!(check.url, text("url"));
    if account.contains('/') {
        // WeCom: the echostr came encrypted for the CorpID and Qiao answered the plaintext.
        assert_eq!(check.receive_id.as_deref(), Some(receive_id.as_str()));
    }
    Hooked {
        channel,
        receiver: id,
        account,
        receive_id,
    }
}

/// Asserts that the simulator got a valid, encrypted passive text reply; its content.
fn replied(outcome: &PushOutcome, hooked: &Hooked, user: &str) -> String {
    assert_eq!(
        outcome.status,
        PushStatus::Replied,
        "{}: {outcome:?}",
        outcome.message
    );
    let reply = outcome.reply.as_ref().unwrap();
    assert!(reply.encrypted, "safe mode answers encrypted");
    assert_eq!(
        reply.receive_id.as_deref(),
        Some(hooked.receive_id.as_str())
    );
    assert_eq!(reply.to_user_name, user);
    assert_eq!(reply.msg_type, "text");
    assert_eq!(outcome.attempts, 1, "answered at the first delivery");
    reply.content.clone().unwrap()
}

fn text_rule(name: &str, mode: &str, keyword: &str, reply: &str, priority: i64) -> Value {
    json!({ "name": name, "action": "text", "match_mode": mode, "keyword": keyword,
            "reply": reply, "priority": priority })
}

/// A subscribed fan of the simulator's Official Account.
fn fan() -> String {
    let account = &Seed::demo().official_accounts[0];
    account
        .fans
        .iter()
        .find(|f| f.subscribe)
        .unwrap()
        .openid
        .clone()
}

/// A member the simulator's first WeCom app may hear from.
const MEMBER: &str = "lisi";

store_test!(switched_off_receivers_verify_but_ignore, |db| async move {
    let world = World::new(&db).await;
    let ignored = "qiao_callbacks_total{outcome=\"ignored\"}";
    let before = world.app.metric(ignored).await;
    let fan = fan();
    for (hooked, user) in [(&world.oa, fan.as_str()), (&world.wecom, MEMBER)] {
        // Verification answers while the switch is off (World::new verified it already).
        assert!(world.sim.verify_url(&hooked.account).await.unwrap().ok);
        let outcome = world
            .sim
            .push_text(&hooked.account, user, "在吗")
            .await
            .unwrap();
        assert_eq!(outcome.status, PushStatus::Acked, "{outcome:?}");
        assert_eq!(
            outcome.attempt_log[0].http_status,
            Some(200),
            "an empty 200"
        );
        assert!(outcome.reply.is_none());
        assert_eq!(world.inbox_len(hooked).await, 0, "ignored, not processed");
    }
    assert!(
        world.app.metric(ignored).await >= before + 2.0,
        "counted as ignored"
    );
    world.stop().await;
});

store_test!(
    rules_answer_through_the_simulator_and_events_reach_webhooks,
    |db| async move {
        let world = World::new(&db).await;
        let (oa, wecom) = (&world.oa, &world.wecom);

        // The business system and its webhook subscription, through the API.
        let receiver = Receiver::start().await;
        let (status, system) = world
            .api(
                Method::POST,
                "/business-systems",
                Some(json!({ "name": "OA 系统" })),
            )
            .await;
        assert_eq!(status, 201, "{system}");
        world.app.leaks.secret(WEBHOOK_SECRET);
        // The answer reveals the secret once: sent directly, not recorded for the leak check.
        let response = world
            .app
            .client
            .post(format!(
                "{}/api/v1/business-systems/{}/webhook-subscriptions",
                world.app.url, system["id"]
            ))
            .bearer_auth(&world.key)
            .json(&json!({ "url": receiver.url, "event_types": ["callback.*"],
                           "secret": WEBHOOK_SECRET }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);

        world.switch_on(oa).await;
        world.switch_on(wecom).await;

        let link = "工资条请见：\nhttps://oa.example.com/pay?month=1&amp=2";
        // Official Account rules, in an order that makes "created first" and "smaller
        // priority wins" observable.
        for rule in [
            text_rule("包含", "contains", "工资", link, 10),
            text_rule("同级先建", "contains", "报销", "先建的规则", 10),
            text_rule("同级后建", "contains", "报销", "后建的规则", 10),
            text_rule("开头", "prefix", "请假", "请走 OA 请假流程", 20),
            text_rule("结尾", "suffix", "？", "有问题请致电 8888", 30),
            text_rule("完全匹配", "exact", "Help", "帮助菜单", 5),
            json!({ "name": "停用", "action": "text", "match_mode": "exact", "keyword": "help",
                    "reply": "不应出现", "priority": 1, "enabled": false }),
            text_rule("会议（先建，低优先）", "contains", "会议", "会议通知", 60),
            text_rule(
                "会议室（后建，高优先）",
                "contains",
                "会议室",
                "会议室预订",
                8,
            ),
            json!({ "name": "托管", "action": "text", "match_mode": "hosting",
                    "reply": "您好，已收到", "priority": 100 }),
            json!({ "name": "图片", "action": "image", "reply": "图片已收到", "priority": 50 }),
            json!({ "name": "关注", "action": "subscribe", "reply": "感谢关注！", "priority": 50 }),
        ] {
            world.rule(oa, rule).await;
        }
        // The WeCom app's rules are its own.
        for rule in [
            text_rule("打卡", "exact", "打卡", "打卡请用考勤应用", 10),
            json!({ "name": "托管", "action": "text", "match_mode": "hosting",
                    "reply": "应用已收到", "priority": 100 }),
            json!({ "name": "图片", "action": "image", "reply": "应用收到图片", "priority": 50 }),
        ] {
            world.rule(wecom, rule).await;
        }

        let fan = fan();
        let mut pushed = Vec::new();
        let cases = [
            (oa, fan.as_str(), "查一下工资", link),
            (oa, &fan, "请假三天", "请走 OA 请假流程"),
            (oa, &fan, "明天请假", "您好，已收到"),
            (oa, &fan, "几点下班？", "有问题请致电 8888"),
            (oa, &fan, "请假？", "请走 OA 请假流程"),
            (oa, &fan, "Help", "帮助菜单"),
            (oa, &fan, "help", "您好，已收到"),
            (oa, &fan, "Help ", "您好，已收到"),
            (oa, &fan, " Help", "您好，已收到"),
            (oa, &fan, "报销", "先建的规则"),
            (oa, &fan, "预订会议室", "会议室预订"),
            (oa, &fan, "开会议", "会议通知"),
            (oa, &fan, "随便说点什么", "您好，已收到"),
            (wecom, MEMBER, "打卡", "打卡请用考勤应用"),
            (wecom, MEMBER, "打卡 ", "应用已收到"),
            (wecom, MEMBER, "查一下工资", "应用已收到"),
        ];
        for (hooked, user, text, expected) in cases {
            let outcome = world
                .sim
                .push_text(&hooked.account, user, text)
                .await
                .unwrap();
            assert_eq!(replied(&outcome, hooked, user), expected, "{text:?}");
            pushed.push(outcome);
        }
        for (hooked, user, expected) in [
            (oa, fan.as_str(), "图片已收到"),
            (wecom, MEMBER, "应用收到图片"),
        ] {
            let image = PushEvent::Image {
                pic_url: "http://mmbiz.qpic.cn/sim/1.jpg".into(),
                media_id: "media-1".into(),
            };
            let outcome = world
                .sim
                .push_event(&hooked.account, user, image)
                .await
                .unwrap();
            assert_eq!(replied(&outcome, hooked, user), expected);
            pushed.push(outcome);
        }
        let newcomer = "oJqBd6e2eNewFollower0000001";
        let outcome = world
            .sim
            .push_event(&oa.account, newcomer, PushEvent::Subscribe { scene: None })
            .await
            .unwrap();
        assert_eq!(replied(&outcome, oa, newcomer), "感谢关注！");
        pushed.push(outcome);

        // Every push is in the inbox once.
        for hooked in [oa, wecom] {
            let sent = pushed
                .iter()
                .filter(|o| o.account == hooked.account)
                .count();
            assert_eq!(world.inbox_len(hooked).await, sent);
        }

        // …and reached the business system, signed.
        let requests = eventually(
            "every push delivered as a webhook",
            Duration::from_secs(10),
            || async {
                let requests = receiver.requests();
                (requests.len() >= pushed.len()).then_some(requests)
            },
        )
        .await;
        assert_eq!(requests.len(), pushed.len(), "one delivery per push");
        let mut delivered = BTreeSet::new();
        let mut events = 0;
        for request in &requests {
            assert!(
                request.signed_with(WEBHOOK_SECRET),
                "valid signature: {:?}",
                request.headers
            );
            assert!(!request.header("x-qiao-delivery").is_empty());
            let body: Value = serde_json::from_str(&request.body).unwrap();
            assert_eq!(body["type"], request.header("x-qiao-event"));
            let message = &body["data"]["message"];
            match request.header("x-qiao-event") {
                "callback.message" => {
                    delivered.insert(message["MsgId"].as_str().unwrap().to_string());
                }
                "callback.event" => {
                    assert_eq!(message["Event"], "subscribe");
                    assert_eq!(body["data"]["from_user"], newcomer);
                    events += 1;
                }
                other => panic!("unexpected event type {other}"),
            }
        }
        let sent: BTreeSet<String> = pushed.iter().filter_map(|o| o.msg_id.clone()).collect();
        assert_eq!(delivered, sent, "every message's MsgId, once");
        assert_eq!(events, 1);
        world.stop().await;
    }
);

impl World {
    /// POST test-connection through the API.
    async fn test_connection(&self, hooked: &Hooked) -> Value {
        let (status, test) = self
            .api(
                Method::POST,
                &format!("/channels/{}/test-connection", hooked.channel),
                None,
            )
            .await;
        assert_eq!(status, 200, "{test}");
        test
    }

    async fn set_external_url(&self, url: &str) {
        let (status, settings) = self
            .api(
                Method::PUT,
                "/settings",
                Some(json!({ "external_url": url })),
            )
            .await;
        assert_eq!(status, 200, "{settings}");
    }
}

/// The single callback check of a test-connection answer.
fn callback_check(test: &Value) -> &Value {
    let checks = test["callbacks"].as_array().unwrap();
    assert_eq!(checks.len(), 1, "{test}");
    &checks[0]
}

store_test!(
    test_connection_verifies_the_callback_url_at_the_external_url,
    |db| async move {
        use crate::harness::{PASSWORD, add_user, csrf_of, login, post_form};
        let world = World::new(&db).await;
        let verified = "qiao_callbacks_total{outcome=\"url_verified\"}";
        for hooked in [&world.oa, &world.wecom] {
            // Switch still off: reachable, but pushes would be ignored.
            let before = world.app.metric(verified).await;
            let test = world.test_connection(hooked).await;
            assert_eq!(test["ok"], true, "the token step: {test}");
            let check = callback_check(&test);
            assert_eq!(check["receiver_id"], hooked.receiver);
            assert_eq!(
                (&check["reachable"], &check["ok"]),
                (&json!(true), &json!(false))
            );
            assert!(
                check["problem"]
                    .as_str()
                    .unwrap()
                    .contains("是否开启应用回调"),
                "{check}"
            );
            assert!(
                world.app.metric(verified).await > before,
                "Qiao answered a real URL verification"
            );

            world.switch_on(hooked).await;
            let check = world.test_connection(hooked).await["callbacks"][0].clone();
            assert_eq!(
                (&check["reachable"], &check["ok"]),
                (&json!(true), &json!(true))
            );
            assert_eq!(check["problem"], Value::Null);
            assert!(
                check["url"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{}/cb/", world.app.url))
            );
        }

        // The console's channel page shows the step.
        add_user(&world.app, "root", qiao::auth::Role::SuperAdmin).await;
        login(&world.app, "root", PASSWORD).await;
        let path = format!("/console/channels/{}", world.wecom.channel);
        let (_, page) = world.app.get(&path).await;
        let (status, page) = post_form(
            &world.app,
            &format!("{path}/test-connection"),
            &[("_csrf", &csrf_of(&page))],
        )
        .await;
        assert_eq!(status, 200);
        assert!(page.contains("data-testid=\"callback-checks\""), "{page}");
        assert!(page.contains("data-ok=\"true\""), "{page}");
        world.stop().await;
    }
);

store_test!(
    test_connection_explains_an_unreachable_callback_url,
    |db| async move {
        let world = World::new(&db).await;
        world.switch_on(&world.oa).await;

        // Nothing listens at the external base URL.
        let closed = format!("http://127.0.0.1:{}", crate::tokens::free_port());
        world.set_external_url(&closed).await;
        let test = world.test_connection(&world.oa).await;
        assert_eq!(test["ok"], true, "the token step still works: {test}");
        let check = callback_check(&test);
        assert_eq!(
            (&check["reachable"], &check["ok"]),
            (&json!(false), &json!(false))
        );
        assert!(check["url"].as_str().unwrap().starts_with(&closed));
        assert!(
            check["problem"].as_str().unwrap().contains("refused"),
            "{check}"
        );
        assert!(
            check["fix"].as_str().unwrap().contains("external base URL"),
            "{check}"
        );

        // Another server answers there (the simulator): a wrong answer.
        world.set_external_url(&world.sim.url()).await;
        let check = world.test_connection(&world.oa).await["callbacks"][0].clone();
        assert_eq!(check["reachable"], false);
        assert!(
            check["problem"].as_str().unwrap().contains("HTTP 404"),
            "{check}"
        );
        assert!(check["fix"].as_str().unwrap().contains("/cb/"), "{check}");

        // A receiver deleted: the channel has none.
        let (status, _) = world
            .api(
                Method::DELETE,
                &format!("/callbacks/{}", world.oa.receiver),
                None,
            )
            .await;
        assert_eq!(status, 204);
        let check = world.test_connection(&world.oa).await["callbacks"][0].clone();
        assert_eq!(
            (&check["receiver_id"], &check["reachable"]),
            (&Value::Null, &json!(false))
        );
        assert!(
            check["problem"]
                .as_str()
                .unwrap()
                .contains("no callback receiver"),
            "{check}"
        );
        world.stop().await;
    }
);
