//! One immutable view of the reference data, with each entity's JSON and ETag
//! encoded once, when the view is built, instead of on every read.

use std::collections::HashMap;

use axum::body::Bytes;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::domain::country::Country;
use crate::domain::currency::Currency;
use crate::domain::{CountryRef, CurrencyCode, SearchText};
use crate::store::catalog::Everything;

/// An entity with its response body and ETag, as the API serves it.
#[derive(Debug)]
pub struct Encoded<T> {
    /// The value.
    pub value: T,
    /// Its JSON, the body of `GET` on it.
    pub json: Bytes,
    /// The same JSON, to embed in list pages without re-encoding.
    pub raw: Box<RawValue>,
    /// Its strong ETag (as the write path computes it).
    pub etag: String,
    /// Every name it goes by, folded, for `?q=`.
    pub search: SearchText,
}

impl<T: Serialize> Encoded<T> {
    fn new(value: T, search: SearchText) -> Self {
        // Invariant: these types serialise without error (strings and numbers).
        let text = serde_json::to_string(&value).unwrap_or_default();
        let etag = crate::domain::etag::etag_bytes(text.as_bytes(), 0);
        let json = Bytes::from(text.clone());
        let raw = RawValue::from_string(text).unwrap_or_else(|_| null());
        Self {
            value,
            json,
            raw,
            etag,
            search,
        }
    }
}

impl Encoded<Country> {
    /// A country, encoded and searchable by every name it has.
    pub fn country(c: Country) -> Self {
        let search = SearchText::new(c.names());
        Self::new(c, search)
    }
}

impl Encoded<Currency> {
    /// A currency, encoded and searchable by its name.
    pub fn currency(c: Currency) -> Self {
        let search = SearchText::new([c.name.as_str()]);
        Self::new(c, search)
    }
}

fn null() -> Box<RawValue> {
    RawValue::from_string("null".into()).unwrap_or_else(|_| unreachable!("null is JSON"))
}

/// Countries and currencies at one moment.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// By alpha-2, ascending.
    countries: Vec<Encoded<Country>>,
    by_alpha3: HashMap<String, usize>,
    /// By code, ascending.
    currencies: Vec<Encoded<Currency>>,
}

impl Snapshot {
    /// Encode everything the store read.
    pub fn build(all: Everything) -> Self {
        let countries: Vec<Encoded<Country>> =
            all.countries.into_iter().map(Encoded::country).collect();
        let by_alpha3 = countries
            .iter()
            .enumerate()
            .map(|(i, c)| (c.value.alpha3.clone(), i))
            .collect();
        let currencies = all.currencies.into_iter().map(Encoded::currency).collect();
        Self {
            countries,
            by_alpha3,
            currencies,
        }
    }

    /// How many countries and currencies it holds.
    pub fn counts(&self) -> (usize, usize) {
        (self.countries.len(), self.currencies.len())
    }

    /// A country by alpha-2 or alpha-3 code.
    pub fn country(&self, r: &CountryRef) -> Option<&Encoded<Country>> {
        let i = match r {
            CountryRef::Alpha2(c) => self
                .countries
                .binary_search_by(|e| e.value.alpha2.as_str().cmp(c.as_str()))
                .ok()?,
            CountryRef::Alpha3(c) => *self.by_alpha3.get(c.as_str())?,
        };
        self.countries.get(i)
    }

    /// Every country, in alpha-2 order.
    pub fn countries(&self) -> &[Encoded<Country>] {
        &self.countries
    }

    /// A currency by code.
    pub fn currency(&self, code: &CurrencyCode) -> Option<&Encoded<Currency>> {
        let i = self
            .currencies
            .binary_search_by(|e| e.value.code.as_str().cmp(code.as_str()))
            .ok()?;
        self.currencies.get(i)
    }

    /// Every currency, in code order.
    pub fn currencies(&self) -> &[Encoded<Currency>] {
        &self.currencies
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn country(a2: &str, a3: &str, name: &str, currencies: &[&str]) -> Country {
        Country {
            alpha2: a2.into(),
            alpha3: a3.into(),
            numeric: "001".into(),
            name: name.into(),
            official_name: None,
            currencies: currencies.iter().map(|c| c.to_string()).collect(),
            ..Country::default()
        }
    }

    /// Four countries and one currency.
    pub(crate) fn snap() -> Snapshot {
        Snapshot::build(Everything {
            countries: vec![
                country("AX", "ALA", "Åland Islands", &["EUR"]),
                country("CH", "CHE", "Switzerland", &["CHE", "CHF", "CHW"]),
                country("PT", "PRT", "Portugal", &["EUR"]),
                country("US", "USA", "United States", &["USD"]),
            ],
            currencies: vec![Currency {
                code: "EUR".into(),
                numeric: "978".into(),
                name: "Euro".into(),
                minor_units: Some(2),
            }],
            ..Everything::default()
        })
    }

    #[test]
    fn finds_by_either_code_and_only_existing_ones() {
        let s = snap();
        let pt = s.country(&CountryRef::parse("PRT").unwrap()).unwrap();
        assert_eq!(pt.value.alpha2, "PT");
        assert_eq!(pt.etag, crate::domain::etag::etag_bytes(&pt.json, 0));
        assert!(s.country(&CountryRef::parse("ZZ").unwrap()).is_none());
        assert!(s.currency(&CurrencyCode::parse("USD").unwrap()).is_none());
    }

    #[test]
    fn countries_are_searchable_by_folded_names() {
        let s = snap();
        let ax = s.country(&CountryRef::parse("AX").unwrap()).unwrap();
        assert!(ax.search.contains("aland"));
        assert!(!ax.search.contains("åland"), "folded, not as written");
    }
}
