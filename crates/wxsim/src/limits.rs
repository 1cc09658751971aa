//! Frequency limits (reference §2.1, §4.2, §7 row 3): fixed windows on simulator time,
//! counted per endpoint and per credential, corp or caller IP. Defaults follow the documented
//! quotas; the whole mechanism switches off with [`LimitsConfig::enabled`].

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::WxError;
use crate::role::Role;

/// What a limit is counted per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitScope {
    /// Per credential label (appid, corpid/secret).
    Credential,
    /// Per corp (or appid): the label up to the first `/`.
    Corp,
    /// Per caller IP.
    Ip,
}

/// One limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitRule {
    /// Only on this role (any when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Endpoint path, or `*` for each endpoint separately.
    pub path: String,
    /// Counting key.
    pub scope: LimitScope,
    /// Calls allowed per window.
    pub max: u64,
    /// Window length in seconds (86400 windows follow the Beijing natural day).
    pub window_secs: i64,
    /// Errcode beyond the limit.
    pub errcode: i64,
}

impl LimitRule {
    fn new(
        role: Role,
        path: &str,
        scope: LimitScope,
        max: u64,
        window_secs: i64,
        errcode: i64,
    ) -> Self {
        Self {
            role: Some(role),
            path: path.into(),
            scope,
            max,
            window_secs,
            errcode,
        }
    }
}

/// Limits configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitsConfig {
    /// Master switch.
    pub enabled: bool,
    /// Rules.
    pub rules: Vec<LimitRule>,
    /// Messages one app may deliver to one member per minute; excess dropped silently (30).
    pub message_per_member_minute: usize,
    /// Same per hour (1000).
    pub message_per_member_hour: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self::realistic()
    }
}

impl LimitsConfig {
    /// The documented limits.
    pub fn realistic() -> Self {
        use LimitScope::{Corp, Credential, Ip};
        use Role::{Api, Qyapi};
        Self {
            enabled: true,
            rules: vec![
                // OA: daily quota of cgi-bin/token (commonly cited 2000/day, §2.1.1).
                LimitRule::new(Api, "/cgi-bin/token", Credential, 2000, 86_400, 45009),
                LimitRule::new(Api, "/cgi-bin/stable_token", Credential, 10_000, 60, 45011),
                LimitRule::new(
                    Api,
                    "/cgi-bin/stable_token",
                    Credential,
                    500_000,
                    86_400,
                    45009,
                ),
                LimitRule::new(
                    Api,
                    "/cgi-bin/message/template/send",
                    Credential,
                    100_000,
                    86_400,
                    45009,
                ),
                // WeCom: per corp and per IP, per API (§4.2).
                LimitRule::new(Qyapi, "*", Corp, 10_000, 60, 45009),
                LimitRule::new(Qyapi, "*", Corp, 150_000, 3600, 45009),
                LimitRule::new(Qyapi, "*", Ip, 20_000, 60, 45009),
                LimitRule::new(Qyapi, "*", Ip, 600_000, 3600, 45009),
                // WeCom gettoken per secret: ~2000/hour (assumption from §4.1 "abuse control").
                LimitRule::new(Qyapi, "/cgi-bin/gettoken", Credential, 2000, 3600, 45009),
            ],
            message_per_member_minute: 30,
            message_per_member_hour: 1000,
        }
    }

    /// No limits at all.
    pub fn off() -> Self {
        Self {
            enabled: false,
            ..Self::realistic()
        }
    }
}

/// Counters for the configured limits.
#[derive(Debug, Default)]
pub struct Limiter {
    /// Configuration in force.
    pub config: LimitsConfig,
    counters: HashMap<(usize, String, String), (i64, u64)>,
}

impl Limiter {
    /// A limiter with fresh counters.
    pub fn new(config: LimitsConfig) -> Self {
        Self {
            config,
            counters: HashMap::new(),
        }
    }

    /// Replaces the configuration and resets the counters.
    pub fn set_config(&mut self, config: LimitsConfig) {
        self.config = config;
        self.counters.clear();
    }

    /// Forgets all counts.
    pub fn reset(&mut self) {
        self.counters.clear();
    }

    /// Counts a call; errs when a limit is exceeded.
    pub fn check(
        &mut self,
        role: Role,
        path: &str,
        credential: Option<&str>,
        ip: &str,
        now: i64,
    ) -> Result<(), WxError> {
        if !self.config.enabled {
            return Ok(());
        }
        let mut exceeded = None;
        for (i, rule) in self.config.rules.iter().enumerate() {
            if rule.role.is_some_and(|r| r != role) || (rule.path != "*" && rule.path != path) {
                continue;
            }
            let key = match rule.scope {
                LimitScope::Credential => credential.map(str::to_owned),
                LimitScope::Corp => credential.map(|c| c.split('/').next().unwrap_or(c).to_owned()),
                LimitScope::Ip => Some(ip.to_owned()),
            };
            let Some(key) = key else { continue };
            let window = if rule.window_secs == 86_400 {
                crate::util::beijing_day(now)
            } else {
                now.div_euclid(rule.window_secs.max(1))
            };
            let entry = self
                .counters
                .entry((i, key, path.to_owned()))
                .or_insert((window, 0));
            if entry.0 != window {
                *entry = (window, 0);
            }
            entry.1 += 1;
            if entry.1 > rule.max && exceeded.is_none() {
                exceeded = Some(WxError::of(role, rule.errcode));
            }
        }
        exceeded.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_resets() {
        let mut l = Limiter::new(LimitsConfig {
            enabled: true,
            rules: vec![LimitRule::new(
                Role::Qyapi,
                "*",
                LimitScope::Corp,
                2,
                60,
                45009,
            )],
            ..LimitsConfig::realistic()
        });
        let c = Some("ww1/1000002");
        assert!(l.check(Role::Qyapi, "/a", c, "ip", 0).is_ok());
        assert!(
            l.check(Role::Qyapi, "/a", Some("ww1/contacts"), "ip", 1)
                .is_ok()
        );
        assert_eq!(
            l.check(Role::Qyapi, "/a", c, "ip", 2).unwrap_err().errcode,
            45009
        );
        assert!(l.check(Role::Qyapi, "/b", c, "ip", 2).is_ok(), "per API");
        assert!(
            l.check(Role::Qyapi, "/a", c, "ip", 60).is_ok(),
            "next window"
        );
        l.config.enabled = false;
        for _ in 0..10 {
            assert!(l.check(Role::Qyapi, "/a", c, "ip", 61).is_ok());
        }
    }
}
