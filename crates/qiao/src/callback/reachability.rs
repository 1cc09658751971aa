//! The callback step of "test connection": Qiao sends itself, at the external base URL, the
//! signed URL-verification request WeChat or WeCom would send when the admin saves the
//! callback settings in the back office, and says in plain words what would go wrong there.
//!
//! Going out through the external URL (not the local listener) is the point: it proves that
//! the reverse proxy, DNS, TLS and firewall route `/cb/…` to this Qiao, in production as in the
//! demo.

use std::time::Duration;

use rand::RngExt;
use serde::Serialize;
use utoipa::ToSchema;
use wx::crypto::ReceiveId;
use wx::message::Platform;

use crate::app::AppState;
use crate::channels::{self, Channel, ChannelKind};
use crate::clock;
use crate::gateway::{ConnectionTest, GatewayError};
use crate::store::{StoreError, TenantId};

use super::{Purpose, receiver_url, store};

/// WeChat gives a callback URL 5 s to answer; a slower answer fails in the back office too.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(5);

/// The outcome of the callback step for one receiver.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallbackCheck {
    /// The receiver tested; null when the channel has none yet.
    pub receiver_id: Option<i64>,
    pub purpose: Purpose,
    /// The callback URL under the external base URL (what the back office calls).
    pub url: Option<String>,
    /// The URL answered the verification request correctly.
    pub reachable: bool,
    /// Reachable and 是否开启应用回调 is on: pushes will be processed.
    pub ok: bool,
    /// What is wrong, in plain words.
    pub problem: Option<String>,
    /// How to fix it.
    pub fix: Option<String>,
}

impl CallbackCheck {
    fn failed(receiver_id: Option<i64>, purpose: Purpose, url: Option<String>, why: Why) -> Self {
        let (problem, fix) = why.explain(url.as_deref().unwrap_or_default());
        Self {
            receiver_id,
            purpose,
            url,
            reachable: false,
            ok: false,
            problem: Some(problem),
            fix: Some(fix),
        }
    }
}

/// Why a verification request failed.
#[derive(Debug)]
enum Why {
    NoReceiver,
    /// The receiver was deleted while being tested.
    Gone,
    Refused,
    Timeout,
    /// Any other transport failure (DNS, TLS, reset…); the text has no URL in it.
    Transport(String),
    WrongAnswer {
        status: u16,
        detail: String,
    },
}

impl Why {
    fn explain(&self, url: &str) -> (String, String) {
        let reach = "check that the external base URL (基础参数设置) is this server's public address, and that DNS, the reverse proxy and the firewall let WeChat's servers reach it";
        match self {
            Why::NoReceiver => (
                "this channel has no callback receiver, so WeChat cannot push to Qiao".into(),
                "add one under 回调设置 (callback settings), paste its URL, Token and EncodingAESKey into the back office, then turn 是否开启应用回调 on".into(),
            ),
            Why::Gone => (
                "the callback receiver was deleted while it was being tested".into(),
                "add the receiver again under 回调设置 (callback settings)".into(),
            ),
            Why::Refused => (
                format!("the connection to {url} was refused: nothing listens at the external base URL"),
                reach.into(),
            ),
            Why::Timeout => (
                format!("{url} did not answer within {} s, after which WeChat gives up", VERIFY_TIMEOUT.as_secs()),
                reach.into(),
            ),
            Why::Transport(why) => (format!("{url} could not be reached: {why}"), reach.into()),
            Why::WrongAnswer { status, detail } => (
                format!("{url} answered the verification request wrongly (HTTP {status}{detail}): WeChat would refuse to save the URL"),
                "make the external base URL route /cb/ to this Qiao unchanged (no redirect, no rewriting, no other server in between) and check that no other Qiao answers there".into(),
            ),
        }
    }
}

/// Test connection as the API and the console run it: the token step, then the callback
/// step for each of the channel's receivers.
pub async fn test_connection(
    state: &AppState,
    tenant: TenantId,
    channel_id: i64,
) -> Result<ConnectionTest, GatewayError> {
    let mut test = state.gateway.test_connection(tenant, channel_id).await?;
    let channel = channels::get(&state.store, &state.sealer, tenant, channel_id)
        .await?
        .ok_or(GatewayError::NotFound)?;
    test.callbacks = check_channel(state, tenant, &channel).await?;
    Ok(test)
}

/// One check per receiver of the channel; an Official Account or WeCom app without a message
/// receiver is reported as such (a corp's contact receivers are optional).
async fn check_channel(
    state: &AppState,
    tenant: TenantId,
    channel: &Channel,
) -> Result<Vec<CallbackCheck>, StoreError> {
    let rows = store::receivers_of_channel(&state.store, tenant, channel.id).await?;
    let needs_messages = matches!(
        channel.kind,
        ChannelKind::OfficialAccount | ChannelKind::WecomApp
    );
    if rows.is_empty() {
        return Ok(if needs_messages {
            vec![CallbackCheck::failed(
                None,
                Purpose::Messages,
                None,
                Why::NoReceiver,
            )]
        } else {
            Vec::new()
        });
    }
    let external_url = crate::settings::effective(&state.store, tenant, &state.config)
        .await?
        .external_url;
    // One client per test: a rare admin action, and its settings (timeout, no redirects)
    // belong to this check alone.
    let client = match reqwest::Client::builder()
        .timeout(VERIFY_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the HTTP client of test connection");
            return Ok(rows
                .iter()
                .map(|row| {
                    let url = receiver_url(&external_url, &row.public_id);
                    let why = Why::Transport("this server cannot make HTTP requests".into());
                    CallbackCheck::failed(Some(row.id), row.purpose, Some(url), why)
                })
                .collect());
        }
    };
    let mut checks = Vec::with_capacity(rows.len());
    for row in rows {
        let url = receiver_url(&external_url, &row.public_id);
        let check = check_receiver(state, &client, row.id, row.purpose, &row.public_id, url);
        checks.push(check.await?);
    }
    Ok(checks)
}

/// Sends the verification request WeChat sends on "save": Official Accounts a plain
/// `signature` and `echostr` to be echoed; WeCom an `echostr` encrypted for the CorpID under
/// `msg_signature`, to be answered with its plaintext.
async fn check_receiver(
    state: &AppState,
    client: &reqwest::Client,
    receiver_id: i64,
    purpose: Purpose,
    public_id: &str,
    url: String,
) -> Result<CallbackCheck, StoreError> {
    // The receiver as the callback path sees it: same Token, key and receive id.
    let Some(ctx) = state
        .receivers
        .get(&state.store, &state.sealer, public_id)
        .await?
    else {
        return Ok(CallbackCheck::failed(
            Some(receiver_id),
            purpose,
            Some(url),
            Why::Gone,
        ));
    };
    let (echostr, nonce) = {
        let mut rng = rand::rng();
        (
            rng.random_range(10u64.pow(17)..10u64.pow(19)).to_string(),
            rng.random_range(100_000_000u64..10_000_000_000).to_string(),
        )
    };
    let timestamp = (clock::now_ms() / 1000).to_string();
    let query = match ctx.platform {
        Platform::OfficialAccount => {
            let signature = ctx.crypt.signature(&timestamp, &nonce);
            vec![
                ("signature", signature.as_str().to_string()),
                ("timestamp", timestamp),
                ("nonce", nonce),
                ("echostr", echostr.clone()),
            ]
        }
        Platform::WeCom => {
            let receive_id = match ctx.crypt.receive_id() {
                ReceiveId::Exact(id) => id.as_str(),
                ReceiveId::Any => "",
            };
            let encrypted = match ctx.crypt.encrypt(echostr.as_bytes(), receive_id) {
                Ok(encrypted) => encrypted,
                Err(e) => {
                    let why =
                        Why::Transport(format!("the echostr cannot be encrypted ({})", e.code()));
                    return Ok(CallbackCheck::failed(
                        Some(receiver_id),
                        purpose,
                        Some(url),
                        why,
                    ));
                }
            };
            let signature = ctx.crypt.msg_signature(&timestamp, &nonce, &encrypted);
            vec![
                ("msg_signature", signature.as_str().to_string()),
                ("timestamp", timestamp),
                ("nonce", nonce),
                ("echostr", encrypted),
            ]
        }
    };
    let outcome = match client.get(&url).query(&query).send().await {
        Ok(response) => {
            let status = response.status();
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = response.text().await.unwrap_or_default();
            if status == reqwest::StatusCode::OK && body == echostr {
                Ok(())
            } else {
                let detail = match location {
                    Some(to) if status.is_redirection() => format!(", redirected to {to}"),
                    _ if status == reqwest::StatusCode::OK => {
                        ", not the echostr it was sent".to_string()
                    }
                    _ => String::new(),
                };
                Err(Why::WrongAnswer {
                    status: status.as_u16(),
                    detail,
                })
            }
        }
        // reqwest's own texts carry the URL with the signed query: only the kind is told.
        Err(e) if e.is_timeout() => Err(Why::Timeout),
        Err(e) if e.is_connect() && connection_refused(&e) => Err(Why::Refused),
        Err(e) if e.is_connect() => Err(Why::Transport("the connection failed".into())),
        Err(_) => Err(Why::Transport("the request failed".into())),
    };
    Ok(match outcome {
        Err(why) => CallbackCheck::failed(Some(receiver_id), purpose, Some(url), why),
        Ok(()) if !ctx.enabled => CallbackCheck {
            receiver_id: Some(receiver_id),
            purpose,
            url: Some(url),
            reachable: true,
            ok: false,
            problem: Some("the URL answers, but 是否开启应用回调 is off: pushes get an empty 200 and are ignored".into()),
            fix: Some("turn 是否开启应用回调 on under 回调设置 (callback settings) once the back office has saved the URL".into()),
        },
        Ok(()) => CallbackCheck {
            receiver_id: Some(receiver_id),
            purpose,
            url: Some(url),
            reachable: true,
            ok: true,
            problem: None,
            fix: None,
        },
    })
}

/// Whether a connect error is "connection refused" (nothing listening), as opposed to an
/// unreachable network or a DNS failure.
fn connection_refused(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        source = err.source();
    }
    false
}
