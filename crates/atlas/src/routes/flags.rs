//! `/api/v1/countries/{code}/flag`: SVG by default, PNG at a chosen width.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use super::countries::parse_ref;
use super::{etag_bytes, not_modified, ApiQuery, AppState, ProblemDoc};
use crate::error::{ApiError, FieldError};
use crate::flags::{self, WIDTHS};
use crate::store;

/// `?format=&width=`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlagQuery {
    /// `svg` (default) or `png`.
    pub format: Option<String>,
    /// PNG width in pixels, 16 to 1024 (default 256); PNG only.
    pub width: Option<u32>,
}

const CACHE_FOREVER: HeaderValue =
    HeaderValue::from_static("public, max-age=604800, stale-while-revalidate=86400");

/// The country's flag: SVG, or PNG rendered in-process and cached.
#[utoipa::path(get, path = "/countries/{code}/flag", tag = "flags",
    params(("code" = String, Path, description = "Alpha-2 or alpha-3 code, any case", example = "PT"), FlagQuery),
    responses(
        (status = 200, description = "The flag", content_type = "image/svg+xml", headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 400, description = "Bad format or width", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such country, or no flag for it", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Not a country code", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn flag(
    State(s): State<AppState>,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<FlagQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let png = match q.format.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("svg") => {
            if q.width.is_some() {
                return Err(ApiError::InvalidQuery(vec![FieldError::new(
                    "query.width",
                    "width applies to format=png only",
                )]));
            }
            false
        }
        Some("png") => true,
        Some(other) => {
            return Err(ApiError::InvalidQuery(vec![FieldError::new(
                "query.format",
                format!("expected svg or png, got {other:?}"),
            )]))
        }
    };
    let width = q.width.unwrap_or(256);
    if png && !WIDTHS.contains(&width) {
        return Err(ApiError::InvalidQuery(vec![FieldError::new(
            "query.width",
            format!(
                "expected {} to {}, got {width}",
                WIDTHS.start(),
                WIDTHS.end()
            ),
        )]));
    }
    let r = parse_ref(&code)?;
    let country = store::get_country(&s.db, &r)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no country with code {code:?}")))?
        .value;
    let svg_gz = flags::svg_gz(&country.alpha2).ok_or_else(|| {
        ApiError::NotFound(format!("no flag is available for {}", country.alpha2))
    })?;
    // The SVG bytes decide every representation: one tag per (flag, format, width).
    let tag = etag_bytes(svg_gz, if png { width } else { 0 });
    let cache = [
        (
            header::ETAG,
            HeaderValue::from_str(&tag).unwrap_or(HeaderValue::from_static("\"0\"")),
        ),
        (header::CACHE_CONTROL, CACHE_FOREVER),
    ];
    if not_modified(&headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    if !png {
        let mut res = super::docs::gzip_asset(
            &headers,
            svg_gz,
            "image/svg+xml",
            "public, max-age=604800, stale-while-revalidate=86400",
        );
        res.headers_mut().insert(header::ETAG, cache[0].1.clone());
        return Ok(res);
    }
    let (bytes, _hit) = s
        .flags
        .png(&country.alpha2, width)
        .await
        .map_err(|e| ApiError::Unexpected(e.into()))?;
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static("image/png"))],
        cache,
        bytes.as_ref().clone(),
    )
        .into_response())
}
