//! 管理员 and API 密钥: who may use the console and the API.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use crate::app::AppState;
use crate::audit;
use crate::auth::Role;
use crate::auth::api_keys::{self, ApiKey, Scope};
use crate::auth::users::{self, AdminUser, UserError};
use crate::clock;

use super::i18n::{Texts, format_time};
use super::{Console, ConsoleError, ConsoleForm, NoFields, PageCtx, render_status, store_error};

pub struct UserRow {
    pub user: AdminUser,
    pub last_login: String,
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct UsersPage {
    ctx: PageCtx,
    users: Vec<UserRow>,
    roles: Vec<(&'static str, &'static str)>,
}

fn role_options(t: &'static Texts) -> Vec<(&'static str, &'static str)> {
    vec![
        (Role::SuperAdmin.as_str(), t.role_super_admin),
        (Role::Admin.as_str(), t.role_admin),
        (Role::Auditor.as_str(), t.role_auditor),
    ]
}

#[derive(Deserialize)]
pub struct Flash {
    done: Option<String>,
}

async fn show_users(
    state: &AppState,
    console: &Console,
    status: StatusCode,
    flash: Option<String>,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    let users = users::list_users(&state.store, console.session.tenant)
        .await
        .map_err(store_error)?
        .into_iter()
        .map(|user| UserRow {
            last_login: user.last_login_ms.map(format_time).unwrap_or_default(),
            user,
        })
        .collect();
    let mut ctx = console.ctx();
    ctx.flash = flash;
    ctx.error = error;
    Ok(render_status(
        status,
        &UsersPage {
            roles: role_options(console.t),
            ctx,
            users,
        },
    ))
}

pub async fn users_page(
    State(state): State<AppState>,
    console: Console,
    Query(flash): Query<Flash>,
) -> Result<Response, ConsoleError> {
    let flash = match flash.done.as_deref() {
        Some("password") => Some(console.t.password_reset_done.to_string()),
        Some(_) => Some(console.t.saved.to_string()),
        None => None,
    };
    show_users(&state, &console, StatusCode::OK, flash, None).await
}

fn user_error(e: UserError) -> Result<String, ConsoleError> {
    match e {
        UserError::Store(e) => Err(store_error(e)),
        other => Ok(other.to_string()),
    }
}

#[derive(Deserialize)]
pub struct NewUserForm {
    username: String,
    #[serde(default)]
    display_name: String,
    role: String,
    password: String,
}

pub async fn create_user(
    State(state): State<AppState>,
    ConsoleForm { console, form }: ConsoleForm<NewUserForm>,
) -> Result<Response, ConsoleError> {
    console.require_manage_access()?;
    let tenant = console.session.tenant;
    let now = clock::now_ms();
    let Some(role) = Role::parse(&form.role) else {
        return show_users(
            &state,
            &console,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some("role".into()),
        )
        .await;
    };
    let display = if form.display_name.trim().is_empty() {
        form.username.as_str()
    } else {
        form.display_name.as_str()
    };
    let mut tx = state.store.begin_write().await.map_err(store_error)?;
    match users::create_user(
        &mut tx,
        tenant,
        form.username.trim(),
        display,
        role,
        &form.password,
        now,
    )
    .await
    {
        Ok(_) => {
            let after = json!({ "username": form.username.trim(), "role": role });
            audit::record(
                &mut tx,
                tenant,
                &console.actor(),
                "admin_user.create",
                form.username.trim(),
                None,
                Some(&after),
                now,
            )
            .await
            .map_err(store_error)?;
            tx.commit().await.map_err(store_error)?;
            Ok(Redirect::to("/console/users?done=created").into_response())
        }
        Err(e) => {
            drop(tx);
            let error = user_error(e)?;
            show_users(
                &state,
                &console,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(error),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct AccessForm {
    role: String,
    #[serde(default)]
    disabled: Option<String>,
}

pub async fn update_user(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ConsoleForm { console, form }: ConsoleForm<AccessForm>,
) -> Result<Response, ConsoleError> {
    console.require_manage_access()?;
    let tenant = console.session.tenant;
    let now = clock::now_ms();
    let Some(role) = Role::parse(&form.role) else {
        return show_users(
            &state,
            &console,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some("role".into()),
        )
        .await;
    };
    let disabled = form.disabled.is_some();
    let Some(before) = users::get_user(&state.store, tenant, id)
        .await
        .map_err(store_error)?
    else {
        return show_users(
            &state,
            &console,
            StatusCode::NOT_FOUND,
            None,
            Some(UserError::NotFound.to_string()),
        )
        .await;
    };
    let mut tx = state.store.begin_write().await.map_err(store_error)?;
    if let Err(e) = users::update_access(&mut tx, tenant, id, role, disabled, now).await {
        drop(tx);
        let error = user_error(e)?;
        return show_users(&state, &console, StatusCode::CONFLICT, None, Some(error)).await;
    }
    audit::record(
        &mut tx,
        tenant,
        &console.actor(),
        "admin_user.update_access",
        &before.username,
        Some(&json!({ "role": before.role, "disabled": before.disabled })),
        Some(&json!({ "role": role, "disabled": disabled })),
        now,
    )
    .await
    .map_err(store_error)?;
    tx.commit().await.map_err(store_error)?;
    Ok(Redirect::to("/console/users?done=updated").into_response())
}

#[derive(Deserialize)]
pub struct PasswordForm {
    password: String,
}

pub async fn reset_password(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ConsoleForm { console, form }: ConsoleForm<PasswordForm>,
) -> Result<Response, ConsoleError> {
    console.require_manage_access()?;
    let tenant = console.session.tenant;
    let now = clock::now_ms();
    let Some(user) = users::get_user(&state.store, tenant, id)
        .await
        .map_err(store_error)?
    else {
        return show_users(
            &state,
            &console,
            StatusCode::NOT_FOUND,
            None,
            Some(UserError::NotFound.to_string()),
        )
        .await;
    };
    let mut tx = state.store.begin_write().await.map_err(store_error)?;
    if let Err(e) = users::set_password(&mut tx, tenant, id, &form.password, now).await {
        drop(tx);
        let error = user_error(e)?;
        return show_users(
            &state,
            &console,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(error),
        )
        .await;
    }
    audit::record(
        &mut tx,
        tenant,
        &console.actor(),
        "admin_user.reset_password",
        &user.username,
        None,
        None,
        now,
    )
    .await
    .map_err(store_error)?;
    tx.commit().await.map_err(store_error)?;
    Ok(Redirect::to("/console/users?done=password").into_response())
}

pub struct KeyRow {
    pub key: ApiKey,
    pub scopes: String,
    pub created: String,
    pub last_used: String,
    pub expires: String,
}

impl KeyRow {
    /// A key as a table row, in the page's language.
    pub fn of(t: &'static Texts, key: ApiKey) -> Self {
        KeyRow {
            scopes: key
                .scopes
                .iter()
                .map(|s| match s {
                    Scope::Admin => t.scope_admin,
                    Scope::Read => t.scope_read,
                    Scope::Tokens => "tokens",
                })
                .collect::<Vec<_>>()
                .join(", "),
            created: format_time(key.created_ms),
            last_used: key.last_used_ms.map(format_time).unwrap_or_default(),
            expires: key
                .expires_ms
                .map(format_time)
                .unwrap_or_else(|| t.never.to_string()),
            key,
        }
    }
}

#[derive(Template)]
#[template(path = "console/api_keys.html")]
struct KeysPage {
    ctx: PageCtx,
    keys: Vec<KeyRow>,
    /// A key just created, shown this once (reveal-once: see `secrets::reveal`).
    new_key: Option<String>,
}

async fn show_keys(
    state: &AppState,
    console: &Console,
    status: StatusCode,
    new_key: Option<String>,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    let keys = api_keys::list_keys(&state.store, console.session.tenant)
        .await
        .map_err(store_error)?
        .into_iter()
        .map(|key| KeyRow::of(console.t, key))
        .collect();
    let mut ctx = console.ctx();
    ctx.error = error;
    Ok(render_status(status, &KeysPage { ctx, keys, new_key }))
}

pub async fn keys_page(
    State(state): State<AppState>,
    console: Console,
) -> Result<Response, ConsoleError> {
    show_keys(&state, &console, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
pub struct NewKeyForm {
    pub name: String,
    pub scope: String,
    #[serde(default)]
    pub expires_in_days: String,
}

impl NewKeyForm {
    /// The expiry the form asks for (empty: none), or an error naming the field.
    pub fn expires(&self, t: &'static Texts, now: i64) -> Result<Option<i64>, String> {
        match self.expires_in_days.trim() {
            "" => Ok(None),
            days => match days.parse::<u32>() {
                Ok(days) if days > 0 => Ok(Some(now + i64::from(days) * 86_400_000)),
                _ => Err(format!("{}: {days}", t.expires_in_days)),
            },
        }
    }
}

pub async fn create_key(
    State(state): State<AppState>,
    ConsoleForm { console, form }: ConsoleForm<NewKeyForm>,
) -> Result<Response, ConsoleError> {
    console.require_manage_access()?;
    let tenant = console.session.tenant;
    let now = clock::now_ms();
    let scopes = match api_keys::parse_scopes([form.scope.as_str()]) {
        Ok(scopes) => scopes,
        Err(e) => {
            return show_keys(
                &state,
                &console,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(e.to_string()),
            )
            .await;
        }
    };
    let expires = match form.expires(console.t, now) {
        Ok(expires) => expires,
        Err(error) => {
            return show_keys(
                &state,
                &console,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(error),
            )
            .await;
        }
    };
    let actor = console.actor();
    let mut tx = state.store.begin_write().await.map_err(store_error)?;
    let (record, key) = match api_keys::create_key(
        &mut tx,
        tenant,
        &form.name,
        &scopes,
        &actor.name,
        expires,
        now,
    )
    .await
    {
        Ok(created) => created,
        Err(e) => {
            drop(tx);
            return show_keys(
                &state,
                &console,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(e.to_string()),
            )
            .await;
        }
    };
    let after = json!({ "name": record.name, "prefix": record.prefix, "scopes": record.scopes });
    audit::record(
        &mut tx,
        tenant,
        &actor,
        "api_key.create",
        &record.id.to_string(),
        None,
        Some(&after),
        now,
    )
    .await
    .map_err(store_error)?;
    tx.commit().await.map_err(store_error)?;
    // Shown in this response only: a reload shows the list without it.
    show_keys(&state, &console, StatusCode::OK, Some(key), None).await
}

pub async fn revoke_key(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ConsoleForm { console, form }: ConsoleForm<NoFields>,
) -> Result<Response, ConsoleError> {
    let NoFields {} = form;
    console.require_manage_access()?;
    let tenant = console.session.tenant;
    let now = clock::now_ms();
    let mut tx = state.store.begin_write().await.map_err(store_error)?;
    if let Err(e) = api_keys::revoke_key(&mut tx, tenant, id, now).await {
        drop(tx);
        return show_keys(
            &state,
            &console,
            StatusCode::NOT_FOUND,
            None,
            Some(e.to_string()),
        )
        .await;
    }
    audit::record(
        &mut tx,
        tenant,
        &console.actor(),
        "api_key.revoke",
        &id.to_string(),
        None,
        None,
        now,
    )
    .await
    .map_err(store_error)?;
    tx.commit().await.map_err(store_error)?;
    Ok(Redirect::to("/console/api-keys").into_response())
}
