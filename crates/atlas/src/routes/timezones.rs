//! `/api/v1/timezones` (the zone list), `/api/v1/timezones/{zone}` and
//! `/api/v1/countries/{code}/time`: the current local time, from the IANA database
//! compiled into the binary (chrono-tz).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use chrono::Utc;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::countries::find;
use super::extract::{Checked, FromQuery};
use super::{AppState, Page, ProblemDoc, DEFAULT_PAGE_SIZE};
use crate::config::ApiConfig;
use crate::domain::{
    CountryRef, FieldError, PageLimit, UtcOffset, Violations, ZoneCursor, ZoneName,
};
use crate::error::ApiError;
use crate::zones::catalog::{self, ZoneFilter, ZoneSummary};
pub use crate::zones::{zone_time, ZoneTime};

/// The local times of a country's zones.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountryTime {
    /// Alpha-2 code.
    #[schema(example = "PT")]
    pub country: String,
    /// One entry per IANA zone of the country.
    pub zones: Vec<ZoneTime>,
}

/// The zone a path names, any case (`europe/lisbon` works). A zone is a resource
/// here: an unknown one is 404, not 422.
///
/// # Errors
/// Unknown zones → 404.
pub fn parse_zone(name: &str) -> Result<Tz, ApiError> {
    ZoneName::parse(name)
        .map(ZoneName::tz)
        .map_err(|_| ApiError::NotFound(format!("no IANA time zone named {name:?}")))
}

/// The current local time in a zone; the zone keeps its slashes: `/timezones/Europe/Lisbon`.
#[utoipa::path(get, path = "/timezones/{zone}", tag = "timezones", operation_id = "getZoneTime",
    summary = "Get the local time in a zone",
    params(("zone" = String, Path, description = "IANA zone name; slashes included", example = "Europe/Lisbon")),
    responses(
        (status = 200, description = "The local time now", body = ZoneTime),
        (status = 404, description = "Unknown zone", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn zone(Path(name): Path<String>) -> Result<Json<ZoneTime>, ApiError> {
    Ok(Json(zone_time(parse_zone(&name)?, Utc::now())))
}

/// The current local time in each of a country's zones.
#[utoipa::path(get, path = "/countries/{code}/time", tag = "timezones", operation_id = "getCountryTime",
    summary = "Get the local times of a country's zones",
    params(("code" = String, Path, description = "Alpha-2 or alpha-3 code, any case", example = "PT", pattern = "^[A-Za-z]{2,3}$")),
    responses(
        (status = 200, description = "Local times", body = CountryTime),
        (status = 404, description = "No such country", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Not a country code", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn country(
    State(s): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<CountryTime>, ApiError> {
    let c = find(&s, &code).await?;
    let now = Utc::now();
    let mut zones = Vec::new();
    for z in &c.timezones {
        let tz = ZoneName::parse(z).map(ZoneName::tz).map_err(|_| {
            ApiError::Unexpected(anyhow::anyhow!(
                "stored zone {z:?} of {} is unknown to this binary",
                c.alpha2
            ))
        })?;
        zones.push(zone_time(tz, now));
    }
    Ok(Json(CountryTime {
        country: c.alpha2,
        zones,
    }))
}

/// `?country=&offset=&limit=&cursor=`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ZoneListQuery {
    /// Only the zones of this country (alpha-2 or alpha-3, any case), as tzdata's
    /// zone1970.tab assigns them; an unknown country lists none.
    #[param(pattern = "^[A-Za-z]{2,3}$", example = "PT")]
    pub country: Option<String>,
    /// Only zones at this offset from UTC now, `±HH:MM` up to ±14:00.
    #[param(pattern = "^[+-][0-9]{2}:[0-9]{2}$", example = "+05:30")]
    pub offset: Option<String>,
    /// Items per page, 1 to `api.max_page_size` (default 50).
    #[param(minimum = 1)]
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page (a zone name).
    #[param(pattern = "^[A-Za-z0-9/_+-]{1,64}$", example = "Europe/Lisbon")]
    pub cursor: Option<String>,
}

/// A checked zone list request.
#[derive(Debug, Clone)]
pub struct ZoneListRequest {
    /// Only this country's zones: an alpha-2 or alpha-3 code, upper case.
    pub country: Option<String>,
    /// Only zones at this offset now.
    pub offset: Option<UtcOffset>,
    /// Start after this zone.
    pub after: Option<ZoneCursor>,
    /// Page size.
    pub limit: PageLimit,
}

impl FromQuery for ZoneListRequest {
    type Raw = ZoneListQuery;

    fn check(raw: ZoneListQuery, api: &ApiConfig) -> Result<Self, Vec<FieldError>> {
        let mut v = Violations::default();
        let country = raw
            .country
            .as_deref()
            .map(|c| CountryRef::parse(c).map(|_| c.to_ascii_uppercase()));
        let country = country.transpose();
        let country = v.parameter("country", country);
        let offset = raw.offset.as_deref().map(UtcOffset::parse).transpose();
        let offset = v.parameter("offset", offset);
        let after = raw.cursor.as_deref().map(ZoneCursor::parse).transpose();
        let after = v.parameter("cursor", after);
        let limit = PageLimit::parse(raw.limit, DEFAULT_PAGE_SIZE, api.max_page_size);
        let limit = v.parameter("limit", limit);
        v.done(|| {
            Some(ZoneListRequest {
                country: country?,
                offset: offset?,
                after: after?,
                limit: limit?,
            })
        })
    }
}

/// List the canonical IANA zones with their current offsets (links left out).
#[utoipa::path(get, path = "/timezones", tag = "timezones", operation_id = "listTimezones",
    summary = "List time zones",
    params(ZoneListQuery),
    responses(
        (status = 200, description = "A page of canonical zones (no links such as Europe/Kiev), by name", body = Page<ZoneSummary>, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 400, description = "A parameter is not of its type (`limit=abc`)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is out of range or badly formed (`offset=+5`, `limit=0`)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable (with `country`)", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(s): State<AppState>,
    Checked(q): Checked<ZoneListRequest>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let within = match &q.country {
        None => None,
        Some(code) => match find(&s, code).await {
            Ok(c) => Some(c.timezones),
            Err(ApiError::NotFound(_)) => Some(Vec::new()),
            Err(e) => return Err(e),
        },
    };
    let f = ZoneFilter {
        within,
        offset: q.offset.map(UtcOffset::seconds),
        after: q.after.as_ref().map(|c| c.as_str().to_string()),
        limit: q.limit.as_usize(),
    };
    let offset = q.offset.map(|o| crate::zones::offset_string(o.seconds()));
    let pairs = [
        ("country", q.country.as_deref()),
        ("offset", offset.as_deref()),
    ];
    let page = catalog::list(&f, Utc::now());
    let page = Page::at("/api/v1/timezones", &pairs, q.limit, page);
    Ok(super::list_response(&headers, &page))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn lisbon_is_west_in_summer_and_wet_in_winter() {
        let summer = zone_time(
            Tz::Europe__Lisbon,
            Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 0).unwrap(),
        );
        assert_eq!(
            (
                summer.utc_offset.as_str(),
                summer.abbreviation.as_str(),
                summer.dst
            ),
            ("+01:00", "WEST", true)
        );
        assert_eq!(summer.local_time, "2026-07-01T13:00:00+01:00");
        let winter = zone_time(
            Tz::Europe__Lisbon,
            Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap(),
        );
        assert_eq!(
            (
                winter.utc_offset.as_str(),
                winter.abbreviation.as_str(),
                winter.dst
            ),
            ("+00:00", "WET", false)
        );
    }

    #[test]
    fn zones_parse_case_insensitively_and_unknown_ones_are_404() {
        assert_eq!(parse_zone("europe/lisbon").unwrap(), Tz::Europe__Lisbon);
        assert!(matches!(
            parse_zone("Mars/Olympus"),
            Err(ApiError::NotFound(_))
        ));
    }
}
