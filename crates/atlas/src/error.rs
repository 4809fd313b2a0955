//! `ApiError`: every way a request can fail, split by who can fix it, mapped to
//! RFC 9457 problem+json in exactly one place.

use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use podkit::Problem;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

use crate::db::DbError;

/// One invalid field, as a JSON pointer into the request body (or a query parameter).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// `#/alpha2`, `#/currencies/1`, or `query.limit`.
    pub pointer: String,
    /// What is wrong.
    pub detail: String,
}

impl FieldError {
    /// A field error.
    pub fn new(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            detail: detail.into(),
        }
    }
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The resource does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The resource does not exist; extension members help the caller (suggestions).
    #[error("{0}")]
    NotFoundWith(String, serde_json::Value),
    /// The request is malformed (bad JSON, bad query syntax).
    #[error("{0}")]
    BadRequest(String),
    /// Query parameters out of range, as field errors (400: the request itself is wrong).
    #[error("invalid query parameters")]
    InvalidQuery(Vec<FieldError>),
    /// Well-formed but invalid fields.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
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
            DbError::Unavailable(_) => ApiError::Unavailable(e.into()),
            DbError::Conflict(_) => {
                ApiError::Conflict("the write conflicts with existing data".into())
            }
            DbError::Unexpected(_) => ApiError::Unexpected(e.into()),
        }
    }
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
            ApiError::BadRequest(d) => Problem::new(StatusCode::BAD_REQUEST).detail(d),
            ApiError::InvalidQuery(errors) => Problem::new(StatusCode::BAD_REQUEST)
                .detail(format!("{} invalid query parameter(s)", errors.len()))
                .with("errors", json!(errors)),
            ApiError::Validation(errors) => Problem::new(StatusCode::UNPROCESSABLE_ENTITY)
                .kind(
                    "https://atlas.example/problems/validation",
                    "Validation failed",
                )
                .detail(format!("{} invalid field(s)", errors.len()))
                .with("errors", json!(errors)),
            ApiError::Conflict(d) => Problem::new(StatusCode::CONFLICT).detail(d),
            ApiError::PreconditionFailed(d) => {
                Problem::new(StatusCode::PRECONDITION_FAILED).detail(d)
            }
            ApiError::Forbidden(d) => Problem::new(StatusCode::FORBIDDEN).detail(d),
            ApiError::TooManyRequests(d) => Problem::new(StatusCode::TOO_MANY_REQUESTS)
                .detail(d)
                .header(header::RETRY_AFTER, HeaderValue::from_static("2")),
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

/// `Json<T>` whose rejections are problem documents with per-field pointers.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json") || v.contains("+json"));
        if !is_json {
            return Err(ApiError::BadRequest(
                "expected Content-Type: application/json".into(),
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize(de) {
            Ok(v) => Ok(ApiJson(v)),
            Err(e) => {
                let inner = e.inner();
                if inner.is_syntax() || inner.is_eof() {
                    return Err(ApiError::BadRequest(format!("malformed JSON: {inner}")));
                }
                Err(ApiError::Validation(vec![FieldError::new(
                    json_pointer(e.path()),
                    inner.to_string(),
                )]))
            }
        }
    }
}

/// serde's `currencies[1]` as `#/currencies/1`, the pointer form the validators use
/// (RFC 6901: `~` and `/` in keys escaped).
fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::from("#");
    for segment in path.iter() {
        let part = match segment {
            Segment::Seq { index } => index.to_string(),
            Segment::Map { key } => key.replace('~', "~0").replace('/', "~1"),
            Segment::Enum { variant } => variant.replace('~', "~0").replace('/', "~1"),
            Segment::Unknown => continue,
        };
        pointer.push('/');
        pointer.push_str(&part);
    }
    pointer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pointer_of(json: &str) -> String {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Body {
            name: String,
            tags: Vec<String>,
        }
        let de = &mut serde_json::Deserializer::from_str(json);
        let err = serde_path_to_error::deserialize::<_, Body>(de).unwrap_err();
        json_pointer(err.path())
    }

    #[test]
    fn type_errors_point_into_the_body_like_the_validators_do() {
        let cases = [
            (r#"{"name": 1, "tags": []}"#, "#/name"),
            (r#"{"name": "n", "tags": ["a", 5]}"#, "#/tags/1"),
            (r#"[["x"]]"#, "#/0"),
            (r#"{"tags": []}"#, "#"),
        ];
        for (body, want) in cases {
            assert_eq!(pointer_of(body), want, "case {body}");
        }
    }
}
