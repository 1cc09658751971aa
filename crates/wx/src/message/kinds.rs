//! Typed views of normal messages and user-triggered events, shared by Official Accounts and
//! WeCom apps (reference §2.10, §4.12).
//!
//! Every view borrows from its [`Message`](super::Message): no copies. Optional fields are
//! `Option`, `None` when the element is absent; numeric fields are `None` when absent or not
//! a number (the raw text stays available through [`Message::doc`](super::Message::doc)).

use super::xml::Element;

pub(crate) fn int(e: &Element<'_>, name: &str) -> Option<i64> {
    e.get(name).and_then(|s| s.trim().parse().ok())
}

pub(crate) fn float(e: &Element<'_>, name: &str) -> Option<f64> {
    e.get(name).and_then(|s| s.trim().parse().ok())
}

/// The id of a normal message: `MsgId`, or `MsgID` as some payloads spell it (§7 pitfall 13).
pub(crate) fn msg_id<'a>(e: &Element<'a>) -> Option<&'a str> {
    e.get("MsgId").or_else(|| e.get("MsgID"))
}

/// `text` message: `Content`, `MsgId`; `MsgDataId`/`Idx` when sent from an article (OA).
#[derive(Debug, Clone, PartialEq)]
pub struct TextMessage<'a> {
    /// The text the user sent.
    pub content: &'a str,
    /// 64-bit message id (kept as text).
    pub msg_id: Option<&'a str>,
    /// Article data id (OA, messages sent from an article).
    pub msg_data_id: Option<&'a str>,
    /// Article index (OA, messages sent from an article).
    pub idx: Option<&'a str>,
}

impl<'a> TextMessage<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        TextMessage {
            content: r.get("Content").unwrap_or(""),
            msg_id: msg_id(r),
            msg_data_id: r.get("MsgDataId"),
            idx: r.get("Idx"),
        }
    }
}

/// `image` message.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageMessage<'a> {
    /// Picture URL.
    pub pic_url: Option<&'a str>,
    /// Temporary media id (download via the media API).
    pub media_id: Option<&'a str>,
    /// Message id.
    pub msg_id: Option<&'a str>,
}

impl<'a> ImageMessage<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        ImageMessage {
            pic_url: r.get("PicUrl"),
            media_id: r.get("MediaId"),
            msg_id: msg_id(r),
        }
    }
}

/// `voice` message.
#[derive(Debug, Clone, PartialEq)]
pub struct VoiceMessage<'a> {
    /// Temporary media id.
    pub media_id: Option<&'a str>,
    /// `amr` or `speex`.
    pub format: Option<&'a str>,
    /// Speech-to-text result (OA, only when enabled; being phased out).
    pub recognition: Option<&'a str>,
    /// 16 kHz media id (some OA versions).
    pub media_id_16k: Option<&'a str>,
    /// Message id.
    pub msg_id: Option<&'a str>,
}

impl<'a> VoiceMessage<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        VoiceMessage {
            media_id: r.get("MediaId"),
            format: r.get("Format"),
            recognition: r.get("Recognition"),
            media_id_16k: r.get("MediaId16K"),
            msg_id: msg_id(r),
        }
    }
}

/// `video` and `shortvideo` messages.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoMessage<'a> {
    /// Temporary media id.
    pub media_id: Option<&'a str>,
    /// Thumbnail media id.
    pub thumb_media_id: Option<&'a str>,
    /// Message id.
    pub msg_id: Option<&'a str>,
}

impl<'a> VideoMessage<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        VideoMessage {
            media_id: r.get("MediaId"),
            thumb_media_id: r.get("ThumbMediaId"),
            msg_id: msg_id(r),
        }
    }
}

/// `location` message (a location the user sent).
#[derive(Debug, Clone, PartialEq)]
pub struct LocationMessage<'a> {
    /// `Location_X`: latitude.
    pub latitude: Option<f64>,
    /// `Location_Y`: longitude.
    pub longitude: Option<f64>,
    /// Map zoom level.
    pub scale: Option<f64>,
    /// Place description.
    pub label: Option<&'a str>,
    /// WeCom: `wxwork` when sent from WeCom, `wx` from the WeChat plugin.
    pub app_type: Option<&'a str>,
    /// Message id.
    pub msg_id: Option<&'a str>,
}

impl<'a> LocationMessage<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        LocationMessage {
            latitude: float(r, "Location_X"),
            longitude: float(r, "Location_Y"),
            scale: float(r, "Scale"),
            label: r.get("Label"),
            app_type: r.get("AppType"),
            msg_id: msg_id(r),
        }
    }
}

/// `link` message.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkMessage<'a> {
    /// Link title.
    pub title: Option<&'a str>,
    /// Link description.
    pub description: Option<&'a str>,
    /// Target URL.
    pub url: Option<&'a str>,
    /// Cover picture (WeCom).
    pub pic_url: Option<&'a str>,
    /// Message id.
    pub msg_id: Option<&'a str>,
}

impl<'a> LinkMessage<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        LinkMessage {
            title: r.get("Title"),
            description: r.get("Description"),
            url: r.get("Url"),
            pic_url: r.get("PicUrl"),
            msg_id: msg_id(r),
        }
    }
}

/// `miniprogrampage` message (mini-program card sent to customer service).
#[derive(Debug, Clone, PartialEq)]
pub struct MiniProgramPageMessage<'a> {
    /// Mini program AppID.
    pub app_id: Option<&'a str>,
    /// Card title.
    pub title: Option<&'a str>,
    /// Page path.
    pub page_path: Option<&'a str>,
    /// Thumbnail URL.
    pub thumb_url: Option<&'a str>,
    /// Thumbnail media id.
    pub thumb_media_id: Option<&'a str>,
    /// Message id.
    pub msg_id: Option<&'a str>,
}

impl<'a> MiniProgramPageMessage<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        MiniProgramPageMessage {
            app_id: r.get("AppId"),
            title: r.get("Title"),
            page_path: r.get("PagePath"),
            thumb_url: r.get("ThumbUrl"),
            thumb_media_id: r.get("ThumbMediaId"),
            msg_id: msg_id(r),
        }
    }
}

/// `subscribe` event: a user followed the OA (or a WeCom member the app).
#[derive(Debug, Clone, PartialEq)]
pub struct SubscribeEvent<'a> {
    /// Empty for a plain follow; `qrscene_<scene>` when following via a parametric QR code.
    pub event_key: Option<&'a str>,
    /// QR code ticket (parametric QR follows only).
    pub ticket: Option<&'a str>,
}

impl<'a> SubscribeEvent<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        SubscribeEvent {
            event_key: r.get("EventKey"),
            ticket: r.get("Ticket"),
        }
    }

    /// The QR scene value when the follow came from a parametric QR code: `EventKey` without
    /// its `qrscene_` prefix (§2.10). `None` for a plain follow.
    pub fn qr_scene(&self) -> Option<&'a str> {
        self.event_key.and_then(|k| k.strip_prefix("qrscene_"))
    }
}

/// `SCAN` event: an existing follower scanned a parametric QR code.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanEvent<'a> {
    /// The scene value (no `qrscene_` prefix here, unlike `subscribe`).
    pub scene: Option<&'a str>,
    /// QR code ticket.
    pub ticket: Option<&'a str>,
}

impl<'a> ScanEvent<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        ScanEvent {
            scene: r.get("EventKey"),
            ticket: r.get("Ticket"),
        }
    }
}

/// `LOCATION` event: periodic location report.
#[derive(Debug, Clone, PartialEq)]
pub struct LocationEvent<'a> {
    /// Latitude.
    pub latitude: Option<f64>,
    /// Longitude.
    pub longitude: Option<f64>,
    /// Precision in metres.
    pub precision: Option<f64>,
    /// WeCom: `wxwork` or `wx`.
    pub app_type: Option<&'a str>,
}

impl<'a> LocationEvent<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        LocationEvent {
            latitude: float(r, "Latitude"),
            longitude: float(r, "Longitude"),
            precision: float(r, "Precision"),
            app_type: r.get("AppType"),
        }
    }
}

/// Menu events carrying only a key: OA `CLICK`, WeCom `click`, WeCom `enter_agent`.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyEvent<'a> {
    /// The button key (empty for `enter_agent`).
    pub event_key: Option<&'a str>,
}

impl<'a> KeyEvent<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        KeyEvent {
            event_key: r.get("EventKey"),
        }
    }
}

/// OA `VIEW` / WeCom `view` (menu link) and `view_miniprogram` events.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewEvent<'a> {
    /// `EventKey`: the URL (or the mini-program page path).
    pub target: Option<&'a str>,
    /// Menu id (OA personalised menus).
    pub menu_id: Option<&'a str>,
}

impl<'a> ViewEvent<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        ViewEvent {
            target: r.get("EventKey"),
            menu_id: r.get("MenuId"),
        }
    }
}

/// `scancode_push` / `scancode_waitmsg` events.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanCodeEvent<'a> {
    /// `true` for `scancode_waitmsg` (the client waits for a reply).
    pub wait_msg: bool,
    /// Button key.
    pub event_key: Option<&'a str>,
    /// `ScanCodeInfo/ScanType`, e.g. `qrcode`.
    pub scan_type: Option<&'a str>,
    /// `ScanCodeInfo/ScanResult`.
    pub scan_result: Option<&'a str>,
}

impl<'a> ScanCodeEvent<'a> {
    pub(crate) fn from_root(r: &Element<'a>, wait_msg: bool) -> Self {
        let info = r.child("ScanCodeInfo");
        ScanCodeEvent {
            wait_msg,
            event_key: r.get("EventKey"),
            scan_type: info.and_then(|i| i.get("ScanType")),
            scan_result: info.and_then(|i| i.get("ScanResult")),
        }
    }
}

/// Which picture button produced a [`PicEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PicSource {
    /// `pic_sysphoto`: camera.
    SysPhoto,
    /// `pic_photo_or_album`: camera or album.
    PhotoOrAlbum,
    /// `pic_weixin`: WeChat album.
    Weixin,
}

/// `pic_sysphoto` / `pic_photo_or_album` / `pic_weixin` events.
#[derive(Debug, Clone, PartialEq)]
pub struct PicEvent<'a> {
    /// Button kind.
    pub source: PicSource,
    /// Button key.
    pub event_key: Option<&'a str>,
    /// `SendPicsInfo/Count`.
    pub count: Option<i64>,
    /// `SendPicsInfo/PicList/item/PicMd5Sum`, one per picture.
    pub pic_md5_sums: Vec<&'a str>,
}

impl<'a> PicEvent<'a> {
    pub(crate) fn from_root(r: &Element<'a>, source: PicSource) -> Self {
        let info = r.child("SendPicsInfo");
        let pic_md5_sums = info
            .and_then(|i| i.child("PicList"))
            .map(|list| {
                list.children_named("item")
                    .filter_map(|it| it.get("PicMd5Sum"))
                    .collect()
            })
            .unwrap_or_default();
        PicEvent {
            source,
            event_key: r.get("EventKey"),
            count: info.and_then(|i| int(&i, "Count")),
            pic_md5_sums,
        }
    }
}

/// `location_select` event.
#[derive(Debug, Clone, PartialEq)]
pub struct LocationSelectEvent<'a> {
    /// Button key.
    pub event_key: Option<&'a str>,
    /// `SendLocationInfo/Location_X`: latitude.
    pub latitude: Option<f64>,
    /// `SendLocationInfo/Location_Y`: longitude.
    pub longitude: Option<f64>,
    /// Zoom level.
    pub scale: Option<f64>,
    /// Address label.
    pub label: Option<&'a str>,
    /// Point-of-interest name.
    pub poiname: Option<&'a str>,
}

impl<'a> LocationSelectEvent<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        let info = r.child("SendLocationInfo");
        LocationSelectEvent {
            event_key: r.get("EventKey"),
            latitude: info.and_then(|i| float(&i, "Location_X")),
            longitude: info.and_then(|i| float(&i, "Location_Y")),
            scale: info.and_then(|i| float(&i, "Scale")),
            label: info.and_then(|i| i.get("Label")),
            poiname: info.and_then(|i| i.get("Poiname")),
        }
    }
}

/// OA `TEMPLATESENDJOBFINISH`: delivery result of a template message.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateSendJobFinishEvent<'a> {
    /// `MsgID` (capital D here, §7 pitfall 13): the `msgid` returned by the send API.
    pub msg_id: Option<&'a str>,
    /// `success`, `failed:user block`, `failed: system failed`.
    pub status: Option<&'a str>,
}

impl<'a> TemplateSendJobFinishEvent<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        TemplateSendJobFinishEvent {
            msg_id: msg_id(r),
            status: r.get("Status"),
        }
    }

    /// Whether the status says the message was delivered.
    pub fn is_success(&self) -> bool {
        self.status == Some("success")
    }
}

/// OA `MASSSENDJOBFINISH`: result of a mass send.
#[derive(Debug, Clone, PartialEq)]
pub struct MassSendJobFinishEvent<'a> {
    /// `MsgID` of the mass send.
    pub msg_id: Option<&'a str>,
    /// Status text.
    pub status: Option<&'a str>,
    /// `TotalCount`.
    pub total_count: Option<i64>,
    /// `FilterCount`.
    pub filter_count: Option<i64>,
    /// `SentCount`.
    pub sent_count: Option<i64>,
    /// `ErrorCount`.
    pub error_count: Option<i64>,
}

impl<'a> MassSendJobFinishEvent<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        MassSendJobFinishEvent {
            msg_id: msg_id(r),
            status: r.get("Status"),
            total_count: int(r, "TotalCount"),
            filter_count: int(r, "FilterCount"),
            sent_count: int(r, "SentCount"),
            error_count: int(r, "ErrorCount"),
        }
    }
}

/// One `List` item of the OA subscription-notification events.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscribeMsgItem<'a> {
    /// Template id.
    pub template_id: Option<&'a str>,
    /// `accept` / `reject` (popup and change events).
    pub subscribe_status: Option<&'a str>,
    /// `PopupScene` (popup event).
    pub popup_scene: Option<&'a str>,
    /// `MsgID` (sent event).
    pub msg_id: Option<&'a str>,
    /// `ErrorCode` (sent event).
    pub error_code: Option<i64>,
    /// `ErrorStatus` (sent event): `success`, `failed:user refuse`, `failed:system failed`.
    pub error_status: Option<&'a str>,
}

/// OA `subscribe_msg_popup_event` / `subscribe_msg_change_event` / `subscribe_msg_sent_event`:
/// one item per template (the `List` element repeats, §2.10).
#[derive(Debug, Clone, PartialEq)]
pub struct SubscribeMsgEvent<'a> {
    /// The items, in document order.
    pub items: Vec<SubscribeMsgItem<'a>>,
}

impl<'a> SubscribeMsgEvent<'a> {
    /// `container` is `SubscribeMsgPopupEvent`, `SubscribeMsgChangeEvent` or
    /// `SubscribeMsgSentEvent`.
    pub(crate) fn from_root(r: &Element<'a>, container: &str) -> Self {
        let items = r
            .child(container)
            .map(|c| {
                c.children_named("List")
                    .map(|l| SubscribeMsgItem {
                        template_id: l.get("TemplateId"),
                        subscribe_status: l.get("SubscribeStatusString"),
                        popup_scene: l.get("PopupScene"),
                        msg_id: msg_id(&l),
                        error_code: int(&l, "ErrorCode"),
                        error_status: l.get("ErrorStatus"),
                    })
                    .collect()
            })
            .unwrap_or_default();
        SubscribeMsgEvent { items }
    }
}

/// What happened in a [`KfSessionEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KfSessionAction {
    /// `kf_create_session`.
    Create,
    /// `kf_close_session`.
    Close,
    /// `kf_switch_session`.
    Switch,
}

/// OA customer-service session events.
#[derive(Debug, Clone, PartialEq)]
pub struct KfSessionEvent<'a> {
    /// Which event.
    pub action: KfSessionAction,
    /// `KfAccount` (create/close).
    pub kf_account: Option<&'a str>,
    /// `FromKfAccount` (switch).
    pub from_kf_account: Option<&'a str>,
    /// `ToKfAccount` (switch).
    pub to_kf_account: Option<&'a str>,
}

impl<'a> KfSessionEvent<'a> {
    pub(crate) fn from_root(r: &Element<'a>, action: KfSessionAction) -> Self {
        KfSessionEvent {
            action,
            kf_account: r.get("KfAccount"),
            from_kf_account: r.get("FromKfAccount"),
            to_kf_account: r.get("ToKfAccount"),
        }
    }
}

/// Mini Program `user_enter_tempsession`: the user opened a customer-service session.
#[derive(Debug, Clone, PartialEq)]
pub struct TempSessionEvent<'a> {
    /// `SessionFrom`: the value set on the contact button.
    pub session_from: Option<&'a str>,
}

impl<'a> TempSessionEvent<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        TempSessionEvent {
            session_from: r.get("SessionFrom"),
        }
    }
}
