//! The only places where Qiao shows a secret in clear, each to someone allowed to see it.
//!
//! Everywhere else secrets are masked ([`super::mask`]) and the leak check of the test suite
//! fails if one appears in a response body or a process's output. Each entry below names the
//! place and who may see it; tests show that each refuses a caller without the right role.

/// A place that reveals a secret on purpose.
#[derive(Debug, Clone, Copy)]
pub struct Reveal {
    /// Where: an HTTP route (`METHOD /path`) or a CLI command.
    pub place: &'static str,
    /// Who may see it.
    pub allowed: &'static str,
}

pub const REVEALS: &[Reveal] = &[
    Reveal {
        place: "GET /api/v1/tokens/{channel} (the token broker)",
        allowed: "an API key with the tokens scope",
    },
    Reveal {
        place: "GET /api/v1/callbacks/{id}/values (Token and EncodingAESKey to paste into the back office)",
        allowed: "an API key with the admin scope",
    },
    Reveal {
        place: "POST /api/v1/api-keys (the new key, once)",
        allowed: "an API key with the admin scope",
    },
    Reveal {
        place: "POST /console/api-keys (the page shown right after creating a key)",
        allowed: "a console user with the super admin role",
    },
    Reveal {
        place: "qiao admin create-api-key (stdout, without --output)",
        allowed: "the operator at the server's shell",
    },
    Reveal {
        place: "POST /api/v1/business-systems/{id}/api-keys (the new key bound to the system, once)",
        allowed: "an API key with the admin scope (a key bound to a system: that system only)",
    },
    Reveal {
        place: "POST /console/business-systems/{id}/api-keys (the page shown right after creating a key)",
        allowed: "a console user with the super admin role",
    },
    Reveal {
        place: "POST /api/v1/business-systems/{id}/webhook-subscriptions (the signing secret, once)",
        allowed: "an API key with the admin scope (a key bound to a system: that system only)",
    },
    Reveal {
        place: "POST /console/business-systems/{id}/webhook-subscriptions (the page shown right after creating a subscription)",
        allowed: "a console user with the admin or super admin role",
    },
];
