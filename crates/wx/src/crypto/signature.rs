//! SHA-1 signatures: the plain `signature` and the safe-mode `msg_signature` of callbacks
//! (reference §1.2), and the JS-SDK `wx.config` signature (reference §2.6, §4.10).
//!
//! Signatures are computed without heap allocation: the sorted parts are fed to SHA-1 one by
//! one and the hex digest lives in a 40-byte [`Signature`] value. Verification compares in
//! constant time with `subtle`.

use core::fmt;

use sha1::{Digest as _, Sha1};
use subtle::ConstantTimeEq as _;

use super::CryptoError;

/// A SHA-1 digest as 40 lowercase hexadecimal ASCII characters, as WeChat sends and expects
/// it. Comparison with a received value should go through [`verify`](Self::verify), which is
/// constant-time.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature([u8; 40]);

impl Signature {
    pub(crate) fn from_digest(digest: &[u8]) -> Self {
        let mut hex = [0u8; 40];
        // A SHA-1 digest is 20 bytes, exactly the size of the output buffer.
        let _ = hex::encode_to_slice(digest, &mut hex);
        Self(hex)
    }

    fn sha1_of_sorted(parts: &mut [&str]) -> Self {
        // Why: WeChat sorts the strings themselves (byte-wise, which is `str`'s `Ord`) and
        // concatenates them with no separator (reference §1.2).
        parts.sort_unstable();
        let mut hasher = Sha1::new();
        for part in parts.iter() {
            hasher.update(part.as_bytes());
        }
        Self::from_digest(&hasher.finalize())
    }

    /// The signature as a `&str` of 40 lowercase hex digits.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever stored.
        core::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// Compares with a received signature in constant time.
    ///
    /// Only lowercase hex matches: WeChat always sends lowercase (reference §1.2).
    pub fn verify(&self, received: &str) -> bool {
        // Length is public (always 40 for a genuine signature); `ct_eq` returns false on a
        // length mismatch without comparing contents.
        bool::from(self.0.as_slice().ct_eq(received.as_bytes()))
    }
}

impl AsRef<str> for Signature {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.as_str())
    }
}

impl PartialEq<str> for Signature {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Signature {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The plain-mode `signature` query parameter: SHA-1 over the sorted concatenation of
/// `token`, `timestamp` and `nonce` (reference §1.2). Used by Official Account / Mini
/// Program URL verification and plain-mode pushes.
pub fn signature(token: &str, timestamp: &str, nonce: &str) -> Signature {
    Signature::sha1_of_sorted(&mut [token, timestamp, nonce])
}

/// The safe-mode `msg_signature`: SHA-1 over the sorted concatenation of `token`,
/// `timestamp`, `nonce` and `msg_encrypt` (the base64 `Encrypt` value, or the decoded
/// `echostr` for WeCom URL verification) (reference §1.2).
pub fn msg_signature(token: &str, timestamp: &str, nonce: &str, msg_encrypt: &str) -> Signature {
    Signature::sha1_of_sorted(&mut [token, timestamp, nonce, msg_encrypt])
}

/// Checks a plain-mode `signature` in constant time.
///
/// # Errors
/// [`CryptoError::ValidateSignature`] (-40001) on mismatch.
pub fn verify_signature(
    token: &str,
    timestamp: &str,
    nonce: &str,
    received: &str,
) -> Result<(), CryptoError> {
    if signature(token, timestamp, nonce).verify(received) {
        Ok(())
    } else {
        Err(CryptoError::ValidateSignature)
    }
}

/// Checks a safe-mode `msg_signature` in constant time.
///
/// # Errors
/// [`CryptoError::ValidateSignature`] (-40001) on mismatch.
pub fn verify_msg_signature(
    token: &str,
    timestamp: &str,
    nonce: &str,
    msg_encrypt: &str,
    received: &str,
) -> Result<(), CryptoError> {
    if msg_signature(token, timestamp, nonce, msg_encrypt).verify(received) {
        Ok(())
    } else {
        Err(CryptoError::ValidateSignature)
    }
}

/// The JS-SDK `wx.config` signature (reference §2.6, §4.10):
/// `sha1("jsapi_ticket=" + ticket + "&noncestr=" + noncestr + "&timestamp=" + timestamp +
/// "&url=" + url)`.
///
/// Values are used raw (no URL encoding). The `#fragment` of `url`, if any, is removed first,
/// because WeChat signs the page URL without it (reference §2.6, pitfall §7 row 16).
pub fn jsapi_signature(
    jsapi_ticket: &str,
    noncestr: &str,
    timestamp: &str,
    url: &str,
) -> Signature {
    let url = url.split_once('#').map_or(url, |(before, _)| before);
    let mut hasher = Sha1::new();
    for part in [
        "jsapi_ticket=",
        jsapi_ticket,
        "&noncestr=",
        noncestr,
        "&timestamp=",
        timestamp,
        "&url=",
        url,
    ] {
        hasher.update(part.as_bytes());
    }
    Signature::from_digest(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_e_plain_signature() {
        let sig = signature("test", "1410685589", "test");
        assert_eq!(sig, "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff");
        verify_signature("test", "1410685589", "test", sig.as_str()).unwrap();
        assert_eq!(
            verify_signature("test", "1410685589", "tesT", sig.as_str()),
            Err(CryptoError::ValidateSignature)
        );
    }

    #[test]
    fn uppercase_and_truncated_signatures_fail() {
        let sig = signature("test", "1410685589", "test");
        assert!(!sig.verify(&sig.as_str().to_uppercase()));
        assert!(!sig.verify(&sig.as_str()[..39]));
        assert!(!sig.verify(""));
        assert!(sig.verify(sig.as_str()));
    }

    #[test]
    fn vector_f_jsapi() {
        let ticket = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg";
        let sig = jsapi_signature(
            ticket,
            "Wm3WZYTPz0wzccnW",
            "1414587457",
            "http://mp.weixin.qq.com?params=value",
        );
        assert_eq!(sig, "0f9de62fce790f9a083d5c99e95740ceb90c27ed");
        let sig = jsapi_signature(
            ticket,
            "Wm3WZYTPz0wzccnW",
            "1414587457",
            "http://mp.weixin.qq.com#section",
        );
        assert_eq!(sig, "f4d90daf4b3bca3078ab155816175ba34c443a7b");
    }
}
