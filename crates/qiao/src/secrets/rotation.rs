//! `qiao admin rotate-master-key`: re-seal every secret column with a new key in one
//! transaction, and swap the check value with it.

use std::fs;
use std::path::Path;

use sqlx::AssertSqlSafe;

use crate::clock;
use crate::on_tx;
use crate::store::Store;

use super::key_file::{KeyError, KeySource, next_key_path, write_key_file};
use super::{MasterKey, Sealer};

/// A column that holds sealed values; its associated data is `"table.column"`.
#[derive(Debug, Clone, Copy)]
pub struct SealedColumn {
    pub table: &'static str,
    pub column: &'static str,
}

impl SealedColumn {
    pub fn aad(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }
}

/// Every column that holds sealed values. A capability that adds one lists it here, so that
/// rotation cannot miss it.
pub const SEALED_COLUMNS: &[SealedColumn] = &[
    SealedColumn {
        table: "settings",
        column: "sealed",
    },
    SealedColumn {
        table: "channel_secrets",
        column: "sealed",
    },
    SealedColumn {
        table: "callback_receivers",
        column: "token_sealed",
    },
    SealedColumn {
        table: "callback_receivers",
        column: "aes_key_sealed",
    },
    SealedColumn {
        table: "webhook_subscriptions",
        column: "secret",
    },
    SealedColumn {
        table: "access_tokens",
        column: "sealed",
    },
];

#[derive(Debug)]
pub struct RotationReport {
    pub old_key_id: String,
    pub new_key_id: String,
    pub resealed: usize,
}

/// Re-seals every sealed value with `new_key`.
///
/// With a key file, the new key is written to `master.key.next` before the commit and
/// renamed over `master.key` after it. With a configured key, the new key is written to
/// `new_key_file` and the operator updates `QIAO_MASTER_KEY` on every node.
pub async fn rotate_master_key(
    store: &Store,
    old: &Sealer,
    source: &KeySource,
    new_key_file: Option<&Path>,
) -> Result<RotationReport, KeyError> {
    let new_key = MasterKey::generate();
    let pending = match (source, new_key_file) {
        (_, Some(path)) => path.to_path_buf(),
        (KeySource::File(path), None) => next_key_path(path.parent().unwrap_or(Path::new("."))),
        (KeySource::Config, None) => {
            return Err(KeyError::File {
                path: "QIAO_MASTER_KEY".into(),
                why: "the key comes from configuration: pass --new-key-file PATH to receive \
                      the new key, then set QIAO_MASTER_KEY to it on every node"
                    .into(),
            });
        }
    };
    write_key_file(&pending, &new_key)?;
    let new = Sealer::new(new_key.clone());
    let resealed = match reseal_all(store, old, &new).await {
        Ok(n) => n,
        Err(e) => {
            let _ = fs::remove_file(&pending);
            return Err(e);
        }
    };
    if let (KeySource::File(path), None) = (source, new_key_file) {
        fs::rename(&pending, path).map_err(|e| KeyError::File {
            path: path.clone(),
            why: e.to_string(),
        })?;
    }
    Ok(RotationReport {
        old_key_id: old.key().key_id(),
        new_key_id: new_key.key_id(),
        resealed,
    })
}

async fn reseal_all(store: &Store, old: &Sealer, new: &Sealer) -> Result<usize, KeyError> {
    let now = clock::now_ms();
    let mut resealed = 0;
    let mut tx = store.begin_write().await?;
    on_tx!(&mut tx, conn => {
        for col in SEALED_COLUMNS {
            // Table and column names come from the constant list above, never from input.
            let select = format!(
                "SELECT {c} FROM {t} WHERE {c} IS NOT NULL",
                c = col.column,
                t = col.table
            );
            let update = format!(
                "UPDATE {t} SET {c} = $1 WHERE {c} = $2",
                c = col.column,
                t = col.table
            );
            let values: Vec<(Vec<u8>,)> = sqlx::query_as(AssertSqlSafe(select))
                .fetch_all(&mut *conn)
                .await?;
            let aad = col.aad();
            for (sealed,) in values {
                let plain = old.open(&aad, &sealed).map_err(|source| KeyError::Unseal {
                    column: aad.clone(),
                    source,
                })?;
                // Each sealed value is unique (random nonce), so it identifies its row.
                sqlx::query(AssertSqlSafe(update.clone()))
                    .bind(new.seal(&aad, &plain))
                    .bind(&sealed)
                    .execute(&mut *conn)
                    .await?;
                resealed += 1;
            }
        }
        sqlx::query(
            "UPDATE master_key_check SET key_id = $1, check_value = $2, updated_ms = $3 \
             WHERE id = 1",
        )
        .bind(new.key().key_id())
        .bind(new.key().check_value())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    });
    tx.commit().await?;
    Ok(resealed)
}
