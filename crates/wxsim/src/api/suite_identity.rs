//! qyapi: third-party identity (reference §5.7, §4.9.4): suite in-app OAuth and ServiceApp
//! web login (`service/auth/getuserinfo3rd`, `getuserdetail3rd`) and the provider website
//! login (`service/get_login_info`).
//!
//! The member codes are those of the corp's own apps (`CodeSubject::Work`) naming the app the
//! suite installed in the corp, so consent, visibility and single use behave the same; a
//! suite may redeem a code only for an app of its own.

use serde::Deserialize;
use serde_json::{Value, json};

use super::identity::{qr_code, redeem_member_code, user_ticket, with_ticket};
use super::{Auth, Authed, Call, Endpoint, Handler, ok_with};
use crate::error::WxError;
use crate::state::identity::CodeSubject;
use crate::state::tokens::Owner;
use crate::state::{SimState, World};

pub(crate) fn endpoint(path: &str) -> Option<Endpoint> {
    let (post_only, auth, handler): (bool, Auth, Handler) = match path {
        "/cgi-bin/service/auth/getuserinfo3rd" => (false, Auth::SuiteToken, getuserinfo3rd),
        "/cgi-bin/service/getuserinfo3rd" => (false, Auth::SuiteToken, getuserinfo3rd_legacy),
        "/cgi-bin/service/auth/getuserdetail3rd" | "/cgi-bin/service/getuserdetail3rd" => {
            (true, Auth::SuiteToken, getuserdetail3rd)
        }
        "/cgi-bin/service/get_login_info" => (true, Auth::ProviderToken, get_login_info),
        _ => return None,
    };
    Some(Endpoint::new(post_only, auth, handler))
}

/// The member's id as seen by a provider (also in `get_permanent_code`'s `auth_user_info`).
pub(crate) fn open_userid(userid: &str) -> String {
    format!("wo{userid}")
}

/// True when the app `agentid` of `corpid` was installed by `suite_id`.
fn suite_app(w: &World, suite_id: &str, corpid: &str, agentid: Option<u32>) -> bool {
    agentid
        .and_then(|a| w.corps.get(corpid)?.apps.get(&a))
        .is_some_and(|app| app.suite_id.as_deref() == Some(suite_id))
}

fn suite_id(authed: &Authed) -> Result<String, WxError> {
    match &authed.owner {
        Some(Owner::Suite { suite_id }) => Ok(suite_id.clone()),
        _ => Err(WxError::new(40082, "invalid suite_token")),
    }
}

/// Redeems a code of one of the suite's apps; the ticket comes with consent.
fn redeem(
    sim: &SimState,
    call: &Call,
    authed: &Authed,
) -> Result<super::identity::MemberLogin, WxError> {
    let code = call
        .param("code")
        .ok_or_else(|| WxError::new(41008, "missing code"))?;
    let suite_id = suite_id(authed)?;
    let now = sim.now();
    sim.with_world(|w| {
        // Issued by this suite's login, and its app is still installed in the corp.
        let ours = |s: &CodeSubject| {
            matches!(s, CodeSubject::Work { corpid, agentid, suite_id: Some(by), .. }
                if *by == suite_id && suite_app(w, &suite_id, corpid, *agentid))
        };
        let accepted = w.identity.code(code).is_some_and(|c| ours(&c.subject));
        redeem_member_code(w, code, now, |_| accepted, |_| true)
    })
}

/// `GET /cgi-bin/service/auth/getuserinfo3rd?suite_access_token=&code=`: `corpid`, `userid`,
/// `open_userid` (+ `user_ticket` with consent to `snsapi_privateinfo`).
fn getuserinfo3rd(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let login = redeem(sim, call, authed)?;
    let v = ok_with(
        "ok",
        json!({"corpid": login.corpid, "userid": login.userid, "open_userid": open_userid(&login.userid)}),
    );
    Ok(with_ticket(v, login.ticket))
}

/// Legacy `GET /cgi-bin/service/getuserinfo3rd`: capitalised `CorpId`, `UserId`, `DeviceId`.
fn getuserinfo3rd_legacy(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let login = redeem(sim, call, authed)?;
    let v = ok_with(
        "ok",
        json!({"CorpId": login.corpid, "UserId": login.userid, "DeviceId": "", "open_userid": open_userid(&login.userid)}),
    );
    Ok(with_ticket(v, login.ticket))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct DetailRequest {
    user_ticket: String,
}

/// `POST /cgi-bin/service/auth/getuserdetail3rd`: `corpid`, `userid`, `name` (the userid:
/// third parties get no real name), `gender`, `avatar`, `qr_code`; never mobile or e-mail.
fn getuserdetail3rd(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let req: DetailRequest = call.json(sim)?;
    let suite_id = suite_id(authed)?;
    let now = sim.now();
    sim.with_world(|w| {
        let t = user_ticket(w, &req.user_ticket, now, |t| {
            suite_app(w, &suite_id, &t.corpid, Some(t.agentid))
        })?;
        let m = w
            .corps
            .get(&t.corpid)
            .and_then(|c| c.directory.member(&t.userid))
            .ok_or_else(|| WxError::work(60111))?;
        Ok(ok_with(
            "ok",
            json!({
                "corpid": t.corpid,
                "userid": m.userid,
                "name": m.userid,
                "gender": m.gender,
                "avatar": m.avatar,
                "qr_code": qr_code(&m.userid),
            }),
        ))
    })
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct LoginInfoRequest {
    auth_code: String,
}

/// `POST /cgi-bin/service/get_login_info?access_token=PROVIDER_TOKEN`: who logged in to the
/// provider's website. The admin who installed one of the provider's suites is `usertype` 2
/// (system admin; the simulator knows no other admins) with manage rights on those apps and
/// the whole corp writable; anyone else `usertype` 5 (member) with use rights.
fn get_login_info(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let req: LoginInfoRequest = call.json(sim)?;
    let Some(Owner::Provider { corpid: provider }) = &authed.owner else {
        return Err(WxError::work(40014));
    };
    let now = sim.now();
    sim.with_world(|w| {
        let c = w
            .identity
            .redeem(&req.auth_code, now, |s| {
                matches!(s, CodeSubject::ProviderLogin { provider_corpid, .. } if provider_corpid == provider)
            })
            .map_err(|_| WxError::new(40029, "invalid code"))?;
        let CodeSubject::ProviderLogin {
            corpid,
            userid,
            admin,
            ..
        } = c.subject
        else {
            return Err(WxError::new(40029, "invalid code"));
        };
        let member = w
            .corps
            .get(&corpid)
            .and_then(|c| c.directory.member(&userid))
            .ok_or_else(|| WxError::work(60111))?;
        let agents: Vec<Value> = w
            .suites
            .values()
            .filter(|s| s.seed.provider_corpid == *provider)
            .filter_map(|s| s.auths.get(&corpid))
            .map(|a| json!({"agentid": a.agentid, "auth_type": u8::from(admin)}))
            .collect();
        let mut v = ok_with(
            "ok",
            json!({
                "usertype": if admin { 2 } else { 5 },
                "user_info": {"userid": member.userid, "open_userid": open_userid(&member.userid), "name": member.name, "avatar": member.avatar},
                "corp_info": {"corpid": corpid},
                "agent": agents,
            }),
        );
        if let (true, Some(o)) = (admin, v.as_object_mut()) {
            o.insert(
                "auth_info".into(),
                json!({"department": [{"id": 1, "writable": true}]}),
            );
        }
        Ok(v)
    })
}
