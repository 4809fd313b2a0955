//! HTTP handlers, one module per resource, plus what they share: state, paging,
//! ETags and the query extractor.

pub mod countries;
pub mod currencies;
pub mod docs;
pub mod flags;
pub mod home;
pub mod imports;
pub mod places;
pub mod timezones;

use std::sync::Arc;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::config::Config;
use crate::db::Db;
use crate::error::{ApiError, FieldError};

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// The effective config.
    pub config: Arc<Config>,
    /// The place index (loaded at start-up, or on first use).
    pub places: crate::places::Places,
    /// PNG flag renderer and its cache.
    pub flags: crate::flags::FlagRenderer,
    /// Bulk imports (pool, client, jobs); `None` when the group is off.
    pub importer: Option<crate::imports::Importer>,
}

/// An RFC 9457 problem document, as documented in the OpenAPI spec.
#[derive(Serialize, ToSchema)]
pub struct ProblemDoc {
    /// A URI naming the problem kind (`about:blank` for plain HTTP errors).
    #[serde(rename = "type")]
    pub kind: String,
    /// Summary of the kind.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What went wrong this time.
    pub detail: Option<String>,
    /// The request path.
    pub instance: Option<String>,
    /// The request id, to quote when reporting.
    pub request_id: Option<String>,
    /// Per-field errors (422 only).
    pub errors: Option<Vec<FieldError>>,
}

/// `?limit=&cursor=`: keyset paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1 to `api.max_page_size` (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    /// The limit, checked against the configured maximum.
    ///
    /// # Errors
    /// A limit of 0 or above the maximum.
    pub fn limit(&self, max: u32) -> Result<u32, ApiError> {
        match self.limit {
            None => Ok(50.min(max)),
            Some(l) if (1..=max).contains(&l) => Ok(l),
            Some(l) => Err(ApiError::Validation(vec![FieldError::new(
                "query.limit",
                format!("expected 1 to {max}, got {l}"),
            )])),
        }
    }

    /// The cursor, which is a resource code: letters only.
    ///
    /// # Errors
    /// A cursor that no page could have produced.
    pub fn cursor(&self) -> Result<Option<String>, ApiError> {
        match &self.cursor {
            None => Ok(None),
            Some(c)
                if !c.is_empty() && c.len() <= 3 && c.bytes().all(|b| b.is_ascii_alphabetic()) =>
            {
                Ok(Some(c.to_ascii_uppercase()))
            }
            Some(c) => Err(ApiError::Validation(vec![FieldError::new(
                "query.cursor",
                format!("{c:?} is not a cursor from this API"),
            )])),
        }
    }
}

/// A page of results.
#[derive(Serialize, ToSchema)]
pub struct Page<T> {
    /// This page's items.
    pub items: Vec<T>,
    /// Items matching the filters, over all pages.
    pub total: i64,
    /// The page size used.
    pub limit: u32,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// The next page's URL; absent on the last page.
    pub next: Option<String>,
}

/// `Query<T>` whose rejection is a problem document.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}

/// A strong ETag over a representation: equal bytes, equal tag, on every replica.
pub fn etag<T: Serialize>(value: &T) -> String {
    etag_bytes(&serde_json::to_vec(value).unwrap_or_default(), 0)
}

/// A strong ETag over bytes plus a variant number (a PNG width, say).
pub fn etag_bytes(bytes: &[u8], variant: u32) -> String {
    // FNV-1a: stable across processes and Rust versions, unlike `DefaultHasher`.
    let fnv = |h: u64, b: &u8| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    let hash = variant
        .to_le_bytes()
        .iter()
        .fold(bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, fnv), fnv);
    format!("\"{hash:016x}\"")
}

fn header_tags(headers: &HeaderMap, name: header::HeaderName) -> Option<Vec<String>> {
    let values: Vec<String> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/").to_string())
        .filter(|t| !t.is_empty())
        .collect();
    (!values.is_empty()).then_some(values)
}

/// Whether `If-None-Match` matches `tag` (→ 304).
pub fn not_modified(headers: &HeaderMap, tag: &str) -> bool {
    header_tags(headers, header::IF_NONE_MATCH)
        .is_some_and(|tags| tags.iter().any(|t| t == "*" || t == tag))
}

/// The `If-Match` precondition as a predicate on the current representation's tag.
pub fn if_match(headers: &HeaderMap) -> impl Fn(&str) -> bool + Send + 'static {
    let tags = header_tags(headers, header::IF_MATCH);
    move |current: &str| match &tags {
        None => true,
        Some(tags) => tags.iter().any(|t| t == "*" || t == current),
    }
}

/// Headers for a single resource: `ETag`, and `Cache-Control` asking to revalidate.
pub fn entity_headers(tag: &str) -> [(header::HeaderName, HeaderValue); 2] {
    [
        (
            header::ETAG,
            HeaderValue::from_str(tag).unwrap_or(HeaderValue::from_static("\"0\"")),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ]
}

/// A single resource with its `ETag`.
pub fn entity<T: Serialize>(value: T) -> Response {
    let tag = etag(&value);
    (entity_headers(&tag), Json(value)).into_response()
}

/// A single resource, or 304 when `If-None-Match` names its current `ETag`.
pub fn entity_unless_unchanged<T: Serialize>(headers: &HeaderMap, value: T) -> Response {
    let tag = etag(&value);
    if not_modified(headers, &tag) {
        return (StatusCode::NOT_MODIFIED, entity_headers(&tag)).into_response();
    }
    (entity_headers(&tag), Json(value)).into_response()
}

/// 201 with `Location` and the new resource with its `ETag`.
pub fn created<T: Serialize>(location: String, value: T) -> Response {
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        entity(value),
    )
        .into_response()
}

/// Build the `next` link from the current path, query pairs and cursor.
pub fn next_link(
    path: &str,
    pairs: &[(&str, Option<&str>)],
    limit: u32,
    cursor: Option<&str>,
) -> Option<String> {
    let cursor = cursor?;
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v {
            ser.append_pair(k, v);
        }
    }
    ser.append_pair("limit", &limit.to_string());
    ser.append_pair("cursor", cursor);
    Some(format!("{path}?{}", ser.finish()))
}
