//! Places (GeoNames cities ≥ 15 000 inhabitants, CC BY 4.0): searched in memory.
//!
//! Name search is a binary search over a sorted list of folded names (primary and
//! alternate), so `covil` finds Covilhã in O(log n). The nearest place to a
//! coordinate comes from a k-d tree over points on the unit sphere: straight-line
//! distance there grows with great-circle distance, so the nearest point in 3-D is
//! the nearest place on Earth, with no special cases at the poles or the
//! antimeridian.
//!
//! The index is flat tables (`layout`). `build.rs` lays them out from
//! `data/places.tsv` into the binary, together with that data's fingerprint. The
//! database stays the source of truth: at start-up its fingerprint is read with one
//! aggregate query, and only when it matches are the embedded tables used, read in
//! place (no heap, no start-up work, only the pages lookups touch become
//! resident). Otherwise the tables are built from the database's rows.

mod layout;

use std::borrow::Cow;
use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;

use crate::store::{self, Db, DbError};
pub use layout::Fingerprint;
use layout::{unit_vector, Input, Tables, KEY, ROW, ZONE};

include!(concat!(env!("OUT_DIR"), "/places.rs"));

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

/// Where an index's tables came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Built into the binary; the database's places match them.
    Embedded,
    /// Read from the database, whose places differ from the embedded ones.
    Database,
    /// Built from places handed to [`PlaceIndex::build`].
    Given,
}

impl Source {
    /// The word for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Embedded => "embedded",
            Source::Database => "database",
            Source::Given => "given",
        }
    }
}

/// The in-memory index.
pub struct PlaceIndex {
    tables: Tables<Cow<'static, [u8]>, Cow<'static, str>>,
    source: Source,
}

/// `N` bytes at `at`.
fn bytes<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut a = [0; N];
    a.copy_from_slice(&b[at..at + N]);
    a
}

/// One row record.
#[derive(Clone, Copy)]
struct Row<'a>(&'a [u8]);

impl Row<'_> {
    fn i64(&self, at: usize) -> i64 {
        i64::from_le_bytes(bytes(self.0, at))
    }
    fn f64(&self, at: usize) -> f64 {
        f64::from_le_bytes(bytes(self.0, at))
    }
    fn id(&self) -> i64 {
        self.i64(0)
    }
    fn population(&self) -> i64 {
        self.i64(8)
    }
    fn latitude(&self) -> f64 {
        self.f64(16)
    }
    fn longitude(&self) -> f64 {
        self.f64(24)
    }
    fn point(&self) -> [f64; 3] {
        [self.f64(32), self.f64(40), self.f64(48)]
    }
    /// Offset and length of the name (0), ascii name (1) or admin1 (2).
    fn text(&self, which: usize) -> (usize, usize) {
        let off = u32::from_le_bytes(bytes(self.0, 56 + 4 * which));
        let len = u16::from_le_bytes(bytes(self.0, 68 + 2 * which));
        (off as usize, len as usize)
    }
    fn country(&self) -> [u8; 2] {
        bytes(self.0, 74)
    }
    fn zone(&self) -> usize {
        u16::from_le_bytes(bytes(self.0, 76)) as usize
    }
    fn axis(&self) -> usize {
        usize::from(self.0[78]).min(2)
    }
}

pub use crate::domain::text::fold;

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
    fn owned(b: layout::Builder, source: Source) -> Self {
        let t = b.finish();
        PlaceIndex {
            tables: Tables {
                rows: t.rows.into(),
                keys: t.keys.into(),
                zones: t.zones.into(),
                text: t.text.into(),
            },
            source,
        }
    }

    /// Build from places and their folded search name and alternates (`|`-separated).
    pub fn build(rows: Vec<(Place, String, String)>) -> Self {
        let mut b = layout::Builder::default();
        for (p, search_name, alternate_names) in &rows {
            b.push(&Input {
                id: p.id,
                name: &p.name,
                ascii_name: &p.ascii_name,
                search_name,
                alternate_names,
                country: &p.country,
                admin1: &p.admin1,
                population: p.population,
                latitude: p.latitude,
                longitude: p.longitude,
                timezone: &p.timezone,
            });
        }
        Self::owned(b, Source::Given)
    }

    /// The index built into the binary from `data/places.tsv`.
    pub fn embedded() -> Self {
        PlaceIndex {
            tables: Tables {
                rows: Cow::Borrowed(EMBEDDED.rows),
                keys: Cow::Borrowed(EMBEDDED.keys),
                zones: Cow::Borrowed(EMBEDDED.zones),
                text: Cow::Borrowed(EMBEDDED.text),
            },
            source: Source::Embedded,
        }
    }

    /// The index of the database's places: the embedded one when the database's
    /// fingerprint matches it (one aggregate query), else read row by row.
    ///
    /// # Errors
    /// The database is unreachable or the places table is missing (not migrated).
    pub async fn load(db: &Db) -> Result<Self, DbError> {
        let f = store::places::fingerprint(db).await?;
        let found = Fingerprint {
            count: f.count,
            ids: f.ids,
            populations: f.populations,
            coordinates: f.coordinates,
            lengths: f.lengths,
        };
        if found == EMBEDDED_FINGERPRINT {
            return Ok(Self::embedded());
        }
        tracing::info!(
            places = found.count,
            embedded = EMBEDDED_FINGERPRINT.count,
            "the database's places differ from the embedded ones; reading them"
        );
        let index = Self::read(db).await?;
        if index.1 != found {
            // The SQL and the Rust fingerprint disagree on the same rows (or the
            // rows changed meanwhile): the embedded index would never be used.
            tracing::warn!(sql = ?found, rows = ?index.1, "place fingerprints disagree");
        }
        Ok(index.0)
    }

    /// The index built from the database's rows, whatever the embedded data, and
    /// the rows' fingerprint.
    ///
    /// # Errors
    /// As [`PlaceIndex::load`].
    pub async fn read(db: &Db) -> Result<(Self, Fingerprint), DbError> {
        let mut b = layout::Builder::default();
        store::places::for_each(db, |r| {
            b.push(&Input {
                id: r.id,
                name: &r.name,
                ascii_name: &r.ascii_name,
                search_name: &r.search_name,
                alternate_names: &r.alternate_names,
                country: &r.country,
                admin1: &r.admin1,
                population: r.population,
                latitude: r.latitude,
                longitude: r.longitude,
                timezone: &r.timezone,
            });
        })
        .await?;
        let fingerprint = b.fingerprint();
        Ok((Self::owned(b, Source::Database), fingerprint))
    }

    /// Where the tables came from.
    pub fn source(&self) -> Source {
        self.source
    }

    fn row(&self, i: usize) -> Row<'_> {
        Row(&self.tables.rows[i * ROW..(i + 1) * ROW])
    }

    fn text(&self, (off, len): (usize, usize)) -> &str {
        &self.tables.text[off..off + len]
    }

    /// Key `i`: folded name, row, whether it is the primary name.
    fn key(&self, i: usize) -> (&str, usize, bool) {
        let k = &self.tables.keys[i * KEY..(i + 1) * KEY];
        let off = u32::from_le_bytes(bytes(k, 0)) as usize;
        let row = u32::from_le_bytes(bytes(k, 4)) as usize;
        let len = u16::from_le_bytes(bytes(k, 8)) as usize;
        (self.text((off, len)), row, k[10] != 0)
    }

    fn key_count(&self) -> usize {
        self.tables.keys.len() / KEY
    }

    /// The first key not below `q`.
    fn first_key_from(&self, q: &str) -> usize {
        let (mut lo, mut hi) = (0, self.key_count());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.key(mid).0 < q {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The place at `i`, as the API returns it.
    fn place(&self, i: usize) -> Place {
        let r = self.row(i);
        let z = &self.tables.zones[r.zone() * ZONE..(r.zone() + 1) * ZONE];
        let zone = (
            u32::from_le_bytes(bytes(z, 0)) as usize,
            u16::from_le_bytes(bytes(z, 4)) as usize,
        );
        Place {
            id: r.id(),
            name: self.text(r.text(0)).to_string(),
            ascii_name: self.text(r.text(1)).to_string(),
            country: String::from_utf8_lossy(&r.country()).into_owned(),
            admin1: self.text(r.text(2)).to_string(),
            population: r.population(),
            latitude: r.latitude(),
            longitude: r.longitude(),
            timezone: self.text(zone).to_string(),
        }
    }

    /// How many places are indexed.
    pub fn len(&self) -> usize {
        self.tables.rows.len() / ROW
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Places whose name or an alternate name equals or starts with `query` (folded),
    /// best match first, then by population; each place once.
    pub fn search(&self, query: &str, limit: usize) -> Vec<(Place, Match)> {
        let q = fold(query);
        if q.is_empty() {
            return Vec::new();
        }
        let mut best: std::collections::HashMap<usize, Match> = std::collections::HashMap::new();
        for (text, place, primary) in (self.first_key_from(&q)..self.key_count())
            .map(|i| self.key(i))
            .take_while(|(text, _, _)| text.starts_with(q.as_str()))
        {
            let m = match (text == q, primary) {
                (true, true) => Match::Exact,
                (true, false) => Match::ExactAlternate,
                (false, true) => Match::Prefix,
                (false, false) => Match::PrefixAlternate,
            };
            best.entry(place)
                .and_modify(|b| *b = (*b).min(m))
                .or_insert(m);
        }
        let mut hits: Vec<(usize, Match)> = best.into_iter().collect();
        hits.sort_by(|a, b| {
            let (ra, rb) = (self.row(a.0), self.row(b.0));
            a.1.cmp(&b.1)
                .then(rb.population().cmp(&ra.population()))
                .then(ra.id().cmp(&rb.id()))
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
        let mut scored: Vec<(f64, Row<'_>)> = (self.first_key_from(&first.to_string())
            ..self.key_count())
            .map(|i| self.key(i))
            .take_while(|(text, _, _)| text.starts_with(first))
            .filter(|(_, _, primary)| *primary)
            .map(|(text, place, _)| (strsim::jaro_winkler(&q, text), self.row(place)))
            .filter(|(score, _)| *score >= 0.85)
            .collect();
        scored.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then(b.1.population().cmp(&a.1.population()))
                .then(a.1.id().cmp(&b.1.id()))
        });
        let mut out: Vec<String> = Vec::new();
        for (_, r) in scored {
            let name = self.text(r.text(0));
            if !out.iter().any(|o| o == name) {
                out.push(name.to_string());
            }
            if out.len() == n {
                break;
            }
        }
        out
    }

    /// The place nearest to a coordinate, with its distance in km (of two at the
    /// same distance, the lower id).
    pub fn nearest(&self, lat: f64, lon: f64) -> Option<(Place, f64)> {
        if self.is_empty() {
            return None;
        }
        let mut best = Nearest {
            d2: f64::INFINITY,
            row: 0,
            id: i64::MAX,
        };
        self.nearest_in(0, self.len(), unit_vector(lat, lon), &mut best);
        let r = self.row(best.row);
        Some((
            self.place(best.row),
            distance_km((lat, lon), (r.latitude(), r.longitude())),
        ))
    }

    /// Search the k-d subtree of rows `lo..hi` (its root in the middle).
    fn nearest_in(&self, lo: usize, hi: usize, q: [f64; 3], best: &mut Nearest) {
        if lo >= hi {
            return;
        }
        let mid = lo + (hi - lo) / 2;
        let r = self.row(mid);
        let p = r.point();
        let d2 = (0..3).map(|a| (q[a] - p[a]).powi(2)).sum::<f64>();
        if d2 < best.d2 || (d2 == best.d2 && r.id() < best.id) {
            *best = Nearest {
                d2,
                row: mid,
                id: r.id(),
            };
        }
        let axis = r.axis();
        let diff = q[axis] - p[axis];
        let (near, far) = if diff < 0.0 {
            ((lo, mid), (mid + 1, hi))
        } else {
            ((mid + 1, hi), (lo, mid))
        };
        self.nearest_in(near.0, near.1, q, best);
        // Everything on the far side is at least |diff| away along this axis.
        if diff * diff <= best.d2 {
            self.nearest_in(far.0, far.1, q, best);
        }
    }
}

/// The best candidate so far.
struct Nearest {
    d2: f64,
    row: usize,
    id: i64,
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

    /// The nearest place by brute force: every place's haversine distance.
    fn brute_nearest(idx: &PlaceIndex, lat: f64, lon: f64) -> (i64, f64) {
        (0..idx.len())
            .map(|i| {
                let r = idx.row(i);
                (
                    r.id(),
                    distance_km((lat, lon), (r.latitude(), r.longitude())),
                )
            })
            .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
            .unwrap()
    }

    /// Coordinates spread over the globe, poles and antimeridian included.
    /// The index's nearest place is at the brute-force distance for every probe.
    fn assert_nearest_is_brute_force(idx: &PlaceIndex, probes: impl Iterator<Item = (f64, f64)>) {
        for (lat, lon) in probes {
            let (p, d) = idx.nearest(lat, lon).unwrap();
            let (id, want) = brute_nearest(idx, lat, lon);
            assert!(
                (d - want).abs() < 1e-9,
                "({lat}, {lon}): {} at {d} km, brute force {id} at {want} km",
                p.id
            );
        }
    }

    fn probes() -> impl Iterator<Item = (f64, f64)> {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let fixed = [
            (90.0, 0.0),
            (-90.0, 0.0),
            (0.0, 180.0),
            (0.0, -180.0),
            (40.28, -7.5),
        ];
        let random: Vec<(f64, f64)> = (0..300)
            .map(|_| (next() * 180.0 - 90.0, next() * 360.0 - 180.0))
            .collect();
        fixed.into_iter().chain(random)
    }

    #[test]
    fn nearest_agrees_with_brute_force_on_many_points() {
        let mut x: u64 = 7;
        let mut next = move || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let rows = (0..2000)
            .map(|i| {
                let name = format!("p{i}");
                let p = place(
                    i,
                    &name,
                    1000,
                    next() * 180.0 - 90.0,
                    next() * 360.0 - 180.0,
                );
                (p, name, String::new())
            })
            .collect();
        let idx = PlaceIndex::build(rows);
        assert_nearest_is_brute_force(&idx, probes());
    }

    #[test]
    fn embedded_index_holds_the_data_file_and_answers_like_brute_force() {
        let idx = PlaceIndex::embedded();
        assert_eq!(idx.source(), Source::Embedded);
        let lines = include_str!("../data/places.tsv")
            .lines()
            .skip(1)
            .filter(|l| !l.is_empty())
            .count();
        assert_eq!(idx.len(), lines);
        assert_eq!(EMBEDDED_FINGERPRINT.count as usize, lines);
        let covilha = &idx.search("covilha", 1)[0].0;
        assert_eq!(
            (
                covilha.name.as_str(),
                covilha.country.as_str(),
                covilha.timezone.as_str()
            ),
            ("Covilhã", "PT", "Europe/Lisbon")
        );
        assert_nearest_is_brute_force(&idx, probes().take(60));
    }

    #[test]
    fn keys_are_sorted_so_binary_search_finds_every_name() {
        let idx = PlaceIndex::embedded();
        for i in 1..idx.key_count() {
            assert!(
                idx.key(i - 1).0 <= idx.key(i).0,
                "keys {} and {i} out of order",
                i - 1
            );
        }
    }
}
