//! The middleware every API request goes through.
//!
//! Outermost first: request id → access log, metrics and the request span → request
//! timeout → body limit → panic catcher → the service's handler. Every error response
//! leaves as RFC 9457 problem+json with `instance` and `request_id`, whoever made it
//! (a handler, an axum rejection, the 404 fallback, the 405 method router).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{Map, Value};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tracing::{field, Instrument};

use crate::metrics::HttpServerMetrics;
use crate::problem::{Problem, PROBLEM_JSON};

/// The request id header, honoured when valid and always echoed.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest request id accepted from a caller; longer ones are replaced.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// The request id, in the request's extensions for handlers that want it.
#[derive(Debug, Clone)]
pub struct RequestId(pub Arc<str>);

/// The route label for requests no route matched: one value, so scans of random URLs
/// cannot explode metric cardinality.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Settings the middleware needs.
#[derive(Clone)]
pub struct HttpLayerConfig {
    /// Requests running longer get a 503 problem.
    pub request_timeout: Duration,
    /// Largest accepted body in bytes.
    pub body_limit: usize,
    /// RED metrics, when enabled.
    pub metrics: Option<HttpServerMetrics>,
    /// Trace export hooks, when tracing is on: join the caller's trace and set the
    /// span's HTTP attributes.
    pub propagate: Option<TraceHooks>,
    /// Write one `access` line per request (off for the admin port: probes every few
    /// seconds would drown the log).
    pub access_log: bool,
}

/// What the middleware tells the trace exporter. HTTP semantic-convention values go
/// to the exported span only, not into tracing fields, so they are not repeated on
/// every log line of the request.
#[derive(Clone, Copy)]
pub struct TraceHooks {
    /// At the start: headers (for `traceparent`), the span, method, route and path.
    pub start: fn(&axum::http::HeaderMap, &tracing::Span, &str, &str, &str),
    /// At the end: the response status.
    pub finish: fn(&tracing::Span, u16),
}

/// Wrap a service's router with the kit's middleware, 404 fallback and problem bodies.
pub fn wrap(router: Router, cfg: HttpLayerConfig) -> Router {
    let limit = cfg.body_limit;
    router
        .fallback(not_found)
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(
            Arc::new(cfg),
            kit_middleware,
        ))
}

async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND).detail("no route matches this path")
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    // The panic message may hold internals: it goes to the log (the panic hook),
    // never to the caller.
    tracing::error!(
        error.message = "handler panicked",
        "request handler panicked"
    );
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR)
        .detail("the server hit an unexpected error")
        .into_response()
}

/// A caller's id is kept when it is short and printable; anything else is replaced,
/// so ids cannot smuggle newlines into logs or bloat every line.
pub fn valid_request_id(v: &HeaderValue) -> Option<&str> {
    let s = v.to_str().ok()?;
    let ok =
        !s.is_empty() && s.len() <= MAX_REQUEST_ID_LEN && s.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(s)
}

async fn kit_middleware(
    State(cfg): State<Arc<HttpLayerConfig>>,
    mut req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let request_id: Arc<str> = match req.headers().get(&REQUEST_ID).and_then(valid_request_id) {
        Some(id) => id.into(),
        None => uuid::Uuid::new_v4().simple().to_string().into(),
    };
    let method = req.method().clone();
    let route: Arc<str> = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| Arc::from(m.as_str()))
        .unwrap_or_else(|| Arc::from(UNMATCHED_ROUTE));
    let path = req.uri().path().to_owned();
    req.extensions_mut().insert(RequestId(request_id.clone()));

    // ERROR level: the span (and its request_id) stays on error lines even when the
    // filter is `warn`.
    let span = tracing::error_span!(
        "http_request",
        otel.name = %format_args!("{} {}", method, route),
        otel.kind = "server",
        otel.status_code = field::Empty,
        request_id = %request_id,
    );
    if let Some(hooks) = cfg.propagate {
        (hooks.start)(req.headers(), &span, method.as_str(), &route, &path);
    }
    // A guard, not inc/dec around the await: when the client goes away axum drops
    // this future mid-request, and the gauge must still come back down.
    let _in_flight = cfg.metrics.as_ref().map(|m| InFlight::enter(&m.in_flight));
    let timeout = cfg.request_timeout;
    let res = async move {
        match tokio::time::timeout(timeout, next.run(req)).await {
            Ok(res) => res,
            Err(_) => {
                tracing::warn!(timeout_ms = timeout.as_millis() as u64, "request timed out");
                Problem::new(StatusCode::SERVICE_UNAVAILABLE)
                    .kind("about:blank", "Request Timeout")
                    .detail(format!(
                        "the request did not complete within {}",
                        humantime::format_duration(timeout)
                    ))
                    .into_response()
            }
        }
    }
    .instrument(span.clone())
    .await;

    let status = res.status();
    if let Some(cause) = res.extensions().get::<crate::problem::Cause>() {
        span.in_scope(|| {
            if status.is_server_error() {
                tracing::error!(error.message = %cause.message, error.cause_chain = ?cause.chain, "request failed");
            } else {
                tracing::debug!(error.message = %cause.message, "request rejected");
            }
        });
    }
    let mut res = problemize(res, &path, &request_id).await;
    let elapsed = start.elapsed();
    if let Some(hooks) = cfg.propagate {
        (hooks.finish)(&span, status.as_u16());
    }
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    if let Some(m) = &cfg.metrics {
        m.observe(method.as_str(), &route, status.as_u16(), elapsed);
    }
    if cfg.access_log {
        span.in_scope(|| {
            tracing::info!(
                target: "access",
                method = %method,
                route = %route,
                status = status.as_u16(),
                duration_ms = elapsed.as_secs_f64() * 1000.0,
                request_id = %request_id,
                "request completed"
            );
        });
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID.clone(), v);
    }
    res
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

/// Make every error response a problem document carrying `instance` and `request_id`.
async fn problemize(res: Response, path: &str, request_id: &str) -> Response {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.as_bytes().to_vec());
    let is_problem = content_type
        .as_deref()
        .is_some_and(|v| v.starts_with(PROBLEM_JSON.as_bytes()));
    // A handler that chose a JSON body for its error (readiness reports do) keeps it;
    // what gets rewritten is the framework's plain-text rejections and empty bodies.
    if !is_problem
        && content_type
            .as_deref()
            .is_some_and(|v| v.starts_with(b"application/json"))
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    // Error bodies are small; a huge one is not worth keeping.
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let mut doc: Map<String, Value> = if is_problem {
        serde_json::from_slice(&bytes).unwrap_or_default()
    } else {
        let mut p = Problem::new(status);
        // Framework rejections explain caller mistakes in plain text; keep that for
        // 4xx. A 5xx body may hold internals and is dropped.
        let text = String::from_utf8_lossy(&bytes).trim().to_string();
        if status.is_client_error() && !text.is_empty() {
            p = p.detail(text);
        } else if status == StatusCode::METHOD_NOT_ALLOWED {
            p = p.detail("method not allowed on this path; see the Allow header");
        }
        match serde_json::to_value(p) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        }
    };
    doc.entry("instance").or_insert_with(|| path.into());
    doc.entry("request_id").or_insert_with(|| request_id.into());
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = Bytes::from(serde_json::to_vec(&doc).unwrap_or_default());
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tower::ServiceExt;

    fn app() -> Router {
        let r = Router::new()
            .route(
                "/ok",
                get(|| async { "ok" }).post(|b: String| async move { b }),
            )
            .route(
                "/boom",
                get(|| async {
                    panic!("secret internals");
                    #[allow(unreachable_code)]
                    "never"
                }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    "late"
                }),
            );
        wrap(
            r,
            HttpLayerConfig {
                request_timeout: Duration::from_millis(50),
                body_limit: 16,
                metrics: None,
                propagate: None,
                access_log: true,
            },
        )
    }

    async fn call(req: Request) -> (StatusCode, axum::http::HeaderMap, Value) {
        let res = app().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, headers, body)
    }

    fn get_req(path: &str) -> Request {
        Request::get(path).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn unknown_path_is_a_404_problem_with_instance_and_request_id() {
        let (status, headers, body) = call(get_req("/nope")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(headers[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(body["status"], 404);
        assert_eq!(body["instance"], "/nope");
        assert_eq!(body["request_id"], headers[&REQUEST_ID].to_str().unwrap());
    }

    #[tokio::test]
    async fn wrong_method_is_a_405_problem_with_allow() {
        let req = Request::delete("/ok").body(Body::empty()).unwrap();
        let (status, headers, body) = call(req).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        let allow = headers[header::ALLOW].to_str().unwrap();
        assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
        assert_eq!(body["title"], "Method Not Allowed");
    }

    #[tokio::test]
    async fn panics_become_opaque_500_problems() {
        let (status, _, body) = call(get_req("/boom")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.to_string().contains("secret internals"), "{body}");
        assert_eq!(body["status"], 500);
    }

    #[tokio::test]
    async fn oversized_bodies_are_413_problems() {
        let req = Request::post("/ok")
            .body(Body::from("x".repeat(100)))
            .unwrap();
        let (status, headers, body) = call(req).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(headers[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(body["status"], 413);
    }

    #[tokio::test]
    async fn slow_requests_time_out_as_503_problems() {
        let (status, _, body) = call(get_req("/slow")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["title"], "Request Timeout");
    }

    #[tokio::test]
    async fn a_request_abandoned_by_its_client_leaves_in_flight_at_zero() {
        let metrics = crate::Metrics::build(
            &crate::config::MetricsConfig::default(),
            &crate::BuildInfo {
                name: "t",
                release: "0",
                commit: "x",
                build_time: "unset",
            },
        )
        .unwrap();
        let http = crate::metrics::HttpServerMetrics::register(&metrics).unwrap();
        let gauge = http.in_flight.clone();
        let app = wrap(
            Router::new().route("/hang", get(std::future::pending::<&str>)),
            HttpLayerConfig {
                request_timeout: Duration::from_secs(60),
                body_limit: 16,
                metrics: Some(http),
                propagate: None,
                access_log: false,
            },
        );
        let call = app.oneshot(get_req("/hang"));
        // The client gives up: the request future is dropped while the handler waits.
        let _ = tokio::time::timeout(Duration::from_millis(20), call).await;
        assert_eq!(gauge.get(), 0);
    }

    #[tokio::test]
    async fn request_ids_are_honoured_when_valid_and_replaced_when_not() {
        let cases = [
            ("abc-123", true),
            ("has space", false),
            (&*"x".repeat(MAX_REQUEST_ID_LEN + 1), false),
            (&*"y".repeat(MAX_REQUEST_ID_LEN), true),
        ];
        for (given, kept) in cases {
            let req = Request::get("/ok")
                .header(&REQUEST_ID, given)
                .body(Body::empty())
                .unwrap();
            let (_, headers, _) = call(req).await;
            let echoed = headers[&REQUEST_ID].to_str().unwrap();
            assert_eq!(echoed == given, kept, "case {given:?} → {echoed}");
            assert!(!echoed.is_empty());
        }
    }
}
