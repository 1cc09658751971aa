//! The XML layer on arbitrary bytes: `XmlDoc` and `Message` parsing, the typed view,
//! `to_json`, `dedup_key`, plus the crypto envelope parsers (also XML/JSON on raw input).

#![no_main]

use libfuzzer_sys::fuzz_target;
use wx::crypto::{InboundEnvelope, ReplyEnvelope};
use wx::message::json::doc_to_value;
use wx::message::{Message, Platform, Reply, ReplyTo, XmlDoc};

fuzz_target!(|data: &[u8]| {
    let _ = InboundEnvelope::parse(data);
    let _ = ReplyEnvelope::parse(data);
    let _ = Message::parse_bytes(data);

    let Ok(doc) = XmlDoc::parse_bytes(data) else {
        return;
    };
    // Invariants of the document model.
    let text = std::str::from_utf8(data).expect("parsed input is UTF-8");
    assert_eq!(doc.source(), text.strip_prefix('\u{feff}').unwrap_or(text));
    let mut count = 0usize;
    let root = doc.root();
    let _ = (root.name(), root.text());
    for (_depth, e) in root.descendants() {
        count += 1;
        let _ = (e.name(), e.text(), e.has_children());
        for c in e.children() {
            assert!(e.child(c.name()).is_some());
        }
    }
    // `descendants` starts with the element itself.
    assert_eq!(count, doc.element_count());
    for field in doc.fields() {
        assert!(doc.get(field.name()).is_some());
    }
    let _ = doc_to_value(&doc);
    assert_eq!(XmlDoc::parse_bytes(data).as_ref(), Ok(&doc));

    let Ok(msg) = Message::from_doc(doc) else {
        return;
    };
    let _ = msg.kind();
    let _ = msg.header();
    let _ = msg.is_suite_command();
    let _ = msg.dedup_family();
    let key = msg.dedup_key();
    assert!(!key.is_empty());
    assert_eq!(key, msg.dedup_key());
    let json = msg.to_json();
    assert!(json.is_object());
    let _ = serde_json::to_string(&json).expect("JSON serialises");
    let to = ReplyTo::answering(&msg, 0);
    if let Ok(xml) = (Reply::Text { content: "ok" }).render(Platform::WeCom, &to) {
        let reply = Message::parse(&xml).expect("a rendered reply parses");
        assert_eq!(
            reply.get("ToUserName"),
            msg.get("FromUserName").map(clean).as_deref()
        );
    }
});

/// What a reply keeps of a value: XML 1.0 characters only.
fn clean(s: &str) -> String {
    s.chars()
        .filter(|&c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..))
        .collect()
}
