//! WeCom client against the simulator: directory round trips, messages, apps, and base URLs
//! of private deployments.

use std::time::Duration;

use wx::api::work::{
    AppMessage, CardButton, DepartmentWrite, MessageBody, TemplateCard, TitleDesc, UserWrite,
};
use wx::api::{HttpClient, Idempotency, WorkClient};
use wxsim::Role;

use crate::support::*;

#[tokio::test]
async fn work_directory_round_trip() {
    let sim = sim().await;
    let (client, caller, _) = work_caller(&sim, CONTACTS_SECRET, "contacts");
    let c = &client;

    let new_dept = DepartmentWrite {
        name: Some("测试部".into()),
        parentid: Some(1),
        order: Some(5),
        ..DepartmentWrite::default()
    };
    let nd = &new_dept;
    let id = caller
        .call(
            "/cgi-bin/department/create",
            Idempotency::NotIdempotent,
            |t| async move { c.department_create(&t, nd).await },
        )
        .await
        .unwrap();
    assert!(id > 1);
    let list = caller
        .call(
            "/cgi-bin/department/list",
            Idempotency::Idempotent,
            |t| async move { c.department_list(&t, None).await },
        )
        .await
        .unwrap();
    assert!(
        list.iter()
            .any(|d| d.id == id && d.name == "测试部" && d.parentid == 1)
    );
    let upd = DepartmentWrite {
        id: Some(id),
        name: Some("测试二部".into()),
        ..DepartmentWrite::default()
    };
    let upd = &upd;
    let ack = caller
        .call(
            "/cgi-bin/department/update",
            Idempotency::Idempotent,
            |t| async move { c.department_update(&t, upd).await },
        )
        .await
        .unwrap();
    assert_eq!(ack.errmsg, "updated");
    let got = caller
        .call(
            "/cgi-bin/department/get",
            Idempotency::Idempotent,
            |t| async move { c.department_get(&t, id).await },
        )
        .await
        .unwrap();
    assert_eq!(got.name, "测试二部");
    let simple = caller
        .call(
            "/cgi-bin/department/simplelist",
            Idempotency::Idempotent,
            |t| async move { c.department_simplelist(&t, Some(1)).await },
        )
        .await
        .unwrap();
    assert!(simple.iter().any(|d| d.id == id));

    let user = UserWrite {
        userid: "qiaoceshi".into(),
        name: Some("桥测试".into()),
        department: Some(vec![id]),
        position: Some("测试工程师".into()),
        mobile: Some("+86 13900139000".into()),
        ..UserWrite::default()
    };
    let user = &user;
    caller
        .call(
            "/cgi-bin/user/create",
            Idempotency::NotIdempotent,
            |t| async move { c.user_create(&t, user).await },
        )
        .await
        .unwrap();
    let got = caller
        .call(
            "/cgi-bin/user/get",
            Idempotency::Idempotent,
            |t| async move { c.user_get(&t, "qiaoceshi").await },
        )
        .await
        .unwrap();
    assert_eq!(got.name, "桥测试");
    assert_eq!(got.department, vec![id]);
    assert_eq!(
        got.mobile, "+86 13900139000",
        "contacts secret sees sensitive fields"
    );
    let members = caller
        .call(
            "/cgi-bin/user/list",
            Idempotency::Idempotent,
            |t| async move { c.user_list(&t, id, false).await },
        )
        .await
        .unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].position, "测试工程师");
    let simple = caller
        .call(
            "/cgi-bin/user/simplelist",
            Idempotency::Idempotent,
            |t| async move { c.user_simplelist(&t, 1, true).await },
        )
        .await
        .unwrap();
    assert!(simple.iter().any(|u| u.userid == "qiaoceshi"));
    let rows = caller
        .call(
            "/cgi-bin/user/list_id",
            Idempotency::Idempotent,
            |t| async move { c.user_list_id_all(&t, 3).await },
        )
        .await
        .unwrap();
    assert!(
        rows.iter()
            .any(|r| r.userid == "qiaoceshi" && r.department == id)
    );
    assert!(rows.iter().any(|r| r.userid == "zhangsan"));
    let upd = UserWrite {
        userid: "qiaoceshi".into(),
        position: Some("高级测试工程师".into()),
        ..UserWrite::default()
    };
    let upd = &upd;
    caller
        .call(
            "/cgi-bin/user/update",
            Idempotency::Idempotent,
            |t| async move { c.user_update(&t, upd).await },
        )
        .await
        .unwrap();
    let got = caller
        .call(
            "/cgi-bin/user/get",
            Idempotency::Idempotent,
            |t| async move { c.user_get(&t, "qiaoceshi").await },
        )
        .await
        .unwrap();
    assert_eq!(got.position, "高级测试工程师");
    caller
        .call(
            "/cgi-bin/user/delete",
            Idempotency::Idempotent,
            |t| async move { c.user_delete(&t, "qiaoceshi").await },
        )
        .await
        .unwrap();
    let gone = caller
        .call(
            "/cgi-bin/user/get",
            Idempotency::Idempotent,
            |t| async move { c.user_get(&t, "qiaoceshi").await },
        )
        .await
        .unwrap_err();
    assert_eq!(gone.errcode(), Some(60111));
    caller
        .call(
            "/cgi-bin/department/delete",
            Idempotency::Idempotent,
            |t| async move { c.department_delete(&t, id).await },
        )
        .await
        .unwrap();
    let list = caller
        .call(
            "/cgi-bin/department/list",
            Idempotency::Idempotent,
            |t| async move { c.department_list(&t, None).await },
        )
        .await
        .unwrap();
    assert!(!list.iter().any(|d| d.id == id));
    // One token for the whole session.
    assert_eq!(count(&sim, "/cgi-bin/gettoken", CONTACTS_CRED), 1);
}

#[tokio::test]
async fn work_messages_apps_and_recall() {
    let sim = sim().await;
    let (client, caller, _) = work_caller(&sim, APP_SECRET, "1000002");
    let c = &client;
    let api = "/cgi-bin/message/send";

    let msg = AppMessage::new(AGENT, MessageBody::text("服务器告警：磁盘使用率 91%"))
        .to_users(["zhangsan", "nobody"]);
    assert_eq!(msg.idempotency(), Idempotency::Idempotent);
    assert_eq!(
        msg.clone().duplicate_check(None).idempotency(),
        Idempotency::NotIdempotent
    );
    let m = &msg;
    let first = caller
        .call(api, Idempotency::of(api), |t| async move {
            c.message_send(&t, m).await
        })
        .await
        .unwrap();
    assert_eq!(first.invalid_users(), vec!["nobody"]);
    assert!(!first.msgid.is_empty());
    // Same body again (a retry after a timeout): duplicate check, same msgid, one delivery.
    let again = caller
        .call(api, Idempotency::of(api), |t| async move {
            c.message_send(&t, m).await
        })
        .await
        .unwrap();
    assert_eq!(again.msgid, first.msgid);
    let inbox = sim.state().inbox("zhangsan");
    assert_eq!(inbox.len(), 1);
    assert_eq!(
        inbox[0].content["text"]["content"],
        "服务器告警：磁盘使用率 91%"
    );
    assert_eq!(inbox[0].content["enable_duplicate_check"], 1);
    assert_eq!(inbox[0].content["duplicate_check_interval"], 1800);

    // Markdown to a department, template card with a callback.
    let md = AppMessage::new(AGENT, MessageBody::markdown("**部署完成** `v1.2.3`")).to_parties([3]);
    let md = &md;
    caller
        .call(api, Idempotency::of(api), |t| async move {
            c.message_send(&t, md).await
        })
        .await
        .unwrap();
    assert_eq!(sim.state().inbox("lisi").len(), 1);
    let card = TemplateCard {
        card_type: "button_interaction".into(),
        task_id: Some("approve-42".into()),
        main_title: Some(TitleDesc::title("请审批：采购申请 #42")),
        button_list: vec![
            CardButton::callback("同意", "approve"),
            CardButton::callback("驳回", "reject"),
        ],
        ..TemplateCard::default()
    };
    let cm = AppMessage::new(AGENT, MessageBody::TemplateCard(Box::new(card))).to_users(["wangwu"]);
    let cm = &cm;
    let sent = caller
        .call(api, Idempotency::of(api), |t| async move {
            c.message_send(&t, cm).await
        })
        .await
        .unwrap();
    assert!(sent.response_code.is_some());
    assert_eq!(sim.state().inbox("wangwu")[0].msgtype, "template_card");

    let msgid = first.msgid.clone();
    let msgid = &msgid;
    caller
        .call(
            "/cgi-bin/message/recall",
            Idempotency::Idempotent,
            |t| async move { c.message_recall(&t, msgid).await },
        )
        .await
        .unwrap();
    assert!(sim.state().inbox("zhangsan")[0].recalled);

    let agent = caller
        .call(
            "/cgi-bin/agent/get",
            Idempotency::Idempotent,
            |t| async move { c.agent_get(&t, AGENT).await },
        )
        .await
        .unwrap();
    assert_eq!(agent.name, "通知助手");
    assert_eq!(agent.allow_partys.partyid, vec![1]);
    let ips = caller
        .call(
            "/cgi-bin/getcallbackip",
            Idempotency::Idempotent,
            |t| async move { c.getcallbackip(&t).await },
        )
        .await
        .unwrap();
    assert!(!ips.ip_list.is_empty());
    let ips = caller
        .call(
            "/cgi-bin/get_api_domain_ip",
            Idempotency::Idempotent,
            |t| async move { c.get_api_domain_ip(&t).await },
        )
        .await
        .unwrap();
    assert!(!ips.ip_list.is_empty());
}

/// Any base URL: the simulator's `/qyapi` prefix (with or without a trailing slash) and a
/// host-routed private deployment (`http://qyapi.weixin.qq.com:PORT` resolved to the
/// simulator, the way a customer host would be).
#[tokio::test]
async fn private_deployment_base_urls() {
    let sim = sim().await;
    let prefixed = WorkClient::new(http(), url(&format!("{}/", sim.role_url(Role::Qyapi))));
    let t = prefixed.gettoken(CORP, APP_SECRET).await.unwrap();
    let agent = prefixed
        .agent_get(t.access_token.expose(), AGENT)
        .await
        .unwrap();
    assert_eq!(agent.agentid, AGENT);

    let reqwest_client = reqwest::Client::builder()
        .resolve("qyapi.weixin.qq.com", sim.addr())
        .build()
        .unwrap();
    let hosted = WorkClient::new(
        HttpClient::from_client(reqwest_client, Duration::from_secs(5)),
        url(&format!("http://qyapi.weixin.qq.com:{}", sim.addr().port())),
    );
    let t2 = hosted.gettoken(CORP, APP_SECRET).await.unwrap();
    assert_eq!(
        t2.access_token, t.access_token,
        "same WeCom token while valid"
    );
    let list = hosted
        .department_list(t2.access_token.expose(), Some(2))
        .await
        .unwrap();
    assert!(list.iter().any(|d| d.name == "研发中心"));
    assert_eq!(count(&sim, "/cgi-bin/gettoken", APP_CRED), 2);
}
