//! Webhook signatures: HMAC-SHA256 over `"<timestamp>.<body>"`.
//!
//! Every delivery carries these headers:
//!
//! | header | value |
//! |---|---|
//! | `X-Qiao-Event` | the event type, e.g. `callback.message` |
//! | `X-Qiao-Delivery` | the delivery id (the same on every retry and re-send of it) |
//! | `X-Qiao-Timestamp` | unix seconds when this attempt was signed |
//! | `X-Qiao-Signature` | `v1=` + lowercase hex of HMAC-SHA256(secret, `"<timestamp>.<body>"`) |
//!
//! The key is the subscription's secret exactly as shown at creation (its UTF-8 bytes, prefix
//! included); the message is the `X-Qiao-Timestamp` value, a full stop, and the raw request
//! body bytes. A receiver recomputes the HMAC over the bytes it received (before parsing the
//! JSON), compares in constant time, and refuses timestamps far from its clock (5 minutes is a
//! good tolerance) so that a captured request cannot be replayed later. The header may hold
//! several comma-separated `v1=` values; one match is enough.
//!
//! Test vector: secret `whsec_MfKQ9r2Lb7Xz4Tq8Vn3Wc6Yp1Hs5Dg0J`, timestamp `1795598121`, body
//! `{"id":"evt_01","type":"callback.message","data":{"text":"你好"}}` (UTF-8) give
//! `X-Qiao-Signature: v1=06c9087b1b26e961fcb0ff81738a4c7e5f21d9179ae3b44a04734f344c49bc89`.
//!
//! A business system written in Rust can use [`verify`]:
//!
//! ```
//! use qiao::webhooks::signing::verify;
//!
//! let body = r#"{"id":"evt_01","type":"callback.message","data":{"text":"你好"}}"#;
//! let header = "v1=06c9087b1b26e961fcb0ff81738a4c7e5f21d9179ae3b44a04734f344c49bc89";
//! let secret = "whsec_MfKQ9r2Lb7Xz4Tq8Vn3Wc6Yp1Hs5Dg0J";
//! // `now` is the receiver's clock in unix seconds; 300 s of tolerance.
//! assert!(verify(secret, "1795598121", body.as_bytes(), header, 1795598150, 300).is_ok());
//! assert!(verify(secret, "1795598121", b"{}", header, 1795598150, 300).is_err());
//! assert!(verify(secret, "1795598121", body.as_bytes(), header, 1795599000, 300).is_err());
//! ```

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const HEADER_EVENT: &str = "X-Qiao-Event";
pub const HEADER_DELIVERY: &str = "X-Qiao-Delivery";
pub const HEADER_TIMESTAMP: &str = "X-Qiao-Timestamp";
pub const HEADER_SIGNATURE: &str = "X-Qiao-Signature";

/// The scheme label in `X-Qiao-Signature`.
pub const SCHEME: &str = "v1";

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `X-Qiao-Signature` value for `body` signed at `timestamp` (unix seconds).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, &timestamp.to_string(), body)
        .finalize()
        .into_bytes();
    format!("{SCHEME}={}", hex::encode(tag))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("X-Qiao-Timestamp is not unix seconds")]
    BadTimestamp,
    #[error("X-Qiao-Timestamp is outside the tolerated clock difference")]
    Stale,
    #[error("X-Qiao-Signature holds no v1 signature")]
    NoSignature,
    #[error("the signature does not match")]
    Mismatch,
}

/// Checks a delivery as a receiver would: `timestamp` and `signature` are the header values,
/// `body` the raw bytes received, `now` the receiver's clock (unix seconds) and `tolerance` the
/// accepted difference in seconds. The comparison is constant-time.
pub fn verify(
    secret: &str,
    timestamp: &str,
    body: &[u8],
    signature: &str,
    now: i64,
    tolerance: i64,
) -> Result<(), VerifyError> {
    let at: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    if (now - at).abs() > tolerance {
        return Err(VerifyError::Stale);
    }
    let mut found = false;
    for part in signature.split(',') {
        let Some(hex_tag) = part.trim().strip_prefix("v1=") else {
            continue;
        };
        found = true;
        let Ok(tag) = hex::decode(hex_tag) else {
            continue;
        };
        if mac(secret, timestamp.trim(), body)
            .verify_slice(&tag)
            .is_ok()
        {
            return Ok(());
        }
    }
    Err(if found {
        VerifyError::Mismatch
    } else {
        VerifyError::NoSignature
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r2Lb7Xz4Tq8Vn3Wc6Yp1Hs5Dg0J";
    const BODY: &str = r#"{"id":"evt_01","type":"callback.message","data":{"text":"你好"}}"#;

    #[test]
    fn the_documented_vectors_hold() {
        // Computed independently (Python's hmac module).
        assert_eq!(
            sign(SECRET, 1_795_598_121, BODY.as_bytes()),
            "v1=06c9087b1b26e961fcb0ff81738a4c7e5f21d9179ae3b44a04734f344c49bc89"
        );
        assert_eq!(
            sign(SECRET, 1_795_598_122, BODY.as_bytes()),
            "v1=ea89d4cb9bc552d59cea992018e2f09649d684df20c8df0cd9975406bb4f8de4"
        );
    }

    #[test]
    fn verification_accepts_exactly_the_signed_request() {
        let sig = sign(SECRET, 1000, BODY.as_bytes());
        assert_eq!(
            verify(SECRET, "1000", BODY.as_bytes(), &sig, 1000, 300),
            Ok(())
        );
        let several = format!("v1=00ff, {sig}");
        assert_eq!(
            verify(SECRET, "1000", BODY.as_bytes(), &several, 1200, 300),
            Ok(())
        );
        assert_eq!(
            verify(SECRET, "1001", BODY.as_bytes(), &sig, 1000, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify("whsec_other", "1000", BODY.as_bytes(), &sig, 1000, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, "1000", BODY.as_bytes(), &sig, 1301, 300),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify(SECRET, "soon", BODY.as_bytes(), &sig, 1000, 300),
            Err(VerifyError::BadTimestamp)
        );
        assert_eq!(
            verify(SECRET, "1000", BODY.as_bytes(), "sha256=abc", 1000, 300),
            Err(VerifyError::NoSignature)
        );
        assert_eq!(
            verify(SECRET, "1000", BODY.as_bytes(), "v1=not-hex", 1000, 300),
            Err(VerifyError::Mismatch)
        );
    }
}
