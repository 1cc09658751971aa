//! The request log: every call to a Tencent endpoint with its credential and the errcode it
//! got, so a test can count what a client really sent (`GET /sim/requests`).

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::faults::credential_matches;
use crate::role::Role;

/// Most entries kept; older ones are dropped (and counted in `dropped`).
pub const LOG_CAPACITY: usize = 200_000;

/// One call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Sequence number (1, 2, ...).
    pub seq: u64,
    /// Simulator time (Unix ms).
    pub at_ms: i64,
    /// Role.
    pub role: Role,
    /// HTTP method.
    pub method: String,
    /// Path without role prefix.
    pub path: String,
    /// Credential label: appid, `corpid/<agentid>`, `corpid/contacts`,
    /// `corpid/?<sha1-prefix>` for an unknown secret; absent for an unknown token.
    pub credential: Option<String>,
    /// Errcode answered (0 when the success body omits it); absent for an injected HTTP error.
    pub errcode: Option<i64>,
    /// HTTP status answered.
    pub http_status: u16,
    /// Answer came from an injected fault.
    pub injected: bool,
    /// Caller IP.
    pub ip: String,
}

/// Filter of `GET /sim/requests`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RequestFilter {
    /// Path (without role prefix).
    pub path: Option<String>,
    /// Credential (exact, or corpid for all of its secrets).
    pub credential: Option<String>,
    /// Role.
    pub role: Option<Role>,
    /// Errcode.
    pub errcode: Option<i64>,
    /// Only records with a larger seq.
    pub since: Option<u64>,
}

impl RequestFilter {
    /// Filter on a path.
    pub fn path(path: &str) -> Self {
        Self {
            path: Some(path.into()),
            ..Self::default()
        }
    }

    /// Also on a credential.
    pub fn credential(mut self, credential: &str) -> Self {
        self.credential = Some(credential.into());
        self
    }

    /// True when `r` passes.
    pub fn matches(&self, r: &RequestRecord) -> bool {
        self.path.as_ref().is_none_or(|p| *p == r.path)
            && self.role.is_none_or(|role| role == r.role)
            && self.errcode.is_none_or(|e| Some(e) == r.errcode)
            && self.since.is_none_or(|s| r.seq > s)
            && self.credential.as_ref().is_none_or(|c| {
                r.credential
                    .as_deref()
                    .is_some_and(|got| credential_matches(c, got))
            })
    }
}

/// Aggregate answer of a query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RequestSummary {
    /// Matching calls.
    pub total: usize,
    /// Count per errcode (`"http_<status>"` for injected HTTP errors).
    pub by_errcode: BTreeMap<String, usize>,
    /// Count per path.
    pub by_path: BTreeMap<String, usize>,
}

/// The log.
#[derive(Debug, Default)]
pub struct RequestLog {
    entries: VecDeque<RequestRecord>,
    next_seq: u64,
    dropped: u64,
}

impl RequestLog {
    /// Appends a record; assigns its seq.
    pub fn push(&mut self, mut r: RequestRecord) {
        self.next_seq += 1;
        r.seq = self.next_seq;
        if self.entries.len() >= LOG_CAPACITY {
            self.entries.pop_front();
            self.dropped += 1;
        }
        self.entries.push_back(r);
    }

    /// Matching records, oldest first.
    pub fn query(&self, f: &RequestFilter) -> Vec<RequestRecord> {
        self.entries
            .iter()
            .filter(|r| f.matches(r))
            .cloned()
            .collect()
    }

    /// Counts of matching records.
    pub fn summary(&self, f: &RequestFilter) -> RequestSummary {
        let mut s = RequestSummary::default();
        for r in self.entries.iter().filter(|r| f.matches(r)) {
            s.total += 1;
            let key = r
                .errcode
                .map_or_else(|| format!("http_{}", r.http_status), |e| e.to_string());
            *s.by_errcode.entry(key).or_default() += 1;
            *s.by_path.entry(r.path.clone()).or_default() += 1;
        }
        s
    }

    /// Number of records kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Records dropped for capacity.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Forgets everything (seq keeps counting).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.dropped = 0;
    }
}
