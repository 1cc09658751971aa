//! Types shared by several clients: [`Secret`], token and IP-list answers, acknowledgements
//! and menus (reference §2.1, §2.2, §2.4, §4.3, §4.5).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A credential (token, secret, code, ticket, session key). `Debug` prints `***`; read it
/// with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(#[serde(deserialize_with = "de::string")] String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value, consuming the wrapper.
    pub fn into_inner(self) -> String {
        self.0
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// `{"access_token", "expires_in"}` of `cgi-bin/token`, `stable_token`, WeCom `gettoken` and
/// `service/get_corp_token` (reference §2.1, §4.1, §5.2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct AccessToken {
    /// The token (up to 512 bytes).
    pub access_token: Secret,
    /// Lifetime in seconds ("a value within 7200": never hard-code it).
    #[serde(deserialize_with = "de::i64")]
    pub expires_in: i64,
}

/// `{"ticket", "expires_in"}` of the JS-SDK ticket endpoints (reference §2.6, §4.10).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Ticket {
    /// The ticket.
    pub ticket: Secret,
    /// Lifetime in seconds.
    #[serde(deserialize_with = "de::i64")]
    pub expires_in: i64,
}

/// `{"ip_list": [...]}` (reference §2.2, §4.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct IpList {
    /// Addresses or CIDR blocks.
    pub ip_list: Vec<String>,
}

/// A bare success: `{"errcode":0,"errmsg":"ok" | "created" | "updated" | "deleted"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Ack {
    /// The message (`ok`, `created`…).
    #[serde(deserialize_with = "de::string")]
    pub errmsg: String,
}

/// A custom menu: 1–3 buttons (reference §2.4 for Official Accounts, §4.5 for WeCom apps).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Menu {
    /// Top-level buttons.
    pub button: Vec<Button>,
}

/// One menu button; a button with `sub_button` has no `type`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Button {
    /// `click`, `view`, `miniprogram`, `scancode_push`… (absent on a parent button).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Label (≤ 16 bytes top level, ≤ 60 bytes in a sub-menu).
    pub name: String,
    /// Event key of click-like buttons (≤ 128 bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// URL of `view` (and fallback of `miniprogram`) buttons.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `media_id` buttons.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    /// Mini Program appid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    /// Mini Program page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pagepath: Option<String>,
    /// `article_id` buttons.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub article_id: Option<String>,
    /// Sub-buttons (1–5).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sub_button: Vec<Button>,
}

impl Button {
    /// A `click` button.
    pub fn click(name: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            kind: Some("click".into()),
            name: name.into(),
            key: Some(key.into()),
            ..Self::default()
        }
    }

    /// A `view` (open a URL) button.
    pub fn view(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            kind: Some("view".into()),
            name: name.into(),
            url: Some(url.into()),
            ..Self::default()
        }
    }

    /// A parent button with a sub-menu.
    pub fn parent(name: impl Into<String>, sub_button: Vec<Button>) -> Self {
        Self {
            name: name.into(),
            sub_button,
            ..Self::default()
        }
    }
}

/// `{"value", "color"?}`: one keyword of a template or subscribe message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataValue {
    /// The text.
    pub value: String,
    /// Colour (template messages only; no longer rendered since May 2023).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

impl DataValue {
    /// A value without colour.
    pub fn new(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            color: None,
        }
    }
}

/// `{"appid", "pagepath"}`: a Mini Program jump.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MiniProgramLink {
    /// Mini Program appid (must be linked to the account).
    pub appid: String,
    /// Page path with query.
    pub pagepath: String,
}

/// Whether an API call may be repeated after an ambiguous failure (see the policy in
/// [`crate::api`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Idempotency {
    /// Repeating it has no further effect (reads, and sends de-duplicated by the platform
    /// through `enable_duplicate_check` or `client_msg_id`): retried after network errors,
    /// -1 and 5xx too.
    Idempotent,
    /// Repeating it may act twice: retried only after errors that prove nothing was done
    /// ([`super::ApiError::proves_nothing_done`]).
    NotIdempotent,
}

impl Idempotency {
    /// The policy of this SDK for an endpoint path: the sends without a platform
    /// de-duplication key and the directory writes are [`Idempotency::NotIdempotent`];
    /// everything else (reads, token fetches, `message/send` with duplicate check, template
    /// send with `client_msg_id`, deletes and menu replacement) is idempotent.
    pub fn of(api: &str) -> Idempotency {
        const NOT_IDEMPOTENT: &[&str] = &[
            "/cgi-bin/message/custom/send",
            "/cgi-bin/message/subscribe/send",
            "/cgi-bin/message/subscribe/bizsend",
            "/cgi-bin/message/update_template_card",
            "/cgi-bin/department/create",
            "/cgi-bin/user/create",
            "/cgi-bin/service/get_permanent_code",
        ];
        if NOT_IDEMPOTENT.contains(&api) {
            Idempotency::NotIdempotent
        } else {
            Idempotency::Idempotent
        }
    }
}

/// Raw JSON answer, for endpoints or fields this SDK does not model.
pub type RawJson = Value;

/// Tolerant deserialisers: numbers that arrive as strings, strings that arrive as numbers,
/// `null` for absent.
pub(crate) mod de {
    use super::{Deserialize, Deserializer, Value};

    /// A number, a numeric string or null (→ 0).
    pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        Ok(match Option::<Value>::deserialize(d)? {
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .unwrap_or(0),
            Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
            Some(Value::Bool(b)) => i64::from(b),
            _ => 0,
        })
    }

    /// A string, a number (→ its decimal text) or null (→ "").
    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(match Option::<Value>::deserialize(d)? {
            Some(Value::String(s)) => s,
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            _ => String::new(),
        })
    }

    /// Like [`string`] but keeps absence/null as `None`.
    pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match Option::<Value>::deserialize(d)? {
            Some(Value::String(s)) => Some(s),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        })
    }

    /// A list, or null (→ empty).
    pub fn vec<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
        Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
    }
}
