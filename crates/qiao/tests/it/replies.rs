//! Auto-reply rules (回调设置): validation, matching through the cache, batch delete, audit,
//! and the console pages.

use std::sync::Arc;
use std::time::Duration;

use qiao::audit::Actor;
use qiao::auth::Role;
use qiao::auth::api_keys::Scope;
use qiao::replies::{self, Action, Matcher, NewRule, ReplyAction, RuleCache};
use qiao::store::TenantId;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{PASSWORD, TestApp, add_user, csrf_of, login, post_form};
use crate::store_test;

const OA_SECRET: &str = "0123456789abcdef0123456789abcdef";
const APP_SECRET: &str = "Xk3rT8pLmN2vQ9wYz5aB7cD1eF4gH6jK0iU8oP2sR4t";

/// The channels of a test: an Official Account, a WeCom corp with an app, a Mini Program.
struct Channels {
    oa: i64,
    corp: i64,
    app: i64,
    mini: i64,
}

async fn channels(app: &TestApp, admin: &str) -> Channels {
    app.leaks.secret(OA_SECRET);
    app.leaks.secret(APP_SECRET);
    let create = async |body: Value| {
        let (status, channel) = app
            .api(Method::POST, "/channels", Some(admin), Some(body))
            .await;
        assert_eq!(status, 201, "{channel}");
        channel["id"].as_i64().unwrap()
    };
    let oa = create(json!({ "kind": "official_account", "name": "人事服务号",
        "app_id": "wx1234567890abcdef", "app_secret": OA_SECRET,
        "original_id": "gh_7f083739789a", "account_type": "service", "verified": true }))
    .await;
    let corp = create(json!({ "kind": "wecom_corp", "name": "示例集团",
        "corp_id": "ww1436e0e65a779aee" }))
    .await;
    let wecom_app = create(json!({ "kind": "wecom_app", "corp": corp, "name": "审批",
        "agent_id": 1000002, "secret": APP_SECRET }))
    .await;
    let mini = create(json!({ "kind": "mini_program", "name": "员工小程序",
        "app_id": "wxabcdef1234567890", "app_secret": OA_SECRET }))
    .await;
    Channels {
        oa,
        corp,
        app: wecom_app,
        mini,
    }
}

fn text_rule(name: &str, mode: &str, keyword: &str, reply: &str, priority: i64) -> Value {
    json!({ "name": name, "action": "text", "match_mode": mode, "keyword": keyword,
            "reply": reply, "priority": priority })
}

/// POSTs a rule to a channel: (status, body).
async fn post_rule(app: &TestApp, key: &str, channel: i64, body: Value) -> (u16, Value) {
    app.api(
        Method::POST,
        &format!("/channels/{channel}/reply-rules"),
        Some(key),
        Some(body),
    )
    .await
}

/// POSTs a rule that must be accepted; its id.
async fn rule(app: &TestApp, key: &str, channel: i64, body: Value) -> i64 {
    let (status, rule) = post_rule(app, key, channel, body).await;
    assert_eq!(status, 201, "{rule}");
    rule["id"].as_i64().unwrap()
}

/// Asserts a 422 that names `field`; the message.
fn refused(outcome: (u16, Value), field: &str) -> String {
    let (status, body) = outcome;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["details"]["field"], field, "{body}");
    body["message"].as_str().unwrap().to_string()
}

async fn matcher(app: &TestApp, channel: i64) -> Arc<Matcher> {
    app.state()
        .reply_rules
        .matcher(&app.state().store, TenantId::DEFAULT, channel)
        .await
        .unwrap()
}

store_test!(every_validation_rule_is_enforced, |db| async move {
    let app = TestApp::start(&db).await;
    let admin = app.api_key(&[Scope::Admin]).await;
    let reader = app.api_key(&[Scope::Read]).await;
    let ch = channels(&app, &admin).await;

    let ok = text_rule("报销", "contains", &"键".repeat(50), "请访问报销系统", 1);
    rule(&app, &admin, ch.oa, ok.clone()).await;
    let mut body = ok.clone();
    body["keyword"] = json!("键".repeat(51));
    let message = refused(post_rule(&app, &admin, ch.oa, body).await, "keyword");
    assert!(message.contains("50"), "{message}");

    let mut body = ok.clone();
    body["reply"] = json!("字".repeat(1500));
    rule(&app, &admin, ch.oa, body.clone()).await;
    body["reply"] = json!("字".repeat(1501));
    let message = refused(post_rule(&app, &admin, ch.oa, body).await, "reply");
    assert!(message.contains("1500"), "{message}");
    let mut body = ok.clone();
    body["reply"] = json!("  ");
    refused(post_rule(&app, &admin, ch.oa, body).await, "reply");

    for (priority, says) in [
        (json!(0), "from 1 to 100"),
        (json!(101), "from 1 to 100"),
        (json!(1.5), "decimals"),
        (json!(-1), "from 1 to 100"),
    ] {
        let mut body = ok.clone();
        body["priority"] = priority.clone();
        let message = refused(post_rule(&app, &admin, ch.oa, body).await, "priority");
        assert!(message.contains(says), "{priority}: {message}");
    }
    for priority in [1, 100] {
        let mut body = ok.clone();
        body["priority"] = json!(priority);
        rule(&app, &admin, ch.oa, body).await;
    }

    let image = json!({ "name": "图片", "action": "image", "reply": "已收到图片", "priority": 5 });
    rule(&app, &admin, ch.oa, image.clone()).await;
    let mut body = image.clone();
    body["keyword"] = json!("图");
    refused(post_rule(&app, &admin, ch.oa, body).await, "keyword");
    let mut body = image.clone();
    body["match_mode"] = json!("exact");
    refused(post_rule(&app, &admin, ch.oa, body).await, "match_mode");
    let mut body = ok.clone();
    body.as_object_mut().unwrap().remove("match_mode");
    refused(post_rule(&app, &admin, ch.oa, body).await, "match_mode");
    let mut body = ok.clone();
    body.as_object_mut().unwrap().remove("keyword");
    refused(post_rule(&app, &admin, ch.oa, body).await, "keyword");
    let mut body = ok.clone();
    body["match_mode"] = json!("hosting");
    refused(
        post_rule(&app, &admin, ch.oa, body.clone()).await,
        "keyword",
    );
    body.as_object_mut().unwrap().remove("keyword");
    rule(&app, &admin, ch.oa, body).await;
    let mut body = ok.clone();
    body["name"] = json!(" ");
    refused(post_rule(&app, &admin, ch.oa, body).await, "name");

    let subscribe =
        json!({ "name": "关注", "action": "subscribe", "reply": "欢迎关注", "priority": 1 });
    rule(&app, &admin, ch.oa, subscribe.clone()).await;
    let message = refused(
        post_rule(&app, &admin, ch.app, subscribe.clone()).await,
        "action",
    );
    assert!(message.contains("Official Accounts"), "{message}");
    rule(&app, &admin, ch.app, ok.clone()).await;
    rule(&app, &admin, ch.app, image.clone()).await;

    for channel in [ch.mini, ch.corp] {
        let message = refused(
            post_rule(&app, &admin, channel, ok.clone()).await,
            "channel",
        );
        assert!(
            message.contains("Official Accounts and WeCom apps"),
            "{message}"
        );
        let (status, _) = app
            .api(
                Method::GET,
                &format!("/channels/{channel}/reply-rules"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(status, 422);
    }
    let (status, _) = post_rule(&app, &admin, 999_999, ok.clone()).await;
    assert_eq!(status, 404);
    let (status, _) = post_rule(&app, &reader, ch.oa, ok.clone()).await;
    assert_eq!(status, 403, "a read-only key cannot add rules");
    let mut body = ok.clone();
    body["colour"] = json!("red");
    let (status, _) = post_rule(&app, &admin, ch.oa, body).await;
    assert!(status == 400 || status == 422, "unknown fields are refused");

    // Updates are checked the same way; a rule that becomes an image rule drops its keyword.
    let id = rule(&app, &admin, ch.oa, text_rule("改", "prefix", "改", "x", 9)).await;
    let patch = async |body: Value| {
        app.api(
            Method::PATCH,
            &format!("/reply-rules/{id}"),
            Some(&admin),
            Some(body),
        )
        .await
    };
    refused(patch(json!({ "priority": 2.5 })).await, "priority");
    refused(patch(json!({ "keyword": "k".repeat(51) })).await, "keyword");
    refused(
        patch(json!({ "action": "image", "keyword": "k" })).await,
        "keyword",
    );
    let (status, changed) = patch(json!({ "action": "image", "priority": 3 })).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (
            &changed["match_mode"],
            &changed["keyword"],
            &changed["priority"]
        ),
        (&Value::Null, &Value::Null, &json!(3))
    );
    refused(patch(json!({ "action": "text" })).await, "match_mode");
    let (status, changed) = patch(json!({ "action": "text", "match_mode": "hosting" })).await;
    assert_eq!(status, 200, "{changed}");
    let (status, _) = app
        .api(
            Method::PATCH,
            "/reply-rules/999999",
            Some(&admin),
            Some(json!({ "enabled": false })),
        )
        .await;
    assert_eq!(status, 404);
    let (status, got) = app
        .api(
            Method::GET,
            &format!("/reply-rules/{id}"),
            Some(&reader),
            None,
        )
        .await;
    assert_eq!((status, &got["match_mode"]), (200, &json!("hosting")));
    app.stop().await;
});

store_test!(rules_match_through_the_cache, |db| async move {
    let app = TestApp::start(&db).await;
    let admin = app.api_key(&[Scope::Admin]).await;
    let ch = channels(&app, &admin).await;

    let reply_with_link = "第一行\n第二行：https://oa.example.com/leave?from=wx&id=1";
    let contains = rule(
        &app,
        &admin,
        ch.oa,
        text_rule("包含", "contains", "报销", "报销规则", 10),
    )
    .await;
    let _tie = rule(
        &app,
        &admin,
        ch.oa,
        text_rule("包含（后建）", "contains", "报销", "后建的规则", 10),
    )
    .await;
    rule(
        &app,
        &admin,
        ch.oa,
        text_rule("开头", "prefix", "请假", reply_with_link, 20),
    )
    .await;
    rule(
        &app,
        &admin,
        ch.oa,
        text_rule("结束", "suffix", "？", "有问题请致电 8888", 30),
    )
    .await;
    rule(
        &app,
        &admin,
        ch.oa,
        text_rule("完全匹配", "exact", "Help", "帮助菜单", 5),
    )
    .await;
    let disabled = json!({ "name": "停用", "action": "text", "match_mode": "exact",
        "keyword": "help", "reply": "不应出现", "priority": 1, "enabled": false });
    rule(&app, &admin, ch.oa, disabled).await;
    rule(
        &app,
        &admin,
        ch.oa,
        json!({ "name": "图片", "action": "image", "reply": "图片已收到", "priority": 50 }),
    )
    .await;
    rule(
        &app,
        &admin,
        ch.oa,
        json!({ "name": "关注", "action": "subscribe", "reply": "欢迎关注", "priority": 50 }),
    )
    .await;

    let (status, listed) = app
        .api(
            Method::GET,
            &format!("/channels/{}/reply-rules", ch.oa),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "停用",
            "完全匹配",
            "包含",
            "包含（后建）",
            "开头",
            "结束",
            "图片",
            "关注"
        ],
        "listed in the order they are tried"
    );
    assert_eq!(
        listed[4]["reply"], reply_with_link,
        "line breaks and links are kept"
    );

    let m = matcher(&app, ch.oa).await;
    assert_eq!(
        m.reply_for(Action::Text("我要报销差旅费")),
        Some("报销规则")
    );
    assert_eq!(
        m.reply_for(Action::Text("报销")),
        Some("报销规则"),
        "equal priorities: the rule created first"
    );
    assert_eq!(m.reply_for(Action::Text("请假三天")), Some(reply_with_link));
    assert_eq!(m.reply_for(Action::Text("明天请假")), None);
    assert_eq!(
        m.reply_for(Action::Text("请假？")),
        Some(reply_with_link),
        "prefix (20) before suffix (30)"
    );
    assert_eq!(
        m.reply_for(Action::Text("怎么请假？")),
        Some("有问题请致电 8888")
    );
    assert_eq!(
        m.reply_for(Action::Text("几点下班？")),
        Some("有问题请致电 8888")
    );
    assert_eq!(m.reply_for(Action::Text("Help")), Some("帮助菜单"));
    assert_eq!(
        m.reply_for(Action::Text("help")),
        None,
        "case-sensitive; the disabled rule is skipped"
    );
    assert_eq!(m.reply_for(Action::Text("Help ")), None, "not trimmed");
    assert_eq!(m.reply_for(Action::Text("报销？")), Some("报销规则"));
    assert_eq!(m.reply_for(Action::Image), Some("图片已收到"));
    assert_eq!(m.reply_for(Action::Subscribe), Some("欢迎关注"));
    assert!(
        Arc::ptr_eq(&m, &matcher(&app, ch.oa).await),
        "the second lookup is served from memory"
    );

    // A change through the API shows at once on this node.
    let (status, _) = app
        .api(
            Method::PATCH,
            &format!("/reply-rules/{contains}"),
            Some(&admin),
            Some(json!({ "enabled": false })),
        )
        .await;
    assert_eq!(status, 200);
    let m = matcher(&app, ch.oa).await;
    assert_eq!(m.reply_for(Action::Text("报销")), Some("后建的规则"));

    // Hosting answers every text, below the rules that win before it.
    rule(
        &app,
        &admin,
        ch.oa,
        json!({ "name": "托管", "action": "text", "match_mode": "hosting",
                "reply": "您好，已转人工", "priority": 15 }),
    )
    .await;
    let m = matcher(&app, ch.oa).await;
    assert_eq!(
        m.reply_for(Action::Text("随便说点什么")),
        Some("您好，已转人工")
    );
    assert_eq!(m.reply_for(Action::Text("报销")), Some("后建的规则"));
    assert_eq!(m.reply_for(Action::Text("请假")), Some("您好，已转人工"));
    assert_eq!(m.reply_for(Action::Text("Help")), Some("帮助菜单"));

    // The app's rules are its own.
    let m = matcher(&app, ch.app).await;
    assert!(m.is_empty());
    assert_eq!(m.reply_for(Action::Text("报销")), None);

    // Another node (its own cache) sees the change after the TTL, not before.
    let store = &app.state().store;
    let other = RuleCache::with_ttl(Duration::from_millis(300));
    let seen = other
        .matcher(store, TenantId::DEFAULT, ch.app)
        .await
        .unwrap();
    assert_eq!(seen.reply_for(Action::Image), None);
    replies::create(
        store,
        &app.state().reply_rules,
        TenantId::DEFAULT,
        ch.app,
        NewRule {
            name: "图片".into(),
            action: ReplyAction::Image,
            match_mode: None,
            keyword: None,
            reply: "收到".into(),
            priority: 1.into(),
            enabled: true,
        },
        &Actor::cli(),
        qiao::clock::now_ms(),
    )
    .await
    .unwrap();
    let stale = other
        .matcher(store, TenantId::DEFAULT, ch.app)
        .await
        .unwrap();
    assert_eq!(stale.reply_for(Action::Image), None, "cached for the TTL");
    tokio::time::sleep(Duration::from_millis(350)).await;
    let fresh = other
        .matcher(store, TenantId::DEFAULT, ch.app)
        .await
        .unwrap();
    assert_eq!(fresh.reply_for(Action::Image), Some("收到"));
    assert_eq!(
        matcher(&app, ch.app).await.reply_for(Action::Image),
        Some("收到")
    );
    app.stop().await;
});

store_test!(batch_delete_audit_and_cascade, |db| async move {
    let app = TestApp::start(&db).await;
    let admin = app.api_key(&[Scope::Admin]).await;
    let ch = channels(&app, &admin).await;
    let mut ids = Vec::new();
    for (i, keyword) in ["一", "二", "三"].into_iter().enumerate() {
        ids.push(
            rule(
                &app,
                &admin,
                ch.oa,
                text_rule(keyword, "exact", keyword, keyword, i as i64 + 1),
            )
            .await,
        );
    }
    let on_app = rule(
        &app,
        &admin,
        ch.app,
        text_rule("四", "exact", "四", "四", 1),
    )
    .await;
    assert_eq!(
        matcher(&app, ch.oa).await.reply_for(Action::Text("一")),
        Some("一")
    );

    let batch = async |channel: i64, ids: Value| {
        app.api(
            Method::POST,
            &format!("/channels/{channel}/reply-rules/batch-delete"),
            Some(&admin),
            Some(json!({ "ids": ids })),
        )
        .await
    };
    let message = refused(batch(ch.oa, json!([ids[0], on_app])).await, "ids");
    assert!(message.contains("nothing was deleted"), "{message}");
    refused(batch(ch.oa, json!([])).await, "ids");
    let (status, body) = batch(ch.oa, json!([ids[0], ids[1], ids[0]])).await;
    assert_eq!((status, &body["deleted"]), (200, &json!(2)), "{body}");
    let (_, listed) = app
        .api(
            Method::GET,
            &format!("/channels/{}/reply-rules", ch.oa),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], ids[2]);
    let m = matcher(&app, ch.oa).await;
    assert_eq!(
        m.reply_for(Action::Text("一")),
        None,
        "the cache forgot them"
    );
    assert_eq!(m.reply_for(Action::Text("三")), Some("三"));

    let (status, _) = app
        .api(
            Method::DELETE,
            &format!("/reply-rules/{}", ids[2]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .api(
            Method::DELETE,
            &format!("/reply-rules/{}", ids[2]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert!(matcher(&app, ch.oa).await.is_empty());

    let log = qiao::audit::list(&app.state().store, TenantId::DEFAULT, None, 100)
        .await
        .unwrap();
    let count = |action: &str| log.iter().filter(|e| e.action == action).count();
    assert_eq!(count("reply_rule.create"), 4);
    assert_eq!(count("reply_rule.delete"), 3);
    let deleted = log
        .iter()
        .find(|e| e.action == "reply_rule.delete" && e.target == format!("reply_rule:{}", ids[0]))
        .expect("each deleted rule is audited");
    assert!(deleted.actor.starts_with("api_key:"), "{}", deleted.actor);
    assert_eq!(deleted.before.as_ref().unwrap()["keyword"], "一");
    assert!(deleted.after.is_none());

    // Deleting the app deletes its rules.
    let (status, body) = app
        .api(
            Method::DELETE,
            &format!("/channels/{}", ch.app),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let gone = replies::get(&app.state().store, TenantId::DEFAULT, on_app)
        .await
        .unwrap();
    assert!(gone.is_none());
    app.stop().await;
});

/// The id of the first rule row of a rules page.
fn first_rule_id(html: &str) -> String {
    let marker = "data-rule=\"";
    let start = html.find(marker).expect("a rule row") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

type Fields = Vec<(&'static str, String)>;

/// The create/edit form of a text rule that contains `keyword`.
fn form(name: &str, keyword: &str, priority: &str) -> Fields {
    vec![
        ("name", name.into()),
        ("action", "text".into()),
        ("match_mode", "contains".into()),
        ("keyword", keyword.into()),
        // Browsers send a textarea's line breaks as CRLF.
        (
            "reply",
            "第一行\r\n第二行 https://oa.example.com/a?b=1&c=2".into(),
        ),
        ("priority", priority.into()),
        ("enabled", "1".into()),
    ]
}

fn with_token(token: &str, fields: Fields) -> Fields {
    let mut all = vec![("_csrf", token.to_string())];
    all.extend(fields);
    all
}

async fn post_fields(app: &TestApp, path: &str, fields: Fields) -> (u16, String) {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post_form(app, path, &fields).await
}

store_test!(rules_through_the_console, |db| async move {
    let app = TestApp::start(&db).await;
    let admin = app.api_key(&[Scope::Admin]).await;
    let ch = channels(&app, &admin).await;
    add_user(&app, "root", Role::Admin).await;
    login(&app, "root", PASSWORD).await;

    let (status, detail) = app.get(&format!("/console/channels/{}", ch.oa)).await;
    assert_eq!(status, 200);
    let rules_page = format!("/console/channels/{}/reply-rules", ch.oa);
    assert!(detail.contains(&format!("href=\"{rules_page}\"")), "linked");
    let (_, corp_detail) = app.get(&format!("/console/channels/{}", ch.corp)).await;
    assert!(
        !corp_detail.contains("reply-rules-link"),
        "a corp has no rules"
    );
    let (status, _) = app
        .get(&format!("/console/channels/{}/reply-rules", ch.mini))
        .await;
    assert_eq!(status, 404, "a Mini Program has no rules");

    let (status, page) = app.get(&rules_page).await;
    assert_eq!(status, 200);
    assert!(page.contains("回调设置") && page.contains("reply-rule-form"));
    assert!(
        page.contains("value=\"subscribe\""),
        "an account has subscribe rules"
    );
    let token = csrf_of(&page);
    let post = async |path: &str, fields: Fields| post_fields(&app, path, fields).await;

    let (status, _) = post(&rules_page, form("报销", "报销", "1")).await;
    assert_eq!(status, 403, "no CSRF token, no rule");
    let (status, body) = post(&rules_page, with_token(&token, form("报销", "报销", "1"))).await;
    assert_eq!(status, 303, "{body}");
    let (status, body) = post(&rules_page, with_token(&token, form("差旅", "差旅", "1.5"))).await;
    assert_eq!(status, 422);
    assert!(
        body.contains("priority") && body.contains("差旅"),
        "the form is kept"
    );
    let long = "键".repeat(51);
    let (status, body) = post(&rules_page, with_token(&token, form("长", &long, "2"))).await;
    assert_eq!(status, 422);
    assert!(body.contains("keyword"));
    let mut image = form("图片", "", "3");
    image[1].1 = "image".into();
    let (status, body) = post(&rules_page, with_token(&token, image)).await;
    assert_eq!(
        status, 303,
        "an image rule ignores the match mode select: {body}"
    );

    let (_, page) = app.get(&rules_page).await;
    assert!(page.contains("报销") && page.contains("发送图片"));
    assert!(
        page.contains("第一行\n第二行 https://oa.example.com/a?b=1&#38;c=2"),
        "the reply is kept, line break included"
    );
    let id = first_rule_id(&page);
    let rule_id: i64 = id.parse().unwrap();
    let stored = replies::get(&app.state().store, TenantId::DEFAULT, rule_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.reply,
        "第一行\n第二行 https://oa.example.com/a?b=1&c=2"
    );
    assert_eq!(
        matcher(&app, ch.oa)
            .await
            .reply_for(Action::Text("我要报销")),
        Some(stored.reply.as_str())
    );

    // Edit, switch off, delete.
    let (status, edit) = app.get(&format!("/console/reply-rules/{id}")).await;
    assert_eq!(status, 200);
    assert!(edit.contains("reply-rule-edit"));
    let mut changed = form("报销（改）", "报销单", "7");
    changed[2].1 = "prefix".into();
    let (status, body) = post(
        &format!("/console/reply-rules/{id}"),
        with_token(&token, changed),
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let m = matcher(&app, ch.oa).await;
    assert_eq!(m.reply_for(Action::Text("我要报销")), None);
    assert!(m.reply_for(Action::Text("报销单")).is_some());
    let (status, _) = post(
        &format!("/console/reply-rules/{id}/enabled"),
        with_token(&token, vec![("enabled", "0".into())]),
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        matcher(&app, ch.oa).await.reply_for(Action::Text("报销单")),
        None
    );
    let rule = replies::get(&app.state().store, TenantId::DEFAULT, rule_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (rule.name.as_str(), rule.priority, rule.enabled),
        ("报销（改）", 7, false)
    );

    // Batch delete by the checked boxes.
    let (status, _) = post(&rules_page, with_token(&token, form("三", "三", "9"))).await;
    assert_eq!(status, 303);
    let all = replies::list(&app.state().store, TenantId::DEFAULT, ch.oa)
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    let batch = format!("/console/channels/{}/reply-rules/batch-delete", ch.oa);
    let (status, body) = post(&batch, with_token(&token, vec![])).await;
    assert_eq!(status, 422, "nothing chosen");
    assert!(body.contains("ids"));
    let first = all[0].id.to_string();
    let second = all[1].id.to_string();
    let (status, body) = post(
        &batch,
        with_token(&token, vec![("ids", first), ("ids", second)]),
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let (_, page) = app.get(&format!("{rules_page}?deleted=1")).await;
    assert!(page.contains("已删除"));
    let left = replies::list(&app.state().store, TenantId::DEFAULT, ch.oa)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    let (status, _) = post(
        &format!("/console/reply-rules/{}/delete", left[0].id),
        with_token(&token, vec![]),
    )
    .await;
    assert_eq!(status, 303);
    assert!(
        replies::list(&app.state().store, TenantId::DEFAULT, ch.oa)
            .await
            .unwrap()
            .is_empty()
    );

    // A WeCom app has no subscribe rules; the English page has its words.
    let (status, page) = app
        .get(&format!("/console/channels/{}/reply-rules", ch.app))
        .await;
    assert_eq!(status, 200);
    assert!(!page.contains("value=\"subscribe\""));
    let mut subscribe = form("关注", "", "1");
    subscribe[1].1 = "subscribe".into();
    let (status, body) = post(
        &format!("/console/channels/{}/reply-rules", ch.app),
        with_token(&token, subscribe),
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("action"));
    app.get("/console/lang/en").await;
    let (_, english) = app.get(&rules_page).await;
    assert!(english.contains("Auto-reply rules") && english.contains("Match mode"));
    app.stop().await;
});

store_test!(auditors_see_rules_without_forms, |db| async move {
    let app = TestApp::start(&db).await;
    let admin = app.api_key(&[Scope::Admin]).await;
    let ch = channels(&app, &admin).await;
    let id = rule(
        &app,
        &admin,
        ch.oa,
        text_rule("报销", "contains", "报销", "报销规则", 1),
    )
    .await;
    add_user(&app, "eve", Role::Auditor).await;
    login(&app, "eve", PASSWORD).await;
    let rules_page = format!("/console/channels/{}/reply-rules", ch.oa);
    let (status, page) = app.get(&rules_page).await;
    assert_eq!(status, 200);
    assert!(page.contains("报销规则") && page.contains("只读"));
    for form in [
        "reply-rule-form",
        "batch-delete",
        "name=\"ids\"",
        "/enabled",
        "/delete",
    ] {
        assert!(!page.contains(form), "an auditor sees no {form}");
    }
    let (status, edit) = app.get(&format!("/console/reply-rules/{id}")).await;
    assert_eq!(status, 200);
    assert!(!edit.contains("reply-rule-edit"));
    let token = csrf_of(&page);
    for (path, fields) in [
        (
            rules_page.clone(),
            vec![
                ("_csrf", token.as_str()),
                ("name", "x"),
                ("reply", "x"),
                ("priority", "1"),
            ],
        ),
        (
            format!("/console/reply-rules/{id}/enabled"),
            vec![("_csrf", token.as_str()), ("enabled", "0")],
        ),
        (
            format!("/console/reply-rules/{id}/delete"),
            vec![("_csrf", token.as_str())],
        ),
        (
            format!("{rules_page}/batch-delete"),
            vec![("_csrf", token.as_str()), ("ids", "1")],
        ),
    ] {
        let (status, _) = post_form(&app, &path, &fields).await;
        assert_eq!(status, 403, "{path}");
    }
    let still = replies::get(&app.state().store, TenantId::DEFAULT, id)
        .await
        .unwrap()
        .unwrap();
    assert!(still.enabled);
    app.stop().await;
});
