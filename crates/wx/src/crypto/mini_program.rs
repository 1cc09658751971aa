//! Mini Program `encryptedData` (legacy `getUserInfo` / `getPhoneNumber`; reference §3.5).
//!
//! A different scheme from message crypto: AES-**128**-CBC with key = base64(`session_key`)
//! and IV = base64(`iv`) (both 16 bytes, per user and per call), standard PKCS#7 with 16-byte
//! blocks, and a JSON plaintext whose `watermark.appid` must be the Mini Program's AppID.

use aes::Aes128;
use aes::cipher::array::Array;
use aes::cipher::{BlockModeDecrypt as _, BlockModeEncrypt as _, KeyIvInit as _};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest as _, Sha1};

use super::CryptoError;
use super::pkcs7;
use super::signature::Signature;

const BLOCK: usize = 16;

fn decode_16(b64: &str, err: CryptoError) -> Result<[u8; BLOCK], CryptoError> {
    let mut out = [0u8; BLOCK];
    // A 16-byte value is 24 base64 characters; anything that does not decode to exactly 16
    // bytes is rejected (decode_slice also fails if the output would not fit).
    match STANDARD.decode_slice(b64, &mut out) {
        Ok(BLOCK) => Ok(out),
        _ => Err(err),
    }
}

/// Decrypts Mini Program `encryptedData` and checks its watermark.
///
/// `session_key` comes from `jscode2session` (reference §3.2); `encrypted_data` and `iv` come
/// from the front end, all three as base64. Returns the decrypted JSON document (including
/// its `watermark`).
///
/// # Errors
/// * [`CryptoError::IllegalAesKey`] (-40004): `session_key` is not base64 of 16 bytes;
/// * [`CryptoError::IllegalIv`] (-40004): `iv` is not base64 of 16 bytes;
/// * [`CryptoError::DecodeBase64`] (-40010): `encrypted_data` is not base64;
/// * [`CryptoError::DecryptAes`] (-40007): ciphertext not a positive multiple of 16 bytes;
/// * [`CryptoError::IllegalBuffer`] (-40008): bad padding (typically a wrong or stale
///   `session_key`);
/// * [`CryptoError::ParseJson`] (-40002): plaintext is not a JSON object;
/// * [`CryptoError::WatermarkMismatch`] (-40005): `watermark.appid` missing or not `app_id`.
pub fn decrypt_mini_program_data(
    app_id: &str,
    session_key: &str,
    encrypted_data: &str,
    iv: &str,
) -> Result<serde_json::Value, CryptoError> {
    let key = decode_16(
        session_key,
        CryptoError::IllegalAesKey("session_key is not 16 bytes"),
    )?;
    let iv = decode_16(iv, CryptoError::IllegalIv)?;
    let mut buf = STANDARD
        .decode(encrypted_data)
        .map_err(|_| CryptoError::DecodeBase64)?;
    if buf.is_empty() || !buf.len().is_multiple_of(BLOCK) {
        return Err(CryptoError::DecryptAes(
            "ciphertext length is not a positive multiple of 16",
        ));
    }
    let (blocks, _) = Array::slice_as_chunks_mut(&mut buf);
    cbc::Decryptor::<Aes128>::new(&Array::from(key), &Array::from(iv)).decrypt_blocks(blocks);
    let len = pkcs7::unpad::<BLOCK>(&buf)?;
    let value: serde_json::Value = serde_json::from_slice(&buf[..len])
        .map_err(|_| CryptoError::ParseJson("decrypted data is not JSON"))?;
    let watermark_app_id = value
        .get("watermark")
        .and_then(|w| w.get("appid"))
        .and_then(serde_json::Value::as_str);
    // Why: the watermark proves the data was produced for this Mini Program; a session_key of
    // another Mini Program of the same user would otherwise decrypt fine (reference §3.5).
    if watermark_app_id != Some(app_id) {
        return Err(CryptoError::WatermarkMismatch);
    }
    Ok(value)
}

/// Encrypts a plaintext (usually JSON with a `watermark`) the way WeChat produces
/// `encryptedData` (for simulators and tests). Returns base64.
///
/// # Errors
/// [`CryptoError::IllegalAesKey`] / [`CryptoError::IllegalIv`] (-40004) as in
/// [`decrypt_mini_program_data`].
pub fn encrypt_mini_program_data(
    session_key: &str,
    iv: &str,
    plaintext: &[u8],
) -> Result<String, CryptoError> {
    let key = decode_16(
        session_key,
        CryptoError::IllegalAesKey("session_key is not 16 bytes"),
    )?;
    let iv = decode_16(iv, CryptoError::IllegalIv)?;
    let mut buf = Vec::with_capacity(plaintext.len() + BLOCK);
    buf.extend_from_slice(plaintext);
    pkcs7::pad::<BLOCK>(&mut buf);
    let (blocks, _) = Array::slice_as_chunks_mut(&mut buf);
    cbc::Encryptor::<Aes128>::new(&Array::from(key), &Array::from(iv)).encrypt_blocks(blocks);
    Ok(STANDARD.encode(&buf))
}

/// Checks the `signature` that accompanies `rawData` from `wx.getUserInfo`:
/// `sha1(rawData + session_key)` as lowercase hex (reference §3.5), in constant time.
///
/// # Errors
/// [`CryptoError::ValidateSignature`] (-40001) on mismatch.
pub fn verify_raw_data_signature(
    raw_data: &str,
    session_key: &str,
    signature: &str,
) -> Result<(), CryptoError> {
    let mut hasher = Sha1::new();
    hasher.update(raw_data.as_bytes());
    hasher.update(session_key.as_bytes());
    if Signature::from_digest(&hasher.finalize()).verify(signature) {
        Ok(())
    } else {
        Err(CryptoError::ValidateSignature)
    }
}
