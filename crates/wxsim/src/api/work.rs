//! qyapi.weixin.qq.com: WeCom tokens, departments and members (reference §4.1, §4.4, §4.6,
//! §4.7). Message endpoints are in [`super::message`].
//!
//! Rights: writes to the address book need the contacts-sync secret with read-write access;
//! anything else gets 48002 (assumption: the reference lists 48002 "API forbidden for this
//! token"). `user/list_id` needs the contacts-sync secret. App secrets see only their visible
//! scope (60011 outside it).

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Auth, Authed, Call, Endpoint, Handler, ok_with};
use crate::error::WxError;
use crate::state::corp::{ContactsAccess, Corp, Scope, SecretRef};
use crate::state::directory::{DepartmentPatch, MemberPatch, department_json};
use crate::state::tokens::Owner;
use crate::state::{SimState, World};

/// Largest `user/list_id` page.
pub const LIST_ID_MAX: usize = 10_000;

pub(crate) fn endpoint(path: &str) -> Option<Endpoint> {
    use super::message::{message_recall, message_send, update_template_card};
    let (post_only, auth, handler): (bool, Auth, Handler) = match path {
        "/cgi-bin/gettoken" => (false, Auth::CorpSecret, gettoken),
        "/cgi-bin/getcallbackip" | "/cgi-bin/get_api_domain_ip" => {
            (false, Auth::WorkToken, ip_list)
        }
        "/cgi-bin/agent/get" => (false, Auth::WorkToken, agent_get),
        "/cgi-bin/department/create" => (true, Auth::WorkToken, department_create),
        "/cgi-bin/department/update" => (true, Auth::WorkToken, department_update),
        "/cgi-bin/department/delete" => (false, Auth::WorkToken, department_delete),
        "/cgi-bin/department/list" => (false, Auth::WorkToken, department_list),
        "/cgi-bin/department/simplelist" => (false, Auth::WorkToken, department_simplelist),
        "/cgi-bin/department/get" => (false, Auth::WorkToken, department_get),
        "/cgi-bin/user/create" => (true, Auth::WorkToken, user_create),
        "/cgi-bin/user/update" => (true, Auth::WorkToken, user_update),
        "/cgi-bin/user/delete" => (false, Auth::WorkToken, user_delete),
        "/cgi-bin/user/get" => (false, Auth::WorkToken, user_get),
        "/cgi-bin/user/list" => (false, Auth::WorkToken, user_list),
        "/cgi-bin/user/simplelist" => (false, Auth::WorkToken, user_simplelist),
        "/cgi-bin/user/list_id" => (true, Auth::WorkToken, user_list_id),
        "/cgi-bin/message/send" => (true, Auth::WorkToken, message_send),
        "/cgi-bin/message/recall" => (true, Auth::WorkToken, message_recall),
        "/cgi-bin/message/update_template_card" => (true, Auth::WorkToken, update_template_card),
        _ => return None,
    };
    Some(Endpoint::new(post_only, auth, handler))
}

/// `GET /cgi-bin/gettoken`: the same token while valid, one per (corpid, secret).
fn gettoken(sim: &SimState, call: &Call, _: &Authed) -> Result<Value, WxError> {
    let corpid = call.param("corpid").ok_or_else(|| WxError::work(41002))?;
    let secret = call
        .param("corpsecret")
        .ok_or_else(|| WxError::work(41004))?;
    let now = sim.now();
    let policy = sim.options().token_policy();
    sim.with_world(|w| {
        let corp = w.corps.get(corpid).ok_or_else(|| WxError::work(40013))?;
        let Some(secret_ref) = corp.secret_ref(secret) else {
            // A secret of another corp is 40091; anything else 40001 (reference §4.1).
            let elsewhere = w.corps.values().any(|c| c.secret_ref(secret).is_some());
            return Err(WxError::work(if elsewhere { 40091 } else { 40001 }));
        };
        if let SecretRef::App(agentid) = secret_ref
            && corp.apps.get(&agentid).is_some_and(|a| !a.enabled)
        {
            return Err(WxError::work(50003));
        }
        let owner = Owner::Corp {
            corpid: corpid.to_owned(),
            secret: secret_ref,
        };
        let t = w.tokens.work(&owner, now, &policy);
        Ok(ok_with(
            "ok",
            json!({"access_token": t.token, "expires_in": t.expires_at - now}),
        ))
    })
}

fn ip_list(_: &SimState, _: &Call, _: &Authed) -> Result<Value, WxError> {
    Ok(ok_with(
        "ok",
        json!({"ip_list": ["182.254.11.176", "182.254.78.66"]}),
    ))
}

/// The corp and secret behind a WeCom token.
pub(crate) fn corp_of<'a>(
    w: &'a mut World,
    authed: &Authed,
) -> Result<(&'a mut Corp, SecretRef), WxError> {
    match &authed.owner {
        Some(Owner::Corp { corpid, secret }) => w
            .corps
            .get_mut(corpid)
            .map(|c| (c, *secret))
            .ok_or_else(|| WxError::work(40014)),
        _ => Err(WxError::work(40014)),
    }
}

fn require_write(corp: &Corp, secret: SecretRef) -> Result<(), WxError> {
    let writable = secret == SecretRef::Contacts
        && corp
            .contacts
            .as_ref()
            .is_some_and(|c| c.access == ContactsAccess::ReadWrite);
    if writable {
        Ok(())
    } else {
        Err(WxError::new(
            48002,
            "api forbidden, contacts write needs a read-write contacts-sync secret",
        ))
    }
}

fn sensitive_fields(corp: &Corp, secret: SecretRef) -> bool {
    match secret {
        SecretRef::Contacts => true,
        SecretRef::App(id) => corp
            .apps
            .get(&id)
            .is_some_and(|a| a.legacy_sensitive_fields),
    }
}

fn parse_id(call: &Call, key: &str, missing: i64) -> Result<u32, WxError> {
    call.param(key)
        .ok_or_else(|| WxError::work(missing))?
        .trim()
        .parse()
        .map_err(|_| WxError::work(60123))
}

fn visible_department(corp: &Corp, scope: &Scope, id: u32) -> Result<(), WxError> {
    if corp.directory.department(id).is_none() {
        return Err(WxError::work(60003));
    }
    if !scope.department_visible(id) {
        return Err(WxError::work(60011));
    }
    Ok(())
}

/// `GET /cgi-bin/agent/get?agentid=`: an app token may read its own app.
fn agent_get(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let agentid = parse_id(call, "agentid", 41011).map_err(|_| WxError::work(40056))?;
    sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        let app = corp
            .apps
            .get(&agentid)
            .ok_or_else(|| WxError::work(40056))?;
        if secret != SecretRef::App(agentid) {
            return Err(WxError::work(301002));
        }
        let users: Vec<Value> = app
            .visible
            .users
            .iter()
            .map(|u| json!({"userid": u}))
            .collect();
        Ok(ok_with(
            "ok",
            json!({
                "agentid": app.agentid,
                "name": app.name,
                "square_logo_url": "",
                "description": app.description,
                "allow_userinfos": {"user": users},
                "allow_partys": {"partyid": app.visible.departments},
                "allow_tags": {"tagid": app.visible.tags},
                "close": u8::from(!app.enabled),
                "redirect_domain": "",
                "report_location_flag": 0,
                "isreportenter": 0,
                "home_url": "",
            }),
        ))
    })
}

fn department_create(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let patch: DepartmentPatch = call.json(sim)?;
    let (corpid, id) = sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        require_write(corp, secret)?;
        let id = corp.directory.create_department(patch)?;
        Ok::<_, WxError>((corp.corpid.clone(), id))
    })?;
    sim.emit_party_change(&corpid, "create_party", id);
    Ok(ok_with("created", json!({"id": id})))
}

fn department_update(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let patch: DepartmentPatch = call.json(sim)?;
    let id = patch.id.unwrap_or(0);
    let corpid = sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        require_write(corp, secret)?;
        corp.directory.update_department(patch)?;
        Ok::<_, WxError>(corp.corpid.clone())
    })?;
    sim.emit_party_change(&corpid, "update_party", id);
    Ok(ok_with("updated", json!({})))
}

fn department_delete(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let id = parse_id(call, "id", 60123)?;
    let corpid = sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        require_write(corp, secret)?;
        corp.directory.delete_department(id)?;
        Ok::<_, WxError>(corp.corpid.clone())
    })?;
    sim.emit_contact_change(&corpid, "delete_party", vec![("Id", id.to_string())]);
    Ok(ok_with("deleted", json!({})))
}

/// Departments visible to the token: the subtree of `?id=` or everything visible.
fn visible_departments(corp: &Corp, secret: SecretRef, call: &Call) -> Result<Vec<u32>, WxError> {
    let scope = corp.scope(secret);
    let root = match call.param("id") {
        Some(_) => {
            let id = parse_id(call, "id", 60123)?;
            visible_department(corp, &scope, id)?;
            id
        }
        None => 1,
    };
    Ok(corp
        .directory
        .subtree(root)
        .into_iter()
        .filter(|d| scope.department_visible(*d))
        .collect())
}

fn department_list(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        let ids = visible_departments(corp, secret, call)?;
        let list: Vec<Value> = ids
            .iter()
            .filter_map(|id| corp.directory.department(*id))
            .map(department_json)
            .collect();
        Ok(ok_with("ok", json!({"department": list})))
    })
}

fn department_simplelist(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        let ids = visible_departments(corp, secret, call)?;
        let list: Vec<Value> = ids
            .iter()
            .filter_map(|id| corp.directory.department(*id))
            .map(|d| json!({"id": d.id, "parentid": d.parentid, "order": d.order}))
            .collect();
        Ok(ok_with("ok", json!({"department_id": list})))
    })
}

fn department_get(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let id = parse_id(call, "id", 60123)?;
    sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        visible_department(corp, &corp.scope(secret), id)?;
        let d = corp
            .directory
            .department(id)
            .ok_or_else(|| WxError::work(60003))?;
        Ok(ok_with("ok", json!({"department": department_json(d)})))
    })
}

fn user_create(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let patch: MemberPatch = call.json(sim)?;
    let userid = patch.userid.clone().unwrap_or_default();
    let corpid = sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        require_write(corp, secret)?;
        corp.directory.create_member(patch)?;
        Ok::<_, WxError>(corp.corpid.clone())
    })?;
    sim.emit_member_change(&corpid, "create_user", &userid, None);
    Ok(ok_with("created", json!({})))
}

fn user_update(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let body: Value = call.json(sim)?;
    let patch: MemberPatch = serde_json::from_value(body.clone()).map_err(|e| {
        WxError::new(
            47001,
            format!("data format error, Warning: wrong json format. {e}"),
        )
    })?;
    let userid = patch.userid.clone().unwrap_or_default();
    let corpid = sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        require_write(corp, secret)?;
        corp.directory.update_member(patch)?;
        Ok::<_, WxError>(corp.corpid.clone())
    })?;
    sim.emit_member_change(&corpid, "update_user", &userid, body.as_object());
    Ok(ok_with("updated", json!({})))
}

fn user_delete(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let userid = call.param("userid").ok_or_else(|| WxError::work(41009))?;
    let corpid = sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        require_write(corp, secret)?;
        corp.directory.delete_member(userid)?;
        Ok::<_, WxError>(corp.corpid.clone())
    })?;
    sim.emit_contact_change(&corpid, "delete_user", vec![("UserID", userid.to_owned())]);
    Ok(ok_with("deleted", json!({})))
}

fn user_get(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let userid = call.param("userid").ok_or_else(|| WxError::work(41009))?;
    sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        let m = corp
            .directory
            .member(userid)
            .ok_or_else(|| WxError::work(60111))?;
        if !corp.scope(secret).member_visible(m) {
            return Err(WxError::work(60011));
        }
        Ok(ok_with("ok", m.to_json(sensitive_fields(corp, secret))))
    })
}

/// Members of `?department_id=` (with `fetch_child=1`, its subtree): full `user/get`
/// objects or the simple `{userid, name, department}` form.
fn members_of(sim: &SimState, call: &Call, authed: &Authed, full: bool) -> Result<Value, WxError> {
    let dept = parse_id(call, "department_id", 60123)?;
    let recursive = call.param("fetch_child") == Some("1");
    sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        let scope = corp.scope(secret);
        visible_department(corp, &scope, dept)?;
        let sensitive = sensitive_fields(corp, secret);
        let list: Vec<Value> = corp
            .directory
            .members_in(dept, recursive)
            .into_iter()
            .filter(|m| scope.member_visible(m))
            .map(|m| {
                if full {
                    m.to_json(sensitive)
                } else {
                    json!({"userid": m.userid, "name": m.name, "department": m.department})
                }
            })
            .collect();
        Ok(ok_with("ok", json!({"userlist": list})))
    })
}

fn user_list(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    members_of(sim, call, authed, true)
}

fn user_simplelist(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    members_of(sim, call, authed, false)
}

#[derive(Debug, Default, Deserialize)]
struct ListIdRequest {
    #[serde(default)]
    cursor: String,
    #[serde(default)]
    limit: Option<u64>,
}

/// `POST /cgi-bin/user/list_id`: one row per (member, department), cursor paged.
fn user_list_id(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let req: ListIdRequest = call.json_or_empty(sim)?;
    let limit = match req.limit {
        None | Some(0) => LIST_ID_MAX,
        Some(n) if n > LIST_ID_MAX as u64 => {
            return Err(WxError::new(
                40058,
                "invalid parameter, limit must be 1..10000",
            ));
        }
        Some(n) => usize::try_from(n).unwrap_or(LIST_ID_MAX),
    };
    sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        if secret != SecretRef::Contacts {
            return Err(WxError::new(
                48002,
                "api forbidden, user/list_id needs the contacts-sync secret",
            ));
        }
        let (rows, next) = corp.directory.list_id(&req.cursor, limit)?;
        let rows: Vec<Value> = rows
            .into_iter()
            .map(|(userid, department)| json!({"userid": userid, "department": department}))
            .collect();
        Ok(ok_with(
            "ok",
            json!({"next_cursor": next, "dept_user": rows}),
        ))
    })
}
