//! Time zones: what a zone's clock says at an instant, its UTC-offset transitions,
//! local-time conversion across gaps and overlaps, the canonical zone list, and
//! the zone of a coordinate from the boundary polygons.
//!
//! # Layout
//! - this module: [`zone_time`], the answer every zone endpoint shares, and
//!   [`TZDATA_VERSION`];
//! - [`transitions`]: each zone's offset changes, found once per zone by a bounded
//!   scan of the database compiled into the binary (chrono-tz exposes no table);
//! - [`convert`]: a local date-time to an instant, with the Temporal proposal's
//!   `disambiguation` for gaps and overlaps;
//! - [`catalog`]: the canonical zone names (links left out);
//! - [`finder`]: the IANA zone containing a coordinate (tzf-rs polygons).
//!
//! chrono-tz is the only source of tzdata: names, offsets, abbreviations and
//! transitions all come from it, so every answer is of one tzdata version.

pub mod catalog;
pub mod convert;
pub mod finder;
pub mod links;
pub mod transitions;

use chrono::{DateTime, Offset, SecondsFormat, Utc};
use chrono_tz::{OffsetComponents, Tz, TzOffset};
use serde::Serialize;
use utoipa::ToSchema;

pub use transitions::Transition;

/// The IANA tzdata release compiled into this binary (`2025b`).
pub const TZDATA_VERSION: &str = chrono_tz::IANA_TZDB_VERSION;

/// A zone's clock at one instant, with the offset changes around it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ZoneTime {
    /// IANA zone name.
    #[schema(example = "Europe/Lisbon")]
    pub zone: String,
    /// Local date and time with its offset, RFC 3339.
    #[schema(example = "2026-07-01T13:45:00+01:00")]
    pub local_time: String,
    /// Offset from UTC (`±HH:MM`, seconds added only for historical offsets).
    #[schema(example = "+01:00")]
    pub utc_offset: String,
    /// The abbreviation as tzdata writes it: `WEST`, or a numeric one such as `-01`
    /// or `+0530` where the zone has no letters (never `-01:00`).
    #[schema(example = "WEST")]
    pub abbreviation: String,
    /// Whether daylight saving time is in force.
    pub dst: bool,
    /// The last offset change at or before this instant; null when the zone never
    /// changed (`Etc/GMT+1`).
    pub previous_transition: Option<Transition>,
    /// The first offset change after this instant; null when none is scheduled
    /// (tzdata's rules as compiled run to 2099).
    pub next_transition: Option<Transition>,
    /// The tzdata release these figures come from.
    #[schema(example = "2025b")]
    pub tzdata_version: &'static str,
}

/// The clock of `tz` at `at`.
pub fn zone_time(tz: Tz, at: DateTime<Utc>) -> ZoneTime {
    let local = at.with_timezone(&tz);
    let offset = *local.offset();
    let (previous, next) = transitions::around(tz, at.timestamp());
    ZoneTime {
        zone: tz.name().to_string(),
        local_time: local.to_rfc3339_opts(SecondsFormat::Secs, false),
        utc_offset: offset_string(offset.fix().local_minus_utc()),
        abbreviation: abbreviation(&offset),
        dst: is_dst(&offset),
        previous_transition: previous,
        next_transition: next,
        tzdata_version: TZDATA_VERSION,
    }
}

/// The abbreviation as tzdata writes it: the letters (`WEST`), or for a `%z`
/// format the numeric form chrono-tz prints (`-01`, `+0530`).
pub fn abbreviation(offset: &TzOffset) -> String {
    offset.to_string()
}

/// Whether `offset` is daylight saving time.
pub fn is_dst(offset: &TzOffset) -> bool {
    !offset.dst_offset().is_zero()
}

/// `±HH:MM` (`±HH:MM:SS` for the odd historical offset with seconds).
pub fn offset_string(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    if sec == 0 {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}:{m:02}:{sec:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, 12, 0, 0).unwrap()
    }

    #[test]
    fn abbreviations_are_as_tzdata_writes_them() {
        let cases = [
            (Tz::Europe__Lisbon, at(2026, 7, 1), "WEST", "+01:00", true),
            (Tz::Europe__Lisbon, at(2026, 1, 1), "WET", "+00:00", false),
            (Tz::Atlantic__Azores, at(2026, 1, 1), "-01", "-01:00", false),
            (Tz::Atlantic__Azores, at(2026, 7, 1), "+00", "+00:00", true),
            (Tz::Asia__Kolkata, at(2026, 1, 1), "IST", "+05:30", false),
            (
                Tz::Asia__Kathmandu,
                at(2026, 1, 1),
                "+0545",
                "+05:45",
                false,
            ),
            (Tz::Etc__GMTPlus3, at(2026, 1, 1), "-03", "-03:00", false),
        ];
        for (tz, when, abbr, offset, dst) in cases {
            let z = zone_time(tz, when);
            assert_eq!(
                (z.abbreviation.as_str(), z.utc_offset.as_str(), z.dst),
                (abbr, offset, dst),
                "case {tz} at {when}"
            );
        }
    }

    #[test]
    fn offsets_print_seconds_only_when_there_are_some() {
        let cases = [
            (0, "+00:00"),
            (19800, "+05:30"),
            (-3600, "-01:00"),
            (-2205, "-00:36:45"),
            (-12600, "-03:30"),
        ];
        for (seconds, want) in cases {
            assert_eq!(offset_string(seconds), want, "case {seconds}");
        }
    }

    #[test]
    fn the_tzdata_version_looks_like_a_release() {
        assert_eq!(TZDATA_VERSION.len(), 5, "{TZDATA_VERSION}");
        assert!(TZDATA_VERSION.starts_with("20"), "{TZDATA_VERSION}");
    }
}
