//! Why a call, or building a client, failed.

use std::time::Duration;

use axum::http::StatusCode;

use crate::telemetry::metrics::MetricsError;

/// Why a call failed. After retries, this is the last attempt's failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL or a header cannot be sent (not http(s), no host, bad syntax).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// No connection could be opened (refused, unresolvable, `connect_timeout`).
    #[error("cannot connect to {host}: {}", connect_cause(source))]
    Connect {
        /// The server called, `host:port`.
        host: String,
        /// What the network stack said.
        #[source]
        source: TransportError,
    },
    /// The TLS handshake failed: the server's certificate was not trusted (unknown
    /// CA, wrong host name, expired) or it refused this client's. Not retried: it
    /// fails the same way until someone changes a certificate or the config.
    #[error("cannot connect to {host}: {reason}")]
    Tls {
        /// The server called, `host:port`.
        host: String,
        /// What was wrong, in words (`TLS: the server's certificate has expired …`).
        reason: String,
        /// What the HTTP stack said.
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
    /// From [`Response::error_for_status`](super::Response::error_for_status): the
    /// status is not 2xx.
    #[error("the server answered {status}")]
    Status {
        /// The status received.
        status: StatusCode,
    },
    /// From [`Response::json`](super::Response::json): the body is not the expected JSON.
    #[error("the response body is not the expected JSON")]
    Decode(#[source] serde_json::Error),
}

impl ClientError {
    /// `error.type` on the span: a short, stable name for the kind of failure.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::Connect { .. } => "connect",
            Self::Tls { .. } => "tls",
            Self::Timeout { .. } => "timeout",
            Self::TooLarge { .. } => "too_large",
            Self::Transport { .. } => "transport",
            Self::Status { .. } => "status",
            Self::Decode(_) => "decode",
        }
    }

    /// A transport failure worth another attempt; statuses are judged apart.
    pub(super) fn retryable(&self) -> bool {
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

impl TransportError {
    /// Wrap `e`, dropping its URL.
    pub(super) fn new(e: reqwest::Error) -> Self {
        Self(e.without_url())
    }
}

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
    /// The `tls` files cannot be used.
    #[error("invalid HTTP client config: key `tls`: {0}")]
    Tls(#[source] crate::tls::TlsError),
    /// The HTTP stack could not be set up.
    #[error("cannot set up the HTTP client")]
    Http(#[source] TransportError),
}

/// A failed exchange as [`ClientError::Connect`] or [`ClientError::Transport`].
pub(super) fn transport_error(e: reqwest::Error, host: &str) -> ClientError {
    let host = host.to_owned();
    let source = TransportError::new(e);
    if let Some(reason) = crate::tls::describe(&source.0) {
        return ClientError::Tls {
            host,
            reason,
            source,
        };
    }
    // The only timeout reqwest runs here is `connect_timeout`: a connect error too.
    if source.0.is_connect() {
        ClientError::Connect { host, source }
    } else {
        ClientError::Transport { host, source }
    }
}

/// Why a connection could not be opened, in words: the innermost error's message
/// (`Connection refused (os error 111)`, `failed to lookup address information: …`).
fn connect_cause(source: &TransportError) -> String {
    let mut innermost: &(dyn std::error::Error + 'static) = &source.0;
    while let Some(next) = innermost.source() {
        innermost = next;
    }
    if let Some(io) = innermost.downcast_ref::<std::io::Error>() {
        match io.kind() {
            std::io::ErrorKind::ConnectionRefused => return "connection refused".into(),
            std::io::ErrorKind::TimedOut => return "connect timed out".into(),
            _ => {}
        }
    }
    let text = innermost.to_string();
    if text.contains("lookup address") || text.contains("dns error") {
        return format!("DNS lookup failed ({text})");
    }
    text
}
