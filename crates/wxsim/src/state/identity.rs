//! Short-lived identity artefacts: OAuth codes, OAuth user tokens, WeCom user tickets, Mini
//! Program login and phone codes, JS-SDK tickets (reference §2.5, §2.6, §3.2, §3.4, §4.9,
//! §4.10). Every expiry uses the simulator clock.

use std::collections::HashMap;

use serde::Serialize;

use crate::util::random_token;

/// Who an OAuth / login code identifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CodeSubject {
    /// An OA fan (`snsapi_base` / `snsapi_userinfo`).
    Oa {
        /// AppID.
        appid: String,
        /// OpenID.
        openid: String,
    },
    /// A WeCom member (in-app OAuth or web login).
    Work {
        /// Corp id.
        corpid: String,
        /// App, when the link named one.
        agentid: Option<u32>,
        /// Member.
        userid: String,
        /// A user_ticket goes with the code (snsapi_privateinfo with consent, member in scope).
        ticket: bool,
        /// The suite whose login issued the code (`appid` = suite id): only that suite
        /// redeems it (`getuserinfo3rd`), never a corp token.
        #[serde(skip_serializing_if = "Option::is_none")]
        suite_id: Option<String>,
    },
    /// A Mini Program user (`wx.login`).
    MpLogin {
        /// AppID.
        appid: String,
        /// OpenID.
        openid: String,
    },
    /// A Mini Program phone-number code.
    MpPhone {
        /// AppID.
        appid: String,
        /// OpenID.
        openid: String,
    },
    /// A provider website login (`3rd_qrConnect` → `service/get_login_info`).
    ProviderLogin {
        /// The provider's corpid.
        provider_corpid: String,
        /// The corp of the member who logged in.
        corpid: String,
        /// Member.
        userid: String,
        /// Logged in as the admin who installed one of the provider's suites.
        admin: bool,
    },
    /// A suite installation (`auth_code`).
    SuiteAuth {
        /// Suite.
        suite_id: String,
        /// Authorising corp.
        corpid: String,
    },
}

/// An issued code.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedCode {
    /// The code.
    pub code: String,
    /// Subject.
    pub subject: CodeSubject,
    /// Scope (`snsapi_base`, `snsapi_userinfo`, `snsapi_privateinfo`).
    pub scope: String,
    /// Issue time.
    pub issued_at: i64,
    /// Expiry.
    pub expires_at: i64,
    /// Already exchanged.
    pub used: bool,
}

/// Why a code cannot be exchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeProblem {
    /// Never issued, or issued for something else.
    Invalid,
    /// Already exchanged.
    Used,
    /// Past its expiry.
    Expired,
}

/// An OAuth user access token (`sns/oauth2/access_token`).
#[derive(Debug, Clone, Serialize)]
pub struct UserToken {
    /// AppID.
    pub appid: String,
    /// OpenID.
    pub openid: String,
    /// Scope.
    pub scope: String,
    /// Expiry.
    pub expires_at: i64,
    /// The refresh token.
    pub refresh_token: String,
    /// Refresh-token expiry (30 days).
    pub refresh_expires_at: i64,
}

/// A WeCom user_ticket (snsapi_privateinfo).
#[derive(Debug, Clone, Serialize)]
pub struct UserTicket {
    /// Corp.
    pub corpid: String,
    /// App the consent was given to.
    pub agentid: u32,
    /// Member.
    pub userid: String,
    /// Expiry (1800 s).
    pub expires_at: i64,
}

/// Codes, user tokens, tickets.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    codes: HashMap<String, IssuedCode>,
    /// OAuth user tokens by token.
    pub user_tokens: HashMap<String, UserToken>,
    /// refresh_token → access token.
    pub refresh_tokens: HashMap<String, String>,
    /// user_ticket → ticket.
    pub user_tickets: HashMap<String, UserTicket>,
    /// (owner label, ticket type) → (ticket, expires_at).
    pub js_tickets: HashMap<(String, String), (String, i64)>,
    /// Mini Program session keys by (appid, openid).
    pub session_keys: HashMap<(String, String), String>,
}

impl Identity {
    /// Issues a code.
    pub fn issue(&mut self, subject: CodeSubject, scope: &str, now: i64, ttl: i64) -> String {
        if self.codes.len() > 100_000 {
            self.codes.retain(|_, c| c.expires_at > now);
        }
        let code = match &subject {
            CodeSubject::MpLogin { .. } | CodeSubject::MpPhone { .. } => random_token(32),
            _ => random_token(32).replace(['-', '_'], "x"),
        };
        self.codes.insert(
            code.clone(),
            IssuedCode {
                code: code.clone(),
                subject,
                scope: scope.to_owned(),
                issued_at: now,
                expires_at: now + ttl,
                used: false,
            },
        );
        code
    }

    /// Exchanges a code: must exist, satisfy `accept`, be unused and unexpired; it is used
    /// up only when everything holds.
    pub fn redeem(
        &mut self,
        code: &str,
        now: i64,
        accept: impl Fn(&CodeSubject) -> bool,
    ) -> Result<IssuedCode, CodeProblem> {
        let c = self.codes.get_mut(code).ok_or(CodeProblem::Invalid)?;
        if !accept(&c.subject) {
            return Err(CodeProblem::Invalid);
        }
        if c.used {
            return Err(CodeProblem::Used);
        }
        if now >= c.expires_at {
            return Err(CodeProblem::Expired);
        }
        c.used = true;
        Ok(c.clone())
    }

    /// A code's record.
    pub fn code(&self, code: &str) -> Option<&IssuedCode> {
        self.codes.get(code)
    }

    /// Issues an OAuth user token with its refresh token.
    pub fn issue_user_token(
        &mut self,
        appid: &str,
        openid: &str,
        scope: &str,
        now: i64,
    ) -> (String, UserToken) {
        let token = format!("89_{}", random_token(100));
        let refresh = format!("89_{}", random_token(100));
        let t = UserToken {
            appid: appid.to_owned(),
            openid: openid.to_owned(),
            scope: scope.to_owned(),
            expires_at: now + 7200,
            refresh_token: refresh.clone(),
            refresh_expires_at: now + 30 * 86_400,
        };
        self.user_tokens.insert(token.clone(), t.clone());
        self.refresh_tokens.insert(refresh, token.clone());
        (token, t)
    }

    /// A JS-SDK ticket of an owner: the current one while valid, else a new one (7200 s).
    pub fn js_ticket(&mut self, owner: &str, kind: &str, now: i64) -> (String, i64) {
        let key = (owner.to_owned(), kind.to_owned());
        match self.js_tickets.get(&key) {
            Some((t, exp)) if *exp > now => (t.clone(), *exp),
            _ => {
                let t = random_token(86).replace(['-', '_'], "A");
                let exp = now + 7200;
                self.js_tickets.insert(key, (t.clone(), exp));
                (t, exp)
            }
        }
    }
}
