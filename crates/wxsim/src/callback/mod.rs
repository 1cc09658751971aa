//! The callback sender: the simulator pushes messages and events to a registered callback
//! URL exactly as WeChat / WeCom do (reference §1, §2.10–2.12, §4.12, §5.3–5.4):
//!
//! - signatures: plain `signature` (OA), `msg_signature` (encrypted), fresh timestamp and nonce
//!   on every delivery;
//! - encryption: OA plain / compatible / safe; WeCom and suites always encrypted; the receive
//!   id per §1.1 (OA: AppID; WeCom app or contacts: CorpID; suite command: SuiteID; suite
//!   data: the authorising CorpID; URL verification of a suite: the provider's CorpID);
//! - delivery: a timeout (5 s, configurable), up to 3 deliveries with the same plaintext
//!   (same MsgId / CreateTime) on timeout, connection error or non-200;
//! - ack rules: an empty body or `success` = received without reply (suite command URLs must
//!   answer exactly `success`); anything else is a passive reply, decrypted with
//!   `wx::crypto`, parsed with `wx::message` and validated (type, addressing).
//!
//! Every push returns a [`PushOutcome`] and is kept in the push log (`GET /sim/pushes`).

mod actions;
mod send;
mod xml;

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub(crate) use actions::PendingPush;
pub use actions::{ActionError, PushEvent, PushRequest, SelectedItem, SubscribeChoice};
pub(crate) use send::{Outgoing, Route};
pub(crate) use xml::XmlOut;

/// OA message encryption mode (消息加解密方式, reference §1.8). WeCom is always encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallbackMode {
    /// 明文模式: plaintext XML, plain `signature`.
    Plain,
    /// 兼容模式: plaintext fields and `Encrypt`.
    Compatible,
    /// 安全模式: `Encrypt` only.
    #[default]
    Safe,
}

/// A callback URL as configured in the back office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackConfig {
    /// Whose callback: an OA / Mini Program appid; `corpid/<agentid>` (WeCom app);
    /// `corpid/contacts` or a bare `corpid` (contacts-change callback); a suite id (command
    /// URL) or `suite_id/data` (data URL, `$CORPID$` in the URL is replaced).
    pub account: String,
    /// URL (http or https).
    pub url: String,
    /// Token.
    pub token: String,
    /// EncodingAESKey (43 characters); may be empty for OA plain mode.
    #[serde(default)]
    pub encoding_aes_key: String,
    /// OA mode; ignored (always encrypted) for WeCom and suites.
    #[serde(default)]
    pub mode: CallbackMode,
}

impl CallbackConfig {
    /// A configuration.
    pub fn new(
        account: impl Into<String>,
        url: impl Into<String>,
        token: impl Into<String>,
        encoding_aes_key: impl Into<String>,
        mode: CallbackMode,
    ) -> Self {
        Self {
            account: account.into(),
            url: url.into(),
            token: token.into(),
            encoding_aes_key: encoding_aes_key.into(),
            mode,
        }
    }
}

/// Why a delivery or a reply failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum PushError {
    /// No callback URL for the account.
    #[error("no callback registered for {0}")]
    NotRegistered(String),
    /// No answer within the timeout.
    #[error("timeout: no answer within {0} ms")]
    Timeout(u64),
    /// Connection refused, reset or closed without an answer.
    #[error("connection failed: {0}")]
    Connect(String),
    /// An HTTP status other than 200.
    #[error("HTTP status {0}")]
    HttpStatus(u16),
    /// The reply envelope's `MsgSignature` does not verify.
    #[error("bad signature: the reply's MsgSignature does not verify")]
    BadSignature,
    /// The reply could not be decrypted (bad base64, padding, receive id...).
    #[error("reply cannot be decrypted: {0}")]
    Decrypt(String),
    /// A plaintext reply where an encrypted one is required (safe mode, WeCom).
    #[error("plaintext reply where an encrypted envelope is required")]
    PlaintextReply,
    /// An encrypted reply to a plain-mode push.
    #[error("encrypted reply to a plain-mode push")]
    EncryptedReply,
    /// The (decrypted) reply is not an XML message.
    #[error("reply is not a valid XML message: {0}")]
    BadXml(String),
    /// Valid XML, but not an acceptable passive reply (type, addressing, empty content).
    #[error("invalid passive reply: {0}")]
    InvalidReply(String),
    /// A suite command callback answered something other than `success`.
    #[error("suite command callbacks must answer exactly success, got {0:?}")]
    NotSuccess(String),
    /// URL verification: the echoed string differs.
    #[error("URL verification failed: expected {expected:?}, got {got:?}")]
    EchoMismatch {
        /// What the URL should have answered.
        expected: String,
        /// What it answered.
        got: String,
    },
}

/// How a push ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushStatus {
    /// Answered with a valid passive reply.
    Replied,
    /// Answered with an empty body or `success`: received, no reply.
    Acked,
    /// Every delivery timed out or failed.
    Failed,
    /// Answered, but the answer is not an acceptable reply (WeChat shows the user an error).
    BadReply,
    /// Nothing registered: not sent (state changes still happened).
    NotRegistered,
}

/// A passive reply as WeChat understood it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassiveReply {
    /// `MsgType` (`text`, `image`, `news`, `update_button`, ...).
    pub msg_type: String,
    /// `ToUserName` (the user).
    pub to_user_name: String,
    /// `FromUserName` (the account).
    pub from_user_name: String,
    /// `CreateTime`.
    pub create_time: i64,
    /// `Content` of a text reply.
    pub content: Option<String>,
    /// Every field (wx::message JSON mapping).
    pub fields: Value,
    /// The plaintext XML.
    pub xml: String,
    /// It came encrypted.
    pub encrypted: bool,
    /// The receive id found inside an encrypted reply.
    pub receive_id: Option<String>,
}

/// One delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// Simulator time of sending (Unix ms).
    pub at_ms: i64,
    /// The `timestamp` query parameter used.
    pub timestamp: String,
    /// The `nonce` used.
    pub nonce: String,
    /// HTTP status, when one came back.
    pub http_status: Option<u16>,
    /// Real time spent.
    pub elapsed_ms: u64,
    /// What went wrong.
    pub error: Option<PushError>,
}

/// What happened to a push.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PushOutcome {
    /// Sequence number in the push log.
    pub id: u64,
    /// Registration key the push went to (`appid`, `corpid/1000002`, `suite_id`...).
    pub account: String,
    /// What was pushed (`text`, `event:CLICK`, `suite:suite_ticket`...).
    pub kind: String,
    /// URL (after `$CORPID$` substitution).
    pub url: String,
    /// Deliveries made.
    pub attempts: u32,
    /// Result.
    pub status: PushStatus,
    /// The passive reply, when there was one.
    pub reply: Option<PassiveReply>,
    /// The error that ended the push (last delivery error, or why the reply was rejected).
    pub error: Option<PushError>,
    /// The plaintext XML pushed (identical on every delivery).
    pub message: String,
    /// `MsgId` of a message push.
    pub msg_id: Option<String>,
    /// The deliveries.
    pub attempt_log: Vec<Attempt>,
    /// Values the push created (e.g. `response_code`, `suite_ticket`, `auth_code`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}

impl PushOutcome {
    /// Text of a text passive reply.
    pub fn reply_text(&self) -> Option<&str> {
        self.reply.as_ref().and_then(|r| r.content.as_deref())
    }

    /// True for `Replied` and `Acked`.
    pub fn delivered(&self) -> bool {
        matches!(self.status, PushStatus::Replied | PushStatus::Acked)
    }
}

/// Result of a URL verification (the back-office "save" step).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UrlVerification {
    /// Registration key.
    pub account: String,
    /// The URL called (without query).
    pub url: String,
    /// The URL answered as WeChat expects.
    pub ok: bool,
    /// HTTP status.
    pub http_status: Option<u16>,
    /// What the answer should be (the echostr, decrypted for WeCom).
    pub expected: String,
    /// What came back.
    pub body: String,
    /// Receive id used to encrypt the echostr (WeCom / suites).
    pub receive_id: Option<String>,
    /// Why it failed.
    pub error: Option<PushError>,
}

/// Sender timing, changeable at run time (`POST /sim/callbacks/settings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SenderSettings {
    /// Per-delivery timeout.
    pub timeout_ms: u64,
    /// Deliveries per push.
    pub attempts: u32,
    /// Pause between deliveries.
    pub retry_delay_ms: u64,
    /// Reject encrypted replies whose receive id differs from the push's (official SDKs,
    /// wechatpy); off = accept any (WxJava-style leniency, reference §7 row 12).
    #[serde(default = "yes")]
    pub strict_receive_id: bool,
}

fn yes() -> bool {
    true
}

/// Registrations, sender settings and the push log.
#[derive(Debug)]
pub struct Callbacks {
    registrations: BTreeMap<String, CallbackConfig>,
    /// Sender timing.
    pub settings: SenderSettings,
    log: VecDeque<PushOutcome>,
    next_id: u64,
    next_msg_id: u64,
}

/// Pushes kept in the log.
pub const PUSH_LOG_CAPACITY: usize = 2000;

impl Callbacks {
    /// Empty registry.
    pub fn new(settings: SenderSettings) -> Self {
        Self {
            registrations: BTreeMap::new(),
            settings,
            log: VecDeque::new(),
            next_id: 0,
            next_msg_id: 7_300_000_000_000_000_000 + u64::from(crate::util::random_u32()) * 1000,
        }
    }

    /// The canonical key of an account string: a bare corpid means its contacts callback.
    pub fn canonical(account: &str, is_corp: bool) -> String {
        if is_corp && !account.contains('/') {
            format!("{account}/contacts")
        } else {
            account.to_owned()
        }
    }

    /// Adds or replaces a registration (already validated and canonicalised).
    pub fn insert(&mut self, cfg: CallbackConfig) {
        self.registrations.insert(cfg.account.clone(), cfg);
    }

    /// Removes a registration.
    pub fn remove(&mut self, account: &str) -> bool {
        self.registrations.remove(account).is_some()
    }

    /// A registration.
    pub fn get(&self, account: &str) -> Option<&CallbackConfig> {
        self.registrations.get(account)
    }

    /// Every registration.
    pub fn list(&self) -> Vec<CallbackConfig> {
        self.registrations.values().cloned().collect()
    }

    /// A fresh 64-bit MsgId.
    pub fn next_msg_id(&mut self) -> u64 {
        self.next_msg_id += 1;
        self.next_msg_id
    }

    /// Records an outcome; assigns its id.
    pub fn record(&mut self, mut o: PushOutcome) -> PushOutcome {
        self.next_id += 1;
        o.id = self.next_id;
        if self.log.len() >= PUSH_LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(o.clone());
        o
    }

    /// The push log, oldest first, optionally for one account.
    pub fn pushes(&self, account: Option<&str>) -> Vec<PushOutcome> {
        self.log
            .iter()
            .filter(|o| account.is_none_or(|a| o.account == a))
            .cloned()
            .collect()
    }

    /// Empties the push log.
    pub fn clear_log(&mut self) {
        self.log.clear();
    }
}
