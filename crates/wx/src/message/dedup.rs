//! De-duplication keys for inbound pushes (reference §2.12, §4.12 "Dedup", §7 pitfall 7;
//! peers survey P3).
//!
//! WeChat re-sends a push it got no timely answer for (three deliveries in total, ~5 s apart),
//! with a byte-identical plaintext. A receiver must recognise those retries **without**
//! merging distinct events: other SDKs keyed events on `FromUserName + CreateTime` only and
//! silently dropped real events that shared a second (two external-contact events, a
//! contact-create event, two different WeCom callbacks; peers P3). The key is therefore
//! derived per event family from every identifying field:
//!
//! | Family | Identifying fields |
//! |---|---|
//! | [`DedupFamily::Message`] | account (`ToUserName`, `AgentID`), `FromUserName`, `MsgId`/`MsgID` |
//! | [`DedupFamily::UserEvent`] | account, `FromUserName`, `CreateTime`, `Event`, plus the event's own keys (`EventKey`, `Ticket`, `MenuId`, `ScanCodeInfo`, `SendPicsInfo`, `TaskId`, `ResponseCode`, `SelectedItems`, `MsgID`/`Status`, the subscribe-message `List`s, …) |
//! | [`DedupFamily::SystemEvent`] | **every** field: WeCom system events (`FromUserName` `sys`, `change_contact`, `change_external_*`, `sys_approval_change`, `batch_job_result`, …) differ only in `ChangeType`, `UserID`, `Id`, `ExternalUserID`, `SpNo`, changed attributes… |
//! | [`DedupFamily::SuiteCommand`] | **every** field (`SuiteId`, `InfoType`, `TimeStamp`, `SuiteTicket`/`AuthCode`/`AuthCorpId`, `ChangeType`, `UserID`, …) |
//! | [`DedupFamily::Unknown`] | **every** field: for an unknown kind we cannot know which fields identify it |
//!
//! Using every field is safe because retries are byte-identical (§2.12: "the same push is
//! re-sent"); it can only make two pushes look *different*, never merge distinct ones.
//! Values are compared after XML decoding, so CDATA vs. plain text or whitespace between
//! elements does not change the key.
//!
//! The key is `"<family>:<kind>:<32 hex>"` (or `"unknown:<32 hex>"`): the kind is a static
//! label for known kinds only (never attacker-controlled text), and the hex is the first 128
//! bits of a SHA-256 over the length-prefixed identifying fields. Keys are ASCII and at most
//! ~80 bytes, suitable for a database unique index. Keep them well beyond the retry window
//! (peers P3 recommends ≥ 24 h).

use sha2::{Digest, Sha256};

use super::inbound::Message;
use super::xml::Element;

/// The de-duplication family of a push; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DedupFamily {
    /// A user message with a `MsgId`.
    Message,
    /// A known user-triggered event.
    UserEvent,
    /// A WeCom system event (contacts, customers, approvals, batch jobs).
    SystemEvent,
    /// A suite command callback (`InfoType`).
    SuiteCommand,
    /// Anything else (unknown kinds, messages without an id).
    Unknown,
}

impl DedupFamily {
    /// The key prefix of this family.
    pub fn as_str(self) -> &'static str {
        match self {
            DedupFamily::Message => "msg",
            DedupFamily::UserEvent => "event",
            DedupFamily::SystemEvent => "sys",
            DedupFamily::SuiteCommand => "suite",
            DedupFamily::Unknown => "unknown",
        }
    }
}

/// Fields that scope every key to the receiving account / app / suite / corp.
const SCOPE: &[&str] = &["ToUserName", "AgentID", "SuiteId", "AuthCorpId"];

/// Message types with a typed view; used as static key labels.
const MESSAGE_TYPES: &[&str] = &[
    "text",
    "image",
    "voice",
    "video",
    "shortvideo",
    "location",
    "link",
    "miniprogrampage",
];

/// User events and the fields (besides sender, time and `Event`) that tell two of them apart.
const USER_EVENTS: &[(&str, &[&str])] = &[
    ("subscribe", &["EventKey", "Ticket"]),
    ("unsubscribe", &["EventKey"]),
    ("SCAN", &["EventKey", "Ticket"]),
    ("LOCATION", &["Latitude", "Longitude", "Precision"]),
    ("CLICK", &["EventKey"]),
    ("click", &["EventKey"]),
    ("VIEW", &["EventKey", "MenuId"]),
    ("view", &["EventKey", "MenuId"]),
    ("view_miniprogram", &["EventKey", "MenuId"]),
    ("scancode_push", &["EventKey", "ScanCodeInfo"]),
    ("scancode_waitmsg", &["EventKey", "ScanCodeInfo"]),
    ("pic_sysphoto", &["EventKey", "SendPicsInfo"]),
    ("pic_photo_or_album", &["EventKey", "SendPicsInfo"]),
    ("pic_weixin", &["EventKey", "SendPicsInfo"]),
    ("location_select", &["EventKey", "SendLocationInfo"]),
    ("enter_agent", &["EventKey"]),
    ("TEMPLATESENDJOBFINISH", &["MsgID", "MsgId", "Status"]),
    ("MASSSENDJOBFINISH", &["MsgID", "MsgId", "Status"]),
    ("subscribe_msg_popup_event", &["SubscribeMsgPopupEvent"]),
    ("subscribe_msg_change_event", &["SubscribeMsgChangeEvent"]),
    ("subscribe_msg_sent_event", &["SubscribeMsgSentEvent"]),
    ("kf_create_session", &["KfAccount"]),
    ("kf_close_session", &["KfAccount"]),
    (
        "kf_switch_session",
        &["KfAccount", "FromKfAccount", "ToKfAccount"],
    ),
    (
        "template_card_event",
        &[
            "EventKey",
            "TaskId",
            "CardType",
            "ResponseCode",
            "SelectedItems",
        ],
    ),
    (
        "template_card_menu_event",
        &[
            "EventKey",
            "TaskId",
            "CardType",
            "ResponseCode",
            "SelectedItems",
        ],
    ),
    ("taskcard_click", &["EventKey", "TaskId"]),
    ("user_enter_tempsession", &["SessionFrom"]),
    ("kf_msg_or_event", &["Token", "OpenKfId"]),
];

/// Events that are system events whatever their sender (all fields identify them).
const SYSTEM_EVENTS: &[&str] = &[
    "batch_job_result",
    "change_contact",
    "change_external_chat",
    "change_external_contact",
    "change_external_tag",
    "open_approval_change",
    "sys_approval_change",
];

/// Suite `InfoType`s used as static key labels.
const SUITE_INFO_TYPES: &[&str] = &[
    "suite_ticket",
    "create_auth",
    "change_auth",
    "cancel_auth",
    "reset_permanent_code",
    "change_contact",
    "change_external_contact",
    "change_external_chat",
    "change_external_tag",
    "batch_job_result",
    "change_app_admin",
    "register_corp",
];

fn static_label(list: &[&'static str], value: &str) -> Option<&'static str> {
    list.iter().copied().find(|l| *l == value)
}

enum Rule {
    /// Scope + these top-level fields (each with its whole subtree).
    Fields(&'static [&'static str]),
    /// Every field of the document.
    All,
}

struct Plan {
    family: DedupFamily,
    label: Option<&'static str>,
    rule: Rule,
}

const MESSAGE_FIELDS: &[&str] = &["FromUserName", "MsgId", "MsgID"];

fn plan(msg: &Message) -> Plan {
    let r = msg.doc().root();
    if let Some(info_type) = msg.info_type() {
        return match static_label(SUITE_INFO_TYPES, info_type) {
            Some(label) => Plan {
                family: DedupFamily::SuiteCommand,
                label: Some(label),
                rule: Rule::All,
            },
            None => unknown(),
        };
    }
    let msg_type = msg.msg_type().unwrap_or("");
    if msg_type != "event" {
        let has_id = r
            .get("MsgId")
            .or_else(|| r.get("MsgID"))
            .is_some_and(|id| !id.trim().is_empty());
        return match static_label(MESSAGE_TYPES, msg_type) {
            Some(label) if has_id => Plan {
                family: DedupFamily::Message,
                label: Some(label),
                rule: Rule::Fields(MESSAGE_FIELDS),
            },
            _ => unknown(),
        };
    }
    let event = msg.event().unwrap_or("");
    if let Some(label) = static_label(SYSTEM_EVENTS, event) {
        return Plan {
            family: DedupFamily::SystemEvent,
            label: Some(label),
            rule: Rule::All,
        };
    }
    match USER_EVENTS.iter().find(|(name, _)| *name == event) {
        // WeCom system notifications come from `sys`: never trust a short rule for them.
        Some((label, _)) if r.get("FromUserName") == Some("sys") => Plan {
            family: DedupFamily::SystemEvent,
            label: Some(label),
            rule: Rule::All,
        },
        Some((label, fields)) => Plan {
            family: DedupFamily::UserEvent,
            label: Some(label),
            rule: Rule::Fields(fields),
        },
        None => unknown(),
    }
}

fn unknown() -> Plan {
    Plan {
        family: DedupFamily::Unknown,
        label: None,
        rule: Rule::All,
    }
}

/// Feeds an element and its subtree: (depth, name, text) of every element, length-prefixed,
/// in pre-order. Depths make the encoding of the tree unambiguous.
fn feed_subtree(h: &mut Sha256, e: &Element<'_>) {
    for (depth, el) in e.descendants() {
        let depth = u32::try_from(depth).unwrap_or(u32::MAX);
        h.update(depth.to_be_bytes());
        feed_str(h, el.name());
        feed_str(h, el.text());
    }
}

fn feed_str(h: &mut Sha256, s: &str) {
    let len = u64::try_from(s.len()).unwrap_or(u64::MAX);
    h.update(len.to_be_bytes());
    h.update(s.as_bytes());
}

fn feed_fields(h: &mut Sha256, root: &Element<'_>, names: &[&str]) {
    for name in names {
        for el in root.children_named(name) {
            feed_subtree(h, &el);
        }
    }
}

impl Message {
    /// The de-duplication family of this push; see [`dedup`](super::dedup).
    pub fn dedup_family(&self) -> DedupFamily {
        plan(self).family
    }

    /// A stable de-duplication key: equal for retries of the same push, different for
    /// distinct pushes (module docs of [`dedup`](super::dedup) list the fields per family).
    ///
    /// ```
    /// use wx::message::Message;
    /// let a = Message::parse("<xml><ToUserName>gh_1</ToUserName><FromUserName>o1</FromUserName>\
    ///     <CreateTime>1</CreateTime><MsgType>event</MsgType><Event>CLICK</Event><EventKey>A</EventKey></xml>").unwrap();
    /// let b = Message::parse("<xml><ToUserName>gh_1</ToUserName><FromUserName>o1</FromUserName>\
    ///     <CreateTime>1</CreateTime><MsgType>event</MsgType><Event>CLICK</Event><EventKey>B</EventKey></xml>").unwrap();
    /// assert_ne!(a.dedup_key(), b.dedup_key());
    /// assert!(a.dedup_key().starts_with("event:CLICK:"));
    /// ```
    pub fn dedup_key(&self) -> String {
        let plan = plan(self);
        let root = self.doc().root();
        let mut h = Sha256::new();
        // The family is hashed too, so a rule change between families cannot collide.
        feed_str(&mut h, plan.family.as_str());
        match plan.rule {
            Rule::All => {
                for child in root.children() {
                    feed_subtree(&mut h, &child);
                }
            }
            Rule::Fields(fields) => {
                feed_fields(&mut h, &root, SCOPE);
                if plan.family == DedupFamily::UserEvent {
                    feed_fields(&mut h, &root, &["FromUserName", "CreateTime", "Event"]);
                }
                feed_fields(&mut h, &root, fields);
            }
        }
        let digest = h.finalize();
        let hex = hex::encode(digest.get(..16).unwrap_or(&digest[..]));
        let family = plan.family.as_str();
        match plan.label {
            Some(label) => {
                let mut key = String::with_capacity(family.len() + label.len() + 34);
                key.push_str(family);
                key.push(':');
                key.push_str(label);
                key.push(':');
                key.push_str(&hex);
                key
            }
            None => format!("{family}:{hex}"),
        }
    }
}
