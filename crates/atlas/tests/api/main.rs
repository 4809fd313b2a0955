//! atlas against the real binary: real sockets, real signals, real config layers.
//! One test binary (one link step); modules by concern.

mod helpers;

mod config;
mod lifecycle;
mod observability;
mod prometheus;
mod serving;
#[macro_use]
mod db;
mod countries;
mod currencies;
mod imports;
mod migrations;
mod places;
mod timezones;
mod validation;
