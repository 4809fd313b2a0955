//! Extractors that apply the 400 vs 422 rule to every body and query string.
//!
//! - [`ApiJson`]: the body must be JSON of the request type; anything serde
//!   refuses (syntax, a wrong type, an unknown field) is 400, pointing at the spot.
//! - [`ApiQuery`]: the query string decoded into a raw struct of plain types (the
//!   documented shape); a parameter that does not parse as its type is 400.
//! - [`Checked`]: an [`ApiQuery`] whose raw values then pass the domain newtypes
//!   ([`FromQuery`]); missing or out-of-range values are 422, all reported at once.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use super::AppState;
use crate::config::ApiConfig;
use crate::domain::FieldError;
use crate::error::ApiError;

/// `Json<T>` whose rejections are problem documents with JSON pointers.
pub struct ApiJson<T>(pub T);

/// The request's media type, lower-cased (empty when absent).
pub fn media_type(req: &Request) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

fn is_json(req: &Request) -> bool {
    let m = media_type(req);
    m.starts_with("application/json") || m.contains("+json")
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(&req) {
            return Err(ApiError::Malformed(vec![FieldError::header(
                "content-type",
                "expected application/json",
            )]));
        }
        decode_json(&body_bytes(req, state).await?).map(ApiJson)
    }
}

/// The whole body, within the server's body limit.
///
/// # Errors
/// [`ApiError::TooLarge`] over the limit, [`ApiError::Malformed`] when the body
/// cannot be read.
pub async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state)
        .await
        .map_err(|e| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(e.body_text()),
            _ => ApiError::Malformed(vec![FieldError::pointer("", e.body_text())]),
        })
}

/// Decode a JSON body; the error points at where decoding stopped.
///
/// # Errors
/// [`ApiError::Malformed`] for anything serde refuses.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        ApiError::Malformed(vec![FieldError::pointer(
            json_pointer(e.path()),
            e.inner().to_string(),
        )])
    })
}

/// serde's `currencies[1].code` as the RFC 6901 pointer `/currencies/1/code`
/// (`~` and `/` in keys escaped; `""` is the whole document).
pub fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
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

/// The query string decoded into `T`, a struct of plain types; rejections are 400
/// naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        decode_query(parts.uri.query().unwrap_or_default()).map(ApiQuery)
    }
}

/// Decode a query string.
///
/// # Errors
/// [`ApiError::Malformed`] naming the parameter that does not parse.
pub fn decode_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        // An error about no one parameter (a repeated one) names the query string.
        let name = if path == "." { String::new() } else { path };
        ApiError::Malformed(vec![FieldError::parameter(name, e.inner().to_string())])
    })
}

/// Query parameters that are checked against the domain's rules after decoding.
pub trait FromQuery: Sized {
    /// The documented shape: plain types, every field optional so that a missing
    /// one is reported by name.
    type Raw: DeserializeOwned;

    /// Check the raw values (page bounds come from the `api` config).
    ///
    /// # Errors
    /// Every missing or invalid parameter.
    fn check(raw: Self::Raw, api: &ApiConfig) -> Result<Self, Vec<FieldError>>;
}

/// Query parameters decoded (400) and checked (422).
pub struct Checked<T>(pub T);

impl<T: FromQuery> FromRequestParts<AppState> for Checked<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let ApiQuery(raw) = ApiQuery::<T::Raw>::from_request_parts(parts, s).await?;
        T::check(raw, &s.config.service.api)
            .map(Checked)
            .map_err(ApiError::Invalid)
    }
}

/// A path parameter through its domain parser: 422 naming it when it fails.
///
/// # Errors
/// [`ApiError::Invalid`] with the parser's message.
pub fn path_param<T>(name: &str, parsed: Result<T, String>) -> Result<T, ApiError> {
    parsed.map_err(|e| ApiError::Invalid(vec![FieldError::parameter(name, e)]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Location;

    fn malformed(r: Result<impl std::fmt::Debug, ApiError>) -> Location {
        match r {
            Err(ApiError::Malformed(mut e)) if e.len() == 1 => e.remove(0).at,
            other => panic!("not one Malformed error: {other:?}"),
        }
    }

    #[test]
    fn body_errors_point_into_the_body_per_rfc_6901() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Body {
            name: String,
            tags: Vec<String>,
        }
        let cases = [
            (r#"{"name": 1, "tags": []}"#, "/name"),
            (r#"{"name": "n", "tags": ["a", 5]}"#, "/tags/1"),
            (r#"{"tags": []}"#, ""),
            (r#"{"name": "n", "tags": [], "x/y": 1}"#, "/x~1y"),
            (r#"{"name": "n", "#, ""),
        ];
        for (body, want) in cases {
            let got = malformed(decode_json::<Body>(body.as_bytes()));
            assert_eq!(got, Location::Pointer(want.into()), "case {body}");
        }
    }

    #[test]
    fn query_errors_name_the_parameter() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Q {
            limit: Option<u32>,
            lat: Option<f64>,
        }
        let cases = [
            ("limit=abc", "limit"),
            ("lat=north", "lat"),
            ("limit=-1", "limit"),
        ];
        for (query, want) in cases {
            let got = malformed(decode_query::<Q>(query));
            assert_eq!(got, Location::Parameter(want.into()), "case {query}");
        }
        assert!(
            decode_query::<Q>("limit=5&lat=1.5&other=x").is_ok(),
            "unknown parameters are ignored"
        );
    }
}
