//! 接收消息: a channel's callback receivers (the values to paste into the back office, the
//! switch, the mode, key regeneration) and the inbox view (消息日志).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::callback::{
    self, CallbackError, Callbacks, Mode, NewReceiver, Purpose, ReceiverPatch, ReceiverValues,
};
use crate::channels::{self, Channel};
use crate::clock;

use super::i18n::format_time;
use super::{Console, ConsoleError, ConsoleForm, PageCtx, render, render_status, store_error};

/// A receiver with the values an admin pastes (in clear for those who may change settings:
/// the reveal listed in `secrets::reveal`; masked for read-only roles).
pub struct ReceiverView {
    pub id: i64,
    pub purpose: &'static str,
    pub mode: &'static str,
    pub enabled: bool,
    pub values: ReceiverValues,
}

#[derive(Template)]
#[template(path = "console/receivers.html")]
struct ReceiversPage {
    ctx: PageCtx,
    channel: Channel,
    back: String,
    receivers: Vec<ReceiverView>,
    /// Purposes this channel can still get a receiver for.
    missing: Vec<&'static str>,
    is_official_account: bool,
}

async fn show(
    state: &AppState,
    console: &Console,
    channel_id: i64,
    status: StatusCode,
    flash: Option<String>,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    let tenant = console.session.tenant;
    let Some(channel) = channels::get(&state.store, &state.sealer, tenant, channel_id)
        .await
        .map_err(store_error)?
    else {
        return Ok(super::message_page(
            console.t,
            StatusCode::NOT_FOUND,
            &CallbackError::NotFound.to_string(),
        ));
    };
    let (callbacks, ip) = Callbacks::for_tenant(state, console.session.tenant)
        .await
        .map_err(store_error)?;
    let reveal = console.session.user.role.can_write();
    let mut receivers = Vec::new();
    for receiver in callbacks
        .list(tenant, channel_id)
        .await
        .map_err(store_error)?
    {
        let mut values = match callbacks.values(tenant, receiver.id, ip.clone()).await {
            Ok(values) => values,
            Err(CallbackError::Store(e)) => return Err(store_error(e)),
            Err(_) => continue,
        };
        if !reveal {
            values.token = receiver.token.clone();
            values.encoding_aes_key = receiver.encoding_aes_key.clone();
        }
        receivers.push(ReceiverView {
            id: receiver.id,
            purpose: receiver.purpose.as_str(),
            mode: receiver.mode.as_str(),
            enabled: receiver.enabled,
            values,
        });
    }
    let missing = [Purpose::Messages, Purpose::Contacts, Purpose::Customers]
        .into_iter()
        .filter(|p| p.fits(channel.kind) && !receivers.iter().any(|r| r.purpose == p.as_str()))
        .map(Purpose::as_str)
        .collect();
    let mut ctx = console.ctx();
    ctx.flash = flash;
    ctx.error = error;
    let page = ReceiversPage {
        ctx,
        back: format!("/console/channels/{channel_id}"),
        is_official_account: channel.kind == channels::ChannelKind::OfficialAccount,
        channel,
        receivers,
        missing,
    };
    Ok(render_status(status, &page))
}

#[derive(Deserialize)]
pub struct Flash {
    saved: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    console: Console,
    Query(flash): Query<Flash>,
) -> Result<Response, ConsoleError> {
    let flash = flash.saved.map(|_| console.t.saved.to_string());
    show(&state, &console, id, StatusCode::OK, flash, None).await
}

#[derive(Deserialize)]
pub struct CreateForm {
    purpose: String,
}

pub async fn create(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ConsoleForm { console, form }: ConsoleForm<CreateForm>,
) -> Result<Response, ConsoleError> {
    console.require_write()?;
    let tenant = console.session.tenant;
    let Some(channel) = channels::get(&state.store, &state.sealer, tenant, id)
        .await
        .map_err(store_error)?
    else {
        return Ok(super::message_page(
            console.t,
            StatusCode::NOT_FOUND,
            &CallbackError::NotFound.to_string(),
        ));
    };
    let (callbacks, _) = Callbacks::for_tenant(&state, console.session.tenant)
        .await
        .map_err(store_error)?;
    let new = NewReceiver {
        purpose: Purpose::parse(&form.purpose),
        ..Default::default()
    };
    match callbacks
        .create(tenant, &channel, new, &console.actor(), clock::now_ms())
        .await
    {
        Ok(_) => {
            Ok(Redirect::to(&format!("/console/channels/{id}/callbacks?saved=1")).into_response())
        }
        Err(CallbackError::Store(e)) => Err(store_error(e)),
        Err(e) => {
            show(
                &state,
                &console,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(e.to_string()),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct UpdateForm {
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    enabled: Option<String>,
    #[serde(default)]
    regenerate: Option<String>,
}

pub async fn update(
    State(state): State<AppState>,
    Path((channel_id, receiver_id)): Path<(i64, i64)>,
    ConsoleForm { console, form }: ConsoleForm<UpdateForm>,
) -> Result<Response, ConsoleError> {
    console.require_write()?;
    let (callbacks, _) = Callbacks::for_tenant(&state, console.session.tenant)
        .await
        .map_err(store_error)?;
    let patch = ReceiverPatch {
        mode: form.mode.as_deref().and_then(Mode::parse),
        enabled: Some(form.enabled.is_some()),
        regenerate_encoding_aes_key: form.regenerate.is_some(),
        ..Default::default()
    };
    match callbacks
        .update(
            console.session.tenant,
            receiver_id,
            patch,
            &console.actor(),
            clock::now_ms(),
        )
        .await
    {
        Ok(_) => Ok(
            Redirect::to(&format!("/console/channels/{channel_id}/callbacks?saved=1"))
                .into_response(),
        ),
        Err(CallbackError::Store(e)) => Err(store_error(e)),
        Err(e) => {
            show(
                &state,
                &console,
                channel_id,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(e.to_string()),
            )
            .await
        }
    }
}

pub struct InboxRow {
    pub id: i64,
    pub time: String,
    pub channel: String,
    pub kind: String,
    pub from_user: String,
    pub payload: String,
    pub reply: String,
}

#[derive(Template)]
#[template(path = "console/inbox.html")]
struct InboxPage {
    ctx: PageCtx,
    rows: Vec<InboxRow>,
    /// (id, name, selected).
    channels: Vec<(i64, String, bool)>,
    channel: Option<i64>,
    kind: String,
    older: Option<i64>,
}

#[derive(Deserialize)]
pub struct InboxFilter {
    #[serde(default)]
    channel: String,
    #[serde(default)]
    kind: String,
    before: Option<i64>,
}

const INBOX_PAGE: i64 = 50;

pub async fn inbox(
    State(state): State<AppState>,
    console: Console,
    Query(filter): Query<InboxFilter>,
) -> Result<Response, ConsoleError> {
    let tenant = console.session.tenant;
    let channel = filter.channel.parse::<i64>().ok();
    let kind = filter.kind.trim().to_string();
    let entries = callback::inbox(
        &state.store,
        tenant,
        channel,
        (!kind.is_empty()).then_some(kind.as_str()),
        filter.before,
        INBOX_PAGE,
    )
    .await
    .map_err(store_error)?;
    let all = channels::list(&state.store, &state.sealer, tenant, None)
        .await
        .map_err(store_error)?;
    let name = |id: i64| {
        all.iter()
            .find(|c| c.id == id)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let older = (entries.len() as i64 == INBOX_PAGE)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    let rows = entries
        .into_iter()
        .map(|e| InboxRow {
            id: e.id,
            time: format_time(e.received_ms),
            channel: name(e.channel_id),
            kind: e.kind,
            from_user: e.from_user,
            payload: e.payload.to_string(),
            reply: e.reply.unwrap_or_default(),
        })
        .collect();
    Ok(render(&InboxPage {
        ctx: console.ctx(),
        rows,
        channels: all
            .iter()
            .map(|c| (c.id, c.name.clone(), Some(c.id) == channel))
            .collect(),
        channel,
        kind,
        older,
    }))
}
