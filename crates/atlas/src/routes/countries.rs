//! `/api/v1/countries`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::extract::{path_param, ApiJson, Checked, IfMatch};
use super::lists::{CountryFields, CountryQuery, FieldsQuery};
use super::{written_if, AppState, Item, Page, ProblemDoc};
use crate::catalog::Encoded;
use crate::domain::country::{Country, CountryInput};
use crate::domain::CountryRef;
use crate::error::ApiError;
use crate::query::countries::CountryList;
use crate::store::{catalog, countries, DbError, WriteError};

pub(crate) fn parse_ref(code: &str) -> Result<CountryRef, ApiError> {
    path_param("code", CountryRef::parse(code))
}

/// List countries: filter, search, project, sort and page.
///
/// Every filter given must hold. With the cache off the countries are read from
/// the database for each request and the same code filters them.
#[utoipa::path(get, path = "/countries", tag = "countries", operation_id = "listCountries",
    summary = "List countries",
    params(CountryQuery),
    responses(
        (status = 200, description = "A page of countries (whole, or the `fields` asked for)", body = Page<Country>, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 400, description = "A parameter is not of its type (limit=abc, independent=maybe)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is out of range or badly formed (limit=0, an unknown field or sort, a bad code)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(s): State<AppState>,
    Checked(list): Checked<CountryList>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    Ok(country_page(&s, "/api/v1/countries", &list, &headers).await?)
}

/// A page of countries as `list` asks, from memory or read now.
pub(crate) async fn country_page(
    s: &AppState,
    at: &str,
    list: &CountryList,
    headers: &HeaderMap,
) -> Result<Response, DbError> {
    let answer = |all: &[Encoded<Country>]| {
        let page = Page::listed(
            at,
            &list.echo,
            list.limit,
            list.select(all.iter()),
            list.fields.as_ref(),
        );
        super::list_response(headers, &page)
    };
    if let Some(snap) = s.catalog.snapshot() {
        return Ok(answer(snap.countries()));
    }
    let read: Vec<Encoded<Country>> = catalog::countries(&s.db)
        .await?
        .into_iter()
        .map(Encoded::country)
        .collect();
    Ok(answer(&read))
}

/// One country by alpha-2 or alpha-3 code, any case, whole or the `fields` asked
/// for. Supports `If-None-Match`.
#[utoipa::path(get, path = "/countries/{code}", tag = "countries", operation_id = "getCountry",
    summary = "Get a country",
    params(("code" = String, Path, description = "Alpha-2 or alpha-3 code, any case", example = "pt", pattern = "^[A-Za-z]{2,3}$"), FieldsQuery),
    responses(
        (status = 200, description = "The country", body = Country, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 404, description = "No such country", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Not a country code, or an unknown field", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(s): State<AppState>,
    Path(code): Path<String>,
    Checked(CountryFields(fields)): Checked<CountryFields>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let r = parse_ref(&code)?;
    if let Some(snap) = s.catalog.snapshot() {
        let c = snap.country(&r).ok_or_else(|| not_found(&code))?;
        return Ok(match fields {
            None => super::encoded_unless_unchanged(&headers, c),
            Some(p) => super::entity_unless_unchanged(&headers, Item::of(c, Some(&p))),
        });
    }
    let c = countries::get(&s.db, &r)
        .await?
        .ok_or_else(|| not_found(&code))?
        .value;
    Ok(match fields {
        None => super::entity_unless_unchanged(&headers, c),
        Some(p) => super::entity_unless_unchanged(
            &headers,
            p.apply(&serde_json::to_value(&c).unwrap_or_default()),
        ),
    })
}

/// The country `code` names, from memory or the database; 422 or 404 as `get`.
pub(crate) async fn find(s: &AppState, code: &str) -> Result<Country, ApiError> {
    let r = parse_ref(code)?;
    let found = match s.catalog.snapshot() {
        Some(snap) => snap.country(&r).map(|e| e.value.clone()),
        None => countries::get(&s.db, &r).await?.map(|v| v.value),
    };
    found.ok_or_else(|| not_found(code))
}

/// The alpha-2 code of the country `code` names (no copy of the whole country).
pub(crate) async fn alpha2_of(s: &AppState, code: &str) -> Result<String, ApiError> {
    if let Some(snap) = s.catalog.snapshot() {
        let r = parse_ref(code)?;
        return snap
            .country(&r)
            .map(|e| e.value.alpha2.clone())
            .ok_or_else(|| not_found(code));
    }
    find(s, code).await.map(|c| c.alpha2)
}

pub(crate) fn not_found(code: &str) -> ApiError {
    ApiError::NotFound(format!("no country with code {code:?}"))
}

/// A write's error, with "missing" worded for this country.
fn write_error(code: &str) -> impl Fn(WriteError) -> ApiError + '_ {
    move |e| match e {
        WriteError::Missing => not_found(code),
        other => other.into(),
    }
}

/// Create a country. Currencies must exist; codes must be free.
#[utoipa::path(post, path = "/countries", tag = "countries", operation_id = "createCountry",
    summary = "Create a country",
    request_body = CountryInput,
    responses(
        (status = 201, description = "Created", body = Country, headers(("Location" = String), ("ETag" = String))),
        (status = 400, description = "Not one JSON document, a wrong type or an unknown field", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "A code is taken", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Missing or invalid fields, unknown currencies", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(s): State<AppState>,
    ApiJson(input): ApiJson<CountryInput>,
) -> Result<Response, ApiError> {
    let c = input.validate().map_err(ApiError::Invalid)?;
    let created = countries::create(&s.db, c).await?.value;
    s.catalog.changed().await;
    Ok(super::created(
        format!("/api/v1/countries/{}", created.alpha2),
        created,
    ))
}

/// Replace a country. With `If-Match`, refused (412) unless its current ETag is
/// listed (strong comparison; `*` matches any); checked and written atomically.
#[utoipa::path(put, path = "/countries/{code}", tag = "countries", operation_id = "replaceCountry",
    summary = "Replace a country",
    params(("code" = String, Path, description = "Alpha-2 or alpha-3 code", example = "PT", pattern = "^[A-Za-z]{2,3}$"), ("If-Match" = Option<String>, Header, nullable = false, description = "Write only if the current ETag is one of these strong tags (`\"abc\"`, a list, or `*`); weak tags never match. Malformed: 400.", pattern = r#"^(\*|(W/)?"[!#-~]*"( ?, ?(W/)?"[!#-~]*")*)$"#, example = "\"5bd2ec3f1f1b2fd2\"")),
    request_body = CountryInput,
    responses(
        (status = 200, description = "Replaced", body = Country, headers(("ETag" = String))),
        (status = 400, description = "Not one JSON document, a wrong type, an unknown field, or a malformed `If-Match`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such country", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "A code is taken", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` names no current strong ETag (stale or weak)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Missing or invalid fields, or not a country code", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn replace(
    State(s): State<AppState>,
    Path(code): Path<String>,
    precondition: IfMatch,
    ApiJson(input): ApiJson<CountryInput>,
) -> Result<Response, ApiError> {
    let r = parse_ref(&code)?;
    let c = input.validate().map_err(ApiError::Invalid)?;
    let updated = countries::replace(&s.db, r, c, written_if(precondition))
        .await
        .map_err(write_error(&code))?;
    s.catalog.changed().await;
    Ok(super::entity(updated.value))
}

/// Delete a country. With `If-Match`, refused (412) unless its current ETag is
/// listed; checked and deleted atomically.
#[utoipa::path(delete, path = "/countries/{code}", tag = "countries", operation_id = "deleteCountry",
    summary = "Delete a country",
    params(("code" = String, Path, description = "Alpha-2 or alpha-3 code", example = "PT", pattern = "^[A-Za-z]{2,3}$"), ("If-Match" = Option<String>, Header, nullable = false, description = "Write only if the current ETag is one of these strong tags (`\"abc\"`, a list, or `*`); weak tags never match. Malformed: 400.", pattern = r#"^(\*|(W/)?"[!#-~]*"( ?, ?(W/)?"[!#-~]*")*)$"#, example = "\"5bd2ec3f1f1b2fd2\"")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "A malformed `If-Match`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such country", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` names no current strong ETag (stale or weak)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Not a country code", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    State(s): State<AppState>,
    Path(code): Path<String>,
    precondition: IfMatch,
) -> Result<StatusCode, ApiError> {
    let r = parse_ref(&code)?;
    countries::delete(&s.db, r, written_if(precondition))
        .await
        .map_err(write_error(&code))?;
    s.catalog.changed().await;
    Ok(StatusCode::NO_CONTENT)
}
