//! Passive text replies: arbitrary strings into `Reply::Text`, rendered, then parsed back
//! (plain and through the encrypted reply envelope) must give the same values.
//!
//! The only change a reply may make is dropping characters XML 1.0 cannot carry (C0 controls
//! other than tab/LF/CR, U+FFFE, U+FFFF); see `wx::message::reply`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wx::crypto::{EncodingAesKey, EnvelopeFormat, MsgCrypt, ReceiveId};
use wx::message::{Inbound, Message, Platform, Reply, ReplyError, ReplyTo};

fuzz_target!(|input: (&str, &str, &str, i64, u8)| {
    let (content, to_user, from_user, create_time, flags) = input;
    let platform = if flags & 1 == 0 {
        Platform::OfficialAccount
    } else {
        Platform::WeCom
    };
    let to = ReplyTo::new(to_user, from_user, create_time);
    let rendered = (Reply::Text { content }).render(platform, &to);

    let expected_err = if to_user.is_empty() || from_user.is_empty() || content.is_empty() {
        Some("empty")
    } else if content.len() > platform.limits().text_bytes {
        Some("too long")
    } else {
        None
    };
    let xml = match (rendered, expected_err) {
        (Ok(xml), None) => xml,
        (Err(ReplyError::Empty { .. }), Some("empty")) => return,
        (Err(ReplyError::TooLong { .. }), Some("too long")) => return,
        (got, expected) => panic!("render gave {got:?}, expected error {expected:?}"),
    };

    check(&xml, content, to_user, from_user, create_time);

    // Through the encrypted envelope and back.
    let key = EncodingAesKey::parse("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C").expect("key");
    let crypt = MsgCrypt::new("QDG6eK", &key, ReceiveId::exact("wx5823bf96d3bd56c7"));
    let format = if flags & 2 == 0 {
        EnvelopeFormat::Xml
    } else {
        EnvelopeFormat::Json
    };
    let env = crypt
        .encrypt_reply(
            format,
            xml.as_bytes(),
            "wx5823bf96d3bd56c7",
            "1409659813",
            "1372623149",
        )
        .expect("reply encrypts");
    let back = crypt.decrypt_reply(env.as_bytes()).expect("reply decrypts");
    assert_eq!(back.message(), xml.as_bytes());
});

fn check(xml: &str, content: &str, to_user: &str, from_user: &str, create_time: i64) {
    let msg =
        Message::parse(xml).unwrap_or_else(|e| panic!("rendered reply does not parse: {e}\n{xml}"));
    assert_eq!(msg.get("ToUserName"), Some(clean(to_user).as_str()));
    assert_eq!(msg.get("FromUserName"), Some(clean(from_user).as_str()));
    assert_eq!(
        msg.get("CreateTime"),
        Some(create_time.to_string().as_str())
    );
    assert_eq!(msg.get("MsgType"), Some("text"));
    assert_eq!(msg.get("Content"), Some(clean(content).as_str()));
    assert_eq!(msg.doc().element_count(), 6);
    assert_eq!(msg.header().create_time, Some(create_time));
    match msg.kind() {
        Inbound::Text(t) => assert_eq!(t.content, clean(content)),
        other => panic!("a text reply parses as {other:?}"),
    }
}

/// What a reply keeps of a value: XML 1.0 characters only.
fn clean(s: &str) -> String {
    s.chars()
        .filter(|&c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..))
        .collect()
}
