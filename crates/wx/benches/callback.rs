//! The callback hot path of one encrypted text message, per step and end to end.
//!
//! One message: an Official Account safe-mode push of a ~1 KiB text message (CJK content),
//! with the benchmark account of `shared/bench/callback` (Token, EncodingAESKey, AppID,
//! original id). The full path is what a server does for it: parse the raw query
//! (`msg_signature`, `timestamp`, `nonce`, ...), verify `msg_signature` and decrypt the
//! envelope, parse the message XML, render a text reply and encrypt it into the reply
//! envelope. Each step is benchmarked on its own too, and the de-duplication key (which a
//! server also computes, but outside this chain) separately.
//!
//! Allocations per message are counted with a counting global allocator and printed once
//! before the benchmarks run:
//!
//! ```sh
//! cargo bench -p wx --bench callback            # all
//! cargo bench -p wx --bench callback -- full    # only the end-to-end path
//! ```

// Allocation counting. The workspace sets `unsafe_code = "forbid"`, which an inner
// `#![allow(unsafe_code)]` cannot relax (E0453), and a `GlobalAlloc` impl is necessarily
// `unsafe`: so the counting wrapper around `System` comes from the small `stats_alloc`
// dev-dependency (atomic counters, no other dependencies) instead of being written here.

use std::alloc::System;
use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use wx::crypto::{
    CallbackQuery, EncodingAesKey, EnvelopeFormat, InboundEnvelope, MsgCrypt, ReceiveId,
};
use wx::message::{Message, Platform, Reply, ReplyTo};

// ---------------------------------------------------------------------------------------
// Counting allocator
// ---------------------------------------------------------------------------------------

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Allocation calls and bytes requested per run of `f`, averaged over `runs` runs.
fn allocations_per_run<R>(runs: u64, mut f: impl FnMut() -> R) -> (f64, f64) {
    black_box(f()); // warm-up: thread-local RNG, lazy statics
    let region = Region::new(GLOBAL);
    for _ in 0..runs {
        black_box(f());
    }
    let stats = region.change();
    // A reallocation moves or grows a block: count it as an allocation call.
    let calls = stats.allocations + stats.reallocations;
    (
        calls as f64 / runs as f64,
        stats.bytes_allocated as f64 / runs as f64,
    )
}

// ---------------------------------------------------------------------------------------
// The message
// ---------------------------------------------------------------------------------------

// The benchmark account (shared/bench/callback/README.md).
const TOKEN: &str = "qiaobenchtoken";
const AES_KEY: &str = "39LkJpYdOTmakoL+pCksMzpSvcvs32/l9bW4wtTyqFM";
const APP_ID: &str = "wx3f5a9c2e8b7d1046";
const ORIGINAL_ID: &str = "gh_3f5a9c2e8b7d";
const OPENID: &str = "oia2TjuEGTNoeX76QEjQNrcURxG8";
const TIMESTAMP: &str = "1764057600";
const NONCE: &str = "1372623149";
const REPLY_TEXT: &str =
    "您好，报销流程：登录系统 → 提交申请 → 主管审批 → 财务打款。如需帮助请回复“转人工”。";

struct Fixture {
    crypt: MsgCrypt,
    query: String,
    body: String,
    plaintext: String,
    encrypt: String,
    reply_xml: String,
}

/// The plaintext of a user's text message of about 1 KiB: mostly CJK (3 bytes a character)
/// with some ASCII, as WeChat writes it (CDATA strings, bare numbers).
fn text_message() -> String {
    let xml = |content: &str| {
        format!(
            "<xml><ToUserName><![CDATA[{ORIGINAL_ID}]]></ToUserName>\
             <FromUserName><![CDATA[{OPENID}]]></FromUserName>\
             <CreateTime>{TIMESTAMP}</CreateTime><MsgType><![CDATA[text]]></MsgType>\
             <Content><![CDATA[{content}]]></Content><MsgId>24312345678901234</MsgId></xml>"
        )
    };
    let overhead = xml("").len();
    let sentence = "请问公司的报销流程是什么？出差的住宿费和交通费怎么报销，需要哪些发票和审批？";
    let mut content = String::from("(order 20261125-0042) ");
    for ch in sentence.chars().cycle() {
        if overhead + content.len() + ch.len_utf8() > 1024 {
            break;
        }
        content.push(ch);
    }
    let xml = xml(&content);
    assert!(
        (1020..=1024).contains(&xml.len()),
        "about 1 KiB: {}",
        xml.len()
    );
    xml
}

fn fixture() -> Fixture {
    let key = EncodingAesKey::parse(AES_KEY).expect("benchmark key parses");
    let crypt = MsgCrypt::new(TOKEN, &key, ReceiveId::exact(APP_ID));
    let plaintext = text_message();
    let encrypt = crypt
        .encrypt(plaintext.as_bytes(), APP_ID)
        .expect("message encrypts");
    let body = InboundEnvelope {
        to_user_name: Some(ORIGINAL_ID.into()),
        encrypt: encrypt.as_str().into(),
        agent_id: None,
    }
    .to_xml();
    let msg_signature = crypt.msg_signature(TIMESTAMP, NONCE, &encrypt);
    let signature = crypt.signature(TIMESTAMP, NONCE);
    // As WeChat sends it to an OA in safe mode (reference §1.6).
    let query = format!(
        "signature={signature}&timestamp={TIMESTAMP}&nonce={NONCE}&openid={OPENID}\
         &encrypt_type=aes&msg_signature={msg_signature}"
    );
    let message = Message::parse(&plaintext).expect("message parses");
    let reply_xml = render_reply(&message);
    Fixture {
        crypt,
        query,
        body,
        plaintext,
        encrypt,
        reply_xml,
    }
}

fn render_reply(message: &Message) -> String {
    Reply::Text {
        content: REPLY_TEXT,
    }
    .render(
        Platform::OfficialAccount,
        &ReplyTo::answering(message, 1_764_057_601),
    )
    .expect("reply renders")
}

/// The whole hot path for one message; returns the encrypted reply envelope.
fn handle(crypt: &MsgCrypt, raw_query: &str, body: &[u8]) -> String {
    let query = CallbackQuery::parse(raw_query).expect("query parses");
    let callback = crypt
        .decrypt_callback(&query, body)
        .expect("callback verifies and decrypts");
    let message = Message::parse_bytes(callback.message.message()).expect("message parses");
    let reply = render_reply(&message);
    crypt
        .encrypt_reply(
            EnvelopeFormat::Xml,
            reply.as_bytes(),
            callback.message.receive_id(),
            query.timestamp.as_deref().unwrap_or(TIMESTAMP),
            query.nonce.as_deref().unwrap_or(NONCE),
        )
        .expect("reply encrypts")
}

fn print_allocations(f: &Fixture) {
    const RUNS: u64 = 1000;
    let query = CallbackQuery::parse(&f.query).expect("query parses");
    let message = Message::parse(&f.plaintext).expect("message parses");
    let rows: [(&str, (f64, f64)); 9] = [
        (
            "full path (per message)",
            allocations_per_run(RUNS, || handle(&f.crypt, &f.query, f.body.as_bytes())),
        ),
        (
            "  query_parse",
            allocations_per_run(RUNS, || {
                CallbackQuery::parse(&f.query).map(|q| q.nonce.is_some())
            }),
        ),
        (
            "  envelope_parse",
            allocations_per_run(RUNS, || {
                InboundEnvelope::parse(f.body.as_bytes()).map(|e| e.encrypt.len())
            }),
        ),
        (
            "  verify_decrypt (envelope + signature + AES)",
            allocations_per_run(RUNS, || f.crypt.decrypt_callback(&query, f.body.as_bytes())),
        ),
        (
            "  message_parse",
            allocations_per_run(RUNS, || Message::parse(&f.plaintext)),
        ),
        (
            "  reply_render",
            allocations_per_run(RUNS, || render_reply(&message)),
        ),
        (
            "  reply_encrypt",
            allocations_per_run(RUNS, || {
                f.crypt.encrypt_reply(
                    EnvelopeFormat::Xml,
                    f.reply_xml.as_bytes(),
                    APP_ID,
                    TIMESTAMP,
                    NONCE,
                )
            }),
        ),
        (
            "(extra) dedup_key",
            allocations_per_run(RUNS, || message.dedup_key()),
        ),
        (
            "(extra) to_json",
            allocations_per_run(RUNS, || message.to_json()),
        ),
    ];
    println!(
        "callback: 1 message = {} B plaintext, {} B body, {} B reply",
        f.plaintext.len(),
        f.body.len(),
        f.reply_xml.len()
    );
    println!(
        "{:<48} {:>12} {:>12}",
        "allocations", "calls/msg", "bytes/msg"
    );
    for (name, (calls, bytes)) in rows {
        println!("{name:<48} {calls:>12.2} {bytes:>12.0}");
    }
}

fn benches(c: &mut Criterion) {
    let f = fixture();
    // The reply decrypts back to what was rendered (guards against benchmarking a no-op).
    let envelope = handle(&f.crypt, &f.query, f.body.as_bytes());
    let back = f.crypt.decrypt_reply(envelope.as_bytes()).expect("reply");
    assert_eq!(back.message(), f.reply_xml.as_bytes());

    // `--list` (test runners enumerating targets) must print only the benchmark names.
    if !std::env::args().any(|a| a == "--list") {
        print_allocations(&f);
    }

    let query = CallbackQuery::parse(&f.query).expect("query parses");
    let message = Message::parse(&f.plaintext).expect("message parses");
    let mut g = c.benchmark_group("callback");
    g.bench_function("full", |b| {
        b.iter(|| handle(&f.crypt, black_box(&f.query), black_box(f.body.as_bytes())))
    });
    g.bench_function("query_parse", |b| {
        b.iter(|| CallbackQuery::parse(black_box(&f.query)))
    });
    g.bench_function("envelope_parse", |b| {
        b.iter(|| InboundEnvelope::parse(black_box(f.body.as_bytes())))
    });
    g.bench_function("verify_signature", |b| {
        b.iter(|| {
            wx::crypto::verify_msg_signature(
                TOKEN,
                black_box(TIMESTAMP),
                black_box(NONCE),
                black_box(&f.encrypt),
                black_box(query.msg_signature.as_deref().unwrap_or("")),
            )
        })
    });
    g.bench_function("decrypt", |b| {
        b.iter(|| f.crypt.decrypt(black_box(&f.encrypt)))
    });
    g.bench_function("verify_decrypt", |b| {
        b.iter(|| {
            f.crypt
                .decrypt_callback(&query, black_box(f.body.as_bytes()))
        })
    });
    g.bench_function("message_parse", |b| {
        b.iter(|| Message::parse(black_box(&f.plaintext)))
    });
    g.bench_function("reply_render", |b| {
        b.iter(|| render_reply(black_box(&message)))
    });
    g.bench_function("reply_encrypt", |b| {
        b.iter(|| {
            f.crypt.encrypt_reply(
                EnvelopeFormat::Xml,
                black_box(f.reply_xml.as_bytes()),
                APP_ID,
                TIMESTAMP,
                NONCE,
            )
        })
    });
    g.bench_function("dedup_key", |b| b.iter(|| black_box(&message).dedup_key()));
    g.finish();
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    benches(&mut c);
    c.final_summary();
}
