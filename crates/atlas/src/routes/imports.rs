//! `/api/v1/imports`: bulk JSON or CSV of countries and currencies, run in the
//! background on the worker pool.

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::{body_bytes, media_type, ApiJson, ApiQuery};
use super::{AppState, ProblemDoc};
use crate::domain::import::{ImportJob, ImportKind, ImportRequest};
use crate::domain::FieldError;
use crate::error::ApiError;
use crate::imports::{self, Rows, Source};

/// `?kind=` for CSV bodies.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CsvParams {
    /// What a `text/csv` body holds: `countries` or `currencies` (required then).
    #[param(inline)]
    pub kind: Option<ImportKind>,
}

fn importer(s: &AppState) -> Result<&imports::Importer, ApiError> {
    s.importer
        .as_ref()
        .ok_or_else(|| ApiError::NotFound("imports are switched off".into()))
}

/// Rows from a CSV body: `kind` must say which.
async fn from_csv(
    kind: Option<ImportKind>,
    req: Request,
    s: &AppState,
) -> Result<(Source, String), ApiError> {
    let kind = kind.ok_or_else(|| {
        ApiError::Invalid(vec![FieldError::parameter(
            "kind",
            "required with a CSV body: countries or currencies",
        )])
    })?;
    let body = body_bytes(req, s).await?;
    let rows = imports::parse_csv(kind, &body)
        .map_err(|e| ApiError::Malformed(vec![FieldError::pointer("", e)]))?;
    Ok((Source::Inline(rows), "csv".to_string()))
}

/// Rows or a URL from a JSON body.
async fn from_json(req: Request, s: &AppState) -> Result<(Source, String), ApiError> {
    let ApiJson(r) = ApiJson::<ImportRequest>::from_request(req, s).await?;
    match r.url {
        Some(_) if r.currencies.is_some() || r.countries.is_some() => {
            Err(ApiError::Invalid(vec![FieldError::pointer(
                "/url",
                "give either url or rows, not both",
            )]))
        }
        Some(url) => Ok((
            Source::Url {
                url: url.clone(),
                kind: r.kind,
            },
            url,
        )),
        None => {
            let rows = Rows::inline(
                r.currencies.unwrap_or_default(),
                r.countries.unwrap_or_default(),
            );
            Ok((Source::Inline(rows), "body".to_string()))
        }
    }
}

/// Queue an import: `application/json` (`{"currencies": [...], "countries": [...]}` or
/// `{"url": "...", "kind": "countries"}`) or `text/csv` with `?kind=`. All rows land in
/// one transaction, or none do and every bad row is reported.
#[utoipa::path(post, path = "/imports", tag = "imports",
    params(CsvParams),
    request_body(content((ImportRequest = "application/json"), (String = "text/csv")), description = "Rows inline, a URL, or CSV"),
    responses(
        (status = 202, description = "Queued; poll the Location", body = ImportJob, headers(("Location" = String))),
        (status = 400, description = "Not JSON or CSV, a wrong type, an unknown field or kind, or CSV without the needed columns", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "URL host not allowed", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "Imports switched off", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Nothing or too much to import, a bad URL, or CSV without `kind`", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Queue full; see Retry-After", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Shutting down or database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(s): State<AppState>,
    ApiQuery(params): ApiQuery<CsvParams>,
    req: Request,
) -> Result<Response, ApiError> {
    let imp = importer(&s)?;
    let media = media_type(&req);
    let (source, label) = if media.starts_with("text/csv") {
        from_csv(params.kind, req, &s).await?
    } else if media.starts_with("application/json") {
        from_json(req, &s).await?
    } else {
        return Err(ApiError::Malformed(vec![FieldError::header(
            "content-type",
            "expected application/json or text/csv",
        )]));
    };
    let job = imp.submit(source, &label).await?;
    let location = format!("/api/v1/imports/{}", job.id);
    Ok((
        StatusCode::ACCEPTED,
        [(
            header::LOCATION,
            HeaderValue::from_str(&location).map_err(|e| ApiError::Unexpected(e.into()))?,
        )],
        Json(job),
    )
        .into_response())
}

/// An import's status, progress and per-row errors.
#[utoipa::path(get, path = "/imports/{id}", tag = "imports",
    params(("id" = String, Path, description = "Job id from the Location header")),
    responses(
        (status = 200, description = "The job", body = ImportJob),
        (status = 404, description = "No such job", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ImportJob>, ApiError> {
    let imp = importer(&s)?;
    if id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ApiError::NotFound(format!("no import {id:?}")));
    }
    imp.get(&id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no import {id:?}")))
}
