//! `/api/v1/imports`: bulk JSON or CSV of countries and currencies, run in the
//! background on the worker pool.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{AppState, ProblemDoc};
use crate::error::{ApiError, FieldError};
use crate::imports::{self, ImportJob, ImportKind, ImportRequest, Rows, Source, SubmitError};

/// `?kind=` for CSV bodies.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CsvParams {
    /// What a `text/csv` body holds: `countries` or `currencies`.
    pub kind: Option<ImportKind>,
}

fn importer(s: &AppState) -> Result<&imports::Importer, ApiError> {
    s.importer
        .as_ref()
        .ok_or_else(|| ApiError::NotFound("imports are switched off".into()))
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::QueueFull => {
                ApiError::TooManyRequests("the import queue is full; retry shortly".into())
            }
            SubmitError::ShuttingDown => ApiError::Unavailable(anyhow::anyhow!("shutting down")),
            SubmitError::Forbidden(d) => ApiError::Forbidden(d),
            SubmitError::Invalid(errors) => ApiError::Validation(errors),
            SubmitError::Db(e) => e.into(),
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
        (status = 400, description = "Malformed body", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "URL host not allowed", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "Imports switched off", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "Queue full; see Retry-After", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Shutting down or database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(s): State<AppState>,
    Query(params): Query<CsvParams>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let imp = importer(&s)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let (source, label) = if content_type.starts_with("text/csv") {
        let kind = params.kind.ok_or_else(|| {
            ApiError::InvalidQuery(vec![FieldError::new(
                "query.kind",
                "a CSV body needs kind=countries or kind=currencies",
            )])
        })?;
        let rows = imports::parse_csv(kind, &body).map_err(ApiError::BadRequest)?;
        (Source::Inline(rows), "csv".to_string())
    } else if content_type.starts_with("application/json") {
        let de = &mut serde_json::Deserializer::from_slice(&body);
        let req: ImportRequest = serde_path_to_error::deserialize(de).map_err(|e| {
            if e.inner().is_syntax() || e.inner().is_eof() {
                ApiError::BadRequest(format!("malformed JSON: {}", e.inner()))
            } else {
                ApiError::Validation(vec![FieldError::new(
                    format!("#/{}", e.path()).replace('.', "/"),
                    e.inner().to_string(),
                )])
            }
        })?;
        match req.url {
            Some(url) => {
                if req.currencies.is_some() || req.countries.is_some() {
                    return Err(ApiError::Validation(vec![FieldError::new(
                        "#/url",
                        "give either url or rows, not both",
                    )]));
                }
                (
                    Source::Url {
                        url: url.clone(),
                        kind: req.kind,
                    },
                    url,
                )
            }
            None => {
                let rows = Rows {
                    currencies: req
                        .currencies
                        .unwrap_or_default()
                        .into_iter()
                        .enumerate()
                        .map(|(i, r)| (i + 1, Ok(r)))
                        .collect(),
                    countries: req
                        .countries
                        .unwrap_or_default()
                        .into_iter()
                        .enumerate()
                        .map(|(i, r)| (i + 1, Ok(r)))
                        .collect(),
                };
                (Source::Inline(rows), "body".to_string())
            }
        }
    } else {
        return Err(ApiError::BadRequest(
            "expected Content-Type application/json or text/csv".into(),
        ));
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
