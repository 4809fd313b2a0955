//! OpenTelemetry traces: OTLP export and W3C trace-context propagation.
//!
//! Always compiled: [`inject`] is a no-op without the `otel` feature, so an HTTP
//! client calls it unconditionally. With the feature, and only when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set and `OTEL_SDK_DISABLED` is not:
//!
//! - spans go to a batch processor whose own thread exports them over gRPC (tonic, on
//!   a one-thread runtime of its own) or HTTP/protobuf (blocking reqwest). A request
//!   only pushes its finished span onto a bounded queue, so a dead or slow collector
//!   costs requests nothing; a full queue drops spans;
//! - export failures are logged at most once a minute, with a count of the others;
//! - `traceparent`/`tracestate` on a request become the parent of its span, and
//!   [`inject`] writes the current span's context on outgoing requests;
//! - JSON log lines written inside a span carry `trace_id` and `span_id`;
//! - kubelet probes and Prometheus scrapes (`/livez`, `/readyz`, `/startupz`,
//!   `/healthz`, `/metrics` with no remote parent) are not sampled;
//! - [`Telemetry::flush`](crate::telemetry::Telemetry::flush) exports what is queued,
//!   giving up after `SHUTDOWN_BUDGET` (3 s) so a dead collector cannot hold up exit.
//!
//! Without an endpoint nothing is built: no thread, no layer, no per-request work.

use axum::http::HeaderMap;

#[cfg(feature = "otel")]
mod export;
#[cfg(feature = "otel")]
mod processors;
#[cfg(feature = "otel")]
mod propagation;
#[cfg(feature = "otel")]
mod resource;
#[cfg(feature = "otel")]
mod sampling;
#[cfg(feature = "otel")]
mod tls;

#[cfg(feature = "otel")]
pub use export::SHUTDOWN_BUDGET;
#[cfg(feature = "otel")]
pub(crate) use export::{add_ids, layer, OtelGuard};

/// Why the OTLP exporter could not be built (a bad sampler, ratio, resource
/// attribute or endpoint).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OtelError(pub(crate) String);

/// What the request path tells the trace exporter. HTTP semantic-convention values
/// go to the exported span only, not into tracing fields, so they are not repeated
/// on every log line of the request.
#[derive(Clone, Copy)]
pub struct TraceHooks {
    /// At the start: headers (for `traceparent`), the span, method, route and path.
    /// Returns whether the span is sampled; an unsampled one gets no attributes.
    pub start: fn(&HeaderMap, &tracing::Span, &str, &str, &str) -> bool,
    /// At the end of a sampled span: the response status.
    pub finish: fn(&tracing::Span, u16),
}

/// Write the current span's W3C `traceparent` (and `tracestate`) into `headers`, so
/// the service called joins this trace. A no-op when tracing is off or not compiled in.
pub fn inject(headers: &mut HeaderMap) {
    #[cfg(feature = "otel")]
    propagation::inject(headers);
    #[cfg(not(feature = "otel"))]
    let _ = headers;
}

/// The request-span hooks: `Some` only when spans are exported.
pub fn propagator() -> Option<TraceHooks> {
    #[cfg(feature = "otel")]
    if export::active() {
        return Some(TraceHooks {
            start: propagation::join_remote_trace,
            finish: propagation::record_status,
        });
    }
    None
}
