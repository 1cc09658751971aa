//! `/cb/{public_id}`: the callback endpoints WeChat and WeCom call.
//!
//! GET verifies the URL (Official Account: `signature` and plain `echostr`; WeCom: encrypted
//! `echostr`). POST does only what must happen before the answer: verify, decrypt,
//! de-duplicate, store, match a reply, reply — well inside WeChat's 5 s. Everything else
//! (webhooks, sync) happens after, from the inbox.
//!
//! Query strings are parsed raw, percent-decoded once and never form-decoded (`+` stays `+`,
//! reference §7 row 10). Bad input gets a 4xx with a reason, is counted in
//! `qiao_callback_rejections_total{reason}` and changes nothing.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use wx::crypto::{CallbackQuery, CryptoError, EnvelopeFormat, verify_plain_query};
use wx::message::{Inbound, Message, Platform, Reply, ReplyTo, SUCCESS};

use crate::app::AppState;
use crate::clock;
use crate::http::ApiError;
use crate::replies::Action;

use super::cache::ReceiverCtx;
use super::store::NewInboxRow;
use super::writer::WriteOutcome;
use super::{Mode, Purpose};

/// WeChat's pushes are small; anything larger is refused before it is read.
pub const MAX_CALLBACK_BODY: usize = 64 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cb/{public_id}", get(verify_url).post(receive))
        .layer(DefaultBodyLimit::max(MAX_CALLBACK_BODY))
}

/// A refused callback: the status, a stable reason code (a metric label) and a sentence.
struct Refusal {
    status: StatusCode,
    reason: &'static str,
    message: String,
}

impl Refusal {
    fn bad(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            reason,
            message: message.into(),
        }
    }
}

impl From<CryptoError> for Refusal {
    fn from(e: CryptoError) -> Self {
        let reason = match e.code() {
            -40001 => "bad_signature",
            -40002 => "bad_envelope",
            -40005 => "wrong_receive_id",
            -40010 => "bad_base64",
            _ => "decrypt_failed",
        };
        Refusal::bad(reason, format!("{e} ({})", e.code()))
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        metrics::counter!("qiao_callback_rejections_total", "reason" => self.reason).increment(1);
        tracing::warn!(reason = self.reason, message = %self.message, "callback refused");
        ApiError::new(self.status, self.reason, self.message).into_response()
    }
}

async fn receiver(state: &AppState, public_id: &str) -> Result<Arc<ReceiverCtx>, Refusal> {
    match state
        .receivers
        .get(&state.store, &state.sealer, public_id)
        .await
    {
        Ok(Some(ctx)) => Ok(ctx),
        Ok(None) => Err(Refusal {
            status: StatusCode::NOT_FOUND,
            reason: "unknown_receiver",
            message: "no callback receiver at this URL".into(),
        }),
        Err(e) => {
            tracing::error!(error = %e, "loading a callback receiver failed");
            Err(Refusal {
                status: StatusCode::SERVICE_UNAVAILABLE,
                reason: "store_unavailable",
                message: "the receiver could not be loaded; WeChat will retry".into(),
            })
        }
    }
}

/// Refuses a timestamp outside the freshness window (on Qiao's clock; 0 turns it off).
fn check_fresh(state: &AppState, query: &CallbackQuery<'_>) -> Result<(), Refusal> {
    let window = state.config.callback_freshness_secs;
    if window == 0 {
        return Ok(());
    }
    let given = query
        .require_timestamp()?
        .parse::<i64>()
        .map_err(|_| Refusal::bad("bad_timestamp", "timestamp is not a number"))?;
    let now = clock::now_ms() / 1000;
    if (now - given).unsigned_abs() > window {
        return Err(Refusal::bad(
            "stale_timestamp",
            format!("timestamp {given} is more than {window} s away from now ({now})"),
        ));
    }
    Ok(())
}

fn parse_query(raw: Option<&str>) -> Result<CallbackQuery<'_>, Refusal> {
    Ok(CallbackQuery::parse(raw.unwrap_or(""))?)
}

async fn verify_url(
    State(state): State<AppState>,
    Path(public_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Refusal> {
    let query = parse_query(raw.as_deref())?;
    let ctx = receiver(&state, &public_id).await?;
    check_fresh(&state, &query)?;
    let body = match ctx.platform {
        Platform::OfficialAccount => ctx.crypt.verify_oa_url(&query)?.as_bytes().to_vec(),
        Platform::WeCom => ctx.crypt.verify_wecom_url(&query)?.into_message(),
    };
    metrics::counter!("qiao_callbacks_total", "outcome" => "url_verified").increment(1);
    tracing::info!(receiver = ctx.id, "callback URL verified");
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response())
}

/// The decrypted push and how to answer it.
struct Opened {
    xml: Vec<u8>,
    /// `Some(format)` when the request was encrypted: the reply is encrypted too.
    encrypted: Option<EnvelopeFormat>,
}

fn open(ctx: &ReceiverCtx, query: &CallbackQuery<'_>, body: &[u8]) -> Result<Opened, Refusal> {
    let encrypted = ctx.platform == Platform::WeCom || query.is_aes();
    if !encrypted {
        if ctx.mode == Mode::Safe {
            return Err(Refusal::bad(
                "mode_mismatch",
                "this receiver is in safe mode but the push is not encrypted: check 消息加密方式 in the back office",
            ));
        }
        verify_plain_query(ctx.crypt.token(), query)?;
        return Ok(Opened {
            xml: body.to_vec(),
            encrypted: None,
        });
    }
    if ctx.mode == Mode::Plain {
        return Err(Refusal::bad(
            "mode_mismatch",
            "this receiver is in plain mode but the push is encrypted: check 消息加密方式 in the back office",
        ));
    }
    let format = EnvelopeFormat::detect(body);
    let opened = ctx.crypt.decrypt_callback(query, body)?;
    Ok(Opened {
        xml: opened.message.into_message(),
        encrypted: Some(format),
    })
}

async fn receive(
    State(state): State<AppState>,
    Path(public_id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Refusal> {
    let body = body.map_err(|e| Refusal {
        status: e.status(),
        reason: if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            "body_too_large"
        } else {
            "bad_body"
        },
        message: e.body_text(),
    })?;
    let query = parse_query(raw.as_deref())?;
    let ctx = receiver(&state, &public_id).await?;
    check_fresh(&state, &query)?;
    let opened = open(&ctx, &query, &body)?;
    if !ctx.enabled {
        // 是否开启应用回调 is off: acknowledge without processing.
        metrics::counter!("qiao_callbacks_total", "outcome" => "ignored").increment(1);
        return Ok((StatusCode::OK, "").into_response());
    }
    let message = Message::parse_bytes(&opened.xml).map_err(|e| {
        Refusal::bad(
            "bad_message",
            format!("the decrypted push is not a WeChat message: {e}"),
        )
    })?;
    let reply = reply_for(&state, &ctx, &message).await;
    let header = message.header();
    let row = NewInboxRow {
        tenant: ctx.tenant,
        receiver_id: ctx.id,
        channel_id: ctx.channel_id,
        dedup_key: message.dedup_key(),
        kind: match (header.msg_type, header.event) {
            (Some("event"), Some(event)) => format!("event:{event}"),
            (Some(msg_type), _) => format!("msg:{msg_type}"),
            (None, _) => "unknown".to_string(),
        },
        from_user: header.from_user_name.unwrap_or_default().to_string(),
        create_time: header.create_time.unwrap_or_default(),
        received_ms: clock::now_ms(),
        raw: String::from_utf8_lossy(&opened.xml).into_owned(),
        reply,
    };
    let computed = row.reply.clone();
    let reply = match state.inbox.write(row).await {
        Ok(WriteOutcome::Stored) => {
            metrics::counter!("qiao_callbacks_total", "outcome" => "processed").increment(1);
            computed
        }
        Ok(WriteOutcome::Duplicate { reply }) => {
            // WeChat's retry of a push already answered: the same answer again, no processing.
            metrics::counter!("qiao_callbacks_total", "outcome" => "duplicate").increment(1);
            reply
        }
        Err(e) => {
            tracing::error!(error = %e, "callback not stored");
            return Err(Refusal {
                status: StatusCode::SERVICE_UNAVAILABLE,
                reason: "store_unavailable",
                message: "the push could not be stored; WeChat will retry".into(),
            });
        }
    };
    answer(&ctx, &query, opened.encrypted, reply.as_deref())
}

/// The passive reply for a push, as plaintext XML, from the channel's auto-reply rules;
/// `None` acknowledges without a reply.
async fn reply_for(state: &AppState, ctx: &ReceiverCtx, message: &Message) -> Option<String> {
    if ctx.purpose != Purpose::Messages {
        return None;
    }
    let action = match message.kind() {
        Inbound::Text(text) => Action::Text(text.content),
        Inbound::Image(_) => Action::Image,
        Inbound::Subscribe(_) if ctx.platform == Platform::OfficialAccount => Action::Subscribe,
        _ => return None,
    };
    let matcher = match state
        .reply_rules
        .matcher(&state.store, ctx.tenant, ctx.channel_id)
        .await
    {
        Ok(matcher) => matcher,
        Err(e) => {
            // Without rules the push is still stored and acknowledged; a reply is optional.
            tracing::error!(error = %e, "loading reply rules failed");
            return None;
        }
    };
    let content = matcher.reply_for(action)?;
    let to = ReplyTo::answering(message, clock::now_ms() / 1000);
    match (Reply::Text { content }).render(ctx.platform, &to) {
        Ok(xml) => Some(xml),
        Err(e) => {
            tracing::warn!(error = %e, "the matching rule's reply cannot be sent");
            None
        }
    }
}

fn answer(
    ctx: &ReceiverCtx,
    query: &CallbackQuery<'_>,
    encrypted: Option<EnvelopeFormat>,
    reply: Option<&str>,
) -> Result<Response, Refusal> {
    let Some(reply) = reply else {
        let ack = if ctx.platform == Platform::OfficialAccount {
            SUCCESS
        } else {
            ""
        };
        return Ok((StatusCode::OK, ack).into_response());
    };
    let body = match encrypted {
        None => reply.to_string(),
        Some(format) => {
            let receive_id = match ctx.crypt.receive_id() {
                wx::crypto::ReceiveId::Exact(id) => id.as_str(),
                wx::crypto::ReceiveId::Any => "",
            };
            ctx.crypt.encrypt_reply(
                format,
                reply.as_bytes(),
                receive_id,
                query.require_timestamp()?,
                query.require_nonce()?,
            )?
        }
    };
    let content_type = if encrypted == Some(EnvelopeFormat::Json) {
        "application/json"
    } else {
        "application/xml; charset=utf-8"
    };
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}
