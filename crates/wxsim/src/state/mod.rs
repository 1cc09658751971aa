//! Simulator state: the [`World`] (accounts, corps, tokens) and [`SimState`], which adds the
//! clock, the request log, faults, limits and inboxes. One `SimState` is shared by every
//! request handler and by the embedding test (`Simulator::state`).
//!
//! Lock order, where several are held: world → inbox. No lock is held across an `.await`.

pub mod accounts;
mod admin;
pub mod corp;
pub mod crm;
pub mod directory;
pub mod identity;
pub mod suite;
pub mod tokens;

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use crate::callback::{Callbacks, PendingPush, SenderSettings};
use crate::clock::Clock;
use crate::config::SimOptions;
use crate::faults::{FaultSpec, Faults};
use crate::inbox::{InboxEntry, Inboxes};
use crate::limits::{Limiter, LimitsConfig};
use crate::reqlog::{RequestFilter, RequestLog, RequestRecord, RequestSummary};
use crate::seed::{Seed, SeedError};
use accounts::{MiniProgram, OfficialAccount};
pub use admin::AccountSettings;
use corp::Corp;
use directory::Directory;
use tokens::{TokenInfo, TokenStore};

/// Accounts, corps and tokens.
#[derive(Debug, Clone, Default)]
pub struct World {
    /// Official Accounts by appid.
    pub accounts: BTreeMap<String, OfficialAccount>,
    /// Mini Programs by appid.
    pub mini_programs: BTreeMap<String, MiniProgram>,
    /// WeCom corps by corpid.
    pub corps: BTreeMap<String, Corp>,
    /// Issued tokens.
    pub tokens: TokenStore,
    /// Third-party suites by suite id.
    pub suites: BTreeMap<String, suite::Suite>,
    /// OAuth codes, user tokens, tickets.
    pub identity: identity::Identity,
    pub(crate) next_oa_msgid: u64,
}

impl World {
    /// Builds the world described by a seed.
    pub fn from_seed(seed: Seed) -> Result<World, SeedError> {
        let invalid = SeedError::Invalid;
        let mut w = World {
            next_oa_msgid: 2_000_000_000 + u64::from(crate::util::random_u32() % 1_000_000) * 1000,
            ..World::default()
        };
        for a in seed.official_accounts {
            if a.appid.is_empty() || w.accounts.contains_key(&a.appid) {
                return Err(invalid(format!("empty or duplicate appid {:?}", a.appid)));
            }
            let mut acct = OfficialAccount::new(
                a.appid.clone(),
                a.secret,
                a.name,
                a.original_id,
                a.kind,
                a.verified,
                a.fans,
                a.tags,
                a.templates,
            )
            .map_err(invalid)?;
            acct.subscribe_templates = a
                .subscribe_templates
                .into_iter()
                .map(|t| (t.template_id.clone(), t))
                .collect();
            acct.redirect_domains = a.redirect_domains;
            acct.trusted_ips = a.trusted_ips;
            w.accounts.insert(a.appid, acct);
        }
        for m in seed.mini_programs {
            if m.appid.is_empty()
                || w.accounts.contains_key(&m.appid)
                || w.mini_programs.contains_key(&m.appid)
            {
                return Err(invalid(format!("empty or duplicate appid {:?}", m.appid)));
            }
            w.mini_programs.insert(
                m.appid.clone(),
                MiniProgram {
                    original_id: if m.original_id.is_empty() {
                        format!("gh_{}", m.appid.get(2..14).unwrap_or("000000000000"))
                    } else {
                        m.original_id
                    },
                    appid: m.appid,
                    secret: m.secret,
                    name: m.name,
                    users: m.users,
                    subscribe_templates: m
                        .subscribe_templates
                        .into_iter()
                        .map(|t| (t.template_id.clone(), t))
                        .collect(),
                    trusted_ips: m.trusted_ips,
                    subscribe_grants: std::collections::HashMap::new(),
                },
            );
        }
        for c in seed.corps {
            if c.corpid.is_empty() || w.corps.contains_key(&c.corpid) {
                return Err(invalid(format!("empty or duplicate corpid {:?}", c.corpid)));
            }
            let dir = Directory::from_parts(c.departments, c.members, &c.name)
                .map_err(|e| invalid(format!("corp {}: {e}", c.corpid)))?;
            let mut agentids = std::collections::HashSet::new();
            for app in &c.apps {
                if !agentids.insert(app.agentid) {
                    return Err(invalid(format!(
                        "corp {}: duplicate agentid {}",
                        c.corpid, app.agentid
                    )));
                }
            }
            let mut corp = Corp::new(c.corpid.clone(), c.name, c.contacts, c.apps, c.tags, dir);
            for x in c.external_contacts {
                if x.external_userid.is_empty() {
                    return Err(invalid(format!(
                        "corp {}: external contact without id",
                        c.corpid
                    )));
                }
                corp.external_contacts.insert(x.external_userid.clone(), x);
            }
            corp.checkins = c.checkins;
            corp.generate_checkins = c.generate_checkins;
            w.corps.insert(c.corpid, corp);
        }
        for s in seed.suites {
            if s.suite_id.is_empty() || w.suites.contains_key(&s.suite_id) {
                return Err(invalid(format!(
                    "empty or duplicate suite_id {:?}",
                    s.suite_id
                )));
            }
            w.suites.insert(s.suite_id.clone(), suite::Suite::new(s));
        }
        Ok(w)
    }

    /// Secret of an OA or Mini Program.
    pub fn app_secret(&self, appid: &str) -> Option<&str> {
        self.accounts
            .get(appid)
            .map(|a| a.secret.as_str())
            .or_else(|| self.mini_programs.get(appid).map(|m| m.secret.as_str()))
    }

    /// Credential label of a (corpid, secret) pair: `corpid/<agentid>`, `corpid/contacts`,
    /// `corpid/?<sha1 prefix>` for an unknown secret, or just `corpid` for an unknown corp.
    pub fn corp_secret_label(&self, corpid: &str, secret: Option<&str>) -> String {
        let Some(corp) = self.corps.get(corpid) else {
            return corpid.to_owned();
        };
        let Some(secret) = secret else {
            return corpid.to_owned();
        };
        match corp.secret_ref(secret) {
            Some(r) => format!("{corpid}/{}", r.label()),
            None => {
                let digest = Sha1::digest(secret.as_bytes());
                format!("{corpid}/?{}", &hex::encode(digest)[..8])
            }
        }
    }

    /// Counts for `GET /sim/state`.
    pub fn summary(&self) -> Value {
        json!({
            "official_accounts": self.accounts.values().map(|a| json!({
                "appid": a.appid,
                "name": a.name,
                "original_id": a.original_id,
                "kind": a.kind,
                "verified": a.verified,
                "fans": a.fans().count(),
                "followers": a.follower_count(),
                "menu": a.menu.is_some(),
            })).collect::<Vec<_>>(),
            "mini_programs": self.mini_programs.values().map(|m| json!({
                "appid": m.appid, "name": m.name, "users": m.users.len(),
            })).collect::<Vec<_>>(),
            "corps": self.corps.values().map(|c| json!({
                "corpid": c.corpid,
                "name": c.name,
                "departments": c.directory.department_count(),
                "members": c.directory.member_count(),
                "apps": c.apps.values().map(|a| json!({"agentid": a.agentid, "name": a.name})).collect::<Vec<_>>(),
                "contacts_secret": c.contacts.as_ref().map(|s| s.access),
                "messages_sent": c.messages.len(),
                "messages_dropped": c.dropped_messages,
            })).collect::<Vec<_>>(),
            "tokens_issued": self.tokens.issued(),
        })
    }
}

/// Callback registrations a seed asks for: its `callbacks` plus the suites' command and data
/// URLs.
fn seed_callbacks(seed: &Seed) -> Vec<crate::callback::CallbackConfig> {
    use crate::callback::{CallbackConfig, CallbackMode};
    let mut list = seed.callbacks.clone();
    for s in &seed.suites {
        for (url, account) in [
            (&s.command_url, s.suite_id.clone()),
            (&s.data_url, format!("{}/data", s.suite_id)),
        ] {
            if !url.is_empty() {
                list.push(CallbackConfig::new(
                    account,
                    url.clone(),
                    s.token.clone(),
                    s.encoding_aes_key.clone(),
                    CallbackMode::Safe,
                ));
            }
        }
    }
    list
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Everything a running simulator knows, shared between handlers and the embedder.
#[derive(Debug)]
pub struct SimState {
    options: SimOptions,
    clock: Clock,
    world: Mutex<World>,
    log: Mutex<RequestLog>,
    faults: Mutex<Faults>,
    limiter: Mutex<Limiter>,
    inbox: Mutex<Inboxes>,
    callbacks: Mutex<Callbacks>,
    pending: Mutex<Vec<PendingPush>>,
    http: reqwest::Client,
}

impl SimState {
    /// State for a seed.
    pub fn new(seed: Seed, limits: LimitsConfig, options: SimOptions) -> Result<Self, SeedError> {
        let callbacks = seed_callbacks(&seed);
        let state = Self::build(seed, limits, options)?;
        state.register_seed_callbacks(callbacks)?;
        Ok(state)
    }

    fn register_seed_callbacks(
        &self,
        list: Vec<crate::callback::CallbackConfig>,
    ) -> Result<(), SeedError> {
        for cfg in list {
            let account = cfg.account.clone();
            self.register_callback(cfg)
                .map_err(|e| SeedError::Invalid(format!("callback for {account}: {e}")))?;
        }
        Ok(())
    }

    fn build(seed: Seed, limits: LimitsConfig, options: SimOptions) -> Result<Self, SeedError> {
        Ok(Self {
            clock: Clock::new(),
            world: Mutex::new(World::from_seed(seed)?),
            log: Mutex::default(),
            faults: Mutex::default(),
            limiter: Mutex::new(Limiter::new(limits)),
            inbox: Mutex::default(),
            callbacks: Mutex::new(Callbacks::new(SenderSettings {
                timeout_ms: options.callback_timeout_ms,
                attempts: options.callback_attempts,
                retry_delay_ms: options.callback_retry_delay_ms,
                strict_receive_id: true,
            })),
            pending: Mutex::default(),
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .unwrap_or_default(),
            options,
        })
    }

    /// Runs `f` on the callback registrations, sender settings and push log.
    pub fn with_callbacks<R>(&self, f: impl FnOnce(&mut Callbacks) -> R) -> R {
        f(&mut lock(&self.callbacks))
    }

    pub(crate) fn with_pending<R>(&self, f: impl FnOnce(&mut Vec<PendingPush>) -> R) -> R {
        f(&mut lock(&self.pending))
    }

    /// The HTTP client of the callback sender.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Options in force.
    pub fn options(&self) -> &SimOptions {
        &self.options
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Simulator time, Unix seconds.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Moves simulator time forward.
    pub fn advance_clock(&self, secs: i64) {
        self.clock.advance_secs(secs);
    }

    /// Runs `f` on the world (accounts, corps, tokens) under its lock.
    pub fn with_world<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        f(&mut lock(&self.world))
    }

    /// Replaces the world with a new seed; tokens, inboxes, counters and the log are reset,
    /// faults are kept.
    pub fn replace_seed(&self, seed: Seed) -> Result<(), SeedError> {
        let callbacks = seed_callbacks(&seed);
        let world = World::from_seed(seed)?;
        *lock(&self.world) = world;
        lock(&self.inbox).clear();
        lock(&self.limiter).reset();
        lock(&self.log).clear();
        self.register_seed_callbacks(callbacks)
    }

    /// Records a request.
    pub(crate) fn log_request(&self, r: RequestRecord) {
        lock(&self.log).push(r);
    }

    /// Logged requests matching a filter, oldest first.
    pub fn requests(&self, filter: &RequestFilter) -> Vec<RequestRecord> {
        lock(&self.log).query(filter)
    }

    /// Counts of logged requests matching a filter.
    pub fn request_summary(&self, filter: &RequestFilter) -> RequestSummary {
        lock(&self.log).summary(filter)
    }

    /// Number of calls to `path` (without role prefix), optionally by one credential.
    pub fn count_requests(&self, path: &str, credential: Option<&str>) -> usize {
        let mut f = RequestFilter::path(path);
        f.credential = credential.map(str::to_owned);
        lock(&self.log).summary(&f).total
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        lock(&self.log).clear();
    }

    /// Runs `f` on the faults.
    pub fn with_faults<R>(&self, f: impl FnOnce(&mut Faults) -> R) -> R {
        f(&mut lock(&self.faults))
    }

    /// Installs a fault; returns its id.
    pub fn add_fault(&self, spec: FaultSpec) -> Result<u64, String> {
        let now = self.now();
        lock(&self.faults).add(spec, now)
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        lock(&self.faults).clear();
    }

    /// Runs `f` on the limiter (config and counters).
    pub fn with_limits<R>(&self, f: impl FnOnce(&mut Limiter) -> R) -> R {
        f(&mut lock(&self.limiter))
    }

    /// Switches frequency limits on or off.
    pub fn set_limits_enabled(&self, enabled: bool) {
        lock(&self.limiter).config.enabled = enabled;
    }

    /// Runs `f` on the inboxes.
    pub fn with_inbox<R>(&self, f: impl FnOnce(&mut Inboxes) -> R) -> R {
        f(&mut lock(&self.inbox))
    }

    /// A user's inbox (openid or userid), newest first.
    pub fn inbox(&self, user: &str) -> Vec<InboxEntry> {
        lock(&self.inbox).of_user(user, None)
    }

    /// "Another system fetched a token": rotates the current tokens of a credential (appid,
    /// `corpid/<agentid>`, `corpid/contacts`, or `corpid` for all its secrets); the old ones
    /// stay valid `grace_secs` more (default: the OA grace for OA tokens, 0 for WeCom).
    pub fn rotate_token(&self, credential: &str, grace_secs: Option<i64>) -> Vec<TokenInfo> {
        let now = self.now();
        let policy = self.options.token_policy();
        lock(&self.world)
            .tokens
            .rotate(credential, grace_secs, now, &policy)
    }

    /// `GET /sim/state` body.
    pub fn summary(&self) -> Value {
        let mut v = lock(&self.world).summary();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("now".into(), json!(self.now()));
            obj.insert("clock_offset_secs".into(), json!(self.clock.offset_secs()));
            obj.insert("requests_logged".into(), json!(lock(&self.log).len()));
            obj.insert("faults".into(), json!(lock(&self.faults).list().len()));
            obj.insert(
                "limits_enabled".into(),
                json!(lock(&self.limiter).config.enabled),
            );
            obj.insert("inbox_messages".into(), json!(lock(&self.inbox).len()));
            obj.insert(
                "callbacks".into(),
                json!(lock(&self.callbacks).list().len()),
            );
        }
        v
    }
}
