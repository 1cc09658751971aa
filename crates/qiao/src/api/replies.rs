//! `/channels/{id}/reply-rules` and `/reply-rules/{rule_id}`: auto-reply rules (回调设置) of
//! Official Accounts and WeCom apps.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::api_keys::Scope;
use crate::clock;
use crate::http::{ApiError, ErrorBody};
use crate::replies::{self, NewRule, ReplyError, ReplyRule, RulePatch};

use super::{ApiCaller, ApiJson, ApiPath};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_rules, post_rule))
        .routes(routes!(get_rule, patch_rule, delete_rule))
        .routes(routes!(batch_delete))
}

impl From<ReplyError> for ApiError {
    fn from(e: ReplyError) -> Self {
        match e {
            ReplyError::Invalid { field, why } => ApiError::invalid_field(field, why),
            ReplyError::ChannelNotFound | ReplyError::NotFound => {
                ApiError::not_found(e.to_string())
            }
            ReplyError::Store(e) => e.into(),
        }
    }
}

/// A channel's rules, in the order they are tried (priority, then the rule created first).
#[utoipa::path(get, path = "/channels/{id}/reply-rules", tag = "reply-rules",
    params(("id" = i64, Path, description = "channel id (an Official Account or a WeCom app)")),
    responses((status = 200, body = Vec<ReplyRule>), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn list_rules(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<ReplyRule>>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(
        replies::list(&state.store, caller.principal.tenant, id).await?,
    ))
}

/// Adds a rule. Text rules need a match mode (and a keyword, except hosting); image and
/// subscribe rules have neither; subscribe is for Official Accounts only.
#[utoipa::path(post, path = "/channels/{id}/reply-rules", tag = "reply-rules",
    request_body = NewRule,
    params(("id" = i64, Path, description = "channel id (an Official Account or a WeCom app)")),
    responses((status = 201, body = ReplyRule), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn post_rule(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NewRule>,
) -> Result<(StatusCode, Json<ReplyRule>), ApiError> {
    caller.require(Scope::Admin)?;
    let rule = replies::create(
        &state.store,
        &state.reply_rules,
        caller.principal.tenant,
        id,
        body,
        &caller.actor,
        clock::now_ms(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

/// One rule.
#[utoipa::path(get, path = "/reply-rules/{rule_id}", tag = "reply-rules",
    params(("rule_id" = i64, Path, description = "reply rule id")),
    responses((status = 200, body = ReplyRule), (status = 404, body = ErrorBody)))]
async fn get_rule(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(rule_id): ApiPath<i64>,
) -> Result<Json<ReplyRule>, ApiError> {
    caller.require(Scope::Read)?;
    replies::get(&state.store, caller.principal.tenant, rule_id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(ReplyError::NotFound.to_string()))
}

/// Changes a rule: absent fields stay (`{"enabled": false}` switches it off).
#[utoipa::path(patch, path = "/reply-rules/{rule_id}", tag = "reply-rules",
    request_body = RulePatch,
    params(("rule_id" = i64, Path, description = "reply rule id")),
    responses((status = 200, body = ReplyRule), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn patch_rule(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(rule_id): ApiPath<i64>,
    ApiJson(body): ApiJson<RulePatch>,
) -> Result<Json<ReplyRule>, ApiError> {
    caller.require(Scope::Admin)?;
    let rule = replies::update(
        &state.store,
        &state.reply_rules,
        caller.principal.tenant,
        rule_id,
        body,
        &caller.actor,
        clock::now_ms(),
    )
    .await?;
    Ok(Json(rule))
}

/// Deletes a rule.
#[utoipa::path(delete, path = "/reply-rules/{rule_id}", tag = "reply-rules",
    params(("rule_id" = i64, Path, description = "reply rule id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_rule(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(rule_id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Admin)?;
    replies::delete(
        &state.store,
        &state.reply_rules,
        caller.principal.tenant,
        rule_id,
        &caller.actor,
        clock::now_ms(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchDelete {
    /// Rules of this channel; when one is not, nothing is deleted.
    pub ids: Vec<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchDeleted {
    pub deleted: usize,
}

/// Deletes several rules of a channel at once (批量删除): all or none.
#[utoipa::path(post, path = "/channels/{id}/reply-rules/batch-delete", tag = "reply-rules",
    request_body = BatchDelete,
    params(("id" = i64, Path, description = "channel id")),
    responses((status = 200, body = BatchDeleted), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn batch_delete(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<BatchDelete>,
) -> Result<Json<BatchDeleted>, ApiError> {
    caller.require(Scope::Admin)?;
    let deleted = replies::batch_delete(
        &state.store,
        &state.reply_rules,
        caller.principal.tenant,
        id,
        &body.ids,
        &caller.actor,
        clock::now_ms(),
    )
    .await?;
    Ok(Json(BatchDeleted { deleted }))
}
