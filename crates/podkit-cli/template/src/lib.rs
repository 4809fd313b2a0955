//! @@name@@ as a library, so the tests run the same start function as the binary.
//!
//! # Layout
//! - [`config`]: the service's own config sections and the loader.
@@if db@@
//! - [`db`]: the connection pool (PostgreSQL or the embedded SQLite) and migrations.
@@end@@
//! - [`error`]: [`error::ApiError`], the one error type handlers return, as RFC 9457 problems.
//! - [`routes`]: the `/api/v1` handlers, one module per resource.
//! - [`startup`]: podkit's start function: metrics, checks, hooks, the router.

pub mod config;
@@if db@@
pub mod db;
@@end@@
pub mod error;
pub mod routes;
pub mod startup;

pub use startup::start;
