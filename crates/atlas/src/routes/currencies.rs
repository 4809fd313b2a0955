//! `/api/v1/currencies`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::{path_param, ApiJson, Checked, FromQuery, IfMatch};
use super::{paging, written_if, AppState, Page, ProblemDoc};
use crate::config::ApiConfig;
use crate::domain::country::Country;
use crate::domain::currency::{Currency, CurrencyInput};
use crate::domain::{CurrencyCode, FieldError, SearchTerm, Violations};
use crate::error::ApiError;
use crate::store::currencies::{self, CurrencyFilter};
use crate::store::WriteError;

/// `?q=&limit=&cursor=`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CurrencyQuery {
    /// Case-insensitive part of the name (up to 100 characters, no control
    /// characters; blank means no filter).
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// Items per page, 1 to `api.max_page_size` (default 50).
    #[param(minimum = 1)]
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

impl FromQuery for CurrencyFilter {
    type Raw = CurrencyQuery;

    fn check(raw: CurrencyQuery, api: &ApiConfig) -> Result<Self, Vec<FieldError>> {
        let mut v = Violations::default();
        let q = v.parameter("q", SearchTerm::parse_filter(raw.q.as_deref()));
        let (limit, after) = paging(&mut v, raw.limit, raw.cursor.as_deref(), api);
        v.done(|| {
            Some(CurrencyFilter {
                q: q?,
                after: after?,
                limit: limit?,
            })
        })
    }
}

fn code(raw: &str) -> Result<CurrencyCode, ApiError> {
    path_param("code", CurrencyCode::parse(raw))
}

fn not_found(code: &str) -> ApiError {
    ApiError::NotFound(format!("no currency with code {code:?}"))
}

/// A write's error, with "missing" worded for this currency.
fn write_error(code: &str) -> impl Fn(WriteError) -> ApiError + '_ {
    move |e| match e {
        WriteError::Missing => not_found(code),
        other => other.into(),
    }
}

/// List currencies, paged by code.
#[utoipa::path(get, path = "/currencies", tag = "currencies", operation_id = "list_currencies",
    params(CurrencyQuery),
    responses(
        (status = 200, description = "A page of currencies", body = Page<Currency>, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 400, description = "A parameter is not of its type (`limit=abc`)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is out of range or badly formed (`limit=0`)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(s): State<AppState>,
    Checked(f): Checked<CurrencyFilter>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let pairs = [("q", f.q.as_ref().map(SearchTerm::as_str))];
    const AT: &str = "/api/v1/currencies";
    if let Some(snap) = s.catalog.snapshot() {
        let page = snap.currencies(&f);
        return Ok(super::list_response(
            &headers,
            &Page::at(AT, &pairs, f.limit, page),
        ));
    }
    let page = currencies::list(&s.db, &f).await?;
    Ok(super::list_response(
        &headers,
        &Page::at(AT, &pairs, f.limit, page),
    ))
}

/// One currency by code, any case. Supports `If-None-Match`.
#[utoipa::path(get, path = "/currencies/{code}", tag = "currencies", operation_id = "get_currency",
    params(("code" = String, Path, description = "ISO 4217 code, any case", example = "eur", pattern = "^[A-Za-z]{3}$")),
    responses(
        (status = 200, description = "The currency", body = Currency, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 404, description = "No such currency", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Not a currency code", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(s): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let k = code(&raw)?;
    if let Some(snap) = s.catalog.snapshot() {
        let c = snap.currency(&k).ok_or_else(|| not_found(&raw))?;
        return Ok(super::encoded_unless_unchanged(&headers, c));
    }
    let c = currencies::get(&s.db, &k)
        .await?
        .ok_or_else(|| not_found(&raw))?
        .value;
    Ok(super::entity_unless_unchanged(&headers, c))
}

/// The countries using a currency.
#[utoipa::path(get, path = "/currencies/{code}/countries", tag = "currencies", operation_id = "list_currency_countries",
    params(("code" = String, Path, description = "ISO 4217 code, any case", example = "EUR", pattern = "^[A-Za-z]{3}$")),
    responses(
        (status = 200, description = "Countries using it, by alpha-2", body = Vec<Country>, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 404, description = "No such currency", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Not a currency code", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn countries(
    State(s): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let k = code(&raw)?;
    if let Some(snap) = s.catalog.snapshot() {
        let list = snap.countries_using(&k).ok_or_else(|| not_found(&raw))?;
        let raw_items: Vec<&serde_json::value::RawValue> = list.iter().map(|e| &*e.raw).collect();
        return Ok(super::list_response(&headers, &raw_items));
    }
    let list: Vec<Country> = currencies::countries_using(&s.db, &k)
        .await?
        .ok_or_else(|| not_found(&raw))?;
    Ok(super::list_response(&headers, &list))
}

/// Create a currency.
#[utoipa::path(post, path = "/currencies", tag = "currencies", operation_id = "create_currency",
    request_body = CurrencyInput,
    responses(
        (status = 201, description = "Created", body = Currency, headers(("Location" = String), ("ETag" = String))),
        (status = 400, description = "Not one JSON document, a wrong type or an unknown field", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "A code is taken", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Missing or invalid fields", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(s): State<AppState>,
    ApiJson(input): ApiJson<CurrencyInput>,
) -> Result<Response, ApiError> {
    let c = input.validate().map_err(ApiError::Invalid)?;
    let created = currencies::create(&s.db, c).await?.value;
    s.catalog.changed().await;
    Ok(super::created(
        format!("/api/v1/currencies/{}", created.code),
        created,
    ))
}

/// Replace a currency. With `If-Match`, refused (412) unless its current ETag is
/// listed (strong comparison; `*` matches any); checked and written atomically.
#[utoipa::path(put, path = "/currencies/{code}", tag = "currencies", operation_id = "replace_currency",
    params(("code" = String, Path, description = "ISO 4217 code", example = "EUR", pattern = "^[A-Za-z]{3}$"), ("If-Match" = Option<String>, Header, nullable = false, description = "Write only if the current ETag is one of these strong tags (`\"abc\"`, a list, or `*`); weak tags never match. Malformed: 400.", pattern = r#"^(\*|(W/)?"[!#-~]*"( ?, ?(W/)?"[!#-~]*")*)$"#, example = "\"5bd2ec3f1f1b2fd2\"")),
    request_body = CurrencyInput,
    responses(
        (status = 200, description = "Replaced", body = Currency, headers(("ETag" = String))),
        (status = 400, description = "Not one JSON document, a wrong type, an unknown field, or a malformed `If-Match`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such currency", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "A code is taken", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` names no current strong ETag (stale or weak)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Missing or invalid fields", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn replace(
    State(s): State<AppState>,
    Path(raw): Path<String>,
    precondition: IfMatch,
    ApiJson(input): ApiJson<CurrencyInput>,
) -> Result<Response, ApiError> {
    let target = code(&raw)?;
    let c = input.validate().map_err(ApiError::Invalid)?;
    let updated = currencies::replace(&s.db, target, c, written_if(precondition))
        .await
        .map_err(write_error(&raw))?;
    s.catalog.changed().await;
    Ok(super::entity(updated.value))
}

/// Delete a currency no country uses. With `If-Match`, refused (412) unless its
/// current ETag is listed; checked and deleted atomically.
#[utoipa::path(delete, path = "/currencies/{code}", tag = "currencies", operation_id = "delete_currency",
    params(("code" = String, Path, description = "ISO 4217 code", example = "XTS", pattern = "^[A-Za-z]{3}$"), ("If-Match" = Option<String>, Header, nullable = false, description = "Write only if the current ETag is one of these strong tags (`\"abc\"`, a list, or `*`); weak tags never match. Malformed: 400.", pattern = r#"^(\*|(W/)?"[!#-~]*"( ?, ?(W/)?"[!#-~]*")*)$"#, example = "\"5bd2ec3f1f1b2fd2\"")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "A malformed `If-Match`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such currency", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "Still used by countries", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` names no current strong ETag (stale or weak)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Not a currency code", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    State(s): State<AppState>,
    Path(raw): Path<String>,
    precondition: IfMatch,
) -> Result<StatusCode, ApiError> {
    currencies::delete(&s.db, code(&raw)?, written_if(precondition))
        .await
        .map_err(write_error(&raw))?;
    s.catalog.changed().await;
    Ok(StatusCode::NO_CONTENT)
}
