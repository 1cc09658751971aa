//! [`ApiError`]: what can go wrong with one API call. Reference §0.2 (envelope), §2.14 and
//! §4.17 (codes, classified by [`crate::errcode`]).
//!
//! No variant ever carries a token or a secret: URLs are redacted when the error is built
//! ([`super::redact_url`]), transport messages go through [`super::redact_text`], and decode
//! errors keep only serde's category and position, never the offending value.

use crate::errcode::{Product, Reaction, WxApiError, classify};

/// How a request failed below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// Could not connect (DNS, refused, connect timeout): the request was **not** sent.
    Connect,
    /// Timed out after the request may have been sent (outcome unknown).
    Timeout,
    /// Anything else (connection reset, body error…): outcome unknown.
    Other,
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "connect",
            TransportKind::Timeout => "timeout",
            TransportKind::Other => "transport",
        })
    }
}

/// The failure of one API call. `api` is the endpoint path (`/cgi-bin/message/send`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// Network or timeout; `url` is redacted.
    #[error("{api}: {kind} error: {message} ({url})")]
    Transport {
        /// Endpoint path.
        api: String,
        /// The request URL with every credential replaced by `***`.
        url: String,
        /// What kind of failure.
        kind: TransportKind,
        /// Redacted description of the cause.
        message: String,
    },
    /// A non-2xx HTTP status (the body is not an API envelope).
    #[error("{api}: HTTP status {status}")]
    HttpStatus {
        /// Endpoint path.
        api: String,
        /// The status.
        status: u16,
    },
    /// The body is not the expected JSON.
    #[error("{api}: cannot decode the response: {message}")]
    Decode {
        /// Endpoint path.
        api: String,
        /// What did not fit (no values quoted).
        message: String,
    },
    /// The platform answered a non-zero `errcode` (errmsg, rid/hint and caller IP inside).
    #[error("{api}: {error}")]
    Wx {
        /// Endpoint path.
        api: String,
        /// The code, the message and the diagnostics extracted from it.
        #[source]
        error: Box<WxApiError>,
    },
    /// A credential the call needs is not available yet (for example no `suite_ticket` has
    /// been pushed since the start, reference §5.3).
    #[error("{api}: {message}")]
    Unavailable {
        /// Endpoint path.
        api: String,
        /// What is missing.
        message: String,
    },
}

impl ApiError {
    /// The endpoint path.
    pub fn api(&self) -> &str {
        match self {
            ApiError::Transport { api, .. }
            | ApiError::HttpStatus { api, .. }
            | ApiError::Decode { api, .. }
            | ApiError::Wx { api, .. }
            | ApiError::Unavailable { api, .. } => api,
        }
    }

    /// The platform error, if the platform answered one.
    pub fn wx(&self) -> Option<&WxApiError> {
        match self {
            ApiError::Wx { error, .. } => Some(&**error),
            _ => None,
        }
    }

    /// The errcode, if the platform answered one.
    pub fn errcode(&self) -> Option<i64> {
        self.wx().map(|e| e.errcode)
    }

    /// What to do about this error when calling a `product` API: platform codes per
    /// [`classify`]; network errors, 429 and 5xx back off; undecodable bodies are permanent;
    /// a missing credential is a configuration problem.
    pub fn reaction(&self, product: Product) -> Reaction {
        match self {
            ApiError::Transport { .. } => Reaction::BackOff,
            ApiError::HttpStatus { status, .. } => Reaction::for_http_status(*status),
            ApiError::Decode { .. } => Reaction::Permanent,
            ApiError::Wx { error, .. } => classify(product, error.errcode),
            ApiError::Unavailable { .. } => Reaction::ConfigError,
        }
    }

    /// True when the error proves the platform did nothing, so even a non-idempotent send
    /// may be repeated: the connection was never made, HTTP 429, a token error, or a
    /// frequency/concurrency limit (a [`Reaction::BackOff`] code other than -1 "system
    /// busy", whose outcome is unknown).
    pub fn proves_nothing_done(&self, product: Product) -> bool {
        match self {
            ApiError::Transport { kind, .. } => *kind == TransportKind::Connect,
            ApiError::HttpStatus { status, .. } => *status == 429,
            ApiError::Wx { error, .. } => match classify(product, error.errcode) {
                Reaction::RefreshTokenAndRetryOnce => true,
                Reaction::BackOff => error.errcode != -1,
                _ => false,
            },
            ApiError::Decode { .. } | ApiError::Unavailable { .. } => false,
        }
    }
}
