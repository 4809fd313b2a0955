//! ISO codes: country (3166-1) and currency (4217) codes, and numeric codes.
//! Each parses any case and surrounding spaces and holds the canonical form.

use std::fmt;

/// Check `value` is exactly `len` ASCII letters; returns it trimmed and upper-cased.
fn letters(value: &str, len: usize) -> Result<String, String> {
    let up = value.trim().to_ascii_uppercase();
    if up.len() == len && up.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(up)
    } else {
        Err(format!("expected {len} letters A-Z, got {value:?}"))
    }
}

macro_rules! letter_code {
    ($(#[$doc:meta])* $name:ident, $len:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Parse any case; surrounding spaces are ignored.
            ///
            /// # Errors
            /// Anything but the right number of ASCII letters.
            pub fn parse(value: &str) -> Result<Self, String> {
                letters(value, $len).map(Self)
            }

            /// The upper-case code.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The upper-case code, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

letter_code!(
    /// ISO 3166-1 alpha-2: `PT`.
    Alpha2,
    2
);
letter_code!(
    /// ISO 3166-1 alpha-3: `PRT`.
    Alpha3,
    3
);
letter_code!(
    /// ISO 4217 alphabetic code: `EUR`.
    CurrencyCode,
    3
);

/// An ISO numeric code, three digits: `620` (ISO 3166-1) or `978` (ISO 4217).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumericCode(String);

impl NumericCode {
    /// Parse three digits; surrounding spaces are ignored.
    ///
    /// # Errors
    /// Anything but three ASCII digits.
    pub fn parse(value: &str) -> Result<Self, String> {
        let v = value.trim();
        if v.len() == 3 && v.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(v.to_string()))
        } else {
            Err(format!(
                "expected three digits such as \"620\", got {value:?}"
            ))
        }
    }

    /// The three digits.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// A country reference in a path: alpha-2 or alpha-3, any case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CountryRef {
    /// `PT`
    Alpha2(Alpha2),
    /// `PRT`
    Alpha3(Alpha3),
}

impl CountryRef {
    /// Parse `pt`, `PT`, `prt`, `PRT`.
    ///
    /// # Errors
    /// Anything but two or three ASCII letters.
    pub fn parse(s: &str) -> Result<Self, String> {
        let parsed = match s.len() {
            2 => Alpha2::parse(s).map(Self::Alpha2).ok(),
            3 => Alpha3::parse(s).map(Self::Alpha3).ok(),
            _ => None,
        };
        parsed.ok_or_else(|| {
            format!("{s:?} is not a country code: expected ISO 3166-1 alpha-2 or alpha-3 letters")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_refs_parse_any_case_and_reject_the_rest() {
        let a2 = |s: &str| Some(CountryRef::Alpha2(Alpha2(s.into())));
        let a3 = |s: &str| Some(CountryRef::Alpha3(Alpha3(s.into())));
        let cases = [
            ("pt", a2("PT")),
            ("PRT", a3("PRT")),
            ("pRt", a3("PRT")),
            ("P", None),
            ("PORT", None),
            ("P1", None),
            ("", None),
            ("é", None),
            (" PT", None),
        ];
        for (input, want) in cases {
            assert_eq!(CountryRef::parse(input).ok(), want, "case {input:?}");
        }
    }

    #[test]
    fn letter_codes_are_trimmed_and_upper_cased() {
        let cases = [
            ("eur", Some("EUR")),
            (" Eur ", Some("EUR")),
            ("EURO", None),
            ("EU", None),
            ("E1R", None),
            ("ÉUR", None),
            ("", None),
        ];
        for (input, want) in cases {
            let got = CurrencyCode::parse(input).ok();
            assert_eq!(
                got.as_ref().map(CurrencyCode::as_str),
                want,
                "case {input:?}"
            );
        }
        assert_eq!(Alpha2::parse("pt").unwrap().as_str(), "PT");
        assert!(Alpha2::parse("PRT").is_err());
        assert_eq!(Alpha3::parse("prt").unwrap().to_string(), "PRT");
    }

    #[test]
    fn numeric_codes_are_three_digits() {
        let cases = [
            ("620", true),
            (" 001 ", true),
            ("62", false),
            ("6200", false),
            ("6a0", false),
            ("", false),
        ];
        for (input, ok) in cases {
            assert_eq!(NumericCode::parse(input).is_ok(), ok, "case {input:?}");
        }
    }
}
