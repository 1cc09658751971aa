//! 概览: what this node is and how it is reached.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::app::AppState;
use crate::settings;

use super::{Console, ConsoleError, PageCtx, render};

#[derive(Template)]
#[template(path = "console/home.html")]
struct HomePage {
    ctx: PageCtx,
    version: &'static str,
    database: &'static str,
    external_url: String,
    egress_ip: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    console: Console,
) -> Result<Response, ConsoleError> {
    let effective = settings::effective(&state.store, console.session.tenant, &state.config)
        .await
        .map_err(super::store_error)?;
    Ok(render(&HomePage {
        ctx: console.ctx(),
        version: env!("CARGO_PKG_VERSION"),
        database: state.store.backend(),
        external_url: effective.external_url,
        egress_ip: effective.public_egress_ip,
    }))
}
