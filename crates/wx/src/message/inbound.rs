//! Inbound pushes: [`Message`] (the lossless document) and [`Inbound`] (its typed view).
//! Reference §2.10 (OA), §4.12 (WeCom), §4.11.3 (template cards), §5.3–5.4 (suites).
//!
//! The typed view is computed on demand from the document and borrows from it, so parsing
//! costs one pass and two allocations; nothing is ever dropped: unknown `MsgType`, `Event`,
//! `InfoType` or `ChangeType` values map to `Unknown`/`Other` variants and every field stays
//! in [`Message::doc`] (and in [`Message::to_json`]).

use serde_json::Value;

use super::kinds::{
    ImageMessage, KeyEvent, KfSessionAction, KfSessionEvent, LinkMessage, LocationEvent,
    LocationMessage, LocationSelectEvent, MassSendJobFinishEvent, MiniProgramPageMessage, PicEvent,
    PicSource, ScanCodeEvent, ScanEvent, SubscribeEvent, SubscribeMsgEvent, TempSessionEvent,
    TemplateSendJobFinishEvent, TextMessage, VideoMessage, ViewEvent, VoiceMessage, int,
};
use super::suite::{AuthCodeEvent, AuthCorpEvent, SuiteTicketEvent};
use super::wecom::{
    ApprovalChangeEvent, BatchJobResultEvent, ContactChangeEvent, ExternalChatEvent,
    ExternalContactEvent, ExternalTagEvent, KfMsgOrEvent, TaskCardClickEvent, TemplateCardEvent,
};
use super::xml::{XmlDoc, XmlError};

/// Why a payload is not an inbound message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Not an acceptable XML document (including DOCTYPE/entity payloads).
    #[error(transparent)]
    Xml(#[from] XmlError),
    /// Well-formed XML, but neither `MsgType` (messages and events) nor `InfoType` (suite
    /// commands) is present, so this is not a WeChat/WeCom push.
    #[error("XML payload has neither MsgType nor InfoType")]
    NotAPush,
}

/// A parsed inbound push (decrypted callback plaintext), keeping every field.
///
/// ```
/// use wx::message::{Inbound, Message};
/// let m = Message::parse(
///     "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName>\
///      <CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content>\
///      <MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>",
/// ).unwrap();
/// match m.kind() {
///     Inbound::Text(t) => assert_eq!(t.content, "你好"),
///     other => panic!("{other:?}"),
/// }
/// assert_eq!(m.header().agent_id, Some(1000002));
/// assert_eq!(m.to_json()["Content"], "你好");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    doc: XmlDoc,
}

/// Fields common to pushes. Suite command payloads fill `suite_id`/`info_type`/`timestamp`
/// instead of the user fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header<'a> {
    /// `ToUserName`: OA original id (`gh_…`), or the corpid / suite id for WeCom.
    pub to_user_name: Option<&'a str>,
    /// `FromUserName`: openid or userid; `sys` for WeCom system events.
    pub from_user_name: Option<&'a str>,
    /// `CreateTime` (Unix seconds).
    pub create_time: Option<i64>,
    /// `MsgType`.
    pub msg_type: Option<&'a str>,
    /// `Event` (when `MsgType` is `event`).
    pub event: Option<&'a str>,
    /// `AgentID` (WeCom app callbacks; `None` when absent or empty).
    pub agent_id: Option<i64>,
    /// `SuiteId` (suite command callbacks).
    pub suite_id: Option<&'a str>,
    /// `InfoType` (suite command callbacks).
    pub info_type: Option<&'a str>,
    /// `TimeStamp` (suite command callbacks).
    pub timestamp: Option<i64>,
}

/// Typed view of a [`Message`]. Each variant borrows from the message.
///
/// Event names are matched with their documented casing (§2.10 note, §7 pitfall 13): OA
/// `CLICK`/`VIEW` and WeCom `click`/`view` map to the same variants; any other spelling is
/// [`Inbound::Unknown`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Inbound<'a> {
    /// `text` message.
    Text(TextMessage<'a>),
    /// `image` message.
    Image(ImageMessage<'a>),
    /// `voice` message.
    Voice(VoiceMessage<'a>),
    /// `video` message.
    Video(VideoMessage<'a>),
    /// `shortvideo` message (OA).
    ShortVideo(VideoMessage<'a>),
    /// `location` message.
    Location(LocationMessage<'a>),
    /// `link` message.
    Link(LinkMessage<'a>),
    /// `miniprogrampage` message (customer service).
    MiniProgramPage(MiniProgramPageMessage<'a>),

    /// `subscribe` event (follow; QR follows carry `qrscene_` keys).
    Subscribe(SubscribeEvent<'a>),
    /// `unsubscribe` event.
    Unsubscribe,
    /// OA `SCAN` event.
    Scan(ScanEvent<'a>),
    /// `LOCATION` event (periodic report).
    LocationReport(LocationEvent<'a>),
    /// OA `CLICK` / WeCom `click` menu event.
    Click(KeyEvent<'a>),
    /// OA `VIEW` / WeCom `view` menu event.
    View(ViewEvent<'a>),
    /// `view_miniprogram` menu event.
    ViewMiniProgram(ViewEvent<'a>),
    /// `scancode_push` / `scancode_waitmsg`.
    ScanCode(ScanCodeEvent<'a>),
    /// `pic_sysphoto` / `pic_photo_or_album` / `pic_weixin`.
    Pic(PicEvent<'a>),
    /// `location_select`.
    LocationSelect(LocationSelectEvent<'a>),
    /// OA `TEMPLATESENDJOBFINISH`.
    TemplateSendJobFinish(TemplateSendJobFinishEvent<'a>),
    /// OA `MASSSENDJOBFINISH`.
    MassSendJobFinish(MassSendJobFinishEvent<'a>),
    /// OA `subscribe_msg_popup_event`.
    SubscribeMsgPopup(SubscribeMsgEvent<'a>),
    /// OA `subscribe_msg_change_event`.
    SubscribeMsgChange(SubscribeMsgEvent<'a>),
    /// OA `subscribe_msg_sent_event`.
    SubscribeMsgSent(SubscribeMsgEvent<'a>),
    /// OA `kf_create_session` / `kf_close_session` / `kf_switch_session`.
    KfSession(KfSessionEvent<'a>),
    /// Mini Program `user_enter_tempsession`.
    UserEnterTempSession(TempSessionEvent<'a>),

    /// WeCom `enter_agent`.
    EnterAgent(KeyEvent<'a>),
    /// WeCom `template_card_event` / `template_card_menu_event`.
    TemplateCard(TemplateCardEvent<'a>),
    /// WeCom legacy `taskcard_click`.
    TaskCardClick(TaskCardClickEvent<'a>),
    /// WeCom `kf_msg_or_event` (WeChat customer service).
    KfMsgOrEvent(KfMsgOrEvent<'a>),
    /// WeCom `batch_job_result` (app event or suite `InfoType`).
    BatchJobResult(BatchJobResultEvent<'a>),
    /// WeCom `change_contact` (app event or suite `InfoType`).
    ChangeContact(ContactChangeEvent<'a>),
    /// WeCom `change_external_contact` (app event or suite `InfoType`).
    ChangeExternalContact(ExternalContactEvent<'a>),
    /// WeCom `change_external_chat` (app event or suite `InfoType`).
    ChangeExternalChat(ExternalChatEvent<'a>),
    /// WeCom `change_external_tag` (app event or suite `InfoType`).
    ChangeExternalTag(ExternalTagEvent<'a>),
    /// WeCom `sys_approval_change`.
    SysApprovalChange(ApprovalChangeEvent<'a>),

    /// Suite `suite_ticket`.
    SuiteTicket(SuiteTicketEvent<'a>),
    /// Suite `create_auth`.
    CreateAuth(AuthCodeEvent<'a>),
    /// Suite `change_auth`.
    ChangeAuth(AuthCorpEvent<'a>),
    /// Suite `cancel_auth`.
    CancelAuth(AuthCorpEvent<'a>),
    /// Suite `reset_permanent_code`.
    ResetPermanentCode(AuthCodeEvent<'a>),

    /// Any `MsgType`, `Event` or `InfoType` not listed above. Every field is still in
    /// [`Message::doc`] and [`Message::to_json`].
    Unknown(UnknownKind<'a>),
}

/// The discriminating values of an [`Inbound::Unknown`] push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKind<'a> {
    /// `MsgType`, if any.
    pub msg_type: Option<&'a str>,
    /// `Event`, if any.
    pub event: Option<&'a str>,
    /// `InfoType`, if any (suite commands).
    pub info_type: Option<&'a str>,
}

impl Message {
    /// Parses a decrypted callback plaintext (or an unencrypted push).
    ///
    /// Errors on anything that is not well-formed XML, on DTD/entity payloads, and on XML
    /// that has neither `MsgType` nor `InfoType`. Unknown kinds are **not** errors.
    pub fn parse(xml: &str) -> Result<Message, ParseError> {
        Self::from_doc(XmlDoc::parse(xml)?)
    }

    /// Parses UTF-8 bytes; see [`Message::parse`].
    pub fn parse_bytes(xml: &[u8]) -> Result<Message, ParseError> {
        Self::from_doc(XmlDoc::parse_bytes(xml)?)
    }

    /// Wraps an already parsed document; it must have `MsgType` or `InfoType`.
    pub fn from_doc(doc: XmlDoc) -> Result<Message, ParseError> {
        if doc.get("MsgType").is_none() && doc.get("InfoType").is_none() {
            return Err(ParseError::NotAPush);
        }
        Ok(Message { doc })
    }

    /// The full document: every field, nested and repeated ones included, in order.
    pub fn doc(&self) -> &XmlDoc {
        &self.doc
    }

    /// Consumes the message, returning its document.
    pub fn into_doc(self) -> XmlDoc {
        self.doc
    }

    /// Text of the top-level field `name` (exact casing), e.g. `get("EventKey")`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.doc.get(name)
    }

    /// All fields as a JSON object, for forwarding (mapping in [`super::json`]).
    pub fn to_json(&self) -> Value {
        super::json::doc_to_value(&self.doc)
    }

    /// `MsgType`, if present.
    pub fn msg_type(&self) -> Option<&str> {
        self.doc.get("MsgType")
    }

    /// `Event`, if present.
    pub fn event(&self) -> Option<&str> {
        self.doc.get("Event")
    }

    /// `InfoType`, if present (suite command callbacks).
    pub fn info_type(&self) -> Option<&str> {
        self.doc.get("InfoType")
    }

    /// Whether this is a suite command callback (has `InfoType`, §5.3–5.4).
    pub fn is_suite_command(&self) -> bool {
        self.info_type().is_some()
    }

    /// Whether this is an event (`MsgType` `event`) rather than a user message.
    pub fn is_event(&self) -> bool {
        self.msg_type() == Some("event")
    }

    /// The common fields.
    pub fn header(&self) -> Header<'_> {
        let r = self.doc.root();
        Header {
            to_user_name: r.get("ToUserName"),
            from_user_name: r.get("FromUserName"),
            create_time: int(&r, "CreateTime"),
            msg_type: r.get("MsgType"),
            event: r.get("Event"),
            agent_id: int(&r, "AgentID"),
            suite_id: r.get("SuiteId"),
            info_type: r.get("InfoType"),
            timestamp: int(&r, "TimeStamp"),
        }
    }

    /// The typed view (computed on each call; cheap, no copies).
    pub fn kind(&self) -> Inbound<'_> {
        let r = self.doc.root();
        let r = &r;
        let msg_type = r.get("MsgType");
        let event = r.get("Event");
        let info_type = r.get("InfoType");
        let unknown = || {
            Inbound::Unknown(UnknownKind {
                msg_type,
                event,
                info_type,
            })
        };
        // Suite command callbacks carry InfoType instead of MsgType (§5.3–5.4).
        if msg_type.is_none() {
            return match info_type.unwrap_or("") {
                "suite_ticket" => Inbound::SuiteTicket(SuiteTicketEvent::from_root(r)),
                "create_auth" => Inbound::CreateAuth(AuthCodeEvent::from_root(r)),
                "reset_permanent_code" => Inbound::ResetPermanentCode(AuthCodeEvent::from_root(r)),
                "change_auth" => Inbound::ChangeAuth(AuthCorpEvent::from_root(r)),
                "cancel_auth" => Inbound::CancelAuth(AuthCorpEvent::from_root(r)),
                "change_contact" => Inbound::ChangeContact(ContactChangeEvent::from_root(r)),
                "change_external_contact" => {
                    Inbound::ChangeExternalContact(ExternalContactEvent::from_root(r))
                }
                "change_external_chat" => {
                    Inbound::ChangeExternalChat(ExternalChatEvent::from_root(r))
                }
                "change_external_tag" => Inbound::ChangeExternalTag(ExternalTagEvent::from_root(r)),
                "batch_job_result" => Inbound::BatchJobResult(BatchJobResultEvent::from_root(r)),
                _ => unknown(),
            };
        }
        match msg_type.unwrap_or("") {
            "text" => Inbound::Text(TextMessage::from_root(r)),
            "image" => Inbound::Image(ImageMessage::from_root(r)),
            "voice" => Inbound::Voice(VoiceMessage::from_root(r)),
            "video" => Inbound::Video(VideoMessage::from_root(r)),
            "shortvideo" => Inbound::ShortVideo(VideoMessage::from_root(r)),
            "location" => Inbound::Location(LocationMessage::from_root(r)),
            "link" => Inbound::Link(LinkMessage::from_root(r)),
            "miniprogrampage" => Inbound::MiniProgramPage(MiniProgramPageMessage::from_root(r)),
            "event" => match event.unwrap_or("") {
                "subscribe" => Inbound::Subscribe(SubscribeEvent::from_root(r)),
                "unsubscribe" => Inbound::Unsubscribe,
                "SCAN" => Inbound::Scan(ScanEvent::from_root(r)),
                "LOCATION" => Inbound::LocationReport(LocationEvent::from_root(r)),
                // OA spells menu events in upper case, WeCom in lower case (§2.10, §4.12).
                "CLICK" | "click" => Inbound::Click(KeyEvent::from_root(r)),
                "VIEW" | "view" => Inbound::View(ViewEvent::from_root(r)),
                "view_miniprogram" => Inbound::ViewMiniProgram(ViewEvent::from_root(r)),
                "scancode_push" => Inbound::ScanCode(ScanCodeEvent::from_root(r, false)),
                "scancode_waitmsg" => Inbound::ScanCode(ScanCodeEvent::from_root(r, true)),
                "pic_sysphoto" => Inbound::Pic(PicEvent::from_root(r, PicSource::SysPhoto)),
                "pic_photo_or_album" => {
                    Inbound::Pic(PicEvent::from_root(r, PicSource::PhotoOrAlbum))
                }
                "pic_weixin" => Inbound::Pic(PicEvent::from_root(r, PicSource::Weixin)),
                "location_select" => Inbound::LocationSelect(LocationSelectEvent::from_root(r)),
                "TEMPLATESENDJOBFINISH" => {
                    Inbound::TemplateSendJobFinish(TemplateSendJobFinishEvent::from_root(r))
                }
                "MASSSENDJOBFINISH" => {
                    Inbound::MassSendJobFinish(MassSendJobFinishEvent::from_root(r))
                }
                "subscribe_msg_popup_event" => Inbound::SubscribeMsgPopup(
                    SubscribeMsgEvent::from_root(r, "SubscribeMsgPopupEvent"),
                ),
                "subscribe_msg_change_event" => Inbound::SubscribeMsgChange(
                    SubscribeMsgEvent::from_root(r, "SubscribeMsgChangeEvent"),
                ),
                "subscribe_msg_sent_event" => Inbound::SubscribeMsgSent(
                    SubscribeMsgEvent::from_root(r, "SubscribeMsgSentEvent"),
                ),
                "kf_create_session" => {
                    Inbound::KfSession(KfSessionEvent::from_root(r, KfSessionAction::Create))
                }
                "kf_close_session" => {
                    Inbound::KfSession(KfSessionEvent::from_root(r, KfSessionAction::Close))
                }
                "kf_switch_session" => {
                    Inbound::KfSession(KfSessionEvent::from_root(r, KfSessionAction::Switch))
                }
                "user_enter_tempsession" => {
                    Inbound::UserEnterTempSession(TempSessionEvent::from_root(r))
                }
                "enter_agent" => Inbound::EnterAgent(KeyEvent::from_root(r)),
                "kf_msg_or_event" => Inbound::KfMsgOrEvent(KfMsgOrEvent::from_root(r)),
                "template_card_event" => {
                    Inbound::TemplateCard(TemplateCardEvent::from_root(r, false))
                }
                "template_card_menu_event" => {
                    Inbound::TemplateCard(TemplateCardEvent::from_root(r, true))
                }
                "taskcard_click" => Inbound::TaskCardClick(TaskCardClickEvent::from_root(r)),
                "batch_job_result" => Inbound::BatchJobResult(BatchJobResultEvent::from_root(r)),
                "change_contact" => Inbound::ChangeContact(ContactChangeEvent::from_root(r)),
                "change_external_contact" => {
                    Inbound::ChangeExternalContact(ExternalContactEvent::from_root(r))
                }
                "change_external_chat" => {
                    Inbound::ChangeExternalChat(ExternalChatEvent::from_root(r))
                }
                "change_external_tag" => Inbound::ChangeExternalTag(ExternalTagEvent::from_root(r)),
                "sys_approval_change" => {
                    Inbound::SysApprovalChange(ApprovalChangeEvent::from_root(r))
                }
                _ => unknown(),
            },
            _ => unknown(),
        }
    }
}

impl std::str::FromStr for Message {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Message, ParseError> {
        Message::parse(s)
    }
}

impl serde::Serialize for Message {
    /// Serialises as the JSON object of [`Message::to_json`], in document order.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.doc.serialize(s)
    }
}
