//! API key authentication: `Authorization: Bearer qiao_…` (or `X-Api-Key: qiao_…`).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::app::AppState;
use crate::audit::Actor;
use crate::auth::api_keys::{self, ApiPrincipal, Scope};
use crate::clock;
use crate::http::{ApiError, REQUEST_ID};

/// The authenticated caller of an API request.
pub struct ApiCaller {
    pub principal: ApiPrincipal,
    pub actor: Actor,
}

impl ApiCaller {
    /// Refuses the request unless the key holds `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.principal.has(scope) {
            Ok(())
        } else {
            Err(
                ApiError::forbidden(format!("this API key lacks the `{}` scope", scope.as_str()))
                    .with_details(serde_json::json!({ "required_scope": scope.as_str() })),
            )
        }
    }
}

fn presented_key(parts: &Parts) -> Option<&str> {
    if let Some(value) = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return value.strip_prefix("Bearer ").map(str::trim);
    }
    parts
        .headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(key) = presented_key(parts) else {
            metrics::counter!("qiao_api_auth_failures_total", "reason" => "missing").increment(1);
            return Err(ApiError::unauthorized(
                "missing API key: send `Authorization: Bearer qiao_…`",
            ));
        };
        let Some(principal) =
            api_keys::authenticate_key(&state.store, key, clock::now_ms()).await?
        else {
            metrics::counter!("qiao_api_auth_failures_total", "reason" => "invalid").increment(1);
            return Err(ApiError::unauthorized(
                "invalid, revoked or expired API key",
            ));
        };
        let actor = Actor {
            name: format!("api_key:{}#{}", principal.name, principal.key_id),
            ip: client_ip(parts),
            request_id: parts
                .headers
                .get(REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        };
        Ok(ApiCaller { principal, actor })
    }
}

/// The peer address of the connection.
pub fn client_ip(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
}
