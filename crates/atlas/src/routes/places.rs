//! `/api/v1/places` and `/api/v1/time?lat=&lon=`: local time by place name or
//! coordinates, from GeoNames data (CC BY 4.0).

use axum::extract::{Path, State};
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::timezones::{parse_zone, zone_time, ZoneTime};
use super::{ApiQuery, AppState, ProblemDoc};
use crate::error::{ApiError, FieldError};
use crate::places::{Match, Place, PlaceIndex, ATTRIBUTION};

/// `?q=&limit=`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlaceQuery {
    /// Name or its beginning; case and accents do not matter (`covilha` finds Covilhã).
    pub q: String,
    /// At most this many places, 1 to 50 (default 10).
    pub limit: Option<u32>,
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

/// The nearest place to a coordinate and its local time.
#[derive(Debug, Serialize, ToSchema)]
pub struct NearestTime {
    /// The nearest place.
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
pub struct Coordinates {
    /// Latitude, -90 to 90.
    pub lat: f64,
    /// Longitude, -180 to 180.
    pub lon: f64,
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
    let tz = parse_zone(&p.timezone).map_err(|_| {
        ApiError::Unexpected(anyhow::anyhow!(
            "place {} has unknown zone {}",
            p.id,
            p.timezone
        ))
    })?;
    Ok(PlaceTime {
        place: p.clone(),
        time: zone_time(tz, Utc::now()),
    })
}

fn check_query(q: &str) -> Result<(), ApiError> {
    let n = q.trim().chars().count();
    if n == 0 || n > 100 {
        return Err(ApiError::Validation(vec![FieldError::new(
            "query.q",
            "expected 1 to 100 characters",
        )]));
    }
    Ok(())
}

/// Search places by name: exact matches first, then prefixes, then by population.
#[utoipa::path(get, path = "/places", tag = "places",
    params(PlaceQuery),
    responses(
        (status = 200, description = "Matching places (possibly none)", body = PlaceList),
        (status = 400, description = "Malformed query", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "Invalid query", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Place data not loaded yet", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn search(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<PlaceQuery>,
) -> Result<Json<PlaceList>, ApiError> {
    check_query(&q.q)?;
    let limit = match q.limit {
        None => 10,
        Some(l @ 1..=50) => l as usize,
        Some(l) => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "query.limit",
                format!("expected 1 to 50, got {l}"),
            )]))
        }
    };
    let idx = index(&s).await?;
    let items = idx
        .search(&q.q, limit)
        .into_iter()
        .map(|(p, m)| PlaceHit {
            place: p,
            r#match: match_name(m).into(),
        })
        .collect();
    Ok(Json(PlaceList {
        items,
        attribution: ATTRIBUTION.into(),
    }))
}

/// The local time at the best match for a name, with alternatives when ambiguous.
#[utoipa::path(get, path = "/places/{name}/time", tag = "places",
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
    check_query(&name)?;
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

/// The nearest place to a coordinate and its local time.
#[utoipa::path(get, path = "/time", tag = "places",
    params(Coordinates),
    responses(
        (status = 200, description = "Nearest place and its local time", body = NearestTime),
        (status = 400, description = "Missing, malformed or out-of-range coordinates", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Place data not loaded yet", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn time_by_coordinates(
    State(s): State<AppState>,
    ApiQuery(c): ApiQuery<Coordinates>,
) -> Result<Json<NearestTime>, ApiError> {
    let mut errors = Vec::new();
    if !(-90.0..=90.0).contains(&c.lat) {
        errors.push(FieldError::new(
            "query.lat",
            format!("expected -90 to 90, got {}", c.lat),
        ));
    }
    if !(-180.0..=180.0).contains(&c.lon) {
        errors.push(FieldError::new(
            "query.lon",
            format!("expected -180 to 180, got {}", c.lon),
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::InvalidQuery(errors));
    }
    let idx = index(&s).await?;
    let (p, d) = idx
        .nearest(c.lat, c.lon)
        .ok_or_else(|| ApiError::NotFound("no places are loaded".into()))?;
    Ok(Json(NearestTime {
        nearest: with_time(&p)?,
        distance_km: (d * 10.0).round() / 10.0,
        attribution: ATTRIBUTION.into(),
    }))
}
