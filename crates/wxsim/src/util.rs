//! Small helpers: random identifiers and text checks shared by the handlers.

use rand::RngExt;

const TOKEN_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A random string of `len` characters from `[A-Za-z0-9_-]` (token-like).
pub fn random_token(len: usize) -> String {
    random_from(TOKEN_ALPHABET, len)
}

fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| {
            let i = rng.random_range(0..alphabet.len());
            char::from(alphabet[i])
        })
        .collect()
}

/// A random `u32`.
pub fn random_u32() -> u32 {
    rand::rng().random::<u32>()
}

/// A random `u64`.
pub fn random_u64() -> u64 {
    rand::rng().random::<u64>()
}

/// Index of the natural day in Beijing time (UTC+8); daily quotas reset at local midnight.
pub fn beijing_day(now: i64) -> i64 {
    (now + 8 * 3600).div_euclid(86_400)
}

/// Truncates `s` to at most `max` UTF-8 bytes on a character boundary (reference §7 row 6).
pub fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// True when a JSON body escapes a non-ASCII character as `\uXXXX`, which OA rejects with
/// 40033 (reference §0.2, §7 row 5). Escapes of ASCII control characters are fine.
pub fn has_non_ascii_escape(body: &[u8]) -> bool {
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'\\' {
            if body.get(i + 1) == Some(&b'u') {
                let hex = body
                    .get(i + 2..i + 6)
                    .and_then(|h| std::str::from_utf8(h).ok());
                if let Some(cp) = hex.and_then(|h| u32::from_str_radix(h, 16).ok())
                    && cp >= 0x80
                {
                    return true;
                }
                i += 6;
            } else {
                i += 2;
            }
        } else {
            i += 1;
        }
    }
    false
}

/// True when `ip` is the address `entry`, or inside `entry` given as `a.b.c.d/n` (IPv4 CIDR).
/// An IPv4-mapped IPv6 caller matches its IPv4 form.
pub fn ip_matches(entry: &str, ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    let entry = entry.trim();
    match entry.split_once('/') {
        None => entry.parse::<IpAddr>().is_ok_and(|e| e == ip),
        Some((net, bits)) => {
            let (Ok(net), Ok(bits), IpAddr::V4(ip)) =
                (net.parse::<std::net::Ipv4Addr>(), bits.parse::<u32>(), ip)
            else {
                return false;
            };
            if bits > 32 {
                return false;
            }
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(net) & mask == u32::from(ip) & mask
        }
    }
}

/// Escapes text for HTML.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicode_escape_detection() {
        assert!(has_non_ascii_escape(br#"{"a":"\u5f20"}"#));
        assert!(!has_non_ascii_escape(r#"{"a":"张"}"#.as_bytes()));
        assert!(!has_non_ascii_escape(br#"{"a":"\u001f"}"#));
        assert!(!has_non_ascii_escape(br#"{"a":"\\u5f20"}"#));
        assert!(!has_non_ascii_escape(br#"{"a":"\u"}"#));
    }

    #[test]
    fn truncation_keeps_code_points() {
        assert_eq!(truncate_bytes("张三", 4), "张");
        assert_eq!(truncate_bytes("abc", 10), "abc");
    }

    #[test]
    fn ip_whitelist_entries() {
        let ip = |s: &str| s.parse().unwrap();
        assert!(ip_matches("10.0.0.1", ip("10.0.0.1")));
        assert!(ip_matches("10.0.0.0/8", ip("10.2.3.4")));
        assert!(!ip_matches("10.0.0.0/8", ip("11.0.0.1")));
        assert!(ip_matches("127.0.0.1", ip("::ffff:127.0.0.1")));
        assert!(!ip_matches("garbage", ip("1.2.3.4")));
    }

    #[test]
    fn tokens_are_random() {
        let a = random_token(64);
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_token(64));
    }
}
