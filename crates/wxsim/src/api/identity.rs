//! qyapi: identity (`auth/getuserinfo`, `auth/getuserdetail`, legacy `user/getuserinfo`;
//! reference §4.9) and JS-SDK tickets (§4.10).

use serde::Deserialize;
use serde_json::{Value, json};

use super::work::corp_of;
use super::{Auth, Authed, Call, Endpoint, Handler, ok_with};
use crate::error::WxError;
use crate::state::corp::SecretRef;
use crate::state::identity::{CodeSubject, UserTicket};
use crate::state::{SimState, World};
use crate::util::random_token;

/// user_ticket lifetime.
pub const USER_TICKET_TTL_SECS: i64 = 1800;

pub(crate) fn endpoint(path: &str) -> Option<Endpoint> {
    let (post_only, auth, handler): (bool, Auth, Handler) = match path {
        "/cgi-bin/auth/getuserinfo" => (false, Auth::WorkToken, getuserinfo),
        "/cgi-bin/user/getuserinfo" => (false, Auth::WorkToken, getuserinfo_legacy),
        "/cgi-bin/auth/getuserdetail" | "/cgi-bin/user/getuserdetail" => {
            (true, Auth::WorkToken, getuserdetail)
        }
        "/cgi-bin/get_jsapi_ticket" => (false, Auth::WorkToken, corp_ticket),
        "/cgi-bin/ticket/get" => (false, Auth::WorkToken, agent_ticket),
        _ => return None,
    };
    Some(Endpoint::new(post_only, auth, handler))
}

/// A redeemed member code (in-app OAuth, web login): the corp, the member and the
/// user_ticket the code carried, if any.
pub(crate) struct MemberLogin {
    pub corpid: String,
    pub userid: String,
    pub ticket: Option<String>,
}

/// Redeems a member code (`CodeSubject::Work`) that `accept` allows (40029 otherwise, also
/// for used and expired codes). A user_ticket (1800 s) is issued when the member consented
/// to `snsapi_privateinfo` and `ticket_for(agentid)` holds for the code's app.
pub(crate) fn redeem_member_code(
    w: &mut World,
    code: &str,
    now: i64,
    accept: impl Fn(&CodeSubject) -> bool,
    ticket_for: impl Fn(u32) -> bool,
) -> Result<MemberLogin, WxError> {
    let c = w
        .identity
        .redeem(code, now, |s| {
            matches!(s, CodeSubject::Work { .. }) && accept(s)
        })
        .map_err(|_| WxError::new(40029, "invalid code"))?;
    let CodeSubject::Work {
        corpid,
        agentid,
        userid,
        ticket,
        ..
    } = c.subject
    else {
        return Err(WxError::new(40029, "invalid code"));
    };
    let ticket = match agentid {
        Some(agentid) if ticket && ticket_for(agentid) => {
            let t = random_token(64).replace(['-', '_'], "x");
            w.identity.user_tickets.insert(
                t.clone(),
                UserTicket {
                    corpid: corpid.clone(),
                    agentid,
                    userid: userid.clone(),
                    expires_at: now + USER_TICKET_TTL_SECS,
                },
            );
            Some(t)
        }
        _ => None,
    };
    Ok(MemberLogin {
        corpid,
        userid,
        ticket,
    })
}

/// Redeems a code for the token's corp: (userid, user_ticket). The ticket needs the token
/// of the app the member consented to.
fn redeem(
    sim: &SimState,
    call: &Call,
    authed: &Authed,
) -> Result<(String, Option<String>), WxError> {
    let code = call
        .param("code")
        .ok_or_else(|| WxError::new(41008, "missing code"))?;
    let now = sim.now();
    sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        let corpid = corp.corpid.clone();
        let login = redeem_member_code(
            w,
            code,
            now,
            |s| matches!(s, CodeSubject::Work { corpid: c, suite_id: None, .. } if *c == corpid),
            |agentid| secret == SecretRef::App(agentid),
        )?;
        Ok((login.userid, login.ticket))
    })
}

/// `user_ticket` and `expires_in` added to an answer when a ticket was issued.
pub(crate) fn with_ticket(mut v: Value, ticket: Option<String>) -> Value {
    if let (Some(t), Some(o)) = (ticket, v.as_object_mut()) {
        o.insert("user_ticket".into(), json!(t));
        o.insert("expires_in".into(), json!(USER_TICKET_TTL_SECS));
    }
    v
}

/// `GET /cgi-bin/auth/getuserinfo`: `userid` (+ `user_ticket` for snsapi_privateinfo with
/// consent, member in scope, token of the same app).
fn getuserinfo(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let (userid, ticket) = redeem(sim, call, authed)?;
    Ok(with_ticket(
        ok_with("ok", json!({"userid": userid})),
        ticket,
    ))
}

/// Legacy `GET /cgi-bin/user/getuserinfo`: capitalised `UserId`, `DeviceId` (§7 row 13).
fn getuserinfo_legacy(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let (userid, ticket) = redeem(sim, call, authed)?;
    Ok(with_ticket(
        ok_with("ok", json!({"UserId": userid, "DeviceId": ""})),
        ticket,
    ))
}

#[derive(Debug, Deserialize)]
struct DetailRequest {
    #[serde(default)]
    user_ticket: String,
}

/// `POST /cgi-bin/auth/getuserdetail`: the sensitive fields, with consent (snsapi_privateinfo)
/// — also for apps created after 2022-06-20, which get none of them from `user/get`.
fn getuserdetail(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let req: DetailRequest = call.json(sim)?;
    let now = sim.now();
    sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        let corpid = corp.corpid.clone();
        let t = user_ticket(w, &req.user_ticket, now, |t| {
            t.corpid == corpid && secret == SecretRef::App(t.agentid)
        })?;
        let (corp, _) = corp_of(w, authed)?;
        let m = corp
            .directory
            .member(&t.userid)
            .ok_or_else(|| WxError::work(60111))?;
        Ok(ok_with(
            "ok",
            json!({
                "userid": m.userid,
                "gender": m.gender,
                "avatar": m.avatar,
                "qr_code": qr_code(&m.userid),
                "mobile": m.mobile,
                "email": m.email,
                "biz_mail": m.biz_mail,
                "address": m.address,
            }),
        ))
    })
}

/// A member's QR code URL (`getuserdetail`, `getuserdetail3rd`).
pub(crate) fn qr_code(userid: &str) -> String {
    format!("https://open.work.weixin.qq.com/wwopen/userQRCode?vcode=wxsim{userid}")
}

/// A user_ticket that `owned` accepts (84015 otherwise, also when unknown), unexpired (84014).
pub(crate) fn user_ticket(
    w: &World,
    ticket: &str,
    now: i64,
    owned: impl Fn(&UserTicket) -> bool,
) -> Result<UserTicket, WxError> {
    let t = w
        .identity
        .user_tickets
        .get(ticket)
        .filter(|t| owned(t))
        .cloned()
        .ok_or_else(|| WxError::new(84015, "invalid user ticket"))?;
    if now >= t.expires_at {
        return Err(WxError::new(84014, "user ticket expired"));
    }
    Ok(t)
}

/// `GET /cgi-bin/get_jsapi_ticket`: the corp ticket (`wx.config`).
fn corp_ticket(sim: &SimState, _: &Call, authed: &Authed) -> Result<Value, WxError> {
    let now = sim.now();
    sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        if secret == SecretRef::Contacts {
            return Err(WxError::work(48002));
        }
        let owner = corp.corpid.clone();
        let (ticket, exp) = w.identity.js_ticket(&owner, "jsapi", now);
        Ok(ok_with(
            "ok",
            json!({"ticket": ticket, "expires_in": exp - now}),
        ))
    })
}

/// `GET /cgi-bin/ticket/get?type=agent_config`: the app ticket (`wx.agentConfig`).
fn agent_ticket(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    if call.param("type") != Some("agent_config") {
        return Err(WxError::new(91040, "invalid ticket type"));
    }
    let now = sim.now();
    sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        let SecretRef::App(agentid) = secret else {
            return Err(WxError::work(48002));
        };
        let owner = format!("{}/{agentid}", corp.corpid);
        let (ticket, exp) = w.identity.js_ticket(&owner, "agent_config", now);
        Ok(ok_with(
            "ok",
            json!({"ticket": ticket, "expires_in": exp - now}),
        ))
    })
}
