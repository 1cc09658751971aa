//! WeCom app messages (`message/send`, reference §4.11.1), template cards (§4.11.2) and
//! card updates (§4.11.3).
//!
//! [`AppMessage::new`] turns on `enable_duplicate_check` with the default 1800 s interval:
//! an identical body inside the interval is not delivered again, so re-sending after an
//! ambiguous failure (timeout, 5xx) cannot double-send. Sending the same text to the same
//! people twice on purpose within 30 minutes therefore needs
//! [`AppMessage::duplicate_check`]`(None)` or a distinguishing detail in the content.

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use super::types::de;

/// Default `duplicate_check_interval` (seconds).
pub const DEFAULT_DUPLICATE_CHECK_INTERVAL: u32 = 1800;
/// Largest `duplicate_check_interval` (4 hours).
pub const MAX_DUPLICATE_CHECK_INTERVAL: u32 = 4 * 3600;

/// A `message/send` request.
#[derive(Debug, Clone, PartialEq)]
pub struct AppMessage {
    /// User ids (`@all` = the app's whole visible scope); joined with `|` on the wire.
    pub touser: Vec<String>,
    /// Department ids.
    pub toparty: Vec<String>,
    /// Tag ids.
    pub totag: Vec<String>,
    /// Sending app.
    pub agentid: i64,
    /// Type and payload.
    pub body: MessageBody,
    /// 0 shareable, 1 confidential with watermark, 2 inside the corp only (mpnews).
    pub safe: Option<u8>,
    /// Render `$userName=ID$` placeholders.
    pub enable_id_trans: Option<u8>,
    /// `Some(interval seconds)`: `enable_duplicate_check` on (default 1800 s); `None`: off.
    pub duplicate_check: Option<u32>,
}

impl AppMessage {
    /// A message from `agentid` with duplicate check on (1800 s) and no recipients yet.
    pub fn new(agentid: i64, body: MessageBody) -> Self {
        Self {
            touser: Vec::new(),
            toparty: Vec::new(),
            totag: Vec::new(),
            agentid,
            body,
            safe: None,
            enable_id_trans: None,
            duplicate_check: Some(DEFAULT_DUPLICATE_CHECK_INTERVAL),
        }
    }

    /// Adds users.
    #[must_use]
    pub fn to_users<I, S>(mut self, users: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.touser.extend(users.into_iter().map(Into::into));
        self
    }

    /// Everyone in the app's visible scope (`touser=@all`).
    #[must_use]
    pub fn to_all(mut self) -> Self {
        self.touser = vec!["@all".into()];
        self
    }

    /// Adds departments.
    #[must_use]
    pub fn to_parties<I: IntoIterator<Item = i64>>(mut self, parties: I) -> Self {
        self.toparty
            .extend(parties.into_iter().map(|p| p.to_string()));
        self
    }

    /// Adds tags.
    #[must_use]
    pub fn to_tags<I: IntoIterator<Item = i64>>(mut self, tags: I) -> Self {
        self.totag.extend(tags.into_iter().map(|t| t.to_string()));
        self
    }

    /// [`super::Idempotency::Idempotent`] while the duplicate check is on, otherwise
    /// [`super::Idempotency::NotIdempotent`]: pass it to [`crate::token::Caller::call`].
    pub fn idempotency(&self) -> super::Idempotency {
        if self.duplicate_check.is_some() {
            super::Idempotency::Idempotent
        } else {
            super::Idempotency::NotIdempotent
        }
    }

    /// Sets the duplicate check: `Some(seconds)` (clamped to 1..=14400) or `None` (off).
    #[must_use]
    pub fn duplicate_check(mut self, interval_secs: Option<u32>) -> Self {
        self.duplicate_check = interval_secs.map(|s| s.clamp(1, MAX_DUPLICATE_CHECK_INTERVAL));
        self
    }
}

impl Serialize for AppMessage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if !self.touser.is_empty() {
            m.serialize_entry("touser", &self.touser.join("|"))?;
        }
        if !self.toparty.is_empty() {
            m.serialize_entry("toparty", &self.toparty.join("|"))?;
        }
        if !self.totag.is_empty() {
            m.serialize_entry("totag", &self.totag.join("|"))?;
        }
        let msgtype = self.body.msgtype();
        m.serialize_entry("msgtype", msgtype)?;
        m.serialize_entry("agentid", &self.agentid)?;
        self.body.serialize_payload(&mut m)?;
        if let Some(safe) = self.safe {
            m.serialize_entry("safe", &safe)?;
        }
        if let Some(t) = self.enable_id_trans {
            m.serialize_entry("enable_id_trans", &t)?;
        }
        match self.duplicate_check {
            Some(interval) => {
                m.serialize_entry("enable_duplicate_check", &1)?;
                m.serialize_entry("duplicate_check_interval", &interval)?;
            }
            None => m.serialize_entry("enable_duplicate_check", &0)?,
        }
        m.end()
    }
}

/// Type and payload of an app message (reference §4.11.1 table).
#[derive(Debug, Clone, PartialEq)]
pub enum MessageBody {
    /// ≤ 2048 bytes (truncated by the platform).
    Text {
        /// Content; `\n` and `<a href>` allowed.
        content: String,
    },
    /// ≤ 2048 bytes, rendered in the WeCom client only.
    Markdown {
        /// Content.
        content: String,
    },
    /// A temporary image.
    Image {
        /// Media id.
        media_id: String,
    },
    /// A voice clip (amr).
    Voice {
        /// Media id.
        media_id: String,
    },
    /// A file.
    File {
        /// Media id.
        media_id: String,
    },
    /// A video.
    Video {
        /// Media id.
        media_id: String,
        /// Title (≤ 128 bytes).
        title: Option<String>,
        /// Description (≤ 512 bytes).
        description: Option<String>,
    },
    /// A text card.
    TextCard(TextCard),
    /// 1–8 linked articles.
    News(Vec<NewsArticle>),
    /// 1–8 stored articles.
    MpNews(Vec<Value>),
    /// A Mini Program notice.
    MiniprogramNotice(Value),
    /// A template card.
    TemplateCard(Box<TemplateCard>),
    /// Any other type: `msgtype` and its payload.
    Raw {
        /// The msgtype.
        msgtype: String,
        /// The payload object.
        payload: Value,
    },
}

#[derive(Serialize)]
struct Content<'a> {
    content: &'a str,
}

#[derive(Serialize)]
struct Media<'a> {
    media_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
}

#[derive(Serialize)]
struct Articles<'a, T> {
    articles: &'a [T],
}

impl MessageBody {
    /// A text message.
    pub fn text(content: impl Into<String>) -> Self {
        MessageBody::Text {
            content: content.into(),
        }
    }

    /// A markdown message.
    pub fn markdown(content: impl Into<String>) -> Self {
        MessageBody::Markdown {
            content: content.into(),
        }
    }

    /// The `msgtype` value.
    pub fn msgtype(&self) -> &str {
        match self {
            MessageBody::Text { .. } => "text",
            MessageBody::Markdown { .. } => "markdown",
            MessageBody::Image { .. } => "image",
            MessageBody::Voice { .. } => "voice",
            MessageBody::File { .. } => "file",
            MessageBody::Video { .. } => "video",
            MessageBody::TextCard(_) => "textcard",
            MessageBody::News(_) => "news",
            MessageBody::MpNews(_) => "mpnews",
            MessageBody::MiniprogramNotice(_) => "miniprogram_notice",
            MessageBody::TemplateCard(_) => "template_card",
            MessageBody::Raw { msgtype, .. } => msgtype,
        }
    }

    fn serialize_payload<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let key = self.msgtype();
        match self {
            MessageBody::Text { content } | MessageBody::Markdown { content } => {
                m.serialize_entry(key, &Content { content })
            }
            MessageBody::Image { media_id }
            | MessageBody::Voice { media_id }
            | MessageBody::File { media_id } => m.serialize_entry(
                key,
                &Media {
                    media_id,
                    title: None,
                    description: None,
                },
            ),
            MessageBody::Video {
                media_id,
                title,
                description,
            } => m.serialize_entry(
                key,
                &Media {
                    media_id,
                    title: title.as_deref(),
                    description: description.as_deref(),
                },
            ),
            MessageBody::TextCard(card) => m.serialize_entry(key, card),
            MessageBody::News(articles) => m.serialize_entry(key, &Articles { articles }),
            MessageBody::MpNews(articles) => m.serialize_entry(key, &Articles { articles }),
            MessageBody::MiniprogramNotice(v) => m.serialize_entry(key, v),
            MessageBody::TemplateCard(card) => m.serialize_entry(key, card),
            MessageBody::Raw { payload, .. } => m.serialize_entry(key, payload),
        }
    }
}

/// `textcard` payload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextCard {
    /// Title (≤ 128 bytes).
    pub title: String,
    /// Description (≤ 512 bytes; `<div class="gray|normal|highlight">` allowed).
    pub description: String,
    /// Link (required).
    pub url: String,
    /// Button text (≤ 4 chars, default 详情).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub btntxt: Option<String>,
}

/// One `news` article.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewsArticle {
    /// Title (≤ 128 bytes).
    pub title: String,
    /// Description (≤ 512 bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Picture URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picurl: Option<String>,
    /// Mini Program appid (overrides url).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    /// Mini Program page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pagepath: Option<String>,
}

/// A template card (reference §4.11.2). Interactive types (`button_interaction`,
/// `vote_interaction`, `multiple_interaction`) and cards with `action_menu` need a `task_id`
/// unique forever per app.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TemplateCard {
    /// `text_notice`, `news_notice`, `button_interaction`, `vote_interaction`,
    /// `multiple_interaction`.
    pub card_type: String,
    /// Source line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<CardSource>,
    /// Top-right menu (needs `task_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_menu: Option<ActionMenu>,
    /// Task id (`[0-9a-zA-Z_-@]`, ≤ 128 bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// Main title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_title: Option<TitleDesc>,
    /// Emphasised figure (text_notice).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emphasis_content: Option<TitleDesc>,
    /// Quote area.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote_area: Option<Value>,
    /// Secondary text (≤ 160 chars).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_title_text: Option<String>,
    /// Key/value rows (≤ 6).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub horizontal_content_list: Vec<HorizontalContent>,
    /// Links (≤ 3).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub jump_list: Vec<CardJump>,
    /// Whole-card click (required for the notice types).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_action: Option<CardJump>,
    /// Picture (news_notice).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_image: Option<CardImage>,
    /// Picture with text (news_notice).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_text_area: Option<Value>,
    /// Vertical rows (news_notice, ≤ 4).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vertical_content_list: Vec<TitleDesc>,
    /// Drop-down (button_interaction).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub button_selection: Option<Value>,
    /// Buttons (button_interaction, ≤ 6).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub button_list: Vec<CardButton>,
    /// Options (vote_interaction).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkbox: Option<Value>,
    /// Submit button (vote / multiple).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submit_button: Option<SubmitButton>,
    /// Selectors (multiple_interaction, ≤ 3).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub select_list: Vec<Value>,
    /// Any other field, sent as is.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{"icon_url", "desc", "desc_color"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CardSource {
    /// Icon.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
    /// Text (≤ 20 chars).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    /// 0 grey, 1 black, 2 red, 3 green.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desc_color: Option<i64>,
}

/// `{"desc", "action_list": [{"text", "key"}]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActionMenu {
    /// Text.
    pub desc: String,
    /// 1–3 actions.
    pub action_list: Vec<ActionItem>,
}

/// One menu action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActionItem {
    /// Label.
    pub text: String,
    /// Callback key.
    pub key: String,
}

/// `{"title", "desc"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TitleDesc {
    /// Title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
}

impl TitleDesc {
    /// A title without description.
    pub fn title(title: impl Into<String>) -> Self {
        Self {
            title: Some(title.into()),
            desc: None,
        }
    }
}

/// One horizontal row: type 0 text, 1 link, 2 file, 3 member.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HorizontalContent {
    /// Row type.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<i64>,
    /// Key (≤ 5 chars).
    pub keyname: String,
    /// Value (≤ 30 chars).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Link (type 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// File (type 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    /// Member (type 3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userid: Option<String>,
}

/// A link or click target: type 1 URL, 2 Mini Program (0 none, jump_list only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CardJump {
    /// Target type.
    #[serde(rename = "type")]
    pub kind: i64,
    /// Label (jump_list, ≤ 18 chars).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Mini Program appid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    /// Mini Program page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pagepath: Option<String>,
}

impl CardJump {
    /// A URL target.
    pub fn url(url: impl Into<String>) -> Self {
        Self {
            kind: 1,
            url: Some(url.into()),
            ..Self::default()
        }
    }
}

/// `{"url", "aspect_ratio"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CardImage {
    /// Picture URL.
    pub url: String,
    /// Between 1.3 and 2.25.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<f64>,
}

/// One callback or link button.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CardButton {
    /// Label (≤ 10 chars).
    pub text: String,
    /// Style 1–4.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<i64>,
    /// Callback key (type 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// 0 callback (default), 1 open `url`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<i64>,
    /// URL (type 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl CardButton {
    /// A callback button.
    pub fn callback(text: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            key: Some(key.into()),
            ..Self::default()
        }
    }
}

/// `{"text", "key"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubmitButton {
    /// Label (≤ 10 chars).
    pub text: String,
    /// Callback key.
    pub key: String,
}

/// `message/send` answer: partial success is normal (reference §7 row 17).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SendResult {
    /// `|`-separated invalid or out-of-scope user ids.
    #[serde(deserialize_with = "de::string")]
    pub invaliduser: String,
    /// `|`-separated invalid departments.
    #[serde(deserialize_with = "de::string")]
    pub invalidparty: String,
    /// `|`-separated invalid tags.
    #[serde(deserialize_with = "de::string")]
    pub invalidtag: String,
    /// `|`-separated users without a licence.
    #[serde(deserialize_with = "de::string")]
    pub unlicenseduser: String,
    /// Message id (for `message/recall`).
    #[serde(deserialize_with = "de::string")]
    pub msgid: String,
    /// Single-use code for `update_template_card` (callback cards, 72 h).
    #[serde(deserialize_with = "de::opt_string")]
    pub response_code: Option<String>,
}

fn split_bar(s: &str) -> Vec<&str> {
    s.split('|').filter(|x| !x.is_empty()).collect()
}

impl SendResult {
    /// Invalid user ids.
    pub fn invalid_users(&self) -> Vec<&str> {
        split_bar(&self.invaliduser)
    }

    /// Invalid departments.
    pub fn invalid_parties(&self) -> Vec<&str> {
        split_bar(&self.invalidparty)
    }

    /// Invalid tags.
    pub fn invalid_tags(&self) -> Vec<&str> {
        split_bar(&self.invalidtag)
    }
}

/// `message/update_template_card` request (reference §4.11.3): `button` or
/// `template_card`. The response code is single-use, so this call is not idempotent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateTemplateCard {
    /// Users (≤ 1000).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub userids: Vec<String>,
    /// Departments (≤ 100).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub partyids: Vec<i64>,
    /// Tags (≤ 100).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tagids: Vec<i64>,
    /// 1 = everyone who received the card.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub atall: Option<i64>,
    /// App.
    pub agentid: i64,
    /// From the send answer or the callback.
    pub response_code: String,
    /// Replace the button text only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub button: Option<ReplaceButton>,
    /// Replace the whole card.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_card: Option<TemplateCard>,
}

/// `{"replace_name"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReplaceButton {
    /// New label.
    pub replace_name: String,
}

/// `update_template_card` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct UpdateCardResult {
    /// Users the update could not reach.
    #[serde(deserialize_with = "de::vec")]
    pub invaliduser: Vec<String>,
}
