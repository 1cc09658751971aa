//! The JSON API error model. Reference §0.2 (envelope), §2.1.3 and §2.14 (OA / Mini Program
//! codes), §3.2 (Mini Program login), §4.1–4.2 and §4.17 (WeCom codes), §5.2 (suite tokens),
//! §7 pitfalls 1, 3, 4 and 19; peers survey P2, P10 and P11.
//!
//! Every WeChat/WeCom API answers HTTP 200 with `{"errcode": <int>, "errmsg": "<text>"}`;
//! success is `errcode` 0 **or absent** (OA token, user info, OAuth and `jscode2session`
//! omit it). [`check_response`] turns a body into `Ok(json)` or a [`WxApiError`], and
//! [`classify`] tells the caller what to do about an error code.
//!
//! The same number means different things per product: 45009 is the OA **daily quota**
//! (stop until tomorrow) but the WeCom **frequency limit** (back off and retry); 48002 is
//! "this user blocked the OA" (one recipient) on OA but "API forbidden for this app"
//! (configuration) on WeCom; 40001 is a stale OA token (refresh) but an invalid WeCom secret
//! (configuration). Hence the table is keyed by `(code, product)`.

use std::net::IpAddr;

use serde_json::Value;

/// The API family a call was made to (decides how an error code reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Product {
    /// Official Account (公众号), `api.weixin.qq.com`.
    OfficialAccount,
    /// Mini Program (小程序), `api.weixin.qq.com`.
    MiniProgram,
    /// WeCom corp APIs (`qyapi.weixin.qq.com` with a corp `access_token`, self-built,
    /// third-party on behalf of a corp, or 代开发).
    WeCom,
    /// WeCom suite/provider APIs (`suite_access_token` / `provider_access_token`, §5).
    WeComSuite,
}

impl Product {
    fn bit(self) -> u8 {
        match self {
            Product::OfficialAccount => OA,
            Product::MiniProgram => MP,
            Product::WeCom => WC,
            Product::WeComSuite => SU,
        }
    }
}

/// What a caller should do about an error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reaction {
    /// Success (errcode 0).
    Ok,
    /// The access token is stale or invalid: fetch a new token once and retry the call once.
    /// Never loop (§7 pitfall 1; a retry loop burns the daily token quota, peers P2).
    RefreshTokenAndRetryOnce,
    /// Transient: system busy or a frequency/concurrency limit. Retry later with backoff.
    BackOff,
    /// A daily quota is used up: stop calling this API for this account until the quota
    /// resets (OA: next day, or `clear_quota`), and alert.
    QuotaExhausted,
    /// Configuration problem (IP whitelist, wrong secret/appid, missing permission, disabled
    /// app…): do not retry, alert an administrator.
    ConfigError,
    /// This recipient/target cannot receive it (unfollowed, refused, blocked, invalid id…):
    /// record the failure for this recipient, do not retry it, carry on with others.
    RecipientFailure,
    /// Any other error: the request itself is wrong. Do not retry.
    Permanent,
}

impl Reaction {
    /// Whether retrying the same request later may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, Reaction::RefreshTokenAndRetryOnce | Reaction::BackOff)
    }

    /// Whether an administrator should be alerted.
    pub fn needs_alert(self) -> bool {
        matches!(self, Reaction::ConfigError | Reaction::QuotaExhausted)
    }

    /// The reaction when the failing call was itself a token fetch: a token error there
    /// means wrong credentials (§2.1.3: 40001 "wrong secret when fetching"), so
    /// [`Reaction::RefreshTokenAndRetryOnce`] becomes [`Reaction::ConfigError`].
    pub fn for_token_fetch(self) -> Reaction {
        match self {
            Reaction::RefreshTokenAndRetryOnce => Reaction::ConfigError,
            other => other,
        }
    }

    /// Reaction to a non-200 HTTP status (the body is then not an API envelope):
    /// 429 and 5xx back off, other non-2xx statuses are permanent, 2xx is `Ok` (inspect the
    /// body with [`check_response`]).
    pub fn for_http_status(status: u16) -> Reaction {
        match status {
            200..=299 => Reaction::Ok,
            429 | 500..=599 => Reaction::BackOff,
            _ => Reaction::Permanent,
        }
    }
}

/// One row of the error table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeInfo {
    /// The errcode.
    pub code: i64,
    /// Short meaning in Chinese, as in Tencent's tables.
    pub zh: &'static str,
    /// Short meaning in English.
    pub en: &'static str,
    /// What to do.
    pub reaction: Reaction,
}

const OA: u8 = 1;
const MP: u8 = 2;
const WC: u8 = 4;
const SU: u8 = 8;
/// Official Account and Mini Program share `api.weixin.qq.com` and its global codes.
const WX: u8 = OA | MP;
/// WeCom corp and suite APIs share the WeCom global codes.
const WK: u8 = WC | SU;
const ALL: u8 = WX | WK;

use Reaction::{
    BackOff, ConfigError, Ok as Fine, Permanent, QuotaExhausted, RecipientFailure,
    RefreshTokenAndRetryOnce as Refresh,
};

/// `(code, products, zh, en, reaction)`, sorted by code; a code appears once per product.
#[rustfmt::skip]
static TABLE: &[(i32, u8, &str, &str, Reaction)] = &[
    (-1, ALL, "系统繁忙", "system busy, retry later", BackOff),
    (0, ALL, "请求成功", "ok", Fine),
    (6000, WK, "数据版本冲突", "data version conflict (concurrent modification)", BackOff),
    (40001, WX, "access_token 无效或不是最新", "invalid credential: access_token invalid or not latest", Refresh),
    (40001, WK, "不合法的 secret 参数", "invalid secret", ConfigError),
    (40002, WX, "不合法的凭证类型", "invalid credential type (grant_type)", Permanent),
    (40003, WX, "不合法的 OpenID", "invalid openid (wrong account, or not a follower)", RecipientFailure),
    (40003, WK, "不合法的 UserID", "invalid userid", RecipientFailure),
    (40004, ALL, "不合法的媒体文件类型", "invalid media type", Permanent),
    (40005, ALL, "不合法的文件类型", "invalid file type", Permanent),
    (40006, ALL, "不合法的文件大小", "invalid file size", Permanent),
    (40007, ALL, "不合法的媒体文件 id", "invalid media_id", Permanent),
    (40008, ALL, "不合法的消息类型", "invalid message type", Permanent),
    (40013, WX, "不合法的 AppID", "invalid appid", ConfigError),
    (40013, WK, "不合法的 CorpID", "invalid corpid", ConfigError),
    (40014, ALL, "不合法的 access_token", "invalid access_token", Refresh),
    (40029, ALL, "不合法的 oauth_code", "invalid oauth code", Permanent),
    (40033, ALL, "不合法的请求字符，不能包含 \\uxxxx 格式的字符", "invalid request charset (\\uXXXX escapes)", Permanent),
    (40035, ALL, "不合法的参数", "invalid parameter", Permanent),
    (40036, WX, "不合法的 template_id 长度", "invalid template_id size", Permanent),
    (40037, WX, "不合法的 template_id", "invalid template_id", ConfigError),
    (40056, WK, "不合法的 agentid", "invalid agentid", ConfigError),
    (40057, WK, "不合法的回调 URL", "invalid callback url or verification failed", ConfigError),
    (40082, WK, "不合法的 suite_token", "invalid suite_access_token", Refresh),
    (40083, WK, "不合法的 suite_id", "invalid suite_id", ConfigError),
    (40084, WK, "不合法的永久授权码", "invalid permanent_code", ConfigError),
    // A stale ticket heals with the next push (every 10 min, §5.3): wait, do not alert at once.
    (40085, WK, "不合法的 suite_ticket", "invalid suite_ticket (wait for the next push)", BackOff),
    (40091, WK, "secret 不合法", "invalid secret (for example another corp's)", ConfigError),
    (40096, WK, "不合法的外部联系人 userid", "invalid external userid", RecipientFailure),
    (40125, WX, "不合法的 AppSecret", "invalid appsecret", ConfigError),
    (40163, WX, "oauth_code 已使用", "oauth code already used", Permanent),
    (40164, WX, "调用接口的 IP 地址不在白名单中", "caller IP not in the IP whitelist", ConfigError),
    (40226, MP, "高风险等级用户，小程序登录拦截", "login code blocked: high-risk user", RecipientFailure),
    (40243, WX, "AppSecret 已被冻结", "AppSecret frozen", ConfigError),
    (41001, ALL, "缺少 access_token 参数", "access_token missing", Permanent),
    (41002, WX, "缺少 appid 参数", "appid missing", ConfigError),
    (41002, WK, "缺少 corpid 参数", "corpid missing", ConfigError),
    (41004, ALL, "缺少 secret 参数", "secret missing", ConfigError),
    (41021, WK, "缺少 suite_id 参数", "suite_id missing", ConfigError),
    (41022, WK, "缺少 suite_access_token 参数", "suite_access_token missing", ConfigError),
    (41023, WK, "缺少 suite_ticket 参数", "suite_ticket missing", ConfigError),
    (41024, WK, "缺少 secret 参数", "secret missing", ConfigError),
    (41025, WK, "缺少永久授权码", "permanent_code missing", ConfigError),
    (41030, WX, "page 路径不正确", "invalid page path", Permanent),
    (42001, ALL, "access_token 已过期", "access_token expired", Refresh),
    (42003, WX, "oauth_code 已过期", "oauth code expired", Permanent),
    (42007, WK, "pre_auth_code 已过期", "pre_auth_code expired", Permanent),
    (42009, WK, "suite_access_token 已过期", "suite_access_token expired", Refresh),
    (43003, ALL, "需要使用 HTTPS", "require https", ConfigError),
    (43004, WX, "需要接收者关注", "recipient must follow the account", RecipientFailure),
    (43004, WK, "指定的 userid 未绑定微信或未关注微信插件", "userid not bound to WeChat / not following the WeChat plugin", RecipientFailure),
    (43019, WX, "需要将接收者从黑名单中移除", "recipient is in the blacklist", RecipientFailure),
    (43101, WX, "用户拒绝接受消息", "user refused the message (no subscription left)", RecipientFailure),
    (44004, ALL, "文本消息内容为空", "empty text content", Permanent),
    (45001, ALL, "多媒体文件大小超过限制", "media file too large", Permanent),
    (45002, ALL, "消息内容超过限制", "content too long", Permanent),
    (45008, ALL, "图文消息的文章数量超过限制", "too many articles", Permanent),
    (45009, WX, "接口调用超过每日限额", "daily API quota reached", QuotaExhausted),
    (45009, WK, "接口调用超过频率限制", "API frequency limit reached", BackOff),
    (45011, WX, "API 调用太频繁，请稍候再试", "API minute-rate limit, retry next minute", BackOff),
    // Per-user windows (48 h customer-service window, 5 messages): one recipient, not the account.
    (45015, WX, "回复时间超过限制", "reply out of time limit (customer-service window closed)", RecipientFailure),
    (45026, WX, "模板数量超出限制", "template count limit", Permanent),
    (45026, WK, "触发删除用户数的保护", "delete-protection triggered (full replace)", ConfigError),
    (45033, WK, "接口并发调用超过限制", "too many concurrent calls", BackOff),
    (45047, WX, "客服接口下行条数超过上限", "customer-service message count limit for this user reached", RecipientFailure),
    (46004, ALL, "不存在的用户", "user does not exist", RecipientFailure),
    (47001, ALL, "解析 JSON/XML 内容错误", "malformed JSON/XML body", Permanent),
    (47003, WX, "参数值不合法", "argument invalid (errmsg names the field)", Permanent),
    (48001, WX, "API 功能未授权", "API unauthorised for this account", ConfigError),
    (48002, WX, "粉丝拒收消息", "user blocked messages from the account", RecipientFailure),
    (48002, WK, "API 禁止调用", "API forbidden for this token/app", ConfigError),
    (48003, WK, "suite_id 不一致", "suite_id mismatch", ConfigError),
    (48004, WX, "API 接口被封禁", "API banned", ConfigError),
    (48004, WK, "授权关系无效", "authorisation invalid or cancelled", ConfigError),
    (48005, WK, "API 已废弃", "API deprecated", ConfigError),
    // Not in the WeCom table of the reference; seen for the contact-sync secret (peers P7).
    (48009, WK, "API 禁止调用", "API forbidden (for example for the contact-sync assistant)", ConfigError),
    (50001, WX, "用户未授权该 API", "API not authorised", ConfigError),
    (50001, WK, "redirect_uri 未授权", "redirect_uri domain not trusted", ConfigError),
    (50002, WX, "用户受限，可能是违规后接口被封禁", "account limited (API banned after a violation)", ConfigError),
    (50002, WK, "员工不在权限范围", "member out of the app's scope", RecipientFailure),
    (50003, WK, "应用已禁用", "app disabled", ConfigError),
    (50004, WX, "禁止使用 token 接口", "account may not use access tokens (penalised)", ConfigError),
    (60011, WK, "指定的成员/部门/标签参数无权限", "no privilege for the member/department/tag", ConfigError),
    (60020, WK, "不安全的访问 IP", "caller IP not in the trusted IP list", ConfigError),
    (60111, WK, "UserID 不存在", "userid not found", RecipientFailure),
    (61003, WX, "第三方平台未获授权", "component not authorised", ConfigError),
    (61004, WX, "访问 IP 不在白名单中", "client IP not registered in the whitelist", ConfigError),
    (61007, WX, "接口未授权给第三方平台", "API not authorised to the component", ConfigError),
    (63002, WX, "无效的签名", "invalid JS-SDK signature", Permanent),
    (81013, WK, "UserID、部门ID、标签ID全部非法或无权限", "all of user, party and tag invalid or out of scope", RecipientFailure),
    (82001, WK, "指定的成员/部门/标签全部为空", "all targets invalid", RecipientFailure),
    (84061, WK, "不存在外部联系人的关系", "no external-contact relationship", RecipientFailure),
    (84074, WK, "没有外部联系人权限", "no external-contact permission", ConfigError),
    (89501, WX, "此 IP 正在等待管理员确认", "IP pending administrator confirmation", ConfigError),
    (89503, WX, "此 IP 调用需要管理员确认", "IP needs administrator confirmation", ConfigError),
    (89506, WX, "24 小时内该 IP 被管理员拒绝调用两次", "IP rejected twice by the administrator within 24 h", ConfigError),
    (89507, WX, "1 小时内该 IP 被管理员拒绝调用一次", "IP rejected by the administrator within 1 h", ConfigError),
    (301002, WK, "无权限操作指定的应用", "no permission for the specified app", ConfigError),
    (2000002, WK, "CorpId 参数无效", "corpid invalid", ConfigError),
];

/// The table row for `(product, errcode)`, if the code is documented for that product.
pub fn describe(product: Product, errcode: i64) -> Option<CodeInfo> {
    let code = i32::try_from(errcode).ok()?;
    let start = TABLE.partition_point(|row| row.0 < code);
    TABLE
        .get(start..)?
        .iter()
        .take_while(|row| row.0 == code)
        .find(|row| row.1 & product.bit() != 0)
        .map(|&(code, _, zh, en, reaction)| CodeInfo {
            code: i64::from(code),
            zh,
            en,
            reaction,
        })
}

/// What to do about `errcode` returned by a `product` API.
///
/// Codes not in the table are [`Reaction::Permanent`] (except that 0 is always
/// [`Reaction::Ok`]).
///
/// ```
/// use wx::errcode::{classify, Product, Reaction};
/// assert_eq!(classify(Product::OfficialAccount, 45009), Reaction::QuotaExhausted);
/// assert_eq!(classify(Product::WeCom, 45009), Reaction::BackOff);
/// assert_eq!(classify(Product::OfficialAccount, 48002), Reaction::RecipientFailure);
/// assert_eq!(classify(Product::WeCom, 48002), Reaction::ConfigError);
/// ```
pub fn classify(product: Product, errcode: i64) -> Reaction {
    if errcode == 0 {
        return Reaction::Ok;
    }
    describe(product, errcode).map_or(Reaction::Permanent, |info| info.reaction)
}

/// All documented codes of `product`, in ascending order.
pub fn codes(product: Product) -> impl Iterator<Item = CodeInfo> {
    TABLE
        .iter()
        .filter(move |row| row.1 & product.bit() != 0)
        .map(|&(code, _, zh, en, reaction)| CodeInfo {
            code: i64::from(code),
            zh,
            en,
            reaction,
        })
}

/// A non-zero `errcode` answer, with the diagnostics WeChat packs into `errmsg`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("WeChat API error {errcode}: {errmsg}")]
pub struct WxApiError {
    /// The error code.
    pub errcode: i64,
    /// The message, verbatim.
    pub errmsg: String,
    /// OA request id: `errmsg` tail `rid: 64635211-1adf7efb-7b834cc4`.
    pub rid: Option<String>,
    /// Request id in brackets: OA (older) `hint: [EeSuhA04363721]` and WeCom
    /// `hint: [1655882753557010848204971]`.
    pub hint: Option<String>,
    /// The caller's IP as the platform saw it: OA 40164 `invalid ip 1.2.3.4 ipv6 ::ffff:…, not
    /// in whitelist`, WeCom `from ip: 1.2.3.4` (60020 and others). Show it to the admin who
    /// must whitelist it (peers P10).
    pub ip: Option<IpAddr>,
}

impl WxApiError {
    /// Builds the error and extracts `rid`, `hint` and `ip` from `errmsg`.
    pub fn new(errcode: i64, errmsg: impl Into<String>) -> Self {
        let errmsg = errmsg.into();
        let rid = token_after(&errmsg, "rid: ", |c| c.is_ascii_alphanumeric() || c == '-')
            .map(str::to_owned);
        let hint = bracketed_after(&errmsg, "hint: [").map(str::to_owned);
        let ip = ip_after(&errmsg, "from ip: ").or_else(|| ip_after(&errmsg, "invalid ip "));
        WxApiError {
            errcode,
            errmsg,
            rid,
            hint,
            ip,
        }
    }

    /// [`classify`] for this error.
    pub fn reaction(&self, product: Product) -> Reaction {
        classify(product, self.errcode)
    }

    /// [`describe`] for this error.
    pub fn describe(&self, product: Product) -> Option<CodeInfo> {
        describe(product, self.errcode)
    }
}

/// The run of `allowed` chars right after the first `marker`, if non-empty.
fn token_after<'a>(s: &'a str, marker: &str, allowed: impl Fn(char) -> bool) -> Option<&'a str> {
    let start = s.find(marker)? + marker.len();
    let rest = s.get(start..)?;
    let end = rest.find(|c: char| !allowed(c)).unwrap_or(rest.len());
    rest.get(..end).filter(|t| !t.is_empty())
}

fn bracketed_after<'a>(s: &'a str, marker: &str) -> Option<&'a str> {
    let start = s.find(marker)? + marker.len();
    let rest = s.get(start..)?;
    rest.get(..rest.find(']')?).filter(|t| !t.is_empty())
}

fn ip_after(s: &str, marker: &str) -> Option<IpAddr> {
    token_after(s, marker, |c| c.is_ascii_hexdigit() || c == '.' || c == ':')?
        .parse()
        .ok()
}

/// Why a response body could not be read as success.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// The platform answered an error code.
    #[error(transparent)]
    Api(#[from] WxApiError),
    /// The body is not JSON.
    #[error("API response is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The body is JSON but not an object.
    #[error("API response is not a JSON object")]
    NotAnObject,
    /// `errcode` is present but not an integer.
    #[error("API response errcode is not an integer: {0}")]
    BadErrcode(String),
}

fn errcode_of(v: &Value) -> Result<Option<i64>, ResponseError> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                return Ok(Some(i));
            }
            // 40001.0 from a sloppy proxy is still 40001.
            match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
                _ => Err(ResponseError::BadErrcode(n.to_string())),
            }
        }
        // Some endpoints send errcode as a string (§7 pitfall 4).
        Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| ResponseError::BadErrcode(crate::text::truncate_chars(s, 40).into())),
        other => Err(ResponseError::BadErrcode(
            crate::text::truncate_chars(&other.to_string(), 40).into(),
        )),
    }
}

fn errmsg_of(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The error carried by a parsed response, `Ok(None)` on success.
///
/// Success is `errcode` 0 or absent (§0.2). A `base_resp` object carrying the code (device
/// APIs, §7 pitfall 4) is honoured when the top level has none.
pub fn error_of(v: &Value) -> Result<Option<WxApiError>, ResponseError> {
    let Value::Object(map) = v else {
        return Err(ResponseError::NotAnObject);
    };
    let (code, msg) = match map.get("errcode") {
        Some(c) if !c.is_null() => (errcode_of(c)?, map.get("errmsg")),
        _ => match map.get("base_resp") {
            Some(Value::Object(base)) => match base.get("errcode") {
                Some(c) => (errcode_of(c)?, base.get("errmsg")),
                None => (None, None),
            },
            _ => (None, None),
        },
    };
    Ok(match code {
        None | Some(0) => None,
        Some(code) => Some(WxApiError::new(code, errmsg_of(msg))),
    })
}

/// Checks a parsed response: `Err(ResponseError::Api)` for a non-zero `errcode`.
pub fn check_value(v: &Value) -> Result<(), ResponseError> {
    match error_of(v)? {
        None => Ok(()),
        Some(e) => Err(ResponseError::Api(e)),
    }
}

/// Parses a response body and checks it; on success returns the JSON for the caller to read.
///
/// ```
/// use wx::errcode::{check_response, Product, Reaction, ResponseError};
/// assert!(check_response(br#"{"access_token":"T","expires_in":7200}"#).is_ok());
/// let Err(ResponseError::Api(e)) = check_response(
///     br#"{"errcode":40164,"errmsg":"invalid ip 47.100.1.2 ipv6 ::ffff:47.100.1.2, not in whitelist rid: 6463-1adf-7b83"}"#,
/// ) else { panic!() };
/// assert_eq!(e.ip, Some("47.100.1.2".parse().unwrap()));
/// assert_eq!(e.rid.as_deref(), Some("6463-1adf-7b83"));
/// assert_eq!(e.reaction(Product::OfficialAccount), Reaction::ConfigError);
/// ```
pub fn check_response(body: &[u8]) -> Result<Value, ResponseError> {
    let v: Value = serde_json::from_slice(body)?;
    check_value(&v)?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PRODUCTS: [Product; 4] = [
        Product::OfficialAccount,
        Product::MiniProgram,
        Product::WeCom,
        Product::WeComSuite,
    ];

    #[test]
    fn table_is_sorted_and_unambiguous() {
        for w in TABLE.windows(2) {
            assert!(w[0].0 <= w[1].0, "not sorted at {}", w[1].0);
            if w[0].0 == w[1].0 {
                assert_eq!(
                    w[0].1 & w[1].1,
                    0,
                    "code {} listed twice for a product",
                    w[0].0
                );
            }
        }
        for row in TABLE {
            assert!(row.1 != 0 && !row.2.is_empty() && !row.3.is_empty());
        }
    }

    #[test]
    fn token_errors_refresh_once() {
        for p in PRODUCTS {
            assert_eq!(classify(p, 40014), Reaction::RefreshTokenAndRetryOnce);
            assert_eq!(classify(p, 42001), Reaction::RefreshTokenAndRetryOnce);
        }
        assert_eq!(
            classify(Product::OfficialAccount, 40001),
            Reaction::RefreshTokenAndRetryOnce
        );
        assert_eq!(
            classify(Product::MiniProgram, 40001),
            Reaction::RefreshTokenAndRetryOnce
        );
        // WeCom 40001 is "invalid secret" (§4.17): refreshing cannot help.
        assert_eq!(classify(Product::WeCom, 40001), Reaction::ConfigError);
        assert_eq!(
            classify(Product::WeComSuite, 42009),
            Reaction::RefreshTokenAndRetryOnce
        );
        assert_eq!(
            Reaction::RefreshTokenAndRetryOnce.for_token_fetch(),
            Reaction::ConfigError
        );
    }

    #[test]
    fn same_code_differs_per_product() {
        use Product::*;
        assert_eq!(classify(OfficialAccount, 45009), Reaction::QuotaExhausted);
        assert_eq!(classify(MiniProgram, 45009), Reaction::QuotaExhausted);
        assert_eq!(classify(WeCom, 45009), Reaction::BackOff);
        assert_eq!(classify(WeComSuite, 45009), Reaction::BackOff);
        assert_eq!(classify(OfficialAccount, 48002), Reaction::RecipientFailure);
        assert_eq!(classify(WeCom, 48002), Reaction::ConfigError);
        assert_eq!(describe(OfficialAccount, 48002).unwrap().zh, "粉丝拒收消息");
        assert_eq!(
            describe(WeCom, 48002).unwrap().en,
            "API forbidden for this token/app"
        );
    }

    #[test]
    fn reference_classifications() {
        use Product::*;
        let cases = [
            (OfficialAccount, -1, Reaction::BackOff),
            (WeCom, -1, Reaction::BackOff),
            (OfficialAccount, 0, Reaction::Ok),
            (OfficialAccount, 45011, Reaction::BackOff),
            (WeCom, 45033, Reaction::BackOff),
            (OfficialAccount, 40164, Reaction::ConfigError),
            (WeCom, 60020, Reaction::ConfigError),
            (OfficialAccount, 40013, Reaction::ConfigError),
            (OfficialAccount, 40125, Reaction::ConfigError),
            (OfficialAccount, 48001, Reaction::ConfigError),
            (WeCom, 60011, Reaction::ConfigError),
            (WeCom, 50003, Reaction::ConfigError),
            (OfficialAccount, 43004, Reaction::RecipientFailure),
            (OfficialAccount, 43101, Reaction::RecipientFailure),
            (OfficialAccount, 40003, Reaction::RecipientFailure),
            (WeCom, 81013, Reaction::RecipientFailure),
            (OfficialAccount, 45047, Reaction::RecipientFailure),
            (OfficialAccount, 47003, Reaction::Permanent),
            (OfficialAccount, 99_999_999, Reaction::Permanent),
            (WeCom, i64::MAX, Reaction::Permanent),
            (WeCom, 0, Reaction::Ok),
        ];
        for (p, code, want) in cases {
            assert_eq!(classify(p, code), want, "{p:?} {code}");
        }
        assert!(Reaction::BackOff.is_retryable());
        assert!(!Reaction::RecipientFailure.is_retryable());
        assert!(Reaction::ConfigError.needs_alert());
        assert_eq!(Reaction::for_http_status(502), Reaction::BackOff);
        assert_eq!(Reaction::for_http_status(404), Reaction::Permanent);
        assert_eq!(Reaction::for_http_status(200), Reaction::Ok);
        assert!(codes(Product::WeCom).any(|c| c.code == 60020));
        assert!(!codes(Product::WeCom).any(|c| c.code == 40164));
    }

    #[test]
    fn success_envelopes() {
        for body in [
            &br#"{"access_token":"T","expires_in":7200}"#[..],
            br#"{"errcode":0,"errmsg":"ok"}"#,
            br#"{"errcode":"0","errmsg":"ok"}"#,
            br#"{"errcode":null}"#,
            br#"{"base_resp":{"errcode":0,"errmsg":"ok"}}"#,
        ] {
            assert!(
                check_response(body).is_ok(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn error_envelopes() {
        let e = match check_response(br#"{"errcode":"40001","errmsg":"invalid credential, access_token is invalid or not latest rid: 64635211-1adf7efb-7b834cc4"}"#) {
            Err(ResponseError::Api(e)) => e,
            other => panic!("{other:?}"),
        };
        assert_eq!(e.errcode, 40001);
        assert_eq!(e.rid.as_deref(), Some("64635211-1adf7efb-7b834cc4"));
        assert_eq!(e.ip, None);

        let e = WxApiError::new(
            60020,
            "not allow to access from your ip, hint: [1655882753557010848204971], from ip: 113.87.161.44, more info at https://open.work.weixin.qq.com/devtool/query?e=60020",
        );
        assert_eq!(e.hint.as_deref(), Some("1655882753557010848204971"));
        assert_eq!(e.ip, Some("113.87.161.44".parse().unwrap()));
        assert_eq!(e.rid, None);
        assert_eq!(e.reaction(Product::WeCom), Reaction::ConfigError);

        let e = WxApiError::new(
            40164,
            "invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist rid: 6463-aa",
        );
        assert_eq!(e.ip, Some("1.2.3.4".parse().unwrap()));
        let e = WxApiError::new(40164, "invalid ip 2001:db8::1, not in whitelist");
        assert_eq!(e.ip, Some("2001:db8::1".parse().unwrap()));
        let e = WxApiError::new(-1, "system error hint: [EeSuhA04363721]");
        assert_eq!(e.hint.as_deref(), Some("EeSuhA04363721"));

        let base = check_response(br#"{"base_resp":{"errcode":45009,"errmsg":"quota"}}"#);
        assert!(matches!(base, Err(ResponseError::Api(ref e)) if e.errcode == 45009));
        assert!(matches!(
            check_response(br#"{"errcode":40001.0}"#),
            Err(ResponseError::Api(ref e)) if e.errcode == 40001 && e.errmsg.is_empty()
        ));
        assert!(matches!(
            check_response(br#"{"errcode":"x"}"#),
            Err(ResponseError::BadErrcode(_))
        ));
        assert!(matches!(
            check_response(br#"[1]"#),
            Err(ResponseError::NotAnObject)
        ));
        assert!(matches!(
            check_response(b"<html>502</html>"),
            Err(ResponseError::Json(_))
        ));
    }

    proptest! {
        #[test]
        fn never_panics(body in proptest::collection::vec(any::<u8>(), 0..200), code in any::<i64>()) {
            let _ = check_response(&body);
            for p in PRODUCTS { let _ = classify(p, code); }
        }

        #[test]
        fn errmsg_parsing_never_panics(msg in "\\PC{0,80}") {
            let e = WxApiError::new(1, format!("{msg} rid: {msg} hint: [{msg} from ip: {msg}"));
            prop_assert_eq!(e.errcode, 1);
        }
    }
}
