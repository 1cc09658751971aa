//! Secrets at rest: the master key and the sealing of secret columns.
//!
//! A sealed value is `version(1) ‖ key id(4) ‖ nonce(12) ‖ AES-256-GCM(ciphertext ‖ tag)`,
//! with the column's name as associated data, so a value copied into another column does not
//! open. The database keeps a check value of the master key; a node whose key does not match
//! refuses to start rather than write values nobody can read.

mod key_file;
pub mod reveal;
mod rotation;

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::Rng;
use sha2::{Digest, Sha256};

pub use key_file::{KeyError, KeySource, load_or_create_master_key, verify_master_key};
pub use rotation::{SEALED_COLUMNS, SealedColumn, rotate_master_key};

const VERSION: u8 = 1;
const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = 12;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the master key must be 32 bytes in standard base64 (44 characters)")]
    BadKey,
    #[error("a sealed value is malformed")]
    Malformed,
    #[error("a sealed value was sealed with key {found}, not the current key {current}")]
    WrongKey { found: String, current: String },
    #[error("a sealed value failed authentication (tampered, or sealed for another column)")]
    Unauthentic,
}

/// The 32-byte master key. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct MasterKey {
    bytes: [u8; 32],
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({})", self.key_id())
    }
}

impl MasterKey {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self { bytes }
    }

    pub fn from_base64(s: &str) -> Result<Self, SecretError> {
        let decoded = STANDARD.decode(s.trim()).map_err(|_| SecretError::BadKey)?;
        let bytes: [u8; 32] = decoded.try_into().map_err(|_| SecretError::BadKey)?;
        Ok(Self { bytes })
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.bytes)
    }

    /// A short public identifier of the key (not secret: a digest prefix).
    pub fn key_id(&self) -> String {
        hex::encode(&self.digest(b"qiao key id v1")[..KEY_ID_LEN])
    }

    /// The value stored in the database to recognise this key.
    pub fn check_value(&self) -> Vec<u8> {
        self.digest(b"qiao master key check v1").to_vec()
    }

    fn digest(&self, label: &[u8]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(label);
        hasher.update(self.bytes);
        hasher.finalize().into()
    }

    fn key_id_bytes(&self) -> [u8; KEY_ID_LEN] {
        let d = self.digest(b"qiao key id v1");
        [d[0], d[1], d[2], d[3]]
    }
}

/// Seals and opens secret column values with the master key.
#[derive(Clone)]
pub struct Sealer {
    key: MasterKey,
    cipher: Aes256Gcm,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealer({})", self.key.key_id())
    }
}

impl Sealer {
    pub fn new(key: MasterKey) -> Self {
        let cipher = Aes256Gcm::new(&key.bytes.into());
        Self { key, cipher }
    }

    pub fn key(&self) -> &MasterKey {
        &self.key
    }

    /// Seals `plaintext` for the column named `column` (e.g. `"settings.sealed"`).
    pub fn seal(&self, column: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: column.as_bytes(),
                },
            )
            // AES-GCM encryption fails only for inputs beyond 64 GiB.
            .expect("AES-GCM seal of an in-memory value");
        let mut out = Vec::with_capacity(HEADER_LEN + ciphertext.len());
        out.push(VERSION);
        out.extend_from_slice(&self.key.key_id_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    pub fn seal_str(&self, column: &str, plaintext: &str) -> Vec<u8> {
        self.seal(column, plaintext.as_bytes())
    }

    /// Opens a value sealed for `column`.
    pub fn open(&self, column: &str, sealed: &[u8]) -> Result<Vec<u8>, SecretError> {
        if sealed.len() < HEADER_LEN + 16 || sealed[0] != VERSION {
            return Err(SecretError::Malformed);
        }
        let key_id = &sealed[1..1 + KEY_ID_LEN];
        if key_id != self.key.key_id_bytes() {
            return Err(SecretError::WrongKey {
                found: hex::encode(key_id),
                current: self.key.key_id(),
            });
        }
        let nonce: [u8; NONCE_LEN] = sealed[1 + KEY_ID_LEN..HEADER_LEN]
            .try_into()
            .map_err(|_| SecretError::Malformed)?;
        self.cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &sealed[HEADER_LEN..],
                    aad: column.as_bytes(),
                },
            )
            .map_err(|_| SecretError::Unauthentic)
    }

    pub fn open_string(&self, column: &str, sealed: &[u8]) -> Result<String, SecretError> {
        String::from_utf8(self.open(column, sealed)?).map_err(|_| SecretError::Malformed)
    }
}

/// Shows a secret as a fixed mask plus its last characters, so an admin can tell two values
/// apart without seeing either (`******c3f9`). Short values are masked whole.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 12 {
        return "******".to_string();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("******{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_column_binding() {
        let sealer = Sealer::new(MasterKey::generate());
        let sealed = sealer.seal_str("settings.sealed", "hunter2 秘密");
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(
            sealer.open_string("settings.sealed", &sealed).unwrap(),
            "hunter2 秘密"
        );
        assert!(matches!(
            sealer.open("channels.secret", &sealed),
            Err(SecretError::Unauthentic)
        ));
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(matches!(
            sealer.open("settings.sealed", &tampered),
            Err(SecretError::Unauthentic)
        ));
        let other = Sealer::new(MasterKey::generate());
        assert!(matches!(
            other.open("settings.sealed", &sealed),
            Err(SecretError::WrongKey { .. })
        ));
        assert!(matches!(
            sealer.open("settings.sealed", &sealed[..10]),
            Err(SecretError::Malformed)
        ));
    }

    #[test]
    fn keys_parse_and_never_show() {
        let key = MasterKey::generate();
        let text = key.to_base64();
        let parsed = MasterKey::from_base64(&text).unwrap();
        assert_eq!(parsed.key_id(), key.key_id());
        assert!(!format!("{key:?}").contains(&text));
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
        assert!(MasterKey::from_base64("not base64!").is_err());
    }

    #[test]
    fn masks_keep_only_a_tail() {
        assert_eq!(mask("abc"), "******");
        assert_eq!(mask("0123456789abcdef"), "******cdef");
    }
}
