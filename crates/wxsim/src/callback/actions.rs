//! Actions that make WeChat push something: "user X sends text Y to app Z", menu clicks,
//! follows, card button presses, address-book changes, suite tickets and authorisations.
//! Each action changes the world as the real product would (a follow adds a fan, a card press
//! issues a response code...) and then pushes the XML through the sender.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::send::route_of;
use super::{
    CallbackConfig, CallbackMode, Callbacks, Outgoing, PushOutcome, Route, UrlVerification, XmlOut,
};
use crate::inbox::{Channel, Delivery};
use crate::state::corp::{ResponseCode, SecretRef};
use crate::state::directory::{DepartmentPatch, MemberPatch};
use crate::state::{SimState, World};

/// Why an action cannot be performed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// The account (appid, corpid/agentid, suite id) does not exist.
    #[error("unknown account {0:?}")]
    UnknownAccount(String),
    /// A user, card, corp... does not exist or is not allowed.
    #[error("{0}")]
    NotFound(String),
    /// The request is inconsistent.
    #[error("{0}")]
    Invalid(String),
}

/// One selected option of a vote / multiple-choice card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectedItem {
    /// `question_key`.
    pub question_key: String,
    /// Selected option ids.
    pub option_ids: Vec<String>,
}

fn default_scale() -> u32 {
    15
}

/// One template of a subscription popup and the user's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscribeChoice {
    /// Template id.
    pub template_id: String,
    /// `accept` (true) or `reject`.
    pub accept: bool,
}

/// What happens. In `POST /sim/push/{kind}` the path names the variant (`text`, `click`...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PushEvent {
    /// The user sends a text message.
    Text {
        /// Content.
        content: String,
    },
    /// The user sends an image.
    Image {
        /// Picture URL.
        #[serde(default)]
        pic_url: String,
        /// Media id.
        #[serde(default)]
        media_id: String,
    },
    /// The user sends a location.
    Location {
        /// Latitude.
        lat: f64,
        /// Longitude.
        lng: f64,
        /// Map scale.
        #[serde(default = "default_scale")]
        scale: u32,
        /// Label.
        #[serde(default)]
        label: String,
    },
    /// Menu click (OA `CLICK`, WeCom `click`).
    Click {
        /// Button key.
        key: String,
    },
    /// Menu link (OA `VIEW`, WeCom `view`).
    View {
        /// The URL.
        url: String,
    },
    /// Follow (OA; with `scene`: via a parametric QR code) or WeCom app subscribe.
    Subscribe {
        /// QR scene.
        #[serde(default)]
        scene: Option<String>,
    },
    /// Unfollow.
    Unsubscribe,
    /// A follower scans a parametric QR code (OA `SCAN`).
    Scan {
        /// Scene value.
        scene: String,
    },
    /// Periodic location report (`LOCATION`).
    LocationReport {
        /// Latitude.
        lat: f64,
        /// Longitude.
        lng: f64,
        /// Precision.
        #[serde(default)]
        precision: f64,
    },
    /// The member enters the app (WeCom `enter_agent`).
    EnterAgent,
    /// The user answers a subscription popup (`subscribe_msg_popup_event`; Mini Program
    /// `wx.requestSubscribeMessage`, OA subscription notifications): each accepted template
    /// grants one `subscribe/send` (MP) or `subscribe/bizsend` (OA).
    SubscribeMsgPopup {
        /// The answers, one per template shown.
        choices: Vec<SubscribeChoice>,
        /// `PopupScene` (0 in-app; OA: 1 article, 2 page...).
        #[serde(default)]
        scene: u32,
    },
    /// The user opens the Mini Program customer-service session (`user_enter_tempsession`).
    UserEnterTempsession {
        /// `SessionFrom` of the contact button.
        #[serde(default)]
        session_from: String,
    },
    /// The member presses a button of a template card (`template_card_event`).
    TemplateCardEvent {
        /// The card's task_id.
        task_id: String,
        /// Button (or submit button) key.
        key: String,
        /// Selections of vote / multiple-choice cards.
        #[serde(default)]
        selected: Vec<SelectedItem>,
    },
    /// An address-book change made in the admin console (`change_contact`): the change is
    /// applied to the directory, then pushed. `fields` are the `user/create` /
    /// `department/create` fields (`userid`, `name`, `department`...; `id`, `parentid`...).
    ChangeContact {
        /// `create_user`, `update_user`, `delete_user`, `create_party`, `update_party`,
        /// `delete_party`, `update_tag` (`fields`: `tagid`, `add_users`, `del_users`,
        /// `add_parties`, `del_parties`).
        change_type: String,
        /// The fields.
        #[serde(default)]
        fields: Map<String, Value>,
    },
    /// A customer change (`change_external_contact`): `add_external_contact` creates the
    /// customer relation, `del_external_contact` / `del_follow_user` remove it.
    ChangeExternalContact {
        /// Change type.
        change_type: String,
        /// The customer.
        external_userid: String,
        /// Name of a new customer.
        #[serde(default)]
        name: String,
        /// `State` of the contact way.
        #[serde(default)]
        state: String,
    },
    /// A suite_ticket push (also scheduled every 10 minutes).
    SuiteTicket,
    /// A corp installs the suite from the marketplace (`create_auth` with an AuthCode).
    CreateAuth {
        /// The authorising corp.
        corpid: String,
        /// `State`.
        #[serde(default)]
        state: String,
    },
    /// The authorisation changed (`change_auth`).
    ChangeAuth {
        /// The corp.
        corpid: String,
    },
    /// The corp uninstalled the suite (`cancel_auth`): the permanent code and its tokens
    /// stop working.
    CancelAuth {
        /// The corp.
        corpid: String,
    },
    /// Any plaintext XML, pushed as is.
    Raw {
        /// The XML.
        xml: String,
    },
}

impl PushEvent {
    /// `member X was added to department D`: a `create_user` change.
    pub fn member_added(userid: &str, name: &str, department: u32) -> Self {
        let mut fields = Map::new();
        fields.insert("userid".into(), json!(userid));
        fields.insert("name".into(), json!(name));
        fields.insert("department".into(), json!([department]));
        PushEvent::ChangeContact {
            change_type: "create_user".into(),
            fields,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            PushEvent::Text { .. } => "text",
            PushEvent::Image { .. } => "image",
            PushEvent::Location { .. } => "location",
            PushEvent::Click { .. } => "click",
            PushEvent::View { .. } => "view",
            PushEvent::Subscribe { .. } => "subscribe",
            PushEvent::Unsubscribe => "unsubscribe",
            PushEvent::Scan { .. } => "scan",
            PushEvent::LocationReport { .. } => "location_report",
            PushEvent::EnterAgent => "enter_agent",
            PushEvent::SubscribeMsgPopup { .. } => "subscribe_msg_popup",
            PushEvent::UserEnterTempsession { .. } => "user_enter_tempsession",
            PushEvent::TemplateCardEvent { .. } => "template_card_event",
            PushEvent::ChangeContact { .. } => "change_contact",
            PushEvent::ChangeExternalContact { .. } => "change_external_contact",
            PushEvent::SuiteTicket => "suite_ticket",
            PushEvent::CreateAuth { .. } => "create_auth",
            PushEvent::ChangeAuth { .. } => "change_auth",
            PushEvent::CancelAuth { .. } => "cancel_auth",
            PushEvent::Raw { .. } => "raw",
        }
    }
}

fn yes() -> bool {
    true
}

/// A push request: who does what to which account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    /// OA / Mini Program appid, `corpid/<agentid>`, `corpid` (contacts), or a suite id.
    pub account: String,
    /// The user: openid (OA, MP) or userid (WeCom); unused for system events.
    #[serde(default)]
    pub user: String,
    /// What happens.
    #[serde(flatten)]
    pub event: PushEvent,
    /// `CreateTime` (default: simulator now).
    #[serde(default)]
    pub create_time: Option<i64>,
    /// `MsgId` of a message (default: a fresh one).
    #[serde(default)]
    pub msg_id: Option<u64>,
    /// Wrap text values in CDATA (default true; Vector B style without CDATA when false).
    #[serde(default = "yes")]
    pub cdata: bool,
}

impl PushRequest {
    /// A request with defaults.
    pub fn new(account: impl Into<String>, user: impl Into<String>, event: PushEvent) -> Self {
        Self {
            account: account.into(),
            user: user.into(),
            event,
            create_time: None,
            msg_id: None,
            cdata: true,
        }
    }
}

/// What an account string names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Oa {
        appid: String,
        original_id: String,
    },
    Mp {
        appid: String,
        original_id: String,
    },
    App {
        corpid: String,
        agentid: u32,
        suite_id: Option<String>,
    },
    Contacts {
        corpid: String,
    },
    Suite {
        suite_id: String,
    },
    SuiteData {
        suite_id: String,
    },
}

fn classify(w: &World, account: &str) -> Option<Target> {
    if let Some(a) = w.accounts.get(account) {
        return Some(Target::Oa {
            appid: a.appid.clone(),
            original_id: a.original_id.clone(),
        });
    }
    if let Some(m) = w.mini_programs.get(account) {
        return Some(Target::Mp {
            appid: m.appid.clone(),
            original_id: m.original_id.clone(),
        });
    }
    if w.suites.contains_key(account) {
        return Some(Target::Suite {
            suite_id: account.to_owned(),
        });
    }
    let (head, tail) = account.split_once('/').unwrap_or((account, "contacts"));
    if tail == "data" && w.suites.contains_key(head) {
        return Some(Target::SuiteData {
            suite_id: head.to_owned(),
        });
    }
    let corp = w.corps.get(head)?;
    if tail == "contacts" {
        return Some(Target::Contacts {
            corpid: corp.corpid.clone(),
        });
    }
    let agentid: u32 = tail.parse().ok()?;
    let app = corp.apps.get(&agentid)?;
    Some(Target::App {
        corpid: corp.corpid.clone(),
        agentid,
        suite_id: app.suite_id.clone(),
    })
}

fn canonical_key(t: &Target) -> String {
    match t {
        Target::Oa { appid, .. } | Target::Mp { appid, .. } => appid.clone(),
        Target::App {
            corpid,
            agentid,
            suite_id: None,
        } => format!("{corpid}/{agentid}"),
        Target::App {
            suite_id: Some(s), ..
        }
        | Target::SuiteData { suite_id: s } => format!("{s}/data"),
        Target::Contacts { corpid } => format!("{corpid}/contacts"),
        Target::Suite { suite_id } => suite_id.clone(),
    }
}

/// A push waiting to be sent by a spawned task (emitted by a synchronous handler).
#[derive(Debug, Clone)]
pub(crate) struct PendingPush {
    key: String,
    data_corp: Option<(String, u32)>,
    out: Outgoing,
}

fn header(x: &mut XmlOut, to: &str, from: &str, create_time: i64, msg_type: &str) {
    x.text("ToUserName", to)
        .text("FromUserName", from)
        .int("CreateTime", create_time)
        .text("MsgType", msg_type);
}

/// Contact-change XML (`change_contact`), for the contacts URL (`suite` = None) or a suite
/// command URL.
fn contact_xml(
    corpid: &str,
    suite: Option<&str>,
    change_type: &str,
    fields: &[(&str, String)],
    now: i64,
) -> String {
    let mut x = XmlOut::new(true);
    match suite {
        None => {
            header(&mut x, corpid, "sys", now, "event");
            x.text("Event", "change_contact");
        }
        Some(s) => {
            x.text("SuiteId", s)
                .text("AuthCorpId", corpid)
                .text("InfoType", "change_contact")
                .int("TimeStamp", now);
        }
    }
    x.text("ChangeType", change_type);
    for (k, v) in fields {
        if *k == "Order"
            || *k == "ParentId"
            || *k == "Id"
            || *k == "TagId"
            || *k == "MainDepartment"
            || *k == "Status"
            || *k == "Gender"
        {
            x.int(k, v);
        } else {
            x.text(k, v);
        }
    }
    x.finish()
}

fn join<T: ToString>(v: &[T]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// `change_contact` fields of a member (sensitive ones included: contacts callbacks may
/// read them).
fn member_fields(m: &crate::state::directory::Member) -> Vec<(&'static str, String)> {
    vec![
        ("UserID", m.userid.clone()),
        ("Name", m.name.clone()),
        ("Department", join(&m.department)),
        ("MainDepartment", m.main_department.to_string()),
        ("IsLeaderInDept", join(&m.is_leader_in_dept)),
        ("Position", m.position.clone()),
        ("Mobile", m.mobile.clone()),
        ("Gender", m.gender.clone()),
        ("Email", m.email.clone()),
        ("Status", m.status.to_string()),
        ("Alias", m.alias.clone()),
    ]
}

/// The changed fields of a `user/update` body, as `change_contact` fields.
fn patch_fields(userid: &str, body: &Map<String, Value>) -> Vec<(&'static str, String)> {
    let mut out = vec![("UserID", userid.to_owned())];
    let s = |k: &str| {
        body.get(k)
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
    };
    for (key, field) in [
        ("new_userid", "NewUserID"),
        ("name", "Name"),
        ("position", "Position"),
        ("mobile", "Mobile"),
        ("gender", "Gender"),
        ("email", "Email"),
        ("alias", "Alias"),
        ("telephone", "Telephone"),
        ("main_department", "MainDepartment"),
    ] {
        if let Some(v) = s(key) {
            out.push((field, v));
        }
    }
    if let Some(d) = body.get("department").and_then(Value::as_array) {
        let ids: Vec<String> = d.iter().map(|v| v.to_string()).collect();
        out.push(("Department", ids.join(",")));
    }
    out
}

/// `fields[key]` as a list of strings or numbers (`add_users`, `add_parties`...).
fn list_field<T: serde::de::DeserializeOwned>(
    fields: &Map<String, Value>,
    key: &str,
) -> Result<Vec<T>, ActionError> {
    fields.get(key).map_or(Ok(Vec::new()), |v| {
        serde_json::from_value(v.clone()).map_err(|e| ActionError::Invalid(format!("{key}: {e}")))
    })
}

/// `update_tag`: members and departments added to or removed from a tag in the admin
/// console (`fields`: `tagid`, `add_users`, `del_users`, `add_parties`, `del_parties`).
/// Unknown members or departments are refused rather than pushed, since WeCom only reports
/// real changes.
fn change_tag(
    corp: &mut crate::state::corp::Corp,
    fields: &Map<String, Value>,
) -> Result<Vec<(&'static str, String)>, ActionError> {
    let tagid = fields
        .get("tagid")
        .and_then(crate::api::lenient_i64)
        .and_then(|t| u32::try_from(t).ok())
        .ok_or_else(|| ActionError::Invalid("tagid is required".into()))?;
    let add_users: Vec<String> = list_field(fields, "add_users")?;
    let del_users: Vec<String> = list_field(fields, "del_users")?;
    let add_parties: Vec<u32> = list_field(fields, "add_parties")?;
    let del_parties: Vec<u32> = list_field(fields, "del_parties")?;
    let dir = &corp.directory;
    if let Some(u) = add_users
        .iter()
        .chain(&del_users)
        .find(|u| dir.member(u).is_none())
    {
        return Err(ActionError::NotFound(format!("member {u}")));
    }
    if let Some(d) = add_parties
        .iter()
        .chain(&del_parties)
        .find(|d| dir.department(**d).is_none())
    {
        return Err(ActionError::NotFound(format!("department {d}")));
    }
    let tag = corp
        .tags
        .get_mut(&tagid)
        .ok_or_else(|| ActionError::NotFound(format!("tag {tagid}")))?;
    tag.users
        .retain(|u| !del_users.iter().any(|d| d.eq_ignore_ascii_case(u)));
    for u in &add_users {
        if !tag.users.iter().any(|t| t.eq_ignore_ascii_case(u)) {
            tag.users.push(u.clone());
        }
    }
    tag.parties.retain(|p| !del_parties.contains(p));
    for p in &add_parties {
        if !tag.parties.contains(p) {
            tag.parties.push(*p);
        }
    }
    let items = [
        ("AddUserItems", add_users.join(",")),
        ("DelUserItems", del_users.join(",")),
        ("AddPartyItems", join(&add_parties)),
        ("DelPartyItems", join(&del_parties)),
    ];
    // Only the lists that changed are sent.
    let mut out = vec![("TagId", tagid.to_string())];
    out.extend(items.into_iter().filter(|(_, v)| !v.is_empty()));
    Ok(out)
}

fn party_fields(d: &crate::state::directory::Department) -> Vec<(&'static str, String)> {
    vec![
        ("Id", d.id.to_string()),
        ("Name", d.name.clone()),
        ("ParentId", d.parentid.to_string()),
        ("Order", d.order.to_string()),
    ]
}

impl SimState {
    /// Registers (or replaces) a callback URL. The account must exist; the EncodingAESKey
    /// must parse unless the OA mode is plain. A bare corpid means its contacts callback.
    pub fn register_callback(
        &self,
        mut cfg: CallbackConfig,
    ) -> Result<CallbackConfig, ActionError> {
        if !(cfg.url.starts_with("http://") || cfg.url.starts_with("https://")) {
            return Err(ActionError::Invalid(format!(
                "url {:?} is not http(s)",
                cfg.url
            )));
        }
        if cfg.token.is_empty() {
            return Err(ActionError::Invalid("token is required".into()));
        }
        let target = self
            .with_world(|w| classify(w, &cfg.account))
            .ok_or_else(|| ActionError::UnknownAccount(cfg.account.clone()))?;
        let oa = matches!(target, Target::Oa { .. } | Target::Mp { .. });
        if !oa {
            cfg.mode = CallbackMode::Safe;
        }
        if oa && cfg.mode == CallbackMode::Plain && cfg.encoding_aes_key.is_empty() {
            // fine: plain mode needs no key
        } else {
            wx::crypto::EncodingAesKey::parse(&cfg.encoding_aes_key)
                .map_err(|e| ActionError::Invalid(format!("encoding_aes_key: {e}")))?;
        }
        cfg.account = canonical_key(&target);
        if let Target::App {
            suite_id: Some(_), ..
        } = target
        {
            return Err(ActionError::Invalid(
                "this app is a suite: register the suite's data URL as \"<suite_id>/data\"".into(),
            ));
        }
        if let Target::Suite { suite_id } = &target {
            // A new command URL gets its first ticket at the next scheduler tick.
            let now = self.now();
            self.with_world(|w| {
                if let Some(s) = w.suites.get_mut(suite_id) {
                    s.next_ticket_at = now;
                }
            });
        }
        self.with_callbacks(|c| c.insert(cfg.clone()));
        Ok(cfg)
    }

    /// Removes a registration; false when there was none.
    pub fn unregister_callback(&self, account: &str) -> bool {
        let key = self
            .with_world(|w| classify(w, account).map(|t| canonical_key(&t)))
            .unwrap_or_else(|| Callbacks::canonical(account, false));
        self.with_callbacks(|c| c.remove(&key))
    }

    /// Every registration.
    pub fn callbacks(&self) -> Vec<CallbackConfig> {
        self.with_callbacks(|c| c.list())
    }

    /// The push log, oldest first (optionally of one registration key).
    pub fn pushes(&self, account: Option<&str>) -> Vec<PushOutcome> {
        self.with_callbacks(|c| c.pushes(account))
    }

    /// The route of a registration key; `data_corp` = (corpid, agentid) for suite data URLs.
    pub(crate) fn route(
        &self,
        key: &str,
        data_corp: Option<(&str, u32)>,
    ) -> Result<Option<Route>, ActionError> {
        let Some(cfg) = self.with_callbacks(|c| c.get(key).cloned()) else {
            return Ok(None);
        };
        let target = self
            .with_world(|w| classify(w, key))
            .ok_or_else(|| ActionError::UnknownAccount(key.to_owned()))?;
        let provider = |suite_id: &str| {
            self.with_world(|w| {
                w.suites
                    .get(suite_id)
                    .map(|s| s.seed.provider_corpid.clone())
                    .unwrap_or_default()
            })
        };
        let r = match &target {
            Target::Oa { appid, original_id } | Target::Mp { appid, original_id } => route_of(
                &cfg,
                cfg.url.clone(),
                appid.clone(),
                appid.clone(),
                true,
                false,
                original_id.clone(),
                None,
            ),
            Target::App {
                corpid, agentid, ..
            } => route_of(
                &cfg,
                cfg.url.clone(),
                corpid.clone(),
                corpid.clone(),
                false,
                false,
                corpid.clone(),
                Some(agentid.to_string()),
            ),
            Target::Contacts { corpid } => route_of(
                &cfg,
                cfg.url.clone(),
                corpid.clone(),
                corpid.clone(),
                false,
                false,
                corpid.clone(),
                Some(String::new()),
            ),
            Target::Suite { suite_id } => route_of(
                &cfg,
                cfg.url.clone(),
                suite_id.clone(),
                provider(suite_id),
                false,
                true,
                suite_id.clone(),
                Some(String::new()),
            ),
            Target::SuiteData { suite_id } => {
                // Verification (no corp): the provider's corpid; pushes: the authorising corp.
                let (corpid, agentid) = match data_corp {
                    Some((c, a)) => (c.to_owned(), Some(a.to_string())),
                    None => (provider(suite_id), None),
                };
                route_of(
                    &cfg,
                    cfg.url.replace("$CORPID$", &corpid),
                    corpid.clone(),
                    provider(suite_id),
                    false,
                    false,
                    corpid,
                    agentid,
                )
            }
        };
        r.map(Some).map_err(ActionError::Invalid)
    }

    /// The back-office "save" step: GET the URL with an `echostr` (plain for OA, encrypted
    /// with the right receive id for WeCom and suites) and check the answer.
    pub async fn verify_url(&self, account: &str) -> Result<UrlVerification, ActionError> {
        let key = self
            .with_world(|w| classify(w, account).map(|t| canonical_key(&t)))
            .ok_or_else(|| ActionError::UnknownAccount(account.to_owned()))?;
        let route = self
            .route(&key, None)?
            .ok_or_else(|| ActionError::NotFound(format!("no callback registered for {key}")))?;
        Ok(self.verify_route(&route).await)
    }

    /// Performs an action and pushes it (see [`PushEvent`]). Without a registration the
    /// world still changes and the outcome is `NotRegistered`.
    pub async fn push(&self, req: PushRequest) -> Result<PushOutcome, ActionError> {
        let (key, data_corp, out, also) = self.prepare(&req)?;
        let route = self.route(&key, data_corp.as_ref().map(|(c, a)| (c.as_str(), *a)))?;
        let outcome = self.deliver(route, &key, out.clone()).await;
        for p in also {
            self.send_pending(p).await;
        }
        self.after_reply(&req, &outcome, &out);
        Ok(outcome)
    }

    /// "User X sends text Y to account Z".
    pub async fn push_text(
        &self,
        account: &str,
        user: &str,
        content: &str,
    ) -> Result<PushOutcome, ActionError> {
        self.push(PushRequest::new(
            account,
            user,
            PushEvent::Text {
                content: content.to_owned(),
            },
        ))
        .await
    }

    /// Any event from a user (menu click, follow, card press...).
    pub async fn push_event(
        &self,
        account: &str,
        user: &str,
        event: PushEvent,
    ) -> Result<PushOutcome, ActionError> {
        self.push(PushRequest::new(account, user, event)).await
    }

    /// Pushes a new suite_ticket to the suite's command URL now.
    pub async fn push_suite_ticket(&self, suite_id: &str) -> Result<PushOutcome, ActionError> {
        self.push(PushRequest::new(suite_id, "", PushEvent::SuiteTicket))
            .await
    }

    /// Pushes `create_auth` with an auth code already issued (install page without redirect).
    pub(crate) async fn push_create_auth_code(
        &self,
        suite_id: &str,
        auth_code: &str,
        state: &str,
    ) -> PushOutcome {
        let now = self.now();
        let mut x = XmlOut::new(true);
        x.text("SuiteId", suite_id)
            .text("AuthCode", auth_code)
            .text("InfoType", "create_auth")
            .int("TimeStamp", now)
            .text("State", state)
            .text("ExtraInfo", "");
        let mut extra = BTreeMap::new();
        extra.insert("auth_code".to_owned(), auth_code.to_owned());
        let out = Outgoing {
            kind: "suite:create_auth".into(),
            xml: x.finish(),
            to_user_name: suite_id.to_owned(),
            extra,
            ..Outgoing::default()
        };
        let route = self.route(suite_id, None).ok().flatten();
        self.deliver(route, suite_id, out).await
    }

    /// Runs what is due on the simulator clock: a suite_ticket push to every suite with a
    /// command URL whose last ticket is `suite_ticket_interval_secs` old. Called by the
    /// scheduler; tests call it after moving the clock.
    pub async fn run_schedules(&self) -> Vec<PushOutcome> {
        let now = self.now();
        let registered: Vec<String> =
            self.with_callbacks(|c| c.list().into_iter().map(|r| r.account).collect());
        let due: Vec<String> = self.with_world(|w| {
            w.suites
                .values()
                .filter(|s| registered.contains(&s.seed.suite_id) && now >= s.next_ticket_at)
                .map(|s| s.seed.suite_id.clone())
                .collect()
        });
        let mut out = Vec::new();
        for s in due {
            if let Ok(o) = self.push_suite_ticket(&s).await {
                out.push(o);
            }
        }
        out
    }

    async fn send_pending(&self, p: PendingPush) {
        let route = self
            .route(&p.key, p.data_corp.as_ref().map(|(c, a)| (c.as_str(), *a)))
            .ok()
            .flatten();
        if route.is_some() {
            self.deliver(route, &p.key, p.out).await;
        }
    }

    /// Queues the pushes an API call caused (e.g. `change_contact` after `user/create`);
    /// the dispatcher sends them in the background.
    pub(crate) fn queue_push(&self, p: PendingPush) {
        self.with_pending(|q| q.push(p));
    }

    /// Sends every queued push on its own task.
    pub(crate) fn spawn_pending(self: &Arc<Self>) {
        let queued = self.with_pending(std::mem::take);
        for p in queued {
            let sim = Arc::clone(self);
            tokio::spawn(async move { sim.send_pending(p).await });
        }
    }

    /// After a successful address-book API call: `change_contact` to the corp's contacts
    /// callback and to the command URL of every suite installed in the corp.
    pub(crate) fn emit_contact_change(
        &self,
        corpid: &str,
        change_type: &str,
        fields: Vec<(&'static str, String)>,
    ) {
        let now = self.now();
        let contacts_key = format!("{corpid}/contacts");
        let mut keys: Vec<(String, Option<String>)> = Vec::new();
        if self.with_callbacks(|c| c.get(&contacts_key).is_some()) {
            keys.push((contacts_key, None));
        }
        let suites: Vec<String> = self.with_world(|w| {
            w.suites
                .values()
                .filter(|s| s.auths.contains_key(corpid))
                .map(|s| s.seed.suite_id.clone())
                .collect()
        });
        for s in suites {
            if self.with_callbacks(|c| c.get(&s).is_some()) {
                keys.push((s.clone(), Some(s)));
            }
        }
        for (key, suite) in keys {
            let xml = contact_xml(corpid, suite.as_deref(), change_type, &fields, now);
            self.queue_push(PendingPush {
                key,
                data_corp: None,
                out: Outgoing {
                    kind: format!("event:change_contact:{change_type}"),
                    xml,
                    user: "sys".into(),
                    to_user_name: corpid.to_owned(),
                    ..Outgoing::default()
                },
            });
        }
    }

    /// `TEMPLATESENDJOBFINISH` after a template message was delivered (note `MsgID` with a
    /// capital D, reference §2.10, §7 row 13).
    pub(crate) fn emit_template_finish(
        &self,
        appid: &str,
        original_id: &str,
        openid: &str,
        msgid: u64,
    ) {
        if self.with_callbacks(|c| c.get(appid).is_none()) {
            return;
        }
        let mut x = XmlOut::new(true);
        header(&mut x, original_id, openid, self.now(), "event");
        x.text("Event", "TEMPLATESENDJOBFINISH")
            .int("MsgID", msgid)
            .text("Status", "success");
        self.queue_push(PendingPush {
            key: appid.to_owned(),
            data_corp: None,
            out: Outgoing {
                kind: "event:TEMPLATESENDJOBFINISH".into(),
                xml: x.finish(),
                user: openid.to_owned(),
                to_user_name: original_id.to_owned(),
                msg_id: Some(msgid.to_string()),
                ..Outgoing::default()
            },
        });
    }

    /// `change_contact` for a member (create/update) or party, read from the directory.
    pub(crate) fn emit_member_change(
        &self,
        corpid: &str,
        change_type: &str,
        userid: &str,
        body: Option<&Map<String, Value>>,
    ) {
        let fields = self.with_world(|w| {
            let m = w.corps.get(corpid)?.directory.member(userid)?.clone();
            Some(match (change_type, body) {
                ("update_user", Some(b)) => patch_fields(&m.userid, b),
                _ => member_fields(&m),
            })
        });
        let fields = fields.unwrap_or_else(|| vec![("UserID", userid.to_owned())]);
        self.emit_contact_change(corpid, change_type, fields);
    }

    /// `change_contact` for a department.
    pub(crate) fn emit_party_change(&self, corpid: &str, change_type: &str, id: u32) {
        let fields = self.with_world(|w| {
            w.corps
                .get(corpid)
                .and_then(|c| c.directory.department(id))
                .map(party_fields)
        });
        let fields = fields.unwrap_or_else(|| vec![("Id", id.to_string())]);
        self.emit_contact_change(corpid, change_type, fields);
    }

    /// Builds the XML of a request and applies its state changes. Returns the registration
    /// key, the suite-data corp, the push and extra pushes (copies to suites).
    #[allow(clippy::type_complexity)]
    fn prepare(
        &self,
        req: &PushRequest,
    ) -> Result<(String, Option<(String, u32)>, Outgoing, Vec<PendingPush>), ActionError> {
        let now = self.now();
        let create_time = req.create_time.unwrap_or(now);
        let target = self
            .with_world(|w| classify(w, &req.account))
            .ok_or_else(|| ActionError::UnknownAccount(req.account.clone()))?;
        let key = canonical_key(&target);
        let msg_id = self.with_callbacks(Callbacks::next_msg_id);
        let msg_id = req.msg_id.unwrap_or(msg_id);
        let mut x = XmlOut::new(req.cdata);
        let mut out = Outgoing {
            kind: req.event.name().to_owned(),
            user: req.user.clone(),
            ..Outgoing::default()
        };
        let invalid = |what: &str| {
            ActionError::Invalid(format!(
                "{} pushes are not possible on {what} accounts",
                req.event.name()
            ))
        };
        let mut data_corp = None;
        let mut also = Vec::new();
        match &target {
            Target::Oa { appid, original_id } | Target::Mp { appid, original_id } => {
                let is_mp = matches!(target, Target::Mp { .. });
                out.to_user_name.clone_from(original_id);
                if req.user.is_empty() {
                    return Err(ActionError::Invalid("user (openid) is required".into()));
                }
                self.oa_side_effects(appid, is_mp, &req.user, &req.event, now)?;
                let (msg_type, event) = match &req.event {
                    PushEvent::Text { .. } => ("text", None),
                    PushEvent::Image { .. } => ("image", None),
                    PushEvent::Location { .. } => ("location", None),
                    PushEvent::Click { .. } => ("event", Some("CLICK")),
                    PushEvent::View { .. } => ("event", Some("VIEW")),
                    PushEvent::Subscribe { scene } if scene.is_some() => {
                        ("event", Some("subscribe"))
                    }
                    PushEvent::Subscribe { .. } => ("event", Some("subscribe")),
                    PushEvent::Unsubscribe => ("event", Some("unsubscribe")),
                    PushEvent::Scan { .. } => ("event", Some("SCAN")),
                    PushEvent::LocationReport { .. } => ("event", Some("LOCATION")),
                    PushEvent::SubscribeMsgPopup { .. } => {
                        ("event", Some("subscribe_msg_popup_event"))
                    }
                    PushEvent::UserEnterTempsession { .. } if is_mp => {
                        ("event", Some("user_enter_tempsession"))
                    }
                    PushEvent::Raw { .. } => ("raw", None),
                    _ => return Err(invalid("Official Account / Mini Program")),
                };
                if msg_type != "raw" {
                    header(&mut x, original_id, &req.user, create_time, msg_type);
                }
                if let Some(e) = event {
                    x.text("Event", e);
                    out.kind = format!("event:{e}");
                }
                match &req.event {
                    PushEvent::Text { content } => {
                        x.text("Content", content).int("MsgId", msg_id);
                    }
                    PushEvent::Image { pic_url, media_id } => {
                        x.text("PicUrl", pic_url)
                            .text("MediaId", media_id)
                            .int("MsgId", msg_id);
                    }
                    PushEvent::Location {
                        lat,
                        lng,
                        scale,
                        label,
                    } => {
                        x.int("Location_X", lat)
                            .int("Location_Y", lng)
                            .int("Scale", scale)
                            .text("Label", label)
                            .int("MsgId", msg_id);
                    }
                    PushEvent::Click { key } => {
                        x.text("EventKey", key);
                    }
                    PushEvent::View { url } => {
                        let menuid = self.with_world(|w| {
                            w.accounts
                                .get(appid)
                                .and_then(|a| a.menu.as_ref())
                                .map_or(0, |m| m.menuid)
                        });
                        x.text("EventKey", url).int("MenuId", menuid);
                    }
                    PushEvent::Subscribe { scene: Some(s) } => {
                        x.text("EventKey", &format!("qrscene_{s}")).text(
                            "Ticket",
                            &format!("gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL{s}"),
                        );
                    }
                    PushEvent::Subscribe { scene: None } | PushEvent::Unsubscribe => {
                        x.text("EventKey", "");
                    }
                    PushEvent::Scan { scene } => {
                        x.text("EventKey", scene).text(
                            "Ticket",
                            &format!("gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL{scene}"),
                        );
                    }
                    PushEvent::LocationReport {
                        lat,
                        lng,
                        precision,
                    } => {
                        x.int("Latitude", lat)
                            .int("Longitude", lng)
                            .int("Precision", precision);
                    }
                    PushEvent::SubscribeMsgPopup { choices, scene } => {
                        x.open("SubscribeMsgPopupEvent");
                        for c in choices {
                            x.open("List")
                                .text("TemplateId", &c.template_id)
                                .text(
                                    "SubscribeStatusString",
                                    if c.accept { "accept" } else { "reject" },
                                )
                                .int("PopupScene", scene)
                                .close("List");
                        }
                        x.close("SubscribeMsgPopupEvent");
                    }
                    PushEvent::UserEnterTempsession { session_from } => {
                        x.text("SessionFrom", session_from);
                    }
                    _ => {}
                }
                if matches!(
                    req.event,
                    PushEvent::Text { .. } | PushEvent::Image { .. } | PushEvent::Location { .. }
                ) {
                    out.msg_id = Some(msg_id.to_string());
                }
            }
            Target::App {
                corpid,
                agentid,
                suite_id,
            } => {
                out.to_user_name.clone_from(corpid);
                if let Some(s) = suite_id {
                    data_corp = Some((corpid.clone(), *agentid));
                    let _ = s;
                }
                let userid = self.app_member(corpid, *agentid, &req.user)?;
                out.user.clone_from(&userid);
                let (msg_type, event) = match &req.event {
                    PushEvent::Text { .. } => ("text", None),
                    PushEvent::Image { .. } => ("image", None),
                    PushEvent::Location { .. } => ("location", None),
                    PushEvent::Click { .. } => ("event", Some("click")),
                    PushEvent::View { .. } => ("event", Some("view")),
                    PushEvent::Subscribe { .. } => ("event", Some("subscribe")),
                    PushEvent::Unsubscribe => ("event", Some("unsubscribe")),
                    PushEvent::LocationReport { .. } => ("event", Some("LOCATION")),
                    PushEvent::EnterAgent => ("event", Some("enter_agent")),
                    PushEvent::TemplateCardEvent { .. } => ("event", Some("template_card_event")),
                    PushEvent::ChangeExternalContact { .. } => {
                        ("event", Some("change_external_contact"))
                    }
                    PushEvent::Raw { .. } => ("raw", None),
                    _ => return Err(invalid("WeCom app")),
                };
                let from = if matches!(req.event, PushEvent::ChangeExternalContact { .. }) {
                    "sys".to_owned()
                } else {
                    userid.clone()
                };
                if matches!(req.event, PushEvent::ChangeExternalContact { .. }) {
                    out.user = "sys".into();
                }
                if msg_type != "raw" {
                    header(&mut x, corpid, &from, create_time, msg_type);
                }
                if let Some(e) = event {
                    x.text("Event", e);
                    out.kind = format!("event:{e}");
                }
                match &req.event {
                    PushEvent::Text { content } => {
                        x.text("Content", content).int("MsgId", msg_id);
                    }
                    PushEvent::Image { pic_url, media_id } => {
                        x.text("PicUrl", pic_url)
                            .text("MediaId", media_id)
                            .int("MsgId", msg_id);
                    }
                    PushEvent::Location {
                        lat,
                        lng,
                        scale,
                        label,
                    } => {
                        x.int("Location_X", lat)
                            .int("Location_Y", lng)
                            .int("Scale", scale)
                            .text("Label", label)
                            .int("MsgId", msg_id)
                            .text("AppType", "wxwork");
                    }
                    PushEvent::Click { key } => {
                        x.text("EventKey", key);
                    }
                    PushEvent::View { url } => {
                        x.text("EventKey", url);
                    }
                    PushEvent::Subscribe { .. }
                    | PushEvent::Unsubscribe
                    | PushEvent::EnterAgent => {
                        x.text("EventKey", "");
                    }
                    PushEvent::LocationReport {
                        lat,
                        lng,
                        precision,
                    } => {
                        x.int("Latitude", lat)
                            .int("Longitude", lng)
                            .int("Precision", precision)
                            .text("AppType", "wxwork");
                    }
                    PushEvent::TemplateCardEvent {
                        task_id,
                        key,
                        selected,
                    } => {
                        let (card_type, code) =
                            self.press_card(corpid, *agentid, &userid, task_id, key, now)?;
                        x.text("EventKey", key)
                            .text("TaskId", task_id)
                            .text("CardType", &card_type)
                            .text("ResponseCode", &code);
                        out.extra.insert("response_code".into(), code);
                        if !selected.is_empty() {
                            x.open("SelectedItems");
                            for s in selected {
                                x.open("SelectedItem")
                                    .text("QuestionKey", &s.question_key)
                                    .open("OptionIds");
                                for o in &s.option_ids {
                                    x.text("OptionId", o);
                                }
                                x.close("OptionIds").close("SelectedItem");
                            }
                            x.close("SelectedItems");
                        }
                    }
                    PushEvent::ChangeExternalContact {
                        change_type,
                        external_userid,
                        name,
                        state,
                    } => {
                        let welcome = self.change_external(
                            corpid,
                            *agentid,
                            &userid,
                            change_type,
                            external_userid,
                            name,
                            state,
                            now,
                        )?;
                        x.text("ChangeType", change_type)
                            .text("UserID", &userid)
                            .text("ExternalUserID", external_userid);
                        if change_type.starts_with("add_") {
                            x.text("State", state).text("WelcomeCode", &welcome);
                        }
                        if change_type == "del_external_contact" {
                            x.text("Source", "");
                        }
                    }
                    _ => {}
                }
                if msg_type != "raw" {
                    x.int("AgentID", agentid);
                }
                if matches!(
                    req.event,
                    PushEvent::Text { .. } | PushEvent::Image { .. } | PushEvent::Location { .. }
                ) {
                    out.msg_id = Some(msg_id.to_string());
                }
            }
            Target::Contacts { corpid } => {
                let PushEvent::ChangeContact {
                    change_type,
                    fields,
                } = &req.event
                else {
                    if let PushEvent::Raw { .. } = req.event {
                        out.user = "sys".into();
                        out.to_user_name.clone_from(corpid);
                        return self.finish_prepare(key, data_corp, out, req, x, also);
                    }
                    return Err(invalid("contacts"));
                };
                let fields_out = self.apply_contact_change(corpid, change_type, fields)?;
                let xml = contact_xml(corpid, None, change_type, &fields_out, create_time);
                // Copies for suites installed in the corp.
                let suites: Vec<String> = self.with_world(|w| {
                    w.suites
                        .values()
                        .filter(|s| s.auths.contains_key(corpid))
                        .map(|s| s.seed.suite_id.clone())
                        .collect()
                });
                for s in suites {
                    also.push(PendingPush {
                        key: s.clone(),
                        data_corp: None,
                        out: Outgoing {
                            kind: format!("suite:change_contact:{change_type}"),
                            xml: contact_xml(
                                corpid,
                                Some(&s),
                                change_type,
                                &fields_out,
                                create_time,
                            ),
                            user: "sys".into(),
                            to_user_name: corpid.clone(),
                            ..Outgoing::default()
                        },
                    });
                }
                out.kind = format!("event:change_contact:{change_type}");
                out.xml = xml;
                out.user = "sys".into();
                out.to_user_name.clone_from(corpid);
                return Ok((key, data_corp, out, also));
            }
            Target::Suite { suite_id } => {
                out.to_user_name.clone_from(suite_id);
                out.user = String::new();
                let info = req.event.name();
                if !matches!(req.event, PushEvent::Raw { .. }) {
                    x.text("SuiteId", suite_id);
                }
                match &req.event {
                    PushEvent::SuiteTicket => {
                        let interval = self.options().suite_ticket_interval_secs;
                        let ticket = self
                            .with_world(|w| {
                                w.suites.get_mut(suite_id).map(|s| {
                                    s.next_ticket_at = now + interval;
                                    s.new_ticket(now)
                                })
                            })
                            .ok_or_else(|| ActionError::UnknownAccount(suite_id.clone()))?;
                        x.text("InfoType", info)
                            .int("TimeStamp", create_time)
                            .text("SuiteTicket", &ticket);
                        out.extra.insert("suite_ticket".into(), ticket);
                    }
                    PushEvent::CreateAuth { corpid, state } => {
                        let installer = self
                            .with_world(|w| {
                                w.corps.get(corpid).and_then(|c| {
                                    c.directory.members().next().map(|m| m.userid.clone())
                                })
                            })
                            .unwrap_or_default();
                        let code = crate::api::suite::authorize(
                            self, suite_id, corpid, &installer, state, 0,
                        )
                        .map_err(|e| ActionError::Invalid(e.errmsg))?;
                        x.text("AuthCode", &code)
                            .text("InfoType", info)
                            .int("TimeStamp", create_time)
                            .text("State", state)
                            .text("ExtraInfo", "");
                        out.extra.insert("auth_code".into(), code);
                    }
                    PushEvent::ChangeAuth { corpid } => {
                        let ok = self.with_world(|w| {
                            w.suites
                                .get(suite_id)
                                .is_some_and(|s| s.auths.contains_key(corpid))
                        });
                        if !ok {
                            return Err(ActionError::NotFound(format!(
                                "{corpid} has not authorised {suite_id}"
                            )));
                        }
                        x.text("InfoType", info)
                            .int("TimeStamp", create_time)
                            .text("AuthCorpId", corpid);
                    }
                    PushEvent::CancelAuth { corpid } => {
                        crate::api::suite::cancel(self, suite_id, corpid)
                            .map_err(|e| ActionError::NotFound(e.errmsg))?;
                        x.text("InfoType", info)
                            .int("TimeStamp", create_time)
                            .text("AuthCorpId", corpid);
                    }
                    PushEvent::Raw { .. } => {}
                    _ => return Err(invalid("suite")),
                }
                out.kind = format!("suite:{info}");
            }
            Target::SuiteData { .. } => {
                return Err(ActionError::Invalid(
                    "push to the suite's app inside a corp: account \"<corpid>/<agentid>\"".into(),
                ));
            }
        }
        self.finish_prepare(key, data_corp, out, req, x, also)
    }

    #[allow(clippy::type_complexity)]
    fn finish_prepare(
        &self,
        key: String,
        data_corp: Option<(String, u32)>,
        mut out: Outgoing,
        req: &PushRequest,
        x: XmlOut,
        also: Vec<PendingPush>,
    ) -> Result<(String, Option<(String, u32)>, Outgoing, Vec<PendingPush>), ActionError> {
        out.xml = match &req.event {
            PushEvent::Raw { xml } => xml.clone(),
            _ => x.finish(),
        };
        Ok((key, data_corp, out, also))
    }

    /// State changes of OA / MP user actions.
    fn oa_side_effects(
        &self,
        appid: &str,
        is_mp: bool,
        openid: &str,
        event: &PushEvent,
        now: i64,
    ) -> Result<(), ActionError> {
        self.oa_user_state(appid, is_mp, openid, event, now)?;
        if let PushEvent::SubscribeMsgPopup { choices, .. } = event {
            // Checked first, so that an unknown template grants nothing.
            let known = self.with_world(|w| {
                let templates = match w.accounts.get(appid) {
                    Some(a) => &a.subscribe_templates,
                    None => {
                        &w.mini_programs
                            .get(appid)
                            .ok_or_else(|| ActionError::UnknownAccount(appid.into()))?
                            .subscribe_templates
                    }
                };
                Ok::<_, ActionError>(
                    choices
                        .iter()
                        .find(|c| !templates.contains_key(&c.template_id))
                        .map(|c| c.template_id.clone()),
                )
            })?;
            if let Some(t) = known {
                return Err(ActionError::NotFound(format!(
                    "{appid} has no subscribe template {t}"
                )));
            }
            for c in choices.iter().filter(|c| c.accept) {
                crate::api::sns::grant_subscription(self, appid, openid, &c.template_id, 1)
                    .map_err(ActionError::NotFound)?;
            }
        }
        Ok(())
    }

    /// Fans and users created or updated by an action, and the customer-service window.
    fn oa_user_state(
        &self,
        appid: &str,
        is_mp: bool,
        openid: &str,
        event: &PushEvent,
        now: i64,
    ) -> Result<(), ActionError> {
        self.with_world(|w| {
            if is_mp {
                let mp = w
                    .mini_programs
                    .get_mut(appid)
                    .ok_or_else(|| ActionError::UnknownAccount(appid.into()))?;
                if mp.user(openid).is_none() {
                    mp.users.push(crate::state::accounts::MpUser {
                        openid: openid.into(),
                        ..Default::default()
                    });
                }
                return Ok(());
            }
            let a = w
                .accounts
                .get_mut(appid)
                .ok_or_else(|| ActionError::UnknownAccount(appid.into()))?;
            match event {
                PushEvent::Subscribe { .. } => {
                    if a.fan(openid).is_none() {
                        a.upsert_fan(crate::state::accounts::Fan {
                            openid: openid.into(),
                            subscribe: true,
                            subscribe_time: now,
                            ..Default::default()
                        });
                    } else {
                        a.set_subscribed(openid, true, now);
                    }
                }
                PushEvent::Unsubscribe => {
                    if !a.set_subscribed(openid, false, now) {
                        return Err(ActionError::NotFound(format!(
                            "{openid} is not a fan of {appid}"
                        )));
                    }
                    a.interactions.remove(openid);
                    return Ok(());
                }
                PushEvent::Raw { .. } => return Ok(()),
                _ => {
                    if !a.fan(openid).is_some_and(|f| f.subscribe) {
                        return Err(ActionError::NotFound(format!(
                            "{openid} does not follow {appid}"
                        )));
                    }
                }
            }
            let i = a.interactions.entry(openid.to_owned()).or_default();
            match event {
                PushEvent::Text { .. } | PushEvent::Image { .. } | PushEvent::Location { .. } => {
                    i.last_message = Some(now)
                }
                PushEvent::Click { .. } | PushEvent::Subscribe { .. } | PushEvent::Scan { .. } => {
                    i.last_event = Some(now)
                }
                _ => {}
            }
            Ok(())
        })
    }

    /// The member behind `user` if the app may hear from them (visible, deliverable).
    fn app_member(&self, corpid: &str, agentid: u32, user: &str) -> Result<String, ActionError> {
        self.with_world(|w| {
            let corp = w
                .corps
                .get(corpid)
                .ok_or_else(|| ActionError::UnknownAccount(corpid.into()))?;
            let m = corp
                .directory
                .member(user)
                .ok_or_else(|| ActionError::NotFound(format!("no member {user:?} in {corpid}")))?;
            if !corp.scope(SecretRef::App(agentid)).member_visible(m) {
                return Err(ActionError::NotFound(format!(
                    "{user} is outside the visible scope of app {agentid}"
                )));
            }
            if !m.deliverable() {
                return Err(ActionError::NotFound(format!(
                    "{user} is disabled or has left"
                )));
            }
            Ok(m.userid.clone())
        })
    }

    /// A member presses a card button: checks the card, issues a new response code.
    fn press_card(
        &self,
        corpid: &str,
        agentid: u32,
        userid: &str,
        task_id: &str,
        key: &str,
        now: i64,
    ) -> Result<(String, String), ActionError> {
        self.with_world(|w| {
            let corp = w
                .corps
                .get_mut(corpid)
                .ok_or_else(|| ActionError::UnknownAccount(corpid.into()))?;
            let card = corp
                .cards
                .get(&format!("{agentid}/{task_id}"))
                .cloned()
                .ok_or_else(|| {
                    ActionError::NotFound(format!(
                        "app {agentid} sent no callback card with task_id {task_id:?}"
                    ))
                })?;
            if !card.users.iter().any(|u| u.eq_ignore_ascii_case(userid)) {
                return Err(ActionError::NotFound(format!(
                    "card {task_id} was not sent to {userid}"
                )));
            }
            let keys = card_keys(&card.card);
            if !keys.is_empty() && !keys.iter().any(|k| k == key) {
                return Err(ActionError::Invalid(format!(
                    "card {task_id} has no button with key {key:?} (keys: {keys:?})"
                )));
            }
            let code = crate::util::random_token(64).replace(['-', '_'], "x");
            corp.response_codes.insert(
                code.clone(),
                ResponseCode {
                    agentid,
                    expires_at: now + crate::api::message::RESPONSE_CODE_TTL_SECS,
                    msgid: card.msgid.clone(),
                    task_id: Some(task_id.to_owned()),
                },
            );
            Ok((card.card_type.clone(), code))
        })
    }

    /// Applies an admin-console address-book change; returns the `change_contact` fields.
    fn apply_contact_change(
        &self,
        corpid: &str,
        change_type: &str,
        fields: &Map<String, Value>,
    ) -> Result<Vec<(&'static str, String)>, ActionError> {
        let body = Value::Object(fields.clone());
        let err = |e: crate::error::WxError| {
            ActionError::Invalid(format!("errcode {}: {}", e.errcode, e.errmsg))
        };
        self.with_world(|w| {
            let corp = w
                .corps
                .get_mut(corpid)
                .ok_or_else(|| ActionError::UnknownAccount(corpid.into()))?;
            if change_type == "update_tag" {
                return change_tag(corp, fields);
            }
            let dir = &mut corp.directory;
            let userid = fields
                .get("userid")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            match change_type {
                "create_user" | "update_user" => {
                    let patch: MemberPatch = serde_json::from_value(body)
                        .map_err(|e| ActionError::Invalid(e.to_string()))?;
                    if change_type == "create_user" {
                        dir.create_member(patch).map_err(err)?;
                    } else {
                        dir.update_member(patch).map_err(err)?;
                    }
                    let m = dir
                        .member(&userid)
                        .ok_or_else(|| ActionError::NotFound(userid.clone()))?;
                    Ok(if change_type == "create_user" {
                        member_fields(m)
                    } else {
                        patch_fields(&m.userid, fields)
                    })
                }
                "delete_user" => {
                    dir.delete_member(&userid).map_err(err)?;
                    Ok(vec![("UserID", userid)])
                }
                "create_party" | "update_party" => {
                    let patch: DepartmentPatch = serde_json::from_value(body)
                        .map_err(|e| ActionError::Invalid(e.to_string()))?;
                    let id = if change_type == "create_party" {
                        dir.create_department(patch).map_err(err)?
                    } else {
                        let id = patch.id.unwrap_or(0);
                        dir.update_department(patch).map_err(err)?;
                        id
                    };
                    let d = dir
                        .department(id)
                        .ok_or_else(|| ActionError::NotFound(format!("department {id}")))?;
                    Ok(party_fields(d))
                }
                "delete_party" => {
                    let id = fields
                        .get("id")
                        .and_then(Value::as_u64)
                        .and_then(|i| u32::try_from(i).ok())
                        .unwrap_or(0);
                    dir.delete_department(id).map_err(err)?;
                    Ok(vec![("Id", id.to_string())])
                }
                other => Err(ActionError::Invalid(format!(
                    "unknown change_type {other:?}"
                ))),
            }
        })
    }

    /// Applies a customer change; returns a WelcomeCode for additions.
    #[allow(clippy::too_many_arguments)]
    fn change_external(
        &self,
        corpid: &str,
        agentid: u32,
        userid: &str,
        change_type: &str,
        external_userid: &str,
        name: &str,
        state: &str,
        now: i64,
    ) -> Result<String, ActionError> {
        self.with_world(|w| {
            let corp = w
                .corps
                .get_mut(corpid)
                .ok_or_else(|| ActionError::UnknownAccount(corpid.into()))?;
            if !corp.apps.get(&agentid).is_some_and(|a| a.external_contact) {
                return Err(ActionError::Invalid(format!(
                    "app {agentid} has no customer-contact permission"
                )));
            }
            match change_type {
                "add_external_contact" | "add_half_external_contact" => {
                    let c = corp
                        .external_contacts
                        .entry(external_userid.to_owned())
                        .or_insert_with(|| crate::state::crm::ExternalContact {
                            external_userid: external_userid.to_owned(),
                            name: if name.is_empty() {
                                "微信用户".into()
                            } else {
                                name.to_owned()
                            },
                            kind: 1,
                            ..Default::default()
                        });
                    if c.followed_by(userid).is_none() {
                        c.follow_user.push(crate::state::crm::FollowUser {
                            userid: userid.to_owned(),
                            createtime: now,
                            add_way: 1,
                            state: state.to_owned(),
                            ..Default::default()
                        });
                    }
                    Ok(crate::util::random_token(43))
                }
                "del_external_contact" | "del_follow_user" => {
                    let c = corp
                        .external_contacts
                        .get_mut(external_userid)
                        .ok_or_else(|| {
                            ActionError::NotFound(format!("no customer {external_userid}"))
                        })?;
                    c.follow_user
                        .retain(|f| !f.userid.eq_ignore_ascii_case(userid));
                    Ok(String::new())
                }
                "edit_external_contact" | "transfer_fail" | "msg_audit_approved" => {
                    let follows = corp
                        .external_contacts
                        .get(external_userid)
                        .and_then(|c| c.followed_by(userid))
                        .is_some();
                    if !follows {
                        return Err(ActionError::NotFound(format!(
                            "{userid} does not follow {external_userid}"
                        )));
                    }
                    Ok(String::new())
                }
                other => Err(ActionError::Invalid(format!(
                    "unknown change_type {other:?}"
                ))),
            }
        })
    }

    /// Effects of a passive reply: the user's phone shows it (inbox); `update_button`
    /// updates the pressed card.
    fn after_reply(&self, req: &PushRequest, outcome: &PushOutcome, out: &Outgoing) {
        let Some(reply) = &outcome.reply else { return };
        let now = self.now();
        let (channel, account, agentid) = match req.account.split_once('/') {
            Some((corp, a)) => (Channel::Wecom, corp.to_owned(), a.parse().ok()),
            None => (Channel::Oa, req.account.clone(), None),
        };
        if let (
            PushEvent::TemplateCardEvent { task_id, .. },
            "update_button" | "update_template_card",
        ) = (&req.event, reply.msg_type.as_str())
        {
            let msgid = self.with_world(|w| {
                w.corps.get(&account).and_then(|c| {
                    agentid.and_then(|a: u32| {
                        c.cards
                            .get(&format!("{a}/{task_id}"))
                            .map(|k| k.msgid.clone())
                    })
                })
            });
            if let Some(msgid) = msgid {
                let update = json!({"by": "passive_reply", "msg_type": reply.msg_type, "fields": reply.fields});
                self.with_inbox(|ib| ib.update(&account, &msgid, Some(&out.user), update));
            }
            return;
        }
        let d = Delivery {
            channel,
            account,
            agentid,
            msgtype: reply.msg_type.clone(),
            msgid: format!("reply-{}", outcome.id),
            content: Arc::new(json!({"passive_reply": reply.fields})),
        };
        self.with_inbox(|ib| ib.deliver(&d, std::slice::from_ref(&out.user), now));
    }
}

/// Keys a card can call back with: buttons, submit button, action menu.
fn card_keys(card: &Value) -> Vec<String> {
    let mut keys = Vec::new();
    let push = |keys: &mut Vec<String>, v: Option<&Value>| {
        if let Some(k) = v.and_then(Value::as_str) {
            keys.push(k.to_owned());
        }
    };
    for b in card
        .get("button_list")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        push(&mut keys, b.get("key"));
    }
    push(&mut keys, card.pointer("/submit_button/key"));
    for a in card
        .pointer("/action_menu/action_list")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        push(&mut keys, a.get("key"));
    }
    keys
}
