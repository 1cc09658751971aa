//! Passive replies (被动回复): the XML body answering a push within its 5 s window.
//! Reference §2.11 (OA), §4.12 "Passive reply" and §4.11.3 (WeCom card updates), §7
//! pitfalls 8–9.
//!
//! - `ToUserName`/`FromUserName` are the inbound values swapped ([`ReplyTo::answering`]).
//! - `CreateTime` is supplied by the caller: this crate never reads a clock.
//! - Every string goes into CDATA; a `]]>` inside a value is split into
//!   `]]]]><![CDATA[>` (the only way to carry it), and characters XML forbids anywhere
//!   (C0 controls other than tab/LF/CR, U+FFFE, U+FFFF) are dropped, because a reply that
//!   fails to parse makes WeChat show the user "该公众号暂时无法提供服务".
//! - Limits are checked before writing and reported as [`ReplyError`]s; use
//!   [`crate::text`] to truncate on code-point boundaries first if truncation is preferred.
//! - The reply is written into one pre-sized `String` (hot path).
//!
//! Encryption of the reply (safe mode / WeCom) is the caller's next step (crypto module,
//! §1.6). For events needing no reply, answer [`SUCCESS`] or [`EMPTY`]; suite command URLs
//! must answer exactly [`SUCCESS`] (§5.3).

use serde_json::Value;

use super::inbound::Message;

/// The acknowledgement body `success` (lower case): accepted by OA and WeCom for any push,
/// and **required** verbatim by suite command callbacks (§5.3–5.4).
pub const SUCCESS: &str = "success";

/// The empty acknowledgement body: "received, no passive reply" (§2.11, §4.12).
pub const EMPTY: &str = "";

/// Which product's reply rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    /// Official Account (公众号) push.
    OfficialAccount,
    /// WeCom app (self-built, third-party data callback or 代开发).
    WeCom,
}

impl Platform {
    /// The default limits of this platform.
    pub fn limits(self) -> ReplyLimits {
        match self {
            Platform::OfficialAccount => ReplyLimits::OFFICIAL_ACCOUNT,
            Platform::WeCom => ReplyLimits::WECOM,
        }
    }
}

/// Size limits checked by [`Reply::render_with`]; `None` = not checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyLimits {
    /// Maximum `Content` bytes of a text reply.
    pub text_bytes: usize,
    /// Maximum number of news articles.
    pub max_articles: usize,
    /// Maximum bytes of a news/video title.
    pub title_bytes: Option<usize>,
    /// Maximum bytes of a news/video description.
    pub description_bytes: Option<usize>,
    /// Maximum bytes of a news article URL.
    pub url_bytes: Option<usize>,
}

impl ReplyLimits {
    /// OA: text 2048 bytes; news currently **1** article (§2.11: "currently 1 article
    /// (older: up to 8/10)"; raise `max_articles` for legacy accounts).
    pub const OFFICIAL_ACCOUNT: ReplyLimits = ReplyLimits {
        text_bytes: 2048,
        max_articles: 1,
        title_bytes: None,
        description_bytes: None,
        url_bytes: None,
    };

    /// WeCom: text 2048 bytes, news 1..8 articles, title 128 / description 512 / URL 2048
    /// bytes (the app-message limits of §4.11.1, 45008 for > 8 articles in §4.17).
    pub const WECOM: ReplyLimits = ReplyLimits {
        text_bytes: 2048,
        max_articles: 8,
        title_bytes: Some(128),
        description_bytes: Some(512),
        url_bytes: Some(2048),
    };
}

/// Why a reply could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// A required value is empty.
    #[error("passive reply field {field} must not be empty")]
    Empty {
        /// XML element name.
        field: &'static str,
    },
    /// A value exceeds its byte limit.
    #[error("passive reply field {field} is {actual} bytes, over the {max}-byte limit")]
    TooLong {
        /// XML element name.
        field: &'static str,
        /// The limit in UTF-8 bytes.
        max: usize,
        /// The value's length in UTF-8 bytes.
        actual: usize,
    },
    /// Wrong number of news articles.
    #[error("news reply has {count} articles; 1 to {max} are allowed")]
    ArticleCount {
        /// Articles given.
        count: usize,
        /// Maximum allowed.
        max: usize,
    },
    /// The reply type does not exist on this platform.
    #[error("{msg_type} passive replies are not supported on {platform:?}")]
    Unsupported {
        /// The reply `MsgType`.
        msg_type: &'static str,
        /// The platform asked for.
        platform: Platform,
    },
    /// The template card is not a JSON object, or a key cannot be an XML element name.
    #[error("invalid template card: {0}")]
    InvalidCard(String),
}

/// Addressing of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyTo<'a> {
    /// The user: openid (OA) or userid (WeCom) — the inbound `FromUserName`.
    pub to_user_name: &'a str,
    /// The account: OA original id or corpid — the inbound `ToUserName`.
    pub from_user_name: &'a str,
    /// `CreateTime` of the reply (Unix seconds), from the caller's clock.
    pub create_time: i64,
}

impl<'a> ReplyTo<'a> {
    /// Explicit addressing.
    pub fn new(to_user_name: &'a str, from_user_name: &'a str, create_time: i64) -> Self {
        ReplyTo {
            to_user_name,
            from_user_name,
            create_time,
        }
    }

    /// Addressing for answering `msg`: its `FromUserName` and `ToUserName` swapped.
    pub fn answering(msg: &'a Message, create_time: i64) -> Self {
        ReplyTo {
            to_user_name: msg.get("FromUserName").unwrap_or(""),
            from_user_name: msg.get("ToUserName").unwrap_or(""),
            create_time,
        }
    }
}

/// One news article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Article<'a> {
    /// Title.
    pub title: &'a str,
    /// Description.
    pub description: &'a str,
    /// Picture URL.
    pub pic_url: &'a str,
    /// Link URL.
    pub url: &'a str,
}

/// Music reply payload (OA only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Music<'a> {
    /// Title.
    pub title: Option<&'a str>,
    /// Description.
    pub description: Option<&'a str>,
    /// Music URL.
    pub music_url: Option<&'a str>,
    /// High-quality music URL (Wi-Fi).
    pub hq_music_url: Option<&'a str>,
    /// Thumbnail media id (required).
    pub thumb_media_id: &'a str,
}

/// A passive reply. Render it with [`Reply::render`].
///
/// ```
/// use wx::message::{Message, Platform, Reply, ReplyTo};
/// let inbound = Message::parse("<xml><ToUserName>gh_1</ToUserName><FromUserName>oUser</FromUserName>\
///     <CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content><MsgId>9</MsgId></xml>").unwrap();
/// let xml = Reply::Text { content: "a]]>b" }
///     .render(Platform::OfficialAccount, &ReplyTo::answering(&inbound, 1700000000))
///     .unwrap();
/// assert_eq!(xml, "<xml><ToUserName><![CDATA[oUser]]></ToUserName>\
///     <FromUserName><![CDATA[gh_1]]></FromUserName><CreateTime>1700000000</CreateTime>\
///     <MsgType><![CDATA[text]]></MsgType><Content><![CDATA[a]]]]><![CDATA[>b]]></Content></xml>");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Reply<'a> {
    /// Text (`Content`, ≤ 2048 bytes).
    Text {
        /// The text; newlines and (OA) `<a href>` links allowed.
        content: &'a str,
    },
    /// Image by media id.
    Image {
        /// Uploaded media id.
        media_id: &'a str,
    },
    /// Voice by media id.
    Voice {
        /// Uploaded media id.
        media_id: &'a str,
    },
    /// Video by media id.
    Video {
        /// Uploaded media id.
        media_id: &'a str,
        /// Optional title.
        title: Option<&'a str>,
        /// Optional description.
        description: Option<&'a str>,
    },
    /// Music (OA only).
    Music(Music<'a>),
    /// News articles (OA: 1; WeCom: 1..8).
    News(&'a [Article<'a>]),
    /// Hand the conversation to customer service (OA only), optionally to one account.
    TransferCustomerService {
        /// `TransInfo/KfAccount`.
        kf_account: Option<&'a str>,
    },
    /// WeCom: replace the clicked button's text on the clicking user's card (§4.11.3).
    UpdateButton {
        /// `Button/ReplaceName`.
        replace_name: &'a str,
    },
    /// WeCom: replace the whole template card for the clicking user (§4.11.3).
    ///
    /// The card is given in its JSON form (as for `message/send`) and mirrored to XML:
    /// `snake_case` keys become `PascalCase` elements (`main_title` → `MainTitle`, `keyname` →
    /// `KeyName`), keys already starting with an upper-case letter are kept as written,
    /// arrays become repeated elements, strings CDATA, numbers and booleans bare text, nulls
    /// are skipped. The XML names follow the WeCom passive-reply doc as far as the reference
    /// describes it (§4.11.3 points to it for details): verify new card types against it.
    UpdateTemplateCard {
        /// The card object (`{"card_type": …, …}`).
        card: &'a Value,
    },
}

impl Reply<'_> {
    /// The `MsgType` written for this reply.
    pub fn msg_type(&self) -> &'static str {
        match self {
            Reply::Text { .. } => "text",
            Reply::Image { .. } => "image",
            Reply::Voice { .. } => "voice",
            Reply::Video { .. } => "video",
            Reply::Music(_) => "music",
            Reply::News(_) => "news",
            Reply::TransferCustomerService { .. } => "transfer_customer_service",
            Reply::UpdateButton { .. } => "update_button",
            Reply::UpdateTemplateCard { .. } => "update_template_card",
        }
    }

    /// Renders the reply XML with the platform's default [`ReplyLimits`].
    pub fn render(&self, platform: Platform, to: &ReplyTo<'_>) -> Result<String, ReplyError> {
        self.render_with(platform, &platform.limits(), to)
    }

    /// Renders the reply XML with explicit limits.
    pub fn render_with(
        &self,
        platform: Platform,
        limits: &ReplyLimits,
        to: &ReplyTo<'_>,
    ) -> Result<String, ReplyError> {
        self.validate(platform, limits, to)?;
        let mut out = String::with_capacity(self.estimate(to));
        out.push_str("<xml>");
        push_elem(&mut out, "ToUserName", to.to_user_name);
        push_elem(&mut out, "FromUserName", to.from_user_name);
        out.push_str("<CreateTime>");
        out.push_str(itoa(to.create_time, &mut [0u8; 20]));
        out.push_str("</CreateTime>");
        push_elem(&mut out, "MsgType", self.msg_type());
        match self {
            Reply::Text { content } => push_elem(&mut out, "Content", content),
            Reply::Image { media_id } => {
                out.push_str("<Image>");
                push_elem(&mut out, "MediaId", media_id);
                out.push_str("</Image>");
            }
            Reply::Voice { media_id } => {
                out.push_str("<Voice>");
                push_elem(&mut out, "MediaId", media_id);
                out.push_str("</Voice>");
            }
            Reply::Video {
                media_id,
                title,
                description,
            } => {
                out.push_str("<Video>");
                push_elem(&mut out, "MediaId", media_id);
                push_opt(&mut out, "Title", *title);
                push_opt(&mut out, "Description", *description);
                out.push_str("</Video>");
            }
            Reply::Music(m) => {
                out.push_str("<Music>");
                push_opt(&mut out, "Title", m.title);
                push_opt(&mut out, "Description", m.description);
                push_opt(&mut out, "MusicUrl", m.music_url);
                push_opt(&mut out, "HQMusicUrl", m.hq_music_url);
                push_elem(&mut out, "ThumbMediaId", m.thumb_media_id);
                out.push_str("</Music>");
            }
            Reply::News(articles) => {
                out.push_str("<ArticleCount>");
                out.push_str(itoa(
                    i64::try_from(articles.len()).unwrap_or(i64::MAX),
                    &mut [0u8; 20],
                ));
                out.push_str("</ArticleCount><Articles>");
                for a in articles.iter() {
                    out.push_str("<item>");
                    push_elem(&mut out, "Title", a.title);
                    push_elem(&mut out, "Description", a.description);
                    push_elem(&mut out, "PicUrl", a.pic_url);
                    push_elem(&mut out, "Url", a.url);
                    out.push_str("</item>");
                }
                out.push_str("</Articles>");
            }
            Reply::TransferCustomerService { kf_account } => {
                if let Some(kf) = kf_account {
                    out.push_str("<TransInfo>");
                    push_elem(&mut out, "KfAccount", kf);
                    out.push_str("</TransInfo>");
                }
            }
            Reply::UpdateButton { replace_name } => {
                out.push_str("<Button>");
                push_elem(&mut out, "ReplaceName", replace_name);
                out.push_str("</Button>");
            }
            Reply::UpdateTemplateCard { card } => {
                out.push_str("<TemplateCard>");
                if let Value::Object(map) = card {
                    for (k, v) in map {
                        push_card_value(&mut out, k, v, 0)?;
                    }
                }
                out.push_str("</TemplateCard>");
            }
        }
        out.push_str("</xml>");
        Ok(out)
    }

    fn validate(
        &self,
        platform: Platform,
        limits: &ReplyLimits,
        to: &ReplyTo<'_>,
    ) -> Result<(), ReplyError> {
        non_empty("ToUserName", to.to_user_name)?;
        non_empty("FromUserName", to.from_user_name)?;
        let unsupported = || ReplyError::Unsupported {
            msg_type: self.msg_type(),
            platform,
        };
        match self {
            Reply::Text { content } => {
                non_empty("Content", content)?;
                max_bytes("Content", content, Some(limits.text_bytes))
            }
            Reply::Image { media_id } | Reply::Voice { media_id } => non_empty("MediaId", media_id),
            Reply::Video {
                media_id,
                title,
                description,
            } => {
                non_empty("MediaId", media_id)?;
                max_bytes("Title", title.unwrap_or(""), limits.title_bytes)?;
                max_bytes(
                    "Description",
                    description.unwrap_or(""),
                    limits.description_bytes,
                )
            }
            Reply::Music(m) => {
                if platform != Platform::OfficialAccount {
                    return Err(unsupported());
                }
                non_empty("ThumbMediaId", m.thumb_media_id)
            }
            Reply::News(articles) => {
                if articles.is_empty() || articles.len() > limits.max_articles {
                    return Err(ReplyError::ArticleCount {
                        count: articles.len(),
                        max: limits.max_articles,
                    });
                }
                for a in articles.iter() {
                    non_empty("Title", a.title)?;
                    max_bytes("Title", a.title, limits.title_bytes)?;
                    max_bytes("Description", a.description, limits.description_bytes)?;
                    max_bytes("Url", a.url, limits.url_bytes)?;
                }
                Ok(())
            }
            Reply::TransferCustomerService { .. } => {
                if platform != Platform::OfficialAccount {
                    return Err(unsupported());
                }
                Ok(())
            }
            Reply::UpdateButton { replace_name } => {
                if platform != Platform::WeCom {
                    return Err(unsupported());
                }
                non_empty("ReplaceName", replace_name)
            }
            Reply::UpdateTemplateCard { card } => {
                if platform != Platform::WeCom {
                    return Err(unsupported());
                }
                if !card.is_object() {
                    return Err(ReplyError::InvalidCard(
                        "the card must be a JSON object".into(),
                    ));
                }
                Ok(())
            }
        }
    }

    /// Capacity for the output string: fixed markup plus every value, with slack for the
    /// occasional `]]>` split.
    fn estimate(&self, to: &ReplyTo<'_>) -> usize {
        let values = match self {
            Reply::Text { content } => content.len(),
            Reply::Image { media_id } | Reply::Voice { media_id } => media_id.len() + 40,
            Reply::Video {
                media_id,
                title,
                description,
            } => media_id.len() + title.map_or(0, str::len) + description.map_or(0, str::len) + 120,
            Reply::Music(m) => {
                [m.title, m.description, m.music_url, m.hq_music_url]
                    .iter()
                    .map(|v| v.map_or(0, str::len))
                    .sum::<usize>()
                    + m.thumb_media_id.len()
                    + 200
            }
            Reply::News(articles) => articles
                .iter()
                .map(|a| a.title.len() + a.description.len() + a.pic_url.len() + a.url.len() + 160)
                .sum(),
            Reply::TransferCustomerService { kf_account } => kf_account.map_or(0, str::len) + 60,
            Reply::UpdateButton { replace_name } => replace_name.len() + 60,
            Reply::UpdateTemplateCard { .. } => 1024,
        };
        200 + to.to_user_name.len() + to.from_user_name.len() + values + values / 16
    }
}

fn non_empty(field: &'static str, v: &str) -> Result<(), ReplyError> {
    if v.is_empty() {
        Err(ReplyError::Empty { field })
    } else {
        Ok(())
    }
}

fn max_bytes(field: &'static str, v: &str, max: Option<usize>) -> Result<(), ReplyError> {
    match max {
        Some(max) if v.len() > max => Err(ReplyError::TooLong {
            field,
            max,
            actual: v.len(),
        }),
        _ => Ok(()),
    }
}

/// Formats an integer without going through `fmt` machinery.
fn itoa(n: i64, buf: &mut [u8; 20]) -> &str {
    let neg = n < 0;
    let mut v = n.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    // i64::MIN has 19 digits plus the sign: fits in 20 bytes.
    if neg && i > 0 {
        i -= 1;
        buf[i] = b'-';
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

/// Whether `s` needs the slow CDATA path: a `]]>` to split, or characters XML forbids.
fn needs_care(s: &str) -> bool {
    let b = s.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'\t' | b'\n' | b'\r' => {}
            0..=0x1f => return true,
            b'>' if i >= 2 && b[i - 1] == b']' && b[i - 2] == b']' => return true,
            // U+FFFE / U+FFFF are EF BF BE / EF BF BF.
            0xEF if b.get(i + 1) == Some(&0xBF) && matches!(b.get(i + 2), Some(0xBE | 0xBF)) => {
                return true;
            }
            _ => {}
        }
    }
    false
}

/// Appends `s` as one or more CDATA sections.
pub(crate) fn push_cdata(out: &mut String, s: &str) {
    out.push_str("<![CDATA[");
    if needs_care(s) {
        // Drop forbidden characters first: removing one could otherwise create a `]]>`.
        let clean: String = s.chars().filter(|&c| super::xml::is_xml_char(c)).collect();
        let mut rest = clean.as_str();
        while let Some(pos) = rest.find("]]>") {
            out.push_str(rest.get(..pos + 2).unwrap_or(""));
            // End the section after "]]" and start a new one holding ">".
            out.push_str("]]><![CDATA[");
            rest = rest.get(pos + 2..).unwrap_or("");
        }
        out.push_str(rest);
    } else {
        out.push_str(s);
    }
    out.push_str("]]>");
}

fn push_elem(out: &mut String, name: &str, value: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    push_cdata(out, value);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn push_opt(out: &mut String, name: &str, value: Option<&str>) {
    if let Some(v) = value {
        push_elem(out, name, v);
    }
}

/// Nesting limit of a template card (real cards nest 3 levels).
const MAX_CARD_DEPTH: usize = 16;

/// XML element name for a card JSON key.
fn card_element_name(key: &str) -> Result<String, ReplyError> {
    let valid = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(ReplyError::InvalidCard(format!(
            "key {:?} cannot be an XML element name",
            crate::text::truncate_chars(key, 40)
        )));
    }
    if key.starts_with(|c: char| c.is_ascii_uppercase()) {
        return Ok(key.to_owned());
    }
    // JSON `keyname` (horizontal_content_list) is `KeyName` in the XML form.
    if key == "keyname" {
        return Ok("KeyName".to_owned());
    }
    let mut name = String::with_capacity(key.len());
    for part in key.split('_').filter(|p| !p.is_empty()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            name.push(first.to_ascii_uppercase());
            name.extend(chars);
        }
    }
    Ok(name)
}

fn push_card_value(out: &mut String, key: &str, v: &Value, depth: usize) -> Result<(), ReplyError> {
    if depth > MAX_CARD_DEPTH {
        return Err(ReplyError::InvalidCard("card nests too deeply".into()));
    }
    match v {
        Value::Null => {}
        Value::Array(items) => {
            for item in items {
                push_card_value(out, key, item, depth + 1)?;
            }
        }
        _ => {
            let name = card_element_name(key)?;
            out.push('<');
            out.push_str(&name);
            out.push('>');
            match v {
                Value::String(s) => push_cdata(out, s),
                Value::Number(n) => out.push_str(&n.to_string()),
                Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Value::Object(map) => {
                    for (k, v) in map {
                        push_card_value(out, k, v, depth + 1)?;
                    }
                }
                Value::Null | Value::Array(_) => {}
            }
            out.push_str("</");
            out.push_str(&name);
            out.push('>');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn itoa_formats_all_ranges() {
        for n in [0i64, 7, -7, 1_700_000_000, i64::MAX, i64::MIN] {
            assert_eq!(itoa(n, &mut [0u8; 20]), n.to_string());
        }
    }

    #[test]
    fn cdata_splits_terminators_and_drops_forbidden_chars() {
        let mut s = String::new();
        push_cdata(&mut s, "a]]>b]]>");
        assert_eq!(s, "<![CDATA[a]]]]><![CDATA[>b]]]]><![CDATA[>]]>");
        let mut s = String::new();
        push_cdata(&mut s, "x\u{1}\u{FFFF}y\tz");
        assert_eq!(s, "<![CDATA[xy\tz]]>");
        // Removing a forbidden char must not leave a bare terminator behind.
        let mut s = String::new();
        push_cdata(&mut s, "]]\u{1}>");
        assert_eq!(s, "<![CDATA[]]]]><![CDATA[>]]>");
        assert!(!needs_care("中文 emoji 😀 ]] > ]>"));
    }

    #[test]
    fn card_keys_become_pascal_case() {
        assert_eq!(card_element_name("main_title").unwrap(), "MainTitle");
        assert_eq!(card_element_name("keyname").unwrap(), "KeyName");
        assert_eq!(card_element_name("Keyname").unwrap(), "Keyname");
        assert_eq!(card_element_name("desc").unwrap(), "Desc");
        assert!(card_element_name("a b").is_err());
        assert!(card_element_name("").is_err());
        assert!(card_element_name("1a").is_err());
    }
}
