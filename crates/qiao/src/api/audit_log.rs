//! `/audit-log`: 操作日志, newest first, paged by id.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::audit::{self, AuditRecord};
use crate::auth::api_keys::Scope;
use crate::http::{ApiError, ErrorBody};

use super::{ApiCaller, ApiQuery};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit_log))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditQuery {
    /// Only entries older than this id (for the next page).
    pub before: Option<i64>,
    /// Page size, 1–500 (default 100).
    pub limit: Option<i64>,
}

/// A page of the audit log.
#[utoipa::path(get, path = "/audit-log", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Vec<AuditRecord>), (status = 401, body = ErrorBody)))]
async fn list_audit_log(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditRecord>>, ApiError> {
    caller.require(Scope::Read)?;
    let page = audit::list(
        &state.store,
        caller.principal.tenant,
        query.before,
        query.limit.unwrap_or(100),
    )
    .await?;
    Ok(Json(page))
}
