//! The REST API for business systems and scripts, under `/api/v1`, described by an OpenAPI 3
//! document generated from the handlers (`/api/v1/openapi.json`).
//!
//! Callers authenticate with an API key (`Authorization: Bearer qiao_…`); every error has one
//! JSON shape, `{"code", "message", "details"}`, with the matching HTTP status.

mod access;
mod audit_log;
mod auth;
mod business_systems;
mod callbacks;
mod channels;
mod domain_files;
mod gateway;
mod replies;
mod settings;
mod webhooks;

use axum::Json;
use axum::Router;
use axum::extract::{FromRequest, FromRequestParts};
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;
use crate::http::ApiError;

pub use auth::ApiCaller;

/// A JSON body whose rejections use the API's error shape.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Query parameters whose rejections use the API's error shape.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// Path parameters whose rejections use the API's error shape.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// The API routes, nested under `/api/v1` by the caller, and the OpenAPI document.
pub fn routes() -> (Router<AppState>, OpenApi) {
    let (router, mut doc) = OpenApiRouter::new()
        .merge(settings::routes())
        .merge(access::routes())
        .merge(channels::routes())
        .merge(callbacks::routes())
        .merge(domain_files::routes())
        .merge(gateway::routes())
        .merge(business_systems::routes())
        .merge(webhooks::routes())
        .merge(replies::routes())
        .merge(audit_log::routes())
        .split_for_parts();
    doc.info = InfoBuilder::new()
        .title("Qiao API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "The REST API of Qiao (桥), a bridge between business systems and WeChat / WeCom. \
             Authenticate with an API key: `Authorization: Bearer qiao_…`. Errors are \
             `{\"code\", \"message\", \"details\"}` with the matching HTTP status.",
        ))
        .build();
    doc.servers = Some(vec![utoipa::openapi::Server::new("/api/v1")]);
    let mut components = doc
        .components
        .take()
        .unwrap_or_else(|| ComponentsBuilder::new().build());
    components.add_security_scheme(
        "api_key",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("qiao_…")
                .build(),
        ),
    );
    doc.components = Some(components);
    doc.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
        "api_key",
        Vec::<String>::new(),
    )]);
    let served = doc.clone();
    let router = router.route(
        "/openapi.json",
        get(move || {
            let doc = served.clone();
            async move { Json(doc) }
        }),
    );
    (router, doc)
}

/// The OpenAPI document as JSON, for the drift check and for writing `docs/openapi.json`.
pub fn openapi_json() -> String {
    let (_, doc) = routes();
    doc.to_pretty_json().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    /// The committed `docs/openapi.json` matches the code (drift check). Regenerate with
    /// `QIAO_TEST_UPDATE_OPENAPI=1 cargo test -p qiao openapi`.
    #[test]
    fn openapi_document_is_committed_and_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
        let current = super::openapi_json();
        if std::env::var("QIAO_TEST_UPDATE_OPENAPI").as_deref() == Ok("1") {
            std::fs::write(path, &current).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == current,
            "docs/openapi.json is out of date: run QIAO_TEST_UPDATE_OPENAPI=1 cargo test -p qiao openapi"
        );
    }
}
