//! Static assets, embedded in the binary: no CDN and no build step.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const HTMX: &str = include_str!("../../static/vendor/htmx-2.0.11.min.js");
const CSS: &str = include_str!("../../static/console.css");

pub async fn serve(Path(file): Path<String>) -> Response {
    let (content_type, body) = match file.as_str() {
        "htmx-2.0.11.min.js" => ("text/javascript; charset=utf-8", HTMX),
        "console.css" => ("text/css; charset=utf-8", CSS),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
