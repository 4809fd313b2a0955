//! One immutable view of the reference data, with each entity's JSON and ETag
//! encoded once, when the view is built, instead of on every read.

use std::collections::HashMap;

use axum::body::Bytes;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::domain::country::Country;
use crate::domain::currency::Currency;
use crate::domain::subdivision::{Subdivision, SubdivisionCode};
use crate::domain::{CountryRef, CurrencyCode, SearchText};
use crate::store::catalog::Everything;
use crate::store::subdivisions::SubdivisionFilter;
use crate::store::Page;

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

/// Countries, currencies and subdivisions at one moment.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// By alpha-2, ascending.
    countries: Vec<Encoded<Country>>,
    by_alpha3: HashMap<String, usize>,
    /// By code, ascending.
    currencies: Vec<Encoded<Currency>>,
    /// By code (byte order), ascending: a country's are one run, `XX-` first.
    subdivisions: Vec<Encoded<Subdivision>>,
}

/// How many entities of each kind a snapshot holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Countries.
    pub countries: usize,
    /// Currencies.
    pub currencies: usize,
    /// Subdivisions.
    pub subdivisions: usize,
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
        let mut subdivisions = all.subdivisions;
        subdivisions.sort_by(|a, b| a.code.cmp(&b.code));
        let subdivisions = subdivisions
            .into_iter()
            .map(|s| Encoded::new(s, SearchText::default()))
            .collect();
        Self {
            countries,
            by_alpha3,
            currencies,
            subdivisions,
        }
    }

    /// How many entities of each kind it holds.
    pub fn counts(&self) -> Counts {
        Counts {
            countries: self.countries.len(),
            currencies: self.currencies.len(),
            subdivisions: self.subdivisions.len(),
        }
    }

    /// A subdivision by code.
    pub fn subdivision(&self, code: &SubdivisionCode) -> Option<&Encoded<Subdivision>> {
        let i = self
            .subdivisions
            .binary_search_by(|e| e.value.code.as_str().cmp(code.as_str()))
            .ok()?;
        self.subdivisions.get(i)
    }

    /// A page of the subdivisions of the country with code `alpha2`, filtered and
    /// ordered as the database would.
    pub fn subdivisions(&self, alpha2: &str, f: &SubdivisionFilter) -> Page<&RawValue> {
        let start = self
            .subdivisions
            .partition_point(|e| e.value.country.as_str() < alpha2);
        let selected = self.subdivisions[start..]
            .iter()
            .take_while(|e| e.value.country == alpha2)
            .filter(|e| f.kind.as_ref().is_none_or(|k| k.matches(&e.value.kind)));
        let after = f.after.as_ref().map(SubdivisionCode::as_str);
        page(selected, after, f.limit.as_usize(), |e| &e.value.code)
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

/// The page after `after` of `selected` (already in key order): `total` counts
/// every match, as the database's `COUNT(*)` does.
fn page<'a, T: 'a>(
    selected: impl Iterator<Item = &'a Encoded<T>>,
    after: Option<&str>,
    limit: usize,
    key: impl Fn(&Encoded<T>) -> &str,
) -> Page<&'a RawValue> {
    let mut total = 0i64;
    let mut items = Vec::with_capacity(limit.min(256));
    let mut last: Option<&Encoded<T>> = None;
    let mut more = false;
    for e in selected {
        total += 1;
        if after.is_some_and(|a| key(e) <= a) {
            continue;
        }
        if items.len() < limit {
            items.push(&*e.raw);
            last = Some(e);
        } else {
            more = true;
        }
    }
    Page {
        items,
        total,
        next_cursor: more.then(|| last.map(|e| key(e).to_string())).flatten(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::PageLimit;

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
            // Out of order on purpose: the snapshot sorts them.
            subdivisions: vec![
                subdivision("PT-20", "Região Autónoma dos Açores", "Autonomous region"),
                subdivision("PT-05", "Castelo Branco", "District"),
                subdivision("CH-BE", "Bern", "Canton"),
                subdivision("PT-01", "Aveiro", "District"),
                subdivision("US-CA", "California", "State"),
            ],
        })
    }

    fn subdivision(code: &str, name: &str, kind: &str) -> Subdivision {
        Subdivision {
            code: code.into(),
            country: code[..2].into(),
            name: name.into(),
            kind: kind.into(),
            parent: None,
        }
    }

    fn sub_filter(kind: Option<&str>, after: Option<&str>, limit: u32) -> SubdivisionFilter {
        SubdivisionFilter {
            kind: kind.map(|k| crate::domain::subdivision::SubdivisionType::parse(k).unwrap()),
            after: after.map(|a| SubdivisionCode::parse(a).unwrap()),
            limit: PageLimit::parse(Some(limit), 50, 250).unwrap(),
        }
    }

    fn sub_codes(p: &Page<&RawValue>) -> Vec<String> {
        p.items
            .iter()
            .map(|r| {
                let v: serde_json::Value = serde_json::from_str(r.get()).unwrap();
                v["code"].as_str().unwrap().to_string()
            })
            .collect()
    }

    #[test]
    fn a_countrys_subdivisions_page_in_code_order_and_filter_by_type() {
        let s = snap();
        let p = s.subdivisions("PT", &sub_filter(None, None, 2));
        assert_eq!(
            (sub_codes(&p), p.total, p.next_cursor.as_deref()),
            (vec!["PT-01".into(), "PT-05".into()], 3, Some("PT-05")),
            "first page"
        );
        let p = s.subdivisions("PT", &sub_filter(None, Some("PT-05"), 2));
        assert_eq!((sub_codes(&p), p.next_cursor), (vec!["PT-20".into()], None));
        let p = s.subdivisions("PT", &sub_filter(Some("district"), None, 50));
        assert_eq!(
            (sub_codes(&p), p.total),
            (vec!["PT-01".into(), "PT-05".into()], 2)
        );
        assert_eq!(s.subdivisions("FR", &sub_filter(None, None, 50)).total, 0);
        let pt05 = s
            .subdivision(&SubdivisionCode::parse("pt-05").unwrap())
            .unwrap();
        assert_eq!(pt05.value.name, "Castelo Branco");
        assert!(s
            .subdivision(&SubdivisionCode::parse("PT-99").unwrap())
            .is_none());
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
