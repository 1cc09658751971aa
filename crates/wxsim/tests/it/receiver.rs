//! A developer's callback endpoint for the tests, built on `wx::crypto` and `wx::message`:
//! verifies and decrypts every push, records it, and answers as told (passive reply, ack,
//! slow, broken...).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use wx::crypto::{CallbackQuery, EncodingAesKey, EnvelopeFormat, MsgCrypt, ReceiveId};
use wx::message::{Message, Platform, Reply, ReplyTo};

pub const KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
pub const TOKEN: &str = "qiaoTestToken";

/// How the receiver answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A text passive reply `echo: <Content>` (encrypted when the push was).
    Echo,
    /// `success`.
    Success,
    /// Empty body.
    Empty,
    /// Sleep, then `success`.
    Slow(u64),
    /// This HTTP status.
    Status(u16),
    /// An encrypted reply whose signature is wrong.
    BadSignature,
    /// A plaintext reply even to an encrypted push.
    Plain,
    /// A raw body.
    Raw(String),
    /// Card update reply `update_button`.
    UpdateButton(String),
    /// A text reply encrypted with this receive id instead of the push's.
    WrongReceiveId(String),
}

#[derive(Debug, Clone)]
pub struct Received {
    pub query: String,
    pub body: String,
    pub plaintext: String,
    pub receive_id: Option<String>,
}

#[derive(Clone)]
struct Inner {
    crypt: MsgCrypt,
    answer: Arc<Mutex<Answer>>,
    got: Arc<Mutex<Vec<Received>>>,
    verifications: Arc<Mutex<Vec<String>>>,
    raw_gets: Arc<Mutex<Vec<String>>>,
}

pub struct Receiver {
    pub url: String,
    answer: Arc<Mutex<Answer>>,
    got: Arc<Mutex<Vec<Received>>>,
    verifications: Arc<Mutex<Vec<String>>>,
    raw_gets: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    pub async fn start(answer: Answer) -> Receiver {
        let key = EncodingAesKey::parse(KEY).unwrap();
        let inner = Inner {
            crypt: MsgCrypt::new(TOKEN, &key, ReceiveId::Any),
            answer: Arc::new(Mutex::new(answer)),
            got: Arc::default(),
            verifications: Arc::default(),
            raw_gets: Arc::default(),
        };
        let app = Router::new()
            .route("/cb", get(verify).post(push))
            .route("/cb/{corp}", get(verify).post(push))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url: format!("http://{addr}/cb"),
            answer: inner.answer,
            got: inner.got,
            verifications: inner.verifications,
            raw_gets: inner.raw_gets,
            task,
        }
    }

    pub fn set(&self, a: Answer) {
        *self.answer.lock().unwrap() = a;
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    pub fn verifications(&self) -> Vec<String> {
        self.verifications.lock().unwrap().clone()
    }

    /// Raw query strings of the verification GETs.
    pub fn raw_gets(&self) -> Vec<String> {
        self.raw_gets.lock().unwrap().clone()
    }
}

async fn verify(State(s): State<Inner>, RawQuery(q): RawQuery) -> Response {
    let q = q.unwrap_or_default();
    s.raw_gets.lock().unwrap().push(q.clone());
    let query = match CallbackQuery::parse(&q) {
        Ok(q) => q,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let answer = if q.contains("msg_signature=") {
        match s.crypt.verify_wecom_url(&query) {
            Ok(d) => {
                s.verifications
                    .lock()
                    .unwrap()
                    .push(d.receive_id().to_owned());
                String::from_utf8_lossy(d.message()).into_owned()
            }
            Err(e) => return (StatusCode::FORBIDDEN, e.to_string()).into_response(),
        }
    } else {
        match s.crypt.verify_oa_url(&query) {
            Ok(echo) => {
                s.verifications.lock().unwrap().push("plain".into());
                echo.to_owned()
            }
            Err(e) => return (StatusCode::FORBIDDEN, e.to_string()).into_response(),
        }
    };
    answer.into_response()
}

async fn push(State(s): State<Inner>, RawQuery(q): RawQuery, body: Bytes) -> Response {
    let q = q.unwrap_or_default();
    let query = match CallbackQuery::parse(&q) {
        Ok(q) => q,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let encrypted = q.contains("msg_signature=");
    let (plaintext, receive_id) = if encrypted {
        match s.crypt.decrypt_callback(&query, &body) {
            Ok(d) => (
                d.message.message_str().unwrap_or("").to_owned(),
                Some(d.message.receive_id().to_owned()),
            ),
            Err(e) => return (StatusCode::FORBIDDEN, e.to_string()).into_response(),
        }
    } else {
        if let Err(e) = wx::crypto::verify_plain_query(TOKEN, &query) {
            return (StatusCode::FORBIDDEN, e.to_string()).into_response();
        }
        (String::from_utf8_lossy(&body).into_owned(), None)
    };
    s.got.lock().unwrap().push(Received {
        query: q.clone(),
        body: String::from_utf8_lossy(&body).into_owned(),
        plaintext: plaintext.clone(),
        receive_id: receive_id.clone(),
    });
    let answer = s.answer.lock().unwrap().clone();
    let msg = Message::parse(&plaintext).ok();
    let platform = if q.contains("openid=") {
        Platform::OfficialAccount
    } else {
        Platform::WeCom
    };
    let render = |reply: Reply<'_>| -> String {
        let Some(m) = &msg else { return String::new() };
        reply
            .render(platform, &ReplyTo::answering(m, 1_700_000_000))
            .unwrap_or_default()
    };
    let encrypt = |xml: &str| -> String {
        s.crypt
            .encrypt_reply(
                EnvelopeFormat::Xml,
                xml.as_bytes(),
                receive_id.as_deref().unwrap_or(""),
                "1700000000",
                "42",
            )
            .unwrap()
    };
    match answer {
        Answer::Success => "success".into_response(),
        Answer::Empty => "".into_response(),
        Answer::Slow(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            "success".into_response()
        }
        Answer::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Answer::Raw(s) => s.into_response(),
        Answer::WrongReceiveId(rid) => {
            let xml = render(Reply::Text {
                content: "wrong rid",
            });
            s.crypt
                .encrypt_reply(
                    EnvelopeFormat::Xml,
                    xml.as_bytes(),
                    &rid,
                    "1700000000",
                    "42",
                )
                .unwrap()
                .into_response()
        }
        Answer::Echo | Answer::Plain | Answer::BadSignature | Answer::UpdateButton(_) => {
            let content = format!(
                "echo: {}",
                msg.as_ref().and_then(|m| m.get("Content")).unwrap_or("")
            );
            let xml = match &answer {
                Answer::UpdateButton(name) => render(Reply::UpdateButton {
                    replace_name: name.as_str(),
                }),
                _ => render(Reply::Text { content: &content }),
            };
            if !encrypted || answer == Answer::Plain {
                return xml.into_response();
            }
            let mut env = encrypt(&xml);
            if answer == Answer::BadSignature {
                env = env.replace(
                    "<TimeStamp>1700000000</TimeStamp>",
                    "<TimeStamp>1700000001</TimeStamp>",
                );
            }
            env.into_response()
        }
    }
}
