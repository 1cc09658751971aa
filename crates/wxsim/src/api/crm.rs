//! qyapi: check-in data (reference §4.13) and customer contacts (§4.14).

use serde::Deserialize;
use serde_json::{Value, json};

use super::work::corp_of;
use super::{Auth, Authed, Call, Endpoint, Handler, ok_with};
use crate::error::WxError;
use crate::state::SimState;
use crate::state::corp::{Corp, SecretRef};
use crate::state::crm::{CheckinRecord, DayReportMember, day_reports, generated_checkins};

pub(crate) fn endpoint(path: &str) -> Option<Endpoint> {
    let (post_only, auth, handler): (bool, Auth, Handler) = match path {
        "/cgi-bin/checkin/getcheckindata" => (true, Auth::WorkToken, getcheckindata),
        "/cgi-bin/checkin/getcheckin_daydata" => (true, Auth::WorkToken, getcheckin_daydata),
        "/cgi-bin/externalcontact/get_follow_user_list" => {
            (false, Auth::WorkToken, follow_user_list)
        }
        "/cgi-bin/externalcontact/list" => (false, Auth::WorkToken, external_list),
        "/cgi-bin/externalcontact/get" => (false, Auth::WorkToken, external_get),
        "/cgi-bin/externalcontact/batch/get_by_user" => (true, Auth::WorkToken, batch_get_by_user),
        _ => return None,
    };
    Some(Endpoint::new(post_only, auth, handler))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct CheckinRequest {
    opencheckindatatype: i64,
    starttime: i64,
    endtime: i64,
    useridlist: Vec<String>,
}

impl CheckinRequest {
    /// 1..100 userids (301023); a range of at most 30 days (301024; assumed the same for the
    /// day reports).
    fn check(&self) -> Result<(), WxError> {
        if self.useridlist.is_empty() || self.useridlist.len() > 100 {
            return Err(WxError::new(
                301023,
                "useridlist invalid, 0 or more than 100",
            ));
        }
        if self.endtime < self.starttime || self.endtime - self.starttime > 30 * 86_400 {
            return Err(WxError::new(301024, "time range invalid"));
        }
        Ok(())
    }
}

/// Check-in APIs need an app with check-in permission (48002 otherwise).
fn require_checkin(corp: &Corp, secret: SecretRef) -> Result<(), WxError> {
    let allowed = match secret {
        SecretRef::App(a) => corp.apps.get(&a).is_some_and(|a| a.checkin),
        SecretRef::Contacts => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(WxError::new(48002, "api forbidden, no check-in permission"))
    }
}

/// A member's records in `start..=end`: the seeded ones, or generated ones when the member
/// has none and the corp generates check-ins.
fn member_records(corp: &Corp, userid: &str, start: i64, end: i64) -> Vec<CheckinRecord> {
    let mut own = corp
        .checkins
        .iter()
        .filter(|r| r.userid.eq_ignore_ascii_case(userid))
        .peekable();
    if own.peek().is_none() && corp.generate_checkins {
        return generated_checkins(userid, start, end);
    }
    own.filter(|r| r.checkin_time >= start && r.checkin_time <= end)
        .cloned()
        .collect()
}

/// `POST /cgi-bin/checkin/getcheckindata`: the records of each known member.
fn getcheckindata(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let req: CheckinRequest = call.json(sim)?;
    req.check()?;
    sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        require_checkin(corp, secret)?;
        let mut rows = Vec::new();
        for m in req
            .useridlist
            .iter()
            .filter_map(|u| corp.directory.member(u))
        {
            rows.extend(
                member_records(corp, &m.userid, req.starttime, req.endtime)
                    .into_iter()
                    .filter(|r| match req.opencheckindatatype {
                        1 => r.is_duty(),
                        2 => !r.is_duty(),
                        _ => true,
                    })
                    .map(|r| r.to_json()),
            );
        }
        Ok(ok_with("ok", json!({"checkindata": rows})))
    })
}

/// `POST /cgi-bin/checkin/getcheckin_daydata`: one report per known member and Beijing day,
/// computed from the same records `getcheckindata` returns.
fn getcheckin_daydata(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let req: CheckinRequest = call.json(sim)?;
    req.check()?;
    sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        require_checkin(corp, secret)?;
        let mut datas = Vec::new();
        for m in req
            .useridlist
            .iter()
            .filter_map(|u| corp.directory.member(u))
        {
            let departs_name = m
                .department
                .iter()
                .filter_map(|d| corp.directory.department(*d))
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(";");
            let member = DayReportMember {
                userid: &m.userid,
                name: &m.name,
                alias: &m.alias,
                departs_name: &departs_name,
            };
            let records = member_records(corp, &m.userid, req.starttime, req.endtime);
            datas.extend(day_reports(member, &records, req.starttime, req.endtime));
        }
        Ok(ok_with("ok", json!({"datas": datas})))
    })
}

fn require_external(corp: &Corp, secret: SecretRef) -> Result<(), WxError> {
    let ok = match secret {
        SecretRef::App(a) => corp.apps.get(&a).is_some_and(|a| a.external_contact),
        SecretRef::Contacts => false,
    };
    if ok {
        Ok(())
    } else {
        Err(WxError::new(84074, "no external contact permission"))
    }
}

/// `GET /cgi-bin/externalcontact/get_follow_user_list`.
fn follow_user_list(sim: &SimState, _: &Call, authed: &Authed) -> Result<Value, WxError> {
    sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        require_external(corp, secret)?;
        let mut users: Vec<String> = corp
            .external_contacts
            .values()
            .flat_map(|c| c.follow_user.iter().map(|f| f.userid.clone()))
            .collect();
        users.sort();
        users.dedup();
        Ok(ok_with("ok", json!({"follow_user": users})))
    })
}

/// `GET /cgi-bin/externalcontact/list?userid=`.
fn external_list(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let userid = call.param("userid").ok_or_else(|| WxError::work(41009))?;
    sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        require_external(corp, secret)?;
        if corp.directory.member(userid).is_none() {
            return Err(WxError::work(60111));
        }
        let ids: Vec<&String> = corp
            .external_contacts
            .values()
            .filter(|c| c.followed_by(userid).is_some())
            .map(|c| &c.external_userid)
            .collect();
        if ids.is_empty() {
            return Err(WxError::new(84061, "not external contact"));
        }
        Ok(ok_with("ok", json!({"external_userid": ids})))
    })
}

/// `GET /cgi-bin/externalcontact/get?external_userid=`.
fn external_get(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let id = call
        .param("external_userid")
        .ok_or_else(|| WxError::new(40096, "invalid external userid"))?;
    sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        require_external(corp, secret)?;
        let c = corp
            .external_contacts
            .get(id)
            .ok_or_else(|| WxError::new(40096, "invalid external userid"))?;
        if c.follow_user.is_empty() {
            return Err(WxError::new(84061, "not external contact"));
        }
        let follow: Vec<Value> = c.follow_user.iter().map(|f| f.get_json()).collect();
        Ok(ok_with(
            "ok",
            json!({"external_contact": c.contact_json(), "follow_user": follow, "next_cursor": ""}),
        ))
    })
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct BatchRequest {
    userid_list: Vec<String>,
    cursor: String,
    limit: Option<u64>,
}

/// `POST /cgi-bin/externalcontact/batch/get_by_user`: one row per (customer, follower),
/// cursor = row offset.
fn batch_get_by_user(sim: &SimState, call: &Call, authed: &Authed) -> Result<Value, WxError> {
    let req: BatchRequest = call.json(sim)?;
    if req.userid_list.is_empty() || req.userid_list.len() > 100 {
        return Err(WxError::new(
            40058,
            "invalid parameter, userid_list size 1..100",
        ));
    }
    let limit = match req.limit {
        None => 50,
        Some(n) if (1..=100).contains(&n) => usize::try_from(n).unwrap_or(50),
        Some(_) => return Err(WxError::new(40058, "invalid parameter, limit 1..100")),
    };
    let start = if req.cursor.is_empty() {
        0
    } else {
        req.cursor
            .parse::<usize>()
            .map_err(|_| WxError::new(40058, "invalid cursor"))?
    };
    sim.with_world(|w| {
        let (corp, secret) = corp_of(w, authed)?;
        require_external(corp, secret)?;
        let mut rows = Vec::new();
        for user in &req.userid_list {
            for c in corp.external_contacts.values() {
                if let Some(f) = c.followed_by(user) {
                    rows.push(json!({"external_contact": c.contact_json(), "follow_info": f.batch_json()}));
                }
            }
        }
        let end = (start + limit).min(rows.len());
        let page: Vec<Value> = rows.get(start.min(rows.len())..end).unwrap_or(&[]).to_vec();
        let next = if end < rows.len() { end.to_string() } else { String::new() };
        Ok(ok_with(
            "ok",
            json!({"external_contact_list": page, "next_cursor": next, "fail_info": {"unlicensed_userid_list": []}}),
        ))
    })
}
