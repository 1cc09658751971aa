//! qyapi: third-party suites (reference §5): provider and suite tokens, pre-auth codes,
//! permanent codes, corp tokens, authorisation info.
//!
//! An authorisation creates an app inside the customer corp (agent id from the seed, the
//! permanent code as its secret, the whole corp visible), so the corp token obtained with
//! `get_corp_token` works on every simulated `/cgi-bin/...` endpoint, and `gettoken` with
//! the permanent code as secret works too (代开发 style).

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Auth, Authed, Call, Endpoint, Handler, ok_with};
use crate::error::WxError;
use crate::state::corp::{App, SecretRef, Visibility};
use crate::state::identity::CodeSubject;
use crate::state::suite::{AUTH_CODE_TTL_SECS, PRE_AUTH_TTL_SECS, SuiteAuth};
use crate::state::tokens::{Owner, TokenKind};
use crate::state::{SimState, World};
use crate::util::random_token;

pub(crate) fn endpoint(path: &str) -> Option<Endpoint> {
    let (post_only, auth, handler): (bool, Auth, Handler) = match path {
        "/cgi-bin/service/get_provider_token" => (true, Auth::ProviderBody, provider_token),
        "/cgi-bin/service/get_suite_token" => (true, Auth::SuiteBody, suite_token),
        "/cgi-bin/service/get_pre_auth_code" => (false, Auth::SuiteToken, pre_auth_code),
        "/cgi-bin/service/set_session_info" => (true, Auth::SuiteToken, set_session_info),
        "/cgi-bin/service/get_permanent_code" => (true, Auth::SuiteToken, permanent_code),
        "/cgi-bin/service/get_corp_token" => (true, Auth::SuiteToken, corp_token),
        "/cgi-bin/service/get_auth_info" => (true, Auth::SuiteToken, auth_info),
        _ => return None,
    };
    Some(Endpoint::new(post_only, auth, handler))
}

fn suite_of(authed: &Authed) -> Result<String, WxError> {
    match &authed.owner {
        Some(Owner::Suite { suite_id }) => Ok(suite_id.clone()),
        _ => Err(WxError::new(40082, "invalid suite_token")),
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ProviderRequest {
    corpid: String,
    provider_secret: String,
}

/// `POST /cgi-bin/service/get_provider_token`.
fn provider_token(sim: &SimState, call: &Call, _: &Authed) -> Result<Value, WxError> {
    let req: ProviderRequest = call.json(sim)?;
    let now = sim.now();
    let policy = sim.options().token_policy();
    sim.with_world(|w| {
        let suite = w
            .suites
            .values()
            .find(|s| s.seed.provider_corpid == req.corpid)
            .ok_or_else(|| WxError::work(40013))?;
        if suite.seed.provider_secret != req.provider_secret {
            return Err(WxError::work(40091));
        }
        let owner = Owner::Provider {
            corpid: req.corpid.clone(),
        };
        let t = w
            .tokens
            .stable_of_kind(&owner, TokenKind::Provider, now, &policy);
        Ok(json!({"provider_access_token": t.token, "expires_in": t.expires_at - now}))
    })
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct SuiteTokenRequest {
    suite_id: String,
    suite_secret: String,
    suite_ticket: String,
}

/// `POST /cgi-bin/service/get_suite_token`: needs a ticket pushed less than 30 min ago.
fn suite_token(sim: &SimState, call: &Call, _: &Authed) -> Result<Value, WxError> {
    let req: SuiteTokenRequest = call.json(sim)?;
    let now = sim.now();
    let policy = sim.options().token_policy();
    sim.with_world(|w| {
        let suite = w
            .suites
            .get(&req.suite_id)
            .ok_or_else(|| WxError::new(40083, "invalid suite_id"))?;
        if suite.seed.suite_secret != req.suite_secret {
            return Err(WxError::new(40080, "invalid suite_secret"));
        }
        if !suite.ticket_valid(&req.suite_ticket, now) {
            return Err(WxError::new(40085, "invalid suite_ticket"));
        }
        let owner = Owner::Suite {
            suite_id: req.suite_id.clone(),
        };
        let t = w
            .tokens
            .stable_of_kind(&owner, TokenKind::Suite, now, &policy);
        Ok(ok_with(
            "ok",
            json!({"suite_access_token": t.token, "expires_in": t.expires_at - now}),
        ))
    })
}

/// `GET /cgi-bin/service/get_pre_auth_code` (20 minutes).
fn pre_auth_code(sim: &SimState, _: &Call, authed: &Authed) -> Result<Value, WxError> {
    let suite_id = suite_of(authed)?;
    let now = sim.now();
    sim.with_world(|w| {
        let suite = w
            .suites
            .get_mut(&suite_id)
            .ok_or_else(|| WxError::new(40083, "invalid suite_id"))?;
        suite.pre_auth_codes.retain(|_, (exp, _)| *exp > now);
        let code = random_token(64).replace(['-', '_'], "x");
        suite
            .pre_auth_codes
            .insert(code.clone(), (now + PRE_AUTH_TTL_SECS, 0));
        Ok(ok_with(
            "ok",
            json!({"pre_auth_code": code, "expires_in": PRE_AUTH_TTL_SECS}),
        ))
    })
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct SessionInfoRequest {
    pre_auth_code: String,
    session_info: Value,
}

/// `POST /cgi-bin/service/set_session_info`: `auth_type` 1 = test authorisation.
fn set_session_info(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let req: SessionInfoRequest = call.json(sim)?;
    let suite_id = suite_of(authed)?;
    let now = sim.now();
    let auth_type = req
        .session_info
        .get("auth_type")
        .and_then(super::lenient_i64)
        .unwrap_or(0);
    sim.with_world(|w| {
        let suite = w
            .suites
            .get_mut(&suite_id)
            .ok_or_else(|| WxError::new(40083, "invalid suite_id"))?;
        let entry = suite
            .pre_auth_codes
            .get_mut(&req.pre_auth_code)
            .ok_or_else(|| WxError::new(40077, "invalid pre_auth_code"))?;
        if now >= entry.0 {
            return Err(WxError::new(42007, "pre_auth_code expired"));
        }
        entry.1 = u8::from(auth_type == 1);
        Ok(ok_with("ok", json!({})))
    })
}

fn corp_info(w: &World, corpid: &str) -> Value {
    let name = w
        .corps
        .get(corpid)
        .map(|c| c.name.clone())
        .unwrap_or_default();
    json!({
        "corpid": corpid,
        "corp_name": name,
        "corp_type": "verified",
        "corp_square_logo_url": "",
        "corp_user_max": 200,
        "corp_full_name": name,
        "subject_type": 1,
        "verified_end_time": 0,
        "corp_wxqrcode": "",
        "corp_scale": "1-50人",
        "corp_industry": "IT服务",
        "corp_sub_industry": "计算机软件/硬件/信息服务",
    })
}

fn agent_info(w: &World, suite_id: &str, auth: &SuiteAuth) -> Value {
    let name = w
        .suites
        .get(suite_id)
        .map(|s| s.seed.name.clone())
        .unwrap_or_default();
    json!({"agent": [{
        "agentid": auth.agentid,
        "name": name,
        "round_logo_url": "",
        "square_logo_url": "",
        "appid": 1,
        "auth_mode": 0,
        "is_customized_app": false,
        "auth_from_thirdapp": false,
        "privilege": {"level": 1, "allow_party": [1], "allow_user": [], "allow_tag": [],
                      "extra_party": [], "extra_user": [], "extra_tag": []},
    }]})
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct AuthCodeRequest {
    auth_code: String,
}

/// `POST /cgi-bin/service/get_permanent_code`: the auth_code (10 min, single use) from the
/// install redirect or the `create_auth` push.
fn permanent_code(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let req: AuthCodeRequest = call.json(sim)?;
    let suite_id = suite_of(authed)?;
    let now = sim.now();
    let policy = sim.options().token_policy();
    sim.with_world(|w| {
        let c = w
            .identity
            .redeem(&req.auth_code, now, |s| {
                matches!(s, CodeSubject::SuiteAuth { suite_id: s, .. } if *s == suite_id)
            })
            .map_err(|_| WxError::new(40078, "invalid auth_code"))?;
        let CodeSubject::SuiteAuth { corpid, .. } = c.subject else {
            return Err(WxError::new(40078, "invalid auth_code"));
        };
        let auth = w
            .suites
            .get(&suite_id)
            .and_then(|s| s.auths.get(&corpid))
            .cloned()
            .ok_or_else(|| WxError::new(48004, "authorization cancelled"))?;
        let owner = Owner::Corp {
            corpid: corpid.clone(),
            secret: SecretRef::App(auth.agentid),
        };
        let t = w.tokens.work(&owner, now, &policy);
        let installer_name = w
            .corps
            .get(&corpid)
            .and_then(|c| c.directory.member(&auth.installer))
            .map(|m| m.name.clone())
            .unwrap_or_default();
        Ok(ok_with(
            "ok",
            json!({
                "access_token": t.token,
                "expires_in": t.expires_at - now,
                "permanent_code": auth.permanent_code,
                "auth_corp_info": corp_info(w, &corpid),
                "auth_info": agent_info(w, &suite_id, &auth),
                "auth_user_info": {"userid": auth.installer, "open_userid": super::suite_identity::open_userid(&auth.installer), "name": installer_name, "avatar": ""},
                "state": auth.state,
            }),
        ))
    })
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct CorpRequest {
    auth_corpid: String,
    permanent_code: String,
}

fn find_auth(w: &World, suite_id: &str, req: &CorpRequest) -> Result<SuiteAuth, WxError> {
    let suite = w
        .suites
        .get(suite_id)
        .ok_or_else(|| WxError::new(40083, "invalid suite_id"))?;
    match suite.auths.get(&req.auth_corpid) {
        None => Err(WxError::new(48004, "authorization invalid or cancelled")),
        Some(a) if a.permanent_code != req.permanent_code => {
            Err(WxError::new(40084, "invalid permanent_code"))
        }
        Some(a) => Ok(a.clone()),
    }
}

/// `POST /cgi-bin/service/get_corp_token`.
fn corp_token(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let req: CorpRequest = call.json(sim)?;
    let suite_id = suite_of(authed)?;
    let now = sim.now();
    let policy = sim.options().token_policy();
    sim.with_world(|w| {
        let auth = find_auth(w, &suite_id, &req)?;
        let owner = Owner::Corp {
            corpid: req.auth_corpid.clone(),
            secret: SecretRef::App(auth.agentid),
        };
        let t = w.tokens.work(&owner, now, &policy);
        Ok(json!({"errcode": 0, "errmsg": "ok", "access_token": t.token, "expires_in": t.expires_at - now}))
    })
}

/// `POST /cgi-bin/service/get_auth_info`.
fn auth_info(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let req: CorpRequest = call.json(sim)?;
    let suite_id = suite_of(authed)?;
    sim.with_world(|w| {
        let auth = find_auth(w, &suite_id, &req)?;
        Ok(ok_with(
            "ok",
            json!({
                "auth_corp_info": corp_info(w, &req.auth_corpid),
                "auth_info": agent_info(w, &suite_id, &auth),
            }),
        ))
    })
}

/// A corp authorises a suite: the app appears in the corp, a permanent code is created
/// (kept on re-authorisation) and a fresh auth_code (10 min) is returned.
pub(crate) fn authorize(
    sim: &SimState,
    suite_id: &str,
    corpid: &str,
    installer: &str,
    state: &str,
    auth_type: u8,
) -> Result<String, WxError> {
    let now = sim.now();
    sim.with_world(|w| {
        let suite = w
            .suites
            .get(suite_id)
            .ok_or_else(|| WxError::new(40083, "invalid suite_id"))?;
        let seed = suite.seed.clone();
        let existing = suite.auths.get(corpid).cloned();
        let corp = w
            .corps
            .get_mut(corpid)
            .ok_or_else(|| WxError::work(40013))?;
        let auth = match existing {
            Some(a) => a,
            None => {
                let mut agentid = if seed.agentid == 0 {
                    1_000_100
                } else {
                    seed.agentid
                };
                while corp.apps.contains_key(&agentid) {
                    agentid += 1;
                }
                let permanent_code = random_token(43).replace(['-', '_'], "P");
                corp.apps.insert(
                    agentid,
                    App {
                        agentid,
                        secret: permanent_code.clone(),
                        name: seed.name.clone(),
                        description: format!("third-party app {suite_id}"),
                        visible: Visibility {
                            departments: vec![1],
                            ..Visibility::default()
                        },
                        redirect_domains: seed.redirect_domains.clone(),
                        suite_id: Some(suite_id.to_owned()),
                        ..App::default()
                    },
                );
                SuiteAuth {
                    corpid: corpid.to_owned(),
                    permanent_code,
                    agentid,
                    installer: installer.to_owned(),
                    installed_at: now,
                    state: state.to_owned(),
                    auth_type,
                }
            }
        };
        if let Some(s) = w.suites.get_mut(suite_id) {
            s.auths.insert(corpid.to_owned(), auth);
        }
        Ok(w.identity.issue(
            CodeSubject::SuiteAuth {
                suite_id: suite_id.to_owned(),
                corpid: corpid.to_owned(),
            },
            "",
            now,
            AUTH_CODE_TTL_SECS,
        ))
    })
}

/// The corp uninstalls the suite: app removed, permanent code and its tokens invalid.
pub(crate) fn cancel(sim: &SimState, suite_id: &str, corpid: &str) -> Result<(), WxError> {
    let now = sim.now();
    sim.with_world(|w| {
        let auth = w
            .suites
            .get_mut(suite_id)
            .and_then(|s| s.auths.remove(corpid))
            .ok_or_else(|| {
                WxError::new(48004, format!("{corpid} has not authorised {suite_id}"))
            })?;
        if let Some(c) = w.corps.get_mut(corpid) {
            c.apps.remove(&auth.agentid);
        }
        w.tokens.revoke(
            &Owner::Corp {
                corpid: corpid.to_owned(),
                secret: SecretRef::App(auth.agentid),
            },
            now,
        );
        Ok(())
    })
}
