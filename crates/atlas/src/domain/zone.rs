//! IANA time zone names, checked against the database compiled into the binary.

use std::fmt;
use std::str::FromStr;

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

#[cfg(test)]
mod tests {
    use super::*;

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
