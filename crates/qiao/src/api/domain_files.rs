//! `/domain-files`: the MP_verify / WW_verify files served at the domain root.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::api_keys::Scope;
use crate::clock;
use crate::domain_files::{self, DomainFile};
use crate::http::{ApiError, ErrorBody};

use super::{ApiCaller, ApiJson, ApiPath};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_domain_files))
        .routes(routes!(put_domain_file, delete_domain_file))
}

/// The uploaded verification files.
#[utoipa::path(get, path = "/domain-files", tag = "settings",
    responses((status = 200, body = Vec<DomainFile>), (status = 401, body = ErrorBody)))]
async fn list_domain_files(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<DomainFile>>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(
        domain_files::list(&state.store, caller.principal.tenant).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainFileContent {
    /// The file's content exactly as downloaded from the back office.
    pub content: String,
}

/// Uploads (or replaces) a verification file; it is served at `/{name}` at once.
#[utoipa::path(put, path = "/domain-files/{name}", tag = "settings", request_body = DomainFileContent,
    params(("name" = String, Path, description = "MP_verify_….txt or WW_verify_….txt")),
    responses((status = 204), (status = 422, body = ErrorBody)))]
async fn put_domain_file(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<DomainFileContent>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Admin)?;
    domain_files::put(
        &state.store,
        caller.principal.tenant,
        &name,
        &body.content,
        &caller.actor,
        clock::now_ms(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a verification file.
#[utoipa::path(delete, path = "/domain-files/{name}", tag = "settings",
    params(("name" = String, Path, description = "file name")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_domain_file(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Admin)?;
    domain_files::delete(
        &state.store,
        caller.principal.tenant,
        &name,
        &caller.actor,
        clock::now_ms(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
