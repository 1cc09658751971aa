//! Configuration of a simulator instance.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::limits::LimitsConfig;
use crate::seed::Seed;
use crate::state::tokens::TokenPolicy;

/// Behaviour switches that are not part of the seed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimOptions {
    /// Token lifetime (`expires_in`), seconds.
    pub token_ttl_secs: i64,
    /// OA: how long a token stays valid after a newer `cgi-bin/token` call (§2.1.1).
    pub oa_token_grace_secs: i64,
    /// OA: how long the old stable token stays valid after `force_refresh` (0 = at once).
    pub stable_force_grace_secs: i64,
    /// OA: forced stable-token refreshes per day.
    pub stable_force_daily_max: usize,
    /// OA: forced refreshes closer than this to the last issue return the same token.
    pub stable_force_min_interval_secs: i64,
    /// OA template messages: `client_msg_id` de-duplication window (unverified, ~10 min).
    pub template_dedup_secs: i64,
    /// Add `rid:` (OA) / `hint: ..., from ip: ..., more info at ...` (WeCom) to errmsg.
    pub errmsg_tails: bool,
    /// Answer 40033 to JSON bodies that escape non-ASCII characters as `\uXXXX` (§0.2).
    pub reject_unicode_escapes: bool,
    /// Callback sender: how long to wait for the developer's answer (Tencent: 5000 ms).
    pub callback_timeout_ms: u64,
    /// Callback sender: deliveries of one push, the first included (Tencent: 3).
    pub callback_attempts: u32,
    /// Callback sender: pause between two deliveries (the timeout itself already spaces them).
    pub callback_retry_delay_ms: u64,
    /// Header whose value, when it parses as an IP, is taken as the caller's IP (request log,
    /// `from ip:` tails, IP whitelists); `None` = always the socket peer.
    pub client_ip_header: Option<String>,
    /// Tencent's stricter redirect-domain rules for OAuth and login pages: no IP address and
    /// no port in `redirect_uri` (off by default so tests on 127.0.0.1 work).
    pub strict_redirect_domains: bool,
    /// Lifetime of OAuth codes, Mini Program login codes and phone codes (300 s).
    pub code_ttl_secs: i64,
    /// Interval of the suite_ticket pushes on the simulator clock (600 s).
    pub suite_ticket_interval_secs: i64,
    /// How often (real time) the scheduler looks for due suite_ticket pushes; 0 = never
    /// (tests call `SimState::run_schedules`).
    pub scheduler_tick_ms: u64,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            token_ttl_secs: 7200,
            oa_token_grace_secs: 300,
            stable_force_grace_secs: 0,
            stable_force_daily_max: 20,
            stable_force_min_interval_secs: 30,
            template_dedup_secs: 600,
            errmsg_tails: true,
            reject_unicode_escapes: true,
            callback_timeout_ms: 5000,
            callback_attempts: 3,
            callback_retry_delay_ms: 0,
            client_ip_header: Some("X-Sim-Client-Ip".into()),
            strict_redirect_domains: false,
            code_ttl_secs: 300,
            suite_ticket_interval_secs: 600,
            scheduler_tick_ms: 500,
        }
    }
}

impl SimOptions {
    pub(crate) fn token_policy(&self) -> TokenPolicy {
        TokenPolicy {
            ttl: self.token_ttl_secs,
            oa_grace: self.oa_token_grace_secs,
            stable_force_grace: self.stable_force_grace_secs,
            stable_force_daily_max: self.stable_force_daily_max,
            stable_force_min_interval: self.stable_force_min_interval_secs,
        }
    }
}

/// How to start a [`crate::Simulator`].
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Listen address; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Initial world.
    pub seed: Seed,
    /// Frequency limits (`LimitsConfig::off()` to disable).
    pub limits: LimitsConfig,
    /// Behaviour switches.
    pub options: SimOptions,
}

impl Default for SimConfig {
    /// `127.0.0.1:0`, the demo seed, realistic limits, default options.
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: Seed::demo(),
            limits: LimitsConfig::realistic(),
            options: SimOptions::default(),
        }
    }
}
