//! `/admin-users` and `/api-keys`: who may use the console and the API.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::audit;
use crate::auth::Role;
use crate::auth::api_keys::{self, ApiKey, ApiKeyError, Scope};
use crate::auth::users::{self, AdminUser, UserError};
use crate::clock;
use crate::http::{ApiError, ErrorBody};

use super::{ApiCaller, ApiJson, ApiPath};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_admin_users, post_admin_user))
        .routes(routes!(patch_admin_user))
        .routes(routes!(list_api_keys, post_api_key))
        .routes(routes!(delete_api_key))
}

impl From<UserError> for ApiError {
    fn from(e: UserError) -> Self {
        match e {
            UserError::BadUsername => ApiError::invalid_field("username", e.to_string()),
            UserError::BadDisplayName => ApiError::invalid_field("display_name", e.to_string()),
            UserError::Password(p) => ApiError::invalid_field("password", p.to_string()),
            UserError::Exists(_) => ApiError::conflict(e.to_string()),
            UserError::NotFound => ApiError::not_found(e.to_string()),
            UserError::LastSuperAdmin => ApiError::conflict(e.to_string()),
            UserError::Store(e) => e.into(),
        }
    }
}

impl From<ApiKeyError> for ApiError {
    fn from(e: ApiKeyError) -> Self {
        match e {
            ApiKeyError::BadName => ApiError::invalid_field("name", e.to_string()),
            ApiKeyError::NoScope | ApiKeyError::UnknownScope(_) => {
                ApiError::invalid_field("scopes", e.to_string())
            }
            ApiKeyError::NotFound => ApiError::not_found(e.to_string()),
            ApiKeyError::Store(e) => e.into(),
        }
    }
}

/// All admin users.
#[utoipa::path(get, path = "/admin-users", tag = "access",
    responses((status = 200, body = Vec<AdminUser>), (status = 401, body = ErrorBody)))]
async fn list_admin_users(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<AdminUser>>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(
        users::list_users(&state.store, caller.principal.tenant).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAdminUser {
    pub username: String,
    pub display_name: Option<String>,
    pub role: Role,
    /// At least 10 characters. Stored as an argon2id hash only.
    pub password: String,
}

/// Creates an admin user.
#[utoipa::path(post, path = "/admin-users", tag = "access", request_body = NewAdminUser,
    responses((status = 201, body = AdminUser), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn post_admin_user(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(body): ApiJson<NewAdminUser>,
) -> Result<(StatusCode, Json<AdminUser>), ApiError> {
    caller.require(Scope::Admin)?;
    let tenant = caller.principal.tenant;
    let now = clock::now_ms();
    let display = body.display_name.as_deref().unwrap_or(&body.username);
    let mut tx = state.store.begin_write().await?;
    let id = users::create_user(
        &mut tx,
        tenant,
        &body.username,
        display,
        body.role,
        &body.password,
        now,
    )
    .await?;
    let after = json!({ "username": body.username, "role": body.role });
    audit::record(
        &mut tx,
        tenant,
        &caller.actor,
        "admin_user.create",
        &body.username,
        None,
        Some(&after),
        now,
    )
    .await?;
    tx.commit().await?;
    let user = users::get_user(&state.store, tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such user"))?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminUserAccess {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

/// Changes a user's role or disables it. The last active super admin stays.
#[utoipa::path(patch, path = "/admin-users/{id}", tag = "access", request_body = AdminUserAccess,
    params(("id" = i64, Path, description = "user id")),
    responses((status = 200, body = AdminUser), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn patch_admin_user(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<AdminUserAccess>,
) -> Result<Json<AdminUser>, ApiError> {
    caller.require(Scope::Admin)?;
    let tenant = caller.principal.tenant;
    let now = clock::now_ms();
    let before = users::get_user(&state.store, tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such user"))?;
    let role = body.role.unwrap_or(before.role);
    let disabled = body.disabled.unwrap_or(before.disabled);
    let mut tx = state.store.begin_write().await?;
    users::update_access(&mut tx, tenant, id, role, disabled, now).await?;
    audit::record(
        &mut tx,
        tenant,
        &caller.actor,
        "admin_user.update_access",
        &before.username,
        Some(&json!({ "role": before.role, "disabled": before.disabled })),
        Some(&json!({ "role": role, "disabled": disabled })),
        now,
    )
    .await?;
    tx.commit().await?;
    let user = users::get_user(&state.store, tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such user"))?;
    Ok(Json(user))
}

/// All API keys (never the keys themselves).
#[utoipa::path(get, path = "/api-keys", tag = "access",
    responses((status = 200, body = Vec<ApiKey>), (status = 401, body = ErrorBody)))]
async fn list_api_keys(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<ApiKey>>, ApiError> {
    caller.require(Scope::Admin)?;
    Ok(Json(
        api_keys::list_keys(&state.store, caller.principal.tenant).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    pub name: String,
    /// `admin` and/or `read`.
    pub scopes: Vec<String>,
    /// Days until the key stops working; none for a key without expiry.
    pub expires_in_days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// The key itself, shown this once: store it now.
    pub key: String,
    pub api_key: ApiKey,
}

/// Creates an API key and returns it once (reveal-once: see `secrets::reveal`).
#[utoipa::path(post, path = "/api-keys", tag = "access", request_body = NewApiKey,
    responses((status = 201, body = CreatedApiKey), (status = 422, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn post_api_key(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(body): ApiJson<NewApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    caller.require(Scope::Admin)?;
    let tenant = caller.principal.tenant;
    let now = clock::now_ms();
    let scopes = api_keys::parse_scopes(body.scopes.iter().map(String::as_str))?;
    let expires = body
        .expires_in_days
        .map(|days| now + i64::from(days) * 86_400_000);
    let mut tx = state.store.begin_write().await?;
    let (record, key) = api_keys::create_key(
        &mut tx,
        tenant,
        &body.name,
        &scopes,
        &caller.actor.name,
        expires,
        now,
    )
    .await?;
    let after = json!({ "name": record.name, "prefix": record.prefix, "scopes": record.scopes });
    audit::record(
        &mut tx,
        tenant,
        &caller.actor,
        "api_key.create",
        &record.id.to_string(),
        None,
        Some(&after),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiKey {
            key,
            api_key: record,
        }),
    ))
}

/// Revokes an API key.
#[utoipa::path(delete, path = "/api-keys/{id}", tag = "access",
    params(("id" = i64, Path, description = "key id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_api_key(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Admin)?;
    let tenant = caller.principal.tenant;
    let now = clock::now_ms();
    let mut tx = state.store.begin_write().await?;
    api_keys::revoke_key(&mut tx, tenant, id, now).await?;
    audit::record(
        &mut tx,
        tenant,
        &caller.actor,
        "api_key.revoke",
        &id.to_string(),
        None,
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
