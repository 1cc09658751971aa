//! 基础参数设置: the external base URL and the public egress IP.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::clock;
use crate::settings::{self, BasicSettings, EffectiveSettings, SettingsError};

use super::{Console, ConsoleError, ConsoleForm, PageCtx, render_status, store_error};

#[derive(Template)]
#[template(path = "console/settings.html")]
struct SettingsPage {
    ctx: PageCtx,
    form: BasicSettings,
    effective: EffectiveSettings,
}

#[derive(Deserialize)]
pub struct Flash {
    saved: Option<String>,
}

async fn show(
    state: &AppState,
    console: &Console,
    status: StatusCode,
    form: Option<BasicSettings>,
    flash: Option<String>,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    let effective = settings::effective(&state.store, console.session.tenant, &state.config)
        .await
        .map_err(store_error)?;
    let mut ctx = console.ctx();
    ctx.flash = flash;
    ctx.error = error;
    let form = form.unwrap_or_else(|| effective.stored.clone());
    Ok(render_status(
        status,
        &SettingsPage {
            ctx,
            form,
            effective,
        },
    ))
}

pub async fn page(
    State(state): State<AppState>,
    console: Console,
    Query(flash): Query<Flash>,
) -> Result<Response, ConsoleError> {
    let saved = flash.saved.map(|_| console.t.saved.to_string());
    show(&state, &console, StatusCode::OK, None, saved, None).await
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    external_url: String,
    #[serde(default)]
    public_egress_ip: String,
}

pub async fn submit(
    State(state): State<AppState>,
    ConsoleForm { console, form }: ConsoleForm<SettingsForm>,
) -> Result<Response, ConsoleError> {
    console.require_write()?;
    let new = BasicSettings {
        external_url: Some(form.external_url),
        public_egress_ip: Some(form.public_egress_ip),
    };
    match settings::update_basic(
        &state.store,
        console.session.tenant,
        new.clone(),
        &console.actor(),
        clock::now_ms(),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to("/console/settings?saved=1").into_response()),
        Err(SettingsError::Invalid { field, why }) => {
            let error = format!("{field}: {why}");
            show(
                &state,
                &console,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(new),
                None,
                Some(error),
            )
            .await
        }
        Err(SettingsError::Store(e)) => Err(store_error(e)),
    }
}
