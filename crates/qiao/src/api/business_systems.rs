//! `/business-systems`: the business systems, and the API keys bound to them.
//!
//! A key bound to a business system sees only that system here (others are not found) and
//! cannot create systems.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::api_keys::{self, ApiKey, Scope};
use crate::business_systems::{
    self, BusinessSystem, BusinessSystemError, BusinessSystemPatch, NewBusinessSystem,
};
use crate::clock;
use crate::http::{ApiError, ErrorBody};

use super::access::{CreatedApiKey, NewApiKey};
use super::{ApiCaller, ApiJson, ApiPath};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_systems, post_system))
        .routes(routes!(get_system, patch_system, delete_system))
        .routes(routes!(list_system_keys, post_system_key))
        .routes(routes!(delete_system_key))
}

impl From<BusinessSystemError> for ApiError {
    fn from(e: BusinessSystemError) -> Self {
        match e {
            BusinessSystemError::Invalid { field, why } => ApiError::invalid_field(field, why),
            BusinessSystemError::Duplicate(_) => ApiError::conflict(e.to_string()),
            BusinessSystemError::NotFound | BusinessSystemError::KeyNotFound => {
                ApiError::not_found(e.to_string())
            }
            BusinessSystemError::Store(e) => e.into(),
        }
    }
}

/// Refuses a key bound to another business system (as not found: it need not know the
/// others exist).
pub(super) fn check_system(caller: &ApiCaller, id: i64) -> Result<(), ApiError> {
    match caller.principal.business_system_id {
        Some(own) if own != id => Err(BusinessSystemError::NotFound.into()),
        _ => Ok(()),
    }
}

/// The business systems (a bound key sees its own only).
#[utoipa::path(get, path = "/business-systems", tag = "business systems",
    responses((status = 200, body = Vec<BusinessSystem>), (status = 401, body = ErrorBody)))]
async fn list_systems(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<BusinessSystem>>, ApiError> {
    caller.require(Scope::Read)?;
    let all = business_systems::list(&state.store, caller.principal.tenant).await?;
    Ok(Json(
        all.into_iter()
            .filter(|s| check_system(&caller, s.id).is_ok())
            .collect(),
    ))
}

/// Registers a business system.
#[utoipa::path(post, path = "/business-systems", tag = "business systems",
    request_body = NewBusinessSystem,
    responses((status = 201, body = BusinessSystem), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn post_system(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(body): ApiJson<NewBusinessSystem>,
) -> Result<(StatusCode, Json<BusinessSystem>), ApiError> {
    caller.require(Scope::Admin)?;
    if caller.principal.business_system_id.is_some() {
        return Err(ApiError::forbidden(
            "a key bound to a business system cannot create business systems",
        ));
    }
    let system = business_systems::create(
        &state.store,
        caller.principal.tenant,
        body,
        &caller.actor,
        clock::now_ms(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(system)))
}

/// One business system.
#[utoipa::path(get, path = "/business-systems/{id}", tag = "business systems",
    params(("id" = i64, Path, description = "business system id")),
    responses((status = 200, body = BusinessSystem), (status = 404, body = ErrorBody)))]
async fn get_system(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<BusinessSystem>, ApiError> {
    caller.require(Scope::Read)?;
    check_system(&caller, id)?;
    business_systems::get(&state.store, caller.principal.tenant, id)
        .await?
        .map(Json)
        .ok_or_else(|| BusinessSystemError::NotFound.into())
}

/// Changes a business system: absent fields stay.
#[utoipa::path(patch, path = "/business-systems/{id}", tag = "business systems",
    request_body = BusinessSystemPatch,
    params(("id" = i64, Path, description = "business system id")),
    responses((status = 200, body = BusinessSystem), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn patch_system(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<BusinessSystemPatch>,
) -> Result<Json<BusinessSystem>, ApiError> {
    caller.require(Scope::Admin)?;
    check_system(&caller, id)?;
    let system = business_systems::update(
        &state.store,
        caller.principal.tenant,
        id,
        body,
        &caller.actor,
        clock::now_ms(),
    )
    .await?;
    Ok(Json(system))
}

/// Deletes a business system: its API keys are revoked, its webhook subscriptions and their
/// delivery log deleted.
#[utoipa::path(delete, path = "/business-systems/{id}", tag = "business systems",
    params(("id" = i64, Path, description = "business system id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_system(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Admin)?;
    check_system(&caller, id)?;
    business_systems::delete(
        &state.store,
        caller.principal.tenant,
        id,
        &caller.actor,
        clock::now_ms(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The API keys bound to a business system (never the keys themselves).
#[utoipa::path(get, path = "/business-systems/{id}/api-keys", tag = "business systems",
    params(("id" = i64, Path, description = "business system id")),
    responses((status = 200, body = Vec<ApiKey>), (status = 404, body = ErrorBody)))]
async fn list_system_keys(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<ApiKey>>, ApiError> {
    caller.require(Scope::Admin)?;
    check_system(&caller, id)?;
    Ok(Json(
        business_systems::keys(&state.store, caller.principal.tenant, id).await?,
    ))
}

/// Creates an API key bound to the business system and returns it once (reveal-once: see
/// `secrets::reveal`). The key acts as that system.
#[utoipa::path(post, path = "/business-systems/{id}/api-keys", tag = "business systems",
    request_body = NewApiKey,
    params(("id" = i64, Path, description = "business system id")),
    responses((status = 201, body = CreatedApiKey), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn post_system_key(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NewApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    caller.require(Scope::Admin)?;
    check_system(&caller, id)?;
    let now = clock::now_ms();
    let scopes = api_keys::parse_scopes(body.scopes.iter().map(String::as_str))?;
    let expires = body
        .expires_in_days
        .map(|days| now + i64::from(days) * 86_400_000);
    let (record, key) = business_systems::create_key(
        &state.store,
        caller.principal.tenant,
        id,
        &body.name,
        &scopes,
        expires,
        &caller.actor,
        now,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiKey {
            key,
            api_key: record,
        }),
    ))
}

/// Revokes an API key of the business system.
#[utoipa::path(delete, path = "/business-systems/{id}/api-keys/{key_id}", tag = "business systems",
    params(("id" = i64, Path, description = "business system id"),
           ("key_id" = i64, Path, description = "API key id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_system_key(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath((id, key_id)): ApiPath<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Admin)?;
    check_system(&caller, id)?;
    business_systems::revoke_key(
        &state.store,
        caller.principal.tenant,
        id,
        key_id,
        &caller.actor,
        clock::now_ms(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
