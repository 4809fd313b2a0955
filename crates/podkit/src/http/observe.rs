//! The observe layer: one span per request, the in-flight gauge, RED metrics, the
//! access log line, the trace exporter's hooks, and the one log line of a failure's
//! cause.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use tracing::{field, Instrument, Span};

use super::problem::Cause;
use super::request_id::request_id_of;
use crate::telemetry::metrics::{method_label, HttpServerMetrics};
use crate::telemetry::otel::TraceHooks;

/// The route label for requests no route matched: one value, so scans of random URLs
/// cannot explode metric cardinality.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// What the observe layer records.
#[derive(Clone, Default)]
pub struct Observe {
    /// RED metrics, when enabled.
    pub metrics: Option<HttpServerMetrics>,
    /// Trace export hooks, when spans are exported: join the caller's trace and set
    /// the span's HTTP attributes.
    pub trace: Option<TraceHooks>,
    /// Write one `access` line per request (off for the admin port: probes every few
    /// seconds would drown the log).
    pub access_log: bool,
}

/// What is known of a request before it runs.
struct Seen {
    method: Method,
    /// The matched route (shares axum's string; no copy per request).
    route: Option<MatchedPath>,
    start: Instant,
}

impl Seen {
    fn route(&self) -> &str {
        self.route
            .as_ref()
            .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
    }
}

pub(crate) async fn observe_layer(
    State(cfg): State<Arc<Observe>>,
    req: Request,
    next: Next,
) -> Response {
    let seen = Seen {
        method: req.method().clone(),
        route: req.extensions().get::<MatchedPath>().cloned(),
        start: Instant::now(),
    };
    let (span, sampled) = request_span(&cfg, &seen, &req);
    // A guard, not inc/dec around the await: when the client goes away axum drops
    // this future mid-request, and the gauge must still come back down.
    let _in_flight = cfg.metrics.as_ref().map(|m| InFlight::enter(&m.in_flight));
    let res = next.run(req).instrument(span.clone()).await;
    finish(&cfg, &seen, &span, sampled, &res);
    res
}

/// The request's span. ERROR level: it (and its `request_id`) stays on error lines
/// even when the filter is `warn`. The `otel.*` fields are filled in only when
/// spans are exported: formatting a span name no one reads is most of a span's
/// cost, and they would be noise on every log line.
fn request_span(cfg: &Observe, seen: &Seen, req: &Request) -> (Span, bool) {
    let span = tracing::error_span!(
        "http_request",
        otel.name = field::Empty,
        otel.kind = field::Empty,
        otel.status_code = field::Empty,
        request_id = %request_id_of(req.extensions()),
    );
    if let Some(hooks) = cfg.trace {
        let route = seen.route();
        span.record(
            "otel.name",
            format_args!("{} {}", method_label(seen.method.as_str()), route),
        );
        span.record("otel.kind", "server");
        let path = req.uri().path();
        let sampled = (hooks.start)(req.headers(), &span, seen.method.as_str(), route, path);
        return (span, sampled);
    }
    (span, false)
}

fn finish(cfg: &Observe, seen: &Seen, span: &Span, sampled: bool, res: &Response) {
    let status = res.status();
    let elapsed = seen.start.elapsed();
    if let Some(cause) = res.extensions().get::<Cause>() {
        span.in_scope(|| log_cause(status, cause));
    }
    if let Some(hooks) = cfg.trace.filter(|_| sampled) {
        (hooks.finish)(span, status.as_u16());
        if status.is_server_error() {
            span.record("otel.status_code", "ERROR");
        }
    }
    if let Some(m) = &cfg.metrics {
        m.observe(seen.method.as_str(), seen.route(), status, elapsed);
    }
    if cfg.access_log {
        // `request_id` comes from the enclosing span: once per line.
        span.in_scope(|| {
            tracing::info!(
                target: "access",
                method = %seen.method,
                route = seen.route(),
                status = status.as_u16(),
                duration_ms = elapsed.as_secs_f64() * 1000.0,
                "request completed"
            );
        });
    }
}

/// A 5xx's cause at `error` with its chain; a 4xx's at `debug` (the caller's
/// mistake is not an operator's alert).
fn log_cause(status: StatusCode, cause: &Cause) {
    if status.is_server_error() {
        tracing::error!(error.message = %cause.message, error.cause_chain = ?cause.chain, "request failed");
    } else {
        tracing::debug!(error.message = %cause.message, "request rejected");
    }
}

/// Counts a request in flight for as long as it lives.
struct InFlight(prometheus::IntGauge);

impl InFlight {
    fn enter(gauge: &prometheus::IntGauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}
