//! WeCom departments and members: CRUD read back, rights, visibility, list_id rights (paging: `list_id.rs`).

use std::collections::BTreeSet;

use serde_json::json;
use wxsim::state::corp::ContactsAccess;

use crate::helpers::{Env, errcode};

#[tokio::test]
async fn department_crud_reads_back() {
    let env = Env::demo().await;
    let t = env.contacts_token().await;
    let url = |p: &str| format!("{}?access_token={t}", env.qy(p));
    let v = env
        .post(
            &url("/cgi-bin/department/create"),
            &json!({"name": "测试组", "parentid": 2, "order": 5}),
        )
        .await;
    assert_eq!(v["errmsg"], "created", "{v}");
    let id = v["id"].as_u64().unwrap();
    let v = env
        .get(&format!("{}&id={id}", url("/cgi-bin/department/get")))
        .await;
    assert_eq!(v["department"]["name"], "测试组");
    assert_eq!(v["department"]["parentid"], 2);
    let v = env
        .post(
            &url("/cgi-bin/department/update"),
            &json!({"id": id, "name": "质量组", "parentid": 5}),
        )
        .await;
    assert_eq!(v["errmsg"], "updated", "{v}");
    let v = env
        .get(&format!("{}&id=5", url("/cgi-bin/department/list")))
        .await;
    let names: Vec<&str> = v["department"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["市场部", "质量组"]);
    let v = env.get(&url("/cgi-bin/department/simplelist")).await;
    assert_eq!(v["department_id"].as_array().unwrap().len(), 8);
    assert_eq!(
        v["department_id"][0],
        json!({"id": 1, "parentid": 0, "order": 100_000})
    );
    // errors
    let dup = env
        .post(
            &url("/cgi-bin/department/create"),
            &json!({"name": "质量组", "parentid": 5}),
        )
        .await;
    assert_eq!(errcode(&dup), 60008);
    let orphan = env
        .post(
            &url("/cgi-bin/department/create"),
            &json!({"name": "x", "parentid": 999}),
        )
        .await;
    assert_eq!(errcode(&orphan), 60004);
    assert_eq!(
        errcode(
            &env.get(&format!("{}&id=1", url("/cgi-bin/department/delete")))
                .await
        ),
        60007
    );
    assert_eq!(
        errcode(
            &env.get(&format!("{}&id=2", url("/cgi-bin/department/delete")))
                .await
        ),
        60006
    );
    assert_eq!(
        errcode(
            &env.get(&format!("{}&id=7", url("/cgi-bin/department/delete")))
                .await
        ),
        60005
    );
    let v = env
        .get(&format!("{}&id={id}", url("/cgi-bin/department/delete")))
        .await;
    assert_eq!(v["errmsg"], "deleted");
    assert_eq!(
        errcode(
            &env.get(&format!("{}&id={id}", url("/cgi-bin/department/get")))
                .await
        ),
        60003
    );
}

#[tokio::test]
async fn member_crud_reads_back() {
    let env = Env::demo().await;
    let t = env.contacts_token().await;
    let url = |p: &str| format!("{}?access_token={t}", env.qy(p));
    let create = json!({
        "userid": "XiaoHong", "name": "小红", "department": [4, 5], "position": "设计师",
        "mobile": "+86 13900001111", "email": "xiaohong@jiangnan-bridge.example", "gender": "2",
        "extattr": {"attrs": [{"type": 0, "name": "工号", "text": {"value": "A-001"}}]}
    });
    let v = env.post(&url("/cgi-bin/user/create"), &create).await;
    assert_eq!(v, json!({"errcode": 0, "errmsg": "created"}));
    let v = env
        .get(&format!("{}&userid=xiaohong", url("/cgi-bin/user/get")))
        .await;
    assert_eq!(v["name"], "小红");
    assert_eq!(v["department"], json!([4, 5]));
    assert_eq!(v["status"], 4, "new members are not activated");
    assert_eq!(
        v["mobile"], "+86 13900001111",
        "contacts secret sees sensitive fields"
    );
    assert_eq!(v["extattr"]["attrs"][0]["text"]["value"], "A-001");
    let dup = env
        .post(
            &url("/cgi-bin/user/create"),
            &json!({"userid": "xiaohong", "name": "x", "department": [1]}),
        )
        .await;
    assert_eq!(errcode(&dup), 60102);
    let dup_mobile = env
        .post(
            &url("/cgi-bin/user/create"),
            &json!({"userid": "x1", "name": "x", "department": [1], "mobile": "13900001111"}),
        )
        .await;
    assert_eq!(errcode(&dup_mobile), 60104);
    let v = env
        .post(
            &url("/cgi-bin/user/update"),
            &json!({"userid": "xiaohong", "position": "高级设计师", "department": [6]}),
        )
        .await;
    assert_eq!(v["errmsg"], "updated", "{v}");
    let v = env
        .get(&format!("{}&department_id=6", url("/cgi-bin/user/list")))
        .await;
    let list = v["userlist"].as_array().unwrap();
    let hong = list.iter().find(|u| u["userid"] == "XiaoHong").unwrap();
    assert_eq!(hong["position"], "高级设计师");
    let v = env
        .get(&format!(
            "{}&department_id=2&fetch_child=1",
            url("/cgi-bin/user/simplelist")
        ))
        .await;
    let ids: BTreeSet<&str> = v["userlist"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userid"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        BTreeSet::from([
            "zhangsan", "lisi", "wangwu", "zhaoliu", "chenjing", "liuyang"
        ])
    );
    assert_eq!(
        errcode(
            &env.get(&format!("{}&userid=XIAOHONG", url("/cgi-bin/user/delete")))
                .await
        ),
        0
    );
    assert_eq!(
        errcode(
            &env.get(&format!("{}&userid=xiaohong", url("/cgi-bin/user/get")))
                .await
        ),
        60111
    );
}

#[tokio::test]
async fn rights_and_visibility() {
    let env = Env::demo().await;
    let contacts = env.contacts_token().await;
    let app = env.app_token(1_000_003).await; // sees department 2 (and below) plus sunqi
    let url = |t: &str, p: &str| format!("{}?access_token={t}", env.qy(p));
    let body = json!({"name": "新部门", "parentid": 1});
    assert_eq!(
        errcode(
            &env.post(&url(&app, "/cgi-bin/department/create"), &body)
                .await
        ),
        48002
    );
    env.sim.state().with_world(|w| {
        let corp = w.corps.values_mut().next().unwrap();
        corp.contacts.as_mut().unwrap().access = ContactsAccess::ReadOnly;
    });
    assert_eq!(
        errcode(
            &env.post(&url(&contacts, "/cgi-bin/department/create"), &body)
                .await
        ),
        48002,
        "read-only secret"
    );
    assert_eq!(
        errcode(
            &env.get(&format!(
                "{}&department_id=1",
                url(&contacts, "/cgi-bin/user/list")
            ))
            .await
        ),
        0,
        "reads still fine"
    );
    let v = env.get(&url(&app, "/cgi-bin/department/list")).await;
    let ids: Vec<u64> = v["department"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![2, 3, 4]);
    assert_eq!(
        errcode(
            &env.get(&format!("{}&id=5", url(&app, "/cgi-bin/department/get")))
                .await
        ),
        60011
    );
    assert_eq!(
        errcode(
            &env.get(&format!("{}&userid=wujiu", url(&app, "/cgi-bin/user/get")))
                .await
        ),
        60011
    );
    let v = env
        .get(&format!("{}&userid=sunqi", url(&app, "/cgi-bin/user/get")))
        .await;
    assert_eq!(v["name"], "孙七");
    assert!(
        v.get("mobile").is_none(),
        "new apps get no mobile/email (§4.7.2)"
    );
    let v = env
        .post(&url(&app, "/cgi-bin/user/list_id"), &json!({}))
        .await;
    assert_eq!(errcode(&v), 48002, "list_id needs the contacts secret");
}
