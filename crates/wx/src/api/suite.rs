//! WeCom third-party (suite) client (reference §5.2, §5.5, §5.6): suite and provider tokens,
//! installation codes and the corp tokens of authorising corps. Suite endpoints take
//! `suite_access_token`, provider endpoints `provider_access_token` (§0.2).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use super::error::ApiError;
use super::http::HttpClient;
use super::types::{AccessToken, Secret, de};

/// Suite / provider API client (on the WeCom base URL).
#[derive(Debug, Clone)]
pub struct SuiteClient {
    http: HttpClient,
    base: Url,
}

/// `service/get_suite_token`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SuiteToken {
    /// The token.
    pub suite_access_token: Secret,
    /// Lifetime in seconds.
    #[serde(deserialize_with = "de::i64")]
    pub expires_in: i64,
}

/// `service/get_provider_token`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ProviderToken {
    /// The token.
    pub provider_access_token: Secret,
    /// Lifetime in seconds.
    #[serde(deserialize_with = "de::i64")]
    pub expires_in: i64,
}

/// `service/get_pre_auth_code` (20 minutes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PreAuthCode {
    /// The code, for the install link.
    pub pre_auth_code: Secret,
    /// Lifetime in seconds.
    #[serde(deserialize_with = "de::i64")]
    pub expires_in: i64,
}

/// The authorising corp (`auth_corp_info`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct AuthCorpInfo {
    /// Corp id.
    #[serde(deserialize_with = "de::string")]
    pub corpid: String,
    /// Short name.
    #[serde(deserialize_with = "de::string")]
    pub corp_name: String,
    /// Full name.
    #[serde(deserialize_with = "de::string")]
    pub corp_full_name: String,
    /// `verified`, `unverified`…
    #[serde(deserialize_with = "de::string")]
    pub corp_type: String,
    /// 1 enterprise, 2 government, 3 other organisation, 4 team.
    #[serde(deserialize_with = "de::i64")]
    pub subject_type: i64,
    /// Member limit.
    #[serde(deserialize_with = "de::i64")]
    pub corp_user_max: i64,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `service/get_permanent_code` (reference §5.5 step 5). Store `permanent_code` durably and
/// encrypted: it is the corp's credential until the app is uninstalled.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct PermanentCode {
    /// A corp token for immediate use.
    pub access_token: Secret,
    /// Its lifetime.
    #[serde(deserialize_with = "de::i64")]
    pub expires_in: i64,
    /// The permanent code.
    pub permanent_code: Secret,
    /// The corp.
    pub auth_corp_info: AuthCorpInfo,
    /// Agents and privileges, as sent.
    pub auth_info: Value,
    /// The installing admin, as sent.
    pub auth_user_info: Value,
    /// Dealer, as sent.
    pub dealer_corp_info: Value,
    /// Editions, as sent.
    pub edition_info: Value,
    /// `state` of the install link.
    #[serde(deserialize_with = "de::string")]
    pub state: String,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `service/get_auth_info`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct AuthInfo {
    /// The corp.
    pub auth_corp_info: AuthCorpInfo,
    /// Agents and privileges, as sent.
    pub auth_info: Value,
    /// Dealer, as sent.
    pub dealer_corp_info: Value,
    /// Editions, as sent.
    pub edition_info: Value,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Serialize)]
struct SuiteTokenRequest<'a> {
    suite_id: &'a str,
    suite_secret: &'a str,
    suite_ticket: &'a str,
}

#[derive(Serialize)]
struct CorpCode<'a> {
    auth_corpid: &'a str,
    permanent_code: &'a str,
}

#[derive(Serialize)]
struct ProviderRequest<'a> {
    corpid: &'a str,
    provider_secret: &'a str,
}

#[derive(Serialize)]
struct AuthCodeRequest<'a> {
    auth_code: &'a str,
}

impl SuiteClient {
    /// A client for `base` (`https://qyapi.weixin.qq.com` or a test double).
    pub fn new(http: HttpClient, base: Url) -> Self {
        Self { http, base }
    }

    /// A client for [`super::Endpoints::qyapi_base`].
    pub fn with_endpoints(http: HttpClient, endpoints: &super::Endpoints) -> Self {
        Self::new(http, endpoints.qyapi_base.clone())
    }

    /// The base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// `POST /cgi-bin/service/get_suite_token` with the latest pushed `suite_ticket`.
    pub async fn get_suite_token(
        &self,
        suite_id: &str,
        suite_secret: &str,
        suite_ticket: &str,
    ) -> Result<SuiteToken, ApiError> {
        self.http
            .post(
                &self.base,
                "/cgi-bin/service/get_suite_token",
                &[],
                &SuiteTokenRequest {
                    suite_id,
                    suite_secret,
                    suite_ticket,
                },
            )
            .await
    }

    /// `POST /cgi-bin/service/get_provider_token`.
    pub async fn get_provider_token(
        &self,
        corpid: &str,
        provider_secret: &str,
    ) -> Result<ProviderToken, ApiError> {
        self.http
            .post(
                &self.base,
                "/cgi-bin/service/get_provider_token",
                &[],
                &ProviderRequest {
                    corpid,
                    provider_secret,
                },
            )
            .await
    }

    /// `GET /cgi-bin/service/get_pre_auth_code`.
    pub async fn get_pre_auth_code(
        &self,
        suite_access_token: &str,
    ) -> Result<PreAuthCode, ApiError> {
        self.http
            .get(
                &self.base,
                "/cgi-bin/service/get_pre_auth_code",
                &[("suite_access_token", suite_access_token)],
            )
            .await
    }

    /// `POST /cgi-bin/service/get_permanent_code` with a temporary `auth_code` (single use,
    /// 10 minutes: not idempotent).
    pub async fn get_permanent_code(
        &self,
        suite_access_token: &str,
        auth_code: &str,
    ) -> Result<PermanentCode, ApiError> {
        self.http
            .post(
                &self.base,
                "/cgi-bin/service/get_permanent_code",
                &[("suite_access_token", suite_access_token)],
                &AuthCodeRequest { auth_code },
            )
            .await
    }

    /// `POST /cgi-bin/service/get_auth_info`.
    pub async fn get_auth_info(
        &self,
        suite_access_token: &str,
        auth_corpid: &str,
        permanent_code: &str,
    ) -> Result<AuthInfo, ApiError> {
        self.http
            .post(
                &self.base,
                "/cgi-bin/service/get_auth_info",
                &[("suite_access_token", suite_access_token)],
                &CorpCode {
                    auth_corpid,
                    permanent_code,
                },
            )
            .await
    }

    /// `POST /cgi-bin/service/get_corp_token`: a corp access token for the authorising corp.
    pub async fn get_corp_token(
        &self,
        suite_access_token: &str,
        auth_corpid: &str,
        permanent_code: &str,
    ) -> Result<AccessToken, ApiError> {
        self.http
            .post(
                &self.base,
                "/cgi-bin/service/get_corp_token",
                &[("suite_access_token", suite_access_token)],
                &CorpCode {
                    auth_corpid,
                    permanent_code,
                },
            )
            .await
    }
}
