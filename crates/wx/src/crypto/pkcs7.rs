//! PKCS#7 padding with a configurable block size.
//!
//! WeChat message crypto pads to **32** bytes although AES has a 16-byte block (reference
//! §1.3, pitfall §7 row 11): a pad count of 1..=32, each pad byte equal to the count, and a
//! full 32-byte block of `0x20` when the length is already a multiple of 32. Mini Program
//! `encryptedData` uses ordinary PKCS#7 with 16-byte blocks (reference §3.5). Both are
//! [`pad`] / [`unpad`] with `B = 32` or `B = 16`.

use subtle::{ConstantTimeEq as _, ConstantTimeLess as _};

use super::CryptoError;

/// The WeChat message-crypto padding block size (reference §1.3).
pub const WECHAT_BLOCK: usize = 32;

/// Number of pad bytes [`pad`] appends to a buffer of `len` bytes: `1..=B`.
pub const fn pad_len<const B: usize>(len: usize) -> usize {
    B - len % B
}

/// Appends PKCS#7 padding for block size `B` (1..=255) to `buf`.
pub fn pad<const B: usize>(buf: &mut Vec<u8>) {
    const { assert!(B > 0 && B < 256, "PKCS#7 block size must be 1..=255") };
    let n = pad_len::<B>(buf.len());
    // `n <= B < 256`, so the cast is lossless.
    buf.resize(buf.len() + n, n as u8);
}

/// Validates the PKCS#7 padding for block size `B` and returns the unpadded length.
///
/// Strict: the pad count must be `1..=B`, no larger than the buffer, and **every** pad byte
/// must equal it. (The official samples only read the last byte and treat an out-of-range
/// count as 0; rejecting is safer and accepts everything a conforming sender produces.) The
/// check looks at the last `B` bytes without data-dependent branches.
///
/// # Errors
/// [`CryptoError::IllegalBuffer`] (-40008) if the padding is malformed.
pub fn unpad<const B: usize>(buf: &[u8]) -> Result<usize, CryptoError> {
    const { assert!(B > 0 && B < 256, "PKCS#7 block size must be 1..=255") };
    let Some(&last) = buf.last() else {
        return Err(CryptoError::IllegalBuffer("empty buffer"));
    };
    let n = usize::from(last);
    // Range checks on the count are cheap and leak nothing beyond the count's validity.
    if n == 0 || n > B || n > buf.len() {
        return Err(CryptoError::IllegalBuffer("bad padding"));
    }
    let window = &buf[buf.len().saturating_sub(B)..];
    let mut ok = subtle::Choice::from(1u8);
    for (i, &byte) in window.iter().rev().enumerate() {
        // Position i (counting from the end) is a pad byte iff i < n.
        let in_pad = (i as u64).ct_lt(&(n as u64));
        let matches = byte.ct_eq(&last);
        ok &= !in_pad | matches;
    }
    if bool::from(ok) {
        Ok(buf.len() - n)
    } else {
        Err(CryptoError::IllegalBuffer("bad padding"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_counts() {
        assert_eq!(pad_len::<32>(0), 32);
        assert_eq!(pad_len::<32>(1), 31);
        assert_eq!(pad_len::<32>(31), 1);
        assert_eq!(pad_len::<32>(32), 32);
        assert_eq!(pad_len::<16>(16), 16);
        let mut v = vec![0u8; 32];
        pad::<32>(&mut v);
        assert_eq!(v.len(), 64);
        assert!(v[32..].iter().all(|&b| b == 0x20));
    }

    #[test]
    fn unpad_rejects_malformed() {
        assert!(unpad::<32>(&[]).is_err());
        assert!(unpad::<32>(&[0u8; 32]).is_err()); // count 0
        assert!(unpad::<32>(&[33u8; 64]).is_err()); // count > B
        assert!(unpad::<32>(&[5u8; 4]).is_err()); // count > len
        let mut v = vec![7u8; 32];
        v[32 - 7] = 6; // one pad byte differs
        assert!(unpad::<32>(&v).is_err());
        v[32 - 7] = 7;
        assert_eq!(unpad::<32>(&v).unwrap(), 25);
        assert_eq!(unpad::<32>(&[32u8; 32]).unwrap(), 0);
        assert_eq!(unpad::<16>(&[1u8]).unwrap(), 0);
    }

    proptest::proptest! {
        #[test]
        fn pad_unpad_roundtrip(data in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let mut v = data.clone();
            pad::<32>(&mut v);
            proptest::prop_assert_eq!(v.len() % 32, 0);
            proptest::prop_assert!(v.len() > data.len());
            proptest::prop_assert_eq!(unpad::<32>(&v).unwrap(), data.len());
            let mut w = data.clone();
            pad::<16>(&mut w);
            proptest::prop_assert_eq!(w.len() % 16, 0);
            proptest::prop_assert_eq!(unpad::<16>(&w).unwrap(), data.len());
        }

        #[test]
        fn corrupt_pad_byte_is_rejected(data in proptest::collection::vec(proptest::num::u8::ANY, 0..100), pos in 0usize..32, flip in 1u8..=255) {
            let mut v = data.clone();
            pad::<32>(&mut v);
            let n = v.len() - data.len();
            let idx = v.len() - 1 - (pos % n);
            v[idx] ^= flip;
            // Corrupting the last byte may yield another valid count only if the new count's
            // bytes all happen to match; otherwise unpad must fail, and it never panics.
            match unpad::<32>(&v) {
                Ok(len) => proptest::prop_assert!(idx == v.len() - 1 && len != data.len()),
                Err(e) => proptest::prop_assert_eq!(e.code(), -40008),
            }
        }
    }
}
