//! The canonical zone names, and a page of them with the offsets in force now.
//!
//! Links (aliases such as `Europe/Kiev` for `Europe/Kyiv`) are left out of the
//! list; they still resolve everywhere a zone is named.

use std::sync::LazyLock;

use chrono::{DateTime, Offset, Utc};
use chrono_tz::{Tz, TZ_VARIANTS};
use serde::Serialize;
use utoipa::ToSchema;

use super::links::LINKS;
use super::{abbreviation, is_dst, offset_string, TZDATA_VERSION};
use crate::store::Page;

/// Canonical zones, by name.
static CANONICAL: LazyLock<Vec<Tz>> = LazyLock::new(|| {
    let mut zones: Vec<Tz> = TZ_VARIANTS
        .iter()
        .copied()
        .filter(|tz| link_target(tz.name()).is_none())
        .collect();
    zones.sort_by_key(|tz| tz.name());
    zones
});

/// Every canonical zone, sorted by name.
pub fn canonical() -> &'static [Tz] {
    &CANONICAL
}

/// The zone a link names (`Europe/Kiev` → `Europe/Kyiv`); `None` for a zone.
pub fn link_target(name: &str) -> Option<&'static str> {
    LINKS
        .binary_search_by(|(link, _)| (*link).cmp(name))
        .ok()
        .map(|i| LINKS[i].1)
}

/// The canonical name of `tz`: itself, or the zone it links to.
pub fn canonical_name(tz: Tz) -> &'static str {
    link_target(tz.name()).unwrap_or(tz.name())
}

/// One zone in the list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ZoneSummary {
    /// Canonical IANA zone name.
    #[schema(example = "Asia/Kolkata")]
    pub zone: &'static str,
    /// Offset from UTC now.
    #[schema(example = "+05:30")]
    pub utc_offset: String,
    /// The abbreviation now, as tzdata writes it.
    #[schema(example = "IST")]
    pub abbreviation: String,
    /// Whether daylight saving time is in force now.
    pub dst: bool,
    /// The tzdata release these figures come from.
    #[schema(example = "2025b")]
    pub tzdata_version: &'static str,
}

/// Which zones, and which page.
#[derive(Debug, Clone, Default)]
pub struct ZoneFilter {
    /// Only these zones (a country's), any spelling the database knows.
    pub within: Option<Vec<String>>,
    /// Only zones whose current offset is this many seconds east of UTC.
    pub offset: Option<i32>,
    /// Start after this name.
    pub after: Option<String>,
    /// Page size.
    pub limit: usize,
}

fn summary(tz: Tz, now: DateTime<Utc>) -> ZoneSummary {
    let o = now.with_timezone(&tz).offset().to_owned();
    ZoneSummary {
        zone: tz.name(),
        utc_offset: offset_string(o.fix().local_minus_utc()),
        abbreviation: abbreviation(&o),
        dst: is_dst(&o),
        tzdata_version: TZDATA_VERSION,
    }
}

/// A page of canonical zones matching `f` at `now`.
pub fn list(f: &ZoneFilter, now: DateTime<Utc>) -> Page<ZoneSummary> {
    let within = f.within.as_ref().map(|names| {
        names
            .iter()
            .filter_map(|n| n.parse::<Tz>().ok())
            .map(canonical_name)
            .collect::<Vec<_>>()
    });
    let selected = canonical().iter().filter(|tz| {
        within.as_ref().is_none_or(|w| w.contains(&tz.name()))
            && f.offset
                .is_none_or(|o| now.with_timezone(*tz).offset().fix().local_minus_utc() == o)
    });
    let (mut items, mut total, mut more) = (Vec::new(), 0i64, false);
    for tz in selected {
        total += 1;
        if f.after.as_deref().is_some_and(|a| tz.name() <= a) {
            continue;
        }
        if items.len() < f.limit {
            items.push(summary(*tz, now));
        } else {
            more = true;
        }
    }
    let next_cursor = more
        .then(|| items.last().map(|i: &ZoneSummary| i.zone.to_string()))
        .flatten();
    Page {
        items,
        total,
        next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn names(p: &Page<ZoneSummary>) -> Vec<&str> {
        p.items.iter().map(|i| i.zone).collect()
    }

    fn winter() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap()
    }

    #[test]
    fn links_were_generated_from_the_compiled_tzdata() {
        assert_eq!(
            super::super::links::VERSION,
            TZDATA_VERSION,
            "run scripts/gen_zone_links.sh"
        );
        for (link, zone) in LINKS {
            let (l, z): (Tz, Tz) = (link.parse().unwrap(), zone.parse().unwrap());
            assert!(link_target(zone).is_none(), "{link} → {zone} is a link");
            let t = winter().naive_utc();
            assert_eq!(
                l.offset_from_utc_datetime(&t).fix(),
                z.offset_from_utc_datetime(&t).fix(),
                "{link} and {zone}"
            );
        }
    }

    #[test]
    fn the_list_holds_canonical_zones_only() {
        let all = canonical();
        assert_eq!(all.len() + LINKS.len(), TZ_VARIANTS.len());
        assert!(all.contains(&Tz::Europe__Kyiv));
        assert!(!all.contains(&Tz::Europe__Kiev));
        assert!(all.windows(2).all(|w| w[0].name() < w[1].name()));
        assert_eq!(canonical_name(Tz::Europe__Kiev), "Europe/Kyiv");
    }

    #[test]
    fn filters_by_zone_set_and_offset_and_pages_by_name() {
        let f = ZoneFilter {
            offset: Some(19_800),
            limit: 50,
            ..Default::default()
        };
        assert_eq!(
            names(&list(&f, winter())),
            vec!["Asia/Colombo", "Asia/Kolkata"]
        );
        let pt = ZoneFilter {
            within: Some(vec![
                "Europe/Lisbon".into(),
                "Atlantic/Madeira".into(),
                "Atlantic/Azores".into(),
            ]),
            limit: 2,
            ..Default::default()
        };
        let first = list(&pt, winter());
        assert_eq!(names(&first), vec!["Atlantic/Azores", "Atlantic/Madeira"]);
        assert_eq!(
            (first.total, first.next_cursor.as_deref()),
            (3, Some("Atlantic/Madeira"))
        );
        let second = list(
            &ZoneFilter {
                after: first.next_cursor,
                ..pt
            },
            winter(),
        );
        assert_eq!(names(&second), vec!["Europe/Lisbon"]);
        assert_eq!((second.total, second.next_cursor), (3, None));
    }
}
