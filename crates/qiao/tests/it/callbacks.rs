//! Callbacks over a real server: URL verification, every mode, de-duplication across a
//! restart, the switch, and every kind of bad input refused without changing anything.

use qiao::auth::api_keys::Scope;
use reqwest::Method;
use serde_json::json;
use wx::crypto::{EncodingAesKey, MsgCrypt, ReceiveId, msg_signature, signature};

use crate::harness::TestApp;
use crate::store_test;

const APP_ID: &str = "wx1234567890abcdef";
const CORP_ID: &str = "ww1436e0e65a779aee";

/// Plays WeChat for one receiver: signs, encrypts and posts pushes.
pub struct Pusher {
    pub url: String,
    pub token: String,
    pub crypt: MsgCrypt,
    pub receive_id: String,
}

pub fn now_secs() -> String {
    (qiao::clock::now_ms() / 1000).to_string()
}

/// The values to paste into the back office (URL, Token, EncodingAESKey…), revealed through
/// the API; Token and key are registered with the leak check.
pub async fn receiver_values(app: &TestApp, key: &str, receiver_id: i64) -> serde_json::Value {
    let (status, values) = app
        .reveal(&format!("/callbacks/{receiver_id}/values"), key)
        .await;
    assert_eq!(status, 200, "{values}");
    app.leaks.secret(values["token"].as_str().unwrap());
    app.leaks
        .secret(values["encoding_aes_key"].as_str().unwrap());
    values
}

impl Pusher {
    pub async fn for_receiver(
        app: &TestApp,
        key: &str,
        receiver_id: i64,
        receive_id: &str,
    ) -> Self {
        let values = receiver_values(app, key, receiver_id).await;
        let token = values["token"].as_str().unwrap().to_string();
        let aes = values["encoding_aes_key"].as_str().unwrap().to_string();
        let crypt = MsgCrypt::new(
            token.clone(),
            &EncodingAesKey::parse(&aes).unwrap(),
            ReceiveId::Any,
        );
        let path = values["url"].as_str().unwrap();
        let path = &path[path.find("/cb/").unwrap()..];
        Self {
            url: format!("{}{path}", app.url),
            token,
            crypt,
            receive_id: receive_id.to_string(),
        }
    }

    /// The same receiver on another node (the path is the same, the base URL changes).
    pub fn moved_to(self, base: &str) -> Self {
        let path = &self.url[self.url.find("/cb/").unwrap()..];
        Self {
            url: format!("{base}{path}"),
            ..self
        }
    }

    /// A safe-mode (or WeCom) POST: query string and XML body.
    pub fn encrypted(&self, xml: &str, timestamp: &str, nonce: &str) -> (String, String) {
        let encrypt = self
            .crypt
            .encrypt(xml.as_bytes(), &self.receive_id)
            .unwrap();
        let sig = msg_signature(&self.token, timestamp, nonce, &encrypt);
        let query = format!(
            "signature={}&timestamp={timestamp}&nonce={nonce}&openid=o1&encrypt_type=aes&msg_signature={}",
            signature(&self.token, timestamp, nonce).as_str(),
            sig.as_str()
        );
        let body = format!(
            "<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        );
        (query, body)
    }

    pub async fn post(&self, client: &reqwest::Client, query: &str, body: String) -> (u16, String) {
        self.try_post(client, query, body).await.unwrap()
    }

    /// As [`Pusher::post`], for a server that may be gone (killed mid-load).
    pub async fn try_post(
        &self,
        client: &reqwest::Client,
        query: &str,
        body: String,
    ) -> reqwest::Result<(u16, String)> {
        let response = client
            .post(format!("{}?{query}", self.url))
            .header("content-type", "text/xml")
            .body(body)
            .send()
            .await?;
        Ok((response.status().as_u16(), response.text().await?))
    }
}

pub fn text_message(from: &str, content: &str, msg_id: u64) -> String {
    // CDATA cannot hold `]]>`: WeChat splits it across two sections.
    let content = content.replace("]]>", "]]]]><![CDATA[>");
    format!(
        "<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName><FromUserName><![CDATA[{from}]]></FromUserName>\
         <CreateTime>{}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>\
         <MsgId>{msg_id}</MsgId></xml>",
        now_secs()
    )
}

/// Registers an Official Account with a safe-mode receiver, turned on.
pub async fn official_account(app: &TestApp, key: &str) -> (i64, Pusher) {
    let secret = "0123456789abcdef0123456789abcdef";
    app.leaks.secret(secret);
    let oa = json!({ "kind": "official_account", "name": "服务号", "app_id": APP_ID, "app_secret": secret,
                     "original_id": "gh_7f083739789a", "account_type": "service", "verified": true });
    let (status, oa) = app
        .api(Method::POST, "/channels", Some(key), Some(oa))
        .await;
    assert_eq!(status, 201, "{oa}");
    let channel = oa["id"].as_i64().unwrap();
    let (status, receiver) = app
        .api(
            Method::POST,
            &format!("/channels/{channel}/callbacks"),
            Some(key),
            Some(json!({ "mode": "safe" })),
        )
        .await;
    assert_eq!(status, 201, "{receiver}");
    assert_eq!(
        receiver["enabled"], false,
        "off until the admin turns it on"
    );
    let id = receiver["id"].as_i64().unwrap();
    let (status, _) = app
        .api(
            Method::PATCH,
            &format!("/callbacks/{id}"),
            Some(key),
            Some(json!({ "enabled": true })),
        )
        .await;
    assert_eq!(status, 200);
    (channel, Pusher::for_receiver(app, key, id, APP_ID).await)
}

async fn inbox_len(app: &TestApp, key: &str) -> usize {
    let (status, entries) = app.api(Method::GET, "/inbox", Some(key), None).await;
    assert_eq!(status, 200);
    entries.as_array().unwrap().len()
}

store_test!(
    official_account_url_verification_and_messages,
    |db| async move {
        let app = TestApp::start(&db).await;
        let key = app.api_key(&[Scope::Admin]).await;
        let (channel, pusher) = official_account(&app, &key).await;

        // The back office verifies the URL with a plain signature and echostr.
        let ts = now_secs();
        let query = format!(
            "signature={}&timestamp={ts}&nonce=42&echostr=9876543210123%2B456",
            signature(&pusher.token, &ts, "42").as_str()
        );
        let response = app
            .client
            .get(format!("{}?{query}", pusher.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.text().await.unwrap(),
            "9876543210123+456",
            "echostr unchanged, `+` kept"
        );

        let (query, body) = pusher.encrypted(
            &text_message("oUser1", "你好 ]]> 😀", 1001),
            &now_secs(),
            "n1",
        );
        let (status, answer) = pusher.post(&app.client, &query, body.clone()).await;
        assert_eq!((status, answer.as_str()), (200, "success"));
        // WeChat's retry of the same push is absorbed.
        let (status, _) = pusher.post(&app.client, &query, body).await;
        assert_eq!(status, 200);
        let (_, entries) = app
            .api(
                Method::GET,
                &format!("/inbox?channel={channel}"),
                Some(&key),
                None,
            )
            .await;
        let entries = entries.as_array().unwrap();
        assert_eq!(entries.len(), 1, "one push, one row: {entries:?}");
        assert_eq!(entries[0]["kind"], "msg:text");
        assert_eq!(entries[0]["payload"]["Content"], "你好 ]]> 😀");
        assert_eq!(entries[0]["from_user"], "oUser1");

        // A distinct message from the same user at the same second is not a retry.
        let (query, body) =
            pusher.encrypted(&text_message("oUser1", "second", 1002), &now_secs(), "n2");
        assert_eq!(pusher.post(&app.client, &query, body).await.0, 200);
        assert_eq!(inbox_len(&app, &key).await, 2);

        assert!(
            app.metric("qiao_callbacks_total{outcome=\"duplicate\"}")
                .await
                >= 1.0
        );
        app.stop().await;
    }
);

store_test!(bad_input_is_refused_and_counted, |db| async move {
    let app = TestApp::start(&db).await;
    let key = app.api_key(&[Scope::Admin]).await;
    let (_, pusher) = official_account(&app, &key).await;
    let xml = text_message("oUser1", "hi", 2001);

    // Wrong signature.
    let (query, body) = pusher.encrypted(&xml, &now_secs(), "n1");
    let forged = query.replace("msg_signature=", "msg_signature=0");
    let (status, reason) = pusher.post(&app.client, &forged, body).await;
    assert_eq!(status, 400, "{reason}");
    assert!(reason.contains("bad_signature"));

    // A timestamp outside the freshness window.
    let old = (qiao::clock::now_ms() / 1000 - 3600).to_string();
    let (query, body) = pusher.encrypted(&xml, &old, "n2");
    let (status, reason) = pusher.post(&app.client, &query, body).await;
    assert_eq!(status, 400);
    assert!(reason.contains("stale_timestamp"), "{reason}");

    // Garbage and non-XML bodies.
    let (query, _) = pusher.encrypted(&xml, &now_secs(), "n3");
    for garbage in [
        "",
        "not xml at all",
        "<xml><Encrypt>!!!</Encrypt></xml>",
        "<!DOCTYPE x [<!ENTITY a \"b\">]><xml/>",
    ] {
        let (status, reason) = pusher.post(&app.client, &query, garbage.to_string()).await;
        assert_eq!(status, 400, "{garbage}: {reason}");
    }

    // Encrypted for another AppID (wrong receive id).
    let other = Pusher {
        receive_id: "wx0000000000000000".into(),
        ..pusher
    };
    let (query, body) = other.encrypted(&xml, &now_secs(), "n4");
    let (status, reason) = other.post(&app.client, &query, body).await;
    assert_eq!(status, 400);
    assert!(reason.contains("wrong_receive_id"), "{reason}");

    // Oversized body.
    let (query, _) = other.encrypted(&xml, &now_secs(), "n5");
    let (status, _) = other
        .post(&app.client, &query, "x".repeat(100 * 1024))
        .await;
    assert_eq!(status, 413);

    // Unknown receiver.
    let response = app
        .client
        .post(format!("{}/cb/nosuchreceiver?{query}", app.url))
        .body("<xml/>")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    assert_eq!(inbox_len(&app, &key).await, 0, "nothing was stored");
    let (_, metrics) = app.get("/metrics").await;
    for reason in [
        "bad_signature",
        "stale_timestamp",
        "wrong_receive_id",
        "body_too_large",
        "unknown_receiver",
    ] {
        assert!(
            metrics.contains(&format!("reason=\"{reason}\"")),
            "{reason} counted"
        );
    }
    app.stop().await;
});

store_test!(switch_off_verifies_but_ignores, |db| async move {
    let app = TestApp::start(&db).await;
    let key = app.api_key(&[Scope::Admin]).await;
    let (channel, pusher) = official_account(&app, &key).await;
    let (_, receivers) = app
        .api(
            Method::GET,
            &format!("/channels/{channel}/callbacks"),
            Some(&key),
            None,
        )
        .await;
    let id = receivers[0]["id"].as_i64().unwrap();
    let (status, _) = app
        .api(
            Method::PATCH,
            &format!("/callbacks/{id}"),
            Some(&key),
            Some(json!({ "enabled": false })),
        )
        .await;
    assert_eq!(status, 200);

    let ts = now_secs();
    let query = format!(
        "signature={}&timestamp={ts}&nonce=7&echostr=abc",
        signature(&pusher.token, &ts, "7").as_str()
    );
    let response = app
        .client
        .get(format!("{}?{query}", pusher.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.text().await.unwrap(),
        "abc",
        "URL verification still answers"
    );

    let (query, body) = pusher.encrypted(&text_message("oUser1", "hi", 3001), &now_secs(), "n1");
    let (status, answer) = pusher.post(&app.client, &query, body).await;
    assert_eq!((status, answer.as_str()), (200, ""), "an empty 200");
    assert_eq!(inbox_len(&app, &key).await, 0, "ignored, not processed");
    assert!(
        app.metric("qiao_callbacks_total{outcome=\"ignored\"}")
            .await
            >= 1.0
    );
    app.stop().await;
});

store_test!(a_retry_after_a_restart_is_processed_once, |db| async move {
    let app = TestApp::start(&db).await;
    let key = app.api_key(&[Scope::Admin]).await;
    let (_, pusher) = official_account(&app, &key).await;
    let (query, body) = pusher.encrypted(
        &text_message("oUser1", "before restart", 4001),
        &now_secs(),
        "n1",
    );
    assert_eq!(pusher.post(&app.client, &query, body.clone()).await.0, 200);

    let app = app.restart().await;
    let pusher = pusher.moved_to(&app.url);
    assert_eq!(pusher.post(&app.client, &query, body).await.0, 200);
    assert_eq!(
        inbox_len(&app, &key).await,
        1,
        "the retry was recognised after the restart"
    );
    app.stop().await;
});

store_test!(wecom_app_receivers, |db| async move {
    let app = TestApp::start(&db).await;
    let key = app.api_key(&[Scope::Admin]).await;
    let secret = "Xk3rT8pLmN2vQ9wYz5aB7cD1eF4gH6jK0iU8oP2sR4t";
    app.leaks.secret(secret);
    let (_, corp) = app
        .api(
            Method::POST,
            "/channels",
            Some(&key),
            Some(json!({ "kind": "wecom_corp", "name": "集团", "corp_id": CORP_ID })),
        )
        .await;
    let corp_id = corp["id"].as_i64().unwrap();
    let wecom_app = json!({ "kind": "wecom_app", "corp": corp_id, "name": "审批", "agent_id": 1000002, "secret": secret });
    let (_, wecom_app) = app
        .api(Method::POST, "/channels", Some(&key), Some(wecom_app))
        .await;
    let app_channel = wecom_app["id"].as_i64().unwrap();

    let (status, body) = app
        .api(
            Method::POST,
            &format!("/channels/{app_channel}/callbacks"),
            Some(&key),
            Some(json!({ "mode": "plain" })),
        )
        .await;
    assert_eq!(
        (status, body["details"]["field"].as_str()),
        (422, Some("mode")),
        "WeCom always encrypts"
    );
    let (status, body) = app
        .api(
            Method::POST,
            &format!("/channels/{corp_id}/callbacks"),
            Some(&key),
            Some(json!({ "purpose": "messages" })),
        )
        .await;
    assert_eq!(
        status, 422,
        "a corp has contact and customer receivers, not messages: {body}"
    );
    let (status, contacts) = app
        .api(
            Method::POST,
            &format!("/channels/{corp_id}/callbacks"),
            Some(&key),
            Some(json!({ "purpose": "contacts" })),
        )
        .await;
    assert_eq!(status, 201, "{contacts}");

    let (_, receiver) = app
        .api(
            Method::POST,
            &format!("/channels/{app_channel}/callbacks"),
            Some(&key),
            Some(json!({})),
        )
        .await;
    let id = receiver["id"].as_i64().unwrap();
    app.api(
        Method::PATCH,
        &format!("/callbacks/{id}"),
        Some(&key),
        Some(json!({ "enabled": true })),
    )
    .await;
    let pusher = Pusher::for_receiver(&app, &key, id, CORP_ID).await;

    // URL verification with an encrypted echostr (receive id = CorpID).
    let ts = now_secs();
    let echostr = pusher
        .crypt
        .encrypt(b"1616140317555161061", CORP_ID)
        .unwrap();
    let sig = msg_signature(&pusher.token, &ts, "5", &echostr);
    let query = format!(
        "msg_signature={}&timestamp={ts}&nonce=5&echostr={}",
        sig.as_str(),
        percent_encode(&echostr)
    );
    let response = app
        .client
        .get(format!("{}?{query}", pusher.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "1616140317555161061");

    let xml = format!(
        "<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>\
         <CreateTime>{}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content>\
         <MsgId>5001</MsgId><AgentID>1000002</AgentID></xml>",
        now_secs()
    );
    let (query, body) = pusher.encrypted(&xml, &now_secs(), "n1");
    let (status, answer) = pusher.post(&app.client, &query, body).await;
    assert_eq!(
        (status, answer.as_str()),
        (200, ""),
        "WeCom's ack is an empty body"
    );
    assert_eq!(inbox_len(&app, &key).await, 1);

    // The values to paste are revealed to admins only.
    let read = app.api_key(&[Scope::Read]).await;
    let (status, _) = app
        .api(
            Method::GET,
            &format!("/callbacks/{id}/values"),
            Some(&read),
            None,
        )
        .await;
    assert_eq!(status, 403);
    let (_, listed) = app
        .api(
            Method::GET,
            &format!("/channels/{app_channel}/callbacks"),
            Some(&read),
            None,
        )
        .await;
    assert!(listed[0]["token"].as_str().unwrap().starts_with("******"));
    app.stop().await;
});

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

store_test!(
    pushes_reach_the_business_system_as_signed_webhooks,
    |db| async move {
        let app = TestApp::start(&db).await;
        let key = app.api_key(&[Scope::Admin]).await;
        let receiver = crate::harness::Receiver::start().await;
        let (_, system) = app
            .api(
                Method::POST,
                "/business-systems",
                Some(&key),
                Some(json!({ "name": "OA 系统" })),
            )
            .await;
        let secret = "whsec-0123456789abcdef0123456789";
        app.leaks.secret(secret);
        let subscription =
            json!({ "url": receiver.url, "event_types": ["callback.*"], "secret": secret });
        let path = format!("/business-systems/{}/webhook-subscriptions", system["id"]);
        let response = app
            .client
            .post(format!("{}/api/v1{path}", app.url))
            .bearer_auth(&key)
            .json(&subscription)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            201,
            "the subscription (revealed once, not recorded)"
        );

        let (_, pusher) = official_account(&app, &key).await;
        let (query, body) =
            pusher.encrypted(&text_message("oFan", "请假申请", 7001), &now_secs(), "n1");
        assert_eq!(pusher.post(&app.client, &query, body.clone()).await.0, 200);
        // A retry adds no second delivery.
        assert_eq!(pusher.post(&app.client, &query, body).await.0, 200);

        qiao::webhooks::dispatch_until_idle(app.state(), qiao::clock::now_ms())
            .await
            .unwrap();
        let received = receiver.requests();
        assert_eq!(received.len(), 1, "one push, one delivery");
        let delivery = &received[0];
        assert_eq!(delivery.header("x-qiao-event"), "callback.message");
        let verified = qiao::webhooks::signing::verify(
            secret,
            delivery.header("x-qiao-timestamp"),
            delivery.body.as_bytes(),
            delivery.header("x-qiao-signature"),
            qiao::clock::now_ms() / 1000,
            300,
        );
        assert!(verified.is_ok(), "the delivery is signed: {verified:?}");
        let body: serde_json::Value = serde_json::from_str(&delivery.body).unwrap();
        assert_eq!(body["data"]["message"]["Content"], "请假申请");
        assert_eq!(body["data"]["from_user"], "oFan");
        app.stop().await;
    }
);

store_test!(reply_rules_answer_pushes, |db| async move {
    let app = TestApp::start(&db).await;
    let key = app.api_key(&[Scope::Admin]).await;
    let (channel, pusher) = official_account(&app, &key).await;
    let rules = [
        json!({ "name": "工资", "action": "text", "match_mode": "contains", "keyword": "工资", "reply": "工资条请见：\nhttps://oa.example.com/pay", "priority": 10 }),
        json!({ "name": "请假", "action": "text", "match_mode": "prefix", "keyword": "请假", "reply": "请假请走 OA 流程", "priority": 10 }),
        json!({ "name": "同级后建", "action": "text", "match_mode": "prefix", "keyword": "请假", "reply": "不应出现", "priority": 10 }),
        json!({ "name": "停用", "action": "text", "match_mode": "exact", "keyword": "hi", "reply": "disabled", "priority": 1, "enabled": false }),
        json!({ "name": "托管", "action": "text", "match_mode": "hosting", "reply": "您好，已收到", "priority": 100 }),
        json!({ "name": "图片", "action": "image", "reply": "图片已收到", "priority": 50 }),
    ];
    for rule in rules {
        let (status, body) = app
            .api(
                Method::POST,
                &format!("/channels/{channel}/reply-rules"),
                Some(&key),
                Some(rule),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let cases = [
        ("查一下工资", "工资条请见：\nhttps://oa.example.com/pay"),
        ("请假三天", "请假请走 OA 流程"),
        ("hi", "您好，已收到"),
    ];
    for (i, (text, expected)) in cases.into_iter().enumerate() {
        let (query, body) = pusher.encrypted(
            &text_message("oFan", text, 8000 + i as u64),
            &now_secs(),
            "n",
        );
        let (status, answer) = pusher.post(&app.client, &query, body).await;
        assert_eq!(status, 200);
        let reply = pusher.crypt.decrypt_reply(answer.as_bytes()).unwrap();
        let reply = wx::message::Message::parse(reply.message_str().unwrap()).unwrap();
        assert_eq!(reply.get("Content"), Some(expected), "{text}");
        assert_eq!(reply.get("ToUserName"), Some("oFan"));
    }
    let image = format!(
        "<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName><FromUserName><![CDATA[oFan]]></FromUserName>\
         <CreateTime>{}</CreateTime><MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://x/p.jpg]]></PicUrl>\
         <MediaId><![CDATA[m1]]></MediaId><MsgId>8100</MsgId></xml>",
        now_secs()
    );
    let (query, body) = pusher.encrypted(&image, &now_secs(), "n");
    let (_, answer) = pusher.post(&app.client, &query, body).await;
    let reply = pusher.crypt.decrypt_reply(answer.as_bytes()).unwrap();
    assert!(reply.message_str().unwrap().contains("图片已收到"));
    app.stop().await;
});

store_test!(
    retries_and_new_pushes_committed_together_are_told_apart,
    |db| async move {
        let app = TestApp::start(&db).await;
        let key = app.api_key(&[Scope::Admin]).await;
        let (_, pusher) = official_account(&app, &key).await;
        let pusher = std::sync::Arc::new(pusher);
        let mut stored = Vec::new();
        for id in 0..10u64 {
            let push = pusher.encrypted(
                &text_message("oMix", "old", 5000 + id),
                &now_secs(),
                &format!("o{id}"),
            );
            assert_eq!(
                pusher.post(&app.client, &push.0, push.1.clone()).await.0,
                200
            );
            stored.push(push);
        }
        let processed = app
            .metric("qiao_callbacks_total{outcome=\"processed\"}")
            .await;
        let duplicates = app
            .metric("qiao_callbacks_total{outcome=\"duplicate\"}")
            .await;

        // All at once, so that commits mix them: retries of the stored pushes, 40 new
        // pushes, and a second copy of 10 of the new ones.
        let mut burst = stored;
        for id in 0..40u64 {
            let push = pusher.encrypted(
                &text_message("oMix", "new", 6000 + id),
                &now_secs(),
                &format!("n{id}"),
            );
            if id < 10 {
                burst.push(push.clone());
            }
            burst.push(push);
        }
        let mut sends = tokio::task::JoinSet::new();
        for (query, body) in burst {
            let (pusher, client) = (pusher.clone(), app.client.clone());
            sends.spawn(async move { pusher.post(&client, &query, body).await.0 });
        }
        while let Some(status) = sends.join_next().await {
            assert_eq!(status.unwrap(), 200);
        }

        let (status, entries) = app
            .api(Method::GET, "/inbox?limit=500", Some(&key), None)
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            entries.as_array().unwrap().len(),
            50,
            "each push stored once"
        );
        // Metrics are per process (nextest runs each test in its own).
        let processed = app
            .metric("qiao_callbacks_total{outcome=\"processed\"}")
            .await
            - processed;
        let duplicates = app
            .metric("qiao_callbacks_total{outcome=\"duplicate\"}")
            .await
            - duplicates;
        assert!(
            processed >= 40.0 && duplicates >= 20.0,
            "{processed} {duplicates}"
        );
        app.stop().await;
    }
);
