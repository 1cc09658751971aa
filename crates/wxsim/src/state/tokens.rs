//! Access tokens (reference §2.1, §4.1, §7 rows 1–2).
//!
//! - OA `cgi-bin/token`: every call issues a new token; the previous one stays valid for a
//!   grace window (default 300 s) and then answers 40001.
//! - OA `cgi-bin/stable_token`: separate namespace. Normal mode returns the current token while
//!   more than 300 s remain; in the last 300 s it issues a new one and the old one stays valid
//!   until its own expiry. `force_refresh` issues a new token and invalidates the old one after
//!   `stable_force_grace_secs` (default 0, i.e. at once: reference §2.1.2 says "invalidates");
//!   at most 20 forced refreshes per Beijing day (then 45009, an assumption), and a forced call
//!   within 30 s of the current token's issue returns that token unchanged.
//! - WeCom `gettoken`: one token per (corpid, secret); re-fetching inside validity returns the
//!   same token.

use std::collections::HashMap;

use serde::Serialize;

use super::corp::SecretRef;
use crate::error::WxError;
use crate::util::{beijing_day, random_token};

/// Whose token it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Owner {
    /// An Official Account or a Mini Program.
    Account {
        /// AppID.
        appid: String,
    },
    /// A WeCom secret.
    Corp {
        /// Corp id.
        corpid: String,
        /// Which secret.
        secret: SecretRef,
    },
    /// A third-party suite (`suite_access_token`).
    Suite {
        /// Suite id.
        suite_id: String,
    },
    /// A service provider (`provider_access_token`).
    Provider {
        /// The provider's corpid.
        corpid: String,
    },
}

impl Owner {
    /// Credential label used by the request log and faults: `appid`, `corpid/contacts` or
    /// `corpid/<agentid>`.
    pub fn label(&self) -> String {
        match self {
            Owner::Account { appid } => appid.clone(),
            Owner::Corp { corpid, secret } => format!("{corpid}/{}", secret.label()),
            Owner::Suite { suite_id } => suite_id.clone(),
            Owner::Provider { corpid } => format!("{corpid}/provider"),
        }
    }
}

/// Token namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// `cgi-bin/token`.
    Oa,
    /// `cgi-bin/stable_token`.
    Stable,
    /// WeCom `gettoken` (and `service/get_corp_token`).
    Work,
    /// `service/get_suite_token`.
    Suite,
    /// `service/get_provider_token`.
    Provider,
}

/// One issued token.
#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    /// The token.
    pub token: String,
    /// Owner.
    pub owner: Owner,
    /// Namespace.
    pub kind: TokenKind,
    /// Issue time.
    pub issued_at: i64,
    /// Expiry time (42001 from then on).
    pub expires_at: i64,
    /// Superseded: invalid (40001/40014) from this time on.
    pub invalid_after: Option<i64>,
}

impl TokenInfo {
    fn status(&self, now: i64) -> TokenStatus {
        if now >= self.expires_at {
            TokenStatus::Expired
        } else if self.invalid_after.is_some_and(|t| now >= t) {
            TokenStatus::Invalidated
        } else {
            TokenStatus::Valid
        }
    }

    fn usable(&self, now: i64) -> bool {
        self.status(now) == TokenStatus::Valid
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenStatus {
    Valid,
    Expired,
    Invalidated,
}

/// Outcome of presenting a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCheck {
    /// No `access_token` parameter.
    Missing,
    /// Never issued (or issued by another host).
    Unknown,
    /// Past its expiry.
    Expired(Owner),
    /// Superseded or revoked.
    Invalidated(Owner),
    /// Good.
    Valid(Owner),
}

impl TokenCheck {
    /// The owner, when the token is known.
    pub fn owner(&self) -> Option<&Owner> {
        match self {
            TokenCheck::Expired(o) | TokenCheck::Invalidated(o) | TokenCheck::Valid(o) => Some(o),
            TokenCheck::Missing | TokenCheck::Unknown => None,
        }
    }
}

/// Parameters of token issuing.
#[derive(Debug, Clone, Copy)]
pub struct TokenPolicy {
    /// Lifetime in seconds (7200).
    pub ttl: i64,
    /// OA grace after a new `cgi-bin/token` (300).
    pub oa_grace: i64,
    /// Grace of the old stable token after a forced refresh (0).
    pub stable_force_grace: i64,
    /// Forced stable refreshes per day (20).
    pub stable_force_daily_max: usize,
    /// A forced refresh within this many seconds of the last issue is a no-op (30).
    pub stable_force_min_interval: i64,
}

/// Every token issued, plus the current one per owner and namespace.
#[derive(Debug, Clone, Default)]
pub struct TokenStore {
    by_token: HashMap<String, TokenInfo>,
    current: HashMap<(Owner, TokenKind), String>,
    stable_forced: HashMap<Owner, Vec<i64>>,
    issued: u64,
}

impl TokenStore {
    /// Number of tokens issued since the seed was loaded.
    pub fn issued(&self) -> u64 {
        self.issued
    }

    /// Checks a presented token; `wecom` selects the qyapi namespace.
    pub fn check(&self, token: Option<&str>, wecom: bool, now: i64) -> TokenCheck {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return TokenCheck::Missing;
        };
        let Some(info) = self.by_token.get(token) else {
            return TokenCheck::Unknown;
        };
        if (info.kind == TokenKind::Work) != wecom {
            return TokenCheck::Unknown;
        }
        let owner = info.owner.clone();
        match info.status(now) {
            TokenStatus::Valid => TokenCheck::Valid(owner),
            TokenStatus::Expired => TokenCheck::Expired(owner),
            TokenStatus::Invalidated => TokenCheck::Invalidated(owner),
        }
    }

    /// Checks a presented token of a given namespace (suite and provider tokens).
    pub fn check_kind(&self, token: Option<&str>, kind: TokenKind, now: i64) -> TokenCheck {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return TokenCheck::Missing;
        };
        let Some(info) = self.by_token.get(token).filter(|i| i.kind == kind) else {
            return TokenCheck::Unknown;
        };
        let owner = info.owner.clone();
        match info.status(now) {
            TokenStatus::Valid => TokenCheck::Valid(owner),
            TokenStatus::Expired => TokenCheck::Expired(owner),
            TokenStatus::Invalidated => TokenCheck::Invalidated(owner),
        }
    }

    /// Suite or provider token: the current one while valid, else a new one.
    pub fn stable_of_kind(
        &mut self,
        owner: &Owner,
        kind: TokenKind,
        now: i64,
        p: &TokenPolicy,
    ) -> TokenInfo {
        match self.current_info(owner, kind) {
            Some(t) if t.usable(now) => t.clone(),
            _ => self.mint(owner, kind, now, p.ttl),
        }
    }

    /// Revokes every token of an owner at once (e.g. the corp token of an uninstalled
    /// suite).
    pub fn revoke(&mut self, owner: &Owner, now: i64) {
        for info in self.by_token.values_mut() {
            if &info.owner == owner {
                info.invalid_after = Some(info.invalid_after.map_or(now, |t| t.min(now)));
            }
        }
        self.current.retain(|(o, _), _| o != owner);
    }

    /// Details of a token.
    pub fn get(&self, token: &str) -> Option<&TokenInfo> {
        self.by_token.get(token)
    }

    /// Tokens of a credential label (exact, or `corpid` for all its secrets), newest first.
    pub fn tokens_of(&self, label: &str) -> Vec<TokenInfo> {
        let mut v: Vec<TokenInfo> = self
            .by_token
            .values()
            .filter(|t| crate::faults::credential_matches(label, &t.owner.label()))
            .cloned()
            .collect();
        v.sort_by_key(|t| std::cmp::Reverse(t.issued_at));
        v
    }

    fn current_info(&self, owner: &Owner, kind: TokenKind) -> Option<&TokenInfo> {
        let token = self.current.get(&(owner.clone(), kind))?;
        self.by_token.get(token)
    }

    fn mint(&mut self, owner: &Owner, kind: TokenKind, now: i64, ttl: i64) -> TokenInfo {
        let token = match kind {
            TokenKind::Oa | TokenKind::Stable => format!("89_{}", random_token(133)),
            TokenKind::Work | TokenKind::Suite | TokenKind::Provider => random_token(128),
        };
        let info = TokenInfo {
            token: token.clone(),
            owner: owner.clone(),
            kind,
            issued_at: now,
            expires_at: now + ttl,
            invalid_after: None,
        };
        self.issued += 1;
        self.prune(now);
        self.by_token.insert(token.clone(), info.clone());
        self.current.insert((owner.clone(), kind), token);
        info
    }

    fn supersede(&mut self, owner: &Owner, kind: TokenKind, until: i64) {
        if let Some(token) = self.current.get(&(owner.clone(), kind))
            && let Some(info) = self.by_token.get_mut(token)
        {
            info.invalid_after = Some(info.invalid_after.map_or(until, |t| t.min(until)));
        }
    }

    fn prune(&mut self, now: i64) {
        if self.by_token.len() < 50_000 {
            return;
        }
        self.by_token.retain(|_, t| t.expires_at > now - 3600);
        let by_token = &self.by_token;
        self.current.retain(|_, tok| by_token.contains_key(tok));
    }

    /// OA `cgi-bin/token`: a new token; the previous one lives `oa_grace` more seconds.
    pub fn issue_oa(&mut self, owner: &Owner, now: i64, p: &TokenPolicy) -> TokenInfo {
        self.supersede(owner, TokenKind::Oa, now + p.oa_grace);
        self.mint(owner, TokenKind::Oa, now, p.ttl)
    }

    /// OA `cgi-bin/stable_token`.
    pub fn stable(
        &mut self,
        owner: &Owner,
        force: bool,
        now: i64,
        p: &TokenPolicy,
    ) -> Result<TokenInfo, WxError> {
        let current = self
            .current_info(owner, TokenKind::Stable)
            .filter(|t| t.usable(now))
            .cloned();
        if !force {
            return Ok(match current {
                Some(t) if t.expires_at - now > 300 => t,
                // Last five minutes (or none): a new token; the old one keeps its own expiry.
                _ => self.mint(owner, TokenKind::Stable, now, p.ttl),
            });
        }
        if let Some(t) = &current
            && now - t.issued_at < p.stable_force_min_interval
        {
            return Ok(t.clone());
        }
        let today = beijing_day(now);
        let forced = self.stable_forced.entry(owner.clone()).or_default();
        forced.retain(|t| beijing_day(*t) == today);
        if forced.len() >= p.stable_force_daily_max {
            return Err(WxError::oa(45009));
        }
        forced.push(now);
        self.supersede(owner, TokenKind::Stable, now + p.stable_force_grace);
        Ok(self.mint(owner, TokenKind::Stable, now, p.ttl))
    }

    /// WeCom `gettoken`: the current token while valid, else a new one.
    pub fn work(&mut self, owner: &Owner, now: i64, p: &TokenPolicy) -> TokenInfo {
        match self.current_info(owner, TokenKind::Work) {
            Some(t) if t.usable(now) => t.clone(),
            _ => self.mint(owner, TokenKind::Work, now, p.ttl),
        }
    }

    /// "Another system fetched a token": for every namespace where `label` has a current
    /// token, issue a new one and let the old one live `grace` more seconds (default: the OA
    /// grace for `cgi-bin/token`, the forced-refresh grace for stable tokens, 0 for WeCom,
    /// where a re-fetch never rotates and a new token means a revocation). Returns the new
    /// tokens.
    pub fn rotate(
        &mut self,
        label: &str,
        grace: Option<i64>,
        now: i64,
        p: &TokenPolicy,
    ) -> Vec<TokenInfo> {
        let keys: Vec<(Owner, TokenKind)> = self
            .current
            .keys()
            .filter(|(o, _)| crate::faults::credential_matches(label, &o.label()))
            .cloned()
            .collect();
        keys.into_iter()
            .map(|(owner, kind)| {
                let grace = grace.unwrap_or(match kind {
                    TokenKind::Oa => p.oa_grace,
                    TokenKind::Stable => p.stable_force_grace,
                    TokenKind::Work | TokenKind::Suite | TokenKind::Provider => 0,
                });
                self.supersede(&owner, kind, now.saturating_add(grace));
                self.mint(&owner, kind, now, p.ttl)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: TokenPolicy = TokenPolicy {
        ttl: 7200,
        oa_grace: 300,
        stable_force_grace: 0,
        stable_force_daily_max: 20,
        stable_force_min_interval: 30,
    };

    fn oa() -> Owner {
        Owner::Account {
            appid: "wx1".into(),
        }
    }

    #[test]
    fn oa_rotation_with_grace() {
        let mut s = TokenStore::default();
        let a = s.issue_oa(&oa(), 1000, &P);
        let b = s.issue_oa(&oa(), 1010, &P);
        assert_ne!(a.token, b.token);
        assert_eq!(
            s.check(Some(&a.token), false, 1200),
            TokenCheck::Valid(oa())
        );
        assert_eq!(
            s.check(Some(&a.token), false, 1310),
            TokenCheck::Invalidated(oa())
        );
        assert_eq!(
            s.check(Some(&b.token), false, 1310),
            TokenCheck::Valid(oa())
        );
        assert_eq!(
            s.check(Some(&b.token), false, 1010 + 7200),
            TokenCheck::Expired(oa())
        );
        assert_eq!(s.check(Some(&b.token), true, 1310), TokenCheck::Unknown);
        assert_eq!(s.check(None, false, 1310), TokenCheck::Missing);
    }

    #[test]
    fn stable_semantics() {
        let mut s = TokenStore::default();
        let oa_tok = s.issue_oa(&oa(), 1000, &P);
        let a = s.stable(&oa(), false, 1000, &P).unwrap();
        let again = s.stable(&oa(), false, 2000, &P).unwrap();
        assert_eq!(a.token, again.token, "same token while valid");
        assert_eq!(
            s.check(Some(&oa_tok.token), false, 2000),
            TokenCheck::Valid(oa()),
            "namespaces are isolated"
        );
        // last five minutes: new token, old still valid until its expiry
        let late = s.stable(&oa(), false, 1000 + 7200 - 100, &P).unwrap();
        assert_ne!(late.token, a.token);
        assert_eq!(
            s.check(Some(&a.token), false, 1000 + 7200 - 50),
            TokenCheck::Valid(oa())
        );
        // forced within 30 s of issue: unchanged
        let f0 = s.stable(&oa(), true, 1000 + 7200 - 90, &P).unwrap();
        assert_eq!(f0.token, late.token);
        let f1 = s.stable(&oa(), true, 1000 + 7200, &P).unwrap();
        assert_ne!(f1.token, late.token);
        assert_eq!(
            s.check(Some(&late.token), false, 1000 + 7200),
            TokenCheck::Invalidated(oa())
        );
    }

    #[test]
    fn stable_force_daily_limit() {
        let mut s = TokenStore::default();
        let base = 1_700_000_000 - (1_700_000_000 + 8 * 3600) % 86_400; // Beijing midnight
        for i in 0..20 {
            s.stable(&oa(), true, base + i * 60, &P).unwrap();
        }
        assert_eq!(
            s.stable(&oa(), true, base + 21 * 60, &P)
                .unwrap_err()
                .errcode,
            45009
        );
        assert!(s.stable(&oa(), true, base + 86_400, &P).is_ok());
    }

    #[test]
    fn work_tokens_are_stable_per_secret() {
        let mut s = TokenStore::default();
        let app = Owner::Corp {
            corpid: "ww1".into(),
            secret: SecretRef::App(1000002),
        };
        let contacts = Owner::Corp {
            corpid: "ww1".into(),
            secret: SecretRef::Contacts,
        };
        let a = s.work(&app, 0, &P);
        assert_eq!(s.work(&app, 100, &P).token, a.token);
        assert_ne!(s.work(&contacts, 100, &P).token, a.token);
        assert_ne!(s.work(&app, 7200, &P).token, a.token);
        let rotated = s.rotate("ww1/1000002", None, 7300, &P);
        assert_eq!(rotated.len(), 1);
        assert_eq!(s.tokens_of("ww1").len(), 4);
    }
}
