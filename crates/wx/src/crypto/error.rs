//! The error type of the crypto module and the official WXBizMsgCrypt error codes
//! (reference §1.5).
//!
//! Error messages are safe to log: they never contain key material, tokens, decrypted
//! plaintext or the receive id found inside a decrypted buffer. They name the failed check
//! only.

/// Error codes of Tencent's official crypto libraries (reference §1.5).
///
/// [`CryptoError::code`] maps every error of this module onto one of them. Codes that this
/// crate can never produce (for example [`COMPUTE_SIGNATURE`](codes::COMPUTE_SIGNATURE)) are
/// listed for completeness, so callers can match on values reported by peers.
pub mod codes {
    /// Success.
    pub const OK: i32 = 0;
    /// `ValidateSignature_Error`: signature mismatch.
    pub const VALIDATE_SIGNATURE: i32 = -40001;
    /// `ParseXml_Error` (`ParseJson_Error` in the JSON library): the envelope cannot be parsed.
    pub const PARSE_XML: i32 = -40002;
    /// `ComputeSignature_Error`: SHA-1 computation failed.
    pub const COMPUTE_SIGNATURE: i32 = -40003;
    /// `IllegalAesKey`: EncodingAESKey invalid.
    pub const ILLEGAL_AES_KEY: i32 = -40004;
    /// `ValidateCorpid_Error` / `ValidateAppid_Error`: receive id mismatch.
    pub const VALIDATE_RECEIVE_ID: i32 = -40005;
    /// `EncryptAES_Error`: AES encryption failed.
    pub const ENCRYPT_AES: i32 = -40006;
    /// `DecryptAES_Error`: AES decryption failed.
    pub const DECRYPT_AES: i32 = -40007;
    /// `IllegalBuffer`: decrypted buffer malformed (padding or length field).
    pub const ILLEGAL_BUFFER: i32 = -40008;
    /// `EncodeBase64_Error`: base64 encoding failed.
    pub const ENCODE_BASE64: i32 = -40009;
    /// `DecodeBase64_Error`: base64 decoding failed.
    pub const DECODE_BASE64: i32 = -40010;
    /// `GenReturnXml_Error` (`GenReturnJson_Error`): building the reply envelope failed.
    pub const GEN_RETURN_XML: i32 = -40011;
}

/// Everything that can go wrong while signing, verifying, encrypting or decrypting WeChat
/// messages.
///
/// Use [`code`](Self::code) to get the official numeric code (reference §1.5). The
/// `&'static str` payloads describe which check failed; they never carry secrets or
/// plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A `signature` or `msg_signature` did not match (-40001).
    #[error("signature mismatch")]
    ValidateSignature,
    /// A query parameter needed for verification is absent (-40001: without it the
    /// signature cannot be validated).
    #[error("missing query parameter `{0}`")]
    MissingParameter(&'static str),
    /// The query string is malformed: invalid UTF-8 after percent-decoding, or a
    /// security-relevant parameter given twice (-40001).
    #[error("malformed query string: {0}")]
    MalformedQuery(&'static str),
    /// The XML envelope cannot be parsed or lacks a required element (-40002).
    #[error("cannot parse XML envelope: {0}")]
    ParseXml(&'static str),
    /// A JSON envelope or a decrypted JSON document cannot be parsed (-40002).
    #[error("cannot parse JSON: {0}")]
    ParseJson(&'static str),
    /// The EncodingAESKey (or a Mini Program `session_key`) is invalid (-40004).
    #[error("illegal AES key: {0}")]
    IllegalAesKey(&'static str),
    /// A Mini Program `iv` is not the base64 of 16 bytes (-40004, as a key-material error;
    /// reference §3.5 does not list a code of its own).
    #[error("illegal AES IV")]
    IllegalIv,
    /// The receive id inside the decrypted buffer is not the expected one (-40005).
    #[error("receive id mismatch")]
    ValidateReceiveId,
    /// The `watermark.appid` of Mini Program data is missing or is not the expected AppID
    /// (-40005, the AppID check of reference §3.5).
    #[error("watermark appid mismatch")]
    WatermarkMismatch,
    /// Encryption is impossible, e.g. a message longer than the 4-byte length field allows
    /// (-40006).
    #[error("AES encryption failed: {0}")]
    EncryptAes(&'static str),
    /// The ciphertext cannot be decrypted, e.g. its length is not a positive multiple of the
    /// AES block size (-40007).
    #[error("AES decryption failed: {0}")]
    DecryptAes(&'static str),
    /// The decrypted buffer is malformed: bad padding, length field out of bounds, or
    /// non-UTF-8 text where text was requested (-40008).
    #[error("illegal buffer: {0}")]
    IllegalBuffer(&'static str),
    /// A base64 field (`Encrypt`, `echostr`, `encryptedData`, ...) is not valid standard
    /// base64 (-40010).
    #[error("base64 decoding failed")]
    DecodeBase64,
}

impl CryptoError {
    /// The official error code of this error (reference §1.5), e.g. `-40001` for
    /// [`ValidateSignature`](Self::ValidateSignature).
    pub fn code(&self) -> i32 {
        match self {
            Self::ValidateSignature | Self::MissingParameter(_) | Self::MalformedQuery(_) => {
                codes::VALIDATE_SIGNATURE
            }
            Self::ParseXml(_) | Self::ParseJson(_) => codes::PARSE_XML,
            Self::IllegalAesKey(_) | Self::IllegalIv => codes::ILLEGAL_AES_KEY,
            Self::ValidateReceiveId | Self::WatermarkMismatch => codes::VALIDATE_RECEIVE_ID,
            Self::EncryptAes(_) => codes::ENCRYPT_AES,
            Self::DecryptAes(_) => codes::DECRYPT_AES,
            Self::IllegalBuffer(_) => codes::ILLEGAL_BUFFER,
            Self::DecodeBase64 => codes::DECODE_BASE64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_reference_table() {
        assert_eq!(CryptoError::ValidateSignature.code(), -40001);
        assert_eq!(CryptoError::MissingParameter("nonce").code(), -40001);
        assert_eq!(CryptoError::ParseXml("x").code(), -40002);
        assert_eq!(CryptoError::ParseJson("x").code(), -40002);
        assert_eq!(CryptoError::IllegalAesKey("x").code(), -40004);
        assert_eq!(CryptoError::ValidateReceiveId.code(), -40005);
        assert_eq!(CryptoError::EncryptAes("x").code(), -40006);
        assert_eq!(CryptoError::DecryptAes("x").code(), -40007);
        assert_eq!(CryptoError::IllegalBuffer("x").code(), -40008);
        assert_eq!(CryptoError::DecodeBase64.code(), -40010);
    }
}
