//! Validated domain types: raw request bodies go in, values that cannot be wrong
//! come out, with every invalid field reported at once.

pub mod country;
pub mod currency;

use crate::error::FieldError;

/// A country reference in a path: alpha-2 or alpha-3, any case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CountryRef {
    /// `PT`
    Alpha2(String),
    /// `PRT`
    Alpha3(String),
}

impl CountryRef {
    /// Parse `pt`, `PT`, `prt`, `PRT`.
    ///
    /// # Errors
    /// Anything but two or three ASCII letters.
    pub fn parse(s: &str) -> Result<Self, String> {
        let up = s.to_ascii_uppercase();
        if !up.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!(
                "{s:?} is not a country code: expected ISO 3166-1 alpha-2 or alpha-3 letters"
            ));
        }
        match up.len() {
            2 => Ok(Self::Alpha2(up)),
            3 => Ok(Self::Alpha3(up)),
            _ => Err(format!(
                "{s:?} is not a country code: expected 2 or 3 letters"
            )),
        }
    }
}

/// Check `value` is exactly `len` ASCII letters; returns it upper-cased.
pub(crate) fn letters(
    value: &str,
    len: usize,
    pointer: &str,
    errors: &mut Vec<FieldError>,
) -> String {
    let up = value.trim().to_ascii_uppercase();
    if up.len() != len || !up.bytes().all(|b| b.is_ascii_uppercase()) {
        errors.push(FieldError::new(
            pointer,
            format!("expected {len} letters A-Z, got {value:?}"),
        ));
    }
    up
}

/// Check `value` is exactly three digits.
pub(crate) fn numeric3(value: &str, pointer: &str, errors: &mut Vec<FieldError>) -> String {
    let v = value.trim();
    if v.len() != 3 || !v.bytes().all(|b| b.is_ascii_digit()) {
        errors.push(FieldError::new(
            pointer,
            format!("expected three digits such as \"620\", got {value:?}"),
        ));
    }
    v.to_string()
}

/// Check a display name: trimmed, 1..=max characters, no control characters.
pub(crate) fn name(value: &str, max: usize, pointer: &str, errors: &mut Vec<FieldError>) -> String {
    let v = value.trim();
    let n = v.chars().count();
    if n == 0 || n > max {
        errors.push(FieldError::new(
            pointer,
            format!("expected 1 to {max} characters, got {n}"),
        ));
    } else if v.chars().any(char::is_control) {
        errors.push(FieldError::new(
            pointer,
            "control characters are not allowed",
        ));
    }
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_refs_parse_any_case_and_reject_the_rest() {
        let cases = [
            ("pt", Some(CountryRef::Alpha2("PT".into()))),
            ("PRT", Some(CountryRef::Alpha3("PRT".into()))),
            ("pRt", Some(CountryRef::Alpha3("PRT".into()))),
            ("P", None),
            ("PORT", None),
            ("P1", None),
            ("", None),
            ("é", None),
        ];
        for (input, want) in cases {
            assert_eq!(CountryRef::parse(input).ok(), want, "case {input:?}");
        }
    }
}
