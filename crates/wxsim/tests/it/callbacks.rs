//! The callback sender: modes, receive ids, URL verification, retries, ack rules, replies,
//! automatic contact changes, template-card events and updates.

use serde_json::json;
use wx::message::Message;
use wxsim::{CallbackConfig, CallbackMode, PushError, PushEvent, PushRequest, PushStatus};

use crate::helpers::{Env, errcode};
use crate::receiver::{Answer, KEY, Receiver, TOKEN};

const CORP: &str = "ww8f3a21c5d9e07b46";
const FAN: &str = "oJqBd60000000000000000001000";

fn cfg(account: &str, url: &str, mode: CallbackMode) -> CallbackConfig {
    CallbackConfig::new(account, url, TOKEN, KEY, mode)
}

#[tokio::test]
async fn oa_modes_plain_compatible_safe_with_passive_replies() {
    let env = Env::fast().await;
    let rx = Receiver::start(Answer::Echo).await;
    let appid = env.appid().to_owned();
    for mode in [
        CallbackMode::Plain,
        CallbackMode::Compatible,
        CallbackMode::Safe,
    ] {
        env.sim
            .register_callback(cfg(&appid, &rx.url, mode))
            .unwrap();
        let v = env.sim.verify_url(&appid).await.unwrap();
        assert!(v.ok, "{mode:?}: {v:?}");
        let o = env
            .sim
            .push_text(&appid, FAN, "你好 ]]> world")
            .await
            .unwrap();
        assert_eq!(o.status, PushStatus::Replied, "{mode:?}: {o:?}");
        assert_eq!(o.attempts, 1);
        assert_eq!(o.reply_text(), Some("echo: 你好 ]]> world"));
        let r = o.reply.as_ref().unwrap();
        assert_eq!(r.encrypted, mode != CallbackMode::Plain);
        let got = rx.received().pop().unwrap();
        let m = Message::parse(&got.plaintext).unwrap();
        assert_eq!(m.get("ToUserName"), Some("gh_5a7c9e1b3d4f"));
        assert_eq!(m.get("FromUserName"), Some(FAN));
        assert_eq!(m.get("MsgId"), o.msg_id.as_deref());
        assert!(got.query.contains("signature=") && got.query.contains(&format!("openid={FAN}")));
        match mode {
            CallbackMode::Plain => {
                assert!(!got.query.contains("encrypt_type"));
                assert_eq!(got.receive_id, None);
            }
            CallbackMode::Compatible => {
                assert!(got.body.contains("<Content>") && got.body.contains("<Encrypt>"));
                assert_eq!(got.receive_id.as_deref(), Some(appid.as_str()));
            }
            CallbackMode::Safe => {
                assert!(!got.body.contains("<Content>"));
                assert_eq!(
                    got.receive_id.as_deref(),
                    Some(appid.as_str()),
                    "OA receive id = AppID"
                );
            }
        }
    }
    // the passive reply reached the fan's phone
    let inbox = env.sim.state().inbox(FAN);
    assert_eq!(inbox.len(), 3);
    assert_eq!(inbox[0].msgtype, "text");
}

#[tokio::test]
async fn wecom_app_push_verify_and_events() {
    let env = Env::fast().await;
    let rx = Receiver::start(Answer::Echo).await;
    let account = format!("{CORP}/1000002");
    // WeCom is always encrypted whatever the mode says
    let c = env
        .sim
        .register_callback(cfg(&account, &rx.url, CallbackMode::Plain))
        .unwrap();
    assert_eq!(c.mode, CallbackMode::Safe);
    let v = env.sim.verify_url(&account).await.unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.receive_id.as_deref(), Some(CORP));
    assert_eq!(rx.verifications(), vec![CORP.to_owned()]);
    let o = env.sim.push_text(&account, "LiSi", "请假").await.unwrap();
    assert_eq!(o.status, PushStatus::Replied, "{o:?}");
    assert_eq!(o.reply_text(), Some("echo: 请假"));
    let got = rx.received().pop().unwrap();
    assert_eq!(got.receive_id.as_deref(), Some(CORP), "receive id = CorpID");
    assert!(got.body.contains("<AgentID><![CDATA[1000002]]></AgentID>"));
    let m = Message::parse(&got.plaintext).unwrap();
    assert_eq!(m.get("FromUserName"), Some("lisi"), "userid as stored");
    assert_eq!(m.header().agent_id, Some(1_000_002));
    rx.set(Answer::Success);
    for (event, name) in [
        (PushEvent::Click { key: "V1".into() }, "click"),
        (
            PushEvent::View {
                url: "https://x.example".into(),
            },
            "view",
        ),
        (PushEvent::EnterAgent, "enter_agent"),
        (PushEvent::Subscribe { scene: None }, "subscribe"),
        (
            PushEvent::LocationReport {
                lat: 31.2,
                lng: 121.4,
                precision: 10.0,
            },
            "LOCATION",
        ),
    ] {
        let o = env.sim.push_event(&account, "lisi", event).await.unwrap();
        assert_eq!(o.status, PushStatus::Acked, "{o:?}");
        let m = Message::parse(&rx.received().pop().unwrap().plaintext).unwrap();
        assert_eq!(m.event(), Some(name), "WeCom casing");
    }
    let o = env
        .sim
        .push_event(
            &account,
            "lisi",
            PushEvent::Image {
                pic_url: "http://p/1.jpg".into(),
                media_id: "m1".into(),
            },
        )
        .await
        .unwrap();
    assert!(o.msg_id.is_some());
    // outside the app's scope (app 1000003 sees 研发中心 + sunqi): refused
    let e = env
        .sim
        .push_text(&format!("{CORP}/1000003"), "wujiu", "x")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("visible scope"), "{e}");
    // not registered: the world changes, nothing is sent
    let o = env
        .sim
        .push_text(&format!("{CORP}/1000003"), "lisi", "x")
        .await
        .unwrap();
    assert_eq!(o.status, PushStatus::NotRegistered);
}

#[tokio::test]
async fn timeouts_retry_three_times_with_the_same_msgid() {
    let env = Env::fast().await;
    let rx = Receiver::start(Answer::Slow(1000)).await;
    let appid = env.appid().to_owned();
    env.sim
        .register_callback(cfg(&appid, &rx.url, CallbackMode::Safe))
        .unwrap();
    let started = std::time::Instant::now();
    let o = env.sim.push_text(&appid, FAN, "slow").await.unwrap();
    assert!(started.elapsed() < std::time::Duration::from_millis(2500));
    assert_eq!(o.status, PushStatus::Failed);
    assert_eq!(o.attempts, 3);
    assert_eq!(o.error, Some(PushError::Timeout(300)));
    let got = rx.received();
    assert_eq!(got.len(), 3);
    let ids: Vec<String> = got
        .iter()
        .map(|r| {
            Message::parse(&r.plaintext)
                .unwrap()
                .get("MsgId")
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(
        ids.iter().all(|i| Some(i.as_str()) == o.msg_id.as_deref()),
        "{ids:?}"
    );
    let nonces: std::collections::BTreeSet<&str> =
        o.attempt_log.iter().map(|a| a.nonce.as_str()).collect();
    assert_eq!(nonces.len(), 3, "fresh nonce and signature each time");
    // HTTP 500 is a failure too; the third attempt succeeds after two failures
    rx.set(Answer::Status(500));
    let o = env.sim.push_text(&appid, FAN, "err").await.unwrap();
    assert_eq!((o.status, o.attempts), (PushStatus::Failed, 3));
    assert_eq!(o.error, Some(PushError::HttpStatus(500)));
    // connection refused
    env.sim
        .register_callback(cfg(&appid, "http://127.0.0.1:9/cb", CallbackMode::Safe))
        .unwrap();
    let o = env.sim.push_text(&appid, FAN, "nobody").await.unwrap();
    assert_eq!(o.status, PushStatus::Failed);
    assert!(matches!(o.error, Some(PushError::Connect(_))), "{o:?}");
    // the attempts are configurable at run time
    env.post(&env.ctl("/sim/callbacks/settings"), &json!({"attempts": 1}))
        .await;
    let o = env.sim.push_text(&appid, FAN, "once").await.unwrap();
    assert_eq!(o.attempts, 1);
}

#[tokio::test]
async fn ack_rules_and_bad_replies() {
    let env = Env::fast().await;
    let rx = Receiver::start(Answer::Empty).await;
    let appid = env.appid().to_owned();
    env.sim
        .register_callback(cfg(&appid, &rx.url, CallbackMode::Safe))
        .unwrap();
    let o = env
        .sim
        .push_event(&appid, FAN, PushEvent::Click { key: "K".into() })
        .await
        .unwrap();
    assert_eq!((o.status, o.attempts), (PushStatus::Acked, 1));
    rx.set(Answer::Success);
    assert_eq!(
        env.sim.push_text(&appid, FAN, "a").await.unwrap().status,
        PushStatus::Acked
    );
    rx.set(Answer::BadSignature);
    let o = env.sim.push_text(&appid, FAN, "a").await.unwrap();
    assert_eq!(
        (o.status, o.error.clone()),
        (PushStatus::BadReply, Some(PushError::BadSignature))
    );
    assert_eq!(o.attempts, 1, "a bad reply is not retried");
    rx.set(Answer::Plain);
    let o = env.sim.push_text(&appid, FAN, "a").await.unwrap();
    assert_eq!(
        o.error,
        Some(PushError::PlaintextReply),
        "safe mode needs an encrypted reply"
    );
    rx.set(Answer::Raw("<html>502 Bad Gateway</html>".into()));
    let o = env.sim.push_text(&appid, FAN, "a").await.unwrap();
    assert_eq!(o.error, Some(PushError::PlaintextReply));
    env.sim
        .register_callback(cfg(&appid, &rx.url, CallbackMode::Plain))
        .unwrap();
    let o = env.sim.push_text(&appid, FAN, "a").await.unwrap();
    assert!(matches!(o.error, Some(PushError::BadXml(_))), "{o:?}");
    // the push log keeps everything
    let v = env
        .get(&format!("{}?account={appid}", env.ctl("/sim/pushes")))
        .await;
    assert_eq!(v["count"], 6);
    assert_eq!(v["pushes"][2]["error"]["kind"], "bad_signature");
}

#[tokio::test]
async fn control_api_registers_and_pushes() {
    let env = Env::fast().await;
    let rx = Receiver::start(Answer::Echo).await;
    let v = env
        .post(
            &env.ctl("/sim/callbacks"),
            &json!({"account": env.appid(), "url": rx.url, "token": TOKEN, "encoding_aes_key": KEY, "mode": "compatible", "verify": true}),
        )
        .await;
    assert_eq!(v["verification"]["ok"], true, "{v}");
    let v = env
        .post(
            &env.ctl("/sim/push/text"),
            &json!({"account": env.appid(), "user": FAN, "content": "hi", "create_time": 1700000000, "msg_id": 42}),
        )
        .await;
    assert_eq!(v["outcome"]["status"], "replied", "{v}");
    assert_eq!(v["outcome"]["reply"]["content"], "echo: hi");
    assert_eq!(v["outcome"]["msg_id"], "42");
    assert!(
        v["outcome"]["message"]
            .as_str()
            .unwrap()
            .contains("<CreateTime>1700000000</CreateTime>")
    );
    let v = env
        .post(&env.ctl("/sim/push/subscribe"), &json!({"account": env.appid(), "user": "oNewFan0000000000000000000001", "scene": "promo"}))
        .await;
    assert!(
        v["outcome"]["message"]
            .as_str()
            .unwrap()
            .contains("qrscene_promo"),
        "{v}"
    );
    rx.set(Answer::Success);
    let v = env
        .post(
            &env.ctl("/sim/push/unsubscribe"),
            &json!({"account": env.appid(), "user": "oNewFan0000000000000000000001"}),
        )
        .await;
    assert_eq!(v["outcome"]["status"], "acked", "{v}");
    let v = env
        .post(
            &env.ctl("/sim/push/enter_agent"),
            &json!({"account": format!("{CORP}/1000002"), "user": "lisi"}),
        )
        .await;
    assert_eq!(v["outcome"]["status"], "not_registered", "{v}");
    let v = env
        .post(
            &env.ctl("/sim/push/click"),
            &json!({"account": env.appid(), "user": "oNobody"}),
        )
        .await;
    assert_eq!(v["errcode"], 40035, "missing key: {v}");
    let v = env
        .post(
            &env.ctl("/sim/push/text"),
            &json!({"account": "wxnope", "user": FAN, "content": "x"}),
        )
        .await;
    assert_eq!(v["errcode"], 40035);
    let v = env.get(&env.ctl("/sim/callbacks")).await;
    assert_eq!(v["callbacks"][0]["mode"], "compatible");
    let v = env
        .http
        .delete(format!(
            "{}?account={}",
            env.ctl("/sim/callbacks"),
            env.appid()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(v.status(), 200);
}

#[tokio::test]
async fn directory_changes_through_the_api_reach_the_contacts_callback() {
    let env = Env::fast().await;
    let rx = Receiver::start(Answer::Success).await;
    env.sim
        .register_callback(cfg(CORP, &rx.url, CallbackMode::Safe))
        .unwrap();
    let t = env.contacts_token().await;
    let v = env
        .post(
            &format!("{}?access_token={t}", env.qy("/cgi-bin/user/create")),
            &json!({"userid": "xiaoming", "name": "小明", "department": [3], "mobile": "+86 13900001111"}),
        )
        .await;
    assert_eq!(errcode(&v), 0, "{v}");
    let v = env
        .post(
            &format!("{}?access_token={t}", env.qy("/cgi-bin/user/update")),
            &json!({"userid": "xiaoming", "position": "实习生"}),
        )
        .await;
    assert_eq!(errcode(&v), 0, "{v}");
    // pushes go out in the background
    for _ in 0..50 {
        if rx.received().len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let got = rx.received();
    assert_eq!(got.len(), 2);
    let m = Message::parse(&got[0].plaintext).unwrap();
    assert_eq!(got[0].receive_id.as_deref(), Some(CORP));
    assert_eq!(m.get("FromUserName"), Some("sys"));
    assert_eq!(m.get("ChangeType"), Some("create_user"));
    assert_eq!(m.get("Department"), Some("3"));
    let m = Message::parse(&got[1].plaintext).unwrap();
    assert_eq!(m.get("ChangeType"), Some("update_user"));
    assert_eq!(m.get("Position"), Some("实习生"));
    assert_eq!(
        m.get("Name"),
        None,
        "update_user carries the changed fields only"
    );
    // the admin-console action "member X was added to department D"
    let o = env
        .sim
        .push(PushRequest::new(
            CORP,
            "",
            PushEvent::member_added("dagong", "大工", 4),
        ))
        .await
        .unwrap();
    assert_eq!(o.status, PushStatus::Acked, "{o:?}");
    assert!(
        o.message
            .contains("<ChangeType><![CDATA[create_user]]></ChangeType>")
    );
    let members = env
        .sim
        .state()
        .with_world(|w| w.corps[CORP].directory.members_in(4, false).len());
    assert_eq!(members, 2, "赵六 and the new member");
}

/// Members of tag 1 (值班) who receive a `totag` message from app 1000002.
async fn tag_recipients(env: &Env, token: &str) -> Vec<String> {
    let v = env
        .post(
            &format!("{}?access_token={token}", env.qy("/cgi-bin/message/send")),
            &json!({"totag": "1", "msgtype": "text", "agentid": 1_000_002, "text": {"content": "值班提醒"}}),
        )
        .await;
    assert_eq!(errcode(&v), 0, "{v}");
    let msgid = v["msgid"].as_str().unwrap().to_owned();
    env.sim.state().with_inbox(|ib| {
        let mut users: Vec<String> = ib
            .users()
            .keys()
            .filter(|u| ib.of_user(u, None).iter().any(|e| e.msgid == msgid))
            .cloned()
            .collect();
        users.sort();
        users
    })
}

#[tokio::test]
async fn update_tag_changes_who_the_tag_reaches() {
    let env = Env::fast().await;
    let rx = Receiver::start(Answer::Success).await;
    env.sim
        .register_callback(cfg(CORP, &rx.url, CallbackMode::Safe))
        .unwrap();
    let t = env.app_token(1_000_002).await;
    assert_eq!(tag_recipients(&env, &t).await, ["lisi", "zhaoliu"]);
    let change = |fields: serde_json::Value| PushEvent::ChangeContact {
        change_type: "update_tag".into(),
        fields: fields.as_object().cloned().unwrap_or_default(),
    };
    let o = env
        .sim
        .push(PushRequest::new(
            CORP,
            "",
            change(json!({"tagid": 1, "add_users": ["wangwu"], "del_users": ["zhaoliu"]})),
        ))
        .await
        .unwrap();
    assert_eq!(o.status, PushStatus::Acked, "{o:?}");
    let m = Message::parse(&rx.received()[0].plaintext).unwrap();
    assert_eq!(m.get("Event"), Some("change_contact"));
    assert_eq!(m.get("FromUserName"), Some("sys"));
    assert_eq!(m.get("ChangeType"), Some("update_tag"));
    assert_eq!(m.get("TagId"), Some("1"));
    assert_eq!(m.get("AddUserItems"), Some("wangwu"));
    assert_eq!(m.get("DelUserItems"), Some("zhaoliu"));
    assert_eq!(m.get("AddPartyItems"), None, "only the lists that changed");
    assert_eq!(tag_recipients(&env, &t).await, ["lisi", "wangwu"]);
    // Unknown tags and members are refused, and nothing changes.
    for bad in [
        json!({"tagid": 99, "add_users": ["lisi"]}),
        json!({"tagid": 1, "add_users": ["ghost"]}),
    ] {
        assert!(
            env.sim
                .push(PushRequest::new(CORP, "", change(bad)))
                .await
                .is_err()
        );
    }
    assert_eq!(tag_recipients(&env, &t).await, ["lisi", "wangwu"]);
}

#[tokio::test]
async fn template_card_press_reply_and_update() {
    let env = Env::fast().await;
    let rx = Receiver::start(Answer::UpdateButton("已同意".into())).await;
    let account = format!("{CORP}/1000002");
    env.sim
        .register_callback(cfg(&account, &rx.url, CallbackMode::Safe))
        .unwrap();
    let t = env.app_token(1_000_002).await;
    let v = env
        .post(
            &format!("{}?access_token={t}", env.qy("/cgi-bin/message/send")),
            &json!({"touser": "lisi|wangwu", "msgtype": "template_card", "agentid": 1000002,
                    "template_card": {"card_type": "button_interaction", "task_id": "approve-42",
                        "main_title": {"title": "审批 #42"},
                        "button_list": [{"text": "同意", "key": "yes"}, {"text": "拒绝", "key": "no", "style": 2}]}}),
        )
        .await;
    assert_eq!(errcode(&v), 0, "{v}");
    let send_code = v["response_code"].as_str().unwrap().to_owned();
    // unknown card, unknown key, not a recipient
    let press = |task: &str, key: &str| PushEvent::TemplateCardEvent {
        task_id: task.into(),
        key: key.into(),
        selected: vec![],
    };
    assert!(
        env.sim
            .push_event(&account, "lisi", press("nope", "yes"))
            .await
            .is_err()
    );
    assert!(
        env.sim
            .push_event(&account, "lisi", press("approve-42", "maybe"))
            .await
            .is_err()
    );
    assert!(
        env.sim
            .push_event(&account, "zhangsan", press("approve-42", "yes"))
            .await
            .is_err()
    );
    let o = env
        .sim
        .push_event(&account, "lisi", press("approve-42", "yes"))
        .await
        .unwrap();
    assert_eq!(o.status, PushStatus::Replied, "{o:?}");
    assert_eq!(o.reply.as_ref().unwrap().msg_type, "update_button");
    let m = Message::parse(&rx.received().pop().unwrap().plaintext).unwrap();
    assert_eq!(m.event(), Some("template_card_event"));
    assert_eq!(m.get("TaskId"), Some("approve-42"));
    assert_eq!(m.get("CardType"), Some("button_interaction"));
    let code = o.extra["response_code"].clone();
    assert_eq!(m.get("ResponseCode"), Some(code.as_str()));
    let lisi = env.sim.state().inbox("lisi");
    assert_eq!(
        lisi[0].updates.len(),
        1,
        "the pressing user's card shows the new button"
    );
    assert!(env.sim.state().inbox("wangwu")[0].updates.is_empty());
    // update_template_card with the callback's code: everyone, once
    let url = format!(
        "{}?access_token={t}",
        env.qy("/cgi-bin/message/update_template_card")
    );
    let body = json!({"atall": 1, "agentid": 1000002, "response_code": code, "button": {"replace_name": "已处理"}});
    let v = env.post(&url, &body).await;
    assert_eq!(errcode(&v), 0, "{v}");
    assert_eq!(env.sim.state().inbox("wangwu")[0].updates.len(), 1);
    assert_eq!(errcode(&env.post(&url, &body).await), 40058, "single use");
    // the send answer's code expires after 72 h
    env.advance(72 * 3600).await;
    let t = env.app_token(1_000_002).await;
    let url = format!(
        "{}?access_token={t}",
        env.qy("/cgi-bin/message/update_template_card")
    );
    let body = json!({"userids": ["lisi"], "agentid": 1000002, "response_code": send_code, "button": {"replace_name": "x"}});
    assert_eq!(errcode(&env.post(&url, &body).await), 40058);
}

#[tokio::test]
async fn seed_registers_callbacks_and_suite_urls() {
    let rx = Receiver::start(Answer::Success).await;
    let mut seed = wxsim::Seed::demo();
    seed.callbacks.push(cfg(CORP, &rx.url, CallbackMode::Safe));
    seed.suites[0].command_url = rx.url.clone();
    seed.suites[0].token = TOKEN.into();
    seed.suites[0].encoding_aes_key = KEY.into();
    let env = Env::with_config(wxsim::SimConfig {
        seed,
        options: crate::helpers::fast_options(),
        ..wxsim::SimConfig::default()
    })
    .await;
    let keys: Vec<String> = env
        .sim
        .state()
        .callbacks()
        .into_iter()
        .map(|c| c.account)
        .collect();
    assert_eq!(
        keys,
        [
            format!("{CORP}/contacts"),
            "wwsuite5e7a9c1b3d4f6a80".to_owned()
        ]
    );
    let o = env
        .sim
        .push_suite_ticket("wwsuite5e7a9c1b3d4f6a80")
        .await
        .unwrap();
    assert_eq!(o.status, PushStatus::Acked);
    let mut bad = wxsim::Seed::demo();
    bad.callbacks.push(CallbackConfig::new(
        "wxunknown",
        "http://x/cb",
        TOKEN,
        KEY,
        CallbackMode::Safe,
    ));
    assert!(
        wxsim::SimState::new(
            bad,
            wxsim::LimitsConfig::off(),
            crate::helpers::fast_options()
        )
        .is_err()
    );
}
