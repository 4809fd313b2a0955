//! IANA time zone names, checked against the database compiled into the binary.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;

/// A known IANA zone, held in its canonical spelling (`Europe/Lisbon`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZoneName(Tz);

impl ZoneName {
    /// Parse a zone name, any case (`europe/lisbon` works); surrounding spaces are
    /// ignored.
    ///
    /// # Errors
    /// A name the IANA database does not know.
    pub fn parse(name: &str) -> Result<Self, String> {
        let n = name.trim();
        Tz::from_str(n)
            .or_else(|_| Tz::from_str_insensitive(n))
            .map(Self)
            .map_err(|_| format!("{name:?} is not an IANA time zone"))
    }

    /// The zone.
    pub fn tz(self) -> Tz {
        self.0
    }

    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        self.0.name()
    }
}

impl fmt::Display for ZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A UTC offset as `±HH:MM` (`+05:30`, `-03:00`), within ±14:00; held in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcOffset(i32);

impl UtcOffset {
    /// Parse `±HH:MM`.
    ///
    /// # Errors
    /// Another shape, minutes above 59, or beyond ±14:00.
    pub fn parse(value: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "expected an offset such as +05:30 or -03:00 (±HH:MM, up to ±14:00), got {value:?}"
            )
        };
        let b = value.as_bytes();
        let digits = |r: std::ops::Range<usize>| -> Option<i32> {
            let part = value.get(r)?;
            part.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| part.parse().ok())?
        };
        if b.len() != 6 || b[3] != b':' {
            return Err(bad());
        }
        let sign = match b[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return Err(bad()),
        };
        let (h, m) = (digits(1..3).ok_or_else(bad)?, digits(4..6).ok_or_else(bad)?);
        if m > 59 || h * 60 + m > 14 * 60 {
            return Err(bad());
        }
        Ok(Self(sign * (h * 3600 + m * 60)))
    }

    /// Seconds east of UTC.
    pub fn seconds(self) -> i32 {
        self.0
    }
}

/// Where a page of zones starts: the name of the last zone seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneCursor(String);

impl ZoneCursor {
    /// Parse a `next_cursor` value: 1 to 64 of the characters zone names use.
    ///
    /// # Errors
    /// A value no page could have produced.
    pub fn parse(value: &str) -> Result<Self, String> {
        let ok = |c: u8| c.is_ascii_alphanumeric() || b"/_+-".contains(&c);
        if (1..=64).contains(&value.len()) && value.bytes().all(ok) {
            Ok(Self(value.to_string()))
        } else {
            Err(format!("{value:?} is not a cursor from this API"))
        }
    }

    /// The name to start after.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A date-time to convert: a local one (read in a zone), or an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateTimeInput {
    /// No offset: `2026-03-29T01:30:00`.
    Local(NaiveDateTime),
    /// With `Z` or an offset: `2026-03-29T01:30:00Z`, `…+01:00`.
    Instant(DateTime<Utc>),
}

impl DateTimeInput {
    /// Parse `YYYY-MM-DDTHH:MM[:SS[.fraction]]`, optionally followed by `Z` or
    /// `±HH:MM`.
    ///
    /// # Errors
    /// Another shape, or a date or time that does not exist on any calendar
    /// (`2026-02-30`, `25:00`).
    pub fn parse(value: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!("{why}: expected a date-time such as 2026-03-29T01:30:00 (local) or 2026-03-29T01:30:00Z / +01:00 (an instant), got {value:?}")
        };
        if value.len() > 40 || !value.is_ascii() {
            return Err(bad("not a date-time"));
        }
        let (body, offset) = split_offset(value);
        if !shape_ok(body) || offset.is_some_and(|o| UtcOffset::parse(o).is_err() && o != "Z") {
            return Err(bad("not a date-time"));
        }
        let body = if body.len() == 16 {
            format!("{body}:00")
        } else {
            body.to_string()
        };
        let local = NaiveDateTime::parse_from_str(&body, "%Y-%m-%dT%H:%M:%S%.f")
            .map_err(|_| bad("no such date or time"))?;
        Ok(match offset {
            None => Self::Local(local),
            Some("Z") => Self::Instant(local.and_utc()),
            Some(o) => {
                // Checked above: a valid offset within ±14:00.
                let secs = UtcOffset::parse(o).map(UtcOffset::seconds).unwrap_or(0);
                Self::Instant((local - chrono::Duration::seconds(secs.into())).and_utc())
            }
        })
    }
}

/// `(date-time, offset)`: the offset is a trailing `Z` or `±HH:MM`.
fn split_offset(value: &str) -> (&str, Option<&str>) {
    if let Some(body) = value.strip_suffix('Z') {
        return (body, Some("Z"));
    }
    match value.len().checked_sub(6) {
        Some(i) if i > 10 && matches!(value.as_bytes()[i], b'+' | b'-') => {
            (&value[..i], Some(&value[i..]))
        }
        _ => (value, None),
    }
}

/// `YYYY-MM-DDTHH:MM`, then optionally `:SS` and `.` with 1 to 9 digits.
fn shape_ok(body: &str) -> bool {
    let b = body.as_bytes();
    let pattern = b"dddd-dd-ddTdd:dd";
    let fits = |bytes: &[u8], pat: &[u8]| {
        bytes.len() == pat.len()
            && bytes.iter().zip(pat).all(|(c, p)| match p {
                b'd' => c.is_ascii_digit(),
                p => c == p,
            })
    };
    if b.len() < 16 || !fits(&b[..16], pattern) {
        return false;
    }
    match &b[16..] {
        [] => true,
        [b':', s1, s2, rest @ ..] if s1.is_ascii_digit() && s2.is_ascii_digit() => match rest {
            [] => true,
            [b'.', frac @ ..] => {
                (1..=9).contains(&frac.len()) && frac.iter().all(u8::is_ascii_digit)
            }
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_parse_as_plus_minus_hh_mm_within_fourteen_hours() {
        let cases = [
            ("+05:30", Some(19_800)),
            ("-03:00", Some(-10_800)),
            ("+00:00", Some(0)),
            ("-00:00", Some(0)),
            ("+14:00", Some(50_400)),
            ("-12:00", Some(-43_200)),
            ("+14:01", None),
            ("+05:60", None),
            ("05:30", None),
            ("+5:30", None),
            ("+0530", None),
            ("+05:3a", None),
            ("+05:30 ", None),
            ("", None),
            ("+٠٥:30", None),
        ];
        for (input, want) in cases {
            let got = UtcOffset::parse(input).ok().map(UtcOffset::seconds);
            assert_eq!(got, want, "case {input:?}");
        }
    }

    #[test]
    fn zone_cursors_are_short_zone_like_names() {
        let long = "A".repeat(65);
        let cases = [
            ("Europe/Lisbon", true),
            ("Etc/GMT+3", true),
            ("America/Port-au-Prince", true),
            ("", false),
            ("Europe/Lisbon?", false),
            ("Europe Lisbon", false),
            (long.as_str(), false),
        ];
        for (input, ok) in cases {
            assert_eq!(ZoneCursor::parse(input).is_ok(), ok, "case {input:?}");
        }
    }

    #[test]
    fn date_times_are_local_or_instants_and_must_exist() {
        use chrono::TimeZone;
        let local = |s: &str| {
            DateTimeInput::Local(NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").unwrap())
        };
        let instant = |y, mo, d, h, mi| {
            DateTimeInput::Instant(Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap())
        };
        let cases = [
            ("2026-03-29T01:30:00", Some(local("2026-03-29T01:30:00"))),
            ("2026-03-29T01:30", Some(local("2026-03-29T01:30:00"))),
            (
                "2026-03-29T01:30:00.25",
                Some(local("2026-03-29T01:30:00.25")),
            ),
            ("2026-03-29T01:30:00Z", Some(instant(2026, 3, 29, 1, 30))),
            (
                "2026-03-29T01:30:00+01:00",
                Some(instant(2026, 3, 29, 0, 30)),
            ),
            ("2026-03-29T01:30-03:30", Some(instant(2026, 3, 29, 5, 0))),
            ("2026-02-30T01:30:00", None),
            ("2026-03-29T25:00:00", None),
            ("2026-03-29 01:30:00", None),
            ("2026-03-29T01:30:00+25:00", None),
            ("2026-03-29T01:30:00z", None),
            ("2026-03-29", None),
            ("+2026-03-29T01:30:00", None),
            ("2026-03-29T01:30:00.", None),
            ("2026-03-29T01:30:00.1234567890", None),
            ("", None),
        ];
        for (input, want) in cases {
            assert_eq!(DateTimeInput::parse(input).ok(), want, "case {input:?}");
        }
    }

    #[test]
    fn zones_parse_any_case_into_the_canonical_name() {
        let cases = [
            ("Europe/Lisbon", Some("Europe/Lisbon")),
            ("europe/lisbon", Some("Europe/Lisbon")),
            (" UTC ", Some("UTC")),
            ("Mars/Olympus", None),
            ("", None),
        ];
        for (input, want) in cases {
            let got = ZoneName::parse(input).ok().map(ZoneName::as_str);
            assert_eq!(got, want, "case {input:?}");
        }
    }
}
