//! Temporary media upload (reference §4.11.5, §7 row 20): multipart with the file in a part
//! named `media` (with a filename); any other part name is refused.

use serde_json::{Value, json};

use super::{Auth, Authed, Call, Endpoint, Handler};
use crate::error::WxError;
use crate::state::SimState;
use crate::util::random_token;

pub(crate) fn endpoint(path: &str, wecom: bool) -> Option<Endpoint> {
    let (auth, handler): (Auth, Handler) = match (path, wecom) {
        ("/cgi-bin/media/upload", false) => (Auth::OaToken, upload),
        ("/cgi-bin/media/upload", true) => (Auth::WorkToken, upload),
        _ => return None,
    };
    Some(Endpoint::new(true, auth, handler))
}

/// One multipart part: (name, filename, content type, data).
type Part<'a> = (String, Option<String>, Option<String>, &'a [u8]);

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn disposition_param(header: &str, key: &str) -> Option<String> {
    let pat = format!("{key}=\"");
    let start = header.find(&pat)? + pat.len();
    let end = header[start..].find('"')? + start;
    Some(header[start..end].to_owned())
}

/// A small multipart/form-data parser (enough for SDK uploads).
fn parse_multipart<'a>(content_type: &str, body: &'a [u8]) -> Option<Vec<Part<'a>>> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))?
        .trim_matches('"');
    let delim = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut pos = find(body, delim.as_bytes(), 0)? + delim.len();
    loop {
        if body.get(pos..pos + 2) == Some(b"--") {
            return Some(parts);
        }
        let head_start = pos + 2;
        let head_end = find(body, b"\r\n\r\n", head_start)?;
        let head = std::str::from_utf8(&body[head_start..head_end]).ok()?;
        let data_start = head_end + 4;
        let next = find(body, format!("\r\n{delim}").as_bytes(), data_start)?;
        let mut name = String::new();
        let mut filename = None;
        let mut ctype = None;
        for line in head.split("\r\n") {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-disposition:") {
                name = disposition_param(line, "name").unwrap_or_default();
                filename = disposition_param(line, "filename");
            } else if lower.starts_with("content-type:") {
                ctype = Some(line[13..].trim().to_owned());
            }
        }
        parts.push((name, filename, ctype, &body[data_start..next]));
        pos = next + 2 + delim.len();
    }
}

/// `POST /cgi-bin/media/upload?type=image|voice|video|file|thumb`.
fn upload(sim: &SimState, call: &Call, _: &Authed) -> Result<Value, WxError> {
    let wecom = call.role.is_wecom();
    let kind = call.param("type").unwrap_or("");
    let max = match (kind, wecom) {
        ("image", true) => 10 << 20,
        ("image", false) => 10 << 20,
        ("voice", _) => 2 << 20,
        ("video", _) => 10 << 20,
        ("file", true) => 20 << 20,
        ("thumb", false) => 64 << 10,
        _ => return Err(WxError::new(40004, "invalid media type")),
    };
    let parts = call
        .content_type
        .as_deref()
        .filter(|c| c.starts_with("multipart/form-data"))
        .and_then(|c| parse_multipart(c, &call.body))
        .ok_or_else(|| WxError::new(41005, "media data missing"))?;
    let (_, filename, _, data) = parts
        .into_iter()
        .find(|(name, ..)| name == "media")
        .ok_or_else(|| WxError::new(41005, "media data missing, the part must be named media"))?;
    if filename.as_deref().is_none_or(str::is_empty) {
        return Err(WxError::new(41005, "media data missing, filename required"));
    }
    if data.len() < 5 {
        return Err(WxError::new(44001, "empty media data"));
    }
    if data.len() > max {
        return Err(WxError::new(40006, "invalid file size"));
    }
    let media_id = format!("3{}", random_token(63).replace(['-', '_'], "a"));
    let now = sim.now();
    let mut v = json!({"type": kind, "media_id": media_id, "created_at": now});
    if wecom && let Some(o) = v.as_object_mut() {
        o.insert("errcode".into(), json!(0));
        o.insert("errmsg".into(), json!(""));
        o.insert("created_at".into(), json!(now.to_string()));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_parts() {
        let body = b"--XX\r\nContent-Disposition: form-data; name=\"media\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\nhello\r\n--XX--\r\n";
        let parts = parse_multipart("multipart/form-data; boundary=XX", body).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].0, "media");
        assert_eq!(parts[0].1.as_deref(), Some("a.jpg"));
        assert_eq!(parts[0].3, b"hello");
    }
}
