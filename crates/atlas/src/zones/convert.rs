//! A local date-time in a zone to an instant, with the Temporal proposal's
//! `disambiguation` for local times a transition skips (gap) or repeats (overlap).

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{GapInfo, Tz};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How to read a local time that does not exist (gap) or exists twice (overlap).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Disambiguation {
    /// Overlap: the earlier instant; gap: shift forward by the gap's length.
    #[default]
    Compatible,
    /// The earlier instant; in a gap, shift back by the gap's length.
    Earlier,
    /// The later instant; in a gap, shift forward by the gap's length.
    Later,
    /// Refuse gaps and overlaps.
    Reject,
}

/// What the local time was in its zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LocalKind {
    /// It names one instant.
    Unique,
    /// The clocks skipped it.
    Gap,
    /// The clocks showed it twice.
    Overlap,
    /// The input carried its offset: an instant, read as such.
    Instant,
}

/// Which reading was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Candidate {
    /// There was only one.
    Only,
    /// The earlier instant (in a gap: the local time shifted back by the gap).
    Earlier,
    /// The later instant (in a gap: the local time shifted forward by the gap).
    Later,
}

/// A local time read as an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    /// The instant.
    pub instant: DateTime<Utc>,
    /// What the local time was.
    pub kind: LocalKind,
    /// Which reading was taken.
    pub candidate: Candidate,
}

/// `reject` met a gap or an overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// The local time does not exist.
    #[error("{local} does not exist in {tz}: the clocks skip it (a gap); pass disambiguation=compatible, earlier or later to read it anyway")]
    Gap {
        /// The local time.
        local: NaiveDateTime,
        /// The zone.
        tz: Tz,
    },
    /// The local time exists twice.
    #[error("{local} is ambiguous in {tz}: the clocks show it twice (an overlap); pass disambiguation=compatible, earlier or later to pick one")]
    Overlap {
        /// The local time.
        local: NaiveDateTime,
        /// The zone.
        tz: Tz,
    },
}

/// Read `local` in `tz`.
///
/// # Errors
/// [`Rejected`] for a gap or an overlap with [`Disambiguation::Reject`].
pub fn resolve(tz: Tz, local: NaiveDateTime, d: Disambiguation) -> Result<Resolved, Rejected> {
    let (kind, earlier, later) = match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => {
            let t = t.with_timezone(&Utc);
            return Ok(Resolved {
                instant: t,
                kind: LocalKind::Unique,
                candidate: Candidate::Only,
            });
        }
        LocalResult::Ambiguous(a, b) => {
            let (a, b) = (a.with_timezone(&Utc), b.with_timezone(&Utc));
            (LocalKind::Overlap, a.min(b), a.max(b))
        }
        LocalResult::None => {
            let (before, after) = gap_offsets(tz, local);
            // With the offset before the gap the instant falls after it, and
            // the other way round: the gap's length either side of `local`.
            let read = |offset: i32| (local - chrono::Duration::seconds(offset.into())).and_utc();
            (LocalKind::Gap, read(after), read(before))
        }
    };
    let candidate = match (d, kind) {
        (Disambiguation::Reject, LocalKind::Gap) => return Err(Rejected::Gap { local, tz }),
        (Disambiguation::Reject, _) => return Err(Rejected::Overlap { local, tz }),
        (Disambiguation::Earlier, _) => Candidate::Earlier,
        (Disambiguation::Later, _) => Candidate::Later,
        (Disambiguation::Compatible, LocalKind::Gap) => Candidate::Later,
        (Disambiguation::Compatible, _) => Candidate::Earlier,
    };
    let instant = if candidate == Candidate::Earlier {
        earlier
    } else {
        later
    };
    Ok(Resolved {
        instant,
        kind,
        candidate,
    })
}

/// The offsets (seconds east of UTC) before and after the gap holding `local`.
fn gap_offsets(tz: Tz, local: NaiveDateTime) -> (i32, i32) {
    let day = chrono::Duration::days(1);
    let at = |t: NaiveDateTime| tz.offset_from_utc_datetime(&t).fix().local_minus_utc();
    match GapInfo::new(&local, &tz) {
        Some(GapInfo {
            begin: Some((_, before)),
            end: Some(end),
        }) => (
            before.fix().local_minus_utc(),
            end.offset().fix().local_minus_utc(),
        ),
        // At the ends of the table: a day either side is safely past the gap.
        _ => (at(local - day), at(local + day)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn lisbon_gap_and_overlap_under_every_disambiguation() {
        use Candidate::{Earlier, Later};
        use Disambiguation as D;
        let lisbon = Tz::Europe__Lisbon;
        let cases = [
            // 2026-03-29 01:00 WET → 02:00 WEST: 01:30 does not exist.
            (
                "2026-03-29T01:30:00",
                D::Compatible,
                LocalKind::Gap,
                Later,
                "2026-03-29T01:30:00Z",
            ),
            (
                "2026-03-29T01:30:00",
                D::Later,
                LocalKind::Gap,
                Later,
                "2026-03-29T01:30:00Z",
            ),
            (
                "2026-03-29T01:30:00",
                D::Earlier,
                LocalKind::Gap,
                Earlier,
                "2026-03-29T00:30:00Z",
            ),
            // 2026-10-25 02:00 WEST → 01:00 WET: 01:30 happens twice.
            (
                "2026-10-25T01:30:00",
                D::Compatible,
                LocalKind::Overlap,
                Earlier,
                "2026-10-25T00:30:00Z",
            ),
            (
                "2026-10-25T01:30:00",
                D::Earlier,
                LocalKind::Overlap,
                Earlier,
                "2026-10-25T00:30:00Z",
            ),
            (
                "2026-10-25T01:30:00",
                D::Later,
                LocalKind::Overlap,
                Later,
                "2026-10-25T01:30:00Z",
            ),
        ];
        for (at, d, kind, candidate, want) in cases {
            let got = resolve(lisbon, local(at), d).unwrap();
            assert_eq!(
                (got.kind, got.candidate, got.instant),
                (kind, candidate, utc(want)),
                "case {at} {d:?}"
            );
        }
    }

    #[test]
    fn reject_refuses_gaps_and_overlaps_and_keeps_ordinary_times() {
        let lisbon = Tz::Europe__Lisbon;
        let gap = resolve(lisbon, local("2026-03-29T01:30:00"), Disambiguation::Reject);
        assert!(matches!(gap, Err(Rejected::Gap { .. })), "{gap:?}");
        let overlap = resolve(lisbon, local("2026-10-25T01:30:00"), Disambiguation::Reject);
        assert!(
            matches!(overlap, Err(Rejected::Overlap { .. })),
            "{overlap:?}"
        );
        let plain = resolve(lisbon, local("2026-07-01T12:00:00"), Disambiguation::Reject).unwrap();
        assert_eq!(
            (plain.kind, plain.candidate, plain.instant),
            (
                LocalKind::Unique,
                Candidate::Only,
                utc("2026-07-01T11:00:00Z")
            )
        );
    }

    #[test]
    fn half_hour_and_whole_day_gaps_shift_by_their_length() {
        // Lord Howe: 02:00 → 02:30 on 2026-10-04.
        let lh = resolve(
            Tz::Australia__Lord_Howe,
            local("2026-10-04T02:15:00"),
            Disambiguation::Compatible,
        )
        .unwrap();
        assert_eq!(lh.kind, LocalKind::Gap);
        assert_eq!(
            lh.instant
                .with_timezone(&Tz::Australia__Lord_Howe)
                .to_rfc3339(),
            "2026-10-04T02:45:00+11:00"
        );
        // Apia skipped 2011-12-30 entirely (UTC-10 → UTC+14).
        let apia = resolve(
            Tz::Pacific__Apia,
            local("2011-12-30T12:00:00"),
            Disambiguation::Earlier,
        )
        .unwrap();
        assert_eq!(apia.kind, LocalKind::Gap);
        assert_eq!(
            apia.instant.with_timezone(&Tz::Pacific__Apia).to_rfc3339(),
            "2011-12-29T12:00:00-10:00"
        );
    }
}
