//! `/api/v1/timezones/{zone}` and `/api/v1/countries/{code}/time`: the current local
//! time, from the IANA database compiled into the binary (chrono-tz).

use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};
use serde::Serialize;
use utoipa::ToSchema;

use super::countries::find;
use super::{AppState, ProblemDoc};
use crate::domain::ZoneName;
use crate::error::ApiError;

/// The local time in one zone, now.
#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneTime {
    /// IANA zone name.
    #[schema(example = "Europe/Lisbon")]
    pub zone: String,
    /// Local date and time with its offset, RFC 3339.
    #[schema(example = "2026-07-01T13:45:00+01:00")]
    pub local_time: String,
    /// Offset from UTC.
    #[schema(example = "+01:00")]
    pub utc_offset: String,
    /// Zone abbreviation in force (`WEST`), or the numeric offset where the zone has none.
    #[schema(example = "WEST")]
    pub abbreviation: String,
    /// Whether daylight saving time is in force.
    pub dst: bool,
}

/// The local times of a country's zones.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountryTime {
    /// Alpha-2 code.
    #[schema(example = "PT")]
    pub country: String,
    /// One entry per IANA zone of the country.
    pub zones: Vec<ZoneTime>,
}

/// The time in `tz` at `now`.
pub fn zone_time(tz: Tz, now: DateTime<Utc>) -> ZoneTime {
    let local = now.with_timezone(&tz);
    let offset = local.offset();
    let utc_offset = local.format("%:z").to_string();
    ZoneTime {
        zone: tz.name().to_string(),
        local_time: local.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        abbreviation: offset
            .abbreviation()
            .map(str::to_string)
            .unwrap_or_else(|| utc_offset.clone()),
        utc_offset,
        dst: !offset.dst_offset().is_zero(),
    }
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
#[utoipa::path(get, path = "/timezones/{zone}", tag = "timezones", operation_id = "get_zone_time",
    params(("zone" = String, Path, description = "IANA zone name; slashes included", example = "Europe/Lisbon")),
    responses(
        (status = 200, description = "The local time now", body = ZoneTime),
        (status = 404, description = "Unknown zone", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn zone(Path(name): Path<String>) -> Result<Json<ZoneTime>, ApiError> {
    Ok(Json(zone_time(parse_zone(&name)?, Utc::now())))
}

/// The current local time in each of a country's zones.
#[utoipa::path(get, path = "/countries/{code}/time", tag = "timezones", operation_id = "get_country_time",
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
