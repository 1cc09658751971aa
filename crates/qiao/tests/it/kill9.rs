//! Nothing answered is lost: `qiao serve` as a real process takes distinct encrypted pushes
//! from concurrent senders, is killed with SIGKILL mid-load, and after a restart on the same
//! database every MsgId that got an encrypted reply is in the inbox. A scaled-down round of
//! scripts/kill9-callbacks.sh, fast enough for CI.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use qiao::auth::api_keys::Scope;
use reqwest::Method;
use serde_json::json;

use crate::callbacks::{Pusher, now_secs, official_account, text_message};
use crate::harness::{TestApp, TestDb, spawn_serve, wait_ready};
use crate::store_test;
use crate::tokens::free_port;

/// Concurrent senders, as WeChat's many connections.
const SENDERS: usize = 16;
/// How long the load runs before the kill.
const LOAD: Duration = Duration::from_secs(2);

/// Sends distinct text pushes until the server stops answering; the MsgIds answered with an
/// encrypted reply.
async fn load(pusher: Arc<Pusher>, next_id: Arc<AtomicU64>, answered: Arc<Mutex<Vec<u64>>>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    loop {
        let msg_id = next_id.fetch_add(1, Ordering::Relaxed);
        let xml = text_message(&format!("o{}", msg_id % 97), "我要请假", msg_id);
        let (query, body) = pusher.encrypted(&xml, &now_secs(), &msg_id.to_string());
        match pusher.try_post(&client, &query, body).await {
            Ok((200, reply)) if reply.contains("<Encrypt>") => {
                answered.lock().unwrap().push(msg_id);
            }
            Ok((status, reply)) => panic!("push {msg_id} answered {status}: {reply}"),
            // Killed: this push and any later one get no answer.
            Err(_) => return,
        }
    }
}

/// Every MsgId in the inbox, paging through the API.
async fn inbox_msg_ids(client: &reqwest::Client, url: &str, key: &str) -> HashSet<u64> {
    let mut ids = HashSet::new();
    let mut before = None;
    loop {
        let page: serde_json::Value = client
            .get(format!("{url}/api/v1/inbox"))
            .query(&[("limit", "500")])
            .query(&[("before", before)])
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let Some(last) = page.as_array().unwrap().last() else {
            return ids;
        };
        before = last["id"].as_i64();
        for entry in page.as_array().unwrap() {
            ids.insert(entry["payload"]["MsgId"].as_str().unwrap().parse().unwrap());
        }
    }
}

async fn kill9_round(db: &TestDb) {
    let master = qiao::secrets::MasterKey::generate().to_base64();
    // The account, its receiver and a rule that answers every text, on the shared database.
    let app = TestApp::start_with(db, |c| c.master_key = Some(master.clone())).await;
    let key = app.api_key(&[Scope::Admin]).await;
    let (channel, pusher) = official_account(&app, &key).await;
    let hosting = json!({ "name": "托管", "action": "text", "match_mode": "hosting",
                          "reply": "已收到", "priority": 100 });
    let (status, rule) = app
        .api(
            Method::POST,
            &format!("/channels/{channel}/reply-rules"),
            Some(&key),
            Some(hosting),
        )
        .await;
    assert_eq!(status, 201, "{rule}");
    let leaks = app.leaks.clone();
    app.stop().await;

    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let data_dir = db.data_dir().join("node");
    let client = reqwest::Client::new();
    let node = spawn_serve(db, &data_dir, &master, port);
    wait_ready(&client, &url).await;

    let pusher = Arc::new(pusher.moved_to(&url));
    let next_id = Arc::new(AtomicU64::new(qiao::clock::now_ms() as u64 * 1000));
    let answered = Arc::new(Mutex::new(Vec::new()));
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| tokio::spawn(load(pusher.clone(), next_id.clone(), answered.clone())))
        .collect();
    tokio::time::sleep(LOAD).await;
    let mut node = node;
    node.start_kill().expect("SIGKILL");
    let killed = node.wait_with_output().await.expect("killed node");
    for sender in senders {
        sender.await.unwrap();
    }
    leaks.saw(
        "stderr of the killed node",
        String::from_utf8_lossy(&killed.stderr),
    );

    let restarted = spawn_serve(db, &data_dir, &master, port);
    wait_ready(&client, &url).await;
    let stored = inbox_msg_ids(&client, &url, &key).await;
    let answered = answered.lock().unwrap().clone();
    assert!(
        answered.len() >= 20,
        "the load got too few answers to mean anything: {}",
        answered.len()
    );
    eprintln!(
        "answered before the kill: {}; in the inbox after the restart: {}",
        answered.len(),
        stored.len()
    );
    let lost: Vec<_> = answered.iter().filter(|id| !stored.contains(id)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} answered pushes are not in the inbox: {lost:?}",
        lost.len(),
        answered.len()
    );
    let mut restarted = restarted;
    restarted.start_kill().expect("stop");
    let output = restarted.wait_with_output().await.expect("restarted node");
    leaks.saw(
        "stderr of the restarted node",
        String::from_utf8_lossy(&output.stderr),
    );
    leaks.assert_clean();
}

store_test!(every_answered_push_survives_kill_9, |db| async move {
    kill9_round(&db).await;
});
