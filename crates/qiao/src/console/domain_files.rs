//! 域名校验文件: upload, list and remove the files served at the domain root.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::clock;
use crate::domain_files::{self, DomainFile, DomainFileError};

use super::i18n::format_time;
use super::{Console, ConsoleError, ConsoleForm, NoFields, PageCtx, render_status, store_error};

#[derive(Template)]
#[template(path = "console/domain_files.html")]
struct FilesPage {
    ctx: PageCtx,
    files: Vec<(DomainFile, String)>,
}

async fn show(
    state: &AppState,
    console: &Console,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    let files = domain_files::list(&state.store, console.session.tenant)
        .await
        .map_err(store_error)?
        .into_iter()
        .map(|f| {
            let when = format_time(f.created_ms);
            (f, when)
        })
        .collect();
    let mut ctx = console.ctx();
    ctx.error = error;
    Ok(render_status(status, &FilesPage { ctx, files }))
}

pub async fn page(
    State(state): State<AppState>,
    console: Console,
) -> Result<Response, ConsoleError> {
    show(&state, &console, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub struct UploadForm {
    name: String,
    content: String,
}

pub async fn upload(
    State(state): State<AppState>,
    ConsoleForm { console, form }: ConsoleForm<UploadForm>,
) -> Result<Response, ConsoleError> {
    console.require_write()?;
    let name = form.name.trim();
    match domain_files::put(
        &state.store,
        console.session.tenant,
        name,
        &form.content,
        &console.actor(),
        clock::now_ms(),
    )
    .await
    {
        Ok(()) => Ok(Redirect::to("/console/domain-files").into_response()),
        Err(DomainFileError::Store(e)) => Err(store_error(e)),
        Err(e) => {
            show(
                &state,
                &console,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(e.to_string()),
            )
            .await
        }
    }
}

pub async fn remove(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ConsoleForm { console, form }: ConsoleForm<NoFields>,
) -> Result<Response, ConsoleError> {
    let NoFields {} = form;
    console.require_write()?;
    match domain_files::delete(
        &state.store,
        console.session.tenant,
        &name,
        &console.actor(),
        clock::now_ms(),
    )
    .await
    {
        Ok(()) => Ok(Redirect::to("/console/domain-files").into_response()),
        Err(DomainFileError::Store(e)) => Err(store_error(e)),
        Err(e) => show(&state, &console, StatusCode::NOT_FOUND, Some(e.to_string())).await,
    }
}
