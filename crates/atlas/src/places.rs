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
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;
use utoipa::ToSchema;

use crate::store::{self, Db, DbError};

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

/// A slice of the index's text arena.
#[derive(Debug, Clone, Copy)]
struct Text {
    off: u32,
    len: u32,
}

/// One place, with its text kept in the arena: a few bytes instead of five heap
/// strings per place (the index went from ~24 to ~7 MiB).
#[derive(Debug, Clone, Copy)]
struct Row {
    id: i64,
    population: i64,
    latitude: f64,
    longitude: f64,
    name: Text,
    ascii_name: Text,
    admin1: Text,
    country: [u8; 2],
    zone: u16,
}

/// A searchable name: folded primary or alternate name of one place.
#[derive(Debug, Clone, Copy)]
struct Key {
    text: Text,
    place: u32,
    primary: bool,
}

/// The in-memory index.
pub struct PlaceIndex {
    rows: Vec<Row>,
    text: String,
    zones: Vec<Box<str>>,
    /// Sorted by folded name.
    keys: Vec<Key>,
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

/// Builds a [`PlaceIndex`] one place at a time, so loading never holds every row's
/// strings at once.
#[derive(Default)]
struct Builder {
    rows: Vec<Row>,
    text: String,
    zones: Vec<Box<str>>,
    zone_ids: std::collections::HashMap<String, u16>,
    keys: Vec<Key>,
}

impl Builder {
    fn text(&mut self, s: &str) -> Text {
        let t = Text {
            off: self.text.len() as u32,
            len: s.len() as u32,
        };
        self.text.push_str(s);
        t
    }

    fn push(&mut self, place: &Place, search_name: &str, alternates: &str) {
        let idx = self.rows.len() as u32;
        let zone = match self.zone_ids.get(&place.timezone) {
            Some(z) => *z,
            None => {
                let z = self.zones.len() as u16;
                self.zones.push(place.timezone.as_str().into());
                self.zone_ids.insert(place.timezone.clone(), z);
                z
            }
        };
        let c = place.country.as_bytes();
        let row = Row {
            id: place.id,
            population: place.population,
            latitude: place.latitude,
            longitude: place.longitude,
            name: self.text(&place.name),
            ascii_name: self.text(&place.ascii_name),
            admin1: self.text(&place.admin1),
            country: [
                c.first().copied().unwrap_or(b'?'),
                c.get(1).copied().unwrap_or(b'?'),
            ],
            zone,
        };
        self.rows.push(row);
        let primary = self.text(search_name);
        self.keys.push(Key {
            text: primary,
            place: idx,
            primary: true,
        });
        for alt in alternates
            .split('|')
            .filter(|a| !a.is_empty() && *a != search_name)
        {
            let t = self.text(alt);
            self.keys.push(Key {
                text: t,
                place: idx,
                primary: false,
            });
        }
    }

    fn finish(mut self) -> PlaceIndex {
        let text = std::mem::take(&mut self.text);
        let at = |t: Text| &text[t.off as usize..(t.off + t.len) as usize];
        self.keys
            .sort_unstable_by(|a, b| at(a.text).cmp(at(b.text)).then(a.place.cmp(&b.place)));
        self.keys.dedup_by(|a, b| {
            a.place == b.place && a.primary == b.primary && at(a.text) == at(b.text)
        });
        let points: Vec<[f64; 3]> = self
            .rows
            .iter()
            .map(|r| unit_vector(r.latitude, r.longitude))
            .collect();
        let tree = ImmutableKdTree::new_from_slice(&points);
        let mut rows = self.rows;
        rows.shrink_to_fit();
        let mut keys = self.keys;
        keys.shrink_to_fit();
        let mut text = text;
        text.shrink_to_fit();
        PlaceIndex {
            rows,
            text,
            zones: self.zones,
            keys,
            tree,
        }
    }
}

impl PlaceIndex {
    /// Build from places and their folded search name and alternates (`|`-separated).
    pub fn build(rows: Vec<(Place, String, String)>) -> Self {
        let mut b = Builder::default();
        for (place, search, alternates) in &rows {
            b.push(place, search, alternates);
        }
        b.finish()
    }

    /// Load every place from the database.
    ///
    /// # Errors
    /// The database is unreachable or the places table is missing (not migrated).
    pub async fn load(db: &Db) -> Result<Self, DbError> {
        let mut b = Builder::default();
        store::places::for_each(db, |r| {
            let place = Place {
                id: r.id,
                name: r.name,
                ascii_name: r.ascii_name,
                country: r.country,
                admin1: r.admin1,
                population: r.population,
                latitude: r.latitude,
                longitude: r.longitude,
                timezone: r.timezone,
            };
            b.push(&place, &r.search_name, &r.alternate_names);
        })
        .await?;
        Ok(b.finish())
    }

    fn at(&self, t: Text) -> &str {
        &self.text[t.off as usize..(t.off + t.len) as usize]
    }

    /// The place at `i`, as the API returns it.
    fn place(&self, i: u32) -> Place {
        let r = &self.rows[i as usize];
        Place {
            id: r.id,
            name: self.at(r.name).to_string(),
            ascii_name: self.at(r.ascii_name).to_string(),
            country: String::from_utf8_lossy(&r.country).into_owned(),
            admin1: self.at(r.admin1).to_string(),
            population: r.population,
            latitude: r.latitude,
            longitude: r.longitude,
            timezone: self.zones[r.zone as usize].to_string(),
        }
    }

    /// How many places are indexed.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Places whose name or an alternate name equals or starts with `query` (folded),
    /// best match first, then by population; each place once.
    pub fn search(&self, query: &str, limit: usize) -> Vec<(Place, Match)> {
        let q = fold(query);
        if q.is_empty() {
            return Vec::new();
        }
        let start = self.keys.partition_point(|k| self.at(k.text) < q.as_str());
        let mut best: std::collections::HashMap<u32, Match> = std::collections::HashMap::new();
        for k in self.keys[start..]
            .iter()
            .take_while(|k| self.at(k.text).starts_with(q.as_str()))
        {
            let m = match (self.at(k.text) == q, k.primary) {
                (true, true) => Match::Exact,
                (true, false) => Match::ExactAlternate,
                (false, true) => Match::Prefix,
                (false, false) => Match::PrefixAlternate,
            };
            best.entry(k.place)
                .and_modify(|b| *b = (*b).min(m))
                .or_insert(m);
        }
        let mut hits: Vec<(u32, Match)> = best.into_iter().collect();
        hits.sort_by(|a, b| {
            let (ra, rb) = (&self.rows[a.0 as usize], &self.rows[b.0 as usize]);
            a.1.cmp(&b.1)
                .then(rb.population.cmp(&ra.population))
                .then(ra.id.cmp(&rb.id))
        });
        hits.truncate(limit);
        hits.into_iter().map(|(i, m)| (self.place(i), m)).collect()
    }

    /// Up to `n` names close to `query`, for "did you mean" on a miss.
    pub fn suggestions(&self, query: &str, n: usize) -> Vec<String> {
        let q = fold(query);
        let Some(first) = q.chars().next() else {
            return Vec::new();
        };
        let key = first.to_string();
        let start = self
            .keys
            .partition_point(|k| self.at(k.text) < key.as_str());
        let mut scored: Vec<(f64, &Row)> = self.keys[start..]
            .iter()
            .take_while(|k| self.at(k.text).starts_with(first))
            .filter(|k| k.primary)
            .map(|k| {
                (
                    strsim::jaro_winkler(&q, self.at(k.text)),
                    &self.rows[k.place as usize],
                )
            })
            .filter(|(score, _)| *score >= 0.85)
            .collect();
        scored.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then(b.1.population.cmp(&a.1.population))
        });
        let mut out: Vec<String> = Vec::new();
        for (_, r) in scored {
            let name = self.at(r.name);
            if !out.iter().any(|o| o == name) {
                out.push(name.to_string());
            }
            if out.len() == n {
                break;
            }
        }
        out
    }

    /// The place nearest to a coordinate, with its distance in km.
    pub fn nearest(&self, lat: f64, lon: f64) -> Option<(Place, f64)> {
        if self.rows.is_empty() {
            return None;
        }
        let nn = self
            .tree
            .nearest_one::<SquaredEuclidean>(&unit_vector(lat, lon));
        let i = nn.item as u32;
        let r = &self.rows[i as usize];
        Some((
            self.place(i),
            distance_km((lat, lon), (r.latitude, r.longitude)),
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
