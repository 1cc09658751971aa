//! Inbound messages and events, passive replies. Reference §2.10–2.11 (Official Accounts),
//! §4.11.3 and §4.12 (WeCom), §5.3–5.4 (suite commands), §7 pitfalls 7–9 and 13.
//!
//! Everything here is pure (no I/O, no clock) and works on the **decrypted** XML; the
//! `crypto` module handles the encrypted envelope.
//!
//! - [`XmlDoc`]: a lossless document model (every element, in order, nested and repeated
//!   ones included), built with quick-xml's pull reader; DTDs and non-predefined entities are
//!   refused.
//! - [`Message`]: an inbound push. [`Message::kind`] gives the typed view [`Inbound`]
//!   (unknown kinds are kept, never dropped); [`Message::to_json`] gives every field as
//!   JSON for forwarding; [`Message::dedup_key`] gives the retry de-duplication key.
//! - [`Reply`]: passive reply builders writing XML with safe CDATA.
//!
//! ```
//! use wx::message::{Inbound, Message, Platform, Reply, ReplyTo};
//!
//! let push = Message::parse(
//!     "<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName>\
//!      <FromUserName><![CDATA[oia2TjuEGTNoeX76QEjQNrcURxG8]]></FromUserName>\
//!      <CreateTime>1395658920</CreateTime><MsgType><![CDATA[event]]></MsgType>\
//!      <Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[V1001_TODAY]]></EventKey></xml>",
//! )?;
//! let Inbound::Click(click) = push.kind() else { unreachable!() };
//! assert_eq!(click.event_key, Some("V1001_TODAY"));
//! let key = push.dedup_key(); // store with a unique index; a retry yields the same key
//! assert!(key.starts_with("event:CLICK:"));
//! let body = Reply::Text { content: "今日歌曲" }
//!     .render(Platform::OfficialAccount, &ReplyTo::answering(&push, 1395658921))?;
//! assert!(body.contains("<ToUserName><![CDATA[oia2TjuEGTNoeX76QEjQNrcURxG8]]></ToUserName>"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod dedup;
pub mod inbound;
pub mod json;
pub mod kinds;
pub mod reply;
pub mod suite;
pub mod wecom;
pub mod xml;

pub use dedup::DedupFamily;
pub use inbound::{Header, Inbound, Message, ParseError, UnknownKind};
pub use kinds::{
    ImageMessage, KeyEvent, KfSessionAction, KfSessionEvent, LinkMessage, LocationEvent,
    LocationMessage, LocationSelectEvent, MassSendJobFinishEvent, MiniProgramPageMessage, PicEvent,
    PicSource, ScanCodeEvent, ScanEvent, SubscribeEvent, SubscribeMsgEvent, SubscribeMsgItem,
    TempSessionEvent, TemplateSendJobFinishEvent, TextMessage, VideoMessage, ViewEvent,
    VoiceMessage,
};
pub use reply::{
    Article, EMPTY, Music, Platform, Reply, ReplyError, ReplyLimits, ReplyTo, SUCCESS,
};
pub use suite::{AuthCodeEvent, AuthCorpEvent, SuiteTicketEvent};
pub use wecom::{
    ApprovalChangeEvent, ApprovalDetail, ApprovalRecord, BatchJobResultEvent, ContactChange,
    ContactChangeEvent, ExtAttrItem, ExternalChatEvent, ExternalContactChange,
    ExternalContactEvent, ExternalTagEvent, KfMsgOrEvent, PartyChange, SelectedItem, TagChange,
    TaskCardClickEvent, TemplateCardEvent, UserChange, split_list,
};
pub use xml::{Children, Descendants, Element, MAX_DEPTH, MAX_ELEMENTS, XmlDoc, XmlError};
