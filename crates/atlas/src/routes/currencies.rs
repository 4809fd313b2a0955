//! `/api/v1/currencies`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::extract::{path_param, ApiJson, Checked, IfMatch};
use super::lists::{CountryQuery, CurrencyQuery};
use super::{written_if, AppState, Page, ProblemDoc};
use crate::catalog::Encoded;
use crate::domain::country::Country;
use crate::domain::currency::{Currency, CurrencyInput};
use crate::domain::CurrencyCode;
use crate::error::ApiError;
use crate::query::countries::CountryList;
use crate::query::currencies::CurrencyList;
use crate::store::{catalog, currencies, WriteError};

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

/// List currencies: search, project, sort and page.
#[utoipa::path(get, path = "/currencies", tag = "currencies", operation_id = "listCurrencies",
    summary = "List currencies",
    params(CurrencyQuery),
    responses(
        (status = 200, description = "A page of currencies (whole, or the `fields` asked for)", body = Page<Currency>, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 400, description = "A parameter is not of its type (limit=abc)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is out of range or badly formed (limit=0, an unknown field or sort)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(s): State<AppState>,
    Checked(list): Checked<CurrencyList>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    const AT: &str = "/api/v1/currencies";
    let answer = |all: &[Encoded<Currency>]| {
        let page = Page::listed(
            AT,
            &list.echo,
            list.limit,
            list.select(all.iter()),
            list.fields.as_ref(),
        );
        super::list_response(&headers, &page)
    };
    if let Some(snap) = s.catalog.snapshot() {
        return Ok(answer(snap.currencies()));
    }
    let read: Vec<Encoded<Currency>> = catalog::currencies(&s.db)
        .await?
        .into_iter()
        .map(Encoded::currency)
        .collect();
    Ok(answer(&read))
}

/// One currency by code, any case. Supports `If-None-Match`.
#[utoipa::path(get, path = "/currencies/{code}", tag = "currencies", operation_id = "getCurrency",
    summary = "Get a currency",
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

/// The countries using a currency, as a country list: the same filters, fields,
/// order and paging as `GET /countries`.
#[utoipa::path(get, path = "/currencies/{code}/countries", tag = "currencies", operation_id = "listCurrencyCountries",
    summary = "List the countries using a currency",
    params(("code" = String, Path, description = "ISO 4217 code, any case", example = "EUR", pattern = "^[A-Za-z]{3}$"), CountryQuery),
    responses(
        (status = 200, description = "A page of the countries using it", body = Page<Country>, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 400, description = "A parameter is not of its type (limit=abc)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such currency", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Not a currency code, or a parameter out of range or badly formed", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn countries(
    State(s): State<AppState>,
    Path(raw): Path<String>,
    Checked(mut list): Checked<CountryList>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let k = code(&raw)?;
    let exists = match s.catalog.snapshot() {
        Some(snap) => snap.currency(&k).is_some(),
        None => currencies::get(&s.db, &k).await?.is_some(),
    };
    if !exists {
        return Err(not_found(&raw));
    }
    // The path names the currency; a `currency` parameter would contradict it.
    list.echo.retain(|(name, _)| *name != "currency");
    let at = format!("/api/v1/currencies/{}/countries", k.as_str());
    list.filter.currency = Some(k);
    Ok(super::countries::country_page(&s, &at, &list, &headers).await?)
}

/// Create a currency.
#[utoipa::path(post, path = "/currencies", tag = "currencies", operation_id = "createCurrency",
    summary = "Create a currency",
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
#[utoipa::path(put, path = "/currencies/{code}", tag = "currencies", operation_id = "replaceCurrency",
    summary = "Replace a currency",
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
#[utoipa::path(delete, path = "/currencies/{code}", tag = "currencies", operation_id = "deleteCurrency",
    summary = "Delete a currency",
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
