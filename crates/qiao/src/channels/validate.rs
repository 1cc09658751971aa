//! Validation of channel input, with messages that say what is wrong and how it should look.

use std::collections::BTreeMap;

use crate::store::{Store, StoreError, TenantId};

use super::{Attrs, Channel, ChannelKind, ChannelPatch, Endpoints, NewChannel};

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("{field}: {why}")]
    Invalid { field: &'static str, why: String },
    #[error("a channel with the id {0} already exists")]
    Duplicate(String),
    #[error("no such channel")]
    NotFound,
    #[error("the channel is in use by: {}", .0.join("; "))]
    InUse(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ChannelError {
    fn from(e: sqlx::Error) -> Self {
        ChannelError::Store(e.into())
    }
}

fn invalid(field: &'static str, why: impl Into<String>) -> ChannelError {
    ChannelError::Invalid {
        field,
        why: why.into(),
    }
}

/// A channel ready to store.
pub struct ValidChannel {
    pub parent_id: Option<i64>,
    pub name: String,
    pub remark: String,
    pub external_id: String,
    pub attrs: Attrs,
    pub secrets: BTreeMap<String, String>,
}

/// An update ready to store; `None` secrets are removed.
pub struct ValidChange {
    pub name: String,
    pub remark: String,
    pub attrs: Attrs,
    pub secrets: BTreeMap<String, Option<String>>,
}

fn name(value: &str) -> Result<String, ChannelError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > 64 {
        return Err(invalid("name", "must be 1 to 64 characters"));
    }
    Ok(value.to_string())
}

fn remark(value: &str) -> Result<String, ChannelError> {
    if value.chars().count() > 500 {
        return Err(invalid("remark", "must be at most 500 characters"));
    }
    Ok(value.trim().to_string())
}

fn is_alnum(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// AppID: `wx` followed by 16 letters or digits (Official Accounts and Mini Programs).
fn app_id(value: &str) -> Result<String, ChannelError> {
    let value = value.trim();
    if value.len() == 18 && value.starts_with("wx") && is_alnum(value) {
        Ok(value.to_string())
    } else {
        Err(invalid(
            "app_id",
            format!(
                "`{value}` is not an AppID: expected `wx` followed by 16 letters or digits, e.g. wx1234567890abcdef"
            ),
        ))
    }
}

/// CorpID: `ww` or `wx` followed by 16 letters or digits on Tencent's cloud; private
/// deployments issue their own, so only the character set is checked there.
fn corp_id(value: &str, endpoints: &Endpoints) -> Result<String, ChannelError> {
    let value = value.trim();
    let cloud_shape = value.len() == 18
        && (value.starts_with("ww") || value.starts_with("wx"))
        && is_alnum(value);
    let private_shape = (4..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if cloud_shape || (!endpoints.is_tencent_cloud() && private_shape) {
        Ok(value.to_string())
    } else {
        Err(invalid(
            "corp_id",
            format!(
                "`{value}` is not a CorpID: expected `ww` followed by 16 letters or digits (我的企业 → 企业ID)"
            ),
        ))
    }
}

/// 原始ID: `gh_` followed by 12 hexadecimal digits.
fn original_id(value: &str) -> Result<String, ChannelError> {
    let value = value.trim();
    let ok = value.len() == 15
        && value.starts_with("gh_")
        && value[3..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(value.to_string())
    } else {
        Err(invalid(
            "original_id",
            format!(
                "`{value}` is not an original ID: expected `gh_` followed by 12 hexadecimal digits"
            ),
        ))
    }
}

/// Secrets are printable ASCII without spaces (AppSecret: 32 hex; WeCom secrets: 43 chars).
fn secret(field: &'static str, value: &str) -> Result<String, ChannelError> {
    let value = value.trim();
    if (16..=128).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(value.to_string())
    } else {
        // Never echo the value: it is a secret.
        Err(invalid(
            field,
            "must be 16 to 128 printable characters without spaces, as copied from the back office",
        ))
    }
}

fn url(field: &'static str, value: &str) -> Result<String, ChannelError> {
    let parsed = url::Url::parse(value.trim())
        .map_err(|_| invalid(field, format!("`{value}` is not a URL")))?;
    if parsed.scheme() != "http" && parsed.scheme() != "https" {
        return Err(invalid(
            field,
            format!("`{value}` must start with http:// or https://"),
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid(
            field,
            format!("`{value}` must not have a query or fragment"),
        ));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_string())
}

fn endpoints(given: Option<Endpoints>, kind: ChannelKind) -> Result<Endpoints, ChannelError> {
    let Some(e) = given else {
        return Ok(Endpoints::tencent(kind));
    };
    Ok(Endpoints {
        api_base_url: url("endpoints.api_base_url", &e.api_base_url)?,
        oauth_base_url: url("endpoints.oauth_base_url", &e.oauth_base_url)?,
        web_login_base_url: url("endpoints.web_login_base_url", &e.web_login_base_url)?,
    })
}

fn optional_secret(
    secrets: &mut BTreeMap<String, String>,
    field: &'static str,
    value: Option<String>,
) -> Result<(), ChannelError> {
    if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
        secrets.insert(field.to_string(), secret(field, &value)?);
    }
    Ok(())
}

pub async fn new_channel(
    store: &Store,
    tenant: TenantId,
    new: NewChannel,
) -> Result<ValidChannel, ChannelError> {
    let mut secrets = BTreeMap::new();
    let valid = match new {
        NewChannel::OfficialAccount {
            name: n,
            remark: r,
            app_id: id,
            app_secret,
            original_id: gh,
            account_type,
            verified,
            endpoints: e,
        } => {
            secrets.insert("app_secret".into(), secret("app_secret", &app_secret)?);
            ValidChannel {
                parent_id: None,
                name: name(&n)?,
                remark: remark(&r)?,
                external_id: app_id(&id)?,
                attrs: Attrs::OfficialAccount {
                    original_id: original_id(&gh)?,
                    account_type,
                    verified,
                    endpoints: endpoints(e, ChannelKind::OfficialAccount)?,
                },
                secrets,
            }
        }
        NewChannel::WecomCorp {
            name: n,
            remark: r,
            corp_id: id,
            contacts_secret,
            contacts_permission,
            customer_secret,
            checkin_secret,
            endpoints: e,
        } => {
            let endpoints = endpoints(e, ChannelKind::WecomCorp)?;
            optional_secret(&mut secrets, "contacts_secret", contacts_secret)?;
            optional_secret(&mut secrets, "customer_secret", customer_secret)?;
            optional_secret(&mut secrets, "checkin_secret", checkin_secret)?;
            ValidChannel {
                parent_id: None,
                name: name(&n)?,
                remark: remark(&r)?,
                external_id: corp_id(&id, &endpoints)?,
                attrs: Attrs::WecomCorp {
                    contacts_permission,
                    endpoints,
                },
                secrets,
            }
        }
        NewChannel::WecomApp {
            corp,
            name: n,
            remark: r,
            agent_id,
            secret: s,
            homepage_url,
        } => {
            let parent = super::store::get(store, tenant, corp).await?;
            if parent.is_none_or(|p| p.kind != ChannelKind::WecomCorp) {
                return Err(invalid(
                    "corp",
                    format!("channel {corp} is not a WeCom corp"),
                ));
            }
            if agent_id == 0 {
                return Err(invalid(
                    "agent_id",
                    "must be the app's AgentID, a positive number such as 1000002",
                ));
            }
            secrets.insert("secret".into(), secret("secret", &s)?);
            ValidChannel {
                parent_id: Some(corp),
                name: name(&n)?,
                remark: remark(&r)?,
                external_id: agent_id.to_string(),
                attrs: Attrs::WecomApp {
                    homepage_url: homepage_url
                        .filter(|u| !u.trim().is_empty())
                        .map(|u| url("homepage_url", &u))
                        .transpose()?,
                },
                secrets,
            }
        }
        NewChannel::MiniProgram {
            name: n,
            remark: r,
            app_id: id,
            app_secret,
            endpoints: e,
        } => {
            secrets.insert("app_secret".into(), secret("app_secret", &app_secret)?);
            ValidChannel {
                parent_id: None,
                name: name(&n)?,
                remark: remark(&r)?,
                external_id: app_id(&id)?,
                attrs: Attrs::MiniProgram {
                    endpoints: endpoints(e, ChannelKind::MiniProgram)?,
                },
                secrets,
            }
        }
    };
    Ok(valid)
}

fn not_for(field: &'static str, kind: ChannelKind) -> ChannelError {
    invalid(
        field,
        format!("does not apply to a {} channel", kind.as_str()),
    )
}

pub fn patch(before: &Channel, patch: ChannelPatch) -> Result<ValidChange, ChannelError> {
    let kind = before.kind;
    let mut attrs = before.attrs.clone();
    match &mut attrs {
        Attrs::OfficialAccount {
            original_id: gh,
            account_type,
            verified,
            endpoints: e,
        } => {
            if let Some(v) = &patch.original_id {
                *gh = original_id(v)?;
            }
            if let Some(v) = patch.account_type {
                *account_type = v;
            }
            if let Some(v) = patch.verified {
                *verified = v;
            }
            if patch.endpoints.is_some() {
                *e = endpoints(patch.endpoints.clone(), kind)?;
            }
        }
        Attrs::WecomCorp {
            contacts_permission,
            endpoints: e,
        } => {
            if let Some(v) = patch.contacts_permission {
                *contacts_permission = v;
            }
            if patch.endpoints.is_some() {
                *e = endpoints(patch.endpoints.clone(), kind)?;
            }
        }
        Attrs::WecomApp { homepage_url } => {
            if let Some(v) = &patch.homepage_url {
                *homepage_url = (!v.trim().is_empty())
                    .then(|| url("homepage_url", v))
                    .transpose()?;
            }
        }
        Attrs::MiniProgram { endpoints: e } => {
            if patch.endpoints.is_some() {
                *e = endpoints(patch.endpoints.clone(), kind)?;
            }
        }
    }
    let applies = |field: &'static str, given: bool, ok: bool| {
        if given && !ok {
            Err(not_for(field, kind))
        } else {
            Ok(())
        }
    };
    let is_oa = kind == ChannelKind::OfficialAccount;
    applies("original_id", patch.original_id.is_some(), is_oa)?;
    applies("account_type", patch.account_type.is_some(), is_oa)?;
    applies("verified", patch.verified.is_some(), is_oa)?;
    applies(
        "endpoints",
        patch.endpoints.is_some(),
        kind != ChannelKind::WecomApp,
    )?;
    applies(
        "contacts_permission",
        patch.contacts_permission.is_some(),
        kind == ChannelKind::WecomCorp,
    )?;
    applies(
        "homepage_url",
        patch.homepage_url.is_some(),
        kind == ChannelKind::WecomApp,
    )?;

    let mut secrets = BTreeMap::new();
    for (name, value) in patch.secrets {
        let Some(&(field, required)) = kind.secret_names().iter().find(|(n, _)| *n == name) else {
            return Err(invalid(
                "secrets",
                format!("`{name}` is not a secret of a {} channel", kind.as_str()),
            ));
        };
        if value.trim().is_empty() {
            if required {
                return Err(invalid(field, "is required and cannot be removed"));
            }
            secrets.insert(name, None);
        } else {
            secrets.insert(name, Some(secret(field, &value)?));
        }
    }
    Ok(ValidChange {
        name: patch
            .name
            .as_deref()
            .map(name)
            .transpose()?
            .unwrap_or_else(|| before.name.clone()),
        remark: patch
            .remark
            .as_deref()
            .map(remark)
            .transpose()?
            .unwrap_or_else(|| before.remark.clone()),
        attrs,
        secrets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(app_id("wx1234567890abcdef").is_ok());
        assert!(app_id("wx123").is_err());
        assert!(app_id("ww1234567890abcdef").is_err());
        let cloud = Endpoints::tencent(ChannelKind::WecomCorp);
        assert!(corp_id("ww1436e0e65a779aee", &cloud).is_ok());
        assert!(corp_id("corp-42", &cloud).is_err());
        let private = Endpoints {
            api_base_url: "https://wecom.internal.example".into(),
            ..cloud
        };
        assert!(
            corp_id("corp-42", &private).is_ok(),
            "private deployments issue their own ids"
        );
        assert!(original_id("gh_7f083739789a").is_ok());
        assert!(original_id("gh_xyz").is_err());
        let err = secret("app_secret", "short secret")
            .unwrap_err()
            .to_string();
        assert!(
            !err.contains("short secret"),
            "secrets are never echoed: {err}"
        );
        assert!(url("api", "ftp://x").is_err());
        assert_eq!(
            url("api", "https://x.example/").unwrap(),
            "https://x.example"
        );
    }
}
