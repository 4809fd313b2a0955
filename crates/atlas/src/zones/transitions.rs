//! Each zone's UTC-offset transitions.
//!
//! chrono-tz keeps its transition table private, so the table is rebuilt from the
//! public offset lookup: step through 1800–2099 (the years chrono-tz compiles
//! rules for) a day at a time and bisect every change to the second. A change
//! and its reversal within one day would be missed: for every zone of tzdata
//! 2025b a 6-hour step finds exactly the same changes (a 7-day step misses some
//! //! in Brazil and Palestine). The scan runs once per zone, on first use (about
//! 70 ms for Lisbon in a debug build); the tables (a few KB per zone, some 600
//! zones) are kept.

use std::sync::{LazyLock, OnceLock};

use chrono::{DateTime, Offset, SecondsFormat, TimeZone};
use chrono_tz::{Tz, TzOffset, TZ_VARIANTS};
use serde::Serialize;
use utoipa::ToSchema;

use super::{abbreviation, is_dst, offset_string};

/// 1800-01-01T00:00:00Z: chrono-tz has no transitions before it.
const FIRST: i64 = -5_364_662_400;
/// 2100-01-01T00:00:00Z: nor after it.
const END: i64 = 4_102_444_800;
/// The scan step; changes closer together than this can be missed in pairs.
const STEP: i64 = 86_400;

/// One change of a zone's offset or abbreviation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Transition {
    /// The first instant of the new offset, UTC, RFC 3339.
    #[schema(example = "2026-10-25T01:00:00Z")]
    pub at: String,
    /// The offset before.
    #[schema(example = "+01:00")]
    pub offset_before: String,
    /// The offset from `at` on.
    #[schema(example = "+00:00")]
    pub offset_after: String,
    /// The abbreviation before, as tzdata writes it.
    #[schema(example = "WEST")]
    pub abbreviation_before: String,
    /// The abbreviation from `at` on, as tzdata writes it.
    #[schema(example = "WET")]
    pub abbreviation_after: String,
    /// Whether daylight saving time is in force from `at` on.
    pub dst_after: bool,
}

/// A change as scanned: its instant and the offsets either side.
#[derive(Debug, Clone, Copy)]
struct Change {
    at: i64,
    before: TzOffset,
    after: TzOffset,
}

impl Change {
    fn describe(&self) -> Transition {
        let at = DateTime::from_timestamp(self.at, 0).unwrap_or_default();
        Transition {
            at: at.to_rfc3339_opts(SecondsFormat::Secs, true),
            offset_before: offset_string(self.before.fix().local_minus_utc()),
            offset_after: offset_string(self.after.fix().local_minus_utc()),
            abbreviation_before: abbreviation(&self.before),
            abbreviation_after: abbreviation(&self.after),
            dst_after: is_dst(&self.after),
        }
    }
}

/// A zone's changes, in order, built on first use.
type Table = OnceLock<Box<[Change]>>;

/// One table per zone, indexed like `TZ_VARIANTS`.
static TABLES: LazyLock<Box<[Table]>> =
    LazyLock::new(|| TZ_VARIANTS.iter().map(|_| OnceLock::new()).collect());

fn table(tz: Tz) -> &'static [Change] {
    // `Tz` is a field-less enum declared in `TZ_VARIANTS` order, so its
    // discriminant is its index there; `get` keeps a mismatch from panicking.
    match TABLES.get(tz as usize) {
        Some(cell) => cell.get_or_init(|| scan(tz)),
        None => &[],
    }
}

fn offset_at(tz: Tz, t: i64) -> TzOffset {
    // Every `t` used here lies within 1800..2100, well inside chrono's range.
    let utc = DateTime::from_timestamp(t, 0).unwrap_or_default();
    tz.offset_from_utc_datetime(&utc.naive_utc())
}

/// Every change from 1800 to 2099, in order.
fn scan(tz: Tz) -> Box<[Change]> {
    let mut changes = Vec::new();
    let (mut t, mut current) = (FIRST, offset_at(tz, FIRST));
    while t < END {
        let next = (t + STEP).min(END);
        let o = offset_at(tz, next);
        if o == current {
            t = next;
            continue;
        }
        // offset(lo) == current, offset(hi) != current: narrow to one second.
        let (mut lo, mut hi) = (t, next);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if offset_at(tz, mid) == current {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let after = offset_at(tz, hi);
        changes.push(Change {
            at: hi,
            before: current,
            after,
        });
        (t, current) = (hi, after);
    }
    changes.into_boxed_slice()
}

/// The last transition at or before `t` (Unix seconds) and the first after it.
pub fn around(tz: Tz, t: i64) -> (Option<Transition>, Option<Transition>) {
    let changes = table(tz);
    let i = changes.partition_point(|c| c.at <= t);
    let previous = i.checked_sub(1).and_then(|p| changes.get(p));
    (
        previous.map(Change::describe),
        changes.get(i).map(Change::describe),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    fn at(tz: Tz, when: &str) -> (Option<Transition>, Option<Transition>) {
        around(tz, ts(when))
    }

    #[test]
    fn lisbon_2026_changes_to_the_second_in_and_out_of_dst() {
        let (prev, next) = at(Tz::Europe__Lisbon, "2026-07-01T12:00:00Z");
        let (prev, next) = (prev.unwrap(), next.unwrap());
        assert_eq!(prev.at, "2026-03-29T01:00:00Z");
        assert_eq!(
            (prev.offset_before.as_str(), prev.offset_after.as_str()),
            ("+00:00", "+01:00")
        );
        assert_eq!(prev.abbreviation_after, "WEST");
        assert!(prev.dst_after);
        assert_eq!(next.at, "2026-10-25T01:00:00Z");
        assert_eq!(
            (next.offset_after.as_str(), next.abbreviation_after.as_str()),
            ("+00:00", "WET")
        );
        let (_, next) = at(Tz::Europe__Lisbon, "2026-01-15T00:00:00Z");
        assert_eq!(next.unwrap().at, "2026-03-29T01:00:00Z", "out of DST");
    }

    #[test]
    fn the_transition_instant_itself_belongs_to_the_new_offset() {
        let (prev, next) = at(Tz::Europe__Lisbon, "2026-03-29T01:00:00Z");
        assert_eq!(prev.unwrap().at, "2026-03-29T01:00:00Z");
        assert_eq!(next.unwrap().at, "2026-10-25T01:00:00Z");
        let (_, next) = at(Tz::Europe__Lisbon, "2026-03-29T00:59:59Z");
        assert_eq!(next.unwrap().at, "2026-03-29T01:00:00Z");
    }

    #[test]
    fn zones_without_dst_have_a_past_change_or_none_at_all() {
        let (prev, next) = at(Tz::Asia__Tokyo, "2026-07-01T00:00:00Z");
        let prev = prev.expect("Tokyo changed in 1951");
        assert!(prev.at.starts_with("1951-"), "{prev:?}");
        assert_eq!(prev.offset_after, "+09:00");
        assert_eq!(next, None);
        assert_eq!(
            at(Tz::Etc__GMTPlus1, "2026-07-01T00:00:00Z"),
            (None, None),
            "Etc/GMT+1 never changes"
        );
    }

    #[test]
    fn lord_howe_moves_half_an_hour() {
        let (_, next) = at(Tz::Australia__Lord_Howe, "2026-07-01T00:00:00Z");
        let next = next.unwrap();
        assert_eq!(
            (next.offset_before.as_str(), next.offset_after.as_str()),
            ("+10:30", "+11:00")
        );
        // 2 a.m. local standard time on the first Sunday of October.
        assert_eq!(next.at, "2026-10-03T15:30:00Z");
    }

    #[test]
    fn scanned_transitions_match_chrono_tz_at_every_change() {
        for tz in [
            Tz::America__New_York,
            Tz::Africa__Casablanca,
            Tz::Pacific__Apia,
        ] {
            for c in table(tz) {
                assert_eq!(offset_at(tz, c.at - 1), c.before, "{tz} before {}", c.at);
                assert_eq!(offset_at(tz, c.at), c.after, "{tz} at {}", c.at);
            }
        }
    }

    #[test]
    fn one_zone_scan_is_cheap_enough_for_first_use() {
        let t = std::time::Instant::now();
        let n = scan(Tz::Europe__Lisbon).len();
        let took = t.elapsed();
        assert!(n > 300, "Lisbon has centuries of changes: {n}");
        // Generous for a debug build on a shared machine.
        assert!(took.as_millis() < 2_000, "{took:?}");
        eprintln!("Lisbon: {n} transitions scanned in {took:?}");
    }
}
