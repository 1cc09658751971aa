//! Redaction of credentials from URLs and free text (peers survey: WxJava logs full URLs with
//! `access_token`; this SDK never does).
//!
//! Every URL that reaches an error, a log line or an observer goes through [`redact_url`];
//! every message built from a lower layer (transport errors, non-JSON bodies) goes through
//! [`redact_text`].

use std::borrow::Cow;

use url::Url;

/// Query parameters and JSON fields whose values are credentials: access tokens of every
/// kind, secrets, one-time codes and tickets. Their values are replaced by `***`.
pub const SENSITIVE_PARAMS: &[&str] = &[
    "access_token",
    "suite_access_token",
    "provider_access_token",
    "component_access_token",
    "authorizer_access_token",
    "refresh_token",
    "corpsecret",
    "secret",
    "suite_secret",
    "provider_secret",
    "permanent_code",
    "auth_code",
    "pre_auth_code",
    "code",
    "js_code",
    "suite_ticket",
    "ticket",
    "user_ticket",
    "session_key",
];

/// The replacement for a redacted value.
pub const REDACTED: &str = "***";

fn is_sensitive(name: &str) -> bool {
    SENSITIVE_PARAMS
        .iter()
        .any(|p| p.eq_ignore_ascii_case(name))
}

/// The URL as text with the value of every sensitive query parameter replaced by `***`
/// (the rest of the query is kept verbatim).
///
/// ```
/// let url = url::Url::parse("https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=ww1&corpsecret=S3CR3T").unwrap();
/// assert_eq!(
///     wx::api::redact_url(&url),
///     "https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=ww1&corpsecret=***"
/// );
/// ```
pub fn redact_url(url: &Url) -> String {
    let mut out = url.clone();
    out.set_fragment(None);
    let _ = out.set_password(None);
    let Some(query) = url.query() else {
        return out.to_string();
    };
    let redacted: Vec<String> = query
        .split('&')
        .map(|pair| {
            let (name, _) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
            if is_sensitive(&decoded) {
                format!("{name}={REDACTED}")
            } else {
                pair.to_owned()
            }
        })
        .collect();
    out.set_query(Some(&redacted.join("&")));
    out.to_string()
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// End of a value that starts at `start` (query form, or the inside of a JSON string).
fn value_end(bytes: &[u8], start: usize, quoted: bool) -> usize {
    let mut i = start;
    while let Some(&b) = bytes.get(i) {
        let stop = if quoted {
            b == b'"'
        } else {
            matches!(
                b,
                b'&' | b' '
                    | b'\t'
                    | b'\r'
                    | b'\n'
                    | b'"'
                    | b'\''
                    | b'<'
                    | b'>'
                    | b')'
                    | b'#'
                    | b','
            )
        };
        if stop {
            break;
        }
        i += 1;
    }
    i
}

/// Free text with credentials replaced by `***`: `name=value` (query style) and
/// `"name":"value"` (JSON style) for every name in [`SENSITIVE_PARAMS`].
///
/// ```
/// let t = wx::api::redact_text(r#"GET /x?access_token=abc&openid=o1 {"secret":"s"}"#);
/// assert_eq!(t, r#"GET /x?access_token=***&openid=o1 {"secret":"***"}"#);
/// ```
pub fn redact_text(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let at_boundary = i == 0 || !is_name_char(bytes[i - 1]);
        if !(at_boundary && is_name_char(bytes[i])) {
            i += 1;
            continue;
        }
        let name_end = (i..bytes.len())
            .find(|&j| !is_name_char(bytes[j]))
            .unwrap_or(bytes.len());
        let name = &text[i..name_end];
        if !is_sensitive(name) {
            i = name_end;
            continue;
        }
        // `name=value`
        let (value_start, quoted) = if bytes.get(name_end) == Some(&b'=') {
            (name_end + 1, false)
        } else if bytes.get(name_end) == Some(&b'"') {
            // `name": "value"` (JSON), spaces allowed around the colon.
            let mut j = name_end + 1;
            while bytes.get(j) == Some(&b' ') {
                j += 1;
            }
            if bytes.get(j) != Some(&b':') {
                i = name_end;
                continue;
            }
            j += 1;
            while bytes.get(j) == Some(&b' ') {
                j += 1;
            }
            if bytes.get(j) != Some(&b'"') {
                i = name_end;
                continue;
            }
            (j + 1, true)
        } else {
            i = name_end;
            continue;
        };
        let end = value_end(bytes, value_start, quoted);
        if end > value_start {
            out.push_str(&text[copied..value_start]);
            out.push_str(REDACTED);
            copied = end;
        }
        i = end.max(name_end);
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = Url::parse("http://u:pw@h/p?access_token=T0K&openid=o&corp%73ecret=x&code=c#frag")
            .unwrap();
        let r = redact_url(&u);
        assert_eq!(
            r,
            "http://u@h/p?access_token=***&openid=o&corp%73ecret=***&code=***"
        );
        let plain = Url::parse("https://api.weixin.qq.com/cgi-bin/token").unwrap();
        assert_eq!(
            redact_url(&plain),
            "https://api.weixin.qq.com/cgi-bin/token"
        );
    }

    #[test]
    fn text() {
        assert_eq!(redact_text("no secrets here"), "no secrets here");
        assert_eq!(
            redact_text("x suite_access_token=abc, mycode=1 code=zz"),
            "x suite_access_token=***, mycode=1 code=***"
        );
        assert_eq!(
            redact_text(r#"{"permanent_code" : "p1","name":"n"}"#),
            r#"{"permanent_code" : "***","name":"n"}"#
        );
        assert_eq!(redact_text("access_token="), "access_token=");
        assert_eq!(
            redact_text("令牌 access_token=值&x=1"),
            "令牌 access_token=***&x=1"
        );
    }
}
