//! Official Account client against the simulator: every family reads back.

use wx::api::oa::TemplateMessage;
use wx::api::{Button, Idempotency, Menu, json_body};
use wx::token::AppTokenMode;

use crate::support::*;

#[test]
fn json_bodies_keep_non_ascii_raw() {
    let body = serde_json::json!({"name": "张三", "emoji": "😀", "quote": "\"x\""});
    let bytes = json_body(&body).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("张三") && text.contains("😀"), "{text}");
    assert!(!text.contains("\\u"), "no \\u escapes: {text}");
}

#[tokio::test]
async fn oa_tokens_and_ip_lists() {
    let sim = sim().await;
    let oa = oa_client(&sim);
    let plain = oa.token(OA_APPID, OA_SECRET).await.unwrap();
    assert!(!plain.access_token.expose().is_empty());
    assert!(plain.expires_in > 0);
    let stable = oa.stable_token(OA_APPID, OA_SECRET, false).await.unwrap();
    let again = oa.stable_token(OA_APPID, OA_SECRET, false).await.unwrap();
    assert_eq!(
        stable.access_token, again.access_token,
        "stable token does not rotate"
    );
    let ips = oa
        .getcallbackip(stable.access_token.expose())
        .await
        .unwrap();
    assert!(!ips.ip_list.is_empty());
    let ips = oa
        .get_api_domain_ip(plain.access_token.expose())
        .await
        .unwrap();
    assert!(!ips.ip_list.is_empty());
    // Wrong secret: 40125, a configuration error carrying the rid.
    let err = oa.token(OA_APPID, "wrong").await.unwrap_err();
    assert_eq!(err.errcode(), Some(40125));
    assert!(err.wx().unwrap().rid.is_some());
}

#[tokio::test]
async fn oa_followers_menu_and_template_read_back() {
    let sim = sim().await;
    let (oa, caller, _) = oa_caller(&sim, AppTokenMode::Stable);
    let oa = &oa;

    let page = caller
        .call(
            "/cgi-bin/user/get",
            Idempotency::Idempotent,
            |t| async move { oa.user_get(&t, None).await },
        )
        .await
        .unwrap();
    assert_eq!(page.count as usize, page.openids().len());
    assert!(page.openids().contains(&fan(0)));
    let all = caller
        .call(
            "/cgi-bin/user/get",
            Idempotency::Idempotent,
            |t| async move { oa.user_get_all(&t).await },
        )
        .await
        .unwrap();
    assert_eq!(all.len() as i64, page.total);

    let info = caller
        .call(
            "/cgi-bin/user/info",
            Idempotency::Idempotent,
            |t| async move { oa.user_info(&t, &fan(0), None).await },
        )
        .await
        .unwrap();
    assert_eq!(info.openid, fan(0));
    assert_eq!(info.subscribe, 1);
    let batch = caller
        .call(
            "/cgi-bin/user/info/batchget",
            Idempotency::Idempotent,
            |t| async move {
                oa.user_info_batchget(&t, &[&fan(1), &fan(2)], Some("zh_CN"))
                    .await
            },
        )
        .await
        .unwrap();
    assert_eq!(batch.len(), 2);
    assert_eq!(batch[1].openid, fan(2));

    // Menus: none, create (Chinese names, raw UTF-8), read back, delete.
    let none = caller
        .call(
            "/cgi-bin/menu/get",
            Idempotency::Idempotent,
            |t| async move { oa.menu_get(&t).await },
        )
        .await
        .unwrap();
    assert!(none.is_none());
    let menu = Menu {
        button: vec![
            Button::click("今日订单", "ORDERS"),
            Button::parent(
                "服务",
                vec![
                    Button::view("官网", "https://example.com/"),
                    Button::click("联系客服", "KF"),
                ],
            ),
        ],
    };
    let menu = &menu;
    caller
        .call(
            "/cgi-bin/menu/create",
            Idempotency::Idempotent,
            |t| async move { oa.menu_create(&t, menu).await },
        )
        .await
        .unwrap();
    let got = caller
        .call(
            "/cgi-bin/menu/get",
            Idempotency::Idempotent,
            |t| async move { oa.menu_get(&t).await },
        )
        .await
        .unwrap()
        .expect("a menu");
    assert_eq!(got.menu.button.len(), 2);
    assert_eq!(got.menu.button[0].name, "今日订单");
    assert_eq!(got.menu.button[1].sub_button[1].key.as_deref(), Some("KF"));
    caller
        .call(
            "/cgi-bin/menu/delete",
            Idempotency::Idempotent,
            |t| async move { oa.menu_delete(&t).await },
        )
        .await
        .unwrap();
    assert!(
        caller
            .call(
                "/cgi-bin/menu/get",
                Idempotency::Idempotent,
                |t| async move { oa.menu_get(&t).await }
            )
            .await
            .unwrap()
            .is_none()
    );

    // Template message with client_msg_id: a repeat is not delivered twice.
    let msg = TemplateMessage::new(fan(3), TEMPLATE)
        .data("first", "您的订单已发货")
        .data("keyword1", "SO-2024-0001")
        .data("keyword2", "已发货")
        .url("https://example.com/orders/1");
    assert!(msg.client_msg_id.is_some());
    let msg = &msg;
    let api = "/cgi-bin/message/template/send";
    let first = caller
        .call(api, Idempotency::of(api), |t| async move {
            oa.template_send(&t, msg).await
        })
        .await
        .unwrap();
    let second = caller
        .call(api, Idempotency::of(api), |t| async move {
            oa.template_send(&t, msg).await
        })
        .await
        .unwrap();
    assert_eq!(first.msgid, second.msgid);
    let inbox = sim.state().inbox(&fan(3));
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].content["data"]["first"]["value"], "您的订单已发货");

    // Not a follower: a recipient failure, no retry.
    let to_gone = TemplateMessage::new(fan(9), TEMPLATE).data("first", "x");
    let to_gone = &to_gone;
    let (res, report) = caller
        .call_traced(api, Idempotency::of(api), |t| async move {
            oa.template_send(&t, to_gone).await
        })
        .await;
    let err = res.unwrap_err();
    assert_eq!(err.errcode(), Some(43004));
    assert_eq!(err.reaction(), wx::errcode::Reaction::RecipientFailure);
    assert_eq!(report.attempts, 1);
}
