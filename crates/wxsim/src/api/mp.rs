//! api.weixin.qq.com: Official Account tokens, followers, menus and template messages
//! (reference §2.1, §2.3, §2.4, §2.7). Mini Programs share the token endpoints.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Auth, Authed, Call, Endpoint, Handler};
use crate::error::WxError;
use crate::inbox::{Channel, Delivery};
use crate::state::accounts::{AccountKind, Menu, OfficialAccount};
use crate::state::tokens::Owner;
use crate::state::{SimState, World};

/// Followers per `user/get` page.
pub const FOLLOWERS_PAGE: usize = 10_000;
/// Entries per `user/info/batchget`.
pub const BATCHGET_MAX: usize = 100;

pub(crate) fn endpoint(path: &str) -> Option<Endpoint> {
    let (post_only, auth, handler): (bool, Auth, Handler) = match path {
        "/cgi-bin/token" => (false, Auth::AppidQuery, token),
        "/cgi-bin/stable_token" => (true, Auth::AppidBody, stable_token),
        "/cgi-bin/getcallbackip" => (false, Auth::OaToken, callback_ip),
        "/cgi-bin/get_api_domain_ip" => (false, Auth::OaToken, api_domain_ip),
        "/cgi-bin/user/get" => (false, Auth::OaToken, user_get),
        "/cgi-bin/user/info" => (false, Auth::OaToken, user_info),
        "/cgi-bin/user/info/batchget" => (true, Auth::OaToken, user_batchget),
        "/cgi-bin/menu/create" => (true, Auth::OaToken, menu_create),
        "/cgi-bin/menu/get" => (false, Auth::OaToken, menu_get),
        "/cgi-bin/menu/delete" => (false, Auth::OaToken, menu_delete),
        "/cgi-bin/message/template/send" => (true, Auth::OaToken, template_send),
        _ => return None,
    };
    Some(Endpoint::new(post_only, auth, handler))
}

fn owner_owned(appid: &str) -> Owner {
    Owner::Account {
        appid: appid.to_owned(),
    }
}

/// `GET /cgi-bin/token`: a new token each call (the previous one lives 300 s more).
fn token(sim: &SimState, call: &Call, _: &Authed) -> Result<Value, WxError> {
    if call.param("grant_type") != Some("client_credential") {
        return Err(WxError::oa(40002));
    }
    let appid = call.param("appid").ok_or_else(|| WxError::oa(41002))?;
    let secret = call.param("secret").ok_or_else(|| WxError::oa(41004))?;
    let now = sim.now();
    let policy = sim.options().token_policy();
    sim.with_world(|w| {
        let expected = w.app_secret(appid).ok_or_else(|| WxError::oa(40013))?;
        if expected != secret {
            return Err(WxError::oa(40125));
        }
        let t = w.tokens.issue_oa(&owner_owned(appid), now, &policy);
        Ok(json!({"access_token": t.token, "expires_in": t.expires_at - now}))
    })
}

#[derive(Debug, Deserialize)]
struct StableTokenRequest {
    grant_type: Option<String>,
    appid: Option<String>,
    secret: Option<String>,
    #[serde(default)]
    force_refresh: bool,
}

/// `POST /cgi-bin/stable_token`.
fn stable_token(sim: &SimState, call: &Call, _: &Authed) -> Result<Value, WxError> {
    let req: StableTokenRequest = call.json(sim)?;
    if req.grant_type.as_deref() != Some("client_credential") {
        return Err(WxError::oa(40002));
    }
    let appid = req
        .appid
        .filter(|s| !s.is_empty())
        .ok_or_else(|| WxError::oa(41002))?;
    let secret = req
        .secret
        .filter(|s| !s.is_empty())
        .ok_or_else(|| WxError::oa(41004))?;
    let now = sim.now();
    let policy = sim.options().token_policy();
    sim.with_world(|w| {
        let expected = w.app_secret(&appid).ok_or_else(|| WxError::oa(40013))?;
        if expected != secret {
            return Err(WxError::oa(40125));
        }
        let t = w
            .tokens
            .stable(&owner_owned(&appid), req.force_refresh, now, &policy)?;
        Ok(json!({"access_token": t.token, "expires_in": t.expires_at - now}))
    })
}

fn callback_ip(_: &SimState, _: &Call, _: &Authed) -> Result<Value, WxError> {
    Ok(
        json!({"ip_list": ["101.226.103.0/25", "101.226.233.128/25", "58.247.206.128/25", "182.254.86.128/25"]}),
    )
}

fn api_domain_ip(_: &SimState, _: &Call, _: &Authed) -> Result<Value, WxError> {
    Ok(json!({"ip_list": ["101.89.47.18", "101.91.34.103", "101.91.37.60", "109.244.129.223"]}))
}

/// The OA behind a token; a Mini Program token gets 48001 on OA-only APIs.
fn account<'a>(w: &'a mut World, authed: &Authed) -> Result<&'a mut OfficialAccount, WxError> {
    match &authed.owner {
        Some(Owner::Account { appid }) => {
            w.accounts.get_mut(appid).ok_or_else(|| WxError::oa(48001))
        }
        _ => Err(WxError::oa(40001)),
    }
}

/// User management needs a verified account (unverified accounts get 48001).
fn require_verified(a: &OfficialAccount) -> Result<(), WxError> {
    if a.verified {
        Ok(())
    } else {
        Err(WxError::oa(48001))
    }
}

/// `GET /cgi-bin/user/get`: 10 000 openids per page. The last page still carries a
/// `next_openid`; asking past the end gives `count` 0, no `data` and `next_openid` ""
/// (reference §2.3.1).
fn user_get(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let next = call.param("next_openid");
    sim.with_world(|w| {
        let a = account(w, authed)?;
        require_verified(a)?;
        let total = a.follower_count();
        let page = a
            .followers_after(next, FOLLOWERS_PAGE)
            .ok_or_else(|| WxError::oa(40003))?;
        Ok(match page.last() {
            None => json!({"total": total, "count": 0, "next_openid": ""}),
            Some(last) => json!({
                "total": total,
                "count": page.len(),
                "data": {"openid": page},
                "next_openid": last,
            }),
        })
    })
}

/// `GET /cgi-bin/user/info` (no errcode on success).
fn user_info(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let openid = call.param("openid").ok_or_else(|| WxError::oa(41009))?;
    sim.with_world(|w| {
        let a = account(w, authed)?;
        require_verified(a)?;
        a.fan(openid)
            .map(|f| f.info_json())
            .ok_or_else(|| WxError::oa(40003))
    })
}

#[derive(Debug, Deserialize)]
struct BatchGetRequest {
    #[serde(default)]
    user_list: Vec<BatchGetEntry>,
}

#[derive(Debug, Deserialize)]
struct BatchGetEntry {
    #[serde(default)]
    openid: String,
}

/// `POST /cgi-bin/user/info/batchget`: at most 100 openids.
fn user_batchget(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let req: BatchGetRequest = call.json(sim)?;
    if req.user_list.is_empty() || req.user_list.len() > BATCHGET_MAX {
        return Err(WxError::oa(40032));
    }
    sim.with_world(|w| {
        let a = account(w, authed)?;
        require_verified(a)?;
        let list = req
            .user_list
            .iter()
            .map(|e| {
                a.fan(&e.openid)
                    .map(|f| f.info_json())
                    .ok_or_else(|| WxError::oa(40003))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(json!({"user_info_list": list}))
    })
}

const BUTTON_TYPES: &[&str] = &[
    "click",
    "view",
    "scancode_push",
    "scancode_waitmsg",
    "pic_sysphoto",
    "pic_photo_or_album",
    "pic_weixin",
    "location_select",
    "media_id",
    "view_limited",
    "article_id",
    "article_view_limited",
    "miniprogram",
];
const KEYED_TYPES: &[&str] = &[
    "click",
    "scancode_push",
    "scancode_waitmsg",
    "pic_sysphoto",
    "pic_photo_or_album",
    "pic_weixin",
    "location_select",
];

fn str_field<'a>(b: &'a Value, key: &str) -> &'a str {
    b.get(key).and_then(Value::as_str).unwrap_or("")
}

fn nonempty_array<'a>(b: &'a Value, key: &str) -> Option<&'a Vec<Value>> {
    b.get(key)
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
}

/// Menu structure rules of reference §2.4: 1..3 buttons, 1..5 sub buttons, names ≤ 16 / 60
/// bytes, keys ≤ 128 bytes, urls ≤ 1024 bytes, required fields per type.
pub fn validate_menu(body: &Value) -> Result<(), WxError> {
    let buttons = body
        .get("button")
        .and_then(Value::as_array)
        .ok_or_else(|| WxError::oa(40016))?;
    if buttons.is_empty() || buttons.len() > 3 {
        return Err(WxError::oa(40016));
    }
    for b in buttons {
        let name = str_field(b, "name");
        if name.is_empty() || name.len() > 16 {
            return Err(WxError::oa(40018));
        }
        match nonempty_array(b, "sub_button") {
            Some(subs) => {
                if subs.len() > 5 {
                    return Err(WxError::oa(40023));
                }
                for s in subs {
                    if nonempty_array(s, "sub_button").is_some() {
                        return Err(WxError::oa(40022));
                    }
                    let name = str_field(s, "name");
                    if name.is_empty() || name.len() > 60 {
                        return Err(WxError::oa(40025));
                    }
                    check_leaf(s, true)?;
                }
            }
            None => check_leaf(b, false)?,
        }
    }
    Ok(())
}

fn check_leaf(b: &Value, sub: bool) -> Result<(), WxError> {
    let (type_err, key_err, url_err) = if sub {
        (40024, 40026, 40027)
    } else {
        (40017, 40019, 40020)
    };
    let ty = str_field(b, "type");
    if !BUTTON_TYPES.contains(&ty) {
        return Err(WxError::oa(type_err));
    }
    let key = str_field(b, "key");
    if key.len() > 128 || (KEYED_TYPES.contains(&ty) && key.is_empty()) {
        return Err(WxError::oa(key_err));
    }
    let url = str_field(b, "url");
    if url.len() > 1024 || (matches!(ty, "view" | "miniprogram") && url.is_empty()) {
        return Err(WxError::oa(url_err));
    }
    let missing = |field: &str| WxError::new(47003, format!("argument invalid! {field}"));
    match ty {
        "miniprogram" => {
            for field in ["appid", "pagepath"] {
                if str_field(b, field).is_empty() {
                    return Err(missing(field));
                }
            }
        }
        "media_id" | "view_limited" if str_field(b, "media_id").is_empty() => {
            return Err(WxError::oa(40007));
        }
        "article_id" | "article_view_limited" if str_field(b, "article_id").is_empty() => {
            return Err(missing("article_id"));
        }
        _ => {}
    }
    Ok(())
}

/// `POST /cgi-bin/menu/create`.
fn menu_create(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let body: Value = call.json(sim)?;
    validate_menu(&body)?;
    let menuid = u64::from(crate::util::random_u32() % 900_000_000) + 100_000_000;
    sim.with_world(|w| {
        let a = account(w, authed)?;
        a.menu = Some(Menu {
            button: body.get("button").cloned().unwrap_or(Value::Null),
            menuid,
        });
        Ok(json!({"errcode": 0, "errmsg": "ok"}))
    })
}

/// Every button in `menu/get` carries a `sub_button` array, as the real API does.
fn with_sub_arrays(buttons: &Value) -> Value {
    let Some(list) = buttons.as_array() else {
        return json!([]);
    };
    Value::Array(
        list.iter()
            .map(|b| {
                let mut b = b.clone();
                if let Some(obj) = b.as_object_mut() {
                    let subs = obj
                        .get("sub_button")
                        .map(with_sub_arrays)
                        .unwrap_or_else(|| json!([]));
                    obj.insert("sub_button".into(), subs);
                }
                b
            })
            .collect(),
    )
}

/// `GET /cgi-bin/menu/get` (46003 without a menu).
fn menu_get(sim: &SimState, _: &Call, authed: &Authed) -> Result<Value, WxError> {
    sim.with_world(|w| {
        let a = account(w, authed)?;
        let menu = a.menu.as_ref().ok_or_else(|| WxError::oa(46003))?;
        Ok(json!({"menu": {"button": with_sub_arrays(&menu.button), "menuid": menu.menuid}}))
    })
}

/// `GET /cgi-bin/menu/delete`.
fn menu_delete(sim: &SimState, _: &Call, authed: &Authed) -> Result<Value, WxError> {
    sim.with_world(|w| {
        account(w, authed)?.menu = None;
        Ok(json!({"errcode": 0, "errmsg": "ok"}))
    })
}

#[derive(Debug, Deserialize)]
struct TemplateRequest {
    touser: Option<String>,
    template_id: Option<String>,
    client_msg_id: Option<String>,
    data: Option<Value>,
}

/// `POST /cgi-bin/message/template/send`: the recipient must follow the account; a repeated
/// `client_msg_id` for the same openid inside the de-duplication window returns the first
/// msgid and delivers nothing (assumption: the reference marks the window unverified).
fn template_send(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let body: Value = call.json(sim)?;
    let req: TemplateRequest = serde_json::from_value(body.clone())
        .map_err(|e| WxError::new(47001, format!("data format error: {e}")))?;
    let now = sim.now();
    let window = sim.options().template_dedup_secs;
    let (delivery, touser, msgid) = sim.with_world(|w| {
        w.next_oa_msgid += 1;
        let fresh_msgid = w.next_oa_msgid;
        let a = account(w, authed)?;
        if a.kind != AccountKind::Service || !a.verified {
            return Err(WxError::oa(48001));
        }
        let touser = req
            .touser
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| WxError::oa(40003))?;
        let fan = a.fan(&touser).ok_or_else(|| WxError::oa(40003))?;
        if !fan.subscribe {
            return Err(WxError::oa(43004));
        }
        let template_id = req
            .template_id
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| WxError::oa(40036))?;
        if !a.templates.contains_key(&template_id) {
            return Err(WxError::oa(40037));
        }
        let data = req
            .data
            .as_ref()
            .and_then(Value::as_object)
            .ok_or_else(|| WxError::new(47003, "argument invalid! data"))?;
        for (k, v) in data {
            if v.get("value").is_none_or(|x| !x.is_string()) {
                return Err(WxError::new(
                    47003,
                    format!("argument invalid! data.{k}.value"),
                ));
            }
        }
        if let Some(cid) = req.client_msg_id.clone().filter(|s| !s.is_empty()) {
            let key = (touser.clone(), cid);
            if let Some((at, first)) = a.template_dedup.get(&key)
                && now - at < window
            {
                return Ok((None, touser, *first));
            }
            a.template_dedup.insert(key, (now, fresh_msgid));
        }
        let delivery = Delivery {
            channel: Channel::Oa,
            account: a.appid.clone(),
            agentid: None,
            msgtype: "template".into(),
            msgid: fresh_msgid.to_string(),
            content: Arc::new(body.clone()),
        };
        Ok((Some(delivery), touser, fresh_msgid))
    })?;
    if let Some(d) = delivery {
        sim.with_inbox(|ib| ib.deliver(&d, std::slice::from_ref(&touser), now));
        let original_id = sim.with_world(|w| {
            w.accounts
                .get(&d.account)
                .map(|a| a.original_id.clone())
                .unwrap_or_default()
        });
        sim.emit_template_finish(&d.account, &original_id, &touser, msgid);
    }
    Ok(json!({"errcode": 0, "errmsg": "ok", "msgid": msgid}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(v: Value) -> i64 {
        validate_menu(&v).map_or_else(|e| e.errcode, |()| 0)
    }

    #[test]
    fn menu_validation() {
        assert_eq!(
            code(json!({"button": [{"type": "click", "name": "今日歌曲", "key": "V1001"}]})),
            0
        );
        assert_eq!(code(json!({"button": []})), 40016);
        assert_eq!(code(json!({})), 40016);
        let four: Vec<Value> = (0..4)
            .map(|i| json!({"type": "click", "name": format!("b{i}"), "key": "k"}))
            .collect();
        assert_eq!(code(json!({"button": four})), 40016);
        // 6 CJK chars = 18 bytes > 16
        assert_eq!(
            code(json!({"button": [{"type": "click", "name": "六个汉字名字", "key": "k"}]})),
            40018
        );
        assert_eq!(
            code(json!({"button": [{"type": "clack", "name": "x", "key": "k"}]})),
            40017
        );
        assert_eq!(
            code(json!({"button": [{"type": "click", "name": "x"}]})),
            40019
        );
        assert_eq!(
            code(json!({"button": [{"type": "view", "name": "x"}]})),
            40020
        );
        let six: Vec<Value> = (0..6)
            .map(|i| json!({"type": "view", "name": format!("s{i}"), "url": "https://a.example"}))
            .collect();
        assert_eq!(
            code(json!({"button": [{"name": "菜单", "sub_button": six}]})),
            40023
        );
        let long_name = "长".repeat(21); // 63 bytes
        assert_eq!(
            code(
                json!({"button": [{"name": "菜单", "sub_button": [{"type": "click", "name": long_name, "key": "k"}]}]})
            ),
            40025
        );
        assert_eq!(
            code(
                json!({"button": [{"name": "菜单", "sub_button": [{"type": "nope", "name": "x"}]}]})
            ),
            40024
        );
        assert_eq!(
            code(
                json!({"button": [{"name": "菜单", "sub_button": [{"type": "click", "name": "x", "key": "k".repeat(129)}]}]})
            ),
            40026
        );
        assert_eq!(
            code(
                json!({"button": [{"name": "菜单", "sub_button": [{"type": "view", "name": "x", "url": "u".repeat(1025)}]}]})
            ),
            40027
        );
        assert_eq!(
            code(
                json!({"button": [{"name": "菜单", "sub_button": [{"name": "x", "sub_button": [{"type": "click", "name": "y", "key": "k"}]}]}]})
            ),
            40022
        );
        assert_eq!(
            code(
                json!({"button": [{"type": "miniprogram", "name": "x", "url": "https://a.example", "appid": "wx1"}]})
            ),
            47003
        );
        // "sub_button": [] on a leaf is accepted
        assert_eq!(
            code(json!({"button": [{"type": "click", "name": "x", "key": "k", "sub_button": []}]})),
            0
        );
    }
}
