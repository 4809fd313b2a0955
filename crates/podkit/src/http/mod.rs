//! The request path every API (and admin) request goes through, as tower layers.
//!
//! Outermost first:
//! 1. request id — a caller's valid `x-request-id` is kept, anything else replaced
//!    ([`request_id`], on tower-http's request-id layers), and echoed back;
//! 2. observe — span, in-flight gauge, RED metrics, access log, trace hooks
//!    ([`observe`]);
//! 3. problem — every 4xx/5xx leaves as RFC 9457 problem+json with `instance` and
//!    `request_id` ([`problem`]);
//! 4. rate limit — when `server.rate_limit.enabled`, on the API port only: 429
//!    problem with `Retry-After` beyond a client's budget ([`ratelimit`]);
//! 5. timeout — a request running past `server.request_timeout` gets a 503 problem
//!    (tower's timeout, its error mapped once);
//! 6. limits — a longer target gets 414, a larger body 413, also when a chunked
//!    body crosses the limit mid-stream ([`limit`]);
//! 7. panic catcher — a panicking handler gives an opaque 500 (tower-http);
//! 8. the service's handler, or the 404 fallback.
//!
//! What hyper answers before a request reaches these layers has no problem body:
//! a request head larger than `server.max_header_bytes` gets a bare 431 and a
//! malformed one a bare 400 (status line only, then the connection closes); a
//! head not complete within `server.header_read_timeout` gets no answer, the
//! connection is closed.

use std::sync::Arc;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{middleware, BoxError, Router};
use tower::timeout::error::Elapsed;
use tower::timeout::TimeoutLayer;
use tower::util::MapRequestLayer;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};

pub mod cache_control;
pub mod limit;
pub mod observe;
pub mod problem;
pub mod ratelimit;
pub mod request_id;

pub use cache_control::CacheControl;
pub use observe::{Observe, UNMATCHED_ROUTE};
pub use problem::{Cause, Problem, PROBLEM_JSON};
pub use ratelimit::RateLimiter;
pub use request_id::{valid_request_id, MAX_REQUEST_ID_LEN, REQUEST_ID};

/// Settings of the request path.
#[derive(Clone)]
pub struct HttpLayerConfig {
    /// Requests running longer get a 503 problem.
    pub request_timeout: Duration,
    /// Largest accepted body in bytes.
    pub body_limit: usize,
    /// What the observe layer records.
    pub observe: Observe,
    /// Per-client rate limiting; `None`: off.
    pub rate_limit: Option<RateLimiter>,
}

/// Wrap a service's router in the kit's layers, 404 fallback and problem bodies.
pub fn wrap(router: Router, cfg: HttpLayerConfig) -> Router {
    let timeout = cfg.request_timeout;
    let router = router
        .fallback(not_found)
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn_with_state(
            cfg.body_limit,
            limit::limit_layer,
        ))
        .layer(DefaultBodyLimit::max(cfg.body_limit))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(move |e| timed_out(e, timeout)))
                .layer(TimeoutLayer::new(timeout)),
        );
    let router = match cfg.rate_limit {
        Some(limiter) => router.layer(middleware::from_fn_with_state(
            limiter,
            ratelimit::limit_layer,
        )),
        None => router,
    };
    router
        .layer(middleware::from_fn(problem::problem_layer))
        .layer(middleware::from_fn_with_state(
            Arc::new(cfg.observe),
            observe::observe_layer,
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(SetRequestIdLayer::new(
            REQUEST_ID.clone(),
            request_id::MakeUuid,
        ))
        .layer(MapRequestLayer::new(request_id::drop_invalid_id))
}

async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND).detail("no route matches this path")
}

/// The timeout layer's error, mapped once: `Elapsed` is the only error it makes.
async fn timed_out(err: BoxError, timeout: Duration) -> Problem {
    if !err.is::<Elapsed>() {
        tracing::error!(error.message = %err, "request failed in the middleware");
        return Problem::new(StatusCode::INTERNAL_SERVER_ERROR);
    }
    tracing::warn!(timeout_ms = timeout.as_millis() as u64, "request timed out");
    Problem::new(StatusCode::SERVICE_UNAVAILABLE)
        .kind("about:blank", "Request Timeout")
        .detail(format!(
            "the request did not complete within {}",
            humantime::format_duration(timeout)
        ))
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::extract::Request;
    use axum::http::header;
    use axum::routing::get;
    use serde_json::Value;
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
                observe: Observe {
                    access_log: true,
                    ..Observe::default()
                },
                rate_limit: None,
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
        let metrics = crate::telemetry::metrics::Metrics::build(
            &crate::config::MetricsConfig::default(),
            &crate::build::BuildInfo {
                name: "t",
                release: "0",
                commit: "x",
                build_time: "unset",
            },
        )
        .unwrap();
        let http = crate::telemetry::metrics::HttpServerMetrics::register(&metrics).unwrap();
        let gauge = http.in_flight.clone();
        let app = wrap(
            Router::new().route("/hang", get(std::future::pending::<&str>)),
            HttpLayerConfig {
                request_timeout: Duration::from_secs(60),
                body_limit: 16,
                observe: Observe {
                    metrics: Some(http),
                    ..Observe::default()
                },
                rate_limit: None,
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

    #[tokio::test]
    async fn large_problem_bodies_are_written_whole() {
        // Regression (#10): the old rewrite re-read bodies up to 64 KiB and sent
        // larger ones empty.
        let long = "x".repeat(100 * 1024);
        let detail = long.clone();
        let app = wrap(
            Router::new().route(
                "/big",
                get(move || {
                    let detail = detail.clone();
                    async move { Problem::new(StatusCode::CONFLICT).detail(detail) }
                }),
            ),
            HttpLayerConfig {
                request_timeout: Duration::from_secs(5),
                body_limit: 16,
                observe: Observe::default(),
                rate_limit: None,
            },
        );
        let res = app.oneshot(get_req("/big")).await.unwrap();
        assert_eq!(res.status(), StatusCode::CONFLICT);
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["detail"].as_str().map(str::len), Some(long.len()));
        assert_eq!(body["instance"], "/big");
    }

    #[tokio::test]
    async fn json_error_bodies_chosen_by_a_handler_are_kept() {
        let app = wrap(
            Router::new().route(
                "/report",
                get(|| async {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        axum::Json(serde_json::json!({"status": "not_ready"})),
                    )
                }),
            ),
            HttpLayerConfig {
                request_timeout: Duration::from_secs(5),
                body_limit: 16,
                observe: Observe::default(),
                rate_limit: None,
            },
        );
        let (status, headers, body) = {
            let res = app.oneshot(get_req("/report")).await.unwrap();
            let (s, h) = (res.status(), res.headers().clone());
            let b = axum::body::to_bytes(res.into_body(), 1 << 20)
                .await
                .unwrap();
            (s, h, serde_json::from_slice::<Value>(&b).unwrap())
        };
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(body, serde_json::json!({"status": "not_ready"}));
    }
}
