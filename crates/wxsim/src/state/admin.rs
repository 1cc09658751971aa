//! Back-office settings changed at run time (trusted domains, IP whitelists, app flags) and
//! direct issue of login codes, for tests and the control API.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::SimState;
use super::corp::SecretRef;
use super::identity::CodeSubject;
use crate::callback::ActionError;

/// `POST /sim/settings`: absent fields are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountSettings {
    /// OA / MP appid, `corpid/<agentid>`, `corpid/contacts` or a suite id.
    pub account: String,
    /// Trusted redirect domains (`host[:port][/path]`; empty list = any).
    pub redirect_domains: Option<Vec<String>>,
    /// IP whitelist (empty list = any).
    pub trusted_ips: Option<Vec<String>>,
    /// WeCom app: old app that still gets sensitive fields from `user/get`.
    pub legacy_sensitive_fields: Option<bool>,
    /// WeCom app: customer-contact permission.
    pub external_contact: Option<bool>,
    /// WeCom app: check-in permission.
    pub checkin: Option<bool>,
}

impl SimState {
    /// Applies back-office settings to an account; returns its settings afterwards.
    pub fn apply_settings(&self, s: &AccountSettings) -> Result<Value, ActionError> {
        let unknown = || ActionError::UnknownAccount(s.account.clone());
        let app_only = |what: &str| {
            ActionError::Invalid(format!(
                "{what} is a WeCom app setting (account corpid/agentid)"
            ))
        };
        self.with_world(|w| {
            if let Some(a) = w.accounts.get_mut(&s.account) {
                if s.legacy_sensitive_fields.is_some()
                    || s.external_contact.is_some()
                    || s.checkin.is_some()
                {
                    return Err(app_only("legacy_sensitive_fields/external_contact/checkin"));
                }
                if let Some(d) = &s.redirect_domains {
                    a.redirect_domains.clone_from(d);
                }
                if let Some(ips) = &s.trusted_ips {
                    a.trusted_ips.clone_from(ips);
                }
                return Ok(
                    json!({"redirect_domains": a.redirect_domains, "trusted_ips": a.trusted_ips}),
                );
            }
            if let Some(m) = w.mini_programs.get_mut(&s.account) {
                if let Some(ips) = &s.trusted_ips {
                    m.trusted_ips.clone_from(ips);
                }
                return Ok(json!({"trusted_ips": m.trusted_ips}));
            }
            if let Some(suite) = w.suites.get_mut(&s.account) {
                if let Some(d) = &s.redirect_domains {
                    suite.seed.redirect_domains.clone_from(d);
                }
                return Ok(json!({"redirect_domains": suite.seed.redirect_domains}));
            }
            let (corpid, which) = s
                .account
                .split_once('/')
                .unwrap_or((&s.account, "contacts"));
            let corp = w.corps.get_mut(corpid).ok_or_else(unknown)?;
            if which == "contacts" {
                let c = corp.contacts.as_mut().ok_or_else(unknown)?;
                if let Some(ips) = &s.trusted_ips {
                    c.trusted_ips.clone_from(ips);
                }
                return Ok(json!({"trusted_ips": c.trusted_ips}));
            }
            let agentid: u32 = which.parse().map_err(|_| unknown())?;
            let app = corp.apps.get_mut(&agentid).ok_or_else(unknown)?;
            if let Some(d) = &s.redirect_domains {
                app.redirect_domains.clone_from(d);
            }
            if let Some(ips) = &s.trusted_ips {
                app.trusted_ips.clone_from(ips);
            }
            if let Some(v) = s.legacy_sensitive_fields {
                app.legacy_sensitive_fields = v;
            }
            if let Some(v) = s.external_contact {
                app.external_contact = v;
            }
            if let Some(v) = s.checkin {
                app.checkin = v;
            }
            Ok(serde_json::to_value(&*app).unwrap_or(Value::Null))
        })
    }

    /// Issues the code a login page would: OA (`appid` = AppID, `user` = openid, scope
    /// `snsapi_base` by default) or WeCom (`appid` = CorpID, `user` = userid, `agentid` for
    /// `snsapi_privateinfo`, consent assumed).
    pub fn oauth_code(
        &self,
        appid: &str,
        user: &str,
        scope: Option<&str>,
        agentid: Option<u32>,
    ) -> Result<String, ActionError> {
        let now = self.now();
        let ttl = self.options().code_ttl_secs;
        self.with_world(|w| {
            if let Some(a) = w.accounts.get(appid) {
                let scope = scope.unwrap_or("snsapi_base");
                if !matches!(scope, "snsapi_base" | "snsapi_userinfo") {
                    return Err(ActionError::Invalid(format!("scope {scope:?}")));
                }
                if a.fan(user).is_none() {
                    return Err(ActionError::NotFound(format!(
                        "{user} is not a fan of {appid}"
                    )));
                }
                let subject = CodeSubject::Oa {
                    appid: appid.into(),
                    openid: user.into(),
                };
                return Ok(w.identity.issue(subject, scope, now, ttl));
            }
            let corp = w
                .corps
                .get(appid)
                .ok_or_else(|| ActionError::UnknownAccount(appid.into()))?;
            let m = corp
                .directory
                .member(user)
                .ok_or_else(|| ActionError::NotFound(format!("no member {user} in {appid}")))?;
            if let Some(a) = agentid
                && !corp.apps.contains_key(&a)
            {
                return Err(ActionError::NotFound(format!("no app {a} in {appid}")));
            }
            let private = scope == Some("snsapi_privateinfo") && agentid.is_some();
            let visible = agentid.is_some_and(|a| corp.scope(SecretRef::App(a)).member_visible(m));
            let subject = CodeSubject::Work {
                corpid: appid.into(),
                agentid,
                userid: m.userid.clone(),
                ticket: private && visible,
                suite_id: None,
            };
            let scope = if private {
                "snsapi_privateinfo"
            } else {
                "snsapi_base"
            };
            Ok(w.identity.issue(subject, scope, now, ttl))
        })
    }
}
