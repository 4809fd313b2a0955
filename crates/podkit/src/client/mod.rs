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
//!   [`HttpClient::get_streaming`] hands the body over chunk by chunk under the same
//!   limit and deadline, for callers that parse as they read.
//! - Each attempt gets a `client` span with the OpenTelemetry HTTP attributes and
//!   sends the trace context on (`traceparent`, via [`crate::telemetry::otel::inject`]).
//! - Each attempt is counted in `http_client_requests_total` and
//!   `http_client_request_duration_seconds` (`status="error"` when no usable
//!   response came), each retry in `http_client_retries_total`. A constant
//!   `client` label (the client's name) keeps the series of several clients apart.
//!
//! - `https` on rustls ([`crate::tls`]): the OS roots plus `tls.ca_file`, and a
//!   client certificate from `tls.cert_file` / `tls.key_file` for mTLS. A failed
//!   handshake is [`ClientError::Tls`], in words (unknown CA, wrong host name,
//!   expired, client certificate required), and is not retried.
//!
//! Redirects are returned, not followed.
//!
//! ```
//! use podkit::client::{ClientConfig, HttpClient};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! # let rates_url = format!("http://{}/v1/rates/EUR", listener.local_addr()?);
//! # let upstream = axum::Router::new().route("/v1/rates/EUR",
//! #     axum::routing::get(|| async { axum::Json(serde_json::json!({"USD": 1.08})) }));
//! # tokio::spawn(async move { axum::serve(listener, upstream).await });
//! # let build = podkit::BuildInfo { name: "demo", release: "0", commit: "unset", build_time: "unset" };
//! # let metrics = podkit::Metrics::build(&Default::default(), &build)?;
//! // In a start function: `Some(&ctx.metrics)`, and the config from the service's section.
//! let rates = HttpClient::build("rates", ClientConfig::default(), Some(&metrics))?;
//! // `rates_url` is, say, "http://rates.fx.svc:8080/v1/rates/EUR".
//! let res = rates.get(&rates_url).await?.error_for_status()?;
//! let body: serde_json::Value = res.json()?;
//! assert_eq!(body["USD"], 1.08);
//! assert!(metrics.render().contains(r#"http_client_requests_total{client="rates",host="127.0.0.1",method="GET",status="200"} 1"#));
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! - this file: [`HttpClient`], the retry loop and one instrumented attempt;
//! - `config`: [`ClientConfig`] and [`RetryBudgetConfig`];
//! - `retry`: which outcomes are retried, the jittered backoff, `Retry-After` and the
//!   retry budget;
//! - `response`: [`Response`] and reading a body within `max_body_bytes`;
//! - `target`: the parsed URL, with what spans and metrics may show of it;
//! - `error`: [`ClientError`], [`BuildError`], [`TransportError`];
//! - `metrics`: the `http_client_*` families.

mod config;
mod error;
mod metrics;
mod response;
mod retry;
mod target;

pub use config::{ClientConfig, RetryBudgetConfig};
pub use error::{BuildError, ClientError, TransportError};
pub use response::{Response, StreamingResponse};

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method};
use tokio::time::Instant;
use tracing::{field, Instrument};

use crate::telemetry::metrics::Metrics;

use self::error::transport_error;
use self::metrics::ClientMetrics;
use self::response::read_body;
use self::retry::{is_idempotent, retry_delay, RetryBudget};
use self::target::Target;

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
        let tls = crate::tls::client_config(&config.tls).map_err(BuildError::Tls)?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| BuildError::Http(TransportError::new(e)))?;
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

    /// `GET url`, the body left for the caller to read with
    /// [`StreamingResponse::chunk`]: memory is one chunk, not the body. Retries,
    /// backoff and the budget apply as for [`HttpClient::send`] until a usable
    /// status arrives (a half-read body is never replayed); `request_timeout` runs
    /// from sending to the last chunk, `max_body_bytes` still applies.
    ///
    /// # Errors
    /// [`ClientError::InvalidRequest`], [`ClientError::Connect`], [`ClientError::Tls`],
    /// [`ClientError::Timeout`], [`ClientError::Transport`], or
    /// [`ClientError::TooLarge`] for a declared length over the limit.
    pub async fn get_streaming(&self, url: &str) -> Result<StreamingResponse, ClientError> {
        let target = Target::parse(&Method::GET, url)?;
        let config = &self.inner.config;
        self.inner.budget.deposit();
        let mut resend = 0;
        loop {
            let result = self.open(&target).await;
            if resend >= config.max_retries {
                return result;
            }
            let outcome = result.as_ref().map(|r| (r.status, &r.headers));
            let Some(delay) = retry::retry_delay_for(outcome, config, resend, SystemTime::now())
            else {
                return result;
            };
            if !self.inner.budget.try_withdraw() {
                return result;
            }
            if let Some(m) = &self.inner.metrics {
                m.retries
                    .with_label_values(&[target.method, &target.host])
                    .inc();
            }
            drop(result);
            tokio::time::sleep(delay).await;
            resend += 1;
        }
    }

    /// One streaming attempt: send, wait for the headers, count it.
    async fn open(&self, target: &Target) -> Result<StreamingResponse, ClientError> {
        let config = &self.inner.config;
        let span = tracing::error_span!(
            "http_client_request",
            otel.name = "GET",
            otel.kind = "client",
            http.request.method = "GET",
            server.address = %target.host,
            server.port = target.port,
            url.full = %target.redacted,
            peer.service = %self.inner.name,
        );
        let mut headers = HeaderMap::new();
        span.in_scope(|| crate::telemetry::otel::inject(&mut headers));
        let started = Instant::now();
        let deadline = started + config.request_timeout;
        let send = self
            .inner
            .http
            .get(target.url.clone())
            .headers(headers)
            .send();
        let result = match tokio::time::timeout_at(deadline, send)
            .instrument(span)
            .await
        {
            Err(_) => Err(ClientError::Timeout {
                host: target.authority(),
                after: config.request_timeout,
            }),
            Ok(Err(e)) => Err(transport_error(e, &target.authority())),
            Ok(Ok(res)) => StreamingResponse::new(
                res,
                config.max_body_bytes,
                &target.authority(),
                deadline,
                config.request_timeout,
            ),
        };
        if let Some(m) = &self.inner.metrics {
            let status = match &result {
                Ok(r) => r.status.as_str().to_owned(),
                Err(_) => "error".to_owned(),
            };
            let labels = [target.method, target.host.as_str(), status.as_str()];
            m.requests.with_label_values(&labels).inc();
            m.duration
                .with_label_values(&labels)
                .observe(started.elapsed().as_secs_f64());
        }
        result
    }

    /// Send a request, retrying idempotent methods as the module docs describe. Any
    /// status is `Ok`, including the last retryable one once retries run out. Use
    /// [`Response::error_for_status`] to treat non-2xx as an error.
    ///
    /// # Errors
    /// The last attempt's failure: [`ClientError::Connect`], [`ClientError::Tls`],
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
        span.in_scope(|| crate::telemetry::otel::inject(&mut headers));

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
                .map_err(|e| transport_error(e, &target.authority()))?;
            tracing::Span::current().record("http.response.status_code", res.status().as_u16());
            read_body(res, config.max_body_bytes, &target.authority()).await
        };
        let result = tokio::time::timeout(config.request_timeout, exchange)
            .instrument(span.clone())
            .await
            .unwrap_or_else(|_elapsed| {
                Err(ClientError::Timeout {
                    host: target.authority(),
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
