//! Validated domain types, the bottom layer: raw input goes in, values that cannot
//! be wrong come out, and every invalid field is reported at once. Nothing here
//! knows about HTTP or the database.
//!
//! - [`codes`]: ISO codes ([`Alpha2`], [`Alpha3`], [`CountryRef`], [`CurrencyCode`],
//!   [`NumericCode`]).
//! - [`text`]: [`Name`] and [`SearchTerm`]; [`zone`]: [`ZoneName`].
//! - [`paging`]: [`PageLimit`]; [`geo`]: [`Latitude`], [`Longitude`].
//! - [`errors`]: [`FieldError`] (where and what), [`Violations`] (collects them),
//!   [`RowError`] (imports).
//! - [`country`], [`currency`], [`import`]: the resources and their input bodies;
//!   [`details`]: a country's descriptive data and flag emoji; [`subdivision`]:
//!   ISO 3166-2 subdivisions.

pub mod codes;
pub mod country;
pub mod currency;
pub mod details;
pub mod errors;
pub mod etag;
pub mod geo;
pub mod import;
pub mod paging;
pub mod subdivision;
pub mod text;
pub mod zone;

pub use codes::{Alpha2, Alpha3, CountryRef, CurrencyCode, NumericCode};
pub use errors::{FieldError, Location, RowError, Violations};
pub use geo::{Latitude, Longitude};
pub use paging::PageLimit;
pub use text::{fold, Name, SearchTerm, SearchText};
pub use zone::{DateTimeInput, UtcOffset, ZoneCursor, ZoneName};
