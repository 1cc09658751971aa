//! Mini Program client (`api.weixin.qq.com`): tokens (§3.1, same endpoints as §2.1), login
//! (§3.2), subscribe messages (§3.3) and phone numbers (§3.4).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use url::Url;

use super::error::ApiError;
use super::http::HttpClient;
use super::oa::{MsgId, fetch_stable_token, fetch_token};
use super::types::{AccessToken, DataValue, Secret, de};

/// Mini Program API client. Methods take the access token explicitly.
#[derive(Debug, Clone)]
pub struct MpClient {
    http: HttpClient,
    base: Url,
}

/// `sns/jscode2session` (reference §3.2). Never send `session_key` to the client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Session {
    /// OpenID.
    #[serde(deserialize_with = "de::string")]
    pub openid: String,
    /// Session key (base64 of 16 bytes), for decrypting `encryptedData`.
    pub session_key: Secret,
    /// UnionID (when bound to an Open Platform account).
    #[serde(deserialize_with = "de::opt_string")]
    pub unionid: Option<String>,
}

/// `wxa/business/getuserphonenumber` (reference §3.4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PhoneNumber {
    /// The number.
    pub phone_info: PhoneInfo,
}

/// Phone details.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PhoneInfo {
    /// With country code when outside mainland China.
    #[serde(rename = "phoneNumber", deserialize_with = "de::string")]
    pub phone_number: String,
    /// Without country code.
    #[serde(rename = "purePhoneNumber", deserialize_with = "de::string")]
    pub pure_phone_number: String,
    /// Country code (`86`).
    #[serde(rename = "countryCode", deserialize_with = "de::string")]
    pub country_code: String,
    /// Data watermark.
    pub watermark: Watermark,
}

/// `{"timestamp", "appid"}`: check that `appid` is yours.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Watermark {
    /// Unix seconds.
    #[serde(deserialize_with = "de::i64")]
    pub timestamp: i64,
    /// AppID.
    #[serde(deserialize_with = "de::string")]
    pub appid: String,
}

/// A subscribe message (`message/subscribe/send`, reference §3.3). Not idempotent: each
/// one-time grant allows one send, and the platform has no de-duplication key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SubscribeMessage {
    /// OpenID.
    pub touser: String,
    /// Template id.
    pub template_id: String,
    /// Page to open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// `developer`, `trial` or `formal` (default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub miniprogram_state: Option<String>,
    /// `zh_CN` (default), `en_US`, `zh_HK`, `zh_TW`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// Keyword (`thing1`, `time2`…) → value.
    pub data: BTreeMap<String, DataValue>,
}

#[derive(Serialize)]
struct PhoneRequest<'a> {
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    openid: Option<&'a str>,
}

impl MpClient {
    /// A client for `base` (`https://api.weixin.qq.com`, or a test double).
    pub fn new(http: HttpClient, base: Url) -> Self {
        Self { http, base }
    }

    /// A client for [`super::Endpoints::api_base`].
    pub fn with_endpoints(http: HttpClient, endpoints: &super::Endpoints) -> Self {
        Self::new(http, endpoints.api_base.clone())
    }

    /// The base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The transport.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// `GET /cgi-bin/token` (reference §3.1: same semantics as the OA endpoint).
    pub async fn token(&self, appid: &str, secret: &str) -> Result<AccessToken, ApiError> {
        fetch_token(&self.http, &self.base, appid, secret).await
    }

    /// `POST /cgi-bin/stable_token`.
    pub async fn stable_token(
        &self,
        appid: &str,
        secret: &str,
        force_refresh: bool,
    ) -> Result<AccessToken, ApiError> {
        fetch_stable_token(&self.http, &self.base, appid, secret, force_refresh).await
    }

    /// `GET /sns/jscode2session`: exchanges a `wx.login()` code (single use, 5 minutes).
    pub async fn jscode2session(
        &self,
        appid: &str,
        secret: &str,
        js_code: &str,
    ) -> Result<Session, ApiError> {
        self.http
            .get(
                &self.base,
                "/sns/jscode2session",
                &[
                    ("appid", appid),
                    ("secret", secret),
                    ("js_code", js_code),
                    ("grant_type", "authorization_code"),
                ],
            )
            .await
    }

    /// `POST /wxa/business/getuserphonenumber` with the code of a `getPhoneNumber` button.
    pub async fn get_user_phone_number(
        &self,
        access_token: &str,
        code: &str,
        openid: Option<&str>,
    ) -> Result<PhoneNumber, ApiError> {
        self.http
            .post(
                &self.base,
                "/wxa/business/getuserphonenumber",
                &[("access_token", access_token)],
                &PhoneRequest { code, openid },
            )
            .await
    }

    /// `POST /cgi-bin/message/subscribe/send`.
    pub async fn subscribe_send(
        &self,
        access_token: &str,
        message: &SubscribeMessage,
    ) -> Result<MsgId, ApiError> {
        self.http
            .post(
                &self.base,
                "/cgi-bin/message/subscribe/send",
                &[("access_token", access_token)],
                message,
            )
            .await
    }
}
