//! WeChat message crypto (WXBizMsgCrypt). Reference §1.
//!
//! Everything needed to terminate WeChat / WeCom callbacks and to sign for the JS-SDK,
//! without I/O:
//!
//! | Item | Reference |
//! |---|---|
//! | [`EncodingAesKey`]: parse the 43-character key, generate new ones | §1.1, §7 row 11 |
//! | [`signature`], [`msg_signature`], [`verify_signature`], [`verify_msg_signature`] | §1.2 |
//! | [`MsgCrypt`]: encrypt / decrypt with every check, [`ReceiveId`] policy per route | §1.3, §1.4 |
//! | [`CryptoError`] with the official codes ([`CryptoError::code`], [`codes`]) | §1.5 |
//! | [`InboundEnvelope`], [`ReplyEnvelope`], [`write_reply`] (XML and JSON) | §1.6 |
//! | [`CallbackQuery`]: raw query parsing, percent-decoded once, `+` kept | §1.7, §7 row 10 |
//! | [`verify_oa_url`], [`MsgCrypt::verify_wecom_url`], [`MsgCrypt::decrypt_callback`], [`MsgCrypt::encrypt_reply`] | §1.6, §1.7 |
//! | [`decrypt_mini_program_data`]: Mini Program `encryptedData` | §3.5 |
//! | [`jsapi_signature`]: JS-SDK `wx.config` signature | §2.6, §4.10 |
//! | [`pkcs7`]: PKCS#7 with WeChat's 32-byte block | §1.3 |
//!
//! # Example: a WeCom callback
//!
//! ```
//! use wx::crypto::{CallbackQuery, EncodingAesKey, EnvelopeFormat, MsgCrypt, ReceiveId};
//!
//! let key = EncodingAesKey::parse("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C")?;
//! let crypt = MsgCrypt::new("QDG6eK", &key, ReceiveId::exact("wx5823bf96d3bd56c7"));
//!
//! // URL verification (GET): answer with the decrypted echostr.
//! let query = CallbackQuery::parse(
//!     "msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589\
//!      &nonce=263014780&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3\
//!      tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D",
//! )?;
//! assert_eq!(crypt.verify_wecom_url(&query)?.message(), b"1616140317555161061");
//!
//! // Passive reply, then what WeChat does with it.
//! let reply = crypt.encrypt_reply(EnvelopeFormat::Xml, b"<xml>...</xml>", "wx5823bf96d3bd56c7",
//!     "1409659813", "1372623149")?;
//! assert_eq!(crypt.decrypt_reply(reply.as_bytes())?.message(), b"<xml>...</xml>");
//! # Ok::<(), wx::crypto::CryptoError>(())
//! ```
//!
//! # Security notes
//!
//! * The scheme has no MAC: the Token-keyed SHA-1 `msg_signature` over the ciphertext is
//!   the only integrity check, and CBC is malleable. Verify before decrypting (all
//!   one-call helpers do).
//! * Errors never carry key material, the Token or plaintext; `Debug` of keys, [`MsgCrypt`]
//!   and [`Decrypted`] is redacted.
//! * The XML reader refuses DTDs; cap body sizes before calling in.

#![warn(missing_docs)]

mod callback;
mod envelope;
mod error;
mod key;
mod mini_program;
mod msg_crypt;
pub mod pkcs7;
mod query;
mod signature;

pub use callback::{DecryptedCallback, verify_oa_url, verify_plain_query};
pub use envelope::{EnvelopeFormat, InboundEnvelope, ReplyEnvelope, write_reply};
pub use error::{CryptoError, codes};
pub use key::{ENCODING_AES_KEY_LEN, EncodingAesKey};
pub use mini_program::{
    decrypt_mini_program_data, encrypt_mini_program_data, verify_raw_data_signature,
};
pub use msg_crypt::{Decrypted, MsgCrypt, RANDOM_LEN, ReceiveId, random_prefix};
pub use query::{CallbackQuery, query_pairs};
pub use signature::{
    Signature, jsapi_signature, msg_signature, signature, verify_msg_signature, verify_signature,
};
