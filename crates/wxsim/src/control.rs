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
                    "/sim/requests", "/sim/faults", "/sim/limits", "/sim/inbox", "/sim/inbox.html"],
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
