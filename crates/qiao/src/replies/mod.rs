//! 回调设置: auto-reply rules of Official Accounts and WeCom apps (Official Account doc 7,
//! WeCom doc 9.3).
//!
//! A rule answers what a user did in the account's or app's chat: sent a text (compared with
//! the rule's keyword by a match mode: contains 包含, prefix 开头, suffix 结束, exact 完全匹配,
//! or hosting 直接托管, which answers every text), sent an image, or followed the Official
//! Account. Among the enabled rules that match, the smallest priority (1–100) wins, and among
//! equal priorities the rule created first. The callback path asks a [`RuleCache`] for the
//! channel's [`Matcher`]; every change here invalidates the cache.

mod cache;
mod matcher;
mod store;
mod validate;

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::audit::{self, Actor};
use crate::channels::{self, ChannelKind};
use crate::store::{Store, TenantId};

pub use cache::{RULE_CACHE_TTL, RuleCache};
pub use matcher::{Action, Matcher};
pub use validate::{
    MAX_KEYWORD_CHARS, MAX_REPLY_CHARS, MAX_RULES_PER_CHANNEL, PRIORITY_RANGE, ReplyError,
    parse_priority,
};

/// What the user did that a rule answers (用户动作).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplyAction {
    /// Sent a text message (发送文字).
    Text,
    /// Sent an image (发送图片).
    Image,
    /// Followed the Official Account (关注); Official Accounts only.
    Subscribe,
}

impl ReplyAction {
    pub const ALL: [ReplyAction; 3] = [
        ReplyAction::Text,
        ReplyAction::Image,
        ReplyAction::Subscribe,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReplyAction::Text => "text",
            ReplyAction::Image => "image",
            ReplyAction::Subscribe => "subscribe",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// How a text rule compares its keyword with the message (匹配方式). Case-sensitive, nothing
/// trimmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchMode {
    /// 包含: the message contains the keyword.
    Contains,
    /// 开头: the message starts with the keyword.
    Prefix,
    /// 结束: the message ends with the keyword.
    Suffix,
    /// 完全匹配: the message is the keyword.
    Exact,
    /// 直接托管: every text message, whatever it says (no keyword).
    Hosting,
}

impl MatchMode {
    pub const ALL: [MatchMode; 5] = [
        MatchMode::Contains,
        MatchMode::Prefix,
        MatchMode::Suffix,
        MatchMode::Exact,
        MatchMode::Hosting,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MatchMode::Contains => "contains",
            MatchMode::Prefix => "prefix",
            MatchMode::Suffix => "suffix",
            MatchMode::Exact => "exact",
            MatchMode::Hosting => "hosting",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// True for the modes that compare a keyword (all but hosting).
    pub fn has_keyword(self) -> bool {
        self != MatchMode::Hosting
    }
}

/// The kinds of channel that have reply rules.
pub fn supports(kind: ChannelKind) -> bool {
    matches!(kind, ChannelKind::OfficialAccount | ChannelKind::WecomApp)
}

/// An auto-reply rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ReplyRule {
    pub id: i64,
    /// The Official Account or WeCom app.
    pub channel_id: i64,
    /// 规则名称.
    pub name: String,
    pub action: ReplyAction,
    /// Text rules only.
    pub match_mode: Option<MatchMode>,
    /// Text rules that compare (all modes but hosting) only; at most 50 characters.
    pub keyword: Option<String>,
    /// 回复内容: 1 to 1500 characters; line breaks (`\n`) and links are kept as written.
    pub reply: String,
    /// 1 to 100; the smallest wins; among equals, the rule created first.
    pub priority: i32,
    pub enabled: bool,
    pub created_ms: i64,
    pub updated_ms: i64,
}

fn yes() -> bool {
    true
}

/// A new rule.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRule {
    /// 1 to 64 characters.
    pub name: String,
    pub action: ReplyAction,
    /// Required for text rules; absent for image and subscribe rules.
    #[serde(default)]
    pub match_mode: Option<MatchMode>,
    /// Required for contains, prefix, suffix and exact (at most 50 characters, compared as
    /// written); absent otherwise.
    #[serde(default)]
    pub keyword: Option<String>,
    /// 1 to 1500 characters; `\n` and links are kept.
    pub reply: String,
    /// A whole number from 1 to 100; the smallest wins.
    #[schema(value_type = i64, minimum = 1, maximum = 100)]
    pub priority: serde_json::Number,
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// A partial update: absent fields stay. A rule that stops being a text rule (or becomes a
/// hosting rule) drops its stored match mode and keyword; `keyword: ""` removes it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulePatch {
    pub name: Option<String>,
    pub action: Option<ReplyAction>,
    pub match_mode: Option<MatchMode>,
    pub keyword: Option<String>,
    pub reply: Option<String>,
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub priority: Option<serde_json::Number>,
    pub enabled: Option<bool>,
}

fn audit_json(rule: &ReplyRule) -> serde_json::Value {
    json!({ "channel_id": rule.channel_id, "name": rule.name, "action": rule.action,
        "match_mode": rule.match_mode, "keyword": rule.keyword, "reply": rule.reply,
        "priority": rule.priority, "enabled": rule.enabled })
}

/// The channel's kind, or why it cannot have rules.
async fn rule_channel(
    store: &Store,
    tenant: TenantId,
    channel_id: i64,
) -> Result<ChannelKind, ReplyError> {
    let kind = channels::kind_of(store, tenant, channel_id)
        .await?
        .ok_or(ReplyError::ChannelNotFound)?;
    if !supports(kind) {
        return Err(ReplyError::Invalid {
            field: "channel",
            why: format!(
                "auto-reply rules (回调设置) are for Official Accounts and WeCom apps; channel \
                 {channel_id} is a {}",
                kind.as_str()
            ),
        });
    }
    Ok(kind)
}

/// A channel's rules in the order they win in (priority, then the rule created first).
pub async fn list(
    store: &Store,
    tenant: TenantId,
    channel_id: i64,
) -> Result<Vec<ReplyRule>, ReplyError> {
    rule_channel(store, tenant, channel_id).await?;
    Ok(store::list(store, tenant, channel_id).await?)
}

pub async fn get(
    store: &Store,
    tenant: TenantId,
    id: i64,
) -> Result<Option<ReplyRule>, crate::store::StoreError> {
    store::get(store, tenant, id).await
}

/// Creates a rule on an Official Account or WeCom app, audited in the same transaction.
pub async fn create(
    store: &Store,
    cache: &RuleCache,
    tenant: TenantId,
    channel_id: i64,
    new: NewRule,
    actor: &Actor,
    now: i64,
) -> Result<ReplyRule, ReplyError> {
    let kind = rule_channel(store, tenant, channel_id).await?;
    let valid = validate::rule(kind, new)?;
    let mut tx = store.begin_write().await?;
    if store::count(&mut tx, channel_id).await? >= MAX_RULES_PER_CHANNEL {
        return Err(ReplyError::Invalid {
            field: "channel",
            why: format!("a channel has at most {MAX_RULES_PER_CHANNEL} reply rules"),
        });
    }
    let id = store::insert(&mut tx, tenant, channel_id, &valid, now).await?;
    let rule = valid.into_rule(id, channel_id, now, now);
    audit::record(
        &mut tx,
        tenant,
        actor,
        "reply_rule.create",
        &format!("reply_rule:{id}"),
        None,
        Some(&audit_json(&rule)),
        now,
    )
    .await?;
    tx.commit().await?;
    cache.invalidate(channel_id);
    Ok(rule)
}

/// Applies a partial update, audited with the before and after.
pub async fn update(
    store: &Store,
    cache: &RuleCache,
    tenant: TenantId,
    id: i64,
    patch: RulePatch,
    actor: &Actor,
    now: i64,
) -> Result<ReplyRule, ReplyError> {
    let before = store::get(store, tenant, id)
        .await?
        .ok_or(ReplyError::NotFound)?;
    let kind = rule_channel(store, tenant, before.channel_id).await?;
    let valid = validate::rule(kind, validate::merge(&before, patch))?;
    let mut tx = store.begin_write().await?;
    store::update(&mut tx, id, &valid, now).await?;
    let after = valid.into_rule(id, before.channel_id, before.created_ms, now);
    audit::record(
        &mut tx,
        tenant,
        actor,
        "reply_rule.update",
        &format!("reply_rule:{id}"),
        Some(&audit_json(&before)),
        Some(&audit_json(&after)),
        now,
    )
    .await?;
    tx.commit().await?;
    cache.invalidate(before.channel_id);
    Ok(after)
}

/// Deletes a rule, audited.
pub async fn delete(
    store: &Store,
    cache: &RuleCache,
    tenant: TenantId,
    id: i64,
    actor: &Actor,
    now: i64,
) -> Result<(), ReplyError> {
    let rule = store::get(store, tenant, id)
        .await?
        .ok_or(ReplyError::NotFound)?;
    let mut tx = store.begin_write().await?;
    store::delete(&mut tx, tenant, id).await?;
    audit::record(
        &mut tx,
        tenant,
        actor,
        "reply_rule.delete",
        &format!("reply_rule:{id}"),
        Some(&audit_json(&rule)),
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    cache.invalidate(rule.channel_id);
    Ok(())
}

/// Deletes several rules of one channel at once (批量删除): all of them or, when an id is not
/// a rule of the channel, none. One audit entry per rule, in the same transaction.
pub async fn batch_delete(
    store: &Store,
    cache: &RuleCache,
    tenant: TenantId,
    channel_id: i64,
    ids: &[i64],
    actor: &Actor,
    now: i64,
) -> Result<usize, ReplyError> {
    rule_channel(store, tenant, channel_id).await?;
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Err(ReplyError::Invalid {
            field: "ids",
            why: "choose at least one rule to delete".into(),
        });
    }
    let rules = store::list(store, tenant, channel_id).await?;
    let mut doomed = Vec::with_capacity(ids.len());
    for id in &ids {
        match rules.iter().find(|r| r.id == *id) {
            Some(rule) => doomed.push(rule),
            None => {
                return Err(ReplyError::Invalid {
                    field: "ids",
                    why: format!(
                        "{id} is not a reply rule of channel {channel_id}; nothing was deleted"
                    ),
                });
            }
        }
    }
    let mut tx = store.begin_write().await?;
    for rule in &doomed {
        store::delete(&mut tx, tenant, rule.id).await?;
        audit::record(
            &mut tx,
            tenant,
            actor,
            "reply_rule.delete",
            &format!("reply_rule:{}", rule.id),
            Some(&audit_json(rule)),
            None,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    cache.invalidate(channel_id);
    Ok(doomed.len())
}
