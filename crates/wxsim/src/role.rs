//! The four server roles the simulator plays, and how a request is assigned to one:
//! by a Tencent `Host` header (reference §0.1), otherwise by a path prefix.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One Tencent server played by the simulator. All roles share one listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// `api.weixin.qq.com`: Official Accounts, Mini Programs (prefix `/api`).
    Api,
    /// `qyapi.weixin.qq.com`: WeCom (prefix `/qyapi`).
    Qyapi,
    /// `open.weixin.qq.com`: OAuth pages (prefix `/open`).
    Open,
    /// `login.work.weixin.qq.com` / `open.work.weixin.qq.com`: WeCom login and install pages
    /// (prefix `/login`).
    Login,
}

impl Role {
    /// Every role, in a fixed order.
    pub const ALL: [Role; 4] = [Role::Api, Role::Qyapi, Role::Open, Role::Login];

    /// Path prefix that selects this role when the `Host` header is not a Tencent host.
    pub fn prefix(self) -> &'static str {
        match self {
            Role::Api => "/api",
            Role::Qyapi => "/qyapi",
            Role::Open => "/open",
            Role::Login => "/login",
        }
    }

    /// The real host name of this role.
    pub fn host(self) -> &'static str {
        match self {
            Role::Api => "api.weixin.qq.com",
            Role::Qyapi => "qyapi.weixin.qq.com",
            Role::Open => "open.weixin.qq.com",
            Role::Login => "login.work.weixin.qq.com",
        }
    }

    /// Short lower-case name (`api`, `qyapi`, `open`, `login`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Api => "api",
            Role::Qyapi => "qyapi",
            Role::Open => "open",
            Role::Login => "login",
        }
    }

    /// The role named by a `Host` header value (port ignored), if it is a Tencent host.
    pub fn from_host(host: &str) -> Option<Role> {
        let name = host
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match name.as_str() {
            "api.weixin.qq.com" => Some(Role::Api),
            "qyapi.weixin.qq.com" => Some(Role::Qyapi),
            "open.weixin.qq.com" => Some(Role::Open),
            "login.work.weixin.qq.com" | "open.work.weixin.qq.com" => Some(Role::Login),
            _ => None,
        }
    }

    /// Splits `/qyapi/cgi-bin/gettoken` into `(Qyapi, "/cgi-bin/gettoken")`.
    pub fn split_prefix(path: &str) -> Option<(Role, &str)> {
        Role::ALL.into_iter().find_map(|role| {
            let rest = path.strip_prefix(role.prefix())?;
            if rest.is_empty() {
                Some((role, "/"))
            } else if rest.starts_with('/') {
                Some((role, rest))
            } else {
                None
            }
        })
    }

    /// True for the WeCom-flavoured roles (errmsg tails, wording).
    pub fn is_wecom(self) -> bool {
        matches!(self, Role::Qyapi | Role::Login)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim_start_matches('/') {
            "api" => Ok(Role::Api),
            "qyapi" => Ok(Role::Qyapi),
            "open" => Ok(Role::Open),
            "login" => Ok(Role::Login),
            other => Role::from_host(other).ok_or_else(|| format!("unknown role {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_prefixes() {
        assert_eq!(
            Role::from_host("qyapi.weixin.qq.com:443"),
            Some(Role::Qyapi)
        );
        assert_eq!(Role::from_host("API.weixin.qq.com"), Some(Role::Api));
        assert_eq!(
            Role::from_host("open.work.weixin.qq.com"),
            Some(Role::Login)
        );
        assert_eq!(Role::from_host("127.0.0.1:9999"), None);
        assert_eq!(
            Role::split_prefix("/qyapi/cgi-bin/gettoken"),
            Some((Role::Qyapi, "/cgi-bin/gettoken"))
        );
        assert_eq!(Role::split_prefix("/apix/cgi-bin/token"), None);
        assert_eq!(Role::split_prefix("/open"), Some((Role::Open, "/")));
        assert_eq!("qyapi".parse::<Role>(), Ok(Role::Qyapi));
    }
}
