//! atlas: the reference service built on podkit.
//!
//! # Layout
//! - [`config`] — atlas's own config sections, layered by podkit.
//! - [`startup`] — assembles the router and registers checks and hooks.
//! - [`routes`] — one module per resource.

pub mod config;
pub mod routes;
pub mod startup;
