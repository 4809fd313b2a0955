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
