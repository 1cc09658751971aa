//! 基础参数设置: the external base URL (云桥对外域名) and the public egress IP.
//!
//! Values set in the console or the API are stored per tenant and win over the configuration
//! file, which only gives the starting values. Secret settings are sealed with the master key.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::{self, Actor};
use crate::config::{Config, parse_external_url};
use crate::secrets::Sealer;
use crate::store::{Store, StoreError, TenantId, Tx};
use crate::{on_db, on_tx};

const EXTERNAL_URL: &str = "external_url";
const PUBLIC_EGRESS_IP: &str = "public_egress_ip";
const SEALED_COLUMN: &str = "settings.sealed";

/// The basic settings as stored (empty when not set) and as in effect.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BasicSettings {
    /// 云桥对外域名, e.g. `https://qiao.example.com`. WeChat and browsers reach Qiao there.
    pub external_url: Option<String>,
    /// The address WeChat sees Qiao's calls come from, for the IP whitelists.
    pub public_egress_ip: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EffectiveSettings {
    pub external_url: String,
    pub public_egress_ip: Option<String>,
    /// What the console or API stored; `None` fields fall back to the configuration.
    pub stored: BasicSettings,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{field}: {why}")]
    Invalid { field: &'static str, why: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl BasicSettings {
    /// Trims and validates; empty strings mean "not set".
    pub fn normalized(self) -> Result<Self, SettingsError> {
        let external_url = match self.external_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(url) => {
                let parsed = parse_external_url(url).map_err(|why| SettingsError::Invalid {
                    field: EXTERNAL_URL,
                    why,
                })?;
                // One canonical form: no trailing slash, so paths can be appended.
                Some(parsed.as_str().trim_end_matches('/').to_string())
            }
        };
        let public_egress_ip = match self.public_egress_ip.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(ip) => Some(
                ip.parse::<IpAddr>()
                    .map_err(|_| SettingsError::Invalid {
                        field: PUBLIC_EGRESS_IP,
                        why: format!("`{ip}` is not an IPv4 or IPv6 address"),
                    })?
                    .to_string(),
            ),
        };
        Ok(Self {
            external_url,
            public_egress_ip,
        })
    }
}

async fn get_value(
    store: &Store,
    tenant: TenantId,
    key: &str,
) -> Result<Option<String>, StoreError> {
    let row: Option<(Option<String>,)> = on_db!(&store.db, pool => {
        sqlx::query_as("SELECT value FROM settings WHERE tenant_id = $1 AND key = $2")
            .bind(tenant.0)
            .bind(key)
            .fetch_optional(pool)
            .await
    })?;
    Ok(row.and_then(|(v,)| v))
}

async fn put_value(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    key: &str,
    value: Option<&str>,
    sealed: Option<&[u8]>,
    by: &str,
    now: i64,
) -> Result<(), StoreError> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO settings (tenant_id, key, value, sealed, updated_ms, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, key) DO UPDATE SET \
             value = excluded.value, sealed = excluded.sealed, updated_ms = excluded.updated_ms, \
             updated_by = excluded.updated_by",
        )
        .bind(tenant.0)
        .bind(key)
        .bind(value)
        .bind(sealed)
        .bind(now)
        .bind(by)
        .execute(&mut *conn)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

pub async fn get_basic(store: &Store, tenant: TenantId) -> Result<BasicSettings, StoreError> {
    Ok(BasicSettings {
        external_url: get_value(store, tenant, EXTERNAL_URL).await?,
        public_egress_ip: get_value(store, tenant, PUBLIC_EGRESS_IP).await?,
    })
}

pub async fn effective(
    store: &Store,
    tenant: TenantId,
    config: &Config,
) -> Result<EffectiveSettings, StoreError> {
    let stored = get_basic(store, tenant).await?;
    let external_url = stored.external_url.clone().unwrap_or_else(|| {
        config
            .effective_external_url()
            .as_str()
            .trim_end_matches('/')
            .to_string()
    });
    let public_egress_ip = stored
        .public_egress_ip
        .clone()
        .or_else(|| config.public_egress_ip.map(|ip| ip.to_string()));
    Ok(EffectiveSettings {
        external_url,
        public_egress_ip,
        stored,
    })
}

/// Validates and stores the basic settings, and records the change with its before and after.
pub async fn update_basic(
    store: &Store,
    tenant: TenantId,
    new: BasicSettings,
    actor: &Actor,
    now: i64,
) -> Result<BasicSettings, SettingsError> {
    let new = new.normalized()?;
    let before = get_basic(store, tenant).await?;
    if before == new {
        return Ok(new);
    }
    let mut tx = store.begin_write().await?;
    put_value(
        &mut tx,
        tenant,
        EXTERNAL_URL,
        new.external_url.as_deref(),
        None,
        &actor.name,
        now,
    )
    .await?;
    put_value(
        &mut tx,
        tenant,
        PUBLIC_EGRESS_IP,
        new.public_egress_ip.as_deref(),
        None,
        &actor.name,
        now,
    )
    .await?;
    audit::record(
        &mut tx,
        tenant,
        actor,
        "settings.update",
        "basic",
        Some(&json!(before)),
        Some(&json!(new)),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(new)
}

/// Stores a secret setting sealed with the master key (the audit log records that it changed,
/// never its value).
pub async fn put_secret(
    store: &Store,
    sealer: &Sealer,
    tenant: TenantId,
    key: &str,
    secret: &str,
    actor: &Actor,
    now: i64,
) -> Result<(), StoreError> {
    let sealed = sealer.seal_str(SEALED_COLUMN, secret);
    let mut tx = store.begin_write().await?;
    put_value(&mut tx, tenant, key, None, Some(&sealed), &actor.name, now).await?;
    audit::record(
        &mut tx,
        tenant,
        actor,
        "settings.secret.update",
        key,
        None,
        None,
        now,
    )
    .await?;
    tx.commit().await
}

/// Opens a secret setting.
pub async fn get_secret(
    store: &Store,
    sealer: &Sealer,
    tenant: TenantId,
    key: &str,
) -> Result<Option<String>, StoreError> {
    let row: Option<(Option<Vec<u8>>,)> = on_db!(&store.db, pool => {
        sqlx::query_as("SELECT sealed FROM settings WHERE tenant_id = $1 AND key = $2")
            .bind(tenant.0)
            .bind(key)
            .fetch_optional(pool)
            .await
    })?;
    match row.and_then(|(v,)| v) {
        None => Ok(None),
        Some(sealed) => sealer
            .open_string(SEALED_COLUMN, &sealed)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                column: SEALED_COLUMN,
                why: e.to_string(),
            }),
    }
}
