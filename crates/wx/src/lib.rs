//! `wx`: Qiao's knowledge of the WeChat platform (Official Accounts, WeCom, Mini Programs).
//!
//! Pure at its core: message crypto, wire types and error codes, with no I/O. Usable on its
//! own, like an SDK; nothing here knows about Qiao.

pub mod api;
pub mod crypto;
pub mod errcode;
pub mod message;
pub mod text;
pub mod token;
