//! Where the master key comes from, and the check that it is the database's key.
//!
//! The key is `QIAO_MASTER_KEY` (or `master_key` in the config file) when set: several nodes
//! sharing one PostgreSQL must use that. Otherwise it lives in `<data-dir>/master.key`
//! (mode 0600), generated on first start. A rotation writes `master.key.next` before it
//! commits and renames it afterwards, so a crash in between is finished at the next start.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::clock;
use crate::config::Config;
use crate::on_db;
use crate::store::{Store, StoreError};

use super::MasterKey;

#[derive(Debug, Clone)]
pub enum KeySource {
    /// Given by configuration (`QIAO_MASTER_KEY`).
    Config,
    /// Kept in a file of the data directory.
    File(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("master key file {path}: {why}")]
    File { path: PathBuf, why: String },
    #[error(
        "the master key (id {ours}) does not match the key this database was sealed with \
         (id {theirs}); nodes sharing a database must use the same QIAO_MASTER_KEY. Start with \
         the right key (or the data directory that holds it); refusing to start"
    )]
    Mismatch { ours: String, theirs: String },
    #[error("a value in {column} does not open: {source}")]
    Unseal {
        column: String,
        source: super::SecretError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for KeyError {
    fn from(e: sqlx::Error) -> Self {
        KeyError::Store(e.into())
    }
}

fn file_error(path: &Path, why: impl ToString) -> KeyError {
    KeyError::File {
        path: path.to_path_buf(),
        why: why.to_string(),
    }
}

pub(super) fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("master.key")
}

pub(super) fn next_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("master.key.next")
}

/// The configured key, or the one in the data directory (generated there on first use).
pub fn load_or_create_master_key(config: &Config) -> Result<(MasterKey, KeySource), KeyError> {
    if let Some(text) = &config.master_key {
        // Validated when the configuration was loaded.
        let key = MasterKey::from_base64(text).map_err(|e| KeyError::File {
            path: PathBuf::from("QIAO_MASTER_KEY"),
            why: e.to_string(),
        })?;
        return Ok((key, KeySource::Config));
    }
    let path = key_path(&config.data_dir);
    if path.exists() {
        return Ok((read_key_file(&path)?, KeySource::File(path)));
    }
    fs::create_dir_all(&config.data_dir).map_err(|e| file_error(&config.data_dir, e))?;
    let key = MasterKey::generate();
    write_key_file(&path, &key)?;
    tracing::info!(path = %path.display(), key_id = %key.key_id(), "generated a new master key");
    Ok((key, KeySource::File(path)))
}

pub(super) fn read_key_file(path: &Path) -> Result<MasterKey, KeyError> {
    let text = fs::read_to_string(path).map_err(|e| file_error(path, e))?;
    MasterKey::from_base64(&text).map_err(|e| file_error(path, e))
}

/// Writes a key file readable by its owner only; refuses to overwrite an existing file.
pub(super) fn write_key_file(path: &Path, key: &MasterKey) -> Result<(), KeyError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| file_error(path, e))?;
    file.write_all(key.to_base64().as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| file_error(path, e))
}

/// Makes sure `key` is the database's key: records it on first start, finishes a rotation
/// that crashed between its commit and its file rename, and refuses a foreign key.
pub async fn verify_master_key(
    store: &Store,
    key: MasterKey,
    source: &KeySource,
) -> Result<MasterKey, KeyError> {
    let stored: Option<(String, Vec<u8>)> = on_db!(&store.db, pool => {
        sqlx::query_as("SELECT key_id, check_value FROM master_key_check WHERE id = 1")
            .fetch_optional(pool)
            .await
    })?;
    let Some((stored_id, check)) = stored else {
        let now = clock::now_ms();
        on_db!(&store.db, pool => {
            sqlx::query(
                "INSERT INTO master_key_check (id, key_id, check_value, updated_ms) \
                 VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING",
            )
            .bind(key.key_id())
            .bind(key.check_value())
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        // Another node may have won the race with a different key: check again.
        return Box::pin(verify_master_key(store, key, source)).await;
    };
    if subtle_eq(&check, &key.check_value()) {
        if let KeySource::File(path) = source {
            // A rotation that failed before its commit leaves a stale next key behind.
            let next = next_key_path(path.parent().unwrap_or(Path::new(".")));
            if next.exists() {
                fs::remove_file(&next).map_err(|e| file_error(&next, e))?;
            }
        }
        return Ok(key);
    }
    if let KeySource::File(path) = source {
        let dir = path.parent().unwrap_or(Path::new("."));
        let next = next_key_path(dir);
        if next.exists() {
            let next_key = read_key_file(&next)?;
            if subtle_eq(&check, &next_key.check_value()) {
                fs::rename(&next, path).map_err(|e| file_error(path, e))?;
                tracing::info!(key_id = %next_key.key_id(), "finished an interrupted master key rotation");
                return Ok(next_key);
            }
        }
    }
    Err(KeyError::Mismatch {
        ours: key.key_id(),
        theirs: stored_id,
    })
}

fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}
