//! [`MsgCrypt`]: WXBizMsgCrypt encryption and decryption (reference §1.3, §1.4).
//!
//! Plaintext layout (reference §1.3):
//!
//! ```text
//! random16 || u32_be(len(msg)) || msg || receive_id || pad (PKCS#7, block 32)
//! ```
//!
//! encrypted with AES-256-CBC, key = AESKey, IV = AESKey[0..16], no library padding, then
//! base64 (standard alphabet, with `=`).
//!
//! Integrity: the scheme has no MAC. The only integrity check is the `msg_signature`, a SHA-1
//! keyed by the Token over the base64 ciphertext; CBC ciphertext is malleable, so always
//! verify the signature ([`MsgCrypt::verify_and_decrypt`]) before trusting a message.

use core::fmt;
use core::ops::Range;

use aes::cipher::array::Array;
use aes::cipher::{BlockModeDecrypt as _, BlockModeEncrypt as _, InnerIvInit as _, KeyInit as _};
use aes::{Aes256Dec, Aes256Enc};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::CryptoRng;
use rand::RngExt as _;
use rand::distr::Alphanumeric;

use super::pkcs7::{self, WECHAT_BLOCK};
use super::signature::{Signature, msg_signature, verify_msg_signature};
use super::{CryptoError, EncodingAesKey};

/// Length of the random prefix of every plaintext.
pub const RANDOM_LEN: usize = 16;
const LEN_FIELD: usize = 4;
const AES_BLOCK: usize = 16;

/// Which receive id a decrypted message must carry (reference §1.1, pitfall §7 row 12).
///
/// The receive id is appended inside every plaintext: the AppID for Official Accounts, Mini
/// Programs and the Open Platform; the CorpID for WeCom self-built apps and third-party data
/// callbacks; the SuiteID for third-party command callbacks; the provider's CorpID for
/// third-party URL verification; an empty string for personal-subject providers. Choose it
/// per route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiveId {
    /// The decrypted receive id must equal this value exactly (byte-wise), else
    /// [`CryptoError::ValidateReceiveId`] (-40005).
    Exact(String),
    /// No check: any receive id is accepted and returned in [`Decrypted::receive_id`]
    /// (routes where one URL serves several corps, or peers that are lenient about it).
    Any,
}

impl ReceiveId {
    /// `ReceiveId::Exact(id)`.
    pub fn exact(id: impl Into<String>) -> Self {
        Self::Exact(id.into())
    }
}

/// A decrypted message: the message bytes and the receive id found, both views into one
/// buffer that was decrypted in place (no copy).
#[derive(Clone, PartialEq, Eq)]
pub struct Decrypted {
    buf: Vec<u8>,
    msg: Range<usize>,
    receive_id: Range<usize>,
}

impl Decrypted {
    /// The message bytes (usually UTF-8 XML or JSON; for URL verification, the echostr).
    pub fn message(&self) -> &[u8] {
        &self.buf[self.msg.clone()]
    }

    /// The message as UTF-8 text.
    ///
    /// # Errors
    /// [`CryptoError::IllegalBuffer`] (-40008) if it is not valid UTF-8.
    pub fn message_str(&self) -> Result<&str, CryptoError> {
        core::str::from_utf8(self.message())
            .map_err(|_| CryptoError::IllegalBuffer("message is not UTF-8"))
    }

    /// The receive id found inside the plaintext (always valid UTF-8; checked against the
    /// policy of the [`MsgCrypt`] unless it was [`ReceiveId::Any`]).
    pub fn receive_id(&self) -> &str {
        // Validated as UTF-8 when the value was built.
        core::str::from_utf8(&self.buf[self.receive_id.clone()]).unwrap_or_default()
    }

    /// Takes the message bytes, reusing the decryption buffer (one `memmove`, no allocation).
    pub fn into_message(mut self) -> Vec<u8> {
        self.buf.truncate(self.msg.end);
        self.buf.drain(..self.msg.start);
        self.buf
    }

    /// Takes the message as a `String`, reusing the decryption buffer.
    ///
    /// # Errors
    /// [`CryptoError::IllegalBuffer`] (-40008) if it is not valid UTF-8.
    pub fn into_string(self) -> Result<String, CryptoError> {
        String::from_utf8(self.into_message())
            .map_err(|_| CryptoError::IllegalBuffer("message is not UTF-8"))
    }
}

impl fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The message is plaintext and may be personal data: print its size only.
        f.debug_struct("Decrypted")
            .field("message_len", &self.msg.len())
            .field("receive_id", &self.receive_id())
            .finish()
    }
}

/// The message crypto of one callback configuration: Token, AES key (with its key schedule
/// expanded once, at construction) and the receive-id policy.
///
/// This is the Rust counterpart of Tencent's `WXBizMsgCrypt` (reference §1). It is
/// immutable, `Send + Sync` and cheap to share behind an `Arc`; every operation is pure (no
/// I/O). `Debug` redacts the Token and the key.
#[derive(Clone)]
pub struct MsgCrypt {
    token: String,
    receive_id: ReceiveId,
    enc: Aes256Enc,
    dec: Aes256Dec,
    iv: [u8; AES_BLOCK],
}

impl fmt::Debug for MsgCrypt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MsgCrypt")
            .field("token", &"***")
            .field("key", &"***")
            .field("receive_id", &self.receive_id)
            .finish()
    }
}

impl MsgCrypt {
    /// Builds the crypto for a Token, an EncodingAESKey and a receive-id policy.
    pub fn new(token: impl Into<String>, key: &EncodingAesKey, receive_id: ReceiveId) -> Self {
        let bytes = key.expose_bytes();
        let mut iv = [0u8; AES_BLOCK];
        // Why: WeChat uses the first 16 key bytes as a fixed IV (reference §1.1); the random
        // prefix of the plaintext is what makes equal messages encrypt differently.
        iv.copy_from_slice(&bytes[..AES_BLOCK]);
        let key_array = Array::from(*bytes);
        Self {
            token: token.into(),
            receive_id,
            enc: Aes256Enc::new(&key_array),
            dec: Aes256Dec::new(&key_array),
            iv,
        }
    }

    /// The same Token and key with another receive-id policy (the key schedule is copied,
    /// not recomputed).
    pub fn with_receive_id(&self, receive_id: ReceiveId) -> Self {
        Self {
            receive_id,
            ..self.clone()
        }
    }

    /// The receive-id policy applied by the decrypt functions.
    pub fn receive_id(&self) -> &ReceiveId {
        &self.receive_id
    }

    /// The Token (a secret: do not log it).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Plain-mode `signature` over this Token (reference §1.2).
    pub fn signature(&self, timestamp: &str, nonce: &str) -> Signature {
        super::signature::signature(&self.token, timestamp, nonce)
    }

    /// Safe-mode `msg_signature` over this Token (reference §1.2).
    pub fn msg_signature(&self, timestamp: &str, nonce: &str, msg_encrypt: &str) -> Signature {
        msg_signature(&self.token, timestamp, nonce, msg_encrypt)
    }

    /// Encrypts `msg` for `receive_id` with a random prefix drawn from the thread-local
    /// CSPRNG (seeded by the operating system). Returns the base64 `Encrypt` value.
    ///
    /// # Errors
    /// [`CryptoError::EncryptAes`] (-40006) if `msg` is 4 GiB or longer.
    pub fn encrypt(&self, msg: &[u8], receive_id: &str) -> Result<String, CryptoError> {
        self.encrypt_with_random(&random_prefix(&mut rand::rng()), msg, receive_id)
    }

    /// Encrypts with a caller-supplied 16-byte random prefix (deterministic; for tests and
    /// test vectors such as §1.9 C and D). Never reuse a prefix in production.
    ///
    /// # Errors
    /// [`CryptoError::EncryptAes`] (-40006) if `msg` is 4 GiB or longer.
    pub fn encrypt_with_random(
        &self,
        random: &[u8; RANDOM_LEN],
        msg: &[u8],
        receive_id: &str,
    ) -> Result<String, CryptoError> {
        let mut out = String::new();
        self.encrypt_append(random, msg, receive_id, &mut out)?;
        Ok(out)
    }

    /// Encrypts and appends the base64 `Encrypt` value to `out` (lets envelope builders
    /// write straight into their output buffer).
    pub(crate) fn encrypt_append(
        &self,
        random: &[u8; RANDOM_LEN],
        msg: &[u8],
        receive_id: &str,
        out: &mut String,
    ) -> Result<(), CryptoError> {
        let msg_len = u32::try_from(msg.len())
            .map_err(|_| CryptoError::EncryptAes("message longer than the 4-byte length field"))?;
        let too_long = CryptoError::EncryptAes("message too long");
        let plain_len = (RANDOM_LEN + LEN_FIELD)
            .checked_add(msg.len())
            .and_then(|n| n.checked_add(receive_id.len()))
            .ok_or(too_long.clone())?;
        let padded_len = plain_len
            .checked_add(pkcs7::pad_len::<WECHAT_BLOCK>(plain_len))
            .ok_or(too_long)?;
        let mut buf = Vec::with_capacity(padded_len);
        buf.extend_from_slice(random);
        buf.extend_from_slice(&msg_len.to_be_bytes());
        buf.extend_from_slice(msg);
        buf.extend_from_slice(receive_id.as_bytes());
        pkcs7::pad::<WECHAT_BLOCK>(&mut buf);

        let (blocks, tail) = Array::slice_as_chunks_mut(&mut buf);
        debug_assert!(
            tail.is_empty(),
            "32-byte padding is a multiple of the AES block"
        );
        cbc::Encryptor::<Aes256Enc>::inner_iv_init(self.enc.clone(), &Array::from(self.iv))
            .encrypt_blocks(blocks);

        out.reserve(buf.len().div_ceil(3) * 4);
        STANDARD.encode_string(&buf, out);
        Ok(())
    }

    /// Decrypts a base64 `Encrypt` value **without** checking a signature, then applies the
    /// receive-id policy. Prefer [`verify_and_decrypt`](Self::verify_and_decrypt).
    ///
    /// # Errors
    /// [`CryptoError::DecodeBase64`] (-40010), [`CryptoError::DecryptAes`] (-40007) if the
    /// ciphertext is not a positive multiple of 16 bytes, [`CryptoError::IllegalBuffer`]
    /// (-40008) for bad padding or an out-of-bounds length field,
    /// [`CryptoError::ValidateReceiveId`] (-40005).
    pub fn decrypt(&self, msg_encrypt: &str) -> Result<Decrypted, CryptoError> {
        let mut buf = Vec::with_capacity(msg_encrypt.len() / 4 * 3 + 3);
        STANDARD
            .decode_vec(msg_encrypt, &mut buf)
            .map_err(|_| CryptoError::DecodeBase64)?;
        self.decrypt_vec(buf)
    }

    /// Decrypts raw (already base64-decoded) ciphertext in place, then applies the
    /// receive-id policy. Same checks and errors as [`decrypt`](Self::decrypt) minus base64.
    pub fn decrypt_vec(&self, mut buf: Vec<u8>) -> Result<Decrypted, CryptoError> {
        let (msg, receive_id) = self.decrypt_in_place(&mut buf)?;
        Ok(Decrypted {
            buf,
            msg,
            receive_id,
        })
    }

    /// Verifies `msg_signature` over (Token, `timestamp`, `nonce`, `msg_encrypt`), then
    /// decrypts. This is the full check sequence of the official libraries (reference §1.4).
    ///
    /// # Errors
    /// [`CryptoError::ValidateSignature`] (-40001) first, then the errors of
    /// [`decrypt`](Self::decrypt).
    pub fn verify_and_decrypt(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        msg_encrypt: &str,
    ) -> Result<Decrypted, CryptoError> {
        verify_msg_signature(&self.token, timestamp, nonce, msg_encrypt, msg_signature)?;
        self.decrypt(msg_encrypt)
    }

    /// Core of decryption: CBC-decrypts `buf` in place and returns the ranges of the message
    /// and of the receive id.
    fn decrypt_in_place(
        &self,
        buf: &mut [u8],
    ) -> Result<(Range<usize>, Range<usize>), CryptoError> {
        if buf.is_empty() || !buf.len().is_multiple_of(AES_BLOCK) {
            return Err(CryptoError::DecryptAes(
                "ciphertext length is not a positive multiple of 16",
            ));
        }
        let (blocks, _) = Array::slice_as_chunks_mut(buf);
        cbc::Decryptor::<Aes256Dec>::inner_iv_init(self.dec.clone(), &Array::from(self.iv))
            .decrypt_blocks(blocks);

        // Why 32 and strict: WeChat pads to 32-byte blocks (reference §1.3); peers that pad to
        // 16 produce counts 1..=16, which are accepted too.
        let unpadded = pkcs7::unpad::<WECHAT_BLOCK>(buf)?;
        let header = RANDOM_LEN + LEN_FIELD;
        if unpadded < header {
            return Err(CryptoError::IllegalBuffer(
                "plaintext shorter than its header",
            ));
        }
        let mut len_field = [0u8; LEN_FIELD];
        len_field.copy_from_slice(&buf[RANDOM_LEN..header]);
        let msg_len = usize::try_from(u32::from_be_bytes(len_field))
            .map_err(|_| CryptoError::IllegalBuffer("length field out of bounds"))?;
        let msg_end = header
            .checked_add(msg_len)
            .filter(|&end| end <= unpadded)
            .ok_or(CryptoError::IllegalBuffer("length field out of bounds"))?;
        let found = &buf[msg_end..unpadded];
        match &self.receive_id {
            ReceiveId::Exact(expected) if found != expected.as_bytes() => {
                return Err(CryptoError::ValidateReceiveId);
            }
            ReceiveId::Exact(_) => {}
            ReceiveId::Any => {
                if core::str::from_utf8(found).is_err() {
                    return Err(CryptoError::ValidateReceiveId);
                }
            }
        }
        Ok((header..msg_end, msg_end..unpadded))
    }
}

/// A fresh 16-character random prefix from `[A-Za-z0-9]`.
///
/// Why alphanumeric: the official samples use 16 random ASCII letters/digits (reference §1.3);
/// receivers ignore the prefix, but a strict peer can never trip over it this way.
pub fn random_prefix<R: CryptoRng + ?Sized>(rng: &mut R) -> [u8; RANDOM_LEN] {
    let mut random = [0u8; RANDOM_LEN];
    for b in &mut random {
        *b = rng.sample(Alphanumeric);
    }
    random
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector_a() -> MsgCrypt {
        let key = EncodingAesKey::parse("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C").unwrap();
        MsgCrypt::new("QDG6eK", &key, ReceiveId::exact("wx5823bf96d3bd56c7"))
    }

    #[test]
    fn vector_a_echostr() {
        let crypt = vector_a();
        let echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
        let out = crypt
            .verify_and_decrypt(
                "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
                "1409659589",
                "263014780",
                echostr,
            )
            .unwrap();
        assert_eq!(out.message_str().unwrap(), "1616140317555161061");
        assert_eq!(out.receive_id(), "wx5823bf96d3bd56c7");
        // The known random prefix re-creates the exact ciphertext.
        let again = crypt
            .encrypt_with_random(
                b"c41b64491c2468d0",
                b"1616140317555161061",
                "wx5823bf96d3bd56c7",
            )
            .unwrap();
        assert_eq!(again, echostr);
    }

    #[test]
    fn receive_id_policy() {
        let crypt = vector_a();
        let enc = crypt.encrypt(b"hello", "other").unwrap();
        assert_eq!(crypt.decrypt(&enc), Err(CryptoError::ValidateReceiveId));
        let any = crypt.with_receive_id(ReceiveId::Any);
        let out = any.decrypt(&enc).unwrap();
        assert_eq!(out.receive_id(), "other");
        assert_eq!(out.into_string().unwrap(), "hello");
        // Empty receive id (personal-subject providers).
        let enc = crypt.encrypt(b"x", "").unwrap();
        let empty = crypt.with_receive_id(ReceiveId::exact(""));
        assert_eq!(empty.decrypt(&enc).unwrap().message(), b"x");
    }

    #[test]
    fn length_and_base64_errors() {
        let crypt = vector_a();
        assert_eq!(
            crypt.decrypt(""),
            Err(CryptoError::DecryptAes(
                "ciphertext length is not a positive multiple of 16"
            ))
        );
        assert_eq!(crypt.decrypt("AAAA").unwrap_err().code(), -40007);
        assert_eq!(crypt.decrypt("not base64!").unwrap_err().code(), -40010);
        assert_eq!(crypt.decrypt_vec(vec![0; 15]).unwrap_err().code(), -40007);
    }

    #[test]
    fn debug_redacts() {
        let crypt = vector_a();
        let dbg = format!("{crypt:?}");
        assert!(!dbg.contains("QDG6eK"));
        let out = crypt.decrypt(&crypt.encrypt(b"secret text", "wx5823bf96d3bd56c7").unwrap());
        let dbg = format!("{:?}", out.unwrap());
        assert!(!dbg.contains("secret"));
    }
}
