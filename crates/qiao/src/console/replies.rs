//! 回调设置: a channel's auto-reply rules (list, create, edit, enable/disable, delete, batch
//! delete).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::channels::{self, Channel, ChannelKind};
use crate::clock;
use crate::replies::{
    self, MatchMode, NewRule, ReplyAction, ReplyError, ReplyRule, RulePatch, parse_priority,
};

use super::i18n::Texts;
use super::{Console, ConsoleError, ConsoleForm, NoFields, PageCtx, render_status, store_error};

/// The console section of a channel that has rules, and its title.
fn section(t: &'static Texts, kind: ChannelKind) -> (&'static str, &'static str) {
    match kind {
        ChannelKind::OfficialAccount => ("/console/official-accounts", t.nav_official_accounts),
        _ => ("/console/wecom", t.nav_wecom),
    }
}

fn action_label(t: &'static Texts, action: ReplyAction) -> &'static str {
    match action {
        ReplyAction::Text => t.rr_action_text,
        ReplyAction::Image => t.rr_action_image,
        ReplyAction::Subscribe => t.rr_action_subscribe,
    }
}

fn mode_label(t: &'static Texts, mode: MatchMode) -> &'static str {
    match mode {
        MatchMode::Contains => t.rr_mode_contains,
        MatchMode::Prefix => t.rr_mode_prefix,
        MatchMode::Suffix => t.rr_mode_suffix,
        MatchMode::Exact => t.rr_mode_exact,
        MatchMode::Hosting => t.rr_mode_hosting,
    }
}

/// The actions a channel's rules may answer: (value, label).
fn actions(t: &'static Texts, kind: ChannelKind) -> Vec<(&'static str, &'static str)> {
    ReplyAction::ALL
        .into_iter()
        .filter(|a| *a != ReplyAction::Subscribe || kind == ChannelKind::OfficialAccount)
        .map(|a| (a.as_str(), action_label(t, a)))
        .collect()
}

fn modes(t: &'static Texts) -> Vec<(&'static str, &'static str)> {
    MatchMode::ALL
        .into_iter()
        .map(|m| (m.as_str(), mode_label(t, m)))
        .collect()
}

/// One row of the list, with its words.
pub struct RuleRow {
    pub rule: ReplyRule,
    pub action: &'static str,
    pub mode: &'static str,
}

/// The fields of the create and edit forms.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RuleForm {
    pub name: String,
    pub action: String,
    pub match_mode: String,
    pub keyword: String,
    pub reply: String,
    pub priority: String,
    pub enabled: Option<String>,
}

impl Default for RuleForm {
    fn default() -> Self {
        Self {
            name: String::new(),
            action: ReplyAction::Text.as_str().into(),
            match_mode: MatchMode::Contains.as_str().into(),
            keyword: String::new(),
            reply: String::new(),
            priority: String::new(),
            enabled: Some("1".into()),
        }
    }
}

impl RuleForm {
    fn of(rule: &ReplyRule) -> Self {
        Self {
            name: rule.name.clone(),
            action: rule.action.as_str().into(),
            match_mode: rule
                .match_mode
                .unwrap_or(MatchMode::Contains)
                .as_str()
                .into(),
            keyword: rule.keyword.clone().unwrap_or_default(),
            reply: rule.reply.clone(),
            priority: rule.priority.to_string(),
            enabled: rule.enabled.then(|| "1".into()),
        }
    }

    /// Whether the text-only fields (match mode, keyword) are off: not a text rule.
    pub fn text_only_disabled(&self) -> bool {
        self.action != ReplyAction::Text.as_str()
    }

    /// The form as a rule. The match mode select always has a value: it only counts for
    /// text rules. An empty keyword is no keyword.
    fn into_new(self) -> Result<NewRule, ReplyError> {
        let action = ReplyAction::parse(&self.action).ok_or_else(|| ReplyError::Invalid {
            field: "action",
            why: format!("unknown action `{}`", self.action),
        })?;
        let match_mode = if action == ReplyAction::Text {
            Some(
                MatchMode::parse(&self.match_mode).ok_or_else(|| ReplyError::Invalid {
                    field: "match_mode",
                    why: format!("unknown match mode `{}`", self.match_mode),
                })?,
            )
        } else {
            None
        };
        Ok(NewRule {
            priority: parse_priority(&self.priority)?,
            name: self.name,
            action,
            match_mode,
            keyword: Some(self.keyword),
            reply: self.reply,
            enabled: self.enabled.is_some(),
        })
    }

    fn into_patch(self) -> Result<RulePatch, ReplyError> {
        let new = self.into_new()?;
        Ok(RulePatch {
            name: Some(new.name),
            action: Some(new.action),
            match_mode: new.match_mode,
            keyword: new.keyword,
            reply: Some(new.reply),
            priority: Some(new.priority),
            enabled: Some(new.enabled),
        })
    }
}

#[derive(Template)]
#[template(path = "console/reply_rules.html")]
struct RulesPage {
    ctx: PageCtx,
    channel: Channel,
    back: &'static str,
    title: &'static str,
    rows: Vec<RuleRow>,
    form: RuleForm,
    actions: Vec<(&'static str, &'static str)>,
    modes: Vec<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "console/reply_rule.html")]
struct RulePage {
    ctx: PageCtx,
    channel: Channel,
    back: &'static str,
    title: &'static str,
    row: RuleRow,
    form: RuleForm,
    actions: Vec<(&'static str, &'static str)>,
    modes: Vec<(&'static str, &'static str)>,
}

fn not_found(console: &Console, message: &str) -> Response {
    super::message_page(console.t, StatusCode::NOT_FOUND, message)
}

/// The message of a refusal, or the failure that is not one.
fn reply_error(e: ReplyError) -> Result<String, ConsoleError> {
    match e {
        ReplyError::Store(e) => Err(store_error(e)),
        other => Ok(other.to_string()),
    }
}

/// A channel that may have rules, or the page that says why not.
async fn rule_channel(
    state: &AppState,
    console: &Console,
    id: i64,
) -> Result<Result<Channel, Response>, ConsoleError> {
    let channel = channels::get(&state.store, &state.sealer, console.session.tenant, id)
        .await
        .map_err(store_error)?;
    Ok(match channel {
        None => Err(not_found(console, &ReplyError::ChannelNotFound.to_string())),
        Some(c) if !replies::supports(c.kind) => Err(not_found(
            console,
            &format!(
                "auto-reply rules (回调设置) are for Official Accounts and WeCom apps; {} is a {}",
                c.name,
                c.kind.as_str()
            ),
        )),
        Some(c) => Ok(c),
    })
}

fn row(t: &'static Texts, rule: ReplyRule) -> RuleRow {
    RuleRow {
        action: action_label(t, rule.action),
        mode: rule.match_mode.map(|m| mode_label(t, m)).unwrap_or(""),
        rule,
    }
}

async fn show_list(
    state: &AppState,
    console: &Console,
    id: i64,
    status: StatusCode,
    form: Option<RuleForm>,
    flash: Option<String>,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    let channel = match rule_channel(state, console, id).await? {
        Ok(channel) => channel,
        Err(page) => return Ok(page),
    };
    let rules = match replies::list(&state.store, console.session.tenant, id).await {
        Ok(rules) => rules,
        Err(e) => return Ok(not_found(console, &reply_error(e)?)),
    };
    let t = console.t;
    let (back, title) = section(t, channel.kind);
    let mut ctx = console.ctx();
    ctx.nav = super::nav(t, back);
    ctx.flash = flash;
    ctx.error = error;
    let page = RulesPage {
        ctx,
        back,
        title,
        rows: rules.into_iter().map(|r| row(t, r)).collect(),
        form: form.unwrap_or_default(),
        actions: actions(t, channel.kind),
        modes: modes(t),
        channel,
    };
    Ok(render_status(status, &page))
}

#[derive(Deserialize)]
pub struct Flash {
    saved: Option<String>,
    deleted: Option<String>,
}

impl Flash {
    fn text(&self, t: &'static Texts) -> Option<String> {
        if self.deleted.is_some() {
            Some(t.rr_deleted.to_string())
        } else {
            self.saved.as_ref().map(|_| t.saved.to_string())
        }
    }
}

pub async fn page(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    console: Console,
    Query(flash): Query<Flash>,
) -> Result<Response, ConsoleError> {
    let flash = flash.text(console.t);
    show_list(&state, &console, id, StatusCode::OK, None, flash, None).await
}

fn to_list(channel_id: i64, flash: &str) -> Response {
    Redirect::to(&format!(
        "/console/channels/{channel_id}/reply-rules?{flash}=1"
    ))
    .into_response()
}

pub async fn create(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ConsoleForm { console, form }: ConsoleForm<RuleForm>,
) -> Result<Response, ConsoleError> {
    console.require_write()?;
    let created = match form.clone().into_new() {
        Ok(new) => {
            replies::create(
                &state.store,
                &state.reply_rules,
                console.session.tenant,
                id,
                new,
                &console.actor(),
                clock::now_ms(),
            )
            .await
        }
        Err(e) => Err(e),
    };
    match created {
        Ok(_) => Ok(to_list(id, "saved")),
        Err(ReplyError::ChannelNotFound) => Ok(not_found(
            &console,
            &ReplyError::ChannelNotFound.to_string(),
        )),
        Err(e) => {
            let error = reply_error(e)?;
            show_list(
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

/// Batch delete: the checked `ids` of the list.
pub async fn batch_delete(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ConsoleForm { console, form }: ConsoleForm<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    console.require_write()?;
    let mut ids = Vec::new();
    let mut bad = None;
    for (name, value) in &form {
        if name == "ids" {
            match value.trim().parse::<i64>() {
                Ok(rule_id) => ids.push(rule_id),
                Err(_) => bad = Some(format!("ids: `{value}` is not a rule id")),
            }
        }
    }
    let deleted: Result<usize, String> = match bad {
        Some(why) => Err(why),
        None => match replies::batch_delete(
            &state.store,
            &state.reply_rules,
            console.session.tenant,
            id,
            &ids,
            &console.actor(),
            clock::now_ms(),
        )
        .await
        {
            Ok(n) => Ok(n),
            Err(e) => Err(reply_error(e)?),
        },
    };
    match deleted {
        Ok(_) => Ok(to_list(id, "deleted")),
        Err(error) => {
            show_list(
                &state,
                &console,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                None,
                Some(error),
            )
            .await
        }
    }
}

async fn show_rule(
    state: &AppState,
    console: &Console,
    rule_id: i64,
    status: StatusCode,
    form: Option<RuleForm>,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    let tenant = console.session.tenant;
    let Some(rule) = replies::get(&state.store, tenant, rule_id)
        .await
        .map_err(store_error)?
    else {
        return Ok(not_found(console, &ReplyError::NotFound.to_string()));
    };
    let channel = match rule_channel(state, console, rule.channel_id).await? {
        Ok(channel) => channel,
        Err(page) => return Ok(page),
    };
    let t = console.t;
    let (back, title) = section(t, channel.kind);
    let mut ctx = console.ctx();
    ctx.nav = super::nav(t, back);
    ctx.error = error;
    let page = RulePage {
        ctx,
        back,
        title,
        form: form.unwrap_or_else(|| RuleForm::of(&rule)),
        row: row(t, rule),
        actions: actions(t, channel.kind),
        modes: modes(t),
        channel,
    };
    Ok(render_status(status, &page))
}

pub async fn edit_page(
    State(state): State<AppState>,
    Path(rule_id): Path<i64>,
    console: Console,
) -> Result<Response, ConsoleError> {
    show_rule(&state, &console, rule_id, StatusCode::OK, None, None).await
}

async fn apply(
    state: &AppState,
    console: &Console,
    rule_id: i64,
    patch: Result<RulePatch, ReplyError>,
) -> Result<Result<ReplyRule, String>, ConsoleError> {
    let updated = match patch {
        Ok(patch) => {
            replies::update(
                &state.store,
                &state.reply_rules,
                console.session.tenant,
                rule_id,
                patch,
                &console.actor(),
                clock::now_ms(),
            )
            .await
        }
        Err(e) => Err(e),
    };
    match updated {
        Ok(rule) => Ok(Ok(rule)),
        Err(e) => Ok(Err(reply_error(e)?)),
    }
}

pub async fn update(
    State(state): State<AppState>,
    Path(rule_id): Path<i64>,
    ConsoleForm { console, form }: ConsoleForm<RuleForm>,
) -> Result<Response, ConsoleError> {
    console.require_write()?;
    match apply(&state, &console, rule_id, form.clone().into_patch()).await? {
        Ok(rule) => Ok(to_list(rule.channel_id, "saved")),
        Err(error) => {
            show_rule(
                &state,
                &console,
                rule_id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(form),
                Some(error),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct EnabledForm {
    enabled: String,
}

/// Switches a rule on (`enabled=1`) or off (`enabled=0`).
pub async fn set_enabled(
    State(state): State<AppState>,
    Path(rule_id): Path<i64>,
    ConsoleForm { console, form }: ConsoleForm<EnabledForm>,
) -> Result<Response, ConsoleError> {
    console.require_write()?;
    let patch = RulePatch {
        enabled: Some(form.enabled == "1"),
        ..RulePatch::default()
    };
    match apply(&state, &console, rule_id, Ok(patch)).await? {
        Ok(rule) => Ok(to_list(rule.channel_id, "saved")),
        Err(error) => {
            show_rule(
                &state,
                &console,
                rule_id,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(error),
            )
            .await
        }
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Path(rule_id): Path<i64>,
    ConsoleForm { console, form }: ConsoleForm<NoFields>,
) -> Result<Response, ConsoleError> {
    let NoFields {} = form;
    console.require_write()?;
    let tenant = console.session.tenant;
    let Some(rule) = replies::get(&state.store, tenant, rule_id)
        .await
        .map_err(store_error)?
    else {
        return Ok(not_found(&console, &ReplyError::NotFound.to_string()));
    };
    match replies::delete(
        &state.store,
        &state.reply_rules,
        tenant,
        rule_id,
        &console.actor(),
        clock::now_ms(),
    )
    .await
    {
        Ok(()) => Ok(to_list(rule.channel_id, "deleted")),
        Err(e) => Ok(not_found(&console, &reply_error(e)?)),
    }
}
