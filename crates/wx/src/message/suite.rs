//! Typed views of WeCom third-party suite command callbacks (reference §5.3–5.4).
//!
//! These payloads have no `ToUserName`/`FromUserName`/`MsgType`: the root carries `SuiteId`,
//! `InfoType` and `TimeStamp`. The command URL must answer the literal body `success`
//! ([`SUCCESS`](super::reply::SUCCESS)) within 1000 ms. Suite `change_contact` and the
//! external-contact families reuse the WeCom views of [`wecom`](super::wecom).

use super::kinds::int;
use super::xml::Element;

/// `suite_ticket`: pushed every 10 minutes, each ticket valid 30 minutes (§5.3).
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteTicketEvent<'a> {
    /// `SuiteId`.
    pub suite_id: Option<&'a str>,
    /// `SuiteTicket` (≤ 512 bytes).
    pub suite_ticket: Option<&'a str>,
    /// `TimeStamp` (Unix seconds).
    pub timestamp: Option<i64>,
}

impl<'a> SuiteTicketEvent<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        SuiteTicketEvent {
            suite_id: r.get("SuiteId"),
            suite_ticket: r.get("SuiteTicket"),
            timestamp: int(r, "TimeStamp"),
        }
    }
}

/// `create_auth` (installed; exchange `AuthCode` via get_permanent_code within 10 min) and
/// `reset_permanent_code` (admin reset; same exchange, old permanent code invalid).
#[derive(Debug, Clone, PartialEq)]
pub struct AuthCodeEvent<'a> {
    /// `SuiteId`.
    pub suite_id: Option<&'a str>,
    /// `AuthCode`: temporary, single use.
    pub auth_code: Option<&'a str>,
    /// `State` from the install link (create_auth).
    pub state: Option<&'a str>,
    /// `ExtraInfo` (create_auth).
    pub extra_info: Option<&'a str>,
    /// `TimeStamp`.
    pub timestamp: Option<i64>,
}

impl<'a> AuthCodeEvent<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        AuthCodeEvent {
            suite_id: r.get("SuiteId"),
            auth_code: r.get("AuthCode"),
            state: r.get("State"),
            extra_info: r.get("ExtraInfo"),
            timestamp: int(r, "TimeStamp"),
        }
    }
}

/// `change_auth` (scope/permissions changed: call get_auth_info and diff) and `cancel_auth`
/// (uninstalled: the permanent code is now invalid).
#[derive(Debug, Clone, PartialEq)]
pub struct AuthCorpEvent<'a> {
    /// `SuiteId`.
    pub suite_id: Option<&'a str>,
    /// `AuthCorpId`: the authorising corp.
    pub auth_corp_id: Option<&'a str>,
    /// `State` (change_auth, optional).
    pub state: Option<&'a str>,
    /// `ExtraInfo` (change_auth, optional).
    pub extra_info: Option<&'a str>,
    /// `TimeStamp`.
    pub timestamp: Option<i64>,
}

impl<'a> AuthCorpEvent<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        AuthCorpEvent {
            suite_id: r.get("SuiteId"),
            auth_corp_id: r.get("AuthCorpId"),
            state: r.get("State"),
            extra_info: r.get("ExtraInfo"),
            timestamp: int(r, "TimeStamp"),
        }
    }
}
