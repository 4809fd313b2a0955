//! `/api/v1/countries`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{etag, if_match, next_link, ApiQuery, AppState, Page, PageParams, ProblemDoc};
use crate::domain::country::{Country, CountryInput};
use crate::domain::CountryRef;
use crate::error::{ApiError, ApiJson, FieldError};
use crate::store::{self, CountryFilter};

/// Filters for the country list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CountryQuery {
    /// Only countries using this ISO 4217 currency (`EUR`).
    pub currency: Option<String>,
    /// Case-insensitive part of the name or official name (1 to 100 characters, no
    /// control characters).
    pub q: Option<String>,
}

pub(crate) fn parse_ref(code: &str) -> Result<CountryRef, ApiError> {
    CountryRef::parse(code).map_err(|e| ApiError::Validation(vec![FieldError::new("path.code", e)]))
}

/// List countries, filtered and paged by alpha-2 code.
#[utoipa::path(get, path = "/countries", tag = "countries", operation_id = "list_countries",
    params(CountryQuery, PageParams),
    responses(
        (status = 200, description = "A page of countries", body = Page<Country>),
        (status = 400, description = "Malformed query", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter or paging", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<CountryQuery>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<Page<Country>>, ApiError> {
    let limit = p.limit(s.config.service.api.max_page_size)?;
    let mut errors = Vec::new();
    let currency = q
        .currency
        .as_deref()
        .map(|c| crate::domain::letters(c, 3, "query.currency", &mut errors));
    let search = q.q.as_deref().map(str::trim).filter(|v| !v.is_empty());
    if search.is_some_and(|v| v.chars().count() > 100) {
        errors.push(FieldError::new("query.q", "at most 100 characters"));
    } else if search.is_some_and(|v| v.chars().any(char::is_control)) {
        // PostgreSQL text cannot hold NUL: unchecked, `?q=%00` was a 500 there.
        errors.push(FieldError::new(
            "query.q",
            "control characters are not allowed",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let filter = CountryFilter {
        currency: currency.clone(),
        q: search.map(String::from),
        after: p.cursor()?,
        limit,
    };
    let page = store::list_countries(&s.db, &filter).await?;
    let next = next_link(
        "/api/v1/countries",
        &[("currency", currency.as_deref()), ("q", search)],
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

/// One country by alpha-2 or alpha-3 code, any case. Supports `If-None-Match`.
#[utoipa::path(get, path = "/countries/{code}", tag = "countries", operation_id = "get_country",
    params(("code" = String, Path, description = "Alpha-2 or alpha-3 code, any case", example = "pt", pattern = "^[A-Za-z]{2,3}$")),
    responses(
        (status = 200, description = "The country", body = Country, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 404, description = "No such country", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Not a country code", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(s): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let r = parse_ref(&code)?;
    let c = store::get_country(&s.db, &r)
        .await?
        .ok_or_else(|| not_found(&code))?
        .value;
    Ok(super::entity_unless_unchanged(&headers, c))
}

fn not_found(code: &str) -> ApiError {
    ApiError::NotFound(format!("no country with code {code:?}"))
}

/// Create a country. Currencies must exist; codes must be free.
#[utoipa::path(post, path = "/countries", tag = "countries", operation_id = "create_country",
    request_body = CountryInput,
    responses(
        (status = 201, description = "Created", body = Country, headers(("Location" = String), ("ETag" = String))),
        (status = 400, description = "Malformed JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "A code is taken", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(s): State<AppState>,
    ApiJson(input): ApiJson<CountryInput>,
) -> Result<Response, ApiError> {
    let c = input.validate().map_err(ApiError::Validation)?;
    let created = store::create_country(&s.db, c).await?.value;
    Ok(super::created(
        format!("/api/v1/countries/{}", created.alpha2),
        created,
    ))
}

/// Replace a country. With `If-Match`, refused (412) if it changed meanwhile.
#[utoipa::path(put, path = "/countries/{code}", tag = "countries", operation_id = "replace_country",
    params(("code" = String, Path, description = "Alpha-2 or alpha-3 code", example = "PT", pattern = "^[A-Za-z]{2,3}$")),
    request_body = CountryInput,
    responses(
        (status = 200, description = "Replaced", body = Country, headers(("ETag" = String))),
        (status = 400, description = "Malformed JSON", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such country", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "A code is taken", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 412, description = "Stale If-Match", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn replace(
    State(s): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<CountryInput>,
) -> Result<Response, ApiError> {
    let r = parse_ref(&code)?;
    let c = input.validate().map_err(ApiError::Validation)?;
    let matches = if_match(&headers);
    let updated =
        store::replace_country(&s.db, r, c, move |current| matches(&etag(&current.value)))
            .await
            .map_err(|e| match e {
                store::WriteError::Missing => not_found(&code),
                other => other.into(),
            })?;
    Ok(super::entity(updated.value))
}

/// Delete a country.
#[utoipa::path(delete, path = "/countries/{code}", tag = "countries", operation_id = "delete_country",
    params(("code" = String, Path, description = "Alpha-2 or alpha-3 code", example = "PT", pattern = "^[A-Za-z]{2,3}$")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such country", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Not a country code", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    State(s): State<AppState>,
    Path(code): Path<String>,
) -> Result<StatusCode, ApiError> {
    let r = parse_ref(&code)?;
    store::delete_country(&s.db, r).await.map_err(|e| match e {
        store::WriteError::Missing => not_found(&code),
        other => other.into(),
    })?;
    Ok(StatusCode::NO_CONTENT)
}
