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

pub mod crm;
pub mod identity;
pub mod media;
pub mod message;
pub mod mp;
pub mod sns;
pub mod suite;
pub mod suite_identity;
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
use crate::net::SimConn;
use crate::reqlog::RequestRecord;
use crate::role::Role;
use crate::state::SimState;
use crate::state::tokens::{Owner, TokenCheck, TokenKind};
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
    /// `Content-Type` header (multipart uploads).
    pub content_type: Option<String>,
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
    /// `?suite_access_token=`.
    SuiteToken,
    /// A provider token as `?access_token=` (or `?provider_access_token=`).
    ProviderToken,
    /// The handler checks credentials itself (OAuth codes, user tokens, `?appid=` of
    /// `sns/*`); the credential label is `?appid=` when present.
    Open,
    /// `suite_id` in the JSON body (`get_suite_token`).
    SuiteBody,
    /// `corpid` in the JSON body (`get_provider_token`).
    ProviderBody,
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
        Role::Api => mp::endpoint(path)
            .or_else(|| sns::endpoint(path))
            .or_else(|| media::endpoint(path, false)),
        Role::Qyapi => work::endpoint(path)
            .or_else(|| identity::endpoint(path))
            .or_else(|| suite::endpoint(path))
            .or_else(|| suite_identity::endpoint(path))
            .or_else(|| crm::endpoint(path))
            .or_else(|| media::endpoint(path, true)),
        Role::Open | Role::Login => None,
    }
}

/// The caller's IP: the configured header when it parses, else the socket peer.
fn client_ip(sim: &SimState, req: &Request, conn: Option<&SimConn>) -> IpAddr {
    let from_header = sim
        .options()
        .client_ip_header
        .as_deref()
        .and_then(|h| req.headers().get(h))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.trim().parse::<IpAddr>().ok());
    from_header
        .or_else(|| conn.map(|c| c.addr.ip()))
        .or_else(|| {
            req.extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip())
        })
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
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
    let conn = req
        .extensions()
        .get::<ConnectInfo<SimConn>>()
        .map(|c| c.0.clone());
    let ip = client_ip(&sim, &req, conn.as_ref());
    let method = req.method().clone();
    let query: HashMap<String, String> = req
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
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
        content_type,
        ip,
    };
    if matches!(role, Role::Open | Role::Login) {
        let resp = crate::pages::handle(&sim, &call, conn.as_ref()).await;
        sim.spawn_pending();
        return resp;
    }
    let resp = dispatch(&sim, call, conn.as_ref()).await;
    sim.spawn_pending();
    resp
}

/// The answer to a dropped connection: never written (the connection fails first).
pub(crate) fn dropped(conn: Option<&SimConn>) -> Response {
    match conn {
        Some(c) => {
            c.drop_connection();
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        // Embedded without wxsim's listener: the closest thing is an empty 502.
        None => StatusCode::BAD_GATEWAY.into_response(),
    }
}

async fn dispatch(sim: &Arc<SimState>, call: Call, conn: Option<&SimConn>) -> Response {
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
    if hit.drop_connection {
        sim.log_request(record(
            sim,
            &call,
            credential,
            None,
            StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_GATEWAY),
            true,
        ));
        return dropped(conn);
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
        Some(check) => match token_owner(role, ep.auth, check) {
            Ok(owner) => Authed { owner: Some(owner) },
            Err(e) => return finish(sim, &call, credential, Err(e), false, StatusCode::OK),
        },
    };
    if let Some(label) = credential.as_deref()
        && let Err(e) = ip_allowed(sim, role, label, call.ip)
    {
        return finish(sim, &call, credential, Err(e), false, StatusCode::OK);
    }
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
        Auth::SuiteToken => {
            let check = sim.with_world(|w| {
                w.tokens
                    .check_kind(call.param("suite_access_token"), TokenKind::Suite, now)
            });
            (check.owner().map(Owner::label), Some(check))
        }
        Auth::ProviderToken => {
            let token = call
                .param("access_token")
                .or_else(|| call.param("provider_access_token"));
            let check = sim.with_world(|w| w.tokens.check_kind(token, TokenKind::Provider, now));
            (check.owner().map(Owner::label), Some(check))
        }
        Auth::Open => (call.param("appid").map(str::to_owned), None),
        Auth::SuiteBody | Auth::ProviderBody => {
            let key = if auth == Auth::SuiteBody {
                "suite_id"
            } else {
                "corpid"
            };
            let id = serde_json::from_slice::<Value>(&call.body)
                .ok()
                .and_then(|v| v.get(key).and_then(Value::as_str).map(str::to_owned))
                .filter(|s| !s.is_empty());
            let id = if auth == Auth::ProviderBody {
                id.map(|c| format!("{c}/provider"))
            } else {
                id
            };
            (id, None)
        }
    }
}

/// IP whitelists (reference §2.14 40164, §4.3 / §4.17 60020, §7 row 19): an OA / MP
/// `trusted_ips`, a WeCom app's or the contacts secret's. The errmsg carries the IP in
/// Tencent's format so clients can show it.
fn ip_allowed(sim: &SimState, role: Role, label: &str, ip: IpAddr) -> Result<(), WxError> {
    let list = sim.with_world(|w| {
        if let Some(a) = w.accounts.get(label) {
            return a.trusted_ips.clone();
        }
        if let Some(m) = w.mini_programs.get(label) {
            return m.trusted_ips.clone();
        }
        let Some((corpid, which)) = label.split_once('/') else {
            return Vec::new();
        };
        let Some(corp) = w.corps.get(corpid) else {
            return Vec::new();
        };
        match which {
            "contacts" => corp
                .contacts
                .as_ref()
                .map(|c| c.trusted_ips.clone())
                .unwrap_or_default(),
            id => id
                .parse::<u32>()
                .ok()
                .and_then(|a| corp.apps.get(&a))
                .map(|a| a.trusted_ips.clone())
                .unwrap_or_default(),
        }
    });
    if list.is_empty() || list.iter().any(|entry| crate::util::ip_matches(entry, ip)) {
        return Ok(());
    }
    Err(if role.is_wecom() {
        if sim.options().errmsg_tails {
            WxError::work(60020)
        } else {
            WxError::new(
                60020,
                format!("not allow to access from your ip, from ip: {ip}"),
            )
        }
    } else {
        let v6 = match ip {
            IpAddr::V4(v4) => v4.to_ipv6_mapped().to_string(),
            IpAddr::V6(v6) => v6.to_string(),
        };
        WxError::new(
            40164,
            format!("invalid ip {ip} ipv6 {v6}, not in whitelist"),
        )
    })
}

/// Token check → owner or the Tencent error. OA answers 40001 for unknown and superseded
/// tokens; WeCom answers 40014 "invalid access_token" (reference §4.1, §4.17); suite tokens
/// 40082 / 42009, provider tokens 40014 / 42001.
fn token_owner(role: Role, auth: Auth, check: TokenCheck) -> Result<Owner, WxError> {
    if auth == Auth::SuiteToken {
        return match check {
            TokenCheck::Valid(owner) => Ok(owner),
            TokenCheck::Missing => Err(WxError::new(41022, "missing suite_access_token")),
            TokenCheck::Expired(_) => Err(WxError::new(42009, "suite_access_token expired")),
            _ => Err(WxError::new(40082, "invalid suite_token")),
        };
    }
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
