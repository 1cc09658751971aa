//! Webhook subscriptions of the business systems, and their delivery log.
//!
//! The signing secret is shown once, in the response that creates a subscription; everywhere
//! else it is masked. Deliveries carry `X-Qiao-Event`, `X-Qiao-Delivery`, `X-Qiao-Timestamp`
//! and `X-Qiao-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::api_keys::Scope;
use crate::clock;
use crate::http::{ApiError, ErrorBody};
use crate::webhooks::{
    self, Delivery, DeliveryFilter, DeliveryState, EVENT_TYPES, EventType, NewSubscription,
    Subscription, SubscriptionPatch, WebhookError,
};

use super::business_systems::check_system;
use super::{ApiCaller, ApiJson, ApiPath, ApiQuery};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_event_types))
        .routes(routes!(list_subscriptions, post_subscription))
        .routes(routes!(
            get_subscription,
            patch_subscription,
            delete_subscription
        ))
        .routes(routes!(test_subscription))
        .routes(routes!(list_deliveries))
        .routes(routes!(get_delivery))
        .routes(routes!(resend_delivery))
}

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::Invalid { field, why } => ApiError::invalid_field(field, why),
            WebhookError::SystemNotFound
            | WebhookError::NotFound
            | WebhookError::DeliveryNotFound => ApiError::not_found(e.to_string()),
            WebhookError::Conflict(message) => ApiError::conflict(message),
            WebhookError::Store(e) => e.into(),
        }
    }
}

/// The event types a subscription can name (`*` for all, `family.*` for a family).
#[utoipa::path(get, path = "/webhook-event-types", tag = "webhooks",
    responses((status = 200, body = Vec<EventType>), (status = 401, body = ErrorBody)))]
async fn list_event_types(caller: ApiCaller) -> Result<Json<Vec<EventType>>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(EVENT_TYPES.to_vec()))
}

/// A subscription the caller may see, or not found.
async fn visible_subscription(
    state: &AppState,
    caller: &ApiCaller,
    id: i64,
) -> Result<Subscription, ApiError> {
    let subscription =
        webhooks::get_subscription(&state.store, &state.sealer, caller.principal.tenant, id)
            .await?
            .ok_or(WebhookError::NotFound)?;
    check_system(caller, subscription.business_system_id).map_err(|_| WebhookError::NotFound)?;
    Ok(subscription)
}

/// The webhook subscriptions of a business system (secrets masked).
#[utoipa::path(get, path = "/business-systems/{id}/webhook-subscriptions", tag = "webhooks",
    params(("id" = i64, Path, description = "business system id")),
    responses((status = 200, body = Vec<Subscription>), (status = 404, body = ErrorBody)))]
async fn list_subscriptions(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<Subscription>>, ApiError> {
    caller.require(Scope::Read)?;
    check_system(&caller, id)?;
    let tenant = caller.principal.tenant;
    crate::business_systems::get(&state.store, tenant, id)
        .await?
        .ok_or(WebhookError::SystemNotFound)?;
    Ok(Json(
        webhooks::list_subscriptions(&state.store, &state.sealer, tenant, Some(id)).await?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedSubscription {
    /// The signing secret, shown this once: store it now.
    pub secret: String,
    pub subscription: Subscription,
}

/// Subscribes a URL of the business system to event types. Without `secret`, one is
/// generated; either way it is returned this once (reveal-once: see `secrets::reveal`).
#[utoipa::path(post, path = "/business-systems/{id}/webhook-subscriptions", tag = "webhooks",
    request_body = NewSubscription,
    params(("id" = i64, Path, description = "business system id")),
    responses((status = 201, body = CreatedSubscription), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn post_subscription(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NewSubscription>,
) -> Result<(StatusCode, Json<CreatedSubscription>), ApiError> {
    caller.require(Scope::Admin)?;
    check_system(&caller, id)?;
    let (subscription, secret) = webhooks::create_subscription(
        &state.store,
        &state.sealer,
        caller.principal.tenant,
        id,
        body,
        &caller.actor,
        clock::now_ms(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedSubscription {
            secret,
            subscription,
        }),
    ))
}

/// One webhook subscription (secret masked).
#[utoipa::path(get, path = "/webhook-subscriptions/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "subscription id")),
    responses((status = 200, body = Subscription), (status = 404, body = ErrorBody)))]
async fn get_subscription(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Subscription>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(visible_subscription(&state, &caller, id).await?))
}

/// Changes a subscription: absent fields stay; `enabled: true` re-enables one Qiao disabled.
#[utoipa::path(patch, path = "/webhook-subscriptions/{id}", tag = "webhooks",
    request_body = SubscriptionPatch,
    params(("id" = i64, Path, description = "subscription id")),
    responses((status = 200, body = Subscription), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn patch_subscription(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<SubscriptionPatch>,
) -> Result<Json<Subscription>, ApiError> {
    caller.require(Scope::Admin)?;
    visible_subscription(&state, &caller, id).await?;
    let subscription = webhooks::update_subscription(
        &state.store,
        &state.sealer,
        caller.principal.tenant,
        id,
        body,
        &caller.actor,
        clock::now_ms(),
    )
    .await?;
    state.webhooks.wake();
    Ok(Json(subscription))
}

/// Deletes a subscription and its delivery log.
#[utoipa::path(delete, path = "/webhook-subscriptions/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "subscription id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_subscription(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Admin)?;
    visible_subscription(&state, &caller, id).await?;
    webhooks::delete_subscription(
        &state.store,
        &state.sealer,
        caller.principal.tenant,
        id,
        &caller.actor,
        clock::now_ms(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a `webhook.test` event to the subscription (queued like any delivery).
#[utoipa::path(post, path = "/webhook-subscriptions/{id}/test", tag = "webhooks",
    params(("id" = i64, Path, description = "subscription id")),
    responses((status = 202, body = Delivery), (status = 404, body = ErrorBody)))]
async fn test_subscription(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<(StatusCode, Json<Delivery>), ApiError> {
    caller.require(Scope::Admin)?;
    visible_subscription(&state, &caller, id).await?;
    let delivery = webhooks::send_test(
        &state.store,
        &state.sealer,
        caller.principal.tenant,
        id,
        &caller.actor,
        clock::now_ms(),
    )
    .await?;
    state.webhooks.wake();
    Ok((StatusCode::ACCEPTED, Json(delivery)))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DeliveryQuery {
    /// Only deliveries to this business system's subscriptions.
    pub business_system_id: Option<i64>,
    /// Only deliveries of this subscription.
    pub subscription_id: Option<i64>,
    /// pending, in_flight, delivered or failed.
    pub state: Option<String>,
    /// Only deliveries older than this id (the last id of the previous page).
    pub before_id: Option<i64>,
    /// At most this many (1 to 500, default 50).
    pub limit: Option<i64>,
}

/// The delivery log, newest first (bodies omitted; see a single delivery).
#[utoipa::path(get, path = "/webhook-deliveries", tag = "webhooks", params(DeliveryQuery),
    responses((status = 200, body = Vec<Delivery>), (status = 422, body = ErrorBody)))]
async fn list_deliveries(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(query): ApiQuery<DeliveryQuery>,
) -> Result<Json<Vec<Delivery>>, ApiError> {
    caller.require(Scope::Read)?;
    let state_filter = match query.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(DeliveryState::parse(s).ok_or_else(|| {
            ApiError::invalid_field(
                "state",
                format!("unknown state `{s}`: pending, in_flight, delivered or failed"),
            )
        })?),
    };
    let business_system_id = match (
        caller.principal.business_system_id,
        query.business_system_id,
    ) {
        (Some(own), Some(asked)) if own != asked => return Ok(Json(Vec::new())),
        (Some(own), _) => Some(own),
        (None, asked) => asked,
    };
    let filter = DeliveryFilter {
        business_system_id,
        subscription_id: query.subscription_id,
        state: state_filter,
        before_id: query.before_id,
        limit: query.limit.unwrap_or(50),
    };
    Ok(Json(
        webhooks::list_deliveries(&state.store, caller.principal.tenant, &filter).await?,
    ))
}

/// A delivery the caller may see, or not found.
async fn visible_delivery(
    state: &AppState,
    caller: &ApiCaller,
    id: i64,
) -> Result<Delivery, ApiError> {
    let delivery = webhooks::get_delivery(&state.store, caller.principal.tenant, id)
        .await?
        .ok_or(WebhookError::DeliveryNotFound)?;
    check_system(caller, delivery.business_system_id)
        .map_err(|_| WebhookError::DeliveryNotFound)?;
    Ok(delivery)
}

/// One delivery, with its body.
#[utoipa::path(get, path = "/webhook-deliveries/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "delivery id (X-Qiao-Delivery)")),
    responses((status = 200, body = Delivery), (status = 404, body = ErrorBody)))]
async fn get_delivery(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Delivery>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(visible_delivery(&state, &caller, id).await?))
}

/// Sends a delivered or failed delivery again (pending, due now, attempts counted afresh).
#[utoipa::path(post, path = "/webhook-deliveries/{id}/resend", tag = "webhooks",
    params(("id" = i64, Path, description = "delivery id (X-Qiao-Delivery)")),
    responses((status = 202, body = Delivery), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn resend_delivery(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<(StatusCode, Json<Delivery>), ApiError> {
    caller.require(Scope::Admin)?;
    visible_delivery(&state, &caller, id).await?;
    let delivery = webhooks::resend(
        &state.store,
        &state.sealer,
        caller.principal.tenant,
        id,
        &caller.actor,
        clock::now_ms(),
    )
    .await?;
    state.webhooks.wake();
    Ok((StatusCode::ACCEPTED, Json(delivery)))
}
