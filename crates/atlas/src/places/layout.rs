//! The place index as flat little-endian tables, built the same way by `build.rs`
//! (from `data/places.tsv`, embedded in the binary) and at run time (from the
//! database, when it no longer matches the embedded data).
//!
//! Flat tables read in place: the embedded index costs no heap and no start-up
//! work, and only the pages a lookup touches become resident. This file uses
//! `std` only, since `build.rs` includes it with `#[path]`.
//!
//! - `rows`: one [`ROW`]-byte record per place, in k-d order: the place at the
//!   middle of any range `lo..hi` splits it on the axis its record names, the
//!   lower half before it and the upper half after it (an implicit k-d tree over
//!   the places' unit vectors, so no separate tree is stored).
//! - `keys`: one [`KEY`]-byte record per searchable name, sorted by name.
//! - `zones`: one [`ZONE`]-byte record per distinct time zone.
//! - `text`: every string, concatenated; records point into it.

/// Bytes per row: id, population, latitude, longitude, unit vector x, y, z (8
/// each), then name, ascii name and admin1 offsets (u32 each) and lengths (u16
/// each), country (2), zone (u16), split axis (u8), one spare.
pub const ROW: usize = 80;
/// Bytes per key: text offset, row (u32 each), text length (u16), primary (u8),
/// one spare.
pub const KEY: usize = 12;
/// Bytes per zone: text offset (u32), length (u16), two spare.
pub const ZONE: usize = 8;

/// One place as it comes from `places.tsv` or the `places` table.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// GeoNames id.
    pub id: i64,
    /// Name in local spelling.
    pub name: &'a str,
    /// ASCII transliteration.
    pub ascii_name: &'a str,
    /// The folded name.
    pub search_name: &'a str,
    /// Folded alternate names, `|`-separated.
    pub alternate_names: &'a str,
    /// Alpha-2 code.
    pub country: &'a str,
    /// GeoNames admin1 code.
    pub admin1: &'a str,
    /// Inhabitants.
    pub population: i64,
    /// Degrees.
    pub latitude: f64,
    /// Degrees.
    pub longitude: f64,
    /// IANA zone.
    pub timezone: &'a str,
}

/// The tables, owned (loaded from the database) or borrowed (the embedded ones).
#[derive(Debug, Clone, Default)]
pub struct Tables<B, S> {
    /// Row records.
    pub rows: B,
    /// Key records.
    pub keys: B,
    /// Zone records.
    pub zones: B,
    /// The strings, each on a character boundary.
    pub text: S,
}

/// A cheap fingerprint of a set of places, computed the same way in SQL by
/// `store::places::fingerprint`: the row count, and sums over every column mixed
/// with the id, so that a row added, removed, renumbered or moved, a changed
/// population, and a changed length of any string all change it. It is not a
/// hash: an edit that keeps every string's length is not seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fingerprint {
    /// Rows.
    pub count: i64,
    /// Sum of ids.
    pub ids: i64,
    /// Sum of `(id % 1009) * population`.
    pub populations: i64,
    /// Sum of `(id % 1013) * round(latitude × 10⁶) + (id % 1019) * round(longitude × 10⁶)`.
    pub coordinates: i64,
    /// Sum of `(id % 1021) * Σ kᵢ · length(columnᵢ)` in characters, k = 1, 3, 5, 7, 11, 13, 17.
    pub lengths: i64,
}

impl Fingerprint {
    /// Add one place.
    pub fn add(&mut self, p: &Input<'_>) {
        let len = |s: &str| s.chars().count() as i64;
        self.count += 1;
        self.ids += p.id;
        self.populations += (p.id % 1009) * p.population;
        self.coordinates += (p.id % 1013) * (p.latitude * 1e6).round() as i64
            + (p.id % 1019) * (p.longitude * 1e6).round() as i64;
        self.lengths += (p.id % 1021)
            * (len(p.name)
                + 3 * len(p.ascii_name)
                + 5 * len(p.search_name)
                + 7 * len(p.alternate_names)
                + 11 * len(p.country)
                + 13 * len(p.admin1)
                + 17 * len(p.timezone));
    }
}

/// The point on the unit sphere for a coordinate: straight-line distance between
/// such points grows with great-circle distance.
pub fn unit_vector(lat: f64, lon: f64) -> [f64; 3] {
    let (lat, lon) = (lat.to_radians(), lon.to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

/// A row before the tables are laid out.
struct Pending {
    id: i64,
    population: i64,
    latitude: f64,
    longitude: f64,
    point: [f64; 3],
    name: (u32, u16),
    ascii_name: (u32, u16),
    admin1: (u32, u16),
    country: [u8; 2],
    zone: u16,
}

/// Builds the tables one place at a time.
#[derive(Default)]
pub struct Builder {
    rows: Vec<Pending>,
    text: String,
    zones: Vec<(u32, u16)>,
    zone_ids: std::collections::HashMap<String, u16>,
    /// (text offset, length, input row, primary)
    keys: Vec<(u32, u16, u32, bool)>,
    fingerprint: Fingerprint,
}

impl Builder {
    /// Append a string (cut at a character boundary below 64 KiB, far above any
    /// name) and return where it is.
    fn text(&mut self, s: &str) -> (u32, u16) {
        let mut end = s.len().min(u16::MAX as usize);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let t = (self.text.len() as u32, end as u16);
        self.text.push_str(&s[..end]);
        t
    }

    /// Add one place.
    pub fn push(&mut self, p: &Input<'_>) {
        self.fingerprint.add(p);
        let idx = self.rows.len() as u32;
        let zone = match self.zone_ids.get(p.timezone) {
            Some(z) => *z,
            None => {
                let z = self.zones.len() as u16;
                let t = self.text(p.timezone);
                self.zones.push(t);
                self.zone_ids.insert(p.timezone.to_string(), z);
                z
            }
        };
        let c = p.country.as_bytes();
        let row = Pending {
            id: p.id,
            population: p.population,
            latitude: p.latitude,
            longitude: p.longitude,
            point: unit_vector(p.latitude, p.longitude),
            name: self.text(p.name),
            ascii_name: self.text(p.ascii_name),
            admin1: self.text(p.admin1),
            country: [
                c.first().copied().unwrap_or(b'?'),
                c.get(1).copied().unwrap_or(b'?'),
            ],
            zone,
        };
        self.rows.push(row);
        let (off, len) = self.text(p.search_name);
        self.keys.push((off, len, idx, true));
        for alt in p
            .alternate_names
            .split('|')
            .filter(|a| !a.is_empty() && *a != p.search_name)
        {
            let (off, len) = self.text(alt);
            self.keys.push((off, len, idx, false));
        }
    }

    /// The fingerprint of the places pushed so far.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// Lay the tables out: rows in k-d order, keys sorted by name.
    pub fn finish(self) -> Tables<Vec<u8>, String> {
        let Builder {
            rows,
            mut text,
            zones,
            mut keys,
            ..
        } = self;
        // order[k] = input row at position k; axes[k] = its split axis.
        let mut order: Vec<u32> = (0..rows.len() as u32).collect();
        let mut axes = vec![0u8; rows.len()];
        kd_order(&rows, &mut order, &mut axes);
        let mut position = vec![0u32; rows.len()];
        for (k, &i) in order.iter().enumerate() {
            position[i as usize] = k as u32;
        }

        let mut row_bytes = Vec::with_capacity(rows.len() * ROW);
        for (&i, &axis) in order.iter().zip(&axes) {
            let r = &rows[i as usize];
            row_bytes.extend_from_slice(&r.id.to_le_bytes());
            row_bytes.extend_from_slice(&r.population.to_le_bytes());
            row_bytes.extend_from_slice(&r.latitude.to_le_bytes());
            row_bytes.extend_from_slice(&r.longitude.to_le_bytes());
            for c in r.point {
                row_bytes.extend_from_slice(&c.to_le_bytes());
            }
            for (off, _) in [r.name, r.ascii_name, r.admin1] {
                row_bytes.extend_from_slice(&off.to_le_bytes());
            }
            for (_, len) in [r.name, r.ascii_name, r.admin1] {
                row_bytes.extend_from_slice(&len.to_le_bytes());
            }
            row_bytes.extend_from_slice(&r.country);
            row_bytes.extend_from_slice(&r.zone.to_le_bytes());
            row_bytes.push(axis);
            row_bytes.push(0);
        }

        text.shrink_to_fit();
        let at = |off: u32, len: u16| &text.as_bytes()[off as usize..off as usize + len as usize];
        for k in &mut keys {
            k.2 = position[k.2 as usize];
        }
        keys.sort_unstable_by(|a, b| {
            at(a.0, a.1)
                .cmp(at(b.0, b.1))
                .then(a.2.cmp(&b.2))
                .then(b.3.cmp(&a.3))
        });
        keys.dedup_by(|a, b| a.2 == b.2 && a.3 == b.3 && at(a.0, a.1) == at(b.0, b.1));
        let mut key_bytes = Vec::with_capacity(keys.len() * KEY);
        for (off, len, row, primary) in keys {
            key_bytes.extend_from_slice(&off.to_le_bytes());
            key_bytes.extend_from_slice(&row.to_le_bytes());
            key_bytes.extend_from_slice(&len.to_le_bytes());
            key_bytes.push(u8::from(primary));
            key_bytes.push(0);
        }

        let mut zone_bytes = Vec::with_capacity(zones.len() * ZONE);
        for (off, len) in zones {
            zone_bytes.extend_from_slice(&off.to_le_bytes());
            zone_bytes.extend_from_slice(&len.to_le_bytes());
            zone_bytes.extend_from_slice(&[0, 0]);
        }
        Tables {
            rows: row_bytes,
            keys: key_bytes,
            zones: zone_bytes,
            text,
        }
    }
}

/// Arrange `order` (input rows) in implicit k-d order: the middle element splits
/// on the axis where the range spreads most; both halves recursively.
fn kd_order(rows: &[Pending], order: &mut [u32], axes: &mut [u8]) {
    if order.is_empty() {
        return;
    }
    let mut axis = 0;
    let mut widest = -1.0;
    for a in 0..3 {
        let (lo, hi) = order.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &i| {
            let c = rows[i as usize].point[a];
            (lo.min(c), hi.max(c))
        });
        if hi - lo > widest {
            widest = hi - lo;
            axis = a;
        }
    }
    let mid = order.len() / 2;
    // Ties broken by id, so the layout depends only on the set of places.
    order.select_nth_unstable_by(mid, |&a, &b| {
        let (ra, rb) = (&rows[a as usize], &rows[b as usize]);
        ra.point[axis]
            .total_cmp(&rb.point[axis])
            .then(ra.id.cmp(&rb.id))
    });
    axes[mid] = axis as u8;
    let (left, right) = order.split_at_mut(mid);
    let (left_axes, right_axes) = axes.split_at_mut(mid);
    kd_order(rows, left, left_axes);
    kd_order(rows, &mut right[1..], &mut right_axes[1..]);
}
