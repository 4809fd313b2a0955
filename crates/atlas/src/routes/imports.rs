//! `/api/v1/imports`: bulk JSON or CSV of countries and currencies, run in the
//! background on the worker pool.

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use serde::de::DeserializeSeed;

use super::extract::{body_bytes, json_pointer, media_type, ApiQuery};
use super::{AppState, ProblemDoc};
use crate::domain::country::CountryInput;
use crate::domain::currency::CurrencyInput;
use crate::domain::import::{ImportJob, ImportKind, ImportRequest};
use crate::domain::FieldError;
use crate::error::ApiError;
use crate::imports::json::{Budget, Doc, DocSeed};
use crate::imports::{self, Format, ParseError, Source};

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

/// Rows from a CSV body: `kind` must say which. The rows are counted record by
/// record, stopping past `imports.max_rows`, and not kept: the queue holds the body.
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
    let max = s.config.service.imports.max_rows;
    let n = imports::parse_csv(kind, &body[..], max, &mut ()).map_err(|e| match e {
        ParseError::TooManyRows(_) => {
            ApiError::Invalid(vec![FieldError::pointer("", e.to_string())])
        }
        ParseError::Malformed(_) => {
            ApiError::Malformed(vec![FieldError::pointer("", e.to_string())])
        }
    })?;
    let counts = match kind {
        ImportKind::Currencies => (n, 0),
        ImportKind::Countries => (0, n),
    };
    let format = Format::Csv(kind);
    Ok((
        Source::Body {
            format,
            bytes: body,
            counts,
        },
        "csv".to_string(),
    ))
}

/// An import document in a request body, checked with the rows' own types (a wrong
/// type is 400 pointing at it) and counted, stopping past `imports.max_rows` (422
/// pointing at the array). Nothing is kept but the counts.
fn check_json(bytes: &[u8], max_rows: usize) -> Result<Doc, ApiError> {
    let mut count_only = ();
    let budget = Budget::new(max_rows, &mut count_only);
    let mut track = serde_path_to_error::Track::new();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let doc = DocSeed::<CurrencyInput, CountryInput>::new(&budget, true)
        .deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track))
        .and_then(|doc| de.end().map(|()| doc));
    doc.map_err(|e| match budget.exceeded() {
        Some(field) => ApiError::Invalid(vec![FieldError::pointer(
            format!("/{field}"),
            e.to_string(),
        )]),
        None => ApiError::Malformed(vec![FieldError::pointer(
            json_pointer(&track.path()),
            e.to_string(),
        )]),
    })
}

/// Rows or a URL from a JSON body.
async fn from_json(req: Request, s: &AppState) -> Result<(Source, String), ApiError> {
    if !media_type(&req).starts_with("application/json") {
        return Err(ApiError::Malformed(vec![FieldError::header(
            "content-type",
            "expected application/json",
        )]));
    }
    let bytes = body_bytes(req, s).await?;
    let doc = check_json(&bytes, s.config.service.imports.max_rows)?;
    match doc.url {
        Some(_) if doc.has_rows => Err(ApiError::Invalid(vec![FieldError::pointer(
            "/url",
            "give either url or rows, not both",
        )])),
        Some(url) => Ok((
            Source::Url {
                url: url.clone(),
                kind: doc.kind,
            },
            url,
        )),
        None => {
            let (format, counts) = (Format::Json, doc.counts);
            Ok((
                Source::Body {
                    format,
                    bytes,
                    counts,
                },
                "body".to_string(),
            ))
        }
    }
}

/// Queue an import: `application/json` (`{"currencies": [...], "countries": [...]}` or
/// `{"url": "...", "kind": "countries"}`) or `text/csv` with `?kind=`. All rows land in
/// one transaction, or none do and every bad row is reported.
#[utoipa::path(post, path = "/imports", tag = "imports", operation_id = "createImport",
    summary = "Start a bulk import",
    params(CsvParams),
    request_body(
        content(
            (ImportRequest = "application/json", example = json!({"currencies": [{"code": "XTS", "numeric": "963", "name": "Testing code", "minor_units": null}]})),
            (String = "text/csv", example = "alpha2,alpha3,numeric,name,official_name,currencies,timezones\nXA,XAA,999,Atlantis,Republic of Atlantis,EUR,Atlantic/Azores\n"),
        ),
        description = "Rows inline, a URL, or CSV with a header row. Currency CSV columns: code, numeric, name, minor_units (optional). Country CSV columns: alpha2, alpha3, numeric, name, and optionally official_name, currencies and timezones (several values separated by semicolons), plus the detail columns listed in the README."
    ),
    responses(
        (status = 202, description = "Queued; poll the Location", body = ImportJob, headers(("Location" = String))),
        (status = 400, description = "Not JSON or CSV, a wrong type, an unknown field or kind, or CSV without the needed columns", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "URL host not allowed", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "Imports switched off", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Nothing to import, more rows than `imports.max_rows`, a bad URL, or CSV without `kind`", body = ProblemDoc, content_type = "application/problem+json"),
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
#[utoipa::path(get, path = "/imports/{id}", tag = "imports", operation_id = "getImport",
    summary = "Get an import",
    params(("id" = String, Path, description = "Job id from the Location header", example = "5f0c6b8e-3d7a-4c1e-9b2a-0d4e8f6a1c3b")),
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
