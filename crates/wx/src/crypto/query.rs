//! Callback query strings (reference §1.6, §1.7, pitfall §7 row 10).
//!
//! Why not a form decoder: `echostr` and `msg_signature` are used exactly as WeChat sent
//! them, and `echostr` is base64 with `+`, `/` and `=`. Form decoding (what most web
//! frameworks do for query extractors) turns `+` into a space and breaks both the signature
//! and the base64. Here every key and value is percent-decoded **exactly once** and `+` stays
//! `+`. Values borrow from the raw query unless they contain `%` escapes.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

use super::CryptoError;

/// Iterates over the `key=value` pairs of a raw query string (without the leading `?`),
/// percent-decoding keys and values once, never form-decoding (`+` stays `+`).
///
/// Empty segments (`a=1&&b=2`) are skipped; a segment without `=` is a key with an empty
/// value. A pair whose key or value is not UTF-8 after decoding yields an error.
pub fn query_pairs(
    raw: &str,
) -> impl Iterator<Item = Result<(Cow<'_, str>, Cow<'_, str>), CryptoError>> + '_ {
    raw.split('&').filter(|s| !s.is_empty()).map(|segment| {
        let (k, v) = segment.split_once('=').unwrap_or((segment, ""));
        Ok((decode_once(k)?, decode_once(v)?))
    })
}

fn decode_once(s: &str) -> Result<Cow<'_, str>, CryptoError> {
    // Fast path (every parameter of a genuine callback): nothing to decode, and `s` is
    // already UTF-8.
    if !s.contains('%') {
        return Ok(Cow::Borrowed(s));
    }
    percent_decode_str(s)
        .decode_utf8()
        .map_err(|_| CryptoError::MalformedQuery("not UTF-8 after percent-decoding"))
}

/// The query parameters WeChat and WeCom put on callback URLs (reference §1.6, §1.7).
///
/// Official Account: `signature, timestamp, nonce, openid` (+ `encrypt_type=aes,
/// msg_signature` in safe/compatible mode, + `echostr` on URL verification). WeCom:
/// `msg_signature, timestamp, nonce` (+ `echostr` on URL verification). Unknown parameters
/// are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackQuery<'a> {
    /// Plain-mode SHA-1 over Token, timestamp, nonce.
    pub signature: Option<Cow<'a, str>>,
    /// Safe-mode SHA-1 over Token, timestamp, nonce and the encrypted payload.
    pub msg_signature: Option<Cow<'a, str>>,
    /// Unix timestamp in seconds, as a string (signed exactly as received).
    pub timestamp: Option<Cow<'a, str>>,
    /// Random nonce, as a string.
    pub nonce: Option<Cow<'a, str>>,
    /// URL verification challenge: plain for OA, encrypted base64 for WeCom.
    pub echostr: Option<Cow<'a, str>>,
    /// `aes` in OA safe/compatible mode; absent or `raw` in plain mode.
    pub encrypt_type: Option<Cow<'a, str>>,
    /// OA only: the sender's OpenID.
    pub openid: Option<Cow<'a, str>>,
}

impl<'a> CallbackQuery<'a> {
    /// Parses a raw query string (the part after `?`, not decoded by any framework).
    ///
    /// # Errors
    /// [`CryptoError::MalformedQuery`] (-40001) if a value is not UTF-8 after
    /// percent-decoding, or if one of the known parameters occurs twice (which value a
    /// framework would pick differs between stacks; a genuine callback never repeats one).
    pub fn parse(raw: &'a str) -> Result<Self, CryptoError> {
        let mut q = Self::default();
        for pair in query_pairs(raw) {
            let (key, value) = pair?;
            let slot = match key.as_ref() {
                "signature" => &mut q.signature,
                "msg_signature" => &mut q.msg_signature,
                "timestamp" => &mut q.timestamp,
                "nonce" => &mut q.nonce,
                "echostr" => &mut q.echostr,
                "encrypt_type" => &mut q.encrypt_type,
                "openid" => &mut q.openid,
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(CryptoError::MalformedQuery("repeated parameter"));
            }
        }
        Ok(q)
    }

    /// Whether the OA push is in safe or compatible mode (`encrypt_type=aes`).
    pub fn is_aes(&self) -> bool {
        self.encrypt_type.as_deref() == Some("aes")
    }

    /// `timestamp` or [`CryptoError::MissingParameter`].
    pub fn require_timestamp(&self) -> Result<&str, CryptoError> {
        self.timestamp
            .as_deref()
            .ok_or(CryptoError::MissingParameter("timestamp"))
    }

    /// `nonce` or [`CryptoError::MissingParameter`].
    pub fn require_nonce(&self) -> Result<&str, CryptoError> {
        self.nonce
            .as_deref()
            .ok_or(CryptoError::MissingParameter("nonce"))
    }

    /// `signature` or [`CryptoError::MissingParameter`].
    pub fn require_signature(&self) -> Result<&str, CryptoError> {
        self.signature
            .as_deref()
            .ok_or(CryptoError::MissingParameter("signature"))
    }

    /// `msg_signature` or [`CryptoError::MissingParameter`].
    pub fn require_msg_signature(&self) -> Result<&str, CryptoError> {
        self.msg_signature
            .as_deref()
            .ok_or(CryptoError::MissingParameter("msg_signature"))
    }

    /// `echostr` or [`CryptoError::MissingParameter`].
    pub fn require_echostr(&self) -> Result<&str, CryptoError> {
        self.echostr
            .as_deref()
            .ok_or(CryptoError::MissingParameter("echostr"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_is_kept_and_percent_decoded_once() {
        let q = CallbackQuery::parse(
            "msg_signature=5c45&timestamp=1409659589&nonce=263014780&echostr=P9n+Cz%2Bx%252B%3D%3D",
        )
        .unwrap();
        assert_eq!(q.echostr.as_deref(), Some("P9n+Cz+x%2B=="));
        assert_eq!(q.msg_signature.as_deref(), Some("5c45"));
        assert!(matches!(q.timestamp, Some(Cow::Borrowed(_))));
        assert_eq!(q.signature, None);
    }

    #[test]
    fn oa_query() {
        let q = CallbackQuery::parse(
            "signature=abc&timestamp=1&nonce=2&openid=o6_bm&encrypt_type=aes&msg_signature=def&extra",
        )
        .unwrap();
        assert!(q.is_aes());
        assert_eq!(q.openid.as_deref(), Some("o6_bm"));
        assert_eq!(
            q.require_echostr(),
            Err(CryptoError::MissingParameter("echostr"))
        );
    }

    #[test]
    fn malformed_queries() {
        assert!(CallbackQuery::parse("nonce=1&nonce=2").is_err());
        assert!(CallbackQuery::parse("nonce=%FF").is_err());
        assert_eq!(CallbackQuery::parse("").unwrap(), CallbackQuery::default());
        // A stray `%` that is not an escape is kept literally.
        assert_eq!(
            CallbackQuery::parse("nonce=5%").unwrap().nonce.as_deref(),
            Some("5%")
        );
    }
}
