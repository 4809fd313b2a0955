//! Subdivisions (ISO 3166-2): what the API returns, and the code that names one.

use serde::Serialize;
use utoipa::ToSchema;

/// A country subdivision (ISO 3166-2): a province, district, state, region, …
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Subdivision {
    /// ISO 3166-2 code: the country's alpha-2 code, a dash, 1 to 3 letters or digits.
    #[schema(example = "PT-05")]
    pub code: String,
    /// Alpha-2 code of the country.
    #[schema(example = "PT")]
    pub country: String,
    /// Name, as ISO 3166-2 (via Debian iso-codes) writes it.
    #[schema(example = "Castelo Branco")]
    pub name: String,
    /// Kind of subdivision, as ISO 3166-2 names it.
    #[serde(rename = "type")]
    #[schema(example = "District")]
    pub kind: String,
    /// Code of the enclosing subdivision, if any.
    #[schema(example = json!(null))]
    pub parent: Option<String>,
}

/// A valid ISO 3166-2 code, upper-cased: `pt-05` → `PT-05`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubdivisionCode(String);

impl SubdivisionCode {
    /// Two letters, a dash, then 1 to 3 letters or digits, any case.
    ///
    /// # Errors
    /// Anything else.
    pub fn parse(value: &str) -> Result<Self, String> {
        let ok = match value.split_once('-') {
            Some((country, rest)) => {
                country.len() == 2
                    && country.bytes().all(|b| b.is_ascii_alphabetic())
                    && (1..=3).contains(&rest.len())
                    && rest.bytes().all(|b| b.is_ascii_alphanumeric())
            }
            None => false,
        };
        if ok {
            Ok(Self(value.to_ascii_uppercase()))
        } else {
            Err(format!(
                "{value:?} is not an ISO 3166-2 code (two letters, a dash, 1 to 3 letters or digits)"
            ))
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A `type=` filter: 1 to 60 printable ASCII characters, compared without
/// regard to ASCII case (every ISO 3166-2 type is ASCII).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubdivisionType(String);

/// Longest `type=` accepted.
pub const MAX_TYPE_LEN: usize = 60;

impl SubdivisionType {
    /// Parse a filter value.
    ///
    /// # Errors
    /// Empty, longer than [`MAX_TYPE_LEN`], or not printable ASCII.
    pub fn parse(value: &str) -> Result<Self, String> {
        if value.is_empty() || value.len() > MAX_TYPE_LEN {
            return Err(format!("expected 1 to {MAX_TYPE_LEN} characters"));
        }
        if !value.bytes().all(|b| (b' '..=b'~').contains(&b)) {
            return Err("expected printable ASCII characters".into());
        }
        Ok(Self(value.to_ascii_lowercase()))
    }

    /// The value, lower-cased.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a subdivision of type `kind` matches.
    pub fn matches(&self, kind: &str) -> bool {
        kind.eq_ignore_ascii_case(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_two_letters_a_dash_and_one_to_three_alphanumerics() {
        for (raw, want) in [
            ("PT-05", Some("PT-05")),
            ("pt-05", Some("PT-05")),
            ("gb-abc", Some("GB-ABC")),
            ("FR-6", Some("FR-6")),
            ("PT-", None),
            ("PT-1234", None),
            ("P-05", None),
            ("P1-05", None),
            ("PT05", None),
            ("PT-0_", None),
            ("PT-0é", None),
            ("", None),
        ] {
            let got = SubdivisionCode::parse(raw).ok();
            assert_eq!(
                got.as_ref().map(SubdivisionCode::as_str),
                want,
                "case {raw:?}"
            );
        }
    }

    #[test]
    fn types_are_bounded_printable_ascii_matched_in_any_case() {
        let t = SubdivisionType::parse("district").unwrap();
        assert!(t.matches("District"), "any case");
        assert!(!t.matches("Districts"), "whole value");
        assert!(
            SubdivisionType::parse(&"x".repeat(MAX_TYPE_LEN)).is_ok(),
            "at the bound"
        );
        assert!(
            SubdivisionType::parse(&"x".repeat(MAX_TYPE_LEN + 1)).is_err(),
            "past it"
        );
        assert!(SubdivisionType::parse("").is_err(), "empty");
        assert!(SubdivisionType::parse("Région").is_err(), "non-ASCII");
        assert!(SubdivisionType::parse("a\tb").is_err(), "control");
    }
}
