//! SDK conformance with Python wechatpy (PyPI), from `$WX_INTEROP_DIR/.venv`, else the
//! repository's `interop/.venv` (created by `interop/setup.sh`: `python3 -m venv interop/.venv && interop/.venv/bin/pip install
//! wechatpy cryptography`). Without the venv the tests print a note and pass, unless
//! `CI=true`.
//!
//! - `tests/sdk/clients.py`: wechatpy's `WeChatClient` and enterprise `WeChatClient` against
//!   the simulator (tokens, fans, menus, templates, departments, members, message/send,
//!   OAuth, JS-SDK), every write read back or found in the inbox.
//! - `tests/sdk/receiver.py`: a wechatpy callback server receiving every kind of push (OA
//!   plain / compatible / safe, WeCom, suite command) and answering passive replies.

use std::path::PathBuf;
use std::process::Stdio;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use wxsim::{CallbackConfig, CallbackMode, PushEvent, PushStatus, SimConfig};

use crate::helpers::{Env, fast_options};
use crate::receiver::KEY;

const TOKEN: &str = "wechatpyToken";
const CORP: &str = "ww8f3a21c5d9e07b46";
const SUITE: &str = "wwsuite5e7a9c1b3d4f6a80";
const FAN: &str = "oJqBd60000000000000000001000";

fn python() -> Option<PathBuf> {
    // The same variable as the wx interop tests, so one prepared venv serves both.
    let dir = std::env::var_os("WX_INTEROP_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop"),
        PathBuf::from,
    );
    // Canonical path: a venv's python finds its pyvenv.cfg from the path it was started by.
    let bin = dir.join(".venv/bin");
    let py = std::fs::canonicalize(&bin).unwrap_or(bin).join("python");
    let ok = py.exists()
        && std::process::Command::new(&py)
            .args(["-c", "import wechatpy, cryptography"])
            .status()
            .is_ok_and(|s| s.success());
    if ok {
        return Some(py);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but {} with wechatpy is missing (run interop/setup.sh)",
        py.display()
    );
    println!(
        "note: skipping the wechatpy conformance test: {} with wechatpy + cryptography not found \
         (python3 -m venv interop/.venv && interop/.venv/bin/pip install wechatpy cryptography)",
        py.display()
    );
    None
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sdk")
        .join(name)
}

async fn sdk_env() -> Env {
    Env::with_config(SimConfig {
        options: wxsim::SimOptions {
            // Python answers fast, but leave room for a loaded machine.
            callback_timeout_ms: 3000,
            ..fast_options()
        },
        ..SimConfig::default()
    })
    .await
}

#[tokio::test]
async fn wechatpy_clients_against_the_simulator() {
    let Some(py) = python() else { return };
    let env = sdk_env().await;
    let seed = &env.seed;
    let cfg = json!({
        "sim": env.sim.url(),
        "appid": env.appid(),
        "secret": env.oa_secret(),
        "corpid": env.corpid(),
        "contacts_secret": env.contacts_secret(),
        "app_secret": env.app_secret(1_000_002),
        "agentid": 1_000_002,
        "mp_appid": seed.mini_programs[0].appid,
        "mp_secret": seed.mini_programs[0].secret,
        "mp_user": seed.mini_programs[0].users[0].openid,
    });
    let out = tokio::process::Command::new(&py)
        .arg(script("clients.py"))
        .arg(cfg.to_string())
        .env("NO_PROXY", "*")
        .output()
        .await
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "clients.py failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.starts_with("OK "), "{stdout}");
    println!("wechatpy clients: {}", stdout.trim());
    // The simulator saw wechatpy's calls: one auto-retry after the forced rotation.
    assert_eq!(
        env.sim
            .state()
            .count_requests("/cgi-bin/token", Some(env.appid())),
        2,
        "initial fetch + one refresh after 40001"
    );
}

struct PyReceiver {
    child: tokio::process::Child,
    base: String,
}

impl PyReceiver {
    async fn start(py: &PathBuf, cfg: &Value) -> PyReceiver {
        let mut child = tokio::process::Command::new(py)
            .arg(script("receiver.py"))
            .arg(cfg.to_string())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("receiver starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next_line().await.unwrap().unwrap_or_default();
        let port = first
            .strip_prefix("PORT ")
            .expect("PORT line")
            .trim()
            .to_owned();
        PyReceiver {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn log(&self) -> Vec<Value> {
        reqwest::get(format!("{}/log", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn wechatpy_receiver_gets_every_kind_of_push() {
    let Some(py) = python() else { return };
    let env = sdk_env().await;
    let appid = env.appid().to_owned();
    let provider = env.seed.suites[0].provider_corpid.clone();
    let cfg = json!({"token": TOKEN, "key": KEY, "appid": appid, "corpid": CORP,
                     "suite_id": SUITE, "provider_corpid": provider});
    let mut rx = PyReceiver::start(&py, &cfg).await;
    // OA in the three modes
    for (mode, path) in [
        (CallbackMode::Plain, "/oa/plain"),
        (CallbackMode::Compatible, "/oa/compatible"),
        (CallbackMode::Safe, "/oa/safe"),
    ] {
        let url = format!("{}{path}", rx.base);
        env.sim
            .register_callback(CallbackConfig::new(&appid, url, TOKEN, KEY, mode))
            .unwrap();
        let v = env.sim.verify_url(&appid).await.unwrap();
        assert!(v.ok, "{mode:?} {v:?}");
        let o = env.sim.push_text(&appid, FAN, "你好，桥").await.unwrap();
        assert_eq!(o.status, PushStatus::Replied, "{mode:?}: {o:?}");
        assert_eq!(o.reply_text(), Some("wechatpy: 你好，桥"));
        assert_eq!(
            o.reply.as_ref().unwrap().encrypted,
            mode != CallbackMode::Plain
        );
        for event in [
            PushEvent::Click {
                key: "V1001".into(),
            },
            PushEvent::Subscribe {
                scene: Some("42".into()),
            },
            PushEvent::Scan { scene: "42".into() },
            PushEvent::Location {
                lat: 31.23,
                lng: 121.47,
                scale: 15,
                label: "外滩".into(),
            },
        ] {
            let o = env.sim.push_event(&appid, FAN, event).await.unwrap();
            assert_eq!(o.status, PushStatus::Acked, "{mode:?}: {o:?}");
        }
    }
    // WeCom app
    let account = format!("{CORP}/1000002");
    env.sim
        .register_callback(CallbackConfig::new(
            &account,
            format!("{}/wecom", rx.base),
            TOKEN,
            KEY,
            CallbackMode::Safe,
        ))
        .unwrap();
    assert!(env.sim.verify_url(&account).await.unwrap().ok);
    let o = env
        .sim
        .push_text(&account, "lisi", "审批通过了吗")
        .await
        .unwrap();
    assert_eq!(o.status, PushStatus::Replied, "{o:?}");
    assert_eq!(o.reply_text(), Some("wechatpy: 审批通过了吗"));
    for event in [PushEvent::Click { key: "K".into() }, PushEvent::EnterAgent] {
        assert_eq!(
            env.sim
                .push_event(&account, "lisi", event)
                .await
                .unwrap()
                .status,
            PushStatus::Acked
        );
    }
    // suite command URL: verification with the provider corpid, pushes with the suite id
    env.sim
        .register_callback(CallbackConfig::new(
            SUITE,
            format!("{}/suite", rx.base),
            TOKEN,
            KEY,
            CallbackMode::Safe,
        ))
        .unwrap();
    assert!(env.sim.verify_url(SUITE).await.unwrap().ok);
    let o = env.sim.push_suite_ticket(SUITE).await.unwrap();
    assert_eq!(o.status, PushStatus::Acked, "{o:?}");
    let o = env
        .sim
        .push_event(
            SUITE,
            "",
            PushEvent::CreateAuth {
                corpid: CORP.into(),
                state: "s".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(o.status, PushStatus::Acked, "{o:?}");
    // what wechatpy saw
    let log = rx.log().await;
    let errors: Vec<&Value> = log
        .iter()
        .filter(|e| e.get("error").is_some() || e["verify"].as_str().is_some_and(|v| v != "ok"))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let count = |route: &str| {
        log.iter()
            .filter(|e| e["route"] == route && e.get("verify").is_none())
            .count()
    };
    assert_eq!(count("/oa/plain"), 5);
    assert_eq!(count("/oa/compatible"), 5);
    assert_eq!(count("/oa/safe"), 5);
    assert_eq!(count("/wecom"), 3);
    let kinds: Vec<String> = log
        .iter()
        .filter(|e| e["route"] == "/oa/safe" && e.get("verify").is_none())
        .map(|e| {
            format!(
                "{}:{}",
                e["type"].as_str().unwrap_or(""),
                e["event"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "text:",
            "event:click",
            "event:subscribe_scan",
            "event:scan",
            "location:"
        ]
    );
    let suite: Vec<&str> = log
        .iter()
        .filter(|e| e["route"] == "/suite")
        .filter_map(|e| e["info_type"].as_str())
        .collect();
    assert_eq!(suite, ["suite_ticket", "create_auth"]);
    let ticket = log
        .iter()
        .find(|e| e["info_type"] == "suite_ticket")
        .unwrap()["ticket"]
        .clone();
    assert_eq!(
        ticket.as_str(),
        env.sim.state().pushes(Some(SUITE))[0]
            .extra
            .get("suite_ticket")
            .map(String::as_str)
    );
    let wecom_agent = log
        .iter()
        .find(|e| e["route"] == "/wecom" && e.get("verify").is_none())
        .unwrap()["agent"]
        .clone();
    assert_eq!(wecom_agent, 1_000_002);
    let _ = rx.child.kill().await;
}
