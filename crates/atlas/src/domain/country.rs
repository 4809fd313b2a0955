//! Countries: what the API accepts and returns.

use std::collections::BTreeSet;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{letters, name, numeric3};
use crate::error::FieldError;

/// A country (ISO 3166-1) with its currencies and IANA time zones.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Country {
    /// ISO 3166-1 alpha-2 code.
    #[schema(example = "PT")]
    pub alpha2: String,
    /// ISO 3166-1 alpha-3 code.
    #[schema(example = "PRT")]
    pub alpha3: String,
    /// ISO 3166-1 numeric code, three digits.
    #[schema(example = "620")]
    pub numeric: String,
    /// Short name.
    #[schema(example = "Portugal")]
    pub name: String,
    /// Official name, where one exists.
    #[schema(example = "Portuguese Republic")]
    pub official_name: Option<String>,
    /// ISO 4217 codes of the currencies in use.
    #[schema(example = json!(["EUR"]))]
    pub currencies: Vec<String>,
    /// IANA time zones.
    #[schema(example = json!(["Atlantic/Azores", "Atlantic/Madeira", "Europe/Lisbon"]))]
    pub timezones: Vec<String>,
}

/// The body of `POST /countries` and `PUT /countries/{code}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CountryInput {
    /// Two letters.
    #[schema(example = "PT", pattern = "^[A-Za-z]{2}$")]
    pub alpha2: String,
    /// Three letters.
    #[schema(example = "PRT", pattern = "^[A-Za-z]{3}$")]
    pub alpha3: String,
    /// Three digits.
    #[schema(example = "620", pattern = "^[0-9]{3}$")]
    pub numeric: String,
    /// 1 to 200 characters.
    #[schema(example = "Portugal", min_length = 1, max_length = 200)]
    pub name: String,
    /// 1 to 300 characters, or null.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 300)]
    pub official_name: Option<String>,
    /// Existing ISO 4217 codes, at most 20.
    #[serde(default)]
    #[schema(example = json!(["EUR"]), max_items = 20)]
    pub currencies: Vec<String>,
    /// IANA zone names, at most 50.
    #[serde(default)]
    #[schema(example = json!(["Europe/Lisbon"]), max_items = 50)]
    pub timezones: Vec<String>,
}

impl CountryInput {
    /// Validate every field; all problems are reported together.
    ///
    /// # Errors
    /// One [`FieldError`] per invalid field.
    pub fn validate(self) -> Result<Country, Vec<FieldError>> {
        let mut e = Vec::new();
        let alpha2 = letters(&self.alpha2, 2, "#/alpha2", &mut e);
        let alpha3 = letters(&self.alpha3, 3, "#/alpha3", &mut e);
        let numeric = numeric3(&self.numeric, "#/numeric", &mut e);
        let name = name(&self.name, 200, "#/name", &mut e);
        let official_name = self
            .official_name
            .map(|o| super::name(&o, 300, "#/official_name", &mut e));
        if self.currencies.len() > 20 {
            e.push(FieldError::new("#/currencies", "at most 20 currencies"));
        }
        let mut currencies = BTreeSet::new();
        for (i, c) in self.currencies.iter().enumerate() {
            currencies.insert(letters(c, 3, &format!("#/currencies/{i}"), &mut e));
        }
        if self.timezones.len() > 50 {
            e.push(FieldError::new("#/timezones", "at most 50 time zones"));
        }
        let mut timezones = BTreeSet::new();
        for (i, z) in self.timezones.iter().enumerate() {
            match chrono_tz::Tz::from_str(z.trim()) {
                Ok(tz) => {
                    timezones.insert(tz.name().to_string());
                }
                Err(_) => e.push(FieldError::new(
                    format!("#/timezones/{i}"),
                    format!("{z:?} is not an IANA time zone"),
                )),
            }
        }
        if !e.is_empty() {
            return Err(e);
        }
        Ok(Country {
            alpha2,
            alpha3,
            numeric,
            name,
            official_name,
            currencies: currencies.into_iter().collect(),
            timezones: timezones.into_iter().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> CountryInput {
        CountryInput {
            alpha2: "xa".into(),
            alpha3: "xaa".into(),
            numeric: "999".into(),
            name: " Atlantis ".into(),
            official_name: None,
            currencies: vec!["eur".into(), "EUR".into()],
            timezones: vec!["Europe/Lisbon".into()],
        }
    }

    #[test]
    fn valid_input_is_normalised() {
        let c = input().validate().unwrap();
        assert_eq!(
            (c.alpha2.as_str(), c.alpha3.as_str(), c.name.as_str()),
            ("XA", "XAA", "Atlantis")
        );
        assert_eq!(c.currencies, vec!["EUR"], "upper-cased and de-duplicated");
    }

    #[test]
    fn every_invalid_field_is_reported_with_its_pointer() {
        type Mutation = Box<dyn Fn(&mut CountryInput)>;
        let cases: Vec<(&str, Mutation)> = vec![
            ("#/alpha2", Box::new(|i| i.alpha2 = "X".into())),
            ("#/alpha3", Box::new(|i| i.alpha3 = "X1Y".into())),
            ("#/numeric", Box::new(|i| i.numeric = "12".into())),
            ("#/name", Box::new(|i| i.name = "x".repeat(201))),
            ("#/name", Box::new(|i| i.name = "   ".into())),
            (
                "#/currencies/0",
                Box::new(|i| i.currencies = vec!["EURO".into()]),
            ),
            (
                "#/timezones/0",
                Box::new(|i| i.timezones = vec!["Mars/Olympus".into()]),
            ),
        ];
        for (pointer, mutate) in cases {
            let mut i = input();
            mutate(&mut i);
            let errors = i.validate().unwrap_err();
            assert!(
                errors.iter().any(|e| e.pointer == pointer),
                "case {pointer}: {errors:?}"
            );
        }
    }
}
