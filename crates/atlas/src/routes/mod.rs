//! HTTP handlers, one module per resource, plus what they share: state, paging,
//! ETags; [`extract`] holds the extractors that apply the 400 vs 422 rule.

pub mod countries;
pub mod currencies;
pub mod docs;
pub mod extract;
pub mod flags;
pub mod home;
pub mod imports;
pub mod lists;
pub mod places;
pub mod sparse_doc;
pub mod subdivisions;
pub mod time;
pub mod timezones;

use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::catalog::Encoded;
use crate::config::{ApiConfig, Config};
use crate::domain::{FieldError, PageLimit, Violations};
use crate::error;
use crate::query::{Cursor, Paged, Projection};
use crate::store::Db;

/// What handlers share: one `Arc`, since axum clones the state for every request
/// (cloning the services themselves, each a handful of `Arc`s, was a fifth of a
/// request's CPU).
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    /// Share `services` with every handler.
    pub fn new(services: Services) -> Self {
        Self(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// The services behind [`AppState`].
pub struct Services {
    /// The database.
    pub db: Db,
    /// Countries, currencies and subdivisions in memory (off: reads query `db`).
    pub catalog: crate::catalog::Catalog,
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
    /// Every problem with the request (400 and 422): each names a body `pointer`
    /// (RFC 6901), a `parameter` or a `header`, with a `detail`.
    pub errors: Option<Vec<FieldError>>,
}

/// Page size when `limit` is absent (capped at `api.max_page_size`).
pub(crate) const DEFAULT_PAGE_SIZE: u32 = 50;

/// Check `limit` and `cursor`, the keyset paging parameters every list shares.
fn paging(
    v: &mut Violations,
    limit: Option<u32>,
    cursor: Option<&str>,
    api: &ApiConfig,
) -> (Option<PageLimit>, Option<Option<Cursor>>) {
    let limit = v.parameter(
        "limit",
        PageLimit::parse(limit, DEFAULT_PAGE_SIZE, api.max_page_size),
    );
    let cursor = v.parameter("cursor", cursor.map(Cursor::parse).transpose());
    (limit, cursor)
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

impl<T> Page<T> {
    /// The page as served at `path`, its `next` link repeating the filter `pairs`.
    pub fn at(
        path: &str,
        pairs: &[(&str, Option<&str>)],
        limit: PageLimit,
        page: crate::store::Page<T>,
    ) -> Self {
        let next = next_link(path, pairs, limit, page.next_cursor.as_deref());
        Self {
            items: page.items,
            total: page.total,
            limit: limit.get(),
            next_cursor: page.next_cursor,
            next,
        }
    }
}

impl<'a> Page<Item<'a>> {
    /// A page of a list in memory as served at `path`, each item whole or as
    /// `fields` selects; the `next` link repeats the checked parameters `echo`.
    pub fn listed<E: Serialize>(
        path: &str,
        echo: &[(&str, String)],
        limit: PageLimit,
        paged: Paged<'a, Encoded<E>>,
        fields: Option<&Projection>,
    ) -> Self {
        let pairs: Vec<(&str, Option<&str>)> =
            echo.iter().map(|(k, v)| (*k, Some(v.as_str()))).collect();
        let next_cursor = paged.next.as_ref().map(Cursor::encode);
        let next = next_link(path, &pairs, limit, next_cursor.as_deref());
        Self {
            items: paged
                .items
                .into_iter()
                .map(|e| Item::of(e, fields))
                .collect(),
            total: i64::try_from(paged.total).unwrap_or(i64::MAX),
            limit: limit.get(),
            next_cursor,
            next,
        }
    }
}

/// A list item as served: its stored JSON whole, or the parts `?fields=` asks for.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Item<'a> {
    /// Everything, as encoded in the snapshot.
    Whole(&'a RawValue),
    /// A projection.
    Part(serde_json::Value),
}

impl<'a> Item<'a> {
    /// `e` whole, or as `fields` selects.
    pub fn of<T: Serialize>(e: &'a Encoded<T>, fields: Option<&Projection>) -> Self {
        match fields {
            None => Self::Whole(&e.raw),
            Some(p) => Self::Part(p.apply(&serde_json::to_value(&e.value).unwrap_or_default())),
        }
    }
}

/// A strong ETag over a representation: equal bytes, equal tag, on every replica.
pub fn etag<T: Serialize>(value: &T) -> String {
    etag_bytes(&serde_json::to_vec(value).unwrap_or_default(), 0)
}

pub use crate::domain::etag::etag_bytes;

/// The tags of `If-None-Match`, weak ones as strong: it uses weak comparison
/// (RFC 9110 §13.1.2). Lenient, as a wrong answer costs only a full response;
/// `If-Match`, which guards writes, is parsed strictly ([`extract::IfMatch`]).
fn none_match_tags(headers: &HeaderMap) -> Option<Vec<String>> {
    let values: Vec<String> = headers
        .get_all(header::IF_NONE_MATCH)
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
    none_match_tags(headers).is_some_and(|tags| tags.iter().any(|t| t == "*" || t == tag))
}

/// The `If-Match` check as the store's precondition on the row a write reads
/// inside its transaction: the row's representation must carry a listed ETag.
pub fn written_if<T: Serialize>(
    precondition: extract::IfMatch,
) -> impl FnOnce(&crate::store::Versioned<T>) -> bool + Send + 'static {
    move |current| precondition.matches(&etag(&current.value))
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

/// A snapshot entity with its stored ETag and body: 304 when the caller has it.
pub fn encoded_unless_unchanged<T>(
    headers: &HeaderMap,
    e: &crate::catalog::Encoded<T>,
) -> Response {
    if not_modified(headers, &e.etag) {
        return (StatusCode::NOT_MODIFIED, entity_headers(&e.etag)).into_response();
    }
    let json = [(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    )];
    (entity_headers(&e.etag), json, e.json.clone()).into_response()
}

/// A list (a [`Page`], or any serializable body) with a strong `ETag` over its
/// bytes, or 304 when `If-None-Match` names it. `Cache-Control` is the group's,
/// set by its layer. Every list handler answers through this:
/// `Ok(list_response(&headers, &Page::at(..)))`.
pub fn list_response<T: Serialize>(headers: &HeaderMap, body: &T) -> Response {
    let json = match serde_json::to_vec(body) {
        Ok(json) => json,
        Err(e) => return error::ApiError::Unexpected(e.into()).into_response(),
    };
    let tag = etag_bytes(&json, 0);
    if not_modified(headers, &tag) {
        return (StatusCode::NOT_MODIFIED, entity_headers(&tag)).into_response();
    }
    let content_type = [(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    )];
    (entity_headers(&tag), content_type, json).into_response()
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
    limit: PageLimit,
    cursor: Option<&str>,
) -> Option<String> {
    let cursor = cursor?;
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v {
            ser.append_pair(k, v);
        }
    }
    ser.append_pair("limit", &limit.get().to_string());
    ser.append_pair("cursor", cursor);
    Some(format!("{path}?{}", ser.finish()))
}
