//! `/api/v1/countries/{code}/flag`: SVG by default, PNG at a chosen width, in
//! either ratio. `Cache-Control` is `api.cache_control.flags` (set by the group's
//! layer, see `startup::api_router`).

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::countries::alpha2_of;
use super::extract::{Checked, FromQuery};
use super::{not_modified, AppState, ProblemDoc};
use crate::config::ApiConfig;
use crate::domain::{FieldError, Violations};
use crate::error::ApiError;
use crate::flags::{self, Ratio, WIDTHS};

/// A flag's image format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FlagFormat {
    /// The embedded SVG (default).
    #[default]
    #[serde(alias = "SVG")]
    Svg,
    /// A PNG rendered at `width`.
    #[serde(alias = "PNG")]
    Png,
}

/// A flag's aspect ratio, as flag-icons names its two sets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
pub enum FlagRatio {
    /// 4:3 (default).
    #[default]
    #[serde(rename = "4x3")]
    FourByThree,
    /// 1:1, square.
    #[serde(rename = "1x1")]
    Square,
}

impl From<FlagRatio> for Ratio {
    fn from(r: FlagRatio) -> Ratio {
        match r {
            FlagRatio::FourByThree => Ratio::FourByThree,
            FlagRatio::Square => Ratio::Square,
        }
    }
}

/// `?format=&width=&ratio=`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlagQuery {
    /// `svg` (default) or `png`.
    #[param(inline, example = "png")]
    pub format: Option<FlagFormat>,
    /// PNG width in pixels, 16 to 1024 (default 256); PNG only. The height follows
    /// the ratio (192 px for a 256 px 4:3 flag).
    #[param(minimum = 16, maximum = 1024, example = 256)]
    pub width: Option<u32>,
    /// `4x3` (default) or `1x1`.
    #[param(inline, example = "1x1")]
    pub ratio: Option<FlagRatio>,
}

/// What to render: SVG, or PNG at a checked width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rendition {
    /// The SVG as embedded.
    Svg,
    /// A PNG this many pixels wide.
    Png(u32),
}

/// A checked flag request: the rendition, in a ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagRequest {
    /// SVG or PNG.
    pub rendition: Rendition,
    /// 4:3 or 1:1.
    pub ratio: Ratio,
}

/// PNG width when none is given.
const DEFAULT_WIDTH: u32 = 256;

impl FromQuery for FlagRequest {
    type Raw = FlagQuery;

    fn check(raw: FlagQuery, _: &ApiConfig) -> Result<Self, Vec<FieldError>> {
        let ratio = raw.ratio.unwrap_or_default().into();
        let mut v = Violations::default();
        let rendition = match (raw.format.unwrap_or_default(), raw.width) {
            (FlagFormat::Svg, Some(_)) => {
                v.parameter("width", Err("width applies to format=png only".into()))
            }
            (FlagFormat::Svg, None) => Some(Rendition::Svg),
            (FlagFormat::Png, width) => {
                let width = width.unwrap_or(DEFAULT_WIDTH);
                let checked = if WIDTHS.contains(&width) {
                    Ok(Rendition::Png(width))
                } else {
                    Err(format!(
                        "expected {} to {}, got {width}",
                        WIDTHS.start(),
                        WIDTHS.end()
                    ))
                };
                v.parameter("width", checked)
            }
        };
        v.done(|| {
            Some(FlagRequest {
                rendition: rendition?,
                ratio,
            })
        })
    }
}

/// The country's flag: SVG, or PNG rendered in-process and cached.
#[utoipa::path(get, path = "/countries/{code}/flag", tag = "flags", operation_id = "getCountryFlag",
    summary = "Get a country's flag",
    params(("code" = String, Path, description = "Alpha-2 or alpha-3 code, any case", example = "PT"), FlagQuery),
    responses(
        (status = 200, description = "The flag: SVG, or PNG with format=png; 4:3, or square with ratio=1x1", content((String = "image/svg+xml"), (String = "image/png")), headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 400, description = "A parameter is not of its type (`format=gif`, `width=abc`, `ratio=16x9`)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such country, or no flag for it", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Not a country code, or a width out of range or without format=png", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable, or every PNG render slot busy for `api.flag_render_wait`; see Retry-After", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn flag(
    State(s): State<AppState>,
    Path(code): Path<String>,
    Checked(FlagRequest { rendition, ratio }): Checked<FlagRequest>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let alpha2 = alpha2_of(&s, &code).await?;
    let no_flag = || ApiError::NotFound(format!("no flag is available for {alpha2}"));
    let svg_gz = flags::svg_gz(&alpha2, ratio).ok_or_else(no_flag)?;
    // The SVG bytes decide every representation: one tag per (flag, ratio, format,
    // width).
    let width = match rendition {
        Rendition::Svg => 0,
        Rendition::Png(w) => w,
    };
    let tag = flags::etag(&alpha2, ratio, width).ok_or_else(no_flag)?;
    let etag = [(
        header::ETAG,
        HeaderValue::from_str(&tag).unwrap_or(HeaderValue::from_static("\"0\"")),
    )];
    if not_modified(&headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, etag).into_response());
    }
    let Rendition::Png(width) = rendition else {
        // The group's layer replaces this Cache-Control with the configured one.
        let mut res = super::docs::gzip_asset(&headers, svg_gz, "image/svg+xml", "no-cache");
        res.headers_mut().insert(header::ETAG, etag[0].1.clone());
        return Ok(res);
    };
    let (bytes, _hit) = s
        .flags
        .png(&alpha2, ratio, width)
        .await
        .map_err(|e| match e {
            flags::RenderError::Busy { .. } => ApiError::Overloaded(e.to_string()),
            e => ApiError::Unexpected(e.into()),
        })?;
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static("image/png"))],
        etag,
        bytes,
    )
        .into_response())
}
