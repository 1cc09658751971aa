//! Suite mode: tickets every 10 minutes, tokens, the install flow, corp tokens, data
//! callbacks with the authorising corp's receive id, cancel/change pushes.

use serde_json::json;
use wx::message::Message;
use wxsim::{CallbackConfig, CallbackMode, PushError, PushEvent, PushStatus};

use crate::helpers::{Env, errcode, no_redirect, query_param};
use crate::receiver::{Answer, KEY, Receiver, TOKEN};

const SUITE: &str = "wwsuite5e7a9c1b3d4f6a80";
const SUITE_SECRET: &str = "suite-secret-2f4a6c8e0b1d3f5a7c9e1b3d5f7a9c0e2b4d6f8";
const PROVIDER: &str = "wwprov1a3c5e7b9d0f2a4c";
const CORP: &str = "ww8f3a21c5d9e07b46";

async fn suite_token(env: &Env, ticket: &str) -> serde_json::Value {
    env.post(
        &env.qy("/cgi-bin/service/get_suite_token"),
        &json!({"suite_id": SUITE, "suite_secret": SUITE_SECRET, "suite_ticket": ticket}),
    )
    .await
}

#[tokio::test]
async fn tickets_tokens_install_and_corp_token() {
    let env = Env::fast().await;
    let rx = Receiver::start(Answer::Success).await;
    env.sim
        .register_callback(CallbackConfig::new(
            SUITE,
            &rx.url,
            TOKEN,
            KEY,
            CallbackMode::Safe,
        ))
        .unwrap();
    // URL verification of a suite URL uses the provider's corpid
    let v = env.sim.verify_url(SUITE).await.unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(rx.verifications(), vec![PROVIDER.to_owned()]);
    // the scheduler pushes the first ticket at once, then every 10 minutes (simulator clock)
    let first = env.sim.state().run_schedules().await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].status, PushStatus::Acked);
    assert!(
        env.sim.state().run_schedules().await.is_empty(),
        "not due yet"
    );
    env.advance(600).await;
    let second = env.sim.state().run_schedules().await;
    assert_eq!(second.len(), 1);
    let got = rx.received();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].receive_id.as_deref(),
        Some(SUITE),
        "command receive id = SuiteID"
    );
    assert!(got[0].body.contains("<AgentID><![CDATA[]]></AgentID>"));
    let m = Message::parse(&got[1].plaintext).unwrap();
    assert_eq!(m.info_type(), Some("suite_ticket"));
    let ticket = m.get("SuiteTicket").unwrap().to_owned();
    assert_eq!(second[0].extra["suite_ticket"], ticket);
    // tokens
    let v = suite_token(&env, &ticket).await;
    assert_eq!(errcode(&v), 0, "{v}");
    let st = v["suite_access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        suite_token(&env, &ticket).await["suite_access_token"],
        st.as_str(),
        "stable"
    );
    assert_eq!(errcode(&suite_token(&env, "stale").await), 40085);
    let v = env
        .post(&env.qy("/cgi-bin/service/get_provider_token"), &json!({"corpid": PROVIDER, "provider_secret": "provider-secret-8e0a2c4e6b8d0f1a3c5e7b9d1f3a5c7e9b0d2f4"}))
        .await;
    assert!(v["provider_access_token"].as_str().is_some(), "{v}");
    // install from the provider's site: pre_auth_code → page → redirect with auth_code
    let v = env
        .get(&format!(
            "{}?suite_access_token={st}",
            env.qy("/cgi-bin/service/get_pre_auth_code")
        ))
        .await;
    let pre = v["pre_auth_code"].as_str().unwrap().to_owned();
    assert_eq!(v["expires_in"], 1200);
    let v = env
        .post(
            &format!(
                "{}?suite_access_token={st}",
                env.qy("/cgi-bin/service/set_session_info")
            ),
            &json!({"pre_auth_code": pre, "session_info": {"auth_type": 1}}),
        )
        .await;
    assert_eq!(errcode(&v), 0, "{v}");
    let login = env.sim.role_url(wxsim::Role::Login);
    let install = format!(
        "{login}/3rdapp/install?suite_id={SUITE}&pre_auth_code={pre}&redirect_uri=http%3A%2F%2F127.0.0.1%3A7000%2Finstalled&state=st1"
    );
    let page = env
        .http
        .get(&install)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("江南桥梁科技有限公司"));
    let resp = no_redirect()
        .get(format!("{install}&sim_corp={CORP}&sim_user=zhangsan"))
        .send()
        .await
        .unwrap();
    let loc = resp.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(query_param(&loc, "state").as_deref(), Some("st1"));
    let auth_code = query_param(&loc, "auth_code").unwrap();
    let v = env
        .post(
            &format!(
                "{}?suite_access_token={st}",
                env.qy("/cgi-bin/service/get_permanent_code")
            ),
            &json!({"auth_code": auth_code}),
        )
        .await;
    assert_eq!(errcode(&v), 0, "{v}");
    let permanent = v["permanent_code"].as_str().unwrap().to_owned();
    assert_eq!(v["auth_corp_info"]["corpid"], CORP);
    assert_eq!(v["auth_user_info"]["userid"], "zhangsan");
    let agentid = v["auth_info"]["agent"][0]["agentid"].as_u64().unwrap();
    let again = env
        .post(
            &format!(
                "{}?suite_access_token={st}",
                env.qy("/cgi-bin/service/get_permanent_code")
            ),
            &json!({"auth_code": auth_code}),
        )
        .await;
    assert_eq!(errcode(&again), 40078, "auth_code single use");
    // corp token works on the normal APIs of the customer corp
    let v = env
        .post(
            &format!(
                "{}?suite_access_token={st}",
                env.qy("/cgi-bin/service/get_corp_token")
            ),
            &json!({"auth_corpid": CORP, "permanent_code": permanent}),
        )
        .await;
    let ct = v["access_token"].as_str().unwrap().to_owned();
    let v = env
        .post(
            &format!("{}?access_token={ct}", env.qy("/cgi-bin/message/send")),
            &json!({"touser": "lisi", "msgtype": "text", "agentid": agentid, "text": {"content": "来自第三方应用"}}),
        )
        .await;
    assert_eq!(errcode(&v), 0, "{v}");
    assert_eq!(
        env.sim.state().inbox("lisi")[0].agentid,
        Some(u32::try_from(agentid).unwrap())
    );
    let v = env
        .post(
            &format!(
                "{}?suite_access_token={st}",
                env.qy("/cgi-bin/service/get_auth_info")
            ),
            &json!({"auth_corpid": CORP, "permanent_code": "wrong"}),
        )
        .await;
    assert_eq!(errcode(&v), 40084);
    // data callback of the installed app: receive id = the authorising corp
    let data = Receiver::start(Answer::Echo).await;
    env.sim
        .register_callback(CallbackConfig::new(
            format!("{SUITE}/data"),
            format!("{}/$CORPID$", data.url),
            TOKEN,
            KEY,
            CallbackMode::Safe,
        ))
        .unwrap();
    let o = env
        .sim
        .push_text(&format!("{CORP}/{agentid}"), "lisi", "hello suite")
        .await
        .unwrap();
    assert_eq!(o.status, PushStatus::Replied, "{o:?}");
    assert!(
        o.url.ends_with(&format!("/cb/{CORP}")),
        "$CORPID$ replaced: {}",
        o.url
    );
    assert_eq!(data.received()[0].receive_id.as_deref(), Some(CORP));
    // change_auth, cancel_auth
    let o = env
        .sim
        .push_event(
            SUITE,
            "",
            PushEvent::ChangeAuth {
                corpid: CORP.into(),
            },
        )
        .await
        .unwrap();
    assert!(
        o.message
            .contains("<InfoType><![CDATA[change_auth]]></InfoType>")
    );
    let o = env
        .sim
        .push_event(
            SUITE,
            "",
            PushEvent::CancelAuth {
                corpid: CORP.into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(o.status, PushStatus::Acked);
    let v = env
        .get(&format!(
            "{}?access_token={ct}&userid=lisi",
            env.qy("/cgi-bin/user/get")
        ))
        .await;
    assert_eq!(errcode(&v), 40014, "corp token revoked");
    let v = env
        .post(
            &format!(
                "{}?suite_access_token={st}",
                env.qy("/cgi-bin/service/get_corp_token")
            ),
            &json!({"auth_corpid": CORP, "permanent_code": permanent}),
        )
        .await;
    assert_eq!(errcode(&v), 48004);
}

#[tokio::test]
async fn marketplace_install_pushes_create_auth_and_commands_need_success() {
    let env = Env::fast().await;
    let rx = Receiver::start(Answer::Success).await;
    env.sim
        .register_callback(CallbackConfig::new(
            SUITE,
            &rx.url,
            TOKEN,
            KEY,
            CallbackMode::Safe,
        ))
        .unwrap();
    let v = env
        .post(
            &env.ctl(&format!("/sim/suites/{SUITE}/install")),
            &json!({"corpid": CORP, "state": "m1"}),
        )
        .await;
    assert_eq!(v["outcome"]["status"], "acked", "{v}");
    let code = v["outcome"]["extra"]["auth_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let m = Message::parse(&rx.received()[0].plaintext).unwrap();
    assert_eq!(m.get("AuthCode"), Some(code.as_str()));
    // suite command URLs must answer exactly "success"
    rx.set(Answer::Empty);
    let o = env.sim.push_suite_ticket(SUITE).await.unwrap();
    assert_eq!(o.status, PushStatus::BadReply);
    assert!(matches!(o.error, Some(PushError::NotSuccess(_))));
    // the ticket is valid for 30 minutes
    let ticket = o.extra["suite_ticket"].clone();
    assert_eq!(errcode(&suite_token(&env, &ticket).await), 0);
    env.advance(1800).await;
    assert_eq!(errcode(&suite_token(&env, &ticket).await), 40085);
    let v = env
        .post(&env.ctl(&format!("/sim/suites/{SUITE}/ticket")), &json!({}))
        .await;
    let fresh = v["outcome"]["extra"]["suite_ticket"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(errcode(&suite_token(&env, &fresh).await), 0);
    let v = env.get(&env.ctl("/sim/suites")).await;
    assert_eq!(v["suites"][0]["auths"][0]["corpid"], CORP);
    // the install page without redirect_uri: the provider hears of it by create_auth
    rx.set(Answer::Success);
    let st = suite_token(&env, &fresh).await["suite_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let v = env
        .get(&format!(
            "{}?suite_access_token={st}",
            env.qy("/cgi-bin/service/get_pre_auth_code")
        ))
        .await;
    let pre = v["pre_auth_code"].as_str().unwrap();
    let login = env.sim.role_url(wxsim::Role::Login);
    let page = env
        .http
        .get(format!(
            "{login}/3rdapp/install?suite_id={SUITE}&pre_auth_code={pre}&state=p2&sim_corp={CORP}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let mut auth_codes = Vec::new();
    for _ in 0..50 {
        auth_codes = rx
            .received()
            .iter()
            .filter_map(|r| Message::parse(&r.plaintext).ok())
            .filter(|m| m.info_type() == Some("create_auth") && m.get("State") == Some("p2"))
            .filter_map(|m| m.get("AuthCode").map(str::to_owned))
            .collect();
        if !auth_codes.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let v = env
        .post(
            &format!(
                "{}?suite_access_token={st}",
                env.qy("/cgi-bin/service/get_permanent_code")
            ),
            &json!({"auth_code": auth_codes[0]}),
        )
        .await;
    assert_eq!(errcode(&v), 0, "{v}");
}
