//! 业务系统: the business systems, each with its allowed origins, bound API keys, webhook
//! subscriptions and delivery log (re-send from here).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::api_keys;
use crate::business_systems::{
    self, BusinessSystem, BusinessSystemError, BusinessSystemPatch, NewBusinessSystem,
};
use crate::clock;
use crate::webhooks::{
    self, Delivery, DeliveryFilter, DeliveryState, EVENT_TYPES, NewSubscription, Subscription,
    SubscriptionPatch, WebhookError,
};

use super::access::{KeyRow, NewKeyForm};
use super::i18n::{Texts, format_time};
use super::{Console, ConsoleError, ConsoleForm, NoFields, PageCtx, render_status, store_error};

const LIST: &str = "/console/business-systems";
/// Deliveries shown on a system's page.
const LOG_ROWS: i64 = 100;

fn detail_path(id: i64) -> String {
    format!("{LIST}/{id}")
}

/// The words for an event type pattern.
fn event_label(t: &'static Texts, name: &str) -> &'static str {
    match name {
        "*" => t.ev_all,
        "callback.message" => t.ev_callback_message,
        "callback.event" => t.ev_callback_event,
        "contact.changed" => t.ev_contact_changed,
        "external_contact.changed" => t.ev_external_contact_changed,
        "webhook.test" => t.ev_webhook_test,
        _ => "",
    }
}

fn state_label(t: &'static Texts, state: DeliveryState) -> &'static str {
    match state {
        DeliveryState::Pending => t.st_pending,
        DeliveryState::InFlight => t.st_in_flight,
        DeliveryState::Delivered => t.st_delivered,
        DeliveryState::Failed => t.st_failed,
    }
}

/// A checkbox of the event type choice.
pub struct TypeOption {
    pub name: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

fn type_options(t: &'static Texts, chosen: &[String]) -> Vec<TypeOption> {
    std::iter::once("*")
        .chain(EVENT_TYPES.iter().map(|e| e.name))
        .map(|name| TypeOption {
            name,
            label: event_label(t, name),
            checked: chosen.iter().any(|c| c == name),
        })
        .collect()
}

pub struct SubscriptionRow {
    pub sub: Subscription,
    pub types: Vec<TypeOption>,
}

pub struct DeliveryRow {
    pub d: Delivery,
    pub state: &'static str,
    pub created: String,
    /// When a pending delivery is due, or when it was delivered.
    pub when: String,
    pub status: String,
    pub error: String,
    pub can_resend: bool,
}

impl DeliveryRow {
    fn of(t: &'static Texts, d: Delivery) -> Self {
        let when = match d.state {
            DeliveryState::Pending => format_time(d.next_attempt_ms),
            _ => d.delivered_ms.map(format_time).unwrap_or_default(),
        };
        DeliveryRow {
            state: state_label(t, d.state),
            created: format_time(d.created_ms),
            when,
            status: d.last_status.map(|s| s.to_string()).unwrap_or_default(),
            error: d.last_error.clone().unwrap_or_default(),
            can_resend: matches!(d.state, DeliveryState::Delivered | DeliveryState::Failed),
            d,
        }
    }
}

/// A state filter link of the delivery log.
pub struct StateFilter {
    pub href: String,
    pub label: &'static str,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "console/business_systems.html")]
struct ListPage {
    ctx: PageCtx,
    systems: Vec<BusinessSystem>,
    form: SystemForm,
}

#[derive(Template)]
#[template(path = "console/business_system.html")]
struct DetailPage {
    ctx: PageCtx,
    system: BusinessSystem,
    form: SystemForm,
    keys: Vec<KeyRow>,
    subscriptions: Vec<SubscriptionRow>,
    new_types: Vec<TypeOption>,
    new_url: String,
    deliveries: Vec<DeliveryRow>,
    filters: Vec<StateFilter>,
    /// A key just created, shown this once (reveal-once: see `secrets::reveal`).
    new_key: Option<String>,
    /// A signing secret just created, shown this once (reveal-once: see `secrets::reveal`).
    new_secret: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SystemForm {
    pub name: String,
    /// One origin per line.
    pub allowed_origins: String,
    pub remark: String,
}

impl SystemForm {
    fn origins(&self) -> Vec<String> {
        self.allowed_origins
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }
}

fn system_error(e: BusinessSystemError) -> Result<String, ConsoleError> {
    match e {
        BusinessSystemError::Store(e) => Err(store_error(e)),
        other => Ok(other.to_string()),
    }
}

fn webhook_error(e: WebhookError) -> Result<String, ConsoleError> {
    match e {
        WebhookError::Store(e) => Err(store_error(e)),
        other => Ok(other.to_string()),
    }
}

async fn show_list(
    state: &AppState,
    console: &Console,
    status: StatusCode,
    form: SystemForm,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    let systems = business_systems::list(&state.store, console.session.tenant)
        .await
        .map_err(store_error)?;
    let mut ctx = console.ctx();
    ctx.error = error;
    Ok(render_status(status, &ListPage { ctx, systems, form }))
}

pub async fn list(
    State(state): State<AppState>,
    console: Console,
) -> Result<Response, ConsoleError> {
    show_list(
        &state,
        &console,
        StatusCode::OK,
        SystemForm::default(),
        None,
    )
    .await
}

pub async fn create(
    State(state): State<AppState>,
    ConsoleForm { console, form }: ConsoleForm<SystemForm>,
) -> Result<Response, ConsoleError> {
    console.require_write()?;
    let new = NewBusinessSystem {
        name: form.name.clone(),
        allowed_origins: form.origins(),
        remark: form.remark.clone(),
    };
    match business_systems::create(
        &state.store,
        console.session.tenant,
        new,
        &console.actor(),
        clock::now_ms(),
    )
    .await
    {
        Ok(system) => {
            Ok(Redirect::to(&format!("{}?done=saved", detail_path(system.id))).into_response())
        }
        Err(e) => {
            let error = system_error(e)?;
            show_list(
                &state,
                &console,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                Some(error),
            )
            .await
        }
    }
}

/// What the detail page shows besides the system itself.
#[derive(Default)]
struct Extras {
    status: Option<StatusCode>,
    flash: Option<String>,
    error: Option<String>,
    log_state: Option<DeliveryState>,
    new_key: Option<String>,
    new_secret: Option<String>,
    form: Option<SystemForm>,
    new_subscription: Option<(String, Vec<String>)>,
}

async fn show_detail(
    state: &AppState,
    console: &Console,
    id: i64,
    extras: Extras,
) -> Result<Response, ConsoleError> {
    let t = console.t;
    let tenant = console.session.tenant;
    let Some(system) = business_systems::get(&state.store, tenant, id)
        .await
        .map_err(store_error)?
    else {
        return Ok(super::message_page(
            t,
            StatusCode::NOT_FOUND,
            &BusinessSystemError::NotFound.to_string(),
        ));
    };
    let keys = api_keys::list_bound_keys(&state.store, tenant, id)
        .await
        .map_err(store_error)?
        .into_iter()
        .map(|key| KeyRow::of(t, key))
        .collect();
    let subscriptions = webhooks::list_subscriptions(&state.store, &state.sealer, tenant, Some(id))
        .await
        .map_err(store_error)?
        .into_iter()
        .map(|sub| SubscriptionRow {
            types: type_options(t, &sub.event_types),
            sub,
        })
        .collect();
    let filter = DeliveryFilter {
        business_system_id: Some(id),
        state: extras.log_state,
        limit: LOG_ROWS,
        ..Default::default()
    };
    let deliveries = webhooks::list_deliveries(&state.store, tenant, &filter)
        .await
        .map_err(store_error)?
        .into_iter()
        .map(|d| DeliveryRow::of(t, d))
        .collect();
    let filters = std::iter::once((None, t.wh_all))
        .chain(
            DeliveryState::ALL
                .into_iter()
                .map(|s| (Some(s), state_label(t, s))),
        )
        .map(|(s, label)| StateFilter {
            href: match s {
                Some(s) => format!("{}?state={}#log", detail_path(id), s.as_str()),
                None => format!("{}#log", detail_path(id)),
            },
            label,
            active: s == extras.log_state,
        })
        .collect();
    let form = extras.form.unwrap_or_else(|| SystemForm {
        name: system.name.clone(),
        allowed_origins: system.allowed_origins.join("\n"),
        remark: system.remark.clone(),
    });
    let (new_url, new_chosen) = extras.new_subscription.unwrap_or_default();
    let mut ctx = console.ctx();
    ctx.nav = super::nav(t, LIST);
    ctx.flash = extras.flash;
    ctx.error = extras.error;
    let page = DetailPage {
        ctx,
        system,
        form,
        keys,
        subscriptions,
        new_types: type_options(t, &new_chosen),
        new_url,
        deliveries,
        filters,
        new_key: extras.new_key,
        new_secret: extras.new_secret,
    };
    Ok(render_status(
        extras.status.unwrap_or(StatusCode::OK),
        &page,
    ))
}

#[derive(Deserialize)]
pub struct DetailQuery {
    done: Option<String>,
    state: Option<String>,
}

pub async fn detail(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    console: Console,
    Query(query): Query<DetailQuery>,
) -> Result<Response, ConsoleError> {
    let t = console.t;
    let flash = match query.done.as_deref() {
        Some("test") => Some(t.wh_test_queued),
        Some("resent") => Some(t.wh_resent),
        Some(_) => Some(t.saved),
        None => None,
    };
    let extras = Extras {
        flash: flash.map(str::to_string),
        log_state: query.state.as_deref().and_then(DeliveryState::parse),
        ..Default::default()
    };
    show_detail(&state, &console, id, extras).await
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ConsoleForm { console, form }: ConsoleForm<SystemForm>,
) -> Result<Response, ConsoleError> {
    console.require_write()?;
    let patch = BusinessSystemPatch {
        name: Some(form.name.clone()),
        allowed_origins: Some(form.origins()),
        remark: Some(form.remark.clone()),
    };
    match business_systems::update(
        &state.store,
        console.session.tenant,
        id,
        patch,
        &console.actor(),
        clock::now_ms(),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!("{}?done=saved", detail_path(id))).into_response()),
        Err(e) => {
            let extras = Extras {
                status: Some(StatusCode::UNPROCESSABLE_ENTITY),
                error: Some(system_error(e)?),
                form: Some(form),
                ..Default::default()
            };
            show_detail(&state, &console, id, extras).await
        }
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ConsoleForm { console, form }: ConsoleForm<NoFields>,
) -> Result<Response, ConsoleError> {
    let NoFields {} = form;
    console.require_write()?;
    match business_systems::delete(
        &state.store,
        console.session.tenant,
        id,
        &console.actor(),
        clock::now_ms(),
    )
    .await
    {
        Ok(()) => Ok(Redirect::to(LIST).into_response()),
        Err(e) => {
            let error = system_error(e)?;
            Ok(super::message_page(
                console.t,
                StatusCode::NOT_FOUND,
                &error,
            ))
        }
    }
}

pub async fn create_key(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ConsoleForm { console, form }: ConsoleForm<NewKeyForm>,
) -> Result<Response, ConsoleError> {
    console.require_manage_access()?;
    let now = clock::now_ms();
    let fail = |error: String| Extras {
        status: Some(StatusCode::UNPROCESSABLE_ENTITY),
        error: Some(error),
        ..Default::default()
    };
    let scopes = match api_keys::parse_scopes([form.scope.as_str()]) {
        Ok(scopes) => scopes,
        Err(e) => return show_detail(&state, &console, id, fail(e.to_string())).await,
    };
    let expires = match form.expires(console.t, now) {
        Ok(expires) => expires,
        Err(error) => return show_detail(&state, &console, id, fail(error)).await,
    };
    match business_systems::create_key(
        &state.store,
        console.session.tenant,
        id,
        &form.name,
        &scopes,
        expires,
        &console.actor(),
        now,
    )
    .await
    {
        // Shown in this response only: a reload shows the list without it.
        Ok((_, key)) => {
            let extras = Extras {
                new_key: Some(key),
                ..Default::default()
            };
            show_detail(&state, &console, id, extras).await
        }
        Err(e) => {
            let error = system_error(e)?;
            show_detail(&state, &console, id, fail(error)).await
        }
    }
}

pub async fn revoke_key(
    State(state): State<AppState>,
    Path((id, key_id)): Path<(i64, i64)>,
    ConsoleForm { console, form }: ConsoleForm<NoFields>,
) -> Result<Response, ConsoleError> {
    let NoFields {} = form;
    console.require_manage_access()?;
    match business_systems::revoke_key(
        &state.store,
        console.session.tenant,
        id,
        key_id,
        &console.actor(),
        clock::now_ms(),
    )
    .await
    {
        Ok(()) => Ok(Redirect::to(&format!("{}?done=saved", detail_path(id))).into_response()),
        Err(e) => {
            let extras = Extras {
                status: Some(StatusCode::NOT_FOUND),
                error: Some(system_error(e)?),
                ..Default::default()
            };
            show_detail(&state, &console, id, extras).await
        }
    }
}

/// The subscription form: its event types are repeated checkboxes, which a struct cannot
/// take from a urlencoded body, so the fields are read from the pairs.
#[derive(Debug, Default)]
pub struct SubscriptionForm {
    pub url: String,
    pub event_types: Vec<String>,
    pub secret: String,
    pub enabled: bool,
}

impl SubscriptionForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = SubscriptionForm::default();
        for (name, value) in pairs {
            match name.as_str() {
                "url" => form.url = value,
                "event_types" => form.event_types.push(value),
                "secret" => form.secret = value,
                "enabled" => form.enabled = true,
                _ => {}
            }
        }
        form
    }
}

pub async fn create_subscription(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ConsoleForm { console, form }: ConsoleForm<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    console.require_write()?;
    let form = SubscriptionForm::from_pairs(form);
    let new = NewSubscription {
        url: form.url.clone(),
        event_types: form.event_types.clone(),
        secret: Some(form.secret),
        enabled: true,
    };
    match webhooks::create_subscription(
        &state.store,
        &state.sealer,
        console.session.tenant,
        id,
        new,
        &console.actor(),
        clock::now_ms(),
    )
    .await
    {
        // The secret is shown in this response only.
        Ok((_, secret)) => {
            let extras = Extras {
                new_secret: Some(secret),
                ..Default::default()
            };
            show_detail(&state, &console, id, extras).await
        }
        Err(e) => {
            let extras = Extras {
                status: Some(StatusCode::UNPROCESSABLE_ENTITY),
                error: Some(webhook_error(e)?),
                new_subscription: Some((form.url, form.event_types)),
                ..Default::default()
            };
            show_detail(&state, &console, id, extras).await
        }
    }
}

/// Runs a change of subscription `id` and goes back to its system's page (with `done` as the
/// flash), or shows the error there.
async fn on_subscription<F, Fut>(
    state: &AppState,
    console: &Console,
    id: i64,
    done: &str,
    change: F,
) -> Result<Response, ConsoleError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(), WebhookError>>,
{
    let tenant = console.session.tenant;
    let Some(sub) = webhooks::get_subscription(&state.store, &state.sealer, tenant, id)
        .await
        .map_err(store_error)?
    else {
        return Ok(super::message_page(
            console.t,
            StatusCode::NOT_FOUND,
            &WebhookError::NotFound.to_string(),
        ));
    };
    let system = sub.business_system_id;
    match change().await {
        Ok(()) => {
            state.webhooks.wake();
            Ok(Redirect::to(&format!("{}?done={done}", detail_path(system))).into_response())
        }
        Err(e) => {
            let extras = Extras {
                status: Some(StatusCode::UNPROCESSABLE_ENTITY),
                error: Some(webhook_error(e)?),
                ..Default::default()
            };
            show_detail(state, console, system, extras).await
        }
    }
}

pub async fn update_subscription(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ConsoleForm { console, form }: ConsoleForm<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    console.require_write()?;
    let form = SubscriptionForm::from_pairs(form);
    let patch = SubscriptionPatch {
        url: Some(form.url),
        event_types: Some(form.event_types),
        secret: Some(form.secret),
        enabled: Some(form.enabled),
    };
    on_subscription(&state, &console, id, "saved", || async {
        webhooks::update_subscription(
            &state.store,
            &state.sealer,
            console.session.tenant,
            id,
            patch,
            &console.actor(),
            clock::now_ms(),
        )
        .await
        .map(|_| ())
    })
    .await
}

#[derive(Deserialize)]
pub struct EnabledForm {
    enabled: String,
}

pub async fn set_enabled(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ConsoleForm { console, form }: ConsoleForm<EnabledForm>,
) -> Result<Response, ConsoleError> {
    console.require_write()?;
    let patch = SubscriptionPatch {
        enabled: Some(form.enabled == "1"),
        ..Default::default()
    };
    on_subscription(&state, &console, id, "saved", || async {
        webhooks::update_subscription(
            &state.store,
            &state.sealer,
            console.session.tenant,
            id,
            patch,
            &console.actor(),
            clock::now_ms(),
        )
        .await
        .map(|_| ())
    })
    .await
}

pub async fn test_subscription(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ConsoleForm { console, form }: ConsoleForm<NoFields>,
) -> Result<Response, ConsoleError> {
    let NoFields {} = form;
    console.require_write()?;
    on_subscription(&state, &console, id, "test", || async {
        webhooks::send_test(
            &state.store,
            &state.sealer,
            console.session.tenant,
            id,
            &console.actor(),
            clock::now_ms(),
        )
        .await
        .map(|_| ())
    })
    .await
}

pub async fn delete_subscription(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ConsoleForm { console, form }: ConsoleForm<NoFields>,
) -> Result<Response, ConsoleError> {
    let NoFields {} = form;
    console.require_write()?;
    on_subscription(&state, &console, id, "saved", || async {
        webhooks::delete_subscription(
            &state.store,
            &state.sealer,
            console.session.tenant,
            id,
            &console.actor(),
            clock::now_ms(),
        )
        .await
    })
    .await
}

pub async fn resend(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ConsoleForm { console, form }: ConsoleForm<NoFields>,
) -> Result<Response, ConsoleError> {
    let NoFields {} = form;
    console.require_write()?;
    let tenant = console.session.tenant;
    let Some(delivery) = webhooks::get_delivery(&state.store, tenant, id)
        .await
        .map_err(store_error)?
    else {
        return Ok(super::message_page(
            console.t,
            StatusCode::NOT_FOUND,
            &WebhookError::DeliveryNotFound.to_string(),
        ));
    };
    on_subscription(
        &state,
        &console,
        delivery.subscription_id,
        "resent",
        || async {
            webhooks::resend(
                &state.store,
                &state.sealer,
                tenant,
                id,
                &console.actor(),
                clock::now_ms(),
            )
            .await
            .map(|_| ())
        },
    )
    .await
}
