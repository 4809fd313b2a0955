//! Currencies: what the API accepts and returns.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{letters, name, numeric3};
use crate::error::FieldError;

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
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CurrencyInput {
    /// Three letters.
    #[schema(example = "EUR", pattern = "^[A-Za-z]{3}$")]
    pub code: String,
    /// Three digits.
    #[schema(example = "978", pattern = "^[0-9]{3}$")]
    pub numeric: String,
    /// 1 to 200 characters.
    #[schema(example = "Euro", min_length = 1, max_length = 200)]
    pub name: String,
    /// 0 to 6, or null.
    #[serde(default)]
    #[schema(maximum = 6)]
    pub minor_units: Option<u8>,
}

impl CurrencyInput {
    /// Validate every field.
    ///
    /// # Errors
    /// One [`FieldError`] per invalid field.
    pub fn validate(self) -> Result<Currency, Vec<FieldError>> {
        let mut e = Vec::new();
        let code = letters(&self.code, 3, "#/code", &mut e);
        let numeric = numeric3(&self.numeric, "#/numeric", &mut e);
        let name = name(&self.name, 200, "#/name", &mut e);
        if self.minor_units.is_some_and(|m| m > 6) {
            e.push(FieldError::new("#/minor_units", "expected 0 to 6"));
        }
        if !e.is_empty() {
            return Err(e);
        }
        Ok(Currency {
            code,
            numeric,
            name,
            minor_units: self.minor_units,
        })
    }
}
