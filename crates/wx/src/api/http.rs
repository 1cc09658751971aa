//! [`HttpClient`]: one `reqwest::Client` with timeouts, JSON without `\uXXXX` escapes, the
//! response envelope decoded by [`crate::errcode`], redacted errors and an observer hook.
//! Reference §0.2 and §7 rows 4–5.

use std::error::Error as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use super::error::{ApiError, TransportKind};
use super::redact::{redact_text, redact_url};
use crate::errcode::{ResponseError, error_of};

/// Timeouts and identification of an [`HttpClient`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// TCP + TLS connect timeout (default 5 s).
    pub connect_timeout: Duration,
    /// Whole-request timeout, applied to every call (default 15 s).
    pub timeout: Duration,
    /// `User-Agent` header.
    pub user_agent: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(15),
            user_agent: concat!("wx-rust/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// What the observer hears about each HTTP exchange (no URL, no token: the path only).
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord<'a> {
    /// Endpoint path, e.g. `/cgi-bin/message/send`.
    pub api: &'a str,
    /// `GET` or `POST`.
    pub method: &'static str,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// The platform's errcode (0 on success), when a JSON envelope arrived.
    pub errcode: Option<i64>,
    /// Time from sending to the decoded answer.
    pub duration: Duration,
}

/// A metrics hook called after every exchange.
pub type Observer = Arc<dyn Fn(&CallRecord<'_>) + Send + Sync>;

/// The HTTP transport shared by every typed client. Cheap to clone (one connection pool).
///
/// Tokens travel as query parameters (`access_token=`, `suite_access_token=`…, reference
/// §0.2); bodies are UTF-8 JSON with non-ASCII kept raw. Every call has a timeout.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    timeout: Duration,
    observer: Option<Observer>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("timeout", &self.timeout)
            .field("observer", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

/// Serialises a request body as JSON. serde_json writes non-ASCII characters as raw UTF-8
/// (never `\uXXXX`, which the platform rejects with 40033, reference §0.2).
pub fn json_body<B: Serialize + ?Sized>(body: &B) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(body)
}

/// `base` + `path` (the base may carry a path prefix, e.g. a private deployment mounted
/// under `/wecom`) + `query`.
pub fn build_url(base: &Url, path: &str, query: &[(&str, &str)]) -> Url {
    let mut url = base.clone();
    let joined = format!(
        "{}/{}",
        base.path().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    url.set_path(&joined);
    url.set_query(None);
    url.set_fragment(None);
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    url
}

fn decode_message(e: &serde_json::Error, what: &str) -> String {
    format!(
        "{what}: {:?} error at line {} column {}",
        e.classify(),
        e.line(),
        e.column()
    )
}

impl HttpClient {
    /// A client with the default [`HttpConfig`] (connect 5 s, request 15 s).
    pub fn new() -> Result<Self, reqwest::Error> {
        Self::with_config(&HttpConfig::default())
    }

    /// A client with the given timeouts. Redirects are not followed (a redirect could carry
    /// the token to another host).
    pub fn with_config(config: &HttpConfig) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .user_agent(config.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self::from_client(client, config.timeout))
    }

    /// Wraps an existing `reqwest::Client` (custom DNS, proxy, TLS roots…); `timeout` is
    /// applied to every request.
    pub fn from_client(client: reqwest::Client, timeout: Duration) -> Self {
        Self {
            client,
            timeout,
            observer: None,
        }
    }

    /// Installs a metrics hook.
    #[must_use]
    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `GET base+path?query`, envelope checked, body decoded as `T`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        base: &Url,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, ApiError> {
        let url = build_url(base, path, query);
        let value = self.exchange(reqwest::Method::GET, path, url, None).await?;
        Self::decode(path, value)
    }

    /// `POST base+path?query` with a JSON body, envelope checked, body decoded as `T`.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        base: &Url,
        path: &str,
        query: &[(&str, &str)],
        body: &B,
    ) -> Result<T, ApiError> {
        let url = build_url(base, path, query);
        let bytes = json_body(body).map_err(|e| ApiError::Decode {
            api: path.to_owned(),
            message: decode_message(&e, "cannot serialise the request"),
        })?;
        let value = self
            .exchange(reqwest::Method::POST, path, url, Some(bytes))
            .await?;
        Self::decode(path, value)
    }

    fn decode<T: DeserializeOwned>(api: &str, value: Value) -> Result<T, ApiError> {
        serde_json::from_value(value).map_err(|e| ApiError::Decode {
            api: api.to_owned(),
            message: decode_message(&e, std::any::type_name::<T>()),
        })
    }

    fn transport(api: &str, url: &Url, e: reqwest::Error) -> ApiError {
        let kind = if e.is_connect() {
            TransportKind::Connect
        } else if e.is_timeout() {
            TransportKind::Timeout
        } else {
            TransportKind::Other
        };
        let e = e.without_url();
        let mut message = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        ApiError::Transport {
            api: api.to_owned(),
            url: redact_url(url),
            kind,
            message: redact_text(&message).into_owned(),
        }
    }

    fn observe(
        &self,
        api: &str,
        method: &'static str,
        status: Option<u16>,
        errcode: Option<i64>,
        started: Instant,
    ) {
        let duration = started.elapsed();
        tracing::debug!(
            api,
            method,
            status,
            errcode,
            duration_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            "wx api call"
        );
        if let Some(observer) = &self.observer {
            observer(&CallRecord {
                api,
                method,
                status,
                errcode,
                duration,
            });
        }
    }

    /// Sends, reads and checks the envelope; returns the JSON body of a success.
    async fn exchange(
        &self,
        method: reqwest::Method,
        api: &str,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<Value, ApiError> {
        let method_name = if method == reqwest::Method::POST {
            "POST"
        } else {
            "GET"
        };
        let started = Instant::now();
        let mut request = self
            .client
            .request(method, url.clone())
            .timeout(self.timeout);
        if let Some(body) = body {
            request = request
                .header(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/json; charset=utf-8"),
                )
                .body(body);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                self.observe(api, method_name, None, None, started);
                return Err(Self::transport(api, &url, e));
            }
        };
        let status = response.status().as_u16();
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                self.observe(api, method_name, Some(status), None, started);
                return Err(Self::transport(api, &url, e));
            }
        };
        if !(200..300).contains(&status) {
            self.observe(api, method_name, Some(status), None, started);
            return Err(ApiError::HttpStatus {
                api: api.to_owned(),
                status,
            });
        }
        let value: Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => {
                self.observe(api, method_name, Some(status), None, started);
                return Err(ApiError::Decode {
                    api: api.to_owned(),
                    message: decode_message(&e, "response is not JSON"),
                });
            }
        };
        match error_of(&value) {
            Ok(None) => {
                self.observe(api, method_name, Some(status), Some(0), started);
                Ok(value)
            }
            Ok(Some(error)) => {
                self.observe(api, method_name, Some(status), Some(error.errcode), started);
                Err(ApiError::Wx {
                    api: api.to_owned(),
                    error: Box::new(error),
                })
            }
            Err(e) => {
                self.observe(api, method_name, Some(status), None, started);
                let message = match e {
                    ResponseError::NotAnObject => "response is not a JSON object".to_owned(),
                    ResponseError::BadErrcode(_) => "errcode is not an integer".to_owned(),
                    other => redact_text(&other.to_string()).into_owned(),
                };
                Err(ApiError::Decode {
                    api: api.to_owned(),
                    message,
                })
            }
        }
    }
}
