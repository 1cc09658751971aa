//! Encrypted envelopes: the inbound `<xml><ToUserName/><Encrypt/><AgentID/></xml>` body and
//! the passive-reply `<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>`, in XML and in
//! the JSON variant of WeCom JSON callbacks (reference §1.6).
//!
//! Parsing uses quick-xml's pull reader and only looks at the direct children of the `<xml>`
//! root, so OA compatible-mode bodies (all plaintext fields **and** `Encrypt`) parse too.
//! Any `<!DOCTYPE` is refused: no DTD, hence no entity expansion (pitfall §7 row 9). Only the
//! five predefined entities and character references are resolved. Callers must cap the
//! body size before parsing.
//!
//! Values borrow from the body whenever possible (CDATA and plain text both do).

use std::borrow::Cow;

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::reader::Reader;
use serde::Deserialize;

use super::CryptoError;

/// Wire format of an envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnvelopeFormat {
    /// `<xml>…</xml>`, used by Official Accounts, Mini Programs and most WeCom callbacks.
    Xml,
    /// `{"encrypt": …}`, used by WeCom JSON callbacks (official `WXBizJsonMsgCrypt`).
    Json,
}

impl EnvelopeFormat {
    /// Guesses the format from the first non-whitespace byte: `{` is JSON, anything else
    /// XML.
    pub fn detect(body: &[u8]) -> Self {
        match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => Self::Json,
            _ => Self::Xml,
        }
    }
}

/// An inbound encrypted push: the fields this module needs from the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundEnvelope<'a> {
    /// `ToUserName` (OA: original id `gh_…`; WeCom: CorpID or SuiteID), if present.
    pub to_user_name: Option<Cow<'a, str>>,
    /// `Encrypt`: the base64 ciphertext, exactly as signed.
    pub encrypt: Cow<'a, str>,
    /// `AgentID` as text (WeCom; empty for suite command callbacks), if present.
    pub agent_id: Option<Cow<'a, str>>,
}

impl<'a> InboundEnvelope<'a> {
    /// Parses an XML or JSON body, chosen with [`EnvelopeFormat::detect`].
    ///
    /// # Errors
    /// As [`parse_xml`](Self::parse_xml) or [`parse_json`](Self::parse_json).
    pub fn parse(body: &'a [u8]) -> Result<Self, CryptoError> {
        match EnvelopeFormat::detect(body) {
            EnvelopeFormat::Xml => Self::parse_xml(body),
            EnvelopeFormat::Json => Self::parse_json(body),
        }
    }

    /// Parses the XML envelope (safe mode or OA compatible mode).
    ///
    /// # Errors
    /// [`CryptoError::ParseXml`] (-40002) if the body is not UTF-8, not well-formed, has a
    /// DTD, a root other than `<xml>`, a repeated field, or no `Encrypt`.
    pub fn parse_xml(body: &'a [u8]) -> Result<Self, CryptoError> {
        let [to_user_name, encrypt, agent_id] =
            extract_xml_fields(body, ["ToUserName", "Encrypt", "AgentID"])?;
        Ok(Self {
            to_user_name,
            encrypt: encrypt.ok_or(CryptoError::ParseXml("no Encrypt element"))?,
            agent_id,
        })
    }

    /// Parses the JSON envelope `{"tousername": "…", "encrypt": "…", "agentid": 218}`
    /// (`agentid` may be a number or a string).
    ///
    /// # Errors
    /// [`CryptoError::ParseJson`] (-40002) if the body is not such an object.
    pub fn parse_json(body: &'a [u8]) -> Result<Self, CryptoError> {
        #[derive(Deserialize)]
        struct Wire<'b> {
            #[serde(borrow, default)]
            tousername: Option<Cow<'b, str>>,
            #[serde(borrow)]
            encrypt: Cow<'b, str>,
            #[serde(default)]
            agentid: Option<serde_json::Value>,
        }
        let wire: Wire<'a> = serde_json::from_slice(body)
            .map_err(|_| CryptoError::ParseJson("not an encrypted JSON envelope"))?;
        let agent_id = match wire.agentid {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(Cow::Owned(s)),
            Some(serde_json::Value::Number(n)) => Some(Cow::Owned(n.to_string())),
            Some(_) => return Err(CryptoError::ParseJson("agentid is not a number or string")),
        };
        Ok(Self {
            to_user_name: wire.tousername,
            encrypt: wire.encrypt,
            agent_id,
        })
    }

    /// Serialises as the XML body WeChat/WeCom would push (for simulators and tests).
    pub fn to_xml(&self) -> String {
        let mut out = String::with_capacity(self.encrypt.len() + 128);
        out.push_str("<xml>");
        if let Some(to) = &self.to_user_name {
            push_cdata_element(&mut out, "ToUserName", to);
        }
        push_cdata_element(&mut out, "Encrypt", &self.encrypt);
        if let Some(agent) = &self.agent_id {
            push_cdata_element(&mut out, "AgentID", agent);
        }
        out.push_str("</xml>");
        out
    }

    /// Serialises as the JSON body of a WeCom JSON callback (for simulators and tests).
    /// A numeric `agent_id` is written as a number.
    pub fn to_json(&self) -> String {
        let mut map = serde_json::Map::new();
        if let Some(to) = &self.to_user_name {
            map.insert("tousername".into(), to.as_ref().into());
        }
        map.insert("encrypt".into(), self.encrypt.as_ref().into());
        if let Some(agent) = &self.agent_id {
            let value = agent
                .parse::<u64>()
                .map_or_else(|_| agent.as_ref().into(), serde_json::Value::from);
            map.insert("agentid".into(), value);
        }
        serde_json::Value::Object(map).to_string()
    }
}

/// An encrypted passive reply (reference §1.6), as sent back to WeChat/WeCom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyEnvelope<'a> {
    /// Base64 ciphertext.
    pub encrypt: Cow<'a, str>,
    /// `msg_signature` over Token, `timestamp`, `nonce` and `encrypt`.
    pub msg_signature: Cow<'a, str>,
    /// The timestamp that was signed.
    pub timestamp: Cow<'a, str>,
    /// The nonce that was signed.
    pub nonce: Cow<'a, str>,
}

impl<'a> ReplyEnvelope<'a> {
    /// Parses an XML or JSON reply, chosen with [`EnvelopeFormat::detect`] (for simulators
    /// and tests; see [`MsgCrypt::decrypt_reply`](super::MsgCrypt::decrypt_reply)).
    ///
    /// # Errors
    /// [`CryptoError::ParseXml`] / [`CryptoError::ParseJson`] (-40002) if malformed or a
    /// field is missing.
    pub fn parse(body: &'a [u8]) -> Result<Self, CryptoError> {
        match EnvelopeFormat::detect(body) {
            EnvelopeFormat::Xml => {
                let [encrypt, msg_signature, timestamp, nonce] =
                    extract_xml_fields(body, ["Encrypt", "MsgSignature", "TimeStamp", "Nonce"])?;
                let missing = CryptoError::ParseXml("reply envelope lacks a field");
                Ok(Self {
                    encrypt: encrypt.ok_or(missing.clone())?,
                    msg_signature: msg_signature.ok_or(missing.clone())?,
                    timestamp: timestamp.ok_or(missing.clone())?,
                    nonce: nonce.ok_or(missing)?,
                })
            }
            EnvelopeFormat::Json => {
                #[derive(Deserialize)]
                struct Wire<'b> {
                    #[serde(borrow)]
                    encrypt: Cow<'b, str>,
                    #[serde(borrow)]
                    msgsignature: Cow<'b, str>,
                    timestamp: serde_json::Value,
                    #[serde(borrow)]
                    nonce: Cow<'b, str>,
                }
                let wire: Wire<'a> = serde_json::from_slice(body)
                    .map_err(|_| CryptoError::ParseJson("not an encrypted JSON reply"))?;
                let timestamp = match wire.timestamp {
                    serde_json::Value::Number(n) => n.to_string(),
                    serde_json::Value::String(s) => s,
                    _ => return Err(CryptoError::ParseJson("timestamp is not a number")),
                };
                Ok(Self {
                    encrypt: wire.encrypt,
                    msg_signature: wire.msgsignature,
                    timestamp: Cow::Owned(timestamp),
                    nonce: wire.nonce,
                })
            }
        }
    }

    /// Serialises in the given format (see [`write_reply`]).
    pub fn to_body(&self, format: EnvelopeFormat) -> String {
        let mut out = String::with_capacity(self.encrypt.len() + 192);
        begin_reply(format, &mut out);
        out.push_str(&self.encrypt);
        finish_reply(
            format,
            &mut out,
            &self.msg_signature,
            &self.timestamp,
            &self.nonce,
        );
        out
    }
}

/// Writes a reply envelope with the given, already computed, values:
///
/// ```xml
/// <xml><Encrypt><![CDATA[…]]></Encrypt><MsgSignature><![CDATA[…]]></MsgSignature><TimeStamp>…</TimeStamp><Nonce><![CDATA[…]]></Nonce></xml>
/// ```
///
/// or `{"encrypt":"…","msgsignature":"…","timestamp":…,"nonce":"…"}` (reference §1.6).
pub fn write_reply(
    format: EnvelopeFormat,
    encrypt: &str,
    msg_signature: &str,
    timestamp: &str,
    nonce: &str,
) -> String {
    ReplyEnvelope {
        encrypt: Cow::Borrowed(encrypt),
        msg_signature: Cow::Borrowed(msg_signature),
        timestamp: Cow::Borrowed(timestamp),
        nonce: Cow::Borrowed(nonce),
    }
    .to_body(format)
}

/// Writes everything up to the `Encrypt` value; returns where the value starts.
pub(crate) fn begin_reply(format: EnvelopeFormat, out: &mut String) -> usize {
    out.push_str(match format {
        EnvelopeFormat::Xml => "<xml><Encrypt><![CDATA[",
        EnvelopeFormat::Json => "{\"encrypt\":\"",
    });
    out.len()
}

/// Writes everything after the `Encrypt` value (which must be base64, so it needs no
/// escaping and never contains `]]>`).
pub(crate) fn finish_reply(
    format: EnvelopeFormat,
    out: &mut String,
    msg_signature: &str,
    timestamp: &str,
    nonce: &str,
) {
    match format {
        EnvelopeFormat::Xml => {
            out.push_str("]]></Encrypt>");
            push_cdata_element(out, "MsgSignature", msg_signature);
            out.push_str("<TimeStamp>");
            push_escaped_text(out, timestamp);
            out.push_str("</TimeStamp>");
            push_cdata_element(out, "Nonce", nonce);
            out.push_str("</xml>");
        }
        EnvelopeFormat::Json => {
            out.push_str("\",\"msgsignature\":");
            push_json_string(out, msg_signature);
            out.push_str(",\"timestamp\":");
            // Why: the official JSON library writes the timestamp as a bare number. Anything
            // that is not a plain integer is written as a string to keep the JSON valid.
            if is_json_integer(timestamp) {
                out.push_str(timestamp);
            } else {
                push_json_string(out, timestamp);
            }
            out.push_str(",\"nonce\":");
            push_json_string(out, nonce);
            out.push('}');
        }
    }
}

/// A canonical non-negative JSON integer that fits `u64` comfortably (no sign, no leading
/// zero, at most 19 digits).
fn is_json_integer(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 19
        && b.iter().all(u8::is_ascii_digit)
        && (b[0] != b'0' || b.len() == 1)
}

fn push_json_string(out: &mut String, s: &str) {
    // Serialising a `&str` cannot fail.
    if let Ok(quoted) = serde_json::to_string(s) {
        out.push_str(&quoted);
    }
}

/// `<name><![CDATA[value]]></name>`, splitting any `]]>` inside the value (pitfall §7 row 9).
fn push_cdata_element(out: &mut String, name: &str, value: &str) {
    out.push('<');
    out.push_str(name);
    out.push_str("><![CDATA[");
    let mut rest = value;
    while let Some(i) = rest.find("]]>") {
        out.push_str(&rest[..i]);
        out.push_str("]]]]><![CDATA[>");
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    out.push_str("]]></");
    out.push_str(name);
    out.push('>');
}

fn push_escaped_text(out: &mut String, value: &str) {
    out.push_str(&quick_xml::escape::escape(value));
}

/// Reads the text of the given direct children of the `<xml>` root.
///
/// Each field is `None` if absent and `Some("")` if empty. Whitespace-only text pieces are
/// skipped and the result is trimmed, so pretty-printed bodies work.
fn extract_xml_fields<'a, const N: usize>(
    body: &'a [u8],
    names: [&str; N],
) -> Result<[Option<Cow<'a, str>>; N], CryptoError> {
    let text = core::str::from_utf8(body).map_err(|_| CryptoError::ParseXml("not UTF-8"))?;
    let mut reader = Reader::from_str(text);
    let mut fields: [Option<Cow<'a, str>>; N] = core::array::from_fn(|_| None);
    // Depth 0: outside the root; 1: inside <xml>; 2: inside a child of <xml>; deeper: nested.
    let mut depth = 0usize;
    // Index of the field whose element is open at depth 2.
    let mut current: Option<usize> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|_| CryptoError::ParseXml("malformed XML"))?;
        match event {
            Event::DocType(_) => {
                // Why: a DTD is the door to entity-expansion and XXE attacks; WeChat never
                // sends one (pitfall §7 row 9).
                return Err(CryptoError::ParseXml("DOCTYPE is not allowed"));
            }
            Event::Start(e) => {
                depth += 1;
                match depth {
                    1 if e.name().into_inner() != "xml" => {
                        return Err(CryptoError::ParseXml("root element is not <xml>"));
                    }
                    2 => current = open_field(&names, &mut fields, e.name().into_inner())?,
                    _ => {}
                }
            }
            Event::Empty(e) => match depth {
                0 => return Err(CryptoError::ParseXml("empty root element")),
                1 => {
                    if let Some(i) = open_field(&names, &mut fields, e.name().into_inner())? {
                        fields[i] = Some(Cow::Borrowed(""));
                    }
                }
                _ => {}
            },
            Event::End(_) => {
                if depth == 2
                    && let Some(i) = current.take()
                {
                    finish_field(&mut fields[i]);
                }
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Ok(fields);
                }
            }
            Event::Text(t) if depth == 2 && current.is_some() => {
                let piece = t.xml10_content();
                if !piece.trim_ascii().is_empty()
                    && let Some(i) = current
                {
                    append(&mut fields[i], piece);
                }
            }
            Event::CData(c) if depth == 2 && current.is_some() => {
                if let Some(i) = current {
                    append(&mut fields[i], c.xml10_content());
                }
            }
            Event::GeneralRef(r) if depth == 2 && current.is_some() => {
                let resolved: Cow<'a, str> = match r.resolve_char_ref() {
                    Ok(Some(ch)) => Cow::Owned(ch.to_string()),
                    Ok(None) => Cow::Borrowed(
                        resolve_predefined_entity(&r)
                            .ok_or(CryptoError::ParseXml("unknown entity"))?,
                    ),
                    Err(_) => return Err(CryptoError::ParseXml("bad character reference")),
                };
                if let Some(i) = current {
                    append(&mut fields[i], resolved);
                }
            }
            Event::GeneralRef(r) => {
                // Outside the fields we read, still refuse anything but predefined entities.
                if !r.is_char_ref() && resolve_predefined_entity(&r).is_none() {
                    return Err(CryptoError::ParseXml("unknown entity"));
                }
            }
            Event::Eof => return Err(CryptoError::ParseXml("unexpected end of document")),
            Event::Text(_)
            | Event::CData(_)
            | Event::Comment(_)
            | Event::Decl(_)
            | Event::PI(_) => {}
        }
    }
}

/// Marks the start of a direct child; errors if a field we read appears twice.
fn open_field<'a, const N: usize>(
    names: &[&str; N],
    fields: &mut [Option<Cow<'a, str>>; N],
    name: &str,
) -> Result<Option<usize>, CryptoError> {
    let Some(i) = names.iter().position(|n| *n == name) else {
        return Ok(None);
    };
    if fields[i].is_some() {
        // Why: with two <Encrypt> elements, which one is verified and which one decrypted
        // would depend on the parser; refuse the ambiguity.
        return Err(CryptoError::ParseXml("repeated element"));
    }
    fields[i] = Some(Cow::Borrowed(""));
    Ok(Some(i))
}

fn append<'a>(slot: &mut Option<Cow<'a, str>>, piece: Cow<'a, str>) {
    match slot {
        Some(existing) if !existing.is_empty() => existing.to_mut().push_str(&piece),
        _ => *slot = Some(piece),
    }
}

fn finish_field(slot: &mut Option<Cow<'_, str>>) {
    if let Some(value) = slot {
        match value {
            Cow::Borrowed(s) => *s = s.trim_ascii(),
            Cow::Owned(s) => {
                let trimmed = s.trim_ascii();
                if trimmed.len() != s.len() {
                    *s = trimmed.to_owned();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wecom_envelope() {
        let body = b"<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName>\n<Encrypt><![CDATA[abc+/=]]></Encrypt>\n<AgentID><![CDATA[1000002]]></AgentID>\n</xml>";
        let env = InboundEnvelope::parse_xml(body).unwrap();
        assert_eq!(env.encrypt, "abc+/=");
        assert!(matches!(env.encrypt, Cow::Borrowed(_)));
        assert_eq!(env.to_user_name.as_deref(), Some("ww1436e0e65a779aee"));
        assert_eq!(env.agent_id.as_deref(), Some("1000002"));
        let xml = env.to_xml();
        assert_eq!(InboundEnvelope::parse_xml(xml.as_bytes()).unwrap(), env);
        let json = env.to_json();
        assert_eq!(InboundEnvelope::parse_json(json.as_bytes()).unwrap(), env);
        assert!(env.to_json().contains("\"agentid\":1000002"));
    }

    #[test]
    fn compatible_mode_and_formatting() {
        let body = "<?xml version=\"1.0\"?>\n<!-- push -->\n<xml>\n  <ToUserName>gh_1</ToUserName>\n  <FromUserName><![CDATA[o6_]]></FromUserName>\n  <ScanCodeInfo><Encrypt>nested, ignored</Encrypt></ScanCodeInfo>\n  <Content>a &lt; b &#x4F60;</Content>\n  <Encrypt>\n    <![CDATA[QUJD]]>\n  </Encrypt>\n  <AgentID/>\n</xml>\n";
        let env = InboundEnvelope::parse_xml(body.as_bytes()).unwrap();
        assert_eq!(env.encrypt, "QUJD");
        assert_eq!(env.to_user_name.as_deref(), Some("gh_1"));
        assert_eq!(env.agent_id.as_deref(), Some(""));
        let entity =
            InboundEnvelope::parse_xml(b"<xml><Encrypt>a&amp;b&#43;</Encrypt></xml>").unwrap();
        assert_eq!(entity.encrypt, "a&b+");
    }

    #[test]
    fn hostile_or_broken_xml_is_rejected() {
        for body in [
            &b"<!DOCTYPE xml [<!ENTITY x \"boom\">]><xml><Encrypt>&x;</Encrypt></xml>"[..],
            b"<?xml version=\"1.0\"?><!DOCTYPE xml SYSTEM \"file:///etc/passwd\"><xml><Encrypt>a</Encrypt></xml>",
            b"<xml><Encrypt>&x;</Encrypt></xml>",
            b"<xml><Encrypt>a</Encrypt><Encrypt>b</Encrypt></xml>",
            b"<xml><ToUserName>a</ToUserName></xml>",
            b"<root><Encrypt>a</Encrypt></root>",
            b"<xml><Encrypt>a</Encrypt>",
            b"<xml><Encrypt>a</xml>",
            b"<xml/>",
            b"",
            b"\xff\xfe<xml/>",
            b"not xml at all",
        ] {
            let err = InboundEnvelope::parse_xml(body).unwrap_err();
            assert_eq!(err.code(), -40002, "{:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn json_envelope() {
        let env =
            InboundEnvelope::parse(br#" {"tousername":"ww1","encrypt":"QUJD","agentid":"218"}"#)
                .unwrap();
        assert_eq!(env.agent_id.as_deref(), Some("218"));
        assert!(InboundEnvelope::parse(br#"{"encrypt":1}"#).is_err());
        assert!(InboundEnvelope::parse(br#"{"encrypt":"a","encrypt":"b"}"#).is_err());
        assert!(InboundEnvelope::parse(br#"{"tousername":"x"}"#).is_err());
        assert!(InboundEnvelope::parse(br#"{"encrypt":"a","agentid":[1]}"#).is_err());
    }

    #[test]
    fn reply_envelopes() {
        let xml = write_reply(EnvelopeFormat::Xml, "QUJD", "sig", "1409659813", "n]]>x");
        assert_eq!(
            xml,
            "<xml><Encrypt><![CDATA[QUJD]]></Encrypt><MsgSignature><![CDATA[sig]]></MsgSignature><TimeStamp>1409659813</TimeStamp><Nonce><![CDATA[n]]]]><![CDATA[>x]]></Nonce></xml>"
        );
        let parsed = ReplyEnvelope::parse(xml.as_bytes()).unwrap();
        assert_eq!(parsed.nonce, "n]]>x");
        assert_eq!(parsed.timestamp, "1409659813");
        let json = write_reply(EnvelopeFormat::Json, "QUJD", "sig", "1409659813", "n\"");
        assert_eq!(
            json,
            r#"{"encrypt":"QUJD","msgsignature":"sig","timestamp":1409659813,"nonce":"n\""}"#
        );
        let parsed = ReplyEnvelope::parse(json.as_bytes()).unwrap();
        assert_eq!(parsed.timestamp, "1409659813");
        assert_eq!(parsed.nonce, "n\"");
        let odd = write_reply(EnvelopeFormat::Json, "QUJD", "sig", "<1>", "n");
        assert!(odd.contains(r#""timestamp":"<1>""#));
        let odd = write_reply(EnvelopeFormat::Json, "QUJD", "sig", "0123", "n");
        assert!(odd.contains(r#""timestamp":"0123""#));
        assert_eq!(
            ReplyEnvelope::parse(odd.as_bytes()).unwrap().timestamp,
            "0123"
        );
        let zero = write_reply(EnvelopeFormat::Json, "QUJD", "sig", "0", "n");
        assert!(zero.contains(r#""timestamp":0,"#));
        let odd = write_reply(EnvelopeFormat::Xml, "QUJD", "sig", "<1>", "n");
        assert!(odd.contains("<TimeStamp>&lt;1&gt;</TimeStamp>"));
    }
}
