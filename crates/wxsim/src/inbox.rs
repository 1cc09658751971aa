//! Per-user inboxes: what each phone received (OA template messages, WeCom app messages),
//! queryable as JSON (`GET /sim/inbox`) and as a small HTML page (`GET /sim/inbox.html`).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::util::html_escape;

/// Which product delivered a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Official Account.
    Oa,
    /// WeCom app.
    Wecom,
}

fn ser_arc<S: Serializer>(v: &Arc<Value>, s: S) -> Result<S::Ok, S::Error> {
    v.as_ref().serialize(s)
}

/// One delivered message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InboxEntry {
    /// Sequence number.
    pub id: u64,
    /// Delivery time (simulator, Unix seconds).
    pub at: i64,
    /// Product.
    pub channel: Channel,
    /// Appid (OA) or corpid (WeCom).
    pub account: String,
    /// Sending app (WeCom).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agentid: Option<u32>,
    /// Recipient: openid (OA) or userid as stored (WeCom).
    pub user: String,
    /// `template`, `text`, `textcard`, `news`, `markdown`, `template_card`, ...
    pub msgtype: String,
    /// Message id as returned to the sender.
    pub msgid: String,
    /// The message payload (the request body).
    #[serde(serialize_with = "ser_arc")]
    pub content: Arc<Value>,
    /// Recalled by `message/recall`.
    pub recalled: bool,
    /// Later updates (template-card updates by passive reply or `update_template_card`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub updates: Vec<Value>,
}

/// A message about to be delivered to several users.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Product.
    pub channel: Channel,
    /// Appid or corpid.
    pub account: String,
    /// WeCom app.
    pub agentid: Option<u32>,
    /// Message type.
    pub msgtype: String,
    /// Message id.
    pub msgid: String,
    /// Payload.
    pub content: Arc<Value>,
}

/// All inboxes.
#[derive(Debug, Default)]
pub struct Inboxes {
    entries: Vec<InboxEntry>,
    by_user: HashMap<String, Vec<usize>>,
    by_msgid: HashMap<(String, String), Vec<usize>>,
}

fn user_key(user: &str) -> String {
    user.to_ascii_lowercase()
}

impl Inboxes {
    /// Delivers `d` to each user.
    pub fn deliver(&mut self, d: &Delivery, users: &[String], now: i64) {
        for user in users {
            let idx = self.entries.len();
            self.entries.push(InboxEntry {
                id: idx as u64 + 1,
                at: now,
                channel: d.channel,
                account: d.account.clone(),
                agentid: d.agentid,
                user: user.clone(),
                msgtype: d.msgtype.clone(),
                msgid: d.msgid.clone(),
                content: Arc::clone(&d.content),
                recalled: false,
                updates: Vec::new(),
            });
            self.by_user.entry(user_key(user)).or_default().push(idx);
            self.by_msgid
                .entry((d.account.clone(), d.msgid.clone()))
                .or_default()
                .push(idx);
        }
    }

    /// Marks every copy of a message recalled; returns how many.
    pub fn recall(&mut self, account: &str, msgid: &str) -> usize {
        let idxs = self
            .by_msgid
            .get(&(account.to_owned(), msgid.to_owned()))
            .cloned()
            .unwrap_or_default();
        for &i in &idxs {
            if let Some(e) = self.entries.get_mut(i) {
                e.recalled = true;
            }
        }
        idxs.len()
    }

    /// Records an update of a message for one user (or all recipients); returns how many
    /// copies changed.
    pub fn update(
        &mut self,
        account: &str,
        msgid: &str,
        user: Option<&str>,
        update: Value,
    ) -> usize {
        let idxs = self
            .by_msgid
            .get(&(account.to_owned(), msgid.to_owned()))
            .cloned()
            .unwrap_or_default();
        let mut n = 0;
        for i in idxs {
            if let Some(e) = self.entries.get_mut(i)
                && user.is_none_or(|u| u.eq_ignore_ascii_case(&e.user))
            {
                e.updates.push(update.clone());
                n += 1;
            }
        }
        n
    }

    /// A user's messages, newest first (userids compare case-insensitively); `account`
    /// restricts to one appid/corpid.
    pub fn of_user(&self, user: &str, account: Option<&str>) -> Vec<InboxEntry> {
        self.by_user
            .get(&user_key(user))
            .into_iter()
            .flatten()
            .rev()
            .filter_map(|&i| self.entries.get(i))
            .filter(|e| account.is_none_or(|a| a == e.account))
            .cloned()
            .collect()
    }

    /// Every recipient with the number of messages received.
    pub fn users(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for e in &self.entries {
            *out.entry(e.user.clone()).or_default() += 1;
        }
        out
    }

    /// Total messages delivered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing was delivered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Empties every inbox.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.by_user.clear();
        self.by_msgid.clear();
    }

    /// The HTML page: an index of users, or one user's messages newest first.
    pub fn html(&self, user: Option<&str>) -> String {
        let mut body = String::new();
        match user {
            None => {
                body.push_str(
                    "<h1>wxsim inboxes</h1><table><tr><th>user</th><th>messages</th></tr>",
                );
                for (u, n) in self.users() {
                    let href: String = form_urlencoded::byte_serialize(u.as_bytes()).collect();
                    let _ = write!(
                        body,
                        "<tr><td><a href=\"inbox.html?user={href}\">{}</a></td><td>{n}</td></tr>",
                        html_escape(&u)
                    );
                }
                body.push_str("</table>");
            }
            Some(u) => {
                let _ = write!(
                    body,
                    "<p><a href=\"inbox.html\">all inboxes</a></p><h1>{}</h1>",
                    html_escape(u)
                );
                let entries = self.of_user(u, None);
                if entries.is_empty() {
                    body.push_str("<p>No messages.</p>");
                }
                for e in entries {
                    let pretty =
                        serde_json::to_string_pretty(e.content.as_ref()).unwrap_or_default();
                    let _ = write!(
                        body,
                        "<div class=\"msg{}\"><div class=\"meta\">#{} · {} · {}{} · {} · msgid {}{}</div><pre>{}</pre></div>",
                        if e.recalled { " recalled" } else { "" },
                        e.id,
                        e.at,
                        html_escape(&e.account),
                        e.agentid.map(|a| format!("/{a}")).unwrap_or_default(),
                        html_escape(&e.msgtype),
                        html_escape(&e.msgid),
                        if e.recalled { " · recalled" } else { "" },
                        html_escape(&pretty),
                    );
                }
            }
        }
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>wxsim inbox</title>\
             <style>body{{font-family:sans-serif;max-width:50em;margin:1em auto}}\
             .msg{{border:1px solid #ccc;border-radius:6px;margin:.5em 0;padding:.5em}}\
             .recalled{{opacity:.5}}.meta{{color:#666;font-size:.85em}}\
             pre{{white-space:pre-wrap}}</style></head><body>{body}</body></html>"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deliver_query_recall() {
        let mut ib = Inboxes::default();
        let d = Delivery {
            channel: Channel::Wecom,
            account: "ww1".into(),
            agentid: Some(1000002),
            msgtype: "text".into(),
            msgid: "m1".into(),
            content: Arc::new(json!({"text": {"content": "<b>hi</b>"}})),
        };
        ib.deliver(&d, &["ZhangSan".into(), "lisi".into()], 10);
        let d2 = Delivery {
            msgid: "m2".into(),
            ..d
        };
        ib.deliver(&d2, &["zhangsan".into()], 11);
        let z = ib.of_user("zhangsan", None);
        assert_eq!(z.len(), 2);
        assert_eq!(z[0].msgid, "m2", "newest first");
        assert_eq!(ib.recall("ww1", "m1"), 2);
        assert!(ib.of_user("lisi", Some("ww1"))[0].recalled);
        assert!(ib.html(Some("lisi")).contains("&lt;b&gt;hi"));
        assert!(ib.html(None).contains("inbox.html?user=lisi"));
    }
}
