//! The `/sim/...` control API: state, seeding, clock, tokens, request log, faults, limits and
//! inboxes. Documented in the crate README. Errors are `{"errcode":N,"errmsg":"..."}` with
//! HTTP 400/404 (not Tencent endpoints, but the same shape).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post};
use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::faults::FaultSpec;
use crate::limits::{LimitRule, LimitsConfig};
use crate::reqlog::RequestFilter;
use crate::role::Role;
use crate::seed::{GenerateSpec, Seed};
use crate::state::SimState;

type Sim = State<Arc<SimState>>;

/// Routes under `/sim` (plus `/` as an index).
pub(crate) fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/", get(index))
        .route("/sim", get(index))
        .route("/sim/state", get(get_state))
        .route("/sim/seed", post(post_seed))
        .route("/sim/clock", get(get_clock).post(post_clock))
        .route("/sim/tokens", get(get_tokens))
        .route("/sim/tokens/rotate", post(post_rotate))
        .route("/sim/requests", get(get_requests).delete(delete_requests))
        .route(
            "/sim/faults",
            get(get_faults).post(post_fault).delete(delete_faults),
        )
        .route("/sim/faults/{id}", delete(delete_fault))
        .route("/sim/limits", get(get_limits).post(post_limits))
        .route("/sim/inbox", get(get_inbox).delete(delete_inbox))
        .route("/sim/inbox.html", get(get_inbox_html))
        .merge(more_routes())
}

fn ok(extra: Value) -> Response {
    let mut v = json!({"errcode": 0, "errmsg": "ok"});
    if let (Some(o), Value::Object(more)) = (v.as_object_mut(), extra) {
        o.extend(more);
    }
    (StatusCode::OK, axum::Json(v)).into_response()
}

fn bad(status: StatusCode, msg: impl Into<String>) -> Response {
    (
        status,
        axum::Json(json!({"errcode": 40035, "errmsg": msg.into()})),
    )
        .into_response()
}

/// A control-API error, answered as `{"errcode":40035,"errmsg":...}`.
struct CtlError(StatusCode, String);

impl IntoResponse for CtlError {
    fn into_response(self) -> Response {
        bad(self.0, self.1)
    }
}

fn query(raw: Option<String>) -> HashMap<String, String> {
    raw.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, CtlError> {
    let text = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        &body[..]
    };
    serde_json::from_slice(text)
        .map_err(|e| CtlError(StatusCode::BAD_REQUEST, format!("bad JSON body: {e}")))
}

async fn index(headers: HeaderMap) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let base = format!("http://{host}");
    let roles: serde_json::Map<String, Value> = Role::ALL
        .iter()
        .map(|r| {
            (
                r.as_str().to_owned(),
                json!(format!("{base}{}", r.prefix())),
            )
        })
        .collect();
    ok(json!({
        "simulator": "wxsim",
        "base_url": base,
        "roles": roles,
        "control": ["/sim/state", "/sim/seed", "/sim/clock", "/sim/tokens", "/sim/tokens/rotate",
                    "/sim/requests", "/sim/faults", "/sim/limits", "/sim/inbox", "/sim/inbox.html",
                    "/sim/callbacks", "/sim/callbacks/settings", "/sim/callbacks/verify",
                    "/sim/push/{kind}", "/sim/pushes", "/sim/mp/login", "/sim/mp/phone_code",
                    "/sim/subscriptions", "/sim/oauth/code", "/sim/settings", "/sim/suites",
                    "/sim/suites/{suite_id}/{ticket|install|change|cancel}",
                    "/sim/schedules/run", "/sim/jsapi/check"],
    }))
}

async fn get_state(State(sim): Sim) -> Response {
    ok(sim.summary())
}

/// `POST /sim/seed`: `?preset=demo`, `?generate=members=N,departments=M,fans=F,seed=S`, or a
/// seed body (JSON; TOML when the content type mentions toml).
async fn post_seed(
    State(sim): Sim,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let q = query(q);
    let seed = if let Some(preset) = q.get("preset") {
        match preset.as_str() {
            "demo" => Seed::demo(),
            "empty" => Seed::default(),
            other => {
                return bad(
                    StatusCode::BAD_REQUEST,
                    format!("unknown preset {other:?} (demo, empty)"),
                );
            }
        }
    } else if let Some(spec) = q.get("generate") {
        match spec.parse::<GenerateSpec>() {
            Ok(spec) => Seed::from_spec(spec),
            Err(e) => return bad(StatusCode::BAD_REQUEST, e),
        }
    } else {
        let is_toml = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.contains("toml"));
        let text = String::from_utf8_lossy(&body);
        let parsed = if is_toml {
            Seed::from_toml(&text)
        } else {
            Seed::from_json(&text)
        };
        match parsed {
            Ok(seed) => seed,
            Err(e) => return bad(StatusCode::BAD_REQUEST, e.to_string()),
        }
    };
    // Building a large world takes a while: keep it off the async workers.
    match tokio::task::spawn_blocking(move || sim.replace_seed(seed).map(|()| sim.summary())).await
    {
        Ok(Ok(summary)) => ok(json!({"state": summary})),
        Ok(Err(e)) => bad(StatusCode::BAD_REQUEST, e.to_string()),
        Err(e) => bad(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

fn clock_json(sim: &SimState) -> Value {
    json!({"now": sim.now(), "now_ms": sim.clock().now_ms(), "offset_secs": sim.clock().offset_secs()})
}

async fn get_clock(State(sim): Sim) -> Response {
    ok(clock_json(&sim))
}

#[derive(Debug, Deserialize)]
struct ClockRequest {
    advance_secs: Option<i64>,
    offset_secs: Option<i64>,
}

async fn post_clock(State(sim): Sim, body: Bytes) -> Response {
    let req: ClockRequest = match parse_body(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match (req.advance_secs, req.offset_secs) {
        (Some(a), None) => sim.advance_clock(a),
        (None, Some(o)) => sim.clock().set_offset_secs(o),
        _ => {
            return bad(
                StatusCode::BAD_REQUEST,
                "give exactly one of advance_secs, offset_secs",
            );
        }
    }
    ok(clock_json(&sim))
}

async fn get_tokens(State(sim): Sim, RawQuery(q): RawQuery) -> Response {
    let q = query(q);
    let Some(cred) = q.get("credential") else {
        return bad(StatusCode::BAD_REQUEST, "credential is required");
    };
    let tokens = sim.with_world(|w| w.tokens.tokens_of(cred));
    let now = sim.now();
    let list: Vec<Value> = tokens
        .into_iter()
        .map(|t| {
            let valid = now < t.expires_at && t.invalid_after.is_none_or(|x| now < x);
            let mut v = json!(t);
            if let Some(o) = v.as_object_mut() {
                o.insert("valid".into(), json!(valid));
            }
            v
        })
        .collect();
    ok(json!({"tokens": list}))
}

#[derive(Debug, Deserialize)]
struct RotateRequest {
    credential: String,
    grace_secs: Option<i64>,
}

async fn post_rotate(State(sim): Sim, body: Bytes) -> Response {
    let req: RotateRequest = match parse_body(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let rotated = sim.rotate_token(&req.credential, req.grace_secs);
    if rotated.is_empty() {
        return bad(
            StatusCode::NOT_FOUND,
            format!("no current token for {:?}", req.credential),
        );
    }
    ok(json!({"tokens": rotated}))
}

fn request_filter(q: &HashMap<String, String>) -> Result<RequestFilter, CtlError> {
    let num = |k: &str| -> Result<Option<i64>, CtlError> {
        q.get(k)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| CtlError(StatusCode::BAD_REQUEST, format!("{k} must be a number")))
            })
            .transpose()
    };
    Ok(RequestFilter {
        path: q.get("path").cloned(),
        credential: q.get("credential").cloned(),
        role: q
            .get("role")
            .map(|r| {
                r.parse::<Role>()
                    .map_err(|e| CtlError(StatusCode::BAD_REQUEST, e))
            })
            .transpose()?,
        errcode: num("errcode")?,
        since: num("since")?.and_then(|s| u64::try_from(s).ok()),
    })
}

async fn get_requests(State(sim): Sim, RawQuery(q): RawQuery) -> Response {
    let q = query(q);
    let filter = match request_filter(&q) {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(1000);
    let summary = sim.request_summary(&filter);
    let all = sim.requests(&filter);
    let tail = &all[all.len().saturating_sub(limit)..];
    ok(json!({
        "total": summary.total,
        "by_errcode": summary.by_errcode,
        "by_path": summary.by_path,
        "requests": tail,
    }))
}

async fn delete_requests(State(sim): Sim) -> Response {
    sim.clear_requests();
    ok(json!({}))
}

async fn get_faults(State(sim): Sim) -> Response {
    let faults = sim.with_faults(|f| json!(f.list()));
    ok(json!({"faults": faults}))
}

async fn post_fault(State(sim): Sim, body: Bytes) -> Response {
    let spec: FaultSpec = match parse_body(&body) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    match sim.add_fault(spec) {
        Ok(id) => ok(json!({"id": id})),
        Err(e) => bad(StatusCode::BAD_REQUEST, e),
    }
}

async fn delete_faults(State(sim): Sim) -> Response {
    sim.clear_faults();
    ok(json!({}))
}

async fn delete_fault(State(sim): Sim, Path(id): Path<String>) -> Response {
    match id.parse::<u64>() {
        Ok(id) if sim.with_faults(|f| f.remove(id)) => ok(json!({})),
        _ => bad(StatusCode::NOT_FOUND, format!("no fault {id}")),
    }
}

async fn get_limits(State(sim): Sim) -> Response {
    let config = sim.with_limits(|l| l.config.clone());
    ok(json!({"limits": config}))
}

#[derive(Debug, Deserialize)]
struct LimitsRequest {
    enabled: Option<bool>,
    rules: Option<Vec<LimitRule>>,
    message_per_member_minute: Option<usize>,
    message_per_member_hour: Option<usize>,
    preset: Option<String>,
    #[serde(default)]
    reset_counters: bool,
}

async fn post_limits(State(sim): Sim, body: Bytes) -> Response {
    let req: LimitsRequest = match parse_body(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let result = sim.with_limits(|l| {
        let mut config = match req.preset.as_deref() {
            None => l.config.clone(),
            Some("realistic") => LimitsConfig::realistic(),
            Some("off") => LimitsConfig::off(),
            Some(other) => return Err(format!("unknown preset {other:?} (realistic, off)")),
        };
        if let Some(e) = req.enabled {
            config.enabled = e;
        }
        if let Some(rules) = req.rules {
            config.rules = rules;
        }
        if let Some(n) = req.message_per_member_minute {
            config.message_per_member_minute = n;
        }
        if let Some(n) = req.message_per_member_hour {
            config.message_per_member_hour = n;
        }
        let rules_changed = config.rules != l.config.rules;
        l.config = config;
        if rules_changed || req.reset_counters {
            l.reset();
        }
        Ok(l.config.clone())
    });
    match result {
        Ok(config) => ok(json!({"limits": config})),
        Err(e) => bad(StatusCode::BAD_REQUEST, e),
    }
}

async fn get_inbox(State(sim): Sim, RawQuery(q): RawQuery) -> Response {
    let q = query(q);
    match q.get("user") {
        Some(user) => {
            let messages =
                sim.with_inbox(|ib| ib.of_user(user, q.get("account").map(String::as_str)));
            ok(json!({"user": user, "count": messages.len(), "messages": messages}))
        }
        None => {
            let users = sim.with_inbox(|ib| ib.users());
            ok(json!({"users": users}))
        }
    }
}

async fn delete_inbox(State(sim): Sim) -> Response {
    sim.with_inbox(|ib| ib.clear());
    ok(json!({}))
}

async fn get_inbox_html(State(sim): Sim, RawQuery(q): RawQuery) -> Response {
    let q = query(q);
    Html(sim.with_inbox(|ib| ib.html(q.get("user").map(String::as_str)))).into_response()
}

// ---------------------------------------------------------------------------------------
// Callbacks, pushes, identity helpers, account settings, suites.

use crate::callback::{ActionError, CallbackConfig, PushRequest, SenderSettings};

fn action_error(e: &ActionError) -> Response {
    let status = match e {
        ActionError::UnknownAccount(_) | ActionError::NotFound(_) => StatusCode::NOT_FOUND,
        ActionError::Invalid(_) => StatusCode::BAD_REQUEST,
    };
    bad(status, e.to_string())
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

pub(crate) fn more_routes() -> Router<Arc<SimState>> {
    Router::new()
        .route(
            "/sim/callbacks",
            get(get_callbacks)
                .post(post_callback)
                .delete(delete_callback),
        )
        .route(
            "/sim/callbacks/settings",
            get(get_sender_settings).post(post_sender_settings),
        )
        .route("/sim/callbacks/verify", post(post_verify))
        .route("/sim/push/{kind}", post(post_push))
        .route("/sim/pushes", get(get_pushes).delete(delete_pushes))
        .route("/sim/mp/login", post(post_mp_login))
        .route("/sim/mp/phone_code", post(post_mp_phone))
        .route("/sim/subscriptions", post(post_subscription))
        .route("/sim/oauth/code", post(post_oauth_code))
        .route("/sim/settings", post(post_settings))
        .route("/sim/suites", get(get_suites))
        .route("/sim/suites/{suite_id}/{action}", post(post_suite_action))
        .route("/sim/schedules/run", post(post_run_schedules))
        .route("/sim/jsapi/check", post(post_jsapi_check))
}

async fn get_callbacks(State(sim): Sim) -> Response {
    ok(json!({"callbacks": to_json(&sim.callbacks())}))
}

#[derive(Debug, Deserialize)]
struct RegisterRequest {
    #[serde(flatten)]
    config: CallbackConfig,
    #[serde(default)]
    verify: bool,
}

/// `POST /sim/callbacks`: register; with `"verify": true` also run the URL verification.
async fn post_callback(State(sim): Sim, body: Bytes) -> Response {
    let req: RegisterRequest = match parse_body(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let cfg = match sim.register_callback(req.config) {
        Ok(c) => c,
        Err(e) => return action_error(&e),
    };
    let mut out = json!({"callback": to_json(&cfg)});
    if req.verify {
        match sim.verify_url(&cfg.account).await {
            Ok(v) => {
                if let Some(o) = out.as_object_mut() {
                    o.insert("verification".into(), to_json(&v));
                }
            }
            Err(e) => return action_error(&e),
        }
    }
    ok(out)
}

async fn delete_callback(State(sim): Sim, RawQuery(q): RawQuery) -> Response {
    let q = query(q);
    let Some(account) = q.get("account") else {
        return bad(StatusCode::BAD_REQUEST, "account is required");
    };
    if sim.unregister_callback(account) {
        ok(json!({}))
    } else {
        bad(StatusCode::NOT_FOUND, format!("no callback for {account}"))
    }
}

async fn get_sender_settings(State(sim): Sim) -> Response {
    ok(json!({"settings": to_json(&sim.with_callbacks(|c| c.settings))}))
}

#[derive(Debug, Deserialize)]
struct SenderSettingsPatch {
    timeout_ms: Option<u64>,
    attempts: Option<u32>,
    retry_delay_ms: Option<u64>,
    strict_receive_id: Option<bool>,
}

async fn post_sender_settings(State(sim): Sim, body: Bytes) -> Response {
    let p: SenderSettingsPatch = match parse_body(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let s: SenderSettings = sim.with_callbacks(|c| {
        if let Some(v) = p.timeout_ms {
            c.settings.timeout_ms = v.max(1);
        }
        if let Some(v) = p.attempts {
            c.settings.attempts = v.max(1);
        }
        if let Some(v) = p.retry_delay_ms {
            c.settings.retry_delay_ms = v;
        }
        if let Some(v) = p.strict_receive_id {
            c.settings.strict_receive_id = v;
        }
        c.settings
    });
    ok(json!({"settings": to_json(&s)}))
}

#[derive(Debug, Deserialize)]
struct AccountRequest {
    account: String,
}

async fn post_verify(State(sim): Sim, body: Bytes) -> Response {
    let req: AccountRequest = match parse_body(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match sim.verify_url(&req.account).await {
        Ok(v) => ok(json!({"verification": to_json(&v)})),
        Err(e) => action_error(&e),
    }
}

/// `POST /sim/push/{kind}`: the body is a [`PushRequest`] without `kind`.
async fn post_push(State(sim): Sim, Path(kind): Path<String>, body: Bytes) -> Response {
    let mut v: Value = match parse_body(&body) {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let Some(obj) = v.as_object_mut() else {
        return bad(StatusCode::BAD_REQUEST, "body must be a JSON object");
    };
    obj.insert("kind".into(), json!(kind));
    let req: PushRequest = match serde_json::from_value(v) {
        Ok(r) => r,
        Err(e) => return bad(StatusCode::BAD_REQUEST, format!("bad push request: {e}")),
    };
    match sim.push(req).await {
        Ok(outcome) => ok(json!({"outcome": to_json(&outcome)})),
        Err(e) => action_error(&e),
    }
}

async fn get_pushes(State(sim): Sim, RawQuery(q): RawQuery) -> Response {
    let q = query(q);
    let list = sim.pushes(q.get("account").map(String::as_str));
    ok(json!({"count": list.len(), "pushes": to_json(&list)}))
}

async fn delete_pushes(State(sim): Sim) -> Response {
    sim.with_callbacks(|c| c.clear_log());
    ok(json!({}))
}

#[derive(Debug, Deserialize)]
struct MpUserRequest {
    appid: String,
    openid: String,
}

async fn post_mp_login(State(sim): Sim, body: Bytes) -> Response {
    let req: MpUserRequest = match parse_body(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match crate::api::sns::mp_code(&sim, &req.appid, &req.openid, false) {
        Ok(code) => ok(json!({"code": code, "expires_in": sim.options().code_ttl_secs})),
        Err(e) => bad(StatusCode::NOT_FOUND, e),
    }
}

async fn post_mp_phone(State(sim): Sim, body: Bytes) -> Response {
    let req: MpUserRequest = match parse_body(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match crate::api::sns::mp_code(&sim, &req.appid, &req.openid, true) {
        Ok(code) => ok(json!({"code": code, "expires_in": sim.options().code_ttl_secs})),
        Err(e) => bad(StatusCode::NOT_FOUND, e),
    }
}

#[derive(Debug, Deserialize)]
struct SubscriptionRequest {
    appid: String,
    openid: String,
    template_id: String,
    #[serde(default)]
    count: Option<u32>,
}

async fn post_subscription(State(sim): Sim, body: Bytes) -> Response {
    let req: SubscriptionRequest = match parse_body(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match crate::api::sns::grant_subscription(
        &sim,
        &req.appid,
        &req.openid,
        &req.template_id,
        req.count.unwrap_or(1),
    ) {
        Ok(n) => ok(json!({"remaining": n})),
        Err(e) => bad(StatusCode::NOT_FOUND, e),
    }
}

#[derive(Debug, Deserialize)]
struct OAuthCodeRequest {
    appid: String,
    user: String,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    agentid: Option<u32>,
}

/// `POST /sim/oauth/code`: the code a login page would issue, without the page.
async fn post_oauth_code(State(sim): Sim, body: Bytes) -> Response {
    let req: OAuthCodeRequest = match parse_body(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match sim.oauth_code(&req.appid, &req.user, req.scope.as_deref(), req.agentid) {
        Ok(code) => ok(json!({"code": code, "expires_in": sim.options().code_ttl_secs})),
        Err(e) => action_error(&e),
    }
}

async fn post_settings(State(sim): Sim, body: Bytes) -> Response {
    let req: crate::state::AccountSettings = match parse_body(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match sim.apply_settings(&req) {
        Ok(v) => ok(json!({"settings": v})),
        Err(e) => action_error(&e),
    }
}

async fn get_suites(State(sim): Sim) -> Response {
    let now = sim.now();
    let list = sim.with_world(|w| {
        w.suites
            .values()
            .map(|s| {
                json!({
                    "suite_id": s.seed.suite_id,
                    "name": s.seed.name,
                    "provider_corpid": s.seed.provider_corpid,
                    "current_ticket": s.current_ticket(now),
                    "next_ticket_at": s.next_ticket_at,
                    "auths": to_json(&s.auths.values().collect::<Vec<_>>()),
                })
            })
            .collect::<Vec<_>>()
    });
    ok(json!({"suites": list}))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct SuiteActionRequest {
    corpid: String,
    state: String,
}

/// `POST /sim/suites/{suite_id}/{ticket|install|change|cancel}`.
async fn post_suite_action(
    State(sim): Sim,
    Path((suite_id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    use crate::callback::PushEvent;
    let req: SuiteActionRequest = match parse_body(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let event = match action.as_str() {
        "ticket" => PushEvent::SuiteTicket,
        "install" => PushEvent::CreateAuth {
            corpid: req.corpid,
            state: req.state,
        },
        "change" => PushEvent::ChangeAuth { corpid: req.corpid },
        "cancel" => PushEvent::CancelAuth { corpid: req.corpid },
        other => {
            return bad(
                StatusCode::NOT_FOUND,
                format!("unknown action {other:?} (ticket, install, change, cancel)"),
            );
        }
    };
    match sim.push(PushRequest::new(suite_id, "", event)).await {
        Ok(outcome) => ok(json!({"outcome": to_json(&outcome)})),
        Err(e) => action_error(&e),
    }
}

async fn post_run_schedules(State(sim): Sim) -> Response {
    let done = sim.run_schedules().await;
    ok(json!({"pushes": to_json(&done)}))
}

#[derive(Debug, Deserialize)]
struct JsapiCheck {
    account: String,
    url: String,
    noncestr: String,
    timestamp: String,
    signature: String,
    #[serde(default)]
    ticket_type: Option<String>,
}

/// `POST /sim/jsapi/check`: what `wx.config` would say about a signature (reference §2.6,
/// §4.10, §7 row 16). `account`: appid, corpid, or `corpid/<agentid>` (agentConfig).
async fn post_jsapi_check(State(sim): Sim, body: Bytes) -> Response {
    let req: JsapiCheck = match parse_body(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let now = sim.now();
    let kind = req.ticket_type.clone().unwrap_or_else(|| {
        if req.account.contains('/') {
            "agent_config".into()
        } else {
            "jsapi".into()
        }
    });
    let ticket = sim.with_world(|w| {
        w.identity
            .js_tickets
            .get(&(req.account.clone(), kind))
            .filter(|(_, exp)| *exp > now)
            .map(|(t, _)| t.clone())
    });
    let Some(ticket) = ticket else {
        return bad(
            StatusCode::NOT_FOUND,
            "no valid ticket issued for this account",
        );
    };
    let page = req.url.split('#').next().unwrap_or("");
    let expected = wx::crypto::jsapi_signature(&ticket, &req.noncestr, &req.timestamp, page);
    let valid = expected.as_str() == req.signature.to_ascii_lowercase();
    ok(json!({"valid": valid, "errcode_if_invalid": 63002, "expected_url": page}))
}
