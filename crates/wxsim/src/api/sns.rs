//! api.weixin.qq.com beyond tokens and users: OA web authorisation (`sns/*`, reference §2.5),
//! JS-SDK tickets (§2.6), customer-service and subscription messages (§2.8, §2.9), Mini
//! Program login, phone number and subscribe messages (§3.2–3.4).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Auth, Authed, Call, Endpoint, Handler};
use crate::error::WxError;
use crate::inbox::{Channel, Delivery};
use crate::state::accounts::{AccountKind, Template};
use crate::state::identity::{CodeProblem, CodeSubject};
use crate::state::tokens::Owner;
use crate::state::{SimState, World};

pub(crate) fn endpoint(path: &str) -> Option<Endpoint> {
    let (post_only, auth, handler): (bool, Auth, Handler) = match path {
        "/sns/oauth2/access_token" => (false, Auth::Open, oauth_access_token),
        "/sns/oauth2/refresh_token" => (false, Auth::Open, oauth_refresh_token),
        "/sns/userinfo" => (false, Auth::Open, sns_userinfo),
        "/sns/auth" => (false, Auth::Open, sns_auth),
        "/sns/jscode2session" => (false, Auth::Open, jscode2session),
        "/wxa/business/getuserphonenumber" => (true, Auth::OaToken, get_phone_number),
        "/cgi-bin/message/subscribe/send" => (true, Auth::OaToken, mp_subscribe_send),
        "/cgi-bin/message/custom/send" => (true, Auth::OaToken, custom_send),
        "/cgi-bin/message/subscribe/bizsend" => (true, Auth::OaToken, bizsend),
        "/cgi-bin/ticket/getticket" => (false, Auth::OaToken, getticket),
        _ => return None,
    };
    Some(Endpoint::new(post_only, auth, handler))
}

fn check_secret(w: &World, appid: &str, secret: &str) -> Result<(), WxError> {
    let expected = w.app_secret(appid).ok_or_else(|| WxError::oa(40013))?;
    if expected == secret {
        Ok(())
    } else {
        Err(WxError::oa(40125))
    }
}

fn code_error(p: CodeProblem) -> WxError {
    match p {
        CodeProblem::Invalid => WxError::new(40029, "invalid code"),
        CodeProblem::Used => WxError::new(40163, "code been used"),
        CodeProblem::Expired => WxError::new(42003, "code expired"),
    }
}

/// `GET /sns/oauth2/access_token`: code → user token (no errcode on success).
fn oauth_access_token(sim: &SimState, call: &Call, _: &Authed) -> Result<Value, WxError> {
    let appid = call.param("appid").ok_or_else(|| WxError::oa(41002))?;
    let secret = call.param("secret").ok_or_else(|| WxError::oa(41004))?;
    let code = call
        .param("code")
        .ok_or_else(|| WxError::new(41008, "missing code"))?;
    if call.param("grant_type") != Some("authorization_code") {
        return Err(WxError::oa(40002));
    }
    let now = sim.now();
    sim.with_world(|w| {
        check_secret(w, appid, secret)?;
        let c = w
            .identity
            .redeem(
                code,
                now,
                |s| matches!(s, CodeSubject::Oa { appid: a, .. } if a == appid),
            )
            .map_err(code_error)?;
        let CodeSubject::Oa { openid, .. } = &c.subject else {
            return Err(WxError::new(40029, "invalid code"));
        };
        let unionid = w
            .accounts
            .get(appid)
            .and_then(|a| a.fan(openid))
            .and_then(|f| f.unionid.clone());
        let (token, t) = w.identity.issue_user_token(appid, openid, &c.scope, now);
        let mut v = json!({
            "access_token": token,
            "expires_in": 7200,
            "refresh_token": t.refresh_token,
            "openid": openid,
            "scope": c.scope,
        });
        if c.scope == "snsapi_userinfo"
            && let (Some(u), Some(o)) = (unionid, v.as_object_mut())
        {
            o.insert("unionid".into(), json!(u));
        }
        Ok(v)
    })
}

/// `GET /sns/oauth2/refresh_token`: keeps the token, resets its expiry.
fn oauth_refresh_token(sim: &SimState, call: &Call, _: &Authed) -> Result<Value, WxError> {
    let appid = call.param("appid").ok_or_else(|| WxError::oa(41002))?;
    let refresh = call
        .param("refresh_token")
        .ok_or_else(|| WxError::new(41003, "missing refresh_token"))?;
    if call.param("grant_type") != Some("refresh_token") {
        return Err(WxError::oa(40002));
    }
    let now = sim.now();
    sim.with_world(|w| {
        let token = w
            .identity
            .refresh_tokens
            .get(refresh)
            .cloned()
            .ok_or_else(|| WxError::new(40030, "invalid refresh_token"))?;
        let t = w
            .identity
            .user_tokens
            .get_mut(&token)
            .filter(|t| t.appid == appid)
            .ok_or_else(|| WxError::new(40030, "invalid refresh_token"))?;
        if now >= t.refresh_expires_at {
            return Err(WxError::new(42002, "refresh_token expired"));
        }
        t.expires_at = now + 7200;
        Ok(json!({
            "access_token": token,
            "expires_in": 7200,
            "refresh_token": refresh,
            "openid": t.openid,
            "scope": t.scope,
        }))
    })
}

fn user_token<'a>(
    w: &'a World,
    call: &Call,
    now: i64,
) -> Result<&'a crate::state::identity::UserToken, WxError> {
    let token = call
        .param("access_token")
        .ok_or_else(|| WxError::oa(41001))?;
    let t = w
        .identity
        .user_tokens
        .get(token)
        .ok_or_else(|| WxError::oa(40001))?;
    if now >= t.expires_at {
        return Err(WxError::oa(42001));
    }
    if call.param("openid").is_some_and(|o| o != t.openid) {
        return Err(WxError::oa(40003));
    }
    Ok(t)
}

/// `GET /sns/userinfo` (snsapi_userinfo): gender and region blank since 2021-10.
fn sns_userinfo(sim: &SimState, call: &Call, _: &Authed) -> Result<Value, WxError> {
    let now = sim.now();
    sim.with_world(|w| {
        let t = user_token(w, call, now)?;
        if t.scope != "snsapi_userinfo" {
            return Err(WxError::new(48001, "api unauthorized, scope snsapi_base"));
        }
        let fan = w.accounts.get(&t.appid).and_then(|a| a.fan(&t.openid));
        let mut v = json!({
            "openid": t.openid,
            "nickname": fan.map_or("微信用户", |f| if f.nickname.is_empty() { "微信用户" } else { f.nickname.as_str() }),
            "sex": 0,
            "language": "",
            "city": "",
            "province": "",
            "country": "",
            "headimgurl": "https://thirdwx.qlogo.cn/mmopen/vi_32/wxsim/132",
            "privilege": [],
        });
        if let (Some(u), Some(o)) = (fan.and_then(|f| f.unionid.clone()), v.as_object_mut()) {
            o.insert("unionid".into(), json!(u));
        }
        Ok(v)
    })
}

/// `GET /sns/auth`: is the user token valid.
fn sns_auth(sim: &SimState, call: &Call, _: &Authed) -> Result<Value, WxError> {
    let now = sim.now();
    sim.with_world(|w| user_token(w, call, now).map(|_| json!({"errcode": 0, "errmsg": "ok"})))
}

/// `GET /sns/jscode2session` (no errcode on success). Codes come from the control action
/// "user X logs in to MP Y" (`POST /sim/mp/login`).
fn jscode2session(sim: &SimState, call: &Call, _: &Authed) -> Result<Value, WxError> {
    let appid = call.param("appid").ok_or_else(|| WxError::oa(41002))?;
    let secret = call.param("secret").ok_or_else(|| WxError::oa(41004))?;
    let code = call
        .param("js_code")
        .ok_or_else(|| WxError::new(41008, "missing code"))?;
    if call.param("grant_type") != Some("authorization_code") {
        return Err(WxError::oa(40002));
    }
    let now = sim.now();
    sim.with_world(|w| {
        check_secret(w, appid, secret)?;
        let c = w
            .identity
            .redeem(
                code,
                now,
                |s| matches!(s, CodeSubject::MpLogin { appid: a, .. } if a == appid),
            )
            .map_err(|p| match p {
                // Assumption: an expired js_code answers 40029 like an unknown one.
                CodeProblem::Used => WxError::new(40163, "code been used"),
                _ => WxError::new(40029, "invalid code"),
            })?;
        let CodeSubject::MpLogin { openid, .. } = &c.subject else {
            return Err(WxError::new(40029, "invalid code"));
        };
        let unionid = w
            .mini_programs
            .get(appid)
            .and_then(|m| m.user(openid))
            .and_then(|u| u.unionid.clone());
        let session_key = {
            use base64::Engine as _;
            let bytes: [u8; 16] = rand::random();
            base64::engine::general_purpose::STANDARD.encode(bytes)
        };
        w.identity
            .session_keys
            .insert((appid.to_owned(), openid.clone()), session_key.clone());
        let mut v = json!({"openid": openid, "session_key": session_key});
        if let (Some(u), Some(o)) = (unionid, v.as_object_mut()) {
            o.insert("unionid".into(), json!(u));
        }
        Ok(v)
    })
}

fn mp_appid(w: &World, authed: &Authed) -> Result<String, WxError> {
    match &authed.owner {
        Some(Owner::Account { appid }) if w.mini_programs.contains_key(appid) => Ok(appid.clone()),
        Some(Owner::Account { .. }) => Err(WxError::oa(48001)),
        _ => Err(WxError::oa(40001)),
    }
}

fn oa_appid(w: &World, authed: &Authed) -> Result<String, WxError> {
    match &authed.owner {
        Some(Owner::Account { appid }) if w.accounts.contains_key(appid) => Ok(appid.clone()),
        Some(Owner::Account { .. }) => Err(WxError::oa(48001)),
        _ => Err(WxError::oa(40001)),
    }
}

#[derive(Debug, Deserialize)]
struct PhoneRequest {
    #[serde(default)]
    code: String,
}

/// `POST /wxa/business/getuserphonenumber`.
fn get_phone_number(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let req: PhoneRequest = call.json(sim)?;
    let now = sim.now();
    sim.with_world(|w| {
        let appid = mp_appid(w, authed)?;
        let c = w
            .identity
            .redeem(
                &req.code,
                now,
                |s| matches!(s, CodeSubject::MpPhone { appid: a, .. } if *a == appid),
            )
            .map_err(|_| WxError::new(40029, "invalid code"))?;
        let CodeSubject::MpPhone { openid, .. } = &c.subject else {
            return Err(WxError::new(40029, "invalid code"));
        };
        let phone = w
            .mini_programs
            .get(&appid)
            .and_then(|m| m.user(openid))
            .and_then(|u| u.phone.clone())
            .ok_or_else(|| WxError::new(40029, "invalid code"))?;
        let pure = phone.trim_start_matches("+86").trim().to_owned();
        Ok(json!({
            "errcode": 0,
            "errmsg": "ok",
            "phone_info": {
                "phoneNumber": phone,
                "purePhoneNumber": pure,
                "countryCode": "86",
                "watermark": {"timestamp": now, "appid": appid},
            }
        }))
    })
}

/// Keyword value rules of subscribe messages (reference §3.3; recalled, unverified).
fn check_value(key: &str, value: &str) -> bool {
    let prefix = key.trim_end_matches(|c: char| c.is_ascii_digit());
    let chars = value.chars().count();
    match prefix {
        "thing" => chars <= 20,
        "number" | "letter" | "character_string" => chars <= 32,
        "symbol" => chars <= 5,
        "phone_number" => chars <= 17,
        "car_number" => chars <= 8,
        "name" => chars <= 20,
        "phrase" => chars <= 5,
        _ => chars <= 200,
    }
}

/// Validates `data` against a template: every value `{value}` and within its type's limit.
fn check_data(t: &Template, data: Option<&Value>) -> Result<(), WxError> {
    let data = data
        .and_then(Value::as_object)
        .ok_or_else(|| WxError::new(47003, "argument invalid! data"))?;
    for key in t.keys() {
        let v = data
            .get(&key)
            .and_then(|v| v.get("value"))
            .and_then(Value::as_str)
            .ok_or_else(|| WxError::new(47003, format!("argument invalid! data.{key}.value")))?;
        if !check_value(&key, v) {
            return Err(WxError::new(
                47003,
                format!("argument invalid! data.{key}.value"),
            ));
        }
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
struct SubscribeRequest {
    #[serde(default)]
    touser: String,
    #[serde(default)]
    template_id: String,
    data: Option<Value>,
}

/// `POST /cgi-bin/message/subscribe/send` (MP): needs a one-time subscription of the user
/// (`POST /sim/subscriptions`), 43101 otherwise.
fn mp_subscribe_send(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let body: Value = call.json(sim)?;
    let req: SubscribeRequest = serde_json::from_value(body.clone())
        .map_err(|e| WxError::new(47001, format!("data format error: {e}")))?;
    let now = sim.now();
    let (delivery, msgid) = sim.with_world(|w| {
        let appid = mp_appid(w, authed)?;
        w.next_oa_msgid += 1;
        let msgid = w.next_oa_msgid;
        let mp = w
            .mini_programs
            .get_mut(&appid)
            .ok_or_else(|| WxError::oa(48001))?;
        if mp.user(&req.touser).is_none() {
            return Err(WxError::oa(40003));
        }
        let t = mp
            .subscribe_templates
            .get(&req.template_id)
            .ok_or_else(|| WxError::oa(40037))?;
        check_data(t, req.data.as_ref())?;
        let grant = mp
            .subscribe_grants
            .get_mut(&(req.touser.clone(), req.template_id.clone()))
            .filter(|n| **n > 0)
            .ok_or_else(|| WxError::new(43101, "user refuse to accept the msg"))?;
        *grant -= 1;
        Ok((
            Delivery {
                channel: Channel::Oa,
                account: appid,
                agentid: None,
                msgtype: "subscribe".into(),
                msgid: msgid.to_string(),
                content: Arc::new(body.clone()),
            },
            msgid,
        ))
    })?;
    sim.with_inbox(|ib| ib.deliver(&delivery, std::slice::from_ref(&req.touser), now));
    Ok(json!({"errcode": 0, "errmsg": "ok", "msgid": msgid}))
}

/// `POST /cgi-bin/message/subscribe/bizsend` (OA subscription notifications).
fn bizsend(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let body: Value = call.json(sim)?;
    let req: SubscribeRequest = serde_json::from_value(body.clone())
        .map_err(|e| WxError::new(47001, format!("data format error: {e}")))?;
    let now = sim.now();
    let delivery = sim.with_world(|w| {
        let appid = oa_appid(w, authed)?;
        w.next_oa_msgid += 1;
        let msgid = w.next_oa_msgid;
        let a = w
            .accounts
            .get_mut(&appid)
            .ok_or_else(|| WxError::oa(48001))?;
        if a.fan(&req.touser).is_none() {
            return Err(WxError::oa(40003));
        }
        let t = a
            .subscribe_templates
            .get(&req.template_id)
            .ok_or_else(|| WxError::oa(40037))?;
        check_data(t, req.data.as_ref())?;
        let grant = a
            .subscribe_grants
            .get_mut(&(req.touser.clone(), req.template_id.clone()))
            .filter(|n| **n > 0)
            .ok_or_else(|| WxError::new(43101, "user refuse to accept the msg"))?;
        *grant -= 1;
        Ok(Delivery {
            channel: Channel::Oa,
            account: appid,
            agentid: None,
            msgtype: "subscribe".into(),
            msgid: msgid.to_string(),
            content: Arc::new(body.clone()),
        })
    })?;
    sim.with_inbox(|ib| ib.deliver(&delivery, std::slice::from_ref(&req.touser), now));
    Ok(json!({"errcode": 0, "errmsg": "ok"}))
}

const CUSTOM_TYPES: &[&str] = &[
    "text",
    "image",
    "voice",
    "video",
    "music",
    "news",
    "mpnews",
    "mpnewsarticle",
    "msgmenu",
    "wxcard",
    "miniprogrampage",
];

/// `POST /cgi-bin/message/custom/send`: the 48-hour window (45015) and its quotas (45047).
fn custom_send(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let body: Value = call.json(sim)?;
    let touser = body
        .get("touser")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let msgtype = body
        .get("msgtype")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if !CUSTOM_TYPES.contains(&msgtype.as_str()) {
        return Err(WxError::oa(40008));
    }
    if msgtype == "text"
        && body
            .pointer("/text/content")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        return Err(WxError::oa(44004));
    }
    if msgtype == "news"
        && body
            .pointer("/news/articles")
            .and_then(Value::as_array)
            .is_some_and(|a| a.len() > 1)
    {
        return Err(WxError::oa(45008));
    }
    let now = sim.now();
    let delivery = sim.with_world(|w| {
        let appid = oa_appid(w, authed)?;
        w.next_oa_msgid += 1;
        let msgid = w.next_oa_msgid;
        let a = w
            .accounts
            .get_mut(&appid)
            .ok_or_else(|| WxError::oa(48001))?;
        let fan = a.fan(&touser).ok_or_else(|| WxError::oa(40003))?;
        if !fan.subscribe {
            return Err(WxError::new(
                45015,
                "response out of time limit or subscription is canceled",
            ));
        }
        let i = a.interactions.entry(touser.clone()).or_default();
        i.send(now).map_err(|code| {
            if code == 45015 {
                WxError::new(
                    45015,
                    "response out of time limit or subscription is canceled",
                )
            } else {
                WxError::new(45047, "out of response count limit")
            }
        })?;
        Ok(Delivery {
            channel: Channel::Oa,
            account: appid,
            agentid: None,
            msgtype: format!("custom:{msgtype}"),
            msgid: msgid.to_string(),
            content: Arc::new(body.clone()),
        })
    })?;
    sim.with_inbox(|ib| ib.deliver(&delivery, std::slice::from_ref(&touser), now));
    Ok(json!({"errcode": 0, "errmsg": "ok"}))
}

/// `GET /cgi-bin/ticket/getticket?type=jsapi|wx_card`: the same ticket for 7200 s.
fn getticket(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let kind = call.param("type").unwrap_or("jsapi");
    if !matches!(kind, "jsapi" | "wx_card") {
        return Err(WxError::new(40097, "invalid args, type"));
    }
    let now = sim.now();
    sim.with_world(|w| {
        let appid = match &authed.owner {
            Some(Owner::Account { appid }) if w.accounts.contains_key(appid) => appid.clone(),
            Some(Owner::Account { appid }) => {
                // Mini Programs have no JS-SDK.
                let _ = appid;
                return Err(WxError::oa(48001));
            }
            _ => return Err(WxError::oa(40001)),
        };
        if w.accounts
            .get(&appid)
            .is_some_and(|a| a.kind == AccountKind::Subscription && !a.verified)
        {
            return Err(WxError::oa(48001));
        }
        let (ticket, exp) = w.identity.js_ticket(&appid, kind, now);
        Ok(json!({"errcode": 0, "errmsg": "ok", "ticket": ticket, "expires_in": exp - now}))
    })
}

/// Issues a Mini Program login code for a user (created when unknown): "user X logs in to
/// MP Y". Also used by `POST /sim/mp/login`.
pub(crate) fn mp_code(
    sim: &SimState,
    appid: &str,
    openid: &str,
    phone: bool,
) -> Result<String, String> {
    let now = sim.now();
    let ttl = sim.options().code_ttl_secs;
    sim.with_world(|w| {
        let mp = w
            .mini_programs
            .get_mut(appid)
            .ok_or_else(|| format!("unknown Mini Program {appid}"))?;
        if openid.is_empty() {
            return Err("openid is required".into());
        }
        match mp.user(openid) {
            None if phone => return Err(format!("{openid} is not a user of {appid}")),
            None => mp.users.push(crate::state::accounts::MpUser {
                openid: openid.to_owned(),
                ..Default::default()
            }),
            Some(u) if phone && u.phone.is_none() => {
                return Err(format!("{openid} has no phone number"));
            }
            Some(_) => {}
        }
        let subject = if phone {
            CodeSubject::MpPhone {
                appid: appid.into(),
                openid: openid.into(),
            }
        } else {
            CodeSubject::MpLogin {
                appid: appid.into(),
                openid: openid.into(),
            }
        };
        Ok(w.identity.issue(subject, "", now, ttl))
    })
}

/// Grants one-time subscriptions (`subscribe_msg_popup_event` accept) of a user to a
/// template of an OA or MP.
pub(crate) fn grant_subscription(
    sim: &SimState,
    appid: &str,
    openid: &str,
    template_id: &str,
    count: u32,
) -> Result<u32, String> {
    sim.with_world(|w| {
        let key = (openid.to_owned(), template_id.to_owned());
        if let Some(a) = w.accounts.get_mut(appid) {
            if !a.subscribe_templates.contains_key(template_id) {
                return Err(format!(
                    "{appid} has no subscription template {template_id}"
                ));
            }
            let n = a.subscribe_grants.entry(key).or_default();
            *n += count;
            return Ok(*n);
        }
        if let Some(m) = w.mini_programs.get_mut(appid) {
            if !m.subscribe_templates.contains_key(template_id) {
                return Err(format!("{appid} has no subscribe template {template_id}"));
            }
            let n = m.subscribe_grants.entry(key).or_default();
            *n += count;
            return Ok(*n);
        }
        Err(format!("unknown account {appid}"))
    })
}
