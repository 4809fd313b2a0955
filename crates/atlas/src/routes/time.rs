//! `GET /api/v1/time/convert`: a date-time from one zone to another, with the
//! Temporal proposal's `disambiguation` for gaps and overlaps.

use axum::Json;
use chrono::SecondsFormat;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{Checked, FromQuery};
use super::ProblemDoc;
use crate::config::ApiConfig;
use crate::domain::{DateTimeInput, FieldError, Violations, ZoneName};
use crate::error::ApiError;
use crate::zones::convert::{resolve, Candidate, Disambiguation, LocalKind, Resolved};
use crate::zones::{zone_time, ZoneTime};

/// `?at=&from=&to=&disambiguation=`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConvertQuery {
    /// The date-time to convert: local (`2026-03-29T01:30:00`, read in `from`; seconds
    /// and a fraction optional) or an instant with `Z` or an offset up to ±14:00
    /// (`2026-03-29T01:30:00Z`, `2026-03-29T01:30:00+01:00`).
    #[param(
        required = true,
        max_length = 40,
        example = "2026-03-29T01:30:00",
        pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2})?$"
    )]
    pub at: Option<String>,
    /// The IANA zone `at` is read in, any case.
    #[param(required = true, example = "Europe/Lisbon")]
    pub from: Option<String>,
    /// The IANA zone to convert to, any case.
    #[param(required = true, example = "Asia/Tokyo")]
    pub to: Option<String>,
    /// For a local `at` the clocks skipped (gap) or showed twice (overlap):
    /// `compatible` (default: overlap → earlier, gap → shifted forward), `earlier`,
    /// `later`, or `reject` (422). Ignored when `at` carries an offset.
    #[param(inline)]
    pub disambiguation: Option<Disambiguation>,
}

/// A checked conversion request.
#[derive(Debug, Clone, Copy)]
pub struct ConvertRequest {
    /// What to convert.
    pub at: DateTimeInput,
    /// The zone it is read in.
    pub from: Tz,
    /// The zone to convert to.
    pub to: Tz,
    /// How to read gaps and overlaps.
    pub disambiguation: Disambiguation,
}

impl FromQuery for ConvertRequest {
    type Raw = ConvertQuery;

    fn check(raw: ConvertQuery, _: &ApiConfig) -> Result<Self, Vec<FieldError>> {
        let mut v = Violations::default();
        let at = v.required("at", raw.at);
        let at = at.and_then(|a| v.parameter("at", DateTimeInput::parse(&a)));
        let mut zone = |name: &str, value: Option<String>| {
            let value = v.required(name, value)?;
            v.parameter(name, ZoneName::parse(&value).map(ZoneName::tz))
        };
        let (from, to) = (zone("from", raw.from), zone("to", raw.to));
        v.done(|| {
            Some(ConvertRequest {
                at: at?,
                from: from?,
                to: to?,
                disambiguation: raw.disambiguation.unwrap_or_default(),
            })
        })
    }
}

/// How the input was read in `from`.
#[derive(Debug, Serialize, ToSchema)]
pub struct InputReading {
    /// `at` as given.
    #[schema(example = "2026-03-29T01:30:00")]
    pub at: String,
    /// `unique`, `gap` (the clocks skipped it), `overlap` (they showed it twice), or
    /// `instant` (it carried an offset; `disambiguation` did not apply).
    pub kind: LocalKind,
    /// The reading taken: `only`, `earlier` or `later`.
    pub candidate: Candidate,
    /// The `disambiguation` applied.
    pub disambiguation: Disambiguation,
}

/// The `from` side: the zone's clock at the instant, and how `at` was read.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConvertedFrom {
    /// The clock in `from` at the instant (in a gap this local time differs from `at`).
    #[serde(flatten)]
    pub time: ZoneTime,
    /// How `at` was read.
    pub input: InputReading,
}

/// One instant, on the clocks of two zones.
#[derive(Debug, Serialize, ToSchema)]
pub struct Conversion {
    /// The instant, UTC, RFC 3339.
    #[schema(example = "2026-03-29T01:30:00Z")]
    pub instant: String,
    /// The source zone's clock, and how `at` was read there.
    pub from: ConvertedFrom,
    /// The target zone's clock at the same instant.
    pub to: ZoneTime,
}

fn rejected(e: impl std::fmt::Display) -> ApiError {
    ApiError::Invalid(vec![FieldError::parameter("at", e.to_string())])
}

/// Convert a date-time between zones, handling DST gaps and overlaps.
#[utoipa::path(get, path = "/time/convert", tag = "timezones", operation_id = "convertTime",
    summary = "Convert a date-time between zones",
    params(ConvertQuery),
    responses(
        (status = 200, description = "The instant on both clocks", body = Conversion),
        (status = 400, description = "A parameter is not of its type (`disambiguation=sometimes`)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is missing or invalid (unknown zone, malformed `at`), or `at` is in a gap or overlap with `disambiguation=reject`", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn convert(Checked(q): Checked<ConvertRequest>) -> Result<Json<Conversion>, ApiError> {
    let (given, resolved) = match q.at {
        DateTimeInput::Local(local) => (
            local.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
            resolve(q.from, local, q.disambiguation).map_err(rejected)?,
        ),
        DateTimeInput::Instant(instant) => (
            instant.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            Resolved {
                instant,
                kind: LocalKind::Instant,
                candidate: Candidate::Only,
            },
        ),
    };
    Ok(Json(Conversion {
        instant: resolved
            .instant
            .to_rfc3339_opts(SecondsFormat::AutoSi, true),
        from: ConvertedFrom {
            time: zone_time(q.from, resolved.instant),
            input: InputReading {
                at: given,
                kind: resolved.kind,
                candidate: resolved.candidate,
                disambiguation: q.disambiguation,
            },
        },
        to: zone_time(q.to, resolved.instant),
    }))
}
