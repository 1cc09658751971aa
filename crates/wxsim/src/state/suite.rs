//! WeCom third-party suites (reference §5): tickets, pre-auth codes, authorisations.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::seed::SuiteSeed;

/// How long a suite_ticket stays valid (30 min).
pub const TICKET_TTL_SECS: i64 = 1800;
/// Lifetime of a pre_auth_code (20 min).
pub const PRE_AUTH_TTL_SECS: i64 = 1200;
/// Lifetime of an auth_code (10 min).
pub const AUTH_CODE_TTL_SECS: i64 = 600;

/// An authorisation of the suite by a corp.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteAuth {
    /// Authorising corp.
    pub corpid: String,
    /// Permanent code (also the secret of the app inside the corp).
    pub permanent_code: String,
    /// Agent id of the app inside the corp.
    pub agentid: u32,
    /// The admin who installed.
    pub installer: String,
    /// Install time.
    pub installed_at: i64,
    /// `state` of the install link.
    pub state: String,
    /// 0 formal, 1 test authorisation.
    pub auth_type: u8,
}

/// A suite and its authorisations.
#[derive(Debug, Clone)]
pub struct Suite {
    /// Seed data.
    pub seed: SuiteSeed,
    /// Issued tickets (newest last) with their issue time.
    pub tickets: Vec<(String, i64)>,
    /// Next scheduled ticket push (simulator time); 0 = as soon as a callback exists.
    pub next_ticket_at: i64,
    /// pre_auth_code → (expires_at, auth_type).
    pub pre_auth_codes: HashMap<String, (i64, u8)>,
    /// Authorisations by corpid.
    pub auths: BTreeMap<String, SuiteAuth>,
}

impl Suite {
    /// A suite without history.
    pub fn new(seed: SuiteSeed) -> Self {
        Self {
            seed,
            tickets: Vec::new(),
            next_ticket_at: 0,
            pre_auth_codes: HashMap::new(),
            auths: BTreeMap::new(),
        }
    }

    /// True when `ticket` was issued less than 30 minutes ago.
    pub fn ticket_valid(&self, ticket: &str, now: i64) -> bool {
        self.tickets
            .iter()
            .any(|(t, at)| t == ticket && now - at < TICKET_TTL_SECS)
    }

    /// Issues a new ticket.
    pub fn new_ticket(&mut self, now: i64) -> String {
        let t = crate::util::random_token(64);
        self.tickets.retain(|(_, at)| now - at < TICKET_TTL_SECS);
        self.tickets.push((t.clone(), now));
        t
    }

    /// The newest ticket still valid.
    pub fn current_ticket(&self, now: i64) -> Option<&str> {
        self.tickets
            .iter()
            .rev()
            .find(|(_, at)| now - at < TICKET_TTL_SECS)
            .map(|(t, _)| t.as_str())
    }

    /// The authorisation of a corp with a matching permanent code.
    pub fn auth_by_code(&self, corpid: &str, permanent_code: &str) -> Option<&SuiteAuth> {
        self.auths
            .get(corpid)
            .filter(|a| a.permanent_code == permanent_code)
    }
}
