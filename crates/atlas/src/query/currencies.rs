//! A currency list's query: name search, order and shape.

use crate::catalog::Encoded;
use crate::domain::currency::Currency;
use crate::domain::fold;
use crate::query::{Filter, Keyed, ListRequest, Shape, SortField, SortValue};

/// Fields a currency list can be sorted by (`?sort=`), the default first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurrencySort {
    /// ISO 4217 code (the default).
    Code,
    /// Numeric code.
    Numeric,
    /// Name, accents and case folded.
    Name,
}

impl SortField for CurrencySort {
    const ALL: &'static [(&'static str, Self)] = &[
        ("code", Self::Code),
        ("numeric", Self::Numeric),
        ("name", Self::Name),
    ];
}

impl Keyed<CurrencySort> for Currency {
    fn key(&self) -> &str {
        &self.code
    }

    fn sort_value(&self, field: CurrencySort) -> SortValue {
        match field {
            CurrencySort::Code => SortValue::Text(self.code.clone()),
            CurrencySort::Numeric => SortValue::Text(self.numeric.clone()),
            CurrencySort::Name => SortValue::Text(fold(&self.name)),
        }
    }
}

/// What `?fields=` can select in a currency.
pub const CURRENCY_SHAPE: Shape = Shape::Object(&[
    ("code", Shape::Leaf),
    ("numeric", Shape::Leaf),
    ("name", Shape::Leaf),
    ("minor_units", Shape::Leaf),
]);

/// The filters of a currency list.
#[derive(Debug, Clone, Default)]
pub struct CurrencyFilter {
    /// Folded part of the name.
    pub q: Option<String>,
}

impl Filter<Currency> for CurrencyFilter {
    fn matches(&self, e: &Encoded<Currency>) -> bool {
        self.q.as_ref().is_none_or(|q| e.search.contains(q))
    }
}

/// A checked currency list request.
pub type CurrencyList = ListRequest<CurrencyFilter, CurrencySort>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shape_names_every_field_a_currency_has() {
        let c = Currency {
            code: "EUR".into(),
            numeric: "978".into(),
            name: "Euro".into(),
            minor_units: Some(2),
        };
        let json = serde_json::to_value(c).unwrap();
        let mut have: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut shape = CURRENCY_SHAPE.field_names();
        have.sort_unstable();
        shape.sort_unstable();
        assert_eq!(have, shape);
    }
}
