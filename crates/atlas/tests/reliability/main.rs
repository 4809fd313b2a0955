//! Reliability scenarios: atlas under hostile input, load and faults, each a test
//! with a verdict that prints its figures (`-- --nocapture`). The short versions run
//! in CI with the rest of the suite; `make reliability` adds the long ones
//! (`--include-ignored`) and records the figures for `docs/reliability.md`.
//!
//! One test binary; one module per scenario. The harness is the API suite's.

#[allow(dead_code, unused_imports)]
#[path = "../api/helpers/mod.rs"]
mod helpers;
#[allow(dead_code, unused_imports, unused_macros)]
#[macro_use]
#[path = "../api/db.rs"]
mod db;
mod contention;
mod if_match;
mod memory;
mod outage;
mod rollout;
mod slowloris;
mod soak;

/// Scenarios measure latency: one at a time, so they do not load each other.
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    SERIAL.lock().await
}
