//! Places (GeoNames cities ≥ 15 000 inhabitants, CC BY 4.0): loaded from the database
//! once, then searched in memory.
//!
//! Name search is a binary search over a sorted list of folded names (primary and
//! alternate), so `covil` finds Covilhã in O(log n). The nearest place to a
//! coordinate comes from a k-d tree over points on the unit sphere: straight-line
//! distance there grows with great-circle distance, so the nearest point in 3-D is
//! the nearest place on Earth, with no special cases at the poles or the
//! antimeridian.

use std::sync::Arc;

use kiddo::{ImmutableKdTree, SquaredEuclidean};
use serde::Serialize;
use sqlx::Row;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;
use utoipa::ToSchema;

use crate::db::{Db, DbError};

/// Credit required by the GeoNames licence, returned with place data.
pub const ATTRIBUTION: &str = "Place data © GeoNames (geonames.org), CC BY 4.0";

/// Earth's mean radius in kilometres.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A populated place.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Place {
    /// GeoNames id.
    #[schema(example = 2740637)]
    pub id: i64,
    /// Name in local spelling.
    #[schema(example = "Covilhã")]
    pub name: String,
    /// ASCII transliteration.
    #[schema(example = "Covilha")]
    pub ascii_name: String,
    /// ISO 3166-1 alpha-2 code of the country.
    #[schema(example = "PT")]
    pub country: String,
    /// First-level administrative division code (GeoNames admin1).
    #[schema(example = "02")]
    pub admin1: String,
    /// Inhabitants.
    #[schema(example = 36723)]
    pub population: i64,
    /// Latitude, degrees.
    #[schema(example = 40.28106)]
    pub latitude: f64,
    /// Longitude, degrees.
    #[schema(example = -7.50504)]
    pub longitude: f64,
    /// IANA time zone.
    #[schema(example = "Europe/Lisbon")]
    pub timezone: String,
}

/// How well a name matched, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Match {
    /// The query is the place's name.
    Exact,
    /// The query is one of its alternate names.
    ExactAlternate,
    /// The name starts with the query.
    Prefix,
    /// An alternate name starts with the query.
    PrefixAlternate,
}

/// The in-memory index.
pub struct PlaceIndex {
    places: Vec<Place>,
    /// (folded name, place index, is the primary name), sorted by name.
    names: Vec<(Box<str>, u32, bool)>,
    tree: ImmutableKdTree<f64, 3>,
}

/// Fold a name for matching: NFKD, drop combining marks, lower-case, collapse spaces.
/// "Covilhã" → "covilha", "  São   Paulo" → "sao paulo". The data generator
/// (scripts/gen_data.py) applies the same fold to the stored `search_name`.
pub fn fold(s: &str) -> String {
    let stripped: String = s.nfkd().filter(|c| !is_combining_mark(*c)).collect();
    stripped
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn unit_vector(lat: f64, lon: f64) -> [f64; 3] {
    let (lat, lon) = (lat.to_radians(), lon.to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

/// Great-circle distance in km (haversine).
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().asin()
}

impl PlaceIndex {
    /// Build from places and their alternate names (already folded, `|`-separated).
    pub fn build(rows: Vec<(Place, String, String)>) -> Self {
        let mut places = Vec::with_capacity(rows.len());
        let mut names = Vec::with_capacity(rows.len() * 3);
        let mut points = Vec::with_capacity(rows.len());
        for (i, (place, search_name, alternates)) in rows.into_iter().enumerate() {
            let idx = i as u32;
            names.push((search_name.clone().into_boxed_str(), idx, true));
            for alt in alternates
                .split('|')
                .filter(|a| !a.is_empty() && *a != search_name)
            {
                names.push((alt.into(), idx, false));
            }
            points.push(unit_vector(place.latitude, place.longitude));
            places.push(place);
        }
        names.sort_unstable();
        names.dedup();
        let tree = ImmutableKdTree::new_from_slice(&points);
        Self {
            places,
            names,
            tree,
        }
    }

    /// Load every place from the database.
    ///
    /// # Errors
    /// The database is unreachable or the places table is missing (not migrated).
    pub async fn load(db: &Db) -> Result<Self, DbError> {
        use futures_util::TryStreamExt;
        // Streamed row by row: materialising 34k rows at once would leave a peak in
        // the heap that the allocator keeps long after the index is built.
        db.run("places.load", async {
            let mut rows = sqlx::query(
                "SELECT id, name, ascii_name, search_name, alternate_names, country, admin1, population, latitude, longitude, timezone FROM places ORDER BY id",
            )
            .fetch(db.pool());
            let mut out = Vec::with_capacity(34_000);
            while let Some(r) = rows.try_next().await? {
                let place = Place {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    ascii_name: r.try_get("ascii_name")?,
                    country: r.try_get("country")?,
                    admin1: r.try_get("admin1")?,
                    population: r.try_get("population")?,
                    latitude: r.try_get("latitude")?,
                    longitude: r.try_get("longitude")?,
                    timezone: r.try_get("timezone")?,
                };
                let search: String = r.try_get("search_name")?;
                let alternates: String = r.try_get("alternate_names")?;
                out.push((place, search, alternates));
            }
            Ok(Self::build(out))
        })
        .await
    }

    /// How many places are indexed.
    pub fn len(&self) -> usize {
        self.places.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    /// Places whose name or an alternate name equals or starts with `query` (folded),
    /// best match first, then by population; each place once.
    pub fn search(&self, query: &str, limit: usize) -> Vec<(&Place, Match)> {
        let q = fold(query);
        if q.is_empty() {
            return Vec::new();
        }
        let start = self
            .names
            .partition_point(|(n, _, _)| n.as_ref() < q.as_str());
        let mut best: std::collections::HashMap<u32, Match> = std::collections::HashMap::new();
        for (name, idx, primary) in self.names[start..]
            .iter()
            .take_while(|(n, _, _)| n.starts_with(q.as_str()))
        {
            let m = match (name.as_ref() == q, primary) {
                (true, true) => Match::Exact,
                (true, false) => Match::ExactAlternate,
                (false, true) => Match::Prefix,
                (false, false) => Match::PrefixAlternate,
            };
            best.entry(*idx)
                .and_modify(|b| *b = (*b).min(m))
                .or_insert(m);
        }
        let mut hits: Vec<(&Place, Match)> = best
            .into_iter()
            .map(|(i, m)| (&self.places[i as usize], m))
            .collect();
        hits.sort_by(|a, b| {
            a.1.cmp(&b.1)
                .then(b.0.population.cmp(&a.0.population))
                .then(a.0.id.cmp(&b.0.id))
        });
        hits.truncate(limit);
        hits
    }

    /// Up to `n` names close to `query`, for "did you mean" on a miss.
    pub fn suggestions(&self, query: &str, n: usize) -> Vec<String> {
        let q = fold(query);
        let Some(first) = q.chars().next() else {
            return Vec::new();
        };
        let key = first.to_string();
        let start = self
            .names
            .partition_point(|(name, _, _)| name.as_ref() < key.as_str());
        let mut scored: Vec<(f64, &Place)> = self.names[start..]
            .iter()
            .take_while(|(name, _, _)| name.starts_with(first))
            .filter(|(_, _, primary)| *primary)
            .map(|(name, idx, _)| (strsim::jaro_winkler(&q, name), &self.places[*idx as usize]))
            .filter(|(score, _)| *score >= 0.85)
            .collect();
        scored.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then(b.1.population.cmp(&a.1.population))
        });
        let mut out: Vec<String> = Vec::new();
        for (_, p) in scored {
            if !out.contains(&p.name) {
                out.push(p.name.clone());
            }
            if out.len() == n {
                break;
            }
        }
        out
    }

    /// The place nearest to a coordinate, with its distance in km.
    pub fn nearest(&self, lat: f64, lon: f64) -> Option<(&Place, f64)> {
        if self.places.is_empty() {
            return None;
        }
        let nn = self
            .tree
            .nearest_one::<SquaredEuclidean>(&unit_vector(lat, lon));
        let place = &self.places[nn.item as usize];
        Some((
            place,
            distance_km((lat, lon), (place.latitude, place.longitude)),
        ))
    }
}

/// The index once loaded; places endpoints answer 503 until then.
#[derive(Clone, Default)]
pub struct Places(Arc<tokio::sync::OnceCell<PlaceIndex>>);

impl Places {
    /// The index, when loaded.
    pub fn get(&self) -> Option<&PlaceIndex> {
        self.0.get()
    }

    /// Load now, if not loaded yet.
    ///
    /// # Errors
    /// As [`PlaceIndex::load`].
    pub async fn load(&self, db: &Db) -> Result<&PlaceIndex, DbError> {
        self.0.get_or_try_init(|| PlaceIndex::load(db)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(id: i64, name: &str, pop: i64, lat: f64, lon: f64) -> Place {
        Place {
            id,
            name: name.into(),
            ascii_name: name.into(),
            country: "XX".into(),
            admin1: "00".into(),
            population: pop,
            latitude: lat,
            longitude: lon,
            timezone: "UTC".into(),
        }
    }

    fn index() -> PlaceIndex {
        PlaceIndex::build(vec![
            (
                place(1, "Covilhã", 36_723, 40.28, -7.50),
                fold("Covilhã"),
                String::new(),
            ),
            (
                place(2, "Paris", 2_138_551, 48.85, 2.35),
                "paris".into(),
                "lutece".into(),
            ),
            (
                place(3, "Paris", 25_171, 33.66, -95.55),
                "paris".into(),
                String::new(),
            ),
            (
                place(4, "Parisot", 20_000, 44.26, 1.86),
                "parisot".into(),
                String::new(),
            ),
            (
                place(5, "Suva", 77_366, -18.14, 178.44),
                "suva".into(),
                String::new(),
            ),
            (
                place(6, "Apia", 40_407, -13.83, -171.76),
                "apia".into(),
                String::new(),
            ),
        ])
    }

    #[test]
    fn fold_strips_accents_case_and_extra_spaces() {
        for (input, want) in [
            ("Covilhã", "covilha"),
            ("  São   Paulo ", "sao paulo"),
            ("ZÜRICH", "zurich"),
            ("Łódź", "łodz"),
        ] {
            assert_eq!(fold(input), want, "case {input:?}");
        }
    }

    #[test]
    fn search_ranks_exact_before_prefix_then_by_population() {
        let idx = index();
        let hits: Vec<i64> = idx.search("PARIS", 10).iter().map(|(p, _)| p.id).collect();
        assert_eq!(hits, vec![2, 3, 4]);
        assert_eq!(idx.search("covilha", 10)[0].0.id, 1, "accent-insensitive");
        assert_eq!(idx.search("cov", 10)[0].1, Match::Prefix);
        assert_eq!(idx.search("lutece", 10)[0].1, Match::ExactAlternate);
        assert!(idx.search("zzz", 10).is_empty());
    }

    #[test]
    fn nearest_crosses_the_antimeridian() {
        let idx = index();
        let (p, d) = idx.nearest(40.0, -7.6).unwrap();
        assert_eq!(p.id, 1);
        assert!(d < 50.0, "{d}");
        // Just east of 180° is nearer Suva (178°E) than anything at 171°W.
        assert_eq!(idx.nearest(-18.0, -179.9).unwrap().0.id, 5);
    }

    #[test]
    fn suggestions_find_close_spellings() {
        assert_eq!(
            index().suggestions("pariss", 5),
            vec!["Paris".to_string(), "Parisot".to_string()]
        );
    }
}
