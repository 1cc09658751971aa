//! Errors. [`WxError`] is what a Tencent endpoint answers (`errcode`/`errmsg`, reference §0.2,
//! §2.1.3, §2.14, §4.17); [`SimError`] is what the library API returns to its embedder.

use std::net::SocketAddr;

use crate::role::Role;
use crate::seed::SeedError;

/// A Tencent business error: HTTP 200 with `{"errcode":N,"errmsg":"..."}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("errcode {errcode}: {errmsg}")]
pub struct WxError {
    /// Tencent error code.
    pub errcode: i64,
    /// Message without the `rid:` / `hint:` tail (added when the response is written).
    pub errmsg: String,
}

impl WxError {
    /// An error with an explicit message.
    pub fn new(errcode: i64, errmsg: impl Into<String>) -> Self {
        Self {
            errcode,
            errmsg: errmsg.into(),
        }
    }

    /// An error with the usual message of `errcode` on `role`'s host.
    pub fn of(role: Role, errcode: i64) -> Self {
        Self::new(errcode, errmsg_for(role, errcode))
    }

    /// An Official Account / Mini Program error (api.weixin.qq.com wording).
    pub fn oa(errcode: i64) -> Self {
        Self::of(Role::Api, errcode)
    }

    /// A WeCom error (qyapi.weixin.qq.com wording).
    pub fn work(errcode: i64) -> Self {
        Self::of(Role::Qyapi, errcode)
    }
}

/// The usual errmsg of an errcode. WeCom and OA word some codes differently (40001, 40003).
pub fn errmsg_for(role: Role, errcode: i64) -> &'static str {
    let wecom = role.is_wecom();
    match errcode {
        -1 => "system error",
        0 => "ok",
        40001 if wecom => "invalid secret",
        40001 => "invalid credential, access_token is invalid or not latest",
        40002 => "invalid grant_type",
        40003 if wecom => "invalid userid",
        40003 => "invalid openid",
        40007 => "invalid media_id",
        40008 => "invalid message type",
        40013 if wecom => "invalid corpid",
        40013 => "invalid appid",
        40014 => "invalid access_token",
        40016 => "invalid button size",
        40017 => "invalid button type",
        40018 => "invalid button name size",
        40019 => "invalid button key size",
        40020 => "invalid button url size",
        40022 => "invalid sub button level",
        40023 => "invalid sub button size",
        40024 => "invalid sub button type",
        40025 => "invalid sub button name size",
        40026 => "invalid sub button key size",
        40027 => "invalid sub button url size",
        40031 => "invalid userid list",
        40032 => "invalid openid list size",
        40033 => "invalid request charset, can not contain \\uxxxx",
        40035 => "invalid parameter",
        40036 => "invalid template_id size",
        40037 => "invalid template_id",
        40056 => "invalid agentid",
        40058 => "invalid parameter",
        40066 => "invalid department list",
        40091 => "secret is invalid",
        40125 => "invalid appsecret",
        41001 => "access_token missing",
        41002 if wecom => "corpid missing",
        41002 => "appid missing",
        41004 if wecom => "corpsecret missing",
        41004 => "appsecret missing",
        41009 if wecom => "missing userid",
        41009 => "missing openid",
        41010 => "missing url",
        41011 => "missing agentid",
        41016 => "missing title",
        41033 => "missing description",
        42001 => "access_token expired",
        43002 => "require POST method",
        43004 => "require subscribe",
        44002 => "empty post data",
        44003 => "empty news data",
        44004 => "empty content",
        45002 => "content size out of limit",
        45008 => "article size out of limit",
        45009 if wecom => "api freq out of limit",
        45009 => "reach max api daily quota limit",
        45011 => "api minute-quota reach limit  mustslower  retry next minute",
        45033 => "api concurrent out of limit",
        46003 => "menu no exist",
        46004 => "user not exist",
        47001 => "data format error",
        47003 => "argument invalid!",
        48001 => "api unauthorized",
        48002 => "api forbidden",
        50003 => "application is disabled",
        60001 => "department length not valid",
        60003 => "department not found",
        60004 => "parent department not found",
        60005 => "department contains members",
        60006 => "department contains sub-departments",
        60007 => "not allow to delete root department",
        60008 => "department existed",
        60009 => "department name contains invalid characters",
        60010 => "department cycle",
        60011 => "no privilege to access/modify contact/party/agent",
        60020 => "not allow to access from your ip",
        40029 => "invalid code",
        40164 => "invalid ip, not in whitelist",
        60102 => "userid existed",
        60103 => "mobile invalid",
        60104 => "mobile existed",
        60105 => "email invalid",
        60106 => "email existed",
        60110 => "department count out of limit",
        60111 => "userid not found",
        60112 => "user name invalid",
        60123 => "invalid department id",
        60124 => "invalid parent department id",
        81001 => "department node count out of limit",
        81002 => "department level too deep",
        81013 => "user & party & tag all invalid",
        82002 => "too many parties",
        82003 => "too many tags",
        301002 => "no permission for the specified app",
        301012 => "position invalid",
        301036 => "userid can not be updated",
        _ => "unknown error",
    }
}

/// Failures of the library API ([`crate::Simulator::start`] and friends).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The listener could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// Requested address.
        addr: SocketAddr,
        /// Underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The seed does not describe a consistent world.
    #[error("invalid seed: {0}")]
    Seed(#[from] SeedError),
    /// The server task failed or panicked.
    #[error("simulator server failed: {0}")]
    Server(String),
    /// A simulated page refused (OAuth error page, unknown Mini Program...).
    #[error("{0}")]
    Page(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wording_differs_by_role() {
        assert_eq!(
            WxError::oa(40001).errmsg,
            "invalid credential, access_token is invalid or not latest"
        );
        assert_eq!(WxError::work(40013).errmsg, "invalid corpid");
        assert_eq!(WxError::oa(40013).errmsg, "invalid appid");
        assert_eq!(WxError::work(45009).errmsg, "api freq out of limit");
    }
}
