//! Countries: what the API accepts and returns.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::details::{flag_emoji, ByLanguage, Demonym, Language, LatLng, LocalName};
use super::{Alpha2, Alpha3, CurrencyCode, FieldError, Name, NumericCode, Violations, ZoneName};

/// A country (ISO 3166-1) with its currencies, IANA time zones and descriptive
/// data. Lists are empty and the other details null where nothing is known.
#[derive(Debug, Clone, Default, Serialize, ToSchema, PartialEq)]
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
    /// Capital cities.
    #[schema(example = json!(["Lisbon"]))]
    pub capitals: Vec<String>,
    /// Region: Africa, Americas, Antarctic, Asia, Europe or Oceania.
    #[schema(example = "Europe")]
    pub region: Option<String>,
    /// Subregion.
    #[schema(example = "Southern Europe")]
    pub subregion: Option<String>,
    /// Languages, by ISO 639 code.
    #[schema(example = json!([{"code": "por", "name": "Portuguese"}]))]
    pub languages: Vec<Language>,
    /// International calling codes.
    #[schema(example = json!(["+351"]))]
    pub calling_codes: Vec<String>,
    /// Country-code top-level domains.
    #[schema(example = json!([".pt"]))]
    pub tlds: Vec<String>,
    /// Approximate centre.
    pub latlng: Option<LatLng>,
    /// Area in square kilometres.
    #[schema(example = 92090.0)]
    pub area_km2: Option<f64>,
    /// Whether the country has no coastline.
    #[schema(example = false)]
    pub landlocked: Option<bool>,
    /// Alpha-3 codes of the countries it borders on land.
    #[schema(example = json!(["ESP"]))]
    pub borders: Vec<String>,
    /// Whether it is a sovereign state (null: disputed or unknown).
    #[schema(example = true)]
    pub independent: Option<bool>,
    /// Whether it is a member of the United Nations.
    #[schema(example = true)]
    pub un_member: Option<bool>,
    /// Demonyms by language code.
    #[schema(example = json!({"eng": {"f": "Portuguese", "m": "Portuguese"}}))]
    pub demonyms: ByLanguage<Demonym>,
    /// Names in the country's own languages, by language code.
    #[schema(example = json!({"por": {"common": "Portugal", "official": "República Portuguesa"}}))]
    pub native_names: ByLanguage<LocalName>,
    /// Other spellings and names.
    #[schema(example = json!(["PT", "Portuguesa"]))]
    pub alt_spellings: Vec<String>,
    /// Names in other languages, by language code.
    #[schema(example = json!({"deu": {"common": "Portugal", "official": "Portugiesische Republik"}}))]
    pub translations: ByLanguage<LocalName>,
    /// The flag as an emoji, derived from `alpha2` (not stored).
    #[schema(example = "🇵🇹")]
    pub flag_emoji: String,
}

impl Country {
    /// Every name the country goes by, for search: short, official, native,
    /// alternative spellings and translations.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        let local = self
            .native_names
            .values()
            .chain(self.translations.values())
            .flat_map(|n| [n.common.as_str(), n.official.as_str()]);
        std::iter::once(self.name.as_str())
            .chain(self.official_name.as_deref())
            .chain(self.alt_spellings.iter().map(String::as_str))
            .chain(local)
    }
}

/// The body of `POST /countries` and `PUT /countries/{code}`.
///
/// Required fields default to empty when absent, so a missing field is reported
/// with the others (422), not as an undecodable body (400).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CountryInput {
    /// Two letters.
    #[serde(default)]
    #[schema(required = true, example = "PT", pattern = "^[A-Za-z]{2}$")]
    pub alpha2: String,
    /// Three letters.
    #[serde(default)]
    #[schema(required = true, example = "PRT", pattern = "^[A-Za-z]{3}$")]
    pub alpha3: String,
    /// Three digits.
    #[serde(default)]
    #[schema(required = true, example = "620", pattern = "^[0-9]{3}$")]
    pub numeric: String,
    /// 1 to 200 characters; no control or invisible characters (Unicode format,
    /// separator and private-use characters).
    #[serde(default)]
    #[schema(
        required = true,
        example = "Portugal",
        min_length = 1,
        max_length = 200
    )]
    pub name: String,
    /// 1 to 300 characters, or null; the same characters as `name`.
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

/// Most currencies a country may list.
const MAX_CURRENCIES: usize = 20;
/// Most zones a country may list.
const MAX_ZONES: usize = 50;

impl CountryInput {
    /// Validate every field; all problems are reported together, as pointers into
    /// the body.
    ///
    /// # Errors
    /// One [`FieldError`] per invalid field.
    pub fn validate(self) -> Result<Country, Vec<FieldError>> {
        let mut v = Violations::default();
        let alpha2 = v.pointer("/alpha2", Alpha2::parse(&self.alpha2));
        let alpha3 = v.pointer("/alpha3", Alpha3::parse(&self.alpha3));
        let numeric = v.pointer("/numeric", NumericCode::parse(&self.numeric));
        let name = v.pointer("/name", Name::parse(&self.name, 200));
        let official_name = match &self.official_name {
            None => Some(None),
            Some(o) => v.pointer("/official_name", Name::parse(o, 300).map(Some)),
        };
        if self.currencies.len() > MAX_CURRENCIES {
            v.push(FieldError::pointer("/currencies", "at most 20 currencies"));
        }
        let currencies: BTreeSet<String> = (self.currencies.iter().enumerate())
            .filter_map(|(i, c)| v.pointer(&format!("/currencies/{i}"), CurrencyCode::parse(c)))
            .map(CurrencyCode::into_string)
            .collect();
        if self.timezones.len() > MAX_ZONES {
            v.push(FieldError::pointer("/timezones", "at most 50 time zones"));
        }
        let timezones: BTreeSet<String> = (self.timezones.iter().enumerate())
            .filter_map(|(i, z)| v.pointer(&format!("/timezones/{i}"), ZoneName::parse(z)))
            .map(|z| z.as_str().to_string())
            .collect();
        v.done(|| {
            let alpha2 = alpha2?.into_string();
            Some(Country {
                flag_emoji: flag_emoji(&alpha2),
                alpha2,
                alpha3: alpha3?.into_string(),
                numeric: numeric?.into_string(),
                name: name?.into_string(),
                official_name: official_name?.map(Name::into_string),
                currencies: currencies.into_iter().collect(),
                timezones: timezones.into_iter().collect(),
                ..Country::default()
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Location;

    fn input() -> CountryInput {
        CountryInput {
            alpha2: "xa".into(),
            alpha3: "xaa".into(),
            numeric: "999".into(),
            name: " Atlantis ".into(),
            official_name: None,
            currencies: vec!["eur".into(), "EUR".into()],
            timezones: vec!["europe/lisbon".into()],
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
        assert_eq!(c.timezones, vec!["Europe/Lisbon"], "canonical zone names");
    }

    #[test]
    fn every_invalid_field_is_reported_with_its_pointer() {
        type Mutation = Box<dyn Fn(&mut CountryInput)>;
        let cases: Vec<(&str, Mutation)> = vec![
            ("/alpha2", Box::new(|i| i.alpha2 = "X".into())),
            ("/alpha2", Box::new(|i| i.alpha2 = String::new())),
            ("/alpha3", Box::new(|i| i.alpha3 = "X1Y".into())),
            ("/numeric", Box::new(|i| i.numeric = "12".into())),
            ("/name", Box::new(|i| i.name = "x".repeat(201))),
            ("/name", Box::new(|i| i.name = "   ".into())),
            (
                "/official_name",
                Box::new(|i| i.official_name = Some("".into())),
            ),
            (
                "/currencies/0",
                Box::new(|i| i.currencies = vec!["EURO".into()]),
            ),
            (
                "/currencies",
                Box::new(|i| i.currencies = vec!["EUR".into(); 21]),
            ),
            (
                "/timezones/0",
                Box::new(|i| i.timezones = vec!["Mars/Olympus".into()]),
            ),
        ];
        for (pointer, mutate) in cases {
            let mut i = input();
            mutate(&mut i);
            let errors = i.validate().unwrap_err();
            assert!(
                errors
                    .iter()
                    .any(|e| e.at == Location::Pointer(pointer.into())),
                "case {pointer}: {errors:?}"
            );
        }
    }

    #[test]
    fn a_missing_field_is_an_invalid_value_not_a_malformed_body() {
        let body: CountryInput = serde_json::from_str(r#"{"alpha2": "XA"}"#).unwrap();
        let errors = body.validate().unwrap_err();
        let pointers: Vec<_> = errors.iter().map(|e| e.at.clone()).collect();
        assert_eq!(
            pointers,
            ["/alpha3", "/numeric", "/name"].map(|p| Location::Pointer(p.into()))
        );
    }
}
