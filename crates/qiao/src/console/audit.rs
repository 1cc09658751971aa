//! 操作日志: newest first, with the before and after of configuration changes.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use crate::app::AppState;
use crate::audit;

use super::i18n::format_time;
use super::{Console, ConsoleError, PageCtx, render, store_error};

const PAGE_SIZE: i64 = 50;

pub struct Row {
    pub id: i64,
    pub time: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub ip: String,
    pub before: String,
    pub after: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    ctx: PageCtx,
    rows: Vec<Row>,
    older: Option<i64>,
}

#[derive(Deserialize)]
pub struct Paging {
    before: Option<i64>,
}

pub async fn page(
    State(state): State<AppState>,
    console: Console,
    Query(paging): Query<Paging>,
) -> Result<Response, ConsoleError> {
    let records = audit::list(
        &state.store,
        console.session.tenant,
        paging.before,
        PAGE_SIZE,
    )
    .await
    .map_err(store_error)?;
    let older = (records.len() as i64 == PAGE_SIZE)
        .then(|| records.last().map(|r| r.id))
        .flatten();
    let show =
        |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
    let rows = records
        .iter()
        .map(|r| Row {
            id: r.id,
            time: format_time(r.at_ms),
            actor: r.actor.clone(),
            action: r.action.clone(),
            target: r.target.clone(),
            ip: r.ip.clone().unwrap_or_default(),
            before: show(&r.before),
            after: show(&r.after),
        })
        .collect();
    Ok(render(&AuditPage {
        ctx: console.ctx(),
        rows,
        older,
    }))
}
