//! `/channels/{id}/callbacks`, `/callbacks/{id}` and `/inbox`: callback receivers and what
//! they received.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::api_keys::Scope;
use crate::callback::{
    self, CallbackError, Callbacks, InboxEntry, NewReceiver, Receiver, ReceiverPatch,
    ReceiverValues,
};
use crate::channels;
use crate::clock;
use crate::http::{ApiError, ErrorBody};

use super::{ApiCaller, ApiJson, ApiPath, ApiQuery};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_receivers, post_receiver))
        .routes(routes!(patch_receiver, delete_receiver))
        .routes(routes!(get_receiver_values))
        .routes(routes!(list_inbox))
}

impl From<CallbackError> for ApiError {
    fn from(e: CallbackError) -> Self {
        match e {
            CallbackError::Invalid { field, why } => ApiError::invalid_field(field, why),
            CallbackError::NotFound => ApiError::not_found(e.to_string()),
            CallbackError::Exists(_) => ApiError::conflict(e.to_string()),
            CallbackError::Store(e) => e.into(),
        }
    }
}

/// A channel's callback receivers (Token and EncodingAESKey masked).
#[utoipa::path(get, path = "/channels/{id}/callbacks", tag = "callbacks",
    params(("id" = i64, Path, description = "channel id")),
    responses((status = 200, body = Vec<Receiver>), (status = 401, body = ErrorBody)))]
async fn list_receivers(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<Receiver>>, ApiError> {
    caller.require(Scope::Read)?;
    let tenant = caller.principal.tenant;
    let (callbacks, _) = Callbacks::for_tenant(&state, tenant).await?;
    Ok(Json(callbacks.list(tenant, id).await?))
}

/// Creates a receiver (off until enabled). Token and EncodingAESKey are generated unless
/// given (pasted from the back office).
#[utoipa::path(post, path = "/channels/{id}/callbacks", tag = "callbacks", request_body = NewReceiver,
    params(("id" = i64, Path, description = "channel id")),
    responses((status = 201, body = Receiver), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn post_receiver(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NewReceiver>,
) -> Result<(StatusCode, Json<Receiver>), ApiError> {
    caller.require(Scope::Admin)?;
    let tenant = caller.principal.tenant;
    let channel = channels::get(&state.store, &state.sealer, tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such channel"))?;
    let (callbacks, _) = Callbacks::for_tenant(&state, tenant).await?;
    let receiver = callbacks
        .create(tenant, &channel, body, &caller.actor, clock::now_ms())
        .await?;
    Ok((StatusCode::CREATED, Json(receiver)))
}

/// Changes a receiver: mode, the 是否开启应用回调 switch, Token, EncodingAESKey (given or
/// regenerated).
#[utoipa::path(patch, path = "/callbacks/{id}", tag = "callbacks", request_body = ReceiverPatch,
    params(("id" = i64, Path, description = "receiver id")),
    responses((status = 200, body = Receiver), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn patch_receiver(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ReceiverPatch>,
) -> Result<Json<Receiver>, ApiError> {
    caller.require(Scope::Admin)?;
    let tenant = caller.principal.tenant;
    let (callbacks, _) = Callbacks::for_tenant(&state, tenant).await?;
    Ok(Json(
        callbacks
            .update(tenant, id, body, &caller.actor, clock::now_ms())
            .await?,
    ))
}

/// Deletes a receiver and its inbox.
#[utoipa::path(delete, path = "/callbacks/{id}", tag = "callbacks",
    params(("id" = i64, Path, description = "receiver id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_receiver(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Admin)?;
    let tenant = caller.principal.tenant;
    let (callbacks, _) = Callbacks::for_tenant(&state, tenant).await?;
    callbacks
        .delete(tenant, id, &caller.actor, clock::now_ms())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The values to paste into the WeChat / WeCom back office, in clear (admin scope only).
#[utoipa::path(get, path = "/callbacks/{id}/values", tag = "callbacks",
    params(("id" = i64, Path, description = "receiver id")),
    responses((status = 200, body = ReceiverValues), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn get_receiver_values(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ReceiverValues>, ApiError> {
    caller.require(Scope::Admin)?;
    let tenant = caller.principal.tenant;
    let (callbacks, ip) = Callbacks::for_tenant(&state, tenant).await?;
    Ok(Json(callbacks.values(tenant, id, ip).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct InboxQuery {
    /// Only this channel.
    pub channel: Option<i64>,
    /// Only kinds starting with this (`msg:text`, `event:`…).
    pub kind: Option<String>,
    /// Only entries older than this id (next page).
    pub before: Option<i64>,
    /// Page size, 1–500 (default 100).
    pub limit: Option<i64>,
}

/// What the receivers got, newest first, decrypted (secrets in suite events masked).
#[utoipa::path(get, path = "/inbox", tag = "callbacks", params(InboxQuery),
    responses((status = 200, body = Vec<InboxEntry>), (status = 401, body = ErrorBody)))]
async fn list_inbox(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(query): ApiQuery<InboxQuery>,
) -> Result<Json<Vec<InboxEntry>>, ApiError> {
    caller.require(Scope::Read)?;
    let entries = callback::inbox(
        &state.store,
        caller.principal.tenant,
        query.channel,
        query.kind.as_deref(),
        query.before,
        query.limit.unwrap_or(100),
    )
    .await?;
    Ok(Json(entries))
}
