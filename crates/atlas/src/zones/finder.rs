//! The IANA zone containing a coordinate, from the timezone-boundary-builder
//! polygons as packaged by tzf-rs (its bundled "lite" data, offline). At sea the
//! polygons give the nautical zones `Etc/GMT±N` (`Etc/GMT+3` is UTC−3).
//!
//! tzf-rs's `EmbeddedFinder` queries the 4 MB of polygon data where it lies in
//! the binary; its `DefaultFinder` expands them first. Measured in a debug build:
//! `DefaultFinder` +58 MB resident and 3.2 s to build, 0.4 µs a lookup;
//! `EmbeddedFinder` +0.1 MB and 1.4 s to build, 4 µs a lookup, same answers (as
//! tzf-rs documents). A few µs do not matter next to an HTTP request, 58 MB does
//! for a pod, so the embedded one it is. Its build still takes a while, so it is
//! built once, in the background at start-up ([`warm`]) or on first use.
//!
//! Where polygons overlap (Xinjiang: `Asia/Shanghai` and `Asia/Urumqi`) tzf-rs
//! answers the first by name, `Asia/Shanghai`, the official time.

use std::sync::OnceLock;

use chrono_tz::Tz;
use tzf_rs::EmbeddedFinder;

static FINDER: OnceLock<EmbeddedFinder> = OnceLock::new();

fn finder() -> &'static EmbeddedFinder {
    FINDER.get_or_init(EmbeddedFinder::new)
}

/// Build the finder now (blocking), so the first lookup does not pay for it.
/// Returns the polygon data's version (`2026f`: the timezone-boundary-builder
/// release).
pub fn warm() -> &'static str {
    finder().data_version()
}

/// Whether the finder has been built.
pub fn is_ready() -> bool {
    FINDER.get().is_some()
}

/// What the polygons say about a point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A zone this binary knows.
    Zone(Tz),
    /// A name the compiled tzdata does not know (a newer polygon release).
    Unknown(String),
    /// No polygon covers the point.
    Nothing,
}

/// The zone at (`lat`, `lon`), in degrees. Blocking: builds the finder if needed.
pub fn zone_at(lat: f64, lon: f64) -> Found {
    match finder().get_tz_name(lon, lat) {
        "" => Found::Nothing,
        name => name
            .parse::<Tz>()
            .map_or_else(|_| Found::Unknown(name.to_string()), Found::Zone),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn border_enclaves_and_open_sea_get_the_polygon_zone() {
        let cases = [
            // Baarle-Hertog (Belgian enclave) and Baarle-Nassau (Dutch) side by side.
            ((51.4386, 4.9269), "Europe/Brussels", "Baarle-Hertog"),
            ((51.4452, 4.9296), "Europe/Amsterdam", "Baarle-Nassau"),
            // Spain, a few km east of the Portuguese border near Braganza.
            ((41.95, -6.70), "Europe/Madrid", "Spain near Portugal"),
            ((41.81, -6.76), "Europe/Lisbon", "Bragança"),
            // Mid-Atlantic: UTC−3 is Etc/GMT+3 (POSIX sign).
            ((30.0, -40.0), "Etc/GMT+3", "Atlantic"),
            // Either side of the antimeridian on the open Pacific.
            ((0.0, 179.9), "Etc/GMT-12", "west of the antimeridian"),
            ((0.0, -179.9), "Etc/GMT+12", "east of the antimeridian"),
            // Lisbon itself.
            ((38.72, -9.14), "Europe/Lisbon", "Lisbon"),
        ];
        for ((lat, lon), want, case) in cases {
            let got = zone_at(lat, lon);
            let want: Tz = want.parse().unwrap();
            assert_eq!(got, Found::Zone(want), "case {case} ({lat}, {lon})");
        }
    }
}
