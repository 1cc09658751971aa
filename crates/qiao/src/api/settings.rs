//! `/settings`: 基础参数设置 (external base URL, public egress IP).

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::api_keys::Scope;
use crate::clock;
use crate::http::{ApiError, ErrorBody};
use crate::settings::{self, BasicSettings, EffectiveSettings, SettingsError};
use crate::store::TenantId;

use super::{ApiCaller, ApiJson};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_settings, put_settings))
}

impl From<SettingsError> for ApiError {
    fn from(e: SettingsError) -> Self {
        match e {
            SettingsError::Invalid { field, why } => ApiError::invalid_field(field, why),
            SettingsError::Store(e) => e.into(),
        }
    }
}

/// The settings in effect, and what was stored (unset values fall back to configuration).
#[utoipa::path(get, path = "/settings", tag = "settings",
    responses((status = 200, body = EffectiveSettings), (status = 401, body = ErrorBody)))]
async fn get_settings(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<EffectiveSettings>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(
        settings::effective(&state.store, caller.principal.tenant, &state.config).await?,
    ))
}

/// Replaces the stored settings; a null or empty value falls back to configuration.
#[utoipa::path(put, path = "/settings", tag = "settings", request_body = BasicSettings,
    responses((status = 200, body = EffectiveSettings), (status = 422, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn put_settings(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(body): ApiJson<BasicSettings>,
) -> Result<Json<EffectiveSettings>, ApiError> {
    caller.require(Scope::Admin)?;
    let tenant: TenantId = caller.principal.tenant;
    settings::update_basic(&state.store, tenant, body, &caller.actor, clock::now_ms()).await?;
    Ok(Json(
        settings::effective(&state.store, tenant, &state.config).await?,
    ))
}
