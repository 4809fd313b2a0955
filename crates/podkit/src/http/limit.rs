//! Request size limits: the target's length (414) and the body (413), checked
//! before the handler where the request says its size and while streaming where it
//! does not (chunked bodies).
//!
//! A handler (or an extractor) that fails on the body stream answers with its
//! own status, typically a 400 for "could not read the body". When the limit was
//! the cause, the answer is replaced by the 413 it really is.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use http_body_util::{LengthLimitError, Limited};

use super::problem::Problem;

/// The longest request target (path and query) accepted; longer get a 414 problem.
pub const MAX_URI_LEN: usize = 8 * 1024;

pub(crate) async fn limit_layer(State(limit): State<usize>, req: Request, next: Next) -> Response {
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri_len > MAX_URI_LEN {
        return Problem::new(StatusCode::URI_TOO_LONG)
            .detail(format!(
                "the request target is {uri_len} bytes; at most {MAX_URI_LEN} are accepted"
            ))
            .into_response();
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(limit);
    }
    // A body known to be empty (a GET without Content-Length or chunking) cannot
    // cross the limit: no wrapper, no allocation.
    if http_body::Body::is_end_stream(req.body()) {
        return next.run(req).await;
    }
    let hit = Arc::new(AtomicBool::new(false));
    let flag = hit.clone();
    let req = req.map(|body| {
        Body::new(Flagged {
            inner: Limited::new(body, limit),
            hit: flag,
        })
    });
    let res = next.run(req).await;
    let failed = res.status().is_client_error() || res.status().is_server_error();
    if failed && hit.load(Ordering::Relaxed) && res.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return too_large(limit);
    }
    res
}

fn too_large(limit: usize) -> Response {
    Problem::new(StatusCode::PAYLOAD_TOO_LARGE)
        .detail(format!(
            "the request body is larger than this endpoint accepts ({limit} bytes)"
        ))
        .into_response()
}

/// A body that remembers whether it ran into its length limit.
struct Flagged {
    inner: Limited<Body>,
    hit: Arc<AtomicBool>,
}

impl http_body::Body for Flagged {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Err(e))) = &polled {
            if e.is::<LengthLimitError>() {
                self.hit.store(true, Ordering::Relaxed);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::routing::post;
    use axum::Router;
    use tower::ServiceExt;

    use super::*;
    use crate::http::{wrap, HttpLayerConfig, Observe, PROBLEM_JSON};

    fn app() -> Router {
        // A handler that maps every body error to 400, as a service's own
        // extractor might.
        let echo = |body: Body| async move {
            match axum::body::to_bytes(body, usize::MAX).await {
                Ok(b) => Ok(b),
                Err(_) => Err(StatusCode::BAD_REQUEST),
            }
        };
        wrap(
            Router::new().route("/echo", post(echo)),
            HttpLayerConfig {
                request_timeout: Duration::from_secs(5),
                body_limit: 16,
                observe: Observe::default(),
                rate_limit: None,
            },
        )
    }

    async fn call(req: Request) -> (StatusCode, String, serde_json::Value) {
        let res = app().oneshot(req).await.unwrap();
        let status = res.status();
        let ct = res
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or_default();
        (status, ct, body)
    }

    fn chunked(parts: usize) -> Body {
        let chunks = (0..parts).map(|_| Ok::<_, std::io::Error>(Bytes::from_static(b"0123456789")));
        Body::from_stream(futures_util::stream::iter(chunks))
    }

    #[tokio::test]
    async fn a_chunked_body_crossing_the_limit_is_a_413_problem_not_the_handlers_400() {
        let req = Request::post("/echo").body(chunked(5)).unwrap();
        let (status, ct, body) = call(req).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(ct, PROBLEM_JSON);
        assert_eq!(body["status"], 413);
    }

    #[tokio::test]
    async fn a_chunked_body_within_the_limit_passes() {
        let req = Request::post("/echo").body(chunked(1)).unwrap();
        let (status, _, _) = call(req).await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_refused_before_the_handler() {
        let req = Request::post("/echo")
            .header(header::CONTENT_LENGTH, "1000000")
            .body(Body::empty())
            .unwrap();
        let (status, ct, _) = call(req).await;
        assert_eq!(
            (status, ct.as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, PROBLEM_JSON)
        );
    }

    #[tokio::test]
    async fn an_overlong_target_is_a_414_problem() {
        let uri = format!("/echo?q={}", "x".repeat(MAX_URI_LEN));
        let req = Request::post(uri).body(Body::empty()).unwrap();
        let (status, ct, body) = call(req).await;
        assert_eq!(
            (status, ct.as_str()),
            (StatusCode::URI_TOO_LONG, PROBLEM_JSON)
        );
        assert!(body["detail"].as_str().unwrap().contains("8192"), "{body}");
    }
}
