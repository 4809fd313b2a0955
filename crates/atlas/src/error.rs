//! `ApiError`: every way a request can fail, split by who can fix it, mapped to
//! RFC 9457 problem+json in exactly one place.
//!
//! The caller's mistakes follow one rule. A request that cannot be read (not
//! JSON, a JSON value of the wrong type, an unknown field, a parameter that does
//! not parse as its type) is [`ApiError::Malformed`], 400. A request that can be
//! read but carries a missing or invalid value is [`ApiError::Invalid`], 422. Both
//! list every problem in `errors`, each naming a body pointer, a parameter or a
//! header.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use podkit::Problem;
use serde_json::json;

use crate::domain::FieldError;
use crate::imports::SubmitError;
use crate::store::{DbError, WriteError};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The resource does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The resource does not exist; extension members help the caller (suggestions).
    #[error("{0}")]
    NotFoundWith(String, serde_json::Value),
    /// The request cannot be read: 400.
    #[error("malformed request")]
    Malformed(Vec<FieldError>),
    /// The request was read, but values are missing or break a rule: 422.
    #[error("invalid request")]
    Invalid(Vec<FieldError>),
    /// The body is over the configured limit.
    #[error("{0}")]
    TooLarge(String),
    /// The write conflicts with existing data (duplicate code, still referenced).
    #[error("{0}")]
    Conflict(String),
    /// `If-Match` named a representation that is no longer current.
    #[error("{0}")]
    PreconditionFailed(String),
    /// The caller may not do this (e.g. a URL host not on the allow-list).
    #[error("{0}")]
    Forbidden(String),
    /// Too much work queued; retry after a while.
    #[error("{0}")]
    TooManyRequests(String),
    /// Bounded work (e.g. PNG rendering) is at capacity; retry after a moment.
    #[error("{0}")]
    Overloaded(String),
    /// A dependency is down; retry later.
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// A bug or broken invariant: logged with its cause chain, opaque to the caller.
    #[error("unexpected error")]
    Unexpected(#[from] anyhow::Error),
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(_)
            | DbError::Down
            | DbError::Busy(_)
            | DbError::NotMigrated(_)
            | DbError::FileGone(_) => ApiError::Unavailable(e.into()),
            DbError::Conflict(_) => {
                ApiError::Conflict("the write conflicts with existing data".into())
            }
            DbError::Unexpected(_) => ApiError::Unexpected(e.into()),
        }
    }
}

impl From<WriteError> for ApiError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Invalid(errors) => ApiError::Invalid(errors),
            WriteError::Rows(rows) => ApiError::Invalid(
                rows.into_iter()
                    .map(|r| {
                        FieldError::pointer(
                            format!("/{}/{}{}", r.kind, r.row.saturating_sub(1), r.pointer),
                            r.detail,
                        )
                    })
                    .collect(),
            ),
            WriteError::Duplicate(d) | WriteError::InUse(d) => ApiError::Conflict(d),
            WriteError::Missing => ApiError::NotFound("no such resource".into()),
            WriteError::Stale => ApiError::PreconditionFailed(
                "the resource changed since it was read: fetch it again for a fresh ETag".into(),
            ),
            WriteError::Db(e) => e.into(),
        }
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::QueueFull => {
                ApiError::TooManyRequests("the import queue is full; retry shortly".into())
            }
            SubmitError::ShuttingDown => ApiError::Unavailable(anyhow::anyhow!("shutting down")),
            SubmitError::Forbidden(d) => ApiError::Forbidden(d),
            SubmitError::Invalid(errors) => ApiError::Invalid(errors),
            SubmitError::Db(e) => e.into(),
        }
    }
}

/// The problem document for a list of field errors.
fn field_problem(status: StatusCode, kind: &str, title: &str, errors: &[FieldError]) -> Problem {
    Problem::new(status)
        .kind(format!("https://atlas.example/problems/{kind}"), title)
        .detail(format!("{} problem(s); see `errors`", errors.len()))
        .with("errors", json!(errors))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = match &self {
            ApiError::NotFound(d) => Problem::new(StatusCode::NOT_FOUND).detail(d),
            ApiError::NotFoundWith(d, ext) => {
                let mut p = Problem::new(StatusCode::NOT_FOUND).detail(d);
                if let serde_json::Value::Object(m) = ext {
                    p.extensions.extend(m.clone());
                }
                p
            }
            ApiError::Malformed(errors) => field_problem(
                StatusCode::BAD_REQUEST,
                "malformed",
                "Malformed request",
                errors,
            ),
            ApiError::Invalid(errors) => field_problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Validation failed",
                errors,
            ),
            ApiError::TooLarge(d) => Problem::new(StatusCode::PAYLOAD_TOO_LARGE).detail(d),
            ApiError::Conflict(d) => Problem::new(StatusCode::CONFLICT).detail(d),
            ApiError::PreconditionFailed(d) => {
                Problem::new(StatusCode::PRECONDITION_FAILED).detail(d)
            }
            ApiError::Forbidden(d) => Problem::new(StatusCode::FORBIDDEN).detail(d),
            ApiError::TooManyRequests(d) => Problem::new(StatusCode::TOO_MANY_REQUESTS)
                .detail(d)
                .header(header::RETRY_AFTER, HeaderValue::from_static("2")),
            ApiError::Overloaded(d) => Problem::new(StatusCode::SERVICE_UNAVAILABLE)
                .detail(d)
                .header(header::RETRY_AFTER, HeaderValue::from_static("1")),
            ApiError::Unavailable(_) => Problem::new(StatusCode::SERVICE_UNAVAILABLE)
                .detail("the database is unavailable; retry shortly")
                .header(header::RETRY_AFTER, HeaderValue::from_static("5")),
            ApiError::Unexpected(_) => Problem::new(StatusCode::INTERNAL_SERVER_ERROR).detail(
                "the server hit an unexpected error; quote the request id when reporting it",
            ),
        };
        let mut res = problem.into_response();
        // The cause travels to the kit's middleware, which logs it with the request.
        if let ApiError::Unavailable(e) | ApiError::Unexpected(e) = &self {
            res.extensions_mut()
                .insert(podkit::http::Cause::new(e.as_ref()));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The status and the problem document podkit's problem layer will write.
    async fn body(e: ApiError) -> (u16, serde_json::Value) {
        let res = e.into_response();
        let status = res.status().as_u16();
        let problem = res.extensions().get::<Problem>().expect("a problem");
        (status, serde_json::to_value(problem).unwrap())
    }

    #[tokio::test]
    async fn malformed_is_400_and_invalid_is_422_both_with_errors() {
        let cases = [
            (
                ApiError::Malformed(vec![FieldError::parameter("limit", "not a number")]),
                400,
            ),
            (
                ApiError::Invalid(vec![FieldError::parameter("limit", "expected 1 to 250")]),
                422,
            ),
        ];
        for (e, want) in cases {
            let (status, p) = body(e).await;
            assert_eq!(
                (status, p["status"].as_u64()),
                (want, Some(u64::from(want))),
                "{p}"
            );
            assert_eq!(p["errors"][0]["parameter"], "limit", "case {want}: {p}");
        }
    }

    #[test]
    fn bulk_write_conflicts_point_into_the_body() {
        let rows = vec![crate::domain::RowError::new(
            "countries",
            2,
            FieldError::pointer("/alpha2", "taken"),
        )];
        let ApiError::Invalid(errors) = ApiError::from(WriteError::Rows(rows)) else {
            panic!("not Invalid");
        };
        assert_eq!(
            errors,
            vec![FieldError::pointer("/countries/1/alpha2", "taken")]
        );
    }
}
