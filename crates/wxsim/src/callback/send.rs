//! Delivery of one push (signing, encryption, retries) and evaluation of the answer; URL
//! verification.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use wx::crypto::{CryptoError, EncodingAesKey, MsgCrypt, ReceiveId, ReplyEnvelope};
use wx::message::Message;

use super::{
    Attempt, CallbackConfig, CallbackMode, PassiveReply, PushError, PushOutcome, PushStatus,
    UrlVerification,
};
use crate::state::SimState;
use crate::util::random_u64;

/// Where and how a push goes.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    /// Registration key.
    pub key: String,
    /// URL after `$CORPID$` substitution.
    pub url: String,
    pub token: String,
    pub crypt: Option<MsgCrypt>,
    /// Receive id of pushes.
    pub receive_id: String,
    /// Receive id of the URL verification echostr.
    pub verify_receive_id: String,
    /// Effective mode (always `Safe` for WeCom and suites).
    pub mode: CallbackMode,
    /// OA / Mini Program query and reply rules.
    pub oa: bool,
    /// Suite command URL: the answer must be `success`.
    pub suite_command: bool,
    /// `ToUserName` of the encrypted envelope.
    pub envelope_to: String,
    /// `AgentID` of the encrypted envelope (WeCom).
    pub agent_id: Option<String>,
}

/// A push about to be sent.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outgoing {
    /// `text`, `event:CLICK`, `suite:suite_ticket`...
    pub kind: String,
    /// The plaintext XML.
    pub xml: String,
    /// The push's `FromUserName` (the reply's `ToUserName`).
    pub user: String,
    /// The push's `ToUserName` (the reply's `FromUserName`).
    pub to_user_name: String,
    /// `MsgId`.
    pub msg_id: Option<String>,
    /// Values to report in the outcome.
    pub extra: BTreeMap<String, String>,
}

fn nonce() -> String {
    format!("{}", random_u64() % 9_000_000_000 + 1_000_000_000)
}

fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{}", q.finish())
}

/// Builds a route from a registration. `receive_id`, `verify_receive_id`, `envelope_to`,
/// `agent_id`, `oa`, `suite_command` come from the account kind.
#[allow(clippy::too_many_arguments)]
pub(crate) fn route_of(
    cfg: &CallbackConfig,
    url: String,
    receive_id: String,
    verify_receive_id: String,
    oa: bool,
    suite_command: bool,
    envelope_to: String,
    agent_id: Option<String>,
) -> Result<Route, String> {
    let mode = if oa { cfg.mode } else { CallbackMode::Safe };
    let crypt = if cfg.encoding_aes_key.is_empty() && mode == CallbackMode::Plain {
        None
    } else {
        let key = EncodingAesKey::parse(&cfg.encoding_aes_key)
            .map_err(|e| format!("encoding_aes_key: {e}"))?;
        Some(MsgCrypt::new(
            cfg.token.clone(),
            &key,
            ReceiveId::exact(receive_id.clone()),
        ))
    };
    Ok(Route {
        key: cfg.account.clone(),
        url,
        token: cfg.token.clone(),
        crypt,
        receive_id,
        verify_receive_id,
        mode,
        oa,
        suite_command,
        envelope_to,
        agent_id,
    })
}

/// The request of one delivery: URL with query, body.
fn build_request(
    route: &Route,
    out: &Outgoing,
    timestamp: &str,
    nonce: &str,
) -> Result<(String, String), PushError> {
    let enc_err = |e: CryptoError| PushError::Decrypt(format!("cannot encrypt: {e}"));
    if route.oa {
        let signature = wx::crypto::signature(&route.token, timestamp, nonce);
        let openid = out.user.as_str();
        if route.mode == CallbackMode::Plain {
            let url = with_query(
                &route.url,
                &[
                    ("signature", signature.as_str()),
                    ("timestamp", timestamp),
                    ("nonce", nonce),
                    ("openid", openid),
                ],
            );
            return Ok((url, out.xml.clone()));
        }
        let crypt = route
            .crypt
            .as_ref()
            .ok_or_else(|| PushError::Decrypt("no EncodingAESKey".into()))?;
        let encrypt = crypt
            .encrypt(out.xml.as_bytes(), &route.receive_id)
            .map_err(enc_err)?;
        let msg_signature = crypt.msg_signature(timestamp, nonce, &encrypt);
        let url = with_query(
            &route.url,
            &[
                ("signature", signature.as_str()),
                ("timestamp", timestamp),
                ("nonce", nonce),
                ("openid", openid),
                ("encrypt_type", "aes"),
                ("msg_signature", msg_signature.as_str()),
            ],
        );
        let body = if route.mode == CallbackMode::Compatible {
            let cut = out.xml.rfind("</xml>").unwrap_or(out.xml.len());
            format!(
                "{}<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>",
                &out.xml[..cut]
            )
        } else {
            format!(
                "<xml><ToUserName><![CDATA[{}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>",
                route.envelope_to
            )
        };
        return Ok((url, body));
    }
    let crypt = route
        .crypt
        .as_ref()
        .ok_or_else(|| PushError::Decrypt("no EncodingAESKey".into()))?;
    let encrypt = crypt
        .encrypt(out.xml.as_bytes(), &route.receive_id)
        .map_err(enc_err)?;
    let msg_signature = crypt.msg_signature(timestamp, nonce, &encrypt);
    let url = with_query(
        &route.url,
        &[
            ("msg_signature", msg_signature.as_str()),
            ("timestamp", timestamp),
            ("nonce", nonce),
        ],
    );
    let envelope = wx::crypto::InboundEnvelope {
        to_user_name: Some(route.envelope_to.as_str().into()),
        encrypt: encrypt.as_str().into(),
        agent_id: route.agent_id.as_deref().map(Into::into),
    };
    Ok((url, envelope.to_xml()))
}

const OA_REPLIES: &[&str] = &[
    "text",
    "image",
    "voice",
    "video",
    "music",
    "news",
    "transfer_customer_service",
];
const WECOM_REPLIES: &[&str] = &["text", "image", "voice", "video", "news", "update_taskcard"];

/// Judges an HTTP 200 answer.
fn evaluate(
    route: &Route,
    out: &Outgoing,
    body: &[u8],
) -> (PushStatus, Option<PassiveReply>, Option<PushError>) {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    if route.suite_command {
        return if trimmed == "success" {
            (PushStatus::Acked, None, None)
        } else {
            let shown: String = trimmed.chars().take(200).collect();
            (
                PushStatus::BadReply,
                None,
                Some(PushError::NotSuccess(shown)),
            )
        };
    }
    if trimmed.is_empty() || trimmed == "success" {
        return (PushStatus::Acked, None, None);
    }
    let bad = |e: PushError| (PushStatus::BadReply, None, Some(e));
    let encrypted = ReplyEnvelope::parse(body).is_ok();
    let mut reply_rid = None;
    let xml = match (route.mode, encrypted) {
        (CallbackMode::Plain, true) => return bad(PushError::EncryptedReply),
        (CallbackMode::Safe, false) => return bad(PushError::PlaintextReply),
        (_, true) => {
            let Some(crypt) = &route.crypt else {
                return bad(PushError::EncryptedReply);
            };
            match crypt.decrypt_reply(body) {
                Ok(d) => {
                    reply_rid = Some(d.receive_id().to_owned());
                    match d.into_string() {
                        Ok(s) => s,
                        Err(e) => return bad(PushError::Decrypt(e.to_string())),
                    }
                }
                Err(CryptoError::ValidateSignature) => return bad(PushError::BadSignature),
                Err(e) => return bad(PushError::Decrypt(format!("{e} ({})", e.code()))),
            }
        }
        (_, false) => trimmed.to_owned(),
    };
    let msg = match Message::parse(&xml) {
        Ok(m) => m,
        Err(e) => return bad(PushError::BadXml(e.to_string())),
    };
    let invalid = |m: String| bad(PushError::InvalidReply(m));
    let msg_type = msg.msg_type().unwrap_or("").to_owned();
    let card_event = out.kind.starts_with("event:template_card");
    let allowed = if route.oa {
        OA_REPLIES.contains(&msg_type.as_str())
    } else {
        WECOM_REPLIES.contains(&msg_type.as_str())
            || (card_event && matches!(msg_type.as_str(), "update_button" | "update_template_card"))
    };
    if !allowed {
        return invalid(format!("MsgType {msg_type:?} is not a passive reply here"));
    }
    let to = msg.get("ToUserName").unwrap_or("");
    let from = msg.get("FromUserName").unwrap_or("");
    if to != out.user {
        return invalid(format!(
            "ToUserName {to:?} should be the user {:?}",
            out.user
        ));
    }
    if from != out.to_user_name {
        return invalid(format!(
            "FromUserName {from:?} should be {:?}",
            out.to_user_name
        ));
    }
    let Some(create_time) = msg
        .get("CreateTime")
        .and_then(|t| t.trim().parse::<i64>().ok())
    else {
        return invalid("CreateTime missing or not an integer".into());
    };
    let content = msg.get("Content").map(str::to_owned);
    if msg_type == "text" && content.as_deref().is_none_or(str::is_empty) {
        return invalid("empty Content".into());
    }
    if msg_type == "text" && content.as_deref().is_some_and(|c| c.len() > 2048) {
        return invalid("Content over 2048 bytes".into());
    }
    let reply = PassiveReply {
        msg_type,
        to_user_name: to.to_owned(),
        from_user_name: from.to_owned(),
        create_time,
        content,
        fields: msg.to_json(),
        xml,
        encrypted,
        receive_id: reply_rid,
    };
    (PushStatus::Replied, Some(reply), None)
}

fn transport_error(e: &reqwest::Error, timeout_ms: u64) -> PushError {
    if e.is_timeout() {
        PushError::Timeout(timeout_ms)
    } else {
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        PushError::Connect(msg)
    }
}

impl SimState {
    /// Delivers one push with retries and records the outcome.
    pub(crate) async fn deliver(
        &self,
        route: Option<Route>,
        key: &str,
        out: Outgoing,
    ) -> PushOutcome {
        let mut outcome = PushOutcome {
            id: 0,
            account: key.to_owned(),
            kind: out.kind.clone(),
            url: String::new(),
            attempts: 0,
            status: PushStatus::NotRegistered,
            reply: None,
            error: None,
            message: out.xml.clone(),
            msg_id: out.msg_id.clone(),
            attempt_log: Vec::new(),
            extra: out.extra.clone(),
        };
        let Some(route) = route else {
            outcome.error = Some(PushError::NotRegistered(key.to_owned()));
            return self.with_callbacks(|c| c.record(outcome));
        };
        outcome.url = route.url.clone();
        let settings = self.with_callbacks(|c| c.settings);
        let mut route = route;
        if !settings.strict_receive_id {
            route.crypt = route.crypt.map(|c| c.with_receive_id(ReceiveId::Any));
        }
        let attempts = settings.attempts.max(1);
        let timeout = Duration::from_millis(settings.timeout_ms.max(1));
        for n in 0..attempts {
            if n > 0 && settings.retry_delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(settings.retry_delay_ms)).await;
            }
            let timestamp = self.now().to_string();
            let nonce = nonce();
            let at_ms = self.clock().now_ms();
            outcome.attempts = n + 1;
            let (url, body) = match build_request(&route, &out, &timestamp, &nonce) {
                Ok(r) => r,
                Err(e) => {
                    outcome.status = PushStatus::Failed;
                    outcome.error = Some(e);
                    break;
                }
            };
            let started = Instant::now();
            let sent = tokio::time::timeout(timeout, async {
                let resp = self
                    .http()
                    .post(&url)
                    .header("Content-Type", "text/xml")
                    .header("User-Agent", "Mozilla/4.0 (wxsim callback)")
                    .body(body)
                    .send()
                    .await?;
                let status = resp.status().as_u16();
                let bytes = resp.bytes().await?;
                Ok::<_, reqwest::Error>((status, bytes))
            })
            .await;
            let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let mut attempt = Attempt {
                at_ms,
                timestamp,
                nonce,
                http_status: None,
                elapsed_ms,
                error: None,
            };
            match sent {
                Err(_) => attempt.error = Some(PushError::Timeout(settings.timeout_ms)),
                Ok(Err(e)) => attempt.error = Some(transport_error(&e, settings.timeout_ms)),
                Ok(Ok((status, _))) if status != 200 => {
                    attempt.http_status = Some(status);
                    attempt.error = Some(PushError::HttpStatus(status));
                }
                Ok(Ok((status, bytes))) => {
                    attempt.http_status = Some(status);
                    let (st, reply, err) = evaluate(&route, &out, &bytes);
                    outcome.status = st;
                    outcome.reply = reply;
                    outcome.error = err;
                    outcome.attempt_log.push(attempt);
                    return self.with_callbacks(|c| c.record(outcome));
                }
            }
            outcome.error.clone_from(&attempt.error);
            outcome.attempt_log.push(attempt);
            outcome.status = PushStatus::Failed;
        }
        self.with_callbacks(|c| c.record(outcome))
    }

    /// URL verification GET (the back-office "save" step).
    pub(crate) async fn verify_route(&self, route: &Route) -> UrlVerification {
        let timestamp = self.now().to_string();
        let nonce = nonce();
        let plain = format!(
            "{}",
            random_u64() % 9_000_000_000_000_000_000 + 100_000_000_000_000_000
        );
        let mut v = UrlVerification {
            account: route.key.clone(),
            url: route.url.clone(),
            ok: false,
            http_status: None,
            expected: plain.clone(),
            body: String::new(),
            receive_id: None,
            error: None,
        };
        let url = if route.oa {
            let signature = wx::crypto::signature(&route.token, &timestamp, &nonce);
            with_query(
                &route.url,
                &[
                    ("signature", signature.as_str()),
                    ("timestamp", &timestamp),
                    ("nonce", &nonce),
                    ("echostr", &plain),
                ],
            )
        } else {
            let Some(crypt) = &route.crypt else {
                v.error = Some(PushError::Decrypt("no EncodingAESKey".into()));
                return v;
            };
            let echostr = match crypt.encrypt(plain.as_bytes(), &route.verify_receive_id) {
                Ok(e) => e,
                Err(e) => {
                    v.error = Some(PushError::Decrypt(e.to_string()));
                    return v;
                }
            };
            v.receive_id = Some(route.verify_receive_id.clone());
            let sig = crypt.msg_signature(&timestamp, &nonce, &echostr);
            with_query(
                &route.url,
                &[
                    ("msg_signature", sig.as_str()),
                    ("timestamp", &timestamp),
                    ("nonce", &nonce),
                    ("echostr", &echostr),
                ],
            )
        };
        let settings = self.with_callbacks(|c| c.settings);
        let timeout = Duration::from_millis(settings.timeout_ms.max(1));
        let got = tokio::time::timeout(timeout, async {
            let resp = self.http().get(&url).send().await?;
            let status = resp.status().as_u16();
            let text = resp.text().await?;
            Ok::<_, reqwest::Error>((status, text))
        })
        .await;
        match got {
            Err(_) => v.error = Some(PushError::Timeout(settings.timeout_ms)),
            Ok(Err(e)) => v.error = Some(transport_error(&e, settings.timeout_ms)),
            Ok(Ok((status, body))) => {
                v.http_status = Some(status);
                v.body.clone_from(&body);
                if status != 200 {
                    v.error = Some(PushError::HttpStatus(status));
                } else if body == plain {
                    v.ok = true;
                } else {
                    v.error = Some(PushError::EchoMismatch {
                        expected: plain,
                        got: body.chars().take(200).collect(),
                    });
                }
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(mode: CallbackMode, oa: bool) -> Route {
        let cfg = CallbackConfig::new(
            "wx1",
            "http://x/cb",
            "tok",
            "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
            mode,
        );
        route_of(
            &cfg,
            cfg.url.clone(),
            "wx1".into(),
            "wx1".into(),
            oa,
            false,
            "gh_1".into(),
            None,
        )
        .unwrap()
    }

    fn out() -> Outgoing {
        Outgoing {
            kind: "text".into(),
            xml: "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oU]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content><MsgId>5</MsgId></xml>".into(),
            user: "oU".into(),
            to_user_name: "gh_1".into(),
            ..Outgoing::default()
        }
    }

    const REPLY: &str = "<xml><ToUserName><![CDATA[oU]]></ToUserName><FromUserName><![CDATA[gh_1]]></FromUserName><CreateTime>2</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[ok]]></Content></xml>";

    #[test]
    fn replies_are_checked_per_mode() {
        let plain = route(CallbackMode::Plain, true);
        let (st, r, _) = evaluate(&plain, &out(), REPLY.as_bytes());
        assert_eq!(st, PushStatus::Replied);
        assert_eq!(r.unwrap().content.as_deref(), Some("ok"));
        assert_eq!(evaluate(&plain, &out(), b"success").0, PushStatus::Acked);
        assert_eq!(evaluate(&plain, &out(), b"  ").0, PushStatus::Acked);
        let safe = route(CallbackMode::Safe, true);
        assert_eq!(
            evaluate(&safe, &out(), REPLY.as_bytes()).2,
            Some(PushError::PlaintextReply)
        );
        let crypt = safe.crypt.clone().unwrap();
        let enc = crypt
            .encrypt_reply(
                wx::crypto::EnvelopeFormat::Xml,
                REPLY.as_bytes(),
                "wx1",
                "3",
                "n",
            )
            .unwrap();
        let (st, r, e) = evaluate(&safe, &out(), enc.as_bytes());
        assert_eq!((st, e), (PushStatus::Replied, None));
        assert!(r.unwrap().encrypted);
        let tampered = enc.replace("<TimeStamp>3</TimeStamp>", "<TimeStamp>4</TimeStamp>");
        assert_eq!(
            evaluate(&safe, &out(), tampered.as_bytes()).2,
            Some(PushError::BadSignature)
        );
        let compat = route(CallbackMode::Compatible, true);
        assert_eq!(
            evaluate(&compat, &out(), REPLY.as_bytes()).0,
            PushStatus::Replied
        );
        assert_eq!(
            evaluate(&compat, &out(), enc.as_bytes()).0,
            PushStatus::Replied
        );
        let wrong_to = REPLY.replace("[oU]", "[oX]");
        assert!(matches!(
            evaluate(&plain, &out(), wrong_to.as_bytes()).2,
            Some(PushError::InvalidReply(_))
        ));
        assert!(matches!(
            evaluate(&plain, &out(), b"<html>oops</html>").2,
            Some(PushError::BadXml(_))
        ));
    }

    #[test]
    fn requests_carry_the_right_query() {
        let safe = route(CallbackMode::Safe, true);
        let (url, body) = build_request(&safe, &out(), "100", "7").unwrap();
        assert!(url.contains("encrypt_type=aes") && url.contains("msg_signature="));
        assert!(url.contains("openid=oU"));
        assert!(body.starts_with("<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt>"));
        let plain = route(CallbackMode::Plain, true);
        let (url, body) = build_request(&plain, &out(), "100", "7").unwrap();
        assert!(!url.contains("msg_signature"));
        assert_eq!(body, out().xml);
        let compat = route(CallbackMode::Compatible, true);
        let (_, body) = build_request(&compat, &out(), "100", "7").unwrap();
        assert!(body.contains("<Content><![CDATA[hi]]></Content>") && body.contains("<Encrypt>"));
    }
}
