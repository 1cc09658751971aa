//! Official Account endpoints: follower paging, user info, menus, template messages.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::helpers::{Env, errcode};

#[tokio::test]
async fn follower_paging_ends_like_tencent() {
    let env = Env::with_seed(wxsim::Seed::generated(5, 10, 3, 25_000)).await;
    let token = env.oa_token().await;
    let mut next = String::new();
    let mut seen = HashSet::new();
    let mut pages = Vec::new();
    loop {
        let url = format!(
            "{}?access_token={token}&next_openid={next}",
            env.api("/cgi-bin/user/get")
        );
        let v = env.get(&url).await;
        assert!(v.get("errcode").is_none(), "{v}");
        assert_eq!(v["total"], 25_000);
        let count = v["count"].as_u64().unwrap();
        pages.push(count);
        if count == 0 {
            assert!(v.get("data").is_none(), "past the end: no data key: {v}");
            assert_eq!(v["next_openid"], "");
            break;
        }
        let ids = v["data"]["openid"].as_array().unwrap();
        assert_eq!(ids.len() as u64, count);
        for id in ids {
            assert!(
                seen.insert(id.as_str().unwrap().to_owned()),
                "openid twice: {id}"
            );
        }
        next = v["next_openid"].as_str().unwrap().to_owned();
        assert_eq!(
            next,
            ids.last().unwrap().as_str().unwrap(),
            "next_openid = last openid, even on the last page"
        );
    }
    assert_eq!(pages, vec![10_000, 10_000, 5_000, 0]);
    assert_eq!(seen.len(), 25_000);
    let v = env
        .get(&format!(
            "{}?access_token={token}&next_openid=oNOPE",
            env.api("/cgi-bin/user/get")
        ))
        .await;
    assert_eq!(errcode(&v), 40003);
}

#[tokio::test]
async fn user_info_and_batchget() {
    let env = Env::demo().await;
    let token = env.oa_token().await;
    let fans = &env.seed.official_accounts[0].fans;
    let (followed, gone) = (&fans[0], &fans[9]);
    assert!(!gone.subscribe);
    let info = |o: &str| {
        format!(
            "{}?access_token={token}&openid={o}&lang=zh_CN",
            env.api("/cgi-bin/user/info")
        )
    };
    let v = env.get(&info(&followed.openid)).await;
    assert!(v.get("errcode").is_none(), "{v}");
    assert_eq!(v["subscribe"], 1);
    assert_eq!(v["subscribe_time"], followed.subscribe_time);
    assert_eq!(v["unionid"], followed.unionid.clone().unwrap());
    assert!(v.get("nickname").is_none(), "modern behaviour: no nickname");
    let v = env.get(&info(&gone.openid)).await;
    assert_eq!(v["subscribe"], 0);
    assert_eq!(errcode(&env.get(&info("oUnknown")).await), 40003);
    let url = format!(
        "{}?access_token={token}",
        env.api("/cgi-bin/user/info/batchget")
    );
    let list: Vec<Value> = fans[..3]
        .iter()
        .map(|f| json!({"openid": f.openid, "lang": "zh_CN"}))
        .collect();
    let v = env.post(&url, &json!({"user_list": list})).await;
    assert_eq!(v["user_info_list"].as_array().unwrap().len(), 3);
    let too_many: Vec<Value> = (0..101)
        .map(|_| json!({"openid": fans[0].openid}))
        .collect();
    assert_eq!(
        errcode(&env.post(&url, &json!({"user_list": too_many})).await),
        40032
    );
    // followers exclude the unsubscribed fan
    let v = env
        .get(&format!(
            "{}?access_token={token}",
            env.api("/cgi-bin/user/get")
        ))
        .await;
    assert_eq!(v["total"], 9);
}

#[tokio::test]
async fn menu_create_get_delete_and_validation() {
    let env = Env::demo().await;
    let token = env.oa_token().await;
    let url = |p: &str| format!("{}?access_token={token}", env.api(p));
    assert_eq!(errcode(&env.get(&url("/cgi-bin/menu/get")).await), 46003);
    let menu = json!({"button": [
        {"type": "click", "name": "今日歌曲", "key": "V1001_TODAY_MUSIC"},
        {"name": "菜单", "sub_button": [
            {"type": "view", "name": "搜索", "url": "http://www.soso.com/"},
            {"type": "click", "name": "赞一下我们", "key": "V1001_GOOD"}
        ]}
    ]});
    let v = env.post(&url("/cgi-bin/menu/create"), &menu).await;
    assert_eq!(v, json!({"errcode": 0, "errmsg": "ok"}));
    let v = env.get(&url("/cgi-bin/menu/get")).await;
    let buttons = v["menu"]["button"].as_array().unwrap();
    assert_eq!(buttons.len(), 2);
    assert_eq!(buttons[0]["sub_button"], json!([]));
    assert_eq!(buttons[1]["sub_button"][1]["key"], "V1001_GOOD");
    assert!(v["menu"]["menuid"].is_u64());
    // validation over HTTP
    let four: Vec<Value> = (0..4)
        .map(|i| json!({"type": "click", "name": format!("b{i}"), "key": "k"}))
        .collect();
    assert_eq!(
        errcode(
            &env.post(&url("/cgi-bin/menu/create"), &json!({"button": four}))
                .await
        ),
        40016
    );
    let long = json!({"button": [{"type": "click", "name": "这个名字太长了", "key": "k"}]});
    assert_eq!(
        errcode(&env.post(&url("/cgi-bin/menu/create"), &long).await),
        40018
    );
    let subs: Vec<Value> = (0..6)
        .map(|i| json!({"type": "click", "name": format!("s{i}"), "key": "k"}))
        .collect();
    let v = env
        .post(
            &url("/cgi-bin/menu/create"),
            &json!({"button": [{"name": "m", "sub_button": subs}]}),
        )
        .await;
    assert_eq!(errcode(&v), 40023);
    assert_eq!(errcode(&env.get(&url("/cgi-bin/menu/create")).await), 43002);
    // the failed creates left the menu alone
    assert_eq!(
        env.get(&url("/cgi-bin/menu/get")).await["menu"]["button"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(errcode(&env.get(&url("/cgi-bin/menu/delete")).await), 0);
    assert_eq!(errcode(&env.get(&url("/cgi-bin/menu/get")).await), 46003);
}

#[tokio::test]
async fn template_send_lands_in_the_fans_inbox() {
    let env = Env::demo().await;
    let token = env.oa_token().await;
    let url = format!(
        "{}?access_token={token}",
        env.api("/cgi-bin/message/template/send")
    );
    let fans = &env.seed.official_accounts[0].fans;
    let body = |to: &str, cid: Option<&str>| {
        let mut b = json!({
            "touser": to,
            "template_id": "tmpl-order-status-0001",
            "url": "https://shop.example/orders/42",
            "data": {"keyword1": {"value": "A-42"}, "keyword2": {"value": "已发货", "color": "#173177"}}
        });
        if let Some(cid) = cid {
            b["client_msg_id"] = json!(cid);
        }
        b
    };
    let v = env.post(&url, &body(&fans[1].openid, None)).await;
    assert_eq!(errcode(&v), 0, "{v}");
    let msgid = v["msgid"].as_u64().unwrap();
    let inbox = env.sim.state().inbox(&fans[1].openid);
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].msgid, msgid.to_string());
    assert_eq!(inbox[0].content["data"]["keyword2"]["value"], "已发货");
    assert_eq!(
        errcode(&env.post(&url, &body(&fans[9].openid, None)).await),
        43004,
        "unsubscribed"
    );
    assert_eq!(
        errcode(&env.post(&url, &body("oNobody", None)).await),
        40003
    );
    let mut bad = body(&fans[1].openid, None);
    bad["template_id"] = json!("nope");
    assert_eq!(errcode(&env.post(&url, &bad).await), 40037);
    // client_msg_id de-duplication
    let a = env
        .post(&url, &body(&fans[2].openid, Some("order-42")))
        .await;
    let b = env
        .post(&url, &body(&fans[2].openid, Some("order-42")))
        .await;
    assert_eq!(a["msgid"], b["msgid"]);
    assert_eq!(env.sim.state().inbox(&fans[2].openid).len(), 1);
    // \uXXXX escapes of non-ASCII text are refused (40033)
    let raw = format!(
        r#"{{"touser":"{}","template_id":"tmpl-order-status-0001","data":{{"keyword1":{{"value":"\u5f20"}}}}}}"#,
        fans[1].openid
    );
    let v: Value = env
        .http
        .post(&url)
        .body(raw)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(errcode(&v), 40033);
    // inbox over the control API
    let v = env
        .get(&format!(
            "{}?user={}",
            env.ctl("/sim/inbox"),
            fans[1].openid
        ))
        .await;
    assert_eq!(v["count"], 1);
    assert_eq!(v["messages"][0]["channel"], "oa");
}
