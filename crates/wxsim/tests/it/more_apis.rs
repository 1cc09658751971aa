//! Mini Program login / phone / subscribe messages, OA customer-service and subscription
//! messages, JS-SDK tickets, IP whitelists, check-in, customer contacts, dropped
//! connections.

use serde_json::json;
use wx::errcode::WxApiError;
use wx::message::Message;
use wxsim::{CallbackConfig, CallbackMode, PushEvent, PushStatus, SubscribeChoice};

use crate::helpers::{Env, errcode};
use crate::receiver::{Answer, KEY, Receiver, TOKEN};

const MP: &str = "wx7b2e4d6f8a0c1e39";
const MP_SECRET: &str = "a1c3e5f7b9d0f2a4c6e8b0d2f4a6c8e0";
const MP_USER: &str = "oMp3x00000000000000000000001";
const CORP: &str = "ww8f3a21c5d9e07b46";
const FAN: &str = "oJqBd60000000000000000001000";

async fn mp_token(env: &Env) -> String {
    let v = env
        .get(&format!(
            "{}?grant_type=client_credential&appid={MP}&secret={MP_SECRET}",
            env.api("/cgi-bin/token")
        ))
        .await;
    v["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn mini_program_login_phone_and_subscribe_messages() {
    let env = Env::fast().await;
    let code = env.sim.mp_login(MP, MP_USER).unwrap();
    let url = |code: &str| {
        format!(
            "{}?appid={MP}&secret={MP_SECRET}&js_code={code}&grant_type=authorization_code",
            env.api("/sns/jscode2session")
        )
    };
    let v = env.get(&url(&code)).await;
    assert!(v.get("errcode").is_none(), "{v}");
    assert_eq!(v["openid"], MP_USER);
    assert_eq!(v["unionid"], "oU7xK20000000000000000005000");
    assert_eq!(v["session_key"].as_str().unwrap().len(), 24);
    assert_eq!(errcode(&env.get(&url(&code)).await), 40163);
    assert_eq!(errcode(&env.get(&url("forged")).await), 40029);
    // via the control API, for a new user; 5-minute expiry
    let v = env
        .post(
            &env.ctl("/sim/mp/login"),
            &json!({"appid": MP, "openid": "oMpNewUser"}),
        )
        .await;
    let code = v["code"].as_str().unwrap().to_owned();
    env.advance(300).await;
    assert_eq!(errcode(&env.get(&url(&code)).await), 40029);
    // phone number
    let t = mp_token(&env).await;
    let phone_code = env.sim.mp_phone_code(MP, MP_USER).unwrap();
    let v = env
        .post(
            &format!(
                "{}?access_token={t}",
                env.api("/wxa/business/getuserphonenumber")
            ),
            &json!({"code": phone_code}),
        )
        .await;
    assert_eq!(v["phone_info"]["purePhoneNumber"], "13800138000", "{v}");
    assert_eq!(v["phone_info"]["watermark"]["appid"], MP);
    assert!(
        env.sim
            .mp_phone_code(MP, "oMp3x00000000000000000000002")
            .is_err(),
        "no phone"
    );
    // subscribe message: needs the user's one-time acceptance
    let send = format!(
        "{}?access_token={t}",
        env.api("/cgi-bin/message/subscribe/send")
    );
    let body = json!({"touser": MP_USER, "template_id": "mp-sub-order-0001", "page": "pages/order?id=1",
        "data": {"character_string1": {"value": "A2024001"}, "thing2": {"value": "钢缆"}}});
    assert_eq!(errcode(&env.post(&send, &body).await), 43101);
    env.post(
        &env.ctl("/sim/subscriptions"),
        &json!({"appid": MP, "openid": MP_USER, "template_id": "mp-sub-order-0001"}),
    )
    .await;
    let v = env.post(&send, &body).await;
    assert_eq!(errcode(&v), 0, "{v}");
    assert_eq!(
        errcode(&env.post(&send, &body).await),
        43101,
        "one acceptance, one message"
    );
    let inbox = env.sim.state().inbox(MP_USER);
    assert_eq!(inbox[0].msgtype, "subscribe");
    assert_eq!(inbox[0].content["data"]["thing2"]["value"], "钢缆");
    env.post(
        &env.ctl("/sim/subscriptions"),
        &json!({"appid": MP, "openid": MP_USER, "template_id": "mp-sub-order-0001"}),
    )
    .await;
    let long = json!({"touser": MP_USER, "template_id": "mp-sub-order-0001",
        "data": {"character_string1": {"value": "A1"}, "thing2": {"value": "这是一个超过二十个字符长度限制的商品名称呀呀呀"}}});
    let v = env.post(&send, &long).await;
    assert_eq!(errcode(&v), 47003);
    assert!(v["errmsg"].as_str().unwrap().contains("data.thing2.value"));
}

#[tokio::test]
async fn customer_service_window_and_subscription_notifications() {
    let env = Env::fast().await;
    let t = env.oa_token().await;
    let url = format!(
        "{}?access_token={t}",
        env.api("/cgi-bin/message/custom/send")
    );
    let text = |s: &str| json!({"touser": FAN, "msgtype": "text", "text": {"content": s}});
    assert_eq!(
        errcode(&env.post(&url, &text("hi")).await),
        45015,
        "no interaction yet"
    );
    // the user writes: 5 replies within 48 hours
    env.sim.push_text(env.appid(), FAN, "在吗").await.unwrap();
    for i in 0..5 {
        assert_eq!(errcode(&env.post(&url, &text(&format!("r{i}"))).await), 0);
    }
    assert_eq!(errcode(&env.post(&url, &text("r5")).await), 45047);
    assert_eq!(env.sim.state().inbox(FAN)[0].msgtype, "custom:text");
    env.advance(48 * 3600 + 1).await;
    let t = env.oa_token().await;
    let url = format!(
        "{}?access_token={t}",
        env.api("/cgi-bin/message/custom/send")
    );
    assert_eq!(errcode(&env.post(&url, &text("late")).await), 45015);
    // a menu click opens 3 messages within a minute
    env.sim
        .push_event(env.appid(), FAN, PushEvent::Click { key: "K".into() })
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(errcode(&env.post(&url, &text("ok")).await), 0);
    }
    assert_eq!(errcode(&env.post(&url, &text("4th")).await), 45047);
    // subscription notifications (bizsend)
    let biz = format!(
        "{}?access_token={t}",
        env.api("/cgi-bin/message/subscribe/bizsend")
    );
    let body = json!({"touser": FAN, "template_id": "sub-delivery-0001", "page": "https://x.example/o/1",
        "data": {"thing1": {"value": "钢缆"}, "time2": {"value": "2024-01-01 10:00"}}});
    assert_eq!(errcode(&env.post(&biz, &body).await), 43101);
    let v = env
        .post(&env.ctl("/sim/subscriptions"), &json!({"appid": env.appid(), "openid": FAN, "template_id": "sub-delivery-0001", "count": 2}))
        .await;
    assert_eq!(v["remaining"], 2);
    assert_eq!(errcode(&env.post(&biz, &body).await), 0);
    assert_eq!(
        errcode(
            &env.post(
                &biz,
                &json!({"touser": FAN, "template_id": "nope", "data": {}})
            )
            .await
        ),
        40037
    );
}

#[tokio::test]
async fn jsapi_tickets_oa_corp_and_agent() {
    let env = Env::fast().await;
    let t = env.oa_token().await;
    let url = format!(
        "{}?access_token={t}&type=jsapi",
        env.api("/cgi-bin/ticket/getticket")
    );
    let a = env.get(&url).await;
    assert_eq!(errcode(&a), 0, "{a}");
    assert_eq!(a["expires_in"], 7200);
    assert_eq!(
        env.get(&url).await["ticket"],
        a["ticket"],
        "cached while valid"
    );
    let ticket = a["ticket"].as_str().unwrap();
    let page = "http://bridge.example/page?x=1";
    let sig = wx::crypto::jsapi_signature(ticket, "Wm3WZYTPz0wzccnW", "1414587457", page);
    let v = env
        .post(
            &env.ctl("/sim/jsapi/check"),
            &json!({"account": env.appid(), "url": format!("{page}#frag"), "noncestr": "Wm3WZYTPz0wzccnW", "timestamp": "1414587457", "signature": sig.as_str()}),
        )
        .await;
    assert_eq!(v["valid"], true, "{v}");
    let app = env.app_token(1_000_002).await;
    let corp = env
        .get(&format!(
            "{}?access_token={app}",
            env.qy("/cgi-bin/get_jsapi_ticket")
        ))
        .await;
    let agent = env
        .get(&format!(
            "{}?access_token={app}&type=agent_config",
            env.qy("/cgi-bin/ticket/get")
        ))
        .await;
    assert_eq!(errcode(&corp), 0);
    assert_eq!(errcode(&agent), 0);
    assert_ne!(corp["ticket"], agent["ticket"]);
    let bad = env
        .get(&format!(
            "{}?access_token={app}&type=other",
            env.qy("/cgi-bin/ticket/get")
        ))
        .await;
    assert_eq!(errcode(&bad), 91040);
}

#[tokio::test]
async fn ip_whitelists_answer_tencent_errors_with_the_ip() {
    let env = Env::fast().await;
    env.post(
        &env.ctl("/sim/settings"),
        &json!({"account": env.appid(), "trusted_ips": ["10.1.0.0/16"]}),
    )
    .await;
    let token_url = format!(
        "{}?grant_type=client_credential&appid={}&secret={}",
        env.api("/cgi-bin/token"),
        env.appid(),
        env.oa_secret()
    );
    let v: serde_json::Value = env
        .http
        .get(&token_url)
        .header("X-Sim-Client-Ip", "47.100.1.2")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(errcode(&v), 40164);
    let e = WxApiError::new(40164, v["errmsg"].as_str().unwrap());
    assert_eq!(e.ip, Some("47.100.1.2".parse().unwrap()), "{v}");
    let v: serde_json::Value = env
        .http
        .get(&token_url)
        .header("X-Sim-Client-Ip", "10.1.2.3")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["access_token"].is_string());
    // the socket peer (127.0.0.1) is not in the list either
    assert_eq!(errcode(&env.get(&token_url).await), 40164);
    // WeCom app
    let app_token = env.app_token(1_000_002).await;
    env.post(
        &env.ctl("/sim/settings"),
        &json!({"account": format!("{CORP}/1000002"), "trusted_ips": ["192.168.9.9"]}),
    )
    .await;
    let v = env
        .get(&format!(
            "{}?access_token={app_token}&userid=lisi",
            env.qy("/cgi-bin/user/get")
        ))
        .await;
    assert_eq!(errcode(&v), 60020);
    let e = WxApiError::new(60020, v["errmsg"].as_str().unwrap());
    assert_eq!(e.ip, Some("127.0.0.1".parse().unwrap()), "{v}");
    let v: serde_json::Value = env
        .http
        .get(format!(
            "{}?access_token={app_token}&userid=lisi",
            env.qy("/cgi-bin/user/get")
        ))
        .header("X-Sim-Client-Ip", "192.168.9.9")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(errcode(&v), 0);
    // other secrets of the corp are unaffected
    let t = env.contacts_token().await;
    assert_eq!(
        errcode(
            &env.get(&format!(
                "{}?access_token={t}&userid=lisi",
                env.qy("/cgi-bin/user/get")
            ))
            .await
        ),
        0
    );
}

#[tokio::test]
async fn mp_popup_and_customer_service_events_reach_the_mp_callback() {
    let env = Env::fast().await;
    let rx = Receiver::start(Answer::Success).await;
    env.sim
        .register_callback(CallbackConfig::new(
            MP,
            &rx.url,
            TOKEN,
            KEY,
            CallbackMode::Safe,
        ))
        .unwrap();
    let t = mp_token(&env).await;
    let send = format!(
        "{}?access_token={t}",
        env.api("/cgi-bin/message/subscribe/send")
    );
    let body = json!({"touser": MP_USER, "template_id": "mp-sub-order-0001",
        "data": {"character_string1": {"value": "A2024001"}, "thing2": {"value": "钢缆"}}});
    let popup = |accept: bool| PushEvent::SubscribeMsgPopup {
        choices: vec![SubscribeChoice {
            template_id: "mp-sub-order-0001".into(),
            accept,
        }],
        scene: 0,
    };
    // A refusal grants nothing; an acceptance grants exactly one message.
    let o = env.sim.push_event(MP, MP_USER, popup(false)).await.unwrap();
    assert_eq!(o.status, PushStatus::Acked, "{o:?}");
    assert_eq!(errcode(&env.post(&send, &body).await), 43101);
    env.sim.push_event(MP, MP_USER, popup(true)).await.unwrap();
    assert_eq!(errcode(&env.post(&send, &body).await), 0);
    assert_eq!(errcode(&env.post(&send, &body).await), 43101, "one-time");
    let got = rx.received();
    let m = Message::parse(&got[1].plaintext).unwrap();
    assert_eq!(m.get("Event"), Some("subscribe_msg_popup_event"));
    assert!(
        got[1].plaintext.contains("<SubscribeMsgPopupEvent><List><TemplateId><![CDATA[mp-sub-order-0001]]></TemplateId><SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString><PopupScene>0</PopupScene></List></SubscribeMsgPopupEvent>"),
        "{}",
        got[1].plaintext
    );
    let unknown = PushEvent::SubscribeMsgPopup {
        choices: vec![SubscribeChoice {
            template_id: "nope".into(),
            accept: true,
        }],
        scene: 0,
    };
    assert!(env.sim.push_event(MP, MP_USER, unknown).await.is_err());
    // The user opens the customer-service session from a contact button.
    let enter = PushEvent::UserEnterTempsession {
        session_from: "order-A2024001".into(),
    };
    env.sim
        .push_event(MP, MP_USER, enter.clone())
        .await
        .unwrap();
    let m = Message::parse(&rx.received()[2].plaintext).unwrap();
    assert_eq!(m.get("Event"), Some("user_enter_tempsession"));
    assert_eq!(m.get("SessionFrom"), Some("order-A2024001"));
    assert!(
        env.sim.push_event(env.appid(), FAN, enter).await.is_err(),
        "Mini Programs only"
    );
}

#[tokio::test]
async fn checkin_data() {
    let env = Env::fast().await;
    let t = env.app_token(1_000_002).await;
    let url = format!(
        "{}?access_token={t}",
        env.qy("/cgi-bin/checkin/getcheckindata")
    );
    let start = 1_704_038_400; // 2024-01-01 00:00 Beijing, a Monday
    let body = json!({"opencheckindatatype": 3, "starttime": start, "endtime": start + 7 * 86_400 - 1, "useridlist": ["lisi", "wangwu"]});
    let v = env.post(&url, &body).await;
    assert_eq!(errcode(&v), 0, "{v}");
    let rows = v["checkindata"].as_array().unwrap();
    assert_eq!(rows.len(), 20, "two members, five weekdays, on + off duty");
    assert_eq!(env.post(&url, &body).await, v, "deterministic");
    assert_eq!(rows[0]["checkin_type"], "上班打卡");
    let too_long = json!({"opencheckindatatype": 3, "starttime": start, "endtime": start + 31 * 86_400, "useridlist": ["lisi"]});
    assert_eq!(errcode(&env.post(&url, &too_long).await), 301024);
    let empty = json!({"opencheckindatatype": 3, "starttime": start, "endtime": start + 10, "useridlist": []});
    assert_eq!(errcode(&env.post(&url, &empty).await), 301023);
    let t3 = env.app_token(1_000_003).await;
    let v = env
        .post(
            &format!(
                "{}?access_token={t3}",
                env.qy("/cgi-bin/checkin/getcheckindata")
            ),
            &body,
        )
        .await;
    assert_eq!(errcode(&v), 48002, "app without check-in permission");
}

#[tokio::test]
async fn checkin_day_reports_summarise_the_records() {
    let env = Env::fast().await;
    let t = env.app_token(1_000_002).await;
    let url = |p: &str| format!("{}?access_token={t}", env.qy(p));
    let start = 1_704_038_400; // 2024-01-01 00:00 Beijing, a Monday
    let body = json!({"starttime": start, "endtime": start + 7 * 86_400 - 1, "useridlist": ["lisi", "nobody"]});
    let v = env
        .post(&url("/cgi-bin/checkin/getcheckin_daydata"), &body)
        .await;
    assert_eq!(errcode(&v), 0, "{v}");
    let days = v["datas"].as_array().unwrap();
    assert_eq!(days.len(), 7, "one report per day of the known member");
    let records = env
        .post(
            &url("/cgi-bin/checkin/getcheckindata"),
            &json!({"opencheckindatatype": 3, "starttime": start, "endtime": start + 7 * 86_400 - 1, "useridlist": ["lisi"]}),
        )
        .await;
    let records = records["checkindata"].as_array().unwrap();
    for (i, day) in days.iter().enumerate() {
        let midnight = start + 86_400 * i64::try_from(i).unwrap();
        let base = &day["base_info"];
        assert_eq!(base["date"], midnight);
        assert_eq!(base["acctid"], "lisi");
        assert_eq!(
            base["day_type"],
            u8::from(i >= 5),
            "Saturday and Sunday are rest days"
        );
        // The day report agrees with the raw records of that day.
        let times: Vec<i64> = records
            .iter()
            .map(|r| r["checkin_time"].as_i64().unwrap())
            .filter(|t| (midnight..midnight + 86_400).contains(t))
            .collect();
        let summary = &day["summary_info"];
        assert_eq!(summary["checkin_count"], times.len());
        if let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) {
            assert_eq!(
                summary["earliest_time"],
                first - midnight,
                "seconds after midnight"
            );
            assert_eq!(summary["lastest_time"], last - midnight);
            assert_eq!(summary["regular_work_sec"], last - first);
        }
    }
    assert!(
        days[0]["base_info"]["departs_name"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
    let too_long =
        json!({"starttime": start, "endtime": start + 31 * 86_400, "useridlist": ["lisi"]});
    assert_eq!(
        errcode(
            &env.post(&url("/cgi-bin/checkin/getcheckin_daydata"), &too_long)
                .await
        ),
        301024
    );
    let t3 = env.app_token(1_000_003).await;
    let v = env
        .post(
            &format!(
                "{}?access_token={t3}",
                env.qy("/cgi-bin/checkin/getcheckin_daydata")
            ),
            &body,
        )
        .await;
    assert_eq!(errcode(&v), 48002, "app without check-in permission");
}

#[tokio::test]
async fn external_contacts_and_change_pushes() {
    let env = Env::fast().await;
    let t = env.app_token(1_000_002).await;
    let v = env
        .get(&format!(
            "{}?access_token={t}&userid=sunqi",
            env.qy("/cgi-bin/externalcontact/list")
        ))
        .await;
    assert_eq!(v["external_userid"].as_array().unwrap().len(), 2, "{v}");
    let id = v["external_userid"][0].as_str().unwrap().to_owned();
    let v = env
        .get(&format!(
            "{}?access_token={t}&external_userid={id}",
            env.qy("/cgi-bin/externalcontact/get")
        ))
        .await;
    assert_eq!(v["external_contact"]["name"], "王总");
    assert_eq!(v["follow_user"].as_array().unwrap().len(), 2);
    let batch = format!(
        "{}?access_token={t}",
        env.qy("/cgi-bin/externalcontact/batch/get_by_user")
    );
    let v = env
        .post(
            &batch,
            &json!({"userid_list": ["sunqi", "zhouba"], "limit": 2}),
        )
        .await;
    assert_eq!(v["external_contact_list"].as_array().unwrap().len(), 2);
    let next = v["next_cursor"].as_str().unwrap().to_owned();
    let v = env
        .post(
            &batch,
            &json!({"userid_list": ["sunqi", "zhouba"], "limit": 2, "cursor": next}),
        )
        .await;
    assert_eq!(v["external_contact_list"].as_array().unwrap().len(), 1);
    assert_eq!(v["next_cursor"], "");
    let t3 = env.app_token(1_000_003).await;
    let v = env
        .get(&format!(
            "{}?access_token={t3}&userid=sunqi",
            env.qy("/cgi-bin/externalcontact/list")
        ))
        .await;
    assert_eq!(errcode(&v), 84074);
    // a new customer adds lisi: state changes and the app's callback hears of it
    let rx = Receiver::start(Answer::Success).await;
    env.sim
        .register_callback(wxsim::CallbackConfig::new(
            format!("{CORP}/1000002"),
            &rx.url,
            TOKEN,
            KEY,
            wxsim::CallbackMode::Safe,
        ))
        .unwrap();
    let v = env
        .post(
            &env.ctl("/sim/push/change_external_contact"),
            &json!({"account": format!("{CORP}/1000002"), "user": "lisi", "change_type": "add_external_contact", "external_userid": "wmNEW000000000000000000000000001", "name": "新客户", "state": "poster"}),
        )
        .await;
    assert_eq!(v["outcome"]["status"], "acked", "{v}");
    let m = wx::message::Message::parse(&rx.received()[0].plaintext).unwrap();
    assert_eq!(m.get("ChangeType"), Some("add_external_contact"));
    assert_eq!(m.get("FromUserName"), Some("sys"));
    assert!(m.get("WelcomeCode").is_some_and(|w| !w.is_empty()));
    let v = env
        .get(&format!(
            "{}?access_token={t}&userid=lisi",
            env.qy("/cgi-bin/externalcontact/list")
        ))
        .await;
    assert_eq!(v["external_userid"][0], "wmNEW000000000000000000000000001");
    let o = env
        .sim
        .push_event(
            &format!("{CORP}/1000002"),
            "lisi",
            PushEvent::ChangeExternalContact {
                change_type: "del_follow_user".into(),
                external_userid: "wmNEW000000000000000000000000001".into(),
                name: String::new(),
                state: String::new(),
            },
        )
        .await
        .unwrap();
    assert_eq!(o.status, PushStatus::Acked);
    let v = env
        .get(&format!(
            "{}?access_token={t}&userid=lisi",
            env.qy("/cgi-bin/externalcontact/list")
        ))
        .await;
    assert_eq!(errcode(&v), 84061);
}

#[tokio::test]
async fn dropped_connection_fault() {
    let env = Env::fast().await;
    let v = env
        .post(
            &env.ctl("/sim/faults"),
            &json!({"path": "/cgi-bin/gettoken", "drop_connection": true, "times": 1}),
        )
        .await;
    assert_eq!(errcode(&v), 0, "{v}");
    let url = env.gettoken_url(env.corpid(), env.contacts_secret());
    let err = env.http.get(&url).send().await.unwrap_err();
    assert!(
        !err.is_timeout() && err.status().is_none(),
        "no HTTP answer: {err:?}"
    );
    let v = env.get(&url).await;
    assert_eq!(errcode(&v), 0, "only once");
    let v = env
        .get(&format!(
            "{}?path=/cgi-bin/gettoken",
            env.ctl("/sim/requests")
        ))
        .await;
    assert_eq!(v["requests"][0]["injected"], true);
    // pages too
    env.post(
        &env.ctl("/sim/faults"),
        &json!({"path": "/connect/oauth2/authorize", "role": "open", "drop_connection": true}),
    )
    .await;
    let page = format!(
        "{}/connect/oauth2/authorize?appid={}",
        env.sim.role_url(wxsim::Role::Open),
        env.appid()
    );
    assert!(env.http.get(page).send().await.is_err());
}
