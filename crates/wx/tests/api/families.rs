//! Client families the simulator does not play yet (Mini Program, OA customer-service and
//! subscription sends, OAuth, WeCom identity/tickets/check-in/external contacts/cards, suite),
//! against a canned double: request encoding (method, path, query, raw UTF-8 body) and
//! response decoding.

use std::sync::Arc;

use wx::api::mp::SubscribeMessage;
use wx::api::oa::{CustomMessage, SubscribeBizMessage};
use wx::api::work::{CheckinQuery, ReplaceButton, UpdateTemplateCard};
use wx::api::{
    Button, DataValue, HttpClient, Idempotency, Menu, MpClient, OaClient, SuiteClient, WorkClient,
};
use wx::token::{AppTokenMode, Caller, MemoryTokenStore, SuiteTicketCell, TokenSource, keys};

use crate::canned;

fn http() -> HttpClient {
    HttpClient::new().unwrap()
}

#[tokio::test]
async fn mini_program_family() {
    let server = canned::start(&[
        ("/cgi-bin/stable_token", 200, r#"{"access_token":"MPTOKEN","expires_in":7200}"#),
        ("/sns/jscode2session", 200, r#"{"openid":"oMp1","session_key":"c2Vzc2lvbmtleTE2Ynl0ZQ==","unionid":"oU1"}"#),
        ("/wxa/business/getuserphonenumber", 200, r#"{"errcode":0,"errmsg":"ok","phone_info":{"phoneNumber":"+86 13800138000","purePhoneNumber":"13800138000","countryCode":86,"watermark":{"timestamp":1637744274,"appid":"wxmp"}}}"#),
        ("/cgi-bin/message/subscribe/send", 200, r#"{"errcode":0,"errmsg":"ok","msgid":"12345"}"#),
    ])
    .await;
    let mp = MpClient::new(http(), server.base.clone());
    let s = mp
        .jscode2session("wxmp", "MPSECRET", "CODE1")
        .await
        .unwrap();
    assert_eq!(s.openid, "oMp1");
    assert_eq!(s.session_key.expose(), "c2Vzc2lvbmtleTE2Ynl0ZQ==");
    assert_eq!(s.unionid.as_deref(), Some("oU1"));
    let r = &server.to("/sns/jscode2session")[0];
    assert_eq!(r.method, "GET");
    assert_eq!(r.param("js_code").as_deref(), Some("CODE1"));
    assert_eq!(r.param("grant_type").as_deref(), Some("authorization_code"));

    let source = Arc::new(TokenSource::mini_program(
        keys::mp("wxmp"),
        &mp,
        "wxmp",
        "MPSECRET",
        AppTokenMode::Stable,
        Arc::new(MemoryTokenStore::new()),
    ));
    let caller = Caller::new(source);
    let mp_ref = &mp;
    let phone = caller
        .call(
            "/wxa/business/getuserphonenumber",
            Idempotency::Idempotent,
            |t| async move { mp_ref.get_user_phone_number(&t, "PHONECODE", None).await },
        )
        .await
        .unwrap();
    assert_eq!(phone.phone_info.pure_phone_number, "13800138000");
    assert_eq!(phone.phone_info.country_code, "86");
    assert_eq!(phone.phone_info.watermark.appid, "wxmp");
    let r = &server.to("/wxa/business/getuserphonenumber")[0];
    assert_eq!(r.param("access_token").as_deref(), Some("MPTOKEN"));
    assert_eq!(r.json(), serde_json::json!({"code": "PHONECODE"}));
    let tok = server.to("/cgi-bin/stable_token")[0].json();
    assert_eq!(tok["force_refresh"], false);
    assert_eq!(tok["grant_type"], "client_credential");

    let mut msg = SubscribeMessage {
        touser: "oMp1".into(),
        template_id: "T1".into(),
        page: Some("pages/order?id=1".into()),
        ..SubscribeMessage::default()
    };
    msg.data
        .insert("thing1".into(), DataValue::new("订单已发货"));
    let m = &msg;
    let api = "/cgi-bin/message/subscribe/send";
    assert_eq!(Idempotency::of(api), Idempotency::NotIdempotent);
    let sent = caller
        .call(api, Idempotency::of(api), |t| async move {
            mp_ref.subscribe_send(&t, m).await
        })
        .await
        .unwrap();
    assert_eq!(sent.msgid, 12345);
    let body = &server.to(api)[0].body;
    assert!(
        body.contains("订单已发货") && !body.contains("\\u"),
        "{body}"
    );
}

#[tokio::test]
async fn official_account_extra_family() {
    let server = canned::start(&[
        ("/cgi-bin/message/custom/send", 200, r#"{"errcode":0,"errmsg":"ok"}"#),
        ("/cgi-bin/message/subscribe/bizsend", 200, r#"{"errcode":0,"errmsg":"ok"}"#),
        ("/cgi-bin/ticket/getticket", 200, r#"{"errcode":0,"errmsg":"ok","ticket":"JSTICKET","expires_in":7200}"#),
        ("/sns/oauth2/access_token", 200, r#"{"access_token":"UT","expires_in":7200,"refresh_token":"RT","openid":"o1","scope":"snsapi_userinfo","unionid":"u1"}"#),
        ("/sns/userinfo", 200, r#"{"openid":"o1","nickname":"小明","sex":0,"headimgurl":"https://x/0","privilege":[],"unionid":"u1"}"#),
    ])
    .await;
    let oa = OaClient::new(http(), server.base.clone());
    let mut custom = CustomMessage::text("o1", "您好，<a href=\"https://x\">点这里</a>");
    custom.kf_account = Some("kf1@test".into());
    oa.custom_send("T", &custom).await.unwrap();
    let body = server.to("/cgi-bin/message/custom/send")[0].json();
    assert_eq!(body["msgtype"], "text");
    assert_eq!(
        body["text"]["content"],
        "您好，<a href=\"https://x\">点这里</a>"
    );
    assert_eq!(body["customservice"]["kf_account"], "kf1@test");

    let mut biz = SubscribeBizMessage {
        touser: "o1".into(),
        template_id: "T2".into(),
        page: Some("https://example.com".into()),
        ..SubscribeBizMessage::default()
    };
    biz.data.insert("thing1".into(), DataValue::new("审核通过"));
    oa.subscribe_bizsend("T", &biz).await.unwrap();
    let body = server.to("/cgi-bin/message/subscribe/bizsend")[0].json();
    assert_eq!(body["data"]["thing1"]["value"], "审核通过");
    assert!(body["data"]["thing1"].get("color").is_none());

    let ticket = oa.jsapi_ticket("T").await.unwrap();
    assert_eq!(ticket.ticket.expose(), "JSTICKET");
    assert_eq!(
        server.to("/cgi-bin/ticket/getticket")[0]
            .param("type")
            .as_deref(),
        Some("jsapi")
    );
    let ut = oa.oauth2_access_token("wx1", "S", "C").await.unwrap();
    assert_eq!(
        (ut.openid.as_str(), ut.refresh_token.expose()),
        ("o1", "RT")
    );
    let info = oa
        .sns_userinfo(ut.access_token.expose(), "o1", None)
        .await
        .unwrap();
    assert_eq!(info.nickname, "小明");
    assert_eq!(info.extra["sex"], 0);
}

#[tokio::test]
async fn wecom_extra_family() {
    let server = canned::start(&[
        ("/cgi-bin/menu/create", 200, r#"{"errcode":0,"errmsg":"ok"}"#),
        ("/cgi-bin/auth/getuserinfo", 200, r#"{"errcode":0,"errmsg":"ok","userid":"zhangsan","user_ticket":"UTK"}"#),
        ("/cgi-bin/auth/getuserdetail", 200, r#"{"errcode":0,"errmsg":"ok","userid":"zhangsan","gender":"1","mobile":"13800000000"}"#),
        ("/cgi-bin/get_jsapi_ticket", 200, r#"{"errcode":0,"errmsg":"ok","ticket":"CORPT","expires_in":7200}"#),
        ("/cgi-bin/ticket/get", 200, r#"{"errcode":0,"errmsg":"ok","ticket":"AGENTT","expires_in":7200}"#),
        ("/cgi-bin/checkin/getcheckindata", 200, r#"{"errcode":0,"errmsg":"ok","checkindata":[{"userid":"james","groupname":"打卡一组","checkin_type":"上班打卡","exception_type":"","checkin_time":1492617610,"location_title":"依澜府","lat":30547645,"mediaids":[]}]}"#),
        ("/cgi-bin/externalcontact/list", 200, r#"{"errcode":0,"errmsg":"ok","external_userid":["wmA","wmB"]}"#),
        ("/cgi-bin/externalcontact/get", 200, r#"{"errcode":0,"errmsg":"ok","external_contact":{"external_userid":"wmA","name":"李客户","type":1,"gender":2,"unionid":"u9"},"follow_user":[{"userid":"zhangsan","remark":"老客户","createtime":1525779812,"tags":[{"group_name":"级别","tag_name":"VIP","type":1}],"add_way":1}],"next_cursor":""}"#),
        ("/cgi-bin/externalcontact/batch/get_by_user", 200, r#"{"errcode":0,"errmsg":"ok","external_contact_list":[{"external_contact":{"external_userid":"wmA","name":"李客户","type":1},"follow_info":{"userid":"zhangsan","tag_id":["et1"],"createtime":1}}],"next_cursor":"CUR2"}"#),
        ("/cgi-bin/message/update_template_card", 200, r#"{"errcode":0,"errmsg":"ok","invaliduser":["ghost"]}"#),
    ])
    .await;
    let w = WorkClient::new(http(), server.base.clone());
    let menu = Menu {
        button: vec![Button::click("审批", "APPROVE")],
    };
    w.menu_create("T", 1_000_002, &menu).await.unwrap();
    let r = &server.to("/cgi-bin/menu/create")[0];
    assert_eq!(
        (r.method.as_str(), r.param("agentid").as_deref()),
        ("POST", Some("1000002"))
    );
    assert_eq!(r.json()["button"][0]["type"], "click");
    let who = w.auth_getuserinfo("T", "CODE").await.unwrap();
    assert_eq!(who.userid.as_deref(), Some("zhangsan"));
    let detail = w
        .auth_getuserdetail("T", who.user_ticket.as_ref().unwrap().expose())
        .await
        .unwrap();
    assert_eq!(detail.mobile, "13800000000");
    assert_eq!(
        server.to("/cgi-bin/auth/getuserdetail")[0].json()["user_ticket"],
        "UTK"
    );
    assert_eq!(
        w.get_jsapi_ticket("T").await.unwrap().ticket.expose(),
        "CORPT"
    );
    assert_eq!(
        w.agent_config_ticket("T").await.unwrap().ticket.expose(),
        "AGENTT"
    );
    assert_eq!(
        server.to("/cgi-bin/ticket/get")[0].param("type").as_deref(),
        Some("agent_config")
    );
    let q = CheckinQuery {
        opencheckindatatype: 3,
        starttime: 1_492_617_600,
        endtime: 1_492_790_400,
        useridlist: vec!["james".into()],
    };
    let rows = w.checkin_getcheckindata("T", &q).await.unwrap();
    assert_eq!(rows[0].checkin_type, "上班打卡");
    assert_eq!(rows[0].extra["lat"], 30_547_645);
    assert_eq!(
        w.externalcontact_list("T", "zhangsan").await.unwrap(),
        vec!["wmA", "wmB"]
    );
    let c = w.externalcontact_get("T", "wmA", None).await.unwrap();
    assert_eq!(
        (c.external_contact.name.as_str(), c.external_contact.kind),
        ("李客户", 1)
    );
    assert_eq!(c.follow_user[0].remark, "老客户");
    let page = w
        .externalcontact_batch_get_by_user("T", &["zhangsan"], "", 100)
        .await
        .unwrap();
    assert_eq!(page.next_cursor, "CUR2");
    assert_eq!(
        page.external_contact_list[0].follow_info.tag_id,
        vec!["et1"]
    );
    let body = server.to("/cgi-bin/externalcontact/batch/get_by_user")[0].json();
    assert_eq!(body["userid_list"][0], "zhangsan");
    let upd = UpdateTemplateCard {
        userids: vec!["zhangsan".into()],
        agentid: 1_000_002,
        response_code: "RC".into(),
        button: Some(ReplaceButton {
            replace_name: "已同意".into(),
        }),
        ..UpdateTemplateCard::default()
    };
    let res = w.update_template_card("T", &upd).await.unwrap();
    assert_eq!(res.invaliduser, vec!["ghost"]);
    let body = server.to("/cgi-bin/message/update_template_card")[0].json();
    assert_eq!(body["button"]["replace_name"], "已同意");
    assert!(body.get("template_card").is_none() && body.get("partyids").is_none());
}

#[tokio::test]
async fn suite_family_and_corp_tokens() {
    let server = canned::start(&[
        ("/cgi-bin/service/get_suite_token", 200, r#"{"errcode":0,"errmsg":"ok","suite_access_token":"SUITETOKEN","expires_in":7200}"#),
        ("/cgi-bin/service/get_provider_token", 200, r#"{"provider_access_token":"PROVTOKEN","expires_in":7200}"#),
        ("/cgi-bin/service/get_pre_auth_code", 200, r#"{"errcode":0,"errmsg":"ok","pre_auth_code":"PRE","expires_in":1200}"#),
        ("/cgi-bin/service/get_permanent_code", 200, r#"{"errcode":0,"errmsg":"ok","access_token":"CT0","expires_in":7200,"permanent_code":"PERM","auth_corp_info":{"corpid":"wwC","corp_name":"客户公司","subject_type":1,"corp_scale":"1-50人"},"auth_info":{"agent":[{"agentid":1,"name":"应用"}]},"state":"s1"}"#),
        ("/cgi-bin/service/get_auth_info", 200, r#"{"errcode":0,"errmsg":"ok","auth_corp_info":{"corpid":"wwC","corp_name":"客户公司"},"auth_info":{"agent":[]}}"#),
        ("/cgi-bin/service/get_corp_token", 200, r#"{"errcode":0,"errmsg":"ok","access_token":"CORPTOKEN","expires_in":7200}"#),
        ("/cgi-bin/agent/get", 200, r#"{"errcode":0,"errmsg":"ok","agentid":1,"name":"应用"}"#),
    ])
    .await;
    let suite = SuiteClient::new(http(), server.base.clone());
    let p = suite.get_provider_token("wwP", "PROVSECRET").await.unwrap();
    assert_eq!(p.provider_access_token.expose(), "PROVTOKEN");
    assert_eq!(
        server.to("/cgi-bin/service/get_provider_token")[0].json()["provider_secret"],
        "PROVSECRET"
    );

    // No ticket yet: a configuration-type failure, no request.
    let tickets = Arc::new(SuiteTicketCell::new());
    let suite_source = Arc::new(TokenSource::suite(
        keys::suite("sid"),
        &suite,
        "sid",
        "SUITESECRET",
        tickets.clone(),
        Arc::new(MemoryTokenStore::new()),
    ));
    let suite_caller = Caller::new(suite_source);
    let s = &suite;
    let err = suite_caller
        .call(
            "/cgi-bin/service/get_pre_auth_code",
            Idempotency::Idempotent,
            |t| async move { s.get_pre_auth_code(&t).await },
        )
        .await
        .unwrap_err();
    assert!(err.is_config_error(), "{err}");
    assert!(err.to_string().contains("suite_ticket"), "{err}");
    assert!(server.to("/cgi-bin/service/get_suite_token").is_empty());

    tickets.set("TICKET1");
    let pre = suite_caller
        .call(
            "/cgi-bin/service/get_pre_auth_code",
            Idempotency::Idempotent,
            |t| async move { s.get_pre_auth_code(&t).await },
        )
        .await
        .unwrap();
    assert_eq!(pre.pre_auth_code.expose(), "PRE");
    let st = server.to("/cgi-bin/service/get_suite_token")[0].json();
    assert_eq!(st["suite_ticket"], "TICKET1");
    assert_eq!(st["suite_secret"], "SUITESECRET");
    assert_eq!(
        server.to("/cgi-bin/service/get_pre_auth_code")[0]
            .param("suite_access_token")
            .as_deref(),
        Some("SUITETOKEN")
    );
    let api = "/cgi-bin/service/get_permanent_code";
    let perm = suite_caller
        .call(api, Idempotency::of(api), |t| async move {
            s.get_permanent_code(&t, "AUTHCODE").await
        })
        .await
        .unwrap();
    assert_eq!(perm.permanent_code.expose(), "PERM");
    assert_eq!(perm.auth_corp_info.corp_name, "客户公司");
    assert_eq!(perm.auth_corp_info.extra["corp_scale"], "1-50人");
    let info = suite_caller
        .call(
            "/cgi-bin/service/get_auth_info",
            Idempotency::Idempotent,
            |t| async move { s.get_auth_info(&t, "wwC", "PERM").await },
        )
        .await
        .unwrap();
    assert_eq!(info.auth_corp_info.corpid, "wwC");

    // The corp token of the authorising corp, then a corp API with it.
    let corp_source = Arc::new(TokenSource::suite_corp(
        keys::suite_corp("sid", "wwC"),
        &suite,
        suite_caller.clone(),
        "wwC",
        perm.permanent_code.clone(),
        Arc::new(MemoryTokenStore::new()),
    ));
    let corp = Caller::new(corp_source);
    let work = WorkClient::new(http(), server.base.clone());
    let w = &work;
    let agent = corp
        .call(
            "/cgi-bin/agent/get",
            Idempotency::Idempotent,
            |t| async move { w.agent_get(&t, 1).await },
        )
        .await
        .unwrap();
    assert_eq!(agent.name, "应用");
    let ct = &server.to("/cgi-bin/service/get_corp_token")[0];
    assert_eq!(
        ct.param("suite_access_token").as_deref(),
        Some("SUITETOKEN")
    );
    assert_eq!(
        ct.json(),
        serde_json::json!({"auth_corpid": "wwC", "permanent_code": "PERM"})
    );
    assert_eq!(
        server.to("/cgi-bin/agent/get")[0]
            .param("access_token")
            .as_deref(),
        Some("CORPTOKEN")
    );
    assert_eq!(
        server.to("/cgi-bin/service/get_suite_token").len(),
        1,
        "suite token cached"
    );
}
