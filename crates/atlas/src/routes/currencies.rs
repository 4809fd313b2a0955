//! `/api/v1/currencies`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{etag, if_match, next_link, ApiQuery, AppState, Page, PageParams, ProblemDoc};
use crate::domain::country::Country;
use crate::domain::currency::{Currency, CurrencyInput};
use crate::error::{ApiError, ApiJson, FieldError};
use crate::store;

/// Filters for the currency list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CurrencyQuery {
    /// Case-insensitive part of the name (1 to 100 characters, no control characters).
    pub q: Option<String>,
}

fn code(raw: &str) -> Result<String, ApiError> {
    let mut e = Vec::new();
    let c = crate::domain::letters(raw, 3, "path.code", &mut e);
    if e.is_empty() {
        Ok(c)
    } else {
        Err(ApiError::Validation(e))
    }
}

fn not_found(code: &str) -> ApiError {
    ApiError::NotFound(format!("no currency with code {code:?}"))
}

/// List currencies, paged by code.
#[utoipa::path(get, path = "/currencies", tag = "currencies", operation_id = "list_currencies",
    params(CurrencyQuery, PageParams),
    responses(
        (status = 200, description = "A page of currencies", body = Page<Currency>),
        (status = 400, description = "Malformed query", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter or paging", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<CurrencyQuery>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<Page<Currency>>, ApiError> {
    let limit = p.limit(s.config.service.api.max_page_size)?;
    let search = q.q.as_deref().map(str::trim).filter(|v| !v.is_empty());
    if search.is_some_and(|v| v.chars().count() > 100) {
        return Err(ApiError::Validation(vec![FieldError::new(
            "query.q",
            "at most 100 characters",
        )]));
    }
    if search.is_some_and(|v| v.chars().any(char::is_control)) {
        // PostgreSQL text cannot hold NUL: unchecked, `?q=%00` was a 500 there.
        return Err(ApiError::Validation(vec![FieldError::new(
            "query.q",
            "control characters are not allowed",
        )]));
    }
    let page = store::list_currencies(&s.db, search, p.cursor()?.as_deref(), limit).await?;
    let next = next_link(
        "/api/v1/currencies",
        &[("q", search)],
        limit,
        page.next_cursor.as_deref(),
    );
    Ok(Json(Page {
        items: page.items,
        total: page.total,
        limit,
        next_cursor: page.next_cursor,
        next,
    }))
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
    let c = store::get_currency(&s.db, &code(&raw)?)
        .await?
        .ok_or_else(|| not_found(&raw))?
        .value;
    Ok(super::entity_unless_unchanged(&headers, c))
}

/// The countries using a currency.
#[utoipa::path(get, path = "/currencies/{code}/countries", tag = "currencies", operation_id = "list_currency_countries",
    params(("code" = String, Path, description = "ISO 4217 code, any case", example = "EUR", pattern = "^[A-Za-z]{3}$")),
    responses(
        (status = 200, description = "Countries using it, by alpha-2", body = Vec<Country>),
        (status = 404, description = "No such currency", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Not a currency code", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn countries(
    State(s): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<Vec<Country>>, ApiError> {
    let list = store::countries_using(&s.db, &code(&raw)?)
        .await?
        .ok_or_else(|| not_found(&raw))?;
    Ok(Json(list))
}

/// Create a currency.
#[utoipa::path(post, path = "/currencies", tag = "currencies", operation_id = "create_currency",
    request_body = CurrencyInput,
    responses(
        (status = 201, description = "Created", body = Currency, headers(("Location" = String), ("ETag" = String))),
        (status = 400, description = "Malformed JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "A code is taken", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(s): State<AppState>,
    ApiJson(input): ApiJson<CurrencyInput>,
) -> Result<Response, ApiError> {
    let c = input.validate().map_err(ApiError::Validation)?;
    let created = store::create_currency(&s.db, c).await?.value;
    Ok(super::created(
        format!("/api/v1/currencies/{}", created.code),
        created,
    ))
}

/// Replace a currency. With `If-Match`, refused (412) if it changed meanwhile.
#[utoipa::path(put, path = "/currencies/{code}", tag = "currencies", operation_id = "replace_currency",
    params(("code" = String, Path, description = "ISO 4217 code", example = "EUR", pattern = "^[A-Za-z]{3}$")),
    request_body = CurrencyInput,
    responses(
        (status = 200, description = "Replaced", body = Currency, headers(("ETag" = String))),
        (status = 400, description = "Malformed JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such currency", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "A code is taken", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 412, description = "Stale If-Match", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn replace(
    State(s): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<CurrencyInput>,
) -> Result<Response, ApiError> {
    let target = code(&raw)?;
    let c = input.validate().map_err(ApiError::Validation)?;
    let matches = if_match(&headers);
    let updated = store::replace_currency(&s.db, target, c, move |cur| matches(&etag(&cur.value)))
        .await
        .map_err(|e| match e {
            store::WriteError::Missing => not_found(&raw),
            other => other.into(),
        })?;
    Ok(super::entity(updated.value))
}

/// Delete a currency no country uses.
#[utoipa::path(delete, path = "/currencies/{code}", tag = "currencies", operation_id = "delete_currency",
    params(("code" = String, Path, description = "ISO 4217 code", example = "XTS", pattern = "^[A-Za-z]{3}$")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such currency", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "Still used by countries", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Not a currency code", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    State(s): State<AppState>,
    Path(raw): Path<String>,
) -> Result<StatusCode, ApiError> {
    store::delete_currency(&s.db, code(&raw)?)
        .await
        .map_err(|e| match e {
            store::WriteError::Missing => not_found(&raw),
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}
