//! The HTTP edge: the router, its layers, and the operational endpoints.

pub mod error;
mod ops;

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::app::AppState;

pub use error::{ApiError, ErrorBody};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The largest request body accepted anywhere (the console's file uploads included).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Builds the whole application router; `serve`, `demo` and the tests all call this.
pub fn router(state: AppState) -> Router {
    let (api, _) = crate::api::routes();
    Router::new()
        .merge(ops::routes())
        .nest("/api/v1", api)
        .merge(crate::console::routes())
        .merge(crate::callback::endpoint::routes())
        .route("/{name}", axum::routing::get(crate::domain_files::serve))
        .fallback(not_found)
        .layer(middleware::from_fn(record_metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, RandomRequestId))
                .layer(
                    TraceLayer::new_for_http().make_span_with(|req: &Request| {
                        let id = req
                            .headers()
                            .get(REQUEST_ID)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("");
                        // The path only: query strings can carry signatures and tokens.
                        tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
                    }),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(CatchPanicLayer::new())
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Duration::from_secs(30),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("same-origin"),
                )),
        )
        .with_state(state)
}

/// A random UUID per request, drawn from the thread-local generator: `uuid`'s own v4 asks
/// the kernel for every id (a `getrandom` system call per request on the callback path).
#[derive(Clone, Copy)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        HeaderValue::from_str(
            id.hyphenated()
                .encode_lower(&mut uuid::Uuid::encode_buffer()),
        )
        .ok()
        .map(RequestId::new)
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such page or endpoint")
}

/// Counts requests and their latency per route template (never per raw path, which would
/// make the label set unbounded).
async fn record_metrics(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("qiao_http_requests_total", &labels).increment(1);
    metrics::histogram!("qiao_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}
