//! What every list shares beyond paging: `?fields=` projection ([`fields`]),
//! `?sort=` with keyset cursors over the ordered list ([`order`]), and each
//! resource's filters ([`countries`], [`currencies`]). Lists are filtered, sorted
//! and paged in memory, over the catalog snapshot (or, with the cache off, over the
//! rows just read): a few hundred items, one code path for both databases.

pub mod countries;
pub mod currencies;
pub mod fields;
pub mod order;

pub use fields::{Projection, Shape};
pub use order::{Cursor, Keyed, Order, Paged, SortField, SortValue};

use crate::catalog::Encoded;
use crate::domain::PageLimit;

/// What a list keeps: the filters of one resource.
pub trait Filter<T> {
    /// Whether `e` passes every filter.
    fn matches(&self, e: &Encoded<T>) -> bool;
}

/// A checked list request: which items (`filter`), in which order, which parts
/// of each, from where, how many.
#[derive(Debug, Clone)]
pub struct ListRequest<F, S> {
    /// Which items.
    pub filter: F,
    /// In which order.
    pub order: Order<S>,
    /// Which parts of each (all when `None`).
    pub fields: Option<Projection>,
    /// Start after this item.
    pub after: Option<Cursor>,
    /// Page size.
    pub limit: PageLimit,
    /// The query parameters as given (checked), to repeat in the `next` link.
    pub echo: Vec<(&'static str, String)>,
}

impl<F, S: SortField> ListRequest<F, S> {
    /// The page of `all` (in any order) this request asks for.
    pub fn select<'a, T: Keyed<S>>(
        &self,
        all: impl Iterator<Item = &'a Encoded<T>>,
    ) -> Paged<'a, Encoded<T>>
    where
        F: Filter<T>,
    {
        // The default field is the key: its cursor needs no sort value.
        let by_key = self.order.field == S::ALL[0].1;
        order::page(
            all.filter(|e| self.filter.matches(e)),
            self.order,
            by_key,
            self.after.as_ref(),
            self.limit.as_usize(),
        )
    }
}
