//! 微信公众号 / 企业微信 / 小程序: the channel pages (list, create, edit, delete).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::callback::Purpose;
use crate::callback::reachability::{self, CallbackCheck};
use crate::channels::{
    self, AccountType, Attrs, Channel, ChannelError, ChannelKind, ChannelPatch, ContactsPermission,
    Endpoints, NewChannel,
};
use crate::clock;

use super::i18n::{Texts, format_time};
use super::{Console, ConsoleError, ConsoleForm, NoFields, PageCtx, render_status, store_error};

/// The console section a kind belongs to (a WeCom app lives under 企业微信).
fn section(kind: ChannelKind) -> (&'static str, ChannelKind) {
    match kind {
        ChannelKind::OfficialAccount => {
            ("/console/official-accounts", ChannelKind::OfficialAccount)
        }
        ChannelKind::WecomCorp | ChannelKind::WecomApp => {
            ("/console/wecom", ChannelKind::WecomCorp)
        }
        ChannelKind::MiniProgram => ("/console/mini-programs", ChannelKind::MiniProgram),
    }
}

/// One row of a list: a channel and, for a corp, its apps.
pub struct ListRow {
    pub channel: Channel,
    pub apps: Vec<Channel>,
}

#[derive(Template)]
#[template(path = "console/channels.html")]
struct ListPage {
    ctx: PageCtx,
    title: &'static str,
    rows: Vec<ListRow>,
    form: ChannelForm,
    editing: bool,
}

#[derive(Template)]
#[template(path = "console/channel.html")]
struct DetailPage {
    ctx: PageCtx,
    channel: Channel,
    back: &'static str,
    title: &'static str,
    apps: Vec<Channel>,
    form: ChannelForm,
    app_form: ChannelForm,
    editing: bool,
    /// Token state, when the channel has a credential to fetch one with.
    token: Option<TokenView>,
    /// The callback step of the last test connection (empty otherwise).
    callback_checks: Vec<CallbackLine>,
}

/// One receiver's callback reachability in words for the page.
pub struct CallbackLine {
    pub purpose: &'static str,
    pub url: String,
    pub ok: bool,
    pub text: String,
}

impl CallbackLine {
    fn of(check: CallbackCheck, t: &Texts) -> Self {
        Self {
            purpose: match check.purpose {
                Purpose::Messages => t.cb_messages,
                Purpose::Contacts => t.cb_contacts,
                Purpose::Customers => t.cb_customers,
            },
            url: check.url.unwrap_or_default(),
            ok: check.ok,
            text: match check.problem {
                Some(problem) => format!("{problem} → {}", check.fix.unwrap_or_default()),
                None => t.tk_callback_ok.to_string(),
            },
        }
    }
}

#[derive(Template)]
#[template(path = "console/tokens.html")]
struct TokensPage {
    ctx: PageCtx,
    rows: Vec<TokenRow>,
}

/// One channel on the token overview.
struct TokenRow {
    channel_id: i64,
    name: String,
    kind: &'static str,
    missing_secret: Option<&'static str>,
    token: Option<TokenView>,
}

/// 令牌状态: the token state of every channel, with the daily-quota warning.
pub async fn tokens(
    State(state): State<AppState>,
    console: Console,
) -> Result<Response, ConsoleError> {
    let states = match state.gateway.states(console.session.tenant).await {
        Ok(states) => states,
        Err(crate::gateway::GatewayError::Store(e)) => return Err(store_error(e)),
        Err(e) => {
            // The token store's own failures (reading a token row); logged, never shown.
            tracing::error!(error = %e, "console: token overview");
            return Err(ConsoleError::Internal);
        }
    };
    let rows = states
        .into_iter()
        .map(|s| TokenRow {
            channel_id: s.channel_id,
            name: s.name,
            kind: title(&console, s.kind),
            missing_secret: s.missing_secret,
            token: s.token.map(|t| TokenView::of(t, console.t)),
        })
        .collect();
    Ok(super::render(&TokensPage {
        ctx: console.ctx(),
        rows,
    }))
}

/// A channel's token state in words for the page (never the token itself).
pub struct TokenView {
    pub valid_until: String,
    pub fetched_at: String,
    pub fetches: String,
    pub warning: Option<String>,
    pub last_error: Option<String>,
    pub last_event: Option<String>,
}

impl TokenView {
    fn of(state: crate::gateway::TokenState, t: &Texts) -> Self {
        let when = |ms: Option<i64>| ms.map(format_time).unwrap_or_else(|| t.not_set.to_string());
        Self {
            valid_until: when(state.valid_until_ms),
            fetched_at: when(state.fetched_at_ms),
            fetches: match state.daily_quota {
                Some(quota) => format!("{} / {quota}", state.fetches_today),
                None => state.fetches_today.to_string(),
            },
            warning: state.warning,
            last_error: state.last_error,
            last_event: state.health.last_event,
        }
    }
}

fn title(console: &Console, kind: ChannelKind) -> &'static str {
    match section(kind).1 {
        ChannelKind::OfficialAccount => console.t.nav_official_accounts,
        ChannelKind::MiniProgram => console.t.nav_mini_programs,
        _ => console.t.nav_wecom,
    }
}

async fn show_list(
    state: &AppState,
    console: &Console,
    kind: ChannelKind,
    status: StatusCode,
    form: ChannelForm,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    let tenant = console.session.tenant;
    let all = channels::list(&state.store, &state.sealer, tenant, None)
        .await
        .map_err(store_error)?;
    let rows = all
        .iter()
        .filter(|c| c.kind == kind)
        .map(|c| ListRow {
            channel: c.clone(),
            apps: all
                .iter()
                .filter(|a| a.parent_id == Some(c.id))
                .cloned()
                .collect(),
        })
        .collect();
    let mut ctx = console.ctx();
    ctx.error = error;
    Ok(render_status(
        status,
        &ListPage {
            ctx,
            title: title(console, kind),
            rows,
            form: ChannelForm {
                kind: kind.as_str().to_string(),
                ..form
            },
            editing: false,
        },
    ))
}

pub async fn official_accounts(
    State(state): State<AppState>,
    console: Console,
) -> Result<Response, ConsoleError> {
    show_list(
        &state,
        &console,
        ChannelKind::OfficialAccount,
        StatusCode::OK,
        ChannelForm::default(),
        None,
    )
    .await
}

pub async fn wecom(
    State(state): State<AppState>,
    console: Console,
) -> Result<Response, ConsoleError> {
    show_list(
        &state,
        &console,
        ChannelKind::WecomCorp,
        StatusCode::OK,
        ChannelForm::default(),
        None,
    )
    .await
}

pub async fn mini_programs(
    State(state): State<AppState>,
    console: Console,
) -> Result<Response, ConsoleError> {
    show_list(
        &state,
        &console,
        ChannelKind::MiniProgram,
        StatusCode::OK,
        ChannelForm::default(),
        None,
    )
    .await
}

/// Every field of every channel form; each kind uses its own.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ChannelForm {
    pub kind: String,
    pub name: String,
    pub remark: String,
    pub app_id: String,
    pub app_secret: String,
    pub original_id: String,
    pub account_type: String,
    pub verified: Option<String>,
    pub corp_id: String,
    pub contacts_secret: String,
    pub contacts_permission: String,
    pub customer_secret: String,
    pub checkin_secret: String,
    pub agent_id: String,
    pub secret: String,
    pub homepage_url: String,
    pub api_base_url: String,
    pub oauth_base_url: String,
    pub web_login_base_url: String,
}

impl ChannelForm {
    /// The form pre-filled with a channel's attributes (never its secrets).
    fn of(channel: &Channel) -> Self {
        let mut form = ChannelForm {
            kind: channel.kind.as_str().into(),
            name: channel.name.clone(),
            remark: channel.remark.clone(),
            ..Default::default()
        };
        match &channel.attrs {
            Attrs::OfficialAccount {
                original_id,
                account_type,
                verified,
                endpoints,
            } => {
                form.original_id = original_id.clone();
                form.account_type = match account_type {
                    AccountType::Service => "service".into(),
                    AccountType::Subscription => "subscription".into(),
                };
                form.verified = verified.then(|| "1".into());
                form.set_endpoints(endpoints);
            }
            Attrs::WecomCorp {
                contacts_permission,
                endpoints,
            } => {
                form.contacts_permission = match contacts_permission {
                    ContactsPermission::ReadOnly => "read_only".into(),
                    ContactsPermission::ReadWrite => "read_write".into(),
                };
                form.set_endpoints(endpoints);
            }
            Attrs::WecomApp { homepage_url } => {
                form.homepage_url = homepage_url.clone().unwrap_or_default()
            }
            Attrs::MiniProgram { endpoints } => form.set_endpoints(endpoints),
        }
        form
    }

    fn set_endpoints(&mut self, e: &Endpoints) {
        self.api_base_url = e.api_base_url.clone();
        self.oauth_base_url = e.oauth_base_url.clone();
        self.web_login_base_url = e.web_login_base_url.clone();
    }

    /// Endpoints as given, or Tencent's when the fields are left empty.
    fn endpoints(&self) -> Option<Endpoints> {
        (!self.api_base_url.trim().is_empty()).then(|| Endpoints {
            api_base_url: self.api_base_url.clone(),
            oauth_base_url: self.oauth_base_url.clone(),
            web_login_base_url: self.web_login_base_url.clone(),
        })
    }

    fn account_type(&self) -> AccountType {
        if self.account_type == "subscription" {
            AccountType::Subscription
        } else {
            AccountType::Service
        }
    }

    fn contacts_permission(&self) -> ContactsPermission {
        if self.contacts_permission == "read_write" {
            ContactsPermission::ReadWrite
        } else {
            ContactsPermission::ReadOnly
        }
    }

    fn into_new(self, corp: Option<i64>) -> Result<NewChannel, ChannelError> {
        let some = |s: &str| (!s.trim().is_empty()).then(|| s.to_string());
        Ok(match ChannelKind::parse(&self.kind) {
            Some(ChannelKind::OfficialAccount) => NewChannel::OfficialAccount {
                account_type: self.account_type(),
                endpoints: self.endpoints(),
                name: self.name,
                remark: self.remark,
                app_id: self.app_id,
                app_secret: self.app_secret,
                original_id: self.original_id,
                verified: self.verified.is_some(),
            },
            Some(ChannelKind::WecomCorp) => NewChannel::WecomCorp {
                contacts_permission: self.contacts_permission(),
                endpoints: self.endpoints(),
                contacts_secret: some(&self.contacts_secret),
                customer_secret: some(&self.customer_secret),
                checkin_secret: some(&self.checkin_secret),
                name: self.name,
                remark: self.remark,
                corp_id: self.corp_id,
            },
            Some(ChannelKind::WecomApp) => NewChannel::WecomApp {
                corp: corp.unwrap_or_default(),
                agent_id: self
                    .agent_id
                    .trim()
                    .parse()
                    .map_err(|_| ChannelError::Invalid {
                        field: "agent_id",
                        why: "must be the app's AgentID, a number such as 1000002".into(),
                    })?,
                homepage_url: some(&self.homepage_url),
                name: self.name,
                remark: self.remark,
                secret: self.secret,
            },
            Some(ChannelKind::MiniProgram) => NewChannel::MiniProgram {
                endpoints: self.endpoints(),
                name: self.name,
                remark: self.remark,
                app_id: self.app_id,
                app_secret: self.app_secret,
            },
            None => {
                return Err(ChannelError::Invalid {
                    field: "kind",
                    why: "unknown channel kind".into(),
                });
            }
        })
    }

    /// The update for `channel`: only the fields of its kind; empty secrets stay unchanged.
    fn into_patch(self, channel: &Channel) -> ChannelPatch {
        let mut patch = ChannelPatch {
            name: Some(self.name.clone()),
            remark: Some(self.remark.clone()),
            ..Default::default()
        };
        let kind = channel.kind;
        if kind == ChannelKind::OfficialAccount {
            patch.original_id = Some(self.original_id.clone());
            patch.account_type = Some(self.account_type());
            patch.verified = Some(self.verified.is_some());
        }
        if kind == ChannelKind::WecomCorp {
            patch.contacts_permission = Some(self.contacts_permission());
        }
        if kind == ChannelKind::WecomApp {
            patch.homepage_url = Some(self.homepage_url.clone());
        } else {
            patch.endpoints = self.endpoints();
        }
        for (name, value) in [
            ("app_secret", &self.app_secret),
            ("contacts_secret", &self.contacts_secret),
            ("customer_secret", &self.customer_secret),
            ("checkin_secret", &self.checkin_secret),
            ("secret", &self.secret),
        ] {
            let belongs = kind.secret_names().iter().any(|(n, _)| *n == name);
            if belongs && !value.trim().is_empty() {
                patch.secrets.insert(name.to_string(), value.clone());
            }
        }
        patch
    }
}

/// Creates the channel a form describes (a WeCom app under `corp`).
async fn create_from(
    state: &AppState,
    console: &Console,
    form: ChannelForm,
    corp: Option<i64>,
) -> Result<Channel, ChannelError> {
    let new = form.into_new(corp)?;
    channels::create(
        &state.store,
        &state.sealer,
        console.session.tenant,
        new,
        &console.actor(),
        clock::now_ms(),
    )
    .await
}

fn channel_error(e: ChannelError) -> Result<String, ConsoleError> {
    match e {
        ChannelError::Store(e) => Err(store_error(e)),
        other => Ok(other.to_string()),
    }
}

pub async fn create(
    State(state): State<AppState>,
    ConsoleForm { console, form }: ConsoleForm<ChannelForm>,
) -> Result<Response, ConsoleError> {
    console.require_write()?;
    let kind = ChannelKind::parse(&form.kind).unwrap_or(ChannelKind::OfficialAccount);
    let kept = ChannelForm {
        app_secret: String::new(),
        contacts_secret: String::new(),
        customer_secret: String::new(),
        checkin_secret: String::new(),
        secret: String::new(),
        ..form.clone()
    };
    let created = create_from(&state, &console, form, None).await;
    match created {
        Ok(channel) => {
            Ok(Redirect::to(&format!("/console/channels/{}?saved=1", channel.id)).into_response())
        }
        Err(e) => {
            let error = channel_error(e)?;
            show_list(
                &state,
                &console,
                kind,
                StatusCode::UNPROCESSABLE_ENTITY,
                kept,
                Some(error),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct Flash {
    saved: Option<String>,
}

async fn show_detail(
    state: &AppState,
    console: &Console,
    id: i64,
    status: StatusCode,
    form: Option<ChannelForm>,
    flash: Option<String>,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    let notices = Notices {
        flash,
        error,
        callback_checks: Vec::new(),
    };
    show_detail_with(state, console, id, status, form, notices).await
}

/// What a detail page reports about the action that led to it.
struct Notices {
    flash: Option<String>,
    error: Option<String>,
    callback_checks: Vec<CallbackLine>,
}

async fn show_detail_with(
    state: &AppState,
    console: &Console,
    id: i64,
    status: StatusCode,
    form: Option<ChannelForm>,
    notices: Notices,
) -> Result<Response, ConsoleError> {
    let tenant = console.session.tenant;
    let Some(channel) = channels::get(&state.store, &state.sealer, tenant, id)
        .await
        .map_err(store_error)?
    else {
        return Ok(super::message_page(
            console.t,
            StatusCode::NOT_FOUND,
            &ChannelError::NotFound.to_string(),
        ));
    };
    let apps = if channel.kind == ChannelKind::WecomCorp {
        channels::list(
            &state.store,
            &state.sealer,
            tenant,
            Some(ChannelKind::WecomApp),
        )
        .await
        .map_err(store_error)?
        .into_iter()
        .filter(|a| a.parent_id == Some(id))
        .collect()
    } else {
        Vec::new()
    };
    let mut ctx = console.ctx();
    let (back, _) = section(channel.kind);
    ctx.nav = super::nav(console.t, back);
    ctx.flash = notices.flash;
    ctx.error = notices.error;
    let token = state
        .gateway
        .state(tenant, id)
        .await
        .ok()
        .map(|s| TokenView::of(s, console.t));
    let page = DetailPage {
        token,
        title: title(console, channel.kind),
        form: form.unwrap_or_else(|| ChannelForm::of(&channel)),
        app_form: ChannelForm {
            kind: "wecom_app".into(),
            ..Default::default()
        },
        ctx,
        back,
        apps,
        channel,
        editing: true,
        callback_checks: notices.callback_checks,
    };
    Ok(render_status(status, &page))
}

pub async fn detail(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    console: Console,
    Query(flash): Query<Flash>,
) -> Result<Response, ConsoleError> {
    let flash = flash.saved.map(|_| console.t.saved.to_string());
    show_detail(&state, &console, id, StatusCode::OK, None, flash, None).await
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ConsoleForm { console, form }: ConsoleForm<ChannelForm>,
) -> Result<Response, ConsoleError> {
    console.require_write()?;
    let tenant = console.session.tenant;
    let Some(channel) = channels::get(&state.store, &state.sealer, tenant, id)
        .await
        .map_err(store_error)?
    else {
        return Ok(super::message_page(
            console.t,
            StatusCode::NOT_FOUND,
            &ChannelError::NotFound.to_string(),
        ));
    };
    let patch = form.clone().into_patch(&channel);
    match channels::update(
        &state.store,
        &state.sealer,
        tenant,
        id,
        patch,
        &console.actor(),
        clock::now_ms(),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/console/channels/{id}?saved=1")).into_response()),
        Err(e) => {
            let error = channel_error(e)?;
            show_detail(
                &state,
                &console,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(form),
                None,
                Some(error),
            )
            .await
        }
    }
}

/// 测试连接: fetches a token, then has each callback URL verified at the external base URL;
/// shows the outcome of each step, or the problem with its fix.
pub async fn test_connection(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ConsoleForm { console, form }: ConsoleForm<NoFields>,
) -> Result<Response, ConsoleError> {
    let NoFields {} = form;
    console.require_write()?;
    let tenant = console.session.tenant;
    let notices = match reachability::test_connection(&state, tenant, id).await {
        Ok(test) => {
            let callback_checks = test
                .callbacks
                .into_iter()
                .map(|check| CallbackLine::of(check, console.t))
                .collect();
            let (flash, error) = if test.ok {
                let until = test.valid_until_ms.map(format_time).unwrap_or_default();
                (Some(format!("{} {until}", console.t.tk_ok)), None)
            } else {
                let problem = test.problem.unwrap_or_default();
                let fix = test.fix.unwrap_or_default();
                (None, Some(format!("{problem} → {fix}")))
            };
            Notices {
                flash,
                error,
                callback_checks,
            }
        }
        Err(crate::gateway::GatewayError::Store(e)) => return Err(store_error(e)),
        Err(e) => Notices {
            flash: None,
            error: Some(e.to_string()),
            callback_checks: Vec::new(),
        },
    };
    show_detail_with(&state, &console, id, StatusCode::OK, None, notices).await
}

pub async fn add_app(
    State(state): State<AppState>,
    Path(corp): Path<i64>,
    ConsoleForm { console, form }: ConsoleForm<ChannelForm>,
) -> Result<Response, ConsoleError> {
    console.require_write()?;
    let form = ChannelForm {
        kind: "wecom_app".into(),
        ..form
    };
    let created = create_from(&state, &console, form, Some(corp)).await;
    match created {
        Ok(app) => {
            Ok(Redirect::to(&format!("/console/channels/{}?saved=1", app.id)).into_response())
        }
        Err(e) => {
            let error = channel_error(e)?;
            show_detail(
                &state,
                &console,
                corp,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                None,
                Some(error),
            )
            .await
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
    let tenant = console.session.tenant;
    let Some(channel) = channels::get(&state.store, &state.sealer, tenant, id)
        .await
        .map_err(store_error)?
    else {
        return Ok(super::message_page(
            console.t,
            StatusCode::NOT_FOUND,
            &ChannelError::NotFound.to_string(),
        ));
    };
    match channels::delete(&state.store, tenant, id, &console.actor(), clock::now_ms()).await {
        Ok(()) => {
            let target = match channel.parent_id {
                Some(corp) => format!("/console/channels/{corp}"),
                None => section(channel.kind).0.to_string(),
            };
            Ok(Redirect::to(&target).into_response())
        }
        Err(e) => {
            let error = channel_error(e)?;
            show_detail(
                &state,
                &console,
                id,
                StatusCode::CONFLICT,
                None,
                None,
                Some(error),
            )
            .await
        }
    }
}
