//! Official Account client (`api.weixin.qq.com`): tokens (§2.1), IP lists (§2.2), followers
//! (§2.3), menus (§2.4), web OAuth (§2.5), JS-SDK ticket (§2.6), template messages (§2.7),
//! subscription notifications (§2.8) and customer-service messages (§2.9).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value, json};
use url::Url;

use super::error::ApiError;
use super::http::HttpClient;
use super::types::{
    AccessToken, Ack, DataValue, IpList, Menu, MiniProgramLink, Secret, Ticket, de,
};

/// Official Account API client. Methods take the access token explicitly; get one from a
/// [`crate::token::TokenSource`].
#[derive(Debug, Clone)]
pub struct OaClient {
    http: HttpClient,
    base: Url,
}

/// Followers per page of `user/get`.
pub const FOLLOWERS_PER_PAGE: usize = 10_000;

/// One page of `user/get` (reference §2.3.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct FollowerPage {
    /// Followers in total.
    #[serde(deserialize_with = "de::i64")]
    pub total: i64,
    /// OpenIDs on this page.
    #[serde(deserialize_with = "de::i64")]
    pub count: i64,
    /// The OpenIDs (absent past the end).
    pub data: Option<OpenIdList>,
    /// Cursor for the next page; present even on the last full page.
    #[serde(deserialize_with = "de::string")]
    pub next_openid: String,
}

/// `{"openid": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct OpenIdList {
    /// OpenIDs.
    #[serde(deserialize_with = "de::vec")]
    pub openid: Vec<String>,
}

impl FollowerPage {
    /// The OpenIDs of this page.
    pub fn openids(&self) -> &[String] {
        self.data.as_ref().map_or(&[], |d| d.openid.as_slice())
    }

    /// True when no further page should be asked for: `count` 0, no `data`, an empty cursor,
    /// or a short page (reference §2.3.1, §7 row 14).
    pub fn is_last(&self) -> bool {
        self.count == 0
            || self.data.is_none()
            || self.next_openid.is_empty()
            || self.openids().len() < FOLLOWERS_PER_PAGE
    }
}

/// `user/info` (reference §2.3.2). Nicknames and avatars are no longer returned (2021-12-27).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct UserInfo {
    /// 1 = follows the account; 0 = not (then only openid, unionid, tags).
    #[serde(deserialize_with = "de::i64")]
    pub subscribe: i64,
    /// OpenID.
    #[serde(deserialize_with = "de::string")]
    pub openid: String,
    /// Language.
    #[serde(deserialize_with = "de::string")]
    pub language: String,
    /// Last follow time (Unix seconds).
    #[serde(deserialize_with = "de::i64")]
    pub subscribe_time: i64,
    /// UnionID (when bound to an Open Platform account).
    #[serde(deserialize_with = "de::opt_string")]
    pub unionid: Option<String>,
    /// Operator remark.
    #[serde(deserialize_with = "de::string")]
    pub remark: String,
    /// Tag ids.
    #[serde(deserialize_with = "de::vec")]
    pub tagid_list: Vec<i64>,
    /// How the user followed (`ADD_SCENE_QR_CODE`…).
    #[serde(deserialize_with = "de::string")]
    pub subscribe_scene: String,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct UserInfoList {
    #[serde(deserialize_with = "de::vec")]
    user_info_list: Vec<UserInfo>,
}

/// `menu/get` (reference §2.4).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct MenuInfo {
    /// The default menu.
    pub menu: MenuWithId,
    /// Personalised menus, as sent.
    #[serde(deserialize_with = "de::vec")]
    pub conditionalmenu: Vec<Value>,
}

/// The default menu and its id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct MenuWithId {
    /// Buttons.
    #[serde(deserialize_with = "de::vec")]
    pub button: Vec<super::types::Button>,
    /// Menu id.
    #[serde(deserialize_with = "de::i64")]
    pub menuid: i64,
}

/// A template message (reference §2.7.1). [`TemplateMessage::new`] sets a random
/// `client_msg_id`, so re-sending the same value after an ambiguous failure is not
/// delivered twice (the platform de-duplicates per openid + id, ~10 minutes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateMessage {
    /// Follower OpenID.
    pub touser: String,
    /// Template id.
    pub template_id: String,
    /// Jump URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Mini Program jump (wins over `url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub miniprogram: Option<MiniProgramLink>,
    /// Idempotency key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<String>,
    /// Keyword → value (`{{keyword1.DATA}}` → `keyword1`).
    pub data: BTreeMap<String, DataValue>,
}

/// A random 32-hex-digit idempotency key.
pub fn new_client_msg_id() -> String {
    use rand::RngExt as _;
    let mut rng = rand::rng();
    format!("{:016x}{:016x}", rng.random::<u64>(), rng.random::<u64>())
}

impl TemplateMessage {
    /// A message to `touser` from `template_id`, with a fresh random `client_msg_id`.
    pub fn new(touser: impl Into<String>, template_id: impl Into<String>) -> Self {
        Self {
            touser: touser.into(),
            template_id: template_id.into(),
            url: None,
            miniprogram: None,
            client_msg_id: Some(new_client_msg_id()),
            data: BTreeMap::new(),
        }
    }

    /// Adds a keyword value.
    #[must_use]
    pub fn data(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.data.insert(key.into(), DataValue::new(value));
        self
    }

    /// Sets the jump URL.
    #[must_use]
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// [`super::Idempotency::Idempotent`] while a `client_msg_id` is set, otherwise
    /// [`super::Idempotency::NotIdempotent`]: pass it to [`crate::token::Caller::call`].
    pub fn idempotency(&self) -> super::Idempotency {
        if self.client_msg_id.is_some() {
            super::Idempotency::Idempotent
        } else {
            super::Idempotency::NotIdempotent
        }
    }

    /// Uses a caller-chosen idempotency key (e.g. an outbox row id).
    #[must_use]
    pub fn client_msg_id(mut self, id: impl Into<String>) -> Self {
        self.client_msg_id = Some(id.into());
        self
    }
}

/// `{"msgid": n}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct MsgId {
    /// Message id.
    #[serde(deserialize_with = "de::i64")]
    pub msgid: i64,
}

/// A subscription notification (`message/subscribe/bizsend`, reference §2.8).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SubscribeBizMessage {
    /// OpenID.
    pub touser: String,
    /// Template id.
    pub template_id: String,
    /// Web page to open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// Mini Program jump (wins over `page`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub miniprogram: Option<MiniProgramLink>,
    /// Keyword → value (no colour).
    pub data: BTreeMap<String, DataValue>,
}

/// A customer-service message (`message/custom/send`, reference §2.9): `touser`, `msgtype`
/// and the payload under the key named by `msgtype`.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomMessage {
    /// OpenID.
    pub touser: String,
    /// `text`, `image`, `voice`, `video`, `music`, `news`, `mpnews`, `mpnewsarticle`,
    /// `msgmenu`, `wxcard`, `miniprogrampage`.
    pub msgtype: String,
    /// The payload object.
    pub payload: Value,
    /// Send as this customer-service account.
    pub kf_account: Option<String>,
}

impl CustomMessage {
    /// A text message.
    pub fn text(touser: impl Into<String>, content: impl Into<String>) -> Self {
        Self::raw(touser, "text", json!({ "content": content.into() }))
    }

    /// An image.
    pub fn image(touser: impl Into<String>, media_id: impl Into<String>) -> Self {
        Self::raw(touser, "image", json!({ "media_id": media_id.into() }))
    }

    /// A Mini Program card.
    pub fn miniprogram_page(
        touser: impl Into<String>,
        title: impl Into<String>,
        appid: impl Into<String>,
        pagepath: impl Into<String>,
        thumb_media_id: impl Into<String>,
    ) -> Self {
        Self::raw(
            touser,
            "miniprogrampage",
            json!({
                "title": title.into(),
                "appid": appid.into(),
                "pagepath": pagepath.into(),
                "thumb_media_id": thumb_media_id.into(),
            }),
        )
    }

    /// Any type, payload as JSON.
    pub fn raw(touser: impl Into<String>, msgtype: impl Into<String>, payload: Value) -> Self {
        Self {
            touser: touser.into(),
            msgtype: msgtype.into(),
            payload,
            kf_account: None,
        }
    }
}

impl Serialize for CustomMessage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("touser", &self.touser)?;
        m.serialize_entry("msgtype", &self.msgtype)?;
        m.serialize_entry(&self.msgtype, &self.payload)?;
        if let Some(kf) = &self.kf_account {
            m.serialize_entry("customservice", &json!({ "kf_account": kf }))?;
        }
        m.end()
    }
}

/// `sns/oauth2/access_token`: a **user** token, unrelated to the API token (reference §2.5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct OAuthToken {
    /// User access token.
    pub access_token: Secret,
    /// Lifetime in seconds.
    #[serde(deserialize_with = "de::i64")]
    pub expires_in: i64,
    /// Refresh token (30 days).
    pub refresh_token: Secret,
    /// OpenID.
    #[serde(deserialize_with = "de::string")]
    pub openid: String,
    /// Granted scope.
    #[serde(deserialize_with = "de::string")]
    pub scope: String,
    /// UnionID (snsapi_userinfo and bound accounts).
    #[serde(deserialize_with = "de::opt_string")]
    pub unionid: Option<String>,
    /// 1 for a "snapshot page" virtual user.
    #[serde(deserialize_with = "de::i64")]
    pub is_snapshotuser: i64,
}

/// `sns/userinfo` (reference §2.5 step 4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SnsUserInfo {
    /// OpenID.
    #[serde(deserialize_with = "de::string")]
    pub openid: String,
    /// Nickname.
    #[serde(deserialize_with = "de::string")]
    pub nickname: String,
    /// Avatar URL.
    #[serde(deserialize_with = "de::string")]
    pub headimgurl: String,
    /// UnionID.
    #[serde(deserialize_with = "de::opt_string")]
    pub unionid: Option<String>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST cgi-bin/stable_token` body (shared with Mini Programs).
#[derive(Serialize)]
struct StableTokenRequest<'a> {
    grant_type: &'static str,
    appid: &'a str,
    secret: &'a str,
    force_refresh: bool,
}

/// `GET cgi-bin/token` (shared with Mini Programs).
pub(crate) async fn fetch_token(
    http: &HttpClient,
    base: &Url,
    appid: &str,
    secret: &str,
) -> Result<AccessToken, ApiError> {
    http.get(
        base,
        "/cgi-bin/token",
        &[
            ("grant_type", "client_credential"),
            ("appid", appid),
            ("secret", secret),
        ],
    )
    .await
}

/// `POST cgi-bin/stable_token` (shared with Mini Programs).
pub(crate) async fn fetch_stable_token(
    http: &HttpClient,
    base: &Url,
    appid: &str,
    secret: &str,
    force_refresh: bool,
) -> Result<AccessToken, ApiError> {
    let body = StableTokenRequest {
        grant_type: "client_credential",
        appid,
        secret,
        force_refresh,
    };
    http.post(base, "/cgi-bin/stable_token", &[], &body).await
}

impl OaClient {
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

    /// `GET /cgi-bin/token`: a new token that supersedes the previous one after ~5 minutes
    /// (reference §2.1.1). Prefer [`OaClient::stable_token`] unless the account is shared
    /// with a system that uses this endpoint.
    pub async fn token(&self, appid: &str, secret: &str) -> Result<AccessToken, ApiError> {
        fetch_token(&self.http, &self.base, appid, secret).await
    }

    /// `POST /cgi-bin/stable_token` (reference §2.1.2): the current token while valid;
    /// `force_refresh` issues a new one and invalidates the old (20 a day, ≥ 30 s apart).
    pub async fn stable_token(
        &self,
        appid: &str,
        secret: &str,
        force_refresh: bool,
    ) -> Result<AccessToken, ApiError> {
        fetch_stable_token(&self.http, &self.base, appid, secret, force_refresh).await
    }

    /// `GET /cgi-bin/getcallbackip`: addresses WeChat pushes from.
    pub async fn getcallbackip(&self, access_token: &str) -> Result<IpList, ApiError> {
        self.http
            .get(
                &self.base,
                "/cgi-bin/getcallbackip",
                &[("access_token", access_token)],
            )
            .await
    }

    /// `GET /cgi-bin/get_api_domain_ip`: addresses behind `api.weixin.qq.com`.
    pub async fn get_api_domain_ip(&self, access_token: &str) -> Result<IpList, ApiError> {
        self.http
            .get(
                &self.base,
                "/cgi-bin/get_api_domain_ip",
                &[("access_token", access_token)],
            )
            .await
    }

    /// `GET /cgi-bin/user/get`: one page of followers after `next_openid` (None = start).
    pub async fn user_get(
        &self,
        access_token: &str,
        next_openid: Option<&str>,
    ) -> Result<FollowerPage, ApiError> {
        self.http
            .get(
                &self.base,
                "/cgi-bin/user/get",
                &[
                    ("access_token", access_token),
                    ("next_openid", next_openid.unwrap_or("")),
                ],
            )
            .await
    }

    /// Every follower, page after page, stopping per [`FollowerPage::is_last`] (and on a
    /// repeated cursor, so it can never loop).
    pub async fn user_get_all(&self, access_token: &str) -> Result<Vec<String>, ApiError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.user_get(access_token, cursor.as_deref()).await?;
            all.extend_from_slice(page.openids());
            if page.is_last() || cursor.as_deref() == Some(page.next_openid.as_str()) {
                return Ok(all);
            }
            cursor = Some(page.next_openid);
        }
    }

    /// `GET /cgi-bin/user/info` (`lang` defaults to `zh_CN`).
    pub async fn user_info(
        &self,
        access_token: &str,
        openid: &str,
        lang: Option<&str>,
    ) -> Result<UserInfo, ApiError> {
        self.http
            .get(
                &self.base,
                "/cgi-bin/user/info",
                &[
                    ("access_token", access_token),
                    ("openid", openid),
                    ("lang", lang.unwrap_or("zh_CN")),
                ],
            )
            .await
    }

    /// `POST /cgi-bin/user/info/batchget` (≤ 100 OpenIDs, else 40032).
    pub async fn user_info_batchget(
        &self,
        access_token: &str,
        openids: &[&str],
        lang: Option<&str>,
    ) -> Result<Vec<UserInfo>, ApiError> {
        let lang = lang.unwrap_or("zh_CN");
        let list: Vec<Value> = openids
            .iter()
            .map(|o| json!({ "openid": o, "lang": lang }))
            .collect();
        let resp: UserInfoList = self
            .http
            .post(
                &self.base,
                "/cgi-bin/user/info/batchget",
                &[("access_token", access_token)],
                &json!({ "user_list": list }),
            )
            .await?;
        Ok(resp.user_info_list)
    }

    /// `POST /cgi-bin/menu/create` (replaces the default menu).
    pub async fn menu_create(&self, access_token: &str, menu: &Menu) -> Result<Ack, ApiError> {
        self.http
            .post(
                &self.base,
                "/cgi-bin/menu/create",
                &[("access_token", access_token)],
                menu,
            )
            .await
    }

    /// `GET /cgi-bin/menu/get`; `None` when no menu exists (46003).
    pub async fn menu_get(&self, access_token: &str) -> Result<Option<MenuInfo>, ApiError> {
        match self
            .http
            .get(
                &self.base,
                "/cgi-bin/menu/get",
                &[("access_token", access_token)],
            )
            .await
        {
            Ok(menu) => Ok(Some(menu)),
            Err(e) if e.errcode() == Some(46003) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /cgi-bin/menu/delete` (default and personalised menus).
    pub async fn menu_delete(&self, access_token: &str) -> Result<Ack, ApiError> {
        self.http
            .get(
                &self.base,
                "/cgi-bin/menu/delete",
                &[("access_token", access_token)],
            )
            .await
    }

    /// `POST /cgi-bin/message/template/send`.
    pub async fn template_send(
        &self,
        access_token: &str,
        message: &TemplateMessage,
    ) -> Result<MsgId, ApiError> {
        self.http
            .post(
                &self.base,
                "/cgi-bin/message/template/send",
                &[("access_token", access_token)],
                message,
            )
            .await
    }

    /// `POST /cgi-bin/message/subscribe/bizsend` (not idempotent: no platform key).
    pub async fn subscribe_bizsend(
        &self,
        access_token: &str,
        message: &SubscribeBizMessage,
    ) -> Result<Ack, ApiError> {
        self.http
            .post(
                &self.base,
                "/cgi-bin/message/subscribe/bizsend",
                &[("access_token", access_token)],
                message,
            )
            .await
    }

    /// `POST /cgi-bin/message/custom/send` (not idempotent: no platform key).
    pub async fn custom_send(
        &self,
        access_token: &str,
        message: &CustomMessage,
    ) -> Result<Ack, ApiError> {
        self.http
            .post(
                &self.base,
                "/cgi-bin/message/custom/send",
                &[("access_token", access_token)],
                message,
            )
            .await
    }

    /// `GET /cgi-bin/ticket/getticket?type=jsapi` (cache it: small quota).
    pub async fn jsapi_ticket(&self, access_token: &str) -> Result<Ticket, ApiError> {
        self.http
            .get(
                &self.base,
                "/cgi-bin/ticket/getticket",
                &[("access_token", access_token), ("type", "jsapi")],
            )
            .await
    }

    /// `GET /sns/oauth2/access_token`: exchanges a web-OAuth `code` (single use, 5 min).
    pub async fn oauth2_access_token(
        &self,
        appid: &str,
        secret: &str,
        code: &str,
    ) -> Result<OAuthToken, ApiError> {
        self.http
            .get(
                &self.base,
                "/sns/oauth2/access_token",
                &[
                    ("appid", appid),
                    ("secret", secret),
                    ("code", code),
                    ("grant_type", "authorization_code"),
                ],
            )
            .await
    }

    /// `GET /sns/userinfo` with a **user** token from [`OaClient::oauth2_access_token`].
    pub async fn sns_userinfo(
        &self,
        user_access_token: &str,
        openid: &str,
        lang: Option<&str>,
    ) -> Result<SnsUserInfo, ApiError> {
        self.http
            .get(
                &self.base,
                "/sns/userinfo",
                &[
                    ("access_token", user_access_token),
                    ("openid", openid),
                    ("lang", lang.unwrap_or("zh_CN")),
                ],
            )
            .await
    }
}
