//! atlas end to end: in-process on the `Pod` seam (real sockets on port 0, a
//! database per test), and the real binary for signals, exit codes and logs.
//! One test binary (one link step); modules by concern.

mod helpers;

mod config;
mod lifecycle;
mod observability;
mod prometheus;
mod serving;
#[macro_use]
mod db;
mod caching;
mod catalog;
mod countries;
mod currencies;
mod db_connect;
mod details;
mod flags;
mod health;
mod imports;
mod lists;
mod migrations;
mod openapi;
mod places;
mod ratelimit;
mod schema_window;
mod store_answers;
mod timezones;
mod validation;
