//! Login, logout and the language switch.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::app::AppState;
use crate::auth::users::{self, LoginError};
use crate::clock;
use crate::settings;
use crate::store::TenantId;

use super::i18n::{LANG_COOKIE, Lang, Texts};
use super::session::{self, COOKIE, LIFETIME_MS};
use super::{ConsoleForm, NoFields, cookie, render_status, same_origin};

/// The double-submit cookie that protects the login form itself (there is no session yet).
const LOGIN_CSRF_COOKIE: &str = "qiao_login_csrf";

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    t: &'static Texts,
    csrf: String,
    username: String,
    error: Option<&'static str>,
}

/// `Secure` when the console is served over https.
async fn secure_attr(state: &AppState) -> &'static str {
    match settings::effective(&state.store, TenantId::DEFAULT, &state.config).await {
        Ok(s) if s.external_url.starts_with("https://") => "; Secure",
        _ => "",
    }
}

async fn login_form(
    state: &AppState,
    t: &'static Texts,
    status: StatusCode,
    username: String,
    error: Option<&'static str>,
) -> Response {
    let csrf = session::random_token();
    let mut response = render_status(
        status,
        &LoginPage {
            t,
            csrf: csrf.clone(),
            username,
            error,
        },
    );
    let cookie = format!(
        "{LOGIN_CSRF_COOKIE}={csrf}; Path=/console/login; HttpOnly; SameSite=Strict{}",
        secure_attr(state).await
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

pub async fn page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let t = Lang::from_headers(&headers).texts();
    login_form(&state, t, StatusCode::OK, String::new(), None).await
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    connect: axum::extract::ConnectInfo<std::net::SocketAddr>,
    axum::Form(form): axum::Form<LoginForm>,
) -> Response {
    let t = Lang::from_headers(&headers).texts();
    let ip = connect.0.ip().to_string();
    let now = clock::now_ms();
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if !same_origin(&headers)
        || expected.is_empty()
        || !bool::from(expected.as_bytes().ct_eq(form.csrf.as_bytes()))
    {
        metrics::counter!("qiao_console_logins_total", "result" => "csrf").increment(1);
        return login_form(
            &state,
            t,
            StatusCode::FORBIDDEN,
            form.username,
            Some(t.form_expired),
        )
        .await;
    }
    if !state.login_throttle.allowed(&ip, now) {
        metrics::counter!("qiao_console_logins_total", "result" => "throttled").increment(1);
        return login_form(
            &state,
            t,
            StatusCode::TOO_MANY_REQUESTS,
            form.username,
            Some(t.login_throttled),
        )
        .await;
    }
    let tenant = TenantId::DEFAULT;
    match users::authenticate(
        &state.store,
        tenant,
        form.username.trim(),
        &form.password,
        now,
    )
    .await
    {
        Ok(user) => {
            state.login_throttle.record_success(&ip);
            let agent = headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let token = match session::create(&state.store, tenant, user.id, &ip, agent, now).await
            {
                Ok(token) => token,
                Err(e) => {
                    tracing::error!(error = %e, "cannot create a session");
                    return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                }
            };
            metrics::counter!("qiao_console_logins_total", "result" => "ok").increment(1);
            tracing::info!(user = %user.username, %ip, "console login");
            let secure = secure_attr(&state).await;
            let mut response = Redirect::to("/console").into_response();
            let cookies = [
                format!(
                    "{COOKIE}={token}; Path=/console; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
                    LIFETIME_MS / 1000
                ),
                format!("{LOGIN_CSRF_COOKIE}=; Path=/console/login; Max-Age=0"),
            ];
            for c in cookies {
                if let Ok(value) = HeaderValue::from_str(&c) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            response
        }
        Err(e) => {
            state.login_throttle.record_failure(&ip, now);
            let reason = match &e {
                LoginError::WrongCredentials => "wrong_credentials",
                LoginError::Locked => "locked",
                LoginError::Disabled => "disabled",
                LoginError::Store(err) => {
                    tracing::error!(error = %err, "login failed on the store");
                    "error"
                }
            };
            metrics::counter!("qiao_console_logins_total", "result" => reason).increment(1);
            tracing::warn!(%ip, reason, "console login refused");
            // One message for every reason, so that nobody learns which accounts exist.
            login_form(
                &state,
                t,
                StatusCode::UNAUTHORIZED,
                form.username,
                Some(t.login_failed),
            )
            .await
        }
    }
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: ConsoleForm<NoFields>,
) -> Response {
    let _ = form.form;
    if let Some(token) = cookie(&headers, COOKIE)
        && let Err(e) = session::end(&state.store, token, clock::now_ms()).await
    {
        tracing::error!(error = %e, "cannot end a session");
    }
    let mut response = Redirect::to("/console/login").into_response();
    if let Ok(value) =
        HeaderValue::from_str(&format!("{COOKIE}=; Path=/console; HttpOnly; Max-Age=0"))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Switches the console language (a preference cookie; changes nothing on the server).
pub async fn set_lang(Path(code): Path<String>, headers: HeaderMap) -> Response {
    let lang = if code == "en" { "en" } else { "zh" };
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("/console").map(|i| r[i..].to_string()))
        .unwrap_or_else(|| "/console".into());
    let mut response = Redirect::to(&back).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={lang}; Path=/console; SameSite=Lax; Max-Age=31536000"
    )) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
