//! Browser pages of the `open` and `login` roles (reference §2.5, §4.9.1, §4.9.4, §5.5):
//!
//! - `GET /connect/oauth2/authorize` (open.weixin.qq.com): OA web authorisation
//!   (`appid` = OA AppID) and WeCom in-app OAuth (`appid` = CorpID);
//! - `GET /wwlogin/sso/login` and the legacy `GET /wwopen/sso/qrConnect`
//!   (login.work.weixin.qq.com / open.work.weixin.qq.com): WeCom web login (`CorpApp`, and
//!   `ServiceApp` for a suite, as its in-app OAuth with `appid` = suite id);
//! - `GET /wwopen/sso/3rd_qrConnect`: the provider website login (`get_login_info`);
//! - `GET /3rdapp/install` (open.work.weixin.qq.com): suite installation.
//!
//! Each renders an HTML page letting the tester choose who logs in (or which corp installs);
//! tests skip the page with `sim_user=<openid|userid>` (`sim_corp=<corpid>` for installs),
//! which redirects at once (`sim_deny=1`: the user refuses, no code; `sim_consent=0`: no
//! consent to `snsapi_privateinfo`). Errors are pages with an `X-Sim-Error: <code>` header.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::api::Call;
use crate::net::SimConn;
use crate::reqlog::RequestRecord;
use crate::role::Role;
use crate::state::SimState;
use crate::state::corp::SecretRef;
use crate::state::identity::CodeSubject;
use crate::util::html_escape;

/// A page error: a Tencent page code and its text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub(crate) struct PageError {
    code: i64,
    message: String,
}

fn perr(code: i64, message: impl Into<String>) -> PageError {
    PageError {
        code,
        message: message.into(),
    }
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{t}</title><style>body{{font-family:sans-serif;max-width:36em;margin:1em auto}}\
         a.u{{display:block;padding:.6em;margin:.3em 0;border:1px solid #ccc;border-radius:6px;text-decoration:none;color:#111}}\
         .hint{{color:#666;font-size:.85em}}</style></head><body><h1>{t}</h1>{body}</body></html>",
        t = html_escape(title)
    )
}

fn error_page(e: &PageError) -> Response {
    let html = page(
        "wxsim",
        &format!(
            "<p>errcode {}: {}</p><p class=\"hint\">Simulated Tencent error page.</p>",
            e.code,
            html_escape(&e.message)
        ),
    );
    let mut resp = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&e.code.to_string()) {
        resp.headers_mut().insert("X-Sim-Error", v);
    }
    resp
}

fn html(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn redirect(location: &str) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// `redirect_uri` with extra query parameters (before any fragment).
pub(crate) fn add_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let (base, frag) = match uri.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (uri, None),
    };
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut out = format!("{base}{sep}{}", q.finish());
    if let Some(f) = frag {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Checks `redirect_uri` against trusted domains (`host[:port][/path]` entries; empty list =
/// any) and, when `strict`, Tencent's rules: no IP address, no port.
pub(crate) fn check_redirect(
    redirect_uri: &str,
    domains: &[String],
    strict: bool,
    code: i64,
) -> Result<(), PageError> {
    let url = url::Url::parse(redirect_uri)
        .map_err(|_| perr(code, format!("redirect_uri {redirect_uri:?} is not a URL")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(perr(code, "redirect_uri must be http(s)"));
    }
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    let hostport = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    if strict {
        if matches!(url.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_))) {
            return Err(perr(
                code,
                "redirect_uri 参数错误: IP addresses are not allowed",
            ));
        }
        if url.port().is_some() {
            return Err(perr(code, "redirect_uri 参数错误: ports are not allowed"));
        }
    }
    if domains.is_empty() {
        return Ok(());
    }
    let path = url.path();
    let ok = domains.iter().any(|d| {
        let d = d
            .trim()
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        let (dhost, dpath) = match d.split_once('/') {
            Some((h, p)) => (h, Some(p.trim_end_matches('/'))),
            None => (d, None),
        };
        dhost.eq_ignore_ascii_case(&hostport)
            && dpath.is_none_or(|p| p.is_empty() || path.starts_with(&format!("/{p}")))
    });
    if ok {
        Ok(())
    } else {
        Err(perr(
            code,
            format!("redirect_uri 域名与后台配置不一致: {hostport} is not in {domains:?}"),
        ))
    }
}

/// Entry point for the `open` and `login` roles.
pub(crate) async fn handle(sim: &Arc<SimState>, call: &Call, conn: Option<&SimConn>) -> Response {
    let now = sim.now();
    let credential = call
        .param("appid")
        .or_else(|| call.param("suite_id"))
        .map(str::to_owned);
    let hit = sim.with_faults(|f| f.apply(call.role, &call.path, credential.as_deref(), now));
    if hit.delay_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(hit.delay_ms)).await;
    }
    let log = |errcode: Option<i64>, status: u16, injected: bool| {
        sim.log_request(RequestRecord {
            seq: 0,
            at_ms: sim.clock().now_ms(),
            role: call.role,
            method: call.method.to_string(),
            path: call.path.clone(),
            credential: credential.clone(),
            errcode,
            http_status: status,
            injected,
            ip: call.ip.to_string(),
        });
    };
    if hit.drop_connection {
        log(None, 499, true);
        return crate::api::dropped(conn);
    }
    if let Some(status) = hit.http_status {
        log(None, status, true);
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (status, "wxsim injected fault").into_response();
    }
    let result = match (call.role, call.path.as_str()) {
        (Role::Open, "/connect/oauth2/authorize") => oauth_authorize(sim, call),
        (Role::Login, "/wwlogin/sso/login" | "/wwopen/sso/qrConnect") => web_login(sim, call),
        (Role::Login, "/3rdapp/install") => install(sim, call),
        (Role::Login, "/wwopen/sso/3rd_qrConnect") => provider_login(sim, call),
        _ => Err(perr(404, format!("wxsim: {} is not simulated", call.path))),
    };
    match result {
        Ok(resp) => {
            log(Some(0), resp.status().as_u16(), false);
            resp
        }
        Err(e) => {
            log(Some(e.code), 200, false);
            error_page(&e)
        }
    }
}

/// The current page's query plus one more parameter, as a relative link.
fn link(q: &HashMap<String, String>, extra: &[(&str, &str)]) -> String {
    // Earlier choices (`sim_corp`) stay; the ones this link makes are replaced.
    let mut keys: Vec<&String> = q
        .keys()
        .filter(|k| !extra.iter().any(|(e, _)| e == k))
        .collect();
    keys.sort();
    let mut s = form_urlencoded::Serializer::new(String::new());
    for k in keys {
        s.append_pair(k, &q[k]);
    }
    for (k, v) in extra {
        s.append_pair(k, v);
    }
    format!("?{}", s.finish())
}

fn check_state(call: &Call, wecom: bool) -> Result<String, PageError> {
    let state = call.query.get("state").cloned().unwrap_or_default();
    if state.len() > 128 || (wecom && !state.chars().all(|c| c.is_ascii_alphanumeric())) {
        return Err(perr(if wecom { 84025 } else { 10013 }, "invalid state"));
    }
    Ok(state)
}

/// `open.weixin.qq.com/connect/oauth2/authorize`.
fn oauth_authorize(sim: &SimState, call: &Call) -> Result<Response, PageError> {
    let appid = call
        .param("appid")
        .ok_or_else(|| perr(10012, "appid 参数为空"))?;
    let redirect_uri = call
        .param("redirect_uri")
        .ok_or_else(|| perr(10011, "redirect_uri 参数为空"))?;
    if call.param("response_type") != Some("code") {
        return Err(perr(10003, "response_type must be code"));
    }
    let scope = call
        .param("scope")
        .ok_or_else(|| perr(10010, "scope 参数为空"))?;
    let strict = sim.options().strict_redirect_domains;
    let ttl = sim.options().code_ttl_secs;
    let now = sim.now();
    let is_oa = sim.with_world(|w| w.accounts.contains_key(appid));
    if is_oa {
        let state = check_state(call, false)?;
        if !matches!(scope, "snsapi_base" | "snsapi_userinfo") {
            return Err(perr(10005, "scope 参数错误或没有 scope 权限"));
        }
        let (domains, fans) = sim.with_world(|w| {
            let Some(a) = w.accounts.get(appid) else {
                return (Vec::new(), Vec::new());
            };
            let mut fans: Vec<(String, String, bool)> = a
                .fans()
                .map(|f| (f.openid.clone(), f.nickname.clone(), f.subscribe))
                .collect();
            fans.sort();
            (a.redirect_domains.clone(), fans)
        });
        check_redirect(redirect_uri, &domains, strict, 10003)?;
        if let Some(user) = call.param("sim_user") {
            if call.param("sim_deny") == Some("1") {
                return Ok(redirect(&add_query(redirect_uri, &[("state", &state)])));
            }
            if !fans.iter().any(|(o, _, _)| o == user) {
                return Err(perr(
                    40003,
                    format!("wxsim: {user} is not a fan of {appid}"),
                ));
            }
            let code = sim.with_world(|w| {
                w.identity.issue(
                    CodeSubject::Oa {
                        appid: appid.to_owned(),
                        openid: user.to_owned(),
                    },
                    scope,
                    now,
                    ttl,
                )
            });
            return Ok(redirect(&add_query(
                redirect_uri,
                &[("code", &code), ("state", &state)],
            )));
        }
        let mut body = format!(
            "<p>{} 请求{}（{}）</p><p class=\"hint\">Choose the WeChat user who opens the link.</p>",
            html_escape(appid),
            if scope == "snsapi_userinfo" {
                "获取你的昵称、头像"
            } else {
                "获取你的身份"
            },
            html_escape(scope)
        );
        for (openid, nick, subscribed) in &fans {
            let _ = write!(
                body,
                "<a class=\"u\" href=\"{}\">{} <span class=\"hint\">{}{}</span></a>",
                html_escape(&link(&call.query, &[("sim_user", openid)])),
                html_escape(if nick.is_empty() { openid } else { nick }),
                html_escape(openid),
                if *subscribed { "" } else { " · 未关注" }
            );
        }
        let _ = write!(
            body,
            "<p><a href=\"{}\">拒绝 (refuse)</a></p>",
            html_escape(&link(&call.query, &[("sim_user", "-"), ("sim_deny", "1")]))
        );
        return Ok(html(page("微信授权登录", &body)));
    }
    if sim.with_world(|w| w.suites.contains_key(appid)) {
        let state = check_state(call, true)?;
        if !matches!(scope, "snsapi_base" | "snsapi_privateinfo") {
            return Err(perr(10005, "invalid scope"));
        }
        return suite_login(sim, call, appid, scope, redirect_uri, &state);
    }
    let is_corp = sim.with_world(|w| w.corps.contains_key(appid));
    if !is_corp {
        return Err(perr(10016, format!("wxsim: unknown appid {appid}")));
    }
    let state = check_state(call, true)?;
    if !matches!(
        scope,
        "snsapi_base" | "snsapi_privateinfo" | "snsapi_userinfo"
    ) {
        return Err(perr(10005, "invalid scope"));
    }
    let agentid = match call.param("agentid") {
        None => None,
        Some(a) => Some(
            a.parse::<u32>()
                .ok()
                .filter(|a| {
                    sim.with_world(|w| w.corps.get(appid).is_some_and(|c| c.apps.contains_key(a)))
                })
                .ok_or_else(|| perr(40056, "invalid agentid"))?,
        ),
    };
    work_login(
        sim,
        call,
        appid,
        agentid,
        scope,
        redirect_uri,
        &state,
        now,
        ttl,
    )
}

/// Member choice and code issue shared by in-app OAuth and web login.
#[allow(clippy::too_many_arguments)]
fn work_login(
    sim: &SimState,
    call: &Call,
    corpid: &str,
    agentid: Option<u32>,
    scope: &str,
    redirect_uri: &str,
    state: &str,
    now: i64,
    ttl: i64,
) -> Result<Response, PageError> {
    let strict = sim.options().strict_redirect_domains;
    let (domains, members) = sim.with_world(|w| {
        let Some(corp) = w.corps.get(corpid) else {
            return (Vec::new(), Vec::new());
        };
        let domains: Vec<String> = match agentid {
            Some(a) => corp
                .apps
                .get(&a)
                .map(|a| a.redirect_domains.clone())
                .unwrap_or_default(),
            None => corp
                .apps
                .values()
                .flat_map(|a| a.redirect_domains.clone())
                .collect(),
        };
        let scope = agentid.map(|a| corp.scope(SecretRef::App(a)));
        let members: Vec<(String, String, bool)> = corp
            .directory
            .members()
            .filter(|m| m.deliverable())
            .map(|m| {
                let visible = scope.as_ref().is_none_or(|s| s.member_visible(m));
                (m.userid.clone(), m.name.clone(), visible)
            })
            .collect();
        (domains, members)
    });
    check_redirect(redirect_uri, &domains, strict, 50001)?;
    let private = scope == "snsapi_privateinfo" && agentid.is_some();
    if let Some(user) = call.param("sim_user") {
        if call.param("sim_deny") == Some("1") {
            return Ok(redirect(&add_query(redirect_uri, &[("state", state)])));
        }
        let (userid, _, visible) = members
            .iter()
            .find(|(u, _, _)| u.eq_ignore_ascii_case(user))
            .ok_or_else(|| {
                perr(
                    60111,
                    format!("wxsim: {user} is not an active member of {corpid}"),
                )
            })?;
        let consent = call.param("sim_consent") != Some("0");
        let code = sim.with_world(|w| {
            // A suite's login page has the suite id as `appid`.
            let suite_id = call
                .param("appid")
                .filter(|a| w.suites.contains_key(*a))
                .map(str::to_owned);
            w.identity.issue(
                CodeSubject::Work {
                    corpid: corpid.to_owned(),
                    agentid,
                    userid: userid.clone(),
                    ticket: private && *visible && consent,
                    suite_id,
                },
                if private { scope } else { "snsapi_base" },
                now,
                ttl,
            )
        });
        return Ok(redirect(&add_query(
            redirect_uri,
            &[("code", &code), ("state", state)],
        )));
    }
    let mut body = format!(
        "<p>{} {}</p><p class=\"hint\">Choose the member who logs in{}.</p>",
        html_escape(corpid),
        agentid.map(|a| format!("· app {a}")).unwrap_or_default(),
        if private {
            " (and consents to share mobile, e-mail and avatar)"
        } else {
            ""
        }
    );
    for (userid, name, visible) in &members {
        let _ = write!(
            body,
            "<a class=\"u\" href=\"{}\">{} <span class=\"hint\">{}{}</span></a>",
            html_escape(&link(&call.query, &[("sim_user", userid)])),
            html_escape(name),
            html_escape(userid),
            if *visible {
                ""
            } else {
                " · 不在应用可见范围"
            }
        );
    }
    Ok(html(page("企业微信登录", &body)))
}

/// `login.work.weixin.qq.com/wwlogin/sso/login` and the legacy `wwopen/sso/qrConnect`.
fn web_login(sim: &SimState, call: &Call) -> Result<Response, PageError> {
    let legacy = call.path == "/wwopen/sso/qrConnect";
    if !legacy {
        match call.param("login_type") {
            Some("CorpApp") => {}
            Some("ServiceApp") => {
                let suite_id = call
                    .param("appid")
                    .ok_or_else(|| perr(41002, "appid missing"))?;
                let redirect_uri = call
                    .param("redirect_uri")
                    .ok_or_else(|| perr(41010, "redirect_uri missing"))?;
                let state = check_state(call, true)?;
                return suite_login(sim, call, suite_id, "snsapi_base", redirect_uri, &state);
            }
            _ => return Err(perr(40058, "login_type must be CorpApp or ServiceApp")),
        }
    }
    let corpid = call
        .param("appid")
        .ok_or_else(|| perr(41002, "appid missing"))?;
    if !sim.with_world(|w| w.corps.contains_key(corpid)) {
        return Err(perr(40013, "invalid corpid"));
    }
    let redirect_uri = call
        .param("redirect_uri")
        .ok_or_else(|| perr(41010, "redirect_uri missing"))?;
    let agentid = call
        .param("agentid")
        .and_then(|a| a.parse::<u32>().ok())
        .filter(|a| sim.with_world(|w| w.corps.get(corpid).is_some_and(|c| c.apps.contains_key(a))))
        .ok_or_else(|| perr(40056, "invalid agentid"))?;
    let state = check_state(call, true)?;
    // Web login: the member must be in the app's visible scope.
    if let Some(user) = call.param("sim_user") {
        let visible = sim.with_world(|w| {
            w.corps.get(corpid).is_some_and(|corp| {
                corp.directory
                    .member(user)
                    .is_some_and(|m| corp.scope(SecretRef::App(agentid)).member_visible(m))
            })
        });
        if !visible && call.param("sim_deny") != Some("1") {
            return Err(perr(
                50002,
                format!("{user} is outside the app's visible scope"),
            ));
        }
    }
    work_login(
        sim,
        call,
        corpid,
        Some(agentid),
        "snsapi_base",
        redirect_uri,
        &state,
        sim.now(),
        sim.options().code_ttl_secs,
    )
}

/// A suite's member login (in-app OAuth with `appid` = suite id, or ServiceApp web login):
/// the corp is one that authorised the suite (`sim_corp`, or a choice page when several
/// did), the code names the suite's app in that corp and is redeemed by
/// `service/auth/getuserinfo3rd`.
fn suite_login(
    sim: &SimState,
    call: &Call,
    suite_id: &str,
    scope: &str,
    redirect_uri: &str,
    state: &str,
) -> Result<Response, PageError> {
    let auths: Vec<(String, u32, String)> = sim
        .with_world(|w| {
            let suite = w.suites.get(suite_id)?;
            Some(
                suite
                    .auths
                    .values()
                    .map(|a| {
                        let name = w.corps.get(&a.corpid).map(|c| c.name.clone());
                        (a.corpid.clone(), a.agentid, name.unwrap_or_default())
                    })
                    .collect(),
            )
        })
        .ok_or_else(|| perr(40083, "invalid suite_id"))?;
    let chosen = match (call.param("sim_corp"), auths.as_slice()) {
        (_, []) => return Err(perr(48004, format!("no corp has authorised {suite_id}"))),
        (None, [only]) => only,
        (Some(corpid), _) => auths
            .iter()
            .find(|(c, _, _)| c == corpid)
            .ok_or_else(|| perr(48004, format!("{corpid} has not authorised {suite_id}")))?,
        (None, _) => return Ok(corp_choice(call, &auths)),
    };
    let (corpid, agentid, _) = chosen;
    let (now, ttl) = (sim.now(), sim.options().code_ttl_secs);
    work_login(
        sim,
        call,
        corpid,
        Some(*agentid),
        scope,
        redirect_uri,
        state,
        now,
        ttl,
    )
}

/// "Which of your corps?" (a member of several corps using the same suite).
fn corp_choice(call: &Call, corps: &[(String, u32, String)]) -> Response {
    let mut body = String::from("<p class=\"hint\">Choose the corp to log in with.</p>");
    for (id, _, name) in corps {
        let _ = write!(
            body,
            "<a class=\"u\" href=\"{}\">{} <span class=\"hint\">{}</span></a>",
            html_escape(&link(&call.query, &[("sim_corp", id)])),
            html_escape(name),
            html_escape(id)
        );
    }
    html(page("选择企业", &body))
}

/// `open.work.weixin.qq.com/wwopen/sso/3rd_qrConnect`: the provider website login
/// (`appid` = provider corpid, `usertype=admin|member`). Members of the corps that
/// authorised one of the provider's suites may log in; with `usertype=admin` only the admin
/// who installed it. The redirect carries `auth_code` for `service/get_login_info`.
fn provider_login(sim: &SimState, call: &Call) -> Result<Response, PageError> {
    let provider = call
        .param("appid")
        .ok_or_else(|| perr(41002, "appid missing"))?;
    let redirect_uri = call
        .param("redirect_uri")
        .ok_or_else(|| perr(41010, "redirect_uri missing"))?;
    let state = check_state(call, true)?;
    let admins_only = call.param("usertype").is_none_or(|t| t == "admin");
    let (domains, people) = sim.with_world(|w| provider_people(w, provider));
    if domains.is_none() {
        return Err(perr(40013, format!("{provider} is not a provider")));
    }
    let domains = domains.unwrap_or_default();
    check_redirect(
        redirect_uri,
        &domains,
        sim.options().strict_redirect_domains,
        50001,
    )?;
    let people: Vec<Person> = people
        .into_iter()
        .filter(|p| p.admin || !admins_only)
        .collect();
    let Some(user) = call.param("sim_user") else {
        let mut body =
            String::from("<p class=\"hint\">Choose who logs in to the provider's website.</p>");
        for p in &people {
            let _ = write!(
                body,
                "<a class=\"u\" href=\"{}\">{} <span class=\"hint\">{} · {}{}</span></a>",
                html_escape(&link(
                    &call.query,
                    &[("sim_user", &p.userid), ("sim_corp", &p.corpid)]
                )),
                html_escape(&p.name),
                html_escape(&p.userid),
                html_escape(&p.corpid),
                if p.admin { " · 管理员" } else { "" }
            );
        }
        return Ok(html(page("企业微信登录服务商网站", &body)));
    };
    let person = people
        .iter()
        .find(|p| {
            p.userid.eq_ignore_ascii_case(user)
                && call.param("sim_corp").is_none_or(|c| c == p.corpid)
        })
        .ok_or_else(|| {
            perr(
                60011,
                format!("wxsim: {user} may not log in here (usertype admin needs the installer)"),
            )
        })?;
    let code = sim.with_world(|w| {
        w.identity.issue(
            CodeSubject::ProviderLogin {
                provider_corpid: provider.to_owned(),
                corpid: person.corpid.clone(),
                userid: person.userid.clone(),
                admin: person.admin,
            },
            "",
            sim.now(),
            sim.options().code_ttl_secs,
        )
    });
    Ok(redirect(&add_query(
        redirect_uri,
        &[("auth_code", &code), ("state", &state)],
    )))
}

/// Someone who may log in to a provider's website.
struct Person {
    corpid: String,
    userid: String,
    name: String,
    admin: bool,
}

/// The provider's redirect domains (None: not a provider) and the active members of the
/// corps that authorised one of its suites.
fn provider_people(w: &crate::state::World, provider: &str) -> (Option<Vec<String>>, Vec<Person>) {
    let suites: Vec<_> = w
        .suites
        .values()
        .filter(|s| s.seed.provider_corpid == provider)
        .collect();
    if suites.is_empty() {
        return (None, Vec::new());
    }
    let domains = suites
        .iter()
        .flat_map(|s| s.seed.redirect_domains.clone())
        .collect();
    let mut people = Vec::new();
    for a in suites.iter().flat_map(|s| s.auths.values()) {
        let Some(corp) = w.corps.get(&a.corpid) else {
            continue;
        };
        for m in corp.directory.members().filter(|m| m.deliverable()) {
            let admin = m.userid.eq_ignore_ascii_case(&a.installer);
            let known = people
                .iter_mut()
                .find(|p: &&mut Person| p.corpid == a.corpid && p.userid == m.userid);
            match known {
                Some(p) => p.admin |= admin,
                None => people.push(Person {
                    corpid: a.corpid.clone(),
                    userid: m.userid.clone(),
                    name: m.name.clone(),
                    admin,
                }),
            }
        }
    }
    (Some(domains), people)
}

/// `open.work.weixin.qq.com/3rdapp/install`.
fn install(sim: &Arc<SimState>, call: &Call) -> Result<Response, PageError> {
    let suite_id = call
        .param("suite_id")
        .ok_or_else(|| perr(41021, "suite_id missing"))?;
    let pre = call
        .param("pre_auth_code")
        .ok_or_else(|| perr(40077, "pre_auth_code missing"))?;
    let now = sim.now();
    let (domains, auth_type, corps) = sim.with_world(|w| {
        let suite = w
            .suites
            .get(suite_id)
            .ok_or_else(|| perr(40083, "invalid suite_id"))?;
        let (exp, auth_type) = *suite
            .pre_auth_codes
            .get(pre)
            .ok_or_else(|| perr(40077, "invalid pre_auth_code"))?;
        if now >= exp {
            return Err(perr(42007, "pre_auth_code expired"));
        }
        let corps: Vec<(String, String)> = w
            .corps
            .values()
            .map(|c| (c.corpid.clone(), c.name.clone()))
            .collect();
        Ok((suite.seed.redirect_domains.clone(), auth_type, corps))
    })?;
    let redirect_uri = call.param("redirect_uri");
    if let Some(r) = redirect_uri {
        check_redirect(r, &domains, sim.options().strict_redirect_domains, 50001)?;
    }
    let state = check_state(call, true)?;
    let Some(corpid) = call.param("sim_corp") else {
        let mut body =
            String::from("<p class=\"hint\">Choose the corp whose admin authorises the app.</p>");
        for (id, name) in &corps {
            let _ = write!(
                body,
                "<a class=\"u\" href=\"{}\">{} <span class=\"hint\">{}</span></a>",
                html_escape(&link(&call.query, &[("sim_corp", id)])),
                html_escape(name),
                html_escape(id)
            );
        }
        return Ok(html(page("授权安装第三方应用", &body)));
    };
    let installer = call
        .param("sim_user")
        .map(str::to_owned)
        .or_else(|| {
            sim.with_world(|w| {
                w.corps
                    .get(corpid)
                    .and_then(|c| c.directory.members().next().map(|m| m.userid.clone()))
            })
        })
        .unwrap_or_default();
    let code = crate::api::suite::authorize(sim, suite_id, corpid, &installer, &state, auth_type)
        .map_err(|e| perr(e.errcode, e.errmsg))?;
    sim.with_world(|w| {
        if let Some(s) = w.suites.get_mut(suite_id) {
            s.pre_auth_codes.remove(pre);
        }
    });
    match redirect_uri {
        Some(r) => Ok(redirect(&add_query(
            r,
            &[
                ("auth_code", &code),
                ("expires_in", "600"),
                ("state", &state),
            ],
        ))),
        None => {
            // No redirect: the provider learns of the install by the create_auth push.
            let sim2 = Arc::clone(sim);
            let suite = suite_id.to_owned();
            let xml_state = state.clone();
            let code2 = code.clone();
            tokio::spawn(async move {
                let _ = sim2.push_create_auth_code(&suite, &code2, &xml_state).await;
            });
            Ok(html(page(
                "授权成功",
                &format!(
                    "<p>{} installed {}; create_auth pushed to the suite's command URL.</p>",
                    html_escape(corpid),
                    html_escape(suite_id)
                ),
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_rules() {
        let d = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(check_redirect("http://127.0.0.1:8080/cb", &[], false, 10003).is_ok());
        assert!(
            check_redirect(
                "http://127.0.0.1:8080/cb",
                &d(&["127.0.0.1:8080"]),
                false,
                1
            )
            .is_ok()
        );
        assert!(
            check_redirect(
                "http://127.0.0.1:8081/cb",
                &d(&["127.0.0.1:8080"]),
                false,
                1
            )
            .is_err()
        );
        assert!(check_redirect("http://127.0.0.1/cb", &d(&["127.0.0.1:8080"]), false, 1).is_err());
        assert!(
            check_redirect(
                "https://a.example.com/x/y",
                &d(&["a.example.com/x"]),
                false,
                1
            )
            .is_ok()
        );
        assert!(
            check_redirect(
                "https://a.example.com/z",
                &d(&["a.example.com/x"]),
                false,
                1
            )
            .is_err()
        );
        assert_eq!(
            check_redirect("http://127.0.0.1/cb", &[], true, 10003)
                .unwrap_err()
                .code,
            10003
        );
        assert!(check_redirect("https://a.example.com:8443/cb", &[], true, 1).is_err());
        assert!(check_redirect("https://a.example.com/cb", &[], true, 1).is_ok());
        assert_eq!(
            add_query("https://x/cb?a=1#frag", &[("code", "c d")]),
            "https://x/cb?a=1&code=c+d#frag"
        );
    }
}
