//! atlas: the reference service built on podkit.
//!
//! # Layout
//! - [`config`] — atlas's own config sections, layered by podkit.
//! - [`startup`] — assembles the router and registers checks and hooks.
//! - [`routes`] — one module per resource; [`error`] maps failures to RFC 9457.
//! - [`domain`] — validated input types.
//! - [`store`] — the queries; [`db`] — the pool, metrics, schema status.
//! - [`migrate`] — `atlas migrate up|down|status`.
//! - [`places`] — the in-memory place index (name search, nearest place).
//! - [`flags`] — embedded flag SVGs and the bounded PNG render cache.
//! - [`imports`] — bulk imports on podkit's worker pool and HTTP client.

pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod flags;
pub mod imports;
pub mod migrate;
pub mod places;
pub mod routes;
pub mod startup;
pub mod store;
