//! An instrumented HTTP client for calls to other services.
//!
//! - Timeouts: `connect_timeout`, and `request_timeout` for each attempt (from
//!   sending until the body is read).
//! - Retries for idempotent methods only (GET, HEAD, PUT, DELETE, OPTIONS, TRACE):
//!   - on connect errors, timeouts and other transport failures, after an
//!     exponential backoff with full jitter;
//!   - on 5xx (except 501 and 505) and 429, honouring `Retry-After` up to
//!     `backoff_max`. A server that asks for a longer pause gets its answer passed
//!     back instead.
//! - A retry budget caps retries at a share of recent requests, so an outage of the
//!   service called is not multiplied by `max_retries + 1`.
//! - Bodies above `max_body_bytes` are an error. A declared length is refused before
//!   reading; a stream is abandoned once it passes the limit.
//! - Each attempt gets a `client` span with the OpenTelemetry HTTP attributes and
//!   sends the trace context on (`traceparent`, via [`crate::otel::inject`]).
//! - Each attempt is counted in `http_client_requests_total` and
//!   `http_client_request_duration_seconds` (`status="error"` when no usable
//!   response came), each retry in `http_client_retries_total`. A constant
//!   `client` label (the client's name) keeps the series of several clients apart.
//!
//! Plain HTTP only: no TLS backend is compiled in. Inside the cluster, TLS is the
//! service mesh's job. Redirects are returned, not followed.
//!
//! ```no_run
//! use podkit::client::{ClientConfig, HttpClient};
//!
//! # async fn demo(metrics: &podkit::Metrics) -> Result<(), Box<dyn std::error::Error>> {
//! let rates = HttpClient::build("rates", ClientConfig::default(), Some(metrics))?;
//! let res = rates.get("http://rates.fx.svc:8080/v1/rates/EUR").await?.error_for_status()?;
//! let body: serde_json::Value = res.json()?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::http::{header, HeaderMap, Method, StatusCode};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tracing::{field, Instrument};
use url::Url;

use crate::config::{byte_size, duration};
use crate::metrics::{Metrics, MetricsError};

/// A client's section in the service's config, e.g. `rates_client:`.
///
/// ```yaml
/// rates_client:
///   connect_timeout: 2s
///   request_timeout: 10s
///   max_retries: 3
///   backoff_base: 100ms
///   backoff_max: 2s
///   retry_budget: {ratio: 0.2, min_per_second: 1, window: 10s}
///   max_body_bytes: 10MiB
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientConfig {
    /// Time to open a TCP connection. `connect_timeout: 2s`
    #[serde(with = "duration")]
    pub connect_timeout: Duration,
    /// Time for one attempt, from sending to the last body byte. `request_timeout: 10s`
    #[serde(with = "duration")]
    pub request_timeout: Duration,
    /// Retries after the first attempt, for idempotent methods. `max_retries: 3`
    pub max_retries: u32,
    /// The first retry waits up to this long; each one after waits up to twice as
    /// long as the one before. `backoff_base: 100ms`
    #[serde(with = "duration")]
    pub backoff_base: Duration,
    /// The longest wait before a retry, also the longest `Retry-After` honoured.
    /// `backoff_max: 2s`
    #[serde(with = "duration")]
    pub backoff_max: Duration,
    /// How many retries the client may spend. `retry_budget: {ratio: 0.2}`
    pub retry_budget: RetryBudgetConfig,
    /// Largest response body accepted; a larger one is an error.
    /// `max_body_bytes: 10MiB` (bytes, or with KiB/MiB)
    #[serde(with = "byte_size")]
    pub max_body_bytes: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
            max_retries: 3,
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(2),
            retry_budget: RetryBudgetConfig::default(),
            max_body_bytes: 10 * 1024 * 1024,
        }
    }
}

/// `retry_budget:` — a token bucket shared by all calls of one client. Each request
/// adds `ratio` tokens and each retry takes one. Tokens expire after `window`.
/// A reserve of `min_per_second × window` tokens lets a quiet client still retry.
/// Over any window, retries stay within `ratio × requests + min_per_second × window`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryBudgetConfig {
    /// Retries allowed per request made. `ratio: 0.2` (20% extra load at most)
    pub ratio: f64,
    /// Retries allowed per second whatever the traffic. `min_per_second: 1`
    pub min_per_second: u32,
    /// How long a request's deposit counts. `window: 10s`
    #[serde(with = "duration")]
    pub window: Duration,
}

impl Default for RetryBudgetConfig {
    fn default() -> Self {
        Self {
            ratio: 0.2,
            min_per_second: 1,
            window: Duration::from_secs(10),
        }
    }
}

impl ClientConfig {
    fn validate(&self) -> Result<(), BuildError> {
        let bad = |key: &'static str, reason: &str| {
            Err(BuildError::Config {
                key,
                reason: reason.into(),
            })
        };
        if self.request_timeout.is_zero() {
            return bad("request_timeout", "must be above zero");
        }
        if self.backoff_base > self.backoff_max {
            return bad("backoff_base", "must not exceed `backoff_max`");
        }
        let ratio = self.retry_budget.ratio;
        if !ratio.is_finite() || ratio < 0.0 {
            return bad("retry_budget.ratio", "must be a number of 0 or more");
        }
        if self.retry_budget.window < Duration::from_millis(10) {
            return bad("retry_budget.window", "must be at least 10ms");
        }
        Ok(())
    }
}

/// A response whose body was read in full (within `max_body_bytes`).
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl Response {
    /// The response itself when its status is 2xx.
    ///
    /// # Errors
    /// [`ClientError::Status`] for any other status.
    pub fn error_for_status(self) -> Result<Self, ClientError> {
        if self.status.is_success() {
            Ok(self)
        } else {
            Err(ClientError::Status {
                status: self.status,
            })
        }
    }

    /// The body as JSON.
    ///
    /// # Errors
    /// [`ClientError::Decode`] when the body is not a `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        serde_json::from_slice(&self.body).map_err(ClientError::Decode)
    }
}

/// Why a call failed. After retries, this is the last attempt's failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL or a header cannot be sent (not http(s), no host, bad syntax).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// No connection could be opened (refused, unresolvable, `connect_timeout`).
    #[error("cannot connect to {host}")]
    Connect {
        /// The host called.
        host: String,
        /// What the network stack said.
        #[source]
        source: TransportError,
    },
    /// The attempt took longer than `request_timeout`.
    #[error("{host} did not answer within {}", humantime::format_duration(*after))]
    Timeout {
        /// The host called.
        host: String,
        /// The timeout that ran out.
        after: Duration,
    },
    /// The response body is larger than `max_body_bytes`.
    #[error("the response from {host} is larger than {limit} bytes")]
    TooLarge {
        /// The host called.
        host: String,
        /// The configured limit.
        limit: usize,
    },
    /// The connection failed mid-request (reset, protocol error).
    #[error("the request to {host} failed")]
    Transport {
        /// The host called.
        host: String,
        /// What the HTTP stack said.
        #[source]
        source: TransportError,
    },
    /// From [`Response::error_for_status`]: the status is not 2xx.
    #[error("the server answered {status}")]
    Status {
        /// The status received.
        status: StatusCode,
    },
    /// From [`Response::json`]: the body is not the expected JSON.
    #[error("the response body is not the expected JSON")]
    Decode(#[source] serde_json::Error),
}

impl ClientError {
    /// `error.type` on the span: a short, stable name for the kind of failure.
    fn kind(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::Connect { .. } => "connect",
            Self::Timeout { .. } => "timeout",
            Self::TooLarge { .. } => "too_large",
            Self::Transport { .. } => "transport",
            Self::Status { .. } => "status",
            Self::Decode(_) => "decode",
        }
    }

    fn retryable(&self) -> bool {
        matches!(
            self,
            Self::Connect { .. } | Self::Timeout { .. } | Self::Transport { .. }
        )
    }
}

/// A failure in the HTTP stack. Kept opaque so the API does not depend on the crate
/// underneath. The message never contains the URL, whose query may hold secrets.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct TransportError(reqwest::Error);

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A config value is out of range.
    #[error("invalid HTTP client config: key `{key}` {reason}")]
    Config {
        /// The key, relative to the client's section.
        key: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The metric families could not be registered (a client of the same name exists).
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    /// The HTTP stack could not be set up.
    #[error("cannot set up the HTTP client")]
    Http(#[source] TransportError),
}

/// An HTTP client with timeouts, retries, a retry budget, a body limit, spans and
/// metrics. Clones share the connection pool and the budget.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    http: reqwest::Client,
    config: ClientConfig,
    budget: RetryBudget,
    metrics: Option<ClientMetrics>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("name", &self.inner.name)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client named `name`: the `client` label on its metrics and `peer.service`
    /// on its spans. `metrics` registers the `http_client_*` families when
    /// `metrics.families.http_client` is on.
    ///
    /// # Errors
    /// An invalid config value, a client of the same name already registered, or an
    /// HTTP stack that cannot start.
    pub fn build(
        name: &str,
        config: ClientConfig,
        metrics: Option<&Metrics>,
    ) -> Result<Self, BuildError> {
        config.validate()?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| BuildError::Http(TransportError(e.without_url())))?;
        let metrics = match metrics {
            Some(m) if m.config().families.http_client => Some(ClientMetrics::register(m, name)?),
            _ => None,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                name: name.to_owned(),
                http,
                budget: RetryBudget::new(&config.retry_budget),
                config,
                metrics,
            }),
        })
    }

    /// The client's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// `GET url`, with retries.
    ///
    /// # Errors
    /// As [`HttpClient::send`].
    pub async fn get(&self, url: &str) -> Result<Response, ClientError> {
        self.send(Method::GET, url, HeaderMap::new(), Bytes::new())
            .await
    }

    /// Send a request, retrying idempotent methods as the module docs describe. Any
    /// status is `Ok`, including the last retryable one once retries run out. Use
    /// [`Response::error_for_status`] to treat non-2xx as an error.
    ///
    /// # Errors
    /// The last attempt's failure: [`ClientError::Connect`],
    /// [`ClientError::Timeout`], [`ClientError::Transport`],
    /// [`ClientError::TooLarge`] (never retried), or
    /// [`ClientError::InvalidRequest`] before anything is sent.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: HeaderMap,
        body: impl Into<Bytes>,
    ) -> Result<Response, ClientError> {
        let target = Target::parse(&method, url)?;
        let body = body.into();
        let idempotent = is_idempotent(&method);
        let config = &self.inner.config;
        self.inner.budget.deposit();
        let mut resend = 0;
        loop {
            let result = self
                .attempt(&method, &target, &headers, &body, resend)
                .await;
            if !idempotent || resend >= config.max_retries {
                return result;
            }
            let Some(delay) = retry_delay(&result, config, resend, SystemTime::now()) else {
                return result;
            };
            if !self.inner.budget.try_withdraw() {
                tracing::debug!(
                    peer.service = %self.inner.name,
                    server.address = %target.host,
                    "retry budget exhausted; returning the last attempt's outcome"
                );
                return result;
            }
            if let Some(m) = &self.inner.metrics {
                m.retries
                    .with_label_values(&[target.method, &target.host])
                    .inc();
            }
            tracing::debug!(
                peer.service = %self.inner.name,
                server.address = %target.host,
                attempt = resend + 1,
                delay_ms = delay.as_millis() as u64,
                outcome = %match &result {
                    Ok(r) => r.status.as_str().to_owned(),
                    Err(e) => e.kind().to_owned(),
                },
                "retrying"
            );
            tokio::time::sleep(delay).await;
            resend += 1;
        }
    }

    async fn attempt(
        &self,
        method: &Method,
        target: &Target,
        headers: &HeaderMap,
        body: &Bytes,
        resend: u32,
    ) -> Result<Response, ClientError> {
        // ERROR level, as the server span: traces stay whole when the filter is `warn`.
        let span = tracing::error_span!(
            "http_client_request",
            otel.name = %method,
            otel.kind = "client",
            otel.status_code = field::Empty,
            http.request.method = %method,
            server.address = %target.host,
            server.port = target.port,
            url.full = %target.redacted,
            peer.service = %self.inner.name,
            http.request.resend_count = field::Empty,
            http.response.status_code = field::Empty,
            error.type = field::Empty,
        );
        if resend > 0 {
            span.record("http.request.resend_count", resend);
        }
        let mut headers = headers.clone();
        span.in_scope(|| crate::otel::inject(&mut headers));

        let config = &self.inner.config;
        let request = self
            .inner
            .http
            .request(method.clone(), target.url.clone())
            .headers(headers)
            .body(body.clone());
        let started = Instant::now();
        let exchange = async {
            let res = request
                .send()
                .await
                .map_err(|e| transport_error(e, &target.host))?;
            tracing::Span::current().record("http.response.status_code", res.status().as_u16());
            read_body(res, config.max_body_bytes, &target.host).await
        };
        let result = tokio::time::timeout(config.request_timeout, exchange)
            .instrument(span.clone())
            .await
            .unwrap_or_else(|_elapsed| {
                Err(ClientError::Timeout {
                    host: target.host.clone(),
                    after: config.request_timeout,
                })
            });
        let elapsed = started.elapsed();

        let status = match &result {
            Ok(res) => {
                if res.status.is_server_error() {
                    span.record("otel.status_code", "ERROR");
                    span.record("error.type", res.status.as_str());
                }
                res.status.as_str().to_owned()
            }
            Err(e) => {
                span.record("otel.status_code", "ERROR");
                span.record("error.type", e.kind());
                "error".to_owned()
            }
        };
        if let Some(m) = &self.inner.metrics {
            let labels = [target.method, target.host.as_str(), status.as_str()];
            m.requests.with_label_values(&labels).inc();
            m.duration
                .with_label_values(&labels)
                .observe(elapsed.as_secs_f64());
        }
        result
    }
}

/// A parsed URL and what spans and metrics say about it.
struct Target {
    url: Url,
    host: String,
    port: u16,
    /// `url.full`: no credentials, secret-looking query values replaced.
    redacted: String,
    /// The metric label: a standard method, else `_OTHER` (bounded cardinality).
    method: &'static str,
}

impl Target {
    fn parse(method: &Method, raw: &str) -> Result<Self, ClientError> {
        let url = Url::parse(raw).map_err(|e| {
            ClientError::InvalidRequest(format!("{:?} is not a URL: {e}", redact_url_str(raw)))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ClientError::InvalidRequest(format!(
                "scheme {:?} is not http or https",
                url.scheme()
            )));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| ClientError::InvalidRequest("the URL has no host".into()))?
            .to_owned();
        Ok(Self {
            port: url.port_or_known_default().unwrap_or(80),
            redacted: redact_url(&url),
            method: method_label(method),
            host,
            url,
        })
    }
}

fn method_label(method: &Method) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ];
    KNOWN
        .into_iter()
        .find(|m| *m == method.as_str())
        .unwrap_or("_OTHER")
}

fn is_idempotent(method: &Method) -> bool {
    [
        Method::GET,
        Method::HEAD,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
        Method::TRACE,
    ]
    .contains(method)
}

/// Query keys whose values are replaced in `url.full` (case-insensitive substrings).
const SECRET_QUERY_KEYS: [&str; 8] = [
    "pass",
    "token",
    "secret",
    "key",
    "sig",
    "auth",
    "credential",
    "session",
];

/// `url.full` as the semantic conventions ask: no user or password, and the values of
/// secret-looking query parameters replaced by `REDACTED`.
fn redact_url(url: &Url) -> String {
    let mut url = url.clone();
    // Fails only for URLs that cannot have credentials, which then have none.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_fragment(None);
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let lower = k.to_ascii_lowercase();
                let secret = SECRET_QUERY_KEYS.iter().any(|s| lower.contains(s));
                let v = if secret {
                    "REDACTED".into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

/// For error messages about a string that did not parse: keep only what precedes
/// the query and any credentials.
fn redact_url_str(raw: &str) -> String {
    let base = raw.split(['?', '#']).next().unwrap_or_default();
    match base.split_once("://") {
        Some((scheme, rest)) if rest.contains('@') => {
            let host = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or_default();
            format!("{scheme}://{host}")
        }
        _ => base.to_owned(),
    }
}

fn transport_error(e: reqwest::Error, host: &str) -> ClientError {
    let host = host.to_owned();
    let source = TransportError(e.without_url());
    // The only timeout reqwest runs here is `connect_timeout`: a connect error too.
    if source.0.is_connect() {
        ClientError::Connect { host, source }
    } else {
        ClientError::Transport { host, source }
    }
}

/// Read the body, refusing a declared length above `limit` before reading and
/// abandoning a stream (and its connection) once it passes `limit`.
async fn read_body(
    mut res: reqwest::Response,
    limit: usize,
    host: &str,
) -> Result<Response, ClientError> {
    let too_large = || ClientError::TooLarge {
        host: host.to_owned(),
        limit,
    };
    let declared = res.content_length();
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let status = res.status();
    let headers = std::mem::take(res.headers_mut());
    let capacity = declared.map_or(0, |n| n as usize);
    let mut body = Vec::with_capacity(capacity);
    while let Some(chunk) = res.chunk().await.map_err(|e| transport_error(e, host))? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Response {
        status,
        headers,
        body: body.into(),
    })
}

/// How long to wait before retrying after `result`, or `None` to return it. The
/// method and the attempt count are checked by the caller.
fn retry_delay(
    result: &Result<Response, ClientError>,
    config: &ClientConfig,
    resend: u32,
    now: SystemTime,
) -> Option<Duration> {
    let backoff = || full_jitter(backoff_cap(config, resend), fastrand::f64());
    match result {
        Ok(res) if retryable_status(res.status) => match retry_after(&res.headers, now) {
            Some(wait) if wait <= config.backoff_max => Some(wait),
            // The server wants a longer pause than this client may take: retrying
            // sooner would only be refused again, so its answer goes back.
            Some(_) => None,
            None => Some(backoff()),
        },
        Ok(_) => None,
        Err(e) if e.retryable() => Some(backoff()),
        Err(_) => None,
    }
}

fn retryable_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || (status.is_server_error()
            && status != StatusCode::NOT_IMPLEMENTED
            && status != StatusCode::HTTP_VERSION_NOT_SUPPORTED)
}

/// `min(backoff_max, backoff_base × 2^resend)`.
fn backoff_cap(config: &ClientConfig, resend: u32) -> Duration {
    let factor = 1u32.checked_shl(resend).unwrap_or(u32::MAX);
    config
        .backoff_base
        .saturating_mul(factor)
        .min(config.backoff_max)
}

/// "Full jitter": a uniform draw in `[0, cap]`; `unit` is the draw in `[0, 1)`.
fn full_jitter(cap: Duration, unit: f64) -> Duration {
    cap.mul_f64(unit.clamp(0.0, 1.0))
}

/// `Retry-After` as delay-seconds or an HTTP date.
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The retry budget (Finagle's `RetryBudget`): deposits expire after a window kept
/// as [`RetryBudget::SLICES`] slices, so old traffic stops paying for new retries.
struct RetryBudget {
    ratio: f64,
    reserve: f64,
    slice: Duration,
    epoch: Instant,
    slices: Mutex<[Slice; RetryBudget::SLICES]>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Slice {
    index: u64,
    requests: u64,
    retries: u64,
}

impl RetryBudget {
    const SLICES: usize = 10;

    fn new(config: &RetryBudgetConfig) -> Self {
        Self {
            ratio: config.ratio,
            reserve: f64::from(config.min_per_second) * config.window.as_secs_f64(),
            slice: config.window / Self::SLICES as u32,
            epoch: Instant::now(),
            slices: Mutex::new([Slice::default(); Self::SLICES]),
        }
    }

    /// Credit one request.
    fn deposit(&self) {
        self.with_current(|slices, i| slices[i].requests += 1);
    }

    /// Take one retry if the budget allows.
    fn try_withdraw(&self) -> bool {
        self.with_current(|slices, i| {
            let (requests, retries) = slices
                .iter()
                .fold((0, 0), |(q, r), s| (q + s.requests, r + s.retries));
            let balance = self.reserve + self.ratio * requests as f64 - retries as f64;
            if balance >= 1.0 {
                slices[i].retries += 1;
                true
            } else {
                false
            }
        })
    }

    /// Run `f` on the window with expired slices cleared, and the current slot.
    fn with_current<T>(&self, f: impl FnOnce(&mut [Slice; Self::SLICES], usize) -> T) -> T {
        let now = (self.epoch.elapsed().as_nanos() / self.slice.as_nanos().max(1)) as u64;
        let mut slices = self.slices.lock().unwrap_or_else(|e| e.into_inner());
        for s in slices.iter_mut() {
            if now.saturating_sub(s.index) >= Self::SLICES as u64 {
                *s = Slice::default();
            }
        }
        let i = (now % Self::SLICES as u64) as usize;
        if slices[i].index != now {
            slices[i] = Slice {
                index: now,
                ..Slice::default()
            };
        }
        f(&mut slices, i)
    }
}

/// The `http_client_*` families of one client, its name as the constant `client`
/// label: the registry refuses the same family twice without a distinguishing
/// constant label.
struct ClientMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
    retries: IntCounterVec,
}

impl ClientMetrics {
    fn register(m: &Metrics, client: &str) -> Result<Self, MetricsError> {
        let requests = IntCounterVec::new(
            Opts::new(
                "http_client_requests_total",
                "Outgoing HTTP requests (each attempt), by method, host and status code \
                 (`error` when no usable response came).",
            )
            .const_label("client", client),
            &["method", "host", "status"],
        )?;
        m.registry().register(Box::new(requests.clone()))?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "http_client_request_duration_seconds",
                "Time of an outgoing HTTP request (each attempt, body included), in seconds.",
            )
            .const_label("client", client)
            .buckets(m.buckets()),
            &["method", "host", "status"],
        )?;
        m.registry().register(Box::new(duration.clone()))?;
        let retries = IntCounterVec::new(
            Opts::new(
                "http_client_retries_total",
                "Outgoing HTTP requests sent again after a failure, by method and host.",
            )
            .const_label("client", client),
            &["method", "host"],
        )?;
        m.registry().register(Box::new(retries.clone()))?;
        Ok(Self {
            requests,
            duration,
            retries,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base_ms: u64, max_ms: u64) -> ClientConfig {
        ClientConfig {
            backoff_base: Duration::from_millis(base_ms),
            backoff_max: Duration::from_millis(max_ms),
            ..ClientConfig::default()
        }
    }

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_max() {
        let c = config(100, 2000);
        let caps: Vec<u128> = (0..7).map(|n| backoff_cap(&c, n).as_millis()).collect();
        assert_eq!(caps, [100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(backoff_cap(&c, 40).as_millis(), 2000, "no overflow");
    }

    #[test]
    fn full_jitter_stays_within_zero_and_the_cap() {
        let cap = Duration::from_millis(800);
        assert_eq!(full_jitter(cap, 0.0), Duration::ZERO);
        assert_eq!(full_jitter(cap, 0.5), Duration::from_millis(400));
        for _ in 0..1000 {
            assert!(full_jitter(cap, fastrand::f64()) <= cap);
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let cases = [
            ("3", Some(3)),
            (" 0 ", Some(0)),
            (
                httpdate::fmt_http_date(now + Duration::from_secs(7)).as_str(),
                Some(7),
            ),
            (
                httpdate::fmt_http_date(now - Duration::from_secs(7)).as_str(),
                Some(0),
            ),
            ("soon", None),
            ("-1", None),
        ]
        .map(|(v, want)| (v.to_owned(), want));
        for (value, want) in cases {
            let mut h = HeaderMap::new();
            h.insert(header::RETRY_AFTER, value.parse().unwrap());
            assert_eq!(
                retry_after(&h, now).map(|d| d.as_secs()),
                want,
                "case {value:?}"
            );
        }
    }

    #[test]
    fn retry_decisions_follow_status_error_and_retry_after() {
        let c = config(100, 2000);
        let now = SystemTime::now();
        let res = |code: u16, retry_after: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(v) = retry_after {
                headers.insert(header::RETRY_AFTER, v.parse().unwrap());
            }
            Ok(Response {
                status: StatusCode::from_u16(code).unwrap(),
                headers,
                body: Bytes::new(),
            })
        };
        let host = || "h".to_owned();
        let cases: Vec<(&str, Result<Response, ClientError>, Option<Duration>)> = vec![
            ("200 is final", res(200, None), None),
            ("404 is final", res(404, None), None),
            ("501 is final", res(501, None), None),
            (
                "429 honours Retry-After",
                res(429, Some("1")),
                Some(Duration::from_secs(1)),
            ),
            (
                "503 honours Retry-After",
                res(503, Some("2")),
                Some(Duration::from_secs(2)),
            ),
            (
                "Retry-After above the max is final",
                res(429, Some("3")),
                None,
            ),
            (
                "too large is final",
                Err(ClientError::TooLarge {
                    host: host(),
                    limit: 1,
                }),
                None,
            ),
            (
                "a timeout is retried",
                Err(ClientError::Timeout {
                    host: host(),
                    after: Duration::ZERO,
                }),
                Some(Duration::MAX),
            ),
            ("500 is retried", res(500, None), Some(Duration::MAX)),
        ];
        for (name, result, want) in cases {
            let got = retry_delay(&result, &c, 0, now);
            match want {
                // Jittered: anything within the first cap.
                Some(Duration::MAX) => {
                    assert!(
                        got.is_some_and(|d| d <= c.backoff_base),
                        "case {name}: {got:?}"
                    )
                }
                want => assert_eq!(got, want, "case {name}"),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retry_budget_allows_the_reserve_plus_a_share_of_requests_and_refills_after_the_window()
    {
        let budget = RetryBudget::new(&RetryBudgetConfig {
            ratio: 0.2,
            min_per_second: 1,
            window: Duration::from_secs(10),
        });
        for _ in 0..50 {
            budget.deposit();
        }
        let granted = (0..100).take_while(|_| budget.try_withdraw()).count();
        assert_eq!(granted, 10 + 10, "reserve 1/s × 10s plus 20% of 50");

        tokio::time::advance(Duration::from_secs(11)).await;
        let granted = (0..100).take_while(|_| budget.try_withdraw()).count();
        assert_eq!(
            granted, 10,
            "old deposits and withdrawals expired; reserve only"
        );
    }

    #[test]
    fn url_full_hides_credentials_and_secret_query_values() {
        let cases = [
            (
                "http://u:p@svc:8080/a?x=1&api_key=s3&Signature=zz#frag",
                "http://svc:8080/a?x=1&api_key=REDACTED&Signature=REDACTED",
            ),
            ("http://svc/a", "http://svc/a"),
            (
                "http://svc/a?access_token=t",
                "http://svc/a?access_token=REDACTED",
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(redact_url(&Url::parse(raw).unwrap()), want, "case {raw}");
        }
        assert_eq!(redact_url_str("http://u:p@h x/?t=1"), "http://h x/");
    }

    #[test]
    fn config_defaults_yaml_and_validation() {
        let c: ClientConfig = serde_yaml::from_str(
            "request_timeout: 1s\nmax_body_bytes: 1KiB\nretry_budget: {ratio: 0.5}\n",
        )
        .unwrap();
        assert_eq!(c.request_timeout, Duration::from_secs(1));
        assert_eq!(c.max_body_bytes, 1024);
        assert_eq!(c.retry_budget.ratio, 0.5);
        assert_eq!(c.retry_budget.min_per_second, 1, "default kept");
        assert_eq!(c.connect_timeout, Duration::from_secs(2), "default kept");
        assert!(serde_yaml::from_str::<ClientConfig>("retries: 1\n").is_err());

        let bad = ClientConfig {
            backoff_base: Duration::from_secs(5),
            ..ClientConfig::default()
        };
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains("key `backoff_base`"), "{err}");
    }

    #[test]
    fn unknown_methods_share_one_metric_label() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(
            method_label(&Method::from_bytes(b"PURGE").unwrap()),
            "_OTHER"
        );
    }
}
