//! Currencies: what the API accepts and returns.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{CurrencyCode, FieldError, Name, NumericCode, Violations};

/// A currency (ISO 4217).
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Currency {
    /// Alphabetic code.
    #[schema(example = "EUR")]
    pub code: String,
    /// Numeric code, three digits.
    #[schema(example = "978")]
    pub numeric: String,
    /// Name.
    #[schema(example = "Euro")]
    pub name: String,
    /// Digits after the decimal separator; null where not applicable (gold, funds).
    #[schema(example = 2)]
    pub minor_units: Option<u8>,
}

/// The body of `POST /currencies` and `PUT /currencies/{code}`.
///
/// Required fields default to empty when absent, so a missing field is reported
/// with the others (422).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CurrencyInput {
    /// Three letters.
    #[serde(default)]
    #[schema(required = true, example = "EUR", pattern = "^[A-Za-z]{3}$")]
    pub code: String,
    /// Three digits.
    #[serde(default)]
    #[schema(required = true, example = "978", pattern = "^[0-9]{3}$")]
    pub numeric: String,
    /// 1 to 200 characters; no control or invisible characters (Unicode format,
    /// separator and private-use characters).
    #[serde(default)]
    #[schema(required = true, example = "Euro", min_length = 1, max_length = 200)]
    pub name: String,
    /// 0 to 6, or null. Any integer decodes; one outside 0 to 6 is an invalid
    /// value (422), not a malformed body.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 6)]
    pub minor_units: Option<i64>,
}

/// Most digits after the decimal separator any currency has.
const MAX_MINOR_UNITS: u8 = 6;

impl CurrencyInput {
    /// Validate every field; all problems are reported together.
    ///
    /// # Errors
    /// One [`FieldError`] per invalid field.
    pub fn validate(self) -> Result<Currency, Vec<FieldError>> {
        let mut v = Violations::default();
        let code = v.pointer("/code", CurrencyCode::parse(&self.code));
        let numeric = v.pointer("/numeric", NumericCode::parse(&self.numeric));
        let name = v.pointer("/name", Name::parse(&self.name, 200));
        let minor_units = match self.minor_units {
            None => Some(None),
            Some(m) => v.pointer(
                "/minor_units",
                u8::try_from(m)
                    .ok()
                    .filter(|m| *m <= MAX_MINOR_UNITS)
                    .map(Some)
                    .ok_or_else(|| format!("expected 0 to {MAX_MINOR_UNITS}, got {m}")),
            ),
        };
        v.done(|| {
            Some(Currency {
                code: code?.into_string(),
                numeric: numeric?.into_string(),
                name: name?.into_string(),
                minor_units: minor_units?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let input = CurrencyInput {
            code: "XQB".into(),
            numeric: "99".into(),
            name: String::new(),
            minor_units: Some(9),
        };
        let errors = input.validate().unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
    }

    #[test]
    fn minor_units_out_of_range_are_invalid_values() {
        for m in [-1, 7, 300, i64::MAX] {
            let input = CurrencyInput {
                code: "XQA".into(),
                numeric: "001".into(),
                name: "Q".into(),
                minor_units: Some(m),
            };
            let errors = input.validate().unwrap_err();
            assert_eq!(
                errors[0].at,
                crate::domain::Location::Pointer("/minor_units".into()),
                "case {m}"
            );
        }
    }

    #[test]
    fn valid_input_is_normalised() {
        let c = CurrencyInput {
            code: "xqa".into(),
            numeric: "001".into(),
            name: " Quatloo ".into(),
            minor_units: Some(2),
        }
        .validate()
        .unwrap();
        assert_eq!((c.code.as_str(), c.name.as_str()), ("XQA", "Quatloo"));
    }
}
