//! The admin console at `/console`: server-rendered pages (askama), a little htmx, sessions in
//! the database, CSRF tokens on every state-changing form, roles, Chinese by default.
//!
//! Every page joins the navigation here ([`nav`]); the browser test follows whatever the
//! navigation shows, so a page that is not in it is not tested and not reachable.

mod access;
mod assets;
mod audit;
mod business_systems;
mod callbacks;
mod channels;
mod domain_files;
mod home;
pub mod i18n;
mod login;
mod replies;
mod session;
mod settings;
pub mod throttle;

use std::net::SocketAddr;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use crate::app::AppState;
use crate::audit::Actor;
use crate::clock;
use crate::http::REQUEST_ID;
use i18n::{Lang, Texts};
use session::Session;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(home::page))
        .route("/console/login", get(login::page).post(login::submit))
        .route("/console/logout", post(login::logout))
        .route("/console/lang/{code}", get(login::set_lang))
        .route(
            "/console/settings",
            get(settings::page).post(settings::submit),
        )
        .route(
            "/console/users",
            get(access::users_page).post(access::create_user),
        )
        .route("/console/users/{id}", post(access::update_user))
        .route("/console/users/{id}/password", post(access::reset_password))
        .route(
            "/console/api-keys",
            get(access::keys_page).post(access::create_key),
        )
        .route("/console/api-keys/{id}/revoke", post(access::revoke_key))
        .route(
            "/console/official-accounts",
            get(channels::official_accounts),
        )
        .route("/console/wecom", get(channels::wecom))
        .route("/console/mini-programs", get(channels::mini_programs))
        .route("/console/tokens", get(channels::tokens))
        .route("/console/channels", post(channels::create))
        .route(
            "/console/channels/{id}",
            get(channels::detail).post(channels::update),
        )
        .route("/console/channels/{id}/apps", post(channels::add_app))
        .route(
            "/console/channels/{id}/test-connection",
            post(channels::test_connection),
        )
        .route("/console/channels/{id}/delete", post(channels::delete))
        .route(
            "/console/channels/{id}/callbacks",
            get(callbacks::page).post(callbacks::create),
        )
        .route(
            "/console/channels/{id}/callbacks/{receiver}",
            post(callbacks::update),
        )
        .route("/console/inbox", get(callbacks::inbox))
        .route(
            "/console/domain-files",
            get(domain_files::page).post(domain_files::upload),
        )
        .route(
            "/console/domain-files/{name}/delete",
            post(domain_files::remove),
        )
        .route(
            "/console/business-systems",
            get(business_systems::list).post(business_systems::create),
        )
        .route(
            "/console/business-systems/{id}",
            get(business_systems::detail).post(business_systems::update),
        )
        .route(
            "/console/business-systems/{id}/delete",
            post(business_systems::delete),
        )
        .route(
            "/console/business-systems/{id}/api-keys",
            post(business_systems::create_key),
        )
        .route(
            "/console/business-systems/{id}/api-keys/{key_id}/revoke",
            post(business_systems::revoke_key),
        )
        .route(
            "/console/business-systems/{id}/webhook-subscriptions",
            post(business_systems::create_subscription),
        )
        .route(
            "/console/webhook-subscriptions/{id}",
            post(business_systems::update_subscription),
        )
        .route(
            "/console/webhook-subscriptions/{id}/enabled",
            post(business_systems::set_enabled),
        )
        .route(
            "/console/webhook-subscriptions/{id}/test",
            post(business_systems::test_subscription),
        )
        .route(
            "/console/webhook-subscriptions/{id}/delete",
            post(business_systems::delete_subscription),
        )
        .route(
            "/console/webhook-deliveries/{id}/resend",
            post(business_systems::resend),
        )
        .route(
            "/console/channels/{id}/reply-rules",
            get(replies::page).post(replies::create),
        )
        .route(
            "/console/channels/{id}/reply-rules/batch-delete",
            post(replies::batch_delete),
        )
        .route(
            "/console/reply-rules/{id}",
            get(replies::edit_page).post(replies::update),
        )
        .route(
            "/console/reply-rules/{id}/enabled",
            post(replies::set_enabled),
        )
        .route("/console/reply-rules/{id}/delete", post(replies::delete))
        .route("/console/audit", get(audit::page))
        .route("/console/static/{file}", get(assets::serve))
}

/// One entry of the navigation.
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

/// The navigation for `path`. Every console page appears here.
pub fn nav(t: &'static Texts, path: &str) -> Vec<NavItem> {
    [
        ("/console", t.nav_home),
        ("/console/settings", t.nav_settings),
        ("/console/domain-files", t.nav_domain_files),
        ("/console/official-accounts", t.nav_official_accounts),
        ("/console/wecom", t.nav_wecom),
        ("/console/mini-programs", t.nav_mini_programs),
        ("/console/tokens", t.nav_tokens),
        ("/console/inbox", t.nav_inbox),
        ("/console/business-systems", t.nav_business_systems),
        ("/console/users", t.nav_users),
        ("/console/api-keys", t.nav_api_keys),
        ("/console/audit", t.nav_audit),
    ]
    .into_iter()
    .map(|(href, label)| NavItem {
        href,
        label,
        active: href == path,
    })
    .collect()
}

/// What every logged-in page knows: the user, the language, the CSRF token, the navigation.
pub struct Console {
    pub session: Session,
    pub lang: Lang,
    pub t: &'static Texts,
    pub ip: String,
    pub request_id: Option<String>,
    pub path: String,
}

/// The common part of every page template (the layout reads it).
pub struct PageCtx {
    pub t: &'static Texts,
    pub nav: Vec<NavItem>,
    pub csrf: String,
    pub user_display: String,
    pub can_write: bool,
    pub can_manage_access: bool,
    pub flash: Option<String>,
    pub error: Option<String>,
}

impl Console {
    pub fn actor(&self) -> Actor {
        Actor {
            name: format!("admin:{}", self.session.user.username),
            ip: Some(self.ip.clone()),
            request_id: self.request_id.clone(),
        }
    }

    pub fn ctx(&self) -> PageCtx {
        let role = self.session.user.role;
        PageCtx {
            t: self.t,
            nav: nav(self.t, &self.path),
            csrf: self.session.csrf_token.clone(),
            user_display: format!(
                "{} ({})",
                self.session.user.display_name, self.session.user.username
            ),
            can_write: role.can_write(),
            can_manage_access: role.can_manage_access(),
            flash: None,
            error: None,
        }
    }

    /// Refuses unless the user may change configuration.
    pub fn require_write(&self) -> Result<(), ConsoleError> {
        if self.session.user.role.can_write() {
            Ok(())
        } else {
            Err(self.forbidden())
        }
    }

    /// Refuses unless the user may manage admin users and API keys.
    pub fn require_manage_access(&self) -> Result<(), ConsoleError> {
        if self.session.user.role.can_manage_access() {
            Ok(())
        } else {
            Err(self.forbidden())
        }
    }

    fn forbidden(&self) -> ConsoleError {
        ConsoleError::Forbidden(self.t)
    }
}

pub fn client_ip(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<AppState> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_login = || Redirect::to("/console/login").into_response();
        let Some(token) = cookie(&parts.headers, session::COOKIE) else {
            return Err(to_login());
        };
        let session = match session::lookup(&state.store, token, clock::now_ms()).await {
            Ok(Some(session)) => session,
            Ok(None) => return Err(to_login()),
            Err(e) => {
                tracing::error!(error = %e, "session lookup failed");
                return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
            }
        };
        let lang = Lang::from_headers(&parts.headers);
        Ok(Console {
            session,
            lang,
            t: lang.texts(),
            ip: client_ip(parts),
            request_id: parts
                .headers
                .get(REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            path: parts.uri.path().to_owned(),
        })
    }
}

/// A submitted console form: the session is valid, the request comes from this site, and the
/// form carries the session's CSRF token. Every state-changing console route takes one.
pub struct ConsoleForm<T> {
    pub console: Console,
    pub form: T,
}

/// A form with nothing but its CSRF token (logout, revoke…).
#[derive(serde::Deserialize)]
pub struct NoFields {}

#[derive(serde::Deserialize)]
struct CsrfField {
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

/// True when the request's `Origin` (if any) is the host it was sent to.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest == host)
}

impl<T: DeserializeOwned> FromRequest<AppState> for ConsoleForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let console = Console::from_request_parts(&mut parts, state).await?;
        let expired = || message_page(console.t, StatusCode::FORBIDDEN, console.t.form_expired);
        if !same_origin(&parts.headers) {
            return Err(expired());
        }
        let req = Request::from_parts(parts, body);
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let field: CsrfField = serde_urlencoded::from_bytes(&bytes).map_err(|_| expired())?;
        let expected = console.session.csrf_token.as_bytes();
        if field.csrf.is_empty() || !bool::from(field.csrf.as_bytes().ct_eq(expected)) {
            return Err(expired());
        }
        let form: T = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            message_page(console.t, StatusCode::UNPROCESSABLE_ENTITY, &e.to_string())
        })?;
        Ok(ConsoleForm { console, form })
    }
}

#[derive(Template)]
#[template(path = "console/message.html")]
struct MessagePage<'a> {
    t: &'static Texts,
    message: &'a str,
}

/// A bare page with one message (errors outside the layout).
pub fn message_page(t: &'static Texts, status: StatusCode, message: &str) -> Response {
    (status, render(&MessagePage { t, message })).into_response()
}

/// Renders a template, or a 500 when the template fails (logged).
pub fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Why a console handler could not show its page.
pub enum ConsoleError {
    /// The user's role does not allow the action.
    Forbidden(&'static Texts),
    /// Something failed inside (already logged).
    Internal,
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        match self {
            ConsoleError::Forbidden(t) => message_page(t, StatusCode::FORBIDDEN, t.forbidden),
            ConsoleError::Internal => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
}

/// A store failure: logged here, a plain 500 for the user.
pub fn store_error(e: crate::store::StoreError) -> ConsoleError {
    tracing::error!(error = %e, "console: store error");
    ConsoleError::Internal
}

/// Renders with a status (e.g. 422 for a form with errors).
pub fn render_status(status: StatusCode, template: &impl Template) -> Response {
    let mut response = render(template);
    if response.status() == StatusCode::OK {
        *response.status_mut() = status;
    }
    response
}
