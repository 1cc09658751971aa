//! Receivers ready for the hot path: the Token opened and the AES key schedule expanded once,
//! not per callback. Changes made on this node invalidate at once; changes made on another
//! node show after [`TTL`] (see [`crate::cache`]).

use std::sync::Arc;
use std::time::Duration;

use wx::crypto::{EncodingAesKey, MsgCrypt, ReceiveId};
use wx::message::Platform;

use crate::cache::Refreshing;
use crate::channels::{self, ChannelKind};
use crate::secrets::Sealer;
use crate::store::{Store, StoreError, TenantId};

use super::store::receiver_by_public_id;
use super::{AES_KEY_COLUMN, Mode, Purpose, TOKEN_COLUMN};

pub const TTL: Duration = Duration::from_secs(3);

/// A receiver as the callback path needs it.
pub struct ReceiverCtx {
    pub id: i64,
    pub tenant: TenantId,
    pub channel_id: i64,
    pub purpose: Purpose,
    pub mode: Mode,
    pub enabled: bool,
    pub platform: Platform,
    pub crypt: MsgCrypt,
}

pub struct ReceiverCache {
    receivers: Refreshing<String, ReceiverCtx>,
}

impl Default for ReceiverCache {
    fn default() -> Self {
        Self {
            receivers: Refreshing::new(TTL),
        }
    }
}

impl ReceiverCache {
    /// The receiver behind `public_id`, from memory when it can.
    pub async fn get(
        &self,
        store: &Store,
        sealer: &Sealer,
        public_id: &str,
    ) -> Result<Option<Arc<ReceiverCtx>>, StoreError> {
        self.receivers
            .get(public_id, || load(store, sealer, public_id))
            .await
    }

    pub fn invalidate(&self, public_id: &str) {
        self.receivers.invalidate(|id| id == public_id);
    }
}

async fn load(
    store: &Store,
    sealer: &Sealer,
    public_id: &str,
) -> Result<Option<ReceiverCtx>, StoreError> {
    let Some(row) = receiver_by_public_id(store, public_id).await? else {
        return Ok(None);
    };
    let Some(channel) = channels::get(store, sealer, row.tenant, row.channel_id).await? else {
        return Ok(None);
    };
    // The receive id WeChat puts inside each encrypted message (reference §1.1).
    let receive_id = match channel.kind {
        ChannelKind::WecomApp => {
            let corp = match channel.parent_id {
                Some(corp) => channels::get(store, sealer, row.tenant, corp).await?,
                None => None,
            };
            match corp {
                Some(corp) => corp.external_id,
                None => return Ok(None),
            }
        }
        _ => channel.external_id.clone(),
    };
    let corrupt = |column: &'static str, why: String| StoreError::Corrupt { column, why };
    let token = sealer
        .open_string(TOKEN_COLUMN, &row.token_sealed)
        .map_err(|e| corrupt(TOKEN_COLUMN, e.to_string()))?;
    let key_text = sealer
        .open_string(AES_KEY_COLUMN, &row.aes_key_sealed)
        .map_err(|e| corrupt(AES_KEY_COLUMN, e.to_string()))?;
    let key =
        EncodingAesKey::parse(&key_text).map_err(|e| corrupt(AES_KEY_COLUMN, e.to_string()))?;
    Ok(Some(ReceiverCtx {
        id: row.id,
        tenant: row.tenant,
        channel_id: row.channel_id,
        purpose: row.purpose,
        mode: row.mode,
        enabled: row.enabled,
        platform: if channel.kind == ChannelKind::OfficialAccount {
            Platform::OfficialAccount
        } else {
            Platform::WeCom
        },
        crypt: MsgCrypt::new(token, &key, ReceiveId::exact(receive_id)),
    }))
}
