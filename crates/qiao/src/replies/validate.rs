//! Validation of reply rules, with messages that name the field and say what it should be.

use std::ops::RangeInclusive;

use crate::channels::ChannelKind;
use crate::store::StoreError;

use super::{MatchMode, NewRule, ReplyAction, ReplyRule, RulePatch};

/// 关键字字数限制50个字符.
pub const MAX_KEYWORD_CHARS: usize = 50;
/// 回复内容字数限制1500个字符.
pub const MAX_REPLY_CHARS: usize = 1500;
/// 最小值为1，最大值为100，不支持小数.
pub const PRIORITY_RANGE: RangeInclusive<i64> = 1..=100;
/// More rules than anyone maintains by hand; keeps the callback path's work bounded.
pub const MAX_RULES_PER_CHANNEL: i64 = 200;
const MAX_NAME_CHARS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    #[error("{field}: {why}")]
    Invalid { field: &'static str, why: String },
    #[error("no such channel")]
    ChannelNotFound,
    #[error("no such reply rule")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(field: &'static str, why: impl Into<String>) -> ReplyError {
    ReplyError::Invalid {
        field,
        why: why.into(),
    }
}

/// A rule ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRule {
    pub name: String,
    pub action: ReplyAction,
    pub match_mode: Option<MatchMode>,
    pub keyword: Option<String>,
    pub reply: String,
    pub priority: i32,
    pub enabled: bool,
}

impl ValidRule {
    pub fn into_rule(
        self,
        id: i64,
        channel_id: i64,
        created_ms: i64,
        updated_ms: i64,
    ) -> ReplyRule {
        ReplyRule {
            id,
            channel_id,
            name: self.name,
            action: self.action,
            match_mode: self.match_mode,
            keyword: self.keyword,
            reply: self.reply,
            priority: self.priority,
            enabled: self.enabled,
            created_ms,
            updated_ms,
        }
    }
}

/// A priority as written in a form: a number, or the same clear error as a JSON number that
/// is not one.
pub fn parse_priority(text: &str) -> Result<serde_json::Number, ReplyError> {
    text.trim().parse().map_err(|_| {
        invalid(
            "priority",
            format!("must be a whole number from 1 to 100 (the smallest wins), not `{text}`"),
        )
    })
}

fn priority(value: &serde_json::Number) -> Result<i32, ReplyError> {
    let Some(n) = value.as_i64() else {
        let why = if value.is_u64() {
            format!("must be from 1 to 100 (the smallest wins), not {value}")
        } else {
            format!(
                "must be a whole number from 1 to 100; decimals such as {value} are not allowed"
            )
        };
        return Err(invalid("priority", why));
    };
    if !PRIORITY_RANGE.contains(&n) {
        return Err(invalid(
            "priority",
            format!("must be from 1 to 100 (the smallest wins), not {n}"),
        ));
    }
    i32::try_from(n).map_err(|_| invalid("priority", "must be from 1 to 100"))
}

fn name(value: &str) -> Result<String, ReplyError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(
            "name",
            format!("must be 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    Ok(value.to_string())
}

/// The reply as written, with browser line breaks (`\r\n`) made `\n`.
fn reply(value: &str) -> Result<String, ReplyError> {
    let value = value.replace("\r\n", "\n");
    if value.trim().is_empty() {
        return Err(invalid(
            "reply",
            "is required: the text sent back to the user",
        ));
    }
    let chars = value.chars().count();
    if chars > MAX_REPLY_CHARS {
        return Err(invalid(
            "reply",
            format!("must be at most {MAX_REPLY_CHARS} characters, not {chars}"),
        ));
    }
    Ok(value)
}

/// Checks a whole rule for a channel of `kind`.
pub fn rule(kind: ChannelKind, new: NewRule) -> Result<ValidRule, ReplyError> {
    let name = name(&new.name)?;
    if new.action == ReplyAction::Subscribe && kind != ChannelKind::OfficialAccount {
        return Err(invalid(
            "action",
            format!(
                "`subscribe` (关注回复) is for Official Accounts only, not for a {} channel",
                kind.as_str()
            ),
        ));
    }
    // An empty keyword is no keyword (an empty form field).
    let keyword = new.keyword.filter(|k| !k.is_empty());
    let match_mode = match (new.action, new.match_mode) {
        (ReplyAction::Text, Some(mode)) => Some(mode),
        (ReplyAction::Text, None) => {
            return Err(invalid(
                "match_mode",
                "a text rule needs one of contains, prefix, suffix, exact, hosting",
            ));
        }
        (action, Some(_)) => {
            return Err(invalid(
                "match_mode",
                format!(
                    "only text rules have a match mode, not `{}` rules",
                    action.as_str()
                ),
            ));
        }
        (_, None) => None,
    };
    let keyword = match (new.action, match_mode, keyword) {
        (ReplyAction::Text, Some(mode), Some(keyword)) if mode.has_keyword() => {
            let chars = keyword.chars().count();
            if chars > MAX_KEYWORD_CHARS {
                return Err(invalid(
                    "keyword",
                    format!("must be at most {MAX_KEYWORD_CHARS} characters, not {chars}"),
                ));
            }
            Some(keyword)
        }
        (ReplyAction::Text, Some(mode), None) if mode.has_keyword() => {
            return Err(invalid(
                "keyword",
                format!("is required for the `{}` match mode", mode.as_str()),
            ));
        }
        (ReplyAction::Text, _, Some(_)) => {
            return Err(invalid(
                "keyword",
                "a hosting (直接托管) rule answers every text message and takes no keyword",
            ));
        }
        (action, _, Some(_)) => {
            return Err(invalid(
                "keyword",
                format!(
                    "only text rules have a keyword, not `{}` rules",
                    action.as_str()
                ),
            ));
        }
        (_, _, None) => None,
    };
    Ok(ValidRule {
        name,
        action: new.action,
        match_mode,
        keyword,
        reply: reply(&new.reply)?,
        priority: priority(&new.priority)?,
        enabled: new.enabled,
    })
}

/// The rule `patch` asks for: given fields over the stored ones. Stored fields that the new
/// action or mode does not have are dropped; given ones are left for [`rule`] to refuse.
pub fn merge(before: &ReplyRule, patch: RulePatch) -> NewRule {
    let action = patch.action.unwrap_or(before.action);
    let is_text = action == ReplyAction::Text;
    let match_mode = patch
        .match_mode
        .or(if is_text { before.match_mode } else { None });
    let compares = is_text && match_mode.is_some_and(MatchMode::has_keyword);
    let keyword = match patch.keyword {
        Some(keyword) => Some(keyword),
        None if compares => before.keyword.clone(),
        None => None,
    };
    NewRule {
        name: patch.name.unwrap_or_else(|| before.name.clone()),
        action,
        match_mode,
        keyword,
        reply: patch.reply.unwrap_or_else(|| before.reply.clone()),
        priority: patch.priority.unwrap_or_else(|| before.priority.into()),
        enabled: patch.enabled.unwrap_or(before.enabled),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(action: ReplyAction, mode: Option<MatchMode>, keyword: Option<&str>) -> NewRule {
        NewRule {
            name: "规则".into(),
            action,
            match_mode: mode,
            keyword: keyword.map(str::to_string),
            reply: "你好\nhttps://example.com/a?b=1".into(),
            priority: 1.into(),
            enabled: true,
        }
    }

    fn field(result: Result<ValidRule, ReplyError>) -> &'static str {
        match result {
            Err(ReplyError::Invalid { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn refusals_name_the_field() {
        use ChannelKind::*;
        use MatchMode::*;
        use ReplyAction::*;
        let oa = OfficialAccount;
        assert!(rule(oa, new(Text, Some(Contains), Some("报销"))).is_ok());
        assert!(rule(oa, new(Text, Some(Hosting), None)).is_ok());
        assert!(rule(oa, new(Text, Some(Hosting), Some(""))).is_ok());
        assert!(rule(oa, new(Image, None, None)).is_ok());
        assert!(rule(oa, new(Subscribe, None, None)).is_ok());
        assert_eq!(field(rule(WecomApp, new(Subscribe, None, None))), "action");
        assert_eq!(field(rule(oa, new(Text, None, Some("a")))), "match_mode");
        assert_eq!(field(rule(oa, new(Image, Some(Exact), None))), "match_mode");
        assert_eq!(field(rule(oa, new(Image, None, Some("a")))), "keyword");
        assert_eq!(
            field(rule(oa, new(Text, Some(Hosting), Some("a")))),
            "keyword"
        );
        assert_eq!(field(rule(oa, new(Text, Some(Prefix), None))), "keyword");
        let long = "键".repeat(51);
        assert_eq!(
            field(rule(oa, new(Text, Some(Exact), Some(&long)))),
            "keyword"
        );
        assert!(rule(oa, new(Text, Some(Exact), Some(&long[3..]))).is_ok());
        for bad in ["0", "101", "1.5", "-3", "1e2", "18446744073709551615"] {
            let mut r = new(Image, None, None);
            r.priority = parse_priority(bad).unwrap();
            assert_eq!(field(rule(oa, r)), "priority", "{bad}");
        }
        assert!(parse_priority("一").is_err());
        let mut r = new(Image, None, None);
        r.reply = "字".repeat(1501);
        assert_eq!(field(rule(oa, r.clone())), "reply");
        r.reply.pop();
        assert!(rule(oa, r.clone()).is_ok());
        r.reply = " \n".into();
        assert_eq!(field(rule(oa, r)), "reply");
        let mut r = new(Image, None, None);
        r.reply = "a\r\nb".into();
        assert_eq!(rule(oa, r).unwrap().reply, "a\nb");
    }
}
