//! `/api/v1/places` and `/api/v1/time?lat=&lon=`: local time by place name or
//! coordinates, from GeoNames data (CC BY 4.0); a coordinate's zone comes from the
//! time-zone boundary polygons ([`crate::zones::finder`]).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{path_param, Checked, FromQuery};
use super::timezones::{zone_time, ZoneTime};
use super::{AppState, ProblemDoc};
use crate::config::ApiConfig;
use crate::domain::{FieldError, Latitude, Longitude, PageLimit, SearchTerm, Violations, ZoneName};
use crate::error::ApiError;
use crate::places::{Match, Place, PlaceIndex, ATTRIBUTION};
use crate::zones::finder::{self, Found};

/// `?q=&limit=`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlaceQuery {
    /// Name or its beginning, 1 to 100 characters; case and accents do not matter
    /// (`covilha` finds Covilhã).
    #[param(required = true, min_length = 1, max_length = 100, example = "covilha")]
    pub q: Option<String>,
    /// At most this many places, 1 to 50 (default 10).
    #[param(minimum = 1, maximum = 50, example = 10)]
    pub limit: Option<u32>,
}

/// A checked place search.
#[derive(Debug)]
pub struct PlaceSearch {
    /// What to look for.
    pub q: SearchTerm,
    /// How many places at most.
    pub limit: PageLimit,
}

impl FromQuery for PlaceSearch {
    type Raw = PlaceQuery;

    fn check(raw: PlaceQuery, _: &ApiConfig) -> Result<Self, Vec<FieldError>> {
        let mut v = Violations::default();
        let q = v.required("q", raw.q);
        let q = q.and_then(|q| v.parameter("q", SearchTerm::parse(&q)));
        let limit = v.parameter("limit", PageLimit::parse(raw.limit, 10, 50));
        v.done(|| {
            Some(PlaceSearch {
                q: q?,
                limit: limit?,
            })
        })
    }
}

/// A place and how it matched.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceHit {
    /// The place.
    #[serde(flatten)]
    pub place: Place,
    /// `exact`, `exact_alternate`, `prefix` or `prefix_alternate`.
    #[schema(example = "exact")]
    pub r#match: String,
}

/// Matching places.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceList {
    /// Best match first, then by population.
    pub items: Vec<PlaceHit>,
    /// Data credit.
    pub attribution: String,
}

/// A place with its local time.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceTime {
    /// The place.
    pub place: Place,
    /// Its local time now.
    pub time: ZoneTime,
}

/// The best match's time, and other places of that name.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceTimeAnswer {
    /// The best match (exact name, most populous).
    #[serde(flatten)]
    pub best: PlaceTime,
    /// Up to 5 other places the name could mean (`Paris`, `Springfield`).
    pub alternatives: Vec<PlaceTime>,
    /// Data credit.
    pub attribution: String,
}

/// Where the zone of a coordinate answer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ZoneSource {
    /// The time-zone boundary polygon containing the coordinate (at sea, the
    /// nautical zone `Etc/GMT±N`; `Etc/GMT+3` is UTC−3).
    BoundaryPolygons,
    /// The nearest place's zone: the polygons named a zone this binary's tzdata
    /// does not know, or none.
    NearestPlace,
}

/// The zone and local time at a coordinate, and the nearest place.
#[derive(Debug, Serialize, ToSchema)]
pub struct NearestTime {
    /// THE answer: the zone containing the coordinate and its clock now.
    pub zone: ZoneTime,
    /// Where `zone` comes from.
    pub zone_source: ZoneSource,
    /// The nearest place (`place`) and the clock in that place's own zone (`time`),
    /// which near a border can differ from `zone`.
    #[serde(flatten)]
    pub nearest: PlaceTime,
    /// Great-circle distance from the coordinate, km.
    pub distance_km: f64,
    /// Data credit.
    pub attribution: String,
}

/// `?lat=&lon=`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoordinateQuery {
    /// Latitude, -90 to 90.
    #[param(required = true, minimum = -90, maximum = 90, example = 51.4386)]
    pub lat: Option<f64>,
    /// Longitude, -180 to 180.
    #[param(required = true, minimum = -180, maximum = 180, example = 4.9269)]
    pub lon: Option<f64>,
}

/// A checked point on Earth.
#[derive(Debug, Clone, Copy)]
pub struct Coordinates {
    /// Latitude.
    pub lat: Latitude,
    /// Longitude.
    pub lon: Longitude,
}

impl FromQuery for Coordinates {
    type Raw = CoordinateQuery;

    fn check(raw: CoordinateQuery, _: &ApiConfig) -> Result<Self, Vec<FieldError>> {
        let mut v = Violations::default();
        let lat = v.required("lat", raw.lat);
        let lat = lat.and_then(|l| v.parameter("lat", Latitude::parse(l)));
        let lon = v.required("lon", raw.lon);
        let lon = lon.and_then(|l| v.parameter("lon", Longitude::parse(l)));
        v.done(|| {
            Some(Coordinates {
                lat: lat?,
                lon: lon?,
            })
        })
    }
}

fn match_name(m: Match) -> &'static str {
    match m {
        Match::Exact => "exact",
        Match::ExactAlternate => "exact_alternate",
        Match::Prefix => "prefix",
        Match::PrefixAlternate => "prefix_alternate",
    }
}

async fn index(s: &AppState) -> Result<&PlaceIndex, ApiError> {
    s.places.load(&s.db).await.map_err(ApiError::from)
}

fn with_time(p: &Place) -> Result<PlaceTime, ApiError> {
    let tz = ZoneName::parse(&p.timezone).map_err(|_| {
        ApiError::Unexpected(anyhow::anyhow!(
            "place {} has unknown zone {}",
            p.id,
            p.timezone
        ))
    })?;
    Ok(PlaceTime {
        place: p.clone(),
        time: zone_time(tz.tz(), Utc::now()),
    })
}

/// Search places by name: exact matches first, then prefixes, then by population.
#[utoipa::path(get, path = "/places", tag = "places", operation_id = "searchPlaces",
    summary = "Search places by name",
    params(PlaceQuery),
    responses(
        (status = 200, description = "Matching places (possibly none)", body = PlaceList, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 400, description = "A parameter is not of its type (`limit=abc`)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "`q` missing or blank, or `limit` out of range", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Place data not loaded yet", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn search(
    State(s): State<AppState>,
    Checked(q): Checked<PlaceSearch>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let idx = index(&s).await?;
    let items = idx
        .search(q.q.as_str(), q.limit.as_usize())
        .into_iter()
        .map(|(p, m)| PlaceHit {
            place: p,
            r#match: match_name(m).into(),
        })
        .collect();
    let list = PlaceList {
        items,
        attribution: ATTRIBUTION.into(),
    };
    Ok(super::list_response(&headers, &list))
}

/// The local time at the best match for a name, with alternatives when ambiguous.
#[utoipa::path(get, path = "/places/{name}/time", tag = "places", operation_id = "getPlaceTime",
    summary = "Get the local time at a place",
    params(("name" = String, Path, description = "Place name, any case, accents optional", example = "covilha")),
    responses(
        (status = 200, description = "Local time at the best match", body = PlaceTimeAnswer),
        (status = 404, description = "No such place; `suggestions` lists close names", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Place data not loaded yet", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn time_by_name(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<PlaceTimeAnswer>, ApiError> {
    path_param("name", SearchTerm::parse(&name))?;
    let idx = index(&s).await?;
    let mut hits = idx.search(&name, 6).into_iter();
    let Some((best, best_match)) = hits.next() else {
        let suggestions = idx.suggestions(&name, 5);
        return Err(ApiError::NotFoundWith(
            format!("no place named {name:?}"),
            serde_json::json!({ "suggestions": suggestions }),
        ));
    };
    let alternatives = hits
        .filter(|(_, m)| *m == best_match)
        .map(|(p, _)| with_time(&p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(PlaceTimeAnswer {
        best: with_time(&best)?,
        alternatives,
        attribution: ATTRIBUTION.into(),
    }))
}

/// The time zone and local time at a coordinate, and the nearest place.
#[utoipa::path(get, path = "/time", tag = "places", operation_id = "getTimeAtCoordinates",
    summary = "Get the time zone and local time at a coordinate",
    params(CoordinateQuery),
    responses(
        (status = 200, description = "The zone containing the point (boundary polygons), its local time, and the nearest place", body = NearestTime),
        (status = 400, description = "A coordinate is not a number (`lat=abc`)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "A coordinate is missing or out of range (`lat=100`)", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Place data not loaded yet", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn time_by_coordinates(
    State(s): State<AppState>,
    Checked(c): Checked<Coordinates>,
) -> Result<Json<NearestTime>, ApiError> {
    let idx = index(&s).await?;
    let (lat, lon) = (c.lat.degrees(), c.lon.degrees());
    let (p, d) = idx
        .nearest(lat, lon)
        .ok_or_else(|| ApiError::NotFound("no places are loaded".into()))?;
    let nearest = with_time(&p)?;
    let (zone, zone_source) = match polygon_zone(lat, lon).await? {
        Some(tz) => (zone_time(tz, Utc::now()), ZoneSource::BoundaryPolygons),
        None => (nearest.time.clone(), ZoneSource::NearestPlace),
    };
    Ok(Json(NearestTime {
        zone,
        zone_source,
        nearest,
        distance_km: (d * 10.0).round() / 10.0,
        attribution: format!("{ATTRIBUTION} {BOUNDARIES}"),
    }))
}

/// Credit for the zone boundaries.
const BOUNDARIES: &str =
    "Time zone boundaries: timezone-boundary-builder (OpenStreetMap data, ODbL), via tzf-rs.";

/// The zone whose polygon holds the point, if the compiled tzdata knows it.
/// Before the finder is built (start-up builds it in the background) the lookup
/// waits for it on the blocking pool, not on a request thread.
async fn polygon_zone(lat: f64, lon: f64) -> Result<Option<chrono_tz::Tz>, ApiError> {
    let found = if finder::is_ready() {
        finder::zone_at(lat, lon)
    } else {
        tokio::task::spawn_blocking(move || finder::zone_at(lat, lon))
            .await
            .map_err(|e| ApiError::Unexpected(anyhow::anyhow!("zone finder task failed: {e}")))?
    };
    Ok(match found {
        Found::Zone(tz) => Some(tz),
        Found::Unknown(name) => {
            tracing::debug!(zone = %name, lat, lon, "polygon zone unknown to the compiled tzdata; using the nearest place's zone");
            None
        }
        Found::Nothing => {
            tracing::debug!(
                lat,
                lon,
                "no zone polygon covers the point; using the nearest place's zone"
            );
            None
        }
    })
}
