//! Reference §7 "Common SDK pitfalls": every row's simulator column, one test per row (the
//! test name cites the row). Several rows are also covered in depth elsewhere; these tests
//! pin the behaviour a client relies on.

use serde_json::json;
use wx::message::Message;
use wxsim::{CallbackConfig, CallbackMode, PushError, PushEvent, PushRequest, PushStatus};

use crate::helpers::{Env, errcode};
use crate::receiver::{Answer, KEY, Receiver, TOKEN};

const CORP: &str = "ww8f3a21c5d9e07b46";
const FAN: &str = "oJqBd60000000000000000001000";

fn token_url(env: &Env) -> String {
    format!(
        "{}?grant_type=client_credential&appid={}&secret={}",
        env.api("/cgi-bin/token"),
        env.appid(),
        env.oa_secret()
    )
}

#[tokio::test]
async fn row01_oa_token_stomping_grace_then_40001_stable_token_isolated() {
    let env = Env::fast().await;
    let a = env.get(&token_url(&env)).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = env.get(&token_url(&env)).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(a, b, "every call issues a new token");
    let users = |t: &str| format!("{}?access_token={t}", env.api("/cgi-bin/user/get"));
    assert_eq!(
        errcode(&env.get(&users(&a)).await),
        0,
        "old one valid during the grace"
    );
    env.advance(300).await;
    assert_eq!(errcode(&env.get(&users(&a)).await), 40001);
    assert_eq!(errcode(&env.get(&users(&b)).await), 0);
    let stable = env.api("/cgi-bin/stable_token");
    let body =
        json!({"grant_type": "client_credential", "appid": env.appid(), "secret": env.oa_secret()});
    let s1 = env.post(&stable, &body).await["access_token"].clone();
    env.get(&token_url(&env)).await;
    assert_eq!(
        env.post(&stable, &body).await["access_token"],
        s1,
        "stable_token does not rotate"
    );
}

#[tokio::test]
async fn row02_wecom_tokens_stable_per_secret() {
    let env = Env::fast().await;
    let a = env.contacts_token().await;
    assert_eq!(env.contacts_token().await, a);
    assert_ne!(
        env.app_token(1_000_002).await,
        a,
        "one token per secret, not per corp"
    );
}

#[tokio::test]
async fn row03_configurable_frequency_limits_45009_45011() {
    let env = Env::fast().await;
    env.post(
        &env.ctl("/sim/limits"),
        &json!({"rules": [{"role": "api", "path": "/cgi-bin/user/get", "scope": "credential", "max": 2, "window_secs": 60, "errcode": 45011}]}),
    )
    .await;
    let t = env.oa_token().await;
    let url = format!("{}?access_token={t}", env.api("/cgi-bin/user/get"));
    env.get(&url).await;
    env.get(&url).await;
    assert_eq!(errcode(&env.get(&url).await), 45011);
    env.advance(60).await;
    assert_eq!(errcode(&env.get(&url).await), 0);
}

#[tokio::test]
async fn row04_errcode_omitted_on_success_where_tencent_omits_it() {
    let env = Env::fast().await;
    let v = env.get(&token_url(&env)).await;
    assert!(v.get("errcode").is_none());
    let t = v["access_token"].as_str().unwrap();
    let info = env
        .get(&format!(
            "{}?access_token={t}&openid={FAN}",
            env.api("/cgi-bin/user/info")
        ))
        .await;
    assert!(info.get("errcode").is_none());
    let code = env
        .sim
        .mp_login("wx7b2e4d6f8a0c1e39", "oMp3x00000000000000000000001")
        .unwrap();
    let s = env
        .get(&format!(
            "{}?appid=wx7b2e4d6f8a0c1e39&secret=a1c3e5f7b9d0f2a4c6e8b0d2f4a6c8e0&js_code={code}&grant_type=authorization_code",
            env.api("/sns/jscode2session")
        ))
        .await;
    assert!(s.get("errcode").is_none() && s["openid"].is_string());
    let code = env
        .sim
        .state()
        .oauth_code(env.appid(), FAN, None, None)
        .unwrap();
    let o = env
        .get(&format!(
            "{}?appid={}&secret={}&code={code}&grant_type=authorization_code",
            env.api("/sns/oauth2/access_token"),
            env.appid(),
            env.oa_secret()
        ))
        .await;
    assert!(o.get("errcode").is_none() && o["openid"] == FAN);
    let w = env
        .get(&format!(
            "{}?access_token={}&id=1",
            env.qy("/cgi-bin/department/get"),
            env.contacts_token().await
        ))
        .await;
    assert_eq!(
        (w["errcode"].as_i64(), w["errmsg"].as_str()),
        (Some(0), Some("ok")),
        "WeCom includes it"
    );
}

#[tokio::test]
async fn row05_unicode_escapes_get_40033() {
    let env = Env::fast().await;
    let t = env.oa_token().await;
    let resp = env
        .http
        .post(format!(
            "{}?access_token={t}",
            env.api("/cgi-bin/menu/create")
        ))
        .body(r#"{"button":[{"type":"click","name":"\u4eca\u65e5","key":"k"}]}"#)
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(errcode(&v), 40033);
}

#[tokio::test]
async fn row06_byte_limits_truncate_on_code_points_or_reject() {
    let env = Env::fast().await;
    let t = env.app_token(1_000_002).await;
    let v = env
        .post(
            &format!("{}?access_token={t}", env.qy("/cgi-bin/message/send")),
            &json!({"touser": "lisi", "msgtype": "text", "agentid": 1000002, "text": {"content": "桥".repeat(700)}}),
        )
        .await;
    assert_eq!(errcode(&v), 0);
    let got = env.sim.state().inbox("lisi")[0].content["text"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(got.len(), 2046, "2048 bytes, cut on a code point");
    let oa = env.oa_token().await;
    let v = env
        .post(
            &format!("{}?access_token={oa}", env.api("/cgi-bin/menu/create")),
            &json!({"button": [{"type": "click", "name": "六个汉字名字", "key": "k"}]}),
        )
        .await;
    assert_eq!(errcode(&v), 40018, "18 bytes > 16");
}

#[tokio::test]
async fn row07_three_attempts_same_msgid_fresh_signature_ack_stops_retries() {
    let env = Env::fast().await;
    let rx = Receiver::start(Answer::Slow(600)).await;
    let appid = env.appid().to_owned();
    env.sim
        .register_callback(CallbackConfig::new(
            &appid,
            &rx.url,
            TOKEN,
            KEY,
            CallbackMode::Safe,
        ))
        .unwrap();
    let o = env
        .sim
        .push_event(&appid, FAN, PushEvent::Click { key: "K".into() })
        .await
        .unwrap();
    assert_eq!((o.status, o.attempts), (PushStatus::Failed, 3));
    let got = rx.received();
    let create: Vec<String> = got
        .iter()
        .map(|r| {
            Message::parse(&r.plaintext)
                .unwrap()
                .get("CreateTime")
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(
        create.windows(2).all(|w| w[0] == w[1]),
        "same CreateTime: {create:?}"
    );
    let sigs: std::collections::BTreeSet<String> = got
        .iter()
        .map(|r| crate::helpers::query_param(&format!("?{}", r.query), "msg_signature").unwrap())
        .collect();
    assert_eq!(sigs.len(), 3, "fresh signature each delivery");
    rx.set(Answer::Success);
    let o = env.sim.push_text(&appid, FAN, "x").await.unwrap();
    assert_eq!((o.status, o.attempts), (PushStatus::Acked, 1));
}

#[tokio::test]
async fn row08_replies_are_validated_and_commands_need_success() {
    let env = Env::fast().await;
    let rx = Receiver::start(Answer::Raw("<xml><ToUserName>someone</ToUserName><FromUserName>gh_5a7c9e1b3d4f</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content></xml>".into())).await;
    let appid = env.appid().to_owned();
    env.sim
        .register_callback(CallbackConfig::new(
            &appid,
            &rx.url,
            TOKEN,
            KEY,
            CallbackMode::Plain,
        ))
        .unwrap();
    let o = env.sim.push_text(&appid, FAN, "x").await.unwrap();
    assert_eq!(o.status, PushStatus::BadReply);
    assert!(
        matches!(o.error, Some(PushError::InvalidReply(ref m)) if m.contains("ToUserName")),
        "{o:?}"
    );
    let suite = "wwsuite5e7a9c1b3d4f6a80";
    env.sim
        .register_callback(CallbackConfig::new(
            suite,
            &rx.url,
            TOKEN,
            KEY,
            CallbackMode::Safe,
        ))
        .unwrap();
    let o = env.sim.push_suite_ticket(suite).await.unwrap();
    assert!(matches!(o.error, Some(PushError::NotSuccess(_))));
}

#[tokio::test]
async fn row09_cdata_optional_and_split_cdata_terminators() {
    let env = Env::fast().await;
    let rx = Receiver::start(Answer::Success).await;
    let account = format!("{CORP}/1000002");
    env.sim
        .register_callback(CallbackConfig::new(
            &account,
            &rx.url,
            TOKEN,
            KEY,
            CallbackMode::Safe,
        ))
        .unwrap();
    let mut req = PushRequest::new(
        &account,
        "lisi",
        PushEvent::Text {
            content: "a < b & ]]> c".into(),
        },
    );
    req.cdata = false;
    env.sim.push(req).await.unwrap();
    let plain = rx.received().pop().unwrap().plaintext;
    assert!(
        !plain.contains("CDATA") && plain.contains("<AgentID>1000002</AgentID>"),
        "{plain}"
    );
    assert_eq!(
        Message::parse(&plain).unwrap().get("Content"),
        Some("a < b & ]]> c")
    );
    env.sim.push_text(&account, "lisi", "x]]>y").await.unwrap();
    let plain = rx.received().pop().unwrap().plaintext;
    assert!(plain.contains("]]]]><![CDATA[>"));
    assert_eq!(
        Message::parse(&plain).unwrap().get("Content"),
        Some("x]]>y")
    );
}

#[tokio::test]
async fn row10_echostr_carries_plus_slash_equals_percent_encoded() {
    let env = Env::fast().await;
    let rx = Receiver::start(Answer::Success).await;
    let account = format!("{CORP}/1000002");
    env.sim
        .register_callback(CallbackConfig::new(
            &account,
            &rx.url,
            TOKEN,
            KEY,
            CallbackMode::Safe,
        ))
        .unwrap();
    for _ in 0..20 {
        assert!(env.sim.verify_url(&account).await.unwrap().ok);
    }
    let raw = rx.raw_gets().join("&");
    assert!(raw.contains("%3D"), "padding '=' is percent-encoded");
    assert!(
        raw.contains("%2B") || raw.contains("%2F"),
        "'+' or '/' appear and are encoded"
    );
    assert!(
        !raw.contains('+'),
        "never a raw '+' (it would decode as a space)"
    );
}

#[tokio::test]
async fn row11_every_padding_length_including_a_full_32_byte_block() {
    let env = Env::fast().await;
    let rx = Receiver::start(Answer::Echo).await;
    let appid = env.appid().to_owned();
    env.sim
        .register_callback(CallbackConfig::new(
            &appid,
            &rx.url,
            TOKEN,
            KEY,
            CallbackMode::Safe,
        ))
        .unwrap();
    // 32 consecutive lengths cover every pad count 1..=32
    for n in 1..=32 {
        let text = "x".repeat(n);
        let o = env.sim.push_text(&appid, FAN, &text).await.unwrap();
        assert_eq!(
            o.reply_text(),
            Some(format!("echo: {text}").as_str()),
            "n = {n}"
        );
    }
    assert_eq!(rx.received().len(), 32, "the receiver decrypted every one");
}

#[tokio::test]
async fn row12_receive_ids_per_route_and_strict_switch() {
    let env = Env::fast().await;
    let rx = Receiver::start(Answer::Success).await;
    let suite = "wwsuite5e7a9c1b3d4f6a80";
    env.sim
        .register_callback(CallbackConfig::new(
            env.appid(),
            &rx.url,
            TOKEN,
            KEY,
            CallbackMode::Safe,
        ))
        .unwrap();
    env.sim
        .register_callback(CallbackConfig::new(
            format!("{CORP}/1000002"),
            &rx.url,
            TOKEN,
            KEY,
            CallbackMode::Safe,
        ))
        .unwrap();
    env.sim
        .register_callback(CallbackConfig::new(
            suite,
            &rx.url,
            TOKEN,
            KEY,
            CallbackMode::Safe,
        ))
        .unwrap();
    env.sim.push_text(env.appid(), FAN, "a").await.unwrap();
    env.sim
        .push_text(&format!("{CORP}/1000002"), "lisi", "b")
        .await
        .unwrap();
    env.sim.push_suite_ticket(suite).await.unwrap();
    let rids: Vec<String> = rx
        .received()
        .iter()
        .map(|r| r.receive_id.clone().unwrap())
        .collect();
    assert_eq!(rids, [env.appid(), CORP, suite]);
    env.sim.verify_url(suite).await.unwrap();
    assert_eq!(
        rx.verifications(),
        ["wwprov1a3c5e7b9d0f2a4c"],
        "suite URL verification: provider corpid"
    );
    // strict by default: a reply with another receive id is rejected (-40005)
    rx.set(Answer::WrongReceiveId("wxsomeoneelse".into()));
    let o = env.sim.push_text(env.appid(), FAN, "c").await.unwrap();
    assert!(
        matches!(o.error, Some(PushError::Decrypt(ref m)) if m.contains("40005")),
        "{o:?}"
    );
    env.post(
        &env.ctl("/sim/callbacks/settings"),
        &json!({"strict_receive_id": false}),
    )
    .await;
    let o = env.sim.push_text(env.appid(), FAN, "d").await.unwrap();
    assert_eq!(o.status, PushStatus::Replied);
    assert_eq!(
        o.reply.unwrap().receive_id.as_deref(),
        Some("wxsomeoneelse")
    );
}

#[tokio::test]
async fn row13_legacy_casing_userid_msgid_click() {
    let env = Env::fast().await;
    let rx = Receiver::start(Answer::Success).await;
    let appid = env.appid().to_owned();
    env.sim
        .register_callback(CallbackConfig::new(
            &appid,
            &rx.url,
            TOKEN,
            KEY,
            CallbackMode::Safe,
        ))
        .unwrap();
    // TEMPLATESENDJOBFINISH carries MsgID with a capital D
    let t = env.oa_token().await;
    let v = env
        .post(
            &format!("{}?access_token={t}", env.api("/cgi-bin/message/template/send")),
            &json!({"touser": FAN, "template_id": "tmpl-approval-0002", "data": {"thing1": {"value": "报销"}, "phrase2": {"value": "通过"}}}),
        )
        .await;
    assert_eq!(errcode(&v), 0);
    for _ in 0..50 {
        if !rx.received().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let m = Message::parse(&rx.received()[0].plaintext).unwrap();
    assert_eq!(m.event(), Some("TEMPLATESENDJOBFINISH"));
    assert_eq!(
        m.get("MsgID").map(str::to_owned),
        Some(v["msgid"].to_string())
    );
    assert_eq!(m.get("MsgId"), None);
    // OA CLICK vs WeCom click
    env.sim
        .push_event(&appid, FAN, PushEvent::Click { key: "k".into() })
        .await
        .unwrap();
    assert_eq!(
        Message::parse(&rx.received().pop().unwrap().plaintext)
            .unwrap()
            .event(),
        Some("CLICK")
    );
    // legacy getuserinfo: UserId; new: userid
    let app = env.app_token(1_000_002).await;
    let code = env
        .sim
        .state()
        .oauth_code(CORP, "lisi", None, None)
        .unwrap();
    let v = env
        .get(&format!(
            "{}?access_token={app}&code={code}",
            env.qy("/cgi-bin/user/getuserinfo")
        ))
        .await;
    assert_eq!(v["UserId"], "lisi");
    let code = env
        .sim
        .state()
        .oauth_code(CORP, "lisi", None, None)
        .unwrap();
    let v = env
        .get(&format!(
            "{}?access_token={app}&code={code}",
            env.qy("/cgi-bin/auth/getuserinfo")
        ))
        .await;
    assert_eq!(v["userid"], "lisi");
}

#[tokio::test]
async fn row14_follower_paging_last_page_keeps_next_openid() {
    let env = Env::fast().await;
    let t = env.oa_token().await;
    let v = env
        .get(&format!(
            "{}?access_token={t}",
            env.api("/cgi-bin/user/get")
        ))
        .await;
    let next = v["next_openid"].as_str().unwrap().to_owned();
    assert!(!next.is_empty(), "non-empty on the last page");
    let v = env
        .get(&format!(
            "{}?access_token={t}&next_openid={next}",
            env.api("/cgi-bin/user/get")
        ))
        .await;
    assert_eq!(v["count"], 0);
    assert!(v.get("data").is_none());
}

#[tokio::test]
async fn row15_modern_privacy_defaults_with_legacy_flag() {
    let env = Env::fast().await;
    let t = env.oa_token().await;
    let info = env
        .get(&format!(
            "{}?access_token={t}&openid={FAN}",
            env.api("/cgi-bin/user/info")
        ))
        .await;
    assert!(info.get("nickname").is_none() && info.get("headimgurl").is_none());
    let app = env.app_token(1_000_002).await;
    let url = format!(
        "{}?access_token={app}&userid=lisi",
        env.qy("/cgi-bin/user/get")
    );
    assert!(env.get(&url).await.get("mobile").is_none());
    env.post(
        &env.ctl("/sim/settings"),
        &json!({"account": format!("{CORP}/1000002"), "legacy_sensitive_fields": true}),
    )
    .await;
    assert_eq!(env.get(&url).await["mobile"], "+86 13800138001");
}

#[tokio::test]
async fn row16_jsapi_signature_validated_server_side() {
    let env = Env::fast().await;
    let app = env.app_token(1_000_002).await;
    let ticket = env
        .get(&format!(
            "{}?access_token={app}&type=agent_config",
            env.qy("/cgi-bin/ticket/get")
        ))
        .await["ticket"]
        .as_str()
        .unwrap()
        .to_owned();
    let account = format!("{CORP}/1000002");
    let check = |sig: String, url: &str| json!({"account": account, "url": url, "noncestr": "abc", "timestamp": "1700000000", "signature": sig});
    let good = wx::crypto::jsapi_signature(&ticket, "abc", "1700000000", "https://b.example/p?a=1")
        .as_str()
        .to_owned();
    let v = env
        .post(
            &env.ctl("/sim/jsapi/check"),
            &check(good.clone(), "https://b.example/p?a=1#x"),
        )
        .await;
    assert_eq!(v["valid"], true, "fragment ignored");
    let v = env
        .post(
            &env.ctl("/sim/jsapi/check"),
            &check(good, "https://b.example/p?a=2"),
        )
        .await;
    assert_eq!(v["valid"], false, "exact URL");
}

#[tokio::test]
async fn row17_partial_success_and_silent_per_member_drops() {
    let env = Env::fast().await;
    let t = env.app_token(1_000_002).await;
    let url = format!("{}?access_token={t}", env.qy("/cgi-bin/message/send"));
    let v = env.post(&url, &json!({"touser": "lisi|ghost", "msgtype": "text", "agentid": 1000002, "text": {"content": "x"}})).await;
    assert_eq!((errcode(&v), v["invaliduser"].as_str()), (0, Some("ghost")));
    for i in 0..35 {
        let v = env.post(&url, &json!({"touser": "wangwu", "msgtype": "text", "agentid": 1000002, "text": {"content": format!("m{i}")}})).await;
        assert_eq!(errcode(&v), 0, "no error for dropped messages");
    }
    assert_eq!(
        env.sim.state().inbox("wangwu").len(),
        30,
        "30 per minute, the rest dropped silently"
    );
}

#[tokio::test]
async fn row18_response_code_single_use_ttl_and_unique_task_id() {
    let env = Env::fast().await;
    let t = env.app_token(1_000_002).await;
    let card = json!({"touser": "lisi", "msgtype": "template_card", "agentid": 1000002,
        "template_card": {"card_type": "button_interaction", "task_id": "t-18", "main_title": {"title": "x"},
                          "button_list": [{"text": "ok", "key": "ok"}]}});
    let send = format!("{}?access_token={t}", env.qy("/cgi-bin/message/send"));
    let v = env.post(&send, &card).await;
    let code = v["response_code"].as_str().unwrap().to_owned();
    assert_eq!(
        errcode(&env.post(&send, &card).await),
        40058,
        "task_id unique forever"
    );
    let upd = format!(
        "{}?access_token={t}",
        env.qy("/cgi-bin/message/update_template_card")
    );
    let body = json!({"userids": ["lisi"], "agentid": 1000002, "response_code": code, "button": {"replace_name": "done"}});
    assert_eq!(errcode(&env.post(&upd, &body).await), 0);
    assert_eq!(errcode(&env.post(&upd, &body).await), 40058, "single use");
    let o = env
        .sim
        .push_event(
            &format!("{CORP}/1000002"),
            "lisi",
            PushEvent::TemplateCardEvent {
                task_id: "t-18".into(),
                key: "ok".into(),
                selected: vec![],
            },
        )
        .await
        .unwrap();
    let code = o.extra["response_code"].clone();
    env.advance(72 * 3600).await;
    let t = env.app_token(1_000_002).await;
    let upd = format!(
        "{}?access_token={t}",
        env.qy("/cgi-bin/message/update_template_card")
    );
    let body = json!({"userids": ["lisi"], "agentid": 1000002, "response_code": code, "button": {"replace_name": "late"}});
    assert_eq!(errcode(&env.post(&upd, &body).await), 40058, "72 h TTL");
}

#[tokio::test]
async fn row19_ip_allow_list_40164_and_60020() {
    let env = Env::fast().await;
    env.post(
        &env.ctl("/sim/settings"),
        &json!({"account": env.appid(), "trusted_ips": ["203.0.113.7"]}),
    )
    .await;
    let v = env.get(&token_url(&env)).await;
    assert_eq!(errcode(&v), 40164);
    assert!(
        v["errmsg"]
            .as_str()
            .unwrap()
            .starts_with("invalid ip 127.0.0.1 ipv6 ::ffff:127.0.0.1, not in whitelist")
    );
    env.post(
        &env.ctl("/sim/settings"),
        &json!({"account": format!("{CORP}/contacts"), "trusted_ips": ["203.0.113.7"]}),
    )
    .await;
    let v = env
        .get(&env.gettoken_url(CORP, env.contacts_secret()))
        .await;
    assert_eq!(errcode(&v), 60020);
    assert!(v["errmsg"].as_str().unwrap().contains("from ip: 127.0.0.1"));
}

#[tokio::test]
async fn row20_media_upload_accepts_the_media_part_only() {
    let env = Env::fast().await;
    let t = env.app_token(1_000_002).await;
    let url = format!(
        "{}?access_token={t}&type=image",
        env.qy("/cgi-bin/media/upload")
    );
    let upload = |part: &str| {
        let body = format!(
            "--BOUNDARY\r\nContent-Disposition: form-data; name=\"{part}\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\u{89}PNG-data\r\n--BOUNDARY--\r\n"
        );
        env.http
            .post(&url)
            .header("Content-Type", "multipart/form-data; boundary=BOUNDARY")
            .body(body)
            .send()
    };
    let v: serde_json::Value = upload("media").await.unwrap().json().await.unwrap();
    assert_eq!(errcode(&v), 0, "{v}");
    assert_eq!(v["type"], "image");
    assert!(v["media_id"].as_str().is_some_and(|m| !m.is_empty()));
    let v: serde_json::Value = upload("file").await.unwrap().json().await.unwrap();
    assert_eq!(errcode(&v), 41005);
}
