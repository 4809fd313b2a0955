//! A currency list's query: name search, order and shape.

use crate::catalog::Encoded;
use crate::domain::currency::Currency;
use crate::domain::{fold, PageLimit};
use crate::query::{Cursor, Keyed, Order, Paged, Projection, Shape, SortField, SortValue};

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

/// A checked currency list request.
#[derive(Debug, Clone)]
pub struct CurrencyList {
    /// Folded part of the name.
    pub q: Option<String>,
    /// In which order.
    pub order: Order<CurrencySort>,
    /// Which parts of each (all when `None`).
    pub fields: Option<Projection>,
    /// Start after this item.
    pub after: Option<Cursor>,
    /// Page size.
    pub limit: PageLimit,
    /// The query parameters as given (checked), to repeat in the `next` link.
    pub echo: Vec<(&'static str, String)>,
}

impl CurrencyList {
    /// The page of `all` (in any order) this request asks for.
    pub fn select<'a>(
        &self,
        all: impl Iterator<Item = &'a Encoded<Currency>>,
    ) -> Paged<'a, Encoded<Currency>> {
        let matches = all.filter(|e| self.q.as_ref().is_none_or(|q| e.search.contains(q)));
        let by_key = self.order.field == CurrencySort::Code;
        crate::query::order::page(
            matches,
            self.order,
            by_key,
            self.after.as_ref(),
            self.limit.as_usize(),
        )
    }
}

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
