//! Calls to WeChat on behalf of a channel: the token broker, token state, test connection,
//! and reads (followers, members) that business systems and tests use.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::api_keys::Scope;
use crate::callback::reachability;
use crate::gateway::{ChannelTokenState, ConnectionTest, GatewayError, TokenState};
use crate::http::{ApiError, ErrorBody};

use super::{ApiCaller, ApiPath, ApiQuery};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_token))
        .routes(routes!(get_token_state))
        .routes(routes!(list_token_states))
        .routes(routes!(post_test_connection))
        .routes(routes!(get_followers))
        .routes(routes!(get_member))
}

impl From<GatewayError> for ApiError {
    fn from(e: GatewayError) -> Self {
        match e {
            GatewayError::NotFound => ApiError::not_found("no such channel"),
            GatewayError::Unsupported(why) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unsupported", why)
            }
            GatewayError::MissingSecret(_) | GatewayError::BadEndpoint(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "channel_incomplete",
                e.to_string(),
            ),
            GatewayError::Busy {
                retry_after_secs,
                error,
            } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "wechat_busy",
                format!("WeChat kept refusing the call until Qiao's retry budget ran out; it is safe to try again later: {error}"),
            )
            .with_details(serde_json::json!({ "errcode": error.errcode() }))
            .with_retry_after(retry_after_secs),
            GatewayError::Call(call) => {
                let details = serde_json::json!({
                    "errcode": call.errcode(),
                    "ip": call.ip().map(|ip| ip.to_string()),
                });
                let status = if call.is_config_error() {
                    StatusCode::FAILED_DEPENDENCY
                } else {
                    StatusCode::BAD_GATEWAY
                };
                ApiError::new(status, "wechat_error", call.to_string()).with_details(details)
            }
            GatewayError::Tokens(e) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "token_unavailable", e.to_string())
            }
            GatewayError::Store(e) => e.into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BrokeredToken {
    pub channel_id: i64,
    /// The access token to call WeChat with. Do not fetch tokens for this AppID elsewhere:
    /// every fetch invalidates or competes with this one.
    pub access_token: String,
    pub expires_at_ms: i64,
}

/// The token broker: the channel's current access token (reveal: scope `tokens`).
#[utoipa::path(get, path = "/tokens/{channel}", tag = "tokens",
    params(("channel" = i64, Path, description = "channel id")),
    responses((status = 200, body = BrokeredToken), (status = 403, body = ErrorBody),
              (status = 424, body = ErrorBody), (status = 502, body = ErrorBody),
              (status = 503, description = "WeChat still rate-limited or unreachable; see Retry-After", body = ErrorBody)))]
async fn get_token(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(channel): ApiPath<i64>,
) -> Result<Json<BrokeredToken>, ApiError> {
    caller.require(Scope::Tokens)?;
    let token = state
        .gateway
        .token(caller.principal.tenant, channel)
        .await?;
    Ok(Json(BrokeredToken {
        channel_id: channel,
        access_token: token.value,
        expires_at_ms: token.expires_at_ms,
    }))
}

/// Token state: valid until, last refresh, last error, fetches today, notable events.
#[utoipa::path(get, path = "/channels/{id}/token-state", tag = "tokens",
    params(("id" = i64, Path, description = "channel id")),
    responses((status = 200, body = TokenState), (status = 404, body = ErrorBody)))]
async fn get_token_state(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<TokenState>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(
        state.gateway.state(caller.principal.tenant, id).await?,
    ))
}

/// Token state of every channel (never a token): valid until, last refresh, last error,
/// today's fetches against the daily quota with a warning from 80 %.
#[utoipa::path(get, path = "/token-states", tag = "tokens",
    responses((status = 200, body = [ChannelTokenState]), (status = 403, body = ErrorBody)))]
async fn list_token_states(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<ChannelTokenState>>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(state.gateway.states(caller.principal.tenant).await?))
}

/// Test connection: fetch a token, then send each callback URL the verification request
/// WeChat would send at the external base URL; explain every failure with its fix.
#[utoipa::path(post, path = "/channels/{id}/test-connection", tag = "tokens",
    params(("id" = i64, Path, description = "channel id")),
    responses((status = 200, body = ConnectionTest), (status = 404, body = ErrorBody)))]
async fn post_test_connection(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ConnectionTest>, ApiError> {
    caller.require(Scope::Admin)?;
    Ok(Json(
        reachability::test_connection(&state, caller.principal.tenant, id).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct FollowerQuery {
    /// The cursor returned by the previous page.
    pub next_openid: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Followers {
    pub total: i64,
    pub openids: Vec<String>,
    pub next_openid: String,
}

/// One page of an Official Account's followers, read from WeChat.
#[utoipa::path(get, path = "/channels/{id}/followers", tag = "tokens", params(FollowerQuery,
    ("id" = i64, Path, description = "channel id")),
    responses((status = 200, body = Followers), (status = 502, body = ErrorBody),
              (status = 503, description = "WeChat still rate-limited or unreachable after Qiao's retries; see Retry-After", body = ErrorBody)))]
async fn get_followers(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<FollowerQuery>,
) -> Result<Json<Followers>, ApiError> {
    caller.require(Scope::Read)?;
    let page = state
        .gateway
        .followers(caller.principal.tenant, id, query.next_openid)
        .await?;
    Ok(Json(Followers {
        total: page.total,
        openids: page.data.map(|d| d.openid).unwrap_or_default(),
        next_openid: page.next_openid,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Member {
    pub userid: String,
    pub name: String,
    pub department: Vec<i64>,
    pub position: String,
}

/// A WeCom member, read from WeCom through an app or the corp's contact-sync secret.
#[utoipa::path(get, path = "/channels/{id}/members/{userid}", tag = "tokens",
    params(("id" = i64, Path, description = "channel id"), ("userid" = String, Path, description = "userid")),
    responses((status = 200, body = Member), (status = 502, body = ErrorBody),
              (status = 503, description = "WeChat still rate-limited or unreachable after Qiao's retries; see Retry-After", body = ErrorBody)))]
async fn get_member(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath((id, userid)): ApiPath<(i64, String)>,
) -> Result<Json<Member>, ApiError> {
    caller.require(Scope::Read)?;
    let user = state
        .gateway
        .member(caller.principal.tenant, id, &userid)
        .await?;
    Ok(Json(Member {
        userid: user.userid,
        name: user.name,
        department: user.department,
        position: user.position,
    }))
}
