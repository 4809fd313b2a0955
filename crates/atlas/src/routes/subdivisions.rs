//! `/api/v1/countries/{code}/subdivisions` and `/api/v1/subdivisions/{code}`:
//! ISO 3166-2, read-only.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;

use super::countries::{not_found as no_country, parse_ref};
use super::extract::{path_param, Checked, FromQuery};
use super::{AppState, Page, ProblemDoc, DEFAULT_PAGE_SIZE};
use crate::config::ApiConfig;
use crate::domain::subdivision::{Subdivision, SubdivisionCode, SubdivisionType};
use crate::domain::{FieldError, PageLimit, Violations};
use crate::error::ApiError;
use crate::store::subdivisions::{self, SubdivisionFilter};

/// `?type=&limit=&cursor=`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubdivisionQuery {
    /// Only subdivisions of this type, any case (`District`, `Province`): 1 to 60
    /// printable ASCII characters.
    #[serde(rename = "type")]
    #[param(
        rename = "type",
        min_length = 1,
        max_length = 60,
        pattern = "^[ -~]+$",
        example = "District"
    )]
    pub kind: Option<String>,
    /// Items per page, 1 to `api.max_page_size` (default 50).
    #[param(minimum = 1, example = 20)]
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page: a subdivision code.
    #[param(pattern = "^[A-Za-z]{2}-[A-Za-z0-9]{1,3}$", example = "PT-05")]
    pub cursor: Option<String>,
}

impl FromQuery for SubdivisionFilter {
    type Raw = SubdivisionQuery;

    fn check(raw: SubdivisionQuery, api: &ApiConfig) -> Result<Self, Vec<FieldError>> {
        let mut v = Violations::default();
        let kind = raw.kind.as_deref().map(SubdivisionType::parse).transpose();
        let kind = v.parameter("type", kind);
        let limit = v.parameter(
            "limit",
            PageLimit::parse(raw.limit, DEFAULT_PAGE_SIZE, api.max_page_size),
        );
        let after = raw
            .cursor
            .as_deref()
            .map(SubdivisionCode::parse)
            .transpose();
        let after = v.parameter("cursor", after);
        v.done(|| {
            Some(SubdivisionFilter {
                kind: kind?,
                after: after?,
                limit: limit?,
            })
        })
    }
}

/// List a country's subdivisions (ISO 3166-2), paged by code.
#[utoipa::path(get, path = "/countries/{code}/subdivisions", tag = "subdivisions",
    operation_id = "listSubdivisions",
    summary = "List the subdivisions of a country",
    params(
        ("code" = String, Path, description = "Alpha-2 or alpha-3 code of the country, any case", example = "pt", pattern = "^[A-Za-z]{2,3}$"),
        SubdivisionQuery,
    ),
    responses(
        (status = 200, description = "A page of the country's subdivisions", body = Page<Subdivision>, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 400, description = "A parameter is not of its type (`limit=abc`)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such country", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Not a country code, or a parameter out of range or badly formed", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(s): State<AppState>,
    Path(code): Path<String>,
    Checked(f): Checked<SubdivisionFilter>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let r = parse_ref(&code)?;
    let pairs = [("type", f.kind.as_ref().map(SubdivisionType::as_str))];
    if let Some(snap) = s.catalog.snapshot() {
        let country = snap.country(&r).ok_or_else(|| no_country(&code))?;
        let alpha2 = &country.value.alpha2;
        let at = format!("/api/v1/countries/{alpha2}/subdivisions");
        let page = snap.subdivisions(alpha2, &f);
        return Ok(super::list_response(
            &headers,
            &Page::at(&at, &pairs, f.limit, page),
        ));
    }
    let page = subdivisions::list(&s.db, &r, &f)
        .await?
        .ok_or_else(|| no_country(&code))?;
    // The path only shapes the `next` link, which a page has only when it has
    // items; their country is the one the path names (by alpha-2 or alpha-3).
    let alpha2 = page
        .items
        .first()
        .map_or_else(String::new, |s| s.country.clone());
    let at = format!("/api/v1/countries/{alpha2}/subdivisions");
    Ok(super::list_response(
        &headers,
        &Page::at(&at, &pairs, f.limit, page),
    ))
}

/// One subdivision by ISO 3166-2 code, any case; supports If-None-Match.
#[utoipa::path(get, path = "/subdivisions/{code}", tag = "subdivisions",
    operation_id = "getSubdivision",
    summary = "Get a subdivision",
    params(("code" = String, Path, description = "ISO 3166-2 code, any case", example = "PT-05", pattern = "^[A-Za-z]{2}-[A-Za-z0-9]{1,3}$")),
    responses(
        (status = 200, description = "The subdivision", body = Subdivision, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 404, description = "No such subdivision", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Not an ISO 3166-2 code", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(s): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let c = path_param("code", SubdivisionCode::parse(&code))?;
    if let Some(snap) = s.catalog.snapshot() {
        let e = snap.subdivision(&c).ok_or_else(|| not_found(&code))?;
        return Ok(super::encoded_unless_unchanged(&headers, e));
    }
    let found = subdivisions::get(&s.db, &c)
        .await?
        .ok_or_else(|| not_found(&code))?;
    Ok(super::entity_unless_unchanged(&headers, found))
}

fn not_found(code: &str) -> ApiError {
    ApiError::NotFound(format!("no subdivision with code {code:?}"))
}
