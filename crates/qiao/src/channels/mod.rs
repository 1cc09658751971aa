//! Channels: the WeChat Official Accounts, WeCom corps and their apps, and Mini Programs that
//! Qiao talks to on behalf of the business systems (Official Account doc 1 集成配置; WeCom doc 1
//! 企业集成 and 2.3 云桥集成应用).
//!
//! Each channel has its endpoints (API base URL, OAuth and web-login page hosts), Tencent's by
//! default and changeable for private WeCom deployments and 政务微信. Secrets are sealed with the
//! master key in `channel_secrets` and shown masked everywhere.

mod store;
mod validate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::audit::{self, Actor};
use crate::secrets::{Sealer, mask};
use crate::store::{Store, StoreError, TenantId};

pub use validate::ChannelError;

/// The column whose values are sealed (the associated data of every channel secret).
pub const SECRET_COLUMN: &str = "channel_secrets.sealed";

pub const TENCENT_API: &str = "https://api.weixin.qq.com";
pub const TENCENT_QYAPI: &str = "https://qyapi.weixin.qq.com";
pub const TENCENT_OPEN: &str = "https://open.weixin.qq.com";
pub const TENCENT_WORK_LOGIN: &str = "https://login.work.weixin.qq.com";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    OfficialAccount,
    WecomCorp,
    WecomApp,
    MiniProgram,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 4] = [
        ChannelKind::OfficialAccount,
        ChannelKind::WecomCorp,
        ChannelKind::WecomApp,
        ChannelKind::MiniProgram,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::OfficialAccount => "official_account",
            ChannelKind::WecomCorp => "wecom_corp",
            ChannelKind::WecomApp => "wecom_app",
            ChannelKind::MiniProgram => "mini_program",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The secrets a channel of this kind holds, and whether each is required.
    pub fn secret_names(self) -> &'static [(&'static str, bool)] {
        match self {
            ChannelKind::OfficialAccount | ChannelKind::MiniProgram => &[("app_secret", true)],
            ChannelKind::WecomCorp => &[
                ("contacts_secret", false),
                ("customer_secret", false),
                ("checkin_secret", false),
            ],
            ChannelKind::WecomApp => &[("secret", true)],
        }
    }
}

/// Where a channel's APIs and pages are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Endpoints {
    /// API base URL: `https://api.weixin.qq.com` (OA, MP) or `https://qyapi.weixin.qq.com` (WeCom).
    pub api_base_url: String,
    /// OAuth page host: `https://open.weixin.qq.com`.
    pub oauth_base_url: String,
    /// WeCom web (QR) login page host: `https://login.work.weixin.qq.com`.
    pub web_login_base_url: String,
}

impl Endpoints {
    pub fn tencent(kind: ChannelKind) -> Self {
        let api = match kind {
            ChannelKind::WecomCorp | ChannelKind::WecomApp => TENCENT_QYAPI,
            ChannelKind::OfficialAccount | ChannelKind::MiniProgram => TENCENT_API,
        };
        Self {
            api_base_url: api.into(),
            oauth_base_url: TENCENT_OPEN.into(),
            web_login_base_url: TENCENT_WORK_LOGIN.into(),
        }
    }

    /// True when every endpoint is Tencent's public cloud.
    pub fn is_tencent_cloud(&self) -> bool {
        self.api_base_url == TENCENT_API || self.api_base_url == TENCENT_QYAPI
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountType {
    /// 服务号: has web authorisation and template messages.
    Service,
    /// 订阅号.
    Subscription,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum ContactsPermission {
    #[default]
    ReadOnly,
    ReadWrite,
}

/// Kind-specific, non-secret attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Attrs {
    OfficialAccount {
        /// 原始ID, `gh_` + 12 hex.
        original_id: String,
        account_type: AccountType,
        /// 是否认证.
        verified: bool,
        endpoints: Endpoints,
    },
    WecomCorp {
        /// Whether the contact-sync secret may write (通讯录同步 secret rights).
        contacts_permission: ContactsPermission,
        endpoints: Endpoints,
    },
    WecomApp {
        /// 应用主页.
        homepage_url: Option<String>,
    },
    MiniProgram {
        endpoints: Endpoints,
    },
}

impl Attrs {
    pub fn kind(&self) -> ChannelKind {
        match self {
            Attrs::OfficialAccount { .. } => ChannelKind::OfficialAccount,
            Attrs::WecomCorp { .. } => ChannelKind::WecomCorp,
            Attrs::WecomApp { .. } => ChannelKind::WecomApp,
            Attrs::MiniProgram { .. } => ChannelKind::MiniProgram,
        }
    }
}

/// A channel as shown to admins and the API: secrets masked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Channel {
    pub id: i64,
    pub kind: ChannelKind,
    /// A WeCom app's corp.
    pub parent_id: Option<i64>,
    pub name: String,
    pub remark: String,
    /// AppID (OA, MP), CorpID (corp) or AgentID (app).
    pub external_id: String,
    pub attrs: Attrs,
    /// Secret name → masked value (`******ab12`), for the secrets that are set.
    pub secrets: BTreeMap<String, String>,
    /// What this channel cannot do, in plain words (e.g. a subscription account has no web
    /// authorisation).
    pub limitations: Vec<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// What an account cannot do, said where it matters.
pub fn limitations(attrs: &Attrs) -> Vec<String> {
    let mut out = Vec::new();
    if let Attrs::OfficialAccount {
        account_type,
        verified,
        ..
    } = attrs
    {
        if *account_type == AccountType::Subscription {
            out.push(
                "订阅号没有网页授权接口，不能用于单点登录 (a subscription account has no web \
                 authorisation, so it cannot log users in)"
                    .to_string(),
            );
        }
        if *account_type == AccountType::Subscription || !verified {
            out.push(
                "模板消息需要已认证的服务号 (template messages need a verified service account)"
                    .to_string(),
            );
        }
    }
    out
}

/// The input to create a channel of any kind (secrets in clear, sealed on the way in).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum NewChannel {
    OfficialAccount {
        name: String,
        #[serde(default)]
        remark: String,
        app_id: String,
        app_secret: String,
        original_id: String,
        account_type: AccountType,
        #[serde(default)]
        verified: bool,
        #[serde(default)]
        endpoints: Option<Endpoints>,
    },
    WecomCorp {
        name: String,
        #[serde(default)]
        remark: String,
        corp_id: String,
        #[serde(default)]
        contacts_secret: Option<String>,
        #[serde(default)]
        contacts_permission: ContactsPermission,
        #[serde(default)]
        customer_secret: Option<String>,
        #[serde(default)]
        checkin_secret: Option<String>,
        #[serde(default)]
        endpoints: Option<Endpoints>,
    },
    WecomApp {
        /// The corp's channel id.
        corp: i64,
        name: String,
        #[serde(default)]
        remark: String,
        agent_id: u32,
        secret: String,
        #[serde(default)]
        homepage_url: Option<String>,
    },
    MiniProgram {
        name: String,
        #[serde(default)]
        remark: String,
        app_id: String,
        app_secret: String,
        #[serde(default)]
        endpoints: Option<Endpoints>,
    },
}

/// A partial update: absent fields stay; a secret given as `""` is removed (optional
/// secrets only). Fields that do not belong to the channel's kind are refused.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelPatch {
    pub name: Option<String>,
    pub remark: Option<String>,
    pub original_id: Option<String>,
    pub account_type: Option<AccountType>,
    pub verified: Option<bool>,
    pub endpoints: Option<Endpoints>,
    pub contacts_permission: Option<ContactsPermission>,
    pub homepage_url: Option<String>,
    /// Secret name → new value.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
}

/// Creates a channel; its secrets are sealed and the action audited, in one transaction.
pub async fn create(
    store: &Store,
    sealer: &Sealer,
    tenant: TenantId,
    new: NewChannel,
    actor: &Actor,
    now: i64,
) -> Result<Channel, ChannelError> {
    let valid = validate::new_channel(store, tenant, new).await?;
    let mut tx = store.begin_write().await?;
    let id = store::insert(&mut tx, tenant, &valid, now)
        .await
        .map_err(|e| {
            if e.is_unique_violation() {
                ChannelError::Duplicate(valid.external_id.clone())
            } else {
                e.into()
            }
        })?;
    for (name, value) in &valid.secrets {
        store::put_secret(
            &mut tx,
            id,
            name,
            &sealer.seal_str(SECRET_COLUMN, value),
            now,
        )
        .await?;
    }
    let after = json!({ "kind": valid.attrs.kind(), "name": valid.name, "external_id": valid.external_id,
        "attrs": valid.attrs, "secrets": valid.secrets.keys().collect::<Vec<_>>() });
    audit::record(
        &mut tx,
        tenant,
        actor,
        "channel.create",
        &format!("channel:{id}"),
        None,
        Some(&after),
        now,
    )
    .await?;
    tx.commit().await?;
    get(store, sealer, tenant, id)
        .await?
        .ok_or(ChannelError::NotFound)
}

pub async fn get(
    store: &Store,
    sealer: &Sealer,
    tenant: TenantId,
    id: i64,
) -> Result<Option<Channel>, StoreError> {
    let Some(row) = store::get(store, tenant, id).await? else {
        return Ok(None);
    };
    Ok(Some(
        row.into_channel(masked_secrets(store, sealer, id).await?),
    ))
}

/// A channel's kind, without its secrets (for the modules that hang things off channels).
pub async fn kind_of(
    store: &Store,
    tenant: TenantId,
    id: i64,
) -> Result<Option<ChannelKind>, StoreError> {
    Ok(store::get(store, tenant, id).await?.map(|row| row.kind))
}

pub async fn list(
    store: &Store,
    sealer: &Sealer,
    tenant: TenantId,
    kind: Option<ChannelKind>,
) -> Result<Vec<Channel>, StoreError> {
    let mut out = Vec::new();
    for row in store::list(store, tenant, kind).await? {
        let secrets = masked_secrets(store, sealer, row.id).await?;
        out.push(row.into_channel(secrets));
    }
    Ok(out)
}

async fn masked_secrets(
    store: &Store,
    sealer: &Sealer,
    id: i64,
) -> Result<BTreeMap<String, String>, StoreError> {
    let mut out = BTreeMap::new();
    for (name, sealed) in store::secrets(store, id).await? {
        let shown = match sealer.open_string(SECRET_COLUMN, &sealed) {
            Ok(secret) => mask(&secret),
            Err(_) => "(unreadable)".to_string(),
        };
        out.insert(name, shown);
    }
    Ok(out)
}

/// A channel's secret in clear, for the code that calls WeChat with it (never for display).
pub async fn secret(
    store: &Store,
    sealer: &Sealer,
    id: i64,
    name: &str,
) -> Result<Option<String>, StoreError> {
    let found = store::secrets(store, id)
        .await?
        .into_iter()
        .find(|(n, _)| n == name);
    match found {
        None => Ok(None),
        Some((_, sealed)) => sealer
            .open_string(SECRET_COLUMN, &sealed)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                column: SECRET_COLUMN,
                why: e.to_string(),
            }),
    }
}

/// Applies a partial update (attributes and secrets) with an audited before/after.
pub async fn update(
    store: &Store,
    sealer: &Sealer,
    tenant: TenantId,
    id: i64,
    patch: ChannelPatch,
    actor: &Actor,
    now: i64,
) -> Result<Channel, ChannelError> {
    let before = get(store, sealer, tenant, id)
        .await?
        .ok_or(ChannelError::NotFound)?;
    let change = validate::patch(&before, patch)?;
    let mut tx = store.begin_write().await?;
    store::update(
        &mut tx,
        id,
        &change.name,
        &change.remark,
        &change.attrs,
        now,
    )
    .await?;
    for (name, value) in &change.secrets {
        match value {
            Some(value) => {
                store::put_secret(
                    &mut tx,
                    id,
                    name,
                    &sealer.seal_str(SECRET_COLUMN, value),
                    now,
                )
                .await?
            }
            None => store::delete_secret(&mut tx, id, name).await?,
        }
    }
    let changed: Vec<&String> = change.secrets.keys().collect();
    audit::record(
        &mut tx,
        tenant,
        actor,
        "channel.update",
        &format!("channel:{id}"),
        Some(&json!({ "name": before.name, "remark": before.remark, "attrs": before.attrs })),
        Some(
            &json!({ "name": change.name, "remark": change.remark, "attrs": change.attrs,
            "secrets_changed": changed }),
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    get(store, sealer, tenant, id)
        .await?
        .ok_or(ChannelError::NotFound)
}

/// What uses a channel, in plain words; a channel in use cannot be deleted.
pub async fn usages(store: &Store, tenant: TenantId, id: i64) -> Result<Vec<String>, StoreError> {
    let apps = store::children(store, tenant, id).await?;
    Ok(apps
        .into_iter()
        .map(|(app_id, name)| format!("企业微信应用 {name} (channel {app_id})"))
        .collect())
}

/// Deletes a channel that nothing uses; otherwise says what uses it.
pub async fn delete(
    store: &Store,
    tenant: TenantId,
    id: i64,
    actor: &Actor,
    now: i64,
) -> Result<(), ChannelError> {
    let Some(row) = store::get(store, tenant, id).await? else {
        return Err(ChannelError::NotFound);
    };
    let used_by = usages(store, tenant, id).await?;
    if !used_by.is_empty() {
        return Err(ChannelError::InUse(used_by));
    }
    let mut tx = store.begin_write().await?;
    store::delete(&mut tx, id).await?;
    let before = json!({ "kind": row.kind, "name": row.name, "external_id": row.external_id });
    audit::record(
        &mut tx,
        tenant,
        actor,
        "channel.delete",
        &format!("channel:{id}"),
        Some(&before),
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
