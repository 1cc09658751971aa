//! Configuration: defaults that work with no file at all, a TOML file, then `QIAO_*`
//! environment variables, then command-line flags (last wins).
//!
//! Invalid configuration fails at start with the offending key and why. Test-only variables
//! (`QIAO_TEST_*`) are never read by the loader, so a test harness can set them freely.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use url::Url;

/// Values given on the command line; they override the file and the environment.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
}

/// The raw, deserialised configuration (before validation).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    data_dir: PathBuf,
    database_url: Option<String>,
    listen: String,
    external_url: Option<String>,
    public_egress_ip: Option<String>,
    master_key: Option<String>,
    log_format: LogFormat,
    log_level: String,
    /// How old (seconds, on Qiao's clock) a signed callback may be; 0 turns the check off.
    callback_freshness_secs: u64,
    /// Back-off cap between retries of a WeChat call (frequency limits, -1, 5xx, network).
    wechat_retry_max_delay_ms: u64,
    /// How long one WeChat call may keep retrying before it fails with a clear error.
    wechat_retry_budget_ms: u64,
}

impl Default for RawConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            database_url: None,
            listen: "127.0.0.1:8080".into(),
            external_url: None,
            public_egress_ip: None,
            master_key: None,
            log_format: LogFormat::Auto,
            log_level: "info".into(),
            callback_freshness_secs: 300,
            wechat_retry_max_delay_ms: 5_000,
            // Under the API's 30 s request timeout with room for a last slow request, so the
            // business system gets Qiao's error (and Retry-After), not a timeout.
            wechat_retry_budget_ms: 15_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Pretty on a terminal, JSON otherwise.
    Auto,
    Pretty,
    Json,
}

/// Validated configuration.
#[derive(Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub listen: SocketAddr,
    /// 云桥对外域名: what WeChat/WeCom and browsers use to reach Qiao. Without it, the
    /// listen address is used, which suits the demo only.
    pub external_url: Option<Url>,
    /// The public egress IP to show for whitelists. A setting: Qiao never looks it up.
    pub public_egress_ip: Option<IpAddr>,
    /// Base64 of the 32-byte master key, when given by configuration rather than the key file.
    pub master_key: Option<String>,
    pub log_format: LogFormat,
    pub log_level: String,
    pub callback_freshness_secs: u64,
    pub wechat_retry_max_delay_ms: u64,
    pub wechat_retry_budget_ms: u64,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("database_url", &redact_url(&self.database_url))
            .field("listen", &self.listen)
            .field("external_url", &self.external_url.as_ref().map(Url::as_str))
            .field("public_egress_ip", &self.public_egress_ip)
            .field("master_key", &self.master_key.as_ref().map(|_| "***"))
            .field("log_format", &self.log_format)
            .field("log_level", &self.log_level)
            .field("callback_freshness_secs", &self.callback_freshness_secs)
            .field("wechat_retry_max_delay_ms", &self.wechat_retry_max_delay_ms)
            .field("wechat_retry_budget_ms", &self.wechat_retry_budget_ms)
            .finish()
    }
}

/// A configuration error that names the key and says why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(String),
    #[error("configuration key `{key}`: {why}")]
    Invalid { key: &'static str, why: String },
}

fn invalid(key: &'static str, why: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        why: why.into(),
    }
}

impl Config {
    /// Loads defaults, then `file` (if given; it must exist), then `QIAO_*` variables from
    /// `env`, then `overrides`, and validates the result.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(RawConfig::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::Load(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(
            Env::prefixed("QIAO_")
                // Test harness variables are not configuration.
                .filter(|key| !key.as_str().to_ascii_lowercase().starts_with("test_"))
                .split("__"),
        );
        if let Some(dir) = &overrides.data_dir {
            figment = figment.merge(("data_dir", dir));
        }
        if let Some(listen) = &overrides.listen {
            figment = figment.merge(("listen", listen.to_string()));
        }
        let raw: RawConfig = figment
            .extract()
            .map_err(|e| ConfigError::Load(describe_figment_error(e, file)))?;
        Self::validate(raw)
    }

    fn validate(raw: RawConfig) -> Result<Self, ConfigError> {
        let listen: SocketAddr = raw
            .listen
            .parse()
            .map_err(|_| invalid("listen", format!("`{}` is not an ADDR:PORT", raw.listen)))?;
        let database_url = match raw.database_url {
            Some(url) => url,
            None => format!("sqlite://{}", raw.data_dir.join("qiao.db").display()),
        };
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "database_url",
                "must start with sqlite: or postgres:// (for example sqlite://./data/qiao.db)",
            ));
        }
        let external_url = raw
            .external_url
            .filter(|s| !s.is_empty())
            .map(|s| parse_external_url(&s))
            .transpose()
            .map_err(|why| invalid("external_url", why))?;
        let public_egress_ip = raw
            .public_egress_ip
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpAddr>()
                    .map_err(|_| invalid("public_egress_ip", format!("`{s}` is not an IP address")))
            })
            .transpose()?;
        let master_key = raw.master_key.filter(|s| !s.is_empty());
        if let Some(key) = &master_key {
            crate::secrets::MasterKey::from_base64(key)
                .map_err(|e| invalid("master_key", e.to_string()))?;
        }
        if raw.wechat_retry_max_delay_ms == 0 {
            return Err(invalid(
                "wechat_retry_max_delay_ms",
                "must be at least 1 (retrying without a pause would hammer a rate-limited API)",
            ));
        }
        if raw.log_level.trim().is_empty() {
            return Err(invalid("log_level", "must not be empty"));
        }
        Ok(Self {
            data_dir: raw.data_dir,
            database_url,
            listen,
            external_url,
            public_egress_ip,
            master_key,
            log_format: raw.log_format,
            log_level: raw.log_level,
            callback_freshness_secs: raw.callback_freshness_secs,
            wechat_retry_max_delay_ms: raw.wechat_retry_max_delay_ms,
            wechat_retry_budget_ms: raw.wechat_retry_budget_ms,
        })
    }

    /// The URL WeChat and browsers use to reach this node.
    pub fn effective_external_url(&self) -> Url {
        match &self.external_url {
            Some(url) => url.clone(),
            None => {
                let host = match self.listen.ip() {
                    ip if ip.is_unspecified() => "127.0.0.1".to_string(),
                    IpAddr::V6(ip) => format!("[{ip}]"),
                    ip => ip.to_string(),
                };
                // A literal URL built from a socket address always parses.
                Url::parse(&format!("http://{host}:{}/", self.listen.port()))
                    .unwrap_or_else(|_| unreachable_url())
            }
        }
    }
}

fn unreachable_url() -> Url {
    Url::parse("http://127.0.0.1/").expect("static URL")
}

/// Parses an external base URL: http(s), a host, no query or fragment.
pub fn parse_external_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s).map_err(|e| format!("`{s}` is not a URL: {e}"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!("`{s}` must start with http:// or https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{s}` has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("`{s}` must not have a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("`{s}` must not carry credentials"));
    }
    Ok(url)
}

fn describe_figment_error(e: figment::Error, file: Option<&Path>) -> String {
    e.into_iter()
        .map(|e| {
            let key = if e.path.is_empty() {
                String::new()
            } else {
                format!("key `{}`: ", e.path.join("."))
            };
            let source = match (&e.metadata, file) {
                (Some(m), _) => match &m.source {
                    Some(figment::Source::File(path)) => format!(" (in {})", path.display()),
                    _ => format!(" (from {})", m.name),
                },
                // A file that does not parse has no metadata yet.
                (None, Some(path)) => format!(" (in {})", path.display()),
                (None, None) => String::new(),
            };
            format!("{key}{}{source}", e.kind)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Hides the password of a database URL.
pub fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_file() {
        let raw = RawConfig::default();
        let config = Config::validate(raw).unwrap();
        assert_eq!(config.database_url, "sqlite://./data/qiao.db");
        assert_eq!(config.listen.port(), 8080);
        assert_eq!(
            config.effective_external_url().as_str(),
            "http://127.0.0.1:8080/"
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        let raw = RawConfig {
            listen: "nonsense".into(),
            ..RawConfig::default()
        };
        let err = Config::validate(raw).err().unwrap().to_string();
        assert!(err.contains("`listen`"), "{err}");

        let raw = RawConfig {
            external_url: Some("ftp://x".into()),
            ..RawConfig::default()
        };
        let err = Config::validate(raw).err().unwrap().to_string();
        assert!(err.contains("`external_url`"), "{err}");

        let raw = RawConfig {
            database_url: Some("mysql://x".into()),
            ..RawConfig::default()
        };
        assert!(
            Config::validate(raw)
                .err()
                .unwrap()
                .to_string()
                .contains("`database_url`")
        );

        let raw = RawConfig {
            master_key: Some("short".into()),
            ..RawConfig::default()
        };
        let err = Config::validate(raw).err().unwrap().to_string();
        assert!(err.contains("`master_key`"), "{err}");
        assert!(!err.contains("short"), "the key must not be echoed: {err}");
    }

    #[test]
    fn redacts_database_password() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        let config = Config::validate(RawConfig {
            database_url: Some("postgres://u:pw@h/db".into()),
            master_key: Some(crate::secrets::MasterKey::generate().to_base64()),
            ..RawConfig::default()
        })
        .unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("pw@"), "{shown}");
        assert!(!shown.contains(config.master_key.as_deref().unwrap()));
    }
}
