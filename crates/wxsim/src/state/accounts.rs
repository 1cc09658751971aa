//! Official Accounts (公众号) with their followers, menu and templates, and Mini Programs
//! (reference §2.3, §2.4, §2.7, §3).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Service account (服务号) or subscription account (订阅号).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    /// 服务号.
    #[default]
    Service,
    /// 订阅号.
    Subscription,
}

/// A follower (粉丝) of an Official Account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Fan {
    /// OpenID (per account).
    pub openid: String,
    /// Nickname; kept for the inbox page only, `user/info` no longer returns it (§2.3.2).
    pub nickname: String,
    /// Currently following.
    pub subscribe: bool,
    /// Last subscribe time (Unix seconds).
    pub subscribe_time: i64,
    /// UnionID, when the account is bound to an Open Platform account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
    /// Tag ids.
    pub tagid_list: Vec<u32>,
    /// Operator remark.
    pub remark: String,
    /// Language.
    pub language: String,
    /// Subscribe scene.
    pub subscribe_scene: String,
}

impl Default for Fan {
    fn default() -> Self {
        Self {
            openid: String::new(),
            nickname: String::new(),
            subscribe: true,
            subscribe_time: 0,
            unionid: None,
            tagid_list: Vec::new(),
            remark: String::new(),
            language: "zh_CN".into(),
            subscribe_scene: "ADD_SCENE_SEARCH".into(),
        }
    }
}

impl Fan {
    /// `user/info` JSON (modern behaviour: no nickname/avatar, §2.3.2).
    pub fn info_json(&self) -> Value {
        let mut v = if self.subscribe {
            json!({
                "subscribe": 1,
                "openid": self.openid,
                "language": self.language,
                "subscribe_time": self.subscribe_time,
                "remark": self.remark,
                "groupid": 0,
                "tagid_list": self.tagid_list,
                "subscribe_scene": self.subscribe_scene,
                "qr_scene": 0,
                "qr_scene_str": "",
            })
        } else {
            json!({"subscribe": 0, "openid": self.openid, "tagid_list": []})
        };
        if let (Some(u), Some(obj)) = (&self.unionid, v.as_object_mut()) {
            obj.insert("unionid".into(), json!(u));
        }
        v
    }
}

/// An OA user tag.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OaTag {
    /// Tag id.
    pub id: u32,
    /// Name.
    pub name: String,
}

/// A template of the account's template library.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Template {
    /// Template id.
    pub template_id: String,
    /// Title.
    pub title: String,
    /// Content with `{{key.DATA}}` placeholders.
    pub content: String,
}

impl Template {
    /// Keys of the `{{key.DATA}}` placeholders, in order.
    pub fn keys(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = self.content.as_str();
        while let Some(start) = rest.find("{{") {
            rest = &rest[start + 2..];
            let Some(end) = rest.find("}}") else { break };
            if let Some(key) = rest[..end].strip_suffix(".DATA") {
                out.push(key.to_owned());
            }
            rest = &rest[end + 2..];
        }
        out
    }
}

/// A custom menu as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Menu {
    /// The `button` array as created.
    pub button: Value,
    /// Menu id.
    pub menuid: u64,
}

/// What a fan did recently, for the customer-service window (reference §2.9).
#[derive(Debug, Clone, Default)]
pub struct Interaction {
    /// Last message sent by the user (5 replies within 48 h).
    pub last_message: Option<i64>,
    /// Last menu click / follow / scan (3 replies within 1 minute).
    pub last_event: Option<i64>,
    /// Customer-service messages sent to the user.
    pub sends: Vec<i64>,
}

impl Interaction {
    /// Checks and records one customer-service message: 45015 outside every window, 45047
    /// when the window's quota is used up.
    pub fn send(&mut self, now: i64) -> Result<(), i64> {
        let since = |t: i64| self.sends.iter().filter(|s| **s >= t).count();
        let by_message = self
            .last_message
            .filter(|t| now - t <= 48 * 3600)
            .map(|t| since(t) < 5);
        let by_event = self
            .last_event
            .filter(|t| now - t <= 60)
            .map(|t| since(t) < 3);
        match (by_message, by_event) {
            (None, None) => Err(45015),
            (Some(true), _) | (_, Some(true)) => {
                self.sends.push(now);
                Ok(())
            }
            _ => Err(45047),
        }
    }
}

/// An Official Account.
#[derive(Debug, Clone)]
pub struct OfficialAccount {
    /// AppID.
    pub appid: String,
    /// AppSecret.
    pub secret: String,
    /// Name.
    pub name: String,
    /// Original id `gh_...`.
    pub original_id: String,
    /// Service or subscription.
    pub kind: AccountKind,
    /// Verified (认证).
    pub verified: bool,
    /// Tags.
    pub tags: Vec<OaTag>,
    /// Template library by id.
    pub templates: BTreeMap<String, Template>,
    /// Current menu.
    pub menu: Option<Menu>,
    fans: HashMap<String, Fan>,
    followers: Vec<String>,
    follower_pos: HashMap<String, usize>,
    /// (openid, client_msg_id) → (sent_at, msgid).
    pub(crate) template_dedup: HashMap<(String, String), (i64, u64)>,
    /// Subscription-message templates by id.
    pub subscribe_templates: BTreeMap<String, Template>,
    /// 网页授权域名 entries; empty = any redirect.
    pub redirect_domains: Vec<String>,
    /// IP whitelist; empty = any caller.
    pub trusted_ips: Vec<String>,
    /// Recent interactions by openid.
    pub interactions: HashMap<String, Interaction>,
    /// (openid, template_id) → remaining one-time subscriptions.
    pub subscribe_grants: HashMap<(String, String), u32>,
}

impl OfficialAccount {
    /// Builds an account; followers are ordered by subscribe time, then openid.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        appid: String,
        secret: String,
        name: String,
        original_id: String,
        kind: AccountKind,
        verified: bool,
        fans: Vec<Fan>,
        tags: Vec<OaTag>,
        templates: Vec<Template>,
    ) -> Result<Self, String> {
        let mut map = HashMap::with_capacity(fans.len());
        for f in fans {
            if f.openid.is_empty() {
                return Err(format!("{appid}: fan without openid"));
            }
            let id = f.openid.clone();
            if map.insert(id.clone(), f).is_some() {
                return Err(format!("{appid}: duplicate openid {id}"));
            }
        }
        let mut acct = Self {
            appid,
            secret,
            name,
            original_id,
            kind,
            verified,
            tags,
            templates: templates
                .into_iter()
                .map(|t| (t.template_id.clone(), t))
                .collect(),
            menu: None,
            fans: map,
            followers: Vec::new(),
            follower_pos: HashMap::new(),
            template_dedup: HashMap::new(),
            subscribe_templates: BTreeMap::new(),
            redirect_domains: Vec::new(),
            trusted_ips: Vec::new(),
            interactions: HashMap::new(),
            subscribe_grants: HashMap::new(),
        };
        acct.rebuild_followers();
        Ok(acct)
    }

    fn rebuild_followers(&mut self) {
        let mut list: Vec<(&i64, &String)> = self
            .fans
            .values()
            .filter(|f| f.subscribe)
            .map(|f| (&f.subscribe_time, &f.openid))
            .collect();
        list.sort();
        self.followers = list.into_iter().map(|(_, o)| o.clone()).collect();
        self.follower_pos = self
            .followers
            .iter()
            .enumerate()
            .map(|(i, o)| (o.clone(), i))
            .collect();
    }

    /// A fan (following or not) by openid.
    pub fn fan(&self, openid: &str) -> Option<&Fan> {
        self.fans.get(openid)
    }

    /// Every known fan, including those who unfollowed.
    pub fn fans(&self) -> impl Iterator<Item = &Fan> {
        self.fans.values()
    }

    /// Number of current followers.
    pub fn follower_count(&self) -> usize {
        self.followers.len()
    }

    /// Adds or replaces a fan.
    pub fn upsert_fan(&mut self, fan: Fan) {
        self.fans.insert(fan.openid.clone(), fan);
        self.rebuild_followers();
    }

    /// Follows / unfollows; returns false for an unknown openid.
    pub fn set_subscribed(&mut self, openid: &str, subscribe: bool, now: i64) -> bool {
        let Some(f) = self.fans.get_mut(openid) else {
            return false;
        };
        if subscribe && !f.subscribe {
            f.subscribe_time = now;
        }
        f.subscribe = subscribe;
        self.rebuild_followers();
        true
    }

    /// Followers after `next_openid` (exclusive), at most `limit`; `None` for an unknown
    /// `next_openid`.
    pub fn followers_after(&self, next_openid: Option<&str>, limit: usize) -> Option<&[String]> {
        let start = match next_openid {
            None => 0,
            Some(o) => self.follower_pos.get(o)? + 1,
        };
        let start = start.min(self.followers.len());
        let end = (start + limit).min(self.followers.len());
        Some(&self.followers[start..end])
    }
}

/// A Mini Program user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MpUser {
    /// OpenID.
    pub openid: String,
    /// UnionID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
    /// Nickname.
    pub nickname: String,
    /// Phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// A Mini Program.
#[derive(Debug, Clone)]
pub struct MiniProgram {
    /// AppID.
    pub appid: String,
    /// AppSecret.
    pub secret: String,
    /// Name.
    pub name: String,
    /// Users.
    pub users: Vec<MpUser>,
    /// Original id (`gh_...`).
    pub original_id: String,
    /// Subscribe-message templates by id.
    pub subscribe_templates: BTreeMap<String, Template>,
    /// IP whitelist; empty = any caller.
    pub trusted_ips: Vec<String>,
    /// (openid, template_id) → remaining one-time subscriptions.
    pub subscribe_grants: HashMap<(String, String), u32>,
}

impl MiniProgram {
    /// A user by openid.
    pub fn user(&self, openid: &str) -> Option<&MpUser> {
        self.users.iter().find(|u| u.openid == openid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_keys() {
        let t = Template {
            content: "{{first.DATA}}\n订单：{{keyword1.DATA}}\n{{remark.DATA}}".into(),
            ..Default::default()
        };
        assert_eq!(t.keys(), vec!["first", "keyword1", "remark"]);
    }

    #[test]
    fn follower_order_and_paging() {
        let fans = (0..5)
            .map(|i| Fan {
                openid: format!("o{i}"),
                subscribe_time: 100 - i,
                subscribe: i != 2,
                ..Default::default()
            })
            .collect();
        let mut a = OfficialAccount::new(
            "wx1".into(),
            "s".into(),
            "n".into(),
            "gh_1".into(),
            AccountKind::Service,
            true,
            fans,
            vec![],
            vec![],
        )
        .unwrap();
        assert_eq!(a.follower_count(), 4);
        assert_eq!(a.followers_after(None, 2).unwrap(), ["o4", "o3"]);
        assert_eq!(a.followers_after(Some("o3"), 10).unwrap(), ["o1", "o0"]);
        assert_eq!(a.followers_after(Some("o0"), 10).unwrap().len(), 0);
        assert!(a.followers_after(Some("nope"), 10).is_none());
        assert!(a.set_subscribed("o2", true, 1000));
        assert_eq!(a.followers_after(Some("o0"), 10).unwrap(), ["o2"]);
    }
}
