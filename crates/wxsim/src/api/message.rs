//! WeCom `message/send` and `message/recall` (reference §4.11, §4.2, §7 row 17).
//!
//! Recipients outside the app's scope, unknown, disabled or exited are reported in
//! `invaliduser` / `invalidparty` / `invalidtag` (always present, "" when none); only when
//! nobody is left does the call fail (81013). With `enable_duplicate_check` an identical body
//! inside `duplicate_check_interval` (default 1800 s, max 4 h) is not delivered again and gets
//! the first msgid back (assumption: the reference says "dropped" without naming the answer).
//! With limits on, more than 30 messages/minute or 1000/hour from one app to one member are
//! dropped silently.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::work::corp_of;
use super::{Authed, Call, lenient_i64, ok_with};
use crate::error::WxError;
use crate::inbox::{Channel, Delivery};
use crate::state::SimState;
use crate::state::corp::{Corp, ResponseCode, Scope, SecretRef, SentCard, SentMessage};
use crate::state::directory::Member;
use crate::util::{random_token, truncate_bytes};

/// Byte limit of text and markdown content.
pub const CONTENT_MAX_BYTES: usize = 2048;
/// Recall window.
pub const RECALL_WINDOW_SECS: i64 = 24 * 3600;
/// response_code validity.
pub const RESPONSE_CODE_TTL_SECS: i64 = 72 * 3600;

fn missing(field: &str) -> WxError {
    WxError::new(40058, format!("invalid parameter, {field} missing"))
}

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// What a template card needs from the send bookkeeping.
struct CardInfo {
    task_id: Option<String>,
    callback: bool,
}

fn validate_card(card: &Value) -> Result<CardInfo, WxError> {
    let has = |k: &str| card.get(k).is_some_and(|v| !v.is_null());
    let need = |ok: bool, field: &str| {
        if ok {
            Ok(())
        } else {
            Err(missing(&format!("template_card.{field}")))
        }
    };
    let title = !text(card, "/main_title/title").is_empty();
    let ty = text(card, "/card_type");
    match ty {
        "text_notice" => {
            need(has("card_action"), "card_action")?;
            need(title || has("sub_title_text"), "main_title.title")?;
        }
        "news_notice" => {
            need(title, "main_title.title")?;
            need(has("card_action"), "card_action")?;
            need(has("card_image") || has("image_text_area"), "card_image")?;
        }
        "button_interaction" => {
            need(title, "main_title.title")?;
            let n = card
                .get("button_list")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            need((1..=6).contains(&n), "button_list")?;
        }
        "vote_interaction" => {
            need(title, "main_title.title")?;
            need(has("checkbox"), "checkbox")?;
            need(has("submit_button"), "submit_button")?;
        }
        "multiple_interaction" => {
            need(title, "main_title.title")?;
            need(has("select_list"), "select_list")?;
            need(has("submit_button"), "submit_button")?;
        }
        _ => {
            return Err(WxError::new(
                40058,
                "invalid parameter, template_card.card_type",
            ));
        }
    }
    let interactive = matches!(
        ty,
        "button_interaction" | "vote_interaction" | "multiple_interaction"
    );
    let callback = interactive || has("action_menu");
    let task_id = card
        .get("task_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if callback && task_id.is_none() {
        return Err(missing("template_card.task_id"));
    }
    if let Some(t) = &task_id {
        let ok = !t.is_empty()
            && t.len() <= 128
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '@'));
        if !ok {
            return Err(WxError::new(
                40058,
                "invalid parameter, template_card.task_id",
            ));
        }
    }
    Ok(CardInfo { task_id, callback })
}

/// Checks the payload of `msgtype`; returns the body to store (text truncated to 2048 bytes)
/// and template-card details.
fn validate_payload(msgtype: &str, mut body: Value) -> Result<(Value, Option<CardInfo>), WxError> {
    let payload = body.get(msgtype).cloned().unwrap_or(Value::Null);
    let mut card = None;
    match msgtype {
        "text" => {
            let content = text(&payload, "/content");
            if content.is_empty() {
                return Err(WxError::work(44004));
            }
            if content.len() > CONTENT_MAX_BYTES {
                let cut = truncate_bytes(content, CONTENT_MAX_BYTES).to_owned();
                if let Some(c) = body.pointer_mut("/text/content") {
                    *c = Value::String(cut);
                }
            }
        }
        "markdown" => {
            let content = text(&payload, "/content");
            if content.is_empty() {
                return Err(WxError::work(44004));
            }
            if content.len() > CONTENT_MAX_BYTES {
                return Err(WxError::work(45002));
            }
        }
        "textcard" => {
            let (title, desc, url) = (
                text(&payload, "/title"),
                text(&payload, "/description"),
                text(&payload, "/url"),
            );
            if title.is_empty() {
                return Err(WxError::work(41016));
            }
            if desc.is_empty() {
                return Err(WxError::work(41033));
            }
            if url.is_empty() {
                return Err(WxError::work(41010));
            }
            if title.len() > 128
                || desc.len() > 512
                || url.len() > 2048
                || text(&payload, "/btntxt").chars().count() > 4
            {
                return Err(WxError::work(45002));
            }
        }
        "news" | "mpnews" => {
            let articles = payload
                .get("articles")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice);
            if articles.is_empty() {
                return Err(WxError::work(44003));
            }
            if articles.len() > 8 {
                return Err(WxError::work(45008));
            }
            for a in articles {
                if text(a, "/title").is_empty() {
                    return Err(WxError::work(41016));
                }
            }
        }
        "image" | "voice" | "file" | "video" => {
            if text(&payload, "/media_id").is_empty() {
                return Err(WxError::new(41006, "media_id missing"));
            }
        }
        "miniprogram_notice" => {
            if text(&payload, "/appid").is_empty() || text(&payload, "/title").is_empty() {
                return Err(missing("miniprogram_notice.appid/title"));
            }
        }
        "template_card" => card = Some(validate_card(&payload)?),
        "interactive_taskcard" => {}
        _ => return Err(WxError::work(40008)),
    }
    Ok((body, card))
}

/// Resolved recipients.
#[derive(Debug, Default)]
struct Recipients {
    users: Vec<String>,
    invaliduser: Vec<String>,
    invalidparty: Vec<String>,
    invalidtag: Vec<String>,
}

impl Recipients {
    fn add(&mut self, seen: &mut HashSet<String>, m: &Member) {
        if m.deliverable() && seen.insert(m.userid.to_ascii_lowercase()) {
            self.users.push(m.userid.clone());
        }
    }
}

fn split_ids(body: &Map<String, Value>, key: &str) -> Vec<String> {
    let raw = match body.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    raw.split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn resolve(corp: &Corp, scope: &Scope, body: &Map<String, Value>) -> Result<Recipients, WxError> {
    let touser = split_ids(body, "touser");
    let toparty = split_ids(body, "toparty");
    let totag = split_ids(body, "totag");
    if touser.len() > 1000 {
        return Err(WxError::work(40031));
    }
    if toparty.len() > 100 {
        return Err(WxError::work(82002));
    }
    if totag.len() > 100 {
        return Err(WxError::work(82003));
    }
    let dir = &corp.directory;
    let mut r = Recipients::default();
    let mut seen = HashSet::new();
    if touser.iter().any(|u| u == "@all") {
        for m in dir.members() {
            if scope.member_visible(m) {
                r.add(&mut seen, m);
            }
        }
        return Ok(r);
    }
    for u in &touser {
        match dir.member(u) {
            Some(m) if scope.member_visible(m) && m.deliverable() => r.add(&mut seen, m),
            _ => r.invaliduser.push(u.to_ascii_lowercase()),
        }
    }
    for p in &toparty {
        let id = p
            .parse::<u32>()
            .ok()
            .filter(|id| dir.department(*id).is_some() && scope.department_visible(*id));
        match id {
            Some(id) => {
                for m in dir.members_in(id, true) {
                    r.add(&mut seen, m);
                }
            }
            None => r.invalidparty.push(p.clone()),
        }
    }
    for t in &totag {
        match t.parse::<u32>().ok().and_then(|id| corp.tags.get(&id)) {
            Some(tag) => {
                for u in &tag.users {
                    if let Some(m) = dir.member(u)
                        && scope.member_visible(m)
                    {
                        r.add(&mut seen, m);
                    }
                }
                for p in &tag.parties {
                    if scope.department_visible(*p) {
                        for m in dir.members_in(*p, true) {
                            r.add(&mut seen, m);
                        }
                    }
                }
            }
            None => r.invalidtag.push(t.clone()),
        }
    }
    Ok(r)
}

fn body_hash(body: &Value) -> u64 {
    let mut h = DefaultHasher::new();
    body.to_string().hash(&mut h);
    h.finish()
}

/// Per-member rate: true when this delivery is within 30/min and 1000/hour.
fn rate_allows(window: &mut VecDeque<i64>, now: i64, per_minute: usize, per_hour: usize) -> bool {
    while window.front().is_some_and(|t| *t <= now - 3600) {
        window.pop_front();
    }
    let last_minute = window.iter().rev().take_while(|t| **t > now - 60).count();
    if last_minute >= per_minute || window.len() >= per_hour {
        return false;
    }
    window.push_back(now);
    true
}

/// `POST /cgi-bin/message/send`.
pub(crate) fn message_send(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let body: Value = call.json(sim)?;
    let obj = body
        .as_object()
        .ok_or_else(|| WxError::work(47001))?
        .clone();
    let agentid = obj
        .get("agentid")
        .and_then(lenient_i64)
        .and_then(|a| u32::try_from(a).ok())
        .ok_or_else(|| WxError::work(41011))?;
    let msgtype = obj
        .get("msgtype")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let (stored, card) = validate_payload(&msgtype, body.clone())?;
    let dup_check = obj.get("enable_duplicate_check").and_then(lenient_i64) == Some(1);
    let interval = obj
        .get("duplicate_check_interval")
        .and_then(lenient_i64)
        .unwrap_or(1800)
        .clamp(1, 4 * 3600);
    let hash = body_hash(&body);
    let now = sim.now();
    let rate = sim.with_limits(|l| {
        l.config.enabled.then_some((
            l.config.message_per_member_minute,
            l.config.message_per_member_hour,
        ))
    });
    let (reply, delivery, users) = sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        let app = corp
            .apps
            .get(&agentid)
            .ok_or_else(|| WxError::work(40056))?;
        match secret {
            SecretRef::App(a) if a == agentid => {}
            SecretRef::App(_) => return Err(WxError::work(301002)),
            SecretRef::Contacts => return Err(WxError::work(48002)),
        }
        if !app.enabled {
            return Err(WxError::work(50003));
        }
        let scope = corp.scope(secret);
        let r = resolve(corp, &scope, &obj)?;
        if r.users.is_empty() {
            return Err(WxError::work(81013));
        }
        let mut reply = ok_with(
            "ok",
            json!({
                "invaliduser": r.invaliduser.join("|"),
                "invalidparty": r.invalidparty.join("|"),
                "invalidtag": r.invalidtag.join("|"),
                "unlicenseduser": "",
            }),
        );
        let insert = |reply: &mut Value, k: &str, v: &str| {
            if let Some(o) = reply.as_object_mut() {
                o.insert(k.into(), json!(v));
            }
        };
        if dup_check {
            corp.dup_check.retain(|_, (until, _)| *until > now);
            if let Some((_, first)) = corp.dup_check.get(&(agentid, hash)) {
                insert(&mut reply, "msgid", &first.clone());
                return Ok((reply, None, Vec::new()));
            }
        }
        if let Some(CardInfo {
            task_id: Some(task_id),
            ..
        }) = &card
            && !corp.task_ids.insert((agentid, task_id.clone()))
        {
            return Err(WxError::new(
                40058,
                "invalid parameter, task_id already exists",
            ));
        }
        let msgid = random_token(43);
        insert(&mut reply, "msgid", &msgid);
        if card.as_ref().is_some_and(|c| c.callback) {
            let code = random_token(64).replace(['-', '_'], "x");
            corp.response_codes.insert(
                code.clone(),
                ResponseCode {
                    agentid,
                    expires_at: now + RESPONSE_CODE_TTL_SECS,
                    msgid: msgid.clone(),
                    task_id: card.as_ref().and_then(|c| c.task_id.clone()),
                },
            );
            insert(&mut reply, "response_code", &code);
        }
        if dup_check {
            corp.dup_check
                .insert((agentid, hash), (now + interval, msgid.clone()));
        }
        let users: Vec<String> = match rate {
            None => r.users,
            Some((per_minute, per_hour)) => {
                let mut kept = Vec::with_capacity(r.users.len());
                for u in r.users {
                    let window = corp
                        .user_rate
                        .entry((agentid, u.to_ascii_lowercase()))
                        .or_default();
                    if rate_allows(window, now, per_minute, per_hour) {
                        kept.push(u);
                    } else {
                        corp.dropped_messages += 1;
                    }
                }
                kept
            }
        };
        corp.messages.insert(
            msgid.clone(),
            SentMessage {
                agentid,
                sent_at: now,
                recalled: false,
            },
        );
        if let Some(CardInfo {
            task_id: Some(task_id),
            callback: true,
        }) = &card
        {
            corp.cards.insert(
                format!("{agentid}/{task_id}"),
                SentCard {
                    agentid,
                    msgid: msgid.clone(),
                    card_type: text(&stored, "/template_card/card_type").to_owned(),
                    card: stored.get("template_card").cloned().unwrap_or(Value::Null),
                    users: users.clone(),
                },
            );
        }
        let delivery = Delivery {
            channel: Channel::Wecom,
            account: corp.corpid.clone(),
            agentid: Some(agentid),
            msgtype: msgtype.clone(),
            msgid,
            content: Arc::new(stored),
        };
        Ok((reply, Some(delivery), users))
    })?;
    if let Some(d) = delivery {
        sim.with_inbox(|ib| ib.deliver(&d, &users, now));
    }
    Ok(reply)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct UpdateCardRequest {
    userids: Vec<String>,
    partyids: Vec<u32>,
    tagids: Vec<u32>,
    atall: i64,
    agentid: Option<Value>,
    response_code: String,
    button: Option<Value>,
    template_card: Option<Value>,
}

/// `POST /cgi-bin/message/update_template_card` (reference §4.11.3): a response code from the
/// send answer or a card callback, single use, 72 h; `button` (interactive cards only) or a
/// new `template_card`. The update is recorded on the recipients' inbox copies.
pub(crate) fn update_template_card(
    sim: &SimState,
    call: &Call,
    authed: &Authed,
) -> Result<Value, WxError> {
    let body: Value = call.json(sim)?;
    let req: UpdateCardRequest = serde_json::from_value(body.clone()).map_err(|e| {
        WxError::new(
            47001,
            format!("data format error, Warning: wrong json format. {e}"),
        )
    })?;
    let agentid = req
        .agentid
        .as_ref()
        .and_then(lenient_i64)
        .and_then(|a| u32::try_from(a).ok())
        .ok_or_else(|| WxError::work(41011))?;
    if req.response_code.is_empty() {
        return Err(missing("response_code"));
    }
    if req.button.is_none() && req.template_card.is_none() {
        return Err(missing("button or template_card"));
    }
    if req.userids.len() > 1000 || req.partyids.len() > 100 || req.tagids.len() > 100 {
        return Err(WxError::new(40058, "invalid parameter, too many targets"));
    }
    let now = sim.now();
    let (corpid, msgid, users, invalid) = sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        if secret != SecretRef::App(agentid) {
            return Err(WxError::work(301002));
        }
        let code = corp
            .response_codes
            .get(&req.response_code)
            .cloned()
            .ok_or_else(|| WxError::new(40058, "invalid parameter, response_code"))?;
        if code.agentid != agentid {
            return Err(WxError::new(40058, "invalid parameter, response_code"));
        }
        if now >= code.expires_at {
            corp.response_codes.remove(&req.response_code);
            return Err(WxError::new(
                40058,
                "invalid parameter, response_code expired",
            ));
        }
        let card = code
            .task_id
            .as_ref()
            .and_then(|t| corp.cards.get(&format!("{agentid}/{t}")))
            .cloned();
        let recipients: Vec<String> = card.as_ref().map(|c| c.users.clone()).unwrap_or_default();
        let scope = corp.scope(SecretRef::App(agentid));
        let mut users = Vec::new();
        let mut invalid = Vec::new();
        if req.atall == 1 {
            users.clone_from(&recipients);
        } else {
            for u in &req.userids {
                match corp.directory.member(u) {
                    Some(m) if scope.member_visible(m) => users.push(m.userid.clone()),
                    _ => invalid.push(u.clone()),
                }
            }
            for p in &req.partyids {
                for m in corp.directory.members_in(*p, true) {
                    users.push(m.userid.clone());
                }
            }
            for t in &req.tagids {
                if let Some(tag) = corp.tags.get(t) {
                    users.extend(tag.users.iter().cloned());
                }
            }
        }
        if users.is_empty() && invalid.is_empty() {
            return Err(WxError::work(81013));
        }
        corp.response_codes.remove(&req.response_code);
        Ok((corp.corpid.clone(), code.msgid, users, invalid))
    })?;
    let update = json!({"by": "update_template_card", "request": body});
    sim.with_inbox(|ib| {
        for u in &users {
            ib.update(&corpid, &msgid, Some(u), update.clone());
        }
    });
    Ok(ok_with("ok", json!({"invaliduser": invalid})))
}

#[derive(Debug, Deserialize)]
struct RecallRequest {
    #[serde(default)]
    msgid: String,
}

/// `POST /cgi-bin/message/recall`: within 24 h, by the sending app. Unknown, already recalled
/// or too old messages answer 40058 (assumption: no code in the reference).
pub(crate) fn message_recall(
    sim: &SimState,
    call: &Call,
    authed: &Authed,
) -> Result<Value, WxError> {
    let req: RecallRequest = call.json(sim)?;
    if req.msgid.is_empty() {
        return Err(missing("msgid"));
    }
    let now = sim.now();
    let corpid = sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        let sent = corp
            .messages
            .get_mut(&req.msgid)
            .ok_or_else(|| WxError::new(40058, "invalid parameter, msgid not found"))?;
        if secret != SecretRef::App(sent.agentid) {
            return Err(WxError::work(301002));
        }
        if sent.recalled {
            return Err(WxError::new(
                40058,
                "invalid parameter, message already recalled",
            ));
        }
        if now - sent.sent_at > RECALL_WINDOW_SECS {
            return Err(WxError::new(
                40058,
                "invalid parameter, message older than 24 hours",
            ));
        }
        sent.recalled = true;
        Ok(corp.corpid.clone())
    })?;
    sim.with_inbox(|ib| ib.recall(&corpid, &req.msgid));
    Ok(ok_with("ok", json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_window() {
        let mut w = VecDeque::new();
        for i in 0..30 {
            assert!(rate_allows(&mut w, 1000 + i, 30, 1000));
        }
        assert!(!rate_allows(&mut w, 1030, 30, 1000));
        assert!(rate_allows(&mut w, 1061, 30, 1000));
    }

    #[test]
    fn payload_rules() {
        let long = "字".repeat(1000); // 3000 bytes
        let (stored, _) = validate_payload("text", json!({"text": {"content": long}})).unwrap();
        assert_eq!(stored["text"]["content"].as_str().unwrap().len(), 2046);
        let e = |t: &str, v: Value| validate_payload(t, v).err().map(|e| e.errcode);
        assert_eq!(e("text", json!({"text": {"content": ""}})), Some(44004));
        assert_eq!(
            e(
                "textcard",
                json!({"textcard": {"title": "t", "description": "d"}})
            ),
            Some(41010)
        );
        assert_eq!(e("news", json!({"news": {"articles": []}})), Some(44003));
        assert_eq!(e("bogus", json!({})), Some(40008));
        assert_eq!(
            e(
                "template_card",
                json!({"template_card": {"card_type": "button_interaction", "main_title": {"title": "t"}, "button_list": [{"text": "ok", "key": "k"}]}})
            ),
            Some(40058),
            "interactive cards need a task_id"
        );
        assert!(validate_payload("template_card", json!({"template_card": {"card_type": "text_notice", "main_title": {"title": "t"}, "card_action": {"type": 1, "url": "https://a.example"}}})).is_ok());
    }
}
