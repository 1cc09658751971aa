//! The Tencent-facing HTTP surface. Every request to a Tencent path goes through one pipeline:
//!
//! 1. role: from a Tencent `Host` header, else from the path prefix (`/api`, `/qyapi`, ...);
//! 2. endpoint lookup (unknown paths: HTTP 404 with a Tencent-shaped body);
//! 3. method (POST-only endpoints answer 43002 to other methods);
//! 4. credential: appid, corpid+secret, or the owner of the presented access_token;
//! 5. faults for (role, path, credential): latency, then an injected HTTP status or errcode;
//! 6. token validity (41001 / 40001 or 40014 / 42001);
//! 7. frequency limits (45009 / 45011);
//! 8. the handler;
//! 9. the answer (errmsg tails per §0.2) and one request-log record.

pub mod message;
pub mod mp;
pub mod work;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::{WxError, errmsg_for};
use crate::reqlog::RequestRecord;
use crate::role::Role;
use crate::state::SimState;
use crate::state::tokens::{Owner, TokenCheck};
use crate::util::{has_non_ascii_escape, random_u32, random_u64};

/// Largest request body accepted.
const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// One request, as the handlers see it.
#[derive(Debug)]
pub(crate) struct Call {
    pub role: Role,
    pub method: Method,
    pub path: String,
    pub query: HashMap<String, String>,
    pub body: Bytes,
    pub ip: IpAddr,
}

impl Call {
    /// A non-empty query parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .get(key)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// The JSON body (44002 empty, 40033 `\u` escapes, 47001 unparsable).
    pub fn json<T: DeserializeOwned>(&self, sim: &SimState) -> Result<T, WxError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(WxError::of(self.role, 44002));
        }
        if sim.options().reject_unicode_escapes && has_non_ascii_escape(&self.body) {
            return Err(WxError::of(self.role, 40033));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            if self.role.is_wecom() {
                WxError::new(
                    47001,
                    format!("data format error, Warning: wrong json format. {e}"),
                )
            } else {
                WxError::new(47001, format!("data format error: {e}"))
            }
        })
    }

    /// The JSON body, or `{}` when empty.
    pub fn json_or_empty<T: DeserializeOwned>(&self, sim: &SimState) -> Result<T, WxError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return serde_json::from_value(json!({})).map_err(|_| WxError::of(self.role, 44002));
        }
        self.json(sim)
    }
}

/// How an endpoint identifies its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    /// `?appid=` (OA `cgi-bin/token`).
    AppidQuery,
    /// `appid` in the JSON body (`stable_token`).
    AppidBody,
    /// `?corpid=&corpsecret=` (WeCom `gettoken`).
    CorpSecret,
    /// `?access_token=` issued by api.weixin.qq.com.
    OaToken,
    /// `?access_token=` issued by qyapi.weixin.qq.com.
    WorkToken,
}

/// The verified caller of a token-authenticated endpoint.
#[derive(Debug, Default)]
pub(crate) struct Authed {
    pub owner: Option<Owner>,
}

pub(crate) type Handler = fn(&SimState, &Call, &Authed) -> Result<Value, WxError>;

/// One simulated endpoint.
pub(crate) struct Endpoint {
    pub post_only: bool,
    pub auth: Auth,
    pub handler: Handler,
}

impl Endpoint {
    pub(crate) fn new(post_only: bool, auth: Auth, handler: Handler) -> Self {
        Self {
            post_only,
            auth,
            handler,
        }
    }
}

fn endpoint(role: Role, path: &str) -> Option<Endpoint> {
    match role {
        Role::Api => mp::endpoint(path),
        Role::Qyapi => work::endpoint(path),
        Role::Open | Role::Login => None,
    }
}

/// Fallback handler of the router: every non-`/sim` request lands here.
pub(crate) async fn tencent(State(sim): State<Arc<SimState>>, req: Request) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let full_path = req.uri().path().to_owned();
    let (role, path) = match Role::from_host(host) {
        Some(role) => (role, full_path.clone()),
        None => match Role::split_prefix(&full_path) {
            Some((role, rest)) => (role, rest.to_owned()),
            None => {
                let body = json!({
                    "errcode": 404,
                    "errmsg": format!("wxsim: {full_path} is neither a role prefix (/api, /qyapi, /open, /login) nor /sim; or send a Tencent Host header"),
                });
                return json_response(Role::Api, StatusCode::NOT_FOUND, &body);
            }
        },
    };
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
    let method = req.method().clone();
    let query: HashMap<String, String> = req
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let body = match axum::body::to_bytes(req.into_body(), BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => Bytes::new(),
    };
    let call = Call {
        role,
        method,
        path,
        query,
        body,
        ip,
    };
    dispatch(&sim, call).await
}

async fn dispatch(sim: &SimState, call: Call) -> Response {
    let role = call.role;
    let Some(ep) = endpoint(role, &call.path) else {
        let code = if role.is_wecom() { 48002 } else { 48001 };
        let err = WxError::new(
            code,
            format!(
                "{} (wxsim: {} is not simulated)",
                errmsg_for(role, code),
                call.path
            ),
        );
        return finish(sim, &call, None, Err(err), false, StatusCode::NOT_FOUND);
    };
    if ep.post_only && call.method != Method::POST {
        return finish(
            sim,
            &call,
            None,
            Err(WxError::of(role, 43002)),
            false,
            StatusCode::OK,
        );
    }
    let now = sim.now();
    let (credential, check) = identify(sim, &call, ep.auth, now);
    let hit = sim.with_faults(|f| f.apply(role, &call.path, credential.as_deref(), now));
    if hit.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(hit.delay_ms)).await;
    }
    if let Some(status) = hit.http_status {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        sim.log_request(record(sim, &call, credential, None, status, true));
        return (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            format!(
                "<html><body><h1>{}</h1>wxsim injected fault</body></html>",
                status
            ),
        )
            .into_response();
    }
    if let Some((code, msg)) = hit.errcode {
        let err = WxError::new(
            code,
            msg.unwrap_or_else(|| errmsg_for(role, code).to_owned()),
        );
        return finish(sim, &call, credential, Err(err), true, StatusCode::OK);
    }
    let authed = match check {
        None => Authed::default(),
        Some(check) => match token_owner(role, check) {
            Ok(owner) => Authed { owner: Some(owner) },
            Err(e) => return finish(sim, &call, credential, Err(e), false, StatusCode::OK),
        },
    };
    let ip = call.ip.to_string();
    if let Err(e) = sim.with_limits(|l| l.check(role, &call.path, credential.as_deref(), &ip, now))
    {
        return finish(sim, &call, credential, Err(e), false, StatusCode::OK);
    }
    let result = (ep.handler)(sim, &call, &authed);
    finish(sim, &call, credential, result, false, StatusCode::OK)
}

fn identify(
    sim: &SimState,
    call: &Call,
    auth: Auth,
    now: i64,
) -> (Option<String>, Option<TokenCheck>) {
    match auth {
        Auth::AppidQuery => (call.param("appid").map(str::to_owned), None),
        Auth::AppidBody => {
            let appid = serde_json::from_slice::<Value>(&call.body)
                .ok()
                .and_then(|v| v.get("appid").and_then(Value::as_str).map(str::to_owned))
                .filter(|s| !s.is_empty());
            (appid, None)
        }
        Auth::CorpSecret => {
            let label = call.param("corpid").map(|corpid| {
                sim.with_world(|w| w.corp_secret_label(corpid, call.param("corpsecret")))
            });
            (label, None)
        }
        Auth::OaToken | Auth::WorkToken => {
            let wecom = auth == Auth::WorkToken;
            let check = sim.with_world(|w| w.tokens.check(call.param("access_token"), wecom, now));
            (check.owner().map(Owner::label), Some(check))
        }
    }
}

/// Token check → owner or the Tencent error. OA answers 40001 for unknown and superseded
/// tokens; WeCom answers 40014 "invalid access_token" (reference §4.1, §4.17).
fn token_owner(role: Role, check: TokenCheck) -> Result<Owner, WxError> {
    match check {
        TokenCheck::Valid(owner) => Ok(owner),
        TokenCheck::Missing => Err(WxError::of(role, 41001)),
        TokenCheck::Unknown | TokenCheck::Invalidated(_) if role.is_wecom() => {
            Err(WxError::work(40014))
        }
        TokenCheck::Unknown | TokenCheck::Invalidated(_) => Err(WxError::oa(40001)),
        TokenCheck::Expired(_) => Err(WxError::of(role, 42001)),
    }
}

fn record(
    sim: &SimState,
    call: &Call,
    credential: Option<String>,
    errcode: Option<i64>,
    status: StatusCode,
    injected: bool,
) -> RequestRecord {
    RequestRecord {
        seq: 0,
        at_ms: sim.clock().now_ms(),
        role: call.role,
        method: call.method.to_string(),
        path: call.path.clone(),
        credential,
        errcode,
        http_status: status.as_u16(),
        injected,
        ip: call.ip.to_string(),
    }
}

fn finish(
    sim: &SimState,
    call: &Call,
    credential: Option<String>,
    result: Result<Value, WxError>,
    injected: bool,
    status: StatusCode,
) -> Response {
    let (errcode, body) = match result {
        Ok(v) => (v.get("errcode").and_then(Value::as_i64).unwrap_or(0), v),
        Err(e) => {
            let errmsg = decorate(sim, call, &e);
            (e.errcode, json!({"errcode": e.errcode, "errmsg": errmsg}))
        }
    };
    tracing::debug!(role = %call.role, path = %call.path, credential = ?credential, errcode, "wxsim call");
    sim.log_request(record(
        sim,
        call,
        credential,
        Some(errcode),
        status,
        injected,
    ));
    json_response(call.role, status, &body)
}

/// Adds the request-id tail Tencent puts on error messages (reference §0.2).
fn decorate(sim: &SimState, call: &Call, e: &WxError) -> String {
    if !sim.options().errmsg_tails {
        return e.errmsg.clone();
    }
    let now = sim.now();
    if call.role.is_wecom() {
        format!(
            "{}, hint: [{}{:015}], from ip: {}, more info at https://open.work.weixin.qq.com/devtool/query?e={}",
            e.errmsg,
            now,
            random_u64() % 1_000_000_000_000_000,
            call.ip,
            e.errcode
        )
    } else {
        format!(
            "{} rid: {:08x}-{:08x}-{:08x}",
            e.errmsg,
            now & 0xffff_ffff,
            random_u32(),
            random_u32()
        )
    }
}

fn json_response(role: Role, status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let content_type = if role.is_wecom() {
        "application/json; charset=UTF-8"
    } else {
        "application/json; encoding=utf-8"
    };
    (status, [(header::CONTENT_TYPE, content_type)], bytes).into_response()
}

/// `{"errcode":0,"errmsg":<msg>}` merged with `extra`'s fields.
pub(crate) fn ok_with(msg: &str, extra: Value) -> Value {
    let mut v = json!({"errcode": 0, "errmsg": msg});
    if let (Some(obj), Value::Object(more)) = (v.as_object_mut(), extra) {
        obj.extend(more);
    }
    v
}

/// An integer given as a JSON number or a numeric string.
pub(crate) fn lenient_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
