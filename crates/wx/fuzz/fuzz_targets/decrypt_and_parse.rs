//! The callback hot path on hostile input: query string + body through
//! `MsgCrypt::decrypt_callback` with a fixed key, then `Message::parse` of whatever decrypts.
//!
//! The first byte picks a mode, so the fuzzer reaches every layer and not only the signature
//! check (SHA-1 cannot be forged by mutation):
//!
//! 0. arbitrary query and body (query parsing, envelope parsing, signature check);
//! 1. arbitrary plaintext in a *valid* encrypted envelope (XML or JSON): must decrypt to
//!    exactly that plaintext; then the message parser, dedup, JSON and a reply round trip;
//! 2. arbitrary ciphertext bytes under a valid signature (AES, padding and length checks on
//!    garbage);
//! 3. an arbitrary *decrypted buffer* (random prefix, length field, message, receive id,
//!    padding all under the fuzzer's control), encrypted with AES-CBC here and signed: the
//!    result of `decrypt_callback` must match an independent model of reference §1.4.

#![no_main]

use std::borrow::Cow;
use std::sync::OnceLock;

use aes::Aes256Enc;
use aes::cipher::array::Array;
use aes::cipher::{BlockModeEncrypt as _, InnerIvInit as _, KeyInit as _};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use wx::crypto::{
    CallbackQuery, EncodingAesKey, EnvelopeFormat, InboundEnvelope, MsgCrypt, ReceiveId,
};
use wx::message::{Message, Platform, Reply, ReplyTo};

const TOKEN: &str = "QDG6eK";
const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const RECEIVE_ID: &str = "wx5823bf96d3bd56c7";
const TIMESTAMP: &str = "1409659813";
const NONCE: &str = "1372623149";
const RANDOM: &[u8; 16] = b"c41b64491c2468d0";

struct Fixture {
    exact: MsgCrypt,
    any: MsgCrypt,
    key: [u8; 32],
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key = EncodingAesKey::parse(KEY).expect("fixed key parses");
        let exact = MsgCrypt::new(TOKEN, &key, ReceiveId::exact(RECEIVE_ID));
        let any = exact.with_receive_id(ReceiveId::Any);
        Fixture {
            exact,
            any,
            key: *key.expose_bytes(),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => raw(rest),
        1 => valid_envelope(mode, rest),
        2 => signed_ciphertext(rest),
        _ => signed_plain_buffer(rest),
    }
});

/// Mode 0: `query \0 body`, both arbitrary.
fn raw(data: &[u8]) {
    let f = fixture();
    let (query, body) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let query = String::from_utf8_lossy(query);
    let Ok(query) = CallbackQuery::parse(&query) else {
        return;
    };
    let _ = f.exact.verify_oa_url(&query);
    let _ = f.exact.verify_wecom_url(&query);
    for crypt in [&f.exact, &f.any] {
        if let Ok(cb) = crypt.decrypt_callback(&query, body) {
            parse_message(cb.message.message());
        }
    }
    let _ = f.exact.decrypt_reply(body);
}

/// The query WeChat sends with an encrypted OA push, signed over `encrypt`.
fn signed_query(encrypt: &str) -> String {
    let sig = fixture().exact.msg_signature(TIMESTAMP, NONCE, encrypt);
    format!(
        "signature=ignored&timestamp={TIMESTAMP}&nonce={NONCE}&openid=o6_bm&encrypt_type=aes&msg_signature={sig}"
    )
}

fn body_for(encrypt: &str, json: bool, extras: bool) -> String {
    let env = InboundEnvelope {
        to_user_name: extras.then_some(Cow::Borrowed("gh_3f5a9c2e8b7d")),
        encrypt: Cow::Borrowed(encrypt),
        agent_id: extras.then_some(Cow::Borrowed("1000002")),
    };
    if json { env.to_json() } else { env.to_xml() }
}

/// Mode 1: arbitrary plaintext inside a valid envelope.
fn valid_envelope(mode: u8, plaintext: &[u8]) {
    let f = fixture();
    let json = mode & 0x10 != 0;
    let extras = mode & 0x20 != 0;
    let foreign = mode & 0x40 != 0;
    let rid = if foreign { "ww-other-corp" } else { RECEIVE_ID };
    let encrypt = f
        .exact
        .encrypt_with_random(RANDOM, plaintext, rid)
        .expect("small plaintexts encrypt");
    let body = body_for(&encrypt, json, extras);
    let raw_query = signed_query(&encrypt);
    let query = CallbackQuery::parse(&raw_query).expect("well-formed query");

    let exact = f.exact.decrypt_callback(&query, body.as_bytes());
    if foreign {
        assert_eq!(exact.expect_err("foreign receive id").code(), -40005);
    } else {
        let cb = exact.expect("a valid envelope decrypts");
        assert_eq!(cb.message.message(), plaintext);
        assert_eq!(cb.envelope.encrypt, encrypt);
    }
    let cb = f
        .any
        .decrypt_callback(&query, body.as_bytes())
        .expect("a valid envelope decrypts under ReceiveId::Any");
    assert_eq!(cb.message.message(), plaintext);
    assert_eq!(cb.message.receive_id(), rid);
    parse_message(cb.message.message());
}

/// Mode 2: arbitrary ciphertext under a valid signature.
fn signed_ciphertext(cipher: &[u8]) {
    let f = fixture();
    let encrypt = STANDARD.encode(cipher);
    let body = body_for(&encrypt, false, true);
    let raw_query = signed_query(&encrypt);
    let query = CallbackQuery::parse(&raw_query).expect("well-formed query");
    for crypt in [&f.exact, &f.any] {
        if let Ok(cb) = crypt.decrypt_callback(&query, body.as_bytes()) {
            parse_message(cb.message.message());
        }
    }
}

/// Mode 3: an arbitrary decrypted buffer, checked against a model of reference §1.4.
fn signed_plain_buffer(data: &[u8]) {
    let f = fixture();
    if data.is_empty() {
        return;
    }
    let mut buf = data.to_vec();
    buf.resize(data.len().div_ceil(16) * 16, 0);
    let expected_any = model(&buf);

    let mut cipher = buf.clone();
    let (blocks, tail) = Array::slice_as_chunks_mut(&mut cipher);
    assert!(tail.is_empty());
    let iv: [u8; 16] = f.key[..16].try_into().expect("16 bytes");
    cbc::Encryptor::<Aes256Enc>::inner_iv_init(
        Aes256Enc::new(&Array::from(f.key)),
        &Array::from(iv),
    )
    .encrypt_blocks(blocks);
    let encrypt = STANDARD.encode(&cipher);
    let body = body_for(&encrypt, false, false);
    let raw_query = signed_query(&encrypt);
    let query = CallbackQuery::parse(&raw_query).expect("well-formed query");

    let any = f.any.decrypt_callback(&query, body.as_bytes());
    match (&expected_any, &any) {
        (Some((msg, rid)), Ok(cb)) => {
            assert_eq!(cb.message.message(), *msg);
            assert_eq!(cb.message.receive_id().as_bytes(), *rid);
        }
        (None, Err(_)) => {}
        (expected, got) => panic!("model {expected:?} but decrypt_callback gave {got:?}"),
    }
    let exact = f.exact.decrypt_callback(&query, body.as_bytes());
    let expected_exact = expected_any.filter(|(_, rid)| *rid == RECEIVE_ID.as_bytes());
    match (&expected_exact, &exact) {
        (Some((msg, _)), Ok(cb)) => assert_eq!(cb.message.message(), *msg),
        (None, Err(_)) => {}
        (expected, got) => panic!("model {expected:?} but decrypt_callback gave {got:?}"),
    }
    if let Ok(cb) = any {
        parse_message(cb.message.message());
    }
}

/// Reference §1.4 with strict PKCS#7 (block 32) and a UTF-8 receive id: `(msg, receive_id)`.
fn model(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let n = usize::from(*buf.last()?);
    if n == 0
        || n > 32
        || n > buf.len()
        || buf[buf.len() - n..].iter().any(|&b| usize::from(b) != n)
    {
        return None;
    }
    let body = &buf[..buf.len() - n];
    if body.len() < 20 {
        return None;
    }
    let len = usize::try_from(u32::from_be_bytes(body[16..20].try_into().ok()?)).ok()?;
    let end = 20usize.checked_add(len).filter(|&e| e <= body.len())?;
    let rid = &body[end..];
    std::str::from_utf8(rid).ok()?;
    Some((&body[20..end], rid))
}

/// What a server does with a decrypted push: parse, classify, key, forward, answer.
fn parse_message(plaintext: &[u8]) {
    let Ok(msg) = Message::parse_bytes(plaintext) else {
        return;
    };
    let _ = msg.kind();
    let _ = msg.header();
    let _ = msg.dedup_family();
    let key = msg.dedup_key();
    assert_eq!(key, msg.dedup_key(), "dedup keys are deterministic");
    let _ = msg.to_json();
    let to = ReplyTo::answering(&msg, 1_409_659_813);
    for platform in [Platform::OfficialAccount, Platform::WeCom] {
        let Ok(xml) = (Reply::Text { content: "收到" }).render(platform, &to) else {
            continue;
        };
        let reply = Message::parse(&xml).expect("a rendered reply parses");
        assert_eq!(reply.get("Content"), Some("收到"));
        let f = fixture();
        for format in [EnvelopeFormat::Xml, EnvelopeFormat::Json] {
            let env = f
                .exact
                .encrypt_reply_with_random(
                    RANDOM,
                    format,
                    xml.as_bytes(),
                    RECEIVE_ID,
                    TIMESTAMP,
                    NONCE,
                )
                .expect("reply encrypts");
            let back = f
                .exact
                .decrypt_reply(env.as_bytes())
                .expect("reply decrypts");
            assert_eq!(back.message(), xml.as_bytes());
        }
    }
}
