//! [`ApiError`]: every handler's error, split by who can fix it, mapped to an RFC 9457
//! problem in one place.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use podkit::http::Cause;
use podkit::Problem;

/// What went wrong with a request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed (not JSON, a wrong type): 400.
    #[error("{0}")]
    BadRequest(String),
    /// A value is out of range: 422.
    #[error("{0}")]
    Validation(String),
    /// Nothing at this address: 404.
    #[error("{0}")]
    NotFound(String),
    /// Too much at once (a full queue): 429 + `Retry-After`.
    #[error("{0}")]
    Busy(String),
    /// Try again shortly (a database away, the pod stopping): 503 + `Retry-After`.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an outage: 500 with an opaque body; the cause is logged.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = match &self {
            ApiError::BadRequest(m) => Problem::new(StatusCode::BAD_REQUEST).detail(m),
            ApiError::Validation(m) => Problem::new(StatusCode::UNPROCESSABLE_ENTITY).detail(m),
            ApiError::NotFound(m) => Problem::new(StatusCode::NOT_FOUND).detail(m),
            ApiError::Busy(m) => Problem::new(StatusCode::TOO_MANY_REQUESTS)
                .detail(m)
                .header(header::RETRY_AFTER, HeaderValue::from_static("1")),
            ApiError::Unavailable(m) => Problem::new(StatusCode::SERVICE_UNAVAILABLE)
                .detail(m)
                .header(header::RETRY_AFTER, HeaderValue::from_static("1")),
            ApiError::Unexpected(_) => Problem::new(StatusCode::INTERNAL_SERVER_ERROR),
        };
        let mut res = problem.into_response();
        if let ApiError::Unexpected(e) = &self {
            // The kit's middleware logs it with the request's span; the body stays opaque.
            res.extensions_mut().insert(Cause::new(e.as_ref()));
        }
        res
    }
}
