//! `qiao demo`: the bridge on the embedded database, seeded and ready to click.
//!
//! Credentials go to `<data-dir>/demo.json` (mode 0600) and nowhere else: the terminal shows
//! URLs, the admin user name and the path of that file. Running the demo again keeps the
//! credentials that still work, so a bookmarked login survives a restart.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::app::{AppState, RunningServer, open_state};
use crate::audit::{self, Actor};
use crate::auth::api_keys::{self, Scope};
use crate::auth::{Role, password, users};
use crate::clock;
use crate::config::Config;
use crate::store::TenantId;

pub const DEMO_ADMIN: &str = "admin";

/// The content of `demo.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoFile {
    pub console_url: String,
    pub api_url: String,
    pub admin: DemoAdmin,
    pub api_key: String,
    /// The simulator's base URL (every role behind one listener).
    #[serde(default)]
    pub simulator_url: String,
    /// The simulator's accounts and their credentials, with each role's base URL.
    #[serde(default)]
    pub simulator: serde_json::Value,
    /// The callback receivers (URL, Token, EncodingAESKey) of the demo's channels.
    #[serde(default)]
    pub callbacks: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoAdmin {
    pub username: String,
    pub password: String,
}

pub fn demo_file_path(data_dir: &Path) -> PathBuf {
    data_dir.join("demo.json")
}

pub async fn run(config: Config) -> anyhow::Result<()> {
    let simulator = wxsim::Simulator::start(wxsim::SimConfig::default())
        .await
        .context("cannot start the WeChat simulator")?;
    let (state, _) = open_state(config).await?;
    let server = RunningServer::start(state).await?;
    let data_dir = std::fs::canonicalize(&server.state.config.data_dir)
        .unwrap_or_else(|_| server.state.config.data_dir.clone());
    let path = demo_file_path(&data_dir);
    let previous = read_demo_file(&path);
    // Without a configured external URL, the address actually bound (the port may be 0).
    let base = match &server.state.config.external_url {
        Some(url) => url.as_str().trim_end_matches('/').to_string(),
        None => server.url(),
    };
    let mut file = seed(&server.state, previous.as_ref(), &base).await?;
    file.simulator_url = simulator.url();
    file.simulator = simulator_accounts(&simulator);
    register_simulator_channels(&server.state, &simulator).await?;
    file.callbacks = enable_callbacks(&server.state, &base).await?;
    connect_simulator(&server.state, &simulator, &file.callbacks).await?;
    write_private_file(&path, serde_json::to_string_pretty(&file)?.as_bytes())?;
    println!("Qiao demo is running.");
    println!(
        "  console:    {}  (user: {})",
        file.console_url, file.admin.username
    );
    println!("  API:        {}", file.api_url);
    println!(
        "  simulator:  {}  (what each phone received: {}/sim/inbox.html)",
        file.simulator_url, file.simulator_url
    );
    println!(
        "  secrets:    {}  (admin password, API key, simulator accounts)",
        path.display()
    );
    println!("Press Ctrl-C to stop.");
    let stopped = server.run_until_signal().await;
    simulator
        .shutdown()
        .await
        .context("stopping the simulator")?;
    stopped
}

fn read_demo_file(path: &Path) -> Option<DemoFile> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Makes sure the demo admin and API key exist and that `previous` credentials still work;
/// creates or resets what does not.
async fn seed(
    state: &AppState,
    previous: Option<&DemoFile>,
    base: &str,
) -> anyhow::Result<DemoFile> {
    let store = &state.store;
    let tenant = TenantId::DEFAULT;
    let now = clock::now_ms();
    let actor = Actor {
        name: "demo".into(),
        ip: None,
        request_id: None,
    };

    let mut admin_password = previous
        .map(|p| p.admin.password.clone())
        .unwrap_or_default();
    let works = !admin_password.is_empty()
        && users::authenticate(store, tenant, DEMO_ADMIN, &admin_password, now)
            .await
            .is_ok();
    if !works {
        admin_password = password::generate();
        let mut tx = store.begin_write().await?;
        match users::find_by_username(store, tenant, DEMO_ADMIN).await? {
            Some(user) => {
                users::set_password(&mut tx, tenant, user.id, &admin_password, now).await?
            }
            None => {
                users::create_user(
                    &mut tx,
                    tenant,
                    DEMO_ADMIN,
                    "演示管理员",
                    Role::SuperAdmin,
                    &admin_password,
                    now,
                )
                .await?;
            }
        }
        audit::record(
            &mut tx,
            tenant,
            &actor,
            "demo.seed_admin",
            DEMO_ADMIN,
            None,
            None,
            now,
        )
        .await?;
        tx.commit().await?;
    }

    let mut api_key = previous.map(|p| p.api_key.clone()).unwrap_or_default();
    if api_keys::authenticate_key(store, &api_key, now)
        .await?
        .is_none()
    {
        let mut tx = store.begin_write().await?;
        let (_, key) = api_keys::create_key(
            &mut tx,
            tenant,
            "demo",
            &[Scope::Admin],
            &actor.name,
            None,
            now,
        )
        .await?;
        audit::record(
            &mut tx,
            tenant,
            &actor,
            "demo.seed_api_key",
            "demo",
            None,
            None,
            now,
        )
        .await?;
        tx.commit().await?;
        api_key = key;
    }

    Ok(DemoFile {
        console_url: format!("{base}/console"),
        api_url: format!("{base}/api/v1"),
        admin: DemoAdmin {
            username: DEMO_ADMIN.into(),
            password: admin_password,
        },
        api_key,
        simulator_url: String::new(),
        simulator: serde_json::Value::Null,
        callbacks: Vec::new(),
    })
}

/// Registers the simulator's accounts as channels (or points existing ones at this run's
/// simulator, whose port changes every time), so the console has something real to show.
async fn register_simulator_channels(
    state: &AppState,
    sim: &wxsim::Simulator,
) -> anyhow::Result<()> {
    use crate::channels::{
        self, AccountType, ChannelKind, ChannelPatch, ContactsPermission, Endpoints, NewChannel,
    };
    use wxsim::Role;
    let tenant = TenantId::DEFAULT;
    let now = clock::now_ms();
    let actor = Actor {
        name: "demo".into(),
        ip: None,
        request_id: None,
    };
    let endpoints = |api: Role| Endpoints {
        api_base_url: sim.role_url(api),
        oauth_base_url: sim.role_url(Role::Open),
        web_login_base_url: sim.role_url(Role::Login),
    };
    let existing = channels::list(&state.store, &state.sealer, tenant, None).await?;
    let find = |kind: ChannelKind, external_id: &str| {
        existing
            .iter()
            .find(|c| c.kind == kind && c.external_id == external_id)
            .map(|c| c.id)
    };
    let seed = wxsim::Seed::demo();
    let mut wanted: Vec<(ChannelKind, String, NewChannel)> = Vec::new();
    for a in &seed.official_accounts {
        wanted.push((
            ChannelKind::OfficialAccount,
            a.appid.clone(),
            NewChannel::OfficialAccount {
                name: a.name.clone(),
                remark: "模拟器 (simulator)".into(),
                app_id: a.appid.clone(),
                app_secret: a.secret.clone(),
                original_id: a.original_id.clone(),
                account_type: AccountType::Service,
                verified: a.verified,
                endpoints: Some(endpoints(Role::Api)),
            },
        ));
    }
    for m in &seed.mini_programs {
        wanted.push((
            ChannelKind::MiniProgram,
            m.appid.clone(),
            NewChannel::MiniProgram {
                name: m.name.clone(),
                remark: "模拟器 (simulator)".into(),
                app_id: m.appid.clone(),
                app_secret: m.secret.clone(),
                endpoints: Some(endpoints(Role::Api)),
            },
        ));
    }
    for c in &seed.corps {
        wanted.push((
            ChannelKind::WecomCorp,
            c.corpid.clone(),
            NewChannel::WecomCorp {
                name: c.name.clone(),
                remark: "模拟器 (simulator)".into(),
                corp_id: c.corpid.clone(),
                contacts_secret: c.contacts.as_ref().map(|s| s.secret.clone()),
                contacts_permission: ContactsPermission::ReadWrite,
                customer_secret: None,
                checkin_secret: None,
                endpoints: Some(endpoints(Role::Qyapi)),
            },
        ));
    }
    for (kind, external_id, new) in wanted {
        match find(kind, &external_id) {
            Some(id) => {
                let api = if kind == ChannelKind::WecomCorp {
                    Role::Qyapi
                } else {
                    Role::Api
                };
                let patch = ChannelPatch {
                    endpoints: Some(endpoints(api)),
                    ..Default::default()
                };
                channels::update(&state.store, &state.sealer, tenant, id, patch, &actor, now)
                    .await?;
            }
            None => {
                channels::create(&state.store, &state.sealer, tenant, new, &actor, now).await?;
            }
        }
    }
    // Apps, now that their corps exist.
    let existing = channels::list(&state.store, &state.sealer, tenant, None).await?;
    for c in &seed.corps {
        let Some(corp) = existing
            .iter()
            .find(|x| x.kind == ChannelKind::WecomCorp && x.external_id == c.corpid)
        else {
            continue;
        };
        for app in &c.apps {
            let known = existing
                .iter()
                .any(|x| x.parent_id == Some(corp.id) && x.external_id == app.agentid.to_string());
            if !known {
                let new = NewChannel::WecomApp {
                    corp: corp.id,
                    name: app.name.clone(),
                    remark: "模拟器 (simulator)".into(),
                    agent_id: app.agentid,
                    secret: app.secret.clone(),
                    homepage_url: None,
                };
                channels::create(&state.store, &state.sealer, tenant, new, &actor, now).await?;
            }
        }
    }
    Ok(())
}

/// Gives every Official Account and WeCom app a safe-mode receiver, turned on, and returns the
/// values to paste (for demo.json).
async fn enable_callbacks(state: &AppState, base: &str) -> anyhow::Result<Vec<serde_json::Value>> {
    use crate::callback::{Callbacks, NewReceiver, ReceiverPatch};
    use crate::channels::{self, ChannelKind};
    let tenant = TenantId::DEFAULT;
    let now = clock::now_ms();
    let actor = Actor {
        name: "demo".into(),
        ip: None,
        request_id: None,
    };
    let callbacks = Callbacks::new(state, base.to_string());
    let mut out = Vec::new();
    for channel in channels::list(&state.store, &state.sealer, tenant, None).await? {
        if !matches!(
            channel.kind,
            ChannelKind::OfficialAccount | ChannelKind::WecomApp
        ) {
            continue;
        }
        let receiver = match callbacks.list(tenant, channel.id).await?.into_iter().next() {
            Some(receiver) => receiver,
            None => {
                callbacks
                    .create(tenant, &channel, NewReceiver::default(), &actor, now)
                    .await?
            }
        };
        if !receiver.enabled {
            let on = ReceiverPatch {
                enabled: Some(true),
                ..Default::default()
            };
            callbacks
                .update(tenant, receiver.id, on, &actor, now)
                .await?;
        }
        let values = callbacks.values(tenant, receiver.id, None).await?;
        out.push(serde_json::json!({
            "channel": channel.name, "channel_id": channel.id, "kind": channel.kind,
            "url": values.url, "token": values.token, "encoding_aes_key": values.encoding_aes_key,
            "mode": values.mode,
        }));
    }
    Ok(out)
}

/// Points the simulator's pushes at Qiao's receivers and gives each channel a few reply
/// rules, so that a newcomer can chat with the demo accounts in the simulator at once.
async fn connect_simulator(
    state: &AppState,
    sim: &wxsim::Simulator,
    receivers: &[serde_json::Value],
) -> anyhow::Result<()> {
    use crate::channels::{self, ChannelKind};
    use crate::replies::{self, MatchMode, NewRule, ReplyAction};
    let tenant = TenantId::DEFAULT;
    let actor = Actor {
        name: "demo".into(),
        ip: None,
        request_id: None,
    };
    for receiver in receivers {
        let text = |k: &str| receiver[k].as_str().unwrap_or_default().to_string();
        let Some(channel_id) = receiver["channel_id"].as_i64() else {
            continue;
        };
        let Some(channel) = channels::get(&state.store, &state.sealer, tenant, channel_id).await?
        else {
            continue;
        };
        let account = match (channel.kind, channel.parent_id) {
            (ChannelKind::WecomApp, Some(corp)) => {
                match channels::get(&state.store, &state.sealer, tenant, corp).await? {
                    Some(corp) => format!("{}/{}", corp.external_id, channel.external_id),
                    None => continue,
                }
            }
            _ => channel.external_id.clone(),
        };
        let config = wxsim::CallbackConfig::new(
            account,
            text("url"),
            text("token"),
            text("encoding_aes_key"),
            wxsim::CallbackMode::Safe,
        );
        sim.register_callback(config)
            .map_err(|e| anyhow::anyhow!("registering a simulator callback: {e}"))?;
        if !replies::list(&state.store, tenant, channel_id)
            .await?
            .is_empty()
        {
            continue;
        }
        let subscribe = channel.kind == ChannelKind::OfficialAccount;
        let mut rules = vec![
            (
                "问候",
                ReplyAction::Text,
                Some(MatchMode::Contains),
                Some("你好"),
                "您好！这里是桥（Qiao）的演示。\n回复「工资」或「请假」试试。",
                10,
            ),
            (
                "工资",
                ReplyAction::Text,
                Some(MatchMode::Contains),
                Some("工资"),
                "工资条请在 OA 中查看：\nhttps://oa.example.com/payslip",
                20,
            ),
            (
                "请假",
                ReplyAction::Text,
                Some(MatchMode::Prefix),
                Some("请假"),
                "请假请在 OA 提交流程：https://oa.example.com/leave",
                20,
            ),
            (
                "图片",
                ReplyAction::Image,
                None,
                None,
                "图片已收到，谢谢！",
                50,
            ),
            (
                "托管",
                ReplyAction::Text,
                Some(MatchMode::Hosting),
                None,
                "已收到您的消息，我们会尽快回复。",
                100,
            ),
        ];
        if subscribe {
            rules.push((
                "关注",
                ReplyAction::Subscribe,
                None,
                None,
                "感谢关注！回复「你好」开始。",
                1,
            ));
        }
        for (name, action, match_mode, keyword, reply, priority) in rules {
            let rule = NewRule {
                name: name.into(),
                action,
                match_mode,
                keyword: keyword.map(str::to_string),
                reply: reply.into(),
                priority: priority.into(),
                enabled: true,
            };
            replies::create(
                &state.store,
                &state.reply_rules,
                tenant,
                channel_id,
                rule,
                &actor,
                clock::now_ms(),
            )
            .await?;
        }
    }
    Ok(())
}

/// The simulator's accounts with their credentials, and the base URL of each role.
fn simulator_accounts(sim: &wxsim::Simulator) -> serde_json::Value {
    use wxsim::Role;
    let seed = wxsim::Seed::demo();
    serde_json::json!({
        "roles": {
            "api.weixin.qq.com": sim.role_url(Role::Api),
            "qyapi.weixin.qq.com": sim.role_url(Role::Qyapi),
            "open.weixin.qq.com": sim.role_url(Role::Open),
            "login.work.weixin.qq.com": sim.role_url(Role::Login),
        },
        "official_accounts": seed.official_accounts.iter().map(|a| serde_json::json!({
            "name": a.name, "original_id": a.original_id, "app_id": a.appid, "app_secret": a.secret,
            "api_base_url": sim.role_url(Role::Api),
            "fan": a.fans.first().map(|f| f.openid.clone()),
        })).collect::<Vec<_>>(),
        "wecom_corps": seed.corps.iter().map(|c| serde_json::json!({
            "name": c.name, "corp_id": c.corpid,
            "contacts_secret": c.contacts.as_ref().map(|s| s.secret.clone()),
            "api_base_url": sim.role_url(Role::Qyapi),
            "apps": c.apps.iter().map(|app| serde_json::json!({
                "name": app.name, "agent_id": app.agentid, "secret": app.secret,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "mini_programs": seed.mini_programs.iter().map(|m| serde_json::json!({
            "name": m.name, "app_id": m.appid, "app_secret": m.secret,
            "api_base_url": sim.role_url(Role::Api),
        })).collect::<Vec<_>>(),
    })
}

/// Writes a file only its owner can read, replacing any previous one atomically.
pub fn write_private_file(path: &Path, content: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("private")
    ));
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(content)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
