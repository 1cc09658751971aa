//! WeCom message/send and recall: inboxes, invalid recipients, scope, duplicate check, cards,
//! the per-member rate.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::helpers::{Env, errcode};

fn text(to: &str, content: &str, agentid: u32) -> Value {
    json!({"touser": to, "msgtype": "text", "agentid": agentid, "text": {"content": content}})
}

fn inbox_users(env: &Env, msgid: &str) -> BTreeSet<String> {
    env.sim.state().with_inbox(|ib| {
        ib.users()
            .keys()
            .filter(|u| ib.of_user(u, None).iter().any(|e| e.msgid == msgid))
            .cloned()
            .collect()
    })
}

#[tokio::test]
async fn send_lands_in_inboxes_and_reports_invalid_recipients() {
    let env = Env::demo().await;
    let t = env.app_token(1_000_002).await;
    let url = format!("{}?access_token={t}", env.qy("/cgi-bin/message/send"));
    let v = env
        .post(
            &url,
            &text("lisi|nobody|liuyang|LiSi", "今晚值班：李四", 1_000_002),
        )
        .await;
    assert_eq!(errcode(&v), 0, "{v}");
    assert_eq!(
        v["invaliduser"], "nobody|liuyang",
        "unknown and disabled members are reported"
    );
    assert_eq!(v["invalidparty"], "");
    let msgid = v["msgid"].as_str().unwrap().to_owned();
    let inbox = env.sim.state().inbox("lisi");
    assert_eq!(inbox.len(), 1, "LiSi and lisi are the same member");
    assert_eq!(inbox[0].content["text"]["content"], "今晚值班：李四");
    assert_eq!(inbox[0].agentid, Some(1_000_002));
    // party 2 = 研发中心 and below; 999 does not exist
    let v = env.post(&url, &json!({"toparty": "2|999", "msgtype": "markdown", "agentid": 1_000_002, "markdown": {"content": "**发布**"}})).await;
    assert_eq!(v["invalidparty"], "999");
    let got = inbox_users(&env, v["msgid"].as_str().unwrap());
    assert_eq!(
        got,
        ["zhangsan", "lisi", "wangwu", "zhaoliu", "chenjing"]
            .map(String::from)
            .into()
    );
    // tag 1 = 值班
    let v = env.post(&url, &json!({"totag": "1", "msgtype": "text", "agentid": 1_000_002, "text": {"content": "值班提醒"}})).await;
    assert_eq!(
        inbox_users(&env, v["msgid"].as_str().unwrap()),
        ["lisi", "zhaoliu"].map(String::from).into()
    );
    // nobody valid → 81013
    let v = env.post(&url, &text("nobody|ghost", "x", 1_000_002)).await;
    assert_eq!(errcode(&v), 81013);
    // another app's agentid → 301002; unknown agentid → 40056
    assert_eq!(
        errcode(&env.post(&url, &text("lisi", "x", 1_000_003)).await),
        301002
    );
    assert_eq!(
        errcode(&env.post(&url, &text("lisi", "x", 42)).await),
        40056
    );
    assert_eq!(
        errcode(&env.post(&url, &text("lisi", "", 1_000_002)).await),
        44004
    );
    assert_eq!(
        errcode(
            &env.post(
                &url,
                &json!({"touser": "lisi", "msgtype": "fax", "agentid": 1_000_002})
            )
            .await
        ),
        40008
    );
    // textcard / news shapes
    let card = json!({"touser": "lisi", "msgtype": "textcard", "agentid": 1_000_002,
        "textcard": {"title": "领奖通知", "description": "<div class=\"gray\">2016年9月26日</div>", "url": "https://example.com", "btntxt": "更多"}});
    assert_eq!(errcode(&env.post(&url, &card).await), 0);
    let news = json!({"touser": "lisi", "msgtype": "news", "agentid": 1_000_002,
        "news": {"articles": [{"title": "中秋节礼品领取", "url": "https://example.com", "picurl": "https://example.com/a.png"}]}});
    assert_eq!(errcode(&env.post(&url, &news).await), 0);
    assert_eq!(env.sim.state().inbox("lisi").len(), 5);
    assert!(!msgid.is_empty());
}

#[tokio::test]
async fn at_all_follows_the_app_scope() {
    let env = Env::demo().await;
    let t = env.app_token(1_000_003).await;
    let url = format!("{}?access_token={t}", env.qy("/cgi-bin/message/send"));
    let v = env.post(&url, &text("@all", "研发周会", 1_000_003)).await;
    assert_eq!(errcode(&v), 0, "{v}");
    let got = inbox_users(&env, v["msgid"].as_str().unwrap());
    assert_eq!(
        got,
        ["zhangsan", "lisi", "wangwu", "zhaoliu", "chenjing", "sunqi"]
            .map(String::from)
            .into()
    );
    let v = env.post(&url, &text("wujiu|sunqi", "x", 1_000_003)).await;
    assert_eq!(v["invaliduser"], "wujiu", "out of scope");
}

#[tokio::test]
async fn duplicate_check_and_recall() {
    let env = Env::demo().await;
    let t = env.app_token(1_000_002).await;
    let url = format!("{}?access_token={t}", env.qy("/cgi-bin/message/send"));
    let mut body = text("wangwu", "审批通过", 1_000_002);
    body["enable_duplicate_check"] = json!(1);
    body["duplicate_check_interval"] = json!(600);
    let a = env.post(&url, &body).await;
    let b = env.post(&url, &body).await;
    assert_eq!(a["msgid"], b["msgid"], "duplicate returns the first msgid");
    assert_eq!(
        env.sim.state().inbox("wangwu").len(),
        1,
        "and is not delivered again"
    );
    env.advance(601).await;
    let c = env.post(&url, &body).await;
    assert_ne!(c["msgid"], a["msgid"]);
    assert_eq!(env.sim.state().inbox("wangwu").len(), 2);
    // without the check every send is delivered
    let plain = text("wangwu", "审批通过", 1_000_002);
    env.post(&url, &plain).await;
    env.post(&url, &plain).await;
    assert_eq!(env.sim.state().inbox("wangwu").len(), 4);
    // recall
    let recall = format!("{}?access_token={t}", env.qy("/cgi-bin/message/recall"));
    let msgid = c["msgid"].as_str().unwrap();
    assert_eq!(
        errcode(&env.post(&recall, &json!({"msgid": msgid})).await),
        0
    );
    let inbox = env.sim.state().inbox("wangwu");
    assert!(inbox.iter().any(|e| e.msgid == msgid && e.recalled));
    assert_eq!(
        errcode(&env.post(&recall, &json!({"msgid": msgid})).await),
        40058,
        "already recalled"
    );
    let old = a["msgid"].as_str().unwrap();
    env.advance(24 * 3600).await;
    let t2 = env.app_token(1_000_002).await;
    let recall2 = format!("{}?access_token={t2}", env.qy("/cgi-bin/message/recall"));
    assert_eq!(
        errcode(&env.post(&recall2, &json!({"msgid": old})).await),
        40058,
        "older than 24 h"
    );
}

#[tokio::test]
async fn template_cards_get_response_codes_and_unique_task_ids() {
    let env = Env::demo().await;
    let t = env.app_token(1_000_002).await;
    let url = format!("{}?access_token={t}", env.qy("/cgi-bin/message/send"));
    let card = json!({"touser": "zhangsan", "msgtype": "template_card", "agentid": 1_000_002,
        "template_card": {"card_type": "button_interaction",
            "main_title": {"title": "Approve request #42?", "desc": "From the bridge"},
            "task_id": "bridge-42-1700000000",
            "button_list": [{"text": "Approve", "style": 1, "key": "approve"}, {"text": "Reject", "style": 2, "key": "reject"}]}});
    let v = env.post(&url, &card).await;
    assert_eq!(errcode(&v), 0, "{v}");
    assert!(v["response_code"].as_str().is_some_and(|c| !c.is_empty()));
    let again = env.post(&url, &card).await;
    assert_eq!(
        errcode(&again),
        40058,
        "task_id must be unique per app: {again}"
    );
    let notice = json!({"touser": "zhangsan", "msgtype": "template_card", "agentid": 1_000_002,
        "template_card": {"card_type": "text_notice", "main_title": {"title": "通知"}, "card_action": {"type": 1, "url": "https://example.com"}}});
    let v = env.post(&url, &notice).await;
    assert_eq!(errcode(&v), 0);
    assert!(
        v.get("response_code").is_none(),
        "no callback, no response_code"
    );
    assert_eq!(
        env.sim.state().inbox("zhangsan")[0].msgtype,
        "template_card"
    );
}

#[tokio::test]
async fn per_member_rate_drops_silently() {
    let env = Env::demo().await;
    let t = env.app_token(1_000_002).await;
    let url = format!("{}?access_token={t}", env.qy("/cgi-bin/message/send"));
    for i in 0..31 {
        let v = env
            .post(&url, &text("zhaoliu", &format!("第{i}条"), 1_000_002))
            .await;
        assert_eq!(errcode(&v), 0, "excess is dropped without an error");
    }
    assert_eq!(env.sim.state().inbox("zhaoliu").len(), 30);
    assert_eq!(env.sim.state().summary()["corps"][0]["messages_dropped"], 1);
    env.advance(61).await;
    env.post(&url, &text("zhaoliu", "next minute", 1_000_002))
        .await;
    assert_eq!(env.sim.state().inbox("zhaoliu").len(), 31);
}
