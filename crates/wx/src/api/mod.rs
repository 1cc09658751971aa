//! Typed async clients of the WeChat and WeCom server APIs.
//!
//! | Client | Product | Reference |
//! |---|---|---|
//! | [`OaClient`] | Official Account | §2.1–2.9 |
//! | [`MpClient`] | Mini Program | §3 |
//! | [`WorkClient`] | WeCom corp APIs (cloud, private deployment, 政务微信: any base URL) | §4.1–4.14, §4.16 |
//! | [`SuiteClient`] | WeCom third-party suite and provider | §5.2, §5.5–5.6 |
//!
//! Every client is a thin struct over one shared [`HttpClient`] and a base URL; methods take
//! the access token explicitly (get it from a [`crate::token::TokenSource`] and call through
//! a [`crate::token::Caller`] for the retry policy). Conventions (reference §0.2):
//!
//! - Success is `errcode` 0 **or absent**; any other code becomes [`ApiError::Wx`] with the
//!   errmsg, the request id (`rid`/`hint`) and the caller IP WeChat saw, decoded by
//!   [`crate::errcode`].
//! - Request bodies are UTF-8 JSON with non-ASCII characters raw, never `\uXXXX` (40033).
//! - Every call has a connect timeout (5 s) and a request timeout (15 s), see [`HttpConfig`].
//! - Tokens and secrets never appear in an error, a log line or an observer record: URLs are
//!   redacted with [`redact_url`] (the values of every name in [`SENSITIVE_PARAMS`] become
//!   `***`), and `Debug` of [`Secret`] prints `***`.
//! - Responses are tolerant: missing fields take defaults, unknown fields are ignored (or kept
//!   in an `extra` map), numbers may arrive as strings.
//!
//! # Idempotency policy
//!
//! A request that timed out or got HTTP 5xx may still have been executed. Sends are therefore
//! made safe to repeat where the platform offers a key, and not repeated otherwise:
//!
//! - WeCom `message/send`: [`work::AppMessage::new`] turns on `enable_duplicate_check` with
//!   a 1800 s `duplicate_check_interval`; a repeat of the identical body inside the interval
//!   is not delivered again (reference §4.11.1).
//! - OA `message/template/send`: [`oa::TemplateMessage::new`] sets a random
//!   `client_msg_id` (§2.7.1); set your own (e.g. an outbox id) with
//!   [`oa::TemplateMessage::client_msg_id`].
//! - OA `message/custom/send`, OA `message/subscribe/bizsend`, Mini Program
//!   `message/subscribe/send`, WeCom `message/update_template_card` (single-use
//!   response code), `department/create`, `user/create` and
//!   `service/get_permanent_code` (single-use code) are [`Idempotency::NotIdempotent`]: the
//!   [`crate::token::Caller`] repeats them only after an error that proves nothing was done
//!   (connection never made, HTTP 429, token error, frequency limit), never after a timeout,
//!   a reset connection, -1 or 5xx.
//! - Everything else (reads, token fetches, deletes, menu replacement, recall) is idempotent.
//!
//! [`Idempotency::of`] encodes this table.

mod error;
mod http;
pub mod mp;
pub mod oa;
mod redact;
pub mod suite;
mod types;
pub mod work;
mod work_message;

pub use error::{ApiError, TransportKind};
pub use http::{CallRecord, HttpClient, HttpConfig, Observer, build_url, json_body};
pub use mp::MpClient;
pub use oa::OaClient;
pub use redact::{REDACTED, SENSITIVE_PARAMS, redact_text, redact_url};
pub use suite::SuiteClient;
pub use types::{
    AccessToken, Ack, Button, DataValue, Idempotency, IpList, Menu, MiniProgramLink, RawJson,
    Secret, Ticket,
};
pub use work::WorkClient;

use url::Url;

/// Base URLs of the two API hosts (reference §0.1). Override them for a private WeCom
/// deployment, a 政务微信 tenant (`https://<tenant>.gov.weixin.qq.com`), a proxy or a
/// simulator; a path prefix in a base URL is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Official Accounts and Mini Programs (default `https://api.weixin.qq.com`).
    pub api_base: Url,
    /// WeCom (default `https://qyapi.weixin.qq.com`).
    pub qyapi_base: Url,
}

/// `https://api.weixin.qq.com`.
pub const DEFAULT_API_BASE: &str = "https://api.weixin.qq.com";
/// `https://qyapi.weixin.qq.com`.
pub const DEFAULT_QYAPI_BASE: &str = "https://qyapi.weixin.qq.com";

impl Endpoints {
    /// Endpoints from two base URLs.
    pub fn new(api_base: &str, qyapi_base: &str) -> Result<Self, url::ParseError> {
        Ok(Self {
            api_base: Url::parse(api_base)?,
            qyapi_base: Url::parse(qyapi_base)?,
        })
    }
}

impl Default for Endpoints {
    fn default() -> Self {
        Self {
            api_base: Url::parse(DEFAULT_API_BASE).expect("constant URL"),
            qyapi_base: Url::parse(DEFAULT_QYAPI_BASE).expect("constant URL"),
        }
    }
}
