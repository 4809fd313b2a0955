//! atlas: the reference service built on podkit.
//!
//! # Layout
//! Layers, each importing only from those below it:
//! 1. [`config`] (atlas's own config sections, layered by podkit) and [`domain`]
//!    (validated newtypes, [`domain::FieldError`], the resources): no HTTP, no SQL.
//! 2. [`store`]: every SQL statement, over the pool and its metrics; it returns
//!    domain values and its own errors, and never sees an HTTP type.
//! 3. [`catalog`] (countries and currencies served from memory), [`places`] (the
//!    in-memory place index), [`flags`] (embedded SVGs and the PNG
//!    cache), [`imports`] (bulk imports on podkit's worker pool and HTTP client),
//!    [`migrate`] (`atlas migrate up|down|status`), [`zones`] (offsets,
//!    transitions, conversions, the zone list and the polygon zone finder).
//! 4. [`error`] (`ApiError`, mapped to RFC 9457 in one place) and [`routes`] (one
//!    module per resource, plus the extractors of the 400 vs 422 rule).
//! 5. [`startup`]: wires it together.

pub mod catalog;
pub mod config;
pub mod domain;
pub mod error;
pub mod flags;
pub mod imports;
pub mod migrate;
pub mod places;
pub mod query;
pub mod routes;
pub mod startup;
pub mod store;
pub mod zones;
