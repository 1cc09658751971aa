//! `/channels`: Official Accounts, WeCom corps and apps, Mini Programs. Secrets are write-only:
//! responses show them masked.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::api_keys::Scope;
use crate::channels::{self, Channel, ChannelError, ChannelKind, ChannelPatch, NewChannel};
use crate::clock;
use crate::http::{ApiError, ErrorBody};

use super::{ApiCaller, ApiJson, ApiPath, ApiQuery};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_channels, post_channel))
        .routes(routes!(get_channel, patch_channel, delete_channel))
}

impl From<ChannelError> for ApiError {
    fn from(e: ChannelError) -> Self {
        match e {
            ChannelError::Invalid { field, why } => ApiError::invalid_field(field, why),
            ChannelError::Duplicate(_) => ApiError::conflict(e.to_string()),
            ChannelError::NotFound => ApiError::not_found(e.to_string()),
            ChannelError::InUse(ref users) => ApiError::conflict(e.to_string())
                .with_details(serde_json::json!({ "used_by": users })),
            ChannelError::Store(e) => e.into(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ChannelQuery {
    /// Only channels of this kind: official_account, wecom_corp, wecom_app, mini_program.
    pub kind: Option<String>,
}

/// All channels (secrets masked).
#[utoipa::path(get, path = "/channels", tag = "channels", params(ChannelQuery),
    responses((status = 200, body = Vec<Channel>), (status = 401, body = ErrorBody)))]
async fn list_channels(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(query): ApiQuery<ChannelQuery>,
) -> Result<Json<Vec<Channel>>, ApiError> {
    caller.require(Scope::Read)?;
    let kind = match query.kind.as_deref() {
        None | Some("") => None,
        Some(k) => Some(
            ChannelKind::parse(k)
                .ok_or_else(|| ApiError::invalid_field("kind", format!("unknown kind `{k}`")))?,
        ),
    };
    Ok(Json(
        channels::list(&state.store, &state.sealer, caller.principal.tenant, kind).await?,
    ))
}

/// Registers a channel. Secrets are sealed at rest and never returned.
#[utoipa::path(post, path = "/channels", tag = "channels", request_body = NewChannel,
    responses((status = 201, body = Channel), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn post_channel(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(body): ApiJson<NewChannel>,
) -> Result<(StatusCode, Json<Channel>), ApiError> {
    caller.require(Scope::Admin)?;
    let channel = channels::create(
        &state.store,
        &state.sealer,
        caller.principal.tenant,
        body,
        &caller.actor,
        clock::now_ms(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(channel)))
}

/// One channel (secrets masked).
#[utoipa::path(get, path = "/channels/{id}", tag = "channels",
    params(("id" = i64, Path, description = "channel id")),
    responses((status = 200, body = Channel), (status = 404, body = ErrorBody)))]
async fn get_channel(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Channel>, ApiError> {
    caller.require(Scope::Read)?;
    channels::get(&state.store, &state.sealer, caller.principal.tenant, id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("no such channel"))
}

/// Changes a channel: absent fields stay; `secrets` replaces the named secrets.
#[utoipa::path(patch, path = "/channels/{id}", tag = "channels", request_body = ChannelPatch,
    params(("id" = i64, Path, description = "channel id")),
    responses((status = 200, body = Channel), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn patch_channel(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ChannelPatch>,
) -> Result<Json<Channel>, ApiError> {
    caller.require(Scope::Admin)?;
    let channel = channels::update(
        &state.store,
        &state.sealer,
        caller.principal.tenant,
        id,
        body,
        &caller.actor,
        clock::now_ms(),
    )
    .await?;
    Ok(Json(channel))
}

/// Deletes a channel nothing uses; otherwise 409 with what uses it.
#[utoipa::path(delete, path = "/channels/{id}", tag = "channels",
    params(("id" = i64, Path, description = "channel id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_channel(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Admin)?;
    channels::delete(
        &state.store,
        caller.principal.tenant,
        id,
        &caller.actor,
        clock::now_ms(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
