//! The reply a message or event gets: a channel's enabled rules, compiled once into the order
//! they are tried in, so that answering a callback is a walk over a short slice with no
//! allocation and no lock.

use super::{MatchMode, ReplyAction, ReplyRule};

/// What the user did, as the callback path sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    /// Sent a text message with this content (compared as sent: case-sensitive, untrimmed).
    Text(&'a str),
    /// Sent an image.
    Image,
    /// Followed the Official Account (the `subscribe` event).
    Subscribe,
}

/// How a text rule compares its keyword with the message.
#[derive(Debug, Clone)]
enum Test {
    Contains(Box<str>),
    Prefix(Box<str>),
    Suffix(Box<str>),
    Exact(Box<str>),
    /// 直接托管: every text message.
    Any,
}

impl Test {
    #[inline]
    fn accepts(&self, text: &str) -> bool {
        match self {
            Test::Contains(k) => text.contains(&**k),
            Test::Prefix(k) => text.starts_with(&**k),
            Test::Suffix(k) => text.ends_with(&**k),
            Test::Exact(k) => text == &**k,
            Test::Any => true,
        }
    }
}

#[derive(Debug, Clone)]
struct TextRule {
    test: Test,
    reply: Box<str>,
}

/// A channel's enabled rules, ready to answer [`Matcher::reply_for`].
///
/// Text rules are kept in the order they win in (priority, then the rule created first), and
/// stop at the first hosting rule, which nothing after it can beat. Image and subscribe rules
/// need no comparison: only the winner of each is kept.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    text: Vec<TextRule>,
    image: Option<Box<str>>,
    subscribe: Option<Box<str>>,
    rules: usize,
}

impl Matcher {
    /// A matcher that never replies.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Compiles `rules` (any order; disabled rules are left out).
    pub fn new<'r>(rules: impl IntoIterator<Item = &'r ReplyRule>) -> Self {
        let mut enabled: Vec<&ReplyRule> = rules.into_iter().filter(|r| r.enabled).collect();
        enabled.sort_by_key(|r| (r.priority, r.id));
        let mut matcher = Matcher {
            rules: enabled.len(),
            ..Matcher::default()
        };
        let mut text_closed = false;
        for rule in enabled {
            let reply = || Box::<str>::from(rule.reply.as_str());
            match rule.action {
                ReplyAction::Image => {
                    if matcher.image.is_none() {
                        matcher.image = Some(reply());
                    }
                }
                ReplyAction::Subscribe => {
                    if matcher.subscribe.is_none() {
                        matcher.subscribe = Some(reply());
                    }
                }
                ReplyAction::Text if text_closed => {}
                ReplyAction::Text => {
                    let keyword = || Box::<str>::from(rule.keyword.as_deref().unwrap_or(""));
                    let test = match rule.match_mode {
                        Some(MatchMode::Contains) => Test::Contains(keyword()),
                        Some(MatchMode::Prefix) => Test::Prefix(keyword()),
                        Some(MatchMode::Suffix) => Test::Suffix(keyword()),
                        Some(MatchMode::Exact) => Test::Exact(keyword()),
                        Some(MatchMode::Hosting) => Test::Any,
                        // The store refuses a text rule without a mode; never matches.
                        None => continue,
                    };
                    text_closed = matches!(test, Test::Any);
                    matcher.text.push(TextRule {
                        test,
                        reply: reply(),
                    });
                }
            }
        }
        matcher
    }

    /// The reply for what the user did, if a rule matches: the smallest priority wins, and
    /// among equal priorities the rule created first.
    #[inline]
    pub fn reply_for(&self, action: Action<'_>) -> Option<&str> {
        match action {
            Action::Text(text) => self
                .text
                .iter()
                .find(|rule| rule.test.accepts(text))
                .map(|rule| &*rule.reply),
            Action::Image => self.image.as_deref(),
            Action::Subscribe => self.subscribe.as_deref(),
        }
    }

    /// How many enabled rules were compiled in.
    pub fn len(&self) -> usize {
        self.rules
    }

    pub fn is_empty(&self) -> bool {
        self.rules == 0
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn rule(
        id: i64,
        action: ReplyAction,
        mode: Option<MatchMode>,
        keyword: Option<&str>,
        priority: i32,
        enabled: bool,
    ) -> ReplyRule {
        ReplyRule {
            id,
            channel_id: 1,
            name: format!("rule {id}"),
            action,
            match_mode: mode,
            keyword: keyword.map(str::to_string),
            reply: format!("reply {id}"),
            priority,
            enabled,
            created_ms: id,
            updated_ms: id,
        }
    }

    /// The rules as specified, read literally: every enabled rule of the action that accepts
    /// the message, the smallest (priority, id).
    fn reference<'r>(rules: &'r [ReplyRule], action: Action<'_>) -> Option<&'r str> {
        rules
            .iter()
            .filter(|r| r.enabled)
            .filter(|r| match action {
                Action::Image => r.action == ReplyAction::Image,
                Action::Subscribe => r.action == ReplyAction::Subscribe,
                Action::Text(text) => {
                    let k = r.keyword.as_deref().unwrap_or("");
                    r.action == ReplyAction::Text
                        && match r.match_mode {
                            Some(MatchMode::Contains) => text.contains(k),
                            Some(MatchMode::Prefix) => text.starts_with(k),
                            Some(MatchMode::Suffix) => text.ends_with(k),
                            Some(MatchMode::Exact) => text == k,
                            Some(MatchMode::Hosting) => true,
                            None => false,
                        }
                }
            })
            .min_by_key(|r| (r.priority, r.id))
            .map(|r| r.reply.as_str())
    }

    #[test]
    fn modes_priorities_and_ties() {
        use MatchMode::*;
        use ReplyAction::*;
        let rules = vec![
            rule(1, Text, Some(Contains), Some("报销"), 10, true),
            rule(2, Text, Some(Prefix), Some("请假"), 10, true),
            rule(3, Text, Some(Suffix), Some("？"), 20, true),
            rule(4, Text, Some(Exact), Some("Help"), 5, true),
            rule(5, Text, Some(Contains), Some("报销"), 10, true),
            rule(6, Text, Some(Exact), Some("help"), 1, false),
            rule(7, Image, None, None, 3, true),
            rule(8, Image, None, None, 2, true),
            rule(9, Subscribe, None, None, 50, true),
        ];
        let m = Matcher::new(&rules);
        assert_eq!(m.len(), 8);
        assert_eq!(m.reply_for(Action::Text("我要报销")), Some("reply 1"));
        assert_eq!(m.reply_for(Action::Text("请假三天")), Some("reply 2"));
        assert_eq!(m.reply_for(Action::Text("三天请假")), None);
        assert_eq!(m.reply_for(Action::Text("怎么请假？")), Some("reply 3"));
        assert_eq!(m.reply_for(Action::Text("Help")), Some("reply 4"));
        assert_eq!(m.reply_for(Action::Text("help")), None, "case-sensitive");
        assert_eq!(m.reply_for(Action::Text(" Help")), None, "untrimmed");
        assert_eq!(m.reply_for(Action::Image), Some("reply 8"));
        assert_eq!(m.reply_for(Action::Subscribe), Some("reply 9"));

        let hosted = vec![
            rule(1, Text, Some(Hosting), None, 50, true),
            rule(2, Text, Some(Exact), Some("a"), 50, true),
            rule(3, Text, Some(Exact), Some("b"), 49, true),
        ];
        let m = Matcher::new(&hosted);
        assert_eq!(m.reply_for(Action::Text("a")), Some("reply 1"));
        assert_eq!(m.reply_for(Action::Text("b")), Some("reply 3"));
        assert_eq!(m.reply_for(Action::Text("")), Some("reply 1"));
        assert_eq!(m.reply_for(Action::Image), None);
        assert!(Matcher::empty().reply_for(Action::Text("x")).is_none());
    }

    fn arb_rule() -> impl Strategy<Value = (ReplyAction, Option<MatchMode>, String, i32, bool)> {
        let action = prop_oneof![
            6 => Just(ReplyAction::Text),
            1 => Just(ReplyAction::Image),
            1 => Just(ReplyAction::Subscribe),
        ];
        let mode = prop_oneof![
            Just(MatchMode::Contains),
            Just(MatchMode::Prefix),
            Just(MatchMode::Suffix),
            Just(MatchMode::Exact),
            Just(MatchMode::Hosting),
        ];
        // A small alphabet (with a multi-byte letter and a case pair) makes matches common.
        let keyword = "[abAé\n]{1,3}";
        (
            action,
            mode,
            keyword,
            1..=5i32,
            proptest::bool::weighted(0.8),
        )
            .prop_map(|(action, mode, keyword, priority, enabled)| {
                let mode = (action == ReplyAction::Text).then_some(mode);
                (action, mode, keyword, priority, enabled)
            })
    }

    /// Up to 50 rules with ids in creation order, handed over shuffled (the store may list
    /// them in any order).
    fn arb_rules() -> impl Strategy<Value = Vec<ReplyRule>> {
        proptest::collection::vec(arb_rule(), 0..=50)
            .prop_map(|specs| {
                specs
                    .into_iter()
                    .enumerate()
                    .map(|(i, (action, mode, keyword, priority, enabled))| {
                        let keyword = (mode.is_some() && mode != Some(MatchMode::Hosting))
                            .then_some(keyword.as_str());
                        rule(i as i64 + 1, action, mode, keyword, priority, enabled)
                    })
                    .collect::<Vec<_>>()
            })
            .prop_shuffle()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn agrees_with_the_reference(
            rules in arb_rules(),
            texts in proptest::collection::vec("[abAé\n ]{0,6}", 1..20),
        ) {
            let matcher = Matcher::new(&rules);
            for text in &texts {
                prop_assert_eq!(
                    matcher.reply_for(Action::Text(text)),
                    reference(&rules, Action::Text(text)),
                    "text {:?}", text
                );
            }
            prop_assert_eq!(matcher.reply_for(Action::Image), reference(&rules, Action::Image));
            prop_assert_eq!(
                matcher.reply_for(Action::Subscribe),
                reference(&rules, Action::Subscribe)
            );
        }
    }
}
