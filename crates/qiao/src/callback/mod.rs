//! Callbacks: what WeChat and WeCom push to Qiao (Official Account doc 1.4 and 7 回调设置,
//! WeCom doc 9.3; reference §1, §2.10–2.12, §4.12).
//!
//! A *receiver* is one callback URL `/cb/{public_id}` with its Token, EncodingAESKey and
//! encryption mode: one per Official Account or WeCom app for messages and events, and one
//! each per WeCom corp for contact changes and customer-contact changes. The admin pastes its
//! values into the back office (which verifies the URL at once) and then turns the receiver
//! on (是否开启应用回调); while it is off, URL verification still answers and messages get an
//! empty 200 without being processed.
//!
//! The hot path ([`endpoint`]) verifies, decrypts, de-duplicates, stores in the inbox,
//! matches a reply rule and answers; the reply leaves only after the inbox row committed, and
//! concurrent callbacks share one commit ([`writer`]).

mod cache;
pub mod endpoint;
pub mod reachability;
mod store;
pub mod writer;

use rand::RngExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use wx::crypto::EncodingAesKey;

use crate::app::AppState;
use crate::audit::{self, Actor};
use crate::channels::{self, Channel, ChannelKind};
use crate::secrets::{Sealer, mask};
use crate::settings;
use crate::store::{Store, StoreError, TenantId};

pub use cache::ReceiverCache;
pub use store::InboxEntry;

const TOKEN_COLUMN: &str = "callback_receivers.token_sealed";
const AES_KEY_COLUMN: &str = "callback_receivers.aes_key_sealed";

/// What a receiver receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Messages and events of an Official Account or a WeCom app (接收消息).
    Messages,
    /// A WeCom corp's contact changes (通讯录变更).
    Contacts,
    /// A WeCom corp's customer-contact changes (客户联系变更).
    Customers,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Messages => "messages",
            Purpose::Contacts => "contacts",
            Purpose::Customers => "customers",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Purpose::Messages, Purpose::Contacts, Purpose::Customers]
            .into_iter()
            .find(|p| p.as_str() == s)
    }

    /// Whether a channel of `kind` has receivers of this purpose.
    pub fn fits(self, kind: ChannelKind) -> bool {
        match self {
            Purpose::Messages => {
                matches!(kind, ChannelKind::OfficialAccount | ChannelKind::WecomApp)
            }
            Purpose::Contacts | Purpose::Customers => kind == ChannelKind::WecomCorp,
        }
    }
}

/// 消息加密方式. WeCom always encrypts (safe); Official Accounts choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// 明文模式.
    Plain,
    /// 兼容模式: plaintext fields and `Encrypt` side by side.
    Compatible,
    /// 安全模式 (recommended).
    #[default]
    Safe,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Plain => "plain",
            Mode::Compatible => "compatible",
            Mode::Safe => "safe",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Mode::Plain, Mode::Compatible, Mode::Safe]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// A receiver as shown to admins: Token and EncodingAESKey masked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Receiver {
    pub id: i64,
    pub channel_id: i64,
    pub purpose: Purpose,
    pub mode: Mode,
    /// 是否开启应用回调.
    pub enabled: bool,
    /// The URL to paste into the back office.
    pub url: String,
    pub token: String,
    pub encoding_aes_key: String,
    pub updated_ms: i64,
}

/// The values an admin copies into the WeChat / WeCom back office (revealed on purpose:
/// see `secrets::reveal`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReceiverValues {
    pub url: String,
    pub token: String,
    pub encoding_aes_key: String,
    pub mode: Mode,
    /// The trusted domain (可信域名 / 网页授权域名): the host of the external URL.
    pub trusted_domain: String,
    /// The IP to whitelist (IP白名单 / 企业可信IP), when known.
    pub public_ip: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    #[error("{field}: {why}")]
    Invalid { field: &'static str, why: String },
    #[error("no such channel or receiver")]
    NotFound,
    #[error("this channel already has a receiver for {0}")]
    Exists(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for CallbackError {
    fn from(e: sqlx::Error) -> Self {
        CallbackError::Store(e.into())
    }
}

fn invalid(field: &'static str, why: impl Into<String>) -> CallbackError {
    CallbackError::Invalid {
        field,
        why: why.into(),
    }
}

/// A Token as WeChat accepts it: 3 to 32 letters or digits.
fn check_token(token: &str) -> Result<(), CallbackError> {
    if (3..=32).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(invalid("token", "must be 3 to 32 letters or digits"))
    }
}

fn check_aes_key(key: &str) -> Result<(), CallbackError> {
    EncodingAesKey::parse(key).map(|_| ()).map_err(|_| {
        invalid(
            "encoding_aes_key",
            "must be 43 characters that decode to 32 bytes, as shown in the back office",
        )
    })
}

fn generate_token() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..32)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn generate_public_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The callback URL of a receiver under the external base URL.
pub fn receiver_url(external_url: &str, public_id: &str) -> String {
    format!("{}/cb/{public_id}", external_url.trim_end_matches('/'))
}

/// Input to create a receiver; Token and key are generated when not given.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReceiver {
    pub purpose: Option<Purpose>,
    pub mode: Option<Mode>,
    pub token: Option<String>,
    pub encoding_aes_key: Option<String>,
}

/// A change to a receiver. `regenerate_encoding_aes_key` makes a new key (the back office must
/// then be updated, or pushes will fail to decrypt).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiverPatch {
    pub mode: Option<Mode>,
    pub enabled: Option<bool>,
    pub token: Option<String>,
    pub encoding_aes_key: Option<String>,
    #[serde(default)]
    pub regenerate_encoding_aes_key: bool,
}

/// The receiver service: the store, the sealer, the hot path's cache (invalidated on every
/// change) and the external URL in effect (for the URLs shown).
pub struct Callbacks<'a> {
    pub store: &'a Store,
    pub sealer: &'a Sealer,
    pub cache: &'a ReceiverCache,
    pub external_url: String,
}

impl<'a> Callbacks<'a> {
    /// The service on `state`, showing URLs under `external_url`.
    pub fn new(state: &'a AppState, external_url: String) -> Self {
        Self {
            store: &state.store,
            sealer: &state.sealer,
            cache: &state.receivers,
            external_url,
        }
    }

    /// The service with the tenant's external URL in effect, and its public egress IP.
    pub async fn for_tenant(
        state: &'a AppState,
        tenant: TenantId,
    ) -> Result<(Self, Option<String>), StoreError> {
        let effective = settings::effective(&state.store, tenant, &state.config).await?;
        Ok((
            Self::new(state, effective.external_url),
            effective.public_egress_ip,
        ))
    }

    fn view(&self, row: store::ReceiverRow) -> Receiver {
        let token = self
            .sealer
            .open_string(TOKEN_COLUMN, &row.token_sealed)
            .unwrap_or_default();
        let key = self
            .sealer
            .open_string(AES_KEY_COLUMN, &row.aes_key_sealed)
            .unwrap_or_default();
        Receiver {
            id: row.id,
            channel_id: row.channel_id,
            purpose: row.purpose,
            mode: row.mode,
            enabled: row.enabled,
            url: receiver_url(&self.external_url, &row.public_id),
            token: mask(&token),
            encoding_aes_key: mask(&key),
            updated_ms: row.updated_ms,
        }
    }

    pub async fn list(
        &self,
        tenant: TenantId,
        channel_id: i64,
    ) -> Result<Vec<Receiver>, StoreError> {
        Ok(store::receivers_of_channel(self.store, tenant, channel_id)
            .await?
            .into_iter()
            .map(|r| self.view(r))
            .collect())
    }

    pub async fn get(&self, tenant: TenantId, id: i64) -> Result<Option<Receiver>, StoreError> {
        Ok(store::receiver(self.store, tenant, id)
            .await?
            .map(|r| self.view(r)))
    }

    /// The values to paste into the back office, in clear.
    pub async fn values(
        &self,
        tenant: TenantId,
        id: i64,
        public_ip: Option<String>,
    ) -> Result<ReceiverValues, CallbackError> {
        let row = store::receiver(self.store, tenant, id)
            .await?
            .ok_or(CallbackError::NotFound)?;
        let open = |column: &'static str, sealed: &[u8]| {
            self.sealer
                .open_string(column, sealed)
                .map_err(|e| StoreError::Corrupt {
                    column,
                    why: e.to_string(),
                })
        };
        Ok(ReceiverValues {
            url: receiver_url(&self.external_url, &row.public_id),
            token: open(TOKEN_COLUMN, &row.token_sealed)?,
            encoding_aes_key: open(AES_KEY_COLUMN, &row.aes_key_sealed)?,
            mode: row.mode,
            trusted_domain: url::Url::parse(&self.external_url)
                .ok()
                .and_then(|u| {
                    u.host_str().map(|h| match u.port() {
                        Some(p) => format!("{h}:{p}"),
                        None => h.to_string(),
                    })
                })
                .unwrap_or_default(),
            public_ip,
        })
    }

    /// Creates a receiver for a channel (off until the admin turns it on).
    pub async fn create(
        &self,
        tenant: TenantId,
        channel: &Channel,
        new: NewReceiver,
        actor: &Actor,
        now: i64,
    ) -> Result<Receiver, CallbackError> {
        let purpose = new.purpose.unwrap_or(Purpose::Messages);
        if !purpose.fits(channel.kind) {
            return Err(invalid(
                "purpose",
                format!(
                    "a {} channel has no {} receiver",
                    channel.kind.as_str(),
                    purpose.as_str()
                ),
            ));
        }
        let mode = new.mode.unwrap_or_default();
        if channel.kind != ChannelKind::OfficialAccount && mode != Mode::Safe {
            return Err(invalid(
                "mode",
                "WeCom always encrypts its callbacks: use safe",
            ));
        }
        let token = new
            .token
            .filter(|t| !t.is_empty())
            .unwrap_or_else(generate_token);
        check_token(&token)?;
        let key = match new.encoding_aes_key.filter(|k| !k.is_empty()) {
            Some(key) => {
                check_aes_key(&key)?;
                key
            }
            None => EncodingAesKey::generate().expose_encoded().to_string(),
        };
        if store::receivers_of_channel(self.store, tenant, channel.id)
            .await?
            .iter()
            .any(|r| r.purpose == purpose)
        {
            return Err(CallbackError::Exists(purpose.as_str()));
        }
        let mut tx = self.store.begin_write().await?;
        let id = store::insert_receiver(
            &mut tx,
            tenant,
            channel.id,
            purpose,
            &generate_public_id(),
            mode,
            &self.sealer.seal_str(TOKEN_COLUMN, &token),
            &self.sealer.seal_str(AES_KEY_COLUMN, &key),
            now,
        )
        .await?;
        let after =
            json!({ "channel_id": channel.id, "purpose": purpose, "mode": mode, "enabled": false });
        audit::record(
            &mut tx,
            tenant,
            actor,
            "callback.create",
            &format!("receiver:{id}"),
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await?;
        self.get(tenant, id).await?.ok_or(CallbackError::NotFound)
    }

    /// Changes mode, switch, Token or key.
    pub async fn update(
        &self,
        tenant: TenantId,
        id: i64,
        patch: ReceiverPatch,
        actor: &Actor,
        now: i64,
    ) -> Result<Receiver, CallbackError> {
        let row = store::receiver(self.store, tenant, id)
            .await?
            .ok_or(CallbackError::NotFound)?;
        let channel = channels::get(self.store, self.sealer, tenant, row.channel_id)
            .await?
            .ok_or(CallbackError::NotFound)?;
        let mode = patch.mode.unwrap_or(row.mode);
        if channel.kind != ChannelKind::OfficialAccount && mode != Mode::Safe {
            return Err(invalid(
                "mode",
                "WeCom always encrypts its callbacks: use safe",
            ));
        }
        let enabled = patch.enabled.unwrap_or(row.enabled);
        let token_sealed = match patch.token.filter(|t| !t.is_empty()) {
            Some(token) => {
                check_token(&token)?;
                self.sealer.seal_str(TOKEN_COLUMN, &token)
            }
            None => row.token_sealed.clone(),
        };
        let new_key = if patch.regenerate_encoding_aes_key {
            Some(EncodingAesKey::generate().expose_encoded().to_string())
        } else {
            patch.encoding_aes_key.filter(|k| !k.is_empty())
        };
        let key_sealed = match new_key {
            Some(key) => {
                check_aes_key(&key)?;
                self.sealer.seal_str(AES_KEY_COLUMN, &key)
            }
            None => row.aes_key_sealed.clone(),
        };
        let secrets_changed = token_sealed != row.token_sealed || key_sealed != row.aes_key_sealed;
        let mut tx = self.store.begin_write().await?;
        store::update_receiver(&mut tx, id, mode, enabled, &token_sealed, &key_sealed, now).await?;
        audit::record(
            &mut tx,
            tenant,
            actor,
            "callback.update",
            &format!("receiver:{id}"),
            Some(&json!({ "mode": row.mode, "enabled": row.enabled })),
            Some(&json!({ "mode": mode, "enabled": enabled, "secrets_changed": secrets_changed })),
            now,
        )
        .await?;
        tx.commit().await?;
        self.cache.invalidate(&row.public_id);
        self.get(tenant, id).await?.ok_or(CallbackError::NotFound)
    }

    pub async fn delete(
        &self,
        tenant: TenantId,
        id: i64,
        actor: &Actor,
        now: i64,
    ) -> Result<(), CallbackError> {
        let row = store::receiver(self.store, tenant, id)
            .await?
            .ok_or(CallbackError::NotFound)?;
        let mut tx = self.store.begin_write().await?;
        store::delete_receiver(&mut tx, id).await?;
        audit::record(
            &mut tx,
            tenant,
            actor,
            "callback.delete",
            &format!("receiver:{id}"),
            None,
            None,
            now,
        )
        .await?;
        tx.commit().await?;
        self.cache.invalidate(&row.public_id);
        Ok(())
    }
}

/// Fields of suite events that are credentials: shown masked in the inbox.
const SECRET_FIELDS: &[&str] = &["SuiteTicket", "AuthCode", "PermanentCode", "ProviderSecret"];

fn mask_payload(payload: &mut serde_json::Value) {
    if let Some(map) = payload.as_object_mut() {
        for (key, value) in map.iter_mut() {
            if SECRET_FIELDS.contains(&key.as_str())
                && let Some(text) = value.as_str()
            {
                *value = serde_json::Value::String(mask(text));
            }
        }
    }
}

/// Recent inbox entries of a channel, newest first (credentials in suite events masked).
pub async fn inbox(
    store: &Store,
    tenant: TenantId,
    channel_id: Option<i64>,
    kind_prefix: Option<&str>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<InboxEntry>, StoreError> {
    let mut entries =
        store::inbox(store, tenant, channel_id, kind_prefix, before_id, limit).await?;
    for entry in &mut entries {
        mask_payload(&mut entry.payload);
    }
    Ok(entries)
}
