//! A WeCom corp: its secrets (apps and the contacts-sync secret), visibility scopes, tags,
//! the address book, and the bookkeeping of `message/send` (reference §4.1, §4.4, §4.11).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::directory::{Directory, Member};

/// Rights of the contacts-sync (通讯录同步) secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ContactsAccess {
    /// Read-only: write endpoints answer 48002.
    ReadOnly,
    /// Read and write (API sync enabled).
    #[default]
    ReadWrite,
}

/// The contacts-sync secret of a corp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactsSecret {
    /// The secret.
    pub secret: String,
    /// Its rights.
    #[serde(default)]
    pub access: ContactsAccess,
    /// IP whitelist (企业可信IP) for calls with this secret; empty = any (60020 otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_ips: Vec<String>,
}

/// Visible scope of an app (可见范围): departments (with their subtrees), users, tags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Visibility {
    /// Department ids; each includes its sub-departments.
    pub departments: Vec<u32>,
    /// Userids.
    pub users: Vec<String>,
    /// Tag ids.
    pub tags: Vec<u32>,
}

/// A self-built app (自建应用).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct App {
    /// Agent id, e.g. 1000002.
    pub agentid: u32,
    /// App secret.
    pub secret: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Disabled apps cannot get tokens (50003).
    pub enabled: bool,
    /// Visible scope.
    pub visible: Visibility,
    /// Old app (before 2022-06-20): `user/get` still returns mobile, email etc.
    pub legacy_sensitive_fields: bool,
    /// Trusted domains (可信域名) for OAuth / web-login `redirect_uri`: `host[:port]`
    /// entries; empty = any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redirect_domains: Vec<String>,
    /// IP whitelist (企业可信IP); empty = any caller (60020 otherwise).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trusted_ips: Vec<String>,
    /// May use the customer-contact APIs (`externalcontact/*`, 84074 otherwise).
    pub external_contact: bool,
    /// May read check-in data (`checkin/*`, 48002 otherwise).
    pub checkin: bool,
    /// Set when the app is a third-party suite installed in this corp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suite_id: Option<String>,
}

impl Default for App {
    fn default() -> Self {
        Self {
            agentid: 0,
            secret: String::new(),
            name: String::new(),
            description: String::new(),
            enabled: true,
            visible: Visibility::default(),
            legacy_sensitive_fields: false,
            redirect_domains: Vec::new(),
            trusted_ips: Vec::new(),
            external_contact: false,
            checkin: false,
            suite_id: None,
        }
    }
}

/// A corp tag (标签) with its members.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CorpTag {
    /// Tag id.
    pub tagid: u32,
    /// Name.
    pub tagname: String,
    /// Userids.
    pub users: Vec<String>,
    /// Department ids.
    pub parties: Vec<u32>,
}

/// Which secret of a corp a token was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretRef {
    /// The contacts-sync secret.
    Contacts,
    /// An app's secret.
    App(u32),
}

impl SecretRef {
    /// `contacts` or the agent id, as used in credential labels.
    pub fn label(self) -> String {
        match self {
            SecretRef::Contacts => "contacts".into(),
            SecretRef::App(id) => id.to_string(),
        }
    }
}

/// A message accepted by `message/send`, kept for `message/recall`.
#[derive(Debug, Clone)]
pub struct SentMessage {
    /// Sending app.
    pub agentid: u32,
    /// Simulator time of sending.
    pub sent_at: i64,
    /// Already recalled.
    pub recalled: bool,
}

/// A template card that may be updated: issued by `message/send` or by a card callback.
#[derive(Debug, Clone)]
pub struct ResponseCode {
    /// The app that sent the card.
    pub agentid: u32,
    /// Expiry (72 h after issue).
    pub expires_at: i64,
    /// msgid of the card.
    pub msgid: String,
    /// task_id of the card.
    pub task_id: Option<String>,
}

/// A template card sent by `message/send`, for card callbacks.
#[derive(Debug, Clone)]
pub struct SentCard {
    /// Sending app.
    pub agentid: u32,
    /// msgid.
    pub msgid: String,
    /// `card_type`.
    pub card_type: String,
    /// The card JSON.
    pub card: serde_json::Value,
    /// Recipients (userids as stored).
    pub users: Vec<String>,
}

/// Who a token may see in the address book.
#[derive(Debug, Clone)]
pub enum Scope {
    /// Contacts secret: everything.
    All,
    /// An app: its visible departments (expanded) and users (lower-cased).
    Limited {
        /// Visible department ids.
        departments: HashSet<u32>,
        /// Visible userids, lower-cased.
        users: HashSet<String>,
    },
}

impl Scope {
    /// True when department `id` is visible.
    pub fn department_visible(&self, id: u32) -> bool {
        match self {
            Scope::All => true,
            Scope::Limited { departments, .. } => departments.contains(&id),
        }
    }

    /// True when member `m` is visible.
    pub fn member_visible(&self, m: &Member) -> bool {
        match self {
            Scope::All => true,
            Scope::Limited { departments, users } => {
                users.contains(&m.userid.to_ascii_lowercase())
                    || m.department.iter().any(|d| departments.contains(d))
            }
        }
    }
}

/// A WeCom corp and everything the simulator keeps about it.
#[derive(Debug, Clone)]
pub struct Corp {
    /// Corp id (`ww...`).
    pub corpid: String,
    /// Corp name.
    pub name: String,
    /// Contacts-sync secret, if configured.
    pub contacts: Option<ContactsSecret>,
    /// Apps by agent id.
    pub apps: BTreeMap<u32, App>,
    /// Tags by id.
    pub tags: BTreeMap<u32, CorpTag>,
    /// Address book.
    pub directory: Directory,
    /// Messages sent, by msgid.
    pub(crate) messages: HashMap<String, SentMessage>,
    /// Duplicate check: (agentid, body hash) → (until, msgid).
    pub(crate) dup_check: HashMap<(u32, u64), (i64, String)>,
    /// task_ids used by template cards, per app.
    pub(crate) task_ids: HashSet<(u32, String)>,
    /// response_code → card.
    pub(crate) response_codes: HashMap<String, ResponseCode>,
    /// Callback-capable cards by task_id (and by msgid).
    pub(crate) cards: HashMap<String, SentCard>,
    /// External contacts by external_userid.
    pub external_contacts: BTreeMap<String, super::crm::ExternalContact>,
    /// Check-in records (seeded).
    pub checkins: Vec<super::crm::CheckinRecord>,
    /// Generate check-in records for members without seeded ones.
    pub generate_checkins: bool,
    /// Recent deliveries per (agentid, userid), for the per-member message rate.
    pub(crate) user_rate: HashMap<(u32, String), VecDeque<i64>>,
    /// Deliveries dropped silently by the per-member rate (reference §4.2).
    pub dropped_messages: u64,
}

impl Corp {
    /// A corp with the given parts and no history.
    pub fn new(
        corpid: String,
        name: String,
        contacts: Option<ContactsSecret>,
        apps: Vec<App>,
        tags: Vec<CorpTag>,
        directory: Directory,
    ) -> Self {
        Self {
            corpid,
            name,
            contacts,
            apps: apps.into_iter().map(|a| (a.agentid, a)).collect(),
            tags: tags.into_iter().map(|t| (t.tagid, t)).collect(),
            directory,
            messages: HashMap::new(),
            dup_check: HashMap::new(),
            task_ids: HashSet::new(),
            response_codes: HashMap::new(),
            cards: HashMap::new(),
            external_contacts: BTreeMap::new(),
            checkins: Vec::new(),
            generate_checkins: false,
            user_rate: HashMap::new(),
            dropped_messages: 0,
        }
    }

    /// Which secret of this corp `secret` is.
    pub fn secret_ref(&self, secret: &str) -> Option<SecretRef> {
        if self.contacts.as_ref().is_some_and(|c| c.secret == secret) {
            return Some(SecretRef::Contacts);
        }
        self.apps
            .values()
            .find(|a| a.secret == secret)
            .map(|a| SecretRef::App(a.agentid))
    }

    /// Visibility scope of a secret.
    pub fn scope(&self, secret: SecretRef) -> Scope {
        let SecretRef::App(agentid) = secret else {
            return Scope::All;
        };
        let mut departments = HashSet::new();
        let mut users = HashSet::new();
        if let Some(app) = self.apps.get(&agentid) {
            let mut roots: Vec<u32> = app.visible.departments.clone();
            for tagid in &app.visible.tags {
                if let Some(tag) = self.tags.get(tagid) {
                    roots.extend(&tag.parties);
                    users.extend(tag.users.iter().map(|u| u.to_ascii_lowercase()));
                }
            }
            for root in roots {
                departments.extend(self.directory.subtree(root));
            }
            users.extend(app.visible.users.iter().map(|u| u.to_ascii_lowercase()));
        }
        Scope::Limited { departments, users }
    }
}
